"""How closely `neuronseg simulate` matches the two real recordings; one JSON line.

    python benchmarks/simulator_realism.py [--picture docs/simulated_vs_real.png]

For each real recording (``../shared/data``) and two simulations in its look (the settings
in ``recordings.LOOKS``, the real movie's length and frame rate, seeds 0 and 1), the numbers
that tell fields apart by eye and that a segmenter feels:

* ``psd_slope``: log–log slope of the mean image's radial power spectrum over structures of
  4–40 px (after flattening illumination): how much fine structure beside the somata;
* ``temporal_cv``: median over pixels of temporal std / mean (shot noise and activity);
* ``corr_contrast``, ``corr_median``: 99th percentile minus median, and median, of the local
  correlation image (how well active cells stand out of correlated neuropil);
* ``cell_contrast_median``, ``dark_cell_share``: each cell's mean-image contrast with a ring
  around it (negative: darker than its surround, as labelled somata with nuclear exclusion
  and little cytosolic indicator often are), the median and the share below 0;
* ``active_share``: share of cells with at least one detected event;
* ``cells_per_10k_px``, ``median_diameter``.

``--picture`` draws real and simulated mean and correlation images side by side.
"""

import argparse
import json

import numpy as np
from scipy import ndimage as ndi

from recordings import LOOKS, real

SEEDS = (0, 1)


def psd_slope(mean: np.ndarray) -> float:
    from neuronseg.movie.images import flatten_illumination, robust_z

    img = np.clip(robust_z(flatten_illumination(mean.astype(np.float64), 20.0)), -5, 8)
    h, w = img.shape
    p = np.abs(np.fft.fft2((img - img.mean()) * np.outer(np.hanning(h), np.hanning(w)))) ** 2
    f = np.hypot(*np.meshgrid(np.fft.fftfreq(h), np.fft.fftfreq(w), indexing="ij"))
    edges = np.geomspace(1 / 40, 1 / 4, 12)
    power = [p[(f >= a) & (f < b)].mean() for a, b in zip(edges[:-1], edges[1:])]
    return float(np.polyfit(np.log(np.sqrt(edges[:-1] * edges[1:])), np.log(power), 1)[0])


def cell_contrast(mean: np.ndarray, rois) -> np.ndarray:
    out = []
    for m in rois.masks():
        ring = ndi.binary_dilation(m, iterations=4) & ~ndi.binary_dilation(m, iterations=1)
        if ring.sum() >= 5:
            out.append((mean[m].mean() - mean[ring].mean()) / max(mean[ring].mean(), 1e-6))
    return np.array(out)


def stats(movie: np.ndarray, rois, fs: float):
    from neuronseg.movie.summary import summarize
    from neuronseg.pipelines.segment import summary_bin
    from neuronseg.traces import activity, extract_traces, neuropil_rois

    movie = movie.astype(np.float32)
    s = summarize([(0, movie)], movie.shape[1:], temporal_bin=summary_bin(fs))
    cc = cell_contrast(s.mean, rois)
    traces = extract_traces([(0, movie)], rois, len(movie))
    _, events = activity(traces, extract_traces([(0, movie)], neuropil_rois(rois), len(movie)), fs)
    numbers = {
        "psd_slope": round(psd_slope(s.mean), 2),
        "temporal_cv": round(float(np.median(s.std / np.maximum(s.mean, 1e-6))), 3),
        "corr_contrast": round(float(np.percentile(s.correlation, 99) - np.median(s.correlation)), 3),
        "corr_median": round(float(np.median(s.correlation)), 3),
        "cell_contrast_median": round(float(np.median(cc)), 3),
        "dark_cell_share": round(float((cc < 0).mean()), 2),
        "active_share": round(float(events.any(axis=1).mean()), 2),
        "cells_per_10k_px": round(len(rois) / (movie.shape[1] * movie.shape[2]) * 1e4, 2),
        "median_diameter": round(float(np.sqrt(4 * np.median(rois.areas()) / np.pi)), 1),
    }
    return numbers, s


def draw(rows, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from neuronseg.movie.images import normalise_mean_image

    fig, axes = plt.subplots(len(rows), 4, figsize=(16, 4.3 * len(rows)), squeeze=False)
    for ax_row, (name, real_s, sim_s, seed) in zip(axes, rows):
        cols = slice(256, 256 + sim_s.mean.shape[1])   # the right half: the left holds the held-out part
        panels = ((real_s.mean[:, cols], f"{name}: mean"), (sim_s.mean, f"simulated (seed {seed}): mean"),
                  (real_s.correlation[:, cols], f"{name}: correlation"), (sim_s.correlation, "simulated: correlation"))
        for ax, (img, title) in zip(ax_row, panels):
            shown = normalise_mean_image(img) if "mean" in title else img
            lo, hi = np.percentile(shown, [1, 99.5])
            ax.imshow(shown, cmap="gray", vmin=lo, vmax=hi)
            ax.set_title(title, fontsize=10)
            ax.set_xticks([])
            ax.set_yticks([])
    fig.suptitle("Real recordings (left of each pair) and `neuronseg simulate` in their look (right); 256 × 256 px",
                 fontsize=12)
    fig.tight_layout()
    fig.savefig(path, dpi=80)


def main():
    from neuronseg.simulate import simulate

    ap = argparse.ArgumentParser()
    ap.add_argument("--picture", default=None, help="write real vs simulated mean / correlation images here (PNG)")
    args = ap.parse_args()
    line, rows = {"benchmark": "simulator_realism", "seeds": list(SEEDS)}, []
    for name, look in LOOKS.items():
        rec = real(name)
        real_numbers, real_summary = stats(rec.movie, rec.truth, rec.fs)
        line[name] = {"real": real_numbers}
        for seed in SEEDS:
            sim = simulate(frames=len(rec.movie), shape=(256, 256), seed=seed, fs=rec.fs, **look)
            line[name][f"simulated_seed{seed}"], sim_summary = stats(sim.movie, sim.rois, rec.fs)
        rows.append((name, real_summary, sim_summary, SEEDS[-1]))
        line[name]["look"] = look
    if args.picture:
        draw(rows, args.picture)
        line["picture"] = args.picture
    print(json.dumps(line))


if __name__ == "__main__":
    main()
