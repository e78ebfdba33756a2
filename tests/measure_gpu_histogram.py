"""Which histogram formulation keeps capture near inference speed on a GPU (a script, not a test).

``KERAS_BACKEND=jax python tests/measure_gpu_histogram.py OUT.jsonl [--image-size 150]
[--batch 128] [--steps 8]`` times ``predict`` and capture of the VGG16 transfer model (random
weights) with each histogram variant, and checks every variant counts exactly what the plain
scatter counts. One JSON line per variant is appended to OUT.jsonl as soon as it is known.

Variants: ``scatter`` (one scatter-add into 2048 bins, today's), ``copies-K`` (updates spread
over K copies of the histogram, element i into copy i % K), ``sort`` (sort the bin indices, then
bin edges by binary search), ``none`` (no histogram: the cost of everything else).
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--image-size", type=int, default=150)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--variants", default="scatter,none,copies-32,copies-256,sort")
    args = parser.parse_args()

    import jax
    import jax.numpy as jnp

    from tlexplorer.bench import _timed_inputs, backend_info, default_model
    from tlexplorer.capture import reductions
    from tlexplorer.capture.engine import Capturer
    from tlexplorer.capture.result import HIST_BINS

    def emit(record: dict) -> None:
        print(json.dumps(record), flush=True)
        with open(args.out, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record) + "\n")

    info = backend_info()
    model = default_model(args.image_size)
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 255, (args.batch, args.image_size, args.image_size, 3)).astype(np.float32)
    y = rng.integers(0, 2, args.batch).astype(np.float32)
    predict, batches = _timed_inputs(x, y, info["backend"])
    n = args.batch * args.steps
    predict(model, 1)
    times = []
    for _ in range(2):
        start = time.perf_counter()
        predict(model, args.steps)
        times.append(time.perf_counter() - start)
    predict_rate = n / min(times)
    emit({"variant": "predict", "img_s": round(predict_rate, 1), **info,
          "image_size": args.image_size, "batch": args.batch})

    plain = reductions.histogram

    def sort_hist(ops, index, copies=1):
        ordered = jnp.sort(index)
        edges = jnp.searchsorted(ordered, jnp.arange(HIST_BINS + 1, dtype=jnp.int32))
        return jnp.diff(edges).astype(jnp.int32)

    def no_hist(ops, index, copies=1):
        return jnp.zeros((HIST_BINS,), jnp.int32)

    reference = None
    for variant in args.variants.split(","):
        copies = 1
        reductions.histogram = plain
        if variant.startswith("copies-"):
            copies = int(variant.split("-")[1])
        elif variant == "sort":
            reductions.histogram = sort_hist
        elif variant == "none":
            reductions.histogram = no_hist
        start = time.perf_counter()
        capturer = Capturer(model, hist_copies=copies)
        first = capturer.run(batches(1))
        compile_s = time.perf_counter() - start
        hists = np.stack([layer.hist for layer in first.layers])
        if variant == "scatter":
            reference = hists
        same = None if reference is None or variant == "none" else bool(
            np.array_equal(hists, reference))
        times = []
        for _ in range(2):
            start = time.perf_counter()
            capturer.run(batches(args.steps))
            times.append(time.perf_counter() - start)
        rate = n / min(times)
        emit({"variant": variant, "img_s": round(rate, 1),
              "ratio": round(rate / predict_rate, 3), "first_batch_s": round(compile_s, 1),
              "counts_equal_scatter": same})
    reductions.histogram = plain
    del jax


if __name__ == "__main__":
    main()
