"""Training the suite: demo base pretraining, the five recipes, atomic saves, resumable runs.

Progress goes to a callback as :class:`TrainEvent` objects (the CLI's rich display and the app's
worker both listen); a ``threading.Event`` cancels between batches. A model is saved only when its
training finished, so Ctrl+C or Escape leave finished models intact and the next run skips them.
"""

from __future__ import annotations

import contextlib
import math
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tlexplorer import __version__, zoo
from tlexplorer.data import pipeline, synthetic
from tlexplorer.data.sources import DataSource, SyntheticSource
from tlexplorer.errors import Cancelled, UserError
from tlexplorer.fsio import atomic_write, atomic_write_json, read_json
from tlexplorer.presets import Preset
from tlexplorer.quiet import backend_name, import_keras, import_tensorflow
from tlexplorer.suite import (
    META_FORMAT,
    ModelFiles,
    ModelMeta,
    base_files,
    file_sha256,
    model_files,
    suite_dir,
    suite_name,
)


@dataclass
class TrainEvent:
    """One progress report. ``kind``: phase, batch, epoch, saved, skipped, info."""

    kind: str
    model: str  # "base", "1".."5"
    phase: str = ""  # "base pretraining", "training", "fine-tuning", "evaluating"
    epoch: int = 0  # 1-based
    epochs: int = 0
    batch: int = 0  # 1-based within the epoch
    steps: int = 0
    logs: dict[str, float] = field(default_factory=dict)
    message: str = ""


ProgressFn = Callable[[TrainEvent], None]


def steps_per_execution(preset: Preset) -> int:
    """Training batches per call into the backend: 8 where a batch is small (the demo and smoke
    presets' ≤ 64 px), so Python's per-step overhead stops mattering; 1 for larger images, where
    the progress bar should move on every batch. The same weights either way (the same
    operations in the same order, in one compiled loop)."""
    return 8 if preset.image_size <= 64 else 1


def _noop(_: TrainEvent) -> None:
    pass


def _progress_callback(
    keras,
    model_label: str,
    phase: str,
    epochs: int,
    steps: int,
    progress: ProgressFn,
    cancel: threading.Event | None,
):
    class _Progress(keras.callbacks.Callback):
        epoch = 0

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch + 1

        def on_train_batch_end(self, batch, logs=None):
            progress(
                TrainEvent(
                    "batch",
                    model_label,
                    phase,
                    self.epoch,
                    epochs,
                    batch + 1,
                    steps,
                    {k: float(v) for k, v in (logs or {}).items()},
                )
            )
            if cancel is not None and cancel.is_set():
                self.model.stop_training = True

        def on_epoch_end(self, epoch, logs=None):
            progress(
                TrainEvent(
                    "epoch",
                    model_label,
                    phase,
                    epoch + 1,
                    epochs,
                    steps,
                    steps,
                    {k: float(v) for k, v in (logs or {}).items()},
                )
            )
            if cancel is not None and cancel.is_set():
                self.model.stop_training = True

    return _Progress()


def _fit(
    model,
    train_ds,
    val_ds,
    epochs: int,
    steps: int,
    label: str,
    phase: str,
    progress: ProgressFn,
    cancel: threading.Event | None,
) -> dict[str, list[float]]:
    keras = import_keras()
    progress(TrainEvent("phase", label, phase, 0, epochs, 0, steps))
    callbacks = [_progress_callback(keras, label, phase, epochs, steps, progress, cancel)]
    if hasattr(train_ds, "epoch_callback"):  # pipeline.batches: each epoch's seeded order
        callbacks.insert(0, train_ds.epoch_callback())
    history = model.fit(
        train_ds,
        validation_data=val_ds,
        epochs=epochs,
        verbose=0,
        shuffle=False,  # the pipelines shuffle, seeded; Keras would reshuffle whole batches
        callbacks=callbacks,
    )
    if cancel is not None and cancel.is_set():
        raise Cancelled(f"training of model {label} cancelled; it was not saved")
    return {k: [float(v) for v in vals] for k, vals in history.history.items()}


def _trains_on_features(recipe, model, source: DataSource) -> bool:
    """Whether to train ``recipe`` with :func:`_fit_on_features`: the frozen base without
    augmentation (recipe 3), when the features of its training and validation images fit in
    :data:`pipeline.CACHE_BYTES` (else it trains end to end, as recipe 4)."""
    if not recipe.frozen_feature_extractor:
        return False
    per_image = math.prod(model.get_layer("flatten").output.shape[1:]) * 4
    n = pipeline.n_images(source, "train") + pipeline.n_images(source, "val")
    return n * per_image <= pipeline.CACHE_BYTES


def _fit_on_features(model, images: dict, bs: int, rid: int, lr: float, epochs: int,
                     steps: int, spe: int, progress: ProgressFn,
                     cancel: threading.Event | None) -> dict[str, list[float]]:
    """Recipe 3 as the book that the poster follows trains it ("fast feature extraction
    without data augmentation"): the frozen base runs once over the training and validation
    images, and only the head trains on those features, epoch after epoch. The head layers are
    the model's own (:func:`zoo.split_at_flatten`), so ``model`` comes out trained. The same
    arithmetic as running the frozen base in every step, without repeating it: the demo's
    model 3 took 13-15 s that way on 2 cores."""
    label = str(rid)
    features, head = zoo.split_at_flatten(model)
    zoo.compile_model(head, lr, spe)
    n = len(images["train"]) + len(images["val"])
    progress(TrainEvent("info", label, message=f"model {rid}: frozen base once over {n} images; "
                        "the head trains on their features"))
    subsets = {}
    for subset in ("train", "val"):
        if cancel is not None and cancel.is_set():
            raise Cancelled(f"training of model {label} cancelled; it was not saved")
        feats = features.predict(pipeline.batches(images[subset], bs), verbose=0)
        subsets[subset] = pipeline.SubsetImages(images[subset].labels, arrays=feats)
    train = pipeline.batches(subsets["train"], bs, shuffle=True, seed=rid)
    val = pipeline.batches(subsets["val"], bs)
    return _fit(head, train, val, epochs, steps, label, "training", progress, cancel)


def uses_tf_data() -> bool:
    """Whether training reads its batches through tf.data (the TensorFlow backend) rather than
    :func:`tlexplorer.data.pipeline.batches` (every other backend, no TensorFlow)."""
    return backend_name() == "tensorflow"


@contextlib.contextmanager
def _tensorflow_left_alone() -> Iterator[None]:
    """Keep Keras from importing TensorFlow on another backend while training.

    ``keras.utils.set_random_seed`` (to seed TensorFlow too) and ``Model.save`` (to recognise
    a ``tf.TensorShape``) ask Keras's lazy ``tensorflow`` module whether it is available, which
    imports TensorFlow when it is installed: seconds and hundreds of MB for nothing. Meanwhile
    it answers "available" only once something has imported TensorFlow: before that, nothing
    can hold a TensorFlow object or draw from its random state, so no result changes.
    """
    if backend_name() == "tensorflow" or "tensorflow" in sys.modules:
        yield
        return
    try:
        from keras.src.utils import module_utils

        lazy = module_utils.tensorflow
        keras_class = type(lazy)
        if not isinstance(getattr(keras_class, "available", None), property):
            raise AttributeError("available")
    except (ImportError, AttributeError):  # another Keras: the test of this module will tell
        yield
        return

    class OnlyOnceImported(keras_class):
        @property
        def available(self) -> bool:
            return "tensorflow" in sys.modules and keras_class.available.fget(self)

    lazy.__class__ = OnlyOnceImported
    try:
        yield
    finally:
        lazy.__class__ = keras_class


def _save_model(model, files: ModelFiles, meta: dict[str, Any]) -> dict[str, Any]:
    atomic_write(files.model_path, lambda tmp: model.save(tmp), suffix=".keras")
    meta = dict(
        meta,
        format=META_FORMAT,
        model_file=files.model_path.name,
        model_sha256=file_sha256(files.model_path),
        tlexplorer_version=__version__,
    )
    atomic_write_json(files.meta_path, meta)
    return meta


def _ensure_suite_json(directory: Path, source: DataSource, preset: Preset) -> None:
    info = {
        "format": META_FORMAT,
        "preset": preset.to_json(),
        "data": source.to_json(),
        "demo": isinstance(source, SyntheticSource),
    }
    path = directory / "suite.json"
    # A suite without any model file (a first run that failed or was interrupted) has nothing
    # to protect: its suite.json is replaced by this run's.
    has_models = any(directory.glob("*.keras"))
    if path.is_file() and has_models:
        try:
            old = read_json(path)
        except ValueError:
            old = None
        if not isinstance(old, dict) or not isinstance(old.get("data"), dict):
            old = None
        if old and old["data"].get("fingerprint") not in (None, source.fingerprint):
            raise UserError(
                f"{directory} holds models trained on other data (fingerprint "
                f"{old['data']['fingerprint']}, now {source.fingerprint}); use another --workspace"
            )
        size = old["data"].get("image_size") if old else None
        if size not in (None, source.image_size):
            raise UserError(
                f"{directory} holds models trained at {size} px, not {source.image_size} px; "
                "drop --image-size or use another --workspace"
            )
    atomic_write_json(path, info)


def pretrain_base(
    workspace: Path,
    suite: str,
    preset: Preset,
    progress: ProgressFn = _noop,
    cancel: threading.Event | None = None,
):
    """The demo's VGG-shaped base, pretrained on the synthetic *source* task (saved once)."""
    with _tensorflow_left_alone():
        return _pretrain_base(workspace, suite, preset, progress, cancel)


def _pretrain_base(workspace: Path, suite: str, preset: Preset, progress: ProgressFn,
                   cancel: threading.Event | None):
    keras = import_keras()
    files = base_files(workspace, suite)
    n_classes = len(synthetic.SOURCE_CLASSES)
    n_train = preset.source_images_per_class * n_classes
    n_val = max(n_classes * 4, n_train // 8)
    spec = synthetic.SyntheticSpec("source", preset.image_size, (n_train, n_val), seed=7)
    meta, why = files.check(spec.fingerprint())
    if meta is not None:
        progress(TrainEvent("skipped", "base", "base pretraining", message="already trained"))
        return zoo.load_model(files.model_path)
    if files.meta_path.is_file():
        progress(TrainEvent("info", "base", message=f"retraining the base: {why}"))
    (x_train, y_train), (x_val, y_val) = synthetic.generate(spec)
    start = time.time()
    keras.utils.set_random_seed(100)
    model = zoo.build_source_classifier(preset, n_classes)
    model.compile(
        # Adam with clipped gradients: a plain 13-conv ReLU stack trained from scratch leaves
        # chance level within a few epochs this way (RMSprop barely leaves it).
        optimizer=keras.optimizers.Adam(preset.source_lr, clipnorm=1.0),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
        steps_per_execution=steps_per_execution(preset),
    )
    bs = preset.source_batch_size or preset.batch_size
    if uses_tf_data():
        tf, _ = import_tensorflow()
        train_ds = (
            tf.data.Dataset.from_tensor_slices((x_train.astype("float32"), y_train))
            .shuffle(4096, seed=1)
            .batch(bs)
            .prefetch(tf.data.AUTOTUNE)
        )
        val_ds = tf.data.Dataset.from_tensor_slices((x_val.astype("float32"), y_val)).batch(bs)
    else:
        train_ds = pipeline.batches(pipeline.SubsetImages(y_train, arrays=x_train), bs,
                                    shuffle=True, seed=1)
        val_ds = pipeline.batches(pipeline.SubsetImages(y_val, arrays=x_val), bs)
    steps = -(-n_train // bs)
    history = _fit(
        model,
        train_ds,
        val_ds,
        preset.source_epochs,
        steps,
        "base",
        "base pretraining",
        progress,
        cancel,
    )
    meta = {
        "id": 0,
        "slug": "base",
        "name": "VGG-shaped base, pretrained on the synthetic source task",
        "preset": preset.name,
        "source_task": {
            "classes": list(synthetic.SOURCE_CLASSES),
            "fingerprint": spec.fingerprint(),
            "train": n_train,
            "val": n_val,
        },
        # What ModelMeta (and so the check above) reads: without it the base was retrained
        # on every run that needed it.
        "data": {"kind": "synthetic-source", "fingerprint": spec.fingerprint()},
        "epochs_run": len(history.get("loss", [])),
        "history": history,
        "val_accuracy": history.get("val_accuracy", [float("nan")])[-1],
        "wall_s": round(time.time() - start, 2),
    }
    _save_model(model, files, meta)
    progress(
        TrainEvent(
            "saved",
            "base",
            "base pretraining",
            message=str(files.model_path),
            logs={"val_accuracy": meta["val_accuracy"]},
        )
    )
    return model


def train_suite(
    workspace: Path,
    source: DataSource,
    preset: Preset,
    model_ids: list[int] | None = None,
    epochs: int | None = None,
    vgg_weights: Path | None = None,
    progress: ProgressFn = _noop,
    cancel: threading.Event | None = None,
    on_saved: Callable[[int], None] | None = None,
) -> dict[int, ModelMeta]:
    """Train whatever of ``model_ids`` is missing; returns each model's metadata.

    ``on_saved(id)`` runs as soon as a model is saved, before the next one trains, so a caller
    can capture and show model 1 while 2 to 5 are still to come. Missing VGG16 ImageNet weights
    are found before the first model trains, not after the two CNNs.

    On the TensorFlow backend batches come from tf.data; on any other, from numpy
    (:func:`tlexplorer.data.pipeline.batches`) and TensorFlow is never imported.
    """
    with _tensorflow_left_alone():
        return _train_suite(workspace, source, preset, model_ids, epochs, vgg_weights, progress,
                            cancel, on_saved)


def _train_suite(workspace: Path, source: DataSource, preset: Preset, model_ids: list[int] | None,
                 epochs: int | None, vgg_weights: Path | None, progress: ProgressFn,
                 cancel: threading.Event | None,
                 on_saved: Callable[[int], None] | None) -> dict[int, ModelMeta]:
    from tlexplorer.data.sources import check_binary

    check_binary(source.class_names)
    keras = import_keras()
    demo = isinstance(source, SyntheticSource)
    suite = suite_name(demo, preset.name)
    directory = suite_dir(workspace, suite)
    directory.mkdir(parents=True, exist_ok=True)
    _ensure_suite_json(directory, source, preset)

    wanted = sorted(set(model_ids or RECIPE_IDS))
    todo: list[int] = []
    results: dict[int, ModelMeta] = {}
    for rid in wanted:
        meta, why = model_files(workspace, suite, rid).check(source.fingerprint)
        if meta is not None:
            results[rid] = meta
            progress(TrainEvent("skipped", str(rid), message="already trained"))
        else:
            if why != "not trained yet":
                progress(TrainEvent("info", str(rid), message=f"retraining model {rid}: {why}"))
            todo.append(rid)
    if 5 in todo and 4 not in todo and 4 not in results:
        todo.insert(todo.index(5), 4)  # 5 is fine-tuned from a trained 4
    if not todo:
        return results

    if preset.base == "vgg16" and any(zoo.RECIPES[r].transfer for r in todo):
        vgg_weights = zoo.ensure_vgg16_weights(vgg_weights)
    base_source = None  # the demo's pretrained base, made just before the first transfer model

    bs = preset.batch_size
    images = None
    if uses_tf_data():
        val_ds = pipeline.dataset(source, "val", bs)
        test_ds = pipeline.dataset(source, "test", bs)
    else:  # each subset decoded once for all the models of this run
        images = pipeline.subset_images(source)
        val_ds = pipeline.batches(images["val"], bs)
        test_ds = pipeline.batches(images["test"], bs)
    steps = -(-pipeline.n_images(source, "train") // bs)
    base_meta = _base_description(workspace, suite, preset, vgg_weights)

    for rid in todo:
        recipe = zoo.RECIPES[rid]
        n_epochs = epochs if epochs is not None else preset.epochs[rid]
        lr = preset.learning_rates[rid]
        if (recipe.transfer and not recipe.fine_tune and preset.base != "vgg16"
                and base_source is None):
            # Before the seed: pretraining (or loading) the base draws random numbers, and
            # this model must not depend on whether the base was made in this run.
            base_source = pretrain_base(workspace, suite, preset, progress, cancel)
            base_meta = _base_description(workspace, suite, preset, vgg_weights)
        start = time.time()  # the base's pretraining is its own wall time, not this model's
        keras.utils.set_random_seed(1000 + rid)
        if recipe.fine_tune:
            model4 = zoo.load_model(model_files(workspace, suite, 4).model_path)
            model = zoo.fine_tune(model4)
            phase = "fine-tuning"
        else:
            model = zoo.build(rid, preset, base_source=base_source, vgg_weights=vgg_weights)
            phase = "training"
        zoo.compile_model(model, lr, steps_per_execution(preset))
        on_features = _trains_on_features(recipe, model, source)
        if on_features:
            subsets = images or pipeline.subset_images(source, ("train", "val"))
            history = _fit_on_features(model, subsets, bs, rid, lr, n_epochs, steps,
                                       steps_per_execution(preset), progress, cancel)
        else:
            # A fresh pipeline per model: its shuffle order must not depend on which other
            # models were trained earlier in the same run (a resumed run gives the same models).
            if uses_tf_data():
                train_ds = pipeline.dataset(source, "train", bs, shuffle=True, seed=rid)
            else:
                train_ds = pipeline.batches(images["train"], bs, shuffle=True, seed=rid)
            history = _fit(model, train_ds, val_ds, n_epochs, steps, str(rid), phase, progress,
                           cancel)
        progress(TrainEvent("phase", str(rid), "evaluating"))
        test_loss, test_acc = model.evaluate(test_ds, verbose=0)
        meta = {
            "id": rid,
            "slug": recipe.slug,
            "name": recipe.name,
            "recipe": {
                "transfer": recipe.transfer,
                "augment": recipe.augment,
                "fine_tune": recipe.fine_tune,
                "learning_rate": lr,
                "optimizer": "RMSprop",
                "batch_size": bs,
                "trainable_base_blocks": ["block5"] if recipe.fine_tune else [],
                # the frozen base run once, the head trained on its features (recipe 3)
                "head_on_features": on_features,
                "preprocessing": zoo.PREPROCESSING,
            },
            "preset": preset.name,
            "suite": suite,
            "demo": demo,
            "data": {
                "kind": source.kind,
                "fingerprint": source.fingerprint,
                "split_seed": source.split_seed,
                "class_names": source.class_names,
                "description": source.description,
            },
            "base": base_meta if recipe.transfer else None,
            "epochs_requested": n_epochs,
            "epochs_run": len(history.get("loss", [])),
            "history": history,
            "val_accuracy": history.get("val_accuracy", [float("nan")])[-1],
            "test_accuracy": float(test_acc),
            "test_loss": float(test_loss),
            "wall_s": round(time.time() - start, 2),
        }
        files = model_files(workspace, suite, rid)
        results[rid] = ModelMeta.from_json(_save_model(model, files, meta))
        progress(
            TrainEvent(
                "saved",
                str(rid),
                phase,
                message=str(files.model_path),
                logs={"test_accuracy": float(test_acc)},
            )
        )
        if on_saved is not None:
            on_saved(rid)
    return {rid: results[rid] for rid in sorted(results)}


RECIPE_IDS = sorted(zoo.RECIPES)


def _base_description(workspace: Path, suite: str, preset: Preset, vgg_weights: Path | None):
    if preset.base == "vgg16":
        path = zoo.vgg16_weights_path(vgg_weights)
        return {
            "kind": "vgg16-imagenet",
            "weights_file": str(path) if path else "imagenet",
            "weights_sha256": file_sha256(path) if path else None,
        }
    files = base_files(workspace, suite)
    return {
        "kind": "vgg-shaped, pretrained on synthetic source task",
        "file": files.model_path.name,
        "sha256": file_sha256(files.model_path) if files.model_path.is_file() else None,
    }
