"""Training the still-image U-Net (``neuronseg image train``).

Random crops (biased towards cells), each under one random affine map and elastic
deformation plus a dihedral symmetry, identical for image and labels; targets made from the
*augmented* labels (foreground, and flows when asked). Validation images are never cropped
for training; when there are too few images to hold some back, the right quarter of each
training image is the validation part (its labels are never in a loss; its pixels may give
a training crop context, as a neighbouring field would). The best epoch by validation score
is kept; thresholds are then tuned on validation data (``optimize_thresholds``).
Transfer learning: start from a model folder (``init``) and train only its last ``k``
weight layers (``freeze_all_but``).
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from neuronseg.errors import NeuronsegError
from neuronseg.io.outputs import claim_folder, make_folder
from neuronseg.instances.flows import flow_targets
from neuronseg.io.images import LabelledImage
from neuronseg.metrics import instance_scores, labelled_object_iou, pixel_scores
from neuronseg.nets.image import FLOW_GAIN, LOSSES, ImageConfig, build_image_net, freeze_all_but, network_input, set_train_mode
from neuronseg.pipelines.image import DEFAULT_THRESHOLDS, ImageModel, instances_from_outputs, median_diameter, rescale
from neuronseg.progress import progress_bar
from neuronseg.train.loop import LoopParams
from neuronseg.train.augment import degrade_resolution, dihedral, jitter_intensity, outline_rendering, warped_crop

log = logging.getLogger(__name__)



@dataclass
class ImageTrainParams(LoopParams):
    epochs: int = 40
    steps_per_epoch: int = 25
    lr: float = 3e-3
    patience: int = 12
    loss: str = "bce+dice"        #: bce | dice | bce+dice
    pos_weight: float = 1.0       #: weight of foreground pixels in BCE
    affine: bool = True
    elastic: bool = True
    intensity: bool = False       #: random gamma / contrast / blur / noise
    low_resolution: float = 1.0   #: half the crops are shrunk by up to this factor and enlarged back (1 = never)
    render_outlines: bool = False #: train on the images drawn as outlines (a source for transmitted-light models)
    cell_bias: float = 0.7        #: fraction of crops centred on a cell pixel
    freeze_all_but: int = 0       #: train only the last k weight layers (0 = all)
    init: str | None = None       #: model folder to start from (transfer learning)
    partial_labels: bool = False  #: images label only some cells: score by labelled_object_iou

    def __post_init__(self):
        if self.loss not in LOSSES:
            raise ValueError(f"loss must be one of {LOSSES}, not {self.loss!r}")


@dataclass
class Prepared:
    """One image at network scale with its labels and where training may look."""

    name: str
    x: np.ndarray          # (C, h, w) network input
    labels: np.ndarray     # (h, w)
    train: np.ndarray      # (h, w) bool: labels usable for the loss
    val: np.ndarray        # (h, w) bool: labels used for validation
    image: np.ndarray      # (h, w) rescaled raw image (for refinement)


def prepare(items: list[LabelledImage], config: ImageConfig, role: str) -> list[Prepared]:
    """``role``: "train", "val", or "split" (right quarter for validation, the rest for training)."""
    out = []
    for it in items:
        image = rescale(it.image.astype(np.float32), config.scale)
        labels = rescale(it.labels.astype(np.int32), config.scale, order=0)
        x = network_input(config, image, it.cell_class)
        train = np.ones(labels.shape, bool) if role == "train" else np.zeros(labels.shape, bool)
        val = np.ones(labels.shape, bool) if role == "val" else np.zeros(labels.shape, bool)
        if role == "split":
            cut = labels.shape[1] - labels.shape[1] // 4
            train[:, :cut] = True
            val[:, cut:] = True
        out.append(Prepared(it.name, x, labels, train, val, image))
    return out


def rendered_as_outlines(items: list[LabelledImage], seed: int = 0) -> list[LabelledImage]:
    """Each image twice, drawn as dark and as bright outlines (:func:`outline_rendering`),
    with its labels: a fluorescence data set turned into a pre-training source for
    transmitted-light models."""
    rng = np.random.default_rng(seed)
    return [LabelledImage(f"{it.name}_outline{'' if sign > 0 else '_inverted'}", outline_rendering(it.image, sign, rng),
                          it.labels, it.cell_class) for it in items for sign in (1, -1)]


def split_validation(items: list[LabelledImage], val_items: list[LabelledImage] | None):
    """(train, val, split) lists: explicit validation images, else every 5th image when
    there are at least 5, else a spatial split of each image."""
    if val_items:
        return items, val_items, []
    if len(items) >= 5:
        val = items[4::5]
        return [it for it in items if it not in val], val, []
    return [], [], items


class CropSampler:
    def __init__(self, prepared: list[Prepared], config: ImageConfig, params: ImageTrainParams, rng):
        self.items = [p for p in prepared if p.train.any()]
        if not self.items:
            raise NeuronsegError("no training image")
        self.cfg, self.p, self.rng = config, params, rng
        self.cells = [np.argwhere((p.labels > 0) & p.train) for p in self.items]
        self.anywhere = [np.argwhere(p.train) for p in self.items]

    def sample(self):
        rng, s = self.rng, self.p.crop
        i = int(rng.integers(len(self.items)))
        it = self.items[i]
        pool = self.cells[i] if len(self.cells[i]) and rng.random() < self.p.cell_bias else self.anywhere[i]
        centre = pool[rng.integers(len(pool))] + rng.uniform(-s / 4, s / 4, 2)
        x, (labels, known) = warped_crop(it.x, [it.labels, it.train.astype(np.uint8)], centre, s, rng,
                                         self.p.affine, self.p.elastic)
        if self.p.low_resolution > 1 and rng.random() < 0.5:
            x[0] = degrade_resolution(x[0], self.p.low_resolution, rng)
        if self.p.intensity:
            x[0] = jitter_intensity(x[0], rng)
        k = int(rng.integers(8))
        x, labels, known = (np.ascontiguousarray(dihedral(a, k)) for a in (x, labels, known))
        targets = [(labels > 0)[None].astype(np.float32)]
        if self.cfg.target == "flows":
            targets.append(flow_targets(labels))
        return x, np.concatenate(targets), known[None].astype(np.float32)


def _batch(sampler, n):
    import torch

    items = [sampler.sample() for _ in range(n)]
    return tuple(torch.from_numpy(np.stack([it[j] for it in items])) for j in range(3))


def image_loss(logits, target, known, config: ImageConfig, params: ImageTrainParams):
    import torch
    import torch.nn.functional as F

    from neuronseg.nets.losses import dice_loss

    fg_logit, fg = logits[:, :1], target[:, :1]
    loss = 0.0
    if "bce" in params.loss:
        pw = torch.tensor(params.pos_weight, device=logits.device)
        bce = F.binary_cross_entropy_with_logits(fg_logit, fg, pos_weight=pw, reduction="none")
        loss = loss + (bce * known).sum() / known.sum().clamp(min=1)
    if "dice" in params.loss:
        loss = loss + dice_loss(torch.sigmoid(fg_logit), fg, known)
    if config.target == "flows":
        err = (logits[:, 1:3] - FLOW_GAIN * target[:, 1:3]) ** 2
        loss = loss + (err * known).sum() / (2 * known.sum().clamp(min=1)) / FLOW_GAIN
    return loss


def validation_outputs(model: ImageModel, val: list[Prepared]) -> list[np.ndarray]:
    from neuronseg.nets.image import predict

    return [predict(model.net, p.x, model.device) for p in val]


def validation_score(model: ImageModel, val: list[Prepared], outputs, thresholds, partial: bool,
                     refine: str | None = None) -> float:
    """Mean over validation images of F1 at IoU 0.5 (or, with partial labels, the labelled-object IoU),
    on each image's validation part."""
    scores = []
    for p, o in zip(val, outputs):
        pred = instances_from_outputs(o, model.config, thresholds, p.image, refine)
        rows, cols = np.nonzero(p.val)
        box = (slice(rows.min(), rows.max() + 1), slice(cols.min(), cols.max() + 1))
        truth, pred = p.labels[box], pred[box]
        if partial:
            scores.append(labelled_object_iou(truth, pred))
        else:
            scores.append(instance_scores(truth, pred, thresholds=[0.5])["per_threshold"]["0.50"]["f1"])
    return float(np.mean(scores))


def pixel_dice(val: list[Prepared], outputs) -> float:
    return float(np.mean([pixel_scores(p.labels[p.val] > 0, o[0][p.val] > 0.5)["dice"] for p, o in zip(val, outputs)]))


def optimize_thresholds(model: ImageModel, val: list[Prepared], partial: bool) -> tuple[dict, float]:
    """The foreground threshold and minimum size that score best on the validation part."""
    outputs = validation_outputs(model, val)
    areas = np.bincount(np.concatenate([p.labels[p.val] for p in val]))[1:]
    typical = float(np.median(areas[areas > 0])) if (areas > 0).any() else 50.0
    best, best_score = dict(model.thresholds), -1.0
    for fg in (0.3, 0.4, 0.5, 0.6, 0.7):
        for frac in (0.0, 0.1, 0.25, 0.4):
            t = {**model.thresholds, "foreground": fg, "min_size": int(frac * typical)}
            score = validation_score(model, val, outputs, t, partial)
            if score > best_score:
                best, best_score = t, score
    return best, best_score


def train_image_model(items: list[LabelledImage], out, config: ImageConfig, params: ImageTrainParams,
                      val_items: list[LabelledImage] | None = None, resume: bool = False) -> dict:
    """Train an image model into folder ``out``; returns the training record (also ``out/training.json``)."""
    import torch

    from neuronseg.nets.device import torch_device
    from neuronseg.train.checkpoints import restore_training, save_checkpoint
    from neuronseg.nets.model_folder import ModelFolder, save_model, write_training_record

    out = Path(out)
    device = torch_device(params.device)
    torch.manual_seed(params.seed)
    rng = np.random.default_rng(params.seed)
    if params.init:
        base = ModelFolder.read(params.init)
        state, init_cfg = base.state, base.config
        init_cfg = ImageConfig.from_dict(init_cfg)
        # the architecture comes from the pre-trained model; data-side settings from this run
        config = ImageConfig(**{**config.to_dict(), "base_width": init_cfg.base_width, "depth": init_cfg.depth,
                                "target": init_cfg.target, "cell_classes": init_cfg.cell_classes})
    step = 2 ** (config.depth - 1)   # the U-Net halves a crop depth − 1 times and joins the halves back
    if params.crop % step or params.crop < 2 * step:
        raise NeuronsegError(f"--crop must be a multiple of {step} px and at least {2 * step} "
                             f"for a U-Net of depth {config.depth}, not {params.crop}")
    train_items, val_list, split_items = split_validation(items, val_items)
    if params.render_outlines:   # after the split, so both renderings of an image fall on the same side
        train_items, val_list, split_items = (rendered_as_outlines(part, params.seed)
                                              for part in (train_items, val_list, split_items))
    prepared = prepare(train_items, config, "train") + prepare(val_list, config, "val") \
        + prepare(split_items, config, "split")
    val = [p for p in prepared if p.val.any()]
    # per image: label ids repeat across images
    config.cell_diameter = round(median_diameter(np.concatenate(
        [np.bincount(p.labels[p.train])[1:] for p in prepared if p.train.any()])), 2)
    sampler = CropSampler(prepared, config, params, rng)
    net = build_image_net(config)
    if params.init:
        net.load_state_dict({k: v.float() for k, v in state.items()})
    if params.freeze_all_but:
        n_train = freeze_all_but(net, params.freeze_all_but)
        log.info(f"training the last {params.freeze_all_but} layers: {n_train} parameters")
    net.to(device)
    opt = torch.optim.Adam([p for p in net.parameters() if p.requires_grad], lr=params.lr,
                           weight_decay=params.weight_decay)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=params.epochs)
    make_folder(out, out)
    ckpt_path = out / "checkpoint.pt"
    history, start, best, best_state, stale = [], 0, -1.0, None, 0
    if resume and ckpt_path.exists():
        ck = restore_training(ckpt_path, net, opt, sched)
        start, best, stale, best_state = int(ck["epoch"]) + 1, float(ck["best"]), int(ck["stale"]), ck["best_model"]
        history = ck["history"]
        sampler.rng = np.random.default_rng([params.seed, start])
        log.info(f"resumed at epoch {start}")
    t0 = time.perf_counter()
    for epoch in range(start, params.epochs):
        set_train_mode(net)
        losses = []
        with progress_bar(params.steps_per_epoch, f"epoch {epoch + 1}/{params.epochs}", unit="step") as tick:
            for _ in range(params.steps_per_epoch):
                x, target, known = (t.to(device) for t in _batch(sampler, params.batch_size))
                loss = image_loss(net(x), target, known, config, params)
                opt.zero_grad()
                loss.backward()
                opt.step()
                losses.append(loss.item())
                tick(1)
        sched.step()
        model = ImageModel(net, config, dict(DEFAULT_THRESHOLDS), str(device))
        outputs = validation_outputs(model, val)
        score = validation_score(model, val, outputs, DEFAULT_THRESHOLDS, params.partial_labels)
        record = {"epoch": epoch, "loss": round(float(np.mean(losses)), 4), "val_score": round(score, 4),
                  "val_dice": round(pixel_dice(val, outputs), 4), "seconds": round(time.perf_counter() - t0, 1)}
        if score > best:
            best, stale = score, 0
            best_state = {k: v.detach().cpu().clone() for k, v in net.state_dict().items()}
        else:
            stale += 1
        history.append(record)
        log.info(json.dumps(record))
        save_checkpoint(ckpt_path, model=net.state_dict(), optimizer=opt.state_dict(), scheduler=sched.state_dict(),
                        epoch=epoch, best=best, stale=stale, best_model=best_state, history=json.dumps(history))
        if stale >= params.patience:
            log.info(f"early stop: validation score has not improved for {params.patience} epochs")
            break
    net.load_state_dict(best_state)
    base = dict(DEFAULT_THRESHOLDS)
    if config.target == "flows":
        # steps enough to walk the length of nearly every training cell (long neurites too)
        from scipy import ndimage as ndi

        extents = [max(sl[0].stop - sl[0].start, sl[1].stop - sl[1].start)
                   for p in prepared for sl in ndi.find_objects(p.labels) if sl is not None]
        base["flow_steps"] = int(max(30, 1.5 * np.percentile(extents, 95)))
    model = ImageModel(net.eval(), config, base, str(device))
    thresholds, tuned = optimize_thresholds(model, val, params.partial_labels)
    record = {
        "n_train_images": len(train_items) + len(split_items), "n_val_images": len(val),
        "val_images": [it.name for it in val_list],
        "validation": "held-out images" if val_list else "right quarter of each image",
        "params": asdict(params), "best_val_score_default_thresholds": best, "val_score_tuned": tuned,
        "seconds": round(time.perf_counter() - t0, 1), "history": history,
    }
    save_model(out, net.state_dict(), config.to_dict(), thresholds)
    write_training_record(out, record)
    ckpt_path.unlink(missing_ok=True)
    return record


def _architecture(init, target, base_width, cell_classes):
    """``(target, base_width, cell_classes)``: as given, else --init's, else the defaults; a
    value given that contradicts --init's network is refused (its weights fix them)."""
    if not init:
        return target or "semantic", base_width or 16, list(cell_classes or [])
    from neuronseg.nets.model_folder import ModelFolder

    base = ModelFolder.read(init).config
    inherited = {"target": base.get("target", "semantic"), "base_width": base.get("base_width"),
                 "cell_classes": list(base.get("cell_classes", []))}
    given = {"target": target, "base_width": base_width,
             "cell_classes": None if cell_classes is None else list(cell_classes)}
    for name, value in given.items():
        if value is not None and value != inherited[name]:
            raise NeuronsegError(f"--{name.replace('_', '-')} {value} contradicts --init's network "
                                 f"({inherited[name]}); leave it out to fine-tune that network")
    return inherited["target"], inherited["base_width"], inherited["cell_classes"]


def train_image_on_folders(data_paths, out, *, val_paths=(), exclude=(), target: str | None = None,
                           instances: str | None = None, loss: str = "bce+dice", pos_weight: float = 1.0,
                           dropout: float = 0.0, cell_classes=None, base_width: int | None = None, scale: float = 1.0,
                           refine: str = "", partial_labels: bool = False, init=None, freeze_all_but: int = 0,
                           elastic: bool = True, intensity_jitter: bool = False, low_resolution: float = 1.0,
                           render_outlines: bool = False, epochs: int = 40, steps_per_epoch: int = 25, crop: int = 128,
                           seed: int = 0, device: str = "cpu", resume: bool = False, overwrite: bool = False) -> dict:
    """`neuronseg image train`: read the labelled images of ``data_paths`` (and ``val_paths``),
    leave out those whose names match a pattern of ``exclude``, train, and write the model
    folder ``out``. Returns the training record."""
    from fnmatch import fnmatch

    from neuronseg.io.images import read_labelled_images

    claim_folder(out, overwrite, resume)
    if freeze_all_but and not init:
        raise NeuronsegError("--freeze-all-but needs --init (a pre-trained model to fine-tune)")
    target, base_width, cell_classes = _architecture(init, target, base_width, cell_classes)

    def kept(paths):
        return [it for p in paths for it in read_labelled_images(p) if not any(fnmatch(it.name, e) for e in exclude)]

    items, val_items = kept(data_paths), kept(val_paths)
    if not items:
        raise NeuronsegError("--exclude leaves no training image")
    try:
        config = ImageConfig(base_width=base_width, dropout=dropout, target=target, scale=scale,
                             instances=instances or ("flows" if target == "flows" else "watershed"),
                             cell_classes=list(cell_classes), refine=refine)
        params = ImageTrainParams(epochs=epochs, steps_per_epoch=steps_per_epoch, crop=crop, loss=loss,
                                  pos_weight=pos_weight, elastic=elastic, intensity=intensity_jitter,
                                  low_resolution=low_resolution, render_outlines=render_outlines,
                                  freeze_all_but=freeze_all_but, init=str(init) if init else None,
                                  partial_labels=partial_labels, seed=seed, device=device)
    except ValueError as exc:
        raise NeuronsegError(str(exc)) from None
    return train_image_model(items, out, config, params, val_items or None, resume=resume)
