"""What capture costs on a GPU, part by part (a script, not a test).

``KERAS_BACKEND=jax python tests/measure_gpu_capture.py OUT.jsonl [--image-size 150]
[--batch 128] [--steps 8] [--variants ...]`` times ``predict`` and capture of the VGG16 transfer
model (random weights) with parts of the capture step swapped out, and checks every histogram
variant counts exactly what the committed formulation counts. One JSON line per variant is
appended to OUT.jsonl as soon as it is known.

Variants:
- ``default``: capture as committed (the backend's choice of histogram copies);
- ``copies-K``: the GPU histogram with K copies (K=1: one plain scatter into 2048 bins);
- ``spread-K``: the earlier GPU formulation: K copies, bin 0 scattered like any other bin;
- ``no-hist``: no histogram; ``no-moments``: no centred sums; ``max-only``: per-unit maxima
  only (the floor: the forward pass with every probed output reduced once);
- ``device-only``: the committed step with no host fold (one batch in flight, results fetched
  and dropped): what the host's fold costs is the difference to ``default``.
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
    parser.add_argument("--variants", default="default,device-only,spread-2048,copies-256,"
                        "copies-1,no-hist,no-moments,max-only")
    args = parser.parse_args()

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

    committed = (reductions.histogram, reductions.centred_sums, reductions.fused_reductions)

    def spread_hist(ops, index, copies=1):  # the formulation before bin 0 was counted apart
        n_ = index.shape[0]
        lane = ops.mod(ops.arange(n_, dtype="int32"), copies)
        spread = ops.segment_sum(ops.ones_like(index), lane * HIST_BINS + index,
                                 num_segments=copies * HIST_BINS)
        return ops.sum(ops.reshape(spread, (copies, HIST_BINS)), axis=0)

    def no_hist(ops, index, copies=1):
        return ops.zeros((HIST_BINS,), "int32")

    def no_moments(ops, a, layer, s1, sum_last=None):
        zero = ops.zeros_like(s1[:, 0])
        return zero, zero, zero, zero

    def max_only(ops, a, layer, hist_copies=1, valid=None):
        a = reductions._as_units(ops, a, layer)
        image_max = ops.max(a, axis=1)
        zero = ops.zeros_like(image_max)
        return image_max, zero, zero, ops.zeros((HIST_BINS,), "int32")

    def device_only(capturer, k: int) -> None:
        pending = None
        for images, _ in batches(k):
            fetch = capturer.step(images)
            if pending is not None:
                pending()
            pending = fetch
        pending()

    reference = None
    for variant in args.variants.split(","):
        reductions.histogram, reductions.centred_sums, reductions.fused_reductions = committed
        copies = None
        if variant.startswith(("copies-", "spread-")):
            copies = int(variant.split("-")[1])
            if variant.startswith("spread-"):
                reductions.histogram = spread_hist
        elif variant == "no-hist":
            reductions.histogram = no_hist
        elif variant == "no-moments":
            reductions.centred_sums = no_moments
        elif variant == "max-only":
            reductions.centred_sums, reductions.fused_reductions = no_moments, max_only
        start = time.perf_counter()
        capturer = Capturer(model, hist_copies=copies)
        first = capturer.run(batches(1))
        compile_s = time.perf_counter() - start
        hists = np.stack([layer.hist for layer in first.layers])
        if variant == "default":
            reference = hists
        same = None if reference is None or variant in ("no-hist", "max-only") else bool(
            np.array_equal(hists, reference))
        times = []
        for _ in range(2):
            start = time.perf_counter()
            if variant == "device-only":
                device_only(capturer, args.steps)
            else:
                capturer.run(batches(args.steps))
            times.append(time.perf_counter() - start)
        rate = n / min(times)
        emit({"variant": variant, "img_s": round(rate, 1),
              "ratio": round(rate / predict_rate, 3), "ms_per_batch": round(
                  1000 * min(times) / args.steps, 1), "first_batch_s": round(compile_s, 1),
              "counts_equal_default": same})
    reductions.histogram, reductions.centred_sums, reductions.fused_reductions = committed


if __name__ == "__main__":
    main()
