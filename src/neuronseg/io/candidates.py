"""Candidate ROIs from another tool (Suite2p, CaImAn, any ROI file), with what that tool
keeps beside them: :class:`Candidates`, which the Suite2p and CaImAn readers return, and
:func:`candidate_kind`, which tells the three apart.
(:func:`neuronseg.curation.candidates.read_candidates` adds what curation computes from the movie.)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from neuronseg.errors import NeuronsegError
from neuronseg.roiset import RoiSet


@dataclass
class Candidates:
    """Candidate ROIs and the per-recording data a curation model may use.

    Attributes
    ----------
    rois : RoiSet
        Weighted footprints (Suite2p ``lam``, CaImAn ``A``), one per candidate.
    source : str
        "suite2p", "caiman" or "rois".
    path : Path
        What the user pointed at.
    traces : (n, T) float32 array or None
        Fluorescence per candidate (Suite2p ``F - c * Fneu``, CaImAn ``C + YrA``).
    mean_image, correlation_image, max_image : (H, W) float32 arrays or None
        Summary images of the movie the candidates came from (max_image: the max projection).
    tool_decision : (n,) bool array or None
        The tool's own cell / not-cell call (Suite2p ``iscell[:, 0]``, CaImAn ``idx_components``).
    movie_path : Path or None
        The movie (or Suite2p ``data.bin``) the images can be computed from.
    """

    rois: RoiSet
    source: str
    path: Path
    traces: np.ndarray | None = None
    mean_image: np.ndarray | None = None
    correlation_image: np.ndarray | None = None
    tool_decision: np.ndarray | None = None
    movie_path: Path | None = None
    max_image: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.rois)

    def subset(self, keep) -> "Candidates":
        idx = np.flatnonzero(keep) if np.asarray(keep).dtype == bool else np.asarray(keep, int)
        return Candidates(
            self.rois.subset(idx), self.source, self.path,
            None if self.traces is None else self.traces[idx],
            self.mean_image, self.correlation_image,
            None if self.tool_decision is None else self.tool_decision[idx],
            self.movie_path, self.max_image,
        )


def candidate_kind(path) -> str:
    """"suite2p", "caiman" or "rois", from what is at ``path``."""
    path = Path(path)
    if not path.exists():
        raise NeuronsegError(f"{path}: no such file or folder")
    if path.is_dir():
        if (path / "stat.npy").exists():
            return "suite2p"
        if (path / "plane0" / "stat.npy").exists():
            raise NeuronsegError(f"{path}: point at a plane folder, e.g. {path / 'plane0'}")
        raise NeuronsegError(f"{path}: not a Suite2p plane folder (no stat.npy)")
    if path.suffix.lower() in (".hdf5", ".h5", ".hdf"):
        return "caiman"
    return "rois"
