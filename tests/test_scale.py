"""Zarr conversion and many recordings with Dask (`convert`, `batch`)."""

import csv

import numpy as np
import pytest
import tifffile
from click.testing import CliRunner

from neuronseg.cli import cli
from neuronseg.errors import NeuronsegError
from neuronseg.io.movies import open_movie
from neuronseg.batch import read_manifest, run_batch


def test_convert_copies_the_movie_into_time_chunked_zarr(tmp_path, small_recording):
    import zarr

    tifffile.imwrite(tmp_path / "m.tif", small_recording.movie, compression="zlib")
    res = CliRunner().invoke(cli, ["convert", str(tmp_path / "m.tif"), str(tmp_path / "m.zarr"), "--chunk-frames", "64"])
    assert res.exit_code == 0, res.output
    array = zarr.open_group(str(tmp_path / "m.zarr"), mode="r")["movie"]
    assert array.chunks == (64,) + small_recording.movie.shape[1:]  # whole frames, time chunks
    with open_movie(tmp_path / "m.zarr") as movie:
        np.testing.assert_array_equal(movie[:], small_recording.movie)
    again = CliRunner().invoke(cli, ["convert", str(tmp_path / "m.tif"), str(tmp_path / "m.zarr")])
    assert again.exit_code == 2 and "already exists" in again.output


@pytest.mark.parametrize("row,message", [
    ("diamter: 9", "unknown option 'diamter' (did you mean 'diameter'?)"),
    ("tile_size: 0", "--tile-size"),
    ("keep_duplicates: true", "unknown option 'keep_duplicates'"),      # a curate option on a segment row
    ("nwb: /elsewhere/x.nwb", "unknown option 'nwb'"),                  # rows write only into OUT/name
    ("method: suite2p", "--method is one of"),
])
def test_a_manifest_column_the_job_cannot_use_is_refused_naming_the_row(tmp_path, row, message):
    (tmp_path / "m.yaml").write_text(f"- path: a.tif\n- path: b.tif\n  {row}\n")
    with pytest.raises(NeuronsegError, match="row 2: ") as info:
        read_manifest(tmp_path / "m.yaml")
    assert message in str(info.value)


def test_every_manifest_option_reaches_the_job(tmp_path, monkeypatch):
    """Each option a manifest accepts arrives, converted, at the job function."""
    import neuronseg.jobs as jobs
    from neuronseg.batch import manifest_options, run_recording

    seen = {}
    monkeypatch.setattr(jobs, "segment_file", lambda path, out, **kw: seen.setdefault("segment", kw) and {"n_rois": 0})
    monkeypatch.setattr(jobs, "curate_file",
                        lambda path, out, **kw: (seen.setdefault("curate", kw), None) and ({"n_cells": 0}, None))
    for job in ("segment", "curate"):
        (tmp_path / "t.json").write_text("[]")
        values = {"method": "classical", "model": "m", "device": "cpu", "dataset": "d", "diameter": "12",
                  "truth": "t.json", "fs": "30", "tau": "1.5", "memory_limit": "500", "tile_size": "128",
                  "motion": "rigid", "precision": "0.8", "movie": "t.json", "keep_duplicates": "true",
                  "um_per_px": "0.8"}
        row = {s.name: values[s.name] for s in manifest_options(job)}
        (tmp_path / f"{job}.csv").write_text("path,job," + ",".join(row) + "\nx.tif," + job + ","
                                             + ",".join(row.values()) + "\n")
        rec = read_manifest(tmp_path / f"{job}.csv")[0]
        run_recording(rec, str(tmp_path / f"out_{job}"))
        got = seen[job]
        assert set(got) == set(row) | {"overwrite"}, job
        for name, text in row.items():
            assert got[name] not in (None, text) or name in ("device", "dataset", "method", "motion"), (job, name)


def test_manifest_rows_become_recordings(tmp_path):
    (tmp_path / "m.yaml").write_text("- path: a/movie.tif\n  diameter: 9\n- {path: b/movie.tif, job: curate, movie: b.tif}\n")
    recs = read_manifest(tmp_path / "m.yaml")
    assert [r.name for r in recs] == ["a_movie", "b_movie"]  # unique names from the paths
    assert recs[0].options == {"diameter": 9} and recs[1].job == "curate"
    assert recs[1].options["movie"] == tmp_path / "b.tif"  # relative to the manifest
    (tmp_path / "bad.csv").write_text("path,job\nx.tif,train\n")
    with pytest.raises(NeuronsegError, match="job 'train'"):
        read_manifest(tmp_path / "bad.csv")
    (tmp_path / "broken.yaml").write_text("- path: a.tif\n- [unclosed\n")
    with pytest.raises(NeuronsegError, match="not a readable YAML manifest at line"):
        read_manifest(tmp_path / "broken.yaml")
    (tmp_path / "binary.csv").write_bytes(bytes(range(128, 256)))
    with pytest.raises(NeuronsegError, match="not a readable CSV manifest"):
        read_manifest(tmp_path / "binary.csv")


def test_batch_runs_skips_finished_and_reports_failures(tmp_path, small_recording):
    for i in range(3):
        (tmp_path / f"r{i}").mkdir()
        tifffile.imwrite(tmp_path / f"r{i}" / "movie.tif", small_recording.movie[:, i * 8 :, :])
    (tmp_path / "broken.tif").write_bytes(b"not a tiff")
    manifest = tmp_path / "m.csv"
    manifest.write_text("path,fs\nr0/movie.tif,7\nr1/movie.tif,7\nr2/movie.tif,\nbroken.tif,\n")
    out = tmp_path / "out"
    table = run_batch(read_manifest(manifest), out, workers=2)
    status = {r["name"]: r["status"] for r in table}
    assert status == {"r0_movie": "done", "r1_movie": "done", "r2_movie": "done", "broken": "failed"}
    assert all((out / n / "summary.json").exists() for n in ("r0_movie", "r1_movie", "r2_movie"))
    assert not (out / "broken").exists()  # nothing half-written
    with open(out / "batch_summary.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["status"] for r in rows] == ["done", "done", "done", "failed"] and int(rows[0]["n_rois"]) > 0
    # a rerun runs only what is not finished
    again = run_batch(read_manifest(manifest), out, workers=1)
    assert [r["status"] for r in again] == ["skipped (finished before)"] * 3 + ["failed"]
    res = CliRunner().invoke(cli, ["batch", str(manifest), "-o", str(out), "--workers", "1"])
    assert res.exit_code == 1 and "1 of 4 recordings failed" in res.output


def test_memory_limit_sets_the_chunks_not_the_result(tmp_path, small_recording):
    from neuronseg.io.movies import Movie, _ArrayReader
    from neuronseg.pipelines.segment import chunk_frames_for, segment_movie

    assert chunk_frames_for(None, (96, 96), np.uint16) is None
    assert chunk_frames_for(10, (96, 96), np.uint16) < chunk_frames_for(100, (96, 96), np.uint16)
    movie = Movie(tmp_path / "sim", _ArrayReader(small_recording.movie))
    free = segment_movie(movie, "classical")
    tight = segment_movie(movie, "classical", memory_limit_mb=3)  # chunks of a few frames
    assert [p.tolist() for p in tight.rois.pixels] == [p.tolist() for p in free.rois.pixels]
    np.testing.assert_allclose(tight.traces, free.traces, rtol=1e-5)
    with pytest.raises(NeuronsegError, match="too small"):
        segment_movie(movie, "classical", memory_limit_mb=0.5)


def test_tiled_summary_gives_the_same_cells(tmp_path, small_recording):
    from neuronseg.io.movies import Movie, _ArrayReader
    from neuronseg.pipelines.segment import segment_movie
    from neuronseg.pipelines.tiles import tile_grid

    tiles = tile_grid((96, 96), 40)
    assert len(tiles) == 9 and tiles[4].core == (40, 80, 40, 80) and tiles[4].outer == (36, 84, 36, 84)
    movie = Movie(tmp_path / "sim", _ArrayReader(small_recording.movie))
    whole = segment_movie(movie, "classical")
    tiled = segment_movie(movie, "classical", tile_size=40)
    np.testing.assert_allclose(tiled.summary.correlation, whole.summary.correlation, atol=1e-5)
    assert [p.tolist() for p in tiled.rois.pixels] == [p.tolist() for p in whole.rois.pixels]
    with pytest.raises(NeuronsegError, match="at least 8"):
        segment_movie(movie, "classical", tile_size=4)


def test_tiles_as_dask_tasks(tmp_path, small_recording):
    from dask.distributed import Client, LocalCluster

    from neuronseg.pipelines.segment import segment_movie

    path = tmp_path / "m.zarr"
    tifffile.imwrite(tmp_path / "m.tif", small_recording.movie)
    CliRunner().invoke(cli, ["convert", str(tmp_path / "m.tif"), str(path)])
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster, \
            Client(cluster) as client, open_movie(path) as movie:
        tiled = segment_movie(movie, "classical", tile_size=48, client=client)
        whole = segment_movie(movie, "classical")
    assert [p.tolist() for p in tiled.rois.pixels] == [p.tolist() for p in whole.rois.pixels]


def test_batch_passes_the_frame_rate_and_registration_to_segment(tmp_path, small_recording, monkeypatch):
    import neuronseg.pipelines.segment as segment
    from neuronseg.batch import run_recording

    seen = {}
    real = segment.segment_movie

    def spy(movie, *args, **kwargs):
        seen.update(kwargs)
        return real(movie, *args, **kwargs)

    monkeypatch.setattr(segment, "segment_movie", spy)
    tifffile.imwrite(tmp_path / "m.tif", small_recording.movie)
    (tmp_path / "m.csv").write_text("path,fs,motion\nm.tif,7.5,rigid\n")
    [rec] = read_manifest(tmp_path / "m.csv")
    row = run_recording(rec, str(tmp_path / "out"))
    assert row["status"] == "done", row
    assert seen["fs"] == 7.5 and seen["motion"] == "rigid"


def test_batch_refuses_an_output_it_cannot_write(tmp_path, small_recording):
    tifffile.imwrite(tmp_path / "m.tif", small_recording.movie)
    (tmp_path / "m.csv").write_text("path\nm.tif\n")
    (tmp_path / "afile").write_text("x")
    for out, message in ((tmp_path / "afile", "is not a folder"), (tmp_path / "afile" / "b", "cannot write")):
        with pytest.raises(NeuronsegError, match=message):
            run_batch(read_manifest(tmp_path / "m.csv"), out, workers=1)
