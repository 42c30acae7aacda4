"""Movies → cells with DISCo: segment correlations + mean image → network → affinities → GASP."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from neuronseg.errors import NeuronsegError
from neuronseg.instances.gasp import instances_from_affinities
from neuronseg.roiset import RoiSet
from neuronseg.movie.features import SegmentCorrelations, disco_offsets
from neuronseg.movie.images import normalise_mean_image
from neuronseg.nets.model_folder import NetworkModel
from neuronseg.movie.resample import ResampledConsumer, resample_image, resample_labels, scaled_shape
from neuronseg.pipelines.method import FieldScale, MovieMethod, timed
from neuronseg.movie.soma import soma_score

log = logging.getLogger(__name__)

DEFAULT_THRESHOLDS = {"foreground": 0.5, "bias": 0.5, "min_size": 25}
MIN_POOLED_PER_SEGMENT = 12   #: pooled frames per segment that short movies keep
MIN_FRAMES_PER_SEGMENT = 3    #: below this a segment's correlations are meaningless
#: px: the network goes over larger fields in overlapping tiles of this size even without
#: ``tile_size``. Its whole-field activations grow with the field: measured with the shipped
#: model, +1.6 GB at 1024² and +6.5 GB at 2048², while 512-px tiles add about 0.4 GB.
NETWORK_TILE = 512


def _segment_consumer(frame_shape, n_frames, pool, n_segments, offsets, factor=1.0):
    """DISCo's segment correlations of a field, seen ``factor`` times larger."""
    if factor == 1.0:
        return SegmentCorrelations(frame_shape, n_frames=n_frames, pool=pool, n_segments=n_segments, offsets=offsets)
    shape = scaled_shape(frame_shape, factor)
    inner = SegmentCorrelations(shape, n_frames=n_frames, pool=pool, n_segments=n_segments, offsets=offsets)
    return ResampledConsumer(inner, shape)


def image_channels(mean: np.ndarray, config) -> np.ndarray:
    """The network's image inputs ``(1 + len(extra_inputs), H, W)`` from a mean image."""
    channels = [normalise_mean_image(mean)]
    for name in config.extra_inputs:
        if name == "soma_score":
            # robust-z units; clipped like the mean image so a few bright cells do not dominate
            channels.append(np.clip(soma_score(mean), -5, 10) / 5)
        else:
            raise NeuronsegError(f"unknown extra input '{name}' in the model config")
    return np.stack(channels).astype(np.float32)


@dataclass
class DiscoModel(NetworkModel, MovieMethod):
    """A loaded DISCo network with the settings it was trained and tuned with; as a method
    of :func:`~neuronseg.pipelines.segment.segment_movie` it reads its correlation features
    in the summary pass, then runs the network and GASP."""

    name = "disco"
    KIND = "DISCo"
    SHIPPED = "disco"
    DEFAULT_THRESHOLDS = DEFAULT_THRESHOLDS
    MISSING = "train one with `neuronseg train disco` and pass --model DIR, or use --method classical"

    @classmethod
    def build(cls, config: dict):
        from neuronseg.nets.disco import DiscoConfig, DiscoNet

        cfg = DiscoConfig.from_dict(config)
        return DiscoNet(cfg), cfg

    @property
    def trained_diameter(self):
        return self.config.cell_diameter

    def pool_for(self, n_frames: int, fs: float | None = None) -> int:
        """The temporal max-pool kernel for a movie of ``n_frames`` at ``fs`` Hz.

        The configured kernel, kept in seconds when both the movie's and the training
        movies' frame rates are known, made smaller for short movies so that each segment
        still averages its correlations over ``MIN_POOLED_PER_SEGMENT`` pooled frames, as in
        training (kernels 3–9 of 600 frames give 6–20 per segment).
        """
        cfg = self.config
        pool = cfg.pool if not (fs and cfg.fs) else max(1, int(round(cfg.pool * fs / cfg.fs)))
        return max(1, min(pool, n_frames // (cfg.n_segments * MIN_POOLED_PER_SEGMENT)))

    @property
    def min_frames(self) -> int:
        """The shortest movie this model segments."""
        return self.config.n_segments * MIN_FRAMES_PER_SEGMENT

    def feature_factory(self, n_frames, scale: FieldScale | None = None):
        """``make(frame_shape) -> consumer`` of the segment correlations for this movie length
        (at the field's scale and frame rate): a small picklable callable, so spatial tiles
        (and Dask tasks) make consumers of their own shape."""
        import functools

        cfg = self.config
        scale = scale or FieldScale(None)
        if n_frames < self.min_frames:
            raise NeuronsegError(
                f"DISCo needs at least {self.min_frames} frames ({cfg.n_segments} segments of "
                f"{MIN_FRAMES_PER_SEGMENT}); this movie has {n_frames}. Use --method classical."
            )
        return functools.partial(_segment_consumer, n_frames=n_frames, pool=self.pool_for(n_frames, scale.fs),
                                 n_segments=cfg.n_segments, offsets=disco_offsets(cfg.n_offsets, cfg.correlation_radius),
                                 factor=self.resampling(scale))

    def find_cells(self, movie, summary, features: np.ndarray, chunk, tile_size, seconds: dict,
                   scale: FieldScale | None = None) -> tuple[RoiSet, dict]:
        """Network on the features and the summary's mean image, at the scale the model was
        trained at (in tiles on large fields or with ``tile_size``), then GASP; the cells
        mapped back to the movie's pixels; ``(rois, parameters)``."""
        scale = scale or FieldScale(None)
        factor = self.resampling(scale)
        with timed(seconds, "network"):
            mean = summary.mean
            if factor != 1.0:
                mean = resample_image(mean, features.shape[-2:])
            images = image_channels(mean, self.config)
            field = images.shape[-2:]
            network_tile = tile_size or (NETWORK_TILE if max(field) > NETWORK_TILE else None)
            if network_tile is None:
                probs = self.predict(features, images)
            else:
                from neuronseg.pipelines.tiles import predict_tiled

                probs = predict_tiled(self.predict, features, images, tile_size=network_tile)
        with timed(seconds, "instances"):
            rois = self.instances(probs)
            if factor != 1.0:
                rois = RoiSet.from_labels(resample_labels(rois.to_labels(), movie.frame_shape))
        return rois, {"model": self.origin, "config": self.config.to_dict(),
                      "pool_used": self.pool_for(movie.n_frames, scale.fs), "thresholds": self.thresholds,
                      "device": self.device, "network_tile": network_tile, "resampled_by": round(factor, 4)}

    def predict(self, features: np.ndarray, images: np.ndarray) -> np.ndarray:
        """Probabilities ``(A + 1, H, W)``: affinities for ``config.graph_offsets``, then foreground.

        ``images`` comes from :func:`image_channels` of the movie's mean image.
        """
        import torch

        with torch.no_grad():
            f = torch.from_numpy(np.ascontiguousarray(features[None])).to(self.device)
            m = torch.from_numpy(np.ascontiguousarray(images[None])).to(self.device)
            return torch.sigmoid(self.net(f, m))[0].cpu().numpy()

    def instances(self, probs: np.ndarray, thresholds: dict | None = None) -> RoiSet:
        t = {**self.thresholds, **(thresholds or {})}
        offsets = [tuple(o) for o in self.config.graph_offsets]
        labels = instances_from_affinities(
            probs[:-1], offsets, probs[-1] > t["foreground"], bias=t["bias"], min_size=int(t["min_size"])
        )
        return RoiSet.from_labels(labels)
