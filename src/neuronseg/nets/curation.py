"""The curation classifier: a crop backbone, optional trace features, one logit per candidate."""

from __future__ import annotations

import torch
from torch import nn

from neuronseg.nets.resnet import LAYOUTS, ResNet

BACKBONES = ("small",) + tuple(LAYOUTS)


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

    ``config`` is a :class:`neuronseg.curation.config.CurationConfig`: crop channels,
    backbone, width, crop size, dropout and the feature count. With no crop channels it is
    a feature-only classifier (the same head on the features).
    """

    def __init__(self, config):
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
