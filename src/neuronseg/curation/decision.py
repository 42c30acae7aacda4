"""From scores to decisions: calibration, the threshold for a target precision, duplicates."""

from __future__ import annotations

import numpy as np
from scipy import optimize
from scipy.spatial import cKDTree

from neuronseg.metrics import NEUROFINDER_THRESHOLD


def fit_platt(logits: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """``(a, b)`` with ``sigmoid(a·logit + b)`` calibrated on held-out labels (Platt scaling).

    The network is trained on class-balanced data, so its raw sigmoid overstates how often a
    candidate is a cell; two parameters fitted on the untouched validation part fix that
    without changing the ranking. A slight prior (half a pseudo-example per class, as Platt
    proposed) keeps the fit finite when validation is separable.
    """
    logits, labels = np.asarray(logits, np.float64), np.asarray(labels, bool)
    n_pos, n_neg = labels.sum(), (~labels).sum()
    target = np.where(labels, (n_pos + 1) / (n_pos + 2), 1 / (n_neg + 2))

    def loss(p):
        z = p[0] * logits + p[1]
        return float(np.sum(np.logaddexp(0, z) - target * z))

    res = optimize.minimize(loss, x0=[1.0, 0.0], method="Nelder-Mead", options={"xatol": 1e-6, "fatol": 1e-9})
    a, b = res.x
    if a <= 0:  # a reversed ranking would be a useless model; keep the order, fit only the offset
        a = 1.0
        b = optimize.minimize_scalar(lambda c: loss([1.0, c])).x
    return float(a), float(b)


def calibrate(logits: np.ndarray, platt: tuple[float, float]) -> np.ndarray:
    a, b = platt
    return 1.0 / (1.0 + np.exp(-(a * np.asarray(logits, np.float64) + b)))


def precision_recall_curve(scores: np.ndarray, labels: np.ndarray) -> dict:
    """Precision and recall when keeping every candidate scoring ≥ each distinct threshold."""
    scores, labels = np.asarray(scores, np.float64), np.asarray(labels, bool)
    order = np.argsort(-scores, kind="stable")
    s, y = scores[order], labels[order]
    last = np.r_[np.flatnonzero(np.diff(s) != 0), len(s) - 1]  # last index of each distinct score
    tp = np.cumsum(y)[last]
    kept = last + 1
    return {
        "threshold": s[last].tolist(),
        "precision": (tp / kept).tolist(),
        "recall": (tp / max(int(y.sum()), 1)).tolist(),
    }


def average_precision(scores: np.ndarray, labels: np.ndarray) -> float:
    curve = precision_recall_curve(scores, labels)
    recall = np.r_[0.0, curve["recall"]]
    return float(np.sum(np.diff(recall) * np.asarray(curve["precision"])))


def threshold_for_precision(curve: dict, precision: float) -> dict:
    """The threshold that keeps the most validation cells at a precision ≥ ``precision``, and
    the recall it keeps.

    Of the thresholds that keep that many cells, the highest: it sits on the last kept cell.
    A lower one would only add the non-cells scored just below it: on the shipped model's
    validation curve the lowest qualifying threshold (0.527) added one, for no recall, and
    kept 27 cells of 30 (0.900) where 0.532 keeps 27 of 29.

    When no threshold reaches it, the threshold is above every score (nothing is kept) and
    ``reached`` is False, so the caller can say so.
    """
    t, p, r = (np.asarray(curve[k]) for k in ("threshold", "precision", "recall"))
    ok = np.flatnonzero(p >= precision)
    if not len(ok):
        return {"threshold": float(np.nextafter(1.0, 2.0)), "precision": None, "recall": 0.0, "reached": False}
    i = ok[np.argmax(r[ok] == r[ok].max())]  # thresholds descend: the first with the most recall
    return {"threshold": float(t[i]), "precision": float(p[i]), "recall": float(r[i]), "reached": True}


def duplicate_of(centres: np.ndarray, scores: np.ndarray, keep: np.ndarray,
                 distance: float = NEUROFINDER_THRESHOLD) -> np.ndarray:
    """Per candidate, the index of a better-scoring kept candidate centred < ``distance`` px
    away (−1 when none): two ROIs on one cell, of which a curated set keeps the better."""
    out = np.full(len(scores), -1, np.int64)
    idx = np.flatnonzero(keep)
    if not len(idx):
        return out
    idx = idx[np.argsort(-np.asarray(scores)[idx], kind="stable")]
    chosen: list[int] = []
    for i in idx:
        if chosen:
            d, j = cKDTree(centres[chosen]).query(centres[i])
            if d < distance:
                out[i] = chosen[int(j)]
                continue
        chosen.append(int(i))
    return out
