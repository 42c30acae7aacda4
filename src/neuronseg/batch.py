"""`neuronseg batch`: many recordings on a Dask cluster (dask.distributed, not a home-made scheduler).

Each recording is one task that runs the ordinary `segment` or `curate` pipeline and writes
its own result folder atomically. A finished recording (its folder holds ``summary.json``) is
skipped on a rerun; a failed or interrupted one has no folder and runs again. A task catches
its recording's errors and reports them, so one bad recording never stops the others; a
worker that dies mid-task loses only that task, which Dask reruns on another worker.
"""

from __future__ import annotations

import csv
import json
import logging
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from neuronseg.errors import NeuronsegError
from neuronseg.io.outputs import make_folder, mark_output, plain_name, read_marker
from neuronseg.settings import parse

log = logging.getLogger(__name__)

JOBS = ("segment", "curate")
SUMMARY_FILE = "batch_summary.csv"


@dataclass
class Recording:
    """One manifest row: what to run on which file, with which options, into which folder."""

    path: str
    name: str
    job: str = "segment"
    options: dict = field(default_factory=dict)


def read_manifest(path) -> list[Recording]:
    """Recordings from a CSV (columns ``path``, optional ``name``, ``job``, then options such as
    ``method``, ``diameter``, ``fs``, ``motion``, ``movie``, ``precision``) or a YAML list of such mappings.
    Relative paths are taken relative to the manifest's folder."""
    path = Path(path)
    if not path.exists():
        raise NeuronsegError(f"{path}: no such manifest")
    if path.suffix.lower() in (".yaml", ".yml"):
        import yaml

        try:
            rows = yaml.safe_load(path.read_text()) or []
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            where = getattr(exc, "problem_mark", None)
            at = f" at line {where.line + 1}" if where is not None else ""
            raise NeuronsegError(f"{path}: not a readable YAML manifest{at} "
                                 f"({getattr(exc, 'problem', None) or type(exc).__name__})") from None
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            raise NeuronsegError(f"{path}: a YAML manifest is a list of mappings with at least 'path'")
    else:
        try:
            with open(path, newline="") as fh:
                rows = [{k: v for k, v in r.items() if v not in (None, "")} for r in csv.DictReader(fh)]
        except (UnicodeDecodeError, csv.Error) as exc:
            raise NeuronsegError(f"{path}: not a readable CSV manifest ({type(exc).__name__}: {exc})") from None
    recordings, names = [], set()
    for i, row in enumerate(rows):
        row = dict(row)
        if "path" not in row:
            raise NeuronsegError(f"{path}: row {i + 1} has no 'path'")
        rec_path = Path(str(row.pop("path")))
        rec_path = rec_path if rec_path.is_absolute() else path.parent / rec_path
        job = str(row.pop("job", "segment"))
        if job not in JOBS:
            raise NeuronsegError(f"{path}: row {i + 1}: job '{job}' is not one of {', '.join(JOBS)}")
        name = plain_name(row.pop("name", _default_name(rec_path, path.parent)), f"{path}: row {i + 1}: name")
        if name in names:
            raise NeuronsegError(f"{path}: two recordings are named '{name}'; give them distinct 'name's")
        names.add(name)
        options = parse(manifest_options(job), row, f"{path}: row {i + 1}: ")
        for key in ("movie", "model", "truth"):
            if options.get(key) is not None and not Path(str(options[key])).is_absolute():
                options[key] = path.parent / str(options[key])
        recordings.append(Recording(str(rec_path), name, job, options))
    if not recordings:
        raise NeuronsegError(f"{path}: the manifest lists no recordings")
    return recordings


#: options a manifest row may not set: where results go is the batch's (OUT/name), and a row
#: must not write files elsewhere nor pick the cluster
NOT_PER_ROW = ("out", "overwrite", "as_json", "nwb", "suite2p", "scheduler", "explain")


def manifest_options(job: str) -> tuple:
    """The settings a manifest row of ``job`` may give: the command's own, less :data:`NOT_PER_ROW`."""
    from neuronseg import settings

    table = settings.SEGMENT if job == "segment" else settings.CURATE
    return tuple(s for s in table if s.name not in NOT_PER_ROW)


def _default_name(rec_path: Path, base: Path) -> str:
    """``sim1/movie.tif`` → ``sim1_movie``: unique where the file names alone are not."""
    try:
        rel = rec_path.relative_to(base)
    except ValueError:
        rel = Path(rec_path.parent.name) / rec_path.name
    name = "_".join(rel.with_suffix("").parts) if rel.suffix else "_".join(rel.parts)
    return name.lstrip(".")   # a hidden folder's recording gets a visible result folder


def run_recording(rec: Recording, out_root: str, overwrite: bool = False) -> dict:
    """Run one recording into ``out_root/name`` (replacing a finished result with
    ``overwrite``); never raises (errors become the status)."""
    import resource

    from neuronseg import progress

    progress.QUIET = True  # workers have no terminal
    out = Path(out_root) / rec.name
    t0 = time.perf_counter()
    row = {"name": rec.name, "path": rec.path, "job": rec.job, "status": "done", "seconds": 0.0,
           "n_rois": None, "error": ""}
    try:
        if rec.job == "segment":
            from neuronseg.jobs import segment_file

            summary = segment_file(rec.path, out, **rec.options, overwrite=overwrite)
            row["n_rois"] = summary["n_rois"]
        else:
            from neuronseg.jobs import curate_file

            summary, _ = curate_file(rec.path, out, **rec.options, overwrite=overwrite)
            row["n_rois"] = summary["n_cells"]
    except NeuronsegError as exc:
        row.update(status="failed", error=str(exc))
    except Exception as exc:  # a bug or a library failure: report it, keep the batch going
        row.update(status="failed", error=f"{type(exc).__name__}: {exc}")
    row["seconds"] = round(time.perf_counter() - t0, 2)
    row["peak_memory_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return row


def run_batch(recordings: list[Recording], out, scheduler: str | None = None, workers: int = 2,
              threads_per_worker: int = 1, retries: int = 1, overwrite: bool = False) -> list[dict]:
    """Run every unfinished recording on Dask (every one with ``overwrite``, each finished
    result replaced only when neuronseg wrote it); write and return the summary table.

    ``out`` is a new folder, an empty one, or one an earlier batch wrote (a rerun fills it in).

    ``scheduler``: the address of a running dask scheduler (``tcp://host:8786``); by default
    a LocalCluster of ``workers`` processes is started and closed here.
    """
    from dask.distributed import Client, LocalCluster, as_completed

    if not log.isEnabledFor(logging.DEBUG):  # Dask's own lines only with --verbose
        for name in ("distributed", "tornado"):
            logging.getLogger(name).setLevel(logging.ERROR)
    out = Path(out)
    if out.is_dir() and any(out.iterdir()) and (read_marker(out) or {}).get("what") != "batch":
        raise NeuronsegError(f"{out} holds files that are not a neuronseg batch; choose another output folder")
    if out.exists() and not out.is_dir():
        raise NeuronsegError(f"{out} exists and is not a folder")
    make_folder(out, out)
    mark_output(out, "batch")
    rows, todo = {}, []
    for rec in recordings:
        if (out / rec.name / "summary.json").exists() and not overwrite:
            rows[rec.name] = {"name": rec.name, "path": rec.path, "job": rec.job, "status": "skipped (finished before)",
                              "seconds": 0.0, "n_rois": _finished_count(out / rec.name), "error": ""}
        else:
            todo.append(rec)
            for stale in out.glob(f".{rec.name}.*.partial"):  # left by a worker killed mid-write
                shutil.rmtree(stale, ignore_errors=True)
    log.info(f"{len(todo)} to run, {len(recordings) - len(todo)} finished before")
    if todo:
        cluster = None if scheduler else LocalCluster(n_workers=workers, threads_per_worker=threads_per_worker,
                                                      processes=True, dashboard_address=None)
        try:
            with Client(scheduler or cluster) as client:
                futures = {client.submit(run_recording, rec, str(out), overwrite, key=f"neuronseg-{rec.name}-{time.time_ns()}",
                                         retries=retries, pure=False): rec for rec in todo}
                for future in as_completed(futures):
                    rec = futures[future]
                    try:
                        row = future.result()
                    except Exception as exc:  # the task itself was lost (e.g. its workers died every time)
                        row = {"name": rec.name, "path": rec.path, "job": rec.job, "status": "failed",
                               "seconds": 0.0, "n_rois": None, "error": f"task lost: {type(exc).__name__}: {exc}"}
                    rows[rec.name] = row
                    log.info(f"{row['name']}: {row['status']} ({row['seconds']} s){' ' + row['error'] if row['error'] else ''}")
        finally:
            if cluster is not None:
                cluster.close()
    table = [rows[rec.name] for rec in recordings]
    _write_summary(out / SUMMARY_FILE, table)
    mark_output(out, "batch")
    return table


def _finished_count(folder: Path):
    summary = json.loads((folder / "summary.json").read_text())
    return summary.get("n_rois", summary.get("n_cells"))


def _write_summary(path: Path, table: list[dict]) -> None:
    columns = ["name", "path", "job", "status", "seconds", "n_rois", "peak_memory_mb", "error"]
    from neuronseg.io.outputs import atomic_output_file

    with atomic_output_file(path, overwrite=True) as tmp, open(tmp, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(table)


__all__ = ["Recording", "read_manifest", "run_batch", "run_recording"]
