"""Per-candidate feature vectors for the curation network: trace, shape and image features.

Groups (``CurationConfig.features``):

- ``trace``: skewness, SNR, event rate of the candidate's fluorescence trace
  (:func:`neuronseg.traces.trace_features`);
- ``shape``: area, compactness, solidity and the weight share of the largest connected
  piece of the footprint (binarised at 0.2 of its maximum): fragmented, scattered
  footprints are rarely cells;
- ``image``: the classical soma score near the candidate's centre and the footprint's
  contrast against its surround in the mean image (both from the mean image alone, which
  Suite2p's ops.npy and CaImAn's model provide without the movie);
- ``activity``: the same two measures in the local-correlation image and the max
  projection (Suite2p's ops.npy has both; otherwise they need the movie).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi
from scipy import special

from neuronseg.errors import NeuronsegError
from neuronseg.io.candidates import Candidates
from neuronseg.traces import trace_features

FEATURE_GROUPS = {"trace": 3, "shape": 4, "image": 2, "activity": 4}  #: group → number of features


def shape_features(rois) -> np.ndarray:
    """``(n, 4)``: log area, compactness (1 for a disk, larger when spread out), solidity,
    and the share of weight in the largest 8-connected piece, of each binarised footprint."""
    from skimage.measure import label, regionprops

    binary = rois.binarised(0.2)
    out = np.zeros((len(rois), 4), np.float32)
    for i in range(len(rois)):
        coords = binary.coordinates(i)
        if not len(coords):
            continue
        lo = coords.min(axis=0)
        mask = np.zeros(tuple(coords.max(axis=0) - lo + 1), bool)
        mask[tuple((coords - lo).T)] = True
        area = len(coords)
        d = np.hypot(*(coords - coords.mean(axis=0)).T).mean()
        disk_d = 2 / 3 * np.sqrt(area / np.pi)  # mean distance to the centre of a disk of that area
        pieces = label(mask, connectivity=2)
        largest = np.bincount(pieces.ravel())[1:].max()
        props = regionprops(mask.astype(np.uint8))[0]
        out[i] = [np.log(area), d / max(disk_d, 1e-6), props.solidity, largest / area]
    return out


def _peak_and_contrast(cands: Candidates, peak_image: np.ndarray, contrast_image: np.ndarray) -> np.ndarray:
    """``(n, 2)``: the best of ``peak_image`` within 2 px of each candidate's centre, and the
    mean of ``contrast_image`` over its binarised footprint minus a 3-px ring around it."""
    from neuronseg.curation.crops import weighted_centres

    h, w = contrast_image.shape
    peak = ndi.maximum_filter(peak_image, size=5)
    centres = np.clip(np.round(weighted_centres(cands.rois)).astype(int), 0, [h - 1, w - 1])
    binary = cands.rois.binarised(0.2)
    out = np.zeros((len(cands), 2), np.float32)
    for i in range(len(cands)):
        coords = binary.coordinates(i)
        lo = np.maximum(coords.min(axis=0) - 4, 0)
        hi = np.minimum(coords.max(axis=0) + 5, (h, w))
        box = np.zeros(tuple(hi - lo), bool)
        box[tuple((coords - lo).T)] = True
        ring = ndi.binary_dilation(box, iterations=3) & ~box
        zb = contrast_image[lo[0] : hi[0], lo[1] : hi[1]]
        contrast = zb[box].mean() - (zb[ring].mean() if ring.any() else 0.0)
        out[i] = [peak[centres[i, 0], centres[i, 1]], contrast]
    return out


def _flat_z(image: np.ndarray) -> np.ndarray:
    from neuronseg.movie.images import flatten_illumination, robust_z

    return robust_z(flatten_illumination(np.asarray(image, np.float32), 16.0))


def image_features(cands: Candidates) -> np.ndarray:
    """``(n, 2)``: classical soma score (robust z) at best within 2 px of the centre, and the
    footprint's mean-image contrast against a 3-px ring around it (robust z of the field)."""
    from neuronseg.movie.soma import soma_score

    if cands.mean_image is None:
        raise NeuronsegError(f"{cands.path}: image features need the mean image; pass the movie with --movie")
    mean = cands.mean_image
    return _peak_and_contrast(cands, soma_score(mean), _flat_z(mean))


def activity_features(cands: Candidates) -> np.ndarray:
    """``(n, 4)``: peak near the centre and footprint contrast in the local-correlation image,
    then the same in the max projection (each image flattened and in robust z units).

    Both images show what the mean image cannot: pixels that move together, and transients.
    Suite2p's ops.npy holds them (``Vcorr``, ``max_proj``); for CaImAn or a ROI file they come
    from the movie.
    """
    if cands.correlation_image is None or cands.max_image is None:
        raise NeuronsegError(f"{cands.path}: activity features need the correlation image and max projection; "
                             "pass the movie with --movie")
    parts = [_peak_and_contrast(cands, z, z) for z in (_flat_z(cands.correlation_image), _flat_z(cands.max_image))]
    return np.concatenate(parts, axis=1)


def candidate_features(cands: Candidates, groups) -> np.ndarray:
    """``(n, Σ sizes)`` float32 features of ``groups``, squashed to about unit range."""
    parts = []
    for g in groups:
        if g == "trace":
            if cands.traces is None:
                raise NeuronsegError(f"{cands.path}: trace features need traces (Suite2p F.npy, CaImAn C, or --movie)")
            f = trace_features(cands.traces)
            parts.append(np.stack([np.clip(f[:, 0], -5, 20) / 5, np.log1p(np.clip(f[:, 1], 0, None)) / 3,
                                   np.log1p(np.clip(f[:, 2], 0, None)) / 2], axis=1))
        elif g == "shape":
            f = shape_features(cands.rois)
            parts.append(np.stack([(f[:, 0] - 4) / 1.5, np.log(np.clip(f[:, 1], 0.5, 10)), f[:, 2], f[:, 3]], axis=1))
        elif g in ("image", "activity"):
            f = image_features(cands) if g == "image" else activity_features(cands)
            parts.append(np.clip(f, -5, 20) / 5)
        else:
            raise NeuronsegError(f"unknown feature group '{g}' (known: {', '.join(FEATURE_GROUPS)})")
    if not parts:
        return np.zeros((len(cands), 0), np.float32)
    return np.concatenate(parts, axis=1).astype(np.float32)


def fit_quantiles(features: np.ndarray, n: int = 101) -> list:
    """Per feature, ``n`` reference quantiles of the training values (stored with the model)."""
    return np.quantile(features, np.linspace(0, 1, n), axis=0).T.round(6).tolist()


def to_normal_scores(features: np.ndarray, quantiles) -> np.ndarray:
    """Each feature mapped through the training distribution to a standard-normal score.

    Rank-based, so heavy tails and arbitrary scales (SNR in the hundreds, areas in pixels)
    stop mattering; on Suite2p's own labelled set this alone lifted the feature-only
    classifier from below Suite2p's to above it (benchmarks/suite2p_features_cv.py).
    """
    out = np.empty(features.shape, np.float32)
    for k, q in enumerate(quantiles):
        q = np.asarray(q)
        u = np.interp(features[:, k], q, np.linspace(0, 1, len(q)))
        # ties in the reference (e.g. a feature at 0 for most candidates) are spread to their mean rank
        out[:, k] = special.ndtri(np.clip(u, 0.5 / len(q), 1 - 0.5 / len(q)))
    return out
