"""Load neuronseg's napari plugin in real napari, without a display (a check, not a dependency).

    python -m venv nap && nap/bin/pip install torch==2.13.0 "napari[pyqt6]" && nap/bin/pip install -e .
    nap/bin/python tools/check_napari.py OUT ../shared/data/neurofinder_top/movie.tif

Opens the `segment` output folder OUT through napari's own reader machinery, runs the
"Segment movie" widget's command on a 200 × 128 × 128 crop of the movie, and prints one
JSON line of the layers. Uses napari's ViewerModel: image layers need OpenGL, which
Qt's offscreen platform does not give on this machine.
"""

import json
import sys

import tifffile
from napari.components import ViewerModel
from npe2 import PluginManager


def main(result_folder: str, movie_path: str) -> None:
    PluginManager.instance().discover()
    viewer = ViewerModel()
    viewer.open(result_folder, plugin="neuronseg")
    opened = [(type(layer).__name__, layer.name) for layer in viewer.layers]
    image = viewer.add_image(tifffile.imread(movie_path)[:200, :128, :128], name="crop")
    data, meta, kind = PluginManager.instance().get_command("neuronseg.segment_widget").exec(args=(image,))
    viewer._add_layer_from_data(data, meta, kind)
    print(json.dumps({"opened": opened, "added": [(type(viewer.layers[-1]).__name__, viewer.layers[-1].name)],
                      "cells_found": int(data.max())}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
