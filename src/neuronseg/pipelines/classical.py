"""The classical segmenter: summary images → seeds → watershed → size filter. No training.

What marks a soma in a two-photon mean image is its shape: GCaMP stays out of the nucleus,
so most somata are a bright ring of cytoplasm around a dark centre, and only strongly
active or overexpressing cells look like filled disks. Quiet cells (most of them) never
show in the correlation image, so the mean image carries the detection:

* the mean image is divided by its own blur to flatten uneven illumination;
* a *ring* filter (ring minus centre, at the cell size) is weighted by how well the local
  patch correlates with that ring (normalised cross-correlation), which rejects the
  vessel edges and bright specks that excite a plain filter;
* a *disk* filter (disk minus surround) catches the filled cells;
* the larger of the two, in robust z units, is the cell score. Its peaks are seeds; each
  seed grows by watershed on the score within a cell radius, and masks of implausible
  size are dropped.

On the real Neurofinder recording in ``../shared/data`` this ring evidence finds about
twice the cells that bright-blob or correlation-image detectors find (see
``benchmarks/classical_neurofinder.py``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy import ndimage as ndi

from neuronseg.errors import NeuronsegError
from neuronseg.io.rois import RoiSet
from neuronseg.movie.images import flatten_illumination, robust_z
from neuronseg.movie.summary import Summary

#: smallest cell diameter (px) whose soma filters are defined: below it the disk filter's
#: surround annulus holds no pixel (its kernel is undefined up to 3.7 px)
MIN_DIAMETER = 4.0


@dataclass
class ClassicalParams:
    """Settings of the classical segmenter (all in pixels unless said)."""

    diameter: float = 11.0          #: typical soma diameter
    threshold: float = 3.5          #: seed score, in robust standard deviations
    min_separation: float = 6.0     #: closest two seeds may be
    disk_weight: float = 0.8        #: weight of filled-disk evidence against ring evidence
    min_area_fraction: float = 0.3  #: smallest mask, as a fraction of a disk of `diameter`
    max_area_fraction: float = 2.0  #: largest mask, likewise

    def as_dict(self) -> dict:
        return asdict(self)


def _radius_grid(radius: float):
    n = int(np.ceil(radius)) + 1
    y, x = np.mgrid[-n : n + 1, -n : n + 1]
    return np.hypot(y, x)


def ring_kernel(diameter: float) -> np.ndarray:
    """Zero-sum ring filter: cytoplasm ring (+) around a nucleus (−), scaled to ``diameter``."""
    r_nucleus, r_cell = 0.21 * diameter, 0.42 * diameter
    r = _radius_grid(r_cell)
    centre = (r <= r_nucleus).astype(float)
    ring = ((r > r_nucleus) & (r <= r_cell)).astype(float)
    return ring / ring.sum() - centre / centre.sum()


def disk_kernel(diameter: float) -> np.ndarray:
    """Zero-sum filled-soma filter: disk (+) minus a surrounding annulus (−)."""
    r_cell = 0.42 * diameter
    r = _radius_grid(1.8 * r_cell)
    inside = (r <= r_cell).astype(float)
    around = ((r > r_cell + 1) & (r <= 1.8 * r_cell)).astype(float)
    return inside / inside.sum() - around / around.sum()


def cell_score(summary: Summary, params: ClassicalParams) -> np.ndarray:
    """Per-pixel evidence that a soma is centred there (robust z units)."""
    return soma_score(summary.mean, params)


def soma_score(mean: np.ndarray, params: ClassicalParams) -> np.ndarray:
    """:func:`cell_score` from a mean image alone."""
    from skimage.feature import match_template

    d = params.diameter
    if not d >= MIN_DIAMETER:   # checked here, where it is used: other methods ignore --diameter
        raise NeuronsegError(f"--diameter must be at least {MIN_DIAMETER:g} px for the classical method, "
                             f"not {d:g}; upsample smaller cells first")
    flat = flatten_illumination(mean, 1.5 * d)
    ring = ring_kernel(d)
    shape_match = np.clip(match_template(flat, ring, pad_input=True, mode="reflect"), 0, None)
    # Squared, ×3: a good match (NCC ≈ 0.33) keeps its ring response, a poor one loses it fast.
    ring_score = robust_z(ndi.correlate(flat, ring, mode="reflect")) * (3 * shape_match) ** 2
    disk_score = params.disk_weight * robust_z(ndi.correlate(flat, disk_kernel(d), mode="reflect"))
    return np.maximum(ring_score, disk_score).astype(np.float32)


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
        score, min_distance=max(1, int(round(params.min_separation))), threshold_abs=params.threshold,
        exclude_border=False,
    )
    markers = np.zeros(score.shape, np.int32)
    markers[tuple(peaks.T)] = np.arange(1, len(peaks) + 1)
    # The score peaks at a soma's centre and falls off over its radius, so a watershed on
    # the distance to the seeds, capped at a cell radius, splits touching cells fairly.
    distance = ndi.distance_transform_edt(markers == 0)
    labels = watershed(distance, markers, mask=distance <= 0.42 * d)
    rois = RoiSet.from_labels(labels)
    disk = np.pi * (d / 2) ** 2
    areas = rois.areas()
    keep = (areas >= params.min_area_fraction * disk) & (areas <= params.max_area_fraction * disk)
    return rois.subset(keep)
