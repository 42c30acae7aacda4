"""Regions of interest: one :class:`RoiSet` and the file formats labs keep them in.

A ROI is a set of pixels of an ``(H, W)`` image, stored as flat indices
(``row * W + col``) with optional per-pixel weights (Suite2p's ``lam``, CaImAn's
footprints). Formats: Neurofinder ``regions.json`` (``[row, col]`` lists), uint16 label
TIFF (0 = background) and ImageJ/Fiji ROI zip (via roifile).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

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


# --- Neurofinder regions.json ---------------------------------------------------------
def read_regions_coordinates(path) -> list[np.ndarray]:
    """The raw ``[row, col]`` lists of a Neurofinder ``regions.json``, one ``(n, 2)`` array each.

    Kept exactly as written (duplicates included), which is what Neurofinder scores.
    """
    path = Path(path)
    try:
        data = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise NeuronsegError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise NeuronsegError(f"{path}: not a readable JSON file ({exc})") from None
    if not isinstance(data, list) or not all(isinstance(r, dict) and "coordinates" in r for r in data):
        raise NeuronsegError(
            f"{path}: not a Neurofinder regions file (expected a list of {{'id', 'coordinates'}})"
        )
    out = []
    for i, region in enumerate(data):
        coords = np.asarray(region["coordinates"], dtype=float)
        if coords.size == 0 or coords.ndim != 2 or coords.shape[1] != 2 or np.any(coords % 1) or np.any(coords < 0):
            raise NeuronsegError(f"{path}: region {i} has no valid [row, col] pixel list")
        out.append(coords.astype(np.int64))
    return out


def read_regions_json(path, shape=None) -> RoiSet:
    """Read a Neurofinder ``regions.json``; ``shape`` defaults to the smallest that holds all ROIs."""
    coords = read_regions_coordinates(path)
    if not coords:
        raise NeuronsegError(f"{path}: contains no regions")
    if shape is None:
        top = np.max([c.max(axis=0) for c in coords], axis=0)
        shape = (int(top[0]) + 1, int(top[1]) + 1)
    return RoiSet.from_coordinates(coords, shape)


def write_regions_json(rois: RoiSet, path) -> None:
    """Write Neurofinder ``regions.json``: ``[{"id": i, "coordinates": [[row, col], …]}, …]``."""
    regions = [
        {"id": i, "coordinates": rois.coordinates(i).tolist()} for i in range(len(rois))
    ]
    Path(path).write_text(json.dumps(regions))


# --- label images ---------------------------------------------------------------------
def read_label_tif(path) -> RoiSet:
    import tifffile

    try:
        labels = tifffile.imread(path)
    except FileNotFoundError:
        raise NeuronsegError(f"{path}: no such file") from None
    except Exception as exc:
        raise NeuronsegError(f"{path}: not a readable TIFF ({exc})") from None
    return RoiSet.from_labels(np.squeeze(labels))


def write_label_tif(rois: RoiSet, path) -> None:
    import tifffile

    tifffile.imwrite(path, rois.to_labels(), compression="zlib")


# --- ImageJ / Fiji ROI zip ------------------------------------------------------------
def mask_outline(mask: np.ndarray) -> np.ndarray:
    """Polygon ``(n, 2)`` of ``[x, y]`` ImageJ coordinates around a 2-D boolean mask.

    The outline runs on the pixel grid between pixel centres (marching squares at 0.5), so
    no pixel centre lies on it and ImageJ's centre-inside rule rebuilds exactly the pixels
    of a hole-free, 4-connected mask. Of several parts, the largest outline is kept: an
    ImageJ polygon has no holes or parts.
    """
    from skimage.measure import find_contours

    padded = np.pad(mask.astype(np.float32), 1)
    contours = find_contours(padded, 0.5, fully_connected="high")
    if not contours:
        raise ValueError("empty mask has no outline")
    contour = max(contours, key=len)[:-1]  # closed: last point repeats the first
    # padded centre coordinates → image centre (−1) → ImageJ pixel-corner coordinates (+0.5)
    rows, cols = contour[:, 0] - 0.5, contour[:, 1] - 0.5
    return np.stack([cols, rows], axis=1)


def polygon_mask(xy: np.ndarray, shape) -> np.ndarray:
    """Pixels whose centres lie inside an ImageJ polygon of ``[x, y]`` vertices."""
    from skimage.draw import polygon

    rr, cc = polygon(np.asarray(xy)[:, 1] - 0.5, np.asarray(xy)[:, 0] - 0.5, shape=shape)
    mask = np.zeros(shape, bool)
    mask[rr, cc] = True
    return mask


def write_imagej_zip(rois: RoiSet, path) -> None:
    """Write an ImageJ/Fiji ROI set (``.zip``) with one polygon per ROI, named ``roi_<i>``."""
    import roifile

    out = []
    for i in range(len(rois)):
        mask = np.zeros(rois.shape[0] * rois.shape[1], bool)
        mask[rois.pixels[i]] = True
        xy = mask_outline(mask.reshape(rois.shape))
        out.append(roifile.ImagejRoi.frompoints(xy, name=f"roi_{i:04d}"))
    path = Path(path)
    if path.exists():
        path.unlink()  # roiwrite appends to an existing zip
    roifile.roiwrite(path, out)


def read_imagej_zip(path, shape) -> RoiSet:
    """Read an ImageJ ROI zip (or single ``.roi``) as masks on an image of ``shape``."""
    import roifile

    try:
        items = roifile.roiread(path)
    except FileNotFoundError:
        raise NeuronsegError(f"{path}: no such file") from None
    except Exception as exc:
        raise NeuronsegError(f"{path}: not an ImageJ ROI file ({exc})") from None
    items = items if isinstance(items, list) else [items]
    masks = []
    for roi in items:
        xy = roi.coordinates()
        if xy is None or len(xy) < 3:
            continue
        masks.append(polygon_mask(xy, shape))
    if not masks:
        raise NeuronsegError(f"{path}: no polygon ROIs found")
    return RoiSet.from_masks(np.stack(masks))


def read_rois(path, shape=None) -> RoiSet:
    """Read ROIs from ``regions.json``, a label TIFF or an ImageJ zip, chosen by suffix."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".json":
        rois = read_regions_json(path, shape)
    elif suffix in (".tif", ".tiff"):
        rois = read_label_tif(path)
    elif suffix in (".zip", ".roi"):
        if shape is None:
            raise NeuronsegError(f"{path}: ImageJ ROIs need the image shape")
        rois = read_imagej_zip(path, shape)
    else:
        raise NeuronsegError(f"{path}: unknown ROI format '{suffix}' (use .json, .tif or .zip)")
    if shape is not None and tuple(rois.shape) != tuple(shape):
        raise NeuronsegError(
            f"{path}: ROIs are for an image of shape {rois.shape}, not {tuple(shape)}"
        )
    return rois
