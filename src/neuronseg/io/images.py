"""Still images and their labels, in the layouts labs and challenges keep them in.

An image is returned as ``(H, W)`` float32 (colour images are averaged to one channel:
brightfield and fluorescence stains carry their structure in intensity, and a gray input
keeps one network for every source). Labels are ``(H, W)`` int32 instance maps, 0 =
background. Readers:

* one image file (PNG, TIFF, JPEG) — :func:`read_image`;
* a folder with ``images/`` and ``masks/`` or ``labels/`` (files matched by stem; a binary
  mask is split into connected components, a label TIFF is kept as it is);
* the Data Science Bowl 2018 layout ``<id>/images/<id>.png`` + ``<id>/masks/*.png`` (one
  binary PNG per instance);
* a folder of ``X_image.tif`` / ``X_labels.tif`` pairs (also ``X.tif`` / ``X_labels.tif``);
* the Sartorius cell-instance CSV (``id, annotation, width, height, cell_type, …``; one row per
  instance, run-length encoded, 1-based starts over row-major pixels) with images in
  ``train/<id>.png`` beside it; ``cell_type`` becomes the image's cell class.
"""

from __future__ import annotations

import csv
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import ndimage as ndi

from neuronseg.errors import NeuronsegError
from neuronseg.io.captured_log import CapturedLog

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".png", ".tif", ".tiff", ".jpg", ".jpeg")
LABEL_FOLDERS = ("masks", "labels")


@dataclass
class LabelledImage:
    """One image, its instance labels and, optionally, its cell class (e.g. ``"astro"``)."""

    name: str
    image: np.ndarray     # (H, W) float32
    labels: np.ndarray    # (H, W) int32, 0 = background
    cell_class: str | None = None


def _is_image(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES and not path.name.startswith(".")


def _read_array(path) -> np.ndarray:
    path = Path(path)
    if not path.exists():
        raise NeuronsegError(f"{path}: no such file")
    try:
        if path.suffix.lower() in (".tif", ".tiff"):
            import tifffile

            with CapturedLog("tifffile") as warnings:
                try:
                    a = tifffile.imread(path)
                except Exception as exc:
                    raise NeuronsegError(f"{path}: not a readable image ({warnings[0] if warnings else exc})") from exc
            if warnings and np.asarray(a).size == 0:   # tifffile logs a broken file and returns nothing
                raise NeuronsegError(f"{path}: not a readable image ({warnings[0]})")
            for w in warnings:
                log.warning(f"{path}: {w}")
            return a
        from PIL import Image

        with Image.open(path) as img:
            return np.asarray(img)
    except NeuronsegError:
        raise
    except Exception as exc:
        raise NeuronsegError(f"{path}: not a readable image ({type(exc).__name__}: {exc})") from exc


def read_image(path) -> np.ndarray:
    """An image file as ``(H, W)`` float32; colour (last axis 3 or 4) is averaged, alpha dropped.

    Raises :class:`NeuronsegError` for unreadable files, stacks (use ``segment`` for movies),
    non-finite values and constant images.
    """
    return as_image(_read_array(path), path)


def as_image(a, name) -> np.ndarray:
    """Array ``a`` as a ``(H, W)`` float32 image (colour averaged, alpha dropped), refused with
    a message naming ``name`` when it is a stack, holds NaN/inf values or is constant."""
    a = np.asarray(a)
    if a.ndim == 3 and a.shape[-1] in (3, 4):
        a = a[..., :3].astype(np.float32).mean(axis=-1)
    elif a.ndim == 3 and a.shape[0] in (3, 4) and min(a.shape[1:]) > 4:
        a = a[:3].astype(np.float32).mean(axis=0)  # channels-first TIFF
    if a.ndim != 2:
        raise NeuronsegError(f"{name}: expected a 2-D image (H, W) or a colour image, got shape {a.shape}"
                             + ("; for a movie use `neuronseg segment`" if a.ndim == 3 else ""))
    a = a.astype(np.float32)
    if not np.isfinite(a).all():
        raise NeuronsegError(f"{name}: the image contains NaN or infinite values")
    if a.size == 0 or a.max() == a.min():
        raise NeuronsegError(f"{name}: the image is constant; there is nothing to segment")
    return a


def read_labels(path) -> np.ndarray:
    """A mask or label image as int32 instances: a binary mask is split into connected
    components (8-connected), an integer label image is kept."""
    a = np.asarray(_read_array(path))
    if a.ndim == 3 and a.shape[-1] in (3, 4):
        a = a[..., 0]
    if a.ndim != 2:
        raise NeuronsegError(f"{path}: a mask must be 2-D, got shape {a.shape}")
    values = np.unique(a)
    if values.size <= 2:   # binary: 0 / 1 or 0 / 255
        labels, _ = ndi.label(a > values.min() if values.size == 2 else a > 0, structure=np.ones((3, 3)))
        return labels.astype(np.int32)
    if not np.issubdtype(a.dtype, np.integer):
        raise NeuronsegError(f"{path}: a label image must hold integers, got {a.dtype}")
    return a.astype(np.int32)


def _check_pair(name, image, labels):
    if image.shape != labels.shape:
        raise NeuronsegError(f"{name}: image {image.shape} and labels {labels.shape} differ in shape")
    return LabelledImage(name, image, labels)


def _images_and_masks(folder: Path) -> list[LabelledImage]:
    label_dir = next(folder / d for d in LABEL_FOLDERS if (folder / d).is_dir())
    by_stem = {p.stem: p for p in label_dir.iterdir() if _is_image(p)}
    out = []
    for p in sorted(q for q in (folder / "images").iterdir() if _is_image(q)):
        if p.stem not in by_stem:
            raise NeuronsegError(f"{p}: no mask named {p.stem}.* in {label_dir}")
        out.append(_check_pair(p.stem, read_image(p), read_labels(by_stem[p.stem])))
    return out


def _dsb2018(folder: Path) -> list[LabelledImage]:
    out = []
    for sample in sorted(d for d in folder.iterdir() if (d / "images").is_dir() and (d / "masks").is_dir()):
        image_files = sorted(p for p in (sample / "images").iterdir() if _is_image(p))
        if not image_files:
            raise NeuronsegError(f"{sample}/images: no image")
        image = read_image(image_files[0])
        labels = np.zeros(image.shape, np.int32)
        for i, m in enumerate(sorted(p for p in (sample / "masks").iterdir() if _is_image(p)), 1):
            mask = _read_array(m)
            mask = mask[..., 0] if mask.ndim == 3 else mask
            if mask.shape != image.shape:
                raise NeuronsegError(f"{m}: mask {mask.shape} does not match image {image.shape}")
            labels[mask > 0] = i
        out.append(LabelledImage(sample.name, image, labels))
    return out


def _label_pairs(folder: Path) -> list[LabelledImage]:
    out = []
    for lab in sorted(folder.glob("*_labels.tif*")):
        stem = lab.name[: lab.name.index("_labels")]
        candidates = [folder / f"{stem}_image{lab.suffix}", folder / f"{stem}{lab.suffix}"]
        image_path = next((c for c in candidates if c.exists()), None)
        if image_path is None:
            raise NeuronsegError(f"{lab}: no image {candidates[0].name} or {candidates[1].name} beside it")
        out.append(_check_pair(stem, read_image(image_path), read_labels(lab)))
    return out


def rle_decode(annotation: str, shape) -> np.ndarray:
    """Boolean ``shape`` mask of a run-length string ``"start length …"`` (1-based starts,
    row-major pixels, as the Sartorius challenge wrote them)."""
    numbers = np.asarray(annotation.split(), dtype=np.int64)
    if numbers.size % 2:
        raise NeuronsegError(f"run-length annotation has an odd number of values ({numbers.size})")
    starts, lengths = numbers[0::2] - 1, numbers[1::2]
    n = int(shape[0]) * int(shape[1])
    if starts.size and (starts.min() < 0 or (starts + lengths).max() > n):
        raise NeuronsegError(f"run-length annotation runs outside an image of shape {tuple(shape)}")
    flat = np.zeros(n + 1, np.int32)
    np.add.at(flat, starts, 1)
    np.add.at(flat, starts + lengths, -1)
    return (np.cumsum(flat[:-1]) > 0).reshape(shape)


def read_sartorius_csv(path, image_dir=None) -> list[LabelledImage]:
    """The Sartorius CSV: one row per instance; images in ``image_dir`` (default ``train/``
    beside the CSV) named ``<id>.png``."""
    path = Path(path)
    image_dir = Path(image_dir) if image_dir else path.parent / "train"
    rows: dict[str, list[dict]] = {}
    try:
        with open(path, newline="") as f:
            for row in csv.DictReader(f):
                rows.setdefault(row["id"], []).append(row)
    except KeyError as exc:
        raise NeuronsegError(f"{path}: not a Sartorius CSV (no column {exc})") from exc
    out = []
    for image_id, instances in rows.items():
        image = read_image(image_dir / f"{image_id}.png")
        shape = (int(instances[0]["height"]), int(instances[0]["width"]))
        if shape != image.shape:
            raise NeuronsegError(f"{image_id}: CSV says {shape}, image is {image.shape}")
        labels = np.zeros(shape, np.int32)
        for i, row in enumerate(instances, 1):
            labels[rle_decode(row["annotation"], shape)] = i
        out.append(LabelledImage(image_id, image, labels, instances[0].get("cell_type") or None))
    return out


def read_labelled_images(path) -> list[LabelledImage]:
    """Every labelled image under ``path``, whichever of the layouts above it uses."""
    path = Path(path)
    if not path.exists():
        raise NeuronsegError(f"{path}: no such file or folder")
    if path.is_file() and path.suffix.lower() == ".csv":
        found = read_sartorius_csv(path)
    elif (path / "images").is_dir() and any((path / d).is_dir() for d in LABEL_FOLDERS):
        found = _images_and_masks(path)
    elif path.is_dir() and any((d / "images").is_dir() and (d / "masks").is_dir() for d in path.iterdir()):
        found = _dsb2018(path)
    elif path.is_dir() and any(path.glob("*_labels.tif*")):
        found = _label_pairs(path)
    else:
        raise NeuronsegError(
            f"{path}: no labelled images found (expected images/ + masks/ or labels/, the DSB2018 "
            "<id>/images + <id>/masks layout, X_image.tif + X_labels.tif pairs, or a Sartorius CSV)")
    if not found:
        raise NeuronsegError(f"{path}: the folder holds no labelled image")
    for item in found:
        if item.labels.max() == 0:
            raise NeuronsegError(f"{path}: {item.name} has empty labels (no cell marked)")
    return found


def image_files(path) -> list[Path]:
    """The image files to segment: ``path`` itself, or the images directly inside a folder."""
    path = Path(path)
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise NeuronsegError(f"{path}: no such file or folder")
    files = sorted(p for p in path.iterdir() if _is_image(p))
    if not files:
        raise NeuronsegError(f"{path}: no PNG, TIFF or JPEG image in this folder")
    return files
