"""Instances from a foreground probability map: connected components or a watershed on the
distance transform, which splits touching round cells at their waist."""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from neuronseg.instances.postprocess import drop_small


def instances_from_foreground(foreground: np.ndarray, method: str = "watershed",
                              min_distance: int = 4, min_size: int = 0) -> np.ndarray:
    """Instance labels ``(H, W)`` int32 of a boolean foreground mask.

    ``method="components"`` labels 8-connected components. ``"watershed"`` seeds one basin
    per maximum of the distance to the background (maxima closer than ``min_distance`` px
    merge: about a cell radius) and floods the negated distance inside the foreground.
    Instances under ``min_size`` pixels are dropped.
    """
    from skimage.feature import peak_local_max
    from skimage.segmentation import watershed

    foreground = np.asarray(foreground, bool)
    if method == "components":
        labels, _ = ndi.label(foreground, structure=np.ones((3, 3)))
    elif method == "watershed":
        distance = ndi.distance_transform_edt(foreground)
        components, _ = ndi.label(foreground, structure=np.ones((3, 3)))
        peaks = peak_local_max(distance, min_distance=max(1, int(min_distance)), labels=components,
                               exclude_border=False)
        markers = np.zeros(foreground.shape, np.int32)
        markers[tuple(peaks.T)] = np.arange(1, len(peaks) + 1)
        labels = watershed(-distance, markers, mask=foreground)
    else:
        raise ValueError(f"unknown instance method {method!r} (components or watershed)")
    return drop_small(labels, min_size)
