"""The files labs keep regions of interest in: Neurofinder ``regions.json`` (``[row, col]``
lists), uint16 label TIFF (0 = background) and ImageJ/Fiji ROI zip (via roifile), read into
and written from a :class:`~neuronseg.roiset.RoiSet`.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from neuronseg.errors import NeuronsegError
from neuronseg.roiset import RoiSet


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
    except RecursionError:   # nested deeper than Python's parser follows: no regions file is
        raise NeuronsegError(f"{path}: not a Neurofinder regions file (nested too deeply)") from None
    if not isinstance(data, list) or not all(isinstance(r, dict) and "coordinates" in r for r in data):
        raise NeuronsegError(
            f"{path}: not a Neurofinder regions file (expected a list of {{'id', 'coordinates'}})"
        )
    out = []
    for i, region in enumerate(data):
        try:
            coords = np.asarray(region["coordinates"], dtype=float)
        except (TypeError, ValueError):
            coords = np.zeros((0, 2))
        if (coords.size == 0 or coords.ndim != 2 or coords.shape[1] != 2 or not np.isfinite(coords).all()
                or np.any(coords % 1) or np.any(coords < 0) or np.any(coords >= 2**31)):
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


#: bytes an ImageJ ROI entry may expand to: a polygon of a million points is 8 MB
MAX_ROI_ENTRY = 64 * 2**20


def _check_zip_entries(path) -> None:
    """Refuse, from the zip's directory alone, an entry that would expand beyond any ROI."""
    import zipfile

    if not zipfile.is_zipfile(path):
        return
    try:
        with zipfile.ZipFile(path) as z:
            big = [i for i in z.infolist() if i.file_size > MAX_ROI_ENTRY]
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise NeuronsegError(f"{path}: not an ImageJ ROI file ({exc})") from None
    if big:
        raise NeuronsegError(f"{path}: entry {big[0].filename!r} expands to {big[0].file_size / 2**20:.0f} MB; "
                             "an ImageJ ROI is far smaller, so this is not a ROI set")


def read_imagej_zip(path, shape) -> RoiSet:
    """Read an ImageJ ROI zip (or single ``.roi``) as masks on an image of ``shape``."""
    import roifile

    _check_zip_entries(path)
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


def read_coordinates_to_score(path, other) -> list:
    """``[row, col]`` pixel lists of ROI file ``path``, as Neurofinder scores them: a
    regions.json exactly as written; a zip of polygons takes its field size from ``other``
    (a label TIFF), since ImageJ files do not record it."""
    path, other = Path(path), Path(other)
    if path.suffix.lower() == ".json":
        return read_regions_coordinates(path)
    shape = None
    if path.suffix.lower() in (".zip", ".roi"):
        if other.suffix.lower() not in (".tif", ".tiff"):
            raise NeuronsegError(f"{path}: ImageJ ROIs need the field size; score them against a label TIFF")
        shape = read_label_tif(other).shape
    rois = read_rois(path, shape)
    return [rois.coordinates(i) for i in range(len(rois))]
