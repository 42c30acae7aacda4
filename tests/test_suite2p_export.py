"""Suite2p-compatible output: the plane folder, neuropil rings and OASIS spikes."""

import numpy as np
import pytest
from click.testing import CliRunner
from scipy.optimize import nnls

from neuronseg.cli import cli
from neuronseg.deconvolution import deconvolve, oasis_ar1
from neuronseg.io.rois import read_regions_json
from neuronseg.roiset import RoiSet
from neuronseg.io.suite2p import read_suite2p_plane
from neuronseg.traces import neuropil_rois


def test_oasis_finds_the_least_squares_ar1_solution():
    rng = np.random.default_rng(0)
    t, g = 200, 0.9
    s = (rng.random(t) < 0.05) * rng.uniform(1, 3, t)
    c = np.zeros(t)
    for i in range(t):
        c[i] = (g * c[i - 1] if i else 0) + s[i]
    y = c + rng.normal(0, 0.2, t)
    c_hat, s_hat = oasis_ar1(y, g)
    K = np.linalg.inv(np.eye(t) - g * np.eye(t, k=-1))  # calcium = K @ spikes
    s_ref, _ = nnls(K, y, maxiter=10 * t)
    assert ((c_hat - y) ** 2).sum() == pytest.approx(((K @ s_ref - y) ** 2).sum(), rel=1e-6)
    assert (s_hat >= 0).all() and np.corrcoef(s_hat, s)[0, 1] > 0.9


def test_deconvolve_ignores_slow_drift():
    fs, t = 10.0, 1200
    drift = 100 + 0.02 * np.arange(t)
    trace = drift.copy()
    trace[600:] += 30 * np.exp(-np.arange(600) / (1.0 * fs))  # one spike at frame 600, tau 1 s
    spikes = deconvolve(trace[None], fs, tau=1.0)[0]
    assert spikes.argmax() == 600 and spikes[600] > 0.8 * 30
    assert spikes[:590].sum() < 0.05 * spikes[600]


def test_neuropil_rings_avoid_every_cell():
    masks = np.zeros((3, 80, 80), bool)
    masks[0, 20:28, 20:28] = True
    masks[1, 20:28, 30:38] = True  # a close neighbour
    masks[2, 60:66, 60:66] = True
    rois = RoiSet.from_masks(masks)
    rings = neuropil_rois(rois, gap=2, min_pixels=200)
    cells = np.concatenate(rois.pixels)
    for ring, cell in zip(rings.pixels, rois.pixels):
        assert len(ring) >= 200 and not np.isin(ring, cells).any()
        assert np.isin(ring, cell).sum() == 0


def test_segment_writes_a_suite2p_plane_folder(tmp_path, small_recording):
    import tifffile

    movie = tmp_path / "movie.tif"
    tifffile.imwrite(movie, small_recording.movie)
    out, s2p = tmp_path / "out", tmp_path / "s2p"
    res = CliRunner().invoke(cli, ["segment", str(movie), "-o", str(out), "--method", "classical",
                                   "--suite2p-folder", str(s2p), "--fs", "7", "--tau", "0.7"])
    assert res.exit_code == 0, res.output
    plane = s2p / "plane0"
    assert {p.name for p in plane.iterdir()} >= {"stat.npy", "ops.npy", "iscell.npy", "F.npy", "Fneu.npy", "spks.npy"}
    back = read_suite2p_plane(plane)  # our reader of genuine Suite2p folders reads it
    ours = read_regions_json(out / "regions.json", back.rois.shape)
    assert len(back) == len(ours) > 0
    for a, b in zip(back.rois.pixels, ours.pixels):
        np.testing.assert_array_equal(a, b)
    F, Fneu, spks = (np.load(plane / f"{k}.npy") for k in ("F", "Fneu", "spks"))
    np.testing.assert_array_equal(F, np.load(out / "traces.npy"))
    assert F.shape == Fneu.shape == spks.shape and (spks >= 0).all() and spks.any()
    ops = np.load(plane / "ops.npy", allow_pickle=True).item()
    assert (ops["Ly"], ops["Lx"]) == back.rois.shape and ops["fs"] == 7.0 and ops["tau"] == 0.7
    assert ops["meanImg"].shape == ops["Vcorr"].shape == back.rois.shape
    stat = np.load(plane / "stat.npy", allow_pickle=True)
    assert {"ypix", "xpix", "lam", "med", "npix", "radius", "overlap", "soma_crop"} <= set(stat[0])
    assert np.load(plane / "iscell.npy").shape == (len(stat), 2)


def test_suite2p_folder_needs_the_frame_rate(tmp_path, small_recording):
    import tifffile

    movie = tmp_path / "movie.tif"
    tifffile.imwrite(movie, small_recording.movie)
    res = CliRunner().invoke(cli, ["segment", str(movie), "-o", str(tmp_path / "o"), "--suite2p-folder", str(tmp_path / "s")])
    assert res.exit_code == 2 and "--fs" in res.output and not (tmp_path / "o").exists()
