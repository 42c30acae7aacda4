"""The set of regions of interest every stage passes on: :class:`RoiSet`.

A ROI is a set of pixels of an ``(H, W)`` image, stored as flat indices
(``row * W + col``) with optional per-pixel weights (Suite2p's ``lam``, CaImAn's
footprints). Coordinates are ``[row, col]``. The files labs keep ROIs in are read and
written by :mod:`neuronseg.io.rois`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import sparse

from neuronseg.errors import NeuronsegError


@dataclass
class RoiSet:
    """Masks of ``len(self)`` ROIs over an image of ``shape = (H, W)``.

    Parameters
    ----------
    shape : (int, int)
        Image height and width.
    pixels : list of int arrays
        Per ROI, the flat indices ``row * W + col`` of its pixels, sorted and unique.
    weights : list of float arrays, optional
        Per ROI, one weight per pixel (same order as ``pixels``); ``None`` means binary.

    Examples
    --------
    >>> rois = RoiSet.from_labels(np.array([[0, 1], [2, 2]]))
    >>> len(rois), rois.areas().tolist()
    (2, [1, 2])
    """

    shape: tuple[int, int]
    pixels: list[np.ndarray] = field(default_factory=list)
    weights: list[np.ndarray] | None = None

    def __post_init__(self):
        self.shape = (int(self.shape[0]), int(self.shape[1]))
        if self.weights is not None and len(self.weights) != len(self.pixels):
            raise ValueError("weights and pixels must have one entry per ROI")

    def __len__(self) -> int:
        return len(self.pixels)

    # --- construction -------------------------------------------------------------
    @classmethod
    def from_coordinates(cls, coordinates, shape, weights=None) -> "RoiSet":
        """Build from per-ROI ``(n, 2)`` arrays of ``[row, col]``.

        Duplicate pixels are merged (their weights summed); pixels outside ``shape``
        raise a :class:`NeuronsegError`.
        """
        h, w = shape
        pixels, out_weights = [], [] if weights is not None else None
        for i, coords in enumerate(coordinates):
            coords = np.asarray(coords, dtype=np.int64).reshape(-1, 2)
            if coords.size and (coords.min() < 0 or coords[:, 0].max() >= h or coords[:, 1].max() >= w):
                raise NeuronsegError(
                    f"ROI {i} has pixels outside the image of shape {tuple(shape)} "
                    "(ROIs and image do not match)"
                )
            flat = coords[:, 0] * w + coords[:, 1]
            uniq, inverse = np.unique(flat, return_inverse=True)
            pixels.append(uniq)
            if out_weights is not None:
                wt = np.zeros(len(uniq), np.float32)
                np.add.at(wt, inverse, np.asarray(weights[i], np.float32))
                out_weights.append(wt)
        return cls(tuple(shape), pixels, out_weights)

    @classmethod
    def from_labels(cls, labels: np.ndarray) -> "RoiSet":
        """One ROI per non-zero label value, in increasing label order."""
        labels = np.asarray(labels)
        if labels.ndim != 2:
            raise NeuronsegError(f"a label image must be 2-D, got shape {labels.shape}")
        if not np.issubdtype(labels.dtype, np.integer):
            if not np.all(np.equal(np.mod(labels, 1), 0)):
                raise NeuronsegError("a label image must hold whole numbers")
            labels = labels.astype(np.int64)
        flat = labels.ravel()
        order = np.argsort(flat, kind="stable")
        values, starts = np.unique(flat[order], return_index=True)
        bounds = list(starts[1:]) + [flat.size]
        pixels = [np.sort(order[s:e]) for v, s, e in zip(values, starts, bounds) if v != 0]
        return cls(labels.shape, pixels)

    @classmethod
    def from_masks(cls, masks: np.ndarray) -> "RoiSet":
        """From a boolean or weighted stack ``(N, H, W)``; non-zero pixels belong to the ROI."""
        masks = np.asarray(masks)
        if masks.ndim != 3:
            raise NeuronsegError(f"a mask stack must be (N, H, W), got shape {masks.shape}")
        flat = masks.reshape(len(masks), -1)
        pixels = [np.flatnonzero(m) for m in flat]
        weights = None if masks.dtype == bool else [m[p].astype(np.float32) for m, p in zip(flat, pixels)]
        return cls(masks.shape[1:], pixels, weights)

    # --- views --------------------------------------------------------------------
    def coordinates(self, i: int) -> np.ndarray:
        """``(n, 2)`` array of ``[row, col]`` of ROI ``i``."""
        return np.stack(np.divmod(self.pixels[i], self.shape[1]), axis=1)

    def areas(self) -> np.ndarray:
        return np.array([len(p) for p in self.pixels], dtype=np.int64)

    def centers(self) -> np.ndarray:
        """``(N, 2)`` mean ``[row, col]`` of each ROI (unweighted, as Neurofinder scores)."""
        if not len(self):
            return np.zeros((0, 2))
        return np.array([self.coordinates(i).mean(axis=0) for i in range(len(self))])

    def weight_matrix(self, normalise: bool = True) -> sparse.csr_matrix:
        """Sparse ``(N, H*W)`` matrix of ROI weights; rows sum to 1 when ``normalise``.

        ``matrix @ frames.reshape(T, -1).T`` gives each ROI's (weighted) mean trace.
        """
        n = len(self)
        rows = np.repeat(np.arange(n), self.areas())
        cols = np.concatenate(self.pixels) if n else np.zeros(0, np.int64)
        if self.weights is None:
            vals = np.ones(len(cols), np.float32)
        else:
            vals = np.concatenate(self.weights).astype(np.float32) if n else np.zeros(0, np.float32)
        m = sparse.csr_matrix((vals, (rows, cols)), shape=(n, self.shape[0] * self.shape[1]))
        if normalise and n:
            sums = np.asarray(m.sum(axis=1)).ravel()
            sums[sums == 0] = 1
            m = sparse.diags(1 / sums).astype(np.float32) @ m
        return m.tocsr()

    def to_labels(self) -> np.ndarray:
        """uint16 label image, ROI ``i`` drawn as ``i + 1``; where ROIs overlap the later wins."""
        if len(self) >= 2**16:
            raise NeuronsegError(f"{len(self)} ROIs do not fit a uint16 label image")
        labels = np.zeros(self.shape[0] * self.shape[1], np.uint16)
        for i, p in enumerate(self.pixels):
            labels[p] = i + 1
        return labels.reshape(self.shape)

    def masks(self) -> np.ndarray:
        """Dense boolean stack ``(N, H, W)``; fine for hundreds of ROIs, not for huge fields."""
        out = np.zeros((len(self), self.shape[0] * self.shape[1]), bool)
        for i, p in enumerate(self.pixels):
            out[i, p] = True
        return out.reshape((len(self),) + self.shape)

    def within(self, rect) -> "RoiSet":
        """The ROIs whose centre lies in ``rect = (row0, row1, col0, col1)`` (ends excluded)."""
        c = self.centers()
        r0, r1, c0, c1 = rect
        return self.subset((c[:, 0] >= r0) & (c[:, 0] < r1) & (c[:, 1] >= c0) & (c[:, 1] < c1))

    def binarised(self, threshold: float = 0.0) -> "RoiSet":
        """Binary ROIs of the pixels whose weight is > ``threshold`` × that ROI's largest weight."""
        if self.weights is None:
            return RoiSet(self.shape, list(self.pixels))
        pixels = [p[w > threshold * w.max()] if len(w) else p for p, w in zip(self.pixels, self.weights)]
        return RoiSet(self.shape, pixels)

    def subset(self, keep) -> "RoiSet":
        """The ROIs at indices ``keep`` (ints or a boolean mask)."""
        idx = np.flatnonzero(keep) if np.asarray(keep).dtype == bool else np.asarray(keep, int)
        weights = None if self.weights is None else [self.weights[i] for i in idx]
        return RoiSet(self.shape, [self.pixels[i] for i in idx], weights)
