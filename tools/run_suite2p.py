"""Produce extra *real* Suite2p candidates for curation training (a data tool, not a dependency).

Runs PyPI suite2p 1.1.0 on ``neurofinder_top`` with several detection settings, each into
its own plane folder. Run it in a separate venv:

    python -m venv s2p && s2p/bin/pip install torch==2.13.0 torchvision==0.28.0 suite2p
    s2p/bin/python tools/run_suite2p.py ../shared/data/neurofinder_top/movie.tif OUTDIR

Suite2p 1.1.0 reads zlib-compressed TIFFs as garbage without an error, so the movie is
written uncompressed first. Its PyPI torchvision lacks the ``torchvision::nms`` operator
and ``torchvision::qnms``
operators that ``import torchvision`` registers fake kernels for; declaring it first lets it import.
"""

import shutil
import sys
from pathlib import Path

import numpy as np
import tifffile
import torch

torch.library.define("torchvision::nms", "(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
torch.library.define("torchvision::qnms", "(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")

import suite2p  # noqa: E402

VARIANTS = {
    "sparsery_t0.6": {"detection": {"algorithm": "sparsery", "threshold_scaling": 0.6}},
    "sparsery_t1.5": {"detection": {"algorithm": "sparsery", "threshold_scaling": 1.5}},
    # (sparsery ignores the diameter: at diameter 8 it gave the genuine run's 1110 ROIs again)
    "sourcery_d12": {"detection": {"algorithm": "sourcery", "threshold_scaling": 1.0}},
    "sourcery_d8_t0.7": {"diameter": [8.0, 8.0], "detection": {"algorithm": "sourcery", "threshold_scaling": 0.7}},
    "sourcery_d10": {"diameter": [10.0, 10.0], "detection": {"algorithm": "sourcery", "threshold_scaling": 1.0}},
    "sourcery_d14": {"diameter": [14.0, 14.0], "detection": {"algorithm": "sourcery", "threshold_scaling": 1.0}},
    "sourcery_d12_t0.6": {"detection": {"algorithm": "sourcery", "threshold_scaling": 0.6}},
}


def merge(base: dict, extra: dict) -> dict:
    out = dict(base)
    for k, v in extra.items():
        out[k] = merge(base[k], v) if isinstance(v, dict) and isinstance(base.get(k), dict) else v
    return out


def main(movie: str, out: str, names: list[str]) -> None:
    out = Path(out)
    raw = out / "movie_uncompressed"
    raw.mkdir(parents=True, exist_ok=True)
    if not (raw / "movie.tif").exists():
        tifffile.imwrite(raw / "movie.tif", tifffile.imread(movie))  # no compression
    for name in names or VARIANTS:
        dest = out / name
        if (dest / "plane0" / "iscell.npy").exists():
            continue
        settings = merge(suite2p.default_settings(), {"torch_device": "cpu", "fs": 7.0, "tau": 0.7,
                                                      "diameter": [12.0, 12.0], **VARIANTS[name]})
        work = out / f"work_{name}"
        db = {"data_path": [str(raw)], "save_path0": str(work), "save_folder": "suite2p"}
        suite2p.run_s2p(db=db, settings=settings)
        dest.mkdir(parents=True, exist_ok=True)
        plane = work / "suite2p" / "plane0"
        shutil.copytree(plane, dest / "plane0", ignore=shutil.ignore_patterns("data*.bin"), dirs_exist_ok=True)
        shutil.rmtree(work)
        print(name, len(np.load(dest / "plane0" / "stat.npy", allow_pickle=True)), "ROIs", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3:])
