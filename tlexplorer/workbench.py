"""The one headless pipeline: open or train the suite → capture (or load) each model → weight shift.

The CLI (``train``, ``report``, ``analyze``) and the explorer both call :func:`run` or
:func:`analyze` with a typed request, get typed events through one callback, and stop when the
cancel token is set. Neither knows how the other shows progress: the CLI renders the events with
rich (:class:`tlexplorer.console.EventDisplay`), the app turns them into Textual messages.

Each model is captured as soon as it is trained, so the first one can be browsed while the
others train. Results are cached under ``WORKSPACE/cache/``, keyed by the model file's content,
the test set's content and the capture settings; ``analyze`` uses the same cache.

Imports no TensorFlow at module level: training and capture import it when they run.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from tlexplorer import session
from tlexplorer.capture.engine import CaptureProgress
from tlexplorer.capture.result import CaptureResult
from tlexplorer.errors import Cancelled, UserError
from tlexplorer.modelset import VIEW_SIZE as MONTAGE_SIZE  # analyzed folders' montages too
from tlexplorer.session import ModelSlot, Suite, capture_settings, open_suite, refresh_slots
from tlexplorer.suite import ModelMeta, list_suites, suite_name
from tlexplorer.textsafe import safe
from tlexplorer.training import TrainEvent

# -- requests --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    """What to do in a workspace: train what is missing (with ``demo`` or ``data``), capture,
    weight shift. Without ``demo``/``data`` the suite ``suite`` (default: the newest) is opened
    as it is; ``start_demo_if_empty`` (the explorer) starts the demo in an empty workspace."""

    workspace: Path
    demo: bool = False
    data: Path | None = None
    preset: str | None = None  # default: paper with data, demo with --demo
    image_size: int | None = None
    split: tuple[int, int, int] | None = None
    seed: int | None = None  # data seed: the split, and the demo's images (default SPLIT_SEED)
    models: tuple[int, ...] | None = None  # train only these (default: all five)
    epochs: int | None = None
    vgg_weights: Path | None = None
    suite: str | None = None
    start_demo_if_empty: bool = False
    capture: bool = True
    weight_shift: bool = True
    recapture: str | None = None  # capture this model again, ignoring its cached result
    settings: dict = field(default_factory=capture_settings)

    @property
    def trains(self) -> bool:
        return self.demo or self.data is not None


@dataclass(frozen=True)
class AnalyzeRequest:
    """``analyze``: one ``.keras`` model on a folder with one sub-folder per class."""

    model: Path
    data: Path
    workspace: Path = Path(".")
    batch: int = 32
    preprocess: str = "none"
    outputs: str = "auto"


@dataclass(frozen=True)
class ModelSetRequest:
    """The user's own ``.keras`` files side by side, captured over one image folder (class
    sub-folders, or the Kaggle and PetImages layouts): see :mod:`tlexplorer.modelset`.
    ``reference``: the model the others' weight shift is measured against (default: the first
    usable one); ``recapture``: capture this model again, ignoring its cached result."""

    models: tuple[Path, ...]
    data: Path
    workspace: Path = Path(".")
    batch: int = 32
    preprocess: str = "none"
    outputs: str = "auto"
    recapture: str | None = None
    reference: str | None = None
    weight_shift: bool = True
    settings: dict = field(default_factory=capture_settings)


# -- events ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Info:
    """A line worth showing once (data read, preset, a model left out)."""

    text: str


@dataclass(frozen=True)
class Warn:
    """Something the user should check (a corrupt cache entry, an assumption)."""

    text: str


@dataclass(frozen=True)
class Phase:
    """A step without a progress bar: reading data, loading a model, weight shift."""

    model: str
    text: str


@dataclass(frozen=True)
class CaptureStep:
    """One captured batch of ``model``."""

    model: str
    progress: CaptureProgress


@dataclass(frozen=True)
class SuiteReady:
    """The suite was opened, or re-read after a model was trained."""

    suite: Suite
    note: str = ""
    source: object = None  # the data source already read (when training), to reuse


@dataclass(frozen=True)
class ModelDone:
    """A model's result: from the cache, or captured now."""

    label: str
    result: CaptureResult
    cached: bool


@dataclass(frozen=True)
class ModelFailed:
    """A model could not be loaded or captured; the others go on."""

    label: str
    error: str


@dataclass(frozen=True)
class WeightShiftDone:
    """The suite's weight shift rows, or why there are none (``error``); ``reference``: the
    model label they are measured against ("" for the suite's pretrained base)."""

    rows: list | None
    error: str = ""
    reference: str = ""


Event = Info | Warn | Phase | TrainEvent | CaptureStep | SuiteReady | ModelDone | ModelFailed \
    | WeightShiftDone
"""Everything :func:`run` and :func:`analyze` report; training events are passed on as they are."""

Emit = Callable[[Event], None]


class CancelToken(Protocol):
    def is_set(self) -> bool: ...


def _ignore(_: Event) -> None:
    pass


# -- outcomes --------------------------------------------------------------------------------


@dataclass
class Outcome:
    """What :func:`run` ended with. ``trained``: metadata of the models trained or found."""

    suite: Suite | None
    trained: dict[int, ModelMeta] = field(default_factory=dict)
    weight_shift: list | None = None
    cached: int = 0
    captured: int = 0
    failed: list[ModelSlot] = field(default_factory=list)
    source: object | None = None  # the data source read in this run (training runs only)

    @property
    def results(self) -> list[CaptureResult]:
        if self.suite is None:
            return []
        return [s.result for s in self.suite.slots if s.trained and s.result is not None]

    @property
    def summary(self) -> str:
        parts = [f"{self.cached} from cache" if self.cached else "",
                 f"{self.captured} captured" if self.captured else "",
                 f"{len(self.failed)} failed" if self.failed else ""]
        return "ready — " + (", ".join(p for p in parts if p) or "nothing to do")


@dataclass
class AnalyzeOutcome:
    result: CaptureResult
    cached: bool
    image_names: list[str] | None  # test files in result order, when every one was used
    skipped_images: list[tuple[str, str]]  # (file, why) left out: unreadable or not an image
    notes: list[str]  # how the model was read: outputs, pixels, warnings


# -- preset and data source ------------------------------------------------------------------


def resolve_preset(request: Request, demo: bool | None = None):
    """The preset the request names (default by data source), with its size overrides."""
    from tlexplorer.presets import get_preset

    demo = request.demo if demo is None else demo
    preset = get_preset(request.preset or ("paper" if request.data is not None and not demo
                                           else "demo"))
    changes: dict = {}
    if request.image_size:
        from tlexplorer.zoo import min_image_size

        smallest = min_image_size(preset, list(request.models) if request.models else None)
        if request.image_size < smallest:
            which = "these recipes" if request.models else "the five recipes"
            raise UserError(f"--image-size {request.image_size} is too small for {which}: they "
                            f"need at least {smallest} px")
        changes["image_size"] = request.image_size
    if request.split:
        changes["split"] = tuple(request.split)
    return dataclasses.replace(preset, **changes) if changes else preset


def open_source(request: Request, preset, demo: bool | None = None):
    """The data source: the synthetic demo, or the image folder split by the preset."""
    from tlexplorer.data.sources import SyntheticSource, open_folder
    from tlexplorer.data.split import DEFAULT_SEED as SPLIT_SEED

    seed = SPLIT_SEED if request.seed is None else int(request.seed)
    if request.demo if demo is None else demo:
        return SyntheticSource(preset.image_size, preset.split, seed)
    assert request.data is not None
    return open_folder(request.data, preset.image_size, preset.split, seed=seed)


def describe_source(source) -> str:
    line = f"data: {safe(source.description)}"
    skipped = getattr(getattr(source, "split", None), "skipped", None)
    if source.kind == "folder" and skipped:
        line += f"  [{len(skipped)} unreadable files skipped]"
    return line


# -- the pipeline ----------------------------------------------------------------------------


def _check(cancel: CancelToken | None) -> None:
    if cancel is not None and cancel.is_set():
        raise Cancelled()


def _try_open(workspace: Path, name: str) -> Suite | None:
    try:
        return open_suite(workspace, name)
    except UserError:
        return None


def run(request: Request, emit: Emit = _ignore, cancel: CancelToken | None = None) -> Outcome:
    """Open or train the suite, capture each trained model (cached results first), then the
    weight shift. Raises :class:`UserError` for bad input and :class:`Cancelled` when
    ``cancel`` is set; one model's failure is reported (:class:`ModelFailed`) and the rest go on.
    """
    workspace = Path(request.workspace)
    demo, note = request.demo, ""
    trains = request.trains
    if not trains and request.suite is None and request.start_demo_if_empty \
            and not list_suites(workspace):
        demo = trains = True
        note = "empty workspace: starting the offline demo (synthetic images, small models)"
    outcome = Outcome(None)
    done: set[str] = set()  # models whose result was reported in this run
    source = None

    def capture(suite: Suite, labels: set[str] | None = None) -> None:
        for slot in suite.slots:
            _check(cancel)
            if not slot.trained or slot.label in done or (labels and slot.label not in labels):
                continue
            if request.recapture is not None and slot.label != request.recapture:
                continue
            done.add(slot.label)
            _result_of(suite, slot, request, outcome, emit, cancel, source)

    if not trains:
        suite = open_suite(workspace, request.suite)
        outcome.suite = suite
        emit(SuiteReady(suite, note))
        _report_untrained(suite, emit)
        if request.capture:
            capture(suite)
    else:
        preset = resolve_preset(request, demo)
        name = suite_name(demo, preset.name)
        emit(Phase("", "reading data"))
        source = outcome.source = open_source(request, preset, demo)
        emit(Info(describe_source(source)))
        emit(Info(f"preset: {preset.name} ({preset.summary})"))
        suite = _try_open(workspace, name)
        if suite is not None and suite.fingerprint == source.fingerprint:
            outcome.suite = suite
            emit(SuiteReady(suite, note, source))
            note = ""
            if request.capture:
                capture(suite)  # what is trained already is browsable at once
        _check(cancel)
        from tlexplorer.training import train_suite

        def saved(rid: int) -> None:
            """Model ``rid`` was just saved: show it and capture it before the next trains."""
            nonlocal suite, note
            if suite is None:
                suite = open_suite(workspace, name)
            else:
                refresh_slots(suite)
            outcome.suite = suite
            emit(SuiteReady(suite, note, source))
            note = ""
            if request.capture:
                capture(suite, {str(rid)})

        outcome.trained = train_suite(
            workspace, source, preset, model_ids=list(request.models) if request.models else None,
            epochs=request.epochs, vgg_weights=request.vgg_weights, progress=emit, cancel=cancel,
            on_saved=saved)
        if suite is None or suite.fingerprint != source.fingerprint:
            suite = open_suite(workspace, name)
        else:
            refresh_slots(suite)
        outcome.suite = suite
        if request.capture:
            emit(SuiteReady(suite, note, source))
            _report_untrained(suite, emit)
            capture(suite)
    assert outcome.suite is not None
    if request.weight_shift and request.recapture is None:
        _check(cancel)
        outcome.weight_shift = suite_weight_shift(outcome.suite, request.vgg_weights, emit)
    return outcome


def _report_untrained(suite: Suite, emit: Emit) -> None:
    for slot in suite.slots:
        if not slot.trained:
            emit(Info(f"model {slot.label}: left out ({slot.status})"))


def _result_of(suite: Suite, slot: ModelSlot, request: Request, outcome: Outcome, emit: Emit,
               cancel: CancelToken | None, source=None) -> None:
    """Fill ``slot.result``: from the cache, else by capturing; failures are reported."""
    label = slot.label

    def warn(text: str) -> None:
        emit(Warn(text))

    if request.recapture is None:
        try:
            result = session.load_cached(suite, slot, request.settings, warn=warn)
        except Exception as exc:  # noqa: BLE001 - one unreadable entry must not stop the rest
            result = None
            warn(f"model {label}: cached result unreadable ({type(exc).__name__}), recomputed")
        if result is not None:
            slot.result, slot.error = result, None
            outcome.cached += 1
            emit(ModelDone(label, result, cached=True))
            return
    emit(Phase(label, "capture: loading model"))
    try:
        result = session.capture_slot(suite, slot, request.settings, source=source, cancel=cancel,
                              progress=lambda p: emit(CaptureStep(label, p)))
    except Cancelled:
        raise
    except Exception as exc:  # noqa: BLE001 - any failure of loading, tracing or running one
        # model must not stop the report of the others
        reason = str(exc) if isinstance(exc, UserError) else f"{type(exc).__name__}: {exc}"
        slot.error = " ".join(reason.split())[:400]
        slot.result = None
        outcome.failed.append(slot)
        emit(ModelFailed(label, slot.error))
        return
    slot.result, slot.error = result, None
    outcome.captured += 1
    emit(ModelDone(label, result, cached=False))


def suite_weight_shift(suite: Suite, vgg_weights: Path | None, emit: Emit) -> list | None:
    """The suite's weight shift, cached; None (with the reason emitted) when it cannot be had."""
    from tlexplorer import weightshift
    from tlexplorer.zoo import RECIPES

    try:
        rows = weightshift.load_cached_weight_shift(suite)
        if rows is None:
            if not any(s.trained and RECIPES[int(s.label)].transfer for s in suite.slots):
                rows = []
            else:
                emit(Phase("", "weight shift: comparing base layers with the pretrained base"))
                rows = weightshift.cached_weight_shift(suite, vgg_weights)
    except UserError as exc:
        emit(WeightShiftDone(None, str(exc)))
        return None
    except Exception as exc:  # noqa: BLE001 - shown to the user; the results stand without it
        emit(WeightShiftDone(None, f"weight shift failed: {type(exc).__name__}: {exc}"))
        return None
    emit(WeightShiftDone(rows))
    return rows


# -- the user's own models side by side ------------------------------------------------------


def run_models(request: ModelSetRequest, emit: Emit = _ignore,
               cancel: CancelToken | None = None) -> Outcome:
    """Open the user's model files as a suite (:mod:`tlexplorer.modelset`), capture each (cached
    results first), then the weight shift against the reference model.

    A file that is missing, not a ``.keras`` file, unreadable by Keras or unfit for the data
    (input shape, channels, outputs) is reported (:class:`ModelFailed`, with the reason) and the
    others go on. Raises :class:`UserError` for a bad folder or call, :class:`Cancelled` when
    ``cancel`` is set.
    """
    from tlexplorer.inputs import check_preprocess
    from tlexplorer.modelset import check_model_paths, scan_folder

    paths = tuple(Path(p) for p in request.models)
    check_model_paths(paths)
    preprocess = check_preprocess(request.preprocess)
    emit(Phase("", "reading the image folder"))
    source = scan_folder(request.data, progress=lambda text: emit(Phase("", text)))
    emit(Info(f"data: {safe(source.description)}, {len(source.records)} images"))
    settings = {**request.settings, "batch": int(request.batch), "preprocess": preprocess,
                "outputs": request.outputs}
    suite = open_model_set(request.workspace, paths, source, settings)
    outcome = Outcome(suite, source=source)
    emit(SuiteReady(suite, "", source))
    for slot in suite.slots:
        _check(cancel)
        if request.recapture is not None and slot.label != request.recapture:
            continue
        if slot.meta is None:
            slot.error = slot.status
            outcome.failed.append(slot)
            emit(ModelFailed(slot.label, slot.status))
            continue
        try:
            result, cached, skipped = capture_or_load(
                slot.files.model_path, slot.label, source, request.workspace, request.batch,
                preprocess, emit, cancel, recapture=request.recapture is not None)
        except Cancelled:
            raise
        except Exception as exc:  # noqa: BLE001 - one model's failure must not stop the others
            reason = str(exc) if isinstance(exc, UserError) else f"{type(exc).__name__}: {exc}"
            slot.error, slot.result = " ".join(reason.split())[:400], None
            outcome.failed.append(slot)
            emit(ModelFailed(slot.label, slot.error))
            continue
        # A file either decodes or not, at any size: every model skips the same files, so
        # test index i is the same image for all of them.
        source.left_out.update(dict(skipped))
        suite.info.data["left_out"] = dict(source.left_out)  # the record rebuilds the source
        result.model_label, result.model_name, result.outputs = \
            slot.label, slot.name, request.outputs
        slot.result, slot.error = result, None
        if cached:
            outcome.cached += 1
        else:
            outcome.captured += 1
        for line in reading_notes(result):
            emit(Warn(line) if ": warning: " in line else Info(line))
        emit(ModelDone(slot.label, result, cached=cached))
    if request.weight_shift and request.recapture is None:
        _check(cancel)
        outcome.weight_shift = weight_shift_against(suite, request.reference, emit)
    return outcome


def open_model_set(workspace: Path, paths: tuple[Path, ...], source,
                   settings: dict) -> Suite:
    """The suite of ``paths`` over ``source``: one slot per file; a file that is missing or
    not a ``.keras`` file gets a slot with the reason (``status``) and no metadata."""
    from tlexplorer.modelset import SUITE_NAME, model_labels
    from tlexplorer.session import SuiteInfo
    from tlexplorer.suite import ModelFiles, file_sha256

    slots = []
    for path, label in zip(paths, model_labels(paths), strict=True):
        path = Path(path)
        files = ModelFiles(None, path.stem, path.parent)
        meta, status = None, ""
        if not path.is_file():
            status = "file not found" if not path.exists() else "not a file"
        elif path.suffix != ".keras":  # Keras 3 loads .keras files only
            status = "not a .keras file"
        else:
            try:
                sha = file_sha256(path)
            except OSError as exc:
                status = f"cannot be read ({exc.strerror or exc})"
            else:
                meta = ModelMeta(path.name, sha, source.fingerprint, None, None, None, None,
                                 {"file": str(path.resolve())})
        slots.append(ModelSlot(label, path.name, files, meta, status))
    info = SuiteInfo({**source.to_json(), "settings": settings}, None, False)
    return Suite(Path(workspace), SUITE_NAME, info, slots)


def default_reference(suite: Suite) -> str | None:
    """The model a model set's weight shift is measured against by default: the first one
    captured."""
    return next((s.label for s in suite.slots if s.result is not None), None)


def weight_shift_against(suite: Suite, reference: str | None, emit: Emit = _ignore) -> list | None:
    """Weight shift of every other model of ``suite`` against model ``reference`` (default
    :func:`default_reference`), per layer of the same name and weight shapes; cached. None,
    with the reason emitted, when it cannot be had."""
    from tlexplorer.modelset import pair_weight_shift

    reference = reference or default_reference(suite)
    if reference is None:
        emit(WeightShiftDone(None, "weight shift: no model could be captured"))
        return None
    try:
        emit(Phase("", f"weight shift: comparing the models' layers with model {reference}"))
        rows = pair_weight_shift(suite, reference)
    except UserError as exc:
        emit(WeightShiftDone(None, str(exc), reference))
        return None
    except Exception as exc:  # noqa: BLE001 - shown to the user; the results stand without it
        emit(WeightShiftDone(None, f"weight shift failed: {type(exc).__name__}: {exc}",
                             reference))
        return None
    emit(WeightShiftDone(rows, "", reference))
    return rows


# -- analyze ---------------------------------------------------------------------------------


def check_model_fits(model, class_names: list[str], label: str) -> int:
    """The model's square RGB input size; UserError when input or output do not fit the data."""
    if len(model.inputs) != 1 or len(model.outputs) != 1:
        raise UserError(f"{label}: not supported: a model with {len(model.inputs)} inputs and "
                        f"{len(model.outputs)} outputs (one image in, class scores out)")
    shape = tuple(model.inputs[0].shape)
    if len(shape) != 4 or shape[1] is None or shape[1] != shape[2] or shape[3] != 3:
        raise UserError(f"{label}: expected a square RGB image input, got {shape}")
    out = tuple(model.outputs[0].shape)
    units = out[-1] if len(out) == 2 else None
    classes = len(class_names)
    if units is None or not (units == classes or (units == 1 and classes == 2)):
        raise UserError(f"{label}: the model's output {out} does not fit the data's {classes} "
                        "classes (one unit for two classes, or one unit per class)")
    return int(shape[1])


def analyze(request: AnalyzeRequest, emit: Emit = _ignore,
            cancel: CancelToken | None = None) -> AnalyzeOutcome:
    """Capture (or load from the workspace's cache) one model over a class-folder image set."""
    from tlexplorer.modelset import scan_folder

    model_path = Path(request.model)
    if not model_path.is_file():
        raise UserError(f"model file not found: {safe(model_path)}")
    label = model_path.name
    emit(Phase(label, "reading the image folder"))
    source = scan_folder(request.data)
    result, cached, decode_skipped = capture_or_load(
        model_path, label, source, request.workspace, request.batch, request.preprocess,
        emit, cancel)
    result.model_label = label
    result.outputs = request.outputs
    emit(ModelDone(label, result, cached=cached))
    left_out = {rel for rel, _ in decode_skipped}
    used = [r for r in source.records if r.rel not in left_out]
    names = [str(r.path) for r in used] if len(used) == result.n_images else None
    skipped = sorted([*source.scan_skipped, *decode_skipped])
    return AnalyzeOutcome(result, cached, names, skipped, reading_notes(result))


def capture_or_load(model_path: Path, label: str, source, workspace: Path, batch: int,
                    preprocess: str, emit: Emit, cancel: CancelToken | None,
                    recapture: bool = False) -> tuple[CaptureResult, bool, list]:
    """One model file over every image of ``source`` (a :class:`~tlexplorer.modelset.
    ModelSetSource`): ``(result, cached, files the decoder skipped)``, from the workspace's
    cache (keyed by the file's content, the images' and the settings) unless ``recapture``."""
    from tlexplorer.cache import CacheError, cache_key, cache_path, load_result, save_result
    from tlexplorer.suite import file_sha256

    settings = {**capture_settings(), "batch": int(batch), "preprocess": preprocess}
    path = cache_path(workspace, cache_key(file_sha256(model_path), source.fingerprint,
                                           settings))
    result = None
    decode_skipped: list[tuple[str, str]] = []
    if path.is_file() and not recapture:
        try:
            result, extra = load_result(path)
            decode_skipped = [(str(rel), str(why)) for rel, why in extra["skipped_images"]]
        except (CacheError, KeyError, TypeError, ValueError) as exc:
            emit(Warn(f"{safe(label)}: cached result ignored and recomputed: {exc}"))
            result = None
    cached = result is not None
    if result is None:
        _check(cancel)
        result, decode_skipped = _capture_file(model_path, label, source, settings, emit,
                                               cancel)
        save_result(path, result, extra={"model_file": str(model_path),
                                         "skipped_images": [list(s) for s in decode_skipped]})
    return result, cached, decode_skipped


def _capture_file(model_path: Path, label: str, source, settings: dict, emit: Emit,
                  cancel: CancelToken | None):
    from tlexplorer.capture.engine import Capturer
    from tlexplorer.data.decode import decoded_batches
    from tlexplorer.zoo import load_model

    records = source.records
    emit(Phase(label, "loading the model"))
    model = load_model(model_path)
    size = check_model_fits(model, list(source.class_names), safe(label))
    emit(Phase(label, "building the probe"))
    capturer = Capturer(model, epsilon=settings["epsilon"], topk=settings["topk"],
                        preprocess=settings["preprocess"])
    skipped: list[tuple[str, str]] = []
    batches = decoded_batches([r.path for r in records], [r.label for r in records], size,
                              settings["batch"],
                              on_skip=lambda i, why: skipped.append((records[i].rel, why)))
    result = capturer.run(batches, total_images=len(records),
                          progress=lambda p: emit(CaptureStep(label, p)), cancel=cancel,
                          model_label=label, model_name=model.name,
                          class_names=list(source.class_names))
    if result.n_images == 0:
        raise UserError(f"none of the {len(records)} image files in {safe(source.root)} "
                        "could be decoded")
    return result, skipped


def reading_notes(result: CaptureResult) -> list[str]:
    """What the tool assumed to read a model, one line each, for the user to check.

    How outputs were read (probabilities or logits, and why), how pixels were fed, and a
    warning when a model without its own Rescaling/Normalization layer was fed 0..255, or gave
    NaN/inf outputs.
    """
    import numpy as np

    from tlexplorer import metrics
    from tlexplorer.inputs import PREPROCESS_HELP

    label = safe(result.model_label)
    summary = metrics.summarize(result)
    why = ("--outputs" if result.outputs != "auto"
           else f"{safe(result.head_activation)} output layer")
    lines = [f"{label}: outputs read as {summary.outputs} ({why}); pixels fed as "
             f"{PREPROCESS_HELP[result.preprocess]} (--preprocess {result.preprocess})"]
    if summary.outputs_note:
        lines.append(f"{label}: warning: {summary.outputs_note}")
    if result.preprocess == "none" and not result.input_scaling:
        lines.append(f"{label}: warning: the model has no Rescaling or Normalization layer "
                     "near its input and was fed pixels 0..255; if it expects another range, "
                     "say so with --preprocess unit, tf, caffe or torch")
    if summary.nonfinite_outputs:
        lines.append(f"{label}: warning: {summary.nonfinite_outputs} of "
                     f"{np.asarray(result.scores).size} outputs are "
                     "NaN or infinite: accuracy, loss, precision, recall, F1 and ROC AUC are "
                     "left empty")
    return lines


# -- what the reports need from a suite ------------------------------------------------------


def image_files_of(suite: Suite, source=None) -> tuple[list[str] | None, str]:
    """The suite's test files in test-set order, or (None, why not); ``source``: the one this
    run read, if any (see :func:`suite_test_source`).

    The synthetic demo has no files. For real data the names come from the recorded split; if
    the data folder is gone or changed, the reports are still written, without file names.
    """
    if suite.info.kind not in ("folder", "files"):
        return None, ""
    try:
        source = suite_test_source(suite, source)
    except (UserError, ValueError, OSError, KeyError) as exc:
        return None, f"top_images.csv has no file names: {exc}"
    return source.files("test")[0], ""


def skipped_images_of(suite: Suite, source=None) -> list[tuple[str, str]]:
    """The data files left out, ``(file, why)``: by the split, or for your own models at scan
    time and by the decoder."""
    if suite.info.kind == "files":
        if source is None or source.fingerprint != suite.fingerprint:
            return sorted(((str(k), str(v)) for k, v in
                           suite.info.data.get("left_out", {}).items()))
        return source.skipped_images()
    return suite.info.skipped_images


def suite_test_source(suite: Suite, source=None):
    """The data source of the suite's test set: ``source`` when it is the one the suite was
    captured on (one this run already read), else the suite's recorded one. Raises
    :class:`UserError` when the data changed since (its images would not be the captured ones).
    """
    if source is None or source.fingerprint != suite.fingerprint:
        source = suite.source()
    if source.fingerprint != suite.fingerprint:
        raise UserError("the test set changed since these models were captured "
                        f"(fingerprint {source.fingerprint}, expected {suite.fingerprint})")
    return source



def test_image_reader(suite: Suite, source=None):
    """``(read, "")``: a function from test indices to uint8 images of the suite's test set
    (see :func:`suite_test_source`); or ``(None, why)``."""
    try:
        return suite_test_source(suite, source).test_images, ""
    except (UserError, ValueError, OSError, KeyError) as exc:
        return None, f"no top-image montages: {exc}"


def file_image_reader(paths: list[str], size: int = MONTAGE_SIZE):
    """A function from test indices to uint8 images decoded from ``paths`` (at ``size`` px,
    for display); a file that no longer decodes is shown black."""
    import numpy as np

    from tlexplorer.data.decode import ImageDecodeError, decode_image

    def read(indices: list[int]):
        out = np.zeros((len(indices), size, size, 3), dtype=np.uint8)
        for i, index in enumerate(indices):
            try:
                out[i] = np.clip(np.rint(decode_image(Path(paths[index]), size)), 0, 255)
            except (ImageDecodeError, OSError):
                continue
        return out

    return read
