"""GASP (average linkage) on a 512×512 affinity graph: seconds per partition.

Affinities are the true ones of the real Neurofinder labels (two copies of the 256×512
label image stacked to 512×512) with Gaussian noise (σ 0.2), on the foreground pixels,
with DISCo's 8 graph offsets. Prints one JSON line with the median of 5 runs and the
instance AP at IoU 0.5 of the result.

    python benchmarks/gasp_speed.py [--data ../shared/data]
"""

import argparse
import json
import time
from pathlib import Path

import numpy as np

from neuronseg.instances.affinities import DISCO_GRAPH_OFFSETS, affinity_targets
from neuronseg.instances.gasp import instances_from_affinities
from neuronseg.io.rois import read_regions_json
from neuronseg.metrics import instance_scores


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    args = ap.parse_args()
    gt = read_regions_json(args.data / "neurofinder_top" / "regions.json", (256, 512)).to_labels().astype(np.int32)
    labels = np.concatenate([gt, np.where(gt > 0, gt + 1000, 0)])
    aff, fg = affinity_targets(labels, DISCO_GRAPH_OFFSETS)
    noisy = np.clip(aff + np.random.default_rng(0).normal(0, 0.2, aff.shape), 0, 1)
    times = []
    for _ in range(5):
        t = time.perf_counter()
        out = instances_from_affinities(noisy, DISCO_GRAPH_OFFSETS, fg > 0)
        times.append(time.perf_counter() - t)
    print(json.dumps({
        "benchmark": "gasp_speed",
        "shape": list(labels.shape),
        "foreground_fraction": round(float((fg > 0).mean()), 3),
        "seconds_median": round(float(np.median(times)), 3),
        "ap50": instance_scores(labels, out)["per_threshold"]["0.50"]["ap"],
    }))


if __name__ == "__main__":
    main()
