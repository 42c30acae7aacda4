"""Suite2p plane folders (``stat.npy``, ``ops.npy``, ``iscell.npy``, ``F.npy``, ``Fneu.npy``).

``stat.npy`` and ``ops.npy`` are pickled object arrays: loading them can run code that the
file carries. We unpickle them only from a folder the user named on the command line, as
Suite2p itself does; never from a folder found by searching.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from neuronseg.errors import NeuronsegError
from neuronseg.io.candidates import Candidates
from neuronseg.roiset import RoiSet

#: share of the surround (Fneu) subtracted from F: Suite2p's default, used when ops.npy does not say
NEUROPIL_COEFFICIENT = 0.7


def _load(path: Path, pickled: bool = False):
    """A Suite2p ``.npy``; ``pickled`` for the object arrays (stat, ops) that need it. A plain
    array must be numbers (``F``, ``Fneu``, ``iscell``)."""
    try:
        data = np.load(path, allow_pickle=pickled)
    except Exception as exc:   # a truncated or corrupt file fails anywhere in numpy or pickle
        raise NeuronsegError(f"{path}: not a readable Suite2p file ({type(exc).__name__}: {exc})") from None
    if not pickled and not (np.issubdtype(data.dtype, np.number) or data.dtype == bool):
        raise NeuronsegError(f"{path}: holds {data.dtype} values, not numbers")
    return data


def _load_pickled(path: Path):
    return _load(path, pickled=True)


def _neuropil_coefficient(ops: dict) -> float:
    extraction = ops.get("extraction")
    if isinstance(extraction, dict) and "neuropil_coefficient" in extraction:  # Suite2p ≥ 1.0
        return float(extraction["neuropil_coefficient"])
    return float(ops.get("neucoeff", NEUROPIL_COEFFICIENT))  # Suite2p 0.x


def read_suite2p_plane(folder) -> Candidates:
    """Candidates of a Suite2p plane folder: ROIs weighted by ``lam``, traces ``F - c·Fneu``,
    ``meanImg`` as the mean image, ``Vcorr`` and ``max_proj`` as the correlation image and the
    max projection, and ``iscell[:, 0]`` as the tool's decision.

    The registered movie ``data.bin``, when still in the folder, is noted so that summary
    images can be computed from it.
    """
    folder = Path(folder)
    stat = _load_pickled(folder / "stat.npy")
    if not (folder / "ops.npy").exists():
        raise NeuronsegError(f"{folder}: no ops.npy (Suite2p writes it beside stat.npy; it gives the field size)")
    ops = _load_pickled(folder / "ops.npy")
    ops = ops.item() if isinstance(ops, np.ndarray) and ops.dtype == object and ops.ndim == 0 else ops
    if not isinstance(ops, dict) or "Ly" not in ops or "Lx" not in ops:
        raise NeuronsegError(f"{folder / 'ops.npy'}: not Suite2p ops (no Ly, Lx)")
    try:
        shape = (int(ops["Ly"]), int(ops["Lx"]))
    except (TypeError, ValueError):
        shape = (0, 0)
    if min(shape) < 1:
        raise NeuronsegError(f"{folder / 'ops.npy'}: Ly, Lx ({ops['Ly']!r}, {ops['Lx']!r}) are not a field size")
    if ops.get("meanImg") is not None and np.shape(ops["meanImg"]) != shape:   # Suite2p writes it at (Ly, Lx)
        raise NeuronsegError(f"{folder / 'ops.npy'}: Ly, Lx say {shape[0]}×{shape[1]} but its meanImg is "
                             f"{'×'.join(map(str, np.shape(ops['meanImg'])))}")
    try:
        coords = [np.stack([np.asarray(s["ypix"]), np.asarray(s["xpix"])], axis=1) for s in stat]
        lam = [np.asarray(s["lam"], np.float32) for s in stat]
    except (KeyError, TypeError, IndexError, ValueError) as exc:
        raise NeuronsegError(f"{folder / 'stat.npy'}: entries lack matching ypix/xpix/lam ({exc})") from None
    if not coords:
        raise NeuronsegError(f"{folder / 'stat.npy'}: Suite2p found no ROIs; nothing to curate")
    rois = RoiSet.from_coordinates(coords, shape, lam)
    n = len(rois)

    traces = None
    if (folder / "F.npy").exists():
        F = _load(folder / "F.npy")
        if F.ndim != 2 or F.shape[0] != n:
            raise NeuronsegError(f"{folder}: F.npy has {F.shape[0]} rows for {n} ROIs in stat.npy")
        traces = F.astype(np.float32)
        if (folder / "Fneu.npy").exists():
            Fneu = _load(folder / "Fneu.npy")
            if Fneu.shape != F.shape:
                raise NeuronsegError(f"{folder}: Fneu.npy is {Fneu.shape} but F.npy {F.shape}")
            traces = traces - _neuropil_coefficient(ops) * Fneu.astype(np.float32)
    decision = None
    if (folder / "iscell.npy").exists():
        iscell = _load(folder / "iscell.npy")
        if iscell.ndim == 0 or len(iscell) != n:
            raise NeuronsegError(f"{folder}: iscell.npy has {len(iscell)} rows for {n} ROIs in stat.npy")
        decision = np.asarray(iscell).reshape(n, -1)[:, 0] > 0.5
    mean = ops.get("meanImg")
    mean = np.asarray(mean, np.float32) if mean is not None and np.shape(mean) == shape else None
    binary = folder / "data.bin"
    return Candidates(rois, "suite2p", folder, traces, mean, _registered_image(ops, "Vcorr", shape), decision,
                      binary if binary.exists() else None, _registered_image(ops, "max_proj", shape))


def _registered_image(ops: dict, key: str, shape) -> np.ndarray | None:
    """``ops[key]`` on the whole field. Suite2p computes ``Vcorr`` and ``max_proj`` only inside
    the part that stayed in view after registration (``yrange``, ``xrange``); the border
    outside gets the image's minimum. None when absent or of a size that fits neither."""
    img = ops.get(key)
    if img is None or np.ndim(img) != 2:
        return None
    img = np.asarray(img, np.float32)
    if img.shape == shape:
        return img
    try:
        (y0, y1), (x0, x1) = (int(v) for v in ops["yrange"][:2]), (int(v) for v in ops["xrange"][:2])
    except (KeyError, TypeError, ValueError):
        return None
    if img.shape != (y1 - y0, x1 - x0) or not (0 <= y0 and y1 <= shape[0] and 0 <= x0 and x1 <= shape[1]):
        return None
    full = np.full(shape, img.min(), np.float32)
    full[y0:y1, x0:x1] = img
    return full


def open_suite2p_binary(path):
    """Suite2p's registered movie ``data.bin`` (int16, frames × Ly × Lx) as a lazy Movie."""
    from neuronseg.io.movies import Movie, _ArrayReader

    path = Path(path)
    ops = _load_pickled(path.parent / "ops.npy").item()
    ly, lx = int(ops["Ly"]), int(ops["Lx"])
    n = path.stat().st_size // (2 * ly * lx)
    if n == 0:
        raise NeuronsegError(f"{path}: holds no whole {ly}×{lx} int16 frame")
    return Movie(path, _ArrayReader(np.memmap(path, np.int16, "r", shape=(n, ly, lx))))


def write_iscell(path, decision: np.ndarray, probability: np.ndarray) -> None:
    """``iscell.npy`` in Suite2p's layout: ``(n, 2)`` float of [decision 0/1, probability]."""
    out = np.stack([np.asarray(decision, np.float64), np.asarray(probability, np.float64)], axis=1)
    np.save(path, out)


def suite2p_stat(rois: RoiSet, compact: np.ndarray, skew: np.ndarray | None = None,
                 std: np.ndarray | None = None) -> np.ndarray:
    """Suite2p's ``stat`` (object array of dicts) for our ROIs: the keys its GUI reads
    (ypix, xpix, lam, med, npix, radius, overlap, soma_crop) and the shape/trace statistics
    its views colour by: ``compact`` (1 for a disk), ``aspect_ratio``, ``npix_norm`` and, when
    given, each trace's ``skew`` and ``std``."""
    counts = np.zeros(rois.shape[0] * rois.shape[1], np.int32)
    for p in rois.pixels:
        counts[p] += 1
    areas = rois.areas()
    stat = []
    for i in range(len(rois)):
        rc = rois.coordinates(i)
        lam = np.ones(len(rc), np.float32) if rois.weights is None else rois.weights[i].astype(np.float32)
        cov = np.cov(rc.T) if len(rc) > 2 else np.eye(2)
        ev = np.sqrt(np.clip(np.linalg.eigvalsh(cov), 1e-6, None))
        entry = {
            "ypix": rc[:, 0].astype(np.int32), "xpix": rc[:, 1].astype(np.int32), "lam": lam,
            "med": [int(np.median(rc[:, 0])), int(np.median(rc[:, 1]))], "npix": int(len(rc)),
            "radius": float(np.sqrt(len(rc) / np.pi)), "aspect_ratio": float(ev[-1] / ev[0]),
            "compact": float(compact[i]), "npix_norm": float(len(rc) / max(areas.mean(), 1)),
            "overlap": counts[rois.pixels[i]] > 1, "soma_crop": np.ones(len(rc), bool),
        }
        if skew is not None:
            entry["skew"] = float(skew[i])
        if std is not None:
            entry["std"] = float(std[i])
        stat.append(entry)
    out = np.empty(len(stat), dtype=object)
    out[:] = stat
    return out


def write_suite2p_plane(folder, stat: np.ndarray, shape, F: np.ndarray, Fneu: np.ndarray, spks: np.ndarray, summary,
                        fs: float, tau: float, diameter: float, iscell: np.ndarray | None = None,
                        neuropil_coefficient: float = NEUROPIL_COEFFICIENT) -> None:
    """A plane folder the Suite2p GUI opens: ``stat.npy`` (:func:`suite2p_stat`), ``ops.npy``,
    ``iscell.npy``, ``F.npy``, ``Fneu.npy``, ``spks.npy`` (ROIs × frames, float32) for a field of
    ``shape``; ``ops`` carries the ``summary`` images (``.mean``, ``.correlation``, ``.max``:
    ``meanImg``, ``Vcorr`` and ``max_proj``) over the full field."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    h, w = shape
    n, t = F.shape
    # writing Suite2p's own layout: object arrays of dicts need pickle (we only ever save them)
    np.save(folder / "stat.npy", stat, allow_pickle=True)
    ops = {
        "Ly": h, "Lx": w, "nframes": t, "fs": float(fs), "tau": float(tau), "diameter": [float(diameter)] * 2,
        "meanImg": summary.mean.astype(np.float32), "max_proj": summary.max.astype(np.float32),
        "Vcorr": summary.correlation.astype(np.float32), "yrange": [0, h], "xrange": [0, w],
        "neucoeff": neuropil_coefficient, "extraction": {"neuropil_coefficient": neuropil_coefficient},
        "save_path": str(folder), "data_path": [], "nplanes": 1, "nchannels": 1, "functional_chan": 1,
        "neuronseg": "written by neuronseg: ROIs, traces and images of a neuronseg segmentation",
    }
    np.save(folder / "ops.npy", np.array(ops, dtype=object), allow_pickle=True)
    if iscell is None:
        iscell = np.ones(n)
    write_iscell(folder / "iscell.npy", iscell > 0.5, iscell)
    for name, arr in (("F", F), ("Fneu", Fneu), ("spks", spks)):
        np.save(folder / f"{name}.npy", np.asarray(arr, np.float32))
