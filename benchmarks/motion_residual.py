"""Residual motion after correction, on simulated movies with known shifts; one JSON line.

A motion-free simulated recording (two-photon, and one-photon with its moving background)
gets a known rigid shift per frame, uniform in ±5 px on each axis; each method corrects it.
The residual of a frame is the shift between the corrected frame and the same frame before
shifting (upsampled phase correlation over the central part; both hold the same noise, so
this measures the correction, not the noise). Reported: RMS over frames, and seconds.
One-photon movies use the settings `segment --method onephoton` uses (`MotionParams.for_onephoton`).

Those shifts move the haze with the tissue. In the simulator's own one-photon movies the haze
also slides on its own while the tissue moves (1 px SD, with small non-rigid warps), which is
harder: `onephoton_own_motion` reports the rigid estimate's error against the simulator's known
shifts there (RMS after removing a constant offset), with the one-photon and the two-photon
settings, on 3 recordings never used to choose them (seeds 500–502).

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
            params = MotionParams.for_onephoton(method) if onephoton else MotionParams(method=method)
            est = estimate_motion(movie, params)
            corrected = MotionCorrectedMovie(movie, est).read(0, len(clean))
            secs = time.perf_counter() - t0
            out[name][method] = {"rms_after_px": round(residual_rms(corrected, clean), 3), "seconds": round(secs, 2)}
    own, true_rms = {"onephoton_settings": [], "twophoton_settings": []}, []
    for seed in (500, 501, 502):
        rec = simulate(frames=400, shape=(128, 128), cells=40, seed=seed, onephoton=True)
        true_rms.append(float(np.sqrt(((rec.shifts - rec.shifts.mean(axis=0)) ** 2).sum(axis=1).mean())))
        for key, params in (("onephoton_settings", MotionParams.for_onephoton()), ("twophoton_settings", MotionParams())):
            err = estimate_motion(movie_from_array(rec.movie), params).shifts - rec.shifts
            err -= err.mean(axis=0)
            own[key].append(round(float(np.sqrt((err ** 2).sum(axis=1).mean())), 3))
    out["onephoton_own_motion"] = {"rigid_error_rms_px": own, "true_motion_rms_px": round(float(np.mean(true_rms)), 3)}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
