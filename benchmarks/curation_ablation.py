"""Which inputs help curation: footprint only, + summary images, + trace features; one JSON line.

Trains each variant the same way (genuine Suite2p candidates of neurofinder_top, centre
labels, validation rows 0–255 × cols 256–319, the held-out quarter rows 128–255 × cols
0–255 excluded) and scores it on that held-out quarter: average precision of the ranking,
and the curated Neurofinder precision/recall at the default precision target. Candidates
are read as `neuronseg curate` reads them: features from Suite2p's own ops.npy images,
crop channels of images from the movie.

    python benchmarks/curation_ablation.py [--ensemble 1] [--extra PLANE_FOLDER ...] [--resnet]
        [--folds 4] [--variants NAME,NAME]

``--extra`` adds training candidates from other Suite2p runs (tools/run_suite2p.py).
``--folds K`` cross-fits over K strips of the non-held-out field instead of the one
validation strip (the shipped recipe); the validation AP is then the pooled out-of-fold AP.
"""

import argparse
import json
import logging
import sys
import tempfile
import time
from pathlib import Path

from curation_neurofinder import DATA, HELD_OUT, held_out_figures

from neuronseg.curation.model import CurationModel
from neuronseg.curation.candidates import read_candidates_for
from neuronseg.io.rois import read_regions_json
from neuronseg.curation.config import CurationConfig
from neuronseg.train.curation import CurationTrainParams, train_curation

VARIANTS = {
    "weights": CurationConfig(channels=["weights"], features=[]),
    "weights+images": CurationConfig(channels=["weights", "mean", "correlation"], features=[]),
    "weights+images+traces": CurationConfig(channels=["weights", "mean", "correlation"], features=["trace"]),
    "weights+traces": CurationConfig(channels=["weights"], features=["trace"]),
    "weights+traces+shape": CurationConfig(channels=["weights"], features=["trace", "shape"]),
    "weights+traces+shape+image_features": CurationConfig(channels=["weights"], features=["trace", "shape", "image"]),
    "weights+traces+shape+image+activity_features": CurationConfig(
        channels=["weights"], features=["trace", "shape", "image", "activity"]),
}
# slow on CPU (a 64×64 crop through a stride-1 stem): only with --resnet
RESNETS = {
    "resnet18_w16+traces+shape+image_features": CurationConfig(
        channels=["weights"], features=["trace", "shape", "image"], backbone="resnet18", width=16),
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ensemble", type=int, default=1)
    ap.add_argument("--extra", nargs="*", default=[])
    ap.add_argument("--resnet", action="store_true", help="only the ResNet-18 variant (width 16, ~1 min per epoch)")
    ap.add_argument("--folds", type=int, default=1)
    ap.add_argument("--variants", default=None, help="comma-separated subset of the variants")
    args = ap.parse_args()
    if not (DATA / "suite2p_on_neurofinder_top").exists():
        sys.exit(f"needs {DATA}")
    logging.basicConfig(level=logging.WARNING)
    movie = DATA / "neurofinder_top" / "movie.tif"
    folders = [DATA / "suite2p_on_neurofinder_top" / "plane0", *args.extra]
    reads = {}  # variants reading the same images share one read (the movie's summary is a full pass)
    line = {"ensemble": args.ensemble, "extra_sources": len(args.extra), "folds": args.folds}
    variants = RESNETS if args.resnet else VARIANTS
    chosen = args.variants.split(",") if args.variants else list(variants)
    for name in chosen:
        config = variants[name]
        # read as `train curate` and `curate` read them: features from Suite2p's own ops.npy
        # images, image crop channels from the movie
        key = (tuple(config.channels), tuple(sorted(config.images_needed())))
        if key not in reads:
            reads[key] = [read_candidates_for(config, p, movie) for p in folders]
        sources = reads[key]
        truth = read_regions_json(DATA / "neurofinder_top" / "regions.json", sources[0].rois.shape)
        params = CurationTrainParams(label_rule="centre", ensemble=args.ensemble, exclude_rects=(HELD_OUT,),
                                     val_rect=None if args.folds > 1 else (0, 256, 256, 320), folds=args.folds)
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            summary = train_curation([(s, truth) for s in sources], Path(tmp) / "m", params, config)
            model = CurationModel.load(Path(tmp) / "m")
            fig = held_out_figures(sources[0], truth, model, 0.9, HELD_OUT)
        line[name] = {"val_average_precision": summary["val_average_precision"],
                      "heldout_average_precision": fig["average_precision"],
                      "heldout_curated": fig["curated"], "train_seconds": round(time.perf_counter() - t0, 1)}
    print(json.dumps(line))


if __name__ == "__main__":
    main()
