"""Soma evidence in a mean image: ring and disk matched filters at the cell size.

What marks a soma in a two-photon mean image is its shape: GCaMP stays out of the nucleus,
so most somata are a bright ring of cytoplasm around a dark centre, and only strongly
active or overexpressing cells look like filled disks. A *ring* filter (ring minus centre)
weighted by how well the local patch correlates with that ring rejects the vessel edges and
bright specks that excite a plain filter; a *disk* filter (disk minus surround) catches the
filled cells. The classical segmenter seeds cells on this score, DISCo can take it as an
input channel, and curation reads it near each candidate.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from neuronseg.errors import NeuronsegError
from neuronseg.movie.images import flatten_illumination, robust_z

#: px: the filters' size for the somata of the recording they were tuned on (neurofinder_top,
#: 9.2 px as drawn); DISCo's input channel and curation's features use it as trained
DEFAULT_DIAMETER = 11.0
#: px: the soma diameter assumed when a field shows nothing soma-like to estimate it from
#: (neurofinder_top's median labelled soma)
TYPICAL_DIAMETER = 9.2
DISK_WEIGHT = 0.8         #: weight of filled-disk evidence against ring evidence

#: smallest cell diameter (px) whose soma filters are defined: below it the disk filter's
#: surround annulus holds no pixel (its kernel is undefined up to 3.7 px)
MIN_DIAMETER = 4.0


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


def soma_score(mean: np.ndarray, diameter: float = DEFAULT_DIAMETER, disk_weight: float = DISK_WEIGHT) -> np.ndarray:
    """Per-pixel evidence (robust z units) that a soma is centred there, from a mean image
    ``(H, W)``, with filters of size ``diameter`` px (their cell spans 0.84 of it): the larger
    of the ring evidence (weighted by how well the patch matches a ring) and ``disk_weight`` ×
    the filled-disk evidence."""
    from skimage.feature import match_template

    d = diameter
    if not d >= MIN_DIAMETER:
        raise NeuronsegError(f"the soma filters need a size of at least {MIN_DIAMETER:g} px, not {d:g}")
    flat = flatten_illumination(mean, 1.5 * d)
    ring = ring_kernel(d)
    shape_match = np.clip(match_template(flat, ring, pad_input=True, mode="reflect"), 0, None)
    # Squared, ×3: a good match (NCC ≈ 0.33) keeps its ring response, a poor one loses it fast.
    ring_score = robust_z(ndi.correlate(flat, ring, mode="reflect")) * (3 * shape_match) ** 2
    disk_score = disk_weight * robust_z(ndi.correlate(flat, disk_kernel(d), mode="reflect"))
    return np.maximum(ring_score, disk_score).astype(np.float32)
