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
    pool_range: tuple = (3, 9)          #: temporal max-pool kernels drawn per crop (frames at the model's fs)
    val_rects: tuple = ()               #: per recording, in order: (r0, r1, c0, c1) validating, or None
    exclude_rects: tuple = ()           #: per recording, in order: (r0, r1, c0, c1) never used (a test part), or None
    label_reach: float | None = None    #: px around labelled cells where labels are trusted (None: everywhere)
    simulated: int = 0                  #: simulated fields trained on beside the real ones (seeds 1000, 1001, …)
    sim_share: float = 0.3              #: share of training crops drawn from the simulated fields
    scale_jitter: float = 0.15          #: crops are resampled by up to this much either way (cell-size errors)
    noise: float = 0.5                  #: up to this many of a crop's own temporal SDs of noise are added


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
    fs: float | None = None            # Hz (None: the model's)
    scale: float = 1.0                 # how much the field was resampled to reach the model's cell size
    val_rect: tuple | None = None      # in the resampled field's pixels
    simulated: bool = False


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


def _recording_fs(folder: Path) -> float | None:
    """The frame rate a Neurofinder-style folder states (``info.json``: ``rate-hz``), if any."""
    try:
        return float(json.loads((folder / "info.json").read_text())["rate-hz"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _scaled_rect(rect, factor: float):
    return None if rect is None else tuple(int(round(v * factor)) for v in rect)


def make_recording(name, movie, rois, val_rect=None, exclude_rect=None, label_reach=None, fs=None,
                   cell_diameter=None, simulated=False) -> Recording:
    """A labelled movie held for training, resampled so its somata have ``cell_diameter`` px
    (as estimated from its summary images, the way `segment` will see a new recording)."""
    from neuronseg.movie.diameter import estimate_diameter
    from neuronseg.movie.resample import NEGLIGIBLE, resample_frames, resample_labels, scaled_shape
    from neuronseg.movie.summary import summarize

    labels = rois.to_labels()
    factor = 1.0
    if cell_diameter:
        summary = summarize([(0, np.asarray(movie, np.float32))], movie.shape[1:], temporal_bin=3)
        estimate = estimate_diameter(summary)
        factor = 1.0 if estimate is None else cell_diameter / estimate
        if estimate is None:
            log.warning(f"{name}: nothing soma-like to estimate its cell size from; trained at its own scale")
        if 1 / NEGLIGIBLE < factor < NEGLIGIBLE:
            factor = 1.0
    if factor != 1.0:
        shape = scaled_shape(movie.shape[1:], factor)
        movie = resample_frames(movie, shape)
        labels = resample_labels(labels, shape)
        rois = RoiSet.from_labels(labels)
        val_rect, exclude_rect = _scaled_rect(val_rect, factor), _scaled_rect(exclude_rect, factor)
    excluded = _rect_mask(labels.shape, exclude_rect)
    val = _rect_mask(labels.shape, val_rect)
    if val_rect is not None and not labels[val].any():
        raise NeuronsegError(f"{name}: the validation rectangle {val_rect} holds no labelled cell "
                             f"(the field is {labels.shape[0]} × {labels.shape[1]})")
    return Recording(name, movie, labels, movie.mean(axis=0, dtype=np.float64).astype(np.float32),
                     labelled_extent(labels, label_reach), ~(excluded | val), rois, fs=fs, scale=factor,
                     val_rect=val_rect, simulated=simulated)


def load_recording(folder, val_rect=None, exclude_rect=None, label_reach: float | None = None,
                   cell_diameter: float | None = None) -> Recording:
    """A training folder's movie and ``regions.json`` (see :func:`make_recording`)."""
    folder = Path(folder)
    movie_path = next((folder / n for n in MOVIE_NAMES if (folder / n).exists()), None)
    if movie_path is None:
        movie_path = folder if folder.is_file() else None
    if movie_path is None or not (folder / "regions.json").exists():
        raise NeuronsegError(f"{folder}: a training folder needs a movie ({', '.join(MOVIE_NAMES)}) and regions.json")
    with open_movie(movie_path) as m:
        movie = m.read(0, m.n_frames)
    rois = read_regions_json(folder / "regions.json", movie.shape[1:])
    return make_recording(folder.name, movie, rois, val_rect, exclude_rect, label_reach, _recording_fs(folder),
                          cell_diameter)


def simulated_recordings(n: int, cell_diameter: float | None, crop: int, progress=None) -> list[Recording]:
    """``n`` simulated fields drawn over wide ranges (seeds 1000, 1001, …): somata of 8–24 px,
    5–30 Hz, densities, light levels, quiet shares, indicators and neuropil coupling of
    both real recordings' looks and between; each large enough for a training crop at the
    model's cell size."""
    from neuronseg.simulate import simulate

    out = []
    for k in range(n):
        r = np.random.default_rng(1000 + k)
        d = float(np.exp(r.uniform(np.log(8), np.log(24))))
        fs = float(r.choice([5.0, 7.0, 10.0, 15.0, 20.0, 30.0]))
        side = int(max(192, np.ceil(1.3 * crop * d / (cell_diameter or d)))) // 8 * 8 + 8
        rec = simulate(frames=int(min(600, 60 * fs)), shape=(side, side), seed=1000 + k, fs=fs, diameter=d,
                       density=float(r.uniform(8, 16)) * (10 / d) ** 2, active_fraction=float(r.uniform(0.2, 0.7)),
                       tau=float(r.uniform(0.6, 1.6)), photons=float(r.uniform(0.4, 1.5)),
                       brightness=float(r.uniform(0.8, 1.3)), neuropil_activity=float(r.uniform(0.05, 2.5)))
        out.append(make_recording(f"sim{1000 + k}", rec.movie, rec.rois, fs=fs, cell_diameter=cell_diameter,
                                  simulated=True))
        if progress is not None:
            progress(1)
    return out


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

    def _pick(self):
        """A recording: the simulated ones ``sim_share`` of the time, each real one equally
        often otherwise, whatever its size (a large field must not drown a small one)."""
        rng = self.rng
        usable = [k for k, c in enumerate(self.corners) if c]
        real = [k for k in usable if not self.recs[k].simulated]
        sims = [k for k in usable if self.recs[k].simulated]
        pool = sims if sims and (not real or rng.random() < self.p.sim_share) else real
        return pool[rng.integers(len(pool))]

    def sample(self):
        rng, s = self.rng, self.p.crop
        i = self._pick()
        rec = self.recs[i]
        r0, c0 = self.corners[i][rng.integers(len(self.corners[i]))]
        movie = rec.movie[:, r0 : r0 + s, c0 : c0 + s]
        labels = rec.labels[r0 : r0 + s, c0 : c0 + s]
        known = rec.labelled[r0 : r0 + s, c0 : c0 + s]
        images = rec.images[:, r0 : r0 + s, c0 : c0 + s]
        # kernels in seconds (the range is in frames at the model's rate); short movies cap the
        # kernel: every segment keeps at least 2 pooled frames. Pooled first, so the
        # augmentations below touch a few dozen frames, not hundreds
        rate = (rec.fs / self.cfg.fs) if rec.fs and self.cfg.fs else 1.0
        lo, hi = (max(1, int(round(v * rate))) for v in self.p.pool_range)
        top = max(1, min(hi, len(movie) // (2 * self.cfg.n_segments)))
        pool = int(rng.integers(min(lo, top), top + 1))
        movie = movie[: len(movie) // pool * pool].reshape(-1, pool, s, s).max(axis=1).astype(np.float32)
        if self.p.scale_jitter:   # somata a little larger or smaller: the cell size is estimated, not known
            z = float(np.exp(rng.uniform(-1, 1) * np.log(1 + self.p.scale_jitter)))
            side = max(16, int(round(s * z)))
            movie, images = _resized(movie, side, smooth=True), _resized(images, side, smooth=True)
            labels, known = _resized(labels, side, smooth=False), _resized(known, side, smooth=False)
            movie, labels, known, images = (_fit(a, s) for a in (movie, labels, known, images))
        if self.p.noise:   # a noisier recording: correlations weaken as they do under fewer photons
            sd = float(np.median(movie.std(axis=0)))
            movie = movie + rng.normal(0, rng.uniform(0, self.p.noise) * sd, movie.shape).astype(np.float32)
        k = int(rng.integers(0, 4))
        flip = bool(rng.integers(0, 2))
        def aug(a):
            a = np.rot90(a, k, axes=(-2, -1))
            return np.ascontiguousarray(a[..., ::-1] if flip else a)
        movie, labels, known, images = aug(movie), aug(labels), aug(known), aug(images)
        n_pooled = len(movie)
        n_seg = self.cfg.n_segments
        # random cut points, each segment at least 2 pooled frames long
        cuts = np.sort(rng.choice(np.arange(1, n_pooled // 2), size=n_seg - 1, replace=False)) * 2 \
            if n_pooled // 2 > n_seg else None
        feats = disco_features(movie, 1, n_seg, self.offsets, cuts, order=rng.permutation(n_seg))
        aff, fg = affinity_targets(labels, self.graph_offsets)
        target = np.concatenate([aff, fg[None]])
        return feats, images, target, known.astype(np.float32)


def _resized(a: np.ndarray, side: int, smooth: bool) -> np.ndarray:
    """``a``'s last two axes resized to ``side`` × ``side``: images by antialiased bilinear
    interpolation, labels and masks by nearest neighbour (torch's: a tenth of scipy's zoom's
    time on a crop's frames, which made augmentation the bulk of a training step)."""
    import torch
    import torch.nn.functional as F

    t = torch.from_numpy(np.ascontiguousarray(a, np.float32)).reshape(1, -1, *a.shape[-2:])
    if smooth:
        out = F.interpolate(t, size=(side, side), mode="bilinear", antialias=True, align_corners=False)
    else:
        out = F.interpolate(t, size=(side, side), mode="nearest-exact")
    return out.reshape(*a.shape[:-2], side, side).numpy().astype(a.dtype)


def _fit(a: np.ndarray, size: int) -> np.ndarray:
    """The central ``size`` × ``size`` of an array's last two axes, or the array padded to it
    (images by their edge values; labels and the loss mask by zeros: padding teaches nothing)."""
    side = a.shape[-1]
    if side >= size:
        o = (side - size) // 2
        return np.ascontiguousarray(a[..., o : o + size, o : o + size])
    before = (size - side) // 2
    pad = [(0, 0)] * (a.ndim - 2) + [(before, size - side - before)] * 2
    return np.pad(a, pad, mode="edge" if a.dtype.kind == "f" else "constant")


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


def optimize_thresholds(model, parts) -> tuple[dict, float]:
    """Foreground threshold and GASP bias that maximise the mean validation F1 over ``parts``
    (``(probs, origin, recording, rect)`` of each validated recording; a small grid)."""
    best, best_f1 = dict(model.thresholds), -1.0
    for fg in (0.3, 0.4, 0.5, 0.6, 0.7):
        for bias in (0.3, 0.4, 0.5, 0.6, 0.7):
            t = {"foreground": fg, "bias": bias}
            f1 = float(np.mean([score_region(model, probs, origin, rec, rect, t)["combined"]
                                for probs, origin, rec, rect in parts]))
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
    def nth(rects, i):
        return rects[i] if i < len(rects) else None

    recs = [load_recording(d, nth(params.val_rects, i), nth(params.exclude_rects, i), params.label_reach,
                           config.cell_diameter) for i, d in enumerate(data_dirs)]
    if params.simulated:
        with progress_bar(params.simulated, "simulated fields", unit="field") as tick:
            recs += simulated_recordings(params.simulated, config.cell_diameter, params.crop, tick)
    for rec in recs:  # normalised over the whole field, as at inference
        rec.images = image_channels(rec.mean, config)
    val_recs = [rec for rec in recs if rec.val_rect is not None]
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
        if val_recs:
            net.eval()
            model = DiscoModel(net, config, dict(DEFAULT_THRESHOLDS), params.device)
            parts = [(*region_predictions(model, rec, rec.val_rect), rec, rec.val_rect) for rec in val_recs]
            # at the thresholds that suit this epoch's calibration: at fixed defaults the F1
            # of a few dozen validation cells jumps with every shift of the outputs' scale
            thresholds, f1 = optimize_thresholds(model, parts)
            record["val_f1"] = round(f1, 4)
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
        if val_recs and stale >= params.patience:
            log.info(f"early stop: validation F1 has not improved for {params.patience} epochs")
            break

    net.load_state_dict(best_state)
    net.eval()
    summary = {
        "data": [str(d) for d in data_dirs],
        "params": {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(params).items()},
        "val_f1_tuned_thresholds": best_f1 if val_recs else None,
        "recordings": [{"name": r.name, "scale": round(r.scale, 4), "fs": r.fs, "simulated": r.simulated,
                        "validation": r.val_rect} for r in recs],
        "seconds": round(time.perf_counter() - t_start, 1),
        "history": history,
    }
    save_model(out, net.state_dict(), config.to_dict(), best_thresholds)
    write_training_record(out, summary)
    return summary


def train_disco_model(data_dirs, out, *, val_rects=(), exclude_rects=(), epochs: int = 30,
                      steps_per_epoch: int = 40, batch_size: int = 4, base_width: int = 16, patience: int = 8,
                      label_reach: float | None = None, extra_inputs=(), cell_diameter: float = 10.0,
                      simulated: int = 0, sim_share: float = 0.3, seed: int = 0, device: str = "cpu",
                      resume: bool = False, overwrite: bool = False) -> dict:
    """`neuronseg train disco`: train on the recordings in ``data_dirs`` (each with its own
    validation and excluded rectangle, in order) and ``simulated`` simulated fields, every
    field resampled so its somata are ``cell_diameter`` px (0: trained as they are), and
    write the model folder ``out``. Returns the record."""
    from neuronseg.nets.device import torch_device
    from neuronseg.nets.disco import DiscoConfig

    claim_folder(out, overwrite, resume)
    torch_device(device)   # refuse a device this machine lacks before any work
    if len(val_rects) > len(data_dirs) or len(exclude_rects) > len(data_dirs):
        raise NeuronsegError(f"--val and --exclude are given once per --data at most ({len(data_dirs)} recordings)")
    params = TrainParams(epochs=epochs, steps_per_epoch=steps_per_epoch, batch_size=batch_size, patience=patience,
                         seed=seed, device=device, val_rects=tuple(val_rects), exclude_rects=tuple(exclude_rects),
                         label_reach=label_reach, simulated=simulated, sim_share=sim_share)
    config = DiscoConfig(base_width=base_width, extra_inputs=list(extra_inputs), cell_diameter=cell_diameter or None,
                         fs=7.0)
    return train_disco(list(data_dirs), out, params, config, resume=resume)
