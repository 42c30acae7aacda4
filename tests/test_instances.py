import numpy as np
import pytest

from neuronseg.instances.affinities import affinity_graph, affinity_targets
from neuronseg.instances.gasp import gasp_average, instances_from_affinities


def test_affinity_targets_on_a_hand_made_label_image():
    labels = np.array([
        [1, 1, 0],
        [1, 2, 2],
        [0, 2, 2],
    ])
    aff, fg = affinity_targets(labels, offsets=[(-1, 0), (0, -1), (-1, -1)])
    # (-1, 0): pixel and the one above
    np.testing.assert_array_equal(aff[0], [[0, 0, 0], [1, 0, 0], [0, 1, 1]])
    # (0, -1): pixel and the one to its left
    np.testing.assert_array_equal(aff[1], [[0, 1, 0], [0, 0, 1], [0, 0, 1]])
    # (-1, -1): pixel and the one up-left
    np.testing.assert_array_equal(aff[2], [[0, 0, 0], [0, 0, 0], [0, 0, 1]])
    np.testing.assert_array_equal(fg, labels > 0)


def test_affinity_graph_links_foreground_pixels_only():
    fg = np.array([[1, 1], [0, 1]], bool)
    aff = np.stack([np.full((2, 2), 0.9), np.full((2, 2), 0.2)])
    nodes, uv, a = affinity_graph(aff, [(-1, 0), (0, -1)], fg)
    assert nodes.tolist() == [0, 1, 3]
    assert sorted(map(tuple, uv.tolist())) == [(1, 0), (2, 1)]  # (1,1)-(0,1) vertical; (0,1)-(0,0) horizontal


@pytest.mark.parametrize("edges,expected", [
    # merge 0-1 (0.9), then 2-3 (0.7); between them mean(−0.8, 0.3, −0.1) = −0.2 < 0: stop
    ({(0, 1): 0.9, (1, 2): -0.8, (2, 3): 0.7, (0, 3): -0.1, (0, 2): 0.3}, [0, 0, 1, 1]),
    # after 0-1, the pair to 2 has mean(0.4, −0.5) = −0.05: stop (single linkage would merge on 0.4)
    ({(0, 1): 0.5, (1, 2): 0.4, (0, 2): -0.5}, [0, 0, 1]),
    # …with −0.3 instead the mean is +0.05: merge everything
    ({(0, 1): 0.5, (1, 2): 0.4, (0, 2): -0.3}, [0, 0, 0]),
    # the average counts edges: mean(0.5, 0.5, −0.9) > 0 merges, mean(0.5, 0.5, −1.1) < 0 does not
    ({(0, 1): 0.6, (2, 3): 0.6, (0, 2): 0.5, (1, 3): 0.5, (0, 3): -0.9}, [0, 0, 0, 0]),
    ({(0, 1): 0.6, (2, 3): 0.6, (0, 2): 0.5, (1, 3): 0.5, (0, 3): -1.1}, [0, 0, 1, 1]),
])
def test_gasp_average_linkage_on_hand_solved_graphs(edges, expected):
    uv = np.array(list(edges), np.uint64)
    labels = gasp_average(len(expected), uv, np.array(list(edges.values())))
    # same partition up to renaming
    assert len(set(zip(labels.tolist(), expected))) == len(set(expected)) == len(set(labels.tolist()))


def test_instances_from_perfect_affinities_recover_cells_and_drop_small_ones():
    labels = np.zeros((30, 30), int)
    labels[2:10, 2:10] = 1      # 64 px
    labels[2:10, 10:18] = 2     # touching cell 1
    labels[20:24, 20:24] = 3    # 16 px: below min_size
    offsets = [(-1, 0), (0, -1), (-3, 0), (0, -3)]
    aff, fg = affinity_targets(labels, offsets)
    out = instances_from_affinities(aff, offsets, fg > 0, min_size=25)
    assert out.max() == 2
    assert len(np.unique(out[labels == 1])) == 1 and len(np.unique(out[labels == 2])) == 1
    assert out[labels == 1][0] != out[labels == 2][0]
    assert (out[labels == 3] == 0).all()
