import json

import numpy as np
import pytest
import tifffile

from conftest import shared_data
from neuronseg import NeuronsegError, RoiSet
from neuronseg.io.rois import (read_imagej_zip, read_regions_json, read_rois, write_imagej_zip,
                               write_label_tif, write_regions_json)


def _blobs(rng, shape=(60, 70), n=8):
    """Hole-free, 4-connected random masks (non-overlapping discs, some squashed)."""
    labels = np.zeros(shape, np.uint16)
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    k = 0
    while k < n:
        c = rng.uniform(6, np.array(shape) - 6)
        ry, rx = rng.uniform(2, 6, 2)
        disc = ((yy - c[0]) / ry) ** 2 + ((xx - c[1]) / rx) ** 2 <= 1
        if disc.sum() >= 5 and not labels[disc].any():
            k += 1
            labels[disc] = k
    return labels


def test_from_labels_and_back(rng):
    labels = _blobs(rng)
    rois = RoiSet.from_labels(labels)
    assert len(rois) == 8
    np.testing.assert_array_equal(rois.to_labels(), labels)
    np.testing.assert_allclose(rois.centers()[0], np.argwhere(labels == 1).mean(axis=0))


def test_regions_json_round_trip(tmp_path, rng):
    rois = RoiSet.from_labels(_blobs(rng))
    write_regions_json(rois, tmp_path / "r.json")
    data = json.loads((tmp_path / "r.json").read_text())
    assert data[0]["id"] == 0 and len(data[0]["coordinates"][0]) == 2
    back = read_regions_json(tmp_path / "r.json", rois.shape)
    assert all(np.array_equal(a, b) for a, b in zip(rois.pixels, back.pixels))
    # coordinates are [row, col]: check one pixel by hand
    r, c = data[2]["coordinates"][0]
    assert rois.to_labels()[r, c] == 3


def test_label_tif_round_trip(tmp_path, rng):
    rois = RoiSet.from_labels(_blobs(rng))
    write_label_tif(rois, tmp_path / "l.tif")
    labels = tifffile.imread(tmp_path / "l.tif")
    assert labels.dtype == np.uint16
    back = read_rois(tmp_path / "l.tif")
    np.testing.assert_array_equal(back.to_labels(), rois.to_labels())


def test_imagej_zip_round_trip_is_lossless_for_simple_masks(tmp_path, rng):
    rois = RoiSet.from_labels(_blobs(rng, n=10))
    write_imagej_zip(rois, tmp_path / "rois.zip")
    back = read_imagej_zip(tmp_path / "rois.zip", rois.shape)
    assert len(back) == len(rois)
    for a, b in zip(rois.pixels, back.pixels):
        np.testing.assert_array_equal(a, b)


def test_imagej_polygons_fill_pixel_centres_as_imagej_does():
    # ImageJ (ij/process/PolygonFiller): pixel (x, y) covers [x, x+1) × [y, y+1) and is inside
    # when its centre is. A square with corners x 2..5, y 3..6 holds pixels x 2–4, y 3–5.
    from neuronseg.io.rois import polygon_mask

    mask = polygon_mask(np.array([[2, 3], [5, 3], [5, 6], [2, 6]]), (10, 10))
    expected = np.zeros((10, 10), bool)
    expected[3:6, 2:5] = True
    np.testing.assert_array_equal(mask, expected)


def test_imagej_zip_from_fiji_matches_its_label_image():
    zip_path = shared_data("sima_tiny", "imageJ_ROIs.zip")
    labels = tifffile.imread(shared_data("sima_tiny", "roi_labels.tif"))
    rois = read_imagej_zip(zip_path, labels.shape)
    assert len(rois) == 2
    truth = RoiSet.from_labels(labels)
    # SIMA drew its label image with vertices on pixel centres, half a pixel from ImageJ's
    # convention: the masks agree but for part of the boundary ring.
    for m in rois.masks():
        best = max((np.logical_and(m, t).sum() / np.logical_or(m, t).sum()) for t in truth.masks())
        assert best > 0.85


def test_weights_make_weighted_means():
    rois = RoiSet.from_coordinates([[[0, 0], [0, 1]]], (2, 2), weights=[[3.0, 1.0]])
    frame = np.array([[4.0, 8.0], [0, 0]])
    assert (rois.weight_matrix() @ frame.ravel())[0] == pytest.approx(5.0)


def test_rois_outside_the_image_are_refused():
    with pytest.raises(NeuronsegError, match="outside"):
        RoiSet.from_coordinates([[[5, 5]]], (4, 4))


def test_shape_mismatch_is_refused(tmp_path, rng):
    rois = RoiSet.from_labels(_blobs(rng))
    write_label_tif(rois, tmp_path / "l.tif")
    with pytest.raises(NeuronsegError, match="shape"):
        read_rois(tmp_path / "l.tif", shape=(10, 10))


@pytest.mark.parametrize("text,match", [("[]", "no regions"), ("{bad", "JSON"), ('[{"id": 1}]', "Neurofinder")])
def test_bad_regions_files(tmp_path, text, match):
    (tmp_path / "r.json").write_text(text)
    with pytest.raises(NeuronsegError, match=match):
        read_regions_json(tmp_path / "r.json")
