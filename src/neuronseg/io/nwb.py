"""Neurodata Without Borders: a segmentation written as an NWB ``ophys`` module, and the
imaging series of an NWB file read as a movie.

Axis convention, as NWB's ``TwoPhotonSeries`` (frames × x × y) and Suite2p's NWB export
use it: ``x`` is the first image axis (our row), ``y`` the second (our column). Pixel masks
are ``(x, y, weight)`` rows; ``RoiResponseSeries`` data is time × ROIs.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from neuronseg.errors import NeuronsegError

SERIES_TYPES = ("TwoPhotonSeries", "OnePhotonSeries")


def imaging_series(f) -> dict:
    """``{name: data dataset}`` of the imaging series in an open NWB (h5py) file."""
    found = {}
    for group_name in ("acquisition", "processing"):
        if group_name not in f:
            continue

        def visit(name, obj, prefix=group_name):
            nd_type = obj.attrs.get("neurodata_type", b"")
            nd_type = nd_type.decode() if isinstance(nd_type, bytes) else str(nd_type)
            if nd_type in SERIES_TYPES and "data" in obj and getattr(obj["data"], "ndim", 0) >= 3:
                found[name.split("/")[-1]] = obj["data"]

        f[group_name].visititems(visit)
    return found


def nwb_series_dataset(f, path, name: str | None):
    """The data of the imaging series ``name`` (or the only one) of an open NWB file."""
    series = imaging_series(f)
    if name is None:
        if len(series) != 1:
            raise NeuronsegError(
                f"{path}: name the imaging series with --dataset (found: {', '.join(series)})" if series
                else f"{path}: holds no imaging series (TwoPhotonSeries / OnePhotonSeries) to segment; "
                     "an NWB file of results, such as `segment --nwb` writes, keeps no movie"
            )
        return next(iter(series.values()))
    if name not in series:
        raise NeuronsegError(f"{path}: no imaging series '{name}' (found: {', '.join(series) or 'none'})")
    return series[name]


def write_nwb(path, seg, source, fs: float, dff: np.ndarray | None = None, description: str = "") -> None:
    """Write ``seg`` (a :class:`~neuronseg.pipelines.segment.Segmentation`) to a new NWB file.

    ``ophys`` holds ``ImageSegmentation/PlaneSegmentation`` (weighted pixel masks),
    ``Fluorescence/RoiResponseSeries`` (time × ROIs), ``DfOverF/RoiResponseSeries`` when
    ``dff`` is given, and ``SummaryImages`` (mean, correlation, max, std).
    """
    from pynwb import NWBHDF5IO, NWBFile
    from pynwb.base import Images
    from pynwb.image import GrayscaleImage
    from pynwb.ophys import DfOverF, Fluorescence, ImageSegmentation, OpticalChannel, RoiResponseSeries

    from neuronseg import __version__

    if not fs or fs <= 0:
        raise NeuronsegError("NWB needs the frame rate: pass --fs HZ")
    h, w = seg.rois.shape
    nwb = NWBFile(
        session_description=description or f"neuronseg {seg.method} segmentation of {Path(str(source)).name}",
        identifier=str(uuid.uuid4()),
        session_start_time=datetime.now(timezone.utc),
        source_script=f"neuronseg {__version__}",
        source_script_file_name="neuronseg",
    )
    device = nwb.create_device(name="Microscope", description="not recorded by neuronseg")
    plane = nwb.create_imaging_plane(
        name="ImagingPlane", optical_channel=OpticalChannel(name="Green", description="not recorded", emission_lambda=np.nan),
        description=f"{h}×{w} field of {source}", device=device, excitation_lambda=np.nan,
        indicator="unknown", location="unknown", imaging_rate=float(fs),
    )
    ophys = nwb.create_processing_module(name="ophys", description=f"neuronseg {seg.method} results")
    segmentation = ImageSegmentation(name="ImageSegmentation")
    ophys.add(segmentation)
    ps = segmentation.create_plane_segmentation(
        name="PlaneSegmentation", description=f"neuronseg {seg.method}", imaging_plane=plane)
    for i in range(len(seg.rois)):
        rc = seg.rois.coordinates(i)
        wt = np.ones(len(rc)) if seg.rois.weights is None else seg.rois.weights[i]
        ps.add_roi(pixel_mask=[(int(r), int(c), float(v)) for (r, c), v in zip(rc, wt)])
    if len(seg.rois):
        region = ps.create_roi_table_region(region=list(range(len(seg.rois))), description="all ROIs")
        fluo = Fluorescence(name="Fluorescence")
        ophys.add(fluo)  # in the file before its series link to the ROI table
        fluo.add_roi_response_series(RoiResponseSeries(
            name="RoiResponseSeries", data=np.ascontiguousarray(seg.traces.T, np.float32), rois=region,
            unit="a.u.", rate=float(fs), description="weighted mean fluorescence of each ROI"))
        if dff is not None:
            d = DfOverF(name="DfOverF")
            ophys.add(d)
            d.add_roi_response_series(RoiResponseSeries(
                name="RoiResponseSeries", data=np.ascontiguousarray(dff.T, np.float32), rois=region,
                unit="n.a.", rate=float(fs), description="ΔF/F of the neuropil-corrected trace against a running 8th percentile (60 s)"))
    images = Images(name="SummaryImages", description="summary images of the movie")
    for name in ("mean", "correlation", "max", "std"):
        images.add_image(GrayscaleImage(name=name, data=np.asarray(getattr(seg.summary, name), np.float32)))
    ophys.add(images)
    path = Path(path)
    with NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)


def read_nwb_segmentation(path) -> tuple:
    """``(RoiSet, traces (ROIs × time) or None)`` from an NWB file's ``ophys`` module."""
    from pynwb import NWBHDF5IO

    from neuronseg.roiset import RoiSet

    with NWBHDF5IO(str(path), "r") as io:
        nwb = io.read()
        try:
            ophys = nwb.processing["ophys"]
            ps = ophys["ImageSegmentation"]["PlaneSegmentation"]
        except KeyError:
            raise NeuronsegError(f"{path}: no ophys/ImageSegmentation/PlaneSegmentation") from None
        plane = ps.imaging_plane
        shape = None
        if "SummaryImages" in ophys.data_interfaces:
            shape = np.asarray(ophys["SummaryImages"]["mean"].data).shape
        masks = [np.asarray(ps["pixel_mask"][i]) for i in range(len(ps))]
        if shape is None:
            raise NeuronsegError(f"{path}: field size unknown (no SummaryImages/mean) in {plane.name}")
        coords = [np.stack([m["x"], m["y"]], axis=1) if m.dtype.names else m[:, :2] for m in masks]
        weights = [np.asarray(m["weight"] if m.dtype.names else m[:, 2], np.float32) for m in masks]
        traces = None
        if "Fluorescence" in ophys.data_interfaces:
            traces = np.asarray(ophys["Fluorescence"]["RoiResponseSeries"].data).T
    return RoiSet.from_coordinates(coords, shape, weights), traces
