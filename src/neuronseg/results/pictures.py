"""Pictures a person checks a result with: ROI contours over a summary image, the event raster."""

from __future__ import annotations

import numpy as np
from skimage.segmentation import find_boundaries

from neuronseg.roiset import RoiSet

PREDICTED = (0, 255, 255)   # cyan: a found cell (no truth given)
MATCHED = (0, 230, 0)       # green: found and in the truth
FALSE = (255, 200, 0)       # amber: found, not in the truth
MISSED = (255, 40, 40)      # red: in the truth, not found


def to_gray8(image: np.ndarray, low: float = 1.0, high: float = 99.7) -> np.ndarray:
    """Percentile-stretched uint8 rendering of a float image."""
    image = np.asarray(image, np.float64)
    lo, hi = np.percentile(image, [low, high])
    return (np.clip((image - lo) / max(hi - lo, 1e-12), 0, 1) * 255).astype(np.uint8)


def overlay(background: np.ndarray, rois: RoiSet, truth: RoiSet | None = None, matches=None) -> np.ndarray:
    """RGB uint8 image of ROI contours over ``background`` ``(H, W)``.

    Without ``truth`` all ROIs are cyan. With ``truth`` and ``matches`` (per truth ROI the
    index of its matched prediction or −1), matched predictions are green, unmatched ones
    amber and missed truth ROIs red.
    """
    gray = to_gray8(background)
    rgb = np.repeat(gray[..., None], 3, axis=2)
    if truth is None or matches is None:
        rgb[find_boundaries(rois.to_labels(), mode="inner")] = PREDICTED
        return rgb
    matches = np.asarray(matches)
    found = np.zeros(len(rois), bool)
    found[matches[matches >= 0]] = True
    missed = truth.subset(matches < 0)
    rgb[find_boundaries(missed.to_labels(), mode="inner")] = MISSED
    rgb[find_boundaries(rois.subset(~found).to_labels(), mode="inner")] = FALSE
    rgb[find_boundaries(rois.subset(found).to_labels(), mode="inner")] = MATCHED
    return rgb


def save_png(rgb: np.ndarray, path, min_size: int = 1024) -> None:
    """Write an RGB array as PNG, enlarged by whole factors (nearest) when it is small."""
    from PIL import Image

    factor = max(1, int(np.ceil(min_size / max(rgb.shape[:2]))))
    img = Image.fromarray(rgb)
    if factor > 1:
        img = img.resize((rgb.shape[1] * factor, rgb.shape[0] * factor), Image.NEAREST)
    img.save(path)


def raster_image(raster: np.ndarray) -> np.ndarray:
    """ROIs × frames events as RGB: white ticks on black, long movies binned to ≤ 2000 columns."""
    n, t = raster.shape
    step = max(1, int(np.ceil(t / 2000)))
    r = raster[:, : t // step * step].reshape(n, -1, step).any(axis=2) if step > 1 and n else raster
    gray = (r * 255).astype(np.uint8)
    return np.repeat(gray[..., None], 3, axis=2) if n else np.zeros((1, max(t, 1), 3), np.uint8)


def _pyplot():
    """matplotlib's pyplot on the file-only Agg backend (no display on a cluster node)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def raster_order(events: np.ndarray) -> np.ndarray:
    """ROI indices by their first event (ties: more events first), the silent ones last."""
    if not len(events):
        return np.zeros(0, int)
    first = np.where(events.any(axis=1), events.argmax(axis=1), events.shape[1])
    return np.lexsort((-events.sum(axis=1), first))


def raster_figure(dff: np.ndarray, events: np.ndarray, path, fs: float | None = None, title: str = "") -> None:
    """``raster.png``: ΔF/F of every ROI as a heat map (ROIs sorted by their first event, the
    silent ones last), each event a dot, a time axis in seconds (frames without ``fs``), ROI
    numbers as in ``regions.json`` and a colour bar."""
    plt = _pyplot()
    n, t = dff.shape if dff.ndim == 2 else (0, 0)
    order = raster_order(events)
    fig, ax = plt.subplots(figsize=(10, 2.2 + 0.12 * min(n, 60)), dpi=100)
    scale = 1.0 / fs if fs else 1.0
    if n:
        top = float(np.nanpercentile(dff, 99.5)) if np.isfinite(dff).any() else 1.0
        image = ax.imshow(dff[order], aspect="auto", cmap="magma", vmin=0, vmax=max(top, 1e-3),
                          extent=(0, t * scale, n - 0.5, -0.5), interpolation="nearest")
        rows, cols = np.nonzero(events[order])
        ax.scatter((cols + 0.5) * scale, rows, s=4, c="cyan", marker="|", linewidths=0.8, label="event")
        fig.colorbar(image, ax=ax, pad=0.01, fraction=0.03).set_label("ΔF/F")
        ticks = np.unique(np.linspace(0, n - 1, min(n, 12)).round().astype(int))
        ax.set_yticks(ticks, [str(order[k]) for k in ticks])
        ax.legend(loc="upper right", fontsize=8, framealpha=0.8)
    else:
        ax.text(0.5, 0.5, "no ROIs", transform=ax.transAxes, ha="center", va="center")
    ax.set_xlabel("time (s)" if fs else "frame (give --fs for seconds)")
    ax.set_ylabel("ROI (sorted by first event)")
    ax.set_title(f"{title}: {n} ROIs, {int(events.sum())} events" if title else f"{n} ROIs")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def overlay_figure(rgb: np.ndarray, path, method: str, n_rois: int, with_truth: bool, title: str = "",
                   um_per_px: float | None = None) -> None:
    """``overlay.png``: the contour overlay with a legend of what its colours mean, a scale
    bar (µm when the pixel size is known, else px) and the method and cell count."""
    from matplotlib.patches import Patch

    plt = _pyplot()
    h, w = rgb.shape[:2]
    side = 10 * max(h, w) / max(h, w, 1)
    fig, ax = plt.subplots(figsize=(side * w / max(h, w) + 0.2, side * h / max(h, w) + 0.6), dpi=110)
    ax.imshow(rgb, interpolation="nearest")
    ax.set_axis_off()
    colours = ([(MATCHED, "found (in the truth)"), (FALSE, "extra (not in the truth)"), (MISSED, "missed")]
               if with_truth else [(PREDICTED, "found cell outline")])
    ax.legend(handles=[Patch(facecolor=np.array(c) / 255, label=label) for c, label in colours],
              loc="upper right", fontsize=9, framealpha=0.85)
    # a scale bar of a round length near a fifth of the width
    per_unit = 1.0 / um_per_px if um_per_px else 1.0
    unit = "µm" if um_per_px else "px"
    target = w / 5 / per_unit
    length = min((v for v in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000) if v >= target * 0.5), default=1000)
    bar = length * per_unit
    y = h - max(4, h * 0.04)
    ax.plot([w * 0.04, w * 0.04 + bar], [y, y], color="white", linewidth=3)
    ax.text(w * 0.04 + bar / 2, y - max(2, h * 0.015), f"{length:g} {unit}", color="white", ha="center",
            va="bottom", fontsize=9)
    ax.text(0.01, 0.99, f"{method}: {n_rois} cells", transform=ax.transAxes, color="white", fontsize=10,
            va="top", ha="left", bbox=dict(facecolor="black", alpha=0.6, linewidth=0))
    if title:
        ax.set_title(title, fontsize=11)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
