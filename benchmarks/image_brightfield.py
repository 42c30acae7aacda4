"""Shipped `brightfield` model on the 16 held-out pfc_brightfield images; one JSON line.

Each image labels one neuron (soma + neurites) among other, unlabelled cells, so the score
is the IoU of the labelled neuron with the predicted instances that touch it
(`metrics.labelled_object_iou`): a prediction elsewhere may be an unlabelled real cell and
is not counted; one that merges the neuron with its surroundings is. Also the gain and the
cost of boundary refinement (Gaussian naive Bayes and linear SVM on intensity + Sobel).

    python benchmarks/image_brightfield.py
"""

import json
import time

import numpy as np
import torch

from image_splits import PFC_TEST, held_out

from neuronseg.metrics import labelled_object_iou
from neuronseg.pipelines.image import ImageModel, segment_image


def main():
    torch.set_num_threads(2)
    model = ImageModel.load("brightfield")
    items = held_out("pfc_brightfield", PFC_TEST)
    out = {"data": "pfc_brightfield held-out (16 images, 960×1280)", "model_refine": model.config.refine}
    for name, refine in (("no_refinement", ""), ("bayes_refinement", "bayes"), ("svm_refinement", "svm")):
        ious, secs = [], []
        for it in items:
            t0 = time.perf_counter()
            labels = segment_image(it.image, model, refine=refine)
            secs.append(time.perf_counter() - t0)
            ious.append(labelled_object_iou(it.labels, labels))
        out[name] = {"mean_iou": round(float(np.mean(ious)), 4), "min_iou": round(float(np.min(ious)), 4),
                     "seconds_per_image": round(float(np.mean(secs)), 3)}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
