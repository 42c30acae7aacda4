"""Open a plane folder in Suite2p's own GUI, headless, and report what it loaded (a check, not a dependency).

    s2p/bin/pip install "suite2p[gui]"
    QT_QPA_PLATFORM=offscreen s2p/bin/python tools/check_suite2p_gui.py OUT/plane0

Prints one JSON line: ROIs and cells the GUI holds, frames, field size, and whether its
mean-image and correlation views were built. Exits non-zero when loading failed.
"""

import json
import sys
from pathlib import Path

import torch

# Suite2p imports torchvision, whose PyPI build lacks these operators beside a CPU torch
torch.library.define("torchvision::nms", "(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
torch.library.define("torchvision::qnms", "(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")

from qtpy.QtWidgets import QApplication  # noqa: E402
from suite2p.gui import gui2p  # noqa: E402


def main(plane: str) -> None:
    app = QApplication.instance() or QApplication([])
    window = gui2p.MainWindow(statfile=str(Path(plane) / "stat.npy"))
    ok = bool(getattr(window, "loaded", False))
    line = {"loaded": ok}
    if ok:
        line.update({
            "rois": len(window.stat), "cells": int(window.iscell.sum()), "frames": int(window.Fcell.shape[1]),
            "field": [int(window.Ly), int(window.Lx)],
            "views": [k for k in ("meanImg", "Vcorr", "max_proj") if k in window.ops],
            "spks_nonzero_fraction": round(float((window.Spks > 0).mean()), 3),
        })
    print(json.dumps(line))
    app.quit()
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main(sys.argv[1])
