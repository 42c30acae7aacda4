"""Prediction/truth pairs built from the real Neurofinder labels, for checking `evaluate`.

Shared by the test and by the one-off run of the reference `neurofinder evaluate` that
produced `tests/data/neurofinder_reference.json` (see `make_reference` below). Uses only
numpy's PCG64 generator, whose stream is stable across numpy versions.
"""

import json
import sys
from pathlib import Path

import numpy as np


def _disk(center, radius):
    r, c = center
    return [[int(r + dr), int(c + dc)] for dr in range(-radius, radius + 1)
            for dc in range(-radius, radius + 1) if dr * dr + dc * dc <= radius * radius
            and r + dr >= 0 and c + dc >= 0]


def make_pairs(regions_path):
    """Name → (truth, prediction, threshold); truth and prediction are region lists."""
    gt = json.loads(Path(regions_path).read_text())
    rng = np.random.Generator(np.random.PCG64(1234))
    n = len(gt)
    subset = [gt[i] for i in sorted(rng.choice(n, size=int(0.6 * n), replace=False))]
    spurious = [{"id": 1000 + k, "coordinates": _disk(rng.integers(5, 250, size=2), int(rng.integers(3, 7)))}
                for k in range(40)]
    shifted = [{"id": r["id"], "coordinates": [[max(0, y + 2), max(0, x + 1)] for y, x in r["coordinates"]]}
               for r in gt]
    jittered = []
    for r in gt:
        dy, dx = (int(v) for v in rng.integers(-5, 6, size=2))
        coords = [[max(0, y + dy), max(0, x + dx)] for y, x in r["coordinates"]]
        keep = rng.random(len(coords)) > 0.2  # drop a fifth of the pixels: imperfect shapes
        jittered.append({"id": r["id"], "coordinates": [c for c, k in zip(coords, keep) if k] or coords[:1]})
    return {
        "self": (gt, gt, 5),
        "shifted": (gt, shifted, 5),
        "subset": (gt, subset, 5),
        "subset_plus_spurious": (gt, subset + spurious, 5),
        "empty_prediction": (gt, [], 5),
        "jittered": (gt, jittered, 5),
        "jittered_threshold_10": (gt, jittered, 10),
        "roles_swapped": (subset + spurious, gt, 5),
    }


def make_reference(regions_path, out_path):  # pragma: no cover - run once, by hand
    """Run the reference `neurofinder evaluate` (PyPI neurofinder 1.1.1, numpy < 2) on every pair."""
    import subprocess
    import tempfile

    expected = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, (a, b, thr) in make_pairs(regions_path).items():
            fa, fb = Path(tmp, "a.json"), Path(tmp, "b.json")
            fa.write_text(json.dumps(a))
            fb.write_text(json.dumps(b))
            run = subprocess.run(["neurofinder", "evaluate", str(fa), str(fb), "--threshold", str(thr)],
                                 capture_output=True, text=True)
            expected[name] = json.loads(run.stdout) if run.returncode == 0 else {
                "reference_error": run.stderr.strip().splitlines()[-1]}
    Path(out_path).write_text(json.dumps(expected, indent=1))


if __name__ == "__main__":  # python tests/neurofinder_pairs.py REGIONS OUT  (in the reference venv)
    make_reference(sys.argv[1], sys.argv[2])
