"""Residual motion after correction, on simulated movies with known shifts; one JSON line.

A motion-free simulated recording (two-photon, and one-photon with its moving background)
gets a known rigid shift per frame, uniform in ±5 px on each axis; each method corrects it.
The residual of a frame is the shift between the corrected frame and the same frame before
shifting (upsampled phase correlation over the central part; both hold the same noise, so
this measures the correction, not the noise). Reported: RMS over frames, and seconds.

    python benchmarks/motion_residual.py
"""

import json
import time

import numpy as np
from scipy import ndimage as ndi
from skimage.registration import phase_cross_correlation

from neuronseg.io.movies import movie_from_array
from neuronseg.movie.motion import MotionCorrectedMovie, MotionParams, estimate_motion
from neuronseg.simulate import simulate


def residual_rms(corrected, clean, margin=16):
    core = (slice(margin, -margin), slice(margin, -margin))
    res = np.array([phase_cross_correlation(c[core], f[core], upsample_factor=20, normalization=None)[0]
                    for c, f in zip(corrected, clean.astype(np.float32))])
    res -= res.mean(axis=0)   # a constant offset of the reference is not motion
    return float(np.sqrt((res ** 2).sum(axis=1).mean()))


def main():
    out = {"shifts": "uniform ±5 px per axis, per frame"}
    for name, onephoton in (("twophoton", False), ("onephoton", True)):
        rec = simulate(frames=300, shape=(192, 192), cells=40, seed=7, motion=0.0, onephoton=onephoton)
        clean = rec.movie.astype(np.float32)
        rng = np.random.default_rng(1)
        true = rng.uniform(-5, 5, (len(clean), 2))
        shifted = np.stack([ndi.shift(f, s, order=3, mode="nearest") for f, s in zip(clean, true)])
        before = float(np.sqrt(((true - true.mean(0)) ** 2).sum(axis=1).mean()))
        out[name] = {"rms_before_px": round(before, 3)}
        for method in ("rigid", "piecewise", "flow"):
            movie = movie_from_array(shifted)
            t0 = time.perf_counter()
            est = estimate_motion(movie, MotionParams(method=method))
            corrected = MotionCorrectedMovie(movie, est).read(0, len(clean))
            secs = time.perf_counter() - t0
            out[name][method] = {"rms_after_px": round(residual_rms(corrected, clean), 3), "seconds": round(secs, 2)}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
