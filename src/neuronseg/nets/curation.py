"""The curation classifier: a crop backbone, optional trace features, one logit per candidate."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import torch
from torch import nn

from neuronseg.nets.resnet import LAYOUTS, ResNet

BACKBONES = ("small",) + tuple(LAYOUTS)


@dataclass
class CurationConfig:
    #: crop channels; the default, the footprint alone, generalised best to held-out real data
    #: (summary-image channels overfit the ~200 labelled cells we have; see benchmarks/curation_ablation.py)
    channels: list = field(default_factory=lambda: ["weights"])
    #: feature groups beside the crops (curation/features.py): "trace", "shape", "image", "activity"
    features: list = field(default_factory=lambda: ["trace"])
    n_features: int | None = None  #: feature-vector length when not made from the groups (None: from them)
    feature_quantiles: list | None = None  #: per feature, training quantiles for the rank-normal transform
    backbone: str = "small"
    width: int = 8               #: channels of the first conv (ResNets: 64 is the paper's)
    crop_size: int = 64
    dropout: float = 0.3

    def feature_count(self) -> int:
        from neuronseg.curation.features import FEATURE_GROUPS

        if self.n_features is not None:
            return self.n_features
        return sum(FEATURE_GROUPS[g] for g in self.features)

    def images_needed(self) -> set:
        """Summary images the crops and features read: "mean", "correlation", "max"."""
        need = {c for c in self.channels if c != "weights"}
        if "image" in self.features:
            need.add("mean")
        if "activity" in self.features:
            need |= {"correlation", "max"}
        return need

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "CurationConfig":
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in d.items() if k in known})


class SmallCNN(nn.Module):
    """Two 3×3 conv + ReLU + 2×2 max-pool layers, flattened (keeps *where* things are in the crop)."""

    def __init__(self, in_channels: int, width: int, crop_size: int):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, width, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(2),
            nn.Conv2d(width, 2 * width, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(2),
            nn.Flatten(),
        )
        self.out_features = 2 * width * (crop_size // 4) ** 2

    def forward(self, x):
        return self.features(x)


class CurationNet(nn.Module):
    """``forward(crops (B, C, S, S), features (B, n_features) or None)`` → logits ``(B,)``.

    With no crop channels it is a feature-only classifier (the same head on the features).
    """

    def __init__(self, config: CurationConfig):
        super().__init__()
        self.config = config
        c = len(config.channels)
        if c == 0:
            self.backbone, n_image = None, 0
        elif config.backbone == "small":
            self.backbone = SmallCNN(c, config.width, config.crop_size)
            n_image = self.backbone.out_features
        else:
            self.backbone = ResNet(config.backbone, c, config.width)
            n_image = self.backbone.out_features
        self.n_extra = n_extra = config.feature_count()
        if n_image + n_extra == 0:
            raise ValueError("a curation network needs crop channels or features")
        self.head = nn.Sequential(
            nn.Dropout(config.dropout), nn.Linear(n_image + n_extra, 64), nn.ReLU(inplace=True), nn.Linear(64, 1),
        )

    def forward(self, crops, features=None):
        parts = [] if self.backbone is None else [self.backbone(crops)]
        if self.n_extra:
            parts.append(features)
        return self.head(torch.cat(parts, dim=1))[:, 0]
