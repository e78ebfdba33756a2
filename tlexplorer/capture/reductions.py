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


def fused_reductions(ops, a, layer: ProbedLayer, hist_copies: int = 1, valid=None):
    """Per image and unit (B, C): max, Σx and Σ|x|; and the fixed-edge histogram (HIST_BINS,).

    Written on ``keras.ops``, so every backend runs the same arithmetic. Sums run over the
    positions axis only: XLA vectorises these column reductions on the CPU, while reductions to
    a scalar, or with an elementwise product inside, cost several times more.

    ``valid`` (a scalar): only the first ``valid`` images are real, the rest pad a short batch
    to the compiled size. Their values are all counted in bin 0, which the host corrects
    (:func:`unpad`); the per-image results of the padding the host simply drops.
    """
    a = _as_units(ops, a, layer)
    image_max = ops.max(a, axis=1)
    s1 = ops.sum(a, axis=1)
    abs_sum = s1 if layer.nonnegative else ops.sum(ops.abs(a), axis=1)
    # The bin of a value is its bit pattern shifted right: log-spaced, fixed edges, one shift.
    index = ops.cast(ops.right_shift(ops.view(a, "uint32"), HIST_SHIFT), "int32")
    if valid is not None:
        images = a.shape[0] if a.shape[0] is not None else ops.shape(a)[0]
        real = ops.arange(images, dtype="int32")[:, None, None] < valid
        index = ops.where(real, index, ops.zeros_like(index))
    return image_max, s1, abs_sum, histogram(ops, ops.reshape(index, (-1,)), hist_copies)


def histogram(ops, index, copies: int = 1):
    """Counts of ``index`` (flat, int32, in [0, HIST_BINS)) per bin, as int32 (HIST_BINS,).

    ``copies`` > 1 is the GPU's formulation. On a GPU every scatter update is an atomic add,
    and the zeros of a ReLU layer (often most of its values) all hit bin 0: one copy made
    capture 7× slower than inference on an H200 (VGG16, 150 px, batch 128). So bin 0 is counted
    with a compare-and-sum, its elements are routed to a segment past the end (which the scatter
    drops, so they cost no atomic), and the other updates are spread over ``copies`` copies of
    the histogram (element ``i`` adds to copy ``i % copies``), summed afterwards. Only on
    backends whose ``segment_sum`` drops out-of-range segments (JAX's).
    """
    n = index.shape[0] if index.shape[0] is not None else ops.shape(index)[0]
    if copies > 1:
        hot = ops.equal(index, 0)
        zeros = ops.sum(ops.cast(hot, "int32"))
        lane = ops.mod(ops.arange(n, dtype="int32"), copies)
        segment = ops.where(hot, copies * HIST_BINS, lane * HIST_BINS + index)
        spread = ops.segment_sum(ops.ones_like(index), segment, num_segments=copies * HIST_BINS)
        hist = ops.sum(ops.reshape(spread, (copies, HIST_BINS)), axis=0)
        return hist + ops.pad(ops.reshape(zeros, (1,)), [[0, HIST_BINS - 1]])
    # Two independent scatters (halves of the batch) let XLA's CPU runtime use two cores.
    half = n // 2
    hist = ops.segment_sum(ops.ones_like(index[:half]), index[:half], num_segments=HIST_BINS)
    return hist + ops.segment_sum(ops.ones_like(index[half:]), index[half:],
                                  num_segments=HIST_BINS)


# The centred sums run over chunks of this many consecutive values of an image, then over the
# chunks: a backend that can reduce several operands in one loop (``sum_last``) reads each
# value once, and short chunks keep float32 rounding as small as a pairwise sum's.
MOMENT_CHUNK = 64


def centred_sums(ops, a, layer: ProbedLayer, s1, sum_last=None):
    """Per image (B,): the shift ``c`` (the image's mean, from the per-unit sums ``s1``) and
    Σd, Σd², Σd³ of ``d = x - c``.

    Centring keeps the sums free of cancellation when a layer's mean is large against its
    spread (``x - c`` is even exact for values within a factor of two of ``c``); the host turns
    them into exact central moments in float64.

    ``sum_last(d, d², d³)`` sums three (B, chunks, MOMENT_CHUNK) arrays over their last axis in
    one pass (a variadic reduce). XLA on the CPU otherwise runs one loop per sum, each several
    times slower than a plain column sum: on 2 cores, for a (32, 22500, 64) layer output, the
    three sums took 107 ms (TensorFlow) and 214 ms (JAX) as three reductions, 38 and 34 ms as
    one. Without it, the three sums are separate ``keras.ops`` reductions.
    """
    count = layer.positions * layer.units
    shift = ops.sum(s1, axis=1) / float(count)
    # Clear the shift's last 8 mantissa bits. Any shift is exact for the host's formulas, but
    # only if ``d`` is formed with the very value returned: XLA may fuse the division into a
    # multiply-add with the subtraction below, i.e. subtract an unrounded shift (a ReLU layer
    # with mean/std > 1000 lost 5 digits of skewness). No compiler folds through a bit shift.
    # (A (B, 1) view: TensorFlow's ``view`` needs a known last dimension.)
    bits = ops.view(ops.reshape(shift, (-1, 1)), "uint32")
    shift = ops.reshape(ops.view(ops.left_shift(ops.right_shift(bits, 8), 8), "float32"), (-1,))
    d = ops.reshape(ops.cast(a, "float32"), (-1, count)) - shift[:, None]
    pad = (-count) % MOMENT_CHUNK
    if pad:  # zeros add nothing to any of the three sums
        d = ops.pad(d, [[0, 0], [0, pad]])
    d = ops.reshape(d, (-1, (count + pad) // MOMENT_CHUNK, MOMENT_CHUNK))
    sq = ops.square(d)
    terms = (d, sq, sq * d)
    per_chunk = sum_last(*terms) if sum_last is not None else [ops.sum(t, axis=2) for t in terms]
    d1, d2, d3 = (ops.sum(t, axis=1) for t in per_chunk)
    return shift, d1, d2, d3


def layer_reductions(ops, outputs, layers: list[ProbedLayer], hist_copies: int = 1,
                     sum_last=None, valid=None):
    """Every probed layer's reductions, in the order :meth:`Capturer.run` reads them:
    (max, shift, Σd, Σd², Σd³, Σ|x|, histogram). ``sum_last``: see :func:`centred_sums`;
    ``valid``: see :func:`fused_reductions`."""
    reductions = []
    for a, lay in zip(outputs, layers, strict=True):
        m, s1, abs_sum, hist = fused_reductions(ops, a, lay, hist_copies, valid)
        shift, d1, d2, d3 = centred_sums(ops, a, lay, s1, sum_last)
        reductions.append((m, shift, d1, d2, d3, abs_sum, hist))
    return reductions


class CompiledSize:
    """The batch size a capture step is compiled for: the first batch's. :meth:`of` gives the
    size to run a batch of ``n`` images at (a shorter one is padded up to it, a longer one
    compiles for its own size)."""

    def __init__(self) -> None:
        self.first: int | None = None

    def of(self, n: int) -> int:
        if self.first is None:
            self.first = n
        return max(n, self.first)


def pad_batch(images, size: int):
    """``images`` (numpy, n ≤ size first) padded with zero images to ``size``: a short last
    batch then runs through the step compiled for the full size instead of compiling again
    (2.1 s per demo model under TensorFlow; under JAX the whole forward pass again)."""
    import numpy as np

    images = np.asarray(images, np.float32)
    n = images.shape[0]
    if n >= size:
        return images
    return np.concatenate([images, np.zeros((size - n, *images.shape[1:]), np.float32)])


def unpad(preds, reductions: list, n: int, size: int, layers: list[ProbedLayer]):
    """The results of the first ``n`` images of a batch padded to ``size`` (host, numpy): the
    per-image arrays cut, and the padding's values (all counted in bin 0) taken out of the
    histograms."""
    if n >= size:
        return preds, reductions
    out = []
    for red, lay in zip(reductions, layers, strict=True):
        image_max, shift, d1, d2, d3, abs_sum, hist = red
        hist = hist.copy()
        hist[0] -= (size - n) * lay.positions * lay.units
        out.append((image_max[:n], shift[:n], d1[:n], d2[:n], d3[:n], abs_sum[:n], hist))
    return preds[:n], out
