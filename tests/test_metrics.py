import json
from pathlib import Path

import numpy as np
import pytest

from conftest import shared_data
from neurofinder_pairs import make_pairs
from neuronseg.metrics import instance_scores, iou_matrix, neurofinder_scores, pixel_scores

REFERENCE = json.loads((Path(__file__).parent / "data" / "neurofinder_reference.json").read_text())


@pytest.fixture(scope="module")
def pairs():
    return make_pairs(shared_data("neurofinder_top", "regions.json"))


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_identical_to_reference_neurofinder(pairs, name):
    truth, pred, threshold = pairs[name]
    got = neurofinder_scores([r["coordinates"] for r in truth], [r["coordinates"] for r in pred], threshold)
    if "reference_error" in REFERENCE[name]:
        # the reference crashes on an empty prediction; nothing found scores zero
        assert got == dict(combined=0.0, inclusion=0.0, precision=0.0, recall=0.0, exclusion=0.0)
    else:
        assert got == REFERENCE[name]


def test_matching_is_greedy_in_truth_order_and_one_to_one():
    truth = [np.array([[0, 0]]), np.array([[0, 2]])]
    pred = [np.array([[0, 1]])]  # 1 px from both: the first truth ROI takes it
    s = neurofinder_scores(truth, pred, threshold=5)
    assert (s["recall"], s["precision"]) == (0.5, 1.0)
    far = neurofinder_scores(truth, [np.array([[0, 10]])], threshold=5)
    assert far["combined"] == 0.0


def test_pixel_scores_by_hand():
    t = np.array([[1, 1, 0, 0]])
    p = np.array([[0, 1, 1, 0]])
    s = pixel_scores(t, p)
    assert s["iou"] == pytest.approx(1 / 3)
    assert s["dice"] == pytest.approx(0.5)
    assert s["accuracy"] == pytest.approx(0.5)


def test_instance_scores_by_hand():
    truth = np.zeros((10, 10), int)
    truth[0:4, 0:4] = 1     # 16 px
    truth[6:10, 6:10] = 2
    pred = np.zeros((10, 10), int)
    pred[0:4, 0:4] = 7      # exact
    pred[6:10, 8:10] = 3    # IoU 0.5 with truth 2: not a match at 0.5 (needs >)
    pred[0:2, 7:9] = 9      # false positive
    iou = iou_matrix(truth, pred)
    assert iou.shape == (2, 3)
    # columns follow label order: 3, 7, 9
    assert iou[0, 1] == 1.0 and iou[1, 0] == pytest.approx(0.5) and iou[:, 2].max() == 0
    s = instance_scores(truth, pred)
    assert s["per_threshold"]["0.50"]["ap"] == pytest.approx(1 / 4)  # TP 1, FP 2, FN 1
    assert s["per_threshold"]["0.95"]["ap"] == pytest.approx(1 / 4)
    assert instance_scores(truth, truth)["mean_ap"] == 1.0
