"""Images → cells: a still image through the U-Net, then instances and post-processing.

    image ─rescale─► network input (+ class channels) ─U-Net─► foreground (+ flows)
          ─threshold, closing─► instances (watershed | components | flows) ─► size filter
          ─optional boundary refinement─► labels, resized back to the image's own grid
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from neuronseg.errors import NeuronsegError
from neuronseg.instances.flows import instances_from_flows
from neuronseg.instances.postprocess import close_foreground, drop_small, refine_boundaries
from neuronseg.instances.watershed import instances_from_foreground
from neuronseg.io.images import as_image
from neuronseg.nets.image import ImageConfig, build_image_net, network_input, predict
from neuronseg.nets.model_folder import WEIGHTS_DIR, NetworkModel

#: shipped models by name (folders under weights/)
SHIPPED_MODELS = {"somata": "image_somata", "nuclei": "image_nuclei", "brightfield": "image_brightfield"}
DEFAULT_MODEL = "somata"
DEFAULT_THRESHOLDS = {"foreground": 0.5, "min_size": 10}
#: network inputs larger than this many pixels a side run in overlapping tiles (bounded memory)
TILE = 1024


@dataclass
class ImageModel(NetworkModel):
    """A loaded image model: network, config and the thresholds tuned on validation data."""

    KIND = "still-image"
    SHIPPED = SHIPPED_MODELS[DEFAULT_MODEL]
    DEFAULT_THRESHOLDS = DEFAULT_THRESHOLDS

    @classmethod
    def build(cls, config: dict):
        cfg = ImageConfig.from_dict(config)
        return build_image_net(cfg), cfg

    @classmethod
    def folder_for(cls, model=None) -> Path:
        """A model folder, or the name of a shipped model (``somata``, ``nuclei``, ``brightfield``)."""
        name = DEFAULT_MODEL if model is None else str(model)
        return WEIGHTS_DIR / SHIPPED_MODELS[name] if name in SHIPPED_MODELS else Path(model)


def rescale(image: np.ndarray, scale: float, order: int = 1) -> np.ndarray:
    """``image`` resized by ``scale`` (area-averaged when shrinking; ``order=0`` for labels)."""
    from skimage.transform import resize

    if scale == 1.0:
        return image
    shape = tuple(max(1, int(round(s * scale))) for s in image.shape)
    return resize(image, shape, order=order, preserve_range=True, anti_aliasing=order > 0 and scale < 1,
                  mode="reflect").astype(image.dtype)


def network_outputs(model: ImageModel, image: np.ndarray, cell_class: str | None = None,
                    scale: float | None = None, tile_size: int | None = None) -> np.ndarray:
    """``(out_channels, h, w)`` at network scale: foreground probability, then flows if any.

    Inputs larger than ``tile_size`` (default :data:`TILE`) px a side go through the network
    in overlapping tiles, so memory stays bounded for mosaics and whole slides.
    """
    from neuronseg.pipelines.tiles import predict_tiled

    scale = model.config.scale if scale is None else scale
    small = rescale(np.asarray(image, np.float32), scale)
    x = network_input(model.config, small, cell_class)   # normalised over the whole image, not per tile
    tile = tile_size or TILE
    if max(x.shape[-2:]) <= tile:
        return predict(model.net, x, model.device, model.config.tta)
    return predict_tiled(lambda t: predict(model.net, t, model.device, model.config.tta), x, tile_size=tile)


def median_diameter(areas: np.ndarray) -> float:
    """Median equivalent-circle diameter (px) of instances with these pixel ``areas``; 0 when none."""
    areas = np.asarray(areas)
    areas = areas[areas > 0]
    return float(np.sqrt(4 * np.median(areas) / np.pi)) if areas.size else 0.0


AUTO_LADDER = (0.35, 0.5, 0.7, 1.0, 1.4, 2.0, 2.8)   #: scale factors `--diameter auto` tries
CONSISTENT_SIZE = 1.2   #: implied sizes of neighbouring rungs agree within this ratio (a rung is 1.4×)


def choose_scale(model: ImageModel, image: np.ndarray, diameter=None, cell_class: str | None = None) -> float:
    """The resize factor that gives cells the size the model was trained on.

    ``diameter`` None: the model's own scale (images like its training images). A number:
    the user's typical cell diameter in px of this image. ``"auto"``: try a ladder of scales
    (steps of 1.4×), take the one whose predicted cells come closest to the training size
    (at least 3 cells), then correct it by the ratio of sizes (the idea of Cellpose's size
    model, without a second network).

    Only *consistent* rungs compete: the cells' implied size in the image's own pixels
    (found diameter / scale) must agree within 20 % with a neighbouring rung's. Real cells
    keep their size as the scale changes; a model shown cells much larger than it knows
    cuts them into pieces of its training size at every scale, so that implied size falls
    by the whole 1.4× step. (A nuclei model trained on 9-px nuclei picked a 2.1× upscale on
    24-px nuclei and found 3347 fragments; with this check it picks 0.44×, true 0.38×.)
    """
    cfg = model.config
    if diameter is None:
        return cfg.scale
    if not cfg.cell_diameter:
        raise NeuronsegError("this model does not record its training cell size; run without --diameter")
    if diameter != "auto":
        d = float(diameter)
        if d <= 0:
            raise NeuronsegError(f"--diameter must be positive, not {diameter}")
        return cfg.cell_diameter / d
    trials = []   # (scale, median diameter) where at least 3 cells were found
    for factor in AUTO_LADDER:
        s = cfg.scale * factor
        if not (32 <= s * min(image.shape) and s * max(image.shape) <= 4096):
            continue
        labels = instances_from_outputs(network_outputs(model, image, cell_class, s), cfg, model.thresholds)
        if labels.max() >= 3:
            trials.append((s, median_diameter(np.bincount(labels.ravel())[1:])))
    if not trials:
        return cfg.scale
    s, d = min(consistent_scales(trials) or trials, key=lambda t: abs(np.log(t[1] / cfg.cell_diameter)))
    return float(s * cfg.cell_diameter / d)


def consistent_scales(trials: list) -> list:
    """The ``(scale, diameter)`` trials whose implied size ``diameter / scale`` agrees with a
    neighbouring trial's within :data:`CONSISTENT_SIZE` (see :func:`choose_scale`)."""
    implied = [d / s for s, d in trials]
    ok = []
    for i, t in enumerate(trials):
        near = [implied[j] for j in (i - 1, i + 1) if 0 <= j < len(trials)]
        if any(abs(np.log(implied[i] / v)) < np.log(CONSISTENT_SIZE) for v in near):
            ok.append(t)
    return ok


def instances_from_outputs(outputs: np.ndarray, config: ImageConfig, thresholds: dict,
                           image: np.ndarray | None = None, refine: str | None = None) -> np.ndarray:
    """Instance labels at network scale from :func:`network_outputs`.

    ``image`` (at network scale) is needed only for boundary refinement; ``refine``
    overrides the config's choice ("" turns it off).
    """
    foreground = close_foreground(outputs[0] > thresholds["foreground"], config.closing_radius)
    min_size = int(thresholds.get("min_size", 0))
    if config.instances == "flows":
        # The sink search needs steps for the longest path inside a cell: about a cell length.
        labels = instances_from_flows(outputs[1:3], foreground, n_steps=int(thresholds.get("flow_steps", 60)),
                                      min_size=min_size)
    else:
        labels = instances_from_foreground(foreground, config.instances, config.min_distance, min_size)
    refine = config.refine if refine is None else refine
    if refine:
        if image is None:
            raise ValueError("boundary refinement needs the image")
        labels = drop_small(refine_boundaries(image, labels, config.refine_band, refine), min_size)
    return labels


def segment_image(image: np.ndarray, model: ImageModel | None = None, cell_class: str | None = None,
                  refine: str | None = None, diameter=None, tile_size: int | None = None) -> np.ndarray:
    """Instance labels ``(H, W)`` int32 (0 = background) of one ``(H, W)`` image.

    ``diameter``: the typical cell diameter in px when the image's scale differs from the
    model's training images, or ``"auto"`` (see :func:`choose_scale`). ``tile_size``: run
    the network in overlapping tiles of this size (default: only above :data:`TILE` px).

    Examples
    --------
    >>> labels = segment_image(image)                                   # doctest: +SKIP
    >>> labels = segment_image(image, ImageModel.load("nuclei"), diameter=9)  # doctest: +SKIP
    """
    model = model or ImageModel.load()
    check_cell_class(model, cell_class)
    image = as_image(image, "segment_image")   # the file readers' checks, for arrays too
    scale = choose_scale(model, image, diameter, cell_class)
    outputs = network_outputs(model, image, cell_class, scale, tile_size)
    small = rescale(image, scale) if (refine or (refine is None and model.config.refine)) else None
    labels = instances_from_outputs(outputs, model.config, model.thresholds, small, refine)
    if labels.shape != image.shape:
        labels = _resize_labels(labels, image.shape)
    return labels


def check_cell_class(model: ImageModel, cell_class: str | None) -> None:
    """Refuse a ``--cell-class`` the model was not trained with, naming those it knows."""
    classes = model.config.cell_classes
    if cell_class is not None and cell_class not in classes:
        known = f"one of {', '.join(classes)}" if classes else "none: it was trained without cell classes"
        raise NeuronsegError(f"--cell-class {cell_class!r} is not a class of this model (its classes: {known})")


def _resize_labels(labels: np.ndarray, shape) -> np.ndarray:
    from skimage.transform import resize

    return resize(labels, shape, order=0, preserve_range=True, anti_aliasing=False).astype(np.int32)


def segment_image_files(files, model: ImageModel, cell_class: str | None = None, refine: str | None = None,
                        diameter=None, tile_size: int | None = None):
    """``(path, image, labels, seconds)`` for each image file, read and segmented one at a time
    (a generator; the names are checked first: two images sharing a stem would share outputs)."""
    from neuronseg.io.outputs import plain_name

    check_cell_class(model, cell_class)   # before any image is read or any output made
    files = [Path(f) for f in files]
    stems = [plain_name(f.stem, "the image name") for f in files]   # each names two files in the output
    if len(set(stems)) != len(stems):
        raise NeuronsegError("two input images share a name stem; their outputs would collide")

    def each():
        from neuronseg.io.images import read_image

        for f in files:
            t0 = time.perf_counter()
            image = read_image(f)
            labels = segment_image(image, model, cell_class, refine, diameter, tile_size)
            yield f, image, labels, round(time.perf_counter() - t0, 3)

    return each()
