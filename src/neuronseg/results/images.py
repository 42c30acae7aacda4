"""The result of `neuronseg image segment`: per image ``<stem>_labels.tif`` (uint16 instance
map) and ``<stem>_overlay.png`` (DESIGN.md's contract), and ``summary.json``."""

from __future__ import annotations

import json

import numpy as np
import tifffile

from neuronseg.io.outputs import atomic_output_dir
from neuronseg.pipelines.image import ImageModel, segment_image_files
from neuronseg.progress import progress_bar
from neuronseg.results.pictures import overlay, save_png
from neuronseg.roiset import RoiSet


def write_image_results(files, out, model: ImageModel, cell_class: str | None = None, refine: str | None = None,
                        diameter=None, overwrite: bool = False, tile_size: int | None = None) -> dict:
    """Segment each image file (:func:`~neuronseg.pipelines.image.segment_image_files`) into
    the folder ``out``; returns the summary."""
    from neuronseg import __version__

    segmented = segment_image_files(files, model, cell_class, refine, diameter, tile_size)
    images = []
    with atomic_output_dir(out, overwrite, "image segment result") as tmp:
        with progress_bar(len(files), "images", unit="image") as tick:
            for f, image, labels, seconds in segmented:
                tifffile.imwrite(tmp / f"{f.stem}_labels.tif", labels.astype(np.uint16), compression="zlib")
                save_png(overlay(image, RoiSet.from_labels(labels)), tmp / f"{f.stem}_overlay.png", min_size=0)
                images.append({"image": f.name, "n_cells": int(labels.max()), "seconds": seconds})
                tick(1)
        summary = {"version": __version__, "model": model.config.to_dict(), "thresholds": model.thresholds,
                   "cell_class": cell_class, "diameter": diameter, "images": images}
        (tmp / "summary.json").write_text(json.dumps(summary, indent=1))
    return summary
