"""Pixel offsets on a grid: the one helper that pairs each pixel with its neighbour at ``(dy, dx)``."""

from __future__ import annotations


def offset_slices(shape, offset):
    """``(a, b)`` slices so that ``x[a]`` and ``x[b]`` are the pixels ``p`` and ``p + offset``.

    Pixels whose neighbour would fall outside ``shape`` are left out of both.
    """
    dy, dx = offset
    h, w = shape
    a = (slice(max(0, -dy), h - max(0, dy)), slice(max(0, -dx), w - max(0, dx)))
    b = (slice(max(0, dy), h + min(0, dy)), slice(max(0, dx), w + min(0, dx)))
    return a, b
