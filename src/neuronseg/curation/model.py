"""A trained curation model: network, calibration and validation precision–recall curve."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from neuronseg.curation.crops import candidate_crops
from neuronseg.curation.features import candidate_features, to_normal_scores
from neuronseg.curation.decision import calibrate, threshold_for_precision
from neuronseg.errors import NeuronsegError
from neuronseg.io.candidates import Candidates
from neuronseg.curation.config import CurationConfig
from neuronseg.nets.curation import CurationNet
from neuronseg.nets.device import torch_device
from neuronseg.nets.model_folder import WEIGHTS_DIR, ModelFolder, load_weights

BATCH = 256  #: crops per forward pass: ~12 MB of input, fast on CPU
SHIPPED = "curation"   #: the shipped model's folder under weights/


def network_inputs(cands: Candidates, config: CurationConfig) -> tuple[np.ndarray, np.ndarray | None]:
    """Crops ``(n, C, S, S)`` and the feature vectors ``(n, k)`` (None when the model uses none)."""
    crops = candidate_crops(cands, config.channels, config.crop_size)
    feats = candidate_features(cands, config.features) if config.features else None
    if feats is not None and config.feature_quantiles:
        feats = to_normal_scores(feats, config.feature_quantiles)
    return crops, feats


def predict_logits(nets, crops: np.ndarray, feats: np.ndarray | None, device: str = "cpu") -> np.ndarray:
    """Mean logit over an ensemble of networks, in batches, without gradients."""
    out = np.zeros(len(crops), np.float64)
    with torch.no_grad():
        for s in range(0, len(crops), BATCH):
            x = torch.from_numpy(crops[s : s + BATCH]).to(device)
            f = None if feats is None else torch.from_numpy(feats[s : s + BATCH]).to(device)
            out[s : s + BATCH] = np.mean([net(x, f).double().cpu().numpy() for net in nets], axis=0)
    return out


@dataclass
class CurationModel:
    nets: list
    config: CurationConfig
    calibration: dict          #: {"platt": [a, b] or one pair per group, "curve": validation PR curve, …}
    device: str = "cpu"

    @classmethod
    def load(cls, folder=None, device: str = "cpu") -> "CurationModel":
        target = torch_device(device)   # checked once, before any file is read (as NetworkModel.load does)
        if folder is None and not (WEIGHTS_DIR / SHIPPED / "weights.pt").exists():
            raise NeuronsegError("no curation model is shipped with this install; pass --model DIR")
        files = ModelFolder.read(Path(folder) if folder else WEIGHTS_DIR / SHIPPED)
        folder, state, config, calibration = files.path, files.state, files.config, files.thresholds
        cfg = CurationConfig.from_dict(config)
        n = int(config.get("ensemble", 1))
        nets = []
        for k in range(n):
            net = CurationNet(cfg)
            prefix = f"{k}."
            load_weights(net, {key[len(prefix):]: v for key, v in state.items() if key.startswith(prefix)}, folder)
            nets.append(net.to(target).eval())
        if "platt" not in calibration or "curve" not in calibration:
            raise NeuronsegError(f"{folder}: thresholds.json lacks the calibration (platt, curve)")
        groups = int(config.get("groups", 1))
        if n % groups or len(cls._platts(calibration)) != groups:
            raise NeuronsegError(f"{folder}: {n} networks, {groups} groups and "
                                 f"{len(cls._platts(calibration))} calibrations do not fit together")
        return cls(nets, cfg, calibration, device)

    @staticmethod
    def _platts(calibration: dict) -> list:
        """One Platt pair per group of networks (a cross-fitted model has one per fold)."""
        platt = calibration["platt"]
        return [platt] if np.ndim(platt) == 1 else list(platt)

    def score(self, cands: Candidates) -> np.ndarray:
        """Calibrated probability that each candidate is a cell.

        Each group of networks (one per cross-fitting fold) is calibrated on its own
        validation strip; the groups' calibrated logits are averaged.
        """
        crops, feats = network_inputs(cands, self.config)
        platts = self._platts(self.calibration)
        size = len(self.nets) // len(platts)
        logit = np.mean([a * predict_logits(self.nets[g * size:(g + 1) * size], crops, feats, self.device) + b
                         for g, (a, b) in enumerate(platts)], axis=0)
        return calibrate(logit, (1.0, 0.0))

    def threshold(self, precision: float) -> dict:
        """Threshold reaching ``precision`` on the model's validation data, with its recall there."""
        if not 0 < precision <= 1:
            raise NeuronsegError(f"--precision must lie in (0, 1], got {precision}")
        return threshold_for_precision(self.calibration["curve"], precision)
