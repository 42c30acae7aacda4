"""Seconds for `segment_image` on a 1024×1024 image with each shipped model; one JSON line.

The image is a real ABO summary field mirrored to 1024×1024 (cells at their natural size).
Median of 3 runs after one warm-up, 2 threads.

    python benchmarks/image_speed.py
"""

import json
import statistics
import time

import numpy as np
import torch

from image_splits import ABO_TEST, held_out

from neuronseg.pipelines.image import ImageModel, segment_image


def main():
    torch.set_num_threads(2)
    field = held_out("abo_summary", ABO_TEST)[0].image
    image = np.pad(field, ((0, 1024 - field.shape[0]), (0, 1024 - field.shape[1])), mode="symmetric")
    out = {"shape": list(image.shape), "threads": torch.get_num_threads()}
    for name in ("somata", "nuclei", "brightfield"):
        model = ImageModel.load(name)
        segment_image(image, model)
        times = []
        for _ in range(3):
            t0 = time.perf_counter()
            labels = segment_image(image, model)
            times.append(time.perf_counter() - t0)
        out[name] = {"seconds": round(statistics.median(times), 3), "cells": int(labels.max()),
                     "network_scale": model.config.scale, "refine": model.config.refine}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
