"""Training labels for candidates: which of them are cells according to human masks."""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from neuronseg.roiset import RoiSet
from neuronseg.metrics import NEUROFINDER_THRESHOLD, overlap_iou

LABEL_RULES = ("iou", "centre")


def label_candidates(candidates: RoiSet, truth: RoiSet, rule: str = "iou", iou: float = 0.7,
                     weight_threshold: float = 0.2) -> np.ndarray:
    """Boolean ``(n,)``: is candidate ``i`` a cell?

    ``rule="iou"`` (DeGuire et al.): the candidate, binarised at weight > ``weight_threshold``
    of its maximum, overlaps a human mask with IoU ≥ ``iou``.

    ``rule="centre"``: the candidate's centre lies < 5 px (Neurofinder's matching radius)
    from a human mask's centre. Not one-to-one: two fragments on one cell are both cells
    here; curation removes such duplicates when it decides. Use it when the tool's ROIs are much smaller than the human masks: on
    ``neurofinder_top`` Suite2p 1.1.0's ROIs have a median of 20 px above weight 0.2 against
    65 px for the human masks, and only 3 of 1110 reach IoU 0.7.
    """
    if rule == "iou":
        if not len(candidates) or not len(truth):
            return np.zeros(len(candidates), bool)
        return overlap_iou(candidates.binarised(weight_threshold), truth).max(axis=1) >= iou
    if rule == "centre":
        if not len(candidates) or not len(truth):
            return np.zeros(len(candidates), bool)
        distance, _ = cKDTree(truth.centers()).query(candidates.centers())
        return distance < NEUROFINDER_THRESHOLD
    raise ValueError(f"unknown label rule '{rule}' (choose from {', '.join(LABEL_RULES)})")
