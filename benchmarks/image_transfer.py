"""Transfer learning, nuclei → brightfield neurons, with only 8 labelled images; one JSON line.

Fine-tunes a nuclei model on 8 pfc_brightfield images and compares it with the same network
trained from scratch on the same 8 images with the same budget. 4 further training-part
images validate (early stopping, thresholds); the score is the labelled-neuron IoU on the 16
held-out images. Each variant is trained with 6 seeds, for each training budget (epochs of
25 steps of 4 crops). The default was 2 seeds until this comparison: seeds alone spread a
scratch run over 0.69–0.74, which hides a gain of 0.01–0.02. About 35 min by default.

    python benchmarks/image_transfer.py [--epochs 20] [--seeds 6] [--variants scratch,finetune_outlines]
    python benchmarks/image_transfer.py --epochs 5,10 --variants scratch,finetune_all
    python benchmarks/image_transfer.py --variants scratch,finetune_all,finetune_all_low_lr

``finetune_outlines`` (default) starts from a nuclei model pre-trained on the DSB image drawn
as transmitted light draws cells (`image train --render-outlines`: outlines of both
polarities), trained here first with this command (about 2 min):

    neuronseg image train --data ../shared/data/dsb2018_nuclei --exclude ee927e82_256 \
      --target flows --base-width 8 --epochs 40 --render-outlines --seed 0 -o source

``finetune_all`` starts from the shipped `nuclei` model (or ``--init``) and trains all
layers; ``finetune_last_K`` only the last K (`--freeze-all-but K`); ``finetune_all_low_lr``
all layers at a tenth of the learning rate, the usual way to keep pre-trained features from
being washed out by the first large steps.
"""

import argparse
import json
import logging
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from image_splits import DATA, NUCLEI_TEST, PFC_TEST, held_out, training_part

from neuronseg.metrics import labelled_object_iou
from neuronseg.nets.image import ImageConfig
from neuronseg.pipelines.image import ImageModel, segment_image
from neuronseg.nets.model_folder import ModelFolder
from neuronseg.train.image import ImageTrainParams, train_image_model


def outline_source(folder: Path) -> Path:
    """The outline-rendered nuclei source model, trained into ``folder`` by the CLI command above."""
    subprocess.run([sys.executable, "-m", "neuronseg", "-q", "image", "train", "--data", str(DATA / "dsb2018_nuclei"),
                    *[a for name in NUCLEI_TEST for a in ("--exclude", name)], "--target", "flows", "--base-width", "8",
                    "--epochs", "40", "--render-outlines", "--seed", "0", "-o", str(folder)],
                   check=True, stdout=sys.stderr)   # stdout carries only the benchmark's JSON line
    return folder


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", default="20", help="comma-separated training budgets")
    ap.add_argument("--seeds", type=int, default=6)
    ap.add_argument("--variants", default="scratch,finetune_outlines",
                    help="of scratch, finetune_all, finetune_last_6, finetune_last_2, finetune_all_low_lr, "
                         "finetune_outlines")
    ap.add_argument("--n-train", type=int, default=8, help="labelled training images")
    ap.add_argument("--init", default=None, help="pre-trained model folder (default: the shipped nuclei model)")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    torch.set_num_threads(2)
    part = training_part("pfc_brightfield", PFC_TEST)
    train, val = part[:args.n_train], part[args.n_train:args.n_train + 4]
    test = held_out("pfc_brightfield", PFC_TEST)
    init = Path(args.init) if args.init else ImageModel.folder_for("nuclei")
    nuclei_cfg = ModelFolder.read(init).config
    nuclei_cfg = ImageConfig.from_dict(nuclei_cfg)
    # the same architecture for every variant; data-side settings as the brightfield model uses them
    config = dict(base_width=nuclei_cfg.base_width, depth=nuclei_cfg.depth, target=nuclei_cfg.target,
                  instances="components", scale=0.25)
    variants = {"scratch": (None, 0), "finetune_all": (init, 0), "finetune_last_6": (init, 6),
                "finetune_last_2": (init, 2), "finetune_all_low_lr": (init, 0), "finetune_outlines": ("outlines", 0)}
    base_lr = ImageTrainParams().lr
    chosen = args.variants.split(",")
    runs = [(f"{name}_{e}ep", variants[name], int(e)) for e in args.epochs.split(",") for name in chosen]
    out = {"data": f"pfc_brightfield: {args.n_train} training, 4 validation, 16 held-out test images",
           "architecture": {k: config[k] for k in ("base_width", "depth", "target")}}
    if any(init_dir == init for _, (init_dir, _), _ in runs):
        out["pretrained_on"] = str(args.init or "dsb2018_nuclei (shipped nuclei model)")
    with tempfile.TemporaryDirectory() as tmp:
        if any(init_dir == "outlines" for _, (init_dir, _), _ in runs):
            t0 = time.perf_counter()
            source = outline_source(Path(tmp) / "outline_source")
            out["outline_source_seconds"] = round(time.perf_counter() - t0, 1)
        for name, (init_dir, k), epochs in runs:
            init_dir = source if init_dir == "outlines" else init_dir
            scores, secs = [], []
            for seed in range(args.seeds):
                params = ImageTrainParams(epochs=epochs, steps_per_epoch=25, crop=128, patience=100,
                                          partial_labels=True, seed=seed, freeze_all_but=k,
                                          init=str(init_dir) if init_dir else None,
                                          lr=base_lr / 10 if name.startswith("finetune_all_low_lr") else base_lr)
                folder = Path(tmp) / f"{name}_{seed}"
                t0 = time.perf_counter()
                train_image_model(train, folder, ImageConfig(**config), params, val)
                secs.append(time.perf_counter() - t0)
                model = ImageModel.load(folder)
                scores.append(float(np.mean([labelled_object_iou(it.labels, segment_image(it.image, model))
                                             for it in test])))
            out[name] = {"test_iou": round(float(np.mean(scores)), 4), "per_seed": [round(s, 4) for s in scores],
                         "train_seconds": round(float(np.mean(secs)), 1)}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
