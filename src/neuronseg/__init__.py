"""neuronseg: find neurons in calcium-imaging movies and microscopy images.

The public surface::

    from neuronseg import open_movie, segment_movie, curate_rois, RoiSet, neurofinder_scores
    from neuronseg import read_image, segment_image, ImageModel
"""

__version__ = "0.1.0"

from neuronseg.errors import NeuronsegError
from neuronseg.io.images import read_image, read_labelled_images
from neuronseg.io.movies import Movie, open_movie
from neuronseg.io.rois import read_rois, read_regions_json, write_regions_json
from neuronseg.roiset import RoiSet
from neuronseg.metrics import instance_scores, neurofinder_scores, pixel_scores
from neuronseg.pipelines.image import ImageModel, segment_image
from neuronseg.pipelines.segment import Segmentation, segment_movie


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
