"""The napari plugin: its manifest validates and its functions work without a display."""

from types import SimpleNamespace

import numpy as np
import pytest
import tifffile
from click.testing import CliRunner

from neuronseg.cli import cli
from neuronseg.io.rois import read_imagej_zip, read_regions_json
from neuronseg.napari_plugin.plugin import get_reader, segment_layer, write_labels


def test_manifest_is_valid_and_points_at_real_functions():
    from importlib import resources

    npe2 = pytest.importorskip("npe2")

    manifest = npe2.PluginManifest.from_file(str(resources.files("neuronseg") / "napari_plugin" / "napari.yaml"))
    assert manifest.name == "neuronseg"
    manifest.validate_imports()  # every python_name imports and resolves
    kinds = manifest.contributions
    assert len(kinds.readers) == len(kinds.writers) == len(kinds.widgets) == 1
    assert kinds.readers[0].accepts_directories and kinds.writers[0].layer_types == ["labels"]


@pytest.fixture(scope="module")
def result(tmp_path_factory, small_recording):
    tmp = tmp_path_factory.mktemp("n")
    tifffile.imwrite(tmp / "movie.tif", small_recording.movie)
    res = CliRunner().invoke(cli, ["-q", "segment", str(tmp / "movie.tif"), "-o", str(tmp / "out")])
    assert res.exit_code == 0, res.output
    return tmp / "out"


def test_reader_opens_a_result_folder_as_image_and_labels(result, tmp_path):
    assert get_reader(str(tmp_path)) is None  # not a result folder: leave it to other readers
    reader = get_reader(str(result))
    layers = reader(str(result))
    kinds = [kind for _, _, kind in layers]
    assert kinds == ["image", "image", "labels"]
    labels = layers[-1][0]
    np.testing.assert_array_equal(labels, tifffile.imread(result / "labels.tif"))
    assert layers[0][0].shape == labels.shape


def test_writer_saves_labels_for_neuronseg_and_fiji(tmp_path):
    labels = np.zeros((40, 50), np.uint16)
    labels[5:12, 5:12] = 1
    labels[20:30, 30:38] = 2
    paths = write_labels(str(tmp_path / "rois"), labels, {})
    assert len(paths) == 3
    rois = read_regions_json(tmp_path / "rois" / "regions.json", labels.shape)
    assert rois.areas().tolist() == [49, 80]
    assert read_imagej_zip(tmp_path / "rois" / "rois.zip", labels.shape).areas().tolist() == [49, 80]


def test_widget_function_segments_a_movie_layer(small_recording):
    layer = SimpleNamespace(data=small_recording.movie, name="sim")
    labels, meta, kind = segment_layer(layer)
    assert kind == "labels" and labels.shape == small_recording.movie.shape[1:] and labels.max() > 5
    with pytest.raises(ValueError, match="movie layer"):
        segment_layer(SimpleNamespace(data=small_recording.movie[0], name="frame"))


def test_widget_saves_the_same_result_folder_as_the_command_line(small_recording, tmp_path):
    from neuronseg.errors import NeuronsegError

    layer = SimpleNamespace(data=small_recording.movie, name="sim")
    labels, _, _ = segment_layer(layer, save_to=str(tmp_path / "out"))
    names = {p.name for p in (tmp_path / "out").iterdir()}
    assert {"regions.json", "labels.tif", "traces.npy", "dff.npy", "summary.json", "report.html"} <= names
    np.testing.assert_array_equal(tifffile.imread(tmp_path / "out" / "labels.tif"), labels)
    with pytest.raises(NeuronsegError, match="already exists"):   # refused before any work
        segment_layer(layer, save_to=str(tmp_path / "out"))
