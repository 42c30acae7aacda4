"""What a movie segmentation method is to :func:`~neuronseg.pipelines.segment.segment_movie`.

Every method (classical, DISCo, one-photon) is one object with this interface, so
``segment_movie`` composes the stages the same way for all of them and adding a method is
one module plus a line in :data:`neuronseg.pipelines.segment.METHODS`:

``name``, ``KIND``
    The ``--method`` name and what the method is called in messages.
``tileable``
    Whether its summary pass (and features) may be computed in spatial tiles.
``min_frames``
    The shortest movie it segments.
``default_motion``, ``motion_params(motion)``
    The registration it expects when the user names none, and the settings of a named one.
``feature_factory(n_frames)``
    ``make(frame_shape) -> consumer`` of the summary pass's chunks (features the network
    needs, read in the same pass), or None.
``find_cells(movie, summary, features, chunk, tile_size, seconds)``
    ``(RoiSet, parameters)``: the cells, and the record of how they were found; stage
    times go into ``seconds`` through :func:`timed`.
``keep(rois, events)``
    Indices of the cells to keep once their activity is known (None: all).
"""

from __future__ import annotations

import time
from contextlib import contextmanager


@contextmanager
def timed(seconds: dict, name: str):
    """Record the wall time of a ``with`` block as ``seconds[name]``."""
    t = time.perf_counter()
    yield
    seconds[name] = round(time.perf_counter() - t, 3)


class MovieMethod:
    """The interface above, with the defaults of a method that reads no features of its own
    in the summary pass, expects no registration and keeps every cell it finds."""

    name = ""
    KIND = ""

    tileable = True
    min_frames = 2
    default_motion = "none"

    def motion_params(self, motion: str):
        from neuronseg.movie.motion import MotionParams

        return MotionParams(method=motion)

    def feature_factory(self, n_frames: int):
        return None

    def keep(self, rois, events):
        return None
