"""A tool's candidate ROIs with everything curation reads: the tool's own files, and from
the movie (when there is one) the summary images and traces the tool does not keep."""

from __future__ import annotations

from pathlib import Path

from neuronseg.curation.config import CurationConfig
from neuronseg.errors import NeuronsegError
from neuronseg.io.candidates import Candidates, candidate_kind
from neuronseg.io.rois import read_rois
from neuronseg.roiset import RoiSet


def read_candidates_for(config: CurationConfig, source, movie=None, dataset=None) -> Candidates:
    """Candidates of ``source`` with what ``config`` reads. Image crop channels always come
    from the movie when there is one; features use the tool's own images (Suite2p's
    ``meanImg``, ``Vcorr``, ``max_proj``: what the shipped model was trained on) and fall back
    to the movie's summary images only for those the tool does not keep (CaImAn: all but the mean)."""
    crops_need = any(c != "weights" for c in config.channels)
    return read_candidates(source, movie=movie, dataset=dataset, images=True if crops_need else config.images_needed())


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
    if kind != "rois":   # curation makes images of the whole field: refuse one this machine cannot hold
        from neuronseg.movie.memory import plan_memory

        plan_memory("classical", cands.rois.shape, 1, None, None, False, path)
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

    from neuronseg.movie.memory import plan_memory

    opener = open_suite2p_binary if movie_path.name == "data.bin" else lambda p: open_movie(p, dataset)
    with opener(movie_path) as movie:
        # one summary pass, as the classical segmenter makes: refuse a field this machine cannot hold
        plan_memory("classical", movie.frame_shape, movie.n_frames, None, None, False, movie_path)
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
