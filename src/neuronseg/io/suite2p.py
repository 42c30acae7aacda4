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
from neuronseg.io.rois import RoiSet

DEFAULT_NEUROPIL_COEFFICIENT = 0.7  #: Suite2p's default, used when ops.npy does not say


def _load_pickled(path: Path):
    try:
        return np.load(path, allow_pickle=True)
    except Exception as exc:
        raise NeuronsegError(f"{path}: not a readable Suite2p file ({type(exc).__name__}: {exc})") from None


def _neuropil_coefficient(ops: dict) -> float:
    extraction = ops.get("extraction")
    if isinstance(extraction, dict) and "neuropil_coefficient" in extraction:  # Suite2p ≥ 1.0
        return float(extraction["neuropil_coefficient"])
    return float(ops.get("neucoeff", DEFAULT_NEUROPIL_COEFFICIENT))  # Suite2p 0.x


def read_suite2p_plane(folder) -> Candidates:
    """Candidates of a Suite2p plane folder: ROIs weighted by ``lam``, traces ``F - c·Fneu``,
    ``meanImg`` as the mean image and ``iscell[:, 0]`` as the tool's decision.

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
    shape = (int(ops["Ly"]), int(ops["Lx"]))
    try:
        coords = [np.stack([np.asarray(s["ypix"]), np.asarray(s["xpix"])], axis=1) for s in stat]
        lam = [np.asarray(s["lam"], np.float32) for s in stat]
    except (KeyError, TypeError, IndexError) as exc:
        raise NeuronsegError(f"{folder / 'stat.npy'}: entries lack ypix/xpix/lam ({exc})") from None
    if not coords:
        raise NeuronsegError(f"{folder / 'stat.npy'}: Suite2p found no ROIs; nothing to curate")
    rois = RoiSet.from_coordinates(coords, shape, lam)
    n = len(rois)

    traces = None
    if (folder / "F.npy").exists():
        F = np.load(folder / "F.npy")
        if F.shape[0] != n:
            raise NeuronsegError(f"{folder}: F.npy has {F.shape[0]} rows for {n} ROIs in stat.npy")
        traces = F.astype(np.float32)
        if (folder / "Fneu.npy").exists():
            traces = traces - _neuropil_coefficient(ops) * np.load(folder / "Fneu.npy").astype(np.float32)
    decision = None
    if (folder / "iscell.npy").exists():
        iscell = np.load(folder / "iscell.npy")
        if len(iscell) != n:
            raise NeuronsegError(f"{folder}: iscell.npy has {len(iscell)} rows for {n} ROIs in stat.npy")
        decision = np.asarray(iscell).reshape(n, -1)[:, 0] > 0.5
    mean = ops.get("meanImg")
    mean = np.asarray(mean, np.float32) if mean is not None and np.shape(mean) == shape else None
    binary = folder / "data.bin"
    return Candidates(rois, "suite2p", folder, traces, mean, None, decision,
                      binary if binary.exists() else None)


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
