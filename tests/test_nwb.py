"""NWB: a segmentation round-trips losslessly, validates, and NWB imaging series open as movies."""

from datetime import datetime, timezone

import numpy as np
import pytest
from click.testing import CliRunner

from neuronseg.cli import cli
from neuronseg.errors import NeuronsegError
from neuronseg.io.movies import open_movie
from neuronseg.io.nwb import read_nwb_segmentation, write_nwb
from neuronseg.io.rois import read_regions_json
from neuronseg.traces import delta_f_over_f


@pytest.fixture(scope="module")
def segmented(small_recording, tmp_path_factory):
    from neuronseg.io.movies import Movie, _ArrayReader
    from neuronseg.pipelines.segment import segment_movie

    movie = Movie(tmp_path_factory.mktemp("m") / "sim", _ArrayReader(small_recording.movie))
    return segment_movie(movie, "classical")


def test_segmentation_round_trips_and_validates(segmented, tmp_path):
    from pynwb import NWBHDF5IO, validate

    path = tmp_path / "seg.nwb"
    dff = delta_f_over_f(segmented.traces, fs=7.0)
    write_nwb(path, segmented, "sim.tif", fs=7.0, dff=dff)
    assert validate(path=str(path)) == []
    with pytest.raises(NeuronsegError, match="no imaging series"):   # results, not a movie: said so
        open_movie(path)
    rois, traces = read_nwb_segmentation(path)
    assert rois.shape == segmented.rois.shape and len(rois) == len(segmented.rois) > 0
    for a, b in zip(rois.pixels, segmented.rois.pixels):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(traces, segmented.traces)  # float32 both ways: lossless
    with NWBHDF5IO(str(path), "r") as io:
        nwb = io.read()
        ophys = nwb.processing["ophys"]
        series = ophys["Fluorescence"]["RoiResponseSeries"]
        assert series.data.shape == (segmented.traces.shape[1], len(rois))  # time × ROIs
        np.testing.assert_allclose(ophys["DfOverF"]["RoiResponseSeries"].data[:], dff.T)
        np.testing.assert_array_equal(ophys["SummaryImages"]["mean"].data[:], segmented.summary.mean)


def _two_photon_nwb(path, movie):
    from pynwb import NWBHDF5IO, NWBFile
    from pynwb.ophys import OpticalChannel, TwoPhotonSeries

    nwb = NWBFile(session_description="t", identifier="t", session_start_time=datetime.now(timezone.utc))
    device = nwb.create_device(name="scope")
    plane = nwb.create_imaging_plane(name="plane", optical_channel=OpticalChannel(name="g", description="g", emission_lambda=500.0),
                                     description="p", device=device, excitation_lambda=900.0, indicator="GCaMP6",
                                     location="V1", imaging_rate=7.0)
    nwb.add_acquisition(TwoPhotonSeries(name="TwoPhotonSeries", data=movie, imaging_plane=plane, rate=7.0, unit="n.a."))
    with NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)


def test_two_photon_series_opens_as_a_movie(tmp_path, small_recording):
    path = tmp_path / "rec.nwb"
    _two_photon_nwb(path, small_recording.movie[:40])
    with open_movie(path) as movie:
        assert movie.shape == (40,) + small_recording.movie.shape[1:]
        np.testing.assert_array_equal(movie[5:7], small_recording.movie[5:7])
    with pytest.raises(NeuronsegError, match="no imaging series 'Other'"):
        open_movie(path, "Other")


def test_segment_writes_nwb_and_refuses_to_overwrite(tmp_path, small_recording):
    _two_photon_nwb(tmp_path / "rec.nwb", small_recording.movie)
    args = ["segment", str(tmp_path / "rec.nwb"), "-o", str(tmp_path / "out"), "--nwb", str(tmp_path / "out.nwb")]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 2 and "--fs" in res.output and not (tmp_path / "out").exists()
    res = CliRunner().invoke(cli, args + ["--fs", "7"])
    assert res.exit_code == 0, res.output
    rois, _ = read_nwb_segmentation(tmp_path / "out.nwb")
    assert len(rois) == len(read_regions_json(tmp_path / "out" / "regions.json", rois.shape))
    assert not list(tmp_path.glob(".*partial*"))
    res = CliRunner().invoke(cli, args[:4] + ["-o", str(tmp_path / "out2"), "--nwb", str(tmp_path / "out.nwb"), "--fs", "7"])
    assert res.exit_code == 2 and "already exists" in res.output
