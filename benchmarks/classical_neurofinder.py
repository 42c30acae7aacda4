"""Classical segmenter on the real Neurofinder recording: accuracy, wall time, peak memory.

Runs the installed `neuronseg segment --method classical` as a user would (a fresh process,
reading the compressed TIFF), then scores its regions.json. Default parameters were chosen
on the top half of the field (rows 0–127); the bottom half (rows 128–255) is reported apart
as the part not looked at while choosing them.

    python benchmarks/classical_neurofinder.py [--data ../shared/data]

Prints one JSON line.
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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    args = ap.parse_args()
    movie = args.data / "neurofinder_top" / "movie.tif"
    truth_path = args.data / "neurofinder_top" / "regions.json"
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out"
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "neuronseg", "-q", "segment", str(movie), "-o", str(out),
                        "--method", "classical"], check=True, stdout=subprocess.DEVNULL)
        wall = time.perf_counter() - t0
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        summary = json.loads((out / "summary.json").read_text())
        pred = read_regions_json(out / "regions.json", tuple(summary["frame_shape"]))
    truth = read_regions_json(truth_path, pred.shape)
    full = neurofinder_scores(truth, pred)
    top_rows, bottom_rows = (0, 128, 0, pred.shape[1]), (128, 256, 0, pred.shape[1])
    top = neurofinder_scores(truth.within(top_rows), pred.within(top_rows))
    bottom = neurofinder_scores(truth.within(bottom_rows), pred.within(bottom_rows))
    print(json.dumps({
        "benchmark": "classical_neurofinder",
        "data": "neurofinder_top 600x256x512",
        "n_truth": len(truth),
        "n_found": len(pred),
        "f1": full["combined"],
        "precision": full["precision"],
        "recall": full["recall"],
        "inclusion": full["inclusion"],
        "exclusion": full["exclusion"],
        "f1_top_rows_tuned": top["combined"],
        "f1_bottom_rows_heldout": bottom["combined"],
        "wall_seconds": round(wall, 2),
        "peak_memory_mb": round(peak_mb, 1),
        "stage_seconds": summary["seconds"],
    }))


if __name__ == "__main__":
    main()
