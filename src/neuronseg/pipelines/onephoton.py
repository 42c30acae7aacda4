"""Movies → cells for one-photon recordings (`segment --method onephoton`).

    movie ─CLAHE, blur, haze removal, temporal bin, detrend─► filtered frames ─normalise─►
          ─U-Net+ASPP per frame─► cell probability per frame ─ConvGRU over time─► active-cell map
          ─threshold + local contrast, closing, watershed, size filter─► ROIs   (then traces; silent ROIs dropped)

The movie is streamed in time chunks: the GRU's hidden state is the only thing carried from
chunk to chunk, so memory does not grow with the movie's length. The max and mean of the
per-frame probabilities are accumulated on the way: they are the projection baselines the
method is compared with.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import ndimage as ndi

from neuronseg.errors import NeuronsegError
from neuronseg.instances.postprocess import close_foreground
from neuronseg.instances.watershed import instances_from_foreground
from neuronseg.movie.filters import BinCache, filtered_chunks, fit_normaliser

WEIGHTS = Path(__file__).resolve().parent.parent / "weights" / "onephoton"
#: per map a threshold and an optional local-contrast margin (None = off); the contrast window
#: is in cell diameters
DEFAULT_THRESHOLDS = {"active": 0.5, "max": 0.5, "mean": 0.1, "active_contrast": None, "max_contrast": None,
                      "mean_contrast": None, "contrast_window": 1.5, "min_size": 30, "closing": 1}
#: filtered bins used to estimate the noise level
NORMALISER_BINS = 100
#: raw frames per streamed chunk (each is read with a halo for the temporal detrending)
CHUNK = 400
#: frames per batch through the per-frame U-Net
FRAME_BATCH = 16


def onephoton_registered(movie, method: str):
    """``movie`` read through a registration with the one-photon settings (``method``: rigid,
    piecewise or flow), or ``movie`` itself for "none". Training registers its movies the same
    way as a model with that ``config.motion`` registers them at inference."""
    if method == "none":
        return movie
    from neuronseg.movie.motion import MotionCorrectedMovie, MotionParams, estimate_motion

    return MotionCorrectedMovie(movie, estimate_motion(movie, MotionParams.for_onephoton(method)))


@dataclass
class OnePhotonMaps:
    """What the networks saw in a movie, each ``(H, W)`` float32."""

    active: np.ndarray   #: GRU + head: probability of an active cell
    max: np.ndarray      #: max over frames of the per-frame probability (baseline)
    mean: np.ndarray     #: mean over frames of the per-frame probability (baseline)


@dataclass
class OnePhotonModel:
    net: object
    config: object
    thresholds: dict
    device: str = "cpu"

    @classmethod
    def load(cls, folder=None, device: str = "cpu") -> "OnePhotonModel":
        from neuronseg.nets.onephoton import OnePhotonConfig, OnePhotonNet
        from neuronseg.train.checkpoints import load_network

        def build(config: dict):
            cfg = OnePhotonConfig.from_dict(config)
            return OnePhotonNet(cfg), cfg

        net, cfg, thresholds = load_network(Path(folder) if folder else WEIGHTS, build, device)
        return cls(net, cfg, {**DEFAULT_THRESHOLDS, **thresholds}, str(device))

    def registered(self, movie):
        """``movie`` read through the registration this model expects (``config.motion``)."""
        return onephoton_registered(movie, self.config.motion)

    def frame_probabilities(self, frames: np.ndarray):
        """Per-frame probabilities ``(n, 1, H, W)`` (a torch tensor) of normalised frames."""
        import torch

        with torch.no_grad():
            out = [torch.sigmoid(self.net.frame_logits(torch.from_numpy(frames[i:i + FRAME_BATCH, None]).to(self.device)))
                   for i in range(0, len(frames), FRAME_BATCH)]
        return torch.cat(out)

    def predict(self, movie, chunk: int | None = None, progress=None) -> OnePhotonMaps:
        """Stream ``movie`` through the filters, the per-frame U-Net and the GRU."""
        import torch

        filt = self.config.frame_filter()
        k = max(1, filt.temporal_bin)
        if movie.n_frames < 2 * k:
            raise NeuronsegError(f"the one-photon method needs at least {2 * k} frames; this movie has {movie.n_frames}")
        cache = BinCache()  # the normaliser's filtered window, served again to the stream
        norm = fit_normaliser(movie.read, movie.n_frames, filt, NORMALISER_BINS, keep=cache)
        h = None
        peak = np.zeros(movie.frame_shape, np.float32)
        total = np.zeros(movie.frame_shape, np.float64)
        n = 0
        with torch.no_grad():
            for block in filtered_chunks(movie.read, movie.n_frames, filt, chunk or CHUNK, reuse=cache):
                frames = norm(block)
                probs = self.frame_probabilities(frames)
                p = probs[:, 0].cpu().numpy()
                peak = np.maximum(peak, p.max(axis=0))
                total += p.sum(axis=0)
                n += len(p)
                x = self.net.gru_input(probs, torch.from_numpy(frames[:, None]).to(self.device))
                h = self.net.gru(x[None], h)   # this chunk's frames as one sequence, state carried on
                if progress is not None:
                    progress(len(block) * k)
            active = torch.sigmoid(self.net.gru.mask_logits(h))[0, 0].cpu().numpy()
        return OnePhotonMaps(active.astype(np.float32), peak, (total / max(n, 1)).astype(np.float32))

    def cut(self, key: str = "active") -> tuple:
        """The tuned ``(threshold, contrast)`` of one map (``active``, ``max`` or ``mean``)."""
        return self.thresholds[key], self.thresholds.get(f"{key}_contrast")

    def foreground(self, probability: np.ndarray, cut: tuple) -> np.ndarray:
        """Pixels above ``cut = (threshold, contrast)``: the probability exceeds ``threshold``
        and, unless ``contrast`` is None, its logit exceeds the logit's neighbourhood mean (a
        window of ``contrast_window`` cell diameters) by ``contrast``.

        The local test is there because a dense real field lifts the whole map (the active
        map's median is 0.38 on dg13 against 0.01 in the simulations): one global threshold
        either drops the faint cells of a sparse field or fuses a dense one into a blob,
        while a cell stands out from its surround in both. It works on logits because in a
        dense field the sigmoid saturates (0.85–0.97 over whole clusters of cells) and flattens
        the bumps that the logits still show.
        """
        threshold, contrast = cut
        fg = probability > threshold
        if contrast is not None:
            z = logit(probability)
            size = max(3, int(round(self.thresholds["contrast_window"] * self.config.cell_diameter)) | 1)
            fg &= z - ndi.uniform_filter(z, size) > contrast
        return fg

    def instances(self, probability: np.ndarray, cut: tuple | None = None, key: str = "active",
                  extent: float | None | str = "tuned") -> np.ndarray:
        """Labels ``(H, W)`` of a probability map: the map's tuned cut (or ``cut``), closing,
        watershed split of touching cells, size filter, then each ROI trimmed to its pixels
        within ``extent`` logits of its own peak (``"tuned"``: the map's tuned extent; None:
        no trim)."""
        t = self.thresholds
        foreground = close_foreground(self.foreground(probability, cut or self.cut(key)), int(t["closing"]))
        labels = instances_from_foreground(foreground, "watershed", min_distance=max(2, int(self.config.cell_diameter / 2)),
                                           min_size=int(t["min_size"]))
        extent = t.get(f"{key}_extent") if extent == "tuned" else extent
        return labels if extent is None else trim_to_peak(labels, logit(probability), extent)


def logit(probability: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(probability, np.float32), 1e-4, 1 - 1e-4)
    return np.log(p / (1 - p))


def trim_to_peak(labels: np.ndarray, z: np.ndarray, extent: float) -> np.ndarray:
    """``labels`` keeping, in each ROI, the pixels whose ``z`` is within ``extent`` of the ROI's
    maximum. The cut that finds cells must be low enough for faint ones, and a bright cell's
    map then spills past its edge (more so where a movie moved): on registered validation
    simulations the ROIs' pixel precision was 0.69 at a pixel recall of 0.74. The
    peak-relative trim shapes each ROI by its own brightness without changing which cells
    are found."""
    n = int(labels.max())
    if n == 0:
        return labels
    peak = np.r_[np.inf, ndi.maximum(z, labels, np.arange(1, n + 1))]
    return np.where(z >= peak[labels] - extent, labels, 0).astype(labels.dtype)


def drop_silent(rois, raster: np.ndarray):
    """The ROIs with at least one event in their row of ``raster`` (ROIs × frames: the
    raster ``segment`` writes), and the kept indices.

    The raster's own threshold (4 robust SDs) is kept, so no ROI is written with an empty
    raster row. It costs recall on simulated movies (on the validation movies it dropped 8 of
    36 true cells found by the seed-0 model shipped first), but a looser test stops doing its job: of
    pure-noise traces 11–46 % pass 3.5 SDs (300–3000 frames), 2–12 % pass 4.
    """
    keep = np.flatnonzero(np.asarray(raster).any(axis=1))
    return rois.subset(keep), keep
