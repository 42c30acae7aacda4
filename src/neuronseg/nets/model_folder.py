"""A model is a folder, as StarDist keeps them; every kind of model (DISCo, one-photon,
still-image, curation) is written and read here.

    weights.pt       tensors only (a state dict), loaded with ``torch.load(..., weights_only=True)``:
                     no pickled objects, so a model folder from elsewhere cannot run code here
    config.json      every setting needed to rebuild the network
    thresholds.json  the cuts tuned on validation data (curation: its calibration)
    MODEL_CARD.md    what it was trained on, how, and how well it does
    training.json    the training record

Shipped models are such folders under ``neuronseg/weights/``. torch is imported only when a
folder is read or written, so code that merely names a model class stays light.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from neuronseg.errors import NeuronsegError
from neuronseg.io.outputs import mark_output

#: the shipped models, one folder each
WEIGHTS_DIR = Path(__file__).resolve().parent.parent / "weights"


@dataclass
class ModelFolder:
    """The files of a model folder, read and checked for presence."""

    path: Path
    state: dict        #: tensors of weights.pt
    config: dict       #: config.json
    thresholds: dict   #: thresholds.json ({} when absent)

    @classmethod
    def read(cls, folder) -> "ModelFolder":
        import torch

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
        return cls(folder, state, config, thresholds)


def save_model(folder, state_dict: dict, config: dict, thresholds: dict, card: str | None = None) -> None:
    """Write a model folder (weights, config, thresholds and, when given, the model card)."""
    import torch

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    torch.save({k: v.detach().cpu() for k, v in state_dict.items()}, folder / "weights.pt")
    (folder / "config.json").write_text(json.dumps(config, indent=1))
    (folder / "thresholds.json").write_text(json.dumps(thresholds, indent=1))
    if card is not None:
        (folder / "MODEL_CARD.md").write_text(card)
    mark_output(folder, "model")


def write_training_record(folder, record: dict) -> None:
    """``training.json``: how the model in ``folder`` was trained."""
    (Path(folder) / "training.json").write_text(json.dumps(record, indent=1))
    mark_output(folder, "model")


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


@dataclass
class NetworkModel:
    """A loaded one-network model: the network (eval mode, on ``device``), its config and
    the thresholds tuned for it. Each kind names its shipped folder and how its config.json
    rebuilds the network (:meth:`build`); loading is the same for all of them."""

    net: object
    config: object
    thresholds: dict
    device: str = "cpu"
    origin: str = "shipped default"   #: the folder it was loaded from, as the user named it

    KIND: ClassVar[str] = ""                  #: what the model is, in messages ("DISCo", …)
    SHIPPED: ClassVar[str] = ""               #: folder under weights/ of the default model
    DEFAULT_THRESHOLDS: ClassVar[dict] = {}   #: what thresholds.json may leave out
    MISSING: ClassVar[str] = "pass --model DIR"   #: what to do when no model is shipped

    @classmethod
    def build(cls, config: dict):
        """``(network, config object)`` described by a config.json."""
        raise NotImplementedError

    @classmethod
    def folder_for(cls, model=None) -> Path:
        """The model folder ``model`` names (a path), or the shipped one."""
        return Path(model) if model is not None else WEIGHTS_DIR / cls.SHIPPED

    @classmethod
    def shipped(cls) -> bool:
        return (WEIGHTS_DIR / cls.SHIPPED / "weights.pt").exists()

    @classmethod
    def load(cls, model=None, device: str = "cpu"):
        """The model in folder ``model`` (default: the shipped one) on ``device`` (checked
        first: a device this machine lacks gets one message before any file is read)."""
        from neuronseg.nets.device import torch_device

        target = torch_device(device)
        if model is None and not cls.shipped():
            raise NeuronsegError(f"no {cls.KIND} model is installed ({WEIGHTS_DIR / cls.SHIPPED} has no weights.pt); "
                                 + cls.MISSING)
        files = ModelFolder.read(cls.folder_for(model))
        net, config = cls.build(files.config)
        # shipped weights may be stored as float16 (half the package size); compute in float32
        load_weights(net, {k: v.float() if v.is_floating_point() else v for k, v in files.state.items()}, files.path)
        return cls(net.to(target).eval(), config, {**cls.DEFAULT_THRESHOLDS, **files.thresholds}, str(device),
                   "shipped default" if model is None else str(model))
