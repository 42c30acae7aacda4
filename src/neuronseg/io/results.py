"""The files `neuronseg segment` leaves in its output folder (the contract of DESIGN.md)."""

from __future__ import annotations

import json
import platform
import time

import numpy as np
import tifffile

from neuronseg.io.outputs import atomic_output_dir
from neuronseg.io.rois import write_imagej_zip, write_label_tif, write_regions_json
from neuronseg.roiset import RoiSet
from neuronseg.metrics import neurofinder_matches, neurofinder_scores
from neuronseg.report import overlay, save_png
from neuronseg.traces import activity


def write_segmentation(seg, out, source, overwrite: bool = False, truth: RoiSet | None = None,
                       fs: float | None = None, dff_raster: tuple | None = None) -> dict:
    """Write ``regions.json``, ``labels.tif``, ``rois.zip`` (ImageJ), ``mean.tif``,
    ``correlation.tif``, ``traces.npy``, ``neuropil.npy``, ``dff.npy``, ``raster.npy`` (events,
    ROIs × frames), ``raster.png``, ``summary.json``, ``overlay.png`` and ``report.html``.

    Everything goes to a temporary folder renamed to ``out`` at the end. With ``truth``
    the Neurofinder scores go into ``summary.json`` and the overlay colours matched,
    false and missed cells. ``dff_raster`` is :func:`neuronseg.traces.activity`'s result when
    the caller already has it. Returns the summary dictionary.
    """
    from neuronseg import __version__

    t0 = time.perf_counter()
    with atomic_output_dir(out, overwrite) as tmp:
        write_regions_json(seg.rois, tmp / "regions.json")
        write_label_tif(seg.rois, tmp / "labels.tif")
        write_imagej_zip(seg.rois, tmp / "rois.zip")  # opens in Fiji's ROI Manager
        for name in ("mean", "correlation"):  # float32 summary images for Fiji and napari
            tifffile.imwrite(tmp / f"{name}.tif", getattr(seg.summary, name).astype(np.float32))
        np.save(tmp / "traces.npy", seg.traces.astype(np.float32))
        dff, raster = dff_raster if dff_raster is not None else activity(seg.traces, seg.neuropil, fs)
        np.save(tmp / "dff.npy", dff)
        np.save(tmp / "raster.npy", raster)
        save_png(raster_image(raster), tmp / "raster.png", min_size=512)
        if seg.neuropil is not None:
            np.save(tmp / "neuropil.npy", seg.neuropil.astype(np.float32))
        matches = scores = None
        if truth is not None:
            scores = neurofinder_scores(truth, seg.rois)
            matches = neurofinder_matches(truth, seg.rois)
        save_png(overlay(seg.summary.mean, seg.rois, truth, matches), tmp / "overlay.png")
        summary = {
            "version": __version__,
            "method": seg.method,
            "input": str(source),
            "n_frames": int(seg.summary.n_frames),
            "frame_shape": list(seg.rois.shape),
            "n_rois": len(seg.rois),
            "n_events": int(raster.sum()),
            "frame_rate_hz": fs,
            "parameters": seg.parameters,
            "seconds": dict(seg.seconds, write=round(time.perf_counter() - t0, 3)),
            "peak_memory_mb": round(seg.peak_memory_mb, 1),
            "python": platform.python_version(),
        }
        if scores is not None:
            summary["scores"] = scores
        (tmp / "summary.json").write_text(json.dumps(summary, indent=2))
        (tmp / "report.html").write_text(_report(seg, summary, dff, fs, truth, matches), encoding="utf-8")
    return summary


def raster_image(raster: np.ndarray) -> np.ndarray:
    """ROIs × frames events as RGB: white ticks on black, long movies binned to ≤ 2000 columns."""
    n, t = raster.shape
    step = max(1, int(np.ceil(t / 2000)))
    r = raster[:, : t // step * step].reshape(n, -1, step).any(axis=2) if step > 1 and n else raster
    gray = (r * 255).astype(np.uint8)
    return np.repeat(gray[..., None], 3, axis=2) if n else np.zeros((1, max(t, 1), 3), np.uint8)


def _report(seg, summary, dff, fs, truth, matches) -> str:
    from neuronseg.traces import trace_features
    from neuronseg.html_report import html_report

    n_frames = seg.traces.shape[1]
    snr = trace_features(seg.traces)[:, 1] if len(seg.rois) and n_frames >= 3 else np.zeros(len(seg.rois))
    return html_report(seg, summary, dff, snr, fs, truth, matches)
