"""Lazy access to calcium-imaging movies, whatever file they live in.

`open_movie` returns a :class:`Movie`: shape, dtype, slicing over time and chunked
iteration, reading only the frames asked for. Every reader is a field library (tifffile,
h5py, zarr, numpy's memmap); this module only gives them one face and turns their failures
into one clear :class:`~neuronseg.errors.NeuronsegError`.

Movies are ``(T, H, W)``, rows before columns.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from neuronseg.errors import NeuronsegError
from neuronseg.io.captured_log import CapturedLog

log = logging.getLogger(__name__)

TIFF_SUFFIXES = (".tif", ".tiff")
HDF5_SUFFIXES = (".h5", ".hdf5", ".hdf")


class _Reader:
    """One file format: knows the shape and dtype and reads frames ``t0:t1``."""

    shape: tuple[int, ...]
    dtype: np.dtype

    def read(self, t0: int, t1: int) -> np.ndarray:  # pragma: no cover - interface
        raise NotImplementedError

    def read_window(self, t0: int, t1: int, window) -> np.ndarray:
        """Frames ``t0:t1`` cut to ``window = (r0, r1, c0, c1)``; formats that store whole
        frames decode them whole, chunked arrays override this to read only the window."""
        r0, r1, c0, c1 = window
        return self.read(t0, t1)[:, r0:r1, c0:c1]

    def close(self) -> None:
        pass

    # Leading singleton axes before the time axis, indexed away on every read.
    _lead = 0

    def squeeze(self) -> None:
        """Drop singleton axes; reads still index the stored array, then reshape."""
        full = self.shape
        self._lead = next(i for i, s in enumerate(full) if s > 1)
        self.shape = tuple(s for s in full if s > 1)


class _TiffReader(_Reader):
    def __init__(self, path: Path):
        import tifffile

        # tifffile logs, rather than raises, when an IFD chain runs past the end of a
        # truncated file, and then shows fewer pages: listen for that and refuse.
        with CapturedLog("tifffile") as warnings:
            try:
                self._tf = tifffile.TiffFile(path)
                series = self._tf.series[0]
                len(self._tf.pages)  # walks the whole IFD chain now, so a break in it is logged here
            except Exception as exc:
                if not warnings:
                    raise
                raise NeuronsegError(f"{path}: could not open as a TIFF movie ({warnings[0]})") from exc
        if any("offset" in w or "truncat" in w or "corrupt" in w for w in warnings):
            self._tf.close()
            raise NeuronsegError(f"{path}: the TIFF is truncated or corrupt ({warnings[0]})")
        for w in warnings:
            log.warning(f"{path}: {w}")
        last = series.pages[-1] if len(series.pages) else None
        if last is not None and getattr(last, "dataoffsets", None):
            end = max(o + b for o, b in zip(last.dataoffsets, last.databytecounts))
            if end > self._tf.filehandle.size:
                self._tf.close()
                raise NeuronsegError(f"{path}: the TIFF is truncated (its last frame ends past the end of the file)")
        self.shape = tuple(series.shape)
        self.dtype = np.dtype(series.dtype)
        self._series = series
        # A contiguous uncompressed file is memory-mapped: no decoding, no copy.
        self._memmap = None
        if series.dataoffset is not None and len(self.shape) >= 2:
            try:
                self._memmap = self._tf.asarray(out="memmap")
            except (ValueError, OSError):
                self._memmap = None

    def read(self, t0, t1):
        if self._memmap is not None:
            index = (0,) * self._lead + (slice(t0, t1),)
            return np.asarray(self._memmap[index]).reshape((-1,) + self.shape[1:])
        # One page per frame in the files microscopes write; `key` reads only those pages
        # and tifffile decodes them on several threads.
        if len(self._series.pages) == self.shape[0]:
            return self._series.asarray(key=slice(t0, t1), maxworkers=2).reshape(
                (t1 - t0,) + self.shape[1:]
            )
        return self._series.asarray().reshape(self.shape)[t0:t1]

    def close(self):
        self._tf.close()


class _FolderReader(_Reader):
    """Neurofinder layout: ``images/*.tif[f]``, one frame per file, in name order."""

    def __init__(self, folder: Path):
        import tifffile

        images = folder / "images" if (folder / "images").is_dir() else folder
        self.files = sorted(p for p in images.iterdir() if p.suffix.lower() in TIFF_SUFFIXES)
        if not self.files:
            raise NeuronsegError(f"{folder}: no .tif/.tiff frames found in {images}")
        first = tifffile.imread(self.files[0])
        self.shape = (len(self.files),) + first.shape
        self.dtype = first.dtype

    def read(self, t0, t1):
        import tifffile

        frames = [tifffile.imread(f) for f in self.files[t0:t1]]
        for f, frame in zip(self.files[t0:t1], frames):
            if frame.shape != self.shape[1:]:
                raise NeuronsegError(f"{f}: frame shape {frame.shape} differs from {self.shape[1:]}")
        return np.stack(frames) if frames else np.empty((0,) + self.shape[1:], self.dtype)


class _ArrayReader(_Reader):
    """Anything sliceable along axis 0: a numpy memmap, an h5py or zarr dataset."""

    def __init__(self, array, closer=None):
        self._array = array
        self.shape = tuple(array.shape)
        self.dtype = np.dtype(array.dtype)
        self._closer = closer

    def read(self, t0, t1):
        index = (0,) * self._lead + (slice(t0, t1),)
        return np.asarray(self._array[index]).reshape((-1,) + self.shape[1:])

    def read_window(self, t0, t1, window):
        if len(self._array.shape) != 3:  # squeezed axes: cut after the plain read
            return super().read_window(t0, t1, window)
        r0, r1, c0, c1 = window
        return np.asarray(self._array[t0:t1, r0:r1, c0:c1])  # Zarr/HDF5 decode only the chunks hit

    def close(self):
        if self._closer is not None:
            self._closer()


def _open_hdf5(path: Path, dataset: str | None) -> _Reader:
    import h5py

    f = h5py.File(path, "r")
    if dataset is None:
        names: list[str] = []
        f.visititems(lambda n, o: names.append(n) if isinstance(o, h5py.Dataset) and o.ndim == 3 else None)
        if len(names) != 1:
            f.close()
            raise NeuronsegError(f"{path}: name the movie with --dataset (3-D datasets found: {', '.join(names)})" if names
                                 else f"{path}: holds no 3-D dataset (frames × rows × columns); name the movie with --dataset")
        dataset = names[0]
    if dataset not in f:
        f.close()
        raise NeuronsegError(f"{path}: no dataset '{dataset}'")
    return _ArrayReader(f[dataset], closer=f.close)


def _open_nwb(path: Path, series: str | None) -> _Reader:
    """An NWB file's TwoPhotonSeries / OnePhotonSeries (frames × x × y), read lazily with h5py."""
    import h5py

    from neuronseg.io.nwb import nwb_series_dataset

    f = h5py.File(path, "r")
    try:
        data = nwb_series_dataset(f, path, series)
    except NeuronsegError:
        f.close()
        raise
    return _ArrayReader(data, closer=f.close)


def _open_zarr(path: Path, dataset: str | None) -> _Reader:
    import zarr

    node = zarr.open(str(path), mode="r")
    if isinstance(node, zarr.Group):
        if dataset is None:
            arrays = [name for name, a in node.arrays() if a.ndim == 3]
            if len(arrays) != 1:
                raise NeuronsegError(
                    f"{path}: name the movie with --dataset (3-D arrays found: {', '.join(arrays)})" if arrays
                    else f"{path}: holds no 3-D array (frames × rows × columns); name the movie with --dataset"
                )
            dataset = arrays[0]
        try:
            node = node[dataset]
        except KeyError:
            raise NeuronsegError(f"{path}: no array '{dataset}'") from None
    return _ArrayReader(node)


@dataclass
class Movie:
    """A lazily read movie of shape ``(T, H, W)``.

    Index it like an array along time (``movie[10:20]`` reads frames 10–19 only) or
    iterate over time chunks with :meth:`chunks`. Frames come back in the file's dtype.

    Examples
    --------
    >>> movie = open_movie("movie.tif")            # doctest: +SKIP
    >>> for t0, block in movie.chunks(100):        # doctest: +SKIP
    ...     print(t0, block.shape)
    """

    path: Path
    _reader: _Reader

    @property
    def shape(self) -> tuple[int, int, int]:
        return self._reader.shape  # type: ignore[return-value]

    @property
    def dtype(self) -> np.dtype:
        return self._reader.dtype

    @property
    def n_frames(self) -> int:
        return self.shape[0]

    @property
    def frame_shape(self) -> tuple[int, int]:
        return self.shape[1], self.shape[2]

    def __len__(self) -> int:
        return self.shape[0]

    def read(self, t0: int, t1: int) -> np.ndarray:
        """Frames ``t0`` to ``t1 - 1`` as an array ``(t1 - t0, H, W)``."""
        t0, t1 = max(0, t0), min(self.n_frames, t1)
        try:
            return self._reader.read(t0, t1)
        except NeuronsegError:
            raise
        except Exception as exc:  # a truncated or corrupt file fails here, deep in a codec
            raise NeuronsegError(
                f"{self.path}: could not read frames {t0}–{t1 - 1} ({type(exc).__name__}: {exc}); "
                "the file may be truncated or corrupt"
            ) from exc

    def __getitem__(self, key):
        if isinstance(key, int):
            t = key + self.n_frames if key < 0 else key
            if not 0 <= t < self.n_frames:
                raise IndexError(f"frame {key} out of range for {self.n_frames} frames")
            return self.read(t, t + 1)[0]
        if isinstance(key, slice):
            t0, t1, step = key.indices(self.n_frames)
            return self.read(t0, t1)[::step] if t1 > t0 else self.read(t0, t0)
        if isinstance(key, tuple) and key and isinstance(key[0], (slice, int)):
            return self[key[0]][(slice(None),) + key[1:] if isinstance(key[0], slice) else key[1:]]
        raise TypeError("index a Movie with an int, a slice, or a tuple starting with one")

    def chunks(self, size: int | None = None, window=None) -> Iterator[tuple[int, np.ndarray]]:
        """Yield ``(t0, frames)`` over the whole movie, ``size`` frames at a time.

        With no size, chunks hold about 64 MB of frames. ``window = (r0, r1, c0, c1)`` cuts
        every frame to that rectangle (rows and columns, ends excluded).
        """
        if size is None:
            shape = self.frame_shape if window is None else (window[1] - window[0], window[3] - window[2])
            size = default_chunk_frames(shape, self.dtype)
        for t0 in range(0, self.n_frames, size):
            if window is None:
                yield t0, self.read(t0, t0 + size)
            else:
                yield t0, self._read_window(t0, min(self.n_frames, t0 + size), window)

    def _read_window(self, t0: int, t1: int, window) -> np.ndarray:
        try:
            return self._reader.read_window(t0, t1, window)
        except NeuronsegError:
            raise
        except Exception as exc:
            raise NeuronsegError(f"{self.path}: could not read frames {t0}–{t1 - 1} ({type(exc).__name__}: {exc})") from exc

    def close(self) -> None:
        self._reader.close()

    def __enter__(self) -> "Movie":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def movie_from_array(array, name: str = "array") -> Movie:
    """A :class:`Movie` over an in-memory ``(T, H, W)`` array (a napari layer, a test movie)."""
    if np.ndim(array) != 3:
        raise NeuronsegError(f"{name}: a movie must be (T, H, W), got shape {np.shape(array)}")
    return Movie(Path(name), _ArrayReader(array))


def default_chunk_frames(frame_shape: tuple[int, int], dtype=np.float32, megabytes: float = 64) -> int:
    """How many frames of ``frame_shape`` fit in ``megabytes`` (at least 1)."""
    itemsize = max(np.dtype(dtype).itemsize, 4)  # chunks are usually converted to float32
    return max(1, int(megabytes * 2**20 // (frame_shape[0] * frame_shape[1] * itemsize)))


def _reader_for(path: Path, dataset: str | None) -> _Reader:
    suffix = path.suffix.lower()
    if path.is_dir() and suffix != ".zarr":
        if (path / ".zarray").exists() or (path / "zarr.json").exists() or (path / ".zgroup").exists():
            return _open_zarr(path, dataset)
        return _FolderReader(path)
    if suffix in TIFF_SUFFIXES:
        return _TiffReader(path)
    if suffix == ".npy":
        return _ArrayReader(np.load(path, mmap_mode="r", allow_pickle=False))
    if suffix == ".nwb":
        return _open_nwb(path, dataset)
    if suffix in HDF5_SUFFIXES:
        return _open_hdf5(path, dataset)
    if suffix == ".zarr":
        return _open_zarr(path, dataset)
    raise NeuronsegError(
        f"{path}: unsupported movie format '{suffix}' "
        "(use a TIFF, a Neurofinder folder, .npy, .h5/.hdf5, .nwb or .zarr)"
    )


def open_movie(path, dataset: str | None = None) -> Movie:
    """Open a movie lazily, without reading its frames.

    Parameters
    ----------
    path : str or Path
        A multi-page TIFF/BigTIFF, a Neurofinder folder (``images/*.tif``), a ``.npy``
        file (memory-mapped), an HDF5 file or a Zarr store.
    dataset : str, optional
        The dataset inside an HDF5 file or Zarr group; found automatically when there is
        exactly one 3-D dataset.

    Returns
    -------
    Movie
        Shape ``(T, H, W)``; leading singleton axes (channel, plane) are dropped.

    Raises
    ------
    NeuronsegError
        Missing or unreadable file, unsupported format, or data that is not a 3-D movie.
    """
    path = Path(path)
    if not path.exists():
        raise NeuronsegError(f"{path}: no such file or folder")
    try:
        reader = _reader_for(path, dataset)
    except NeuronsegError:
        raise
    except Exception as exc:
        raise NeuronsegError(
            f"{path}: could not open as a movie ({type(exc).__name__}: {exc})"
        ) from exc

    shape = tuple(int(s) for s in reader.shape)
    # (T, 1, H, W) or (1, T, H, W) from ImageJ hyperstacks and HDF5 exports: squeeze the
    # singleton axes when exactly three remain.
    if len(shape) > 3 and sum(s > 1 for s in shape) == 3:
        reader.squeeze()
        shape = reader.shape
    if len(shape) != 3:
        reader.close()
        what = "a single image" if len(shape) == 2 else f"{len(shape)}-D data"
        raise NeuronsegError(
            f"{path}: expected a movie (T, H, W) but found {what} of shape {shape}"
        )
    if shape[0] < 2 or shape[1] < 8 or shape[2] < 8:
        reader.close()
        raise NeuronsegError(f"{path}: movie of shape {shape} is too small (need ≥ 2 frames of ≥ 8×8)")
    if not (np.issubdtype(reader.dtype, np.integer) or np.issubdtype(reader.dtype, np.floating)):
        reader.close()
        raise NeuronsegError(f"{path}: movie dtype {reader.dtype} is not numeric")
    return Movie(path, reader)
