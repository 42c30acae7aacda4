"""Summary images made comparable across recordings: illumination flattened, robust z-scores."""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi


def robust_z(image: np.ndarray) -> np.ndarray:
    """``(image − median) / (1.4826 · MAD)``: a z-score that bright cells do not inflate."""
    med = np.median(image)
    mad = np.median(np.abs(image - med)) * 1.4826
    return (image - med) / (mad if mad > 0 else 1.0)


def flatten_illumination(image: np.ndarray, scale: float) -> np.ndarray:
    """``image`` divided by its Gaussian blur at ``scale``: vignetting and bleaching gradients go."""
    image = np.asarray(image, np.float64)
    floor = 1e-6 * max(float(np.abs(image).max()), 1e-12)
    return image / np.maximum(ndi.gaussian_filter(image, scale), floor)


def normalise_mean_image(mean: np.ndarray, scale: float = 16.0, clip: float = 5.0) -> np.ndarray:
    """The network's mean-image channel: illumination flattened, robust z-score, clipped.

    Clipping matters: a few bright, active somata sit 20+ robust SDs above the neuropil
    while the quiet cells' rings are 1–3 SDs. Unclipped, the network learns "bright blob =
    cell" and misses the quiet majority (seen on `neurofinder_top`).
    """
    return (np.clip(robust_z(flatten_illumination(mean, scale)), -clip, clip) / clip).astype(np.float32)
