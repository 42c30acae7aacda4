"""How much memory a run will need, known before the first pass over the movie.

A field too large for the machine must be refused in one line before any work, not found
out by running out of memory (or by the kernel's OOM killer). What a run holds grows with
the field, not with the movie's length: per-pixel images and accumulators, DISCo's
features, the networks' activations; plus the time chunks being read. The bytes per pixel
below were measured as the peak RSS of `segment_movie` + `write_results` on fields of
256² to 2048² built from `neurofinder_top` (60 frames), slope between the two largest,
plus 15 %:

    classical      260 B/px (tiled summary pass: 171)
    DISCo          870 B/px + 0.7 GB for its network's 512-px tiles (tiled: 1324, worse:
                   every tile's features are held until stitched, so tiling never helps it)
    one-photon     ~2900 B/px (16 frames at a time through the per-frame U-Net)

plus the interpreter and libraries (~260 MB) and ~2.2 float32 copies of a time chunk.
"""

from __future__ import annotations

import logging
import os

from neuronseg.errors import NeuronsegError

log = logging.getLogger(__name__)

MARGIN = 1.15
BASE_MB = 260                 #: interpreter, numpy, scipy, torch
CHUNK_COPIES = 2.2            #: float32 copies of a time chunk alive at once (measured)
BYTES_PER_PIXEL = {           #: (untiled, tiled summary pass); None: the method cannot tile
    "classical": (260, 171),
    "disco": (870, 1324),
    "onephoton": (2900, None),
}
NETWORK_MB = {"disco": 700}   #: the network's tiles, at fields of 512² and more
AUTO_TILE = 1024              #: px: the tile chosen when only tiling makes a field fit


def available_mb() -> float | None:
    """Memory this machine can give a new process now (Linux MemAvailable), or None."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES") / 2**20
    except (ValueError, OSError, AttributeError):
        return None


def estimate_mb(method: str, frame_shape, chunk_frames: int, tiled: bool = False) -> float:
    """Peak MB of segmenting a field of ``frame_shape`` with ``method`` (see the module)."""
    pixels = frame_shape[0] * frame_shape[1]
    untiled, tiled_cost = BYTES_PER_PIXEL.get(method, BYTES_PER_PIXEL["classical"])
    per_pixel = tiled_cost if tiled and tiled_cost is not None else untiled
    network = NETWORK_MB.get(method, 0) * min(1.0, pixels / 512**2)
    chunk = CHUNK_COPIES * chunk_frames * pixels * 4 / 2**20
    return MARGIN * (BASE_MB + chunk + per_pixel * pixels / 2**20 + network)


def plan_memory(method: str, frame_shape, n_frames: int, chunk_frames: int | None, tile_size: int | None,
                tileable: bool, path="the movie") -> dict:
    """Check the run fits this machine before any work: the estimate, the memory available,
    and the tile size to use (``tile_size``, or one chosen when only tiling makes it fit).
    Refuses, naming the memory needed and what would help, when nothing does."""
    from neuronseg.io.movies import default_chunk_frames

    chunk = min(n_frames, chunk_frames or default_chunk_frames(frame_shape, "float32"))
    need = estimate_mb(method, frame_shape, chunk, tiled=tile_size is not None)
    have = available_mb()
    plan = {"estimated_peak_mb": round(need), "available_mb": None if have is None else round(have),
            "tile_size": tile_size}
    if have is None or need <= have:
        return plan
    can_tile = tileable and BYTES_PER_PIXEL.get(method, (0, None))[1] is not None
    if tile_size is None and can_tile:
        tiled = estimate_mb(method, frame_shape, chunk, tiled=True)
        if tiled <= have and tiled < need:
            side = min(AUTO_TILE, max(frame_shape))
            log.info(f"the whole {frame_shape[0]}×{frame_shape[1]} field needs about {need / 1024:.1f} GB, "
                     f"{have / 1024:.1f} GB are free: computing the summary pass in {side}-px tiles")
            return {**plan, "estimated_peak_mb": round(tiled), "tile_size": side}
    helps = []
    if method != "classical":
        helps.append(f"--method classical needs about "
                     f"{estimate_mb('classical', frame_shape, chunk) / 1024:.1f} GB")
    chunk_mb = MARGIN * CHUNK_COPIES * chunk * frame_shape[0] * frame_shape[1] * 4 / 2**20
    if chunk > 1 and chunk_mb > 0.25 * (need - have):
        helps.append("a smaller --memory-limit reads shorter time chunks")
    helps.append("crop the field into parts or use a machine with more memory")
    raise NeuronsegError(f"{path}: segmenting a {frame_shape[0]}×{frame_shape[1]} field with the {method} method needs "
                         f"about {need / 1024:.1f} GB and this machine has {have / 1024:.1f} GB available; "
                         + "; ".join(helps))
