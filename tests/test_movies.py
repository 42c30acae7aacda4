import h5py
import numpy as np
import pytest
import tifffile
import zarr

from conftest import shared_data
from neuronseg import NeuronsegError, open_movie


@pytest.fixture
def movie_array(rng):
    return rng.integers(0, 4000, size=(23, 20, 24)).astype(np.uint16)


def _writers(tmp_path, arr):
    def tiff():
        p = tmp_path / "m.tif"
        tifffile.imwrite(p, arr)
        return p, None

    def tiff_zlib():
        p = tmp_path / "mz.tiff"
        tifffile.imwrite(p, arr, compression="zlib", predictor=True)
        return p, None

    def bigtiff():
        p = tmp_path / "big.tif"
        tifffile.imwrite(p, arr, bigtiff=True)
        return p, None

    def folder():
        (tmp_path / "nf" / "images").mkdir(parents=True)
        for i, frame in enumerate(arr):
            tifffile.imwrite(tmp_path / "nf" / "images" / f"image{i:05d}.tiff", frame)
        return tmp_path / "nf", None

    def npy():
        p = tmp_path / "m.npy"
        np.save(p, arr)
        return p, None

    def h5():
        p = tmp_path / "m.h5"
        with h5py.File(p, "w") as f:
            f["mov"] = arr
            f["other"] = np.zeros((3, 3))
        return p, None

    def h5_named():
        p = tmp_path / "n.hdf5"
        with h5py.File(p, "w") as f:
            f["a"] = arr
            f["b/c"] = arr + 1
        return p, "b/c"

    def zarr_array():
        p = tmp_path / "m.zarr"
        z = zarr.open_array(str(p), mode="w", shape=arr.shape, dtype=arr.dtype, chunks=(5, 20, 24))
        z[:] = arr
        return p, None

    def zarr_group():
        p = tmp_path / "g.zarr"
        g = zarr.open_group(str(p), mode="w")
        g.create_array("movie", shape=arr.shape, dtype=arr.dtype, chunks=(5, 20, 24))[:] = arr
        return p, "movie"

    return dict(tiff=tiff, tiff_zlib=tiff_zlib, bigtiff=bigtiff, folder=folder, npy=npy, h5=h5,
                h5_named=h5_named, zarr_array=zarr_array, zarr_group=zarr_group)


@pytest.mark.parametrize("fmt", ["tiff", "tiff_zlib", "bigtiff", "folder", "npy", "h5", "h5_named",
                                 "zarr_array", "zarr_group"])
def test_every_format_reads_the_same_frames(tmp_path, movie_array, fmt):
    path, dataset = _writers(tmp_path, movie_array)[fmt]()
    expected = movie_array + 1 if dataset == "b/c" else movie_array
    with open_movie(path, dataset) as movie:
        assert movie.shape == movie_array.shape
        assert movie.dtype == np.uint16
        np.testing.assert_array_equal(movie[5:9], expected[5:9])
        np.testing.assert_array_equal(movie[-1], expected[-1])
        np.testing.assert_array_equal(movie[2:12:3], expected[2:12:3])
        starts, blocks = zip(*movie.chunks(7))
        assert starts == (0, 7, 14, 21)
        np.testing.assert_array_equal(np.concatenate(blocks), expected)


def test_singleton_axes_are_squeezed(tmp_path, movie_array):
    p = tmp_path / "hyper.tif"
    tifffile.imwrite(p, movie_array[:, None], imagej=True, metadata={"axes": "TCYX"})
    with open_movie(p) as movie:
        assert movie.shape == movie_array.shape
        np.testing.assert_array_equal(movie[3:6], movie_array[3:6])


def test_npy_is_memory_mapped_not_loaded(tmp_path, movie_array):
    p = tmp_path / "m.npy"
    np.save(p, movie_array)
    with open_movie(p) as movie:
        assert isinstance(movie._reader._array, np.memmap)


@pytest.mark.parametrize("case", ["missing", "image2d", "truncated", "suffix", "h5_ambiguous", "text"])
def test_bad_movies_give_one_clear_error(tmp_path, movie_array, case):
    if case == "missing":
        p, match = tmp_path / "nope.tif", "no such file"
    elif case == "image2d":
        p, match = tmp_path / "img.tif", "single image"
        tifffile.imwrite(p, movie_array[0])
    elif case == "truncated":
        p, match = tmp_path / "cut.tif", "truncated|could not"
        tifffile.imwrite(p, movie_array, compression="zlib")
        data = p.read_bytes()
        p.write_bytes(data[: len(data) // 2])
    elif case == "suffix":
        p, match = tmp_path / "m.avi", "unsupported"
        p.write_bytes(b"RIFF0000")
    elif case == "h5_ambiguous":
        p, match = tmp_path / "two.h5", "--dataset"
        with h5py.File(p, "w") as f:
            f["a"] = movie_array
            f["b"] = movie_array
    else:
        p, match = tmp_path / "fake.tif", "could not"
        p.write_text("this is not a tiff")
    with pytest.raises(NeuronsegError, match=match):
        with open_movie(p) as movie:
            movie[:]  # a truncated file may only fail when its frames are read


def test_real_neurofinder_movie_opens_lazily_and_matches_tifffile():
    path = shared_data("neurofinder_top", "movie.tif")
    with open_movie(path) as movie:
        assert movie.shape == (600, 256, 512)
        frame = movie[123]
    np.testing.assert_array_equal(frame, tifffile.imread(path, key=123))
