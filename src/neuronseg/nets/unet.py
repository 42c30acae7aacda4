"""A 2-D U-Net: 3×3 conv + batch-norm + ReLU blocks, 2×2 max-pool down, 2×2 transposed conv up.

Written here rather than imported: torchvision does not install beside the CPU torch this
project uses, and the layers are few.
"""

from __future__ import annotations

import torch
from torch import nn


def conv_block(c_in: int, c_out: int, dropout: float = 0.0) -> nn.Sequential:
    layers = [
        nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True),
        nn.Conv2d(c_out, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True),
    ]
    if dropout:
        layers.append(nn.Dropout2d(dropout))
    return nn.Sequential(*layers)


class ASPP(nn.Module):
    """Atrous Spatial Pyramid Pooling (DeepLab): parallel 1×1 and dilated 3×3 convolutions
    plus an image-level (global average) branch, concatenated and fused by a 1×1 convolution.
    Sees context at several scales at once at the U-Net's coarsest level."""

    def __init__(self, c_in: int, c_out: int, rates=(2, 4, 6), dropout: float = 0.0):
        super().__init__()

        def branch(k, rate):
            pad = 0 if k == 1 else rate
            return nn.Sequential(nn.Conv2d(c_in, c_out, k, padding=pad, dilation=rate, bias=False),
                                 nn.BatchNorm2d(c_out), nn.ReLU(inplace=True))

        self.branches = nn.ModuleList([branch(1, 1)] + [branch(3, r) for r in rates])
        self.pool = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(c_in, c_out, 1), nn.ReLU(inplace=True))
        self.fuse = nn.Sequential(nn.Conv2d(c_out * (len(rates) + 2), c_out, 1, bias=False), nn.BatchNorm2d(c_out),
                                  nn.ReLU(inplace=True), nn.Dropout2d(dropout) if dropout else nn.Identity())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = self.pool(x).expand(-1, -1, x.shape[-2], x.shape[-1])
        return self.fuse(torch.cat([b(x) for b in self.branches] + [pooled], dim=1))


class UNet(nn.Module):
    """U-Net with ``depth`` resolution levels; level ``i`` has ``base * 2**i`` channels.

    ``aspp_rates``: the bottleneck (deepest level) is an :class:`ASPP` block with these
    dilation rates instead of two plain convolutions (the one-photon per-frame network).
    Inputs must have height and width divisible by ``2 ** (depth - 1)`` (see :func:`pad_to`).
    Returns logits (no final activation).
    """

    def __init__(self, in_channels: int, out_channels: int, base: int = 16, depth: int = 5, dropout: float = 0.0,
                 aspp_rates=None):
        super().__init__()
        widths = [base * 2**i for i in range(depth)]
        self.down = nn.ModuleList()
        c = in_channels
        for i, w in enumerate(widths):
            if i == depth - 1 and aspp_rates:
                self.down.append(ASPP(c, w, tuple(aspp_rates), dropout))
            else:
                self.down.append(conv_block(c, w, dropout if i == depth - 1 else 0.0))
            c = w
        self.up = nn.ModuleList()
        self.merge = nn.ModuleList()
        for w in reversed(widths[:-1]):
            self.up.append(nn.ConvTranspose2d(c, w, 2, stride=2))
            self.merge.append(conv_block(2 * w, w))
            c = w
        self.head = nn.Conv2d(c, out_channels, 1)
        self.multiple = 2 ** (depth - 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for i, block in enumerate(self.down):
            x = block(x)
            if i < len(self.down) - 1:
                skips.append(x)
                x = nn.functional.max_pool2d(x, 2)
        for up, merge in zip(self.up, self.merge):
            x = merge(torch.cat([skips.pop(), up(x)], dim=1))
        return self.head(x)


def pad_to(x: torch.Tensor, multiple: int) -> tuple[torch.Tensor, tuple[int, int]]:
    """Reflect-pad the last two axes up to a multiple; returns the padded tensor and the original size."""
    h, w = x.shape[-2:]
    ph, pw = (-h) % multiple, (-w) % multiple
    if ph or pw:
        mode = "reflect" if min(h, w) > max(ph, pw) else "replicate"
        x = nn.functional.pad(x, (0, pw, 0, ph), mode=mode)
    return x, (h, w)
