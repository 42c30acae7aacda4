"""A segmentation as a Suite2p plane folder, so a lab can check and curate it in Suite2p's GUI."""

from __future__ import annotations

from pathlib import Path

from neuronseg.deconvolution import deconvolve
from neuronseg.io.outputs import atomic_output_dir
from neuronseg.io.suite2p import DEFAULT_NEUROPIL_COEFFICIENT, write_suite2p_plane
from neuronseg.progress import progress_bar
from neuronseg.traces import extract_traces, neuropil_rois


def export_suite2p(seg, movie, folder, fs: float, tau: float = 1.0, diameter: float = 11.0,
                   overwrite: bool = False) -> Path:
    """Write ``folder/plane0`` from ``seg`` and its ``movie``: neuropil traces from a ring around
    each ROI (from ``seg``, or one more pass over the movie), spikes by OASIS on ``F − 0.7·Fneu``."""
    with atomic_output_dir(folder, overwrite) as tmp:
        Fneu = seg.neuropil
        if Fneu is None:
            with progress_bar(movie.n_frames, "neuropil traces") as update:
                Fneu = extract_traces(movie.chunks(), neuropil_rois(seg.rois), movie.n_frames, update)
        spks = deconvolve(seg.traces - DEFAULT_NEUROPIL_COEFFICIENT * Fneu, fs, tau)
        write_suite2p_plane(tmp / "plane0", seg.rois, seg.traces, Fneu, spks, seg.summary, fs, tau, diameter)
    return Path(folder) / "plane0"
