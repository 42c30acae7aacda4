"""ResNet-18 / -50 for small single-ROI crops: a 5×5 stride-1 stem and no stem max-pool.

torchvision's ResNets assume 224² photographs (7×7 stride-2 stem, max-pool: 32× smaller
before the first block); on a 64² crop that leaves 2×2 maps. Written here also because
torchvision's PyPI build does not import beside the CPU torch we use.
"""

from __future__ import annotations

from torch import nn


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, c_in: int, width: int, stride: int = 1):
        super().__init__()
        c_out = width * self.expansion
        self.body = nn.Sequential(
            nn.Conv2d(c_in, width, 3, stride, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU(inplace=True),
            nn.Conv2d(width, c_out, 3, 1, 1, bias=False), nn.BatchNorm2d(c_out),
        )
        self.skip = _projection(c_in, c_out, stride)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x):
        return self.relu(self.body(x) + self.skip(x))


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, c_in: int, width: int, stride: int = 1):
        super().__init__()
        c_out = width * self.expansion
        self.body = nn.Sequential(
            nn.Conv2d(c_in, width, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU(inplace=True),
            nn.Conv2d(width, width, 3, stride, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU(inplace=True),
            nn.Conv2d(width, c_out, 1, bias=False), nn.BatchNorm2d(c_out),
        )
        self.skip = _projection(c_in, c_out, stride)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x):
        return self.relu(self.body(x) + self.skip(x))


def _projection(c_in: int, c_out: int, stride: int) -> nn.Module:
    if stride == 1 and c_in == c_out:
        return nn.Identity()
    return nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out))


LAYOUTS = {"resnet18": (BasicBlock, (2, 2, 2, 2)), "resnet50": (Bottleneck, (3, 4, 6, 3))}


class ResNet(nn.Module):
    """Feature extractor: ``(B, in_channels, H, W)`` → ``(B, out_features)`` (global average pool)."""

    def __init__(self, depth: str = "resnet18", in_channels: int = 1, width: int = 64):
        super().__init__()
        if depth not in LAYOUTS:
            raise ValueError(f"unknown ResNet '{depth}' (choose from {', '.join(LAYOUTS)})")
        block, counts = LAYOUTS[depth]
        layers = [nn.Conv2d(in_channels, width, 5, 1, 2, bias=False), nn.BatchNorm2d(width), nn.ReLU(inplace=True)]
        c = width
        for stage, n in enumerate(counts):
            for i in range(n):
                blk = block(c, width * 2**stage, stride=2 if stage > 0 and i == 0 else 1)
                layers.append(blk)
                c = width * 2**stage * block.expansion
        self.features = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.out_features = c

    def forward(self, x):
        return self.features(x)
