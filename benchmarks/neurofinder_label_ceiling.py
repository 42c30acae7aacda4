"""How many of neurofinder_top's labelled cells show at all in its 600 frames; one JSON line.

The Neurofinder labels were drawn on the whole recording; this crop holds its first 600
frames (~85 s at 7 Hz). A labelled cell that neither fires in them nor stands out in their
mean image leaves nothing for any method to find, so such cells bound the recall, and
with it the F1, that the held-out figures of issue 3 (DISCo, F1 ≥ 0.75) can reach.

Per region (the held-out quarter of `benchmarks/disco_neurofinder.py`, the validation strip
of its training recipe, the rest): labelled cells; cells with at least one transient in the
raster `segment` writes (neuropil-subtracted ΔF/F, 4 robust SDs, fs = 7 Hz); cells with
soma evidence in the mean image (the classical segmenter's ring/disk score, whose seeds
need 3.5, reaching ``--score`` somewhere in the mask); cells with neither; and the recall
and F1 (at precision 1) left if those are lost. Brightness alone is no test: most somata
are a ring around a dark nucleus, no brighter on average than their surround. It is a soft
bound: a network may see subtler evidence than the ring score, and some evidence is chance
(`visible_by_chance`: the share of labelled masks, moved to places ≥ 6 px from every
labelled cell, that pass the same test; unlabelled cells there count against it too).

    python benchmarks/neurofinder_label_ceiling.py [--score 3.5]
"""

import argparse
import json
from pathlib import Path

import numpy as np

from neuronseg.io.movies import open_movie
from neuronseg.io.rois import read_regions_json
from neuronseg.pipelines.classical import ClassicalParams, soma_score
from neuronseg.train.curation import in_rect
from neuronseg.traces import activity, extract_traces, neuropil_rois

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "neurofinder_top"
FS = 7.0
HELD_OUT = (128, 256, 0, 256)      # as benchmarks/disco_neurofinder.py
VALIDATION = (0, 256, 256, 320)    # the --val strip of the DISCo training recipe


def visible_by_chance(score: np.ndarray, truth, threshold: float, draws: int = 2000, seed: int = 0) -> float:
    """Share of labelled masks, shifted by up to 40 px to where no pixel is within 6 px of a
    labelled cell, whose ``score`` exceeds ``threshold`` somewhere."""
    from scipy import ndimage as ndi

    far = ndi.distance_transform_edt(truth.to_labels() == 0) > 6
    h, w = score.shape
    rng = np.random.default_rng(seed)
    hits = []
    for _ in range(draws):
        c = truth.coordinates(int(rng.integers(len(truth)))) + rng.integers(-40, 41, 2)
        if (c < 0).any() or (c[:, 0] >= h).any() or (c[:, 1] >= w).any() or not far[c[:, 0], c[:, 1]].all():
            continue
        hits.append(score[c[:, 0], c[:, 1]].max() > threshold)
    return float(np.mean(hits)) if hits else float("nan")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--score", type=float, default=3.5, help="soma score (robust z) above which a cell counts as visible")
    args = ap.parse_args()
    if not DATA.exists():
        raise SystemExit(f"needs {DATA}")
    with open_movie(DATA / "movie.tif") as movie:
        truth = read_regions_json(DATA / "regions.json", movie.frame_shape)
        rings = neuropil_rois(truth)
        traces = extract_traces(movie.chunks(), truth, movie.n_frames)
        neuropil = extract_traces(movie.chunks(), rings, movie.n_frames)
        mean = movie.read(0, movie.n_frames).mean(axis=0, dtype=np.float64)
    _, raster = activity(traces, neuropil, FS)
    active = raster.any(axis=1)
    score = soma_score(mean, ClassicalParams()).ravel()
    visible = np.array([score[p].max() > args.score for p in truth.pixels])
    chance = visible_by_chance(score.reshape(mean.shape), truth, args.score)
    held, val = in_rect(truth.centers(), HELD_OUT), in_rect(truth.centers(), VALIDATION)
    line = {"frames": int(raster.shape[1]), "fs": FS, "soma_score": args.score, "visible_by_chance": round(chance, 3)}
    for name, sel in (("held_out", held), ("validation", val), ("training", ~held & ~val)):
        n, lost = int(sel.sum()), int((sel & ~active & ~visible).sum())
        recall = 1 - lost / max(n, 1)
        line[name] = {"labelled": n, "active": int((sel & active).sum()), "visible": int((sel & visible).sum()),
                      "neither": lost, "recall_ceiling": round(recall, 3),
                      "f1_ceiling_at_precision_1": round(2 * recall / (1 + recall), 3)}
    print(json.dumps(line))


if __name__ == "__main__":
    main()
