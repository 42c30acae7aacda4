"""The napari plugin's functions. They take and return plain arrays and LayerData tuples, so
they import without napari and are tested headless; napari wires them up from napari.yaml."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import tifffile

from neuronseg.io.rois import write_imagej_zip, write_label_tif, write_regions_json
from neuronseg.roiset import RoiSet

if TYPE_CHECKING:  # magicgui resolves the string annotations below inside napari
    import napari

RESULT_FILES = ("summary.json", "labels.tif")


def get_reader(path):
    """A reader when ``path`` is a folder written by ``neuronseg segment``, else None."""
    if isinstance(path, list):
        path = path[0] if len(path) == 1 else None
    if path is None:
        return None
    folder = Path(path)
    if folder.is_dir() and all((folder / f).exists() for f in RESULT_FILES):
        return read_result_folder
    return None


def read_result_folder(path) -> list:
    """Layers of a result folder: summary images (when saved) and the ROI labels."""
    folder = Path(path[0] if isinstance(path, list) else path)
    summary = json.loads((folder / "summary.json").read_text())
    name = Path(summary.get("input", folder.name)).stem
    layers = []
    for image in ("mean", "correlation"):
        f = folder / f"{image}.tif"
        if f.exists():
            layers.append((tifffile.imread(f), {"name": f"{name} {image}", "colormap": "gray",
                                                "visible": image == "mean"}, "image"))
    labels = tifffile.imread(folder / "labels.tif")
    layers.append((labels, {"name": f"{name} cells ({summary.get('method', '?')})", "opacity": 0.5}, "labels"))
    return layers


def write_labels(path: str, data, meta: dict) -> list[str]:
    """Save a labels layer as a folder: regions.json, labels.tif, rois.zip (for Fiji)."""
    labels = np.asarray(data)
    if labels.ndim != 2:
        raise ValueError(f"neuronseg saves 2-D label images; this layer is {labels.ndim}-D")
    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=True)
    rois = RoiSet.from_labels(labels)
    write_regions_json(rois, folder / "regions.json")
    write_label_tif(rois, folder / "labels.tif")
    write_imagej_zip(rois, folder / "rois.zip")
    return [str(folder / f) for f in ("regions.json", "labels.tif", "rois.zip")]


def segment_layer(image: "napari.layers.Image", diameter: float = 0.0,
                  save_to: str = "") -> "napari.types.LayerDataTuple":
    """Find cells in the selected movie layer (time × rows × cols) with neuronseg's default
    method (``diameter``: the somata's in px, 0 to estimate it); returns a labels layer, and
    with ``save_to`` (a folder that does not exist yet) also writes the whole result there, as
    `neuronseg segment -o` does. napari builds the widget from this signature."""
    from neuronseg.io.movies import movie_from_array
    from neuronseg.pipelines.segment import segment_movie
    from neuronseg.results.folder import check_outputs, write_results

    data = np.asarray(image.data)
    if data.ndim != 3:
        raise ValueError(f"select a movie layer (time × rows × cols); this one has shape {data.shape}")
    if save_to:
        check_outputs(save_to)   # before the work, as the command line does
    seg = segment_movie(movie_from_array(data, image.name), diameter=diameter or "auto")
    if save_to:
        write_results(seg, save_to, f"napari layer {image.name}")
    return (seg.rois.to_labels(), {"name": f"{image.name} cells ({seg.method})", "opacity": 0.5}, "labels")
