"""Checks on a movie's content that every pass over it makes before using it, with the one
message each failure gets wherever it is found first (registration reads a movie before the
summary pass does)."""

from __future__ import annotations

import numpy as np

from neuronseg.errors import NeuronsegError

CONSTANT_MOVIE = "the movie does not vary over time (constant frames): nothing to segment"


def require_finite(frames: np.ndarray, t0: int) -> None:
    """Refuse frames ``t0 …`` that hold NaN or infinite values."""
    if not np.isfinite(frames).all():
        bad = int((~np.isfinite(frames)).sum())
        where = f"frame {t0}" if len(frames) == 1 else f"frames {t0}–{t0 + len(frames) - 1}"
        raise NeuronsegError(f"the movie holds {bad} NaN or infinite values in {where}; fill or crop them before segmenting")
