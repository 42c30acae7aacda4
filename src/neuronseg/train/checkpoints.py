"""Training state for ``--resume``: model, optimizer and scheduler state dicts, counters and
history, in ``OUT/checkpoint.pt``. Loaded with ``torch.load(..., weights_only=True)``, as
model folders are (:mod:`neuronseg.nets.model_folder`)."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from neuronseg.io.outputs import mark_output


def save_checkpoint(path, **state) -> None:
    """Training state for ``--resume`` (model/optimizer state dicts, counters, history)."""
    tmp = Path(path).with_suffix(".tmp")
    torch.save(state, tmp)
    tmp.replace(path)
    mark_output(Path(path).parent, "model")


def load_checkpoint(path) -> dict:
    return torch.load(path, map_location="cpu", weights_only=True)


def restore_training(path, net, optimizer, scheduler) -> dict:
    """Load a ``--resume`` checkpoint into the network, optimizer and scheduler; returns the
    rest of it (counters, best state, ``history`` decoded from JSON)."""
    ck = load_checkpoint(path)
    net.load_state_dict(ck["model"])
    optimizer.load_state_dict(ck["optimizer"])
    scheduler.load_state_dict(ck["scheduler"])
    ck["history"] = json.loads(ck["history"])
    return ck
