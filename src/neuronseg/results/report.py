"""``report.html``: one self-contained page (images inlined) a person checks a segmentation with.

Plots are inline SVG drawn here and images are base64 PNGs, so the page needs no plotting
library and opens offline in any browser.
"""

from __future__ import annotations

import base64
import html
import io

import numpy as np

from neuronseg.results.pictures import overlay

SAMPLE_TRACES = 12
RASTER_COLUMNS = 1200  #: time bins of the raster image (longer movies are averaged down)


def _png_data(rgb: np.ndarray) -> str:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def _img(rgb: np.ndarray, alt: str, cls: str = "") -> str:
    return f'<img class="{cls}" alt="{html.escape(alt)}" src="{_png_data(rgb)}">'


def _svg_traces(traces: np.ndarray, ids, fs: float | None, width=900, row=48) -> str:
    """Stacked ΔF/F traces as polylines, each scaled to its own range."""
    n, t = traces.shape
    step = max(1, t // width)
    parts = [f'<svg width="{width + 60}" height="{n * row + 30}" class="traces">']
    for k in range(n):
        y = traces[k, : t // step * step].reshape(-1, step).mean(axis=1) if step > 1 else traces[k]
        lo, hi = float(np.min(y)), float(np.max(y))
        scale = (row - 8) / (hi - lo) if hi > lo else 0.0
        pts = " ".join(f"{60 + i * width / max(len(y) - 1, 1):.1f},{(k + 1) * row - 4 - (v - lo) * scale:.1f}"
                       for i, v in enumerate(y))
        parts.append(f'<text x="0" y="{k * row + row / 2 + 4}">ROI {ids[k]}</text>')
        parts.append(f'<polyline fill="none" stroke="#0a7" stroke-width="1" points="{pts}"/>')
    unit = f"{t / fs:.0f} s" if fs else f"{t} frames"
    parts.append(f'<text x="60" y="{n * row + 22}">0</text><text x="{width + 20}" y="{n * row + 22}">{unit}</text></svg>')
    return "".join(parts)


def _svg_histogram(values: np.ndarray, label: str, bins: int = 20, width=420, height=160) -> str:
    values = np.asarray(values, float)
    values = values[np.isfinite(values)]
    if not len(values):
        return f"<p>{html.escape(label)}: no values</p>"
    counts, edges = np.histogram(values, bins=bins)
    bar = width / bins
    top = max(int(counts.max()), 1)
    parts = [f'<svg width="{width + 20}" height="{height + 40}" class="hist">']
    for i, c in enumerate(counts):
        h = (height - 10) * c / top
        parts.append(f'<rect x="{10 + i * bar:.1f}" y="{height - h:.1f}" width="{bar - 1:.1f}" height="{h:.1f}" fill="#48c">'
                     f"<title>{edges[i]:.3g}–{edges[i + 1]:.3g}: {c}</title></rect>")
    parts.append(f'<text x="10" y="{height + 16}">{edges[0]:.3g}</text>'
                 f'<text x="{width - 30}" y="{height + 16}">{edges[-1]:.3g}</text>'
                 f'<text x="{width / 2 - 40}" y="{height + 34}">{html.escape(label)}</text></svg>')
    return "".join(parts)


def _raster(dff: np.ndarray) -> np.ndarray:
    """ROIs × time ΔF/F as an RGB heat image (black → yellow), ROIs sorted by activity."""
    n, t = dff.shape
    step = max(1, int(np.ceil(t / RASTER_COLUMNS)))
    d = dff[:, : t // step * step].reshape(n, -1, step).mean(axis=2) if step > 1 else dff
    d = d[np.argsort(-d.std(axis=1))]
    hi = max(float(np.percentile(d, 99)), 1e-6)
    v = np.clip(d / hi, 0, 1)
    rgb = np.stack([v, v**2, 0.3 * v], axis=-1)
    return (rgb * 255).astype(np.uint8).repeat(max(1, 300 // max(n, 1)), axis=0)


def _table(rows) -> str:
    return "<table>" + "".join(f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>"
                               for k, v in rows) + "</table>"


def html_report(seg, summary: dict, dff: np.ndarray, snr: np.ndarray, fs: float | None,
                truth=None, matches=None) -> str:
    """The page as a string (see the module docstring for what it shows)."""
    rois = seg.rois
    mean_rgb = overlay(seg.summary.mean, rois, truth, matches)
    corr_rgb = overlay(seg.summary.correlation, rois, truth, matches)
    order = np.argsort(-snr)[:SAMPLE_TRACES] if len(rois) else np.zeros(0, int)
    sections = [
        f"<h1>neuronseg: {summary['n_rois']} cells in {html.escape(str(summary['input']))}</h1>",
        _table([("method", summary["method"]), ("frames", summary["n_frames"]),
                ("field", "×".join(map(str, summary["frame_shape"]))), ("frame rate", f"{fs} Hz" if fs else "not given"),
                ("neuronseg", summary["version"]), ("peak memory", f"{summary['peak_memory_mb']} MB")]),
    ]
    if "scores" in summary:
        sections.append("<h2>Against the ground truth</h2><p>green: found, amber: not in the truth, red: missed</p>"
                         + _table(summary["scores"].items()))
    sections += [
        "<h2>Mean and local-correlation images</h2>",
        '<div class="pair">' + _img(mean_rgb, "mean image with ROIs") + _img(corr_rgb, "correlation image with ROIs") + "</div>",
        "<h2>Overlay (scroll to zoom, drag to pan)</h2>",
        '<div class="zoom" id="zoom">' + _img(mean_rgb, "zoomable overlay", "zoomable") + "</div>",
    ]
    if len(rois):
        sections += [
            f"<h2>ΔF/F of the {len(order)} ROIs with the highest SNR</h2>", _svg_traces(dff[order], order, fs),
            "<h2>Raster (ΔF/F, all ROIs, most active first)</h2>", _img(_raster(dff), "raster", "raster"),
            "<h2>ROI sizes and SNR</h2>",
            '<div class="pair">' + _svg_histogram(rois.areas(), "ROI size, pixels")
            + _svg_histogram(snr, "SNR (99th percentile ΔF/F over noise)") + "</div>",
        ]
    sections += ["<h2>Seconds per stage</h2>", _table(summary["seconds"].items()),
                 "<h2>Parameters</h2>", _table(summary["parameters"].items())]
    return PAGE.replace("{body}", "\n".join(sections))


PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>neuronseg report</title>
<style>
body { font-family: sans-serif; margin: 24px; color: #222; }
img { image-rendering: pixelated; max-width: 48%; margin-right: 1%; }
img.raster { max-width: 100%; width: 100%; height: 300px; }
.zoom { overflow: hidden; width: 100%; height: 520px; border: 1px solid #ccc; cursor: grab; }
.zoom img { max-width: none; width: 100%; transform-origin: 0 0; }
table { border-collapse: collapse; margin-bottom: 12px; }
th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: left; font-size: 13px; }
svg text { font-size: 11px; fill: #444; }
</style></head><body>
{body}
<script>
(function () {
  var box = document.getElementById("zoom"); if (!box) return;
  var img = box.querySelector("img"), s = 1, x = 0, y = 0, drag = null;
  function draw() { img.style.transform = "translate(" + x + "px," + y + "px) scale(" + s + ")"; }
  box.addEventListener("wheel", function (e) {
    e.preventDefault(); var r = box.getBoundingClientRect(), k = e.deltaY < 0 ? 1.25 : 0.8;
    var px = e.clientX - r.left, py = e.clientY - r.top;
    x = px - (px - x) * k; y = py - (py - y) * k; s *= k; draw();
  });
  box.addEventListener("mousedown", function (e) { drag = [e.clientX - x, e.clientY - y]; });
  window.addEventListener("mouseup", function () { drag = null; });
  window.addEventListener("mousemove", function (e) { if (drag) { x = e.clientX - drag[0]; y = e.clientY - drag[1]; draw(); } });
})();
</script></body></html>
"""
