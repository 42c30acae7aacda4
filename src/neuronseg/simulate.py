"""A simulated calcium-imaging recording with its ground truth.

Built to look like a real two-photon field of view rather than Gaussian blobs:

* somata of varied size, elongation and outline, with a dark nucleus (GCaMP stays in
  the cytoplasm) and a soft edge; some bright, most dim;
* active and silent cells; spikes (Poisson, in bursts) convolved with a GCaMP-like
  double-exponential kernel (rise ~70 ms, decay 0.4–1.2 s);
* neuropil: a textured background with dendrite-like processes that have their own
  activity, slow, spatially smooth fluctuations, and dark blood-vessel shadows;
* uneven illumination (vignetting), photobleaching, Poisson shot noise with a detector
  gain and Gaussian read noise;
* small rigid motion (a smoothed random walk) and small non-rigid warps.

``onephoton=True`` adds what one-photon (miniscope, widefield) data have: a strong diffuse
background that moves slowly, scattering blur of every cell, and out-of-focus cells that
are not in the ground truth.

Coordinates are ``[row, col]``; the movie is ``(T, H, W)`` uint16.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import ndimage as ndi
from scipy import sparse

from neuronseg.io.rois import write_label_tif, write_regions_json
from neuronseg.roiset import RoiSet


TWOPHOTON_PHOTONS = 1.5   #: default photons per pixel and frame at baseline
ONEPHOTON_PHOTONS = 10.0


@dataclass
class SimulatedRecording:
    movie: np.ndarray          #: (T, H, W) uint16
    rois: RoiSet               #: ground-truth soma masks (nucleus included)
    spikes: np.ndarray         #: (N, T) uint8 spike counts per frame
    traces: np.ndarray         #: (N, T) float32 noise-free somatic fluorescence
    active: np.ndarray         #: (N,) bool, cells that fire
    shifts: np.ndarray         #: (T, 2) rigid motion applied, [row, col] pixels
    fs: float                  #: frame rate, Hz

    def save(self, out) -> None:
        """Write ``movie.tif``, ``regions.json``, ``labels.tif``, ``spikes.npy``,
        ``traces.npy``, ``shifts.npy`` and ``ground_truth.json`` into folder ``out``."""
        import tifffile

        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        tifffile.imwrite(out / "movie.tif", self.movie, compression="zlib", metadata={"axes": "TYX"})
        write_regions_json(self.rois, out / "regions.json")
        write_label_tif(self.rois, out / "labels.tif")
        np.save(out / "spikes.npy", self.spikes)
        np.save(out / "traces.npy", self.traces)
        np.save(out / "shifts.npy", self.shifts)
        (out / "ground_truth.json").write_text(json.dumps({
            "fs": self.fs,
            "n_cells": len(self.rois),
            "active": self.active.tolist(),
            "files": {"movie": "movie.tif (T, H, W) uint16", "regions": "regions.json [row, col]",
                      "spikes": "spikes.npy (N, T)", "traces": "traces.npy (N, T) clean fluorescence",
                      "shifts": "shifts.npy (T, 2) rigid motion [row, col]"},
        }, indent=1))


def _smooth_noise(rng, shape, sigma, n=1):
    """Unit-variance, spatially smooth Gaussian random fields ``(n, *shape)``."""
    fields = ndi.gaussian_filter(rng.standard_normal((n,) + tuple(shape)), (0, sigma, sigma))
    fields /= fields.std(axis=(1, 2), keepdims=True) + 1e-12
    return fields


def _slow_signal(rng, n_frames, timescale, n=1):
    """Smooth random time courses ``(n, T)`` with unit variance and correlation time ~timescale frames."""
    x = ndi.gaussian_filter1d(rng.standard_normal((n, n_frames + 4 * int(timescale))), timescale, axis=1)
    x = x[:, 2 * int(timescale) : 2 * int(timescale) + n_frames]
    return (x - x.mean(axis=1, keepdims=True)) / (x.std(axis=1, keepdims=True) + 1e-12)


def calcium_kernel(fs: float, tau_rise: float = 0.07, tau_decay: float = 0.7) -> np.ndarray:
    """GCaMP-like impulse response sampled at ``fs``, peak 1."""
    t = np.arange(int(np.ceil(6 * tau_decay * fs)) + 1) / fs
    k = np.exp(-t / tau_decay) - np.exp(-t / tau_rise)
    return k / k.max()


def _place_cells(rng, shape, n, mean_radius, margin=2):
    """Centres at least ~1.6 radii apart (cells may touch, rarely overlap)."""
    centers, radii = [], []
    tries = 0
    while len(centers) < n and tries < 200 * n:
        tries += 1
        r = float(np.clip(rng.normal(mean_radius, 0.18 * mean_radius), 0.6 * mean_radius, 1.5 * mean_radius))
        c = rng.uniform([margin, margin], [shape[0] - margin, shape[1] - margin])
        if all(np.hypot(*(c - c2)) > 0.8 * (r + r2) for c2, r2 in zip(centers, radii)):
            centers.append(c)
            radii.append(r)
    return np.array(centers).reshape(-1, 2), np.array(radii)


def _soma(rng, shape, center, radius):
    """Footprint (flat indices, weights) and mask (flat indices) of one soma.

    The outline is an ellipse with a few random harmonics; brightness is a soft-edged
    cytoplasm with a darker, off-centre nucleus.
    """
    h, w = shape
    n = int(np.ceil(radius * 1.6)) + 2
    r0, c0 = np.round(center).astype(int)
    rr, cc = np.mgrid[max(0, r0 - n) : min(h, r0 + n + 1), max(0, c0 - n) : min(w, c0 + n + 1)]
    dy, dx = rr - center[0], cc - center[1]
    theta = np.arctan2(dy, dx)
    elong = rng.uniform(0, 0.3)
    angle = rng.uniform(0, np.pi)
    outline = radius * (1 + elong * np.cos(2 * (theta - angle)) / 2)
    for k in (3, 4, 5):
        outline = outline * (1 + rng.normal(0, 0.04) * np.cos(k * theta + rng.uniform(0, 2 * np.pi)))
    rho = np.hypot(dy, dx) / outline
    edge = 1 / (1 + np.exp(-(1 - rho) * radius / 0.6))
    nuc_off = rng.normal(0, 0.12, 2) * radius
    nuc_r = rng.uniform(0.45, 0.65) * radius
    rho_n = np.hypot(dy - nuc_off[0], dx - nuc_off[1]) / nuc_r
    nucleus = 1 / (1 + np.exp(-(1 - rho_n) * nuc_r / 0.7))
    weights = edge * (1 - rng.uniform(0.5, 0.8) * nucleus)
    flat = (rr * w + cc).ravel()
    keep = weights.ravel() > 0.02
    return flat[keep], weights.ravel()[keep].astype(np.float32), np.sort(flat[(rho <= 1).ravel()])


def _dendrites(rng, shape, n):
    """Image of ``n`` thin, meandering processes (smoothed random walks), max 1."""
    img = np.zeros(shape)
    for _ in range(n):
        pos = rng.uniform([0, 0], shape)
        heading = rng.uniform(0, 2 * np.pi)
        for _ in range(int(rng.uniform(0.2, 0.8) * max(shape))):
            heading += rng.normal(0, 0.15)
            pos = pos + [np.sin(heading), np.cos(heading)]
            r, c = int(pos[0]), int(pos[1])
            if not (0 <= r < shape[0] and 0 <= c < shape[1]):
                break
            img[r, c] += 1
    img = ndi.gaussian_filter(np.minimum(img, 1), 0.7)
    return img / (img.max() + 1e-12)


def simulate(
    frames: int = 600,
    shape=(256, 256),
    cells: int = 60,
    seed: int = 0,
    fs: float = 7.0,
    onephoton: bool = False,
    cell_radius: float = 5.0,
    active_fraction: float = 0.6,
    photons: float | None = None,
    motion: float = 1.0,
) -> SimulatedRecording:
    """Simulate a recording; the same arguments always give the same movie.

    Parameters
    ----------
    frames, shape, cells : int, (int, int), int
        Movie length, frame size ``(H, W)`` and number of somata in the field.
    seed : int
    fs : float
        Frame rate (Hz); sets the calcium kinetics in frames.
    onephoton : bool
        Add one-photon background, blur and out-of-focus cells.
    cell_radius : float
        Mean soma radius in pixels.
    active_fraction : float
        Share of cells that fire; the rest stay (almost) silent but visible.
    photons : float, optional
        Mean detected photons per pixel and frame at the baseline: sets shot noise. Default
        1.5 for two-photon (a scanned spot dwells ~µs per pixel) and 10 for one-photon (a
        camera pixel integrates the whole exposure; real counts are higher still).
    motion : float
        Standard deviation of the rigid motion, pixels (non-rigid warps are a third of it).

    Examples
    --------
    >>> rec = simulate(frames=50, shape=(64, 64), cells=5, seed=1)
    >>> rec.movie.shape, len(rec.rois)
    ((50, 64, 64), 5)
    """
    if photons is None:
        photons = ONEPHOTON_PHOTONS if onephoton else TWOPHOTON_PHOTONS
    rng = np.random.default_rng(seed)
    h, w = shape
    T = int(frames)

    # --- cells: footprints, masks, activity -------------------------------------------
    centers, radii = _place_cells(rng, shape, cells, cell_radius)
    n = len(centers)
    foot_rows, foot_cols, foot_vals, masks = [], [], [], []
    for i, (c, r) in enumerate(zip(centers, radii)):
        idx, wts, mask = _soma(rng, shape, c, r)
        foot_rows.append(np.full(len(idx), i))
        foot_cols.append(idx)
        foot_vals.append(wts)
        masks.append(mask)
    footprints = sparse.csr_matrix(
        (np.concatenate(foot_vals), (np.concatenate(foot_rows), np.concatenate(foot_cols))), shape=(n, h * w)
    ) if n else sparse.csr_matrix((0, h * w))

    active = rng.random(n) < active_fraction
    rates = np.where(active, rng.lognormal(np.log(0.4), 0.6, n), 0.003)  # Hz
    # Bursty firing: rate modulated by a slow positive process.
    modulation = np.exp(1.2 * _slow_signal(rng, T, 2 * fs, n) - 0.72)
    spikes = rng.poisson(np.clip(rates[:, None] * modulation / fs, 0, 2)).astype(np.uint8)
    calcium = np.zeros((n, T), np.float32)
    for i in range(n):
        kern = calcium_kernel(fs, 0.07, rng.uniform(0.4, 1.2))
        calcium[i] = np.convolve(spikes[i].astype(float), kern)[:T] * rng.uniform(0.4, 1.0)
    baseline = rng.lognormal(np.log(1.0), 0.45, n)  # relative to neuropil ≈ 1
    traces = (baseline[:, None] * (1 + calcium)).astype(np.float32)

    # --- background: neuropil texture, processes, slow fluctuations -------------------
    texture = 0.55 + 0.12 * _smooth_noise(rng, shape, 1.5)[0] + 0.1 * _smooth_noise(rng, shape, 8)[0]
    dendrite_img = _dendrites(rng, shape, max(4, int(h * w / 2500)))
    # blood vessels: a few wide dark tracks that shadow neuropil (cells sit beside them)
    vessels = 1 - 0.7 * np.clip(ndi.gaussian_filter(_dendrites(rng, shape, max(1, int(h * w / 40000))), 2.5) * 6, 0, 1)
    dendrite_act = np.clip(
        np.convolve(rng.poisson(0.05, T).astype(float), calcium_kernel(fs, 0.05, 0.5))[:T], 0, None
    ) + 0.1 * _slow_signal(rng, T, 3 * fs)[0]
    np_maps = _smooth_noise(rng, shape, max(h, w) / 8, 3)
    np_time = _slow_signal(rng, T, 5 * fs, 3)

    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    vc = rng.uniform(0.3, 0.7, 2) * [h, w]
    illumination = 0.45 + 0.55 * np.exp(-(((yy - vc[0]) / (0.8 * h)) ** 2 + ((xx - vc[1]) / (0.8 * w)) ** 2))
    bleach = np.exp(-np.arange(T) / (fs * rng.uniform(150, 400)))

    if onephoton:
        blur = rng.uniform(1.5, 2.5)
        haze_maps = _smooth_noise(rng, shape, max(h, w) / 10, 4) + 2.0
        haze_time = 1 + 0.3 * _slow_signal(rng, T, 8 * fs, 4)
        haze_drift = rng.normal(0, 0.05, 2)  # px per frame: the background slowly slides
        # out-of-focus cells: bright, very blurred, never in the ground truth
        oof = np.zeros(shape)
        for c in rng.uniform([0, 0], shape, (max(3, cells // 2), 2)):
            oof[int(c[0]), int(c[1])] = rng.uniform(30, 80)
        oof = ndi.gaussian_filter(oof, 3 * cell_radius / 2)
        oof_act = 1 + 0.5 * np.clip(_slow_signal(rng, T, fs, 1)[0], 0, None)

    # --- motion --------------------------------------------------------------------
    walk = np.cumsum(rng.normal(0, 1, (T, 2)), axis=0)
    walk = ndi.gaussian_filter1d(walk - walk.mean(axis=0), fs, axis=0)
    shifts = walk / (walk.std(axis=0) + 1e-12) * motion + rng.normal(0, 0.15 * motion, (T, 2))
    warp_maps = _smooth_noise(rng, shape, max(h, w) / 4, 2) * motion / 3
    warp_time = _slow_signal(rng, T, 2 * fs, 1)[0]

    # --- frames, in chunks -----------------------------------------------------------
    movie = np.empty((T, h, w), np.uint16)
    gain, offset, read_noise = 60.0, 20.0, 0.3  # detector: counts per photon, bias, photons rms
    chunk = 100
    foot_t = footprints.T.tocsr()
    for t0 in range(0, T, chunk):
        t1 = min(T, t0 + chunk)
        cells_part = (foot_t @ traces[:, t0:t1]).T.reshape(t1 - t0, h, w) if n else 0
        if onephoton:
            cells_part = ndi.gaussian_filter(cells_part, (0, blur, blur))
        neuropil = texture * (1 + 0.08 * np.einsum("kij,kt->tij", np_maps, np_time[:, t0:t1]))
        neuropil = (neuropil + 0.35 * dendrite_img * (1 + 2 * dendrite_act[t0:t1, None, None])) * vessels
        clean = cells_part + neuropil
        if onephoton:
            for j, t in enumerate(range(t0, t1)):
                hz = np.einsum("kij,k->ij", haze_maps, haze_time[:, t])
                hz = ndi.shift(hz, haze_drift * t, order=1, mode="reflect")
                clean[j] = clean[j] + 1.2 * hz + oof * oof_act[t] / 40
        for j, t in enumerate(range(t0, t1)):
            dy = shifts[t, 0] + warp_maps[0] * warp_time[t]
            dx = shifts[t, 1] + warp_maps[1] * warp_time[t]
            clean[j] = ndi.map_coordinates(clean[j], [yy + dy, xx + dx], order=1, mode="reflect")
        expected = photons * illumination * bleach[t0:t1, None, None] * np.clip(clean, 0, None)
        counts = rng.poisson(expected) + rng.normal(0, read_noise, expected.shape)
        movie[t0:t1] = np.clip(offset + gain * counts, 0, 65535).astype(np.uint16)

    rois = RoiSet(shape, masks)
    return SimulatedRecording(movie, rois, spikes, traces, active, shifts.astype(np.float32), fs)
