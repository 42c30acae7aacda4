"""Shipped `nuclei` model (trained on the 512² DSB image) on the other DSB image; one JSON line.

Instance AP (TP / (TP + FP + FN), the Data Science Bowl's measure) at IoU 0.5 and its mean
over 0.5–0.95. The test nuclei are about 2.6× smaller than the training ones; `--diameter
auto` finds the scale itself (no label is used for it). With and without boundary refinement.

    python benchmarks/image_nuclei.py
"""

import json
import time

import torch

from image_splits import NUCLEI_TEST, held_out

from neuronseg.metrics import instance_scores
from neuronseg.pipelines.image import ImageModel, choose_scale, segment_image


def main():
    torch.set_num_threads(2)
    model = ImageModel.load("nuclei")
    [it] = held_out("dsb2018_nuclei", NUCLEI_TEST)
    out = {"data": f"dsb2018_nuclei {it.name} (trained on the other image)", "n_true": int(len(set(it.labels.ravel())) - 1)}
    for name, refine in (("default", None), ("no_refinement", ""), ("bayes_refinement", "bayes")):
        t0 = time.perf_counter()
        labels = segment_image(it.image, model, diameter="auto", refine=refine)
        s = instance_scores(it.labels, labels)
        out[name] = {"ap50": round(s["per_threshold"]["0.50"]["ap"], 4), "f1_50": round(s["per_threshold"]["0.50"]["f1"], 4),
                     "mean_ap": round(s["mean_ap"], 4), "n_found": s["n_pred"], "seconds": round(time.perf_counter() - t0, 3)}
    out["auto_scale"] = round(choose_scale(model, it.image, "auto"), 3)
    out["model_refine"] = model.config.refine
    print(json.dumps(out))


if __name__ == "__main__":
    main()
