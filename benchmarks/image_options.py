"""Each option of the image U-Net, measured: one JSON line of held-out Neurofinder F1 per variant.

Trains every variant on the 10 ABO training fields (2 more validate) with the same budget and
seed, and scores the 3 held-out fields. Variants change one setting of the baseline
(semantic target, BCE + Dice, width 8, affine + elastic augmentation, watershed instances):
the loss, a positive-class weight, dropout, flow targets with flow-following instances,
no elastic deformation, width 16, and cell-class channels (the ABO fields trained together
with the DSB nuclei image, each with its class channel, against the same mix without classes).

    python benchmarks/image_options.py [--epochs 20]    # about 25 min on 2 cores
"""

import argparse
import dataclasses
import json
import logging
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from image_splits import ABO_TEST, NUCLEI_TEST, held_out, training_part

from neuronseg.roiset import RoiSet
from neuronseg.metrics import neurofinder_scores
from neuronseg.nets.image import ImageConfig
from neuronseg.pipelines.image import ImageModel, segment_image
from neuronseg.train.image import ImageTrainParams, train_image_model


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=20)
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    torch.set_num_threads(2)
    part = training_part("abo_summary", ABO_TEST)
    val = part[::5]
    train = [it for it in part if it not in val]
    test = held_out("abo_summary", ABO_TEST)
    nuclei = training_part("dsb2018_nuclei", NUCLEI_TEST)
    base_cfg = ImageConfig(base_width=8)
    base_params = ImageTrainParams(epochs=args.epochs, steps_per_epoch=25, patience=100)
    variants = {
        "baseline": ({}, {}, False),
        "loss_bce": ({}, {"loss": "bce"}, False),
        "loss_dice": ({}, {"loss": "dice"}, False),
        "pos_weight_3": ({}, {"pos_weight": 3.0}, False),
        "dropout_0.2": ({"dropout": 0.2}, {}, False),
        "flows": ({"target": "flows", "instances": "flows"}, {}, False),
        "no_elastic": ({}, {"elastic": False}, False),
        "width_16": ({"base_width": 16}, {}, False),
        "with_nuclei_no_classes": ({}, {}, "mix"),
        "with_nuclei_class_channels": ({"cell_classes": ["soma", "nucleus"]}, {}, "classes"),
    }
    out = {"data": "abo_summary: 10 train, 2 validation, 3 held-out fields", "epochs": args.epochs}
    with tempfile.TemporaryDirectory() as tmp:
        for name, (cfg_change, param_change, extra) in variants.items():
            items = list(train)
            if extra:
                items = [dataclasses.replace(it, cell_class="soma" if extra == "classes" else None) for it in train]
                items += [dataclasses.replace(it, cell_class="nucleus" if extra == "classes" else None) for it in nuclei]
            vals = [dataclasses.replace(it, cell_class="soma") for it in val] if extra == "classes" else val
            cfg = dataclasses.replace(base_cfg, **cfg_change)
            params = dataclasses.replace(base_params, **param_change)
            t0 = time.perf_counter()
            train_image_model(items, Path(tmp) / name, cfg, params, vals)
            seconds = time.perf_counter() - t0
            model = ImageModel.load(Path(tmp) / name)
            cls = "soma" if extra == "classes" else None
            f1 = [neurofinder_scores(RoiSet.from_labels(it.labels),
                                     RoiSet.from_labels(segment_image(it.image, model, cell_class=cls)))["combined"]
                  for it in test]
            out[name] = {"test_f1": round(float(np.mean(f1)), 4), "train_seconds": round(seconds, 1)}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
