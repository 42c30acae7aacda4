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


def _nice(value: float) -> float:
    """A round number (1, 2 or 5 × a power of ten) near ``value``."""
    if not value > 0:
        return 1.0
    power = 10 ** np.floor(np.log10(value))
    return float(min((1, 2, 5, 10), key=lambda m: abs(m * power - value)) * power)


def _svg_traces(traces: np.ndarray, ids, fs: float | None, width=900, row=48) -> str:
    """Stacked ΔF/F traces as polylines on one common amplitude scale (a scale bar shows it),
    with a time axis."""
    n, t = traces.shape
    step = max(1, t // width)
    binned = traces[:, : t // step * step].reshape(n, -1, step).mean(axis=2) if step > 1 else traces
    spread = float(np.max(np.ptp(binned, axis=1))) if n else 1.0
    scale = (1.6 * row) / spread if spread > 0 else 0.0   # the largest trace may reach into the row above
    left, right, top = 60, 90, int(0.6 * row)   # top: room for the first trace's peaks
    parts = [f'<svg width="{width + left + right}" height="{n * row + 44 + top}" class="traces">',
             f'<g transform="translate(0,{top})">']
    for k in range(n):
        y = binned[k]
        base = float(np.percentile(y, 10))
        pts = " ".join(f"{left + i * width / max(len(y) - 1, 1):.1f},{(k + 1) * row - 6 - (v - base) * scale:.1f}"
                       for i, v in enumerate(y))
        parts.append(f'<text x="0" y="{(k + 1) * row - 6}">ROI {ids[k]}</text>')
        parts.append(f'<polyline fill="none" stroke="#0a7" stroke-width="1" points="{pts}"/>')
    bar = _nice(0.3 * spread)
    x_bar, y_bar = left + width + 14, n * row - 6
    parts.append(f'<line x1="{x_bar}" y1="{y_bar}" x2="{x_bar}" y2="{y_bar - bar * scale:.1f}" stroke="#222" '
                 f'stroke-width="2"/><text x="{x_bar + 5}" y="{y_bar - bar * scale / 2 + 4:.1f}">{bar:g} ΔF/F</text>')
    duration = t / fs if fs else t
    tick = _nice(duration / 6)
    axis_y = n * row + 8
    parts.append(f'<line x1="{left}" y1="{axis_y}" x2="{left + width}" y2="{axis_y}" stroke="#888"/>')
    for v in np.arange(0, duration + 1e-9, tick):
        x = left + width * v / max(duration, 1e-9)
        parts.append(f'<line x1="{x:.1f}" y1="{axis_y}" x2="{x:.1f}" y2="{axis_y + 4}" stroke="#888"/>'
                     f'<text x="{x:.1f}" y="{axis_y + 16}" text-anchor="middle">{v:g}</text>')
    parts.append(f'<text x="{left + width / 2}" y="{axis_y + 32}" text-anchor="middle">'
                 f'{"time (s)" if fs else "frame (give --fs for seconds)"}</text></g></svg>')
    return "".join(parts)


def _svg_histogram(values: np.ndarray, label: str, bins: int = 20, width=420, height=160) -> str:
    values = np.asarray(values, float)
    values = values[np.isfinite(values)]
    if not len(values):
        return f"<p>{html.escape(label)}: no values</p>"
    counts, edges = np.histogram(values, bins=bins)
    bar = width / bins
    top = max(int(counts.max()), 1)
    x0 = 40   # room for the count axis
    parts = [f'<svg width="{width + x0 + 20}" height="{height + 40}" class="hist">',
             f'<line x1="{x0 - 2}" y1="10" x2="{x0 - 2}" y2="{height}" stroke="#888"/>',
             f'<text x="{x0 - 6}" y="14" text-anchor="end">{top}</text>',
             f'<text x="{x0 - 6}" y="{height}" text-anchor="end">0</text>',
             f'<text x="10" y="{height / 2}" transform="rotate(-90 10 {height / 2})" text-anchor="middle">ROIs</text>']
    for i, c in enumerate(counts):
        h = (height - 10) * c / top
        parts.append(f'<rect x="{x0 + i * bar:.1f}" y="{height - h:.1f}" width="{bar - 1:.1f}" height="{h:.1f}" '
                     f'fill="#48c"><title>{edges[i]:.3g}–{edges[i + 1]:.3g}: {c}</title></rect>')
    parts.append(f'<text x="{x0}" y="{height + 16}">{edges[0]:.3g}</text>'
                 f'<text x="{x0 + width}" y="{height + 16}" text-anchor="end">{edges[-1]:.3g}</text>'
                 f'<text x="{x0 + width / 2}" y="{height + 34}" text-anchor="middle">{html.escape(label)}</text></svg>')
    return "".join(parts)


def _raster(dff: np.ndarray) -> np.ndarray:
    """ROIs × time ΔF/F as an RGB heat image (black → yellow), ROIs sorted by activity."""
    n, t = dff.shape
    step = max(1, int(np.ceil(t / RASTER_COLUMNS)))
    d = dff[:, : t // step * step].reshape(n, -1, step).mean(axis=2) if step > 1 else dff
    d = d[np.argsort(-d.std(axis=1))]
    v = np.clip(d / _raster_top(dff), 0, 1)
    rgb = np.stack([v, v**2, 0.3 * v], axis=-1)
    return (rgb * 255).astype(np.uint8).repeat(max(1, 300 // max(n, 1)), axis=0)


def _colour_bar(hi: float) -> str:
    """The raster's colour scale, 0 to ``hi`` ΔF/F (the colours of :func:`_raster`)."""
    stops = "".join(f'<stop offset="{v:.2f}" stop-color="rgb({int(255 * v)},{int(255 * v * v)},{int(76 * v)})"/>'
                    for v in np.linspace(0, 1, 11))
    return (f'<svg width="420" height="34" class="colourbar"><defs><linearGradient id="cb">{stops}</linearGradient>'
            f'</defs><rect x="40" y="2" width="300" height="12" fill="url(#cb)"/><text x="40" y="28">0</text>'
            f'<text x="340" y="28" text-anchor="end">{hi:.2g}</text><text x="350" y="13">ΔF/F</text></svg>')


def _raster_top(dff: np.ndarray) -> float:
    return max(float(np.percentile(dff, 99)), 1e-6) if dff.size else 1.0


def _readable(value) -> str:
    """A parameter as a person reads it: no Python reprs (None, True, brackets)."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (list, tuple)):
        return ", ".join(_readable(v) for v in value) or "—"
    return str(value)


def _flat(items, prefix=""):
    """Nested settings as ``("a › b", value)`` rows."""
    for k, v in items:
        if isinstance(v, dict):
            yield from _flat(v.items(), f"{prefix}{k} › ")
        else:
            yield f"{prefix}{k}", _readable(v)


def _large(rgb: np.ndarray, width: int = 512) -> np.ndarray:
    """``rgb`` enlarged by a whole factor (nearest) to at least ``width`` px across."""
    factor = max(1, int(np.ceil(width / max(rgb.shape[1], 1))))
    return rgb.repeat(factor, axis=0).repeat(factor, axis=1) if factor > 1 else rgb


def _table(rows) -> str:
    return "<table>" + "".join(f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>"
                               for k, v in rows) + "</table>"


def html_report(seg, summary: dict, dff: np.ndarray, snr: np.ndarray, fs: float | None,
                truth=None, matches=None) -> str:
    """The page as a string (see the module docstring for what it shows)."""
    rois = seg.rois
    mean_rgb = _large(overlay(seg.summary.mean, rois, truth, matches))
    corr_rgb = _large(overlay(seg.summary.correlation, rois, truth, matches))
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
            "<h2>Raster (ΔF/F, all ROIs, most active first; time runs left to right over the whole movie)</h2>",
            _img(_raster(dff), "raster", "raster"), _colour_bar(_raster_top(dff)),
            "<h2>ROI sizes and SNR</h2>",
            '<div class="pair">' + _svg_histogram(rois.areas(), "ROI size, pixels")
            + _svg_histogram(snr, "SNR (99th percentile ΔF/F over noise)") + "</div>",
        ]
    sections += ["<h2>Seconds per stage</h2>", _table(summary["seconds"].items()),
                 "<h2>Parameters</h2>", _table(_flat(summary["parameters"].items()))]
    return PAGE.replace("{body}", "\n".join(sections))


PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>neuronseg report</title>
<style>
body { font-family: sans-serif; margin: 24px; color: #222; }
img { image-rendering: pixelated; max-width: 48%; margin-right: 1%; }
img.raster { max-width: 100%; width: 100%; height: 300px; }
.zoom { overflow: hidden; width: 100%; height: 520px; border: 1px solid #ccc; cursor: grab; }
.zoom img { max-width: none; width: 100%; height: 100%; object-fit: contain; object-position: left top;
            transform-origin: 0 0; }
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
