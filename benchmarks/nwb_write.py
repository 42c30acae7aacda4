"""NWB export of a real segmentation: time, size, and whether the round trip is lossless; one JSON line.

Segments `neurofinder_top` (600 × 256 × 512) with the classical method, writes the NWB file
(masks, traces, ΔF/F, summary images), validates it with pynwb and reads it back.

    python benchmarks/nwb_write.py
"""

import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from pynwb import validate

from neuronseg.io.movies import open_movie
from neuronseg.io.nwb import read_nwb_segmentation
from neuronseg.pipelines.segment import segment_movie
from neuronseg.results.nwb import write_nwb_file

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def main():
    movie_path = DATA / "neurofinder_top" / "movie.tif"
    if not movie_path.exists():
        sys.exit(f"needs {movie_path}")
    with open_movie(movie_path) as movie:
        seg = segment_movie(movie, "classical", fs=7.0)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "seg.nwb"
        t0 = time.perf_counter()
        write_nwb_file(path, seg, movie_path)
        seconds = time.perf_counter() - t0
        errors = validate(path=str(path))
        rois, traces = read_nwb_segmentation(path)
        line = {
            "n_rois": len(seg.rois), "n_frames": int(seg.traces.shape[1]),
            "write_seconds": round(seconds, 3), "size_mb": round(path.stat().st_size / 2**20, 2),
            "validation_errors": len(errors),
            "masks_lossless": len(rois) == len(seg.rois) and all(
                np.array_equal(a, b) and np.array_equal(wa, wb)
                for a, b, wa, wb in zip(rois.pixels, seg.rois.pixels,
                                        rois.weights, seg.rois.weights or [np.ones(len(p), np.float32) for p in seg.rois.pixels])),
            "traces_lossless": bool(np.array_equal(traces, seg.traces)),
        }
    print(json.dumps(line))


if __name__ == "__main__":
    main()
