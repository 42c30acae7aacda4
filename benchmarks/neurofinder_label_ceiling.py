"""How many of neurofinder_top's labelled cells show at all in its 600 frames; one JSON line.

The Neurofinder labels were drawn on the whole recording; this crop holds its first 600
frames (~85 s at 7 Hz). A labelled cell that neither fires in them nor stands out in their
mean image leaves nothing for any method to find, so such cells bound the recall, and
with it the F1, that the held-out figures of issue 3 (DISCo, F1 ≥ 0.75) can reach.

Per region (the held-out quarter of `benchmarks/disco_neurofinder.py`, the validation strip
of its training recipe, the rest): labelled cells; cells with at least one transient in the
raster `segment` writes (neuropil-subtracted ΔF/F, 4 robust SDs, fs = 7 Hz); cells with
soma evidence in the mean image (the classical segmenter's ring/disk score, whose seeds
need 3.5, reaching ``--score`` somewhere in the mask); cells with neither; and the recall
and F1 (at precision 1) left if those are lost. Brightness alone is no test: most somata
are a ring around a dark nucleus, no brighter on average than their surround. It is a soft
bound: a network may see subtler evidence than the ring score, and some evidence is chance
(`visible_by_chance`: the share of labelled masks, moved to places ≥ 6 px from every
labelled cell, that pass the same test; unlabelled cells there count against it too).

The other side of the bound: cells the labels lack. The classical segmenter (no training,
so no label has shaped it) proposes ROIs; those whose centre lies ≥ 8 px from every
labelled centre and that touch no labelled pixel, yet pass *both* tests (a transient and
soma evidence, which every classical ROI has since its seeds need it: stricter than the one
test a labelled cell needs) and reach ΔF/F ``--peak``
(99.5th percentile; a lone 4-SD event on a noisy trace is not enough to call it a cell: by eye,
most of those below 1.0 are doubtful), are counted as `unlabelled_cells`. A method that found exactly the labelled cells with evidence plus those
would score `f1_perfect_detector` against the labels: the most that finding what the movie
shows can earn. Also, of the `--top` ROIs with the largest transients (99.5th percentile of
ΔF/F) anywhere in the field, how many the labels hold (centre < 5 px from a labelled one).

``--picture PATH`` draws each unlabelled cell of the held-out quarter: mean and correlation
image around it (labels red, the ROI amber) and its ΔF/F (docs/neurofinder_unlabelled_cells.png).

    python benchmarks/neurofinder_label_ceiling.py [--score 3.5] [--top 20] [--picture PATH]
"""

import argparse
import json
from pathlib import Path

import numpy as np
from scipy.spatial import cKDTree

from neuronseg.io.movies import open_movie
from neuronseg.io.rois import read_regions_json
from neuronseg.metrics import NEUROFINDER_THRESHOLD
from neuronseg.movie.soma import soma_score
from neuronseg.pipelines.segment import segment_movie
from neuronseg.train.curation import in_rect
from neuronseg.traces import activity, extract_traces, neuropil_rois

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "neurofinder_top"
FS = 7.0
AWAY_PX = 8.0                      # an unlabelled ROI's centre is at least this far from every labelled one
HELD_OUT = (128, 256, 0, 256)      # as benchmarks/disco_neurofinder.py
VALIDATION = (0, 256, 256, 320)    # the --val strip of the DISCo training recipe
PARTS = (("held_out", HELD_OUT), ("validation", VALIDATION), ("training", None))   # None: the rest


def in_part(centres: np.ndarray, rect) -> np.ndarray:
    """Which ``(row, col)`` centres lie in ``rect``, or (None) in neither the held-out quarter nor the strip."""
    return in_rect(centres, rect) if rect else ~in_rect(centres, HELD_OUT) & ~in_rect(centres, VALIDATION)


def visible_by_chance(score: np.ndarray, truth, threshold: float, draws: int = 2000, seed: int = 0) -> float:
    """Share of labelled masks, shifted by up to 40 px to where no pixel is within 6 px of a
    labelled cell, whose ``score`` exceeds ``threshold`` somewhere."""
    from scipy import ndimage as ndi

    far = ndi.distance_transform_edt(truth.to_labels() == 0) > 6
    h, w = score.shape
    rng = np.random.default_rng(seed)
    hits = []
    for _ in range(draws):
        c = truth.coordinates(int(rng.integers(len(truth)))) + rng.integers(-40, 41, 2)
        if (c < 0).any() or (c[:, 0] >= h).any() or (c[:, 1] >= w).any() or not far[c[:, 0], c[:, 1]].all():
            continue
        hits.append(score[c[:, 0], c[:, 1]].max() > threshold)
    return float(np.mean(hits)) if hits else float("nan")


def draw_cells(path, summary, truth, rois, dff, crop: int = 40) -> None:
    """One row per ROI: mean and correlation image around it with every labelled cell (red) and
    the ROI (amber), then its ΔF/F as a dot plot; written as a PNG."""
    from neuronseg.results.pictures import overlay, save_png

    none_matched = -np.ones(len(truth), int)
    pictures = [overlay(image, rois, truth, none_matched) for image in (summary.mean, summary.correlation)]
    h, w = summary.mean.shape
    rows = []
    for i, (r, c) in enumerate(rois.centers().astype(int)):
        r0, c0 = np.clip(r - crop // 2, 0, h - crop), np.clip(c - crop // 2, 0, w - crop)
        plot = np.zeros((crop, 3 * crop, 3), np.uint8)
        trace = (dff[i] - dff[i].min()) / max(np.ptp(dff[i]), 1e-9)
        plot[((crop - 1) * (1 - trace)).astype(int), np.linspace(0, 3 * crop - 1, len(trace)).astype(int)] = (255, 255, 0)
        rows.append(np.concatenate([p[r0:r0 + crop, c0:c0 + crop] for p in pictures] + [plot], axis=1))
    save_png(np.concatenate(rows, axis=0), path, min_size=600)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--score", type=float, default=3.5, help="soma score (robust z) above which a cell counts as visible")
    ap.add_argument("--peak", type=float, default=1.0, help="ΔF/F an unlabelled ROI must reach to count as a cell")
    ap.add_argument("--top", type=int, default=20, help="how many of the most active ROIs to look up in the labels")
    ap.add_argument("--picture", type=Path, default=None, help="PNG of the held-out quarter's unlabelled cells")
    args = ap.parse_args()
    if not DATA.exists():
        raise SystemExit(f"needs {DATA}")
    with open_movie(DATA / "movie.tif") as movie:
        truth = read_regions_json(DATA / "regions.json", movie.frame_shape)
        rings = neuropil_rois(truth)
        traces = extract_traces(movie.chunks(), truth, movie.n_frames)
        neuropil = extract_traces(movie.chunks(), rings, movie.n_frames)
        found = segment_movie(movie, "classical", fs=FS)   # its summary pass gives the mean image too
    mean = found.summary.mean
    _, raster = activity(traces, neuropil, FS)
    active = raster.any(axis=1)
    score = soma_score(mean).ravel()
    visible = np.array([score[p].max() > args.score for p in truth.pixels])
    chance = visible_by_chance(score.reshape(mean.shape), truth, args.score)
    line = {"frames": int(raster.shape[1]), "fs": FS, "soma_score": args.score, "peak_dff": args.peak,
            "visible_by_chance": round(chance, 3)}

    # the classical segmenter's ROIs: which are away from every label, and which show both kinds of evidence
    dff, found_raster = activity(found.traces, found.neuropil, FS)
    label_map = truth.to_labels().ravel()
    centres = found.rois.centers()
    distance, _ = cKDTree(truth.centers()).query(centres)
    away = (distance >= AWAY_PX) & np.array([not label_map[p].any() for p in found.rois.pixels])
    peak = np.percentile(dff, 99.5, axis=1)
    strong = found_raster.any(axis=1) & (peak >= args.peak) & np.array([score[p].max() > args.score for p in found.rois.pixels])
    most_active = np.argsort(-peak)[:args.top]
    line["most_active_rois"] = {"n": len(most_active),
                                "labelled": int((distance[most_active] < NEUROFINDER_THRESHOLD).sum())}
    for name, rect in PARTS:
        sel = in_part(truth.centers(), rect)
        n, lost = int(sel.sum()), int((sel & ~active & ~visible).sum())
        recall = 1 - lost / max(n, 1)
        extra = int((in_part(centres, rect) & away & strong).sum())
        line[name] = {"labelled": n, "active": int((sel & active).sum()), "visible": int((sel & visible).sum()),
                      "neither": lost, "recall_ceiling": round(recall, 3),
                      "f1_ceiling_at_precision_1": round(2 * recall / (1 + recall), 3),
                      "unlabelled_cells": extra,
                      "f1_perfect_detector": round(2 * (n - lost) / (2 * (n - lost) + lost + extra), 3)}
    cells = in_part(centres, HELD_OUT) & away & strong
    if args.picture and cells.any():
        draw_cells(args.picture, found.summary, truth, found.rois.subset(cells), dff[cells])
    print(json.dumps(line))


if __name__ == "__main__":
    main()
