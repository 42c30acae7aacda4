"""Flow fields: per pixel, a unit vector pointing along each cell towards its centre.

Targets come from heat diffusion inside each cell from a source at its centre (the cell
pixel nearest the cell's median), so the path from any pixel to the centre stays inside
the cell even for a neuron with long, bent neurites, where a straight vector to the
centroid would leave the cell. Instances are recovered by moving every foreground pixel
along the predicted flow until it settles in a sink and grouping pixels by sink.

Written here because the published implementation (Cellpose) is a whole application with
its own model zoo; the two steps are short in numpy and scipy.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from neuronseg.instances.postprocess import drop_small
from neuronseg.offsets import offset_slices

NEIGHBOURS = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)]


def cell_centres(labels: np.ndarray) -> np.ndarray:
    """Per label 1..max, the ``(row, col)`` of its pixel nearest its median pixel (inside the cell)."""
    n = int(labels.max())
    centres = np.full((n, 2), -1, np.int64)
    objects = ndi.find_objects(labels)
    for i, sl in enumerate(objects, 1):
        if sl is None:
            continue
        rr, cc = np.nonzero(labels[sl] == i)
        med = np.median(rr), np.median(cc)
        k = np.argmin((rr - med[0]) ** 2 + (cc - med[1]) ** 2)
        centres[i - 1] = rr[k] + sl[0].start, cc[k] + sl[1].start
    return centres


def flow_targets(labels: np.ndarray, n_iter: int | None = None) -> np.ndarray:
    """``(2, H, W)`` float32 unit vectors (d_row, d_col) towards each cell's centre; 0 on background.

    Heat diffuses from every centre at once; a pixel averages only over 3×3 neighbours of
    its own cell, so touching cells do not exchange heat. ``n_iter`` defaults to twice the
    largest cell extent, enough for heat to reach the farthest pixel.
    """
    labels = np.asarray(labels)
    flows = np.zeros((2,) + labels.shape, np.float32)
    if labels.max() == 0:
        return flows
    centres = cell_centres(labels)
    centres = centres[centres[:, 0] >= 0]
    if n_iter is None:
        extents = [max(s[0].stop - s[0].start, s[1].stop - s[1].start) for s in ndi.find_objects(labels) if s]
        n_iter = 2 * max(extents) + 2
    lab = np.pad(labels, 1)
    heat = np.zeros(lab.shape, np.float64)
    inside = lab > 0
    same = []  # per neighbour offset, where the neighbour belongs to the same cell
    core = (slice(1, -1), slice(1, -1))
    for off in NEIGHBOURS:
        src, dst = offset_slices(lab.shape, off)
        m = np.zeros(lab.shape, bool)
        m[dst] = (lab[dst] == lab[src]) & inside[dst]
        same.append((src, dst, m))
    cr, cc = centres[:, 0] + 1, centres[:, 1] + 1
    for _ in range(n_iter):
        heat[cr, cc] += 1.0
        new = np.zeros_like(heat)
        for src, dst, m in same:
            new[dst] += np.where(m[dst], heat[src], 0.0)
        heat = new / 9.0
    # Heat decays over long neurites to values float64 still resolves; the log keeps the
    # gradient's direction meaningful there before normalising.
    logh = np.log(heat + 1e-300) * inside
    gy = np.zeros(lab.shape)
    gx = np.zeros(lab.shape)
    for (dy, dx) in NEIGHBOURS:
        if dy == dx == 0:
            continue
        here, there = offset_slices(lab.shape, (dy, dx))   # pixel p and its neighbour p + (dy, dx)
        ok = (lab[here] == lab[there]) & inside[here]
        diff = np.zeros(lab.shape)
        diff[here] = np.where(ok, logh[there] - logh[here], 0.0)
        norm = np.hypot(dy, dx)
        gy += diff * dy / norm
        gx += diff * dx / norm
    mag = np.hypot(gy, gx)
    scale = np.divide(1.0, mag, out=np.zeros_like(mag), where=mag > 1e-12)
    flows[0] = (gy * scale)[core]
    flows[1] = (gx * scale)[core]
    return flows * (labels > 0)


def follow_flows(flows: np.ndarray, foreground: np.ndarray, n_steps: int = 200) -> np.ndarray:
    """End points ``(n, 2)`` of every foreground pixel moved ``n_steps`` unit steps along the
    (bilinearly interpolated) flow, kept inside the image."""
    h, w = foreground.shape
    pos = np.argwhere(foreground).astype(np.float32)
    fy, fx = flows[0].astype(np.float32), flows[1].astype(np.float32)
    for _ in range(n_steps):
        coords = pos.T
        dy = ndi.map_coordinates(fy, coords, order=1, mode="nearest")
        dx = ndi.map_coordinates(fx, coords, order=1, mode="nearest")
        pos[:, 0] = np.clip(pos[:, 0] + dy, 0, h - 1)
        pos[:, 1] = np.clip(pos[:, 1] + dx, 0, w - 1)
    return pos


def instances_from_flows(flows: np.ndarray, foreground: np.ndarray, n_steps: int = 200,
                         min_size: int = 0, min_count: int = 3) -> np.ndarray:
    """Instance labels ``(H, W)`` from predicted flows and a foreground mask.

    End points pile up at each cell's sink. Sinks are the local maxima (5×5) of the
    end-point histogram holding at least ``min_count`` end points; every pixel joins the sink
    nearest its end point. Pixels that had not arrived when the steps ran out (weak flows
    near an edge) thus still join the sink they were heading for, and their trails never
    bridge two touching cells, as grouping all end points by connectivity would. Instances
    under ``min_size`` pixels are dropped.
    """
    from scipy.spatial import cKDTree

    foreground = np.asarray(foreground, bool)
    labels = np.zeros(foreground.shape, np.int32)
    if not foreground.any():
        return labels
    ends = np.rint(follow_flows(flows, foreground, n_steps)).astype(np.int64)
    hist = np.zeros(foreground.shape, np.int64)
    np.add.at(hist, (ends[:, 0], ends[:, 1]), 1)
    peaks = (hist == ndi.maximum_filter(hist, size=5)) & (hist >= min_count)
    if not peaks.any():
        peaks = hist == hist.max()
    sinks, n = ndi.label(peaks, structure=np.ones((3, 3)))
    where = np.argwhere(sinks)
    _, nearest = cKDTree(where).query(ends)
    labels[foreground] = sinks[where[nearest, 0], where[nearest, 1]]
    return drop_small(labels, min_size)
