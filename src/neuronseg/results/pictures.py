"""Pictures a person checks a result with: ROI contours over a summary image, the event raster."""

from __future__ import annotations

import numpy as np
from skimage.segmentation import find_boundaries

from neuronseg.roiset import RoiSet

PREDICTED = (0, 255, 255)   # cyan: a found cell (no truth given)
MATCHED = (0, 230, 0)       # green: found and in the truth
FALSE = (255, 200, 0)       # amber: found, not in the truth
MISSED = (255, 40, 40)      # red: in the truth, not found


def to_gray8(image: np.ndarray, low: float = 1.0, high: float = 99.7) -> np.ndarray:
    """Percentile-stretched uint8 rendering of a float image."""
    image = np.asarray(image, np.float64)
    lo, hi = np.percentile(image, [low, high])
    return (np.clip((image - lo) / max(hi - lo, 1e-12), 0, 1) * 255).astype(np.uint8)


def overlay(background: np.ndarray, rois: RoiSet, truth: RoiSet | None = None, matches=None) -> np.ndarray:
    """RGB uint8 image of ROI contours over ``background`` ``(H, W)``.

    Without ``truth`` all ROIs are cyan. With ``truth`` and ``matches`` (per truth ROI the
    index of its matched prediction or −1), matched predictions are green, unmatched ones
    amber and missed truth ROIs red.
    """
    gray = to_gray8(background)
    rgb = np.repeat(gray[..., None], 3, axis=2)
    if truth is None or matches is None:
        rgb[find_boundaries(rois.to_labels(), mode="inner")] = PREDICTED
        return rgb
    matches = np.asarray(matches)
    found = np.zeros(len(rois), bool)
    found[matches[matches >= 0]] = True
    missed = truth.subset(matches < 0)
    rgb[find_boundaries(missed.to_labels(), mode="inner")] = MISSED
    rgb[find_boundaries(rois.subset(~found).to_labels(), mode="inner")] = FALSE
    rgb[find_boundaries(rois.subset(found).to_labels(), mode="inner")] = MATCHED
    return rgb


def save_png(rgb: np.ndarray, path, min_size: int = 1024) -> None:
    """Write an RGB array as PNG, enlarged by whole factors (nearest) when it is small."""
    from PIL import Image

    factor = max(1, int(np.ceil(min_size / max(rgb.shape[:2]))))
    img = Image.fromarray(rgb)
    if factor > 1:
        img = img.resize((rgb.shape[1] * factor, rgb.shape[0] * factor), Image.NEAREST)
    img.save(path)


def raster_image(raster: np.ndarray) -> np.ndarray:
    """ROIs × frames events as RGB: white ticks on black, long movies binned to ≤ 2000 columns."""
    n, t = raster.shape
    step = max(1, int(np.ceil(t / 2000)))
    r = raster[:, : t // step * step].reshape(n, -1, step).any(axis=2) if step > 1 and n else raster
    gray = (r * 255).astype(np.uint8)
    return np.repeat(gray[..., None], 3, axis=2) if n else np.zeros((1, max(t, 1), 3), np.uint8)
