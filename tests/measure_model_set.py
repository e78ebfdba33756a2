"""Your own models side by side: capture time per model, then the explorer with them cached
(a script, not a test).

``python tests/measure_model_set.py [--models 10] [--images 400] [--size 96] [--dir DIR]``
builds ``--models`` CNNs of 2 to 6 convolution blocks (random weights, ``--size`` px input) and a
two-class folder of ``--images`` noise PNGs, in ``DIR`` (default: a temporary folder); then

1. captures them all through the pipeline (``workbench.run_models``, an empty workspace) and
   prints, per model, the seconds from its start to its result and its images per second;
2. runs the pipeline again (everything cached) and prints its wall time;
3. opens the explorer on them, headless (``tests/measure_tui.py``): first paint and key
   latency.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))


def build(root: Path, n_models: int, n_images: int, size: int) -> tuple[list[Path], Path]:
    from data_fixtures import png_bytes, write

    from tlexplorer.quiet import import_keras

    keras = import_keras()
    data = root / "data"
    for i in range(n_images):
        write(data / ("cat", "dog")[i % 2] / f"{i}.png", png_bytes(seed=i, size=size))
    paths = []
    for m in range(n_models):
        keras.utils.set_random_seed(m)
        depth = 2 + m % 5
        inputs = keras.Input((size, size, 3))
        x = keras.layers.Rescaling(1 / 255)(inputs)
        for b in range(depth):
            x = keras.layers.Conv2D(16 * 2 ** min(b, 3), 3, padding="same", activation="relu",
                                    name=f"conv{b + 1}")(x)
            x = keras.layers.MaxPooling2D(name=f"pool{b + 1}")(x)
        x = keras.layers.GlobalAveragePooling2D()(x)
        x = keras.layers.Dense(32, activation="relu", name="fc")(x)
        outputs = keras.layers.Dense(1, activation="sigmoid", name="out")(x)
        path = root / f"cnn{m + 1:02d}_depth{depth}.keras"
        keras.Model(inputs, outputs).save(path)
        paths.append(path)
    return paths, data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=10)
    parser.add_argument("--images", type=int, default=400)
    parser.add_argument("--size", type=int, default=96)
    parser.add_argument("--dir", type=Path, default=None)
    parser.add_argument("--repeats", type=int, default=40)
    args = parser.parse_args()
    root = args.dir or Path(tempfile.mkdtemp(prefix="tlx-modelset-"))
    paths, data = build(root, args.models, args.images, args.size)
    workspace = root / "ws"

    from tlexplorer import workbench
    from tlexplorer.workbench import ModelSetRequest, run_models

    started: dict[str, float] = {}
    done: dict[str, tuple[float, float]] = {}

    def emit(event) -> None:
        now = time.perf_counter()
        if isinstance(event, workbench.Phase) and event.model and event.model not in started:
            started[event.model] = now
        elif isinstance(event, workbench.ModelDone):
            done[event.label] = (now - started.get(event.label, now), event.result.wall_s)

    request = ModelSetRequest(tuple(paths), data, workspace)
    t0 = time.perf_counter()
    run_models(request, emit)
    cold = time.perf_counter() - t0
    print(f"{args.models} models, {args.images} images of {args.size} px, "
          f"{Path(root)}")
    print("1. capture, empty workspace (load + probe + capture per model):")
    for label, (total, capture) in done.items():
        print(f"  {label:18s} {total:6.2f} s   capture pass {capture:6.2f} s   "
              f"{args.images / capture:7.1f} img/s")
    print(f"  all, with the folder scan and weight shift: {cold:.1f} s; median per model "
          f"{statistics.median(t for t, _ in done.values()):.2f} s")
    t0 = time.perf_counter()
    run_models(request)
    print(f"2. the same again, all cached: {time.perf_counter() - t0:.2f} s")

    from measure_tui import measure, print_timings

    results = asyncio.run(measure(workspace, (160, 48), args.repeats, images=False,
                                  models=paths, data=data))
    print("3. the explorer on them, cached, 160x48, headless:")
    tf_at_start = results.pop("TensorFlow imported before the image views", None)
    print_timings(results)
    print("  (this process built the models, so TensorFlow was loaded anyway:",
          f"{tf_at_start}; see measure_tui.py for a process that did not)")


if __name__ == "__main__":
    main()
