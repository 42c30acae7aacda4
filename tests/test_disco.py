import json

import numpy as np
import pytest
import torch

from neuronseg.instances.affinities import affinity_targets
from neuronseg.nets.disco import DiscoConfig, DiscoNet
from neuronseg.nets.losses import dice_loss

TINY = dict(n_offsets=4, base_width=4, depth=2, correlation_radius=1.5)


def test_network_shapes_and_odd_sizes():
    net = DiscoNet(DiscoConfig(**TINY)).eval()
    out = net(torch.randn(1, 10, 4, 37, 50), torch.randn(1, 1, 37, 50))
    assert out.shape == (1, 9, 37, 50)  # 8 graph offsets + foreground, cropped back from padding


def test_tiny_model_loss_goes_down(small_recording):
    from neuronseg.movie.features import disco_features, disco_offsets
    from neuronseg.movie.images import normalise_mean_image

    torch.manual_seed(0)
    cfg = DiscoConfig(**TINY)
    rec = small_recording
    movie = rec.movie[:, :64, :64].astype(np.float32)
    feats = disco_features(movie, 3, 10, disco_offsets(cfg.n_offsets, cfg.correlation_radius))
    aff, fg = affinity_targets(rec.rois.to_labels()[:64, :64], [tuple(o) for o in cfg.graph_offsets])
    target = torch.from_numpy(np.concatenate([aff, fg[None]])[None])
    f = torch.from_numpy(feats[None])
    m = torch.from_numpy(normalise_mean_image(movie.mean(axis=0))[None, None])
    net = DiscoNet(cfg)
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    losses = []
    for _ in range(15):
        loss = dice_loss(torch.sigmoid(net(f, m)), target)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0] - 0.05, losses


def test_dice_loss_is_zero_for_perfect_and_ignores_masked_pixels():
    t = torch.zeros(1, 2, 4, 4)
    t[:, :, :2] = 1
    assert dice_loss(t, t).item() == pytest.approx(0, abs=1e-5)
    wrong = t.clone()
    wrong[:, :, 3] = 1  # wrong only in the last row
    mask = torch.ones(1, 1, 4, 4)
    mask[..., 3, :] = 0
    assert dice_loss(wrong, t).item() > 0.1
    assert dice_loss(wrong, t, mask).item() == pytest.approx(0, abs=1e-5)


def test_train_writes_a_safe_model_folder_and_resumes(tmp_path):
    from neuronseg.pipelines.disco import DiscoModel
    from neuronseg.simulate import simulate
    from neuronseg.train.disco import TrainParams, train_disco

    data = tmp_path / "sim"
    simulate(frames=60, shape=(80, 96), cells=10, seed=4).save(data)
    params = TrainParams(epochs=1, steps_per_epoch=2, batch_size=1, crop=48, val_rects=((0, 40, 48, 96),), seed=1)
    out = tmp_path / "model"
    summary = train_disco([data], out, params, DiscoConfig(**TINY))
    assert len(summary["history"]) == 1 and "val_f1" in summary["history"][0]
    for name in ("weights.pt", "config.json", "thresholds.json", "checkpoint.pt"):
        assert (out / name).exists()
    torch.load(out / "weights.pt", weights_only=True)
    torch.load(out / "checkpoint.pt", weights_only=True)
    thresholds = json.loads((out / "thresholds.json").read_text())
    assert {"foreground", "bias", "min_size"} <= set(thresholds)
    params.epochs = 2
    summary = train_disco([data], out, params, DiscoConfig(**TINY), resume=True)
    assert [h["epoch"] for h in summary["history"]] == [0, 1]
    model = DiscoModel.load(out)
    assert model.config.base_width == 4


def test_labels_are_trusted_only_near_labelled_cells():
    from neuronseg.train.disco import labelled_extent

    labels = np.zeros((60, 120), np.int32)
    labels[10:16, 10:16] = 1   # a labelled patch at the left …
    labels[10:16, 30:36] = 2
    known = labelled_extent(labels, reach=8)
    assert known[12, 20:30].all()          # between neighbours: looked at
    assert known[12, 43] and not known[12, 44]   # 8 px past the last cell's edge, not 9
    assert not known[:, 60:].any()         # … the bare right half says nothing
    assert not labelled_extent(np.zeros((5, 5), np.int32), reach=8).any()
    assert labelled_extent(labels).all()   # by default every pixel's label is trusted
