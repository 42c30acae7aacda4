"""DISCo against the classical default on recordings it was never trained or chosen on; one JSON line.

    python benchmarks/generalization.py [--model DIR] [--without-top DIR] [--without-0101 DIR] [--sims N]

Scores, with Neurofinder F1 and the cell size estimated (`--diameter auto`, the default):

* held-out parts: rows 128–255 × columns 0–255 of `neurofinder_top` and of
  `neurofinder_0101_top` (no model, threshold or default was chosen on them);
* leave-one-recording-out: a model trained without a recording, on the whole of it
  (`--without-top`, `--without-0101`: model folders trained by `train disco` without it);
* fresh simulations over somata of 8–24 px and 5–30 Hz (seeds 9000–9019, never used in
  training), 60 s each, by size;

for DISCo (the shipped model, or `--model`, a DISCo folder) and for the classical segmenter
(`segment`'s default, see `pipelines/segment.py: DEFAULT_METHOD`) beside it, in the same run.
"""

import argparse
import json
import time

import numpy as np

from recordings import HELD_OUT, SIM_DIAMETERS, real, scores, simulations


def segment(rec, method, model=None):
    from neuronseg.io.movies import movie_from_array
    from neuronseg.pipelines.segment import segment_movie

    t0 = time.perf_counter()
    seg = segment_movie(movie_from_array(rec.movie, rec.name), method, model=model, fs=rec.fs)
    return seg, time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=None, help="a DISCo model folder to score instead of the shipped one")
    ap.add_argument("--without-top", default=None, help="a DISCo model folder trained without neurofinder_top")
    ap.add_argument("--without-0101", default=None, help="a DISCo model folder trained without neurofinder_0101_top")
    ap.add_argument("--sims", type=int, default=20, help="how many of the 20 fresh simulations to score")
    args = ap.parse_args()
    method = "disco"
    line = {"benchmark": "generalization", "method": method, "model": args.model or "shipped",
            "held_out": HELD_OUT}
    for name in ("neurofinder_top", "neurofinder_0101_top"):
        rec = real(name)
        for who, m, model in (("disco", method, args.model), ("classical", "classical", None)):
            seg, seconds = segment(rec, m, model)
            line[f"{name}/{who}"] = {**scores(rec.truth, seg.rois, HELD_OUT), "diameter_px": round(seg.diameter, 1),
                                     "seconds": round(seconds, 1)}
        without = args.without_top if name == "neurofinder_top" else args.without_0101
        if without:
            seg, _ = segment(rec, "disco", without)
            line[f"{name}/leave_one_out"] = {"model": without, **scores(rec.truth, seg.rois),
                                             "classical_whole_field": scores(rec.truth, segment(rec, "classical")[0].rois)}
    by_size = {d: {"disco": [], "classical": []} for d in SIM_DIAMETERS}
    for k, rec in enumerate(simulations()):
        if k >= args.sims:
            break
        d = SIM_DIAMETERS[k // 4]
        for who, m, model in (("disco", method, args.model), ("classical", "classical", None)):
            by_size[d][who].append(scores(rec.truth, segment(rec, m, model)[0].rois)["f1"])
    sims = {who: [f for d in by_size for f in by_size[d][who]] for who in ("disco", "classical")}
    if sims["disco"]:
        line["simulations"] = {
            "n": len(sims["disco"]),
            "disco_mean_f1": round(float(np.mean(sims["disco"])), 3),
            "classical_mean_f1": round(float(np.mean(sims["classical"])), 3),
            "by_diameter": {str(d): {who: round(float(np.mean(v)), 3) for who, v in by_size[d].items() if v}
                            for d in by_size if by_size[d]["disco"]},
        }
    print(json.dumps(line))


if __name__ == "__main__":
    main()
