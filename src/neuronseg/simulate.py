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


TWOPHOTON_PHOTONS = 0.7   #: default photons per pixel and frame at baseline (temporal std/mean near the measured ≈ 1)
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


def _soma(rng, shape, center, radius, nucleus_depth: float | None = None):
    """Footprint (flat indices, weights), mask (flat indices) and body (the soft-edged volume it
    takes, on the footprint's indices) of one soma.

    The outline is an ellipse with a few random harmonics; brightness is a soft-edged
    cytoplasm with a darker, off-centre nucleus (``nucleus_depth`` of 0 fills it; None draws
    a depth of 0.5–0.8).
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
    depth = rng.uniform(0.5, 0.8) if nucleus_depth is None else nucleus_depth
    weights = edge * (1 - depth * nucleus)
    flat = (rr * w + cc).ravel()
    keep = (edge if nucleus_depth is not None else weights).ravel() > 0.02
    return (flat[keep], weights.ravel()[keep].astype(np.float32), np.sort(flat[(rho <= 1).ravel()]),
            edge.ravel()[keep].astype(np.float32))


def _dendrites(rng, shape, n, wiggle: float = 0.15, zoom: float = 1.0):
    """Image of ``n`` thin processes (smoothed random walks turning by ``wiggle`` radians a
    step: dendrites meander, axons run nearly straight; ``zoom`` px per unit width), max 1."""
    img = np.zeros(shape)
    for _ in range(n):
        pos = rng.uniform([0, 0], shape)
        heading = rng.uniform(0, 2 * np.pi)
        for _ in range(int(rng.uniform(0.2, 0.8) * max(shape))):
            heading += rng.normal(0, wiggle / zoom)
            pos = pos + [np.sin(heading), np.cos(heading)]
            r, c = int(pos[0]), int(pos[1])
            if not (0 <= r < shape[0] and 0 <= c < shape[1]):
                break
            img[r, c] += 1
    img = ndi.gaussian_filter(np.minimum(img, 1), 0.7 * zoom)
    return img / (img.max() + 1e-12)


def simulate(
    frames: int = 600,
    shape=(256, 256),
    cells: int | None = None,
    seed: int = 0,
    fs: float = 7.0,
    onephoton: bool = False,
    diameter: float = 10.0,
    density: float = 12.0,
    active_fraction: float | None = None,
    nucleus_fraction: float = 0.7,
    brightness: float = 1.0,
    neuropil_activity: float = 0.1,
    photons: float | None = None,
    motion: float | None = None,
    out_of_focus: float = 0.3,
    drift: float = 0.05,
    tau: float = 0.7,
) -> SimulatedRecording:
    """Simulate a recording; the same arguments always give the same movie.

    Parameters
    ----------
    frames, shape : int, (int, int)
        Movie length and frame size ``(H, W)``.
    cells : int, optional
        Somata in the field; default from ``density``.
    seed : int
    fs : float
        Frame rate (Hz); sets the calcium kinetics in frames.
    onephoton : bool
        A one-photon recording (scattering blur, a strong diffuse background that moves,
        out-of-focus cells) instead of a two-photon one.
    diameter : float
        Median soma diameter, pixels (two-photon; one-photon somata are 10 px).
    density : float
        Somata per 10 000 px² when ``cells`` is not given (both real recordings here: 12–13).
    active_fraction : float, optional
        Share of cells that fire; the rest stay (almost) silent, visible in the mean image
        only. Default 0.5 (0.6 one-photon).
    nucleus_fraction : float
        Share of somata with a dark nucleus in a brighter ring of cytoplasm (GCaMP stays out
        of the nucleus); the rest are filled.
    brightness : float
        Median resting brightness of a soma's cytoplasm relative to the neuropil around it.
        A soma displaces the neuropil it sits in, so a soma dimmer than the neuropil (most of
        them, with their dark nucleus) is a dark hole in the mean image, as most quiet cells
        are in real fields.
    neuropil_activity : float
        How strongly the neuropil's brightness follows the population's activity (the
        unresolved processes of all cells): raises the correlation between background pixels.
    photons : float, optional
        Mean detected photons per pixel and frame at the baseline: sets shot noise. Default
        0.7 for two-photon (a scanned spot dwells ~µs per pixel) and 10 for one-photon (a
        camera pixel integrates the whole exposure; real counts are higher still).
    motion : float, optional
        Standard deviation of the rigid motion, pixels (non-rigid warps are a third of it).
        Default 0.5 (1 one-photon).
    out_of_focus : float
        Out-of-focus somata (blurred, never in the ground truth) per in-focus soma.
    drift : float
        Size of the slow multiplicative drift of the whole field (besides bleaching).
    tau : float
        Median decay time of the indicator, seconds (GCaMP6f ≈ 0.7, GCaMP6s ≈ 1.5).

    Examples
    --------
    >>> rec = simulate(frames=50, shape=(64, 64), cells=5, seed=1)
    >>> rec.movie.shape, len(rec.rois)
    ((50, 64, 64), 5)
    """
    if onephoton:
        return _onephoton_recording(frames, shape, 60 if cells is None else cells, seed, fs, 5.0,
                                    0.6 if active_fraction is None else active_fraction,
                                    ONEPHOTON_PHOTONS if photons is None else photons, 1.0 if motion is None else motion)
    return _twophoton_recording(
        frames, shape, cells, seed, fs, diameter, density, 0.5 if active_fraction is None else active_fraction,
        nucleus_fraction, brightness, neuropil_activity, TWOPHOTON_PHOTONS if photons is None else photons,
        0.5 if motion is None else motion, out_of_focus, drift, tau)


def _spike_trains(rng, n: int, T: int, fs: float, active: np.ndarray, tau: float) -> tuple:
    """``(spikes, calcium)`` of ``n`` cells: bursty Poisson firing of the active ones (a slow
    positive modulation of the rate), each spike a GCaMP-like transient of its own size."""
    rates = np.where(active, rng.lognormal(np.log(0.3), 0.7, n), 0.002)  # Hz
    modulation = np.exp(1.2 * _slow_signal(rng, T, 2 * fs, n) - 0.72)
    spikes = rng.poisson(np.clip(rates[:, None] * modulation / fs, 0, 2)).astype(np.uint8)
    calcium = np.zeros((n, T), np.float32)
    for i in range(n):
        kern = calcium_kernel(fs, 0.07, tau * rng.uniform(0.6, 1.5))
        calcium[i] = np.convolve(spikes[i].astype(float), kern)[:T] * rng.uniform(0.5, 2.0)
    return spikes, calcium


def _footprints(rng, shape, centers, radii, nucleus_fraction):
    """Sparse ``(n, H·W)`` cytoplasm footprints and bodies, the true masks, and which somata
    have a dark nucleus in a ring of cytoplasm (the rest are filled)."""
    h, w = shape
    n = len(centers)
    ring = rng.random(n) < nucleus_fraction
    rows, cols, vals, body, masks = [], [], [], [], []
    for i, (c, r) in enumerate(zip(centers, radii)):
        idx, wts, mask, edge = _soma(rng, shape, c, r, rng.uniform(0.3, 0.6) if ring[i] else 0.0)
        rows.append(np.full(len(idx), i))
        cols.append(idx)
        vals.append(wts)
        body.append(edge)
        masks.append(mask)
    if not n:
        empty = sparse.csr_matrix((0, h * w))
        return empty, empty, masks, ring
    rows, cols = np.concatenate(rows), np.concatenate(cols)
    return (sparse.csr_matrix((np.concatenate(vals), (rows, cols)), shape=(n, h * w)),
            sparse.csr_matrix((np.concatenate(body), (rows, cols)), shape=(n, h * w)), masks, ring)


def _motion(rng, T: int, fs: float, shape, motion: float):
    """``(shifts, warp)``: a slow random walk of rigid shifts with jitter (SD ``motion`` px) and
    a smooth non-rigid warp a third of it; ``warp(frame, t)`` moves frame ``t`` by both."""
    h, w = shape
    walk = np.cumsum(rng.normal(0, 1, (T, 2)), axis=0)
    walk = ndi.gaussian_filter1d(walk - walk.mean(axis=0), fs, axis=0)
    shifts = walk / (walk.std(axis=0) + 1e-12) * motion + rng.normal(0, 0.15 * motion, (T, 2))
    warp_maps = _smooth_noise(rng, shape, max(h, w) / 4, 2) * motion / 3
    warp_time = _slow_signal(rng, T, 2 * fs, 1)[0]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)

    def warp(frame, t):
        dy = shifts[t, 0] + warp_maps[0] * warp_time[t]
        dx = shifts[t, 1] + warp_maps[1] * warp_time[t]
        return ndi.map_coordinates(frame, [yy + dy, xx + dx], order=1, mode="reflect")

    return shifts, warp


def _detected(rng, expected: np.ndarray) -> np.ndarray:
    """uint16 detector counts of ``expected`` photons: shot noise, read noise, gain and bias."""
    gain, offset, read_noise = 60.0, 20.0, 0.3  # counts per photon, bias, photons rms
    counts = rng.poisson(expected) + rng.normal(0, read_noise, expected.shape)
    return np.clip(offset + gain * counts, 0, 65535).astype(np.uint16)


def _twophoton_recording(frames, shape, cells, seed, fs, diameter, density, active_fraction, nucleus_fraction,
                         brightness, neuropil_activity, photons, motion, out_of_focus, drift, tau):
    """A two-photon field: somata that displace the neuropil they sit in (so a quiet, dim soma
    is a dark hole, a bright or active one a ring or disk), neuropil of fine boutons, meandering
    dendrites and straight axons whose activity follows the population's, out-of-focus somata,
    vessels, vignetting, bleaching and drift, rigid and non-rigid motion, shot and read noise."""
    rng = np.random.default_rng(seed)
    h, w = shape
    T = int(frames)
    n_cells = int(round(density * h * w / 1e4)) if cells is None else int(cells)
    # px per unit of tissue, against 10-px somata: a larger soma in pixels is a higher zoom, which
    # enlarges the boutons, processes, vessels and the optical blur with it
    zoom = diameter / 10.0

    # --- somata in focus: footprints, bodies, masks, activity -------------------------
    centers, radii = _place_cells(rng, shape, n_cells, diameter / 2)
    n = len(centers)
    footprints, bodies, masks, ring = _footprints(rng, shape, centers, radii, nucleus_fraction)
    active = rng.random(n) < active_fraction
    spikes, calcium = _spike_trains(rng, n, T, fs, active, tau)
    # cytoplasm at rest, relative to the neuropil; a filled nucleus marks a strongly expressing,
    # bright cell (the white disks of real mean images)
    baseline = brightness * rng.lognormal(0.0, 0.35, n) * np.where(ring, 1.0, rng.lognormal(np.log(2.5), 0.4, n))
    traces = (baseline[:, None] * (1 + calcium)).astype(np.float32)
    occupied = np.clip(np.asarray(bodies.sum(axis=0)).reshape(h, w), 0, 1)

    # --- out-of-focus somata: blurred, dimmer, never in the ground truth ---------------
    n_oof = int(round(out_of_focus * n))
    oof_centers = rng.uniform([0, 0], shape, (n_oof, 2))
    oof_radii = np.clip(rng.normal(diameter / 2, 0.15 * diameter / 2, n_oof), 0.3 * diameter, None)
    oof_feet, _, _, _ = _footprints(rng, shape, oof_centers, oof_radii, nucleus_fraction)
    oof_blur = 0.6 * diameter / 2
    _, oof_calcium = _spike_trains(rng, n_oof, T, fs, rng.random(n_oof) < active_fraction, tau)
    oof_traces = (0.4 * brightness * rng.lognormal(0.0, 0.5, n_oof)[:, None] * (1 + oof_calcium)).astype(np.float32)

    # --- neuropil: boutons, dendrites, axons, vessels; activity that follows the cells' ----
    texture = 1 + 0.06 * _smooth_noise(rng, shape, zoom)[0] + 0.08 * _smooth_noise(rng, shape, 6 * zoom)[0]
    n_groups = 4
    # boutons: fine bright puncta, each group firing with the axon it belongs to
    boutons = np.zeros((n_groups,) + tuple(shape))
    n_boutons = int(h * w / (60 * zoom**2))
    group = rng.integers(0, n_groups, n_boutons)
    boutons[group, rng.integers(0, h, n_boutons), rng.integers(0, w, n_boutons)] = rng.lognormal(0, 0.8, n_boutons)
    boutons = ndi.gaussian_filter(boutons, (0, 0.8 * zoom, 0.8 * zoom))
    boutons *= 1.0 / max(float(boutons.sum(axis=0).std()), 1e-9)
    n_processes = max(1, int(h * w / (10000 * zoom**2)))
    processes = [_dendrites(rng, shape, n_processes, 0.15, zoom) for _ in range(n_groups)]
    processes += [_dendrites(rng, shape, n_processes, 0.03, zoom) * 0.6 + boutons[k] for k in range(n_groups)]
    process_act = np.stack([np.convolve(rng.poisson(0.04, T).astype(float), calcium_kernel(fs, 0.05, tau))[:T]
                            for _ in processes])
    vessels = 1 - 0.7 * np.clip(ndi.gaussian_filter(_dendrites(rng, shape, max(1, int(h * w / (40000 * zoom**2))),
                                                            zoom=zoom), 2.5 * zoom) * 6, 0, 1)
    population = calcium[active].mean(axis=0) if active.any() else np.zeros(T)
    drive = (population - population.mean()) / max(float(population.std()), 1e-9)
    neuropil_level = np.clip(1 + neuropil_activity * 0.3 * drive + 0.03 * _slow_signal(rng, T, 5 * fs)[0], 0.2, None)
    np_maps = _smooth_noise(rng, shape, max(h, w) / 8, 3)
    np_time = _slow_signal(rng, T, 5 * fs, 3)

    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    vc = rng.uniform(0.3, 0.7, 2) * [h, w]
    illumination = 0.45 + 0.55 * np.exp(-(((yy - vc[0]) / (0.8 * h)) ** 2 + ((xx - vc[1]) / (0.8 * w)) ** 2))
    bleach = np.exp(-np.arange(T) / (fs * rng.uniform(150, 400)))
    field_drift = 1 + drift * _slow_signal(rng, T, 30 * fs)[0]

    shifts, warp = _motion(rng, T, fs, shape, motion)

    # --- frames, in chunks -----------------------------------------------------------
    movie = np.empty((T, h, w), np.uint16)
    chunk = 100
    foot_t, oof_t = footprints.T.tocsr(), oof_feet.T.tocsr()
    free = (1 - occupied) * vessels
    for t0 in range(0, T, chunk):
        t1 = min(T, t0 + chunk)
        cells_part = (foot_t @ traces[:, t0:t1]).T.reshape(t1 - t0, h, w) if n else np.zeros((t1 - t0, h, w))
        if n_oof:
            blurred = (oof_t @ oof_traces[:, t0:t1]).T.reshape(t1 - t0, h, w)
            cells_part = cells_part + ndi.gaussian_filter(blurred, (0, oof_blur, oof_blur))
        neuropil = texture * neuropil_level[t0:t1, None, None] * (1 + 0.03 * np.einsum("kij,kt->tij", np_maps,
                                                                                          np_time[:, t0:t1]))
        for img, act in zip(processes, process_act):
            neuropil = neuropil + 0.12 * img * (1 + 2 * act[t0:t1, None, None])
        # the microscope's point-spread function (σ ≈ 0.6 px at 10-px somata) softens every edge
        clean = ndi.gaussian_filter(cells_part + neuropil * free, (0, 0.6 * zoom, 0.6 * zoom))
        for j, t in enumerate(range(t0, t1)):
            clean[j] = warp(clean[j], t)
        scale = (bleach[t0:t1] * field_drift[t0:t1])[:, None, None]
        expected = photons * illumination * scale * np.clip(clean, 0, None)
        movie[t0:t1] = _detected(rng, expected)

    rois = RoiSet(shape, masks)
    return SimulatedRecording(movie, rois, spikes, traces, active, shifts.astype(np.float32), fs)


def _onephoton_recording(frames, shape, cells, seed, fs, cell_radius, active_fraction, photons, motion):
    """A one-photon recording: somata blurred by scattering over a strong diffuse background that
    moves slowly, and out-of-focus cells that are not in the ground truth. (The one-photon
    model was trained on these; the same seed gives the same movie as it did then.)"""
    rng = np.random.default_rng(seed)
    h, w = shape
    T = int(frames)

    # --- cells: footprints, masks, activity -------------------------------------------
    centers, radii = _place_cells(rng, shape, cells, cell_radius)
    n = len(centers)
    foot_rows, foot_cols, foot_vals, masks = [], [], [], []
    for i, (c, r) in enumerate(zip(centers, radii)):
        idx, wts, mask, _ = _soma(rng, shape, c, r)
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

    shifts, warp = _motion(rng, T, fs, shape, motion)

    # --- frames, in chunks -----------------------------------------------------------
    movie = np.empty((T, h, w), np.uint16)
    chunk = 100
    foot_t = footprints.T.tocsr()
    for t0 in range(0, T, chunk):
        t1 = min(T, t0 + chunk)
        cells_part = (foot_t @ traces[:, t0:t1]).T.reshape(t1 - t0, h, w) if n else 0
        cells_part = ndi.gaussian_filter(cells_part, (0, blur, blur))
        neuropil = texture * (1 + 0.08 * np.einsum("kij,kt->tij", np_maps, np_time[:, t0:t1]))
        neuropil = (neuropil + 0.35 * dendrite_img * (1 + 2 * dendrite_act[t0:t1, None, None])) * vessels
        clean = cells_part + neuropil
        for j, t in enumerate(range(t0, t1)):
            hz = np.einsum("kij,k->ij", haze_maps, haze_time[:, t])
            hz = ndi.shift(hz, haze_drift * t, order=1, mode="reflect")
            clean[j] = clean[j] + 1.2 * hz + oof * oof_act[t] / 40
        for j, t in enumerate(range(t0, t1)):
            clean[j] = warp(clean[j], t)
        expected = photons * illumination * bleach[t0:t1, None, None] * np.clip(clean, 0, None)
        movie[t0:t1] = _detected(rng, expected)

    rois = RoiSet(shape, masks)
    return SimulatedRecording(movie, rois, spikes, traces, active, shifts.astype(np.float32), fs)
