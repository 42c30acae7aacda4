"""The `neuronseg` command. Each command parses its options and calls the library, nothing more."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import click

from neuronseg import progress
from neuronseg.errors import NeuronsegError

log = logging.getLogger("neuronseg")

#: numbers that only make sense above zero (frame rates, sizes, counts): click refuses the rest
POSITIVE = click.FloatRange(min=0, min_open=True)
COUNT = click.IntRange(min=1)


class _Group(click.Group):
    """Turns a NeuronsegError anywhere below into one line on stderr and exit status 2."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except NeuronsegError as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(2)
        except MemoryError:
            click.echo("error: out of memory; try a smaller --chunk or a machine with more RAM", err=True)
            ctx.exit(3)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="neuronseg")
@click.option("-q", "--quiet", is_flag=True, help="No progress bars or log lines.")
@click.option("-v", "--verbose", is_flag=True, help="Debug log lines.")
def cli(quiet, verbose):
    """Find neurons in calcium-imaging movies and microscopy images."""
    progress.QUIET = quiet
    level = logging.WARNING if quiet else logging.DEBUG if verbose else logging.INFO
    logging.basicConfig(level=level, format="%(message)s", stream=sys.stderr)


@cli.command()
@click.argument("input_path", metavar="INPUT", type=click.Path(path_type=Path))
@click.option("-o", "--out", required=True, type=click.Path(path_type=Path), help="Output folder.")
@click.option("--method", type=click.Choice(["disco", "onephoton", "classical"]), default=None,
              help="Default: disco when --model is given or a model is shipped (classical for movies too short "
                   "for it), else classical. "
                   "onephoton: for one-photon / miniscope movies (finds the cells that are active).")
@click.option("--model", type=click.Path(path_type=Path), default=None,
              help="A model folder of the method (default: its shipped model).")
@click.option("--device", default="cpu", show_default=True, help="Torch device for networks: cpu, cuda …")
@click.option("--dataset", default=None, help="Dataset inside an HDF5 file or Zarr group.")
@click.option("--diameter", type=POSITIVE, default=11.0, show_default=True,
              help="Typical cell diameter, pixels (classical method).")
@click.option("--truth", type=click.Path(path_type=Path), default=None,
              help="Ground-truth ROIs (regions.json, label TIFF or ImageJ zip): scores go into summary.json.")
@click.option("--nwb", "nwb_path", type=click.Path(path_type=Path), default=None,
              help="Also write the result as an NWB file (ophys: masks, traces, ΔF/F, summary images); needs --fs.")
@click.option("--suite2p-folder", "suite2p_folder", type=click.Path(path_type=Path), default=None,
              help="Also write a Suite2p plane folder (DIR/plane0: stat, ops, iscell, F, Fneu, spks) for its GUI; needs --fs.")
@click.option("--fs", type=POSITIVE, default=None, help="Frame rate in Hz (for NWB, Suite2p, ΔF/F and spikes).")
@click.option("--tau", type=POSITIVE, default=1.0, show_default=True,
              help="Indicator decay time, s (spike inference for --suite2p-folder; GCaMP6f ≈ 0.7, 6s ≈ 1.5).")
@click.option("--memory-limit", type=POSITIVE, default=None,
              help="MB for the streaming passes over the movie (sets the time-chunk length; default ~64 MB chunks).")
@click.option("--tile-size", type=COUNT, default=None,
              help="Compute the summary images in spatial tiles of N×N pixels (classical method); same cells as untiled.")
@click.option("--scheduler", default=None,
              help="With --tile-size: a Dask scheduler address; each tile becomes a task (workers must see INPUT).")
@click.option("--motion", type=click.Choice(["none", "rigid", "piecewise", "flow"]), default=None,
              help="Motion correction first: rigid or piecewise-rigid phase correlation, or rigid + dense optical flow. "
                   "Default: none; for --method onephoton, the registration its model was trained with (shipped: rigid; "
                   "pass none for a movie that is already registered, e.g. ΔF/F).")
@click.option("--json", "as_json", is_flag=True, help="Print the run's summary.json to stdout instead of a sentence.")
@click.option("--overwrite", is_flag=True, help="Replace an existing output folder.")
def segment(input_path, out, method, model, device, dataset, diameter, truth, nwb_path, suite2p_folder, fs, tau,
            memory_limit, tile_size, scheduler, motion, as_json, overwrite):
    """Find cells in a movie: regions.json, labels.tif, rois.zip, traces.npy, summary.json, overlay.png, report.html."""
    from neuronseg.io.movies import open_movie
    from neuronseg.io.outputs import check_writable
    from neuronseg.io.results import write_segmentation
    from neuronseg.io.rois import read_rois
    from neuronseg.pipelines.classical import ClassicalParams
    from neuronseg.pipelines.segment import segment_movie
    from neuronseg.traces import activity

    check_writable(out, overwrite)  # before any work
    if nwb_path is not None:
        check_writable(nwb_path, overwrite, is_file=True)
    if suite2p_folder is not None:
        check_writable(suite2p_folder, overwrite)
    if (nwb_path or suite2p_folder) and not fs:   # click already refuses fs ≤ 0
        raise NeuronsegError("--nwb and --suite2p-folder need the frame rate: pass --fs HZ")
    with open_movie(input_path, dataset) as movie:
        log.info(f"{input_path}: {movie.n_frames} frames of {movie.frame_shape[0]}×{movie.frame_shape[1]}")
        truth_rois = read_rois(truth, movie.frame_shape) if truth else None
        if scheduler and tile_size is None:
            raise NeuronsegError("--scheduler spreads the tiles of --tile-size; give --tile-size too")
        client = None
        if scheduler:
            from dask.distributed import Client

            client = Client(scheduler)
        try:
            seg = segment_movie(movie, method, ClassicalParams(diameter=diameter), model=model, device=device,
                                memory_limit_mb=memory_limit, tile_size=tile_size, client=client, dataset=dataset,
                                motion=motion, fs=fs)
        finally:
            if client is not None:
                client.close()
    if suite2p_folder is not None:
        from neuronseg.pipelines.suite2p_export import export_suite2p

        export_suite2p(seg, suite2p_folder, fs, tau, diameter, overwrite)
    dff_raster = activity(seg.traces, seg.neuropil, fs)  # once, for the folder and the NWB file
    summary = write_segmentation(seg, out, input_path, overwrite, truth_rois, fs, dff_raster)
    line = f"{summary['n_rois']} cells → {out}"
    if nwb_path is not None:
        from neuronseg.io.nwb import write_nwb_atomically

        write_nwb_atomically(nwb_path, seg, input_path, fs, overwrite, dff=dff_raster[0])
        line += f" and {nwb_path}"
    if suite2p_folder is not None:
        line += f" and {suite2p_folder / 'plane0'}"
    if "scores" in summary:
        line += f"  (F1 {summary['scores']['combined']:.3f} against {truth})"
    click.echo(json.dumps(summary) if as_json else line)


@cli.command()
@click.argument("truth", type=click.Path(path_type=Path))
@click.argument("prediction", type=click.Path(path_type=Path))
@click.option("--threshold", type=POSITIVE, default=5.0, show_default=True,
              help="Centres closer than this (pixels) can match.")
@click.option("--json", "as_json", is_flag=True,
              help="Also the counts and, per truth region, the index of its matched prediction (−1: missed).")
def evaluate(truth, prediction, threshold, as_json):
    """Score PREDICTION against TRUTH as `neurofinder evaluate` does.

    Each is a Neurofinder regions.json (scored exactly as written), a label TIFF or an ImageJ
    ROI zip (which takes its field size from the other file, a TIFF)."""
    from neuronseg.metrics import neurofinder_matches, neurofinder_scores

    gt, pred = _regions_to_score(truth, prediction), _regions_to_score(prediction, truth)
    if not gt:
        raise NeuronsegError(f"{truth}: the ground truth holds no regions; nothing to score against")
    scores = neurofinder_scores(gt, pred, threshold)
    if as_json:
        matches = neurofinder_matches(gt, pred, threshold) if pred else [-1] * len(gt)
        scores = {"scores": scores, "n_truth": len(gt), "n_prediction": len(pred),
                  "matches": [int(m) for m in matches]}
    click.echo(json.dumps(scores))


def _regions_to_score(path: Path, other: Path) -> list:
    """``[row, col]`` pixel lists of ROI file ``path``; a zip of polygons takes its field size
    from ``other`` (a label TIFF), since ImageJ files do not record it."""
    from neuronseg.io.rois import read_label_tif, read_regions_coordinates, read_rois

    if path.suffix.lower() == ".json":
        return read_regions_coordinates(path)
    shape = None
    if path.suffix.lower() in (".zip", ".roi"):
        if other.suffix.lower() not in (".tif", ".tiff"):
            raise NeuronsegError(f"{path}: ImageJ ROIs need the field size; score them against a label TIFF")
        shape = read_label_tif(other).shape
    rois = read_rois(path, shape)
    return [rois.coordinates(i) for i in range(len(rois))]


@cli.command()
@click.argument("source", type=click.Path(path_type=Path))
@click.option("-o", "--out", required=True, type=click.Path(path_type=Path), help="Output folder.")
@click.option("--precision", type=float, default=0.9, show_default=True,
              help="Keep candidates above the threshold that reached this precision on the model's validation data.")
@click.option("--model", type=click.Path(path_type=Path), default=None, help="A curation model folder (default: shipped).")
@click.option("--movie", type=click.Path(path_type=Path), default=None,
              help="The recording: needed for a ROI file, and for summary images the tool does not keep "
                   "(CaImAn with the default model).")
@click.option("--dataset", default=None, help="Dataset inside an HDF5 movie or Zarr group.")
@click.option("--explain", type=click.IntRange(min=0), default=0, show_default=True,
              help="Write saliency and occlusion PNGs for this many of the least certain candidates.")
@click.option("--keep-duplicates", is_flag=True, help="Keep a cell's second ROI (centres < 5 px apart).")
@click.option("--truth", type=click.Path(path_type=Path), default=None,
              help="Human masks (regions.json …): Neurofinder scores of the tool and of the curation go into summary.json.")
@click.option("--device", default="cpu", show_default=True, help="Torch device: cpu, cuda …")
@click.option("--overwrite", is_flag=True, help="Replace an existing output folder.")
def curate(source, out, precision, model, movie, dataset, explain, keep_duplicates, truth, device, overwrite):
    """Score the candidate ROIs of SOURCE as cell / not cell: scores.csv, summary.json, iscell.npy.

    SOURCE is a Suite2p plane folder (stat.npy is unpickled because you named it), a CaImAn
    results .hdf5 (with --movie for the default model: CaImAn keeps no correlation image),
    or a ROI file (regions.json, label TIFF, ImageJ zip) with --movie.
    Nothing in SOURCE is modified; for Suite2p, copy OUT/iscell.npy into the plane folder
    (keep the original) to open the curated result in the Suite2p GUI.
    """
    from neuronseg.io.outputs import check_writable
    from neuronseg.pipelines.curate import curate_source, truth_scores, write_curation

    check_writable(out, overwrite)
    if explain < 0:
        raise NeuronsegError("--explain must be ≥ 0")
    cands, cmodel, result = curate_source(source, precision, model, movie, dataset, keep_duplicates, device)
    extra = {}
    if truth is not None:
        from neuronseg.io.rois import read_rois

        extra["scores"] = truth_scores(cands, result, read_rois(truth, cands.rois.shape))
    summary = write_curation(result, cands, out, overwrite, extra,
                             explain=(cmodel, explain) if explain else None)
    line = f"{summary['n_cells']} of {summary['n_candidates']} candidates are cells → {out}"
    if not result.threshold["reached"]:
        line += f"  (warning: the model never reached precision {precision} on its validation data; nothing kept)"
    else:
        line += f"  (threshold {result.threshold['threshold']:.3f}; validation recall there {result.threshold['recall']:.2f})"
    click.echo(line)


@cli.command()
@click.argument("out", type=click.Path(path_type=Path))
@click.option("--frames", type=COUNT, default=600, show_default=True)
@click.option("--shape", type=(int, int), default=(256, 256), show_default=True, metavar="H W")
@click.option("--cells", type=click.IntRange(min=0), default=60, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--fs", type=POSITIVE, default=7.0, show_default=True, help="Frame rate, Hz.")
@click.option("--onephoton", is_flag=True, help="One-photon background, blur and out-of-focus cells.")
@click.option("--overwrite", is_flag=True, help="Replace an existing output folder.")
def simulate(out, frames, shape, cells, seed, fs, onephoton, overwrite):
    """Write a simulated movie and its ground truth into folder OUT."""
    from neuronseg.io.outputs import atomic_output_dir
    from neuronseg.simulate import simulate as run_simulation

    if frames < 2 or min(shape) < 16 or cells < 0:
        raise NeuronsegError("need --frames ≥ 2, --shape at least 16 16 and --cells ≥ 0")
    with atomic_output_dir(out, overwrite) as tmp:
        rec = run_simulation(frames=frames, shape=shape, cells=cells, seed=seed, fs=fs, onephoton=onephoton)
        rec.save(tmp)
    click.echo(f"{len(rec.rois)} cells, {frames} frames of {shape[0]}×{shape[1]} → {out}")


@cli.command()
@click.option("-o", "--out", type=click.Path(path_type=Path), default=Path("neuronseg-demo"), show_default=True)
@click.option("--simulated", is_flag=True, help="Use a freshly simulated movie instead of the real example.")
@click.option("--overwrite", is_flag=True, help="Replace an existing output folder.")
def demo(out, simulated, overwrite):
    """Segment a small real recording shipped with neuronseg, score it, and show where the files are."""
    from neuronseg.demo import run_demo

    result = run_demo(out, simulated=simulated, overwrite=overwrite)
    click.echo(result["text"])


@cli.command()
@click.argument("input_path", metavar="INPUT", type=click.Path(path_type=Path))
@click.argument("out", type=click.Path(path_type=Path))
@click.option("--dataset", default=None, help="Dataset inside an HDF5/NWB file or Zarr group.")
@click.option("--chunk-frames", type=COUNT, default=None, help="Frames per Zarr chunk (default: about 64 MB).")
@click.option("--overwrite", is_flag=True, help="Replace an existing store.")
def convert(input_path, out, dataset, chunk_frames, overwrite):
    """Copy a movie into a Zarr store (OUT.zarr) chunked for neuronseg: whole frames, time chunks."""
    from neuronseg.io.convert import convert_to_zarr

    info = convert_to_zarr(input_path, out, dataset, chunk_frames, overwrite)
    click.echo(f"{info['frames']} frames of {info['shape'][0]}×{info['shape'][1]} {info['dtype']} → {out} "
               f"(chunks of {info['chunk_frames']} frames)")


@cli.command()
@click.argument("manifest", type=click.Path(path_type=Path))
@click.option("-o", "--out", required=True, type=click.Path(path_type=Path), help="Folder for all results.")
@click.option("--scheduler", default=None, help="Address of a running Dask scheduler (default: a local cluster).")
@click.option("--workers", type=COUNT, default=2, show_default=True, help="Worker processes of the local cluster.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary table as JSON.")
def batch(manifest, out, scheduler, workers, as_json):
    """Run segment or curate on every recording of MANIFEST (CSV or YAML) with Dask.

    Results go to OUT/<name>/; finished recordings are skipped on a rerun, failed ones run
    again; OUT/batch_summary.csv lists status, seconds and ROI count per recording.
    """
    from neuronseg.pipelines.batch import read_manifest, run_batch

    table = run_batch(read_manifest(manifest), out, scheduler, workers)
    if as_json:
        click.echo(json.dumps(table))
    else:
        for row in table:
            click.echo(f"{row['name']:<24} {row['status']:<26} {row['seconds']:>8} s  {row['n_rois'] if row['n_rois'] is not None else '-':>6}  {row['error']}")
    failed = sum(r["status"] == "failed" for r in table)
    if failed:
        click.echo(f"{failed} of {len(table)} recordings failed; see {out / 'batch_summary.csv'}", err=True)
        sys.exit(1)


@cli.group()
def train():
    """Train a model on labelled recordings."""


def _rect(text):
    if text is None:
        return None
    try:
        rows, cols = text.split(",")
        r0, r1 = (int(v) for v in rows.split(":"))
        c0, c1 = (int(v) for v in cols.split(":"))
    except ValueError:
        raise NeuronsegError(f"'{text}' is not a rectangle ROW0:ROW1,COL0:COL1") from None
    if not (0 <= r0 < r1 and 0 <= c0 < c1):
        raise NeuronsegError(f"'{text}' is an empty rectangle: need 0 ≤ ROW0 < ROW1 and 0 ≤ COL0 < COL1")
    return (r0, r1, c0, c1)


def _more_paths(name: str):
    """Further paths after a repeatable path option (``--data A B C`` as well as ``--data A --data B``)."""
    return click.argument(name, nargs=-1, type=click.Path(path_type=Path, exists=True), metavar="[MORE …]")


def _per_source(values, sources, option: str) -> list:
    """``values`` given once for all ``sources`` (or not at all: None each), or once per source."""
    if len(values) <= 1:
        return [values[0] if values else None] * len(sources)
    if len(values) != len(sources):
        raise NeuronsegError(f"{option} is given {len(values)} times for {len(sources)} candidate sources: "
                             "give it once for all, or once per source in the same order")
    return list(values)


@train.command("disco")
@click.option("--data", "data_dirs", multiple=True, required=True, type=click.Path(path_type=Path, exists=True),
              help="Folder with a movie (movie.tif, images/, movie.npy …) and regions.json; list or repeat for more "
                   "(validation uses the first).")
@_more_paths("more_data")
@click.option("-o", "--out", required=True, type=click.Path(path_type=Path), help="Model folder to write.")
@click.option("--val", "val_rect", default=None, help="Validation rectangle ROW0:ROW1,COL0:COL1 of the first recording.")
@click.option("--exclude", "exclude_rect", default=None,
              help="Rectangle ROW0:ROW1,COL0:COL1 of the first recording never used (your test part).")
@click.option("--epochs", type=COUNT, default=30, show_default=True)
@click.option("--steps-per-epoch", type=COUNT, default=40, show_default=True)
@click.option("--batch-size", type=COUNT, default=4, show_default=True)
@click.option("--base-width", type=COUNT, default=16, show_default=True, help="U-Net width at full resolution.")
@click.option("--patience", type=COUNT, default=8, show_default=True, help="Epochs without validation gain before stopping.")
@click.option("--label-reach", type=POSITIVE, default=None,
              help="For fields labelled in patches: trust the labels only this many px around labelled cells "
                   "(no loss and no validation penalty farther out). Default: the whole field.")
@click.option("--extra-input", "extra_inputs", multiple=True, type=click.Choice(["soma_score"]),
              help="Extra image channel beside the mean image (beyond DISCo).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--device", default="cpu", show_default=True, help="cpu, cuda, cuda:1 …")
@click.option("--resume", is_flag=True, help="Continue from OUT/checkpoint.pt.")
@click.option("--overwrite", is_flag=True, help="Replace an existing model folder.")
def train_disco_cmd(data_dirs, more_data, out, val_rect, exclude_rect, epochs, steps_per_epoch, batch_size, base_width,
                    patience, label_reach, extra_inputs, seed, device, resume, overwrite):
    """Train a DISCo model (affinities + foreground) and write OUT/weights.pt, config.json, thresholds.json."""
    from neuronseg.nets.device import torch_device
    from neuronseg.nets.disco import DiscoConfig
    from neuronseg.train.disco import TrainParams, train_disco

    if out.exists() and not (resume or overwrite):
        raise NeuronsegError(f"{out} already exists; pass --resume to continue or --overwrite to start again")
    torch_device(device)   # refuse a device this machine lacks before any work
    params = TrainParams(epochs=epochs, steps_per_epoch=steps_per_epoch, batch_size=batch_size, patience=patience,
                         seed=seed, device=device, val_rect=_rect(val_rect), exclude_rect=_rect(exclude_rect),
                         label_reach=label_reach)
    summary = train_disco([*data_dirs, *more_data], out, params, DiscoConfig(base_width=base_width, extra_inputs=list(extra_inputs)), resume=resume)
    click.echo(f"model → {out}  (validation F1 {summary['val_f1_tuned_thresholds']}, {summary['seconds']} s)")


@train.command("curate")
@click.option("--candidates", "sources", multiple=True, required=True, type=click.Path(path_type=Path, exists=True),
              help="Suite2p plane folder, CaImAn .hdf5 or ROI file; list or repeat for more (validation uses the first).")
@_more_paths("more_sources")
@click.option("--truth", "truths", required=True, multiple=True, type=click.Path(path_type=Path, exists=True),
              help="Human masks of the recording (regions.json, label TIFF or ImageJ zip). For several recordings "
                   "repeat it, once per candidate source in the same order (sources of one recording name the same file).")
@click.option("--movie", "movies", multiple=True, type=click.Path(path_type=Path, exists=True),
              help="The recording: for image crop channels, images the tool does not keep "
                   "(CaImAn: correlation, max), traces of ROI files. Once for all sources, or once per source.")
@click.option("-o", "--out", required=True, type=click.Path(path_type=Path), help="Model folder to write.")
@click.option("--val", "val_rect", default=None, help="Validation rectangle ROW0:ROW1,COL0:COL1 (default: right quarter).")
@click.option("--folds", type=COUNT, default=1, show_default=True,
              help="Cross-fit instead of --val: cut the field into this many vertical strips, each validating "
                   "(and calibrating) networks trained on the others; the threshold comes from all strips.")
@click.option("--exclude", "exclude_rects", multiple=True,
              help="Rectangle ROW0:ROW1,COL0:COL1 never used: your test part, or a part nobody labelled. Repeatable.")
@click.option("--label", "label_rule", type=click.Choice(["iou", "centre"]), default="iou", show_default=True,
              help="A candidate is a cell: iou = binarised at 0.2 it overlaps a human mask with IoU ≥ --iou; "
                   "centre = its centre is < 5 px from a human mask's centre.")
@click.option("--iou", type=click.FloatRange(0, 1, min_open=True), default=0.7, show_default=True)
@click.option("--channels", default="weights", show_default=True,
              help="Crop channels, comma-separated: weights, mean, correlation.")
@click.option("--features", default="trace,shape,image,activity", show_default=True,
              help="Feature groups beside the crops, comma-separated: trace (skewness, SNR, event rate), "
                   "shape (area, compactness, solidity, fragmentation), image (soma score, contrast), "
                   "activity (the same in the correlation image and max projection); '' for none.")
@click.option("--backbone", type=click.Choice(["small", "resnet18", "resnet50"]), default="small", show_default=True)
@click.option("--width", type=COUNT, default=8, show_default=True, help="Channels of the first convolution.")
@click.option("--epochs", type=COUNT, default=25, show_default=True)
@click.option("--ensemble", type=COUNT, default=3, show_default=True, help="Networks (seeds) whose logits are averaged.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--device", default="cpu", show_default=True)
@click.option("--overwrite", is_flag=True, help="Replace an existing model folder.")
def train_curate_cmd(sources, more_sources, truths, movies, out, val_rect, folds, exclude_rects, label_rule, iou, channels,
                     features, backbone, width, epochs, ensemble, seed, device, overwrite):
    """Train a curation model on candidates labelled by human masks; writes OUT (weights, calibration).

    Candidates of several recordings train one model when each source gets its own --truth
    (and --movie); --val, --folds and --exclude are drawn on the first source's recording.
    """
    from neuronseg.curation.model import read_candidates_for
    from neuronseg.io.outputs import check_writable
    from neuronseg.io.rois import read_rois
    from neuronseg.nets.curation import CurationConfig
    from neuronseg.train.curation import CurationTrainParams, train_curation

    if folds > 1 and val_rect:
        raise NeuronsegError("--folds > 1 replaces --val: give one or the other")
    check_writable(out, overwrite)
    config = CurationConfig(channels=[c.strip() for c in channels.split(",") if c.strip()],
                            features=[f.strip() for f in features.split(",") if f.strip()], backbone=backbone, width=width)
    sources = (*sources, *more_sources)
    truths, movies = _per_source(truths, sources, "--truth"), _per_source(movies, sources, "--movie")
    cands = [read_candidates_for(config, s, m) for s, m in zip(sources, movies)]
    # sources that name the same masks are one recording (several tools' runs on one movie)
    truths = [t.resolve() for t in truths]
    masks = {}
    for t, c in zip(truths, cands):   # each file read once, however many sources share it
        if t not in masks:
            masks[t] = read_rois(t, c.rois.shape)
    recordings = [list(masks).index(t) for t in truths]
    params = CurationTrainParams(epochs=epochs, ensemble=ensemble, seed=seed, device=device, label_rule=label_rule,
                                 label_iou=iou, val_rect=_rect(val_rect),
                                 exclude_rects=tuple(_rect(r) for r in exclude_rects), folds=folds)
    summary = train_curation([(c, masks[t]) for c, t in zip(cands, truths)], out, params, config, overwrite, recordings)
    click.echo(f"model → {out}  (validation average precision {summary['val_average_precision']}, {summary['seconds']} s)")


@train.command("onephoton")
@click.option("-o", "--out", required=True, type=click.Path(path_type=Path), help="Model folder to write.")
@click.option("--simulated", type=COUNT, default=8, show_default=True,
              help="Simulated one-photon movies to train on (seeds 100, 101, …).")
@click.option("--val-simulated", type=COUNT, default=2, show_default=True,
              help="Simulated validation movies (seeds 200, 201, …) that tune the thresholds.")
@click.option("--partial", "partial", multiple=True, type=(click.Path(path_type=Path, exists=True),) * 2,
              metavar="MOVIE LABELS",
              help="A real movie and a label file of some of its cells (the GRU stage learns from them; "
                   "unlabelled cells are left out of the loss). Repeatable.")
@click.option("--partial-rows", type=(int, int), default=None, metavar="ROW0 ROW1",
              help="Use only these rows of the --partial movies (hold the rest out for testing).")
@click.option("--frame-steps", type=COUNT, default=1500, show_default=True, help="Steps of the per-frame U-Net.")
@click.option("--gru-steps", type=COUNT, default=300, show_default=True, help="Steps of the ConvGRU and its head.")
@click.option("--temporal-bin", type=COUNT, default=4, show_default=True, help="Frames averaged into one.")
@click.option("--gru-hidden", type=COUNT, default=8, show_default=True, help="Hidden channels of the ConvGRU.")
@click.option("--width", type=COUNT, default=8, show_default=True,
              help="Channels of the per-frame U-Net at full resolution (doubling it costs about 4× the time).")
@click.option("--motion", type=click.Choice(["none", "rigid", "piecewise", "flow"]), default="none", show_default=True,
              help="Registration of the training movies, before tuning the cuts, and by `segment` with this model (for raw, "
                   "moving movies; a movie that is already registered or ΔF-normalised gains nothing).")
@click.option("--outline-simulated", type=int, default=0, show_default=True,
              help="Fresh simulated movies (seeds 500, 501, …) for an outline U-Net that redraws the rims of the "
                   "active cells (0: no outline stage).")
@click.option("--outline-width", type=COUNT, default=16, show_default=True, help="Channels of the outline U-Net.")
@click.option("--outline-steps", type=COUNT, default=1500, show_default=True, help="Steps of the outline U-Net.")
@click.option("--from", "base", type=click.Path(path_type=Path, exists=True, file_okay=False), default=None,
              help="A trained one-photon model whose per-frame U-Net and GRU are kept as they are: only the outline "
                   "stage is trained (its settings --simulated, --width, --temporal-bin, --motion … are that model's).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--device", default="cpu", show_default=True)
@click.option("--overwrite", is_flag=True, help="Replace an existing model folder.")
def train_onephoton_cmd(out, simulated, val_simulated, partial, partial_rows, frame_steps, gru_steps, temporal_bin,
                        gru_hidden, width, motion, outline_simulated, outline_width, outline_steps, base, seed, device,
                        overwrite):
    """Train the one-photon network (per-frame U-Net + ConvGRU) and write OUT (weights, thresholds)."""
    from neuronseg.io.movies import open_movie
    from neuronseg.io.outputs import atomic_output_dir
    from neuronseg.io.rois import read_rois
    from neuronseg.movie.filters import FrameFilter
    from neuronseg.nets.device import torch_device
    from neuronseg.nets.onephoton import OnePhotonConfig
    from neuronseg.pipelines.onephoton import OnePhotonModel
    from neuronseg.progress import progress_bar
    from neuronseg.simulate import ONEPHOTON_PHOTONS
    from neuronseg.train.onephoton import (OnePhotonTrainParams, sample_from_partial_labels, simulated_samples,
                                           train_onephoton)

    torch_device(device)   # refuse a device this machine lacks before simulating the movies
    if outline_simulated < 0:
        raise NeuronsegError("--outline-simulated takes a count of movies, 0 or more")
    if base is not None:
        if not outline_simulated:
            raise NeuronsegError("--from trains only the outline stage: give --outline-simulated N")
        base_config = OnePhotonModel.load(base).config   # refuses a folder that is not a one-photon model
        filt, motion = base_config.frame_filter(), base_config.motion
        simulated = 0
    else:
        filt = FrameFilter(temporal_bin=temporal_bin)
    params = OnePhotonTrainParams(frame_steps=frame_steps, gru_steps=gru_steps, outline_steps=outline_steps, seed=seed,
                                  device=device)
    with atomic_output_dir(out, overwrite) as tmp:
        with progress_bar(simulated + val_simulated + outline_simulated + len(partial), "preparing movies",
                          unit="movie") as tick:
            real = []   # read first, so a bad file or band is refused before minutes of simulation
            for movie_path, labels_path in partial:
                with open_movie(movie_path) as movie:
                    frames = movie.read(0, movie.n_frames)
                labels = read_rois(labels_path, frames.shape[1:]).to_labels()
                real.append(sample_from_partial_labels(frames, labels, filt, movie_path.name, partial_rows))
                tick(1)
            # training movies are registered as the model will register them (config.motion)
            train = simulated_samples(range(100, 100 + simulated), filt, params, motion=motion, progress=tick) + real
            val = simulated_samples(range(200, 200 + val_simulated), filt, params, photons=ONEPHOTON_PHOTONS, progress=tick)
            # the outline stage reads its movies through the whole pipeline, registration included
            outline = simulated_samples(range(500, 500 + outline_simulated), filt, params, progress=tick)
        steps = (0 if base else frame_steps + gru_steps) + (outline_steps if outline_simulated else 0)
        with progress_bar(steps, "training", unit="step") as tick:
            config = OnePhotonConfig(base_width=width, hidden=gru_hidden, filter=filt.to_dict(), motion=motion,
                                     outline_width=outline_width if outline_simulated else 0)
            record = train_onephoton(tmp, train, val, params, config, progress=tick, outline=outline, base=base)
    click.echo(f"model → {out}  (validation F1 {record['validation_f1']['active']}; projections: max "
               f"{record['validation_f1']['max']}, mean {record['validation_f1']['mean']})")


@cli.group()
def image():
    """Still images (neurons, nuclei, summary images) → instance masks."""


def _diameter(text):
    if text is None or text == "auto":
        return text
    try:
        value = float(text)
    except ValueError:
        value = None
    if value is None or not value > 0:
        raise NeuronsegError(f"--diameter takes a number of pixels above 0 or 'auto', not '{text}'")
    return value


@image.command("segment")
@click.argument("input_path", metavar="INPUT", type=click.Path(path_type=Path))
@click.option("-o", "--out", required=True, type=click.Path(path_type=Path), help="Output folder.")
@click.option("--model", default="somata", show_default=True,
              help="Shipped model (somata: two-photon summary images; nuclei: fluorescent nuclei; "
                   "brightfield: cultured neurons in transmitted light) or a model folder.")
@click.option("--cell-class", default=None, help="Cell class of the images, for models trained with classes.")
@click.option("--diameter", default=None,
              help="Typical cell diameter in px when your images' scale differs from the model's, or 'auto'.")
@click.option("--refine", type=click.Choice(["none", "bayes", "svm"]), default=None,
              help="Boundary refinement by a per-image pixel classifier (default: the model's choice).")
@click.option("--tile-size", type=COUNT, default=None,
              help="Run the network in overlapping tiles of this many px (default: above 1024 px a side).")
@click.option("--device", default="cpu", show_default=True, help="Torch device: cpu, cuda …")
@click.option("--overwrite", is_flag=True, help="Replace an existing output folder.")
def image_segment_cmd(input_path, out, model, cell_class, diameter, refine, tile_size, device, overwrite):
    """Segment an image, or every image in a folder: OUT/<stem>_labels.tif (uint16) and OUT/<stem>_overlay.png."""
    from neuronseg.io.images import image_files
    from neuronseg.io.outputs import check_writable
    from neuronseg.pipelines.image import ImageModel, segment_image_files

    check_writable(out, overwrite)
    files = image_files(input_path)
    loaded = ImageModel.load(model, device)   # the loader checks the device
    refine = "" if refine == "none" else refine
    summary = segment_image_files(files, out, loaded, cell_class, refine, _diameter(diameter), overwrite, tile_size)
    n = sum(im["n_cells"] for im in summary["images"])
    click.echo(f"{len(files)} image(s), {n} cells → {out}")


@image.command("train")
@click.option("--data", "data_paths", multiple=True, required=True, type=click.Path(path_type=Path, exists=True),
              help="Labelled images: images/ + masks/ (or labels/), DSB2018 folders, X_image.tif + X_labels.tif "
                   "pairs, or a Sartorius CSV; repeat for more.")
@click.option("--val", "val_paths", multiple=True, type=click.Path(path_type=Path, exists=True),
              help="Validation images in the same layouts (default: every 5th image, or with fewer than 5 the "
                   "right quarter of each).")
@click.option("--exclude", "exclude", multiple=True,
              help="Image names (stems; shell patterns allowed) never used: your test images. Repeatable.")
@click.option("-o", "--out", required=True, type=click.Path(path_type=Path), help="Model folder to write.")
@click.option("--target", type=click.Choice(["semantic", "flows"]), default="semantic", show_default=True,
              help="flows: also learn vectors to each cell's centre and split cells by following them.")
@click.option("--instances", type=click.Choice(["watershed", "components", "flows"]), default=None,
              help="How masks become cells (default: flows for --target flows, else watershed).")
@click.option("--loss", type=click.Choice(["bce", "dice", "bce+dice"]), default="bce+dice", show_default=True)
@click.option("--pos-weight", type=POSITIVE, default=1.0, show_default=True, help="Weight of cell pixels in BCE.")
@click.option("--dropout", type=click.FloatRange(0, 1, max_open=True), default=0.0, show_default=True, help="Dropout after the bottleneck.")
@click.option("--cell-classes", default="", help="Comma-separated class names for one-hot input channels "
              "(a Sartorius CSV's cell_type values).")
@click.option("--base-width", type=COUNT, default=16, show_default=True,
              help="U-Net width at full resolution (SomaNet: 32).")
@click.option("--scale", type=POSITIVE, default=1.0, show_default=True, help="Resize images by this factor first.")
@click.option("--refine", type=click.Choice(["none", "bayes", "svm"]), default="none", show_default=True,
              help="Boundary refinement the model applies by default.")
@click.option("--partial-labels", is_flag=True,
              help="Only some cells are labelled: validate by the IoU of the labelled cells alone.")
@click.option("--init", type=click.Path(path_type=Path, exists=True), default=None,
              help="Start from this model folder (transfer learning).")
@click.option("--freeze-all-but", type=click.IntRange(min=0), default=0, show_default=True,
              help="With --init: train only the last K weight layers (0 = all).")
@click.option("--no-elastic", is_flag=True, help="No elastic deformation.")
@click.option("--intensity-jitter", is_flag=True, help="Also random gamma, contrast, blur and noise.")
@click.option("--low-resolution", type=POSITIVE, default=1.0, show_default=True,
              help="Shrink half the crops by up to this factor and enlarge them back, for images whose cells are "
                   "smaller than the training ones and get enlarged by --diameter (1 = off).")
@click.option("--render-outlines", is_flag=True,
              help="Train on the images drawn as transmitted light draws cells (outlines, both polarities): a "
                   "fluorescence data set becomes a pre-training source for brightfield models (then --init).")
@click.option("--epochs", type=COUNT, default=40, show_default=True)
@click.option("--steps-per-epoch", type=COUNT, default=25, show_default=True)
@click.option("--crop", type=COUNT, default=128, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--device", default="cpu", show_default=True)
@click.option("--resume", is_flag=True, help="Continue from OUT/checkpoint.pt.")
@click.option("--overwrite", is_flag=True, help="Replace an existing model folder.")
def image_train_cmd(data_paths, val_paths, exclude, out, target, instances, loss, pos_weight, dropout, cell_classes,
                    base_width, scale, refine, partial_labels, init, freeze_all_but, no_elastic, intensity_jitter,
                    low_resolution, render_outlines, epochs, steps_per_epoch, crop, seed, device, resume, overwrite):
    """Train an image model; writes OUT/weights.pt, config.json, thresholds.json, training.json."""
    from neuronseg.io.images import read_labelled_images
    from neuronseg.nets.image import ImageConfig
    from neuronseg.train.image import ImageTrainParams, train_image_model

    if out.exists() and not (resume or overwrite):
        raise NeuronsegError(f"{out} already exists; pass --resume to continue or --overwrite to start again")
    if freeze_all_but and not init:
        raise NeuronsegError("--freeze-all-but needs --init (a pre-trained model to fine-tune)")
    from fnmatch import fnmatch

    def kept(paths):
        return [it for p in paths for it in read_labelled_images(p) if not any(fnmatch(it.name, e) for e in exclude)]

    items, val_items = kept(data_paths), kept(val_paths)
    if not items:
        raise NeuronsegError("--exclude leaves no training image")
    try:
        config = ImageConfig(base_width=base_width, dropout=dropout, target=target, scale=scale,
                             instances=instances or ("flows" if target == "flows" else "watershed"),
                             cell_classes=[c.strip() for c in cell_classes.split(",") if c.strip()],
                             refine="" if refine == "none" else refine)
        params = ImageTrainParams(epochs=epochs, steps_per_epoch=steps_per_epoch, crop=crop, loss=loss,
                                  pos_weight=pos_weight, elastic=not no_elastic, intensity=intensity_jitter,
                                  low_resolution=low_resolution, render_outlines=render_outlines,
                                  freeze_all_but=freeze_all_but,
                                  init=str(init) if init else None, partial_labels=partial_labels, seed=seed,
                                  device=device)
    except ValueError as exc:
        raise NeuronsegError(str(exc)) from None
    record = train_image_model(items, out, config, params, val_items or None, resume=resume)
    click.echo(f"model → {out}  (validation score {record['val_score_tuned']:.3f}, {record['seconds']} s)")


def stop_on_sigterm() -> None:
    """Make SIGTERM (a cluster job's time limit, `kill`) unwind the program as Ctrl-C does, so
    output folders being written are removed rather than left half-written."""
    import signal

    def stop(signum, frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, stop)


def main():
    stop_on_sigterm()
    cli(prog_name="neuronseg")


if __name__ == "__main__":
    main()
