"""Movies → cells: the stages of `neuronseg segment`, timed, composed from plain functions.

    movie ─(registration)─► summary pass (summary images + the method's features, one read)
          ─► the method's cells ─► traces pass (ROIs and their neuropil rings, one read)
          ─► ΔF/F and events ─► the method's last word on which cells stay

Every method is one object with the interface of :mod:`neuronseg.pipelines.method`;
:data:`METHODS` names them.
"""

from __future__ import annotations

import logging
import resource
from dataclasses import dataclass, field

import numpy as np

from neuronseg.errors import NeuronsegError
from neuronseg.io.movies import Movie
from neuronseg.movie.summary import Summary, summarize
from neuronseg.pipelines.classical import ClassicalMethod, ClassicalParams
from neuronseg.movie.memory import plan_memory
from neuronseg.pipelines.method import FieldScale, timed
from neuronseg.progress import progress_bar
from neuronseg.roiset import RoiSet
from neuronseg.traces import activity, extract_traces, neuropil_rois

log = logging.getLogger(__name__)


def _load_disco(model, device, params):
    from neuronseg.pipelines.disco import DiscoModel

    return model if isinstance(model, DiscoModel) else DiscoModel.load(model, device)


def _load_onephoton(model, device, params):
    from neuronseg.pipelines.onephoton import OnePhotonModel

    return model if isinstance(model, OnePhotonModel) else OnePhotonModel.load(model, device)


#: ``--method`` name → ``load(model, device, classical_params) -> method object``
METHODS = {
    "disco": _load_disco,
    "onephoton": _load_onephoton,
    "classical": lambda model, device, params: ClassicalMethod(params),
}


#: frames the cell size is estimated from when a method needs it before its pass (four blocks spread over the movie)
DIAMETER_FRAMES = 400
#: seconds of frames averaged before correlating neighbours in the summary images (3 frames at 7 Hz)
SUMMARY_BIN_SECONDS = 3 / 7.0


def summary_bin(fs: float | None) -> int:
    """Frames averaged before the local correlations: 3 without a frame rate, else ~0.43 s."""
    return 3 if not fs else max(1, int(round(SUMMARY_BIN_SECONDS * fs)))


def _sample_summary(movie, chunk, temporal_bin: int, progress=None):
    """Summary images of up to :data:`DIAMETER_FRAMES` frames, in four blocks spread over the movie."""
    n = movie.n_frames
    block = min(n, DIAMETER_FRAMES) // 4 or n
    starts = sorted({int(s) for s in np.linspace(0, max(0, n - block), 4)})

    def blocks():
        for t0 in starts:
            frames = movie.read(t0, t0 + block)
            if progress is not None:
                progress(len(frames))
            yield t0, frames

    return summarize(blocks(), movie.frame_shape, temporal_bin=temporal_bin)


#: `segment`'s method when none is named and no model is given. The classical segmenter: on a
#: recording from a lab its training never saw, the shipped DISCo recipe scored no better
#: (leave-one-recording-out F1 0.383 against 0.383 on neurofinder_0101_top, 0.448 against
#: 0.523 on neurofinder_top; benchmarks/generalization.py), though it wins on held-out parts of
#: the two recordings it was trained on and on simulations. A model that is not better than
#: no model is not the default.
DEFAULT_METHOD = "classical"


def default_method() -> str:
    """The method `segment` uses when none is named (see :data:`DEFAULT_METHOD`)."""
    return DEFAULT_METHOD


@dataclass
class Segmentation:
    """What `segment_movie` found: everything a result folder holds."""

    rois: RoiSet
    traces: np.ndarray           #: (n_rois, T) float32 weighted mean fluorescence of each ROI
    summary: Summary
    method: str
    parameters: dict
    seconds: dict = field(default_factory=dict)   #: wall seconds per stage
    neuropil: np.ndarray | None = None  #: (n_rois, T) mean of each ROI's surround ring (traces.neuropil_rois)
    dff: np.ndarray | None = None       #: (n_rois, T) ΔF/F of the neuropil-corrected traces (traces.activity)
    events: np.ndarray | None = None    #: (n_rois, T) bool: the peak of each transient
    fs: float | None = None             #: frame rate given (None: time scales taken as at 10 Hz)
    diameter: float | None = None       #: the soma diameter (px) the run used
    diameter_estimated: bool = False    #: estimated from the field (``--diameter auto``), not given

    @property
    def peak_memory_mb(self) -> float:
        # ru_maxrss is in KiB on Linux: the high-water mark of this whole process
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


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
                  dataset: str | None = None, motion: str | None = None, fs: float | None = None,
                  diameter: float | str | None = "auto") -> Segmentation:
    """Find cells in a movie and extract their traces, ΔF/F and events.

    Parameters
    ----------
    movie : Movie
        From :func:`neuronseg.open_movie`.
    method : {"disco", "onephoton", "classical"}, optional
        Default: DISCo when ``model`` is given, else :data:`DEFAULT_METHOD` (classical; it
        says why), which falls back to classical with a warning on a movie too short for it.
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
        Frame rate (Hz): the time scales of ΔF/F and events (default: as if 10 Hz), and the
        temporal binning and pooling, which are kept in seconds.
    diameter : float or "auto"
        The typical soma's diameter in px, as annotators draw it, or "auto" (None too):
        estimated from the field's summary images (:mod:`neuronseg.movie.diameter`). The
        classical segmenter sizes its filters by it; DISCo and the one-photon networks see
        the field resampled so its somata have the size they were trained at.

    Returns
    -------
    Segmentation
    """
    chosen = method is not None or model is not None
    name = method or ("disco" if model is not None else default_method())
    if name not in METHODS:
        raise NeuronsegError(f"unknown method '{name}' (choose from {', '.join(METHODS)})")
    if fs is not None and not fs > 0:
        raise NeuronsegError(f"the frame rate must be above 0 Hz, not {fs}")
    params = params or ClassicalParams()
    auto = diameter is None or diameter == "auto"
    if not auto and not float(diameter) > 0:
        raise NeuronsegError(f"--diameter takes a number of pixels above 0 or 'auto', not {diameter!r}")
    scale = FieldScale(None if auto else float(diameter), auto, fs)
    found_by = METHODS[name](model, device, params)
    if tile_size is not None and not found_by.tileable:
        raise NeuronsegError(f"the {found_by.KIND} method runs on whole frames; it cannot be combined with --tile-size")
    seconds: dict[str, float] = {}
    chunk = chunk_frames_for(memory_limit_mb, movie.frame_shape, movie.dtype)
    if motion is None:
        motion = found_by.default_motion
        if motion != "none":
            log.info(f"registering ({motion}) as the {found_by.KIND} model expects; pass --motion none "
                     "for a movie that is already registered (a ΔF/F movie, say)")
    if motion != "none" and tile_size is not None:
        raise NeuronsegError("--motion works on whole frames; it cannot be combined with --tile-size yet")
    if not chosen and movie.n_frames < found_by.min_frames:
        log.warning(f"{movie.n_frames} frames are too few for {found_by.KIND} (it needs {found_by.min_frames}): "
                    "using the classical segmenter")
        found_by = ClassicalMethod(params)
    # before the first pass: a field too large for this machine is refused (or tiled) now
    memory = plan_memory(found_by.name, movie.frame_shape, movie.n_frames, chunk, tile_size,
                         found_by.tileable and motion == "none", movie.path)
    tile_size = memory["tile_size"]
    motion_summary = None
    if motion != "none":
        from neuronseg.movie.motion import MotionCorrectedMovie, estimate_motion

        with timed(seconds, "motion"), progress_bar(movie.n_frames, f"motion ({motion})") as tick:
            estimate = estimate_motion(movie, found_by.motion_params(motion), chunk, progress=tick)
        movie = MotionCorrectedMovie(movie, estimate)
        motion_summary = estimate.summary()
    if auto and found_by.trained_diameter is not None and not found_by.estimates_diameter:
        scale = found_by.estimated_scale(None, fs)
    elif auto and found_by.trained_diameter is not None:   # its features need the scale before the pass
        with timed(seconds, "diameter"), progress_bar(min(movie.n_frames, DIAMETER_FRAMES), "cell size") as tick:
            scale = found_by.estimated_scale(_sample_summary(movie, chunk, summary_bin(fs), tick), fs)
    if tile_size is not None and found_by.resampling(scale) != 1.0:
        raise NeuronsegError(f"--tile-size cannot yet be combined with resampling the field for {found_by.KIND} "
                             f"({scale.diameter:.1f}-px somata, the model's are {found_by.trained_diameter:g} px); "
                             "leave out --tile-size")
    factory = found_by.feature_factory(movie.n_frames, scale)  # checks the movie is long enough
    features = None
    if tile_size is not None:
        from neuronseg.pipelines.tiles import tile_grid, tiled_summarize

        n_tiles = len(tile_grid(movie.frame_shape, tile_size))
        with timed(seconds, "summary"), progress_bar(n_tiles, "summary tiles", unit="tile") as tick:
            result = tiled_summarize(movie, tile_size, summary_bin(fs), chunk, client, dataset, progress=tick,
                                     features=factory)
        summary, features = result if factory is not None else (result, None)
    else:
        consumers = [factory(movie.frame_shape)] if factory is not None else []
        with timed(seconds, "summary"), progress_bar(movie.n_frames, "summary images") as tick:
            summary = summarize(movie.chunks(chunk), movie.frame_shape, temporal_bin=summary_bin(fs), progress=tick,
                                consumers=consumers)
        if consumers:
            features = consumers[0].finish()
    if scale.diameter is None:
        with timed(seconds, "diameter"):
            scale = found_by.estimated_scale(summary, fs)
    rois, parameters = found_by.find_cells(movie, summary, features, chunk, tile_size, seconds, scale)
    with timed(seconds, "traces"), progress_bar(movie.n_frames, "traces") as tick:
        # the ROIs and their surround rings in one pass over the movie
        rings = neuropil_rois(rois)
        both = RoiSet(rois.shape, list(rois.pixels) + list(rings.pixels),
                      None if rois.weights is None else list(rois.weights) + [np.ones(len(p), np.float32) for p in rings.pixels])
        all_traces = extract_traces(movie.chunks(chunk), both, movie.n_frames, progress=tick)
    n = len(rois)
    traces, neuropil = all_traces[:n], all_traces[n:]
    with timed(seconds, "activity"):
        dff, events = activity(traces, neuropil, fs)
        keep = found_by.keep(rois, events)
        if keep is not None:
            parameters["silent_rois_dropped"] = n - len(keep)
            rois, traces, neuropil = rois.subset(keep), traces[keep], neuropil[keep]
            if len(keep) < n:   # ΔF/F's floor depends on all the traces: computed again on those kept
                dff, events = activity(traces, neuropil, fs)
    parameters = {**parameters, "diameter": {"px": round(scale.diameter, 2), "estimated": scale.estimated},
                  "memory": memory}
    if motion_summary is not None:
        parameters = {**parameters, "motion": motion_summary}
    return Segmentation(rois, traces, summary, found_by.name, parameters, seconds, neuropil, dff, events, fs,
                        scale.diameter, scale.estimated)
