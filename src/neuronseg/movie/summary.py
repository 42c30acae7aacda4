"""Summary images of a movie from one streaming pass over time chunks.

Mean, max and standard-deviation images, and correlations of every pixel with its
neighbours at given offsets — the local-correlation image of Suite2p/CaImAn, and the
segment-wise neighbour correlations that DISCo feeds its network. Memory is a few images
per offset, whatever the movie length.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neuronseg.errors import NeuronsegError
from neuronseg.movie.checks import CONSTANT_MOVIE, require_finite
from neuronseg.offsets import offset_slices

#: The four offsets whose mirror images complete the 8-neighbourhood.
HALF_NEIGHBOURHOOD = ((0, 1), (1, 0), (1, 1), (1, -1))


class RunningMoments:
    """Streaming per-pixel mean and variance, centred on the first chunk's mean.

    Centring keeps float64 sums of squares from losing the small variance of bright,
    quiet pixels to cancellation.
    """

    def __init__(self, frame_shape):
        self.n = 0
        self.ref = None
        self.s1 = np.zeros(frame_shape)
        self.s2 = np.zeros(frame_shape)

    def update(self, chunk: np.ndarray) -> np.ndarray:
        """Add float32 frames ``(t, H, W)``; returns them centred (for further products)."""
        if self.ref is None:
            self.ref = chunk.mean(axis=0, dtype=np.float64).astype(np.float32)
        x = chunk - self.ref
        self.n += len(x)
        self.s1 += x.sum(axis=0, dtype=np.float64)
        # float32 products summed over one chunk (≤ a few hundred frames, centred data: no
        # precision lost), accumulated across chunks in float64; dtype=float64 here would
        # make einsum cast the whole chunk to float64 first (5× the chunk in temporaries)
        self.s2 += np.einsum("tij,tij->ij", x, x)
        return x

    def centred_mean(self) -> np.ndarray:
        return self.s1 / max(self.n, 1)

    def mean(self) -> np.ndarray:
        return self.centred_mean() + self.ref

    def variance(self) -> np.ndarray:
        m = self.centred_mean()
        return np.maximum(self.s2 / max(self.n, 1) - m * m, 0)


class NeighbourCorrelation:
    """Streaming Pearson correlation of each pixel with its neighbours at ``offsets``.

    Feed chunks ``(t, H, W)`` with :meth:`update`; :meth:`correlations` returns
    ``(n_offsets, H, W)``, where ``[k, r, c]`` correlates pixel ``(r, c)`` with
    ``(r + dy_k, c + dx_k)`` over all frames seen (0 where the neighbour is outside).

    """

    def __init__(self, frame_shape, offsets=HALF_NEIGHBOURHOOD):
        self.shape = tuple(frame_shape)
        self.offsets = [tuple(int(v) for v in o) for o in offsets]
        self.moments = RunningMoments(self.shape)
        self.sxy = np.zeros((len(self.offsets),) + self.shape)
        self._views = [offset_slices(self.shape, o) for o in self.offsets]

    def update(self, chunk: np.ndarray) -> None:
        x = self.moments.update(np.asarray(chunk, dtype=np.float32))
        for k, (a, b) in enumerate(self._views):
            self.sxy[k][a] += np.einsum("tij,tij->ij", x[(slice(None),) + a], x[(slice(None),) + b])

    def correlations(self) -> np.ndarray:
        n = max(self.moments.n, 1)
        m = self.moments.centred_mean()
        sd = np.sqrt(self.moments.variance())
        out = np.zeros((len(self.offsets),) + self.shape, np.float32)
        for k, (a, b) in enumerate(self._views):
            cov = self.sxy[k][a] / n - m[a] * m[b]
            denom = sd[a] * sd[b]
            out[k][a] = np.divide(cov, denom, out=np.zeros_like(cov), where=denom > 0)
        return out


def local_correlation_image(corr: np.ndarray, offsets=HALF_NEIGHBOURHOOD) -> np.ndarray:
    """Mean correlation of each pixel with its 8 neighbours, from half-neighbourhood correlations.

    ``corr[k]`` holds ``r(p, p + o_k)``; the mirror ``r(p, p - o_k)`` is the same map shifted.
    """
    shape = corr.shape[1:]
    total = np.zeros(shape, np.float64)
    count = np.zeros(shape, np.float64)
    ones = np.ones(shape)
    for k, o in enumerate(offsets):
        a, b = offset_slices(shape, o)
        total[a] += corr[k][a]
        count[a] += ones[a]
        total[b] += corr[k][a]  # r(q, q - o) for q = p + o
        count[b] += ones[b]
    return (total / np.maximum(count, 1)).astype(np.float32)


@dataclass
class Summary:
    """Per-pixel summary images ``(H, W)`` of a movie (float32)."""

    mean: np.ndarray
    max: np.ndarray
    std: np.ndarray
    correlation: np.ndarray
    n_frames: int


class StreamingSummary:
    """Mean, max, std and local-correlation images of frames fed chunk by chunk, every image
    over the same frames (:func:`summarize` reads a raw movie and correlates binned frames;
    this is for frames already filtered and binned, as the one-photon stream has them)."""

    def __init__(self, frame_shape):
        self.corr = NeighbourCorrelation(frame_shape)
        self.max = np.full(tuple(frame_shape), -np.inf, np.float32)

    def update(self, chunk: np.ndarray) -> None:
        chunk = np.asarray(chunk, dtype=np.float32)
        self.corr.update(chunk)
        np.maximum(self.max, chunk.max(axis=0), out=self.max)

    def result(self) -> Summary:
        m = self.corr.moments
        return Summary(mean=m.mean().astype(np.float32), max=self.max.copy(),
                       std=np.sqrt(m.variance()).astype(np.float32),
                       correlation=local_correlation_image(self.corr.correlations()), n_frames=m.n)


def summarize(chunks, frame_shape, temporal_bin: int = 1, progress=None, consumers=(),
              require_variation: bool = True) -> Summary:
    """Mean, max, std and local-correlation images in one pass over ``(t0, chunk)`` pairs.

    Parameters
    ----------
    chunks : iterable of (int, ndarray)
        Time chunks ``(t, H, W)`` in order, e.g. ``movie.chunks()``.
    frame_shape : (int, int)
    temporal_bin : int
        Average this many consecutive frames before correlating (within each chunk):
        raises the SNR of calcium transients, which last many frames, over shot noise.
    progress : callable, optional
        Called with the number of frames done after each chunk.
    consumers : sequence of callables
        Each is called with every checked float32 chunk ``(t, H, W)``, in time order, so
        other streaming features (DISCo's segment correlations) share this one read.

    Raises
    ------
    NeuronsegError
        When the movie holds NaN/inf values or (with ``require_variation``) does not vary
        over time; a tile of a larger field may be constant, so tiling turns that check off.
    """
    corr = NeighbourCorrelation(frame_shape)
    moments = RunningMoments(frame_shape)
    vmax = np.full(frame_shape, -np.inf, np.float32)
    carry = np.zeros((0,) + tuple(frame_shape), np.float32)
    for t0, chunk in chunks:
        chunk = np.asarray(chunk, dtype=np.float32)
        require_finite(chunk, t0)
        moments.update(chunk)
        for consume in consumers:
            consume(chunk)
        n_raw = len(chunk)
        np.maximum(vmax, chunk.max(axis=0), out=vmax)
        if temporal_bin > 1:
            # bins may straddle chunks: carry the frames that do not fill a bin into the next
            # chunk, so the result does not depend on the chunk length
            if len(carry):
                chunk = np.concatenate([carry, chunk])
            t = len(chunk) // temporal_bin * temporal_bin
            carry = chunk[t:]
            chunk = chunk[:t].reshape(-1, temporal_bin, *frame_shape).mean(axis=1)
        if len(chunk):
            corr.update(chunk)
        if progress is not None:
            progress(n_raw)
    if moments.n == 0:
        raise NeuronsegError("the movie has no frames")
    var = moments.variance()
    scale = max(1.0, float(np.abs(moments.ref).max()))
    if require_variation and not np.any(var > 1e-10 * scale**2):
        raise NeuronsegError(CONSTANT_MOVIE)
    return Summary(
        mean=moments.mean().astype(np.float32),
        max=vmax,
        std=np.sqrt(var).astype(np.float32),
        correlation=local_correlation_image(corr.correlations()),
        n_frames=moments.n,
    )
