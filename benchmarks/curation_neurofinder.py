"""Curation of Suite2p's real ROIs on the held-out quarter of neurofinder_top; one JSON line.

Held out: rows 128–255 × cols 0–255 (64 human cells, the part DISCo's benchmark also holds
out, and the field CaImAn ran on). The model must not have seen it (the shipped one
was trained with `--exclude 128:256,0:256`). Reported against Suite2p's own classifier
(`iscell.npy`): Neurofinder precision/recall of the kept ROIs, and classification
precision/recall of the decision against the centre labels (candidate centre < 5 px from a
human mask centre). Also CaImAn's 145 components on the same quarter, scored by the same
model (trained on Suite2p footprints only) against CaImAn's own `idx_components`; CaImAn
keeps no correlation image, so its summary images come from the movie's crop.

    python benchmarks/curation_neurofinder.py [--model DIR] [--precision 0.9]
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from neuronseg.curation.decision import average_precision
from neuronseg.curation.labels import label_candidates
from neuronseg.curation.crops import weighted_centres
from neuronseg.curation.model import CurationModel
from neuronseg.curation.candidates import read_candidates_for
from neuronseg.curation.candidates import read_candidates
from neuronseg.io.rois import read_regions_json
from neuronseg.roiset import RoiSet
from neuronseg.metrics import neurofinder_scores
from neuronseg.pipelines.curate import curate
from neuronseg.train.curation import in_rect

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
HELD_OUT = (128, 256, 0, 256)


def held_out_figures(cands, truth, model, precision, rect):
    inside = in_rect(weighted_centres(cands.rois), rect)
    t0 = time.perf_counter()
    res = curate(cands, model, precision)
    seconds = time.perf_counter() - t0
    labels = label_candidates(cands.rois, truth, "centre")
    kept = res.decision & inside
    tool = cands.tool_decision & inside
    gt = truth.within(rect)
    above = (res.scores >= res.threshold["threshold"]) & inside
    return {
        "candidates": int(inside.sum()),
        "cells_among_candidates": int(labels[inside].sum()),
        "threshold": round(res.threshold["threshold"], 4),
        "val_recall_at_threshold": round(res.threshold["recall"], 4),
        "curated": {**{k: neurofinder_scores(gt, cands.rois.subset(kept))[k] for k in ("precision", "recall", "combined")},
                    "n": int(kept.sum())},
        "tool": {**{k: neurofinder_scores(gt, cands.rois.subset(tool))[k] for k in ("precision", "recall", "combined")},
                 "n": int(tool.sum())},
        "classification_precision": round(float(labels[above].mean()) if above.any() else float("nan"), 4),
        "classification_recall": round(float(labels[above].sum() / max(labels[inside].sum(), 1)), 4),
        "tool_classification_precision": round(float(labels[tool].mean()) if tool.any() else float("nan"), 4),
        "average_precision": round(average_precision(res.scores[inside], labels[inside]), 4),
        "brier": round(float(np.mean((res.scores[inside] - labels[inside]) ** 2)), 4),
        "seconds": round(seconds, 2),
    }


def crop_truth(truth: RoiSet, rect) -> RoiSet:
    """The human masks in the coordinates of the crop ``rect`` (parts outside it dropped)."""
    r0, r1, c0, c1 = rect
    coords = []
    for i in range(len(truth)):
        c = truth.coordinates(i) - (r0, c0)
        c = c[(c[:, 0] >= 0) & (c[:, 0] < r1 - r0) & (c[:, 1] >= 0) & (c[:, 1] < c1 - c0)]
        if len(c):
            coords.append(c)
    return RoiSet.from_coordinates(coords, (r1 - r0, c1 - c0))


def add_crop_images(cands, movie, rect):
    """Summary images of the movie's crop ``rect`` (the field CaImAn ran on), as --movie gives them."""
    from neuronseg.io.movies import movie_from_array, open_movie
    from neuronseg.movie.summary import summarize

    r0, r1, c0, c1 = rect
    with open_movie(movie) as m:
        crop = movie_from_array(m[:][:, r0:r1, c0:c1])
    summary = summarize(crop.chunks(), crop.frame_shape)
    cands.mean_image, cands.correlation_image, cands.max_image = summary.mean, summary.correlation, summary.max


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=None)
    ap.add_argument("--precision", type=float, default=0.9)
    args = ap.parse_args()
    if not (DATA / "suite2p_on_neurofinder_top").exists():
        sys.exit(f"needs {DATA}")
    model = CurationModel.load(args.model)
    movie = DATA / "neurofinder_top" / "movie.tif"
    # as `neuronseg curate` reads them: Suite2p's own images (ops.npy), which the model trained
    # on; the movie only for images the folder lacks (it lacks none)
    s2p = read_candidates_for(model.config, DATA / "suite2p_on_neurofinder_top" / "plane0", movie)
    truth = read_regions_json(DATA / "neurofinder_top" / "regions.json", s2p.rois.shape)
    line = {"model": args.model or "shipped", "precision_target": args.precision,
            "suite2p": held_out_figures(s2p, truth, model, args.precision, HELD_OUT)}
    caiman = read_candidates(DATA / "caiman_on_neurofinder_top_crop" / "caiman_results.hdf5")
    if model.config.images_needed() - {"mean"}:  # CaImAn keeps no correlation image: the movie's crop gives it
        add_crop_images(caiman, movie, HELD_OUT)
    line["caiman"] = held_out_figures(caiman, crop_truth(truth, HELD_OUT), model, args.precision, (0, 128, 0, 256))
    print(json.dumps(line))


if __name__ == "__main__":
    main()
