"""`--diameter auto` against the somata as drawn; one JSON line.

    python benchmarks/diameter_estimate.py

The estimate (:mod:`neuronseg.movie.diameter`, from the mean, std and correlation images of
the whole movie) divided by the median labelled soma's equivalent-circle diameter, on both
real recordings and on the 20 fresh simulations of 8–24 px and 5–30 Hz (seeds 9000–9019;
the estimator's calibration used seeds 7000–7039). The figure: within 15 % everywhere.
"""

import json

import numpy as np

from recordings import SIM_DIAMETERS, real, simulations


def estimate(rec) -> float:
    from neuronseg.movie.diameter import estimate_diameter
    from neuronseg.movie.summary import summarize
    from neuronseg.pipelines.segment import summary_bin

    s = summarize([(0, rec.movie.astype(np.float32))], rec.movie.shape[1:], temporal_bin=summary_bin(rec.fs))
    return estimate_diameter(s)


def main():
    line = {"benchmark": "diameter_estimate"}
    for name in ("neurofinder_top", "neurofinder_0101_top"):
        rec = real(name)
        e = estimate(rec)
        line[name] = {"labelled_px": round(rec.diameter, 2), "estimate_px": round(e, 2), "ratio": round(e / rec.diameter, 3)}
    ratios = {}
    for k, rec in enumerate(simulations()):
        ratios.setdefault(SIM_DIAMETERS[k // 4], []).append(estimate(rec) / rec.diameter)
    every = [r for v in ratios.values() for r in v] + [line[n]["ratio"] for n in ("neurofinder_top", "neurofinder_0101_top")]
    line["simulations_ratio_by_diameter"] = {str(d): [round(r, 3) for r in v] for d, v in ratios.items()}
    line["within_15_percent"] = f"{sum(abs(r - 1) <= 0.15 for r in every)} of {len(every)}"
    line["worst_error"] = round(float(max(abs(r - 1) for r in every)), 3)
    print(json.dumps(line))


if __name__ == "__main__":
    main()
