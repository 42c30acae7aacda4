"""Motion correction: rigid and piecewise-rigid phase correlation, and dense optical flow.

Every method registers each frame to one *reference* image (the mean of frames spread
over the movie, registered to itself twice), not to the previous frame: frame-to-frame
estimates add their errors up into a drift over a long recording. Estimation streams the
movie in time chunks; correction is applied lazily, chunk by chunk, by
:class:`MotionCorrectedMovie`, so nothing the size of the movie is ever held.

* ``rigid``: one (row, col) shift per frame by upsampled cross-correlation
  (``skimage.registration.phase_cross_correlation``) of smoothed, tapered frames.
* ``piecewise``: the same per block of a ``grid × grid`` layout of overlapping blocks,
  each block's shift kept within ``max_deviation`` px of the frame's rigid shift, then
  interpolated bilinearly into a smooth shift field (NoRMCorre's idea).
* ``flow``: rigid first, then a dense Lucas–Kanade flow field
  (``skimage.registration.optical_flow_ilk``) of the rigidly aligned frame to the
  reference, for warps no block grid resolves (one-photon tissue motion).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage as ndi

from neuronseg.errors import NeuronsegError
from neuronseg.movie.checks import CONSTANT_MOVIE, require_finite

METHODS = ("none", "rigid", "piecewise", "flow")


@dataclass
class MotionParams:
    method: str = "rigid"
    max_shift: float = 15.0        #: px; larger rigid estimates are treated as failures (shift 0)
    upsample: int = 10             #: phase-correlation precision 1/upsample px
    smooth: float = 1.0            #: Gaussian σ (px) before estimating: single frames are noisy
    highpass: float = 8.0          #: σ (px) of the background removed before estimating: a
                                   #: one-photon haze moves on its own and would win the correlation
    grid: int = 4                  #: piecewise: blocks per side
    max_deviation: float = 3.0     #: piecewise: px a block may differ from the frame's rigid shift
    flow_radius: int = 7           #: flow: Lucas–Kanade window radius (px)
    reference_frames: int = 200    #: frames averaged into the reference

    def __post_init__(self):
        if self.method not in METHODS:
            raise NeuronsegError(f"unknown --motion '{self.method}' (choose from {', '.join(METHODS)})")

    @classmethod
    def for_onephoton(cls, method: str = "rigid") -> "MotionParams":
        """Settings for one-photon movies: a 3 px high-pass. Their haze and out-of-focus glow
        slide on their own, and 8 px leaves enough of them to win the correlation: on default
        one-photon simulations (1 px motion) rigid estimates erred 0.9–5.7 px RMS at 8 px
        and 0.26–0.86 px at 3 px (seeds 200–202, 210–213). Two-photon fields keep 8 px: 3 px
        strips much of the cells themselves (0.37 against 0.24 px on a small sparse field)."""
        return cls(method=method, highpass=3.0)


def _prepare(frame: np.ndarray, params: "MotionParams") -> np.ndarray:
    """Smoothed against noise, minus a wide blur (the background)."""
    f = np.asarray(frame, np.float32)
    if params.smooth:
        f = ndi.gaussian_filter(f, params.smooth)
    if params.highpass:
        f = f - ndi.gaussian_filter(f, params.highpass)
    return f - f.mean()


def _taper(shape) -> np.ndarray:
    """A smooth window that fades the outer eighth of each side: edges shifted in and out
    of view would otherwise pull the phase correlation towards zero shift."""
    def ramp(n):
        k = max(1, n // 8)
        w = np.ones(n, np.float32)
        edge = 0.5 - 0.5 * np.cos(np.linspace(0, np.pi, k, dtype=np.float32))
        w[:k], w[n - k:] = edge, edge[::-1]
        return w
    return np.outer(ramp(shape[0]), ramp(shape[1]))


class Registrar:
    """Registers frames to one reference by upsampled cross-correlation of smoothed,
    background-removed, tapered frames.

    Plain (unwhitened) correlation: whitened ("phase") correlation was more precise against
    a perfect template (0.13 px on simulated one-photon movies) but went far off against
    any template built from the movie itself (0.6–2.6 px), which is all a user has.
    """

    def __init__(self, reference: np.ndarray, params: MotionParams):
        self.params = params
        self.taper = _taper(reference.shape)
        self.reference = _prepare(reference, params) * self.taper

    def __call__(self, frame: np.ndarray) -> np.ndarray:
        from skimage.registration import phase_cross_correlation

        p = self.params
        shift, _, _ = phase_cross_correlation(self.reference, _prepare(frame, p) * self.taper,
                                              upsample_factor=p.upsample, normalization=None)
        return shift if np.hypot(*shift) <= p.max_shift else np.zeros(2)


def shift_frame(frame: np.ndarray, shift) -> np.ndarray:
    """``frame`` moved by ``shift = (d_row, d_col)`` px (bilinear; edges repeat)."""
    return ndi.shift(np.asarray(frame, np.float32), shift, order=1, mode="nearest")


def fourier_shift_frame(frame: np.ndarray, shift) -> np.ndarray:
    """``frame`` moved by ``shift`` exactly (Fourier phase ramp; content wraps at the edges).
    Used for the reference: bilinear shifts blur each frame by a different amount
    (measured: 0.097 px residual on two-photon simulations against 0.152 px)."""
    f = np.fft.fft2(np.asarray(frame, np.float64))
    return np.real(np.fft.ifft2(ndi.fourier_shift(f, shift))).astype(np.float32)


def make_reference(movie, params: MotionParams) -> np.ndarray:
    """Mean of up to ``reference_frames`` frames spread over the movie, registered twice to
    their own mean (the second time to the sharper first result)."""
    n = movie.n_frames
    idx = np.unique(np.linspace(0, n - 1, min(n, params.reference_frames)).astype(int))
    frames = np.stack([np.asarray(movie[int(t)], np.float32) for t in idx])
    for t, frame in zip(idx, frames):
        require_finite(frame[None], int(t))
    if n > 1 and not np.ptp(frames, axis=0).any():
        # every sampled frame the same: no motion to find, and correlating flat images only warns
        raise NeuronsegError(CONSTANT_MOVIE)
    ref = frames.mean(axis=0)
    for _ in range(2):
        reg = Registrar(ref, params)
        ref = np.mean([fourier_shift_frame(f, reg(f)) for f in frames], axis=0)
    return ref


def block_slices(shape, grid: int):
    """``grid × grid`` overlapping blocks (each 2 / (grid + 1) of a side, half-overlapping) and
    their centres ``(grid, grid, 2)``."""
    h, w = shape
    bh, bw = max(16, 2 * h // (grid + 1)), max(16, 2 * w // (grid + 1))
    r0s = np.linspace(0, max(0, h - bh), grid).astype(int)
    c0s = np.linspace(0, max(0, w - bw), grid).astype(int)
    blocks = [[(slice(r, r + bh), slice(c, c + bw)) for c in c0s] for r in r0s]
    centres = np.array([[[r + bh / 2 - 0.5, c + bw / 2 - 0.5] for c in c0s] for r in r0s])
    return blocks, centres


def shift_field(block_shifts: np.ndarray, centres: np.ndarray, shape) -> np.ndarray:
    """``(2, H, W)`` per-pixel shifts interpolated bilinearly between block centres (held
    constant beyond the outermost centres)."""
    from scipy.interpolate import RegularGridInterpolator

    rows, cols = centres[:, 0, 0], centres[0, :, 1]
    rr = np.clip(np.arange(shape[0]), rows[0], rows[-1])
    cc = np.clip(np.arange(shape[1]), cols[0], cols[-1])
    pts = np.stack(np.meshgrid(rr, cc, indexing="ij"), axis=-1)
    out = np.empty((2,) + tuple(shape), np.float32)
    for k in range(2):
        out[k] = RegularGridInterpolator((rows, cols), block_shifts[..., k])(pts)
    return out


def warp_frame(frame: np.ndarray, field: np.ndarray) -> np.ndarray:
    """``frame`` resampled so that pixel p shows the input at p − field[p] (field as from
    :func:`shift_field`: the shift that moves the frame onto the reference)."""
    h, w = frame.shape
    rr, cc = np.meshgrid(np.arange(h, dtype=np.float32), np.arange(w, dtype=np.float32), indexing="ij")
    return ndi.map_coordinates(np.asarray(frame, np.float32), [rr - field[0], cc - field[1]], order=1, mode="nearest")


@dataclass
class MotionEstimate:
    """What correction needs per frame: rigid shifts ``(T, 2)``; for piecewise the block
    shifts ``(T, grid, grid, 2)`` and block centres; for flow the reference (fields are
    recomputed per chunk rather than stored: a dense field per frame is twice the movie)."""

    method: str
    reference: np.ndarray
    shifts: np.ndarray
    block_shifts: np.ndarray | None = None
    centres: np.ndarray | None = None
    params: MotionParams = field(default_factory=MotionParams)

    def summary(self) -> dict:
        mag = np.hypot(self.shifts[:, 0], self.shifts[:, 1])
        return {"method": self.method, "max_shift_px": round(float(mag.max()), 2) if len(mag) else 0.0,
                "mean_shift_px": round(float(mag.mean()), 2) if len(mag) else 0.0}


def estimate_motion(movie, params: MotionParams, chunk: int | None = None, progress=None) -> MotionEstimate:
    """Estimate the motion of every frame of ``movie`` (a :class:`~neuronseg.io.movies.Movie`
    or anything with ``n_frames``, ``frame_shape``, ``__getitem__`` and ``chunks``)."""
    reference = make_reference(movie, params)
    reg = Registrar(reference, params)
    shifts = np.zeros((movie.n_frames, 2), np.float32)
    blocks = centres = block_shifts = None
    if params.method == "piecewise":
        blocks, centres = block_slices(movie.frame_shape, params.grid)
        block_shifts = np.zeros((movie.n_frames, params.grid, params.grid, 2), np.float32)
        block_regs = [[Registrar(reference[b], params) for b in row] for row in blocks]
    for t0, frames in movie.chunks(chunk):
        require_finite(frames, t0)
        for i, frame in enumerate(frames):
            s = reg(frame)
            shifts[t0 + i] = s
            if blocks is not None:
                for a, row in enumerate(blocks):
                    for b, sl in enumerate(row):
                        dev = np.clip(block_regs[a][b](frame[sl]) - s, -params.max_deviation, params.max_deviation)
                        block_shifts[t0 + i, a, b] = s + dev
        if progress is not None:
            progress(len(frames))
    return MotionEstimate(params.method, reference, shifts, block_shifts, centres, params)


def correct_frames(frames: np.ndarray, t0: int, est: MotionEstimate) -> np.ndarray:
    """Frames ``t0 … t0 + len(frames) − 1`` with the estimated motion removed (float32)."""
    out = np.empty(frames.shape, np.float32)
    pref = None
    for i, frame in enumerate(frames):
        t = t0 + i
        if est.method == "piecewise":
            out[i] = warp_frame(frame, shift_field(est.block_shifts[t], est.centres, frame.shape))
        else:
            out[i] = shift_frame(frame, est.shifts[t])
        if est.method == "flow":
            from skimage.registration import optical_flow_ilk

            if pref is None:
                pref = _prepare(est.reference, est.params)
            moving = _prepare(out[i], est.params)
            v = optical_flow_ilk(pref, moving, radius=est.params.flow_radius, num_warp=3)
            # optical_flow_ilk: reference(p) ≈ moving(p + v(p)); warp_frame samples at p − field
            out[i] = warp_frame(out[i], -v)
    return out


class MotionCorrectedMovie:
    """A movie read through its motion correction: the same ``n_frames``, ``frame_shape``,
    ``chunks`` and indexing as :class:`~neuronseg.io.movies.Movie`, frames as float32."""

    def __init__(self, movie, estimate: MotionEstimate):
        self.movie, self.estimate = movie, estimate
        self.path = getattr(movie, "path", None)

    shape = property(lambda self: self.movie.shape)
    n_frames = property(lambda self: self.movie.n_frames)
    frame_shape = property(lambda self: self.movie.frame_shape)
    dtype = property(lambda self: np.dtype(np.float32))

    def __len__(self):
        return self.n_frames

    def read(self, t0: int, t1: int) -> np.ndarray:
        t0, t1 = max(0, t0), min(self.n_frames, t1)
        return correct_frames(self.movie.read(t0, t1), t0, self.estimate)

    def __getitem__(self, key):
        if isinstance(key, int):
            t = key + self.n_frames if key < 0 else key
            return self.read(t, t + 1)[0]
        if isinstance(key, slice):
            t0, t1, step = key.indices(self.n_frames)
            return self.read(t0, t1)[::step]
        raise TypeError("index a motion-corrected movie with an int or a slice")

    def chunks(self, size: int | None = None, window=None):
        if window is not None:
            raise NeuronsegError("motion correction works on whole frames; it cannot be combined with --tile-size")
        for t0, frames in self.movie.chunks(size):
            yield t0, correct_frames(frames, t0, self.estimate)

    def close(self):
        self.movie.close()
