"""Fluorescence traces of ROIs, read from the movie one time chunk at a time, and what is
read off them: neuropil rings, trace statistics, baselines, ΔF/F and events."""

from __future__ import annotations

import numpy as np

from neuronseg.errors import NeuronsegError
from neuronseg.roiset import RoiSet


def extract_traces(chunks, rois: RoiSet, n_frames: int, progress=None) -> np.ndarray:
    """Weighted mean fluorescence of each ROI in every frame.

    Parameters
    ----------
    chunks : iterable of (int, ndarray)
        ``(t0, frames)`` with frames ``(t, H, W)`` on the ROIs' grid, e.g. ``movie.chunks()``.
    rois : RoiSet
    n_frames : int
        Total frames, to size the output.
    progress : callable, optional
        Called with the number of frames done after each chunk.

    Returns
    -------
    ndarray
        ``(n_rois, n_frames)`` float32.
    """
    weights = rois.weight_matrix(normalise=True)
    out = np.zeros((len(rois), n_frames), np.float32)
    for t0, frames in chunks:
        flat = np.asarray(frames, np.float32).reshape(len(frames), -1)
        out[:, t0 : t0 + len(frames)] = (weights @ flat.T) if len(rois) else 0
        if progress is not None:
            progress(len(frames))
    return out


def trace_features(traces: np.ndarray) -> np.ndarray:
    """``(n, 3)`` per trace: skewness, SNR and event rate (events per 100 frames).

    Noise is the robust SD of frame-to-frame differences (/√2), so slow transients do not
    count as noise; SNR is the 99th percentile above the median in noise units; an event is
    an upward crossing of median + 4 noise SDs.
    """
    traces = np.asarray(traces, np.float64)
    if traces.ndim != 2 or traces.shape[1] < 3:
        raise NeuronsegError("trace features need traces of at least 3 frames")
    med = np.median(traces, axis=1, keepdims=True)
    d = np.diff(traces, axis=1)
    noise = 1.4826 * np.median(np.abs(d - np.median(d, axis=1, keepdims=True)), axis=1) / np.sqrt(2)
    noise = np.maximum(noise, 1e-9 * np.maximum(np.abs(med[:, 0]), 1.0))[:, None]
    z = (traces - med) / noise
    centred = traces - traces.mean(axis=1, keepdims=True)
    m2, m3 = (centred**2).mean(axis=1), (centred**3).mean(axis=1)
    flat = m2 <= 1e-12 * np.maximum(np.abs(med[:, 0]), 1.0) ** 2  # a constant trace has no skew
    skew = np.divide(m3, m2**1.5, out=np.zeros_like(m3), where=~flat)
    snr = np.percentile(z, 99, axis=1)
    above = z > 4
    events = (above[:, 1:] & ~above[:, :-1]).sum(axis=1) + above[:, 0]
    rate = 100.0 * events / traces.shape[1]
    return np.stack([skew, snr, rate], axis=1).astype(np.float32)


from neuronseg.io.suite2p import NEUROPIL_COEFFICIENT  # the share of the surround subtracted: Suite2p's default


def baseline(traces: np.ndarray, fs: float, window_seconds: float = 60.0, method: str = "percentile",
             percentile: float = 8.0, sigma_seconds: float = 1.0) -> np.ndarray:
    """F0 of each trace over a running window of ``window_seconds``.

    ``percentile``: the running ``percentile``-th value; transients are brief and upward, so
    a low percentile ignores them. ``maximin``: Gaussian smoothing, then a running minimum
    and a running maximum (Suite2p's); the maximum undoes the minimum's lag, so a linear
    drift (bleaching) is followed exactly, where a low percentile sits a constant below it.
    Deconvolution needs that (a constant offset would become a steady spike train).
    """
    from scipy.ndimage import gaussian_filter1d, maximum_filter1d, minimum_filter1d, percentile_filter

    traces = np.asarray(traces, np.float32)
    size = max(3, min(traces.shape[1], int(round(window_seconds * fs))))
    if method == "percentile":
        return percentile_filter(traces, percentile, size=(1, size | 1), mode="nearest")
    if method == "maximin":
        smooth = gaussian_filter1d(traces, max(sigma_seconds * fs, 0.5), axis=1, mode="nearest")
        return maximum_filter1d(minimum_filter1d(smooth, size, axis=1, mode="nearest"), size, axis=1, mode="nearest")
    raise ValueError(f"unknown baseline method '{method}'")


def delta_f_over_f(traces: np.ndarray, fs: float, window_seconds: float = 60.0) -> np.ndarray:
    """ΔF/F = (F − F0) / F0 with F0 a running 8th percentile (:func:`baseline`), floored at a
    small positive value so that dim or neuropil-corrected ROIs do not divide by zero."""
    traces = np.asarray(traces, np.float32)
    if traces.size == 0:
        return traces.copy()
    f0 = baseline(traces, fs, window_seconds)
    floor = max(1e-3 * float(np.abs(traces).max()), 1e-6)
    return ((traces - f0) / np.maximum(f0, floor)).astype(np.float32)


def detect_events(dff: np.ndarray, fs: float, rise_seconds: float = 0.1, decay_seconds: float = 1.0,
                  k: float = 4.0) -> np.ndarray:
    """Binary raster ``(ROIs, frames)``: True at the peak of each calcium transient.

    A 1-D Difference of Gaussians (σ = ``rise_seconds`` minus σ = ``decay_seconds``) keeps
    transients and removes both shot noise and slow drift; a frame is part of an event where
    the response exceeds ``k`` robust SDs of that ROI's response, and each run of such frames
    marks one event at its maximum.
    """
    from scipy.ndimage import gaussian_filter1d

    dff = np.asarray(dff, np.float32)
    raster = np.zeros(dff.shape, bool)
    if dff.size == 0:
        return raster
    fast = gaussian_filter1d(dff, max(rise_seconds * fs, 0.5), axis=1, mode="nearest")
    slow = gaussian_filter1d(dff, max(decay_seconds * fs, 1.0), axis=1, mode="nearest")
    dog = fast - slow
    med = np.median(dog, axis=1, keepdims=True)
    noise = 1.4826 * np.median(np.abs(dog - med), axis=1, keepdims=True)
    above = dog > med + k * np.maximum(noise, 1e-9)
    for i, row in enumerate(above):
        edges = np.flatnonzero(np.diff(np.r_[0, row.astype(np.int8), 0]))
        for start, end in zip(edges[::2], edges[1::2]):
            raster[i, start + int(np.argmax(dog[i, start:end]))] = True
    return raster


def activity(traces: np.ndarray, neuropil: np.ndarray | None, fs: float | None) -> tuple[np.ndarray, np.ndarray]:
    """``(dff, raster)`` of ROI traces after neuropil subtraction.

    Without a frame rate the time scales are taken in frames as if at 10 Hz (a 600-frame
    baseline window, transients of a few frames); give ``fs`` for the real ones.
    """
    f = np.asarray(traces, np.float32)
    if neuropil is not None:
        # keep the ROI's own level: subtract only the surround's fluctuation around its median
        f = f - NEUROPIL_COEFFICIENT * (neuropil - np.median(neuropil, axis=1, keepdims=True))
    rate = fs or 10.0
    if f.shape[1] < 3:
        return np.zeros_like(f), np.zeros(f.shape, bool)
    dff = delta_f_over_f(f, rate)
    return dff, detect_events(dff, rate)


def neuropil_rois(rois: RoiSet, gap: int = 2, min_pixels: int = 350, max_growth: int = 60) -> RoiSet:
    """One surround per ROI, as Suite2p builds them: a ring that starts ``gap`` px outside the
    ROI, excludes every ROI's pixels, and grows until it holds ``min_pixels`` pixels."""
    from scipy import ndimage as ndi

    h, w = rois.shape
    occupied = np.zeros(h * w, bool)
    for p in rois.pixels:
        occupied[p] = True
    occupied = ndi.binary_dilation(occupied.reshape(h, w))  # keep a 1-px margin off every cell
    out = []
    for i in range(len(rois)):
        rc = rois.coordinates(i)
        pad = gap + max_growth
        lo = np.maximum(rc.min(axis=0) - pad, 0)
        hi = np.minimum(rc.max(axis=0) + pad + 1, (h, w))
        mask = np.zeros(tuple(hi - lo), bool)
        mask[tuple((rc - lo).T)] = True
        free = ~occupied[lo[0] : hi[0], lo[1] : hi[1]]
        inner = ndi.binary_dilation(mask, iterations=gap)
        ring = np.zeros_like(mask)
        outer = inner
        for _ in range(max_growth):
            outer = ndi.binary_dilation(outer)
            ring = outer & ~inner & free
            if ring.sum() >= min_pixels:
                break
        r, c = np.nonzero(ring)
        out.append(np.sort((r + lo[0]) * w + (c + lo[1])))
    return RoiSet(rois.shape, out)
