"""Flow targets and flow following, watershed splitting, closing, boundary refinement, augmentation."""

import numpy as np
import pytest
from skimage.draw import disk

from neuronseg.instances.flows import cell_centres, flow_targets, instances_from_flows
from neuronseg.instances.postprocess import close_foreground, drop_small, refine_boundaries
from neuronseg.instances.watershed import instances_from_foreground
from neuronseg.metrics import instance_scores, labelled_object_iou
from neuronseg.train.augment import warped_crop


def _touching_discs_and_an_l():
    lab = np.zeros((60, 80), np.int32)
    lab[disk((20, 20), 8)] = 1
    lab[disk((20, 35), 8)] = 2           # touches cell 1
    lab[40:44, 5:75] = 3                 # a long bent "neurite" cell: an L
    lab[44:58, 70:73] = 3
    return lab


def test_flows_point_to_the_centre_and_stay_inside_bent_cells():
    lab = _touching_discs_and_an_l()
    f = flow_targets(lab)
    np.testing.assert_allclose(f[:, 20, 14], [0, 1], atol=1e-6)      # left of disc 1's centre: go right
    np.testing.assert_allclose(f[:, 20, 41], [0, -1], atol=1e-6)     # right of disc 2's centre: go left
    assert f[0, 55, 71] < -0.99                                       # bottom of the L's leg: go up the leg
    assert np.all(f[:, lab == 0] == 0)
    norms = np.hypot(*f[:, lab > 0])
    assert np.all((np.abs(norms - 1) < 1e-5) | (norms == 0))
    r, c = cell_centres(lab)[2]
    assert lab[r, c] == 3


def test_following_true_flows_recovers_every_cell_even_touching_ones():
    lab = _touching_discs_and_an_l()
    pred = instances_from_flows(flow_targets(lab), lab > 0)
    assert instance_scores(lab, pred)["mean_ap"] == 1.0
    # a connected-component reading of the same foreground merges the touching discs
    merged = instances_from_foreground(lab > 0, "components")
    assert merged.max() == 2


def test_watershed_splits_touching_discs_and_drops_small_objects():
    fg = np.zeros((40, 60), bool)
    fg[disk((20, 18), 9)] = True
    fg[disk((20, 34), 9)] = True
    fg[2:4, 55:57] = True                # 4 px speck
    labels = instances_from_foreground(fg, "watershed", min_distance=4, min_size=10)
    assert labels.max() == 2
    assert labels[20, 12] != labels[20, 40] and labels[3, 55] == 0


def test_closing_fills_a_pinhole_but_not_the_border_and_drop_small_renumbers():
    fg = np.zeros((20, 20), bool)
    fg[5:15, 5:15] = True
    fg[9, 9] = False
    closed = close_foreground(fg, 1)
    assert closed[9, 9] and not closed[0].any()
    lab = np.zeros((10, 10), np.int32)
    lab[0:2, 0:2], lab[5:9, 5:9] = 4, 9
    assert sorted(np.unique(drop_small(lab, 5))) == [0, 1]


@pytest.mark.parametrize("classifier", ["bayes", "svm"])
def test_boundary_refinement_moves_a_too_large_mask_back_to_the_cell_edge(classifier):
    rng = np.random.default_rng(0)
    image = rng.normal(10, 1, (64, 64))
    cell = np.zeros((64, 64), bool)
    cell[disk((32, 32), 10)] = True
    image[cell] += 12
    too_big = np.zeros((64, 64), np.int32)
    too_big[disk((32, 32), 12)] = 1                 # a blurry network edge: 2 px too wide
    refined = refine_boundaries(image, too_big, band=3, classifier=classifier)
    assert labelled_object_iou(cell, refined) > labelled_object_iou(cell, too_big) + 0.1
    assert labelled_object_iou(cell, refined) > 0.85


def test_warped_crop_moves_image_and_labels_together():
    rng = np.random.default_rng(1)
    lab = np.zeros((100, 100), np.int32)
    lab[disk((50, 50), 12)] = 5
    image = (lab > 0).astype(np.float32)[None] * 100
    x, (wl,) = warped_crop(image, [lab], (50, 50), 64, rng)
    assert set(np.unique(wl)) <= {0, 5}
    inside = wl == 5
    assert inside.sum() > 200
    assert x[0][inside].mean() > 90 and x[0][~inside].mean() < 10   # the same warp was applied to both


def test_labelled_object_iou_ignores_unlabelled_cells_but_not_merges():
    truth = np.zeros((20, 20), np.int32)
    truth[2:8, 2:8] = 1
    pred = np.zeros((20, 20), np.int32)
    pred[2:8, 2:8] = 1
    pred[12:18, 12:18] = 2                         # a cell nobody labelled
    assert labelled_object_iou(truth, pred) == 1.0
    pred[2:8, 8:14] = 1                            # the labelled cell merged with its neighbour
    assert labelled_object_iou(truth, pred) == pytest.approx(0.5)


def test_test_time_augmentation_turns_flow_vectors_back_with_the_image():
    import torch

    from neuronseg.nets.image import _undo_dihedral
    from neuronseg.train.augment import dihedral

    lab = np.zeros((41, 51), np.int32)   # odd sizes: each cell's centre is unique under every symmetry
    lab[disk((15, 12), 6)] = 1
    lab[30:35, 5:46] = 2
    lab[9:30, 40:45] = 3
    f = flow_targets(lab)
    for k in range(8):
        lk = np.ascontiguousarray(dihedral(lab, k))
        out = torch.from_numpy(np.concatenate([(lk > 0)[None].astype(np.float32), flow_targets(lk)]))
        back = _undo_dihedral(out, k).numpy()
        np.testing.assert_allclose(back[1:], f, atol=1e-6)
        np.testing.assert_array_equal(back[0], lab > 0)


def test_intensity_jitter_is_seeded_and_keeps_the_image_shape():
    from neuronseg.train.augment import jitter_intensity

    x = np.linspace(0, 1, 400, dtype=np.float32).reshape(20, 20)
    a, b = jitter_intensity(x, np.random.default_rng(3)), jitter_intensity(x, np.random.default_rng(3))
    np.testing.assert_array_equal(a, b)
    assert a.shape == x.shape and not np.allclose(a, x)
    assert np.corrcoef(a.ravel(), x.ravel())[0, 1] > 0.8   # still the same picture


def test_low_resolution_softens_edges_as_an_enlarged_small_image_has_them():
    from skimage.transform import resize

    from neuronseg.train.augment import degrade_resolution

    x = np.zeros((96, 96), np.float32)
    x[30:60, 30:60] = 1.0                                   # a sharp square "nucleus"
    y = degrade_resolution(x, 3.0, np.random.default_rng(0))
    assert y.shape == x.shape and y.dtype == np.float32
    assert np.abs(np.diff(y, axis=1)).max() < 0.8          # no one-pixel step is left
    assert abs(y.mean() - x.mean()) < 0.01                 # intensity is kept, only resolution is lost
    assert y[45, 45] > 0.95 and y[5, 5] < 0.05
    # the same as shrinking by the drawn factor and enlarging back
    f = np.random.default_rng(0).uniform(1.0, 3.0)
    small = resize(x, (round(96 / f),) * 2, order=1, anti_aliasing=True, preserve_range=True, mode="reflect")
    np.testing.assert_allclose(y, resize(small, x.shape, order=1, preserve_range=True, mode="reflect"), atol=1e-6)
    np.testing.assert_allclose(degrade_resolution(x, 1.0, np.random.default_rng(0)), x, atol=1e-6)   # factor 1: unchanged


def test_outline_rendering_draws_a_filled_cell_as_a_ring_of_either_polarity():
    from skimage.draw import disk

    from neuronseg.train.augment import outline_rendering

    image = np.full((96, 96), 10.0, np.float32)
    image[disk((48, 48), 12)] = 200.0                       # a bright, filled nucleus
    rr, cc = np.mgrid[:96, :96]
    r = np.hypot(rr - 48, cc - 48)
    ring, inside, far = np.abs(r - 12) < 1.5, r < 6, r > 30
    for sign in (1, -1):
        y = outline_rendering(image, sign, np.random.default_rng(0))
        assert y.shape == image.shape and y.dtype == np.float32
        assert sign * (y[ring].mean() - y[far].mean()) > 0.1            # the edge stands out, bright or dark
        assert abs(y[inside].mean() - y[far].mean()) < 0.03             # the inside looks like background
    a, b = (outline_rendering(image, 1, np.random.default_rng(s)) for s in (0, 0))
    np.testing.assert_array_equal(a, b)                                 # seeded grain


def test_rendered_as_outlines_gives_each_image_in_both_polarities_with_its_labels():
    from neuronseg.io.images import LabelledImage
    from neuronseg.train.image import rendered_as_outlines

    labels = np.zeros((40, 40), np.int32)
    labels[10:20, 10:20] = 1
    item = LabelledImage("n1", np.where(labels > 0, 100.0, 5.0).astype(np.float32), labels, "nucleus")
    out = rendered_as_outlines([item])
    assert [it.name for it in out] == ["n1_outline", "n1_outline_inverted"]
    assert all(np.array_equal(it.labels, labels) and it.cell_class == "nucleus" for it in out)
    edge = (labels > 0) ^ (np.pad(labels, 1)[2:, 1:-1] > 0)             # the square's lower edge
    assert out[0].image[edge].mean() > out[0].image.mean() > out[1].image[edge].mean()
