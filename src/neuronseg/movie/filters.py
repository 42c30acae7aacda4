"""Per-frame filters of the one-photon method: CLAHE, Gaussian blur, haze removal, temporal
binning, and the normalisation that makes recordings of any brightness look alike to a network.

One-photon frames carry a bright, slowly moving haze (out-of-focus fluorescence) many times
brighter than a cell. Contrast-limited adaptive histogram equalisation (CLAHE,
``skimage.exposure.equalize_adapthist``) evens the contrast across the field; a small
Gaussian blur removes shot noise at below a cell's scale; subtracting a wide blur removes
what is left of the haze. Frames are then expressed in robust noise units around each
pixel's median, so that a transient is "k noise-SDs above this pixel's usual value" whatever
the camera, gain or prior normalisation (the shared `onephoton_dg13` movie is already ΔF/F
scaled to 8 bits; a raw miniscope movie is not).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi


@dataclass(frozen=True)
class FrameFilter:
    clahe_kernel: int = 32          #: CLAHE tile size, px (about three cell diameters)
    clahe_clip: float = 0.01        #: CLAHE clip limit (skimage units, 0–1)
    blur: float = 1.0               #: Gaussian σ, px, against shot noise
    background: float = 8.0         #: σ (px) of the haze blur subtracted (0: none)
    temporal_bin: int = 4           #: frames averaged into one: quarters the network's work; calcium
                                    #: transients last ~1 s, longer than four frames at ≤ 10 Hz
    detrend: float = 5.0            #: σ (binned frames) of the temporal blur subtracted from each pixel
                                    #: (0: none): the haze drifts and breathes slowly, a transient is fast

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def clahe(frame: np.ndarray, kernel: int, clip: float) -> np.ndarray:
    """CLAHE of one frame, float32 in [0, 1].

    The frame is first clipped to its 0.1–99.9 % range: skimage rescales by min and max, so
    one hot pixel would otherwise squash every other grey level into a few bins.
    """
    from skimage.exposure import equalize_adapthist

    f = np.asarray(frame, np.float32)
    lo, hi = np.percentile(f, (0.1, 99.9))
    if hi <= lo:
        return np.zeros(f.shape, np.float32)
    f = (np.clip(f, lo, hi) - lo) / (hi - lo)
    return equalize_adapthist(f, kernel_size=min(kernel, *f.shape), clip_limit=clip).astype(np.float32)


def filter_frames(frames: np.ndarray, params: FrameFilter) -> np.ndarray:
    """CLAHE, blur and haze removal of each frame of ``(n, H, W)``; float32 of the same shape."""
    out = np.empty(frames.shape, np.float32)
    for i, f in enumerate(frames):
        g = clahe(f, params.clahe_kernel, params.clahe_clip)
        if params.blur:
            g = ndi.gaussian_filter(g, params.blur)
        if params.background:
            g = g - ndi.gaussian_filter(g, params.background)
        out[i] = g
    return out


def bin_frames(frames: np.ndarray, k: int) -> np.ndarray:
    """Means of ``k`` consecutive frames; a last, incomplete group is averaged as it is."""
    if k <= 1:
        return frames
    n = frames.shape[0]
    full = n // k * k
    parts = [frames[:full].reshape(n // k, k, *frames.shape[1:]).mean(axis=1)]
    if full < n:
        parts.append(frames[full:].mean(axis=0, keepdims=True))
    return np.concatenate(parts).astype(np.float32)


#: the temporal blur of ``detrend`` reaches this many σ (scipy's radius = int(truncate·σ + 0.5))
DETREND_TRUNCATE = 3.0


def detrend_halo(params: FrameFilter) -> int:
    """Binned frames on each side that the temporal detrending of one frame reads."""
    return int(DETREND_TRUNCATE * params.detrend + 0.5) if params.detrend else 0


@dataclass
class BinCache:
    """Filtered, binned frames (before detrending) of the bins ``first …``, kept to be served
    again: the normaliser's window is filtered once and the stream reuses it, because CLAHE
    is the costly step (the window was 40 % of all CLAHE calls on dg13)."""

    first: int = 0
    frames: np.ndarray | None = None


def _filtered_bins(read, n_frames: int, params: FrameFilter, b0: int, b1: int, cache: BinCache | None) -> np.ndarray:
    """Filtered, binned (not detrended) frames of bins ``b0 … b1 − 1``; the part in ``cache`` is served from it."""
    k = max(1, params.temporal_bin)

    def compute(lo, hi):
        # filter, then bin: CLAHE of binned frames is 4× cheaper, but the model trained that way
        # (with a 25-bin normaliser) called the whole real dg13 field active: held-out recall 0.29
        # against 1.0, while simulated movies did not tell the two apart
        return bin_frames(filter_frames(read(lo * k, min(n_frames, hi * k)), params), k)

    if cache is None or cache.frames is None:
        return compute(b0, b1)
    c0, c1 = max(b0, cache.first), min(b1, cache.first + len(cache.frames))
    if c0 >= c1:
        return compute(b0, b1)
    parts = [compute(b0, c0)] if b0 < c0 else []
    parts.append(cache.frames[c0 - cache.first : c1 - cache.first])
    if c1 < b1:
        parts.append(compute(c1, b1))
    return np.concatenate(parts)


def _detrended(binned: np.ndarray, params: FrameFilter) -> np.ndarray:
    from scipy.ndimage import gaussian_filter1d

    if not params.detrend:
        return binned
    return binned - gaussian_filter1d(binned, params.detrend, axis=0, mode="nearest", truncate=DETREND_TRUNCATE)


def filtered_chunks(read, n_frames: int, params: FrameFilter, chunk: int = 400, start: int = 0, stop=None,
                    reuse: BinCache | None = None):
    """Yield filtered, binned, detrended frames ``(n, H, W)`` over bins ``start … stop − 1``
    of a movie, ``chunk`` raw frames at a time; ``read(t0, t1)`` returns raw frames.

    Every raw frame is filtered once. A rolling buffer keeps the binned frames that the
    temporal detrending of the next chunk reads on its left; a chunk is given out once the
    frames it reads on its right have been filtered too. So the result is exactly that of
    the whole movie at once, and memory stays bounded by the chunk, whatever the movie's
    length. Bins held in ``reuse`` (see :func:`fit_normaliser`) are not filtered again.
    """
    k = max(1, params.temporal_bin)
    n_bins = -(-n_frames // k)
    stop = n_bins if stop is None else min(stop, n_bins)
    if start >= stop:
        return
    halo, step = detrend_halo(params), max(1, chunk // k)
    first, last = max(0, start - halo), min(n_bins, stop + halo)  # bins that must be filtered
    buf, buf0, out = None, first, start
    for r0 in range(first, last, step):
        r1 = min(last, r0 + step)
        new = _filtered_bins(read, n_frames, params, r0, r1, reuse)
        buf = new if buf is None else np.concatenate([buf, new])
        if reuse is not None and reuse.frames is not None and r1 >= reuse.first + len(reuse.frames):
            reuse.frames = None  # passed: free it
        end = stop if r1 == last else min(stop, r1 - halo)  # the last bin whose right halo is filtered
        if end <= out:
            continue
        lo = max(0, out - halo)
        yield _detrended(buf[lo - buf0 : r1 - buf0], params)[out - lo : end - lo]
        out = end
        keep = max(buf0, out - halo)
        buf, buf0 = buf[keep - buf0 :], keep


@dataclass
class Normaliser:
    """Per-pixel median and one robust noise level, estimated on filtered frames."""

    median: np.ndarray   #: (H, W)
    noise: float

    @classmethod
    def fit(cls, filtered: np.ndarray) -> "Normaliser":
        median = np.median(filtered, axis=0).astype(np.float32)
        # one noise level for the field, not one per pixel: per-pixel SDs blow up the quiet
        # corners and shrink the pixels of very active cells
        noise = 1.4826 * float(np.median(np.abs(filtered - median)))
        return cls(median, noise if noise > 0 else 1.0)

    def __call__(self, filtered: np.ndarray) -> np.ndarray:
        return ((filtered - self.median) / self.noise).astype(np.float32)


def fit_normaliser(read, n_frames: int, params: FrameFilter, n_bins: int = 100,
                   keep: BinCache | None = None) -> Normaliser:
    """A :class:`Normaliser` from up to ``n_bins`` consecutive filtered bins in the middle of
    the movie; ``read(t0, t1)`` returns raw frames ``t0 … t1 − 1``. Training and inference
    both use this, so a network always sees frames normalised the same way. ``keep``
    receives the window's filtered bins, for :func:`filtered_chunks` to reuse."""
    total = -(-n_frames // max(1, params.temporal_bin))
    start = max(0, (total - n_bins) // 2)
    stop, halo = min(total, start + n_bins), detrend_halo(params)
    lo, hi = max(0, start - halo), min(total, stop + halo)
    binned = _filtered_bins(read, n_frames, params, lo, hi, None)
    if keep is not None:
        keep.first, keep.frames = lo, binned
    return Normaliser.fit(_detrended(binned, params)[start - lo : stop - lo])


def normalised_frames(movie: np.ndarray, params: FrameFilter) -> np.ndarray:
    """An in-memory movie ``(T, H, W)`` filtered, binned, detrended and normalised: ``(⌈T / bin⌉, H, W)``."""
    read = lambda a, b: movie[a:b]  # noqa: E731
    cache = BinCache()
    norm = fit_normaliser(read, len(movie), params, keep=cache)
    return norm(np.concatenate(list(filtered_chunks(read, len(movie), params, len(movie), reuse=cache))))
