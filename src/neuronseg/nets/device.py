"""One check of a ``--device`` value, shared by every command that runs a network."""

from __future__ import annotations

import torch

from neuronseg.errors import NeuronsegError


def torch_device(name: str) -> torch.device:
    """``torch.device(name)``, or a clear error when that device is not on this machine."""
    try:
        device = torch.device(name)
    except RuntimeError:
        raise NeuronsegError(f"'{name}' is not a torch device (try cpu, cuda, cuda:1, mps)") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise NeuronsegError(f"device '{name}' is not available here (no CUDA); use --device cpu")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise NeuronsegError(f"device '{name}' is not available here; use --device cpu")
    return device
