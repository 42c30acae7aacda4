"""The one-photon networks: a U-Net with an ASPP bottleneck, and a chunked convolutional GRU."""

import torch

from neuronseg.nets.convgru import ConvGRU, run_in_chunks
from neuronseg.nets.unet import ASPP, UNet


def test_aspp_bottleneck_keeps_shapes_and_sees_the_whole_field():
    torch.manual_seed(0)
    net = UNet(1, 1, base=4, depth=3, aspp_rates=(1, 2, 3)).eval()
    assert isinstance(net.down[-1], ASPP)
    x = torch.randn(2, 1, 32, 48)
    assert net(x).shape == (2, 1, 32, 48)
    # the image-level branch: a change in one corner reaches the opposite corner
    y = x.clone()
    y[:, :, :4, :4] += 5
    assert (net(y) - net(x))[:, :, -4:, -4:].abs().max() > 0


def test_gru_state_carries_across_chunks_but_gradients_do_not():
    torch.manual_seed(0)
    gru = ConvGRU(1, hidden=8)
    frames = torch.randn(1, 12, 1, 16, 16, requires_grad=True)
    whole = gru(frames)
    chunked = run_in_chunks(gru, frames, chunk=5)
    torch.testing.assert_close(whole, chunked)          # the same state, chunked or not
    gru.mask_logits(chunked).sum().backward()
    grad = frames.grad[0, :, 0].abs().sum(dim=(-1, -2))
    assert torch.all(grad[:10] == 0) and torch.all(grad[10:] > 0)   # only the last chunk (frames 10, 11) learns
    frames.grad = None
    gru.mask_logits(run_in_chunks(gru, frames, chunk=5, detach=False)).sum().backward()
    assert frames.grad[0, 0].abs().sum() > 0


def test_gru_remembers_a_cell_that_flashed_early():
    # a hand-set GRU: the update gate opens only where the input is bright, so a pixel that
    # flashed in frame 2 keeps a high state through 10 dark frames and others stay at 0
    gru = ConvGRU(1, hidden=1)
    with torch.no_grad():
        for p in gru.parameters():
            p.zero_()
        gru.cell.gates.weight[0, 0, 1, 1] = 50.0      # z from the input's centre tap
        gru.cell.gates.bias[0] = -25.0
        gru.cell.candidate.weight[0, 0, 1, 1] = 5.0   # candidate = tanh(5 · input)
    frames = torch.zeros(1, 12, 1, 8, 8)
    frames[0, 2, 0, 3, 3] = 1.0
    h = run_in_chunks(gru, frames, chunk=4)
    assert h[0, 0, 3, 3] > 0.99 and h[0, 0].flatten()[torch.arange(64) != 27].abs().max() < 1e-6


def test_outline_input_does_not_depend_on_the_level_or_scale_of_the_summary_images():
    """Real and simulated movies differ in the level of their summary images (local correlation
    0.96 against 0.73); the outline U-Net sees each image relative to its own median and spread."""
    import numpy as np

    from neuronseg.movie.summary import Summary
    from neuronseg.nets.onephoton import OUTLINE_INPUTS
    from neuronseg.pipelines.onephoton import outline_input, sigmoid

    rng = np.random.default_rng(0)
    images = {k: rng.normal(size=(20, 24)).astype(np.float32) for k in ("mean", "max", "std", "correlation")}
    logits = rng.normal(0, 3, (20, 24)).astype(np.float32)
    active = sigmoid(logits)
    a = outline_input(active, Summary(n_frames=10, **images))
    b = outline_input(active, Summary(n_frames=10, **{k: 3 * v + 0.2 for k, v in images.items()}))
    assert a.shape == (OUTLINE_INPUTS, 20, 24) and a.dtype == np.float32
    np.testing.assert_allclose(a, b, atol=1e-5)
    assert -1 <= a.min() and a.max() <= 1 and a[1:].std() > 0.1
    flat = outline_input(active, Summary(n_frames=10, **{k: np.ones_like(v) for k, v in images.items()}))
    assert np.isfinite(flat).all() and not flat[1:].any()        # a flat image carries nothing, and no NaN
    np.testing.assert_allclose(a[0], np.tanh(logits / 4), atol=1e-5)   # the active map's logits are not rescaled
