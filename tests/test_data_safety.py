"""Mistakes and hostile files cost nothing: --overwrite replaces only what neuronseg wrote,
names taken from files never reach outside the output folder."""

import json

import numpy as np
import pytest
import tifffile
from click.testing import CliRunner

from neuronseg.cli import cli


@pytest.fixture
def runner():
    return CliRunner()


@pytest.fixture
def movie_file(tmp_path, small_recording):
    p = tmp_path / "movie.tif"
    tifffile.imwrite(p, small_recording.movie[:60])
    return p


def _segment(runner, movie, out, *extra):
    return runner.invoke(cli, ["-q", "segment", str(movie), "-o", str(out), "--method", "classical", *extra])


def test_overwrite_through_a_link_replaces_the_link_not_the_folder_behind_it(runner, tmp_path, movie_file):
    target = tmp_path / "target"
    target.mkdir()
    (target / "data.txt").write_text("precious")
    link = tmp_path / "link"
    link.symlink_to(target)
    r = _segment(runner, movie_file, link, "--overwrite")
    assert r.exit_code == 0, r.output
    assert [p.name for p in target.iterdir()] == ["data.txt"] and (target / "data.txt").read_text() == "precious"
    assert not link.is_symlink() and (link / "regions.json").exists()


def test_overwrite_refuses_a_result_folder_into_which_the_user_put_a_file(runner, tmp_path, movie_file):
    out = tmp_path / "out"
    assert _segment(runner, movie_file, out).exit_code == 0
    marker = json.loads((out / ".neuronseg.json").read_text())
    assert marker["written_by"] == "neuronseg" and "regions.json" in marker["files"]
    (out / "my_notes.txt").write_text("keep me")
    r = _segment(runner, movie_file, out, "--overwrite")
    assert r.exit_code == 2 and "my_notes.txt" in r.output and len(r.output.strip().splitlines()) == 1
    assert (out / "my_notes.txt").read_text() == "keep me" and (out / "regions.json").exists()


def test_overwrite_never_replaces_an_nwb_file_neuronseg_did_not_write(runner, tmp_path, movie_file):
    theirs = tmp_path / "session.nwb"
    theirs.write_bytes(b"an NWB file of the lab's own")
    r = _segment(runner, movie_file, tmp_path / "a", "--fs", "7", "--nwb", str(theirs), "--overwrite")
    assert r.exit_code == 2 and "not a file neuronseg wrote" in r.output
    assert theirs.read_bytes() == b"an NWB file of the lab's own" and not (tmp_path / "a").exists()
    ours = tmp_path / "ours.nwb"
    for out in ("b", "c"):   # its own NWB file is replaced
        assert _segment(runner, movie_file, tmp_path / out, "--fs", "7", "--nwb", str(ours), "--overwrite").exit_code == 0
    assert ours.exists()


def test_training_overwrite_refuses_a_folder_neuronseg_did_not_write(runner, tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "weights.pt").write_text("my own weights")
    r = runner.invoke(cli, ["-q", "train", "disco", "--data", str(tmp_path), "-o", str(mine), "--overwrite"])
    assert r.exit_code == 2 and "neuronseg did not write" in r.output
    assert (mine / "weights.pt").read_text() == "my own weights"


@pytest.mark.parametrize("name", ["../escape", "/tmp/elsewhere", "a/b", "..", ".hidden", "bad\nname", "tab\tname"])
def test_a_manifest_name_that_is_not_a_plain_name_is_refused_before_any_work(runner, tmp_path, movie_file, name):
    manifest = tmp_path / "manifest.yaml"
    import yaml

    manifest.write_text(yaml.safe_dump([{"path": str(movie_file), "name": "fine"},
                                        {"path": str(movie_file), "name": name}]))
    r = runner.invoke(cli, ["-q", "batch", str(manifest), "-o", str(tmp_path / "results")])
    assert r.exit_code == 2 and "row 2" in r.output and "not a plain name" in r.output, r.output
    assert len(r.output.strip().splitlines()) == 1
    assert not (tmp_path / "results").exists() and not (tmp_path / "escape").exists()


def test_batch_refuses_an_output_folder_that_holds_other_files(runner, tmp_path, movie_file):
    out = tmp_path / "experiments"
    out.mkdir()
    (out / "notes.txt").write_text("a lab's notes")
    manifest = tmp_path / "m.csv"
    manifest.write_text(f"path,name\n{movie_file},one\n")
    r = runner.invoke(cli, ["-q", "batch", str(manifest), "-o", str(out)])
    assert r.exit_code == 2 and "not a neuronseg batch" in r.output
    assert [p.name for p in out.iterdir()] == ["notes.txt"]


def test_an_image_whose_name_holds_control_characters_is_refused(runner, tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    tifffile.imwrite(folder / "bad\nname.tif", np.zeros((64, 64), np.uint8))
    r = runner.invoke(cli, ["-q", "image", "segment", str(folder), "-o", str(tmp_path / "out")])
    assert r.exit_code == 2 and "not a plain name" in r.output and not (tmp_path / "out").exists()


def test_every_option_a_message_or_the_readme_names_exists():
    """A message that says "try --chunk" when there is no --chunk sends a user nowhere."""
    import ast
    import re
    from pathlib import Path

    import click

    import neuronseg

    options = {"--help", "--index-url"}   # pip's, in README's install line

    def walk(command):
        for p in command.params:
            if isinstance(p, click.Option):
                options.update(p.opts + p.secondary_opts)
        for sub in getattr(command, "commands", {}).values():
            walk(sub)

    walk(cli)
    named = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")
    unknown = set()
    for f in Path(neuronseg.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(f.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                unknown |= {(f.name, o) for o in named.findall(node.value) if o not in options}
    readme = Path(neuronseg.__file__).parents[2] / "README.md"
    if readme.exists():
        unknown |= {("README.md", o) for o in named.findall(readme.read_text()) if o not in options}
    assert unknown == set()


def _sparse_bigtiff(path, shape):
    """A BigTIFF declaring ``shape`` whose pages were never written: the file system keeps it sparse."""
    m = tifffile.memmap(path, shape=shape, dtype=np.uint16, bigtiff=True)
    del m
    return path


def test_a_field_too_large_for_memory_is_refused_before_any_work(runner, tmp_path, monkeypatch):
    import neuronseg.movie.memory as memory

    monkeypatch.setattr(memory, "available_mb", lambda: 8192.0)   # as on a laptop, whatever this machine has
    huge = _sparse_bigtiff(tmp_path / "huge.tif", (40, 20000, 20000))
    for method in ("classical", "disco"):
        r = runner.invoke(cli, ["-q", "segment", str(huge), "-o", str(tmp_path / "out"), "--method", method])
        assert r.exit_code == 2 and "20000×20000 field" in r.output and "8.0 GB available" in r.output, r.output
        assert len(r.output.strip().splitlines()) == 1 and "Traceback" not in r.output
    assert "--method classical needs about" in r.output   # DISCo is told what needs less
    assert not (tmp_path / "out").exists()


def test_a_field_that_fits_only_in_tiles_is_tiled_by_itself_with_the_same_cells(small_recording, monkeypatch):
    import neuronseg.movie.memory as memory
    from neuronseg.io.movies import movie_from_array
    from neuronseg.pipelines.segment import segment_movie

    movie = movie_from_array(small_recording.movie)
    whole = segment_movie(movie, "classical")
    chunk = min(movie.n_frames, 10**9)
    untiled = memory.estimate_mb("classical", movie.frame_shape, chunk)
    tiled = memory.estimate_mb("classical", movie.frame_shape, chunk, tiled=True)
    assert tiled < untiled
    monkeypatch.setattr(memory, "available_mb", lambda: (tiled + untiled) / 2)
    fitted = segment_movie(movie, "classical")
    assert whole.parameters["memory"]["tile_size"] is None and fitted.parameters["memory"]["tile_size"] == 96
    assert [p.tolist() for p in fitted.rois.pixels] == [p.tolist() for p in whole.rois.pixels]


def test_a_zip_entry_that_would_expand_hugely_is_refused_before_it_is_read(runner, tmp_path):
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    from fuzz_cases import zip_bomb

    labels = tmp_path / "labels.tif"
    tifffile.imwrite(labels, np.zeros((32, 32), np.uint16))
    bomb = zip_bomb(tmp_path / "rois.zip", np.random.default_rng(0))
    assert bomb.stat().st_size < 5 * 2**20   # a few MB that would become 1 GB
    r = runner.invoke(cli, ["-q", "evaluate", str(labels), str(bomb)])
    assert r.exit_code == 2 and "expands to 1024 MB" in r.output
