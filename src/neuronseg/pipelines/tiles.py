"""Spatial tiling of the summary pass: each tile streams over time on its own, the tiles'
summary images are stitched into the full field, and detection runs once on the stitched
field, so no cell is cut by a seam or found twice.

Every summary image is local in space (per-pixel moments and correlations with the 4
half-neighbours), so a halo of ``HALO`` pixels makes each tile's interior exactly what the
untiled pass computes. Tiles are independent, which makes them Dask tasks on a cluster:
each task opens the movie itself and returns only its tile's images.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neuronseg.errors import NeuronsegError
from neuronseg.movie.checks import CONSTANT_MOVIE
from neuronseg.movie.summary import Summary, summarize

HALO = 4  #: pixels beyond a tile's core that its correlations need (summary offsets reach 1 px, DISCo's 3)


@dataclass(frozen=True)
class Tile:
    core: tuple     #: (r0, r1, c0, c1) this tile contributes to the field
    outer: tuple    #: core plus the halo, clipped to the field: what it reads


def tile_grid(frame_shape, tile_size: int, halo: int = HALO) -> list[Tile]:
    """Tiles of at most ``tile_size`` × ``tile_size`` core pixels covering the field."""
    if tile_size < 8:
        raise NeuronsegError(f"--tile-size must be at least 8 pixels, got {tile_size}")
    h, w = frame_shape
    tiles = []
    for r0 in range(0, h, tile_size):
        for c0 in range(0, w, tile_size):
            r1, c1 = min(h, r0 + tile_size), min(w, c0 + tile_size)
            outer = (max(0, r0 - halo), min(h, r1 + halo), max(0, c0 - halo), min(w, c1 + halo))
            tiles.append(Tile((r0, r1, c0, c1), outer))
    return tiles


def tile_summary(movie, tile: Tile, temporal_bin: int = 3, chunk: int | None = None, features=None) -> dict:
    """Summary images of one tile's core (a dict of arrays, small enough to send over a network).

    ``features(shape)`` makes a streaming consumer (DISCo's segment correlations) for the
    tile's outer shape; its ``finish()`` output ``(..., h, w)`` is cut to the core as well.
    """
    R0, R1, C0, C1 = tile.outer
    consumer = features((R1 - R0, C1 - C0)) if features is not None else None
    s = summarize(movie.chunks(chunk, window=tile.outer), (R1 - R0, C1 - C0), temporal_bin=temporal_bin,
                  consumers=[consumer] if consumer is not None else (), require_variation=False)
    r0, r1, c0, c1 = tile.core
    inner = (slice(r0 - R0, r1 - R0), slice(c0 - C0, c1 - C0))
    part = {"tile": tile, "n_frames": s.n_frames,
            **{name: getattr(s, name)[inner] for name in ("mean", "max", "std", "correlation")}}
    if consumer is not None:
        part["features"] = consumer.finish()[(Ellipsis,) + inner]
    return part


def _tile_task(path, dataset, tile: Tile, temporal_bin: int, chunk, features) -> dict:
    from neuronseg.io.movies import open_movie

    with open_movie(path, dataset) as movie:
        return tile_summary(movie, tile, temporal_bin, chunk, features)


def tiled_summarize(movie, tile_size: int, temporal_bin: int = 3, chunk: int | None = None, client=None,
                    dataset: str | None = None, progress=None, features=None):
    """The movie's :class:`Summary`, computed tile by tile and stitched; with ``features`` (a
    consumer factory, see :func:`tile_summary`) also the stitched features: ``(Summary, array)``.

    With a ``dask.distributed.Client`` each tile is a task that opens ``movie.path`` itself
    (give ``dataset`` for HDF5/NWB/Zarr groups), so the workers need to see the file.
    """
    tiles = tile_grid(movie.frame_shape, tile_size)
    if client is None:
        parts = []
        for t in tiles:
            parts.append(tile_summary(movie, t, temporal_bin, chunk, features))
            if progress is not None:
                progress(1)
    else:
        from dask.distributed import as_completed

        futures = [client.submit(_tile_task, str(movie.path), dataset, t, temporal_bin, chunk, features, pure=False)
                   for t in tiles]
        parts = []
        for future in as_completed(futures):
            parts.append(future.result())
            if progress is not None:
                progress(1)
    field = {name: np.zeros(movie.frame_shape, np.float32) for name in ("mean", "max", "std", "correlation")}
    for part in parts:
        r0, r1, c0, c1 = part["tile"].core
        for name in field:
            field[name][r0:r1, c0:c1] = part[name]
    scale = max(1.0, float(np.abs(field["mean"]).max()))
    if not np.any(field["std"] > 1e-5 * scale):
        raise NeuronsegError(CONSTANT_MOVIE)
    summary = Summary(n_frames=parts[0]["n_frames"], **field)
    if features is None:
        return summary
    lead = parts[0]["features"].shape[:-2]
    stitched = np.zeros(lead + tuple(movie.frame_shape), np.float32)
    for part in parts:
        r0, r1, c0, c1 = part["tile"].core
        stitched[..., r0:r1, c0:c1] = part["features"]
    return summary, stitched


def predict_tiled(predict, *inputs: np.ndarray, tile_size: int, margin: int = 32) -> np.ndarray:
    """``predict(*inputs)`` over overlapping tiles, keeping each tile's core; every input's
    last two axes are the field ``(H, W)``, and so are the output's.

    A U-Net sees further than any practical margin, so probabilities near a seam can differ
    slightly from one pass over the whole field; ``margin`` pixels of context on every side
    keep that difference small, and the instances are formed once on the stitched field.
    """
    h, w = inputs[0].shape[-2:]
    out = None
    for t in tile_grid((h, w), tile_size, halo=margin):
        R0, R1, C0, C1 = t.outer
        probs = predict(*(a[..., R0:R1, C0:C1] for a in inputs))
        if out is None:
            out = np.zeros((probs.shape[0], h, w), np.float32)
        r0, r1, c0, c1 = t.core
        out[:, r0:r1, c0:c1] = probs[:, r0 - R0 : r1 - R0, c0 - C0 : c1 - C0]
    return out
