"""What a curation model reads and how large its network is (stored as ``config.json``)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from neuronseg.curation.features import FEATURE_GROUPS


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
