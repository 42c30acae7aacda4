"""`neuronseg train curate`: fit the cell / not-cell network on labelled candidates.

The split is spatial and made *before* augmenting: candidates of the first source whose
centre lies in the validation rectangle validate (other sources' candidates there are
dropped), those in an excluded rectangle are never touched, the rest train. Only then is
the minority class multiplied by rotations and flips until the classes balance.

Sources may come from several recordings (each with its own human masks). The rectangles
(validation, folds, exclusions) are drawn on the first recording, so they bind only the
sources of that recording; every usable candidate of the other recordings trains, since
none of them sits on a validated cell.

With ``folds`` > 1 the field is cross-fitted instead: it is cut into that many vertical
strips, each strip in turn validates a network ensemble trained on the others, every
ensemble is Platt-calibrated on its own strip, and the threshold for a target precision
is read from all strips' calibrated scores pooled. Every labelled cell then informs the
threshold (one strip alone held 30 cells on neurofinder_top, too few to place a
threshold for 90 % precision anywhere but at the very top), and the model keeps all
ensembles, averaging their calibrated logits.
"""

from __future__ import annotations

import copy
import json
import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from neuronseg.curation.crops import weighted_centres
from neuronseg.curation.features import fit_quantiles, to_normal_scores
from neuronseg.curation.decision import average_precision, calibrate, fit_platt, precision_recall_curve
from neuronseg.curation.labels import label_candidates
from neuronseg.curation.model import network_inputs, predict_logits
from neuronseg.errors import NeuronsegError
from neuronseg.io.candidates import Candidates
from neuronseg.io.outputs import atomic_output_dir
from neuronseg.roiset import RoiSet
from neuronseg.nets.curation import CurationNet
from neuronseg.curation.config import CurationConfig
from neuronseg.nets.device import torch_device
from neuronseg.progress import progress_bar
from neuronseg.train.augment import dihedral
from neuronseg.nets.model_folder import save_model, write_training_record

log = logging.getLogger(__name__)

MIN_POSITIVES = 4   #: fewer labelled cells than this in a part cannot train or validate anything
FEW_VALIDATION_CELLS = 20  #: below this the threshold for a precision rests on too little: warn


@dataclass
class CurationTrainParams:
    epochs: int = 30
    batch_size: int = 32
    lr: float = 1e-3
    weight_decay: float = 1e-4
    patience: int = 8          #: epochs without a validation-AP gain before stopping
    ensemble: int = 3          #: networks from different seeds, logits averaged (steadier on small data)
    seed: int = 0
    device: str = "cpu"
    label_rule: str = "iou"
    label_iou: float = 0.7
    val_rect: tuple | None = None
    exclude_rects: tuple = ()  #: rectangles never used: the test part, and fields nobody labelled
    folds: int = 1             #: > 1: cross-fit over this many vertical strips instead of one val_rect
    guard: int = 12            #: px around the validation part kept out of training (about a cell across)


def in_rect(centres: np.ndarray, rect) -> np.ndarray:
    r0, r1, c0, c1 = rect
    return (centres[:, 0] >= r0) & (centres[:, 0] < r1) & (centres[:, 1] >= c0) & (centres[:, 1] < c1)


def default_val_rect(shape) -> tuple:
    """The right-most quarter of the field (the DISCo authors' 75 / 25 % spatial split)."""
    h, w = shape
    return (0, h, w - w // 4, w)


def fold_rects(shape, folds: int, cell_columns=None) -> list[tuple]:
    """``folds`` vertical strips covering the field, as validation rectangles.

    With ``cell_columns`` (the labelled cells' column positions) the edges sit at their
    quantiles, so every strip validates about as many cells; else the strips are equally wide.
    """
    h, w = shape
    if cell_columns is not None and len(cell_columns) >= folds:
        inner = np.quantile(np.asarray(cell_columns, float), np.arange(1, folds) / folds)
        edges = np.r_[0, np.ceil(inner), w].astype(int)
    else:
        edges = np.linspace(0, w, folds + 1).round().astype(int)
    return [(0, h, int(a), int(b)) for a, b in zip(edges[:-1], edges[1:])]


def balance_by_symmetry(crops, feats, labels):
    """Append rotated/flipped copies of the minority class (k = 1 … 7) until the classes balance."""
    pos, neg = np.flatnonzero(labels), np.flatnonzero(~labels)
    minority = pos if len(pos) < len(neg) else neg
    deficit = abs(len(pos) - len(neg))
    xs, fs, ys = [crops], [feats], [labels]
    for k in range(1, 8):
        if deficit <= 0:
            break
        take = minority[:deficit]
        xs.append(np.ascontiguousarray(dihedral(crops[take], k)))
        fs.append(feats[take])
        ys.append(labels[take])
        deficit -= len(take)
    return np.concatenate(xs), np.concatenate(fs), np.concatenate(ys)


def _prepare(sources, config, params, recordings=None) -> list[dict]:
    """Per source: crops, trace features, labels, centres, which candidates may be used, and
    whether it shares the first recording's field (``first``: the rectangles bind it)."""
    recordings = [0] * len(sources) if recordings is None else list(recordings)
    if len(recordings) != len(sources):
        raise ValueError(f"{len(recordings)} recording ids for {len(sources)} sources")
    prepared = []
    for (cands, truth), recording in zip(sources, recordings):
        labels = label_candidates(cands.rois, truth, params.label_rule, params.label_iou)
        centres = weighted_centres(cands.rois)
        first = recording == recordings[0]
        use = np.ones(len(cands), bool)
        for rect in params.exclude_rects if first else ():
            use &= ~in_rect(centres, rect)
        crops, feats = network_inputs(cands, config)
        feats = np.zeros((len(cands), 0), np.float32) if feats is None else feats
        prepared.append({"x": crops, "f": feats, "y": labels, "centres": centres, "use": use, "first": first})
        log.info(f"{cands.path}: {len(cands)} candidates, {int(labels.sum())} cells, {int(use.sum())} usable")
    return prepared


def _split(prepared, val_rect, guard: int = 0) -> tuple[dict, dict]:
    """Training and validation arrays for one validation rectangle.

    Validation is the first source's usable candidates in ``val_rect``; other sources'
    candidates there sit on the same cells and are dropped, not trained on. So are all
    candidates within ``guard`` px of the rectangle: fragments of a cell that straddles its
    edge would otherwise train the model that is validated on that cell. Sources of other
    recordings (``first`` False) train whole.
    """
    r0, r1, c0, c1 = val_rect
    near = (r0 - guard, r1 + guard, c0 - guard, c1 + guard)
    train, val = {"x": [], "f": [], "y": []}, {"x": [], "f": [], "y": []}
    for i, p in enumerate(prepared):
        in_val = in_rect(p["centres"], val_rect) & p["use"]
        trains = p["use"] & ~in_rect(p["centres"], near) if p["first"] else p["use"]
        for part, m in ((train, trains), (val, in_val if i == 0 else np.zeros_like(in_val))):
            for k in part:
                part[k].append(p[k][m])
    return ({k: np.concatenate(v) for k, v in train.items()}, {k: np.concatenate(v) for k, v in val.items()})


def _check_counts(name, y, label_rule):
    n_pos = int(y.sum())
    if n_pos < MIN_POSITIVES or n_pos == len(y):
        hint = (" Suite2p's footprints are often much smaller than human masks; "
                "try --label centre" if label_rule == "iou" else "")
        raise NeuronsegError(f"the {name} part holds {n_pos} cells of {len(y)} candidates; "
                             f"need at least {MIN_POSITIVES} cells and some non-cells.{hint}")


def train_network(config, params, train, val, seed: int, device) -> tuple[CurationNet, list]:
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    net = CurationNet(config).to(device)
    opt = torch.optim.Adam(net.parameters(), lr=params.lr, weight_decay=params.weight_decay)
    x, f, y = train["x"], train["f"], train["y"].astype(np.float32)
    use_f = config.feature_count() > 0
    best_ap, best_state, stale, history = -1.0, None, 0, []
    for epoch in range(params.epochs):
        net.train()
        order = rng.permutation(len(y))
        losses = []
        with progress_bar(len(order), f"net {seed - params.seed + 1} epoch {epoch + 1}", unit="crop") as tick:
            for s in range(0, len(order), params.batch_size):
                b = order[s : s + params.batch_size]
                xb = torch.from_numpy(np.ascontiguousarray(dihedral(x[b], int(rng.integers(8))))).to(device)
                fb = torch.from_numpy(f[b]).to(device) if use_f else None
                loss = torch.nn.functional.binary_cross_entropy_with_logits(net(xb, fb), torch.from_numpy(y[b]).to(device))
                opt.zero_grad()
                loss.backward()
                opt.step()
                losses.append(loss.item())
                tick(len(b))
        net.eval()
        ap = average_precision(predict_logits([net], val["x"], val["f"] if use_f else None, device), val["y"])
        history.append({"epoch": epoch, "loss": round(float(np.mean(losses)), 4), "val_ap": round(ap, 4)})
        log.info(json.dumps({"net": seed - params.seed, **history[-1]}))
        if ap > best_ap:
            best_ap, stale = ap, 0
            best_state = {k: v.detach().clone() for k, v in net.state_dict().items()}
        else:
            stale += 1
            if stale >= params.patience:
                break
    net.load_state_dict(best_state)
    return net.eval(), history


def train_curation(sources: list[tuple[Candidates, RoiSet]], out, params: CurationTrainParams,
                   config: CurationConfig | None = None, overwrite: bool = False, recordings=None) -> dict:
    """Train, calibrate on validation, and write a model folder ``out``.

    Parameters
    ----------
    sources : list of (Candidates, RoiSet)
        Candidates with the human masks of their recording; validation comes from the first.
    recordings : list of int, optional
        Per source, the recording it comes from (sources of one recording share its cells and
        field). Default: all from one recording. The rectangles of ``params`` bind only the
        first source's recording; the other recordings train whole.
    """
    config = copy.deepcopy(config) if config else CurationConfig()
    device = torch_device(params.device)
    shape = sources[0][0].rois.shape
    t0 = time.perf_counter()
    prepared = _prepare(sources, config, params, recordings)
    if params.folds > 1:
        first = prepared[0]
        rects = fold_rects(shape, params.folds, first["centres"][first["use"] & first["y"], 1])
    else:
        rects = [params.val_rect or default_val_rect(shape)]
    if prepared[0]["f"].shape[1]:  # rank-normal reference: every usable candidate (no labels used)
        config.feature_quantiles = fit_quantiles(np.concatenate([p["f"][p["use"]] for p in prepared]))
        for p in prepared:
            p["f"] = to_normal_scores(p["f"], config.feature_quantiles)
    nets, histories, platts, pooled_scores, pooled_labels, counts = [], [], [], [], [], []
    for fold, rect in enumerate(rects):
        train, val = _split(prepared, rect, params.guard)
        where = f" (fold {fold + 1} of {len(rects)})" if len(rects) > 1 else ""
        _check_counts("training" + where, train["y"], params.label_rule)
        _check_counts("validation" + where, val["y"], params.label_rule)
        counts.append({"rect": list(rect), "train_candidates": int(len(train["y"])),
                       "train_cells": int(train["y"].sum()), "val_candidates": int(len(val["y"])),
                       "val_cells": int(val["y"].sum())})
        train["x"], train["f"], train["y"] = balance_by_symmetry(train["x"], train["f"], train["y"])
        group = []
        for k in range(params.ensemble):
            net, hist = train_network(config, params, train, val, params.seed + fold * params.ensemble + k, device)
            group.append(net)
            histories.append(hist)
        logits = predict_logits(group, val["x"], val["f"] if config.feature_count() else None, device)
        platts.append(fit_platt(logits, val["y"]))
        pooled_scores.append(calibrate(logits, platts[-1]))
        pooled_labels.append(val["y"])
        nets += group
    scores, labels = np.concatenate(pooled_scores), np.concatenate(pooled_labels)
    if labels.sum() < FEW_VALIDATION_CELLS:
        log.warning(f"validation holds only {int(labels.sum())} cells: the threshold for a target precision "
                    "will be rough; use --folds or a larger --val rectangle if you can")
    calibration = {
        "platt": list(platts[0]) if len(platts) == 1 else [list(p) for p in platts],
        "curve": precision_recall_curve(scores, labels),
        "val_average_precision": round(average_precision(scores, labels), 4),
        "val_candidates": int(len(labels)),
        "val_cells": int(labels.sum()),
        "label_rule": params.label_rule,
    }
    summary = {
        "params": {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(params).items()},
        "sources": [str(c.path) for c, _ in sources],
        "recordings": list(recordings) if recordings is not None else [0] * len(sources),
        "folds": counts,
        "val_average_precision": calibration["val_average_precision"],
        "seconds": round(time.perf_counter() - t0, 1),
        "history": histories,
    }
    state = {f"{k}.{name}": v for k, net in enumerate(nets) for name, v in net.state_dict().items()}
    with atomic_output_dir(out, overwrite, "model") as tmp:
        save_model(tmp, state, {**config.to_dict(), "ensemble": len(nets), "groups": len(rects)}, calibration)
        write_training_record(tmp, summary)
    return summary



def per_source(values, sources, option: str) -> list:
    """``values`` given once for all ``sources`` (or not at all: None each), or once per source."""
    if len(values) <= 1:
        return [values[0] if values else None] * len(sources)
    if len(values) != len(sources):
        raise NeuronsegError(f"{option} is given {len(values)} times for {len(sources)} candidate sources: "
                             "give it once for all, or once per source in the same order")
    return list(values)


def train_curation_model(sources, truths, out, *, movies=(), val_rect=None, folds: int = 1, exclude_rects=(),
                         label_rule: str = "iou", iou: float = 0.7, channels=("weights",),
                         features=("trace", "shape", "image", "activity"), backbone: str = "small", width: int = 8,
                         epochs: int = 25, ensemble: int = 3, seed: int = 0, device: str = "cpu",
                         overwrite: bool = False) -> dict:
    """`neuronseg train curate`: read each candidate source with its human masks (``truths``
    and ``movies`` given once for all sources or once per source; sources naming the same
    masks are one recording), train, and write the model folder ``out``. Returns the record."""
    from neuronseg.curation.candidates import read_candidates_for
    from neuronseg.io.outputs import check_writable
    from neuronseg.io.rois import read_rois

    if folds > 1 and val_rect:
        raise NeuronsegError("--folds > 1 replaces --val: give one or the other")
    check_writable(out, overwrite)
    config = CurationConfig(channels=list(channels), features=list(features), backbone=backbone, width=width)
    truths, movies = per_source(truths, sources, "--truth"), per_source(movies, sources, "--movie")
    cands = [read_candidates_for(config, s, m) for s, m in zip(sources, movies)]
    # sources that name the same masks are one recording (several tools' runs on one movie)
    truths = [Path(t).resolve() for t in truths]
    masks = {}
    for t, c in zip(truths, cands):   # each file read once, however many sources share it
        if t not in masks:
            masks[t] = read_rois(t, c.rois.shape)
    recordings = [list(masks).index(t) for t in truths]
    params = CurationTrainParams(epochs=epochs, ensemble=ensemble, seed=seed, device=device, label_rule=label_rule,
                                 label_iou=iou, val_rect=val_rect, exclude_rects=tuple(exclude_rects), folds=folds)
    return train_curation([(c, masks[t]) for c, t in zip(cands, truths)], out, params, config, overwrite, recordings)
