"""A model is a folder: ``weights.pt`` (tensors only), ``config.json``, ``thresholds.json``.

Everything loads with ``torch.load(..., weights_only=True)``: no pickled objects, so a
model folder from elsewhere cannot run code on this machine.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from neuronseg.errors import NeuronsegError


def save_model(folder, state_dict: dict, config: dict, thresholds: dict, card: str | None = None) -> None:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    torch.save({k: v.detach().cpu() for k, v in state_dict.items()}, folder / "weights.pt")
    (folder / "config.json").write_text(json.dumps(config, indent=1))
    (folder / "thresholds.json").write_text(json.dumps(thresholds, indent=1))
    if card is not None:
        (folder / "MODEL_CARD.md").write_text(card)


def load_model_files(folder) -> tuple[dict, dict, dict]:
    """``(state_dict, config, thresholds)`` of a model folder, checked for presence."""
    folder = Path(folder)
    for name in ("weights.pt", "config.json"):
        if not (folder / name).exists():
            raise NeuronsegError(f"{folder}: not a model folder (no {name})")
    try:
        state = torch.load(folder / "weights.pt", map_location="cpu", weights_only=True)
        config = json.loads((folder / "config.json").read_text())
        thr_path = folder / "thresholds.json"
        thresholds = json.loads(thr_path.read_text()) if thr_path.exists() else {}
    except Exception as exc:
        raise NeuronsegError(f"{folder}: could not load the model ({exc})") from exc
    return state, config, thresholds


def load_network(folder, build, device: str = "cpu"):
    """``(net, config, thresholds)`` of a model folder: ``build(config_dict) -> (net, config)``
    makes the network its config.json describes; the weights must fit it exactly. The net is
    moved to ``device`` (checked: a device this machine lacks gets one message) and put in
    eval mode."""
    from neuronseg.nets.device import torch_device

    device = torch_device(device)
    state, config, thresholds = load_model_files(folder)
    net, cfg = build(config)
    load_weights(net, {k: v.float() if v.is_floating_point() else v for k, v in state.items()}, folder)
    return net.to(device).eval(), cfg, thresholds


def load_weights(net, state: dict, folder) -> None:
    """``net.load_state_dict(state)``, or one short message when they do not fit: most often
    a model folder of another method (torch's own message lists every parameter)."""
    missing, unexpected = net.state_dict().keys() - state.keys(), state.keys() - net.state_dict().keys()
    if missing or unexpected:
        raise NeuronsegError(f"{folder}: its weights are not a {type(net).__name__} (a model of another method?): "
                             f"{len(missing)} of its parameters missing, {len(unexpected)} unknown")
    try:
        net.load_state_dict(state)
    except RuntimeError as exc:   # the same names with other shapes: the weights do not fit config.json
        first = str(exc).strip().splitlines()[1:2] or [str(exc)]
        raise NeuronsegError(f"{folder}: its weights do not fit its config.json ({first[0].strip()})") from None


def save_checkpoint(path, **state) -> None:
    """Training state for ``--resume`` (model/optimizer state dicts, counters, history)."""
    tmp = Path(path).with_suffix(".tmp")
    torch.save(state, tmp)
    tmp.replace(path)


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
