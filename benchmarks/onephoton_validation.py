"""One-photon models on extra *validation* simulations (seeds 202–207); one JSON line.

Training tunes its cuts on two validation movies (200, 201) and the labelled dg13 band. Two
movies are too few to choose between training runs: seeds of the same recipe that differ by
0.04 in that objective come out in the opposite order on held-out movies. These six further
movies are never used by training nor by `onephoton_simulated.py` (held-out seeds 300–304), so
runs can be compared on them without touching held-out data. Per model and per map: Neurofinder
F1 and pixel Dice averaged over the movies.

    python benchmarks/onephoton_validation.py [MODEL_DIR …]     # none: the shipped model
"""

import argparse
import json

import numpy as np
import torch

from neuronseg.io.movies import movie_from_array
from neuronseg.io.rois import RoiSet
from neuronseg.metrics import neurofinder_scores, pixel_scores
from neuronseg.pipelines.onephoton import OnePhotonModel
from neuronseg.simulate import simulate
from neuronseg.train.onephoton import active_cells

SEEDS = (202, 203, 204, 205, 206, 207)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("models", nargs="*", help="model folders (default: the shipped model)")
    args = ap.parse_args()
    torch.set_num_threads(2)
    movies = []
    for seed in SEEDS:
        rec = simulate(frames=400, shape=(128, 128), cells=40, seed=seed, onephoton=True)
        movies.append((rec.rois.subset(active_cells(rec)), movie_from_array(rec.movie)))
    out = {"seeds": list(SEEDS)}
    for name in args.models or [None]:
        model = OnePhotonModel.load(name)
        rows = {key: [] for key in ("active", "max", "mean")}
        for truth, movie in movies:
            maps = model.predict(model.registered(movie))
            for key, r in rows.items():
                labels = model.instances(getattr(maps, key), key=key)
                r.append((neurofinder_scores(truth, RoiSet.from_labels(labels))["combined"],
                          pixel_scores(truth.to_labels() > 0, labels)["dice"]))
        out[name or "shipped"] = {key: {"f1": round(float(np.mean([f for f, _ in r])), 3),
                                        "pixel_dice": round(float(np.mean([d for _, d in r])), 3)}
                                  for key, r in rows.items()}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
