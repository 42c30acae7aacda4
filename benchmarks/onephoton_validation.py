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

import torch

from onephoton_simulated import scores_on_simulations

from neuronseg.pipelines.onephoton import OnePhotonModel

SEEDS = (202, 203, 204, 205, 206, 207)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("models", nargs="*", help="model folders (default: the shipped model)")
    args = ap.parse_args()
    torch.set_num_threads(2)
    out = {"seeds": list(SEEDS)}
    for name in args.models or [None]:
        scores = scores_on_simulations(OnePhotonModel.load(name), SEEDS, whole_segment=False)
        out[name or "shipped"] = {key: {"f1": s["f1"], "pixel_dice": s["pixel_dice"]} for key, s in scores.items()}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
