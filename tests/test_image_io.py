"""Readers of labelled still images: every layout, and the errors for bad ones."""

import numpy as np
import pytest
import tifffile
from PIL import Image

from conftest import shared_data
from neuronseg.errors import NeuronsegError
from neuronseg.io.images import read_image, read_labelled_images, read_labels, rle_decode


def _png(path, a):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(a).save(path)


def test_colour_images_become_gray_and_binary_masks_become_components(tmp_path):
    rgb = np.zeros((20, 30, 3), np.uint8)
    rgb[..., 0], rgb[..., 1], rgb[..., 2] = 30, 60, 90
    rgb[5, 5] = 255
    _png(tmp_path / "images" / "a.png", rgb)
    mask = np.zeros((20, 30), np.uint8)
    mask[2:6, 2:6] = 255
    mask[10:14, 20:25] = 255
    _png(tmp_path / "masks" / "a.png", mask)
    [item] = read_labelled_images(tmp_path)
    assert item.image.shape == (20, 30) and item.image[0, 0] == pytest.approx(60)
    assert item.labels.max() == 2 and (item.labels > 0).sum() == 16 + 20


def test_dsb2018_layout_stacks_one_mask_per_instance(tmp_path):
    img = (np.arange(24 * 24).reshape(24, 24) % 251).astype(np.uint8)
    _png(tmp_path / "abc" / "images" / "abc.png", img)
    for i, (r, c) in enumerate([(2, 2), (10, 12), (18, 3)]):
        m = np.zeros((24, 24), np.uint8)
        m[r:r + 4, c:c + 4] = 255
        _png(tmp_path / "abc" / "masks" / f"m{i}.png", m)
    [item] = read_labelled_images(tmp_path)
    assert item.name == "abc" and sorted(np.unique(item.labels)) == [0, 1, 2, 3]
    assert (item.labels == 2).sum() == 16 and item.labels[11, 13] == 2


def test_sartorius_run_lengths_are_one_based_and_row_major(tmp_path):
    shape = (4, 5)
    mask = rle_decode("2 3 12 2", shape)   # pixels 1..3 of row 0; pixels 11, 12 = row 2, cols 1..2
    expect = np.zeros(shape, bool)
    expect[0, 1:4] = True
    expect[2, 1:3] = True
    np.testing.assert_array_equal(mask, expect)
    _png(tmp_path / "train" / "img1.png", (np.arange(20).reshape(shape) * 10).astype(np.uint8))
    (tmp_path / "train.csv").write_text(
        "id,annotation,width,height,cell_type\nimg1,2 3,5,4,astro\nimg1,12 2,5,4,astro\n")
    [item] = read_labelled_images(tmp_path / "train.csv")
    assert item.cell_class == "astro" and item.labels.max() == 2 and (item.labels == 2).sum() == 2
    with pytest.raises(NeuronsegError, match="outside"):
        rle_decode("19 5", shape)


def test_label_tif_pairs_and_shape_mismatch(tmp_path):
    tifffile.imwrite(tmp_path / "x_image.tif", np.random.default_rng(0).random((16, 16)).astype(np.float32))
    lab = np.zeros((16, 16), np.uint16)
    lab[2:5, 2:5], lab[8:12, 8:12], lab[1, 14] = 7, 9, 3
    tifffile.imwrite(tmp_path / "x_labels.tif", lab)
    [item] = read_labelled_images(tmp_path)
    assert set(np.unique(item.labels)) == {0, 3, 7, 9}   # label values kept, not re-labelled
    tifffile.imwrite(tmp_path / "x_labels.tif", lab[:8])
    with pytest.raises(NeuronsegError, match="differ in shape"):
        read_labelled_images(tmp_path)


@pytest.mark.parametrize("content, message", [
    (np.full((8, 8), 3, np.uint8), "constant"),
    (np.zeros((3, 8, 8, 2), np.uint8), "2-D"),
])
def test_bad_images_are_refused(tmp_path, content, message):
    tifffile.imwrite(tmp_path / "bad.tif", content)
    with pytest.raises(NeuronsegError, match=message):
        read_image(tmp_path / "bad.tif")


def test_corrupt_file_and_empty_labels(tmp_path):
    (tmp_path / "c.png").write_bytes(b"\x89PNG not really")
    with pytest.raises(NeuronsegError, match="not a readable image"):
        read_image(tmp_path / "c.png")
    (tmp_path / "c.tif").write_bytes(b"II*\x00" + b"garbage" * 4)   # a TIFF header pointing nowhere
    with pytest.raises(NeuronsegError, match="not a readable image"):
        read_image(tmp_path / "c.tif")
    _png(tmp_path / "d" / "images" / "a.png", (np.arange(64).reshape(8, 8) * 3).astype(np.uint8))
    _png(tmp_path / "d" / "masks" / "a.png", np.zeros((8, 8), np.uint8))
    with pytest.raises(NeuronsegError, match="empty labels"):
        read_labelled_images(tmp_path / "d")


def test_real_layouts_of_the_shared_data():
    pfc = read_labelled_images(shared_data("pfc_brightfield"))
    assert len(pfc) == 80 and all(it.labels.max() == 1 for it in pfc) and pfc[0].image.shape == (960, 1280)
    abo = read_labelled_images(shared_data("abo_summary"))
    assert len(abo) == 15 and abo[0].labels.max() == 221
    nuclei = {it.name: it for it in read_labelled_images(shared_data("dsb2018_nuclei"))}
    assert len(np.unique(nuclei["ee927e82_256"].labels)) - 1 == 65
    assert read_labels(shared_data("dsb2018_nuclei", "nuclei_512_labels.tif")).dtype == np.int32
