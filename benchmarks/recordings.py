"""The recordings the generalization benchmarks score on, in one place.

Two real two-photon recordings from two labs (``../shared/data``), each with the same
held-out rectangle that no model or default was chosen on, and fresh simulations spread
over cell sizes and frame rates with seeds that no training run uses (training draws its
simulations from seeds below 9000).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
#: rows 128–255 × columns 0–255 of each real recording: never used to choose anything
HELD_OUT = (128, 256, 0, 256)
REAL = {"neurofinder_top": 7.0, "neurofinder_0101_top": 7.5}   #: name → frame rate, Hz
#: simulated settings per real recording's look (benchmarks/simulator_realism.py measures the match)
LOOKS = {
    "neurofinder_top": {},
    "neurofinder_0101_top": {"diameter": 15.0, "density": 13.0, "tau": 1.5, "active_fraction": 0.2,
                             "neuropil_activity": 2.5},
}
SIM_DIAMETERS = (8, 12, 16, 20, 24)   #: px; four fresh simulations at each
SIM_RATES = (5.0, 10.0, 20.0, 30.0)   #: Hz, one per simulation of a size
SIM_SEEDS = range(9000, 9020)


@dataclass
class Recording:
    name: str
    movie: np.ndarray     #: (T, H, W)
    truth: object         #: RoiSet
    fs: float
    diameter: float       #: the median labelled (or simulated) soma's equivalent-circle diameter, px


def median_diameter(rois) -> float:
    return float(np.sqrt(4 * np.median(rois.areas()) / np.pi))


def real(name: str) -> Recording:
    import tifffile

    from neuronseg.io.rois import read_regions_json

    movie = tifffile.imread(DATA / name / "movie.tif")
    truth = read_regions_json(DATA / name / "regions.json", movie.shape[1:])
    return Recording(name, movie, truth, REAL[name], median_diameter(truth))


def simulations(frames_seconds: float = 60.0, shape=(256, 256)):
    """The 20 fresh simulations: (diameter, rate) pairs over the grid, ``frames_seconds`` long."""
    from neuronseg.simulate import simulate

    for k, seed in enumerate(SIM_SEEDS):
        d = SIM_DIAMETERS[k // len(SIM_RATES)]
        fs = SIM_RATES[k % len(SIM_RATES)]
        # the same share of the field covered by cells at every size
        density = 12.0 * (10.0 / d) ** 2
        rec = simulate(frames=int(frames_seconds * fs), shape=shape, seed=seed, fs=fs, diameter=d, density=density)
        yield Recording(f"sim{seed}_d{d}_fs{fs:g}", rec.movie, rec.rois, fs, median_diameter(rec.rois))


def scores(truth, found, rect=None) -> dict:
    from neuronseg.metrics import neurofinder_scores

    if rect is not None:
        truth, found = truth.within(rect), found.within(rect)
    s = neurofinder_scores(truth, found)
    return {"f1": s["combined"], "precision": s["precision"], "recall": s["recall"], "n_found": len(found)}
