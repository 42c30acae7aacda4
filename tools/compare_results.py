"""Compare two `neuronseg segment` result folders file by file; print one JSON line.

    python tools/compare_results.py BEFORE AFTER [--also NAME …]

A change that must not move results (a refactor, a speed-up) is checked with it: run
`segment` before and after on the same movie and options, then compare. The cell-defining
arrays must be byte-identical (``regions.json``, ``labels.tif``, ``traces.npy``, ``dff.npy``
by default; ``--also`` adds more files, e.g. ``raster.npy rois.zip``). ``summary.json`` is
compared without the entries that are expected to change from run to run (seconds, peak
memory, version, the input path, the Python version). Exit status 1 when anything differs.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

REQUIRED = ("regions.json", "labels.tif", "traces.npy", "dff.npy")
#: summary.json entries that legitimately differ between two runs of the same thing
VOLATILE = {"seconds", "peak_memory_mb", "version", "input", "python"}


def digest(path: Path) -> str | None:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None


def stable_summary(folder: Path) -> dict | None:
    path = folder / "summary.json"
    if not path.is_file():
        return None
    return {k: v for k, v in json.loads(path.read_text()).items() if k not in VOLATILE}


def compare(before: Path, after: Path, names) -> dict:
    result = {"before": str(before), "after": str(after), "identical": [], "different": [], "missing": []}
    for name in names:
        a, b = digest(before / name), digest(after / name)
        key = "missing" if a is None or b is None else "identical" if a == b else "different"
        result[key].append(name)
    sa, sb = stable_summary(before), stable_summary(after)
    if sa is not None and sb is not None:
        differing = sorted(k for k in set(sa) | set(sb) if sa.get(k) != sb.get(k))
        result["summary_json"] = "identical" if not differing else {"differing_keys": differing}
    result["same"] = not result["different"] and not result["missing"] and result.get("summary_json") in (None, "identical")
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    parser.add_argument("--also", nargs="*", default=[], help="further file names to compare byte for byte")
    args = parser.parse_args(argv)
    for folder in (args.before, args.after):
        if not folder.is_dir():
            parser.error(f"{folder} is not a folder")
    result = compare(args.before, args.after, list(REQUIRED) + list(args.also))
    print(json.dumps(result))
    return 0 if result["same"] else 1


if __name__ == "__main__":
    sys.exit(main())
