"""A segmentation as a Suite2p plane folder, so a lab can check and curate it in Suite2p's GUI."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from neuronseg.deconvolution import deconvolve
from neuronseg.io.outputs import atomic_output_dir
from neuronseg.io.suite2p import NEUROPIL_COEFFICIENT, suite2p_stat, write_suite2p_plane


def write_suite2p_folder(seg, folder, tau: float = 1.0, overwrite: bool = False) -> Path:
    """Write ``folder/plane0`` from ``seg`` (its traces and neuropil rings, from the traces
    pass of :func:`~neuronseg.pipelines.segment.segment_movie`); spikes by OASIS on
    ``F − 0.7·Fneu``; ``stat`` carries the compactness and trace statistics Suite2p's views
    colour by."""
    from neuronseg.curation.features import shape_features
    from neuronseg.traces import trace_features

    rois, F, Fneu = seg.rois, seg.traces, seg.neuropil
    corrected = F - NEUROPIL_COEFFICIENT * Fneu
    compact = shape_features(rois)[:, 1] if len(rois) else np.zeros(0)
    skew = std = None
    if len(rois):
        skew, std = trace_features(corrected)[:, 0], np.std(corrected, axis=1)
    with atomic_output_dir(folder, overwrite, "Suite2p folder") as tmp:
        spks = deconvolve(corrected, seg.fs, tau)
        write_suite2p_plane(tmp / "plane0", suite2p_stat(rois, compact, skew, std), rois.shape, F, Fneu, spks,
                            seg.summary, seg.fs, tau, seg.diameter)
    return Path(folder) / "plane0"
