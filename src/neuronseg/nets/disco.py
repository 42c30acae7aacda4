"""DISCo's network: a 3-D convolutional aggregator over correlation segments, then a U-Net.

Input: ``features (B, N, C, H, W)`` — N time segments of C neighbour correlations — and the
normalised mean image ``(B, 1, H, W)`` (plus optional extra image channels). Three 4×3×3 convolutions (2C, 4C, C channels, no
padding over segments) shrink N=10 segments to 1; the result, with the mean image, goes
through a 2-D U-Net to A affinity channels plus one foreground channel (logits).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import torch
from torch import nn

from neuronseg.nets.unet import UNet, pad_to


@dataclass
class DiscoConfig:
    """Everything needed to rebuild a DISCo network (stored as ``config.json``)."""

    n_segments: int = 10
    n_offsets: int = 15                      #: C: neighbour correlations per segment
    correlation_radius: float = 3.0
    graph_offsets: list = field(default_factory=lambda: [list(o) for o in
                                ((-1, 0), (0, -1), (-3, 0), (0, -3), (-5, 0), (0, -5), (-5, -5), (-5, 5))])
    base_width: int = 16                     #: U-Net width at full resolution
    depth: int = 5
    pool: int = 5                            #: temporal max-pool kernel at inference, frames at ``fs``
    fs: float | None = None                  #: Hz of the training movies (pooling is kept in seconds)
    cell_diameter: float | None = None       #: px of the training somata (fields are resampled to it)
    #: image channels beside the mean image; "soma_score" adds the classical segmenter's
    #: ring/disk evidence (beyond DISCo: helps where quiet cells show only by shape)
    extra_inputs: list = field(default_factory=list)

    @property
    def n_outputs(self) -> int:
        return len(self.graph_offsets) + 1

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "DiscoConfig":
        known = {k: v for k, v in d.items() if k in cls.__dataclass_fields__}
        return cls(**known)


class SegmentAggregator(nn.Module):
    """(B, N, C, H, W) → (B, C, H, W) by three 4×3×3 convolutions over (segment, row, col)."""

    def __init__(self, c: int, n_segments: int):
        super().__init__()
        if n_segments < 10:
            raise ValueError("the aggregator needs at least 10 segments (three kernels of 4)")
        self.layers = nn.Sequential(
            nn.Conv3d(c, 2 * c, (4, 3, 3), padding=(0, 1, 1)), nn.ReLU(inplace=True),
            nn.Conv3d(2 * c, 4 * c, (4, 3, 3), padding=(0, 1, 1)), nn.ReLU(inplace=True),
            nn.Conv3d(4 * c, c, (4, 3, 3), padding=(0, 1, 1)), nn.ReLU(inplace=True),
        )

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        x = self.layers(feats.permute(0, 2, 1, 3, 4))  # (B, C, N', H, W)
        return x.mean(dim=2)  # N' = N − 9; 1 for DISCo's N = 10


class DiscoNet(nn.Module):
    def __init__(self, config: DiscoConfig):
        super().__init__()
        self.config = config
        self.aggregate = SegmentAggregator(config.n_offsets, config.n_segments)
        n_images = 1 + len(config.extra_inputs)
        self.unet = UNet(config.n_offsets + n_images, config.n_outputs, config.base_width, config.depth)

    def forward(self, feats: torch.Tensor, images: torch.Tensor) -> torch.Tensor:
        """Logits ``(B, A + 1, H, W)``: affinity channels then foreground.

        ``images`` is ``(B, 1 + len(extra_inputs), H, W)``: the normalised mean image first.
        """
        x = torch.cat([self.aggregate(feats), images], dim=1)
        x, (h, w) = pad_to(x, self.unet.multiple)
        return self.unet(x)[..., :h, :w]
