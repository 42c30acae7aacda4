"""Shipped `somata` model on the held-out Allen Brain Observatory summary images; one JSON line.

Neurofinder scores (centres < 5 px) of `neuronseg image segment`'s instances against the
expert labels of the 3 held-out fields (see image_splits.py). The labels mark active
neurons only, so precision is a lower bound.

    python benchmarks/image_somata_abo.py
"""

import json
import time

import numpy as np
import torch

from image_splits import ABO_TEST, held_out

from neuronseg.roiset import RoiSet
from neuronseg.metrics import neurofinder_scores
from neuronseg.pipelines.image import ImageModel, segment_image


def main():
    torch.set_num_threads(2)
    model = ImageModel.load("somata")
    rows, seconds = [], []
    for it in held_out("abo_summary", ABO_TEST):
        t0 = time.perf_counter()
        labels = segment_image(it.image, model)
        seconds.append(time.perf_counter() - t0)
        s = neurofinder_scores(RoiSet.from_labels(it.labels), RoiSet.from_labels(labels))
        rows.append({"image": it.name, "f1": round(s["combined"], 4), "precision": round(s["precision"], 4),
                     "recall": round(s["recall"], 4), "n_true": int(it.labels.max()), "n_found": int(labels.max())})
    print(json.dumps({
        "data": "abo_summary held-out", "mean_f1": round(float(np.mean([r["f1"] for r in rows])), 4),
        "mean_precision": round(float(np.mean([r["precision"] for r in rows])), 4),
        "mean_recall": round(float(np.mean([r["recall"] for r in rows])), 4),
        "seconds_per_image": round(float(np.mean(seconds)), 3), "per_image": rows,
    }))


if __name__ == "__main__":
    main()
