"""The classical segmenter: summary images → seeds → watershed → size filter. No training.

Quiet cells (most of them) never show in the correlation image, so the mean image carries
the detection: the soma score of :mod:`neuronseg.movie.soma` (ring and disk matched filters
on the illumination-flattened mean image, in robust z units) is the cell score. Its peaks
are seeds; each seed grows by watershed on the score within a cell radius, and masks of
implausible size are dropped.

On the real Neurofinder recording in ``../shared/data`` this ring evidence finds about
twice the cells that bright-blob or correlation-image detectors find (see
``benchmarks/classical_neurofinder.py``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy import ndimage as ndi

from neuronseg.movie.soma import DEFAULT_DIAMETER, DISK_WEIGHT, soma_score
from neuronseg.movie.summary import Summary
from neuronseg.pipelines.method import MovieMethod, timed
from neuronseg.roiset import RoiSet


@dataclass
class ClassicalParams:
    """Settings of the classical segmenter (all in pixels unless said)."""

    diameter: float = DEFAULT_DIAMETER  #: typical soma diameter
    threshold: float = 3.5          #: seed score, in robust standard deviations
    min_separation: float = 6.0     #: closest two seeds may be
    disk_weight: float = DISK_WEIGHT  #: weight of filled-disk evidence against ring evidence
    min_area_fraction: float = 0.3  #: smallest mask, as a fraction of a disk of `diameter`
    max_area_fraction: float = 2.0  #: largest mask, likewise

    def as_dict(self) -> dict:
        return asdict(self)


def cell_score(summary: Summary, params: ClassicalParams) -> np.ndarray:
    """Per-pixel evidence that a soma is centred there (robust z units)."""
    return soma_score(summary.mean, params.diameter, params.disk_weight)


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


class ClassicalMethod(MovieMethod):
    """The classical segmenter as a method of :func:`~neuronseg.pipelines.segment.segment_movie`."""

    name = KIND = "classical"

    def __init__(self, params: ClassicalParams | None = None):
        self.params = params or ClassicalParams()

    def find_cells(self, movie, summary: Summary, features, chunk, tile_size, seconds: dict) -> tuple[RoiSet, dict]:
        with timed(seconds, "detect"):
            rois = segment_classical(summary, self.params)
        return rois, self.params.as_dict()
