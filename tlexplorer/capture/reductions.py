"""The per-batch reductions of one layer's output, written once on ``keras.ops``.

Every backend runs this same arithmetic on the device; :mod:`tlexplorer.capture.backends`
compiles it, and only the small results cross to the host (:mod:`tlexplorer.capture.engine`).
"""

from __future__ import annotations

from tlexplorer.capture.probe import ProbedLayer
from tlexplorer.capture.result import HIST_BINS, HIST_SHIFT


def _as_units(ops, a, layer: ProbedLayer):
    """View a layer output as (images, positions, units), float32."""
    if layer.channel_axis != len(a.shape) - 1:
        perm = [i for i in range(len(a.shape)) if i != layer.channel_axis] + [layer.channel_axis]
        a = ops.transpose(a, perm)
    return ops.cast(ops.reshape(a, (-1, layer.positions, layer.units)), "float32")


def fused_reductions(ops, a, layer: ProbedLayer, hist_copies: int = 1):
    """Per image and unit (B, C): max, Σx and Σ|x|; and the fixed-edge histogram (HIST_BINS,).

    Written on ``keras.ops``, so every backend runs the same arithmetic. Sums run over the
    positions axis only: XLA vectorises these column reductions on the CPU, while reductions to
    a scalar, or with an elementwise product inside, cost several times more.
    """
    a = _as_units(ops, a, layer)
    image_max = ops.max(a, axis=1)
    s1 = ops.sum(a, axis=1)
    abs_sum = s1 if layer.nonnegative else ops.sum(ops.abs(a), axis=1)
    # The bin of a value is its bit pattern shifted right: log-spaced, fixed edges, one shift.
    index = ops.cast(ops.right_shift(ops.view(a, "uint32"), HIST_SHIFT), "int32")
    return image_max, s1, abs_sum, histogram(ops, ops.reshape(index, (-1,)), hist_copies)


def histogram(ops, index, copies: int = 1):
    """Counts of ``index`` (flat, int32, in [0, HIST_BINS)) per bin, as int32 (HIST_BINS,).

    ``copies`` > 1 spreads the scatter's updates over that many copies of the histogram
    (element ``i`` adds to copy ``i % copies``), summed afterwards. On a GPU every update is an
    atomic add and the zeros of a ReLU layer all hit one bin: one copy made capture 7× slower
    than inference on an H200 (VGG16, 150 px, batch 128), 2048 copies 2×.
    """
    n = index.shape[0] if index.shape[0] is not None else ops.shape(index)[0]
    if copies > 1:
        lane = ops.mod(ops.arange(n, dtype="int32"), copies)
        spread = ops.segment_sum(ops.ones_like(index), lane * HIST_BINS + index,
                                 num_segments=copies * HIST_BINS)
        return ops.sum(ops.reshape(spread, (copies, HIST_BINS)), axis=0)
    # Two independent scatters (halves of the batch) let XLA's CPU runtime use two cores.
    half = n // 2
    hist = ops.segment_sum(ops.ones_like(index[:half]), index[:half], num_segments=HIST_BINS)
    return hist + ops.segment_sum(ops.ones_like(index[half:]), index[half:],
                                  num_segments=HIST_BINS)


def centred_sums(ops, a, layer: ProbedLayer, s1):
    """Per image (B,): the shift ``c`` (the image's mean, from the per-unit sums ``s1``) and
    Σd, Σd², Σd³ of ``d = x - c``.

    Centring keeps the sums free of cancellation when a layer's mean is large against its
    spread (``x - c`` is even exact for values within a factor of two of ``c``); the host turns
    them into exact central moments in float64.
    """
    count = layer.positions * layer.units
    shift = ops.sum(s1, axis=1) / float(count)
    # One row per image: a 2-D row reduces faster than two axes of a 3-D tensor.
    d = ops.reshape(ops.cast(a, "float32"), (-1, count)) - shift[:, None]
    sq = ops.square(d)
    return shift, ops.sum(d, axis=1), ops.sum(sq, axis=1), ops.sum(sq * d, axis=1)


def layer_reductions(ops, outputs, layers: list[ProbedLayer], fused=None,
                     hist_copies: int = 1):
    """Every probed layer's reductions, in the order :meth:`Capturer.run` reads them:
    (max, shift, Σd, Σd², Σd³, Σ|x|, histogram). ``fused`` computes the fused part of all
    layers at once (TensorFlow compiles it apart); by default it runs inline."""
    if fused is None:
        parts = [fused_reductions(ops, a, lay, hist_copies)
                 for a, lay in zip(outputs, layers, strict=True)]
    else:
        parts = fused(outputs)
    reductions = []
    for (m, s1, abs_sum, hist), a, lay in zip(parts, outputs, layers, strict=True):
        shift, d1, d2, d3 = centred_sums(ops, a, lay, s1)
        reductions.append((m, shift, d1, d2, d3, abs_sum, hist))
    return reductions
