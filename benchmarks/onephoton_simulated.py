"""The one-photon method against its projection baselines on held-out simulated movies; one JSON line.

Held-out seeds 300–304 (the shipped model trained on 100–111, its outline stage on 500–599, validated on
200–201): 400 frames of 128×128,
40 cells, one-photon haze, blur and out-of-focus cells, the simulator's one-photon photon budget.
Truth = the cells whose ΔF/F reached 0.5 at least once (the method finds *active* cells).

Three paths share the same per-frame U-Net: the ConvGRU's active map, and the max and the
mean over frames of the per-frame probabilities (the paper's baselines), each cut by its own
threshold and local-contrast margin tuned on the validation movies, then closing, watershed
and size filter. The active path's ROIs are then redrawn by the model's outline U-Net, if it
has one (`active`); `active_no_outline` is the same path without it (the GRU head's own shapes).
Reported per path: Neurofinder F1 / precision / recall and pixel Dice / IoU / precision /
recall of the union of the ROIs against the truth masks, averaged over movies; and for the
GRU path the whole `segment_movie` (which also drops ROIs whose trace shows no event).

    python benchmarks/onephoton_simulated.py [--model DIR] [--motion PX] [--seeds 300 301 …]

``--motion`` sets the simulated rigid motion (px SD; the simulator's default is 1, non-rigid
warps a third of it). The figure is the default. Every path reads the movie through the
model's own registration (``config.motion``: rigid for the shipped model), as `segment` does.
``--seeds`` scores other simulations instead (never 100–111, 200–207 or 500–599, which trained,
tuned or chose the shipped model): five movies are a small sample, and their Dice spreads
by ±0.1 from movie to movie.
"""

import argparse
import json

import numpy as np
import torch

from neuronseg.io.movies import movie_from_array
from neuronseg.roiset import RoiSet
from neuronseg.metrics import neurofinder_scores, pixel_scores
from neuronseg.pipelines.onephoton import OnePhotonModel
from neuronseg.pipelines.segment import segment_movie
from neuronseg.simulate import simulate
from neuronseg.train.onephoton import active_cells

SEEDS = (300, 301, 302, 303, 304)


def scores_on_simulations(model, seeds, motion: float = 1.0, whole_segment: bool = True) -> dict:
    """Per path (the three maps, and ``segment_movie`` when ``whole_segment``): Neurofinder F1 /
    precision / recall and pixel Dice / IoU / precision / recall, averaged over the movies."""
    rows = {k: [] for k in ("active", "active_no_outline", "max", "mean") + (("segment_movie",) if whole_segment else ())}
    for seed in seeds:
        rec = simulate(frames=400, shape=(128, 128), cells=40, seed=seed, onephoton=True, motion=motion)
        truth = rec.rois.subset(active_cells(rec))
        truth_mask = truth.to_labels() > 0
        movie = movie_from_array(rec.movie)
        maps = model.predict(model.registered(movie))
        paths = {"active": (maps.active, "active", maps.outline), "active_no_outline": (maps.active, "active", None),
                 "max": (maps.max, "max", None), "mean": (maps.mean, "mean", None)}
        for name, (probability, key, outline) in paths.items():
            labels = model.instances(probability, key=key, outline=outline)
            rows[name].append((neurofinder_scores(truth, RoiSet.from_labels(labels)), pixel_scores(truth_mask, labels)))
        if whole_segment:
            seg = segment_movie(movie, "onephoton", model=model, fs=rec.fs)
            rows["segment_movie"].append((neurofinder_scores(truth, seg.rois), pixel_scores(truth_mask, seg.rois.to_labels())))
    return {key: {"f1": round(float(np.mean([n["combined"] for n, _ in r])), 3),
                  "precision": round(float(np.mean([n["precision"] for n, _ in r])), 3),
                  "recall": round(float(np.mean([n["recall"] for n, _ in r])), 3),
                  **{f"pixel_{m}": round(float(np.mean([p[m] for _, p in r])), 3)
                     for m in ("dice", "iou", "precision", "recall")}}
            for key, r in rows.items()}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=None)
    ap.add_argument("--motion", type=float, default=1.0, help="simulated rigid motion, px SD")
    ap.add_argument("--seeds", type=int, nargs="+", default=list(SEEDS), help="simulation seeds to score")
    args = ap.parse_args()
    torch.set_num_threads(2)
    model = OnePhotonModel.load(args.model)
    out = {"seeds": args.seeds, "truth_cells": "ΔF/F peak ≥ 0.5", "motion_px": args.motion}
    out.update(scores_on_simulations(model, args.seeds, args.motion))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
