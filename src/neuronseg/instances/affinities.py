"""Pixel affinities: the targets a network learns and the graph they define.

An offset ``o = (dy, dx)`` links pixel ``p`` with ``p + o``; channel ``k`` of an affinity
map holds, at ``p``, how likely ``p`` and ``p + o_k`` lie in the same cell. Edges whose
far end falls outside the image do not exist.
"""

from __future__ import annotations

import numpy as np

from neuronseg.offsets import offset_slices

#: DISCo's graph: direct neighbours and longer links that cross a whole cell boundary.
DISCO_GRAPH_OFFSETS = ((-1, 0), (0, -1), (-3, 0), (0, -3), (-5, 0), (0, -5), (-5, -5), (-5, 5))


def affinity_targets(labels: np.ndarray, offsets=DISCO_GRAPH_OFFSETS) -> tuple[np.ndarray, np.ndarray]:
    """Affinity targets ``(A, H, W)`` and foreground ``(H, W)`` from an instance label image.

    Affinity is 1 where both ends of an offset lie in the same cell, 0 otherwise (also
    where the far end is outside the image); foreground is 1 on any cell.

    Examples
    --------
    >>> aff, fg = affinity_targets(np.array([[1, 1, 2]]), offsets=[(0, -1)])
    >>> aff[0].tolist()
    [[0.0, 1.0, 0.0]]
    """
    labels = np.asarray(labels)
    out = np.zeros((len(offsets),) + labels.shape, np.float32)
    for k, o in enumerate(offsets):
        a, b = offset_slices(labels.shape, o)
        out[k][a] = (labels[a] == labels[b]) & (labels[a] > 0)
    return out, (labels > 0).astype(np.float32)


def affinity_graph(affinities: np.ndarray, offsets, foreground: np.ndarray):
    """Edges between foreground pixels with their affinities.

    Returns
    -------
    nodes : int array
        Flat pixel index of each graph node (foreground pixels, in raster order).
    uv : (E, 2) uint64
        Node ids joined by each edge.
    a : (E,) float64
        The affinity of each edge.
    """
    fg = np.asarray(foreground, bool)
    shape = fg.shape
    node_id = np.full(shape, -1, np.int64)
    nodes = np.flatnonzero(fg)
    node_id.ravel()[nodes] = np.arange(len(nodes))
    us, vs, ws = [], [], []
    for k, o in enumerate(offsets):
        a, b = offset_slices(shape, o)
        both = fg[a] & fg[b]
        us.append(node_id[a][both])
        vs.append(node_id[b][both])
        ws.append(affinities[k][a][both])
    uv = np.stack([np.concatenate(us), np.concatenate(vs)], axis=1).astype(np.uint64)
    return nodes, uv, np.concatenate(ws).astype(np.float64)
