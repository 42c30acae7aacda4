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
