"""Why a candidate got its score: guided-backpropagation saliency and a 5×5 occlusion map."""

from __future__ import annotations

import copy

import numpy as np
import torch
from torch import nn

from neuronseg.report import save_png, to_gray8

OCCLUSION_PATCH = 5


class _GuidedReLUFunction(torch.autograd.Function):
    """ReLU forward; backward passes only positive gradients where the input was positive
    (Springenberg et al. 2015), which gives the sharper maps than plain gradients."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x.clamp(min=0)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * (x > 0) * (grad > 0)


class _GuidedReLU(nn.Module):
    def forward(self, x):
        return _GuidedReLUFunction.apply(x)


def _guided_copy(net: nn.Module) -> nn.Module:
    net = copy.deepcopy(net).eval()
    for module in list(net.modules()):
        for name, child in module.named_children():
            if isinstance(child, nn.ReLU):
                setattr(module, name, _GuidedReLU())
    return net


def guided_saliency(nets, crops: np.ndarray, feats: np.ndarray | None) -> np.ndarray:
    """``(n, S, S)``: largest guided gradient of the logit over input channels, ensemble mean."""
    out = np.zeros((len(crops),) + crops.shape[2:], np.float32)
    for net in nets:
        guided = _guided_copy(net)
        device = next(guided.parameters()).device
        x = torch.from_numpy(crops).to(device).requires_grad_(True)
        f = None if feats is None else torch.from_numpy(feats).to(device)
        guided(x, f).sum().backward()
        out += x.grad.abs().amax(dim=1).cpu().numpy() / len(nets)
    return out


def occlusion_map(nets, crops: np.ndarray, feats: np.ndarray | None, patch: int = OCCLUSION_PATCH) -> np.ndarray:
    """``(n, S, S)``: drop of the mean logit when each ``patch``×``patch`` block is set to 0
    (positive: the block spoke for "cell")."""
    from neuronseg.curation.model import predict_logits

    n, _, s, _ = crops.shape
    base = predict_logits(nets, crops, feats)
    out = np.zeros((n, s, s), np.float32)
    blocks = [(r, c) for r in range(0, s, patch) for c in range(0, s, patch)]
    for i in range(n):
        occluded = np.repeat(crops[i : i + 1], len(blocks), axis=0)
        for k, (r, c) in enumerate(blocks):
            occluded[k, :, r : r + patch, c : c + patch] = 0
        f = None if feats is None else np.repeat(feats[i : i + 1], len(blocks), axis=0)
        drop = base[i] - predict_logits(nets, occluded, f)
        for k, (r, c) in enumerate(blocks):
            out[i, r : r + patch, c : c + patch] = drop[k]
    return out


def _heat(values: np.ndarray) -> np.ndarray:
    """Signed map as RGB: red for evidence for "cell", blue against, black for none."""
    scale = max(float(np.abs(values).max()), 1e-12)
    v = values / scale
    rgb = np.zeros(values.shape + (3,), np.float64)
    rgb[..., 0] = np.clip(v, 0, 1)
    rgb[..., 2] = np.clip(-v, 0, 1)
    return (rgb * 255).astype(np.uint8)


def explanation_panel(crop: np.ndarray, saliency: np.ndarray, occlusion: np.ndarray) -> np.ndarray:
    """One RGB row: each input channel (grey), the saliency (red) and occlusion (red/blue) maps."""
    gap = np.full((crop.shape[1], 2, 3), 255, np.uint8)
    tiles = []
    for ch in crop:
        g = to_gray8(ch, 0.0, 100.0)
        tiles += [np.repeat(g[..., None], 3, axis=2), gap]
    tiles += [_heat(saliency), gap, _heat(occlusion)]
    return np.concatenate(tiles, axis=1)


def write_explanations(nets, crops, feats, scores, indices, folder, names=None) -> list:
    """A PNG per candidate in ``indices``: ``roi<i>_score<s>.png`` (``i`` from ``names`` when
    the crops are a subset); returns the file names."""
    sal = guided_saliency(nets, crops[indices], None if feats is None else feats[indices])
    occ = occlusion_map(nets, crops[indices], None if feats is None else feats[indices])
    written = []
    for k, i in enumerate(indices):
        roi = int(i if names is None else names[k])
        name = f"roi{roi:05d}_score{scores[i]:.3f}.png"
        save_png(explanation_panel(crops[i], sal[k], occ[k]), folder / name, min_size=512)
        written.append(name)
    return written
