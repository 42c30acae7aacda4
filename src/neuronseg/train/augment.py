"""Augmentations shared by the trainers: the 8 dihedral symmetries, and for still images one
resampling that crops, applies a random affine map and an elastic deformation at once
(identical for the image and its labels, so masks stay aligned), and image-only intensity and
resolution changes."""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi


def dihedral(x: np.ndarray, k: int) -> np.ndarray:
    """The ``k``-th of the 8 rotations/flips (k = 0 is the identity) of the last two axes."""
    x = np.rot90(x, k % 4, axes=(-2, -1))
    return x[..., ::-1] if k >= 4 else x


def elastic_displacement(shape, alpha: float, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """``(2, H, W)`` smooth random displacement (Simard et al.): uniform noise in [−1, 1]
    smoothed by a Gaussian of ``sigma`` px and scaled by ``alpha`` px."""
    return np.stack([ndi.gaussian_filter(rng.uniform(-1, 1, shape), sigma, mode="constant") * alpha
                     for _ in range(2)])


def warped_crop(image: np.ndarray, masks: list[np.ndarray], centre, size: int, rng: np.random.Generator,
                affine: bool = True, elastic: bool = True, alpha: float = 34.0, sigma: float = 4.0,
                scale_range=(0.8, 1.25), max_shear: float = 0.1):
    """A ``size × size`` crop around ``centre`` (row, col) of ``image`` ``(C, H, W)`` and of each
    integer/bool mask ``(H, W)``, under one random rotation, scaling and shear (``affine``) plus
    an elastic deformation (``elastic``; SomaNet's α ≈ 34, σ ≈ 4). The image is resampled
    bilinearly with mirrored borders, masks by nearest neighbour with 0 outside.
    """
    half = (size - 1) / 2.0
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64)
    yy -= half
    xx -= half
    if affine:
        theta = rng.uniform(0, 2 * np.pi)
        s = np.exp(rng.uniform(np.log(scale_range[0]), np.log(scale_range[1])))
        sh = rng.uniform(-max_shear, max_shear)
        c, si = np.cos(theta), np.sin(theta)
        m = np.array([[c, -si], [si, c]]) @ np.array([[1, sh], [0, 1]]) / s
        yy, xx = m[0, 0] * yy + m[0, 1] * xx, m[1, 0] * yy + m[1, 1] * xx
    if elastic:
        d = elastic_displacement((size, size), alpha, sigma, rng)
        yy, xx = yy + d[0], xx + d[1]
    coords = np.stack([yy + centre[0], xx + centre[1]])
    out_image = np.stack([ndi.map_coordinates(ch, coords, order=1, mode="mirror") for ch in image])
    out_masks = [ndi.map_coordinates(m, coords, order=0, mode="constant", cval=0) for m in masks]
    return out_image.astype(np.float32), out_masks


def jitter_intensity(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A random gamma, contrast, offset, blur and noise on a normalised ``(H, W)`` image
    (about [0, 1]): other microscopes, stains and exposures than the training images'."""
    x = np.clip(image, 0, None) ** rng.uniform(0.6, 1.6)
    x = x * rng.uniform(0.7, 1.3) + rng.uniform(-0.1, 0.1)
    if rng.random() < 0.3:
        x = ndi.gaussian_filter(x, rng.uniform(0.3, 1.2))
    x = x + rng.normal(0, rng.uniform(0, 0.03), x.shape)
    return x.astype(np.float32)


def degrade_resolution(image: np.ndarray, max_factor: float, rng: np.random.Generator) -> np.ndarray:
    """``image`` ``(H, W)`` shrunk by a random factor in [1, ``max_factor``] (area-averaged) and
    enlarged back bilinearly: what an image with smaller cells looks like once `--diameter`
    has enlarged it to the training cell size (soft edges, merged gaps between touching
    cells), which the sharp training images never show."""
    from skimage.transform import resize

    f = rng.uniform(1.0, max_factor)
    small = resize(image, tuple(max(2, int(round(n / f))) for n in image.shape), order=1,
                   anti_aliasing=True, preserve_range=True, mode="reflect")
    return resize(small, image.shape, order=1, preserve_range=True, mode="reflect").astype(np.float32)


def outline_rendering(image: np.ndarray, sign: int, rng: np.random.Generator) -> np.ndarray:
    """A fluorescence image ``(H, W)`` drawn as transmitted light draws cells: each object
    as its outline (a dark ring for ``sign`` −1, a bright one for +1) on a grey, grainy
    background. A network pre-trained on fluorescent nuclei learns filled bright blobs,
    which a brightfield neuron (an outline around a background-coloured interior) does not
    show; pre-trained on this rendering of the same nuclei and labels, it learns to fill an
    outline, which fine-tuning on transmitted light can use.

    Steps: percentile stretch, division by the local mean (so dim and bright
    nuclei give rings of similar contrast), Gaussian gradient magnitude (σ 1.2 px), plus
    smoothed noise."""
    x = np.asarray(image, np.float32)
    lo, hi = np.percentile(x, (1, 99.5))
    x = np.clip((x - lo) / max(hi - lo, 1e-6), 0, 1)
    x = x / (ndi.gaussian_filter(x, 12) + 0.05)
    x = np.clip(x / max(np.percentile(x, 99.5), 1e-6), 0, 1)
    ring = ndi.gaussian_gradient_magnitude(x, 1.2)
    ring /= max(np.percentile(ring, 99.5), 1e-6)
    grain = ndi.gaussian_filter(rng.normal(0, 0.03, ring.shape), 1)
    return (0.6 + 0.25 * sign * np.clip(ring, 0, 1.5) + grain).astype(np.float32)
