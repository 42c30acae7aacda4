"""The result of `neuronseg segment`: its folder (the contract of DESIGN.md) and, when asked,
an NWB file and a Suite2p plane folder beside it. `segment`, `demo`, `batch` and the napari
widget all write through :func:`write_results`."""

from __future__ import annotations

import json
import platform
import time
from pathlib import Path

import numpy as np
import tifffile

from neuronseg.errors import NeuronsegError
from neuronseg.io.outputs import atomic_output_dir, check_writable
from neuronseg.io.rois import write_imagej_zip, write_label_tif, write_regions_json
from neuronseg.metrics import neurofinder_matches, neurofinder_scores
from neuronseg.results.pictures import overlay, overlay_figure, raster_figure
from neuronseg.roiset import RoiSet


def check_outputs(out, overwrite: bool = False, nwb=None, suite2p=None, fs: float | None = None) -> None:
    """Refuse, before any work, outputs that exist (without ``overwrite``) or cannot be
    written, and an NWB file or Suite2p folder without the frame rate they record."""
    check_writable(out, overwrite)
    if nwb is not None:
        check_writable(nwb, overwrite, is_file=True)
    if suite2p is not None:
        check_writable(suite2p, overwrite)
    if (nwb or suite2p) and not fs:
        raise NeuronsegError("--nwb and --suite2p-folder need the frame rate: pass --fs HZ")


def write_results(seg, out, source, overwrite: bool = False, truth: RoiSet | None = None, nwb=None,
                  suite2p=None, tau: float = 1.0, um_per_px: float | None = None) -> dict:
    """Write the result folder ``out`` of ``seg`` (a
    :class:`~neuronseg.pipelines.segment.Segmentation`) and, when given, the NWB file
    ``nwb`` and the Suite2p plane folder ``suite2p/plane0`` (spikes by OASIS with decay
    ``tau`` s); each is written under a temporary name and renamed into place. With
    ``truth`` the Neurofinder scores go into ``summary.json`` and the pictures colour
    found, extra and missed cells. Returns the summary dictionary."""
    if suite2p is not None:
        from neuronseg.results.suite2p import write_suite2p_folder

        write_suite2p_folder(seg, suite2p, tau, overwrite)
    summary = write_segmentation(seg, out, source, overwrite, truth, um_per_px)
    if nwb is not None:
        from neuronseg.results.nwb import write_nwb_file

        write_nwb_file(nwb, seg, source, overwrite)
    return summary


def write_segmentation(seg, out, source, overwrite: bool = False, truth: RoiSet | None = None,
                       um_per_px: float | None = None) -> dict:
    """Write ``regions.json``, ``labels.tif``, ``rois.zip`` (ImageJ), ``mean.tif``,
    ``correlation.tif``, ``traces.npy``, ``neuropil.npy``, ``dff.npy``, ``raster.npy`` (events,
    ROIs × frames), ``raster.png``, ``summary.json``, ``overlay.png`` and ``report.html``."""
    from neuronseg import __version__

    t0 = time.perf_counter()
    with atomic_output_dir(out, overwrite, "segment result") as tmp:
        write_regions_json(seg.rois, tmp / "regions.json")
        write_label_tif(seg.rois, tmp / "labels.tif")
        write_imagej_zip(seg.rois, tmp / "rois.zip")  # opens in Fiji's ROI Manager
        for name in ("mean", "correlation"):  # float32 summary images for Fiji and napari
            tifffile.imwrite(tmp / f"{name}.tif", getattr(seg.summary, name).astype(np.float32))
        np.save(tmp / "traces.npy", seg.traces.astype(np.float32))
        np.save(tmp / "dff.npy", seg.dff)
        np.save(tmp / "raster.npy", seg.events)
        if seg.neuropil is not None:
            np.save(tmp / "neuropil.npy", seg.neuropil.astype(np.float32))
        matches = scores = None
        if truth is not None:
            scores = neurofinder_scores(truth, seg.rois)
            matches = neurofinder_matches(truth, seg.rois)
        files = time.perf_counter()
        # the recording's name for the titles: its folder too, where files are all called movie.tif
        name = "simulated" if str(source).startswith("simulated") else "/".join(Path(str(source)).parts[-2:])
        raster_figure(seg.dff, seg.events, tmp / "raster.png", seg.fs, name)
        overlay_figure(overlay(seg.summary.mean, seg.rois, truth, matches), tmp / "overlay.png", seg.method,
                       len(seg.rois), truth is not None, name, um_per_px)
        pictures = time.perf_counter()
        summary = {
            "version": __version__,
            "method": seg.method,
            "input": str(source),
            "n_frames": int(seg.summary.n_frames),
            "frame_shape": list(seg.rois.shape),
            "n_rois": len(seg.rois),
            "n_events": int(seg.events.sum()),
            "frame_rate_hz": seg.fs,
            "diameter_px": None if seg.diameter is None else round(seg.diameter, 2),
            "diameter_estimated": seg.diameter_estimated,
            "um_per_px": um_per_px,
            "parameters": seg.parameters,
            "seconds": dict(seg.seconds, write=round(files - t0, 3), pictures=round(pictures - files, 3)),
            "peak_memory_mb": round(seg.peak_memory_mb, 1),
            "python": platform.python_version(),
        }
        if scores is not None:
            summary["scores"] = scores
        (tmp / "report.html").write_text(_report(seg, summary, truth, matches), encoding="utf-8")
        summary["seconds"]["report"] = round(time.perf_counter() - pictures, 3)
        (tmp / "summary.json").write_text(json.dumps(summary, indent=2))
    return summary


def _report(seg, summary, truth, matches) -> str:
    from neuronseg.results.report import html_report
    from neuronseg.traces import trace_features

    n_frames = seg.traces.shape[1]
    snr = trace_features(seg.traces)[:, 1] if len(seg.rois) and n_frames >= 3 else np.zeros(len(seg.rois))
    return html_report(seg, summary, seg.dff, snr, seg.fs, truth, matches)
