"""The still-image network: a U-Net (SomaNet's blocks) with the options the issue names.

Input channels: the normalised gray image, plus one one-hot channel per cell class when the
model was trained with classes (Sartorius' astro / cort / SH-SY5Y idea: the user says which
cell type an image shows). Outputs (logits): one foreground channel, plus two flow channels
(d_row, d_col towards the cell centre) when ``target == "flows"``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import torch
from torch import nn

from neuronseg.nets.unet import UNet, pad_to

TARGETS = ("semantic", "flows")
LOSSES = ("bce", "dice", "bce+dice")
INSTANCE_METHODS = ("watershed", "components", "flows")
#: the network predicts flows × this gain (unit vectors would weigh little in an MSE beside the
#: foreground loss; Cellpose scales by 5 too); :func:`predict` divides it out
FLOW_GAIN = 5.0


@dataclass
class ImageConfig:
    """Everything needed to rebuild and feed an image network (stored as ``config.json``).

    Widths are ``base_width * 2**level``; SomaNet's 32-64-128-256 + 512 bottleneck is
    ``base_width=32, depth=5``. The CPU default is 16 (a quarter of the arithmetic).
    """

    base_width: int = 16
    depth: int = 5
    dropout: float = 0.0                  #: Dropout2d after the bottleneck block
    target: str = "semantic"              #: semantic | flows
    cell_classes: list = field(default_factory=list)  #: names of one-hot class channels ([] = none)
    scale: float = 1.0                    #: images are resized by this factor before the network
    cell_diameter: float = 0.0            #: median training-cell diameter at network scale (px), set by training
    instances: str = "watershed"          #: watershed | components | flows
    min_distance: int = 4                 #: watershed seeds closer than this merge (px, network scale)
    closing_radius: int = 1               #: morphological closing of the foreground (px, network scale)
    refine: str = ""                      #: "" | bayes | svm: boundary refinement after instances
    refine_band: int = 2                  #: px each side of an edge that refinement re-decides
    tta: bool = False                     #: average the 8 rotations / flips at inference

    def __post_init__(self):
        if self.target not in TARGETS:
            raise ValueError(f"target must be one of {TARGETS}, not {self.target!r}")
        if self.instances not in INSTANCE_METHODS:
            raise ValueError(f"instances must be one of {INSTANCE_METHODS}, not {self.instances!r}")
        if self.instances == "flows" and self.target != "flows":
            raise ValueError("instances='flows' needs a network trained with target='flows'")
        if not 0 < self.scale <= 4:
            raise ValueError(f"scale must be in (0, 4], not {self.scale}")

    @property
    def in_channels(self) -> int:
        return 1 + len(self.cell_classes)

    @property
    def out_channels(self) -> int:
        return 3 if self.target == "flows" else 1

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "ImageConfig":
        return cls(**{k: v for k, v in d.items() if k in cls.__dataclass_fields__})


def build_image_net(config: ImageConfig) -> UNet:
    return UNet(config.in_channels, config.out_channels, base=config.base_width, depth=config.depth,
                dropout=config.dropout)


def layers_in_order(net: UNet) -> list[nn.Module]:
    """The U-Net's weight layers (convolutions with their batch norms) in the order data meets them."""
    groups: list[nn.Module] = []

    def convs(block):
        mods = list(block)
        return [nn.ModuleList(mods[i:i + 2]) for i in range(0, len(mods), 3) if isinstance(mods[i], nn.Conv2d)]

    for block in net.down:
        groups += convs(block)
    for up, merge in zip(net.up, net.merge):
        groups.append(up)
        groups += convs(merge)
    groups.append(net.head)
    return groups


def freeze_all_but(net: UNet, k: int) -> int:
    """Freeze every weight layer except the last ``k`` (transfer learning, as SomaNet fine-tuned).

    Frozen batch norms keep their running statistics (see :func:`set_train_mode`).
    Returns the number of trainable parameters.
    """
    layers = layers_in_order(net)
    if not 0 < k <= len(layers):
        raise ValueError(f"--freeze-all-but must be between 1 and {len(layers)} for this network, not {k}")
    for p in net.parameters():
        p.requires_grad_(False)
    for layer in layers[-k:]:
        for p in layer.parameters():
            p.requires_grad_(True)
    return sum(p.numel() for p in net.parameters() if p.requires_grad)


def set_train_mode(net: nn.Module) -> None:
    """Train mode, but batch norms whose weights are frozen stay in eval mode."""
    net.train()
    for m in net.modules():
        if isinstance(m, nn.BatchNorm2d) and not m.weight.requires_grad:
            m.eval()


def normalise_image(image: np.ndarray) -> np.ndarray:
    """Percentile (1, 99.8) stretch to about [0, 1]; the same for training and inference."""
    image = np.asarray(image, np.float32)
    lo, hi = np.percentile(image, [1.0, 99.8])
    return (image - lo) / max(float(hi - lo), 1e-6)


def class_channels(config: ImageConfig, shape, cell_class: str | None) -> np.ndarray:
    """``(n_classes, H, W)`` one-hot planes for ``cell_class`` (all zero when it is None)."""
    planes = np.zeros((len(config.cell_classes),) + tuple(shape), np.float32)
    if cell_class is not None:
        if cell_class not in config.cell_classes:
            raise ValueError(f"cell class {cell_class!r} is not one of this model's {config.cell_classes}")
        planes[config.cell_classes.index(cell_class)] = 1.0
    return planes


def network_input(config: ImageConfig, image: np.ndarray, cell_class: str | None = None) -> np.ndarray:
    """``(C, H, W)`` float32 input of an already-rescaled image."""
    planes = [normalise_image(image)[None], class_channels(config, image.shape, cell_class)]
    return np.concatenate(planes).astype(np.float32)


def _undo_dihedral(out: torch.Tensor, k: int) -> torch.Tensor:
    """Map outputs ``(C, H, W)`` computed on ``dihedral(x, k)`` back to ``x``'s frame; flow
    channels (1: d_row, 2: d_col) are vectors and turn with the image."""
    out = out.clone()
    if k >= 4:
        out = torch.flip(out, dims=(-1,))
        if out.shape[0] == 3:
            out[2] = -out[2]
    for _ in range(k % 4):
        out = torch.rot90(out, -1, dims=(-2, -1))
        if out.shape[0] == 3:   # a quarter turn back: (d_row, d_col) ← (d_col, −d_row)
            out[1], out[2] = out[2].clone(), -out[1].clone()
    return out


@torch.no_grad()
def predict(net: UNet, x: np.ndarray, device="cpu", tta: bool = False) -> np.ndarray:
    """Network outputs ``(out_channels, H, W)`` for one input ``(C, H, W)``: foreground
    probability, then flows (d_row, d_col, about unit length) if the network has them.

    ``tta``: average over the 8 rotations / flips of the input (test-time augmentation;
    8× the time, smoother edges, fewer one-off false cells).
    """
    net.eval()
    t = torch.from_numpy(np.ascontiguousarray(x))[None].to(device)
    outs = []
    for k in range(8 if tta else 1):
        tk = torch.rot90(t, k % 4, dims=(-2, -1))
        tk = torch.flip(tk, dims=(-1,)) if k >= 4 else tk
        tk, (h, w) = pad_to(tk, net.multiple)
        o = net(tk)[0, :, :h, :w]
        o[0] = torch.sigmoid(o[0])
        o[1:] /= FLOW_GAIN
        outs.append(_undo_dihedral(o, k))
    return torch.stack(outs).mean(0).cpu().numpy()
