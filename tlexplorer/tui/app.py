"""The explorer app: one factory for the CLI and the tests, and the background pipeline.

Start-up paints first; a thread worker then opens the suite, trains what is missing (only with
``--demo``/``--data``, or in an empty workspace, which starts the offline demo), loads cached
results and captures the rest. The worker talks to the UI only through :mod:`.messages`; a
``threading.Event`` reaches the domain code so Escape really stops the work.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import threading
import time
import warnings
from pathlib import Path

from textual import work
from textual.app import App
from textual.worker import Worker, WorkerState

from tlexplorer import metrics, session
from tlexplorer.errors import Cancelled, UserError
from tlexplorer.session import ModelSlot, Suite
from tlexplorer.textsafe import safe
from tlexplorer.tui.commands import ExplorerCommands
from tlexplorer.tui.figures import ModelFigures
from tlexplorer.tui.messages import (
    FeatureMapsKey,
    FeatureMapsReady,
    ImagesReady,
    ModelFailed,
    ModelReady,
    ProgressState,
    SuiteOpened,
    WeightShiftReady,
    WorkFinished,
    WorkProgress,
)
from tlexplorer.tui.screens.main import MainScreen
from tlexplorer.tui.widgets.progress import ProgressPanel

MIN_SIZE = (80, 24)
TAUS = (0.025, 0.1, 0.25, 0.5)  # what the τ key cycles through
PROGRESS_INTERVAL_S = 0.1  # at most ten progress repaints a second


class ExplorerApp(App):
    """Browse a workspace's five models: NNU, activation spectrum and range, per layer."""

    CSS_PATH = "explorer.tcss"
    TITLE = "tlexplorer"
    COMMANDS = App.COMMANDS | {ExplorerCommands}

    def __init__(self, workspace: Path, *, demo: bool = False, data: Path | None = None,
                 preset: str | None = None, tau: float | None = None,
                 image_size: int | None = None, split: tuple[int, int, int] | None = None,
                 vgg_weights: Path | None = None, models: list[Path] | None = None,
                 reading: dict | None = None) -> None:
        super().__init__()
        from tlexplorer.quiet import backend_name

        self.title = f"tlexplorer · {backend_name()}"  # the Keras backend, as Keras reads it
        self.workspace = Path(workspace)
        self.demo = demo
        self.data = Path(data) if data is not None else None
        self.preset_name = preset
        self.preset_overrides = {k: v for k, v in (("image_size", image_size),
                                                   ("split", split)) if v}
        self.vgg_weights = vgg_weights
        # the user's own model files (tlexplorer A.keras B.keras --data DIR), and how to feed
        # and read them (batch, preprocess, outputs); None: the workspace's five-model suite
        self.models = [Path(m) for m in models] if models else None
        self.reading = dict(reading or {})
        self.shift_reference: str | None = None  # None: the default (base, or first model)
        self.tau = metrics.DEFAULT_TAU if tau is None else tau
        self.settings = session.capture_settings()
        self.suite: Suite | None = None
        self.source = None
        self.slots: list[ModelSlot] = []
        self.figures: dict[str, ModelFigures] = {}
        self.cancel_event = threading.Event()
        self.outcome = ""  # last WorkFinished outcome, for tests and the progress panel
        self.weight_shift: list | None = None  # LayerShift rows of the suite's transfer models
        self.weight_shift_note = "weight shift: computed after the captures…"
        # the image views: test images read for display, and one loaded model for feature maps
        self.test_image_cache: dict[int, object] = {}
        self._images_wanted: tuple[int, ...] | None = None  # the latest read asked for
        self._images_failed: tuple[tuple[int, ...], str] | None = None  # (indices, why)
        self._display_source = None
        self._source_lock = threading.Lock()
        self._read_lock = threading.Lock()
        self.feature_maps_state: FeatureMapsReady | None = None
        self._features_wanted: FeatureMapsKey | None = None
        self._model_lock = threading.Lock()
        self._generation = 0  # bumped when a suite is (re)opened: older worker replies are stale
        self._loaded_model: tuple | None = None  # (label, sha256, model, probe)

    def get_default_screen(self) -> MainScreen:
        return MainScreen()

    def _fatal_error(self) -> None:
        """An unexpected error: one line on the terminal once it is restored, the traceback in
        the log (Textual's default dumps a traceback with locals on the screen)."""
        self.bell()
        _crash_report(self, self.workspace)
        self._close_messages_no_wait()

    def notify(self, message: str, *, title: str = "", severity="information",
               timeout: float | None = None, markup: bool = False) -> None:
        """Notifications carry names and errors from data: shown literally (no markup),
        control characters made visible."""
        super().notify(safe(message), title=safe(title), severity=severity, timeout=timeout,
                       markup=markup)

    @property
    def main(self) -> MainScreen:
        return self.screen_stack[0]  # type: ignore[return-value]

    def on_mount(self) -> None:
        self._check_size()  # the main screen starts the work once its panes exist
        # kill -TERM (a closed SSH session, a job scheduler) exits like q: the terminal is
        # restored (alternate screen, mouse tracking, cursor), finished work is kept.
        import signal

        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, self._terminate)

    def _terminate(self) -> None:
        self.cancel_event.set()
        self.exit(return_code=143, message="tlexplorer: stopped by SIGTERM; finished models "
                                           "and results are kept")

    def on_resize(self, event) -> None:
        # The event carries the new size; self.size can still hold the previous one here,
        # which made the "too small" message lag one resize behind.
        self._check_size(tuple(event.size))

    def _check_size(self, size: tuple[int, int] | None = None) -> None:
        width, height = size if size is not None else self.size
        self.set_class(width < MIN_SIZE[0] or height < MIN_SIZE[1], "-too-small")

    # -- background work --------------------------------------------------------------------

    @property
    def busy(self) -> bool:
        return any(w.is_running for w in self.workers if w.group == "pipeline")

    def start_work(self, recapture: str | None = None) -> None:
        self.cancel_event = threading.Event()
        self.outcome = ""
        self.pipeline(self.cancel_event, recapture)

    def cancel_work(self) -> None:
        if self.busy and not self.cancel_event.is_set():
            self.cancel_event.set()
            self.main.query_one(ProgressPanel).idle("cancelling… (finished work is kept)")

    def recapture(self, label: str) -> None:
        if self.busy:
            self.notify("work is running: press Escape to cancel it first", severity="warning")
            return
        if self.suite is None:
            return
        self.start_work(recapture=label)

    @work(thread=True, exclusive=True, exit_on_error=False, group="pipeline")
    def pipeline(self, cancel: threading.Event, recapture: str | None = None) -> None:
        """Run the workbench (:mod:`tlexplorer.workbench`) and turn its events into messages."""
        from tlexplorer import workbench

        if self.models is not None:
            request = workbench.ModelSetRequest(
                tuple(self.models), self.data, self.workspace, recapture=recapture,
                reference=self.shift_reference, settings=self.settings, **self.reading)
            run = workbench.run_models
        elif recapture is None:
            run = workbench.run
            request = workbench.Request(
                self.workspace, demo=self.demo, data=self.data, preset=self.preset_name,
                image_size=self.preset_overrides.get("image_size"),
                split=self.preset_overrides.get("split"), vgg_weights=self.vgg_weights,
                start_demo_if_empty=True, settings=self.settings)
        else:
            assert self.suite is not None
            run = workbench.run
            request = workbench.Request(self.workspace, suite=self.suite.name,
                                        vgg_weights=self.vgg_weights, recapture=recapture,
                                        settings=self.settings)
        try:
            outcome = run(request, self._on_event, cancel)
        except Cancelled:
            self.post_message(WorkFinished("cancelled", "cancelled — finished work is kept"))
        except UserError as exc:
            self.post_message(WorkFinished("failed", str(exc)))
        else:
            self.post_message(WorkFinished("done", outcome.summary))

    def _on_event(self, event) -> None:
        """A workbench event (worker thread) → a message, or a progress line."""
        from tlexplorer import workbench as wb
        from tlexplorer.training import TrainEvent

        if isinstance(event, TrainEvent):
            self._on_train(event)
        elif isinstance(event, wb.CaptureStep):
            self._on_capture(event.model, event.progress)
        elif isinstance(event, wb.Phase):
            self._post_progress(ProgressState(event.model, event.text), force=True)
        elif isinstance(event, wb.SuiteReady):
            if event.source is not None:
                with self._source_lock:
                    self.source = event.source  # the test images, already read
            self.post_message(SuiteOpened(event.suite, event.note))
        elif isinstance(event, wb.ModelDone):
            self.post_message(ModelReady(event.label, event.result, cached=event.cached))
        elif isinstance(event, wb.ModelFailed):
            self.post_message(ModelFailed(event.label, event.error))
        elif isinstance(event, wb.WeightShiftDone):
            self.post_message(WeightShiftReady(event.rows, event.error, event.reference))
        elif isinstance(event, wb.Warn):
            self._warn(event.text)

    # -- the image views' background work --------------------------------------------------

    @property
    def images_pending(self) -> bool:
        return self._images_wanted is not None

    def test_images(self, indices: list[int]) -> tuple[dict | None, str]:
        """(pixels, "") if every image was read; else (None, why not, or "" while a worker reads).

        A failed read is not retried while the same images are asked for again (every repaint
        would); asking for other images, a new result or a reopened suite tries afresh.
        """
        missing = tuple(i for i in indices if i not in self.test_image_cache)
        if not missing:
            return {i: self.test_image_cache[i] for i in indices}, ""
        if self._images_failed is not None and self._images_failed[0] == missing:
            return None, self._images_failed[1]
        if missing != self._images_wanted:
            self._images_wanted, self._images_failed = missing, None
            self.read_images(missing, self._generation)
        return None, ""

    @work(thread=True, group="images", exit_on_error=False)
    def read_images(self, indices: tuple[int, ...], generation: int) -> None:
        """Read one request's images; requests superseded while waiting are dropped."""
        with self._read_lock:
            if indices != self._images_wanted or generation != self._generation:
                return
            try:
                images, error = self._read_test_images(indices), ""
            except UserError as exc:
                images, error = {}, str(exc)
            except Exception as exc:  # noqa: BLE001 - shown in the view; the rest keeps working
                images, error = {}, f"cannot read the test images: {type(exc).__name__}: {exc}"
            self.post_message(ImagesReady(indices, generation, images, error))

    def _read_test_images(self, indices: tuple[int, ...], size: int | None = None) -> dict:
        """Decode test images from the suite's recorded data source (no TensorFlow); at
        ``size`` px where models differ in input size (the user's own)."""
        with self._source_lock:
            suite = self.suite
            if suite is None:
                raise UserError("no suite is open yet")
            if self._display_source is None:
                from tlexplorer.workbench import suite_test_source

                self._display_source = suite_test_source(suite, self.source)
            n = len(self._display_source.test_labels())
            bad = [i for i in indices if not 0 <= i < n]
            if bad:
                raise UserError(f"test image {bad[0]} is not in the test set ({n} images)")
            if size is None:
                pixels = self._display_source.test_images(list(indices))
            else:
                pixels = self._display_source.test_images(list(indices), size=size)
        return {i: pixels[j] for j, i in enumerate(indices)}

    def test_file(self, index: int) -> str | None:
        """Test image ``index``'s file (relative to the data folder), where it has one."""
        source = self._display_source
        try:
            return source.test_file(index) if source is not None and hasattr(
                source, "test_file") else None
        except (IndexError, ValueError):
            return None

    def feature_maps_for(self, key: FeatureMapsKey) -> FeatureMapsReady | None:
        """The feature maps of ``key`` if computed (or why not); else None, and a worker starts."""
        state = self.feature_maps_state
        if state is not None and state.key == key:
            return state
        if self._features_wanted != key:
            self._features_wanted = key
            self.compute_feature_maps(key, self._generation)
        return None

    @work(thread=True, group="features", exit_on_error=False)
    def compute_feature_maps(self, key: FeatureMapsKey, generation: int) -> None:
        """One forward pass of one image, off the UI thread; superseded requests are dropped."""
        with self._model_lock:
            if key != self._features_wanted or generation != self._generation:
                return
            try:
                model, probe = self._model_for(key.model)
                size = None
                if self.models is not None:  # the user's models: each at its own input size
                    size = int(model.inputs[0].shape[1])
                image = self._read_test_images((key.image,), size)[key.image]
                from tlexplorer.capture.featuremaps import feature_maps

                maps = feature_maps(model, image, key.layer, probe,
                                    preprocess=self.reading.get("preprocess", "none"))
            except UserError as exc:
                self.post_message(FeatureMapsReady(key, generation, error=str(exc)))
            except Exception as exc:  # noqa: BLE001 - shown in the view
                self.post_message(FeatureMapsReady(
                    key, generation, error=f"feature maps failed: {type(exc).__name__}: {exc}"))
            else:
                self.post_message(FeatureMapsReady(key, generation, image, maps))

    def _model_for(self, label: str):
        """The Keras model of ``label`` and its probe; one model is kept loaded at a time."""
        slot = self._slot(label)
        if slot is None or slot.meta is None:
            raise UserError(f"model {label} is not trained")
        sha = slot.meta.model_sha256
        if self._loaded_model is not None and self._loaded_model[:2] == (label, sha):
            return self._loaded_model[2:]
        self._loaded_model = None  # let the previous model go before loading the next
        from tlexplorer.capture.probe import build_probe
        from tlexplorer.zoo import load_model

        model = load_model(slot.files.model_path)
        self._loaded_model = (label, sha, model, build_probe(model))
        return self._loaded_model[2:]

    _last_post = 0.0
    _last_phase = ""

    def _post_progress(self, state: ProgressState, force: bool = False) -> None:
        now = time.monotonic()
        key = f"{state.model}:{state.phase.split(' ')[0]}"
        if force or key != self._last_phase or now - self._last_post >= PROGRESS_INTERVAL_S \
                or (state.total and state.done >= state.total):
            self._last_post, self._last_phase = now, key
            self.post_message(WorkProgress(state))

    def _on_capture(self, label: str, p) -> None:
        self._post_progress(ProgressState(label, f"capture batch {p.batch}/{p.batches}",
                                          p.images, p.total))

    def _on_train(self, event) -> None:
        if event.kind in ("saved", "skipped", "info"):
            if event.kind != "skipped":
                self._post_progress(ProgressState(event.model, event.message or event.kind),
                                    force=True)
            return
        phase = event.phase
        done, total = event.batch, event.steps or None
        if event.epochs:
            phase += f" epoch {event.epoch}/{event.epochs}"
            if event.steps:  # the bar and its ETA cover the whole phase, not one epoch
                done = max(event.epoch - 1, 0) * event.steps + event.batch
                total = event.epochs * event.steps
        self._post_progress(ProgressState(event.model, phase, done, total, dict(event.logs)),
                            force=event.kind != "batch")

    def _warn(self, text: str) -> None:
        self.call_from_thread(self.notify, text, severity="warning")

    # -- messages from the worker -----------------------------------------------------------

    def on_suite_opened(self, message: SuiteOpened) -> None:
        self._generation += 1  # replies of workers started before this are stale
        if self.suite is None or self.suite.fingerprint != message.suite.fingerprint:
            with self._source_lock:
                self._display_source = None
                self.test_image_cache.clear()
        self._images_wanted = self._images_failed = None
        self.feature_maps_state, self._features_wanted = None, None  # models may be new
        self.suite = message.suite
        self.slots = message.suite.slots
        # keep results we have for models whose metadata did not change
        self.figures = {k: v for k, v in self.figures.items()
                        if any(s.label == k and s.meta for s in self.slots)}
        for slot in self.slots:
            if slot.label in self.figures:
                slot.result = self.figures[slot.label].result
        self.sub_title = safe(message.suite.description) + (" — DEMO" if message.suite.is_demo
                                                             else "")
        if message.note:
            self.notify(message.note, title="offline demo", timeout=8)
            self.main.query_one(ProgressPanel).idle(message.note)
        self.main.refresh_models()

    def _slot(self, label: str) -> ModelSlot | None:
        return next((s for s in self.slots if s.label == label), None)

    def on_model_ready(self, message: ModelReady) -> None:
        slot = self._slot(message.label)
        if slot is not None:
            slot.result, slot.error = message.result, None
        self._images_failed = None  # let the views try again
        if self.feature_maps_state is not None and self.feature_maps_state.error:
            self.feature_maps_state = self._features_wanted = None
        self.figures[message.label] = ModelFigures(message.result, self.tau)
        self.main.refresh_models()

    def on_model_failed(self, message: ModelFailed) -> None:
        slot = self._slot(message.label)
        if slot is not None:
            slot.error = message.error
        self.figures.pop(message.label, None)
        self.notify(f"model {message.label}: {message.error}", severity="error", timeout=8)
        self.main.refresh_models()

    def on_weight_shift_ready(self, message: WeightShiftReady) -> None:
        self.weight_shift = message.rows
        self.weight_shift_note = message.error
        self.shift_reference = message.reference or None
        if not self.busy:  # a weight shift of its own (w): its progress line ends here
            against = f"model {message.reference}" if message.reference else "the base"
            self.main.query_one(ProgressPanel).idle(
                message.error or f"weight shift against {against}: done")
        self.main.refresh_views()

    def shift_against(self, label: str | None) -> None:
        """Measure the weight shift against model ``label`` (None: the default reference: the
        pretrained base of a suite, the first model of your own)."""
        if self.suite is None:
            return
        if self.busy:
            self.notify("work is running: the weight shift follows when it is done",
                        severity="warning")
            return
        self.shift_reference = label
        self.weight_shift = None
        self.weight_shift_note = ("weight shift against " + (f"model {label}" if label
                                  else "the default reference") + ": computing…")
        self.main.refresh_views()
        self._shift_worker(self.suite, label)

    @work(thread=True, group="shift", exclusive=True, exit_on_error=False)
    def _shift_worker(self, suite, label: str | None) -> None:
        from tlexplorer import workbench

        if label is None and suite.info.kind != "files":
            workbench.suite_weight_shift(suite, self.vgg_weights, self._on_event)
        else:
            workbench.weight_shift_against(suite, label, self._on_event)

    def on_images_ready(self, message: ImagesReady) -> None:
        if message.generation != self._generation or not self.screen_stack:
            return
        self.test_image_cache.update(message.images)
        if message.error:
            self._images_failed = (message.indices, message.error)
        if message.indices == self._images_wanted:
            self._images_wanted = None
        self.main.refresh_views()

    def on_feature_maps_ready(self, message: FeatureMapsReady) -> None:
        if message.key == self._features_wanted and message.generation == self._generation \
                and self.screen_stack:
            self.feature_maps_state = message
            self.main.refresh_views()

    def on_work_progress(self, message: WorkProgress) -> None:
        if not self.cancel_event.is_set():
            self.main.query_one(ProgressPanel).show(message.state)

    def on_work_finished(self, message: WorkFinished) -> None:
        self.outcome = message.outcome
        self.main.query_one(ProgressPanel).idle(message.text)
        if message.outcome == "failed":
            self.notify(message.text, severity="error", timeout=10)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group == "pipeline" and event.state == WorkerState.ERROR:
            error = event.worker.error
            text = f"background work failed: {type(error).__name__}: {error}"
            self.outcome = "failed"
            self.main.query_one(ProgressPanel).idle(text)
            self.notify(text, severity="error", timeout=10)

    # -- actions ----------------------------------------------------------------------------

    def cycle_tau(self) -> None:
        """Next τ of :data:`TAUS`; only the dormant figures are recomputed (numpy)."""
        self.tau = next((t for t in TAUS if t > self.tau + 1e-12), TAUS[0])
        self.figures = {k: fig.with_tau(self.tau) for k, fig in self.figures.items()}
        self.main.refresh_models()
        self.notify(f"τ = {self.tau:g}: dormant = mean |activation| ≤ τ × the layer's mean",
                    timeout=3)

    def claims(self):
        """The poster's claims checked on the models with results, under the current τ."""
        from tlexplorer.claims import check_claims

        results = [self.figures[s.label].result for s in self.slots if s.label in self.figures]
        return check_claims(results, self.tau)

    def export_reports(self) -> None:
        results = [self.figures[s.label].result for s in self.slots if s.label in self.figures]
        if not results:
            self.notify("nothing to export yet: no model has results", severity="warning")
            return
        self.notify(f"exporting {len(results)} models…", timeout=2)
        self._export(results, self.tau, self.weight_shift, self.suite)

    @work(thread=True, group="export", exit_on_error=False)
    def _export(self, results: list, tau: float, weight_shift, suite) -> None:
        """Write the CSV files, figures and index.html off the UI thread (top_images.csv is
        ~200k rows at paper scale; the figures take seconds)."""
        from tlexplorer.figures import MONTAGE_PROCESSES
        from tlexplorer.report import write_reports
        from tlexplorer.workbench import image_files_of, skipped_images_of, test_image_reader

        out = (self.workspace / "reports").resolve()
        try:
            with self._source_lock:
                known = self._display_source or self.source
            names, why = image_files_of(suite, known) if suite is not None else (None, "")
            read, note = (test_image_reader(suite, known) if suite is not None
                          else (None, "no top-image montages: no suite is open"))
            skipped = skipped_images_of(suite, known) if suite is not None else []
            written = write_reports(results, out, tau, weight_shift=weight_shift,
                                    image_names=names, skipped_images=skipped,
                                    read_images=read, images_note=note,
                                    title="tlexplorer report"
                                    + (f": suite {suite.name}" if suite is not None else ""),
                                    processes=MONTAGE_PROCESSES)
        except (OSError, UserError, ValueError) as exc:
            self.call_from_thread(self.notify, f"export failed: {exc}", severity="error")
            return
        csvs = sum(1 for p in written if p.suffix == ".csv")
        pngs = sum(1 for p in written if p.suffix == ".png")
        text = (f"wrote {csvs} CSV files, {pngs} figures (PNG and SVG) and index.html "
                f"({len(results)} models) to {safe(out)}")
        if why:
            text += f"; {why}"
        self.call_from_thread(self.notify, text, title="exported", timeout=10)

    def deliver_screenshot(self, filename: str | None = None, path: str | None = None,
                           time_format: str | None = None) -> str | None:
        """The palette's Screenshot: an SVG under WORKSPACE/reports/screens/, not ~/Downloads."""
        from tlexplorer.tui.commands import save_screenshot

        saved = save_screenshot(self, filename, path)
        return None if saved is None else str(saved)

    async def action_quit(self) -> None:
        """Quit cleanly: cancel the work and give it a moment to stop."""
        self.cancel_event.set()
        running = [w for w in self.workers if w.group == "pipeline" and w.is_running]
        if running:
            self.main.query_one(ProgressPanel).idle("quitting…")
            with contextlib.suppress(Exception):
                await asyncio.wait_for(running[0].wait(), timeout=3)
        self.exit()


def _crash_report(app: App, workspace: Path) -> None:
    """Turn the app's unexpected error into one line on the restored terminal and a log entry.

    Textual's default prints a full traceback (with locals) after the app stops; the user gets
    one line naming the error and the file that holds the traceback instead.
    """
    import traceback

    from rich.text import Text

    from tlexplorer.textsafe import safe

    error = getattr(app, "_exception", None)
    log = workspace / "cache" / "tlexplorer-error.log"
    from tlexplorer.textsafe import safe_lines

    detail = safe_lines("".join(traceback.format_exception(error)) if error is not None
                        else "(unknown)")
    try:
        log.parent.mkdir(parents=True, exist_ok=True)
        with open(log, "a", encoding="utf-8") as handle:
            handle.write(detail + "\n")
        where = f"traceback in {log}"
    except OSError:
        where = "no writable place for the traceback"
    first = (str(error).splitlines() or [""])[0] if error is not None else ""
    name = type(error).__name__ if error is not None else "error"
    app._exit_renderables.append(Text(
        f"tlexplorer: the explorer stopped on an unexpected error: {name}: {safe(first)} "
        f"({safe(where)})"))


def create_app(workspace: Path, *, demo: bool = False, data: Path | None = None,
               preset: str | None = None, tau: float | None = None,
               image_size: int | None = None, split: tuple[int, int, int] | None = None,
               vgg_weights: Path | None = None, models: list[Path] | None = None,
               reading: dict | None = None) -> ExplorerApp:
    """The one factory of the app, for the CLI and the tests."""
    return ExplorerApp(workspace, demo=demo, data=data, preset=preset, tau=tau,
                       image_size=image_size, split=split, vgg_weights=vgg_weights,
                       models=models, reading=reading)


def run_app(args) -> int:
    """Run the explorer in this terminal, with C++ stderr chatter going to a log file."""
    from tlexplorer.quiet import redirect_fd2, set_verbose

    set_verbose(bool(getattr(args, "verbose", False)))
    workspace = Path(args.workspace)
    log_dir = workspace / "cache"
    try:
        log_dir.mkdir(parents=True, exist_ok=True)
        with open(log_dir / "tlexplorer.log", "a", encoding="utf-8"):
            pass
    except OSError:  # a read-only workspace can still be browsed: log elsewhere
        import tempfile

        log_dir = Path(tempfile.gettempdir())
    warnings.filterwarnings("ignore")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    # Textual draws on sys.__stderr__ (fd 2). Give it a private copy of the terminal, then point
    # fd 2 at the log so TensorFlow's C++ output never lands on the screen.
    terminal = os.fdopen(os.dup(2), "w", buffering=1, encoding="utf-8")
    saved = sys.__stderr__
    sys.__stderr__ = terminal
    try:
        app = create_app(workspace, demo=bool(getattr(args, "demo", False)),
                         data=getattr(args, "data", None), preset=getattr(args, "preset", None),
                         tau=getattr(args, "tau", None),
                         image_size=getattr(args, "image_size", None),
                         split=getattr(args, "split", None),
                         vgg_weights=getattr(args, "vgg_weights", None),
                         models=getattr(args, "model_files", None) or None,
                         reading={"batch": int(getattr(args, "batch", None) or 32),
                                  "preprocess": getattr(args, "preprocess", None) or "none",
                                  "outputs": getattr(args, "outputs", None) or "auto"})
        with redirect_fd2(log_dir / "tlexplorer.log"):
            app.run()
    finally:
        sys.__stderr__ = saved
        terminal.close()
    return app.return_code or 0
