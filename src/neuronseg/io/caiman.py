"""CaImAn results files (``cnm.save(...)`` HDF5): ``estimates/A`` and friends.

``A`` is stored as the parts of a scipy CSC matrix of shape (pixels, components); a pixel
index is in Fortran (column-major) order of ``dims``, i.e. ``row + col * H``.
"""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
from scipy import sparse

from neuronseg.errors import NeuronsegError
from neuronseg.io.candidates import Candidates
from neuronseg.roiset import RoiSet


def _dims(f) -> tuple[int, int]:
    for key in ("dims", "estimates/dims", "params/data/dims"):
        if key in f and np.size(f[key][()]) >= 2:
            return tuple(int(v) for v in np.asarray(f[key][()]).ravel()[:2])
    raise NeuronsegError("no 'dims' in the file; is it a CaImAn results file?")


def _array(f, key):
    node = f.get(key)
    if not isinstance(node, h5py.Dataset) or node.shape in ((), (0,)):
        return None  # CaImAn writes missing fields as empty or scalar "NoneType" entries
    return node[()]


def _read_estimates(f, path):
    """``A`` (pixels × components), ``(h, w)`` and the optional estimates of an open file."""
    if "estimates/A" not in f:
        raise NeuronsegError(f"{path}: no estimates/A; is it a CaImAn results file (cnm.save)?")
    try:
        h, w = _dims(f)
    except NeuronsegError as exc:
        raise NeuronsegError(f"{path}: {exc}") from None
    a = f["estimates/A"]
    try:
        A = sparse.csc_matrix((a["data"][()], a["indices"][()], a["indptr"][()]), shape=tuple(a["shape"][()]))
    except (KeyError, ValueError) as exc:
        raise NeuronsegError(f"{path}: estimates/A is not a sparse matrix ({exc})") from None
    if A.shape[0] != h * w:
        raise NeuronsegError(f"{path}: estimates/A has {A.shape[0]} pixels for dims {h}×{w}")
    C, YrA = _array(f, "estimates/C"), _array(f, "estimates/YrA")
    b, fb = _array(f, "estimates/b"), _array(f, "estimates/f")
    accepted = _array(f, "estimates/idx_components")
    return A, (h, w), C, YrA, b, fb, accepted


def read_caiman_results(path) -> Candidates:
    """Candidates of a CaImAn results file: footprints ``A``, traces ``C + YrA``,
    ``idx_components`` as the tool's decision, and the mean image rebuilt from the model
    (``b·mean(f) + A·mean(C)``, which lacks the residual; pass the movie for the true one)."""
    path = Path(path)
    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise NeuronsegError(f"{path}: not a readable HDF5 file ({exc})") from None
    try:
        with f:
            A, (h, w), C, YrA, b, fb, accepted = _read_estimates(f, path)
    except NeuronsegError:
        raise
    except Exception as exc:   # a damaged file fails anywhere inside HDF5 (bad nodes, short reads)
        raise NeuronsegError(f"{path}: not a readable CaImAn results file ({type(exc).__name__}: {exc})") from None
    try:
        return _candidates(path, A, h, w, C, YrA, b, fb, accepted)
    except (ValueError, IndexError, TypeError) as exc:   # estimates whose sizes disagree
        raise NeuronsegError(f"{path}: its estimates do not fit together ({type(exc).__name__}: {exc})") from None


def _candidates(path, A, h, w, C, YrA, b, fb, accepted) -> Candidates:
    n = A.shape[1]
    if n == 0:
        raise NeuronsegError(f"{path}: CaImAn found no components; nothing to curate")
    pixels, weights = [], []
    for k in range(n):
        col = A.getcol(k).tocoo()
        keep = col.data > 0
        flat = col.row[keep]
        row, colidx = flat % h, flat // h  # Fortran order
        order = np.argsort(row * w + colidx)
        pixels.append((row * w + colidx)[order])
        weights.append(col.data[keep][order].astype(np.float32))
    rois = RoiSet((h, w), pixels, weights)
    traces = None
    if C is not None and C.shape[0] == n:
        traces = (C + (YrA if YrA is not None and YrA.shape == C.shape else 0)).astype(np.float32)
    mean = None
    if C is not None and b is not None and fb is not None and b.shape[0] == h * w:
        flat_mean = b @ fb.mean(axis=1) + A @ C.mean(axis=1)
        mean = np.asarray(flat_mean, np.float32).reshape((h, w), order="F")
    decision = None
    if accepted is not None:
        decision = np.zeros(n, bool)
        decision[np.asarray(accepted, int)] = True
    return Candidates(rois, "caiman", path, traces, mean, None, decision)
