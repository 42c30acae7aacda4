"""The jobs a user runs, each from files to a result: segment a movie file, curate another
tool's candidates, score one ROI file against another, simulate a recording. The command
line, `batch` and the napari widget call these, so the same options give the same folder
however a job is started."""

from __future__ import annotations

import logging
from pathlib import Path

from neuronseg.errors import NeuronsegError

log = logging.getLogger("neuronseg")


def segment_file(path, out, *, method: str | None = None, model=None, device: str = "cpu",
                 dataset: str | None = None, diameter: float | str = "auto", truth=None, nwb=None, suite2p=None,
                 fs: float | None = None, tau: float = 1.0, um_per_px: float | None = None,
                 memory_limit: float | None = None,
                 tile_size: int | None = None, scheduler: str | None = None, motion: str | None = None,
                 overwrite: bool = False) -> dict:
    """Segment the movie at ``path`` into the result folder ``out`` (and the NWB file
    ``nwb`` / Suite2p folder ``suite2p`` when given); the options are `neuronseg segment`'s.
    Outputs are checked before any work. Returns the folder's summary; its ``seconds`` hold
    every stage from the process's start (``startup``: interpreter and imports; ``open``:
    the movie and truth opened) to the last file written."""
    import time

    from neuronseg import IMPORTED_AT
    from neuronseg.io.movies import open_movie
    from neuronseg.io.rois import read_rois
    from neuronseg.pipelines.segment import segment_movie
    from neuronseg.results.folder import check_outputs, write_results

    began = time.perf_counter()
    check_outputs(out, overwrite, nwb, suite2p, fs)
    if scheduler and tile_size is None:
        raise NeuronsegError("--scheduler spreads the tiles of --tile-size; give --tile-size too")
    with open_movie(path, dataset) as movie:
        log.info(f"{path}: {movie.n_frames} frames of {movie.frame_shape[0]}×{movie.frame_shape[1]}")
        truth_rois = read_rois(truth, movie.frame_shape) if truth else None
        opened = time.perf_counter()
        client = None
        if scheduler:
            from dask.distributed import Client

            client = Client(scheduler)
        try:
            seg = segment_movie(movie, method, model=model, device=device, memory_limit_mb=memory_limit,
                                tile_size=tile_size, client=client, dataset=dataset, motion=motion, fs=fs,
                                diameter=diameter)
        finally:
            if client is not None:
                client.close()
    # the time before this job (imports) counts once per process: a batch worker's second
    # recording has none
    global _STARTUP_COUNTED
    before = {} if _STARTUP_COUNTED else {"startup": round(began - IMPORTED_AT, 3)}
    _STARTUP_COUNTED = True
    seg.seconds = {**before, "open": round(opened - began, 3), **seg.seconds}
    return write_results(seg, out, path, overwrite, truth_rois, nwb, suite2p, tau, um_per_px)


_STARTUP_COUNTED = False


def curate_file(source, out, *, precision: float = 0.9, model=None, movie=None, dataset: str | None = None,
                explain: int = 0, keep_duplicates: bool = False, truth=None, device: str = "cpu",
                overwrite: bool = False):
    """Curate the candidates of ``source`` into the folder ``out``; the options are
    `neuronseg curate`'s. Returns ``(summary, curation)``."""
    from neuronseg.io.outputs import check_writable
    from neuronseg.pipelines.curate import curate_source, truth_scores
    from neuronseg.results.curation import write_curation

    check_writable(out, overwrite)
    if explain < 0:
        raise NeuronsegError("--explain must be ≥ 0")
    cands, cmodel, result = curate_source(source, precision, model, movie, dataset, keep_duplicates, device)
    extra = {}
    if truth is not None:
        from neuronseg.io.rois import read_rois

        extra["scores"] = truth_scores(cands, result, read_rois(truth, cands.rois.shape))
    summary = write_curation(result, cands, out, overwrite, extra, explain=(cmodel, explain) if explain else None)
    return summary, result


def evaluate_files(truth, prediction, threshold: float = 5.0, detail: bool = False) -> dict:
    """The Neurofinder scores of ROI file ``prediction`` against ``truth``; with ``detail``
    also the counts and, per truth region, the index of its matched prediction (−1: missed)."""
    from neuronseg.io.rois import read_coordinates_to_score
    from neuronseg.metrics import neurofinder_matches, neurofinder_scores

    gt, pred = read_coordinates_to_score(truth, prediction), read_coordinates_to_score(prediction, truth)
    if not gt:
        raise NeuronsegError(f"{truth}: the ground truth holds no regions; nothing to score against")
    scores = neurofinder_scores(gt, pred, threshold)
    if not detail:
        return scores
    matches = neurofinder_matches(gt, pred, threshold) if pred else [-1] * len(gt)
    return {"scores": scores, "n_truth": len(gt), "n_prediction": len(pred), "matches": [int(m) for m in matches]}


def simulate_folder(out, frames: int = 600, shape=(256, 256), cells: int | None = None, seed: int = 0,
                    fs: float = 7.0, diameter: float = 10.0, density: float = 12.0,
                    active_fraction: float | None = None, tau: float = 0.7, neuropil_activity: float = 0.1,
                    onephoton: bool = False, overwrite: bool = False):
    """A simulated recording and its ground truth written into folder ``out``; returns it."""
    from neuronseg.io.outputs import atomic_output_dir
    from neuronseg.simulate import simulate

    if frames < 2 or min(shape) < 16 or (cells is not None and cells < 0):
        raise NeuronsegError("need --frames ≥ 2, --shape at least 16 16 and --cells ≥ 0")
    if onephoton and (diameter, density, tau, neuropil_activity) != (10.0, 12.0, 0.7, 0.1):
        raise NeuronsegError("--diameter, --density, --tau and --neuropil-activity set the two-photon simulator; "
                             "the one-photon one has 10-px somata (set --cells)")
    with atomic_output_dir(out, overwrite, "simulated recording") as tmp:
        rec = simulate(frames=frames, shape=shape, cells=cells, seed=seed, fs=fs, onephoton=onephoton,
                       diameter=diameter, density=density, active_fraction=active_fraction, tau=tau,
                       neuropil_activity=neuropil_activity)
        rec.save(tmp)
    return rec


def segment_summary_line(summary: dict, out, nwb=None, suite2p=None, truth=None) -> str:
    """What `segment` tells a person at the end."""
    line = f"{summary['n_rois']} cells → {out}"
    if nwb is not None:
        line += f" and {nwb}"
    if suite2p is not None:
        line += f" and {Path(suite2p) / 'plane0'}"
    if "scores" in summary:
        line += f"  (F1 {summary['scores']['combined']:.3f} against {truth})"
    return line
