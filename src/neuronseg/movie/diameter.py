"""The typical soma diameter of a recording, estimated from its summary images.

Every image of a field holds blobs of two sizes: boutons and thin processes, and somata.
Each summary image (mean, std and local correlation) is flattened, and every local match of a soma template (a
disc in a surround) stronger than ``MATCH`` is assigned the template size that matches it
best. The log sizes of those matches fall in two groups; the somata are the larger group,
and their median size, divided by how much larger than the drawn outline a soma's best
template is (:func:`template_per_cell`, measured), is the estimate.

Chosen by measurement (``benchmarks/diameter_estimate.py``) against the scale of maximal
response over all matches, the best-matched size of the strongest matches, Laplacian-of-
Gaussian blob sizes and granulometry, all of which were captured by boutons or neuropil
texture on one recording or another.
"""

from __future__ import annotations

import numpy as np


SMALLEST, LARGEST = 5.0, 48.0   #: px: the template sizes tried (1.07 apart)
STEP = 1.07
MATCH = 0.5                     #: normalised cross-correlation a match must reach
#: best template size m / drawn soma diameter = A + B·ln m: small somata match larger templates (the optical
#: blur and the pixel grid weigh more on them); fitted on 40 simulations of 8–24 px, seeds 7000–7039
#: (1.33 at 8 px, 1.07 at 24 px), none of which any benchmark scores
TEMPLATE_PER_CELL = (1.767, -0.204)
SEPARATE = np.log(1.6)          #: the two groups are boutons and somata when their log sizes differ this much


def template_per_cell(size: float) -> float:
    a, b = TEMPLATE_PER_CELL
    return float(np.clip(a + b * np.log(size), 1.0, 1.45))


def template(d: float) -> np.ndarray:
    """A zero-mean soma template: a disc of diameter ``d`` (+1) in a surround out to 1.6× (−1)."""
    r = d / 2
    n = int(np.ceil(1.6 * r)) + 1
    y, x = np.mgrid[-n : n + 1, -n : n + 1]
    rr = np.hypot(y, x)
    return np.where(rr <= r, 1.0, np.where(rr <= 1.6 * r, -1.0, 0.0))


def template_sizes() -> np.ndarray:
    return SMALLEST * STEP ** np.arange(int(np.log(LARGEST / SMALLEST) / np.log(STEP)) + 1)


def ncc_stack(image: np.ndarray, sizes) -> np.ndarray:
    """``(len(sizes), H, W)``: normalised cross-correlation of ``image`` with the template of
    each size, centred on each pixel (as skimage's ``match_template(pad_input=True)``, with
    the image's statistics over the template's square window), from one transform of the
    image shared by all sizes: 34 sizes of a 256 × 512 image take 0.2 s instead of 1.3 s."""
    from scipy import fft
    from scipy import ndimage as ndi

    image = np.asarray(image, np.float64)
    h, w = image.shape
    n_max = max(template(d).shape[0] for d in sizes)
    shape = (fft.next_fast_len(h + n_max), fft.next_fast_len(w + n_max))
    spectrum = fft.rfft2(image, shape)
    out = np.empty((len(sizes), h, w), np.float32)
    for k, d in enumerate(sizes):
        t = template(d)
        t = t - t.mean()
        n = t.shape[0]
        corr = fft.irfft2(spectrum * fft.rfft2(t[::-1, ::-1], shape), shape)[n // 2 : n // 2 + h, n // 2 : n // 2 + w]
        mean = ndi.uniform_filter(image, n, mode="reflect")
        var = np.maximum(ndi.uniform_filter(image * image, n, mode="reflect") - mean * mean, 0) * n * n
        out[k] = corr / np.maximum(np.sqrt(var) * np.sqrt((t * t).sum()), 1e-12)
    return out


def matched_sizes(image: np.ndarray, sizes=None) -> np.ndarray:
    """The best-matching template size of every local soma-like match stronger than ``MATCH``."""
    from skimage.feature import peak_local_max

    from neuronseg.movie.images import flatten_illumination, robust_z

    sizes = template_sizes() if sizes is None else np.asarray(sizes)
    flat = np.clip(robust_z(flatten_illumination(np.asarray(image, np.float64), 20.0)), -5, 8)
    usable = sizes[sizes * 1.6 + 4 < min(flat.shape)]
    if not len(usable):
        return np.zeros(0)
    stack = ncc_stack(flat, usable)
    best = stack.max(axis=0)
    peaks = peak_local_max(best, min_distance=3, exclude_border=min(10, min(flat.shape) // 4), threshold_abs=MATCH)
    return usable[stack[:, peaks[:, 0], peaks[:, 1]].argmax(axis=0)] if len(peaks) else np.zeros(0)


def somata_size(sizes: np.ndarray) -> float | None:
    """The median of the larger group of matched sizes (all of them when they form one group)."""
    if not len(sizes):
        return None
    x = np.log(np.sort(np.asarray(sizes, float)))
    if len(x) >= 4:
        # the best split of the sorted log sizes into two groups (two-means in one dimension)
        costs = [((x[:i] - x[:i].mean()) ** 2).sum() + ((x[i:] - x[i:].mean()) ** 2).sum() for i in range(1, len(x))]
        i = int(np.argmin(costs)) + 1
        if x[i:].mean() - x[:i].mean() > SEPARATE and len(x) - i >= 3:
            x = x[i:]
    return float(np.exp(np.median(x)))


def estimate_diameter(summary) -> float | None:
    """The typical soma diameter (px, as annotators draw it) of a field from its summary
    images (``.mean``, ``.std``, ``.correlation``); None when the field shows nothing
    soma-like."""
    sizes = np.concatenate([matched_sizes(getattr(summary, k)) for k in ("mean", "std", "correlation")])
    size = somata_size(sizes)
    if size is None:
        return None
    return size / template_per_cell(size)
