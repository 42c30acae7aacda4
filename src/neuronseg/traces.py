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


def delta_f_over_f(traces: np.ndarray, fs: float, window_seconds: float = 60.0, percentile: float = 8.0) -> np.ndarray:
    """ΔF/F = (F − F0) / F0 with F0 a running ``percentile`` over ``window_seconds``.

    A low running percentile follows slow drift and bleaching but ignores transients, which
    are brief and upward; the baseline is floored at a small positive value so that dim or
    background-subtracted ROIs do not divide by zero.
    """
    from scipy.ndimage import percentile_filter

    traces = np.asarray(traces, np.float32)
    if traces.size == 0:
        return traces.copy()
    size = max(3, min(traces.shape[1], int(round(window_seconds * fs)) | 1))
    f0 = percentile_filter(traces, percentile, size=(1, size), mode="nearest")
    floor = max(1e-3 * float(np.abs(traces).max()), 1e-6)
    return ((traces - f0) / np.maximum(f0, floor)).astype(np.float32)
