"""A movie larger than RAM: 60 000 × 512 × 512 uint16 (31 GB raw) segmented with bounded memory; one JSON line.

Built once from the real recording (`neurofinder_top`, 600 × 256 × 512): the 600 frames
are repeated 100 times in time and the field is stacked with its mirror image to 512 rows;
stored as a zstd-compressed Zarr store chunked in whole frames (`--store`, default under
/tmp; about 20 GB on disk). Then `neuronseg segment STORE --method classical` runs in a
fresh process, once on the first 600 frames (a copy of the same layout) and once on all
60 000, and the line reports the peak memory of each run and the time per frame.

    python benchmarks/large_movie.py [--store /tmp/neuronseg_large.zarr] [--repeats 100]
"""

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def build(store: Path, repeats: int) -> None:
    import zarr

    from neuronseg.io.movies import open_movie

    with open_movie(DATA / "neurofinder_top" / "movie.tif") as movie:
        block = movie[:]
    block = np.concatenate([block, block[:, ::-1]], axis=1)  # 600 × 512 × 512
    t = len(block)
    tmp = store.with_name(store.name + ".partial")
    group = zarr.open_group(str(tmp), mode="w")
    array = group.create_array("movie", shape=(t * repeats,) + block.shape[1:], chunks=(100,) + block.shape[1:],
                               dtype=block.dtype)
    for k in range(repeats):
        array[k * t : (k + 1) * t] = block
    tmp.rename(store)


def segment(store: Path, out: Path) -> dict:
    t0 = time.perf_counter()
    run = subprocess.run([sys.executable, "-m", "neuronseg.cli", "-q", "segment", str(store), "-o", str(out),
                          "--method", "classical", "--json"], capture_output=True, text=True)
    if run.returncode:
        sys.exit(run.stderr)
    summary = json.loads(run.stdout)
    return {"frames": summary["n_frames"], "rois": summary["n_rois"], "wall_seconds": round(time.perf_counter() - t0, 1),
            "peak_memory_mb": summary["peak_memory_mb"], "stage_seconds": summary["seconds"]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--store", type=Path, default=Path(tempfile.gettempdir()) / "neuronseg_large.zarr")
    ap.add_argument("--repeats", type=int, default=100)
    args = ap.parse_args()
    if not (DATA / "neurofinder_top").exists():
        sys.exit(f"needs {DATA}")
    small = args.store.with_name(args.store.stem + "_600.zarr")
    if not small.exists():
        build(small, 1)
    if not args.store.exists():
        build(args.store, args.repeats)
    with tempfile.TemporaryDirectory() as tmp:
        one = segment(small, Path(tmp) / "small")
        big = segment(args.store, Path(tmp) / "big")
    raw_gb = big["frames"] * 512 * 512 * 2 / 1e9
    print(json.dumps({
        "raw_size_gb": round(raw_gb, 1), "machine_ram_gb": 24,
        "small": one, "large": big,
        "seconds_per_frame_small": round(one["wall_seconds"] / one["frames"], 5),
        "seconds_per_frame_large": round(big["wall_seconds"] / big["frames"], 5),
    }))


if __name__ == "__main__":
    main()
