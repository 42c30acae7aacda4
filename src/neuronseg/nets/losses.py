"""Losses shared by the networks' training loops."""

from __future__ import annotations

import torch


def dice_loss(probs: torch.Tensor, target: torch.Tensor, mask: torch.Tensor | None = None, eps: float = 1e-6):
    """Channel-wise Sørensen–Dice loss, averaged over channels (``mask`` zeroes ignored pixels)."""
    if mask is not None:
        probs, target = probs * mask, target * mask
    dims = (0, 2, 3)
    inter = (probs * target).sum(dims)
    denom = (probs * probs).sum(dims) + (target * target).sum(dims)
    return (1 - (2 * inter + eps) / (denom + eps)).mean()
