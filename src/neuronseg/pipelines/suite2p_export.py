"""A segmentation as a Suite2p plane folder, so a lab can check and curate it in Suite2p's GUI."""

from __future__ import annotations

from pathlib import Path

from neuronseg.deconvolution import deconvolve
from neuronseg.io.outputs import atomic_output_dir
from neuronseg.io.suite2p import write_suite2p_plane
from neuronseg.traces import NEUROPIL_COEFFICIENT


def export_suite2p(seg, folder, fs: float, tau: float = 1.0, diameter: float = 11.0, overwrite: bool = False) -> Path:
    """Write ``folder/plane0`` from ``seg`` (its traces and neuropil rings, from the traces
    pass of :func:`~neuronseg.pipelines.segment.segment_movie`); spikes by OASIS on
    ``F − 0.7·Fneu``."""
    with atomic_output_dir(folder, overwrite) as tmp:
        spks = deconvolve(seg.traces - NEUROPIL_COEFFICIENT * seg.neuropil, fs, tau)
        write_suite2p_plane(tmp / "plane0", seg.rois, seg.traces, seg.neuropil, spks, seg.summary, fs, tau, diameter)
    return Path(folder) / "plane0"
