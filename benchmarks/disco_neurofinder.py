"""DISCo (default `neuronseg segment`) against the classical segmenter on real data.

Runs `neuronseg segment` as a user would (fresh process, compressed TIFF) on
`neurofinder_top` (600 × 256 × 512), and scores both methods on the spatial part that the
shipped model never saw in training: rows 128–255, columns 0–255 (25 % of the field), plus
the whole field for reference. Prints one JSON line.

    python benchmarks/disco_neurofinder.py [--data ../shared/data] [--model DIR]
"""

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from neuronseg.io.rois import read_regions_json
from neuronseg.metrics import neurofinder_scores

HELD_OUT = (128, 256, 0, 256)


def run(movie, method, model=None):
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out"
        cmd = [sys.executable, "-m", "neuronseg", "-q", "segment", str(movie), "-o", str(out), "--method", method]
        if model:
            cmd += ["--model", str(model)]
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        wall = time.perf_counter() - t0
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # max over children so far
        summary = json.loads((out / "summary.json").read_text())
        rois = read_regions_json(out / "regions.json", tuple(summary["frame_shape"]))
    return rois, wall, peak / 1024 if peak > before else None, summary


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    ap.add_argument("--model", type=Path, default=None)
    args = ap.parse_args()
    movie = args.data / "neurofinder_top" / "movie.tif"
    # DISCo first: the children's peak memory is a running maximum, so the first run's is its own
    disco, wall, peak_mb, summary = run(movie, "disco", args.model)
    classical, wall_c, _, _ = run(movie, "classical")
    truth = read_regions_json(args.data / "neurofinder_top" / "regions.json", disco.shape)
    d_held = neurofinder_scores(truth.within(HELD_OUT), disco.within(HELD_OUT))
    c_held = neurofinder_scores(truth.within(HELD_OUT), classical.within(HELD_OUT))
    print(json.dumps({
        "benchmark": "disco_neurofinder",
        "data": "neurofinder_top 600x256x512; held-out rows 128-255, cols 0-255",
        "held_out_n_truth": len(truth.within(HELD_OUT)),
        "disco_f1_held_out": d_held["combined"],
        "disco_precision_held_out": d_held["precision"],
        "disco_recall_held_out": d_held["recall"],
        "classical_f1_held_out": c_held["combined"],
        "disco_minus_classical_held_out": round(d_held["combined"] - c_held["combined"], 4),
        "disco_f1_full_field": neurofinder_scores(truth, disco)["combined"],
        "classical_f1_full_field": neurofinder_scores(truth, classical)["combined"],
        "disco_wall_seconds": round(wall, 2),
        "disco_peak_memory_mb": round(peak_mb, 1) if peak_mb else None,
        "disco_stage_seconds": summary["seconds"],
        "classical_wall_seconds": round(wall_c, 2),
    }))


if __name__ == "__main__":
    main()
