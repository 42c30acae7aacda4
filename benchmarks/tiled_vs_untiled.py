"""Tiled against untiled classical segmentation of the real `neurofinder_top`; one JSON line.

Tiles of 100 × 100 pixels (15 tiles with their 2-px halos), first in this process, then as
tasks on a 2-worker Dask LocalCluster reading a Zarr copy of the movie; each compared with
the untiled result by the Neurofinder score (F1 1.0 = the same cells).

    python benchmarks/tiled_vs_untiled.py [--tile-size 100]
"""

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from dask.distributed import Client, LocalCluster

from neuronseg.io.convert import convert_to_zarr
from neuronseg.io.movies import open_movie
from neuronseg.metrics import neurofinder_scores
from neuronseg.pipelines.segment import segment_movie

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, round(time.perf_counter() - t0, 2)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tile-size", type=int, default=100)
    args = ap.parse_args()
    movie_path = DATA / "neurofinder_top" / "movie.tif"
    if not movie_path.exists():
        sys.exit(f"needs {movie_path}")
    with open_movie(movie_path) as movie:
        whole, t_whole = timed(lambda: segment_movie(movie, "classical"))
        tiled, t_tiled = timed(lambda: segment_movie(movie, "classical", tile_size=args.tile_size))
    with tempfile.TemporaryDirectory() as tmp:
        store = Path(tmp) / "movie.zarr"
        convert_to_zarr(movie_path, store)
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
                Client(cluster) as client, open_movie(store) as movie:
            dask_tiled, t_dask = timed(lambda: segment_movie(movie, "classical", tile_size=args.tile_size, client=client))
    f1 = lambda a, b: neurofinder_scores(a.rois, b.rois)["combined"]  # noqa: E731
    print(json.dumps({
        "tile_size": args.tile_size, "rois_untiled": len(whole.rois), "rois_tiled": len(tiled.rois),
        "f1_tiled_vs_untiled": f1(whole, tiled), "f1_dask_tiles_vs_untiled": f1(whole, dask_tiled),
        "seconds": {"untiled": t_whole, "tiled": t_tiled, "dask_2_workers": t_dask},
    }))


if __name__ == "__main__":
    main()
