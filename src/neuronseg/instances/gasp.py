"""Instances from affinities by GASP with average linkage (Bailoni et al.).

The signed graph has foreground pixels as nodes and an edge per offset with weight
``a − 0.5`` (attractive above 0.5, repulsive below). Average-linkage GASP repeatedly
merges the two adjacent clusters whose edges between them have the highest mean weight,
while that mean is positive. The agglomeration runs in bioimage-cpp's C++
``GaspClusterPolicy``, a pip-only wheel that needs nothing but numpy.
"""

from __future__ import annotations

import numpy as np

from neuronseg.instances.affinities import affinity_graph


def gasp_average(n_nodes: int, uv: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Cluster label per node of a signed graph by average-linkage GASP.

    Parameters
    ----------
    n_nodes : int
    uv : (E, 2) int array of node pairs
    weights : (E,) signed weights (> 0 attract, < 0 repel)

    Examples
    --------
    >>> gasp_average(3, np.array([[0, 1], [1, 2], [0, 2]]), np.array([0.4, -0.3, 0.1])).tolist()
    [0, 0, 1]
    """
    import bioimage_cpp as bic

    if n_nodes == 0:
        return np.zeros(0, np.int64)
    if len(uv) == 0:
        return np.arange(n_nodes)
    graph = bic.graph.UndirectedGraph.from_edges(int(n_nodes), np.asarray(uv, np.uint64))
    policy = bic.graph.agglomeration.GaspClusterPolicy(num_clusters_stop=1, linkage="mean")
    labels = policy.optimize(graph, np.asarray(weights, np.float64))
    _, labels = np.unique(labels, return_inverse=True)
    return labels


def instances_from_affinities(
    affinities: np.ndarray, offsets, foreground: np.ndarray, bias: float = 0.5, min_size: int = 25
) -> np.ndarray:
    """Instance label image ``(H, W)`` (uint16/uint32, 0 = background) from predicted affinities.

    Parameters
    ----------
    affinities : (A, H, W) float
        Probability that ``p`` and ``p + offsets[k]`` are in the same cell.
    offsets : list of (dy, dx)
    foreground : (H, W) bool
        Pixels to partition; the rest is background.
    bias : float
        Edge weight is ``a − bias``: higher splits more.
    min_size : int
        Instances smaller than this many pixels are dropped.
    """
    nodes, uv, a = affinity_graph(affinities, offsets, foreground)
    node_labels = gasp_average(len(nodes), uv, a - bias)
    sizes = np.bincount(node_labels) if len(node_labels) else np.zeros(0, int)
    keep = sizes >= min_size
    new_id = np.zeros(len(sizes), np.int64)
    new_id[keep] = np.arange(1, keep.sum() + 1)
    out = np.zeros(foreground.size, np.uint32 if keep.sum() >= 2**16 else np.uint16)
    out[nodes] = new_id[node_labels]
    return out.reshape(foreground.shape)
