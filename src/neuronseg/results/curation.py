"""The result of `neuronseg curate`: ``scores.csv``, ``summary.json``, Suite2p's ``iscell.npy``
and, when asked, the explanation pictures."""

from __future__ import annotations

import csv
import json

import numpy as np

from neuronseg.curation.model import network_inputs
from neuronseg.io.candidates import Candidates
from neuronseg.io.outputs import atomic_output_dir
from neuronseg.io.suite2p import write_iscell
from neuronseg.pipelines.curate import Curation, least_certain
from neuronseg.results.pictures import save_png, to_gray8


def write_curation(result: Curation, cands: Candidates, out, overwrite: bool = False, extra: dict | None = None,
                   explain: tuple | None = None) -> dict:
    """``scores.csv`` (roi, score, decision, duplicate_of), ``summary.json`` and, for Suite2p
    input, an ``iscell.npy`` in Suite2p's own layout. The input files are never touched.

    ``explain = (model, n)`` adds ``explain/`` with a PNG per least-certain candidate: its
    input channels, the guided-backpropagation saliency and the 5×5 occlusion map.
    """
    summary = {
        "source": str(cands.path),
        "source_kind": cands.source,
        "n_candidates": len(cands),
        "n_cells": result.n_cells,
        "threshold": result.threshold,
        "n_duplicates_dropped": int((result.duplicate_of >= 0).sum()),
        **(extra or {}),
    }
    if cands.tool_decision is not None:
        summary["n_cells_by_the_tool"] = int(cands.tool_decision.sum())
    with atomic_output_dir(out, overwrite, "curation result") as tmp:
        with open(tmp / "scores.csv", "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["roi", "score", "decision", "duplicate_of"])
            for i, (s, d, dup) in enumerate(zip(result.scores, result.decision, result.duplicate_of)):
                w.writerow([i, f"{s:.5f}", int(d), "" if dup < 0 else int(dup)])
        if cands.source == "suite2p":
            write_iscell(tmp / "iscell.npy", result.decision, result.scores)
        if explain is not None:
            model, n = explain
            idx = least_certain(result, n)
            crops, feats = network_inputs(cands.subset(idx), model.config)
            (tmp / "explain").mkdir()
            summary["explained"] = write_explanations(model.nets, crops, feats, result.scores[idx],
                                                      np.arange(len(idx)), tmp / "explain", names=idx)
        (tmp / "summary.json").write_text(json.dumps(summary, indent=1))
    return summary


def _heat(values: np.ndarray) -> np.ndarray:
    """Signed map as RGB: red for evidence for "cell", blue against, black for none."""
    scale = max(float(np.abs(values).max()), 1e-12)
    v = values / scale
    rgb = np.zeros(values.shape + (3,), np.float64)
    rgb[..., 0] = np.clip(v, 0, 1)
    rgb[..., 2] = np.clip(-v, 0, 1)
    return (rgb * 255).astype(np.uint8)


def explanation_panel(crop: np.ndarray, saliency: np.ndarray, occlusion: np.ndarray) -> np.ndarray:
    """One RGB row: each input channel (grey), the saliency (red) and occlusion (red/blue) maps."""
    gap = np.full((crop.shape[1], 2, 3), 255, np.uint8)
    tiles = []
    for ch in crop:
        g = to_gray8(ch, 0.0, 100.0)
        tiles += [np.repeat(g[..., None], 3, axis=2), gap]
    tiles += [_heat(saliency), gap, _heat(occlusion)]
    return np.concatenate(tiles, axis=1)


def write_explanations(nets, crops, feats, scores, indices, folder, names=None) -> list:
    """A PNG per candidate in ``indices``: ``roi<i>_score<s>.png`` (``i`` from ``names`` when
    the crops are a subset); returns the file names."""
    from neuronseg.curation.explain import guided_saliency, occlusion_map

    sal = guided_saliency(nets, crops[indices], None if feats is None else feats[indices])
    occ = occlusion_map(nets, crops[indices], None if feats is None else feats[indices])
    written = []
    for k, i in enumerate(indices):
        roi = int(i if names is None else names[k])
        name = f"roi{roi:05d}_score{scores[i]:.3f}.png"
        save_png(explanation_panel(crops[i], sal[k], occ[k]), folder / name, min_size=512)
        written.append(name)
    return written
