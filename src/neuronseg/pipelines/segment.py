"""Movies → cells: the stages of `neuronseg segment`, timed, composed from plain functions."""

from __future__ import annotations

import resource
import time
from dataclasses import dataclass, field

import numpy as np

from neuronseg.errors import NeuronsegError
from neuronseg.io.movies import Movie
from neuronseg.io.rois import RoiSet
from neuronseg.movie.summary import Summary, summarize
from neuronseg.pipelines.classical import ClassicalParams, segment_classical
from neuronseg.progress import progress_bar
from neuronseg.traces import extract_traces

METHODS = ("classical",)


@dataclass
class Segmentation:
    """What `segment_movie` found: ROIs, their traces, the summary images and the run's record."""

    rois: RoiSet
    traces: np.ndarray
    summary: Summary
    method: str
    parameters: dict
    seconds: dict = field(default_factory=dict)

    @property
    def peak_memory_mb(self) -> float:
        # ru_maxrss is in KiB on Linux: the high-water mark of this whole process
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class _Stages:
    """Times named stages into a dict."""

    def __init__(self):
        self.seconds: dict[str, float] = {}

    def __call__(self, name):
        stages = self

        class _Timer:
            def __enter__(self):
                self.t = time.perf_counter()

            def __exit__(self, *exc):
                stages.seconds[name] = round(time.perf_counter() - self.t, 3)

        return _Timer()


def segment_movie(movie: Movie, method: str = "classical", params=None) -> Segmentation:
    """Find cells in a movie and extract their traces.

    Parameters
    ----------
    movie : Movie
        From :func:`neuronseg.open_movie`.
    method : {"classical"}
    params : dataclass of the method's settings, optional

    Returns
    -------
    Segmentation
    """
    if method not in METHODS:
        raise NeuronsegError(f"unknown method '{method}' (choose from {', '.join(METHODS)})")
    stage = _Stages()
    params = params or ClassicalParams()
    with stage("summary"), progress_bar(movie.n_frames, "summary images") as tick:
        summary = summarize(movie.chunks(), movie.frame_shape, temporal_bin=3, progress=tick)
    with stage("detect"):
        rois = segment_classical(summary, params)
    with stage("traces"), progress_bar(movie.n_frames, "traces") as tick:
        traces = extract_traces(movie.chunks(), rois, movie.n_frames, progress=tick)
    return Segmentation(rois, traces, summary, method, params.as_dict(), stage.seconds)
