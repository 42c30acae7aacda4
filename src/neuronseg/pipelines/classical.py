"""The classical segmenter: summary images → seeds → watershed → size filter. No training.

Quiet cells (most of them) never show in the correlation image, so the mean image carries
the detection: the soma score of :mod:`neuronseg.movie.soma` (ring and disk matched filters
on the illumination-flattened mean image, in robust z units) is the cell score. Its peaks
are seeds, at least about a soma's radius apart; each seed grows by watershed on the score
within a cell radius, and masks of implausible size are dropped. The soma's diameter is
given or estimated from the summary images (:mod:`neuronseg.movie.diameter`).

On the real Neurofinder recording in ``../shared/data`` this ring evidence finds about
twice the cells that bright-blob or correlation-image detectors find (see
``benchmarks/classical_neurofinder.py``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

import numpy as np
from scipy import ndimage as ndi

from neuronseg.errors import NeuronsegError
from neuronseg.movie.soma import DISK_WEIGHT, MIN_DIAMETER, soma_score
from neuronseg.movie.summary import Summary
from neuronseg.pipelines.method import FieldScale, MovieMethod, timed
from neuronseg.roiset import RoiSet

#: the soma filters' cell spans this share of their size (a cell radius of 0.42 of it)
CELL_PER_FILTER = 0.84


@dataclass
class ClassicalParams:
    """Settings of the classical segmenter (all in pixels unless said)."""

    diameter: float | None = None   #: typical soma diameter, as annotators draw it (None: estimated)
    threshold: float = 3.5          #: seed score, in robust standard deviations
    min_separation: float = 6.0     #: closest two seeds may be (and at least about a soma's radius)
    disk_weight: float = DISK_WEIGHT  #: weight of filled-disk evidence against ring evidence
    min_area_fraction: float = 0.3  #: smallest mask, as a fraction of the filters' disk
    max_area_fraction: float = 2.0  #: largest mask, likewise

    def as_dict(self) -> dict:
        return asdict(self)


def filter_size(diameter: float) -> float:
    """The soma filters' size for somata of ``diameter`` px (11 for the 9.2-px somata they were
    tuned on, ``neurofinder_top``)."""
    if not diameter >= MIN_DIAMETER * CELL_PER_FILTER:
        raise NeuronsegError(f"--diameter must be at least {MIN_DIAMETER * CELL_PER_FILTER:.1f} px for the classical "
                             f"method, not {diameter:g}; upsample smaller cells first")
    return diameter / CELL_PER_FILTER


def cell_score(summary: Summary, params: ClassicalParams) -> np.ndarray:
    """Per-pixel evidence that a soma is centred there (robust z units)."""
    return soma_score(summary.mean, filter_size(params.diameter), params.disk_weight)


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
    if params.diameter is None:   # estimated as segment_movie does, with its fallback for a blank field
        params = replace(params, diameter=ClassicalMethod(params).estimated_scale(summary, None).diameter)
    score = cell_score(summary, params)
    d = filter_size(params.diameter)
    separation = max(params.min_separation, 0.55 * d)   # one seed per soma, however large
    peaks = peak_local_max(
        score, min_distance=max(1, int(round(separation))), threshold_abs=params.threshold,
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

    def find_cells(self, movie, summary: Summary, features, chunk, tile_size, seconds: dict,
                   scale: FieldScale) -> tuple[RoiSet, dict]:
        params = replace(self.params, diameter=scale.diameter)
        with timed(seconds, "detect"):
            rois = segment_classical(summary, params)
        return rois, params.as_dict()
