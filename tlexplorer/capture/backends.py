"""What ``keras.ops`` leaves to each Keras backend: compiling the per-batch capture step, and
bringing its results to the host.

The reductions themselves are written once, on ``keras.ops``
(:func:`tlexplorer.capture.reductions.layer_reductions`). Here each backend compiles them:

- **tensorflow**: the forward pass on TensorFlow's own kernels (oneDNN convolutions on the CPU)
  inside a ``tf.function``; the reductions compiled with XLA (``jit_compile``) for the first
  batch's size, the three centred sums as one variadic reduce (XLA's ``XlaVariadicReduceV2``).
- **jax**: the whole step, forward pass included, in one ``jax.jit`` over
  ``model.stateless_call``; XLA fuses the reductions with the layers that produce them. Traced
  with full float32 matrix products (``jax.default_matmul_precision("float32")``): on recent
  NVIDIA GPUs JAX's default would round convolution inputs to TensorFloat-32 (10-bit mantissa)
  and the statistics would depend on the device. The three centred sums are one variadic
  ``lax.reduce``.
- **torch** (and any other backend): the same ``keras.ops`` code, run eagerly.

On both, a shorter batch (a test set's last) is padded with zero images to the first batch's
size and its results cut back (:func:`~tlexplorer.capture.reductions.unpad`): no second compile.
Each step takes a batch of images (numpy, float32 0..255) and returns a function that gives
numpy arrays ``(predictions, [per layer: (max, shift, Σd, Σd², Σd³, Σ|x|, histogram)])``:
on JAX the batch is only dispatched, so the host can fold the previous batch meanwhile.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tlexplorer.capture.probe import ProbedLayer
from tlexplorer.quiet import import_keras

Step = Callable[[Any], Callable[[], tuple[Any, list]]]
CAPTURE_PRECISION = "float32"  # JAX matrix products in full float32, on every device
# Histogram copies (reductions.histogram) under JAX, measured on VGG16 at 150 px, batch 128:
# on an H200 (2026-11-26) 1 copy 321 img/s, 256 copies 1094, 2048 copies 1117 (no histogram
# at all 1356). On an H100 (2026-11-27, after the other fixes; predict 2249 img/s): 2048 copies
# with bin 0 counted apart 1749, 256 copies 1803, 2048 without counting bin 0 apart 1784, no
# histogram 2053: one sample each, within run-to-run noise of each other.
# On 2 CPU cores (48 px, batch 16) runs of 1 vs 256 copies went either way (72/90, 80/66).
JAX_HIST_COPIES_GPU = 2048
JAX_HIST_COPIES_CPU = 1  # no gain measurable on 2 CPU cores (noise either way)


def make_step(flat, layers: list[ProbedLayer], jit: bool = True, preprocess: str = "none",
              hist_copies: int | None = None) -> Step:
    """The compiled capture step of ``flat`` (the probe model) on the backend in use;
    ``hist_copies`` overrides the backend's choice of histogram copies (JAX only)."""
    backend = import_keras().backend.backend()
    if backend == "tensorflow":
        return _tensorflow_step(flat, layers, jit, preprocess)
    if backend == "jax":
        return _jax_step(flat, layers, jit, preprocess, hist_copies)
    return _eager_step(flat, layers, preprocess)


def _outputs(result) -> list:
    return list(result) if isinstance(result, list | tuple) else [result]


def _tensorflow_sum_last():
    """Sum three float32 arrays over their last axis in one XLA loop (TensorFlow's XLA op
    ``XlaVariadicReduceV2``; it runs only inside a ``jit_compile`` function)."""
    from tensorflow.compiler.tf2xla.ops import gen_xla_ops

    from tlexplorer.quiet import import_tensorflow

    tf, _ = import_tensorflow()
    add = tf.function(lambda a0, a1, a2, b0, b1, b2: (a0 + b0, a1 + b1, a2 + b2))
    reducer = add.get_concrete_function(*[tf.TensorSpec([], tf.float32)] * 6)

    def sum_last(*terms):
        zero = tf.constant(0.0, tf.float32)
        rank = len(terms[0].shape)
        return gen_xla_ops.xla_variadic_reduce_v2(
            inputs=list(terms), init_values=[zero] * len(terms),
            dimensions_to_reduce=[rank - 1], reducer=reducer)

    return sum_last


def _jax_sum_last(*terms):
    """Sum float32 arrays over their last axis in one XLA loop (a variadic ``lax.reduce``)."""
    import numpy as np
    from jax import lax

    zeros = tuple(np.float32(0) for _ in terms)
    return lax.reduce(tuple(terms), zeros,
                      lambda a, b: tuple(p + q for p, q in zip(a, b, strict=True)),
                      (len(terms[0].shape) - 1,))


def _tensorflow_step(flat, layers, jit: bool, preprocess: str) -> Step:
    from tlexplorer.capture.reductions import (
        CompiledSize,
        layer_reductions,
        pad_batch,
        unpad,
    )
    from tlexplorer.inputs import apply_preprocess
    from tlexplorer.quiet import import_tensorflow

    tf, keras = import_tensorflow()
    ops = keras.ops
    sum_last = _tensorflow_sum_last() if jit else None
    reduce_all = tf.function(
        lambda outputs, valid: layer_reductions(ops, outputs, layers, sum_last=sum_last,
                                                valid=valid),
        jit_compile=jit)

    @tf.function(reduce_retracing=True)
    def step(x, valid):
        x = apply_preprocess(tf.cast(x, tf.float32), preprocess)
        outputs = _outputs(flat(x, training=False))
        return outputs[-1], reduce_all(outputs, valid)

    # XLA compiles for one batch size: the first batch's. A shorter batch (the last of a test
    # set) is padded to it (pad_batch) rather than compiled again.
    compiled_size = CompiledSize()

    def run(images):
        n = int(images.shape[0])
        size = compiled_size.of(n)
        preds, reductions = step(pad_batch(images, size), tf.constant(n, tf.int32))
        result = unpad(preds.numpy(), [tuple(t.numpy() for t in red) for red in reductions],
                       n, size, layers)
        return lambda: result

    return run


def _jax_step(flat, layers, jit: bool, preprocess: str, hist_copies: int | None) -> Step:
    import jax
    import numpy as np

    from tlexplorer.capture.reductions import (
        CompiledSize,
        layer_reductions,
        pad_batch,
        unpad,
    )
    from tlexplorer.inputs import apply_preprocess

    ops = import_keras().ops

    copies = hist_copies if hist_copies is not None else (
        JAX_HIST_COPIES_GPU if jax.devices()[0].platform != "cpu" else JAX_HIST_COPIES_CPU)

    def step(trainable, non_trainable, x, valid):
        x = apply_preprocess(ops.cast(x, "float32"), preprocess)
        outputs, _ = flat.stateless_call(trainable, non_trainable, x, training=False)
        outputs = _outputs(outputs)
        return outputs[-1], layer_reductions(ops, outputs, layers, hist_copies=copies,
                                             sum_last=_jax_sum_last if jit else None,
                                             valid=valid)

    jitted = jax.jit(step) if jit else step

    def compiled(*args):
        with jax.default_matmul_precision(CAPTURE_PRECISION):  # read when jit traces
            return jitted(*args)

    compiled_size = CompiledSize()

    def run(images):
        # The variables' current arrays, read per batch: Keras's own compiled functions
        # (predict, fit) may donate and replace them between two batches.
        trainable = [v.value for v in flat.trainable_variables]
        non_trainable = [v.value for v in flat.non_trainable_variables]
        n = int(images.shape[0])
        size = compiled_size.of(n)  # a short batch padded: jit would compile for its shape too
        result = compiled(trainable, non_trainable, pad_batch(images, size), np.int32(n))

        def fetch():
            preds, reductions = jax.device_get(result)  # one transfer for the whole tree
            return unpad(np.asarray(preds),
                         [tuple(np.asarray(t) for t in red) for red in reductions],
                         n, size, layers)

        return fetch  # dispatched, not waited for

    return run


def _eager_step(flat, layers, preprocess: str) -> Step:
    import numpy as np

    from tlexplorer.capture.reductions import layer_reductions
    from tlexplorer.inputs import apply_preprocess

    ops = import_keras().ops

    def run(images):
        x = apply_preprocess(ops.convert_to_tensor(np.asarray(images, np.float32)), preprocess)
        outputs = _outputs(flat(x, training=False))
        reductions = layer_reductions(ops, outputs, layers)
        result = (ops.convert_to_numpy(outputs[-1]),
                  [tuple(ops.convert_to_numpy(t) for t in red) for red in reductions])
        return lambda: result

    return run
