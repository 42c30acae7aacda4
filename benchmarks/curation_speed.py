"""Time to score 1000 real Suite2p candidates with the shipped curation model; one JSON line.

Reads the genuine Suite2p folder for neurofinder_top (1110 ROIs), keeps 1000, and times
the whole `curate` decision (crops, trace features, network, calibration, duplicates).
The shipped model needs no movie, so reading the folder is timed separately.

    python benchmarks/curation_speed.py
"""

import json
import resource
import sys
import time

import torch

from curation_neurofinder import DATA

from neuronseg.curation.model import CurationModel
from neuronseg.curation.candidates import read_candidates
from neuronseg.pipelines.curate import curate


def main():
    plane = DATA / "suite2p_on_neurofinder_top" / "plane0"
    if not plane.exists():
        sys.exit(f"needs {plane}")
    torch.set_num_threads(2)
    t0 = time.perf_counter()
    cands = read_candidates(plane).subset(range(1000))
    t_read = time.perf_counter() - t0
    model = CurationModel.load()
    t_load = time.perf_counter() - t0 - t_read
    curate(cands, model)  # warm-up: first call pays torch's one-off set-up
    t1 = time.perf_counter()
    result = curate(cands, model)
    t_score = time.perf_counter() - t1
    print(json.dumps({
        "candidates": len(cands), "read_seconds": round(t_read, 3), "load_model_seconds": round(t_load, 3),
        "score_and_decide_seconds": round(t_score, 3), "cells": result.n_cells,
        "threads": torch.get_num_threads(), "peak_memory_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }))


if __name__ == "__main__":
    main()
