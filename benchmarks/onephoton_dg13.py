"""The one-photon method on the real miniscope movie `onephoton_dg13`; one JSON line.

`neuronseg segment --method onephoton` end to end (filters, per-frame U-Net, ConvGRU,
instances, traces, silent ROIs dropped) on ../shared/data/onephoton_dg13/movie_dF_uint8.npy
(605 × 202 × 201). Its labels are partial (15 labelled components among many visible cells), so:
recall of the labelled cells (Neurofinder matching: centres < 5 px), the recall that as many
ROIs would reach by chance (centres drawn uniformly over the scored rows; a dense field of
ROIs matches some labelled cells whatever it finds), and the number of ROIs found beyond them, with how many of those sit on a bright spot of the max projection (a
visible, unlabelled cell) rather than on dim background. Also the wall time of
`segment_movie` (the movie read included) and of the whole command
`neuronseg segment movie_dF_uint8.npy -o OUT --method onephoton --motion none` (Python
start-up, every output file written), 2 threads. `--motion none` because the movie is already
registered (a ΔF/F movie with labels drawn on it); registering it again finds spurious shifts
of up to 9 px, driven by which cells fire.

    python benchmarks/onephoton_dg13.py [--model DIR] [--rows R0 R1]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import tifffile
import torch

from neuronseg.io.movies import open_movie
from neuronseg.roiset import RoiSet
from neuronseg.metrics import NEUROFINDER_THRESHOLD, neurofinder_matches, neurofinder_scores
from neuronseg.pipelines.segment import segment_movie

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "onephoton_dg13"


def chance_recall(truth_centres: np.ndarray, n: int, rows: tuple, cols: int, draws: int = 500) -> float:
    """Mean share of labelled centres within the matching distance of one of ``n`` centres
    drawn uniformly in ``rows × [0, cols)`` (no one-to-one matching, so a slight overestimate)."""
    rng = np.random.default_rng(0)
    hits = []
    for _ in range(draws):
        c = np.c_[rng.uniform(*rows, n), rng.uniform(0, cols, n)]
        d = np.linalg.norm(truth_centres[:, None] - c[None], axis=2).min(axis=1) if n else np.full(len(truth_centres), np.inf)
        hits.append(float((d < NEUROFINDER_THRESHOLD).mean()))
    return float(np.mean(hits))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=None)
    ap.add_argument("--rows", type=int, nargs=2, default=None,
                    help="Score only labelled cells whose centre is in these rows (a held-out band).")
    args = ap.parse_args()
    torch.set_num_threads(2)
    t0 = time.perf_counter()
    with open_movie(DATA / "movie_dF_uint8.npy") as movie:
        seg = segment_movie(movie, "onephoton", model=args.model, motion="none")
    seconds = time.perf_counter() - t0
    labels = tifffile.imread(DATA / "roi_components_labels.tif")
    truth = RoiSet.from_labels(labels)
    pred = seg.rois
    if args.rows:
        r0, r1 = args.rows
        truth = truth.subset([r0 <= c[0] < r1 for c in truth.centers()])
        pred = pred.subset([r0 <= c[0] < r1 for c in pred.centers()])
    matches = neurofinder_matches(truth, pred) if len(pred) else np.full(len(truth), -1)
    by_chance = chance_recall(np.asarray(truth.centers(), float), len(pred), tuple(args.rows or (0, labels.shape[0])),
                              labels.shape[1])
    scores = neurofinder_scores(truth, pred) if len(pred) else {"recall": 0.0}
    extra = sorted(set(range(len(pred))) - set(int(m) for m in matches if m >= 0))
    peak = np.load(DATA / "movie_dF_uint8.npy").max(axis=0).astype(np.float32)
    bright = peak > np.percentile(peak, 75)
    on_bright = sum(bool(bright[tuple(pred.coordinates(i).T)].mean() > 0.5) for i in extra)
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "neuronseg", "-q", "segment", str(DATA / "movie_dF_uint8.npy"), "-o",
               os.path.join(tmp, "out"), "--method", "onephoton", "--motion", "none"] + (["--model", args.model] if args.model else [])
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, env={**os.environ, "OMP_NUM_THREADS": "2"}, capture_output=True)
        command_seconds = time.perf_counter() - t0
    print(json.dumps({"labelled": len(truth), "found": len(pred), "recall": scores["recall"],
                      "recall_by_chance": round(by_chance, 3),
                      "labelled_found": int((np.asarray(matches) >= 0).sum()), "extra_rois": len(extra),
                      "extra_on_bright_max_projection": on_bright, "rows": args.rows,
                      "silent_rois_dropped": seg.parameters.get("silent_rois_dropped"),
                      "seconds": round(seconds, 2), "command_seconds": round(command_seconds, 2),
                      "stage_seconds": seg.seconds}))


if __name__ == "__main__":
    main()
