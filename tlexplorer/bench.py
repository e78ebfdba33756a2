"""``tlexplorer bench``: capture throughput against plain ``model.predict``, and capture memory.

In one process, on the same model, input batches and batch size: times ``predict`` and the full
capture over N images (warm-up first, then alternating repeats, best of each), and samples the
resident memory during a capture over N and over 4N images. Inputs are one random batch
repeated, so the input pipeline itself holds constant memory.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

from tlexplorer.errors import UserError


def _rss_mb() -> float:
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class PeakRss:
    """Samples VmRSS every few milliseconds while active; ``peak_mb`` is the highest seen."""

    def __init__(self, interval: float = 0.005) -> None:
        self.interval = interval
        self.peak_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak_mb = max(self.peak_mb, _rss_mb())
            time.sleep(self.interval)

    def __enter__(self) -> PeakRss:
        self.peak_mb = _rss_mb()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak_mb = max(self.peak_mb, _rss_mb())


def default_model(image_size: int):
    """The paper-scale frozen VGG16 transfer model (recipe 3) with random weights, offline."""
    from tlexplorer import zoo
    from tlexplorer.presets import PAPER
    from tlexplorer.quiet import import_keras

    keras = import_keras()
    inputs = keras.Input((image_size, image_size, 3), name="image")
    x = keras.layers.Rescaling(1 / 255, name="rescale")(inputs)
    base = keras.applications.VGG16(include_top=False, weights=None, input_tensor=x)
    x = keras.layers.Flatten(name="flatten")(base.output)
    x = keras.layers.Dense(PAPER.head_units, activation="relu", name="fc1")(x)
    x = keras.layers.Dropout(0.5, name="dropout")(x)
    outputs = keras.layers.Dense(1, activation="sigmoid", name="output")(x)
    model = keras.Model(inputs, outputs, name="vgg16_frozen_random")
    zoo.set_base_trainable(model, ())
    return model


def backend_info() -> dict:
    """The Keras backend, the device it computes on (a GPU's name, or "cpu") and versions."""
    from tlexplorer.quiet import import_keras

    keras = import_keras()
    backend = keras.backend.backend()
    info = {"backend": backend, "device": "cpu", "keras": keras.__version__}
    try:
        if backend == "jax":
            import jax

            device = jax.devices()[0]
            info["jax"] = jax.__version__
            if device.platform != "cpu":
                info["device"] = device.device_kind
        elif backend == "tensorflow":
            from tlexplorer.quiet import import_tensorflow

            tf, _ = import_tensorflow()
            info["tensorflow"] = tf.__version__
            gpus = tf.config.list_physical_devices("GPU")
            if gpus:
                details = tf.config.experimental.get_device_details(gpus[0])
                info["device"] = details.get("device_name", gpus[0].name)
        elif backend == "torch":
            import torch

            info["torch"] = torch.__version__
            if torch.cuda.is_available():
                info["device"] = torch.cuda.get_device_name(0)
    except Exception as exc:  # noqa: BLE001 - the figures stand without the device's name
        info["device_error"] = f"{type(exc).__name__}: {exc}"
    return info


def peak_device_memory_mb() -> float | None:
    """Peak memory the backend allocated on its GPU so far, if it can tell (else None)."""
    from tlexplorer.quiet import import_keras

    backend = import_keras().backend.backend()
    try:
        if backend == "jax":
            import jax

            device = jax.devices()[0]
            stats = device.memory_stats() if device.platform != "cpu" else None
            peak = (stats or {}).get("peak_bytes_in_use")
            return None if peak is None else round(peak / 2**20, 1)
        if backend == "tensorflow":
            from tlexplorer.quiet import import_tensorflow

            tf, _ = import_tensorflow()
            if tf.config.list_physical_devices("GPU"):
                return round(tf.config.experimental.get_memory_info("GPU:0")["peak"] / 2**20, 1)
    except Exception:  # noqa: BLE001 - not every device reports memory
        return None
    return None


def _timed_inputs(x, y, backend: str):
    """``predict(steps)`` and ``batches(k)``: the same batch repeated, as the backend's fastest
    plain-inference path and as capture's input (tf.data on TensorFlow, as before)."""
    if backend == "tensorflow":
        from tlexplorer.quiet import import_tensorflow

        tf, _ = import_tensorflow()

        def predict(model, steps: int) -> None:
            model.predict(tf.data.Dataset.from_tensors(x).repeat(steps), verbose=0)

        def batches(k: int):
            return tf.data.Dataset.from_tensors((x, y)).repeat(k)

        return predict, batches

    def predict(model, steps: int) -> None:
        import contextlib

        precision = contextlib.nullcontext()
        if backend == "jax":  # the same precision as capture's (full float32 products)
            import jax

            from tlexplorer.capture.backends import CAPTURE_PRECISION

            precision = jax.default_matmul_precision(CAPTURE_PRECISION)
        with precision:
            for _ in range(steps):
                model.predict_on_batch(x)  # the compiled predict function, returns numpy

    def batches(k: int):
        return [(x, y)] * k

    return predict, batches


def run_benchmark(model, images: int, batch: int, repeats: int = 2, topk: int | None = None,
                  log=print) -> dict:
    import numpy as np

    from tlexplorer.capture.engine import Capturer
    from tlexplorer.capture.result import DEFAULT_TOPK

    info = backend_info()
    topk = DEFAULT_TOPK if topk is None else topk
    shape = tuple(int(d) for d in model.inputs[0].shape[1:])
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 255, (batch, *shape)).astype(np.float32)
    y = rng.integers(0, 2, batch).astype(np.float32)
    steps = max(1, images // batch)
    n = steps * batch
    predict, batches = _timed_inputs(x, y, info["backend"])
    capturer = Capturer(model, topk=topk)
    log(f"warming up on {info['backend']} ({info['device']}): compiling predict and capture…")
    predict(model, 1)
    capturer.run(batches(1))
    t_predict, t_capture = [], []
    for r in range(repeats):
        log(f"timing {n} images, round {r + 1}/{repeats}…")
        start = time.perf_counter()
        predict(model, steps)
        t_predict.append(time.perf_counter() - start)
        start = time.perf_counter()
        capturer.run(batches(steps))
        t_capture.append(time.perf_counter() - start)
    log(f"memory: capture over {n} and {4 * n} images…")
    with PeakRss() as rss_n:
        capturer.run(batches(steps))
    with PeakRss() as rss_4n:
        capturer.run(batches(4 * steps))
    predict_rate = n / min(t_predict)
    capture_rate = n / min(t_capture)
    return {
        "model": model.name, "input_shape": list(shape), "images": n, "batch": batch,
        "probed_layers": len(capturer.probe.layers), "topk": topk,
        "predict_img_s": round(predict_rate, 2), "capture_img_s": round(capture_rate, 2),
        "ratio": round(capture_rate / predict_rate, 3),
        "rss_mb_n": round(rss_n.peak_mb, 1), "rss_mb_4n": round(rss_4n.peak_mb, 1),
        "rss_growth_pct": round(100 * (rss_4n.peak_mb - rss_n.peak_mb) / rss_n.peak_mb, 2),
        "peak_device_mb": peak_device_memory_mb(), **info,
    }


def run_feature_map_benchmark(model, repeats: int = 5, log=print) -> dict:
    """What the explorer's feature-map view costs: one image, every probed layer.

    Per layer, the median of ``repeats`` calls of :func:`capture.featuremaps.feature_maps` after
    one warm-up call (the view pays that first call once per layer and model).
    """
    import statistics

    import numpy as np

    from tlexplorer.capture.featuremaps import feature_maps
    from tlexplorer.capture.probe import build_probe

    info = backend_info()
    shape = tuple(int(d) for d in model.inputs[0].shape[1:])
    image = np.random.default_rng(0).uniform(0, 255, shape).astype(np.float32)
    probe = build_probe(model)
    per_layer, first = {}, {}
    for layer in probe.layers:
        log(f"feature maps of {layer.name}…")
        start = time.perf_counter()
        feature_maps(model, image, layer.name, probe)
        first[layer.name] = round(1000 * (time.perf_counter() - start), 1)
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            feature_maps(model, image, layer.name, probe)
            times.append(time.perf_counter() - start)
        per_layer[layer.name] = round(1000 * statistics.median(times), 1)
    return {"model": model.name, "input_shape": list(shape), "repeats": repeats,
            "feature_maps_ms": per_layer, "first_call_ms": first, **info}


def paper_model_random(recipe_id: int, image_size: int):
    """Recipe ``recipe_id`` at paper scale with a randomly initialised VGG16 base (offline):
    the same layers, augmentation and trainable set as the real one, for timing only."""
    import dataclasses

    from tlexplorer import zoo
    from tlexplorer.presets import PAPER
    from tlexplorer.quiet import import_keras

    keras = import_keras()
    preset = dataclasses.replace(PAPER, image_size=image_size)
    recipe = zoo.RECIPES[recipe_id]
    if not recipe.transfer:
        return zoo.build(recipe_id, preset)
    inputs, x = zoo._stem(preset, recipe.augment)
    base = keras.applications.VGG16(include_top=False, weights=None, input_tensor=x)
    x = keras.layers.Flatten(name="flatten")(base.output)
    x = keras.layers.Dense(preset.head_units, activation="relu", name="fc1")(x)
    x = keras.layers.Dropout(0.5, name="dropout")(x)
    outputs = keras.layers.Dense(1, activation="sigmoid", name="output")(x)
    model = keras.Model(inputs, outputs, name=f"model{recipe_id}_{recipe.slug}_random")
    zoo.set_base_trainable(model, ("block5",) if recipe.fine_tune else ())
    return model


def run_training_benchmark(images: int, image_size: int, log=print) -> dict:
    """The paper preset's training cost, estimated: one timed epoch of each recipe on
    ``images`` synthetic images with validation on a third as many (3000/1000, as the paper),
    random VGG16 weights (timing only), after a warm-up on a few batches (compilation), times
    the preset's epochs for that recipe; for recipe 3, plus the one pass of the frozen base
    over both sets that its head then trains on."""
    import numpy as np

    from tlexplorer import zoo
    from tlexplorer.presets import PAPER

    info = backend_info()
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 255, (images, image_size, image_size, 3)).astype(np.float32)
    y = rng.integers(0, 2, images).astype(np.float32)
    batch = PAPER.batch_size
    per_recipe = {}
    for rid in sorted(zoo.RECIPES):
        model = paper_model_random(rid, image_size)
        data, val = x, (x[: images // 3], y[: images // 3])  # the paper's 3000/1000 split
        feature_s = 0.0
        if zoo.RECIPES[rid].frozen_feature_extractor:
            # As training runs recipe 3: the frozen base once over both sets, then the head
            # alone on the features every epoch (training._fit_on_features).
            log(f"recipe {rid}: the frozen base once over {images + images // 3} images…")
            features, model = zoo.split_at_flatten(model)
            features.predict(x[:batch], batch_size=batch, verbose=0)  # compiling
            start = time.perf_counter()
            data = features.predict(x, batch_size=batch, verbose=0)
            val = (features.predict(val[0], batch_size=batch, verbose=0), val[1])
            feature_s = time.perf_counter() - start
        log(f"recipe {rid}: compiling and one epoch of {images} images…")
        zoo.compile_model(model, PAPER.learning_rates[rid])
        model.fit(data[: 4 * batch], y[: 4 * batch], batch_size=batch, epochs=1, verbose=0,
                  validation_data=(val[0][: 2 * batch], val[1][: 2 * batch]))
        start = time.perf_counter()
        model.fit(data, y, batch_size=batch, epochs=1, verbose=0, validation_data=val)
        epoch_s = time.perf_counter() - start
        epochs = PAPER.epochs[rid]
        per_recipe[str(rid)] = {"epoch_s": round(epoch_s, 2), "img_s": round(images / epoch_s, 1),
                                "epochs": epochs, "feature_s": round(feature_s, 2),
                                "estimate_s": round(feature_s + epoch_s * epochs, 1)}
        del model
    total = sum(r["estimate_s"] for r in per_recipe.values())
    return {"images": images, "image_size": image_size, "batch": batch,
            "weights": "random (timing only)", "recipes": per_recipe,
            "estimate_total_s": round(total, 1), "peak_device_mb": peak_device_memory_mb(),
            **info}


def run_fingerprint_benchmark(folder: Path, repeats: int = 3, log=print) -> dict:
    """What identifying a test set by content costs: scan ``folder``, then hash every image's
    bytes ``repeats`` times (the first pass may read from disk; later ones from the page cache).
    """
    from tlexplorer.data.layouts import scan_dataset
    from tlexplorer.data.split import compute_fingerprint

    start = time.perf_counter()
    scan = scan_dataset(folder)
    scan_s = time.perf_counter() - start
    records = list(scan.records)
    size = sum(r.path.stat().st_size for r in records)
    times = []
    for r in range(repeats):
        log(f"fingerprint of {len(records)} files, pass {r + 1}/{repeats}…")
        start = time.perf_counter()
        compute_fingerprint(0, scan.class_names, [[], [], records])
        times.append(time.perf_counter() - start)
    return {"files": len(records), "mbytes": round(size / 2**20, 1),
            "scan_s": round(scan_s, 3), "fingerprint_first_s": round(times[0], 3),
            "fingerprint_warm_s": round(min(times[1:] or times), 3)}


def run_bench(args) -> int:
    from tlexplorer.console import console

    if getattr(args, "fingerprint", None) is not None:
        log = console.log if not args.json else (lambda *a, **k: None)
        result = run_fingerprint_benchmark(args.fingerprint, log=log)
        if not args.json:
            console.print(f"{result['files']} images, {result['mbytes']} MiB: scan "
                          f"{result['scan_s']:.2f} s, content fingerprint "
                          f"{result['fingerprint_first_s']:.2f} s first, "
                          f"{result['fingerprint_warm_s']:.2f} s warm (goal < 1 s warm)")
        print(json.dumps(result))
        return 0

    if getattr(args, "training", False):
        from tlexplorer.presets import PAPER

        log = console.log if not args.json else (lambda *a, **k: None)
        result = run_training_benchmark(args.images, args.image_size or PAPER.image_size, log=log)
        if not args.json:
            console.print(f"paper preset training on {result['backend']} ({result['device']}), "
                          f"{result['images']} images at {result['image_size']} px, random "
                          "VGG16 weights (timing only):")
            for rid, r in result["recipes"].items():
                once = (f"{r['feature_s']:.1f} s for the base's features + "
                        if r["feature_s"] else "")
                console.print(f"  model {rid}: {once}{r['epoch_s']:.1f} s/epoch ({r['img_s']:.0f} "
                              f"img/s) × {r['epochs']} epochs ≈ {r['estimate_s'] / 60:.1f} min")
            console.print(f"  all five ≈ {result['estimate_total_s'] / 60:.1f} min")
        print(json.dumps(result))
        return 0

    if args.model is not None:
        from tlexplorer.zoo import load_model

        if not Path(args.model).is_file():
            raise UserError(f"model file not found: {args.model}")
        model = load_model(args.model)
    else:
        with console.status("building the VGG16 transfer model (random weights)…"):
            from tlexplorer.presets import PAPER

            model = default_model(args.image_size or PAPER.image_size)
    log = console.log if not args.json else (lambda *a, **k: None)
    if args.feature_maps:
        result = run_feature_map_benchmark(model, log=log)
        if not args.json:
            console.print(f"model {result['model']} {result['input_shape']}: one image's "
                          "feature maps per layer, median of 5 (first call)")
            for name, ms in result["feature_maps_ms"].items():
                console.print(f"  {name:24s} {ms:8.1f} ms  ({result['first_call_ms'][name]:.1f})")
        print(json.dumps(result))
        return 0
    result = run_benchmark(model, args.images, args.batch, topk=args.topk, log=log)
    if not args.json:
        console.print(f"model {result['model']} {result['input_shape']}, "
                      f"{result['probed_layers']} probed layers, batch {result['batch']}, "
                      f"backend {result['backend']} on {result['device']}")
        console.print(f"predict  {result['predict_img_s']:.2f} img/s")
        console.print(f"capture  {result['capture_img_s']:.2f} img/s  "
                      f"(ratio {result['ratio']:.3f}; goal ≥ 0.9)")
        console.print(f"peak RSS during capture: {result['rss_mb_n']:.0f} MB over "
                      f"{result['images']} images, {result['rss_mb_4n']:.0f} MB over "
                      f"{4 * result['images']} ({result['rss_growth_pct']:+.1f} %; goal ≤ 10 %)")
        if result["peak_device_mb"] is not None:
            console.print(f"peak device memory: {result['peak_device_mb']:.0f} MB")
    print(json.dumps(result))
    return 0
