"""What every crop-sampling training loop is set by (DISCo and still images extend it)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class LoopParams:
    epochs: int = 30
    steps_per_epoch: int = 40
    batch_size: int = 4
    crop: int = 128             #: px a side of the training crops
    lr: float = 2e-3
    weight_decay: float = 1e-5
    patience: int = 8           #: epochs without a validation gain before stopping
    seed: int = 0
    device: str = "cpu"
