"""The classical segmenter: summary images → seeds → watershed → size filter. No training.

Cells show in two summary images: as round somata (bright rim, darker nucleus) in the
mean image, and as patches of correlated pixels in the local-correlation image when they
fire. Both are turned into a "cellness" score by matched filters at the cell size and
added; peaks of the score are seeds, a watershed on the score grows each seed into a mask
no wider than a cell, and masks of implausible size are dropped.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy import ndimage as ndi

from neuronseg.io.rois import RoiSet
from neuronseg.movie.summary import Summary


@dataclass
class ClassicalParams:
    """Settings of the classical segmenter (all in pixels unless said)."""

    diameter: float = 12.0          #: typical soma diameter
    threshold: float = 2.5          #: seed score, in robust standard deviations
    mask_threshold: float = 0.5     #: score below which a pixel is never part of a cell
    correlation_weight: float = 1.0  #: weight of the correlation image against the mean image
    min_area_fraction: float = 0.3  #: smallest mask, as a fraction of a disk of `diameter`
    max_area_fraction: float = 2.5  #: largest mask, likewise

    def as_dict(self) -> dict:
        return asdict(self)


def robust_z(image: np.ndarray) -> np.ndarray:
    """``(image − median) / (1.4826 · MAD)``: a z-score that bright cells do not inflate."""
    med = np.median(image)
    mad = np.median(np.abs(image - med)) * 1.4826
    return (image - med) / (mad if mad > 0 else 1.0)


def soma_kernel(diameter: float) -> np.ndarray:
    """Zero-sum matched filter of a soma: positive disk, negative surrounding annulus."""
    r_cell = diameter / 2
    r_out = diameter * 0.85
    n = int(np.ceil(r_out))
    y, x = np.mgrid[-n : n + 1, -n : n + 1]
    r = np.hypot(y, x)
    inside = (r <= r_cell).astype(float)
    ring = ((r > r_cell + 1) & (r <= r_out)).astype(float)
    return inside / inside.sum() - ring / ring.sum()


def cell_score(summary: Summary, params: ClassicalParams) -> np.ndarray:
    """Per-pixel evidence that a soma is centred there (robust z units)."""
    d = params.diameter
    mean = summary.mean.astype(np.float64)
    # Divide out uneven illumination so dim and bright corners score alike.
    flat = mean / np.maximum(ndi.gaussian_filter(mean, d), 1e-6 * max(mean.max(), 1e-12))
    kernel = soma_kernel(d)
    score = robust_z(ndi.convolve(flat, kernel, mode="reflect"))
    if params.correlation_weight:
        corr = ndi.convolve(summary.correlation.astype(np.float64), kernel, mode="reflect")
        score = score + params.correlation_weight * robust_z(corr)
    return score.astype(np.float32)


def segment_classical(summary: Summary, params: ClassicalParams | None = None) -> RoiSet:
    """Find cells in a movie's summary images.

    Parameters
    ----------
    summary : Summary
        From :func:`neuronseg.movie.summary.summarize`.
    params : ClassicalParams, optional

    Returns
    -------
    RoiSet
        Binary masks, one per cell, on the frame grid ``(H, W)``.
    """
    from skimage.feature import peak_local_max
    from skimage.segmentation import watershed

    params = params or ClassicalParams()
    score = cell_score(summary, params)
    d = params.diameter
    peaks = peak_local_max(
        score, min_distance=max(1, int(d / 2.5)), threshold_abs=params.threshold, exclude_border=False
    )
    markers = np.zeros(score.shape, np.int32)
    markers[tuple(peaks.T)] = np.arange(1, len(peaks) + 1)
    # A cell grows only over pixels that look like cell and lie within a cell radius of a seed.
    near_seed = ndi.distance_transform_edt(markers == 0) <= d * 0.6
    labels = watershed(-score, markers, mask=near_seed & (score > params.mask_threshold))
    rois = RoiSet.from_labels(labels)
    disk = np.pi * (d / 2) ** 2
    areas = rois.areas()
    keep = (areas >= params.min_area_fraction * disk) & (areas <= params.max_area_fraction * disk)
    return rois.subset(keep)
