"""The image network, its training (a tiny model), transfer learning, and `neuronseg image`."""

import json

import numpy as np
import pytest
import tifffile
import torch
from click.testing import CliRunner
from skimage.draw import disk

from neuronseg.cli import cli
from neuronseg.errors import NeuronsegError
from neuronseg.io.images import LabelledImage
from neuronseg.metrics import instance_scores
from neuronseg.nets.image import ImageConfig, build_image_net, freeze_all_but, layers_in_order, set_train_mode
from neuronseg.pipelines.image import ImageModel, choose_scale, segment_image
from neuronseg.train.image import ImageTrainParams, train_image_model


def _blobs(seed, shape=(96, 96), n=9, radius=6):
    rng = np.random.default_rng(seed)
    labels = np.zeros(shape, np.int32)
    k = 0
    while k < n:
        r, c = rng.integers(radius + 2, np.array(shape) - radius - 2)
        rr, cc = disk((r, c), radius, shape=shape)
        if labels[rr, cc].any():
            continue
        k += 1
        labels[rr, cc] = k
    image = rng.normal(20, 3, shape) + 60 * (labels > 0)
    return LabelledImage(f"b{seed}", image.astype(np.float32), labels)


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    out = tmp_path_factory.mktemp("m") / "model"
    torch.manual_seed(0)
    items = [_blobs(s) for s in range(3)]
    params = ImageTrainParams(epochs=6, steps_per_epoch=8, batch_size=4, crop=64, patience=10)
    record = train_image_model(items, out, ImageConfig(base_width=4, depth=3, min_distance=3), params)
    return out, record


def test_freezing_keeps_only_the_last_layers_trainable():
    net = build_image_net(ImageConfig(base_width=4, depth=3))
    layers = layers_in_order(net)
    assert layers[-1] is net.head
    n = freeze_all_but(net, 2)
    trainable = [p for p in net.parameters() if p.requires_grad]
    assert n == sum(p.numel() for p in layers[-1].parameters()) + sum(p.numel() for p in layers[-2].parameters())
    assert len(trainable) == 5   # head weight + bias; last conv weight (no bias) + its batch-norm weight + bias
    set_train_mode(net)
    assert not net.down[0][1].training and net.merge[-1][4].training
    with pytest.raises(ValueError):
        freeze_all_but(net, len(layers) + 1)


def test_a_tiny_model_learns_blobs_and_is_a_self_describing_folder(tiny_model):
    out, record = tiny_model
    assert {"weights.pt", "config.json", "thresholds.json", "training.json"} <= {p.name for p in out.iterdir()}
    state = torch.load(out / "weights.pt", weights_only=True)
    assert all(isinstance(v, torch.Tensor) for v in state.values())
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["cell_diameter"] == pytest.approx(2 * 6, abs=1.5)
    test = _blobs(11)
    labels = segment_image(test.image, ImageModel.load(out))
    assert instance_scores(test.labels, labels)["per_threshold"]["0.50"]["f1"] >= 0.8


def test_diameter_rescales_to_the_training_size(tiny_model):
    out, _ = tiny_model
    model = ImageModel.load(out)
    small = _blobs(12, shape=(64, 64), n=6, radius=3)       # cells half the training size
    assert choose_scale(model, small.image, 6.0) == pytest.approx(model.config.cell_diameter / 6.0)
    labels = segment_image(small.image, model, diameter=6.0)
    assert labels.shape == small.image.shape
    assert instance_scores(small.labels, labels)["per_threshold"]["0.50"]["f1"] >= 0.7


def test_auto_scale_ignores_rungs_where_cells_fall_apart():
    from neuronseg.pipelines.image import consistent_scales

    # the measured ladder of a 9-px nuclei model on 24-px nuclei: (scale, median diameter found)
    trials = [(0.35, 7.5), (0.5, 10.2), (0.7, 12.2), (1.0, 10.3), (1.4, 9.4), (2.0, 8.7), (2.8, 8.6)]
    # from 1.0× up the diameter stays at the training size however the scale changes: fragments
    assert [s for s, _ in consistent_scales(trials)] == [0.35, 0.5, 0.7]
    # real cells found at every rung grow with the scale: all consistent
    assert len(consistent_scales([(s, 9.0 * s) for s in (0.5, 0.7, 1.0, 1.4)])) == 4
    assert consistent_scales([(1.0, 9.0)]) == []


def test_fine_tuning_changes_only_the_unfrozen_layers(tiny_model, tmp_path):
    out, _ = tiny_model
    params = ImageTrainParams(epochs=1, steps_per_epoch=3, batch_size=2, crop=64, init=str(out), freeze_all_but=1)
    train_image_model([_blobs(5)], tmp_path / "ft", ImageConfig(), params)
    before = torch.load(out / "weights.pt", weights_only=True)
    after = torch.load(tmp_path / "ft" / "weights.pt", weights_only=True)
    assert json.loads((tmp_path / "ft" / "config.json").read_text())["base_width"] == 4   # architecture from init
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    assert changed and all(k.startswith("head.") for k in changed)


def test_cli_image_segment_writes_labels_and_overlays_per_image(tiny_model, tmp_path):
    out, _ = tiny_model
    folder = tmp_path / "imgs"
    folder.mkdir()
    for s in (21, 22):
        tifffile.imwrite(folder / f"field{s}.tif", _blobs(s).image)
    runner = CliRunner()
    res = runner.invoke(cli, ["-q", "image", "segment", str(folder), "-o", str(tmp_path / "o"), "--model", str(out)])
    assert res.exit_code == 0, res.output
    for s in (21, 22):
        labels = tifffile.imread(tmp_path / "o" / f"field{s}_labels.tif")
        assert labels.dtype == np.uint16 and labels.shape == (96, 96) and labels.max() >= 5
        assert (tmp_path / "o" / f"field{s}_overlay.png").exists()
    again = runner.invoke(cli, ["-q", "image", "segment", str(folder), "-o", str(tmp_path / "o"), "--model", str(out)])
    assert again.exit_code == 2 and "already exists" in again.output


def test_cli_image_errors_are_one_line(tiny_model, tmp_path):
    out, _ = tiny_model
    tifffile.imwrite(tmp_path / "flat.tif", np.full((32, 32), 7, np.uint8))
    runner = CliRunner()
    res = runner.invoke(cli, ["image", "segment", str(tmp_path / "flat.tif"), "-o", str(tmp_path / "o"),
                              "--model", str(out)])
    assert res.exit_code == 2 and "constant" in res.output and not (tmp_path / "o").exists()
    res = runner.invoke(cli, ["image", "train", "--data", str(tmp_path), "-o", str(tmp_path / "m"),
                              "--freeze-all-but", "2"])
    assert res.exit_code == 2 and "--init" in res.output


def test_tiled_inference_matches_one_pass(tiny_model):
    out, _ = tiny_model
    model = ImageModel.load(out)
    big = _blobs(31, shape=(160, 200), n=20)
    whole = segment_image(big.image, model)
    tiled = segment_image(big.image, model, tile_size=64)
    assert instance_scores(whole, tiled)["per_threshold"]["0.50"]["f1"] >= 0.95


@pytest.mark.parametrize("name", ["somata", "nuclei", "brightfield"])
def test_shipped_models_load_safely_and_segment(name):
    folder = ImageModel.folder_for(name)
    state = torch.load(folder / "weights.pt", weights_only=True)
    assert all(isinstance(v, torch.Tensor) for v in state.values())
    assert (folder / "MODEL_CARD.md").exists()
    image = _blobs(41, shape=(128, 160), n=10, radius=8).image
    labels = segment_image(image, ImageModel.load(name))
    assert labels.shape == image.shape and labels.dtype == np.int32


def test_shipped_somata_model_finds_cells_in_a_real_field():
    from conftest import shared_data
    from neuronseg.io.images import read_image, read_labels
    from neuronseg.roiset import RoiSet
    from neuronseg.metrics import neurofinder_scores

    folder = shared_data("abo_summary")
    image = read_image(folder / "images" / "545446482.tif")[:240, :240]
    truth = read_labels(folder / "labels" / "545446482.tif")[:240, :240]
    labels = segment_image(image, ImageModel.load("somata"))
    assert neurofinder_scores(RoiSet.from_labels(truth), RoiSet.from_labels(labels))["combined"] > 0.7


def test_crop_sampler_lowers_the_resolution_of_about_half_the_crops_when_asked():
    from neuronseg.train.image import CropSampler, prepare

    config = ImageConfig(base_width=4, depth=2)
    [item] = prepare([_blobs(5, shape=(160, 160), n=12)], config, "train")

    def crops(factor):
        params = ImageTrainParams(crop=64, affine=False, elastic=False, low_resolution=factor)
        sampler = CropSampler([item], config, params, np.random.default_rng(0))
        return [sampler.sample() for _ in range(40)]

    def roughness(crop):        # pixel noise: what a shrunk-and-enlarged crop loses
        return float(np.abs(np.diff(crop[0][0], axis=-1)).mean())

    sharp = [roughness(c) for c in crops(1.0)]
    soft = np.array([roughness(c) for c in crops(3.0)])
    # half the crops are degraded, by factors from 1 (no change) to 3
    assert 0.15 < np.mean(soft < min(sharp)) < 0.6


def test_training_on_rendered_outlines_uses_both_polarities_and_says_so(tmp_path):
    params = ImageTrainParams(epochs=1, steps_per_epoch=2, batch_size=2, crop=64, render_outlines=True)
    record = train_image_model([_blobs(3)], tmp_path / "m", ImageConfig(base_width=4, depth=3), params)
    assert record["n_train_images"] == 2 and record["params"]["render_outlines"] is True
    assert json.loads((tmp_path / "m" / "training.json").read_text())["params"]["render_outlines"] is True
    # five images: every 5th is validation, and both renderings of it, never one of each side
    record = train_image_model([_blobs(s) for s in range(5)], tmp_path / "m5", ImageConfig(base_width=4, depth=3), params)
    assert record["val_images"] == ["b4_outline", "b4_outline_inverted"] and record["n_train_images"] == 8


def test_a_crop_the_unet_cannot_halve_is_refused_before_training(tmp_path):
    for crop in (62, 4):   # depth 3 halves twice: crops must be multiples of 4, at least 8
        with pytest.raises(NeuronsegError, match="--crop must be a multiple of 4"):
            train_image_model([_blobs(3)], tmp_path / "m", ImageConfig(base_width=4, depth=3),
                              ImageTrainParams(epochs=1, steps_per_epoch=1, batch_size=1, crop=crop))
        assert not (tmp_path / "m").exists()


def test_segment_image_checks_arrays_as_the_file_readers_do():
    for array, message in ((np.full((32, 32), np.nan), "NaN"), (np.ones((32, 32)), "constant"),
                           (np.random.rand(5, 32, 32), "2-D image")):
        with pytest.raises(NeuronsegError, match=message):
            segment_image(array)
    rgb = np.zeros((48, 48, 3), np.uint8)
    rgb[10:20, 10:20] = 200
    assert segment_image(rgb).shape == (48, 48)   # colour is averaged, as for files


@pytest.mark.parametrize("model", ["somata", "nuclei", "brightfield"])
def test_a_cell_class_the_model_lacks_is_one_line_before_any_output(tmp_path, model):
    tifffile.imwrite(tmp_path / "a.tif", (np.random.default_rng(0).random((64, 64)) * 255).astype(np.uint8))
    r = CliRunner().invoke(cli, ["-q", "image", "segment", str(tmp_path / "a.tif"), "-o", str(tmp_path / "o"),
                                 "--model", model, "--cell-class", "interneuron"])
    assert r.exit_code == 2 and r.output.startswith("error: --cell-class 'interneuron'") and "Traceback" not in r.output
    assert not (tmp_path / "o").exists()


def test_image_train_init_takes_its_networks_shape_and_refuses_a_contradicting_one(tiny_model, tmp_path):
    from neuronseg.train.image import _architecture

    out, _ = tiny_model   # base width 4, semantic, no classes
    assert _architecture(str(out), None, None, None) == ("semantic", 4, [])
    assert _architecture(None, None, None, None) == ("semantic", 16, [])
    assert _architecture(str(out), "semantic", 4, []) == ("semantic", 4, [])   # agreeing values are fine
    runner = CliRunner()
    for option in (["--base-width", "32"], ["--target", "flows"], ["--cell-classes", "a,b"]):
        res = runner.invoke(cli, ["-q", "image", "train", "--data", str(tmp_path), "-o", str(tmp_path / "m"),
                                  "--init", str(out)] + option)
        assert res.exit_code == 2 and f"{option[0]} " in res.output and "contradicts --init" in res.output, res.output
        assert not (tmp_path / "m").exists()
