"""Why a candidate got its score: guided-backpropagation saliency and a 5×5 occlusion map
(the pictures of them are drawn by :mod:`neuronseg.results.curation`)."""

from __future__ import annotations

import copy

import numpy as np
import torch
from torch import nn


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
