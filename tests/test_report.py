"""report.html: self-contained, shows what a person checks, and renders in headless Chromium."""

import re
import shutil
import subprocess

import numpy as np
import pytest
import tifffile
from click.testing import CliRunner

from neuronseg.cli import cli


@pytest.fixture(scope="module")
def report(tmp_path_factory, small_recording):
    tmp = tmp_path_factory.mktemp("r")
    small_recording.save(tmp / "rec")
    out = tmp / "out"
    res = CliRunner().invoke(cli, ["-q", "segment", str(tmp / "rec" / "movie.tif"), "-o", str(out), "--fs", "7",
                                   "--truth", str(tmp / "rec" / "regions.json")])
    assert res.exit_code == 0, res.output
    return out / "report.html"


def test_report_is_self_contained_and_complete(report):
    page = report.read_text(encoding="utf-8")
    # nothing fetched from elsewhere: every image is inlined
    assert not re.search(r'(src|href)="(?!data:)', page)
    assert page.count("data:image/png;base64,") == 4  # mean, correlation, zoomable overlay, raster
    assert page.count("<polyline") >= 1 and page.count("<rect") >= 20  # traces, two histograms
    for heading in ("Against the ground truth", "Raster", "Seconds per stage", "Parameters", "ROI sizes and SNR"):
        assert heading in page
    assert "7.0 Hz" in page and "combined" in page


def test_report_without_truth_or_cells(tmp_path):
    movie = np.random.default_rng(0).normal(100, 1, (30, 40, 40)).astype(np.float32)
    tifffile.imwrite(tmp_path / "noise.tif", movie)
    res = CliRunner().invoke(cli, ["-q", "segment", str(tmp_path / "noise.tif"), "-o", str(tmp_path / "o"),
                                   "--method", "classical"])
    assert res.exit_code == 0, res.output
    page = (tmp_path / "o" / "report.html").read_text(encoding="utf-8")
    assert "Against the ground truth" not in page and "Parameters" in page


def test_report_renders_in_headless_chromium(report, tmp_path):
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("chromium not installed (Debian package `chromium`)")
    flags = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr", "--v=0"]
    shot = tmp_path / "shot.png"
    run = subprocess.run(flags + ["--window-size=1200,1600", f"--screenshot={shot}", report.as_uri()],
                         capture_output=True, text=True, timeout=120)
    assert shot.exists(), run.stderr[-2000:]
    pixels = np.asarray(__import__("PIL.Image", fromlist=["Image"]).open(shot).convert("L"))
    assert pixels.std() > 10  # images and plots drawn, not a blank page
    dom = subprocess.run(flags + ["--dump-dom", report.as_uri()], capture_output=True, text=True, timeout=120)
    assert "neuronseg:" in dom.stdout and "<svg" in dom.stdout
    assert "Uncaught" not in dom.stderr  # the zoom script ran without a JavaScript error


def test_raster_and_overlay_pictures_are_figures_with_sorted_rois(tmp_path):
    from PIL import Image

    from neuronseg.results.pictures import overlay_figure, raster_figure, raster_order

    events = np.zeros((4, 50), bool)
    events[0, 30] = events[1, 5] = events[3, 5] = events[3, 40] = True   # ROI 2 never fires
    assert raster_order(events).tolist() == [3, 1, 0, 2]
    raster_figure(np.random.default_rng(0).random((4, 50)), events, tmp_path / "r.png", fs=10.0, title="x")
    overlay_figure(np.zeros((64, 96, 3), np.uint8), tmp_path / "o.png", "classical", 4, True, "x", um_per_px=1.2)
    for name in ("r.png", "o.png"):
        with Image.open(tmp_path / name) as im:
            assert im.size[0] >= 600   # sized for reading, not a 1-px-per-frame strip
