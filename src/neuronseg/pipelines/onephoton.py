"""Movies → cells for one-photon recordings (`segment --method onephoton`).

    movie ─CLAHE, blur, haze removal, temporal bin, detrend─► filtered frames ─normalise─►
          ─U-Net+ASPP per frame─► cell probability per frame ─ConvGRU over time─► active-cell map
          ─threshold + local contrast, closing, watershed, size filter─► ROIs   (then traces; silent ROIs dropped)
    active map + summary images of the filtered frames ─outline U-Net─► each ROI's pixels redrawn (models with one)

The movie is streamed in time chunks: the GRU's hidden state is the only thing carried from
chunk to chunk, so memory does not grow with the movie's length. The max and mean of the
per-frame probabilities are accumulated on the way: they are the projection baselines the
method is compared with.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi

from neuronseg.errors import NeuronsegError
from neuronseg.instances.postprocess import close_foreground
from neuronseg.instances.watershed import instances_from_foreground
from neuronseg.movie.filters import BinCache, filtered_chunks, fit_normaliser
from neuronseg.movie.images import robust_z
from neuronseg.movie.summary import StreamingSummary, Summary
from neuronseg.nets.model_folder import NetworkModel
from neuronseg.pipelines.method import FieldScale, MovieMethod, timed

#: per map a threshold and an optional local-contrast margin (None = off); the contrast window
#: is in cell diameters
DEFAULT_THRESHOLDS = {"active": 0.5, "max": 0.5, "mean": 0.1, "active_contrast": None, "max_contrast": None,
                      "mean_contrast": None, "contrast_window": 1.5, "min_size": 30, "closing": 1,
                      "outline_cut": 0.3, "outline_grow": 2}
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
    outline: np.ndarray | None = None   #: the outline U-Net's cell probability (models with one)
    summary: Summary | None = None      #: summary images of the normalised filtered frames (models with an outline U-Net)


@dataclass
class OnePhotonModel(NetworkModel, MovieMethod):
    """A loaded one-photon network; as a method of
    :func:`~neuronseg.pipelines.segment.segment_movie` it registers the movie as it was
    trained to, streams it through its networks, and keeps the cells that show a transient."""

    name = "onephoton"
    KIND = "one-photon"
    tileable = False
    SHIPPED = "onephoton"
    DEFAULT_THRESHOLDS = DEFAULT_THRESHOLDS

    @classmethod
    def build(cls, config: dict):
        from neuronseg.nets.onephoton import OnePhotonConfig, OnePhotonNet

        cfg = OnePhotonConfig.from_dict(config)
        return OnePhotonNet(cfg), cfg

    @property
    def default_motion(self) -> str:
        return self.config.motion

    def motion_params(self, motion: str):
        from neuronseg.movie.motion import MotionParams

        return MotionParams.for_onephoton(motion)

    @property
    def min_frames(self) -> int:
        return 2 * max(1, self.config.frame_filter().temporal_bin)

    #: the size estimator is measured on two-photon fields only; a one-photon field's mean is
    #: its background (it read 27–29 px somata of 9.6 on simulations): the model's own size
    #: is assumed unless the user gives --diameter
    estimates_diameter = False

    @property
    def trained_diameter(self):
        return self.config.cell_diameter

    def find_cells(self, movie, summary, features, chunk, tile_size, seconds: dict, scale: FieldScale | None = None):
        """The networks over the streamed movie (resampled so its somata have the training
        size), then the active map's cells, mapped back to the movie's pixels; ``(rois, parameters)``."""
        from neuronseg.movie.resample import ResampledMovie, resample_labels, scaled_shape
        from neuronseg.progress import progress_bar
        from neuronseg.roiset import RoiSet

        factor = self.resampling(scale or FieldScale(None))
        seen = movie if factor == 1.0 else ResampledMovie(movie, scaled_shape(movie.frame_shape, factor))
        with timed(seconds, "network"), progress_bar(movie.n_frames, "one-photon network") as tick:
            maps = self.predict(seen, chunk, progress=tick)
        with timed(seconds, "instances"):
            labels = self.instances(maps.active, outline=maps.outline)
            if factor != 1.0:
                labels = resample_labels(labels, movie.frame_shape)
            rois = RoiSet.from_labels(labels)
        return rois, {"model": self.origin, "config": self.config.to_dict(), "thresholds": self.thresholds,
                      "device": self.device, "resampled_by": round(factor, 4)}

    def keep(self, rois, events):
        """The method's last step: a ROI whose trace never shows a transient is not an active cell."""
        return drop_silent(rois, events)[1]

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
        if movie.n_frames < self.min_frames:
            raise NeuronsegError(f"the one-photon method needs at least {self.min_frames} frames; "
                                 f"this movie has {movie.n_frames}")
        cache = BinCache()  # the normaliser's filtered window, served again to the stream
        norm = fit_normaliser(movie.read, movie.n_frames, filt, NORMALISER_BINS, keep=cache)
        h = None
        stats = StreamingSummary(movie.frame_shape) if self.net.outline is not None else None
        peak = np.zeros(movie.frame_shape, np.float32)
        total = np.zeros(movie.frame_shape, np.float64)
        n = 0
        with torch.no_grad():
            for block in filtered_chunks(movie.read, movie.n_frames, filt, chunk or CHUNK, reuse=cache):
                frames = norm(block)
                if stats is not None:
                    stats.update(frames)
                probs = self.frame_probabilities(frames)
                p = probs[:, 0].cpu().numpy()
                peak = np.maximum(peak, p.max(axis=0))
                total += p.sum(axis=0)
                n += len(p)
                x = self.net.gru_input(probs, torch.from_numpy(frames[:, None]).to(self.device))
                h = self.net.gru(x[None], h)   # this chunk's frames as one sequence, state carried on
                if progress is not None:
                    progress(len(block) * k)
            logits = self.net.gru.mask_logits(h)[0, 0].cpu().numpy()
        maps = OnePhotonMaps(sigmoid(logits), peak, (total / max(n, 1)).astype(np.float32))
        if stats is not None:
            maps.summary = stats.result()
            maps.outline = self.outline_probability(outline_input(maps.active, maps.summary))
        return maps

    def outline_probability(self, inputs: np.ndarray) -> np.ndarray:
        """The outline U-Net's cell probability ``(H, W)`` from :func:`outline_input`."""
        import torch

        x = torch.from_numpy(inputs[None]).to(self.device)
        with torch.no_grad():
            return torch.sigmoid(self.net.outline_logits(x))[0, 0].cpu().numpy().astype(np.float32)

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
                  extent: float | None | str = "tuned", outline: np.ndarray | None = None) -> np.ndarray:
        """Labels ``(H, W)`` of a probability map: the map's tuned cut (or ``cut``), closing,
        watershed split of touching cells, size filter, then each ROI trimmed to its pixels
        within ``extent`` logits of its own peak (``"tuned"``: the map's tuned extent; None:
        no trim), then, given the ``outline`` map (:attr:`OnePhotonMaps.outline`), each ROI
        redrawn by it (:func:`reshape_by_outline`, the tuned ``outline_cut`` and ``outline_grow``)."""
        t = self.thresholds
        foreground = close_foreground(self.foreground(probability, cut or self.cut(key)), int(t["closing"]))
        labels = instances_from_foreground(foreground, "watershed", min_distance=max(2, int(self.config.cell_diameter / 2)),
                                           min_size=int(t["min_size"]))
        extent = t.get(f"{key}_extent") if extent == "tuned" else extent
        if extent is not None:
            labels = trim_to_peak(labels, logit(probability), extent)
        if outline is not None:
            labels = reshape_by_outline(labels, outline, t["outline_cut"], int(t["outline_grow"]), int(t["min_size"]))
        return labels


def logit(probability: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(probability, np.float32), 1e-4, 1 - 1e-4)
    return np.log(p / (1 - p))


def outline_input(active: np.ndarray, summary: Summary) -> np.ndarray:
    """The outline U-Net's input ``(OUTLINE_INPUTS, H, W)`` float32: the active map's logits and
    the max, mean, std and local-correlation images of the normalised filtered frames. The
    summary images are each scaled by their own median and spread (:func:`robust_z`): their
    levels differ between movies (the local correlation's median is 0.73 on simulations, 0.96
    on the real dg13 movie) while the cells stand out of them alike. Everything is squashed by
    tanh(·/4) into the range of the other inputs."""
    images = [logit(active)] + [robust_z(np.asarray(getattr(summary, k), np.float32))
                                for k in ("max", "mean", "std", "correlation")]
    return np.tanh(np.stack(images) / 4).astype(np.float32)


def sigmoid(logits: np.ndarray) -> np.ndarray:
    return (1 / (1 + np.exp(-np.asarray(logits, np.float64)))).astype(np.float32)


def reshape_by_outline(labels: np.ndarray, outline: np.ndarray, cut: float, grow: int, min_size: int) -> np.ndarray:
    """``labels`` with each ROI redrawn as the pixels within ``grow`` px of it (each pixel going
    to its nearest ROI) where ``outline`` exceeds ``cut``; an ROI left with fewer than
    ``min_size`` such pixels keeps its own shape.

    The outline network sees each cell sharper than the active map does (the movie's summary
    images beside the map), but it was trained on simulations alone and a dense real field
    fuses it into blobs (on dg13, cut from its own map, it found 4–9 of 15 labelled cells by
    input scaling and cut, against the active map's 13). Bound to the active map's ROIs it
    only moves their rims: which cells are found, and how many, stays the active map's answer."""
    from skimage.segmentation import expand_labels

    zone = expand_labels(labels, grow) if grow > 0 else labels
    drawn = np.where(outline > cut, zone, 0)
    sizes = np.bincount(drawn.ravel(), minlength=int(labels.max()) + 1)
    keep_own = sizes < min_size
    keep_own[0] = False
    return np.where(keep_own[labels], labels, np.where(keep_own[drawn], 0, drawn)).astype(labels.dtype)


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
