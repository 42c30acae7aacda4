"""`neuronseg demo`: the main job, start to finish, on a small real recording shipped here."""

from __future__ import annotations

import tempfile
from importlib import resources
from pathlib import Path

from neuronseg.io.movies import open_movie
from neuronseg.io.outputs import check_writable
from neuronseg.io.rois import read_regions_json
from neuronseg.pipelines.segment import segment_movie
from neuronseg.results.folder import write_results


#: every file of a segment result folder, the one to open first first
OUTPUTS = (
    ("report.html", "open this first: one page with the images, the cells, traces, raster and scores"),
    ("overlay.png", "the cells drawn on the mean image (green found, amber extra, red missed)"),
    ("raster.png", "when each cell fired (events, cells × time)"),
    ("regions.json", "the masks, Neurofinder format ([row, col] per pixel)"),
    ("labels.tif", "the masks as a label image (uint16, 0 = background; napari, Fiji)"),
    ("rois.zip", "the masks for Fiji's ROI Manager"),
    ("traces.npy", "fluorescence of each cell (cells × frames)"),
    ("neuropil.npy", "fluorescence of a ring around each cell"),
    ("dff.npy", "ΔF/F of each cell, neuropil subtracted"),
    ("raster.npy", "the events as a boolean array (cells × frames)"),
    ("mean.tif", "the mean image (float32)"),
    ("correlation.tif", "the local correlation image (float32)"),
    ("summary.json", "method, parameters, cell size, seconds per stage, scores"),
    ("demo.txt", "this text"),
)


def demo_files() -> tuple[Path, Path]:
    """Paths of the shipped demo movie and its expert ``regions.json``."""
    root = resources.files("neuronseg") / "data" / "demo"
    return Path(str(root / "movie.tif")), Path(str(root / "regions.json"))


def run_demo(out, simulated: bool = False, overwrite: bool = False, seed: int = 0) -> dict:
    """Segment the demo recording (or a fresh simulated one), score it, write ``out``.

    Returns the summary dictionary plus ``text``: what a person reads at the end.
    """
    out = check_writable(out, overwrite)
    with tempfile.TemporaryDirectory() as tmp:
        if simulated:
            from neuronseg.simulate import simulate

            rec = simulate(frames=300, shape=(128, 128), cells=25, seed=seed)
            rec.save(tmp)
            movie_path, truth_path = Path(tmp) / "movie.tif", Path(tmp) / "regions.json"
            what = f"a simulated two-photon movie (seed {seed})"
            # the temporary movie is gone when the run ends: record how to make it again
            source = f"simulated: neuronseg simulate OUT --frames 300 --shape 128 128 --cells 25 --seed {seed}"
        else:
            movie_path, truth_path = demo_files()
            what = "a real two-photon recording (Neurofinder, 128×128 crop, expert labels)"
            source = movie_path
        with open_movie(movie_path) as movie:
            truth = read_regions_json(truth_path, movie.frame_shape)
            seg = segment_movie(movie)
        summary = write_results(seg, out, source, overwrite, truth)
    s = summary["scores"]
    seconds = sum(summary["seconds"].values())
    lines = [
        f"neuronseg demo: {what}",
        f"  method {summary['method']}: {summary['n_rois']} cells found, {len(truth)} labelled, in {seconds:.1f} s",
        f"  Neurofinder F1 {s['combined']:.3f}  (precision {s['precision']:.3f}, recall {s['recall']:.3f})",
        f"  results in {out}/:",
        *(f"    {name:<16}{what}" for name, what in OUTPUTS),
    ]
    text = "\n".join(lines)
    (out / "demo.txt").write_text(text + "\n")
    return dict(summary, text=text)
