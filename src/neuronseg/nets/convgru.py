"""A convolutional GRU over time: the one-photon method's temporal network.

Gates are 3×3 convolutions of the input frame's features and the hidden state (hidden size
8 by default), so each pixel's memory sees its neighbourhood. Movies are far longer than
fits backpropagation, so :func:`run_in_chunks` runs chunks of frames, carries the hidden
state from chunk to chunk and cuts the gradient between chunks (truncated backpropagation
through time). A conv + batch-norm head turns the final state into the active-cell mask.
"""

from __future__ import annotations

import torch
from torch import nn


class ConvGRUCell(nn.Module):
    def __init__(self, in_channels: int, hidden: int = 8, kernel: int = 3):
        super().__init__()
        self.hidden = hidden
        self.gates = nn.Conv2d(in_channels + hidden, 2 * hidden, kernel, padding=kernel // 2)   # update z, reset r
        self.candidate = nn.Conv2d(in_channels + hidden, hidden, kernel, padding=kernel // 2)

    def forward(self, x: torch.Tensor, h: torch.Tensor | None = None) -> torch.Tensor:
        if h is None:
            h = x.new_zeros(x.shape[0], self.hidden, x.shape[-2], x.shape[-1])
        z, r = torch.sigmoid(self.gates(torch.cat([x, h], dim=1))).chunk(2, dim=1)
        n = torch.tanh(self.candidate(torch.cat([x, r * h], dim=1)))
        return (1 - z) * h + z * n


class ConvGRU(nn.Module):
    """``forward(frames (B, T, C, H, W), h) → final hidden state (B, hidden, H, W)``;
    :meth:`mask_logits` turns a state into the active-cell mask (logits)."""

    def __init__(self, in_channels: int = 1, hidden: int = 8):
        super().__init__()
        self.cell = ConvGRUCell(in_channels, hidden)
        self.head = nn.Sequential(nn.Conv2d(hidden, hidden, 3, padding=1, bias=False), nn.BatchNorm2d(hidden),
                                  nn.ReLU(inplace=True), nn.Conv2d(hidden, 1, 1))

    def forward(self, frames: torch.Tensor, h: torch.Tensor | None = None) -> torch.Tensor:
        for t in range(frames.shape[1]):
            h = self.cell(frames[:, t], h)
        return h

    def mask_logits(self, h: torch.Tensor) -> torch.Tensor:
        return self.head(h)


def run_in_chunks(gru: ConvGRU, frames: torch.Tensor, chunk: int, h: torch.Tensor | None = None,
                  detach: bool = True) -> torch.Tensor:
    """The final hidden state over ``frames (B, T, C, H, W)`` taken ``chunk`` frames at a time;
    with ``detach`` no gradient crosses a chunk boundary (the state's value still does)."""
    for t0 in range(0, frames.shape[1], chunk):
        if h is not None and detach:
            h = h.detach()
        h = gru(frames[:, t0:t0 + chunk], h)
    return h
