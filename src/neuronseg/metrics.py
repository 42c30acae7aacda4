"""Scores: Neurofinder matching of ROIs, pixel overlap and instance AP of label images.

Everything that compares a result with ground truth calls this one module.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse

NEUROFINDER_THRESHOLD = 5.0


def _match_centers(gt_centers: np.ndarray, pred_centers: np.ndarray, threshold: float) -> np.ndarray:
    """Greedy one-to-one matching in ground-truth order, as `neurofinder.match` does it.

    For each ground-truth centre in turn, the nearest still-unmatched prediction is taken
    when it is closer than ``threshold`` (first one on ties). Returns, per ground-truth
    ROI, the index of its prediction or -1.
    """
    matches = np.full(len(gt_centers), -1, dtype=np.int64)
    available = np.ones(len(pred_centers), bool)
    for i, c in enumerate(gt_centers):
        candidates = np.flatnonzero(available)
        if not len(candidates):
            break
        d = np.sqrt(((pred_centers[candidates] - c) ** 2).sum(axis=1))
        j = int(np.argmin(d))
        if d[j] < threshold:
            matches[i] = candidates[j]
            available[candidates[j]] = False
    return matches


def neurofinder_matches(gt, pred, threshold: float = NEUROFINDER_THRESHOLD) -> np.ndarray:
    """Per ground-truth ROI, the index of its matched prediction (−1 when unmatched)."""
    gt, pred = _as_coordinate_lists(gt), _as_coordinate_lists(pred)
    gt_centers = np.array([c.mean(axis=0) for c in gt]).reshape(-1, 2)
    pred_centers = np.array([c.mean(axis=0) for c in pred]).reshape(-1, 2)
    return _match_centers(gt_centers, pred_centers, threshold)


def _round(x: float) -> float:
    # numpy's rounding, as the reference applies `round` to numpy floats
    return float(np.round(np.float64(x), 4))


def neurofinder_scores(gt, pred, threshold: float = NEUROFINDER_THRESHOLD) -> dict:
    """Neurofinder's ``evaluate``: recall, precision, F1 ("combined"), inclusion, exclusion.

    Parameters
    ----------
    gt, pred : list of (n, 2) arrays of ``[row, col]``, or RoiSet
        Ground-truth and predicted ROIs. Pixel lists are used as given (duplicates
        count), which is what the reference does with a ``regions.json``.
    threshold : float
        Centres closer than this many pixels can match (reference default 5).

    Returns
    -------
    dict
        ``combined, inclusion, precision, recall, exclusion`` rounded to 4 decimals,
        numerically identical to ``neurofinder evaluate`` 1.1.1. Where the reference
        divides by zero or crashes (an empty set), the score is 0.

    Examples
    --------
    >>> sq = [np.array([[r, c] for r in range(3) for c in range(3)])]
    >>> neurofinder_scores(sq, sq)["combined"]
    1.0
    """
    gt, pred = _as_coordinate_lists(gt), _as_coordinate_lists(pred)
    matches = neurofinder_matches(gt, pred, threshold)
    n_match = int((matches >= 0).sum())
    recall = n_match / len(gt) if len(gt) else 0.0
    precision = n_match / len(pred) if len(pred) else 0.0
    combined = 0.0 if recall == 0 and precision == 0 else 2 * recall * precision / (recall + precision)

    rates = []
    for i, j in enumerate(matches):
        if j < 0:
            continue
        # overlap 'rates' of regional: hits counted over a's list (duplicates included)
        a, b = gt[i], pred[j]
        b_set = {tuple(p) for p in b.tolist()}
        hits = sum(tuple(p) in b_set for p in a.tolist())
        rates.append((hits / len(a), hits / len(b)))
    inclusion, exclusion = np.mean(rates, axis=0) if rates else (0.0, 0.0)
    return {
        "combined": _round(combined),
        "inclusion": _round(inclusion),
        "precision": _round(precision),
        "recall": _round(recall),
        "exclusion": _round(exclusion),
    }


def _as_coordinate_lists(rois) -> list[np.ndarray]:
    if hasattr(rois, "coordinates") and hasattr(rois, "pixels"):
        return [rois.coordinates(i) for i in range(len(rois))]
    return [np.asarray(c).reshape(-1, 2) for c in rois]


# --- pixels -----------------------------------------------------------------------------
def pixel_scores(truth: np.ndarray, pred: np.ndarray) -> dict:
    """IoU, Dice, accuracy, precision and recall of two foreground masks (non-zero = cell).

    Two empty masks agree perfectly (IoU = Dice = 1).
    """
    t, p = np.asarray(truth) != 0, np.asarray(pred) != 0
    if t.shape != p.shape:
        raise ValueError(f"shape mismatch: truth {t.shape} vs prediction {p.shape}")
    tp = float(np.logical_and(t, p).sum())
    fp = float(np.logical_and(~t, p).sum())
    fn = float(np.logical_and(t, ~p).sum())
    union = tp + fp + fn
    return {
        "iou": tp / union if union else 1.0,
        "dice": 2 * tp / (2 * tp + fp + fn) if union else 1.0,
        "accuracy": float((t == p).mean()),
        "precision": tp / (tp + fp) if tp + fp else 1.0 if not fn else 0.0,
        "recall": tp / (tp + fn) if tp + fn else 1.0,
    }


# --- instances --------------------------------------------------------------------------
def _consecutive(labels: np.ndarray) -> np.ndarray:
    """Labels renumbered 0, 1, 2, … in increasing order, 0 kept for background."""
    values, inverse = np.unique(labels, return_inverse=True)
    return inverse if values[0] == 0 else inverse + 1


def iou_matrix(truth_labels: np.ndarray, pred_labels: np.ndarray) -> np.ndarray:
    """IoU of every truth instance (rows) with every predicted instance (columns).

    Labels are relabelled to consecutive ids first, so row ``i`` is the ``i``-th smallest
    non-zero truth label.
    """
    t, p = np.asarray(truth_labels).ravel(), np.asarray(pred_labels).ravel()
    if t.shape != p.shape:
        raise ValueError("label images differ in shape")
    t, p = _consecutive(t), _consecutive(p)
    nt, npred = int(t.max()) + 1, int(p.max()) + 1
    overlap = sparse.coo_matrix((np.ones_like(t), (t, p)), shape=(nt, npred)).toarray()
    area_t, area_p = overlap.sum(axis=1, keepdims=True), overlap.sum(axis=0, keepdims=True)
    union = area_t + area_p - overlap
    iou = np.divide(overlap, union, out=np.zeros(overlap.shape), where=union > 0)
    return iou[1:, 1:]


def overlap_iou(a, b) -> np.ndarray:
    """IoU of every ROI of RoiSet ``a`` (rows) with every ROI of ``b`` (columns), as binary masks.

    Unlike :func:`iou_matrix` the ROIs may overlap within a set (Suite2p, CaImAn footprints).
    """
    if a.shape != b.shape:
        raise ValueError("ROI sets lie on fields of different shape")
    ma, mb = a.binarised().weight_matrix(normalise=False), b.binarised().weight_matrix(normalise=False)
    inter = (ma @ mb.T).toarray()
    union = a.areas()[:, None] + b.areas()[None, :] - inter
    return np.divide(inter, union, out=np.zeros(inter.shape), where=union > 0)


def labelled_object_iou(truth_labels, pred_labels) -> float:
    """Pixel IoU of the labelled cells with the predicted instances that touch them.

    For partly labelled images (one expert mask among several visible cells): a predicted
    instance that overlaps no labelled cell may be an unlabelled real cell, so it is left
    out; one that overlaps a labelled cell counts whole, so a prediction that merges the
    cell with its surroundings is penalised.
    """
    t, p = np.asarray(truth_labels) > 0, np.asarray(pred_labels)
    if t.shape != p.shape:
        raise ValueError("label images differ in shape")
    touching = np.unique(p[t & (p > 0)])
    kept = np.isin(p, touching) & (p > 0)
    union = (t | kept).sum()
    return float((t & kept).sum() / union) if union else 1.0


def instance_scores(truth_labels, pred_labels, thresholds=np.arange(0.5, 1.0, 0.05)) -> dict:
    """Instance matching at each IoU threshold, as the 2018 Data Science Bowl scored it.

    A truth and a predicted instance match when their IoU exceeds the threshold (for
    thresholds ≥ 0.5 such matches are unique). Per threshold: ``ap = TP / (TP + FP + FN)``,
    plus precision, recall and F1; ``mean_ap`` averages ``ap`` over the thresholds.
    """
    iou = iou_matrix(truth_labels, pred_labels)
    n_true, n_pred = iou.shape
    per = {}
    for thr in np.round(thresholds, 2):
        tp = int((iou > thr).sum()) if iou.size else 0
        fp, fn = n_pred - tp, n_true - tp
        denom = tp + fp + fn
        per[f"{thr:.2f}"] = {
            "ap": tp / denom if denom else 1.0,
            "precision": tp / n_pred if n_pred else float(n_true == 0),
            "recall": tp / n_true if n_true else 1.0,
            "f1": 2 * tp / (2 * tp + fp + fn) if denom else 1.0,
        }
    return {
        "n_true": n_true,
        "n_pred": n_pred,
        "mean_ap": float(np.mean([v["ap"] for v in per.values()])),
        "per_threshold": per,
    }
