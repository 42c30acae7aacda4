"""Memory of DISCo's feature pass does not grow with movie length.

Builds a 6000-frame movie by repeating the real 600-frame `neurofinder_top` ten times
(written once to chunked HDF5 in a temporary folder; HDF5 reads into memory, so
resident memory is the pipeline's own — a memory-mapped .npy would add the page cache
it touches), runs the streaming summary + segment-correlation pass on the 600- and the
6000-frame movie, each in a fresh process, and compares their peak resident memory.
Prints one JSON line; the ratio should stay ≤ 1.2.

    python benchmarks/feature_memory.py [--data ../shared/data]
"""

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

CHILD = """
import json, resource, sys, time
from neuronseg.io.movies import open_movie
from neuronseg.movie.features import SegmentCorrelations
from neuronseg.movie.summary import summarize
m = open_movie(sys.argv[1])
t = time.perf_counter()
acc = SegmentCorrelations(m.frame_shape, m.n_frames, pool=5, n_segments=10)
summarize(m.chunks(), m.frame_shape, temporal_bin=3, consumers=[acc])
print(json.dumps({"frames": m.n_frames, "seconds": round(time.perf_counter() - t, 2),
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def main():
    import h5py
    import tifffile

    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    args = ap.parse_args()
    movie = tifffile.imread(args.data / "neurofinder_top" / "movie.tif")
    with tempfile.TemporaryDirectory() as tmp:
        short, long = Path(tmp) / "m600.h5", Path(tmp) / "m6000.h5"
        for path, repeats in ((short, 1), (long, 10)):
            with h5py.File(path, "w") as f:
                d = f.create_dataset("movie", shape=(600 * repeats,) + movie.shape[1:], dtype=movie.dtype,
                                     chunks=(50,) + movie.shape[1:])
                for i in range(repeats):
                    d[i * 600 : (i + 1) * 600] = movie
        del movie
        runs = [json.loads(subprocess.run([sys.executable, "-c", CHILD, str(p)], check=True, capture_output=True,
                                          text=True).stdout) for p in (short, long)]
    print(json.dumps({
        "benchmark": "feature_memory",
        "data": "neurofinder_top repeated: 600 vs 6000 frames of 256x512",
        "peak_mb_600": round(runs[0]["peak_mb"], 1),
        "peak_mb_6000": round(runs[1]["peak_mb"], 1),
        "ratio": round(runs[1]["peak_mb"] / runs[0]["peak_mb"], 3),
        "seconds_600": runs[0]["seconds"],
        "seconds_6000": runs[1]["seconds"],
    }))


if __name__ == "__main__":
    main()
