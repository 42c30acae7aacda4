"""Every option of every command, declared once: name, kind, range, default and one line of
meaning (the idea of Suite2p's parameter table).

The command line builds its options from these tables (:mod:`neuronseg.cli`), and a batch
manifest's columns are checked and converted by the same declarations (:func:`parse`), so
an option means the same wherever it is given. Kinds:

    float, int, str     a number or text (``low`` / ``low_open`` / ``high`` bound numbers)
    flag                present or not (``invert``: the flag turns a setting off)
    path                a path; ``existing``: one that must exist; ``folder``: an existing folder
    choice              one of ``choices``; ``none_is_empty``: "none" means off ("")
    list                comma-separated text → list of names
    rect                ``ROW0:ROW1,COL0:COL1`` → (r0, r1, c0, c1)
    diameter            a positive number of pixels or "auto"
    int_pair            two whole numbers (``--shape H W``)
    path_pair           two existing paths (``--partial MOVIE LABELS``)
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path

from neuronseg.errors import NeuronsegError


@dataclass(frozen=True)
class Setting:
    name: str                     #: keyword of the library function it reaches
    kind: str = "str"
    default: object = None
    help: str = ""
    low: float | None = None
    low_open: bool = False
    high: float | None = None
    high_open: bool = False
    choices: tuple = ()
    flags: tuple = ()             #: the option's spelling, when not ``--name-with-dashes``
    multiple: bool = False
    required: bool = False
    invert: bool = False          #: a flag that sets the value to False
    none_is_empty: bool = False   #: choice "none" → ""
    metavar: str | None = None

    @property
    def option(self) -> str:
        return self.flags[-1] if self.flags else "--" + self.name.replace("_", "-")


def _s(name, kind="str", default=None, help="", **kw) -> Setting:
    return Setting(name, kind, default, help, **kw)


OUT = _s("out", "path", help="Output folder.", flags=("-o", "--out"), required=True)
MODEL_OUT = _s("out", "path", help="Model folder to write.", flags=("-o", "--out"), required=True)
DEVICE = _s("device", "str", "cpu", "Torch device for the networks: cpu, cuda, cuda:1 … (checked before any work).")
SEED = _s("seed", "int", 0, "Random seed: the same seed gives the same result.")
RESUME = _s("resume", "flag", False, "Continue from OUT/checkpoint.pt.")


def _overwrite(what: str = "output folder") -> Setting:
    return _s("overwrite", "flag", False, f"Replace an existing {what}.")


MOTIONS = ("none", "rigid", "piecewise", "flow")

SEGMENT = (
    OUT,
    _s("method", "choice", None, "Default: classical (no training; on recordings from labs its training never saw, "
       "the shipped DISCo model scored no better), or disco when --model is given. disco: the shipped network, "
       "better on recordings like its training ones. onephoton: for one-photon / miniscope movies (finds the cells "
       "that are active).", choices=("disco", "onephoton", "classical")),
    _s("model", "path", None, "A model folder of the method (default: its shipped model)."),
    DEVICE,
    _s("dataset", "str", None, "Dataset inside an HDF5 file or Zarr group."),
    _s("diameter", "diameter", "auto", "Typical soma diameter in px, as drawn around a cell body, or 'auto': "
       "estimated from the mean, std and correlation images. The classical method sizes its filters by it; DISCo "
       "and onephoton see the field resampled so its somata have the size their model was trained at."),
    _s("truth", "path", None, "Ground-truth ROIs (regions.json, label TIFF or ImageJ zip): scores go into summary.json."),
    _s("nwb", "path", None, "Also write the result as an NWB file (ophys: masks, traces, ΔF/F, summary images); "
       "needs --fs."),
    _s("suite2p", "path", None, "Also write a Suite2p plane folder (DIR/plane0: stat, ops, iscell, F, Fneu, spks) for "
       "its GUI; needs --fs.", flags=("--suite2p-folder",)),
    _s("fs", "float", None, "Frame rate in Hz (for NWB, Suite2p, ΔF/F and spikes).", low=0, low_open=True),
    _s("tau", "float", 1.0, "Indicator decay time, s (spike inference for --suite2p-folder; GCaMP6f ≈ 0.7, 6s ≈ 1.5).",
       low=0, low_open=True),
    _s("um_per_px", "float", None, "Pixel size, µm: the overlay's scale bar in µm (else in px), recorded in "
       "summary.json.", low=0, low_open=True),
    _s("memory_limit", "float", None, "MB for the streaming passes over the movie (sets the time-chunk length; "
       "default ~64 MB chunks).", low=0, low_open=True),
    _s("tile_size", "int", None, "Compute the summary images in spatial tiles of N×N pixels (classical method); "
       "same cells as untiled.", low=1),
    _s("scheduler", "str", None, "With --tile-size: a Dask scheduler address; each tile becomes a task (workers must "
       "see INPUT)."),
    _s("motion", "choice", None, "Motion correction first: rigid or piecewise-rigid phase correlation, or rigid + "
       "dense optical flow. Default: none; for --method onephoton, the registration its model was trained with "
       "(shipped: rigid; pass none for a movie that is already registered, e.g. ΔF/F).", choices=MOTIONS),
    _s("as_json", "flag", False, "Print the run's summary.json to stdout instead of a sentence.", flags=("--json",)),
    _overwrite(),
)

EVALUATE = (
    _s("threshold", "float", 5.0, "Centres closer than this (pixels) can match.", low=0, low_open=True),
    _s("detail", "flag", False, "Also the counts and, per truth region, the index of its matched prediction "
       "(−1: missed).", flags=("--json",)),
)

CURATE = (
    OUT,
    _s("precision", "float", 0.9, "Keep candidates above the threshold that reached this precision on the model's "
       "validation data.", low=0, low_open=True, high=1),
    _s("model", "path", None, "A curation model folder (default: shipped)."),
    _s("movie", "path", None, "The recording: needed for a ROI file, and for summary images the tool does not keep "
       "(CaImAn with the default model)."),
    _s("dataset", "str", None, "Dataset inside an HDF5 movie or Zarr group."),
    _s("explain", "int", 0, "Write saliency and occlusion PNGs for this many of the least certain candidates.", low=0),
    _s("keep_duplicates", "flag", False, "Keep a cell's second ROI (centres < 5 px apart)."),
    _s("truth", "path", None, "Human masks (regions.json …): Neurofinder scores of the tool and of the curation go "
       "into summary.json."),
    DEVICE,
    _overwrite(),
)

SIMULATE = (
    _s("frames", "int", 600, "Frames of the movie.", low=2),
    _s("shape", "int_pair", (256, 256), "Rows and columns of the field.", metavar="H W"),
    _s("cells", "int", None, "Somata in the field (default: from --density; 60 for --onephoton).", low=0),
    SEED,
    _s("fs", "float", 7.0, "Frame rate, Hz.", low=0, low_open=True),
    _s("diameter", "float", 10.0, "Median soma diameter, px (two-photon).", low=2),
    _s("density", "float", 12.0, "Somata per 10 000 px² when --cells is not given (both real recordings: 12–13).",
       low=0),
    _s("active_fraction", "float", None, "Share of somata that fire; the rest are quiet, visible in the mean image "
       "only (default 0.5; 0.6 for --onephoton).", low=0, high=1),
    _s("tau", "float", 0.7, "Indicator decay time, s (GCaMP6f ≈ 0.7, GCaMP6s ≈ 1.5; two-photon).", low=0,
       low_open=True),
    _s("neuropil_activity", "float", 0.1, "How strongly the neuropil follows the population's activity "
       "(two-photon; neurofinder_0101_top's look: 2.5).", low=0),
    _s("onephoton", "flag", False, "One-photon background, blur and out-of-focus cells."),
    _overwrite(),
)

DEMO = (
    _s("out", "path", Path("neuronseg-demo"), "Output folder.", flags=("-o", "--out")),
    _s("simulated", "flag", False, "Use a freshly simulated movie instead of the real example."),
    _overwrite(),
)

CONVERT = (
    _s("dataset", "str", None, "Dataset inside an HDF5/NWB file or Zarr group."),
    _s("chunk_frames", "int", None, "Frames per Zarr chunk (default: about 64 MB).", low=1),
    _overwrite("store"),
)

BATCH = (
    _s("out", "path", help="Folder for all results.", flags=("-o", "--out"), required=True),
    _s("scheduler", "str", None, "Address of a running Dask scheduler (default: a local cluster)."),
    _s("workers", "int", 2, "Worker processes of the local cluster.", low=1),
    _s("as_json", "flag", False, "Print the summary table as JSON.", flags=("--json",)),
    _s("overwrite", "flag", False, "Run finished recordings again too, replacing their result folders (only folders "
       "neuronseg wrote)."),
)

TRAIN_DISCO = (
    _s("data_dirs", "existing", (), "Folder with a movie (movie.tif, images/, movie.npy …) and regions.json; list "
       "or repeat for more (validation uses the first).", multiple=True, required=True, flags=("--data",)),
    MODEL_OUT,
    _s("val_rects", "rect", (), "Validation rectangle ROW0:ROW1,COL0:COL1 of a recording, in its own pixels; once per "
       "--data in the same order (the first alone is fine).", multiple=True, flags=("--val",)),
    _s("exclude_rects", "rect", (), "Rectangle ROW0:ROW1,COL0:COL1 of a recording never used (your test part); once "
       "per --data in the same order.", multiple=True, flags=("--exclude",)),
    _s("epochs", "int", 30, "Passes of --steps-per-epoch steps.", low=1),
    _s("steps_per_epoch", "int", 40, "Training steps between validations.", low=1),
    _s("batch_size", "int", 4, "Crops per step.", low=1),
    _s("base_width", "int", 16, "U-Net width at full resolution.", low=1),
    _s("patience", "int", 8, "Epochs without validation gain before stopping.", low=1),
    _s("label_reach", "float", None, "For fields labelled in patches: trust the labels only this many px around "
       "labelled cells (no loss and no validation penalty farther out). Default: the whole field.", low=0,
       low_open=True),
    _s("extra_inputs", "choice", (), "Extra image channel beside the mean image (beyond DISCo).",
       choices=("soma_score",), multiple=True, flags=("--extra-input",)),
    _s("cell_diameter", "float", 10.0, "Soma diameter (px) every field is resampled to before training, as "
       "estimated from its images; `segment` resamples each recording the same way (0: train at the fields' own "
       "scale).", low=0),
    _s("simulated", "int", 0, "Simulated fields trained on beside the real ones (seeds 1000, 1001, …), drawn over "
       "somata of 8–24 px, 5–30 Hz, light levels, quiet shares and neuropil.", low=0),
    _s("sim_share", "float", 0.3, "Share of training crops drawn from the simulated fields.", low=0, high=1),
    SEED, DEVICE, RESUME, _overwrite("model folder"),
)

TRAIN_CURATE = (
    _s("sources", "existing", (), "Suite2p plane folder, CaImAn .hdf5 or ROI file; list or repeat for more "
       "(validation uses the first).", multiple=True, required=True, flags=("--candidates",)),
    _s("truths", "existing", (), "Human masks of the recording (regions.json, label TIFF or ImageJ zip). For several "
       "recordings repeat it, once per candidate source in the same order (sources of one recording name the same "
       "file).", multiple=True, required=True, flags=("--truth",)),
    _s("movies", "existing", (), "The recording: for image crop channels, images the tool does not keep (CaImAn: "
       "correlation, max), traces of ROI files. Once for all sources, or once per source.", multiple=True,
       flags=("--movie",)),
    MODEL_OUT,
    _s("val_rect", "rect", None, "Validation rectangle ROW0:ROW1,COL0:COL1 (default: right quarter).",
       flags=("--val",)),
    _s("folds", "int", 1, "Cross-fit instead of --val: cut the field into this many vertical strips, each validating "
       "(and calibrating) networks trained on the others; the threshold comes from all strips.", low=1),
    _s("exclude_rects", "rect", (), "Rectangle ROW0:ROW1,COL0:COL1 never used: your test part, or a part nobody "
       "labelled. Repeatable.", multiple=True, flags=("--exclude",)),
    _s("label_rule", "choice", "iou", "A candidate is a cell: iou = binarised at 0.2 it overlaps a human mask with "
       "IoU ≥ --iou; centre = its centre is < 5 px from a human mask's centre.", choices=("iou", "centre"),
       flags=("--label",)),
    _s("iou", "float", 0.7, "The IoU of --label iou.", low=0, low_open=True, high=1),
    _s("channels", "list", "weights", "Crop channels, comma-separated: weights, mean, correlation."),
    _s("features", "list", "trace,shape,image,activity", "Feature groups beside the crops, comma-separated: trace "
       "(skewness, SNR, event rate), shape (area, compactness, solidity, fragmentation), image (soma score, "
       "contrast), activity (the same in the correlation image and max projection); '' for none."),
    _s("backbone", "choice", "small", "The crop network.", choices=("small", "resnet18", "resnet50")),
    _s("width", "int", 8, "Channels of the first convolution.", low=1),
    _s("epochs", "int", 25, "Most epochs of each network (early stopping on validation AP).", low=1),
    _s("ensemble", "int", 3, "Networks (seeds) whose logits are averaged.", low=1),
    SEED, DEVICE, _overwrite("model folder"),
)

TRAIN_ONEPHOTON = (
    MODEL_OUT,
    _s("simulated", "int", 8, "Simulated one-photon movies to train on (seeds 100, 101, …).", low=1),
    _s("val_simulated", "int", 2, "Simulated validation movies (seeds 200, 201, …) that tune the thresholds.", low=1),
    _s("partial", "path_pair", (), "A real movie and a label file of some of its cells (the GRU stage learns from "
       "them; unlabelled cells are left out of the loss). Repeatable.", multiple=True, metavar="MOVIE LABELS"),
    _s("partial_rows", "int_pair", None, "Use only these rows of the --partial movies (hold the rest out for "
       "testing).", metavar="ROW0 ROW1"),
    _s("frame_steps", "int", 1500, "Steps of the per-frame U-Net.", low=1),
    _s("gru_steps", "int", 300, "Steps of the ConvGRU and its head.", low=1),
    _s("temporal_bin", "int", 4, "Frames averaged into one.", low=1),
    _s("gru_hidden", "int", 8, "Hidden channels of the ConvGRU.", low=1),
    _s("width", "int", 8, "Channels of the per-frame U-Net at full resolution (doubling it costs about 4× the "
       "time).", low=1),
    _s("motion", "choice", "none", "Registration of the training movies, before tuning the cuts, and by `segment` "
       "with this model (for raw, moving movies; a movie that is already registered or ΔF-normalised gains "
       "nothing).", choices=MOTIONS),
    _s("outline_simulated", "int", 0, "Fresh simulated movies (seeds 500, 501, …) for an outline U-Net that redraws "
       "the rims of the active cells (0: no outline stage)."),
    _s("outline_width", "int", 16, "Channels of the outline U-Net.", low=1),
    _s("outline_steps", "int", 1500, "Steps of the outline U-Net.", low=1),
    _s("base", "folder", None, "A trained one-photon model whose per-frame U-Net and GRU are kept as they are: only "
       "the outline stage is trained (its settings --simulated, --width, --temporal-bin, --motion … are that "
       "model's).", flags=("--from",)),
    SEED, DEVICE, _overwrite("model folder"),
)

IMAGE_SEGMENT = (
    OUT,
    _s("model", "str", "somata", "Shipped model (somata: two-photon summary images; nuclei: fluorescent nuclei; "
       "brightfield: cultured neurons in transmitted light) or a model folder."),
    _s("cell_class", "str", None, "Cell class of the images, for models trained with classes."),
    _s("diameter", "diameter", None, "Typical cell diameter in px when your images' scale differs from the model's, "
       "or 'auto'."),
    _s("refine", "choice", None, "Boundary refinement by a per-image pixel classifier (default: the model's choice).",
       choices=("none", "bayes", "svm"), none_is_empty=True),
    _s("tile_size", "int", None, "Run the network in overlapping tiles of this many px (default: above 1024 px a "
       "side).", low=1),
    DEVICE, _overwrite(),
)

IMAGE_TRAIN = (
    _s("data_paths", "existing", (), "Labelled images: images/ + masks/ (or labels/), DSB2018 folders, X_image.tif + "
       "X_labels.tif pairs, or a Sartorius CSV; repeat for more.", multiple=True, required=True, flags=("--data",)),
    _s("val_paths", "existing", (), "Validation images in the same layouts (default: every 5th image, or with fewer "
       "than 5 the right quarter of each).", multiple=True, flags=("--val",)),
    _s("exclude", "str", (), "Image names (stems; shell patterns allowed) never used: your test images. Repeatable.",
       multiple=True),
    MODEL_OUT,
    _s("target", "choice", None, "flows: also learn vectors to each cell's centre and split cells by following "
       "them (default: semantic, or --init's).", choices=("semantic", "flows")),
    _s("instances", "choice", None, "How masks become cells (default: flows for --target flows, else watershed).",
       choices=("watershed", "components", "flows")),
    _s("loss", "choice", "bce+dice", "The training loss.", choices=("bce", "dice", "bce+dice")),
    _s("pos_weight", "float", 1.0, "Weight of cell pixels in BCE.", low=0, low_open=True),
    _s("dropout", "float", 0.0, "Dropout after the bottleneck.", low=0, high=1, high_open=True),
    _s("cell_classes", "list", None, "Comma-separated class names for one-hot input channels (a Sartorius CSV's "
       "cell_type values; default: none, or --init's)."),
    _s("base_width", "int", None, "U-Net width at full resolution (SomaNet: 32; default 16, or --init's).", low=1),
    _s("scale", "float", 1.0, "Resize images by this factor first.", low=0, low_open=True),
    _s("refine", "choice", "none", "Boundary refinement the model applies by default.",
       choices=("none", "bayes", "svm"), none_is_empty=True),
    _s("partial_labels", "flag", False, "Only some cells are labelled: validate by the IoU of the labelled cells "
       "alone."),
    _s("init", "existing", None, "Start from this model folder (transfer learning)."),
    _s("freeze_all_but", "int", 0, "With --init: train only the last K weight layers (0 = all).", low=0),
    _s("elastic", "flag", True, "No elastic deformation.", flags=("--no-elastic",), invert=True),
    _s("intensity_jitter", "flag", False, "Also random gamma, contrast, blur and noise."),
    _s("low_resolution", "float", 1.0, "Shrink half the crops by up to this factor and enlarge them back, for images "
       "whose cells are smaller than the training ones and get enlarged by --diameter (1 = off).", low=0,
       low_open=True),
    _s("render_outlines", "flag", False, "Train on the images drawn as transmitted light draws cells (outlines, both "
       "polarities): a fluorescence data set becomes a pre-training source for brightfield models (then --init)."),
    _s("epochs", "int", 40, "Passes of --steps-per-epoch steps.", low=1),
    _s("steps_per_epoch", "int", 25, "Training steps between validations.", low=1),
    _s("crop", "int", 128, "Training crop size, px.", low=1),
    SEED, DEVICE, RESUME, _overwrite("model folder"),
)


# --- values from text (a manifest's cells; the command line's callbacks) --------------------
def parse_rect(text) -> tuple | None:
    """``"ROW0:ROW1,COL0:COL1"`` → ``(r0, r1, c0, c1)``."""
    if text is None:
        return None
    try:
        rows, cols = str(text).split(",")
        r0, r1 = (int(v) for v in rows.split(":"))
        c0, c1 = (int(v) for v in cols.split(":"))
    except ValueError:
        raise NeuronsegError(f"'{text}' is not a rectangle ROW0:ROW1,COL0:COL1") from None
    if not (0 <= r0 < r1 and 0 <= c0 < c1):
        raise NeuronsegError(f"'{text}' is an empty rectangle: need 0 ≤ ROW0 < ROW1 and 0 ≤ COL0 < COL1")
    return (r0, r1, c0, c1)


def parse_list(text) -> list:
    """``"a, b,"`` → ``["a", "b"]`` (a list stays a list)."""
    if isinstance(text, (list, tuple)):
        return [str(v).strip() for v in text if str(v).strip()]
    return [v.strip() for v in str(text or "").split(",") if v.strip()]


def parse_diameter(text):
    """A number of pixels above 0, or "auto"."""
    if text is None or text == "auto":
        return text
    try:
        value = float(text)
    except (TypeError, ValueError):
        value = None
    if value is None or not value > 0:
        raise NeuronsegError(f"--diameter takes a number of pixels above 0 or 'auto', not '{text}'")
    return value


def check_range(setting: Setting, value):
    """``value`` if it lies in the setting's range, else one message naming the option."""
    if value is None or setting.kind not in ("int", "float"):
        return value
    too_low = setting.low is not None and (value <= setting.low if setting.low_open else value < setting.low)
    too_high = setting.high is not None and (value >= setting.high if setting.high_open else value > setting.high)
    if too_low or too_high:
        lo = "" if setting.low is None else f"{'>' if setting.low_open else '≥'} {setting.low:g}"
        hi = "" if setting.high is None else f"{'<' if setting.high_open else '≤'} {setting.high:g}"
        raise NeuronsegError(f"{setting.option} must be {' and '.join(p for p in (lo, hi) if p)}, not {value}")
    return value


def _convert(setting: Setting, value):
    kind = setting.kind
    if value is None:
        return None
    if kind == "flag":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text not in ("true", "false", "1", "0", "yes", "no"):
            raise NeuronsegError(f"{setting.option} is true or false, not '{value}'")
        return text in ("true", "1", "yes")
    if kind in ("int", "float"):
        try:
            number = float(value)
            if kind == "int" and number != int(number):
                raise ValueError
        except (TypeError, ValueError):
            raise NeuronsegError(f"{setting.option} takes {'a whole number' if kind == 'int' else 'a number'}, "
                                 f"not '{value}'") from None
        return check_range(setting, int(number) if kind == "int" else number)
    if kind == "choice":
        if str(value) not in setting.choices:
            raise NeuronsegError(f"{setting.option} is one of {', '.join(setting.choices)}, not '{value}'")
        return "" if setting.none_is_empty and value == "none" else str(value)
    if kind == "list":
        return parse_list(value)
    if kind == "rect":
        return parse_rect(value)
    if kind == "diameter":
        return parse_diameter(value)
    if kind in ("path", "existing", "folder"):
        path = Path(str(value))
        if kind != "path" and not path.exists():
            raise NeuronsegError(f"{setting.option}: {path} does not exist")
        return path
    return str(value)


def parse(table, values: dict, where: str = "") -> dict:
    """``values`` (text or numbers by setting name, e.g. a manifest row) checked against
    ``table`` and converted: an unknown name is refused naming the closest known one, a value
    out of its kind or range is refused naming the option."""
    known = {s.name: s for s in table}
    out = {}
    for key, value in values.items():
        if key not in known:
            close = difflib.get_close_matches(key, list(known), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else f" (known: {', '.join(sorted(known))})"
            raise NeuronsegError(f"{where}unknown option '{key}'{hint}")
        setting = known[key]
        try:
            out[key] = ([_convert(setting, v) for v in value] if setting.multiple and isinstance(value, (list, tuple))
                        else _convert(setting, value))
        except NeuronsegError as exc:
            raise NeuronsegError(f"{where}{exc}") from None
    return out
