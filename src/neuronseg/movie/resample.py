"""A field seen at another scale: a network trained on somata of one size is shown every
recording with its somata at that size (as Cellpose does), and the masks it draws are mapped
back to the recording's own pixels.

Frames are resampled by linear interpolation of pixel areas, with a Gaussian prefilter when
shrinking (so fine texture does not alias into false structure); labels by nearest
neighbour, so every mask keeps its identity.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

#: scale changes smaller than this are not worth an interpolation
NEGLIGIBLE = 1.1


def scaled_shape(frame_shape, factor: float) -> tuple[int, int]:
    return tuple(max(16, int(round(s * factor))) for s in frame_shape)


def resample_frames(frames: np.ndarray, shape) -> np.ndarray:
    """``(t, H, W)`` frames as ``(t, h, w)`` float32."""
    frames = np.asarray(frames, np.float32)
    zoom = (shape[0] / frames.shape[-2], shape[1] / frames.shape[-1])
    if zoom == (1.0, 1.0):
        return frames
    if min(zoom) >= 1.0:
        # enlarging: torch's bilinear interpolation is scipy's order-1 zoom on the same pixel
        # grid (equal to 3e-5) at an eighth of the time, which the summary pass pays per chunk
        import torch
        import torch.nn.functional as F

        flat = torch.from_numpy(np.ascontiguousarray(frames)).reshape(-1, 1, *frames.shape[-2:])
        out = F.interpolate(flat, size=tuple(shape), mode="bilinear", align_corners=False)
        return out.reshape(*frames.shape[:-2], *shape).numpy()
    sigma = [0.0] * (frames.ndim - 2) + [max(0.0, (1 / z - 1) / 2) for z in zoom]
    if any(sigma):
        frames = ndi.gaussian_filter(frames, sigma, mode="nearest")
    return ndi.zoom(frames, [1.0] * (frames.ndim - 2) + list(zoom), order=1, mode="nearest", grid_mode=True)


def resample_image(image: np.ndarray, shape) -> np.ndarray:
    return resample_frames(np.asarray(image)[None], shape)[0]


def resample_labels(labels: np.ndarray, shape) -> np.ndarray:
    """Instance labels on another grid (nearest neighbour)."""
    from skimage.transform import resize

    return resize(labels, shape, order=0, preserve_range=True, anti_aliasing=False).astype(labels.dtype)


class ResampledConsumer:
    """A streaming consumer of time chunks (the summary pass's) that sees them resampled to ``shape``."""

    def __init__(self, inner, shape):
        self.inner, self.shape = inner, tuple(shape)

    def __call__(self, chunk: np.ndarray) -> None:
        self.inner(resample_frames(chunk, self.shape))

    def finish(self):
        return self.inner.finish()


class ResampledMovie:
    """A movie read through a resampling of every frame to ``frame_shape`` (lazy, as the movie is)."""

    def __init__(self, movie, frame_shape):
        self.movie, self.frame_shape = movie, tuple(frame_shape)
        self.n_frames, self.path = movie.n_frames, movie.path
        self.dtype = np.dtype(np.float32)

    @property
    def shape(self):
        return (self.n_frames,) + self.frame_shape

    def read(self, t0: int, t1: int) -> np.ndarray:
        return resample_frames(self.movie.read(t0, t1), self.frame_shape)

    def chunks(self, size=None, window=None):
        from neuronseg.io.movies import default_chunk_frames

        size = size or default_chunk_frames(self.frame_shape, self.dtype)
        for t0 in range(0, self.n_frames, size):
            yield t0, self.read(t0, min(self.n_frames, t0 + size))
