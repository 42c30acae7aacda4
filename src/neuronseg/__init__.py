"""neuronseg: find neurons in calcium-imaging movies and microscopy images.

The public surface::

    from neuronseg import open_movie, segment_movie, curate_rois, RoiSet, neurofinder_scores
    from neuronseg import read_image, segment_image, ImageModel
"""

import time as _time

#: when neuronseg was first imported: `segment` reports the seconds before its work began
#: (interpreter and imports) as its ``startup`` stage
IMPORTED_AT = _time.perf_counter()

__version__ = "0.1.0"

from neuronseg.errors import NeuronsegError

#: name → module of the public surface, imported on first use: the command line imports only
#: what a command needs (`neuronseg --help` must not wait for torch)
_LAZY = {
    "read_image": "neuronseg.io.images", "read_labelled_images": "neuronseg.io.images",
    "Movie": "neuronseg.io.movies", "open_movie": "neuronseg.io.movies",
    "read_rois": "neuronseg.io.rois", "read_regions_json": "neuronseg.io.rois",
    "write_regions_json": "neuronseg.io.rois", "RoiSet": "neuronseg.roiset",
    "instance_scores": "neuronseg.metrics", "neurofinder_scores": "neuronseg.metrics",
    "pixel_scores": "neuronseg.metrics", "ImageModel": "neuronseg.pipelines.image",
    "segment_image": "neuronseg.pipelines.image", "Segmentation": "neuronseg.pipelines.segment",
    "segment_movie": "neuronseg.pipelines.segment",
}


def __getattr__(name):
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'neuronseg' has no attribute {name!r}")

def curate_rois(source, precision: float = 0.9, model=None, movie=None, device: str = "cpu"):
    """Score the candidate ROIs of ``source`` (Suite2p plane folder, CaImAn .hdf5, or a ROI
    file with its ``movie``) and decide at ``precision``; returns a ``Curation``
    (``scores``, ``decision``, ``duplicate_of``, ``threshold``)."""
    from neuronseg.pipelines.curate import curate_source

    return curate_source(source, precision, model, movie, device=device)[2]

__all__ = [
    "__version__",
    "ImageModel",
    "Movie",
    "NeuronsegError",
    "RoiSet",
    "Segmentation",
    "curate_rois",
    "instance_scores",
    "neurofinder_scores",
    "open_movie",
    "pixel_scores",
    "read_image",
    "read_labelled_images",
    "read_regions_json",
    "read_rois",
    "segment_image",
    "segment_movie",
    "write_regions_json",
]
