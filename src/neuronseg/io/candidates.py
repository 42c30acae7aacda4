"""Candidate ROIs from another tool (Suite2p, CaImAn, any ROI file), with what curation reads.

:func:`read_candidates` is the one entry point: it recognises a Suite2p plane folder, a
CaImAn results HDF5 file, or a ROI file (regions.json, label TIFF, ImageJ zip) that comes
with its movie, and returns :class:`Candidates`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from neuronseg.errors import NeuronsegError
from neuronseg.roiset import RoiSet


@dataclass
class Candidates:
    """Candidate ROIs and the per-recording data a curation model may use.

    Attributes
    ----------
    rois : RoiSet
        Weighted footprints (Suite2p ``lam``, CaImAn ``A``), one per candidate.
    source : str
        "suite2p", "caiman" or "rois".
    path : Path
        What the user pointed at.
    traces : (n, T) float32 array or None
        Fluorescence per candidate (Suite2p ``F - c * Fneu``, CaImAn ``C + YrA``).
    mean_image, correlation_image, max_image : (H, W) float32 arrays or None
        Summary images of the movie the candidates came from (max_image: the max projection).
    tool_decision : (n,) bool array or None
        The tool's own cell / not-cell call (Suite2p ``iscell[:, 0]``, CaImAn ``idx_components``).
    movie_path : Path or None
        The movie (or Suite2p ``data.bin``) the images can be computed from.
    """

    rois: RoiSet
    source: str
    path: Path
    traces: np.ndarray | None = None
    mean_image: np.ndarray | None = None
    correlation_image: np.ndarray | None = None
    tool_decision: np.ndarray | None = None
    movie_path: Path | None = None
    max_image: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.rois)

    def subset(self, keep) -> "Candidates":
        idx = np.flatnonzero(keep) if np.asarray(keep).dtype == bool else np.asarray(keep, int)
        return Candidates(
            self.rois.subset(idx), self.source, self.path,
            None if self.traces is None else self.traces[idx],
            self.mean_image, self.correlation_image,
            None if self.tool_decision is None else self.tool_decision[idx],
            self.movie_path, self.max_image,
        )


def candidate_kind(path) -> str:
    """"suite2p", "caiman" or "rois", from what is at ``path``."""
    path = Path(path)
    if not path.exists():
        raise NeuronsegError(f"{path}: no such file or folder")
    if path.is_dir():
        if (path / "stat.npy").exists():
            return "suite2p"
        if (path / "plane0" / "stat.npy").exists():
            raise NeuronsegError(f"{path}: point at a plane folder, e.g. {path / 'plane0'}")
        raise NeuronsegError(f"{path}: not a Suite2p plane folder (no stat.npy)")
    if path.suffix.lower() in (".hdf5", ".h5", ".hdf"):
        return "caiman"
    return "rois"


def read_candidates(path, movie=None, dataset: str | None = None, images=True) -> Candidates:
    """Read candidates from ``path``; with ``movie`` (a path), summary images and traces come from it.

    Parameters
    ----------
    path : path
        A Suite2p plane folder (``stat.npy`` …), a CaImAn results ``.hdf5``, or a ROI file.
    movie : path, optional
        The recording the candidates were found in. Needed for a ROI file; for Suite2p and
        CaImAn it replaces the tools' own images with neuronseg's summary images (a Suite2p
        folder that still holds ``data.bin`` needs no movie).
    images : bool or collection of str
        Compute summary images from the movie when one is available: always (True), never
        (False), or only when the tool keeps one of these ("mean", "correlation", "max") not.
    """
    from neuronseg.io.caiman import read_caiman_results
    from neuronseg.io.rois import read_rois
    from neuronseg.io.suite2p import read_suite2p_plane

    kind = candidate_kind(path)
    if kind == "suite2p":
        cands = read_suite2p_plane(path)
    elif kind == "caiman":
        cands = read_caiman_results(path)
    else:
        if movie is None:
            raise NeuronsegError(f"{path}: a ROI file needs the movie it was drawn on (--movie)")
        cands = Candidates(RoiSet((0, 0)), "rois", Path(path))
    movie_path = Path(movie) if movie is not None else cands.movie_path
    if images is not True and images:
        images = any(getattr(cands, f"{k}_image") is None for k in images)
    if movie_path is not None and (images or kind == "rois"):
        _add_movie_data(cands, movie_path, dataset, read_rois if kind == "rois" else None)
    return cands


def _add_movie_data(cands: Candidates, movie_path: Path, dataset, read_rois=None) -> None:
    """Summary images from the movie (one pass); for a ROI file also its ROIs and traces."""
    from neuronseg.io.movies import open_movie
    from neuronseg.io.suite2p import open_suite2p_binary
    from neuronseg.movie.summary import summarize
    from neuronseg.progress import progress_bar
    from neuronseg.traces import extract_traces

    opener = open_suite2p_binary if movie_path.name == "data.bin" else lambda p: open_movie(p, dataset)
    with opener(movie_path) as movie:
        if read_rois is not None:
            cands.rois = read_rois(cands.path, movie.frame_shape)
        elif movie.frame_shape != cands.rois.shape:
            raise NeuronsegError(
                f"{movie_path}: frames are {movie.frame_shape[0]}×{movie.frame_shape[1]} but the candidates "
                f"in {cands.path} lie on a {cands.rois.shape[0]}×{cands.rois.shape[1]} field"
            )
        with progress_bar(movie.n_frames, "summary images") as update:
            summary = summarize(movie.chunks(), movie.frame_shape, progress=update)
        cands.mean_image, cands.correlation_image, cands.max_image = summary.mean, summary.correlation, summary.max
        if cands.traces is None:
            with progress_bar(movie.n_frames, "traces") as update:
                cands.traces = extract_traces(movie.chunks(), cands.rois, movie.n_frames, update)
    cands.movie_path = movie_path
