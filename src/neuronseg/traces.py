"""Fluorescence traces of ROIs, read from the movie one time chunk at a time."""

from __future__ import annotations

import numpy as np

from neuronseg.io.rois import RoiSet


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


def baseline(traces: np.ndarray, fs: float, window_seconds: float = 60.0, sigma_seconds: float = 1.0) -> np.ndarray:
    """F0 of each trace: Gaussian-smoothed, then a running minimum and a running maximum over
    ``window_seconds`` ("maximin", as Suite2p does).

    The minimum ignores transients, which are brief and upward; the maximum that follows
    undoes the minimum's lag, so a slow linear drift (bleaching) is followed exactly, where a
    running low percentile sits below it by a constant.
    """
    from scipy.ndimage import gaussian_filter1d, maximum_filter1d, minimum_filter1d

    traces = np.asarray(traces, np.float32)
    size = max(3, min(traces.shape[1], int(round(window_seconds * fs))))
    smooth = gaussian_filter1d(traces, max(sigma_seconds * fs, 0.5), axis=1, mode="nearest")
    return maximum_filter1d(minimum_filter1d(smooth, size, axis=1, mode="nearest"), size, axis=1, mode="nearest")


def delta_f_over_f(traces: np.ndarray, fs: float, window_seconds: float = 60.0) -> np.ndarray:
    """ΔF/F = (F − F0) / F0 with F0 from :func:`baseline`, floored at a small positive value so
    that dim or background-subtracted ROIs do not divide by zero."""
    traces = np.asarray(traces, np.float32)
    if traces.size == 0:
        return traces.copy()
    f0 = baseline(traces, fs, window_seconds)
    floor = max(1e-3 * float(np.abs(traces).max()), 1e-6)
    return ((traces - f0) / np.maximum(f0, floor)).astype(np.float32)


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
