"""The one-photon method: frame filters, training targets, training, the streaming pipeline, the CLI."""

import json

import numpy as np
import pytest
import torch
from scipy import ndimage as ndi

from neuronseg.errors import NeuronsegError
from neuronseg.io.movies import movie_from_array
from neuronseg.movie.filters import FrameFilter, Normaliser, bin_frames, clahe, filter_frames
from neuronseg.simulate import simulate
from neuronseg.train.onephoton import (OnePhotonTrainParams, active_cells, calcium_of, sample_from_partial_labels,
                                       sample_from_simulation, train_onephoton)


@pytest.fixture(scope="module")
def onephoton_recording():
    return simulate(frames=80, shape=(64, 64), cells=8, seed=7, onephoton=True)


def test_clahe_spans_the_range_and_survives_a_hot_pixel_and_a_flat_frame():
    rng = np.random.default_rng(0)
    frame = rng.normal(100, 5, (64, 64))
    frame[3, 3] = 1e6                      # one hot pixel must not squash every other grey level
    out = clahe(frame, 32, 0.01)
    assert out.dtype == np.float32 and 0 <= out.min() and out.max() <= 1
    assert np.percentile(out, 95) - np.percentile(out, 5) > 0.3
    assert not clahe(np.full((32, 32), 7.0), 32, 0.01).any()


def test_filters_remove_a_bright_haze_but_keep_a_cell():
    yy, xx = np.mgrid[:96, :96]
    haze = 500 * np.exp(-((yy - 20) ** 2 + (xx - 70) ** 2) / (2 * 40.0 ** 2))
    cell = 30 * np.exp(-((yy - 60) ** 2 + (xx - 30) ** 2) / (2 * 3.0 ** 2))
    out = filter_frames(np.stack([haze + cell + 100]), FrameFilter())[0]
    peak = np.unravel_index(np.argmax(out), out.shape)
    assert abs(peak[0] - 60) <= 2 and abs(peak[1] - 30) <= 2      # the cell, not the haze, is brightest
    assert out[20, 70] < 0.9 * out[60, 30]       # the haze top was 17× the cell before


def test_bin_frames_averages_groups_and_keeps_a_short_tail():
    frames = np.arange(7, dtype=np.float32)[:, None, None] * np.ones((1, 2, 2), np.float32)
    binned = bin_frames(frames, 3)
    assert binned.shape == (3, 2, 2)
    assert binned[:, 0, 0].tolist() == [1.0, 4.0, 6.0]
    assert bin_frames(frames, 1) is frames


def test_chunked_filtering_equals_filtering_the_whole_movie():
    from neuronseg.movie.filters import filtered_chunks

    rng = np.random.default_rng(3)
    movie = rng.normal(100, 5, (101, 32, 32)).astype(np.float32)
    params = FrameFilter(temporal_bin=4, detrend=2.0)
    read = lambda a, b: movie[a:b]  # noqa: E731
    whole = np.concatenate(list(filtered_chunks(read, 101, params, chunk=10**6)))
    seen = []
    counted = lambda a, b: seen.append(b - a) or movie[a:b]  # noqa: E731
    parts = list(filtered_chunks(counted, 101, params, chunk=12))
    assert whole.shape == (26, 32, 32) and len(parts) > 5         # 25 full bins and a last partial one, streamed
    np.testing.assert_allclose(np.concatenate(parts), whole, atol=1e-5)
    assert sum(seen) == 101                                        # every frame filtered once
    # the normaliser's window is filtered once and served again to the stream
    from neuronseg.movie.filters import BinCache, fit_normaliser

    seen.clear()
    cache = BinCache()
    norm = fit_normaliser(counted, 101, params, n_bins=10, keep=cache)
    reused = np.concatenate(list(filtered_chunks(counted, 101, params, chunk=12, reuse=cache)))
    np.testing.assert_allclose(reused, whole, atol=1e-5)
    assert sum(seen) == 101 and cache.frames is None               # the window was not read twice; then freed
    np.testing.assert_allclose(norm.median, np.median(whole[8:18], axis=0), atol=1e-5)
    # detrending removes a slow drift of the whole field
    drift = movie + np.linspace(0, 500, 101, dtype=np.float32)[:, None, None] * rng.random((1, 32, 32), np.float32)
    kept = np.concatenate(list(filtered_chunks(lambda a, b: drift[a:b], 101, params)))
    assert np.abs(kept[5:-5].mean(axis=(1, 2))).max() < 0.01


def test_normaliser_centres_each_pixel_and_scales_by_the_noise():
    rng = np.random.default_rng(1)
    frames = rng.normal(0, 2.0, (300, 16, 16)) + np.linspace(0, 50, 16)[None, None, :]
    z = Normaliser.fit(frames)(frames)
    assert np.abs(np.median(z, axis=0)).max() < 0.2                # every pixel's median is 0
    assert 0.9 < z.std() < 1.1                                     # in units of the noise


def test_training_targets_of_a_simulation_follow_its_calcium(onephoton_recording):
    rec = onephoton_recording
    calcium = calcium_of(rec)
    assert calcium.min() == pytest.approx(0, abs=1e-6)
    active = active_cells(rec, 0.5)
    assert set(active) == set(np.flatnonzero(calcium.max(axis=1) >= 0.5))
    assert not set(active) & set(np.flatnonzero(rec.spikes.sum(axis=1) == 0))   # a cell that never fired is not active
    params = OnePhotonTrainParams()
    s = sample_from_simulation(rec, FrameFilter(temporal_bin=2), params, "sim")
    assert s.frames.shape == (40, 64, 64) and s.frame_targets.shape == (40, 64, 64)
    assert len(np.unique(s.labels)) - 1 == len(active)
    # a frame where exactly cell i is lit marks its mask
    binned = bin_frames(calcium.T[:, :, None], 2)[:, :, 0]
    i, t = np.unravel_index(np.argmax(binned), binned.shape)[::-1]
    mask = rec.rois.to_labels() == i + 1
    assert s.frame_targets[t][mask].mean() > 0.9


def test_partial_labels_leave_unlabelled_cells_out_of_the_loss():
    rng = np.random.default_rng(2)
    yy, xx = np.mgrid[:64, :64]
    blob = lambda r, c: np.exp(-((yy - r) ** 2 + (xx - c) ** 2) / 8.0)
    movie = rng.normal(50, 1, (60, 64, 64))
    movie[10:14] += 40 * blob(20, 20)        # a labelled cell fires
    movie[30:34] += 40 * blob(44, 44)        # an unlabelled one fires too
    labels = np.zeros((64, 64), np.int32)
    labels[blob(20, 20) > 0.3] = 1
    s = sample_from_partial_labels(movie, labels, FrameFilter(temporal_bin=1), "real")
    assert s.known[20, 20] == 1 and s.active[20, 20] == 1        # labelled: a known positive
    assert s.known[44, 44] == 0                                  # the unlabelled cell: unknown
    assert s.known[20, 24] == 1 and s.active[20, 24] == 0        # the rim of the labelled cell: a negative
    assert s.known.mean() > 0.3 and s.active[s.known > 0].mean() < 0.2   # the quiet rest: known negatives
    with pytest.raises(NeuronsegError, match="no ROI"):
        sample_from_partial_labels(movie, np.zeros((64, 64), int), FrameFilter(), "empty")
    for rows, message in (((50, 10), "not a band"), ((0, 8), "not a band"), ((0, 80), "not a band"),
                          ((40, 64), "hold no labelled ROI")):
        with pytest.raises(NeuronsegError, match=message):
            sample_from_partial_labels(movie, labels, FrameFilter(temporal_bin=1), "real", rows=rows)


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory, onephoton_recording):
    """A one-photon model trained for a few steps: enough to test the plumbing, not the accuracy."""
    filt = FrameFilter(temporal_bin=2)
    params = OnePhotonTrainParams(frame_steps=12, gru_steps=4, frame_crop=48, gru_crop=32, frame_batch=2, gru_batch=2)
    from neuronseg.nets.onephoton import OnePhotonConfig

    cfg = OnePhotonConfig(base_width=4, depth=3, filter=filt.to_dict())
    train = [sample_from_simulation(onephoton_recording, filt, params, "train")]
    # a partly labelled "real" movie: the simulation with only two of its cells labelled
    some = onephoton_recording.rois.subset([0, 1]).to_labels()
    train.append(sample_from_partial_labels(onephoton_recording.movie, some, filt, "real", rows=(0, 48)))
    val = [sample_from_simulation(simulate(frames=60, shape=(48, 48), cells=6, seed=8, onephoton=True),
                                  filt, params, "val")]
    out = tmp_path_factory.mktemp("op") / "model"
    record = train_onephoton(out, train, val, params, cfg)
    return out, record


def test_training_writes_a_model_folder_that_loads_without_pickle(tiny_model):
    from neuronseg.pipelines.onephoton import OnePhotonModel

    out, record = tiny_model
    assert {"weights.pt", "config.json", "thresholds.json", "training.json"} <= {p.name for p in out.iterdir()}
    state = torch.load(out / "weights.pt", weights_only=True)
    assert any(k.startswith("gru.") for k in state) and any(k.startswith("frame_net.") for k in state)
    thresholds = json.loads((out / "thresholds.json").read_text())
    assert set(record["validation_f1"]) == {"active", "max", "mean"}
    assert record["val"] == ["val", "real"]          # thresholds also fit the partly labelled band
    assert 0 < thresholds["active"] < 1
    model = OnePhotonModel.load(out)
    assert model.config.base_width == 4


def test_a_model_whose_weights_do_not_fit_its_config_is_refused(tiny_model, tmp_path):
    import shutil

    from neuronseg.pipelines.onephoton import OnePhotonModel

    bad = tmp_path / "bad"
    shutil.copytree(tiny_model[0], bad)
    config = json.loads((bad / "config.json").read_text())
    (bad / "config.json").write_text(json.dumps({**config, "base_width": 8}))
    with pytest.raises(NeuronsegError, match="do not fit"):
        OnePhotonModel.load(bad)


def test_streamed_prediction_matches_one_chunk_and_gives_probabilities(tiny_model, onephoton_recording):
    from neuronseg.pipelines.onephoton import OnePhotonModel

    model = OnePhotonModel.load(tiny_model[0])
    movie = movie_from_array(onephoton_recording.movie)
    whole = model.predict(movie, chunk=80)
    chunked = model.predict(movie, chunk=14)       # rounded to whole bins; the GRU state crosses chunks
    np.testing.assert_allclose(whole.active, chunked.active, atol=1e-5)
    np.testing.assert_allclose(whole.mean, chunked.mean, atol=1e-5)
    for m in (whole.active, whole.max, whole.mean):
        assert m.shape == (64, 64) and 0 <= m.min() and m.max() <= 1
    assert np.all(whole.max >= whole.mean - 1e-6)
    with pytest.raises(NeuronsegError, match="at least 4 frames"):
        model.predict(movie_from_array(onephoton_recording.movie[:3]))


def test_segment_registers_as_the_model_asks_unless_told_otherwise(tiny_model, onephoton_recording):
    from neuronseg.pipelines.onephoton import OnePhotonModel
    from neuronseg.pipelines.segment import segment_movie

    model = OnePhotonModel.load(tiny_model[0])
    movie = movie_from_array(onephoton_recording.movie)
    assert model.config.motion == "none" and model.registered(movie) is movie
    model.config.motion = "rigid"
    assert model.registered(movie).read(0, 5).shape == (5, 64, 64)
    assert segment_movie(movie, "onephoton", model=model).parameters["motion"]["method"] == "rigid"
    assert "motion" not in segment_movie(movie, "onephoton", model=model, motion="none").parameters
    assert "motion" not in segment_movie(movie, "classical").parameters       # other methods: none by default


def test_silent_rois_are_dropped():
    from neuronseg.roiset import RoiSet
    from neuronseg.pipelines.onephoton import drop_silent

    rng = np.random.default_rng(4)
    rois = RoiSet((8, 8), [np.array([0, 1]), np.array([10, 11]), np.array([20])])
    dff = rng.normal(0, 0.05, (3, 300)).astype(np.float32)
    dff[0, 100:110] += 1.0          # one transient
    dff[2, 200:215] += 0.8
    from neuronseg.traces import activity

    kept, keep = drop_silent(rois, activity(dff + 1, None, 10.0)[1])
    assert keep.tolist() == [0, 2] and len(kept) == 2 and kept.pixels[1].tolist() == [20]


def test_local_contrast_cut_separates_cells_on_a_raised_field():
    """A dense real field lifts and saturates the whole map: a global cut fuses it, the local
    cut on logits keeps the bumps."""
    from neuronseg.nets.onephoton import OnePhotonConfig
    from neuronseg.pipelines.onephoton import DEFAULT_THRESHOLDS, OnePhotonModel

    yy, xx = np.mgrid[:64, :64]
    centres = [(12, 12), (12, 40), (40, 20), (44, 48)]
    bumps = sum(np.exp(-((yy - r) ** 2 + (xx - c) ** 2) / (2 * 3.0 ** 2)) for r, c in centres)
    probability = (0.85 + 0.13 * bumps).astype(np.float32)     # saturated: 0.85 between cells, 0.98 on them
    model = OnePhotonModel(None, OnePhotonConfig(cell_diameter=10.0), dict(DEFAULT_THRESHOLDS))
    assert model.cut("active") == (0.5, None)
    fused = model.instances(probability, (0.4, None))
    assert set(np.unique(fused).tolist()) - {0} == {1} and (fused > 0).mean() > 0.9
    cells = model.instances(probability, (0.4, 0.3))
    assert len(set(np.unique(cells).tolist()) - {0}) == len(centres)
    assert all(cells[r, c] > 0 for r, c in centres)
    assert not model.foreground(probability, (0.4, 0.3))[0, 63]   # the flat field between them


def test_extent_trims_each_roi_relative_to_its_own_peak():
    """A bright and a faint cell, both spilling past their core: the trim keeps each one's
    core, measured from its own peak (a global threshold high enough to trim the bright cell
    would drop the faint one)."""
    from neuronseg.nets.onephoton import OnePhotonConfig
    from neuronseg.pipelines.onephoton import DEFAULT_THRESHOLDS, OnePhotonModel, logit

    yy, xx = np.mgrid[:64, :64]
    r2 = lambda r, c: (yy - r) ** 2 + (xx - c) ** 2
    z = np.maximum(6 - 0.12 * r2(20, 20), -1 - 0.12 * r2(44, 44))           # peaks 6 and −1 logits
    probability = (1 / (1 + np.exp(-np.maximum(z, -8)))).astype(np.float32)
    model = OnePhotonModel(None, OnePhotonConfig(cell_diameter=10.0), dict(DEFAULT_THRESHOLDS, active_extent=3.0))
    wide = model.instances(probability, (0.001, None), extent=None)
    trimmed = model.instances(probability, (0.001, None))                   # the tuned extent: 3 logits
    assert len(np.unique(wide)) == len(np.unique(trimmed)) == 3               # the same two cells
    for r, c in ((20, 20), (44, 44)):
        inside = r2(r, c) <= 3 / 0.12                                          # within 3 logits of the peak
        cell = trimmed == trimmed[r, c]
        np.testing.assert_array_equal(cell, inside & (wide == wide[r, c]))
        assert (wide == wide[r, c]).sum() > 1.5 * cell.sum()
    np.testing.assert_allclose(logit(np.array([0.5, 0.8807971])), [0, 2], atol=1e-4)


def test_segment_movie_onephoton_finds_active_simulated_cells():
    """The shipped model on a held-out simulated one-photon movie (seed not used in training)."""
    from neuronseg.metrics import neurofinder_scores
    from neuronseg.pipelines.segment import segment_movie

    rec = simulate(frames=300, shape=(96, 96), cells=24, seed=401, onephoton=True)
    seg = segment_movie(movie_from_array(rec.movie), "onephoton")
    assert seg.method == "onephoton" and len(seg.rois) > 0
    assert seg.traces.shape == (len(seg.rois), 300) and seg.neuropil.shape == seg.traces.shape
    truth = rec.rois.subset(active_cells(rec))
    scores = neurofinder_scores(truth, seg.rois)
    assert scores["combined"] > 0.5, scores
    with pytest.raises(NeuronsegError, match="tile"):
        segment_movie(movie_from_array(rec.movie), "onephoton", tile_size=48)


def test_cli_segment_onephoton_writes_the_contract_files(tmp_path, onephoton_recording):
    from click.testing import CliRunner

    from neuronseg.cli import cli

    movie = tmp_path / "movie.npy"
    np.save(movie, onephoton_recording.movie)
    runner = CliRunner()
    res = runner.invoke(cli, ["-q", "segment", str(movie), "-o", str(tmp_path / "out"), "--method", "onephoton",
                              "--fs", "7"])
    assert res.exit_code == 0, res.output
    names = {p.name for p in (tmp_path / "out").iterdir()}
    assert {"regions.json", "labels.tif", "traces.npy", "dff.npy", "raster.npy", "summary.json", "overlay.png"} <= names
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["method"] == "onephoton"
    regions = json.loads((tmp_path / "out" / "regions.json").read_text())
    assert np.load(tmp_path / "out" / "traces.npy").shape == (len(regions), 80)
    # the method's settings that cannot work together get one message and exit status 2
    res = runner.invoke(cli, ["-q", "segment", str(movie), "-o", str(tmp_path / "tiled"), "--method", "onephoton",
                              "--tile-size", "32"])
    assert res.exit_code == 2 and "whole frames" in res.output and not (tmp_path / "tiled").exists()


def test_cli_train_onephoton_refuses_to_overwrite(tmp_path):
    from click.testing import CliRunner

    from neuronseg.cli import cli

    (tmp_path / "model").mkdir()
    res = CliRunner().invoke(cli, ["train", "onephoton", "-o", str(tmp_path / "model"), "--frame-steps", "1"])
    assert res.exit_code == 2 and "already exists" in res.output
    res = CliRunner().invoke(cli, ["train", "onephoton", "-o", str(tmp_path / "m2"), "--simulated", "0"])
    assert res.exit_code == 2 and "--simulated" in res.output and not (tmp_path / "m2").exists()


def test_onephoton_reads_through_motion_correction():
    from neuronseg.pipelines.segment import segment_movie

    rec = simulate(frames=120, shape=(64, 64), cells=8, seed=9, onephoton=True)
    seg = segment_movie(movie_from_array(rec.movie), "onephoton", motion="rigid")
    assert seg.parameters["motion"]["method"] == "rigid" and "motion" in seg.seconds
    assert seg.traces.shape == (len(seg.rois), 120)


def test_training_registers_simulated_movies_as_the_model_will():
    from neuronseg.train.onephoton import registered_array

    still = simulate(frames=80, shape=(64, 64), cells=8, seed=4, onephoton=True, motion=0).movie.mean(axis=0)
    moving = simulate(frames=80, shape=(64, 64), cells=8, seed=4, onephoton=True, motion=3).movie

    def sharpness(m):   # how well the mean image matches the motionless one
        return np.corrcoef(ndi.gaussian_laplace(m.mean(axis=0), 2).ravel(), ndi.gaussian_laplace(still, 2).ravel())[0, 1]

    assert registered_array(moving, "none") is moving
    assert 1 - sharpness(registered_array(moving, "rigid")) < 0.6 * (1 - sharpness(moving))   # measured 0.04 vs 0.08


def test_cli_train_onephoton_passes_the_unet_width_to_the_model(tmp_path, monkeypatch):
    from click.testing import CliRunner

    import neuronseg.train.onephoton as train_mod
    from neuronseg.cli import cli

    seen = {}

    def fake_train(out, train, val, params, config, progress=None, outline=None, base=None):
        seen["config"] = config
        return {"validation_f1": {"active": 0.0, "max": 0.0, "mean": 0.0}}

    monkeypatch.setattr(train_mod, "simulated_samples", lambda *a, **k: [])
    monkeypatch.setattr(train_mod, "train_onephoton", fake_train)
    res = CliRunner().invoke(cli, ["-q", "train", "onephoton", "-o", str(tmp_path / "m"), "--width", "12",
                                   "--gru-hidden", "6"])
    assert res.exit_code == 0, res.output
    assert seen["config"].base_width == 12 and seen["config"].hidden == 6


def test_outline_redraws_the_rims_of_the_rois_but_never_which_cells_are_found():
    from neuronseg.pipelines.onephoton import reshape_by_outline

    yy, xx = np.mgrid[:64, :64]
    disc = lambda r, c, radius: (yy - r) ** 2 + (xx - c) ** 2 <= radius ** 2
    labels = np.zeros((64, 64), np.int32)
    labels[disc(15, 15, 5)] = 1          # drawn too tight: its outline is wider
    labels[disc(15, 45, 5)] = 2          # drawn too wide: its outline is tighter
    labels[disc(45, 15, 5)] = 3          # the outline does not see it
    outline = np.zeros((64, 64), np.float32)
    outline[disc(15, 15, 7)] = 0.9
    outline[disc(15, 45, 4)] = 0.9
    outline[disc(45, 45, 6)] = 0.9       # a cell the active map did not find
    out = reshape_by_outline(labels, outline, cut=0.5, grow=3, min_size=30)
    np.testing.assert_array_equal(out == 1, disc(15, 15, 7))
    np.testing.assert_array_equal(out == 2, disc(15, 45, 4))
    np.testing.assert_array_equal(out == 3, labels == 3)             # too little outline: its own shape
    assert set(np.unique(out)) == {0, 1, 2, 3} and not out[disc(45, 45, 6)].any()
    # a growth of 1 px reaches only 1 px past the ROI
    np.testing.assert_array_equal(reshape_by_outline(labels, outline, 0.5, 1, 30) == 1, disc(15, 15, 7) & disc(15, 15, 6))
    # touching ROIs share the outline between them by distance, no pixel to both
    pair = np.zeros((64, 64), np.int32)
    pair[20:30, 10:20], pair[20:30, 22:32] = 1, 2
    grown = reshape_by_outline(pair, np.ones((64, 64), np.float32), 0.5, 2, 30)
    assert (grown[25, 20] == 1) and (grown[25, 21] == 2) and grown[25, 34] == 0


def test_outline_stage_trains_on_a_trained_model_without_touching_its_stages(tiny_model, onephoton_recording, tmp_path):
    from neuronseg.nets.onephoton import OnePhotonConfig
    from neuronseg.pipelines.onephoton import OnePhotonModel
    from neuronseg.pipelines.segment import segment_movie

    base, _ = tiny_model
    filt = FrameFilter(temporal_bin=2)
    params = OnePhotonTrainParams(outline_steps=6, outline_crop=32, outline_batch=2)
    fresh = [sample_from_simulation(simulate(frames=60, shape=(48, 48), cells=6, seed=9, onephoton=True), filt, params, "sim9")]
    val = [sample_from_simulation(simulate(frames=60, shape=(48, 48), cells=6, seed=8, onephoton=True), filt, params, "val")]
    with pytest.raises(NeuronsegError, match="outline U-Net needs simulated movies"):
        train_onephoton(tmp_path / "none", [], val, params, OnePhotonConfig(outline_width=4), base=base)
    record = train_onephoton(tmp_path / "m", [], val, params, OnePhotonConfig(outline_width=4), outline=fresh, base=base)
    assert record["outline"] == ["sim9"] and record["base"] == str(base) and len(record["outline_loss"]) == 0  # < 100 steps
    assert record["base_training"]["train"] == ["train", "real"] and "frame_net" not in record["seconds"]
    before, after = (torch.load(d / "weights.pt", weights_only=True) for d in (base, tmp_path / "m"))
    assert {k for k in after if not k.startswith("outline.")} == set(before)
    assert all(torch.equal(before[k], after[k]) for k in before)          # stages 1 and 2 as they were
    model = OnePhotonModel.load(tmp_path / "m")
    assert model.config.outline_width == 4 and model.config.base_width == 4     # the rest of the base's config
    thresholds = json.loads((tmp_path / "m" / "thresholds.json").read_text())
    assert 0 < thresholds["outline_cut"] < 1 and thresholds["outline_grow"] in (0, 1, 2, 3)
    assert "Stage 3 (outline U-Net, width 4)" in (tmp_path / "m" / "MODEL_CARD.md").read_text()
    movie = movie_from_array(onephoton_recording.movie)
    whole, chunked = model.predict(movie, chunk=80), model.predict(movie, chunk=14)
    assert whole.outline.shape == (64, 64) and 0 <= whole.outline.min() and whole.outline.max() <= 1
    np.testing.assert_allclose(whole.outline, chunked.outline, atol=1e-4)   # the summary streams too
    assert OnePhotonModel.load(base).predict(movie).outline is None         # a model without one: no outline
    seg = segment_movie(movie, "onephoton", model=model)
    expected = model.instances(whole.active, outline=whole.outline)
    assert len(seg.rois) <= int(expected.max())


def test_cli_train_onephoton_from_a_model_needs_outline_movies(tmp_path):
    from click.testing import CliRunner

    from neuronseg.cli import cli
    from neuronseg.pipelines.onephoton import OnePhotonModel

    res = CliRunner().invoke(cli, ["-q", "train", "onephoton", "-o", str(tmp_path / "m"),
                                   "--from", str(OnePhotonModel.folder_for())])
    assert res.exit_code == 2 and "--outline-simulated" in res.output
    assert not (tmp_path / "m").exists()
