"""The one-photon network (González-Colín et al.): a U-Net with an ASPP bottleneck per frame,
then a convolutional GRU over the sequence of its outputs, whose final state a conv +
batch-norm head turns into the mask of cells that were active during the movie.

The per-frame U-Net sees one filtered frame (:mod:`neuronseg.movie.filters`) and says which
pixels belong to a cell that is lit *in that frame*; the GRU integrates those answers over
time, which a max- or mean-projection of them does only crudely (a max keeps every noise
spike, a mean dilutes cells that fire once).

An optional outline U-Net (``outline_width``) then redraws the pixels of each cell the GRU
found, from the active map and summary images of the movie: the GRU integrates noisy
per-frame answers, and the rim of its cells was the largest single part of their pixel error.
It does not choose which cells are found (:func:`neuronseg.pipelines.onephoton.reshape_by_outline`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from neuronseg.nets.convgru import ConvGRU, run_in_chunks
from neuronseg.nets.unet import UNet, pad_to


@dataclass
class OnePhotonConfig:
    base_width: int = 8
    depth: int = 4
    aspp_rates: tuple = (2, 4, 6)
    hidden: int = 8                  #: GRU hidden channels
    chunk: int = 25                  #: frames per GRU chunk; gradients are cut between chunks
    gru_frames: bool = True          #: the GRU also sees the filtered frame beside the U-Net's output
    cell_diameter: float = 10.0      #: px, of the training cells
    filter: dict = field(default_factory=dict)  #: movie.filters.FrameFilter settings
    motion: str = "none"             #: registration of the training frames; `segment` applies it by default
    outline_width: int = 0           #: channels of the outline U-Net (0: none; ROIs keep the active map's shape)

    def to_dict(self) -> dict:
        d = dict(self.__dict__)
        d["aspp_rates"] = list(self.aspp_rates)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "OnePhotonConfig":
        known = {k: v for k, v in d.items() if k in cls.__dataclass_fields__}
        if "aspp_rates" in known:
            known["aspp_rates"] = tuple(known["aspp_rates"])
        return cls(**known)

    def frame_filter(self):
        from neuronseg.movie.filters import FrameFilter

        return FrameFilter(**self.filter)


#: channels of the outline U-Net's input: the active map and four summary images of the movie
OUTLINE_INPUTS = 5


class OnePhotonNet(nn.Module):
    def __init__(self, config: OnePhotonConfig):
        super().__init__()
        self.config = config
        self.frame_net = UNet(1, 1, config.base_width, config.depth, aspp_rates=config.aspp_rates)
        self.gru = ConvGRU(2 if config.gru_frames else 1, config.hidden)
        self.outline = UNet(OUTLINE_INPUTS, 1, config.outline_width, 3) if config.outline_width else None

    def frame_logits(self, frames: torch.Tensor) -> torch.Tensor:
        """Per-frame cell logits ``(N, 1, H, W)`` of filtered frames ``(N, 1, H, W)``; any size."""
        x, (h, w) = pad_to(frames, self.frame_net.multiple)
        return self.frame_net(x)[..., :h, :w]

    def gru_input(self, probs: torch.Tensor, frames: torch.Tensor) -> torch.Tensor:
        """The GRU's input ``(…, C, H, W)`` from per-frame probabilities and filtered frames
        ``(…, 1, H, W)``; frames are squashed to about [−1, 1] like the probabilities' range."""
        return torch.cat([probs, torch.tanh(frames / 4)], dim=-3) if self.config.gru_frames else probs

    def outline_logits(self, inputs: torch.Tensor) -> torch.Tensor:
        """Cell logits ``(N, 1, H, W)`` of the outline U-Net from
        :func:`neuronseg.pipelines.onephoton.outline_input` stacks
        ``(N, OUTLINE_INPUTS, H, W)``; any size."""
        x, (h, w) = pad_to(inputs, self.outline.multiple)
        return self.outline(x)[..., :h, :w]

    def active_logits(self, gru_input: torch.Tensor, h: torch.Tensor | None = None,
                      detach: bool = True) -> torch.Tensor:
        """Active-cell logits ``(B, 1, H, W)`` from GRU inputs ``(B, T, C, H, W)`` (:meth:`gru_input`)."""
        h = run_in_chunks(self.gru, gru_input, self.config.chunk, h, detach=detach)
        return self.gru.mask_logits(h)
