"""Training a DISCo model on labelled recordings (`neuronseg train disco`).

Recipe (after Kirschbaum, Bailoni & Hamprecht): random 128×128 crops that contain a cell,
random flips and 90° rotations of the raw movie crop, a random temporal max-pool kernel
(3–9 frames), random segment cut points with the segments shuffled, channel-wise
Sørensen–Dice loss on affinities + foreground (where the labels are trusted,
:func:`labelled_extent`). Validation Neurofinder F1 on a held-out spatial
rectangle each epoch, at that epoch's best foreground threshold and GASP bias (a small
grid); the best epoch is kept with its thresholds (``thresholds.json``), and training stops
early when it has not improved for ``patience`` epochs. Rectangles given as ``exclude``
(a test part) are never seen.
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
from neuronseg.instances.affinities import affinity_targets
from neuronseg.io.movies import open_movie
from neuronseg.io.rois import read_regions_json
from neuronseg.roiset import RoiSet
from neuronseg.metrics import neurofinder_scores
from neuronseg.movie.features import disco_features, disco_offsets
from neuronseg.progress import progress_bar
from neuronseg.train.loop import LoopParams

log = logging.getLogger(__name__)

MOVIE_NAMES = ("movie.tif", "movie.tiff", "movie.npy", "movie.h5", "images")


@dataclass
class TrainParams(LoopParams):
    pool_range: tuple = (3, 9)          #: temporal max-pool kernels drawn per crop
    val_rect: tuple | None = None       #: (r0, r1, c0, c1) of the first recording for validation
    exclude_rect: tuple | None = None   #: (r0, r1, c0, c1) never used (a test part)
    label_reach: float | None = None    #: px around labelled cells where labels are trusted (None: everywhere)


@dataclass
class Recording:
    """One labelled recording held in memory, with its training / validation pixel masks."""

    name: str
    movie: np.ndarray           # (T, H, W) uint16/float32
    labels: np.ndarray          # (H, W) instance labels
    mean: np.ndarray            # (H, W)
    labelled: np.ndarray        # (H, W) bool: where labels can be trusted (loss outside is ignored)
    train_mask: np.ndarray      # (H, W) bool: pixels a training crop may cover
    rois: RoiSet
    images: np.ndarray | None = None   # (k, H, W) network image channels of the whole field


def _rect_mask(shape, rect):
    m = np.zeros(shape, bool)
    if rect is not None:
        r0, r1, c0, c1 = rect
        m[r0:r1, c0:c1] = True
    return m


def labelled_extent(labels: np.ndarray, reach: float | None = None) -> np.ndarray:
    """Where the labels are trusted: the whole field (``reach`` None), or the pixels within
    ``reach`` px of a labelled cell, for fields labelled in patches. Elsewhere there is no
    loss and no validation penalty.

    ``neurofinder_top``'s labels leave its top right and right edge bare although its mean
    image shows cells there, yet trusting only 20 px around its labels validated worse
    (F1 0.459 against 0.529 for the whole field, soma-score recipe, seed 0): the bare parts
    still teach what background looks like.
    """
    from scipy import ndimage as ndi

    if reach is None:
        return np.ones(labels.shape, bool)
    if not labels.any():
        return np.zeros(labels.shape, bool)
    return ndi.distance_transform_edt(labels == 0) <= reach


def load_recording(folder, val_rect=None, exclude_rect=None, label_reach: float | None = None) -> Recording:
    folder = Path(folder)
    movie_path = next((folder / n for n in MOVIE_NAMES if (folder / n).exists()), None)
    if movie_path is None:
        movie_path = folder if folder.is_file() else None
    if movie_path is None or not (folder / "regions.json").exists():
        raise NeuronsegError(f"{folder}: a training folder needs a movie ({', '.join(MOVIE_NAMES)}) and regions.json")
    with open_movie(movie_path) as m:
        movie = m.read(0, m.n_frames)
    rois = read_regions_json(folder / "regions.json", movie.shape[1:])
    labels = rois.to_labels()
    excluded = _rect_mask(labels.shape, exclude_rect)
    val = _rect_mask(labels.shape, val_rect)
    if val_rect is not None and not labels[val].any():
        raise NeuronsegError(f"{folder}: the validation rectangle {val_rect} holds no labelled cell "
                             f"(the field is {labels.shape[0]} × {labels.shape[1]})")
    return Recording(folder.name, movie, labels, movie.mean(axis=0, dtype=np.float64).astype(np.float32),
                     labelled_extent(labels, label_reach), ~(excluded | val), rois)


class CropSampler:
    """Random training samples: augmented crop → (features, mean image, targets, loss mask)."""

    def __init__(self, recordings, config, params: TrainParams, rng):
        self.recs = recordings
        self.cfg = config
        self.p = params
        self.rng = rng
        self.offsets = disco_offsets(config.n_offsets, config.correlation_radius)
        self.graph_offsets = [tuple(o) for o in config.graph_offsets]
        # crop corners allowed per recording: the whole crop inside the training mask, a cell centre inside
        self.corners = []
        for rec in recordings:
            s = params.crop
            h, w = rec.labels.shape
            if h < s or w < s:
                raise NeuronsegError(f"{rec.name}: frames {h}×{w} are smaller than the {s}-px training crop")
            ok = []
            centers = rec.rois.centers()
            for r0 in range(0, h - s + 1, 4):
                for c0 in range(0, w - s + 1, 4):
                    if not rec.train_mask[r0 : r0 + s, c0 : c0 + s].all():
                        continue
                    inside = ((centers[:, 0] >= r0) & (centers[:, 0] < r0 + s)
                              & (centers[:, 1] >= c0) & (centers[:, 1] < c0 + s))
                    if inside.any():
                        ok.append((r0, c0))
            self.corners.append(ok)
        if not any(self.corners):
            raise NeuronsegError("no training crop fits outside the validation/excluded parts with a cell in it")

    def sample(self):
        rng, s = self.rng, self.p.crop
        # each recording equally often, whatever its size: a large simulated field must not
        # drown the one real recording
        usable = [k for k, c in enumerate(self.corners) if c]
        i = usable[rng.integers(len(usable))]
        rec = self.recs[i]
        r0, c0 = self.corners[i][rng.integers(len(self.corners[i]))]
        movie = rec.movie[:, r0 : r0 + s, c0 : c0 + s].astype(np.float32)
        labels = rec.labels[r0 : r0 + s, c0 : c0 + s]
        known = rec.labelled[r0 : r0 + s, c0 : c0 + s]
        images = rec.images[:, r0 : r0 + s, c0 : c0 + s]
        k = int(rng.integers(0, 4))
        flip = bool(rng.integers(0, 2))
        def aug(a):
            a = np.rot90(a, k, axes=(-2, -1))
            return np.ascontiguousarray(a[..., ::-1] if flip else a)
        movie, labels, known, images = aug(movie), aug(labels), aug(known), aug(images)
        # short movies cap the kernel: every segment keeps at least 2 pooled frames
        top = max(1, min(self.p.pool_range[1], len(movie) // (2 * self.cfg.n_segments)))
        pool = int(rng.integers(min(self.p.pool_range[0], top), top + 1))
        n_pooled = len(movie) // pool
        n_seg = self.cfg.n_segments
        # random cut points, each segment at least 2 pooled frames long
        cuts = np.sort(rng.choice(np.arange(1, n_pooled // 2), size=n_seg - 1, replace=False)) * 2 \
            if n_pooled // 2 > n_seg else None
        feats = disco_features(movie, pool, n_seg, self.offsets, cuts, order=rng.permutation(n_seg))
        aff, fg = affinity_targets(labels, self.graph_offsets)
        target = np.concatenate([aff, fg[None]])
        return feats, images, target, known.astype(np.float32)


def _batch(sampler, n):
    import torch

    items = [sampler.sample() for _ in range(n)]
    feats = torch.from_numpy(np.stack([it[0] for it in items]))
    images = torch.from_numpy(np.stack([it[1] for it in items]))
    target = torch.from_numpy(np.stack([it[2] for it in items]))
    mask = torch.from_numpy(np.stack([it[3][None] for it in items]))
    return feats, images, target, mask


def region_predictions(model, rec: Recording, rect, pad: int = 16):
    """Probabilities over ``rect`` (plus a margin of context clipped to the image) and the offset."""
    r0, r1, c0, c1 = rect
    h, w = rec.labels.shape
    R0, R1, C0, C1 = max(0, r0 - pad), min(h, r1 + pad), max(0, c0 - pad), min(w, c1 + pad)
    movie = rec.movie[:, R0:R1, C0:C1].astype(np.float32)
    cfg = model.config
    feats = disco_features(movie, model.pool_for(len(movie)), cfg.n_segments,
                           disco_offsets(cfg.n_offsets, cfg.correlation_radius))
    return model.predict(feats, rec.images[:, R0:R1, C0:C1]), (R0, C0)


def score_region(model, probs, origin, rec: Recording, rect, thresholds=None) -> dict:
    """Neurofinder scores of the instances whose centres fall in ``rect`` where the labels are
    trusted (``rec.labelled``): a cell found where nobody labelled is no false positive."""
    rois = model.instances(probs, thresholds)
    R0, C0 = origin
    shifted = RoiSet.from_coordinates([rois.coordinates(i) + [R0, C0] for i in range(len(rois))], rec.labels.shape)
    truth = rec.rois.within(rect)
    pred = shifted.within(rect)
    if len(pred):
        c = np.clip(np.rint(pred.centers()).astype(int), 0, np.array(rec.labels.shape) - 1)
        pred = pred.subset(np.flatnonzero(rec.labelled[c[:, 0], c[:, 1]]))
    if not len(truth):
        return {"combined": 0.0, "precision": 0.0, "recall": 0.0, "n_pred": len(pred)}
    return dict(neurofinder_scores(truth, pred), n_pred=len(pred))


def optimize_thresholds(model, probs, origin, rec, rect) -> tuple[dict, float]:
    """Foreground threshold and GASP bias that maximise validation F1 (a small grid)."""
    best, best_f1 = dict(model.thresholds), -1.0
    for fg in (0.3, 0.4, 0.5, 0.6, 0.7):
        for bias in (0.3, 0.4, 0.5, 0.6, 0.7):
            t = {"foreground": fg, "bias": bias}
            f1 = score_region(model, probs, origin, rec, rect, t)["combined"]
            if f1 > best_f1:
                best, best_f1 = {**model.thresholds, **t}, f1
    return best, best_f1


def train_disco(data_dirs, out, params: TrainParams, config=None, resume: bool = False) -> dict:
    """Train a DISCo model into folder ``out``; returns the training record (also in ``out/training.json``)."""
    import torch

    from neuronseg.nets.disco import DiscoConfig, DiscoNet
    from neuronseg.nets.losses import dice_loss
    from neuronseg.pipelines.disco import DEFAULT_THRESHOLDS, DiscoModel, image_channels
    from neuronseg.train.checkpoints import restore_training, save_checkpoint
    from neuronseg.nets.model_folder import save_model, write_training_record

    out = Path(out)
    config = config or DiscoConfig()
    torch.manual_seed(params.seed)
    rng = np.random.default_rng(params.seed)
    recs = [load_recording(d, params.val_rect if i == 0 else None, params.exclude_rect if i == 0 else None,
                           params.label_reach) for i, d in enumerate(data_dirs)]
    for rec in recs:  # normalised over the whole field, as at inference
        rec.images = image_channels(rec.mean, config)
    val_rec = recs[0] if params.val_rect else None
    sampler = CropSampler(recs, config, params, rng)
    net = DiscoNet(config).to(params.device)
    opt = torch.optim.Adam(net.parameters(), lr=params.lr, weight_decay=params.weight_decay)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=params.epochs)
    make_folder(out, out)
    ckpt_path = out / "checkpoint.pt"
    history, start_epoch, best_f1, best_state, stale = [], 0, -1.0, None, 0
    best_thresholds = dict(DEFAULT_THRESHOLDS)
    if resume and ckpt_path.exists():
        ck = restore_training(ckpt_path, net, opt, sched)
        start_epoch, best_f1, stale = int(ck["epoch"]) + 1, float(ck["best_f1"]), int(ck["stale"])
        best_state = ck["best_model"]
        best_thresholds = ck.get("best_thresholds", best_thresholds)
        history = ck["history"]
        rng = np.random.default_rng([params.seed, start_epoch])  # fresh but reproducible stream
        sampler.rng = rng
        log.info(f"resumed at epoch {start_epoch} (best validation F1 {best_f1:.3f})")
    t_start = time.perf_counter()
    for epoch in range(start_epoch, params.epochs):
        net.train()
        losses = []
        with progress_bar(params.steps_per_epoch, f"epoch {epoch + 1}/{params.epochs}", unit="step") as tick:
            for _ in range(params.steps_per_epoch):
                feats, images, target, mask = (t.to(params.device) for t in _batch(sampler, params.batch_size))
                probs = torch.sigmoid(net(feats, images))
                loss = dice_loss(probs, target, mask)
                opt.zero_grad()
                loss.backward()
                opt.step()
                losses.append(loss.item())
                tick(1)
        sched.step()
        record = {"epoch": epoch, "loss": float(np.mean(losses)), "seconds": round(time.perf_counter() - t_start, 1)}
        if val_rec is not None:
            net.eval()
            model = DiscoModel(net, config, dict(DEFAULT_THRESHOLDS), params.device)
            probs, origin = region_predictions(model, val_rec, params.val_rect)
            # at the thresholds that suit this epoch's calibration: at fixed defaults the F1
            # of a few dozen validation cells jumps with every shift of the outputs' scale
            thresholds, record["val_f1"] = optimize_thresholds(model, probs, origin, val_rec, params.val_rect)
            if record["val_f1"] > best_f1:
                best_f1, best_thresholds, stale = record["val_f1"], thresholds, 0
                best_state = {k: v.detach().clone() for k, v in net.state_dict().items()}
            else:
                stale += 1
        else:
            best_state = {k: v.detach().clone() for k, v in net.state_dict().items()}
        history.append(record)
        log.info(json.dumps(record))
        save_checkpoint(ckpt_path, model=net.state_dict(), optimizer=opt.state_dict(), scheduler=sched.state_dict(),
                        epoch=epoch, best_f1=best_f1, stale=stale, best_model=best_state,
                        best_thresholds=best_thresholds, history=json.dumps(history))
        if val_rec is not None and stale >= params.patience:
            log.info(f"early stop: validation F1 has not improved for {params.patience} epochs")
            break

    net.load_state_dict(best_state)
    net.eval()
    summary = {
        "data": [str(d) for d in data_dirs],
        "params": {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(params).items()},
        "val_f1_tuned_thresholds": best_f1 if val_rec is not None else None,
        "seconds": round(time.perf_counter() - t_start, 1),
        "history": history,
    }
    save_model(out, net.state_dict(), config.to_dict(), best_thresholds)
    write_training_record(out, summary)
    return summary


def train_disco_model(data_dirs, out, *, val_rect=None, exclude_rect=None, epochs: int = 30,
                      steps_per_epoch: int = 40, batch_size: int = 4, base_width: int = 16, patience: int = 8,
                      label_reach: float | None = None, extra_inputs=(), seed: int = 0, device: str = "cpu",
                      resume: bool = False, overwrite: bool = False) -> dict:
    """`neuronseg train disco`: train on the recordings in ``data_dirs`` (validation on
    ``val_rect`` of the first) and write the model folder ``out``. Returns the record."""
    from neuronseg.nets.device import torch_device
    from neuronseg.nets.disco import DiscoConfig

    claim_folder(out, overwrite, resume)
    torch_device(device)   # refuse a device this machine lacks before any work
    params = TrainParams(epochs=epochs, steps_per_epoch=steps_per_epoch, batch_size=batch_size, patience=patience,
                         seed=seed, device=device, val_rect=val_rect, exclude_rect=exclude_rect,
                         label_reach=label_reach)
    return train_disco(list(data_dirs), out, params, DiscoConfig(base_width=base_width, extra_inputs=list(extra_inputs)),
                       resume=resume)
