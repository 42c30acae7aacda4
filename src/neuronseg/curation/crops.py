"""Per-candidate image input of the curation network: 64×64 crops around each candidate."""

from __future__ import annotations

import numpy as np

from neuronseg.errors import NeuronsegError
from neuronseg.io.candidates import Candidates
from neuronseg.roiset import RoiSet
from neuronseg.movie.images import normalise_mean_image

CROP_SIZE = 64
IMAGE_CHANNELS = ("weights", "mean", "correlation")


def weighted_centres(rois: RoiSet) -> np.ndarray:
    """``(n, 2)`` weight-weighted ``[row, col]`` centre of each ROI (plain mean when unweighted)."""
    out = np.zeros((len(rois), 2))
    for i in range(len(rois)):
        coords = rois.coordinates(i).astype(float)
        w = None if rois.weights is None else np.clip(rois.weights[i], 0, None)
        out[i] = np.average(coords, axis=0, weights=w if w is not None and w.sum() > 0 else None)
    return out


def _field_images(cands: Candidates, channels) -> dict:
    """The whole-field image of each image channel, normalised once for every crop."""
    images = {}
    if "mean" in channels:
        if cands.mean_image is None:
            raise NeuronsegError(
                f"{cands.path}: this model needs the recording's mean image; pass the movie with --movie"
            )
        images["mean"] = normalise_mean_image(cands.mean_image)
    if "correlation" in channels:
        if cands.correlation_image is None:
            hint = " (or keep Suite2p's data.bin in the plane folder)" if cands.source == "suite2p" else ""
            raise NeuronsegError(
                f"{cands.path}: this model needs the local correlation image; pass the movie with --movie{hint}"
            )
        images["correlation"] = np.asarray(cands.correlation_image, np.float32)  # a correlation: unitless already
    return images


def candidate_crops(cands: Candidates, channels=IMAGE_CHANNELS, size: int = CROP_SIZE) -> np.ndarray:
    """``(n, len(channels), size, size)`` float32 windows centred on each candidate.

    Channel "weights" holds only this candidate's footprint (weights / their maximum), the
    other candidates removed; "mean" and "correlation" hold the same window of the field's
    normalised mean and local-correlation images. Outside the field is 0.
    """
    unknown = set(channels) - set(IMAGE_CHANNELS)
    if unknown:
        raise NeuronsegError(f"unknown crop channel(s) {sorted(unknown)}; known: {', '.join(IMAGE_CHANNELS)}")
    rois = cands.rois
    h, w = rois.shape
    half = size // 2
    images = {k: np.pad(v, half) for k, v in _field_images(cands, channels).items()}
    centres = np.round(weighted_centres(rois)).astype(int)
    out = np.zeros((len(rois), len(channels), size, size), np.float32)
    for i, (r, c) in enumerate(centres):
        for k, name in enumerate(channels):
            if name == "weights":
                coords = rois.coordinates(i) - (r - half, c - half)
                wt = np.ones(len(coords), np.float32) if rois.weights is None else rois.weights[i]
                inside = ((coords >= 0) & (coords < size)).all(axis=1)
                peak = np.abs(wt).max() if len(wt) else 1.0
                out[i, k, coords[inside, 0], coords[inside, 1]] = wt[inside] / (peak if peak > 0 else 1.0)
            else:
                out[i, k] = images[name][r : r + size, c : c + size]  # padded by `half`: r - half + half
    return out
