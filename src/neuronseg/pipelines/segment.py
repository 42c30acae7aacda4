"""Movies → cells: the stages of `neuronseg segment`, timed, composed from plain functions."""

from __future__ import annotations

import logging
import resource
import time
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np

from neuronseg.errors import NeuronsegError
from neuronseg.io.movies import Movie
from neuronseg.roiset import RoiSet
from neuronseg.movie.summary import Summary, summarize
from neuronseg.pipelines.classical import ClassicalParams, segment_classical
from neuronseg.progress import progress_bar
from neuronseg.traces import extract_traces, neuropil_rois

log = logging.getLogger(__name__)

METHODS = ("disco", "onephoton", "classical")
#: px: DISCo's network goes over larger fields in overlapping tiles of this size even without
#: ``tile_size``. Its whole-field activations grow with the field: measured with the shipped
#: model, +1.6 GB at 1024² and +6.5 GB at 2048², while 512-px tiles add about 0.4 GB.
NETWORK_TILE = 512


def default_method() -> str:
    """DISCo when its shipped model is installed, else the classical segmenter."""
    from neuronseg.pipelines.disco import DiscoModel

    return "disco" if DiscoModel.shipped() else "classical"


@dataclass
class Segmentation:
    """What `segment_movie` found: ROIs, their traces, the summary images and the run's record."""

    rois: RoiSet
    traces: np.ndarray
    summary: Summary
    method: str
    parameters: dict
    seconds: dict = field(default_factory=dict)
    neuropil: np.ndarray | None = None  #: (n_rois, T) mean of each ROI's surround ring (traces.neuropil_rois)

    @property
    def peak_memory_mb(self) -> float:
        # ru_maxrss is in KiB on Linux: the high-water mark of this whole process
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@contextmanager
def _timed(seconds: dict, name: str):
    """Record the wall time of a ``with`` block as ``seconds[name]``."""
    t = time.perf_counter()
    yield
    seconds[name] = round(time.perf_counter() - t, 3)


#: float32 copies of a time chunk alive at once in the summary pass (the chunk, products with
#: shifted neighbours, the temporally binned copy, consumers' work)
CHUNK_COPIES = 6
#: per-pixel float64 accumulators of the summary pass (moments, neighbour correlations, max…)
PIXEL_ACCUMULATORS = 24


def chunk_frames_for(memory_limit_mb: float | None, frame_shape, dtype) -> int | None:
    """Frames per time chunk so that the streaming passes stay under ``memory_limit_mb``
    (beyond the interpreter and libraries themselves); None keeps the default (~64 MB chunks)."""
    if memory_limit_mb is None:
        return None
    from neuronseg.io.movies import default_chunk_frames

    pixels = frame_shape[0] * frame_shape[1]
    fixed_mb = PIXEL_ACCUMULATORS * 8 * pixels / 2**20
    per_frame_mb = CHUNK_COPIES * 4 * pixels / 2**20
    if memory_limit_mb < fixed_mb + per_frame_mb:
        raise NeuronsegError(
            f"--memory-limit {memory_limit_mb:g} MB is too small for {frame_shape[0]}×{frame_shape[1]} frames; "
            f"the per-pixel images and one frame need about {fixed_mb + per_frame_mb:.0f} MB"
        )
    return default_chunk_frames(frame_shape, dtype, megabytes=(memory_limit_mb - fixed_mb) / CHUNK_COPIES)


def segment_movie(movie: Movie, method: str | None = None, params=None, model=None, device: str = "cpu",
                  memory_limit_mb: float | None = None, tile_size: int | None = None, client=None,
                  dataset: str | None = None, motion: str | None = None, fs: float | None = None) -> Segmentation:
    """Find cells in a movie and extract their traces.

    Parameters
    ----------
    movie : Movie
        From :func:`neuronseg.open_movie`.
    method : {"disco", "onephoton", "classical"}, optional
        Default: DISCo when ``model`` is given or a model is shipped, else classical; also
        classical, with a warning, for a movie too short for the shipped DISCo model.
        ``onephoton`` (CLAHE, per-frame U-Net, ConvGRU) is for one-photon / miniscope movies.
    params : ClassicalParams, optional
        Settings of the classical segmenter.
    model : path, DiscoModel or OnePhotonModel, optional
        A model folder of the chosen method (default: the shipped one).
    device : str
        Torch device for the network ("cpu", "cuda", …).
    memory_limit_mb : float, optional
        Working-set budget of the streaming passes; sets the time-chunk length.
    tile_size : int, optional
        Compute the summary images (and DISCo's features) in spatial tiles of this many
        pixels, stitched; DISCo's network then runs on overlapping tiles. With ``client`` (a
        dask.distributed Client) each tile's pass is a task on the cluster.
    dataset : str, optional
        The dataset inside an HDF5/NWB/Zarr movie, for tile tasks that reopen it.
    motion : {"none", "rigid", "piecewise", "flow"}, optional
        Motion correction before everything else (see :mod:`neuronseg.movie.motion`).
        Default: none, except for ``onephoton``, whose model names the registration it was
        trained with (rigid for the shipped one; pass "none" for an already registered movie).
    fs : float, optional
        Frame rate (Hz): the time scales of the activity test of ``onephoton`` (default: as
        if 10 Hz).

    Returns
    -------
    Segmentation
    """
    chosen = method is not None or model is not None
    method = method or ("disco" if model is not None else default_method())
    if method not in METHODS:
        raise NeuronsegError(f"unknown method '{method}' (choose from {', '.join(METHODS)})")
    if fs is not None and not fs > 0:
        raise NeuronsegError(f"the frame rate must be above 0 Hz, not {fs}")
    if method == "onephoton" and tile_size is not None:
        raise NeuronsegError("the one-photon method runs on whole frames; it cannot be combined with --tile-size")
    seconds: dict[str, float] = {}
    disco = None
    chunk = chunk_frames_for(memory_limit_mb, movie.frame_shape, movie.dtype)
    motion_summary = None
    onephoton = None
    if method == "onephoton":
        from neuronseg.pipelines.onephoton import OnePhotonModel

        onephoton = model if isinstance(model, OnePhotonModel) else OnePhotonModel.load(model, device)
    if motion is None:
        motion = onephoton.config.motion if onephoton is not None else "none"
        if motion != "none":
            log.info(f"registering ({motion}) as the one-photon model expects; pass --motion none "
                     "for a movie that is already registered (a ΔF/F movie, say)")
    if motion != "none":
        from neuronseg.movie.motion import MotionCorrectedMovie, MotionParams, estimate_motion

        if tile_size is not None:
            raise NeuronsegError("--motion works on whole frames; it cannot be combined with --tile-size yet")
        with _timed(seconds, "motion"), progress_bar(movie.n_frames, f"motion ({motion})") as tick:
            motion_params = MotionParams.for_onephoton(motion) if method == "onephoton" else MotionParams(method=motion)
            estimate = estimate_motion(movie, motion_params, chunk, progress=tick)
        movie = MotionCorrectedMovie(movie, estimate)
        motion_summary = estimate.summary()
    if method == "disco":
        from neuronseg.pipelines.disco import DiscoModel, image_channels

        disco = model if isinstance(model, DiscoModel) else DiscoModel.load(model, device)
        if not chosen and movie.n_frames < disco.min_frames:
            log.warning(f"{movie.n_frames} frames are too few for DISCo (it needs {disco.min_frames}): "
                        "using the classical segmenter")
            method, disco = "classical", None
    if disco is not None:
        factory = disco.feature_factory(movie.n_frames)  # checks the movie is long enough
    features = None
    if tile_size is not None:
        from neuronseg.pipelines.tiles import tile_grid, tiled_summarize

        n_tiles = len(tile_grid(movie.frame_shape, tile_size))
        with _timed(seconds, "summary"), progress_bar(n_tiles, "summary tiles", unit="tile") as tick:
            result = tiled_summarize(movie, tile_size, 3, chunk, client, dataset, progress=tick,
                                     features=factory if disco is not None else None)
        summary, features = result if disco is not None else (result, None)
    else:
        consumers = [factory(movie.frame_shape)] if disco is not None else []
        with _timed(seconds, "summary"), progress_bar(movie.n_frames, "summary images") as tick:
            summary = summarize(movie.chunks(chunk), movie.frame_shape, temporal_bin=3, progress=tick,
                                consumers=consumers)
        if disco is not None:
            features = consumers[0].finish()
    if disco is not None:
        with _timed(seconds, "network"):
            images = image_channels(summary.mean, disco.config)
            network_tile = tile_size or (NETWORK_TILE if max(movie.frame_shape) > NETWORK_TILE else None)
            if network_tile is None:
                probs = disco.predict(features, images)
            else:
                from neuronseg.pipelines.tiles import predict_tiled

                probs = predict_tiled(disco.predict, features, images, tile_size=network_tile)
        with _timed(seconds, "instances"):
            rois = disco.instances(probs)
        parameters = {"model": str(model or "shipped default"), "config": disco.config.to_dict(),
                      "pool_used": disco.pool_for(movie.n_frames), "thresholds": disco.thresholds, "device": disco.device,
                      "network_tile": network_tile}
    elif method == "onephoton":
        with _timed(seconds, "network"), progress_bar(movie.n_frames, "one-photon network") as tick:
            maps = onephoton.predict(movie, chunk, progress=tick)
        with _timed(seconds, "instances"):
            rois = RoiSet.from_labels(onephoton.instances(maps.active, outline=maps.outline))
        parameters = {"model": str(model or "shipped default"), "config": onephoton.config.to_dict(),
                      "thresholds": onephoton.thresholds, "device": onephoton.device}
    else:
        params = params or ClassicalParams()
        with _timed(seconds, "detect"):
            rois = segment_classical(summary, params)
        parameters = params.as_dict()
    with _timed(seconds, "traces"), progress_bar(movie.n_frames, "traces") as tick:
        # the ROIs and their surround rings in one pass over the movie
        rings = neuropil_rois(rois)
        both = RoiSet(rois.shape, list(rois.pixels) + list(rings.pixels),
                      None if rois.weights is None else list(rois.weights) + [np.ones(len(p), np.float32) for p in rings.pixels])
        all_traces = extract_traces(movie.chunks(chunk), both, movie.n_frames, progress=tick)
    n = len(rois)
    traces, neuropil = all_traces[:n], all_traces[n:]
    if method == "onephoton":
        # the method's last step: a ROI whose trace never shows a transient is not an active cell
        from neuronseg.pipelines.onephoton import drop_silent
        from neuronseg.traces import activity

        rois, keep = drop_silent(rois, activity(traces, neuropil, fs)[1])
        parameters["silent_rois_dropped"] = n - len(rois)
        traces, neuropil = traces[keep], neuropil[keep]
    if motion_summary is not None:
        parameters = {**parameters, "motion": motion_summary}
    return Segmentation(rois, traces, summary, method, parameters, seconds, neuropil)
