"""Training the one-photon network (`neuronseg train onephoton`), in two stages and an optional third.

1. The per-frame U-Net learns, on single filtered frames of simulated one-photon movies,
   which pixels belong to a cell lit in that frame (calcium ΔF/F ≥ ``frame_level``; the
   simulator knows every cell's calcium).
2. With the U-Net frozen, the ConvGRU and its head learn, over whole sequences of the U-Net's
   outputs, the mask of the cells that were *active* during the movie: those whose ΔF/F
   reached ``active_peak`` at least once. Partly labelled real movies (``onephoton_dg13``)
   join here: their labelled ROIs are positives; the 2-px rim around each labelled ROI and
   the pixels that never light up (below the median of the movie's max projection, ≥ 3 px
   from any labelled ROI) are negatives; every other pixel, which may be an unlabelled
   cell, is left out of the loss. Real movies are drawn for a third of the steps
   (``real_share``), however few of them there are.

3. (``config.outline_width > 0``) With both frozen, the outline U-Net learns the mask of the
   active cells from the active map and summary images of *fresh* simulated movies (the GRU's
   maps of its own training movies are cleaner than those of a new movie). Simulations only:
   trained beside the dg13 band as stage 2 is, it served one domain at the other's expense
   (validation Dice 0.61 with a third of its steps on the band, dg13 recall 5 of 15 with a tenth). It only moves
   the rims of the active map's ROIs (:func:`neuronseg.pipelines.onephoton.reshape_by_outline`).
   ``--from`` adds it to a trained model without retraining stages 1 and 2.

Thresholds of the active map and of the two projection baselines (max and mean of the
per-frame outputs) are then tuned on the validation movies (Neurofinder F1) together with
the partly labelled bands (labelled-object IoU).
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import ndimage as ndi

from neuronseg.errors import NeuronsegError
from neuronseg.movie.filters import FrameFilter, bin_frames, normalised_frames
from neuronseg.nets.onephoton import OnePhotonConfig, OnePhotonNet
from neuronseg.train.augment import dihedral

log = logging.getLogger(__name__)


@dataclass
class OnePhotonSample:
    """One training/validation movie, filtered and normalised, with what is known about it."""

    name: str
    frames: np.ndarray                #: (T', H, W) normalised filtered frames
    active: np.ndarray                #: (H, W) float32 target of the active-cell map
    known: np.ndarray                 #: (H, W) float32, 1 where ``active`` is known
    labels: np.ndarray                #: (H, W) int32 truth instances (active or labelled cells)
    frame_targets: np.ndarray | None = None   #: (T', H, W) bool: cells lit in each frame
    movie: np.ndarray | None = None   #: the raw movie, kept for validation through the whole pipeline
    rows: tuple | None = None         #: the band of ``movie``'s rows this sample covers (None: all)

    @property
    def partial(self) -> bool:
        """Only some cells are labelled: part of ``active`` is unknown."""
        return not self.known.all()


@dataclass
class OnePhotonTrainParams:
    frame_steps: int = 1500
    gru_steps: int = 300
    frame_crop: int = 96
    gru_crop: int = 64
    frame_batch: int = 8
    gru_batch: int = 4
    lr: float = 2e-3
    frame_level: float = 0.5        #: ΔF/F at which a simulated cell counts as lit in a frame
    active_peak: float = 0.5        #: peak ΔF/F at which a simulated cell counts as active
    real_share: float = 1 / 3       #: share of GRU steps on partly labelled real movies (when given)
    outline_steps: int = 1500
    outline_crop: int = 64
    outline_batch: int = 16
    seed: int = 0
    device: str = "cpu"


def calcium_of(rec) -> np.ndarray:
    """ΔF/F ``(N, T)`` of each simulated cell's noise-free somatic fluorescence (its minimum is
    the cell's baseline: the simulator adds calcium on top of a constant)."""
    traces = np.asarray(rec.traces, np.float64)
    return (traces / traces.min(axis=1, keepdims=True) - 1).astype(np.float32)


def active_cells(rec, active_peak: float = 0.5) -> np.ndarray:
    """Indices of the simulated cells whose ΔF/F reached ``active_peak``: the ground truth of
    the one-photon method, which finds cells by their activity."""
    return np.flatnonzero(calcium_of(rec).max(axis=1) >= active_peak)


def registered_array(movie: np.ndarray, motion: str) -> np.ndarray:
    """``movie`` registered as a model with ``config.motion = motion`` registers it at
    inference, so that the networks learn on frames like those they will see."""
    if motion == "none":
        return movie
    from neuronseg.io.movies import movie_from_array
    from neuronseg.pipelines.onephoton import onephoton_registered

    registered = onephoton_registered(movie_from_array(np.asarray(movie)), motion)
    return registered.read(0, registered.n_frames)


def sample_from_simulation(rec, filt: FrameFilter, params: OnePhotonTrainParams, name: str,
                           motion: str = "none") -> OnePhotonSample:
    """A simulated movie with its full truth; ``motion`` registers its frames first (the
    targets are the cells' resting masks, which registered frames match)."""
    k = max(1, filt.temporal_bin)
    frames = normalised_frames(registered_array(rec.movie, motion), filt)
    calcium = bin_frames(calcium_of(rec).T[:, :, None], k)[:, :, 0]        # (T', N)
    cell_of = rec.rois.to_labels()                                           # 0 = background
    lit = np.concatenate([np.zeros((len(calcium), 1), bool), calcium >= params.frame_level], axis=1)
    frame_targets = lit[:, cell_of]                                          # (T', H, W)
    keep = active_cells(rec, params.active_peak)
    labels = rec.rois.subset(keep).to_labels().astype(np.int32)
    return OnePhotonSample(name, frames, (labels > 0).astype(np.float32), np.ones(labels.shape, np.float32),
                           labels, frame_targets, rec.movie)


#: fewest rows of a partly labelled band: the per-frame U-Net (depth 4) halves them three
#: times and needs two rows left at the bottom
MIN_BAND_ROWS = 16


def sample_from_partial_labels(movie: np.ndarray, labels: np.ndarray, filt: FrameFilter, name: str,
                               rows=None) -> OnePhotonSample:
    """A real movie with some of its cells labelled; ``rows = (r0, r1)`` keeps a band of rows
    (the rest held out). It is never registered, whatever the model's ``config.motion``: labels
    drawn on a movie mean it already holds still (``onephoton_dg13`` is a registered ΔF/F
    movie, on which a rigid registration finds spurious shifts of up to 9 px)."""
    labels = np.asarray(labels).astype(np.int32)
    if not labels.any():
        raise NeuronsegError(f"{name}: the labels hold no ROI")
    if rows is not None:
        r0, r1 = rows
        if not 0 <= r0 < r1 <= labels.shape[0] or r1 - r0 < MIN_BAND_ROWS:
            raise NeuronsegError(f"{name}: rows {r0}–{r1} are not a band of at least {MIN_BAND_ROWS} rows "
                                 f"inside its {labels.shape[0]}")
        if not labels[r0:r1].any():
            raise NeuronsegError(f"{name}: rows {r0}–{r1} hold no labelled ROI")
    frames = normalised_frames(np.asarray(movie), filt)
    if rows is not None:
        frames, labels = frames[:, rows[0]:rows[1]], labels[rows[0]:rows[1]]
    peak = frames.max(axis=0)
    cell = labels > 0
    near = ndi.binary_dilation(cell, iterations=3)
    quiet = (peak < np.median(peak)) & ~near
    # the 1–2 px rim around each labelled ROI is not that cell: it teaches where a real cell
    # ends, which the simulations alone did not (a dense real field came out as one blob)
    rim = ndi.binary_dilation(cell, iterations=2) & ~cell
    known = (cell | quiet | rim).astype(np.float32)
    return OnePhotonSample(name, frames, (labels > 0).astype(np.float32), known, labels, movie=np.asarray(movie),
                           rows=tuple(rows) if rows is not None else None)


def simulated_samples(seeds, filt: FrameFilter, params: OnePhotonTrainParams, frames: int = 400,
                      shape=(128, 128), cells: int = 40, photons=None, motion: str = "none",
                      progress=None) -> list[OnePhotonSample]:
    """Simulated one-photon movies, one per seed; ``photons`` a fixed value or, by default,
    drawn per movie log-uniformly in 4–40 (a range of brightness and shot noise)."""
    from neuronseg.simulate import simulate

    out = []
    for seed in seeds:
        ph = photons if photons is not None else float(np.exp(np.random.default_rng(seed).uniform(np.log(4), np.log(40))))
        rec = simulate(frames=frames, shape=shape, cells=cells, seed=int(seed), onephoton=True, photons=ph)
        out.append(sample_from_simulation(rec, filt, params, f"sim{seed}", motion))
        if progress is not None:
            progress(1)
    return out


def _crop_at(shape, size, rng, centre=None):
    h, w = shape
    size_r, size_c = min(size, h), min(size, w)
    if centre is None:
        r0, c0 = rng.integers(0, h - size_r + 1), rng.integers(0, w - size_c + 1)
    else:
        r0 = int(np.clip(centre[0] - size_r // 2 + rng.integers(-size_r // 4, size_r // 4 + 1), 0, h - size_r))
        c0 = int(np.clip(centre[1] - size_c // 2 + rng.integers(-size_c // 4, size_c // 4 + 1), 0, w - size_c))
    return slice(r0, r0 + size_r), slice(c0, c0 + size_c)


def _loss(logits, target, known):
    import torch.nn.functional as F

    from neuronseg.nets.losses import dice_loss

    bce = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
    return (bce * known).sum() / known.sum().clamp(min=1) + dice_loss(logits.sigmoid(), target, known)


def _one_cycle_adamw(parameters, lr: float, steps: int):
    """The optimiser and learning-rate schedule every stage trains with."""
    import torch

    opt = torch.optim.AdamW(parameters, lr=lr, weight_decay=1e-4)
    return opt, torch.optim.lr_scheduler.OneCycleLR(opt, lr, total_steps=steps)


def _optimise(opt, sched, loss, clip=None) -> float:
    """One optimiser and scheduler step on ``loss`` (gradient norm clipped to 1 over ``clip``)."""
    import torch

    opt.zero_grad()
    loss.backward()
    if clip is not None:
        torch.nn.utils.clip_grad_norm_(clip, 1.0)
    opt.step()
    sched.step()
    return loss.item()


class _LossLog:
    """Mean loss per ``every`` steps, logged, and one tick of ``progress`` per step."""

    def __init__(self, name: str, total: int, every: int, progress=None):
        self.name, self.total, self.every, self.progress = name, total, every, progress
        self.means, self.step, self.running = [], 0, 0.0

    def add(self, loss: float) -> None:
        self.step += 1
        self.running += loss
        if self.step % self.every == 0:
            self.means.append(round(self.running / self.every, 4))
            log.info(f"{self.name} step {self.step}/{self.total}: loss {self.means[-1]:.4f}")
            self.running = 0.0
        if self.progress is not None:
            self.progress(1)


def train_frame_net(net: OnePhotonNet, samples: list[OnePhotonSample], params: OnePhotonTrainParams, rng,
                    progress=None) -> list[float]:
    """Stage 1 on the samples that have per-frame targets; returns the loss per 100 steps."""
    import torch

    usable = [s for s in samples if s.frame_targets is not None]
    if not usable:
        raise NeuronsegError("stage 1 needs movies with per-frame targets (simulated ones)")
    lit_frames = [np.flatnonzero(s.frame_targets.any(axis=(1, 2))) for s in usable]
    opt, sched = _one_cycle_adamw(net.frame_net.parameters(), params.lr, params.frame_steps)
    net.frame_net.train()
    history = _LossLog("frame net", params.frame_steps, 100, progress)
    for _ in range(params.frame_steps):
        xs, ys = [], []
        for _ in range(params.frame_batch):
            i = rng.integers(len(usable))
            s = usable[i]
            lit = lit_frames[i]
            t = int(rng.choice(lit)) if len(lit) and rng.random() < 0.8 else int(rng.integers(len(s.frames)))
            on = np.argwhere(s.frame_targets[t])
            centre = on[rng.integers(len(on))] if len(on) and rng.random() < 0.7 else None
            sl = _crop_at(s.frames.shape[1:], params.frame_crop, rng, centre)
            d = int(rng.integers(8))
            xs.append(dihedral(s.frames[t][sl], d) * rng.uniform(0.8, 1.25))
            ys.append(dihedral(s.frame_targets[t][sl], d))
        x = torch.from_numpy(np.stack(xs)[:, None].astype(np.float32)).to(params.device)
        y = torch.from_numpy(np.stack(ys)[:, None].astype(np.float32)).to(params.device)
        history.add(_optimise(opt, sched, _loss(net.frame_logits(x), y, torch.ones_like(y))))
    net.frame_net.eval()
    return history.means


def train_gru(net: OnePhotonNet, samples: list[OnePhotonSample], params: OnePhotonTrainParams, rng,
              progress=None) -> list[float]:
    """Stage 2: the GRU and its head over whole sequences of the frozen U-Net's outputs."""
    import torch

    for p in net.frame_net.parameters():
        p.requires_grad_(False)
    from neuronseg.pipelines.onephoton import OnePhotonModel

    per_frame = OnePhotonModel(net.eval(), net.config, {}, params.device)
    probs = [per_frame.frame_probabilities(s.frames)[:, 0].cpu().numpy().astype(np.float16) for s in samples]
    real = [i for i, s in enumerate(samples) if s.partial]
    simulated = [i for i in range(len(samples)) if i not in real] or real
    modules = list(net.gru.parameters())
    opt, sched = _one_cycle_adamw(modules, params.lr, params.gru_steps)
    net.gru.train()
    history = _LossLog("GRU", params.gru_steps, 50, progress)
    for _ in range(params.gru_steps):
        # one movie per batch, so every sequence in it has the same length
        pool = real if real and rng.random() < params.real_share else simulated
        i = int(pool[rng.integers(len(pool))])
        s = samples[i]
        xs, ys, ks = [], [], []
        for _ in range(params.gru_batch):
            on = np.argwhere(s.active > 0)
            centre = on[rng.integers(len(on))] if len(on) and rng.random() < 0.5 else None
            sl = _crop_at(s.active.shape, params.gru_crop, rng, centre)
            d = int(rng.integers(8))
            xs.append(np.stack([dihedral(probs[i][:, sl[0], sl[1]], d), dihedral(s.frames[:, sl[0], sl[1]], d)], axis=1))
            ys.append(dihedral(s.active[sl], d))
            ks.append(dihedral(s.known[sl], d))
        both = torch.from_numpy(np.stack(xs).astype(np.float32)).to(params.device)   # (B, T, 2, H, W)
        x = net.gru_input(both[:, :, :1], both[:, :, 1:])
        y = torch.from_numpy(np.stack(ys)[:, None].copy()).to(params.device)
        k = torch.from_numpy(np.stack(ks)[:, None].copy()).to(params.device)
        history.add(_optimise(opt, sched, _loss(net.active_logits(x), y, k), clip=modules))
    for p in net.frame_net.parameters():
        p.requires_grad_(True)
    net.gru.eval()
    return history.means


def train_outline(net: OnePhotonNet, samples: list[OnePhotonSample], params: OnePhotonTrainParams, rng,
                  progress=None) -> list[float]:
    """Stage 3: the outline U-Net on the frozen stages' active maps and summary images of
    ``samples`` (simulated movies with their raw frames); returns the loss per 100 steps."""
    import torch

    from neuronseg.pipelines.onephoton import OnePhotonModel, outline_input

    if not samples or any(s.partial or s.movie is None for s in samples):
        raise NeuronsegError("the outline stage needs simulated movies (their raw frames and full truth)")
    model = OnePhotonModel(net.eval(), net.config, {}, params.device)
    inputs = []
    for s in samples:
        maps = maps_of(model, s)
        inputs.append(outline_input(maps.active, maps.summary))
    opt, sched = _one_cycle_adamw(net.outline.parameters(), params.lr, params.outline_steps)
    net.outline.train()
    history = _LossLog("outline", params.outline_steps, 100, progress)
    for _ in range(params.outline_steps):
        xs, ys = [], []
        for _ in range(params.outline_batch):
            i = int(rng.integers(len(samples)))
            sl = _crop_at(samples[i].active.shape, params.outline_crop, rng)
            d = int(rng.integers(8))
            xs.append(np.stack([dihedral(c, d) for c in inputs[i][:, sl[0], sl[1]]]))
            ys.append(dihedral(samples[i].active[sl], d))
        x = torch.from_numpy(np.stack(xs)).to(params.device)
        y = torch.from_numpy(np.stack(ys)[:, None].astype(np.float32)).to(params.device)
        history.add(_optimise(opt, sched, _loss(net.outline_logits(x), y, torch.ones_like(y))))
    net.outline.eval()
    return history.means


def maps_of(model, sample: OnePhotonSample):
    """The model's active map and projection baselines for a sample, through the streaming
    pipeline as at inference (on the whole movie, then cut to the sample's rows)."""
    from neuronseg.io.movies import movie_from_array

    movie = movie_from_array(sample.movie, sample.name)
    maps = model.predict(movie if sample.partial else model.registered(movie))
    if sample.rows is not None:
        band = slice(*sample.rows)
        maps = type(maps)(maps.active[band], maps.max[band], maps.mean[band],
                          None if maps.outline is None else maps.outline[band])
    return maps


def f1_of(model, probability: np.ndarray, truth_labels: np.ndarray, cut: tuple) -> float:
    from neuronseg.roiset import RoiSet
    from neuronseg.metrics import neurofinder_scores

    pred = RoiSet.from_labels(model.instances(probability, cut, extent=None))
    truth = RoiSet.from_labels(truth_labels)
    if not len(pred):
        return 0.0
    return neurofinder_scores(truth, pred)["combined"]


def score_of(model, probability: np.ndarray, sample: OnePhotonSample, cut: tuple) -> float:
    """Neurofinder F1 for a fully labelled sample; for a partly labelled one the labelled-object
    IoU, which ignores predictions away from labelled cells and penalises those that merge a
    labelled cell with its neighbours."""
    if not sample.partial:
        return f1_of(model, probability, sample.labels, cut)
    from neuronseg.metrics import labelled_object_iou

    return labelled_object_iou(sample.labels, model.instances(probability, cut, extent=None))


#: local-contrast margins (logit units) tried with every threshold (None: a plain global threshold)
CONTRASTS = (None, 0.1, 0.2, 0.3, 0.5, 0.8)
#: ROI extents (logits below the ROI's peak) tried once the cut is chosen (None: no trim)
EXTENTS = (None, 2.0, 2.5, 3.0, 3.5, 4.0, 5.0)


def fit_of(labels: np.ndarray, sample: OnePhotonSample) -> float:
    """How well the ROIs' pixels fit: pixel Dice against a fully labelled sample, the
    labelled-object IoU for a partly labelled one."""
    from neuronseg.metrics import labelled_object_iou, pixel_scores

    if sample.partial:
        return labelled_object_iou(sample.labels, labels)
    return pixel_scores(sample.labels > 0, labels)["dice"]


def optimize_thresholds(model, samples: list[OnePhotonSample]) -> tuple[dict, dict]:
    """The cut (threshold, local-contrast margin) of the active map and of each projection
    baseline that maximises the mean score (:func:`score_of`) over the validation movies and
    the partly labelled training bands, then the ROI extent under that cut that maximises
    the mean :func:`fit_of`; returns ``(thresholds, mean score of each cut)``. The
    real bands matter: a cut tuned on simulations alone can sit so low that a dense real
    field becomes one blob."""
    from neuronseg.pipelines.onephoton import logit, trim_to_peak

    maps = [maps_of(model, s) for s in samples]
    grids = {"active": np.arange(0.05, 0.91, 0.05), "max": np.arange(0.05, 0.96, 0.05), "mean": np.arange(0.02, 0.61, 0.02)}
    best, scores = {}, {}
    for key, grid in grids.items():
        cuts = [(round(float(t), 3), c) for c in CONTRASTS for t in grid]
        score = [np.mean([score_of(model, getattr(m, key), s, cut) for m, s in zip(maps, samples)]) for cut in cuts]
        j = int(np.argmax(score))
        (best[key], best[f"{key}_contrast"]), scores[key] = cuts[j], round(float(score[j]), 4)
        wide = [(model.instances(getattr(m, key), cuts[j], extent=None), logit(getattr(m, key))) for m in maps]
        fit = [np.mean([fit_of(labels if e is None else trim_to_peak(labels, z, e), s) for (labels, z), s in zip(wide, samples)])
               for e in EXTENTS]
        best[f"{key}_extent"] = EXTENTS[int(np.argmax(fit))]
    if model.net.outline is not None:
        best.update(optimize_outline(model, maps, samples, {**model.thresholds, **best}))
    return best, scores


#: outline cuts and growths (px) tried, by the mean :func:`fit_of`
OUTLINE_CUTS = (0.2, 0.3, 0.4, 0.5)
OUTLINE_GROWTHS = (0, 1, 2, 3)


def optimize_outline(model, maps, samples: list[OnePhotonSample], thresholds: dict) -> dict:
    """``outline_cut`` and ``outline_grow`` that fit the active map's ROIs (under ``thresholds``)
    best to the truth once redrawn by the outline map."""
    from neuronseg.pipelines.onephoton import reshape_by_outline

    t = thresholds
    cut = (t["active"], t["active_contrast"])
    rois = [model.instances(m.active, cut, extent=t["active_extent"]) for m in maps]
    pairs = [(c, g) for c in OUTLINE_CUTS for g in OUTLINE_GROWTHS]
    fit = [np.mean([fit_of(reshape_by_outline(r, m.outline, c, g, int(t["min_size"])), s) for r, m, s in zip(rois, maps, samples)])
           for c, g in pairs]
    c, g = pairs[int(np.argmax(fit))]
    return {"outline_cut": c, "outline_grow": g}


def train_onephoton(out, train: list[OnePhotonSample], val: list[OnePhotonSample],
                    params: OnePhotonTrainParams, config: OnePhotonConfig | None = None, progress=None,
                    outline: list[OnePhotonSample] | None = None, base=None) -> dict:
    """The stages, threshold tuning on ``val`` (simulated movies with their raw frames) and the
    partly labelled training movies, and the model folder ``out`` (weights.pt, config.json,
    thresholds.json, training.json). ``outline``: the fresh simulated movies of stage 3 (needed
    when ``config.outline_width``). ``base``: a trained model folder whose stages 1 and 2 are
    taken as they are (its config, but ``config.outline_width``); ``train`` then only adds its
    partly labelled movies to the tuning."""
    import torch

    from neuronseg.pipelines.onephoton import DEFAULT_THRESHOLDS, OnePhotonModel
    from neuronseg.nets.model_folder import load_weights, save_model, write_training_record

    if not val or any(s.movie is None for s in val):
        raise NeuronsegError("validation needs simulated movies (their raw frames and full truth)")
    config = config or OnePhotonConfig()
    if config.outline_width and not outline:
        raise NeuronsegError("an outline U-Net needs simulated movies of its own to train on")
    torch.manual_seed(params.seed)
    rng = np.random.default_rng(params.seed)
    if base is not None:
        trained = OnePhotonModel.load(base, params.device)
        config = OnePhotonConfig.from_dict({**trained.config.to_dict(), "outline_width": config.outline_width})
    net = OnePhotonNet(config).to(params.device)
    t0 = time.perf_counter()
    if base is not None:
        # its stages 1 and 2 (and an outline it may have had makes way for the new one)
        kept = {k: v for k, v in trained.net.state_dict().items() if not k.startswith("outline.")}
        load_weights(net, {**net.state_dict(), **kept}, base)
        frame_hist, gru_hist = [], []
        t1 = t2 = time.perf_counter()
    else:
        frame_hist = train_frame_net(net, train, params, rng, progress)
        t1 = time.perf_counter()
        gru_hist = train_gru(net, train, params, rng, progress)
        t2 = time.perf_counter()
    outline_hist = train_outline(net, outline, params, rng, progress) if config.outline_width else []
    t3 = time.perf_counter()
    model = OnePhotonModel(net.eval(), config, dict(DEFAULT_THRESHOLDS), params.device)
    tuning = val + [s for s in train if s.partial]
    thresholds, val_f1 = optimize_thresholds(model, tuning)
    seconds = {} if base is not None else {"frame_net": round(t1 - t0, 1), "gru": round(t2 - t1, 1)}
    seconds.update(outline=round(t3 - t2, 1), thresholds=round(time.perf_counter() - t3, 1))
    record = {"base": str(base) if base is not None else None,
              "train": [s.name for s in train], "outline": [s.name for s in outline or []],
              "val": [s.name for s in tuning], "params": params.__dict__,
              "frame_loss": frame_hist, "gru_loss": gru_hist, "outline_loss": outline_hist, "validation_f1": val_f1,
              "seconds": seconds}
    if base is not None and (Path(base) / "training.json").exists():
        # how stages 1 and 2 were trained travels with the model that keeps them
        record["base_training"] = json.loads((Path(base) / "training.json").read_text())
    save_model(out, net.state_dict(), config.to_dict(), {**DEFAULT_THRESHOLDS, **thresholds}, model_card(record, config))
    write_training_record(Path(out), record)
    return record


def _stages_1_and_2(record: dict) -> str:
    p = record["params"]
    if record.get("base"):
        return f"- Stages 1 (per-frame U-Net) and 2 (GRU + head) taken unchanged from `{record['base']}`.\n"
    return f"""- Stage 1 (per-frame U-Net): {p['frame_steps']} steps on simulated one-photon movies
  {', '.join(n for n in record['train'] if n.startswith('sim'))}; a pixel is lit when its
  cell's ΔF/F ≥ {p['frame_level']}.
- Stage 2 (GRU + head): {p['gru_steps']} steps on whole sequences of the frozen U-Net's
  outputs of {', '.join(record['train'])}; target = cells whose ΔF/F reached {p['active_peak']}.
  Partly labelled real movies: labelled ROIs positive, never-bright pixels negative, the
  rest outside the loss.
"""


def _stage_3(record: dict, config: OnePhotonConfig) -> str:
    if not config.outline_width:
        return ""
    names = record["outline"]
    return f"""- Stage 3 (outline U-Net, width {config.outline_width}): {record['params']['outline_steps']} steps on the active maps
  and summary images (max, mean, std, local correlation of the filtered frames) of {len(names)} fresh
  simulated movies ({names[0]} … {names[-1]}); it redraws each active ROI within
  `outline_grow` px where its map exceeds `outline_cut` (tuned by pixel Dice and labelled-object IoU).
"""


def model_card(record: dict, config: OnePhotonConfig) -> str:
    registration = "" if config.motion == "none" else (
        f"- Movies are registered first (`{config.motion}`, one-photon settings): for training, when the\n"
        "  cuts are tuned and when `segment` runs. Partly labelled movies are taken as registered.\n")
    return f"""# One-photon model (per-frame U-Net with ASPP + ConvGRU)

Finds the cells that are *active* in a one-photon (miniscope, widefield) movie.

- Network: U-Net width {config.base_width}, depth {config.depth}, ASPP rates {list(config.aspp_rates)};
  ConvGRU hidden {config.hidden}, chunks of {config.chunk} binned frames; GRU also sees the
  filtered frame: {config.gru_frames}.
- Frame filters: {json.dumps(config.filter)}.
{_stages_1_and_2(record)}{_stage_3(record, config)}{registration}- Cuts tuned on validation movies {', '.join(record['val'])} (Neurofinder F1) together
  with the partly labelled training bands (labelled-object IoU): per map a threshold and a
  local-contrast margin of its logit over the neighbourhood mean (`thresholds.json`: `active`,
  `active_contrast`, …; null = no local test). Mean score
  {record['validation_f1']} (active map; max / mean projection baselines).
  Then, under that cut, how far below its own peak (in logits) a ROI reaches (`active_extent`,
  …; null = no trim), by pixel Dice on the validation movies and labelled-object IoU.
- Training time on this machine (2 CPU cores): {record['seconds']} s.
- Intended for cells of about {config.cell_diameter:g} px across; rescale other movies.
"""


def train_onephoton_model(out, *, simulated: int = 8, val_simulated: int = 2, partial=(), partial_rows=None,
                          frame_steps: int = 1500, gru_steps: int = 300, temporal_bin: int = 4, gru_hidden: int = 8,
                          width: int = 8, motion: str = "none", outline_simulated: int = 0, outline_width: int = 16,
                          outline_steps: int = 1500, base=None, seed: int = 0, device: str = "cpu",
                          overwrite: bool = False) -> dict:
    """`neuronseg train onephoton`: simulate the movies (seeds 100… to train, 200… to tune the
    cuts, 500… for the outline stage), read the partly labelled real ones (``partial``: pairs
    of movie and label file, ``partial_rows`` the rows to use), train, and write the model
    folder ``out``. With ``base`` (a trained one-photon model folder) only the outline stage is
    trained and the rest kept as it is. Returns the training record."""
    from neuronseg.io.movies import open_movie
    from neuronseg.io.outputs import atomic_output_dir
    from neuronseg.io.rois import read_rois
    from neuronseg.nets.device import torch_device
    from neuronseg.pipelines.onephoton import OnePhotonModel
    from neuronseg.progress import progress_bar
    from neuronseg.simulate import ONEPHOTON_PHOTONS

    torch_device(device)   # refuse a device this machine lacks before simulating the movies
    if outline_simulated < 0:
        raise NeuronsegError("--outline-simulated takes a count of movies, 0 or more")
    if base is not None:
        if not outline_simulated:
            raise NeuronsegError("--from trains only the outline stage: give --outline-simulated N")
        base_config = OnePhotonModel.load(base).config   # refuses a folder that is not a one-photon model
        filt, motion = base_config.frame_filter(), base_config.motion
        simulated = 0
    else:
        filt = FrameFilter(temporal_bin=temporal_bin)
    params = OnePhotonTrainParams(frame_steps=frame_steps, gru_steps=gru_steps, outline_steps=outline_steps, seed=seed,
                                  device=device)
    with atomic_output_dir(out, overwrite, "model") as tmp:
        with progress_bar(simulated + val_simulated + outline_simulated + len(partial), "preparing movies",
                          unit="movie") as tick:
            real = []   # read first, so a bad file or band is refused before minutes of simulation
            for movie_path, labels_path in partial:
                with open_movie(movie_path) as movie:
                    frames = movie.read(0, movie.n_frames)
                labels = read_rois(labels_path, frames.shape[1:]).to_labels()
                real.append(sample_from_partial_labels(frames, labels, filt, Path(movie_path).name, partial_rows))
                tick(1)
            # training movies are registered as the model will register them (config.motion)
            train = simulated_samples(range(100, 100 + simulated), filt, params, motion=motion, progress=tick) + real
            val = simulated_samples(range(200, 200 + val_simulated), filt, params, photons=ONEPHOTON_PHOTONS, progress=tick)
            # the outline stage reads its movies through the whole pipeline, registration included
            outline = simulated_samples(range(500, 500 + outline_simulated), filt, params, progress=tick)
        steps = (0 if base else frame_steps + gru_steps) + (outline_steps if outline_simulated else 0)
        with progress_bar(steps, "training", unit="step") as tick:
            config = OnePhotonConfig(base_width=width, hidden=gru_hidden, filter=filt.to_dict(), motion=motion,
                                     outline_width=outline_width if outline_simulated else 0)
            return train_onephoton(tmp, train, val, params, config, progress=tick, outline=outline, base=base)
