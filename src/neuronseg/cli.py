"""The `neuronseg` command. Each command parses its options, calls the library and prints;
the work itself is in :mod:`neuronseg.jobs`, :mod:`neuronseg.train` and the rest."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import click

from neuronseg import progress, settings
from neuronseg.errors import NeuronsegError

log = logging.getLogger("neuronseg")

PATH = click.Path(path_type=Path)
EXISTING = click.Path(path_type=Path, exists=True)


class _Group(click.Group):
    """Turns a NeuronsegError anywhere below into one line on stderr and exit status 2."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except NeuronsegError as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(2)
        except MemoryError:
            click.echo("error: out of memory; a smaller --memory-limit (shorter time chunks), --method classical "
                       "(the least memory per pixel), or a machine with more memory", err=True)
            ctx.exit(3)


def _callback(setting):
    """Text → value for the kinds click has no type for (one parser with batch manifests)."""
    from neuronseg.settings import parse_diameter, parse_list, parse_rect

    parse = {"list": parse_list, "rect": parse_rect, "diameter": parse_diameter}.get(setting.kind)
    if parse is None and setting.none_is_empty:
        return lambda ctx, param, value: "" if value == "none" else value
    if parse is None:
        return None
    return lambda ctx, param, value: (None if value is None else tuple(parse(v) for v in value) if setting.multiple
                                      else parse(value))


def _click_type(s):
    bounded = s.low is not None or s.high is not None
    if s.kind == "float":
        return click.FloatRange(s.low, s.high, min_open=s.low_open, max_open=s.high_open) if bounded else float
    if s.kind == "int":
        return click.IntRange(s.low, s.high, min_open=s.low_open, max_open=s.high_open) if bounded else int
    return {"path": PATH, "existing": EXISTING, "folder": click.Path(path_type=Path, exists=True, file_okay=False),
            "choice": click.Choice(s.choices) if s.choices else None, "int_pair": (int, int),
            "path_pair": (EXISTING, EXISTING)}.get(s.kind)


def options_of(table):
    """The click options of a table of :mod:`neuronseg.settings`, in its order."""
    def apply(command):
        for s in reversed(table):
            decls = (*(s.flags or (s.option,)), s.name)
            kw = dict(help=s.help, multiple=s.multiple, required=s.required, metavar=s.metavar, callback=_callback(s))
            if s.kind == "flag":
                kw.update(is_flag=True, flag_value=not s.invert, default=s.default)
            else:
                kw.update(type=_click_type(s), default=s.default,
                          show_default=s.default not in (None, (), "") and not s.multiple)
            command = click.option(*decls, **kw)(command)
        return command
    return apply


def _more_paths(name: str):
    """Further paths after a repeatable path option (``--data A B C`` as well as ``--data A --data B``)."""
    return click.argument(name, nargs=-1, type=EXISTING, metavar="[MORE …]")


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
@click.argument("input_path", metavar="INPUT", type=PATH)
@options_of(settings.SEGMENT)
def segment(input_path, out, as_json, **options):
    """Find cells in a movie: regions.json, labels.tif, rois.zip, traces.npy, summary.json, overlay.png, report.html."""
    from neuronseg.jobs import segment_file, segment_summary_line

    summary = segment_file(input_path, out, **options)
    click.echo(json.dumps(summary) if as_json else
               segment_summary_line(summary, out, options["nwb"], options["suite2p"], options["truth"]))


@cli.command()
@click.argument("truth", type=PATH)
@click.argument("prediction", type=PATH)
@options_of(settings.EVALUATE)
def evaluate(truth, prediction, threshold, detail):
    """Score PREDICTION against TRUTH as `neurofinder evaluate` does.

    Each is a Neurofinder regions.json (scored exactly as written), a label TIFF or an ImageJ
    ROI zip (which takes its field size from the other file, a TIFF)."""
    from neuronseg.jobs import evaluate_files

    click.echo(json.dumps(evaluate_files(truth, prediction, threshold, detail)))


@cli.command()
@click.argument("source", type=PATH)
@options_of(settings.CURATE)
def curate(source, out, **options):
    """Score the candidate ROIs of SOURCE as cell / not cell: scores.csv, summary.json, iscell.npy.

    SOURCE is a Suite2p plane folder (stat.npy is unpickled because you named it), a CaImAn
    results .hdf5 (with --movie for the default model: CaImAn keeps no correlation image),
    or a ROI file (regions.json, label TIFF, ImageJ zip) with --movie.
    Nothing in SOURCE is modified; for Suite2p, copy OUT/iscell.npy into the plane folder
    (keep the original) to open the curated result in the Suite2p GUI.
    """
    from neuronseg.jobs import curate_file

    summary, result = curate_file(source, out, **options)
    line = f"{summary['n_cells']} of {summary['n_candidates']} candidates are cells → {out}"
    if not result.threshold["reached"]:
        line += f"  (warning: the model never reached precision {options['precision']} on its validation data; nothing kept)"
    else:
        line += f"  (threshold {result.threshold['threshold']:.3f}; validation recall there {result.threshold['recall']:.2f})"
    click.echo(line)


@cli.command()
@click.argument("out", type=PATH)
@options_of(settings.SIMULATE)
def simulate(out, **options):
    """Write a simulated movie and its ground truth into folder OUT."""
    from neuronseg.jobs import simulate_folder

    rec = simulate_folder(out, **options)
    (t, h, w) = rec.movie.shape
    click.echo(f"{len(rec.rois)} cells, {t} frames of {h}×{w} → {out}")


@cli.command()
@options_of(settings.DEMO)
def demo(out, simulated, overwrite):
    """Segment a small real recording shipped with neuronseg, score it, and show where the files are."""
    from neuronseg.demo import run_demo

    click.echo(run_demo(out, simulated=simulated, overwrite=overwrite)["text"])


@cli.command()
@click.argument("input_path", metavar="INPUT", type=PATH)
@click.argument("out", type=PATH)
@options_of(settings.CONVERT)
def convert(input_path, out, dataset, chunk_frames, overwrite):
    """Copy a movie into a Zarr store (OUT.zarr) chunked for neuronseg: whole frames, time chunks."""
    from neuronseg.io.convert import convert_to_zarr

    info = convert_to_zarr(input_path, out, dataset, chunk_frames, overwrite)
    click.echo(f"{info['frames']} frames of {info['shape'][0]}×{info['shape'][1]} {info['dtype']} → {out} "
               f"(chunks of {info['chunk_frames']} frames)")


@cli.command()
@click.argument("manifest", type=PATH)
@options_of(settings.BATCH)
def batch(manifest, out, scheduler, workers, as_json, overwrite):
    """Run segment or curate on every recording of MANIFEST (CSV or YAML) with Dask.

    Results go to OUT/<name>/; finished recordings are skipped on a rerun, failed ones run
    again; OUT/batch_summary.csv lists status, seconds and ROI count per recording.
    """
    from neuronseg.batch import read_manifest, run_batch

    table = run_batch(read_manifest(manifest), out, scheduler, workers, overwrite=overwrite)
    if as_json:
        click.echo(json.dumps(table))
    else:
        for row in table:
            n = row["n_rois"] if row["n_rois"] is not None else "-"
            click.echo(f"{row['name']:<24} {row['status']:<26} {row['seconds']:>8} s  {n:>6}  {row['error']}")
    failed = sum(r["status"] == "failed" for r in table)
    if failed:
        click.echo(f"{failed} of {len(table)} recordings failed; see {out / 'batch_summary.csv'}", err=True)
        sys.exit(1)


@cli.group()
def train():
    """Train a model on labelled recordings."""


@train.command("disco")
@options_of(settings.TRAIN_DISCO)
@_more_paths("more_data")
def train_disco_cmd(data_dirs, more_data, out, **options):
    """Train a DISCo model (affinities + foreground) and write OUT/weights.pt, config.json, thresholds.json."""
    from neuronseg.train.disco import train_disco_model

    summary = train_disco_model([*data_dirs, *more_data], out, **options)
    click.echo(f"model → {out}  (validation F1 {summary['val_f1_tuned_thresholds']}, {summary['seconds']} s)")


@train.command("curate")
@options_of(settings.TRAIN_CURATE)
@_more_paths("more_sources")
def train_curate_cmd(sources, more_sources, truths, out, **options):
    """Train a curation model on candidates labelled by human masks; writes OUT (weights, calibration).

    Candidates of several recordings train one model when each source gets its own --truth
    (and --movie); --val, --folds and --exclude are drawn on the first source's recording.
    """
    from neuronseg.train.curation import train_curation_model

    summary = train_curation_model([*sources, *more_sources], truths, out, **options)
    click.echo(f"model → {out}  (validation average precision {summary['val_average_precision']}, {summary['seconds']} s)")


@train.command("onephoton")
@options_of(settings.TRAIN_ONEPHOTON)
def train_onephoton_cmd(out, **options):
    """Train the one-photon network (per-frame U-Net + ConvGRU) and write OUT (weights, thresholds)."""
    from neuronseg.train.onephoton import train_onephoton_model

    record = train_onephoton_model(out, **options)
    click.echo(f"model → {out}  (validation F1 {record['validation_f1']['active']}; projections: max "
               f"{record['validation_f1']['max']}, mean {record['validation_f1']['mean']})")


@cli.group()
def image():
    """Still images (neurons, nuclei, summary images) → instance masks."""


@image.command("segment")
@click.argument("input_path", metavar="INPUT", type=PATH)
@options_of(settings.IMAGE_SEGMENT)
def image_segment_cmd(input_path, out, model, device, overwrite, **options):
    """Segment an image, or every image in a folder: OUT/<stem>_labels.tif (uint16) and OUT/<stem>_overlay.png."""
    from neuronseg.io.images import image_files
    from neuronseg.io.outputs import check_writable
    from neuronseg.pipelines.image import ImageModel
    from neuronseg.results.images import write_image_results

    check_writable(out, overwrite)
    files = image_files(input_path)
    summary = write_image_results(files, out, ImageModel.load(model, device), overwrite=overwrite, **options)
    click.echo(f"{len(files)} image(s), {sum(im['n_cells'] for im in summary['images'])} cells → {out}")


@image.command("train")
@options_of(settings.IMAGE_TRAIN)
def image_train_cmd(data_paths, out, **options):
    """Train an image model; writes OUT/weights.pt, config.json, thresholds.json, training.json."""
    from neuronseg.train.image import train_image_on_folders

    record = train_image_on_folders(data_paths, out, **options)
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
