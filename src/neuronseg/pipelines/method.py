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
``trained_diameter``
    The soma diameter (px) its model was trained at, or None (it works at any scale); a
    method with one needs the field's diameter before the summary pass, and resamples the
    field so its somata have that size (``resampling(scale)``: the factor).
``estimates_diameter``, ``estimated_scale(summary, fs)``
    Whether ``--diameter auto`` estimates the size from the field (otherwise the method's
    own size is assumed), and the estimate.
``feature_factory(n_frames, scale)``
    ``make(frame_shape) -> consumer`` of the summary pass's chunks (features the network
    needs, read in the same pass), or None.
``find_cells(movie, summary, features, chunk, tile_size, seconds, scale)``
    ``(RoiSet, parameters)``: the cells, and the record of how they were found; stage
    times go into ``seconds`` through :func:`timed`.
``keep(rois, events)``
    Indices of the cells to keep once their activity is known (None: all).
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass


@contextmanager
def timed(seconds: dict, name: str):
    """Record the wall time of a ``with`` block as ``seconds[name]``."""
    t = time.perf_counter()
    yield
    seconds[name] = round(time.perf_counter() - t, 3)


@dataclass(frozen=True)
class FieldScale:
    """How large a recording's somata are and how fast it was imaged."""

    diameter: float | None      #: px: the typical soma's diameter, as annotators draw it
    estimated: bool = False     #: from the field's images (``--diameter auto``), not given
    fs: float | None = None     #: frame rate, Hz (None: not given)


class MovieMethod:
    """The interface above, with the defaults of a method that reads no features of its own
    in the summary pass, expects no registration and keeps every cell it finds."""

    name = ""
    KIND = ""

    tileable = True
    min_frames = 2
    default_motion = "none"
    trained_diameter = None
    estimates_diameter = True

    def motion_params(self, motion: str):
        from neuronseg.movie.motion import MotionParams

        return MotionParams(method=motion)

    def resampling(self, scale: FieldScale) -> float:
        """The factor the field is resampled by (1: not at all)."""
        from neuronseg.movie.resample import NEGLIGIBLE

        if self.trained_diameter is None or not scale.diameter:
            return 1.0
        factor = self.trained_diameter / scale.diameter
        return 1.0 if 1 / NEGLIGIBLE < factor < NEGLIGIBLE else factor

    def estimated_scale(self, summary, fs) -> FieldScale:
        """The field's scale estimated from its summary images; where they show nothing
        soma-like (noise, a blank field), the size the method works at, said in a warning."""
        import logging

        from neuronseg.movie.diameter import estimate_diameter
        from neuronseg.movie.soma import TYPICAL_DIAMETER

        diameter = estimate_diameter(summary) if self.estimates_diameter else None
        if diameter is not None:
            return FieldScale(diameter, True, fs)
        diameter = self.trained_diameter or TYPICAL_DIAMETER
        if not self.estimates_diameter:
            logging.getLogger("neuronseg").info(f"assuming {diameter:g}-px somata, the {self.KIND} model's own; "
                                                "give --diameter PX for other sizes")
            return FieldScale(diameter, False, fs)
        logging.getLogger("neuronseg").warning(
            f"nothing soma-like in the summary images to estimate the cell size from: assuming {diameter:g}-px "
            "somata (give --diameter PX)")
        return FieldScale(diameter, False, fs)

    def feature_factory(self, n_frames: int, scale: FieldScale):
        return None

    def keep(self, rois, events):
        return None
