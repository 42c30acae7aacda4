"""Store a model folder's weights as float16, as the shipped models are (half the size in
the package; the loaders cast them back to float32, and outputs move less than the
benchmarks' precision).

    python tools/halve_weights.py MODEL_DIR

Rewrites ``MODEL_DIR/weights.pt`` in place (through a temporary file) and prints the sizes.
"""

import sys
from pathlib import Path

import torch


def main():
    path = Path(sys.argv[1]) / "weights.pt"
    state = torch.load(path, map_location="cpu", weights_only=True)
    half = {k: v.half() if v.is_floating_point() else v for k, v in state.items()}
    tmp = path.with_suffix(".pt.partial")
    torch.save(half, tmp)
    before = path.stat().st_size
    tmp.replace(path)
    print(f"{path}: {before / 1e6:.1f} MB → {path.stat().st_size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
