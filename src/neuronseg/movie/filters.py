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


def filtered_chunks(read, n_frames: int, params: FrameFilter, chunk: int = 400, start: int = 0, stop=None):
    """Yield filtered, binned, detrended frames ``(n, H, W)`` over bins ``start … stop − 1``
    of a movie, ``chunk`` raw frames at a time; ``read(t0, t1)`` returns raw frames.

    Each chunk is read with a halo of frames around it, so that the temporal detrending
    gives exactly what it would on the whole movie at once: memory stays bounded by the
    chunk, whatever the movie's length.
    """
    from scipy.ndimage import gaussian_filter1d

    k = max(1, params.temporal_bin)
    n_bins = -(-n_frames // k)
    stop = n_bins if stop is None else min(stop, n_bins)
    halo, step = detrend_halo(params), max(1, chunk // k)
    for b0 in range(start, stop, step):
        b1 = min(stop, b0 + step)
        lo, hi = max(0, b0 - halo), min(n_bins, b1 + halo)
        # filter, then bin: CLAHE of binned frames is 4× cheaper, but the model trained that way
        # (with a 25-bin normaliser) called the whole real dg13 field active: held-out recall 0.29
        # against 1.0, while simulated movies did not tell the two apart
        binned = bin_frames(filter_frames(read(lo * k, min(n_frames, hi * k)), params), k)
        if params.detrend:
            binned = binned - gaussian_filter1d(binned, params.detrend, axis=0, mode="nearest",
                                                truncate=DETREND_TRUNCATE)
        yield binned[b0 - lo:b1 - lo]


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


def fit_normaliser(read, n_frames: int, params: FrameFilter, n_bins: int = 100) -> Normaliser:
    """A :class:`Normaliser` from up to ``n_bins`` consecutive filtered bins in the middle of
    the movie; ``read(t0, t1)`` returns raw frames ``t0 … t1 − 1``. Training and inference
    both use this, so a network always sees frames normalised the same way."""
    total = -(-n_frames // max(1, params.temporal_bin))
    start = max(0, (total - n_bins) // 2)
    sample = np.concatenate(list(filtered_chunks(read, n_frames, params, 10**9, start, start + n_bins)))
    return Normaliser.fit(sample)


def normalised_frames(movie: np.ndarray, params: FrameFilter) -> np.ndarray:
    """An in-memory movie ``(T, H, W)`` filtered, binned, detrended and normalised: ``(⌈T / bin⌉, H, W)``."""
    read = lambda a, b: movie[a:b]  # noqa: E731
    norm = fit_normaliser(read, len(movie), params)
    return norm(np.concatenate(list(filtered_chunks(read, len(movie), params, len(movie)))))
