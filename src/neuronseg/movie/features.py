"""DISCo's temporal features: segment-wise correlations of each pixel with its neighbours.

The movie is max-pooled over time (which keeps calcium transients and drops shot noise),
cut into ``n_segments`` consecutive segments, and within each segment every pixel is
correlated with its neighbours at ``offsets``. Computed in one streaming pass: only the
segment in progress holds running sums, finished segments keep their ``(C, H, W)``
correlations, so memory does not grow with the number of frames.
"""

from __future__ import annotations

import numpy as np

from neuronseg.movie.summary import NeighbourCorrelation


def disco_offsets(n: int = 15, radius: float = 3.0) -> list[tuple[int, int]]:
    """The ``n`` neighbour offsets (dy, dx) nearest the centre within ``radius``.

    Offsets are taken in order of distance, then angle, from the full neighbourhood: for
    the default 15 within 3 px that is all 12 offsets up to distance 2 plus the three
    nearest at √5. The order is fixed, so channel ``k`` always means the same offset.
    """
    r = int(np.floor(radius))
    cand = [(dy, dx) for dy in range(-r, r + 1) for dx in range(-r, r + 1)
            if (dy, dx) != (0, 0) and dy * dy + dx * dx <= radius * radius]
    cand.sort(key=lambda o: (o[0] ** 2 + o[1] ** 2, np.arctan2(o[0], o[1])))
    if n > len(cand):
        raise ValueError(f"only {len(cand)} offsets lie within {radius} px")
    return cand[:n]


def segment_bounds(n_pooled: int, n_segments: int, cuts=None) -> np.ndarray:
    """Start indices of the segments plus the end: equal segments, or given interior ``cuts``."""
    if n_pooled < n_segments:
        raise ValueError(
            f"{n_pooled} pooled frames cannot make {n_segments} segments; use a smaller pooling kernel"
        )
    if cuts is None:
        return np.linspace(0, n_pooled, n_segments + 1).round().astype(int)
    return np.concatenate([[0], np.sort(np.asarray(cuts, int)), [n_pooled]])


class SegmentCorrelations:
    """Streaming consumer: feed raw float32 chunks in time order, then read :attr:`features`.

    Parameters
    ----------
    frame_shape : (int, int)
    n_frames : int
        Total frames that will be fed (to place segment boundaries in advance).
    pool : int
        Temporal max-pool kernel (= stride); trailing frames that do not fill a kernel are dropped.
    n_segments : int
    offsets : list of (int, int)
    cuts : array of int, optional
        Interior segment boundaries in pooled frames (random during training).

    After the last chunk, ``features`` is ``(n_segments, C, H, W)`` float32.
    """

    def __init__(self, frame_shape, n_frames, pool=5, n_segments=10, offsets=None, cuts=None):
        self.shape = tuple(frame_shape)
        self.pool = int(pool)
        self.offsets = offsets or disco_offsets()
        self.bounds = segment_bounds(n_frames // self.pool, n_segments, cuts)
        self.features = np.zeros((n_segments, len(self.offsets)) + self.shape, np.float32)
        self._carry = np.zeros((0,) + self.shape, np.float32)
        self._pooled = 0
        self._segment = 0
        self._acc = NeighbourCorrelation(self.shape, self.offsets)

    def __call__(self, chunk: np.ndarray) -> None:
        frames = np.concatenate([self._carry, np.asarray(chunk, np.float32)])
        usable = len(frames) // self.pool * self.pool
        self._carry = frames[usable:]
        if not usable:
            return
        pooled = frames[:usable].reshape(-1, self.pool, *self.shape).max(axis=1)
        start = 0
        while start < len(pooled) and self._segment < len(self.bounds) - 1:
            end_of_segment = self.bounds[self._segment + 1] - self._pooled
            take = pooled[start : start + max(0, end_of_segment)]
            if len(take):
                self._acc.update(take)
            start += len(take)
            self._pooled += len(take)
            if self._pooled >= self.bounds[self._segment + 1]:
                self.features[self._segment] = self._acc.correlations()
                self._segment += 1
                self._acc = NeighbourCorrelation(self.shape, self.offsets)

    def finish(self) -> np.ndarray:
        """The features; segments never reached (a short movie) stay zero."""
        return self.features


def disco_features(movie: np.ndarray, pool=5, n_segments=10, offsets=None, cuts=None, order=None) -> np.ndarray:
    """Features ``(n_segments, C, H, W)`` of an in-memory movie ``(T, H, W)`` (for training crops).

    ``order`` permutes the segments afterwards (DISCo shuffles them in training).
    """
    acc = SegmentCorrelations(movie.shape[1:], len(movie), pool, n_segments, offsets, cuts)
    acc(movie)
    feats = acc.finish()
    return feats[order] if order is not None else feats
