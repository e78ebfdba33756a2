"""Command-line entry point: argument parsing; each command calls into the domain modules.

User mistakes (missing folders, no images, unreadable files) end with one line on stderr and
exit status 2; Ctrl+C keeps finished work and exits with 130.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import traceback
import warnings
from pathlib import Path

from tlexplorer import __version__
from tlexplorer.capture.result import DEFAULT_TOPK
from tlexplorer.errors import Cancelled, UserError
from tlexplorer.inputs import PREPROCESS_MODES
from tlexplorer.presets import PAPER
from tlexplorer.quiet import backend_name

EPILOG = """\
commands:
  (none)    open the explorer (a terminal app) on the workspace's five models, or on your
            own: tlexplorer A.keras B.keras … --data DIR (1 to 16 models side by side)
  train     train the five models headless, writing WORKSPACE/models/<suite>/
  report    capture activations (cached in WORKSPACE/cache/) and write CSV reports
  analyze   the same report for any one .keras model on any image folder
  bench     time activation capture against plain inference, and its memory
  data      data fetch: download Microsoft PetImages (Dogs vs. Cats)

Run 'tlexplorer COMMAND --help' for a command's options.
"""


class _OneLineParser(argparse.ArgumentParser):
    """Usage errors as one line (no usage dump), with anything the user typed made safe."""

    def error(self, message: str):  # type: ignore[override]
        from tlexplorer.textsafe import safe

        self.exit(2, f"{self.prog}: error: {safe(message)} (see {self.prog} --help)\n")


def _whole_number(minimum: int):
    """An argparse type: a whole number of at least ``minimum``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
        if value < minimum:
            rule = "must not be negative" if minimum == 0 else f"must be at least {minimum}"
            raise argparse.ArgumentTypeError(f"{rule}: {text!r}")
        return value

    return parse


_positive_int = _whole_number(1)
_non_negative_int = _whole_number(0)


def _model_ids(text: str) -> list[int]:
    try:
        ids = sorted({int(part) for part in text.split(",") if part.strip()})
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected ids like 1,2,3: {text!r}") from None
    if not ids or any(i not in range(1, 6) for i in ids):
        raise argparse.ArgumentTypeError(f"model ids are 1 to 5: {text!r}")
    return ids


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number: {text!r}")
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative: {text!r}")
    return value


def _add_workspace(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--workspace",
        type=Path,
        default=Path("."),
        metavar="DIR",
        help="project folder holding models/, cache/ and reports/ (default: .)",
    )
    p.add_argument(
        "--verbose", action="store_true", help="let TensorFlow and Keras print their own messages"
    )


def _add_source(p: argparse.ArgumentParser, required: bool) -> None:
    group = p.add_mutually_exclusive_group(required=required)
    group.add_argument(
        "--data",
        type=Path,
        metavar="DIR",
        help="Dogs-vs-Cats images: Kaggle train/, PetImages (Cat/, Dog/) "
        "or one sub-folder per class",
    )
    group.add_argument(
        "--demo",
        action="store_true",
        help="the built-in synthetic demo (offline; no data or weights needed)",
    )
    p.add_argument(
        "--preset",
        choices=["paper", "demo", "smoke"],
        help="scale: paper (150 px, 3000/1000/1000; default with --data), "
        "demo (default with --demo), smoke (tiny, for tests)",
    )


def _split_sizes(text: str) -> tuple[int, int, int]:
    try:
        sizes = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected TRAIN,VAL,TEST like 3000,1000,1000: {text!r}"
        ) from None
    if len(sizes) != 3 or min(sizes) < 2:
        raise argparse.ArgumentTypeError(f"expected three sizes of at least 2: {text!r}")
    return sizes  # type: ignore[return-value]


def _add_overrides(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--image-size",
        type=_positive_int,
        default=None,
        metavar="PX",
        help="override the preset's image size (pixels per side)",
    )
    p.add_argument(
        "--split",
        type=_split_sizes,
        default=None,
        metavar="TRAIN,VAL,TEST",
        help="override the preset's split sizes, e.g. 1000,500,500 for a smaller "
        "dataset (balanced over classes)",
    )
    p.add_argument(
        "--seed",
        type=_non_negative_int,
        default=None,
        metavar="N",
        help="data seed: the train/validation/test split and, with --demo, the synthetic "
        "images themselves (default 1337); models trained on other data are retrained",
    )


def _add_figures(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--no-figures",
        dest="figures",
        action="store_false",
        help="write the CSV files only: no figures/ and no index.html (drawing them takes "
        "seconds per model)",
    )


def _add_model_reading(p: argparse.ArgumentParser, defaults: bool = False) -> None:
    """How to feed and read a model of your own: batch, pixels, outputs. ``defaults=False``
    leaves them None, so a command can tell they were given without model files."""
    p.add_argument("--batch", type=_positive_int, default=32 if defaults else None,
                   metavar="B", help="images per capture batch (default: 32)")
    p.add_argument(
        "--preprocess",
        choices=PREPROCESS_MODES,
        default="none" if defaults else None,
        help="what the model expects as input: none = RGB 0..255 (default; models with their "
        "own Rescaling layer), unit = 0..1, tf = -1..1, caffe = BGR minus ImageNet means "
        "(keras.applications VGG16/ResNet50), torch = ImageNet mean/std",
    )
    p.add_argument(
        "--outputs",
        choices=("auto", "probabilities", "logits"),
        default="auto" if defaults else None,
        help="how to read the model's outputs: auto (default) reads a sigmoid/softmax output "
        "layer as probabilities and a linear one as logits",
    )


def _add_tau(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--tau",
        type=_fraction,
        default=None,
        metavar="T",
        help="τ for τ-dormant units (score ≤ τ × layer mean; default 0.1)",
    )


def _add_vgg_weights(p: argparse.ArgumentParser, help_text: str) -> None:
    p.add_argument("--vgg-weights", type=Path, default=None, metavar="FILE", help=help_text)


def _keep_top_level_values(parser: argparse.ArgumentParser) -> None:
    """Let ``tlexplorer --workspace W train`` mean ``tlexplorer train --workspace W``.

    argparse copies every subcommand default over the main parser's values, so an option given
    before the command was silently lost. A subcommand option that the main parser also has
    now adds nothing unless given; the main parser's default (or value) stays otherwise.
    """
    top = {action.dest for action in parser._actions}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                for option in sub._actions:
                    if option.dest in top and option.dest != "help":
                        option.default = argparse.SUPPRESS


def build_parser() -> argparse.ArgumentParser:
    parser = _OneLineParser(
        prog="tlexplorer",
        usage="%(prog)s [MODEL.keras ...] [--data DIR | --demo] [options] [COMMAND ...]",
        description="Look inside transfer-learning image classifiers: neural network utilization\n"
        "(dead units), activation spectrum and activation range, per layer.\n\n"
        f"Keras backend: {backend_name()} (KERAS_BACKEND, else ~/.keras/keras.json, else "
        "tensorflow;\nKERAS_BACKEND=jax tlexplorer … runs on JAX).",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"tlexplorer {__version__}")
    _add_workspace(parser)
    _add_source(parser, required=False)
    _add_tau(parser)
    _add_overrides(parser)
    _add_vgg_weights(parser, "local VGG16 notop weights, if the explorer must train the paper "
                             "preset's models first")
    _add_model_reading(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_OneLineParser,
                                prog="tlexplorer")

    train = sub.add_parser(
        "train",
        help="train the five models headless",
        description="Train what is missing of the five models, with a "
        "progress display; finished models are skipped.",
    )
    _add_workspace(train)
    _add_source(train, required=True)
    train.add_argument(
        "--models",
        type=_model_ids,
        default=None,
        metavar="IDS",
        help="which models, e.g. 1,3,5 (default: all five; 5 needs 4)",
    )
    train.add_argument(
        "--epochs",
        type=_positive_int,
        default=None,
        metavar="N",
        help="epochs for every model (default: the preset's recipe)",
    )
    _add_overrides(train)
    _add_vgg_weights(train, "local VGG16 notop weights (paper preset), e.g. "
                            "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5")

    report = sub.add_parser(
        "report",
        help="capture activations and write CSV reports, figures and index.html",
        description="Capture what is not cached (one pass over the test set "
        "per model) and write summary.csv, layers.csv, spectrum.csv, claims.csv, "
        "confusion.csv, weight_shift.csv, top_images.csv, skipped_layers.csv and "
        "skipped_images.csv; figures/ (the poster's Figures 5-7, per-model panels, weight "
        "shift, top-image montages; PNG and SVG) and index.html, one self-contained page.",
    )
    report.add_argument(
        "model_files", nargs="*", type=Path, metavar="MODEL.keras",
        help="your own models instead of the five (with --data DIR: captured over every "
        "image of its class sub-folders; one row per model, named by file stem)")
    _add_workspace(report)
    _add_source(report, required=False)
    _add_tau(report)
    _add_overrides(report)
    _add_model_reading(report)
    report.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="DIR",
        help="where the CSV files go (default: WORKSPACE/reports/)",
    )
    _add_figures(report)
    _add_vgg_weights(report, "local VGG16 notop weights, if models must be trained first")

    analyze = sub.add_parser(
        "analyze",
        help="report on any .keras model and image folder",
        description="The same report for one model on any folder with one sub-folder per class "
        "(two classes or more; a multi-class model needs one output unit per class, in the "
        "sorted order of the folder names). Files that cannot be decoded are skipped and "
        "listed in skipped_images.csv; how outputs and pixels were read is printed.",
    )
    analyze.add_argument("model", type=Path, metavar="MODEL.keras")
    analyze.add_argument(
        "--data",
        type=Path,
        required=True,
        metavar="DIR",
        help="test images, one sub-folder per class",
    )
    analyze.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="DIR",
        help="where the CSV files go (default: ./reports/<model name>/)",
    )
    analyze.add_argument(
        "--workspace",
        type=Path,
        default=Path("."),
        metavar="DIR",
        help="folder whose cache/ holds capture results (default: .)",
    )
    _add_model_reading(analyze, defaults=True)
    analyze.add_argument("--verbose", action="store_true")
    _add_tau(analyze)
    _add_figures(analyze)

    bench = sub.add_parser(
        "bench",
        help="time capture against plain inference",
        description="Times model.predict and the full capture over the same N "
        "images, and capture's peak memory over N and 4N images. "
        "Default model: the paper-scale frozen VGG16 transfer "
        "model at 150 px with random weights (offline).",
    )
    bench.add_argument("--images", type=_positive_int, default=128, metavar="N")
    bench.add_argument("--batch", type=_positive_int, default=32, metavar="B")
    bench.add_argument("--image-size", type=_positive_int, default=None, metavar="PX",
                       help=f"input size of the default model (default {PAPER.image_size}, "
                       "the paper preset's)")
    bench.add_argument(
        "--model",
        type=Path,
        default=None,
        metavar="MODEL.keras",
        help="benchmark this model instead",
    )
    bench.add_argument(
        "--topk",
        type=_non_negative_int,
        default=DEFAULT_TOPK,
        metavar="K",
        help="top-activating images kept per unit (0 turns tracking off)",
    )
    bench.add_argument(
        "--feature-maps",
        action="store_true",
        help="instead, time the explorer's feature-map view: one image through each "
        "probed layer (median of 5 after a warm-up)",
    )
    bench.add_argument(
        "--training",
        action="store_true",
        help="instead, estimate the paper preset's training cost: one epoch of each recipe on "
        "N (--images) synthetic images with random VGG16 weights, times its epochs (model 3: "
        "plus the one pass of the frozen base whose features its head trains on)",
    )
    bench.add_argument(
        "--fingerprint",
        type=Path,
        default=None,
        metavar="DIR",
        help="instead, time the content fingerprint (sha256 of every image's bytes) that "
        "identifies the test set of an image folder",
    )
    bench.add_argument(
        "--json",
        action="store_true",
        help="print only one JSON object (also printed last without --json)",
    )
    bench.add_argument("--verbose", action="store_true")

    data = sub.add_parser("data", help="dataset helpers (fetch)")
    data_sub = data.add_subparsers(dest="data_command", metavar="ACTION", required=True)
    fetch = data_sub.add_parser(
        "fetch",
        help="download Microsoft PetImages (needs internet)",
        description="Download and unpack Microsoft PetImages, keeping the "
        "archive for reuse and removing files that cannot be decoded.",
    )
    fetch.add_argument(
        "--dest",
        type=Path,
        default=Path("data"),
        metavar="DIR",
        help="download folder (default: ./data)",
    )
    fetch.add_argument("--url", default=None, help=argparse.SUPPRESS)
    _keep_top_level_values(parser)
    return parser


def request_from_args(args, **changes):
    """The workbench request that the command line's options describe."""
    from tlexplorer.workbench import Request

    models = getattr(args, "models", None)
    return Request(
        workspace=Path(args.workspace),
        demo=bool(getattr(args, "demo", False)),
        data=getattr(args, "data", None),
        preset=getattr(args, "preset", None),
        image_size=getattr(args, "image_size", None),
        split=tuple(args.split) if getattr(args, "split", None) else None,
        seed=getattr(args, "seed", None),
        models=tuple(models) if models else None,
        epochs=getattr(args, "epochs", None),
        vgg_weights=getattr(args, "vgg_weights", None),
        **changes,
    )


def _tau(args) -> float:
    from tlexplorer.metrics import DEFAULT_TAU

    return DEFAULT_TAU if getattr(args, "tau", None) is None else float(args.tau)


def cmd_train(args) -> int:
    from rich.table import Table
    from rich.text import Text

    from tlexplorer.console import EventDisplay, console
    from tlexplorer.textsafe import safe
    from tlexplorer.workbench import run

    request = request_from_args(args, capture=False, weight_shift=False)
    with EventDisplay() as display:
        outcome = run(request, display)
    title = "trained models" + (" (synthetic demo)" if request.demo else "")
    table = Table(title=title)
    table.add_column("id")
    table.add_column("model", max_width=34, no_wrap=True, overflow="ellipsis")
    for col in ("test acc %", "val acc %", "epochs", "time s"):
        table.add_column(col, justify="right")
    def cell(value: float | int | None, spec: str, scale: float = 1) -> str:
        return "–" if value is None else format(value * scale, spec)

    for rid, meta in outcome.trained.items():
        table.add_row(str(rid), Text(safe(meta.name)), cell(meta.test_accuracy, ".1f", 100),
                      cell(meta.val_accuracy, ".1f", 100), cell(meta.epochs_run, "d"),
                      cell(meta.wall_s, ".0f"))
    console.print(table)
    return 0


def cmd_report(args) -> int:
    """Train what is missing (with --demo/--data) and capture each model of the suite, or
    capture your own MODEL.keras files over --data; then write the reports."""
    from tlexplorer.console import EventDisplay, console, print_summary
    from tlexplorer.figures import MONTAGE_PROCESSES
    from tlexplorer.report import EXIT_PARTIAL, describe_written, write_reports
    from tlexplorer.textsafe import safe
    from tlexplorer.workbench import (
        image_files_of,
        run,
        run_models,
        skipped_images_of,
        test_image_reader,
    )

    own = bool(getattr(args, "model_files", None))
    with EventDisplay() as display:
        outcome = (run_models(_model_set_request(args), display) if own
                   else run(request_from_args(args), display))
    suite = outcome.suite
    assert suite is not None
    if not own and not any(s.trained for s in suite.slots):
        raise UserError(f"no trained models in suite {safe(suite.name)}")
    results = outcome.results

    def named(label: str) -> str:  # "model 3" in the suite, the file's label for your own
        return safe(label) if own else f"model {label}"

    if not results:
        first = outcome.failed[0]
        what = (f"none of the {len(suite.slots)} models" if own
                else f"no model of suite {safe(suite.name)}")
        raise UserError(f"{what} could be captured ({named(first.label)}: "
                        f"{safe(first.error)})")
    names, why = image_files_of(suite, outcome.source)
    if why:
        console.print(why)
    skipped = skipped_images_of(suite, outcome.source)
    if skipped:
        where = "" if own else " of the split"
        console.print(f"{len(skipped)} data files were left out{where} (listed with the "
                      "reason in skipped_images.csv)")
    out = args.out or (Path(args.workspace) / "reports")
    read, note = test_image_reader(suite, outcome.source)
    title = f"{len(results)} models" if own else f"suite {suite.name}"
    with console.status("writing the reports…") as status:
        written = write_reports(results, out, _tau(args), weight_shift=outcome.weight_shift,
                                image_names=names, skipped_images=skipped,
                                read_images=read, images_note=note, figures=args.figures,
                                title=f"tlexplorer report: {title}",
                                progress=lambda text: status.update(f"{safe(text)}…"),
                                processes=MONTAGE_PROCESSES)
    print_summary(console, results, _tau(args), None if own else suite)
    console.print(f"wrote {describe_written(written)} to {safe(out)}")
    if args.figures:
        console.print(f"open {safe((Path(out) / 'index.html').resolve())} in a browser")
    if outcome.failed:
        console.print(f"left out: {', '.join(named(s.label) for s in outcome.failed)} (see "
                      f"above); exit status {EXIT_PARTIAL}")
        return EXIT_PARTIAL
    return 0


def _reading(args) -> dict:
    """Batch, pixels and outputs of a model of the user's own, defaults filled in."""
    return {"batch": int(getattr(args, "batch", None) or 32),
            "preprocess": getattr(args, "preprocess", None) or "none",
            "outputs": getattr(args, "outputs", None) or "auto"}


SUITE_ONLY = (("demo", "--demo"), ("preset", "--preset"), ("image_size", "--image-size"),
              ("split", "--split"), ("seed", "--seed"), ("vgg_weights", "--vgg-weights"))


def _check_model_set_args(args) -> None:
    """Model files need --data and none of the five-model suite's options; the model-reading
    options need model files (or ``analyze``)."""
    files = getattr(args, "model_files", None) or []
    if files:
        given = [flag for dest, flag in SUITE_ONLY if getattr(args, dest, None)]
        if given:
            raise UserError(f"{given[0]} is an option of the five-model suite, not of your own "
                            "MODEL.keras files")
        if getattr(args, "data", None) is None:
            raise UserError("MODEL.keras files need --data DIR: the images to capture them over "
                            "(one sub-folder per class)")
        from tlexplorer.modelset import check_model_paths

        check_model_paths(files)
        return
    if args.command in (None, "report"):
        given = [f"--{o}" for o in ("batch", "preprocess", "outputs")
                 if getattr(args, o, None) is not None]
        if given:
            raise UserError(f"{given[0]} reads a model of your own: give MODEL.keras files "
                            "(tlexplorer [report] A.keras B.keras --data DIR)")


def _model_set_request(args):
    from tlexplorer.workbench import ModelSetRequest

    return ModelSetRequest(models=tuple(Path(f) for f in args.model_files),
                           data=Path(args.data), workspace=Path(args.workspace),
                           **_reading(args))


def cmd_analyze(args) -> int:
    """``tlexplorer analyze MODEL.keras --data DIR``: any model, any class-folder image set."""
    from tlexplorer.console import EventDisplay, console, print_summary
    from tlexplorer.figures import MONTAGE_PROCESSES
    from tlexplorer.report import describe_written, write_reports
    from tlexplorer.textsafe import safe
    from tlexplorer.workbench import AnalyzeRequest, analyze, file_image_reader

    request = AnalyzeRequest(model=Path(args.model), data=Path(args.data),
                             workspace=Path(args.workspace), **_reading(args))
    with EventDisplay() as display:
        outcome = analyze(request, display)
    result, skipped = outcome.result, outcome.skipped_images
    console.print(f"{result.n_images} images analysed; {len(skipped)} files skipped"
                  + (" (listed with the reason in skipped_images.csv)" if skipped else ""))
    for line in outcome.notes:
        console.print(line)
    out = args.out or Path("reports") / Path(args.model).stem
    names = outcome.image_names
    with console.status("writing the reports…") as status:
        written = write_reports(
            [result], out, _tau(args), image_names=names, skipped_images=skipped,
            read_images=file_image_reader(names) if names else None,
            images_note="" if names else "no top-image montages: the captured images cannot be "
                        "matched to their files",
            title=f"tlexplorer analyze: {result.model_label}", figures=args.figures,
            progress=lambda text: status.update(f"{safe(text)}…"),
                processes=MONTAGE_PROCESSES)
    print_summary(console, [result], _tau(args))
    console.print(f"wrote {describe_written(written)} to {safe(out)}")
    return 0


def cmd_bench(args) -> int:
    from tlexplorer.bench import run_bench

    return run_bench(args)


def cmd_data(args) -> int:
    from tlexplorer.console import console
    from tlexplorer.data.fetch import PETIMAGES_URL, fetch_petimages

    url = args.url or PETIMAGES_URL
    with console.status(f"downloading {url}…") as status:

        def progress(done: int, total: int | None) -> None:
            if total:
                status.update(f"downloading: {done / 2**20:.0f} / {total / 2**20:.0f} MiB")
            else:
                status.update(f"downloading: {done / 2**20:.0f} MiB")

        result = fetch_petimages(args.dest, url=url, progress=progress)
    console.print(
        f"{result.images} images in {result.root} "
        f"({result.removed_corrupt} unreadable files removed"
        f"{'' if result.downloaded else '; archive already downloaded'})"
    )
    console.print(f"next: tlexplorer train --data {result.root}")
    return 0


def cmd_explore(args) -> int:
    from tlexplorer.textsafe import safe
    from tlexplorer.tui.app import run_app

    # Fail before taking over the terminal when the input is plainly wrong.
    if args.data is not None and args.data.exists() and not args.data.is_dir():
        raise UserError(f"--data must be a folder of images, but {safe(args.data)} is a file")
    if args.data is not None and not args.data.is_dir():
        raise UserError(f"dataset folder not found: {safe(args.data)}")
    if args.workspace.exists() and not args.workspace.is_dir():
        raise UserError(f"workspace is not a folder: {args.workspace}")
    if args.vgg_weights is not None and not args.vgg_weights.is_file():
        raise UserError(f"VGG16 weights file not found: {args.vgg_weights}")
    if (args.demo or args.data is not None) and not args.model_files:
        from tlexplorer.workbench import resolve_preset

        resolve_preset(request_from_args(args))  # a bad --image-size: one line, app not started
    if not sys.stdout.isatty():
        raise UserError("the explorer needs a terminal; for scripts use 'tlexplorer report'")

    return run_app(args)


COMMANDS = {
    "train": cmd_train,
    "report": cmd_report,
    "analyze": cmd_analyze,
    "bench": cmd_bench,
    "data": cmd_data,
    None: cmd_explore,
}


LOCKED_COMMANDS = {"train", "report", "analyze", None}
"""Commands that write models or cache entries into the workspace: one at a time."""


def _check_folders(args) -> None:
    """A file where a folder is expected (``--workspace``, ``--out``, ``--dest``): one line."""
    for option in ("workspace", "out", "dest"):
        value = getattr(args, option, None)
        if value is not None and Path(value).exists() and not Path(value).is_dir():
            raise UserError(f"--{option} must be a folder, but {value} is a file")


def _crash_log(args) -> Path:
    """Where the traceback of an unexpected error goes: the workspace's cache/, else /tmp."""
    workspace = getattr(args, "workspace", None)
    for folder in ([Path(workspace) / "cache"] if workspace is not None else []) + [
            Path(os.environ.get("TMPDIR", "/tmp"))]:
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / "tlexplorer-error.log"
            from tlexplorer.textsafe import safe_lines

            with open(path, "a", encoding="utf-8") as handle:
                handle.write(safe_lines(traceback.format_exc()) + "\n")
            return path
        except OSError:
            continue
    return Path("(no writable place for the log)")


def _misplaced_option(parser: argparse.ArgumentParser, argv: list[str]) -> str | None:
    """Why an option before the command (or with no command) belongs to a command only.

    ``tlexplorer --models 7`` would otherwise read ``7`` as the command and say so.
    """
    top = {o for action in parser._actions for o in action.option_strings}
    commands: dict[str, set[str]] = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                commands[name] = {o for a in sub._actions for o in a.option_strings}
    for token in argv:
        if token in commands or token == "--":
            return None
        option = token.split("=", 1)[0]
        if option.startswith("-") and option not in top:
            owners = [name for name, options in commands.items() if option in options]
            if owners:
                where = " or ".join(f"'tlexplorer {name} {option} …'" for name in owners)
                return f"{option} is an option of a command, not of the explorer: {where}"
    return None


def _take_model_files(parser: argparse.ArgumentParser, argv: list[str]
                      ) -> tuple[list[Path], list[str]]:
    """``tlexplorer A.keras B.keras --data DIR``: the ``.keras`` files before any command (the
    explorer's own arguments, which argparse cannot mix with commands), and the rest."""
    valued = {o for a in parser._actions if a.nargs != 0 for o in a.option_strings}
    commands: set[str] = set()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            commands.update(action.choices)
    files: list[Path] = []
    rest: list[str] = []
    for i, token in enumerate(argv):
        if token in commands or token == "--":
            return files, rest + argv[i:]
        value = i > 0 and argv[i - 1] in valued
        if not value and not token.startswith("-") and token.endswith(".keras"):
            files.append(Path(token))
        else:
            rest.append(token)
    return files, rest


def main(argv: list[str] | None = None) -> int:
    from tlexplorer.textsafe import safe

    parser = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    misplaced = _misplaced_option(parser, argv)
    if misplaced:
        parser.error(misplaced)
    files, argv = _take_model_files(parser, argv)
    args = parser.parse_args(argv)
    if files:
        if args.command is not None:
            parser.error(f"model files go after the command: 'tlexplorer {args.command} "
                         f"{files[0]} … --data DIR'")
        args.model_files = files
    from tlexplorer import quiet

    quiet.set_verbose(bool(getattr(args, "verbose", False)))
    if not quiet.is_verbose():
        warnings.filterwarnings("ignore")
    if not hasattr(args, "model_files"):
        args.model_files = []
    try:
        _check_folders(args)
        _check_model_set_args(args)
        if args.command in LOCKED_COMMANDS:
            from tlexplorer.lock import workspace_lock

            with workspace_lock(args.workspace, args.command or "explorer"):
                return COMMANDS[args.command](args)
        return COMMANDS[args.command](args)
    except UserError as exc:
        print(f"tlexplorer: error: {safe(exc)}", file=sys.stderr)
        return 2
    except (Cancelled, KeyboardInterrupt):
        what = ("the download can be resumed by running it again" if args.command == "data"
                else "finished models and results are kept")
        print(f"tlexplorer: interrupted; {what}", file=sys.stderr)
        return 130
    except OSError as exc:  # a full disk, a read-only folder: the OS says which file
        where = f" ({safe(exc.filename)})" if getattr(exc, "filename", None) else ""
        print(f"tlexplorer: error: {safe(exc.strerror or exc)}{where}", file=sys.stderr)
        return 2
    except Exception as exc:  # broad on purpose: the last guard before a raw traceback
        log = _crash_log(args)
        first = safe(str(exc).splitlines()[0] if str(exc) else "")
        print(f"tlexplorer: unexpected error: {type(exc).__name__}: {first} "
              f"(traceback in {safe(log)})", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
