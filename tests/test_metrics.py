"""Unit tests of tlexplorer.metrics against hand-computed expectations."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tlexplorer.capture.result import (
    HIST_BINS,
    NEG_OFFSET,
    CaptureResult,
    LayerStats,
    histogram_index,
)
from tlexplorer.metrics import (
    DEFAULT_TAU,
    Spectrum,
    activation_range,
    average_ranks,
    classification_metrics,
    dead_units,
    display_spectrum,
    dormant_scores,
    histogram_percentiles,
    layer_dormant_pct,
    layer_max,
    layer_mean_activation,
    layer_nnu_pct,
    layer_skewness,
    layer_zero_fraction,
    magnitude_exponent_range,
    merged_histogram,
    model_dead_units,
    model_dormant_pct,
    model_nnu_pct,
    model_units,
    range_cv,
    spearman,
    spectrum_rows,
    spectrum_skewness,
    summarize,
    zero_fraction,
)

# Degenerate inputs must be handled without numpy warnings: make any warning fail the test.
pytestmark = pytest.mark.filterwarnings("error")


# ------------------------------------------------------------------------------------------------
# Builders: statistics of known values, computed the way the capture engine defines them
# ------------------------------------------------------------------------------------------------


def stats_from_values(values, name: str = "layer", is_output: bool = False) -> LayerStats:
    """LayerStats of an activation array shaped (n_images, positions, units)."""
    v = np.asarray(values, dtype=np.float32)
    n_images, positions, units = v.shape
    x = v.astype(np.float64)
    flat = x.ravel()
    return LayerStats(
        name=name,
        index=0,
        kind="dense",
        layer_class="Dense",
        activation="relu",
        units=units,
        positions=positions,
        is_output=is_output,
        n_images=n_images,
        unit_max=v.max(axis=(0, 1)),
        unit_abs_sum=np.abs(x).sum(axis=(0, 1)),
        unit_fire_count=(v > 0).sum(axis=(0, 1)).astype(np.int64),
        hist=np.bincount(histogram_index(v.ravel()), minlength=HIST_BINS).astype(np.int64),
        moments=exact_moments(flat),
    )


def hist_of(values) -> np.ndarray:
    """Raw histogram of a flat list of values."""
    v = np.asarray(values, dtype=np.float32).ravel()
    return np.bincount(histogram_index(v), minlength=HIST_BINS).astype(np.int64)


def exact_moments(values) -> np.ndarray:
    """(n, mean, M2, M3) of values, two-pass in float64 (the definition, not a stream)."""
    x = np.asarray(values, dtype=np.float64).ravel()
    if x.size == 0:
        return np.zeros(4)
    mean = x.mean()
    d = x - mean
    return np.array([x.size, mean, (d**2).sum(), (d**3).sum()])


def direct_skewness(values) -> float:
    """Population skewness computed directly from raw values (independent of power sums)."""
    x = np.asarray(values, dtype=np.float32).astype(np.float64).ravel()
    d = x - x.mean()
    return float(np.mean(d**3) / np.mean(d**2) ** 1.5)


def make_result(layers, labels, scores, epsilon: float = 0.0) -> CaptureResult:
    return CaptureResult(
        model_label="t",
        model_name="test model",
        layers=layers,
        skipped=[],
        labels=np.asarray(labels, dtype=np.int64),
        scores=np.asarray(scores, dtype=np.float32),
        class_names=["cat", "dog"],
        epsilon=epsilon,
    )


# ------------------------------------------------------------------------------------------------
# Dead units, NNU, τ-dormant
# ------------------------------------------------------------------------------------------------


def test_dead_units_and_nnu_pct():
    v = np.zeros((2, 2, 4), dtype=np.float32)  # (images, positions, units)
    # unit 0: always 0 -> dead
    v[1, 1, 1] = 0.5  # unit 1: fires once -> alive
    v[:, :, 2] = -1.0  # unit 2: always negative, max -1 <= 0 -> dead
    v[0, 0, 3] = 0.05  # unit 3: max 0.05 -> alive at eps 0, dead at eps 0.1
    layer = stats_from_values(v)
    assert dead_units(layer).tolist() == [True, False, True, False]
    assert layer_nnu_pct(layer) == pytest.approx(50.0)  # 100 * 2 / 4
    assert dead_units(layer, eps=0.1).tolist() == [True, False, True, True]
    assert layer_nnu_pct(layer, eps=0.1) == pytest.approx(75.0)  # 100 * 3 / 4


def test_dormant_scores_hand_computed():
    layer = LayerStats("d", 0, "dense", "Dense", "relu", units=4, positions=3, n_images=2)
    layer.unit_abs_sum = np.array([0.0, 1.0, 2.0, 9.0])
    # per-unit mean |h| = sums / (2 images * 3 positions) = [0, 1/6, 2/6, 9/6]
    # layer mean = (12/6) / 4 = 0.5 -> scores = [0, 1/3, 2/3, 3]
    np.testing.assert_allclose(dormant_scores(layer), [0.0, 1 / 3, 2 / 3, 3.0])
    assert layer_dormant_pct(layer, tau=0.4) == pytest.approx(50.0)  # 0 and 1/3 <= 0.4
    assert layer_dormant_pct(layer, tau=0.1) == pytest.approx(25.0)  # only 0 <= 0.1
    assert layer_dormant_pct(layer, tau=1.0) == pytest.approx(75.0)  # 0, 1/3, 2/3 <= 1
    assert layer_dormant_pct(layer) == layer_dormant_pct(layer, tau=DEFAULT_TAU)
    assert DEFAULT_TAU == 0.1


def test_dormant_all_zero_layer_is_fully_dormant():
    layer = stats_from_values(np.zeros((3, 2, 5)))
    np.testing.assert_array_equal(dormant_scores(layer), np.zeros(5))
    assert layer_dormant_pct(layer) == 100.0
    assert layer_nnu_pct(layer) == 100.0


def test_dormant_at_tau_zero_equals_nnu_for_relu():
    # ReLU outputs are >= 0, so "mean |h| == 0" and "max <= 0" pick the same units.
    v = np.zeros((2, 1, 5), dtype=np.float32)
    v[0, 0, 1] = 3.0
    v[1, 0, 3] = 0.25
    layer = stats_from_values(v)
    assert layer_nnu_pct(layer) == pytest.approx(60.0)  # units 0, 2, 4 dead: 3 / 5
    assert layer_dormant_pct(layer, tau=0.0) == pytest.approx(60.0)


def test_empty_layer_gives_nan_without_warnings():
    layer = LayerStats("e", 0, "dense", "Dense", "relu", units=3, positions=1)
    assert dead_units(layer).tolist() == [False, False, False]
    for value in (
        layer_nnu_pct(layer),
        layer_dormant_pct(layer),
        layer_mean_activation(layer),
        layer_zero_fraction(layer),
        layer_skewness(layer),
        layer_max(layer),
    ):
        assert math.isnan(value)
    no_units = LayerStats("z", 0, "dense", "Dense", "relu", units=0, positions=1, n_images=2)
    assert dormant_scores(no_units).shape == (0,)
    assert math.isnan(layer_nnu_pct(no_units))


# ------------------------------------------------------------------------------------------------
# Moments, zero fraction, maxima
# ------------------------------------------------------------------------------------------------


def test_mean_and_zero_fraction_count_negative_zero():
    values = np.array([0.0, -0.0, 0.0, 2.0, -1.0, 3.0], dtype=np.float32).reshape(6, 1, 1)
    layer = stats_from_values(values)
    assert layer.hist[0] == 2  # +0.0 twice
    assert layer.hist[NEG_OFFSET] == 1  # -0.0 lands in the negative zero bin
    assert layer_zero_fraction(layer) == pytest.approx(3 / 6)  # 0.0, -0.0, 0.0 of 6 values
    assert layer_mean_activation(layer) == pytest.approx((2.0 - 1.0 + 3.0) / 6)
    assert layer_max(layer) == 3.0


def test_skewness_hand_computed():
    # x = [0, 0, 0, 3]: mean 0.75, deviations [-0.75]*3 + [2.25]
    # m2 = (3 * 0.5625 + 5.0625) / 4 = 1.6875
    # m3 = (3 * -0.421875 + 11.390625) / 4 = 2.53125
    # skew = 2.53125 / 1.6875**1.5 = 2 / sqrt(3)
    layer = stats_from_values(np.array([0.0, 0.0, 0.0, 3.0]).reshape(4, 1, 1))
    assert layer_skewness(layer) == pytest.approx(2 / math.sqrt(3), rel=1e-12)


def test_skewness_matches_direct_computation():
    rng = np.random.default_rng(0)
    values = np.maximum(rng.normal(0.2, 1.0, size=(50, 9, 7)), 0).astype(np.float32)
    layer = stats_from_values(values)
    assert layer_skewness(layer) == pytest.approx(direct_skewness(values), rel=1e-9)
    # A left-skewed sample gives a negative value.
    left = -rng.exponential(size=(40, 1, 3)).astype(np.float32)
    assert layer_skewness(stats_from_values(left)) == pytest.approx(direct_skewness(left), rel=1e-9)
    assert layer_skewness(stats_from_values(left)) < 0


def test_skewness_of_constant_is_nan():
    assert math.isnan(layer_skewness(stats_from_values(np.full((4, 2, 3), 0.1))))
    assert math.isnan(layer_skewness(stats_from_values(np.zeros((4, 2, 3)))))


def test_spectrum_skewness_and_zero_fraction_over_layers():
    rng = np.random.default_rng(1)
    a = np.maximum(rng.normal(size=(6, 4, 3)), 0).astype(np.float32)
    b = np.maximum(rng.normal(1.0, 2.0, size=(6, 1, 5)), 0).astype(np.float32)
    layers = [stats_from_values(a, "a"), stats_from_values(b, "b")]
    both = np.concatenate([a.ravel(), b.ravel()])
    assert spectrum_skewness(layers) == pytest.approx(direct_skewness(both), rel=1e-9)
    zeros = int((a == 0).sum() + (b == 0).sum())
    assert zero_fraction(layers) == pytest.approx(zeros / (72 + 30))  # 6*4*3 + 6*1*5 values
    assert math.isnan(zero_fraction([]))
    assert math.isnan(spectrum_skewness([]))
    np.testing.assert_array_equal(merged_histogram(layers), layers[0].hist + layers[1].hist)
    assert merged_histogram([]).shape == (HIST_BINS,)
    assert merged_histogram([]).sum() == 0


# ------------------------------------------------------------------------------------------------
# Percentiles
# ------------------------------------------------------------------------------------------------


def test_percentiles_hand_computed():
    # 1.0 falls in raw bin [1, 1.25), 2.0 in [2, 2.5) (4 bins per octave); 10 values each, N=20.
    hist = hist_of([1.0] * 10 + [2.0] * 10)
    got = histogram_percentiles(hist, [0, 25, 50, 75, 100])
    # q=0   -> lower edge of the first bin               = 1.0
    # q=25  -> rank 5 of 10 in [1, 1.25): 1 + 0.5*0.25   = 1.125
    # q=50  -> rank 10 = end of the first bin            = 1.25
    # q=75  -> rank 15: 5 of 10 into [2, 2.5): 2 + 0.25  = 2.25
    # q=100 -> upper edge of the last bin                = 2.5
    np.testing.assert_allclose(got, [1.0, 1.125, 1.25, 2.25, 2.5])


def test_percentiles_order_negatives_zero_positives():
    # -4 is in (-5, -4], 0 in the zero bin, 4 in [4, 5); 10 of each, N = 30.
    hist = hist_of([-4.0] * 10 + [0.0] * 5 + [-0.0] * 5 + [4.0] * 10)
    got = histogram_percentiles(hist, [0, 10, 50, 90, 100])
    # q=10 -> rank 3 of 10 into (-5, -4]: -5 + 0.3 = -4.7; q=50 -> rank 15 in the zero bin
    # q=90 -> rank 27: 7 of 10 into [4, 5): 4.7
    np.testing.assert_allclose(got, [-5.0, -4.7, 0.0, 4.7, 5.0])


def test_percentiles_within_one_bin_width():
    values = np.arange(1, 1001, dtype=np.float32)
    qs = [1, 10, 25, 50, 75, 90, 99]
    got = histogram_percentiles(hist_of(values), qs)
    exact = np.percentile(values.astype(np.float64), qs)
    # A raw bin is a quarter octave: near v its width is 2**floor(log2 v) / 4.
    width = 2.0 ** np.floor(np.log2(exact)) / 4
    assert np.all(np.abs(got - exact) <= width)


def test_percentiles_empty_and_invalid():
    assert np.all(np.isnan(histogram_percentiles(np.zeros(HIST_BINS, dtype=np.int64), [50])))
    with pytest.raises(ValueError):
        histogram_percentiles(hist_of([1.0]), [101])


# ------------------------------------------------------------------------------------------------
# Activation range
# ------------------------------------------------------------------------------------------------


def test_range_cv_hand_computed():
    # maxima [1, 2, 3]: mean 2, population variance (1 + 0 + 1) / 3 = 2/3
    assert range_cv(np.array([1.0, 2.0, 3.0])) == pytest.approx(math.sqrt(2 / 3) / 2)
    assert range_cv(np.array([5.0, 5.0])) == 0.0
    assert math.isnan(range_cv(np.array([5.0])))  # fewer than 2 layers
    assert math.isnan(range_cv(np.array([])))
    assert math.isnan(range_cv(np.array([-1.0, 1.0])))  # mean 0


# ------------------------------------------------------------------------------------------------
# Spectrum rows and display bins
# ------------------------------------------------------------------------------------------------


def test_spectrum_rows_merge_signed_zeros_and_mirror_negatives():
    rows = spectrum_rows(hist_of([-1.0, 0.0, -0.0, 2.0, 2.1, 0.0]))
    # -1.0 has magnitude bin [1, 1.25) -> (-1.25, -1.0]; 2.0 and 2.1 share [2, 2.5)
    assert rows == [(-1.25, -1.0, 1), (0.0, 0.0, 3), (2.0, 2.5, 2)]
    assert spectrum_rows(np.zeros(HIST_BINS, dtype=np.int64)) == []


def assert_well_formed(spec: Spectrum, total: int, bins: int) -> None:
    assert spec.count.sum() == total
    assert len(spec) <= bins
    assert np.all(spec.low <= spec.high)
    assert np.all(spec.high[:-1] <= spec.low[1:])  # bars ascending and not overlapping
    assert np.all(spec.count >= 0)


def test_display_spectrum_log_hand_computed():
    values = [0.0, 0.0, 1.0, 1.0, 1.5, 2.0, 2.0, 2.0, 3.0, 3.9]
    spec = display_spectrum(hist_of(values), "log", bins=40)
    # zero bar, octave [1, 2) holds 1, 1, 1.5 and octave [2, 4) holds 2, 2, 2, 3, 3.9
    np.testing.assert_array_equal(spec.low, [0.0, 1.0, 2.0])
    np.testing.assert_array_equal(spec.high, [0.0, 2.0, 4.0])
    np.testing.assert_array_equal(spec.count, [2, 3, 5])
    # bins=2: one bar left for magnitudes, so both octaves merge into [1, 4)
    spec2 = display_spectrum(hist_of(values), "log", bins=2)
    np.testing.assert_array_equal(spec2.low, [0.0, 1.0])
    np.testing.assert_array_equal(spec2.high, [0.0, 4.0])
    np.testing.assert_array_equal(spec2.count, [2, 8])


def test_display_spectrum_log_with_negatives_and_fixed_range():
    values = [-1.0, 0.0, 0.0, 1.0, 1.0, 1.5, 2.0, 2.0, 2.0, 3.0, 3.9]
    spec = display_spectrum(hist_of(values), "log", bins=40)
    # negatives mirror the same octaves left of zero: (-4, -2], (-2, -1]
    np.testing.assert_array_equal(spec.low, [-4.0, -2.0, 0.0, 1.0, 2.0])
    np.testing.assert_array_equal(spec.high, [-2.0, -1.0, 0.0, 2.0, 4.0])
    np.testing.assert_array_equal(spec.count, [0, 1, 2, 3, 5])
    # bins=3 with two sides: (3 - 1) // 2 = 1 bar per side
    spec3 = display_spectrum(hist_of(values), "log", bins=3)
    np.testing.assert_array_equal(spec3.low, [-4.0, 0.0, 1.0])
    np.testing.assert_array_equal(spec3.count, [1, 2, 8])
    # A fixed axis from 2**-2 to octave 2**3 (no negatives): 6 octave bars + zero bar.
    fixed = display_spectrum(hist_of(values[1:]), "log", bins=40, lo_exp=-2, hi_exp=3)
    np.testing.assert_array_equal(fixed.low, [0.0, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0])
    np.testing.assert_array_equal(fixed.high, [0.0, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0])
    np.testing.assert_array_equal(fixed.count, [2, 0, 0, 3, 5, 0, 0])
    assert magnitude_exponent_range(hist_of(values)) == (0, 1)  # octaves [1, 2) .. [2, 4)
    assert magnitude_exponent_range(hist_of([0.0])) is None


def test_display_spectrum_linear_hand_computed():
    # 2 values in raw bin [1, 1.25), 10 values in raw bin [2, 2.5); range [1, 2.5), width 0.3:
    # bars [1,1.3) [1.3,1.6) [1.6,1.9) [1.9,2.2) [2.2,2.5)
    # [2, 2.5) overlaps [1.9, 2.2) by 0.2 of 0.5 -> 4 values, [2.2, 2.5) by 0.3 of 0.5 -> 6
    spec = display_spectrum(hist_of([1.0] * 2 + [2.0] * 10), "linear", bins=5)
    np.testing.assert_allclose(spec.low, [1.0, 1.3, 1.6, 1.9, 2.2])
    np.testing.assert_allclose(spec.high, [1.3, 1.6, 1.9, 2.2, 2.5])
    np.testing.assert_array_equal(spec.count, [2, 0, 0, 4, 6])
    # Zeros go to the bar that contains 0: range [0, 1.25), width 0.25
    spec = display_spectrum(hist_of([0.0] * 2 + [1.0] * 4), "linear", bins=5)
    np.testing.assert_array_equal(spec.count, [2, 0, 0, 0, 4])
    # With negatives: range [-1.25, 1.25), two bars of width 1.25; zero joins [0, 1.25)
    spec = display_spectrum(hist_of([-1.0] * 3 + [0.0] + [1.0] * 2), "linear", bins=2)
    np.testing.assert_allclose(spec.low, [-1.25, 0.0])
    np.testing.assert_array_equal(spec.count, [3, 3])
    # Only zeros: one degenerate bar
    spec = display_spectrum(hist_of([0.0, -0.0]), "linear", bins=10)
    np.testing.assert_array_equal(spec.count, [2])


@pytest.mark.parametrize("mode", ["log", "linear"])
@pytest.mark.parametrize("bins", [3, 7, 40])
def test_display_spectrum_conserves_counts_and_orders_bins(mode, bins):
    rng = np.random.default_rng(bins)
    magnitudes = rng.lognormal(0.0, 4.0, size=3000)
    signs = np.where(rng.random(3000) < 0.3, -1.0, 1.0)
    values = np.concatenate([signs * magnitudes, np.zeros(500), -np.zeros(50)])
    hist = hist_of(values)
    spec = display_spectrum(hist, mode, bins=bins)
    assert_well_formed(spec, total=values.size, bins=bins)
    assert spec.low[0] < 0 < spec.high[-1]  # negatives on the left, positives on the right
    if mode == "log":
        zero_bar = np.flatnonzero((spec.low == 0) & (spec.high == 0))
        assert spec.count[zero_bar].tolist() == [550]
        assert spec.count[spec.high < 0].sum() == (signs < 0).sum()


def test_display_spectrum_empty_and_invalid():
    empty = np.zeros(HIST_BINS, dtype=np.int64)
    assert len(display_spectrum(empty, "log")) == 0
    assert len(display_spectrum(empty, "linear")) == 0
    with pytest.raises(ValueError):
        display_spectrum(hist_of([1.0]), "cubic")
    with pytest.raises(ValueError):
        display_spectrum(hist_of([1.0]), "log", bins=0)


# ------------------------------------------------------------------------------------------------
# Classification
# ------------------------------------------------------------------------------------------------


def brute_force_auc(labels, scores) -> float:
    pos = [s for s, y in zip(scores, labels, strict=True) if y == 1]
    neg = [s for s, y in zip(scores, labels, strict=True) if y == 0]
    wins = sum(1.0 if p > n else 0.5 if p == n else 0.0 for p in pos for n in neg)
    return wins / (len(pos) * len(neg))


def test_auc_with_ties_hand_and_brute_force():
    labels = [0, 0, 1, 1, 0, 1]
    scores = [0.1, 0.4, 0.4, 0.8, 0.8, 0.3]
    # positives {0.4, 0.8, 0.3} vs negatives {0.1, 0.4, 0.8}:
    # 0.4: win, tie, loss = 1.5; 0.8: win, win, tie = 2.5; 0.3: win, loss, loss = 1 -> 5 / 9
    got = classification_metrics(np.array(labels), np.array(scores))["roc_auc"]
    assert got == pytest.approx(5 / 9)
    assert got == pytest.approx(brute_force_auc(labels, scores))
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 2, size=60).tolist()
    scores = (rng.integers(0, 6, size=60) / 5).tolist()  # heavy ties
    got = classification_metrics(np.array(labels), np.array(scores))["roc_auc"]
    assert got == pytest.approx(brute_force_auc(labels, scores))


def test_binary_metrics_from_hand_confusion():
    labels = np.array([1, 1, 1, 0, 0, 0, 1, 0])
    scores = np.array([0.9, 0.6, 0.2, 0.7, 0.1, 0.4, 0.8, 0.5])
    # predicted (score > 0.5): [1, 1, 0, 1, 0, 0, 1, 0]   (0.5 itself is not > 0.5)
    # TP = idx 0, 1, 6 = 3; FN = idx 2 = 1; FP = idx 3 = 1; TN = idx 4, 5, 7 = 3
    m = classification_metrics(labels, scores)
    np.testing.assert_array_equal(m["confusion"], [[3, 1], [1, 3]])
    assert m["accuracy"] == pytest.approx(6 / 8)
    assert m["precision"] == pytest.approx(3 / 4)  # TP / (TP + FP)
    assert m["recall"] == pytest.approx(3 / 4)  # TP / (TP + FN)
    assert m["f1"] == pytest.approx(3 / 4)  # 2PR / (P + R)
    # BCE: positives contribute ln p, negatives ln(1 - p)
    positives = math.log(0.9) + math.log(0.6) + math.log(0.2) + math.log(0.8)
    negatives = math.log(1 - 0.7) + math.log(1 - 0.1) + math.log(1 - 0.4) + math.log(1 - 0.5)
    expected_loss = -(positives + negatives) / 8
    assert m["loss"] == pytest.approx(expected_loss)
    # AUC: pos {.9,.6,.2,.8} vs neg {.7,.1,.4,.5}: 4 + 3 + 1 + 4 = 12 of 16 pairs
    assert m["roc_auc"] == pytest.approx(12 / 16)
    # A column of sigmoid outputs (n, 1) is the same binary problem.
    m_col = classification_metrics(labels, scores.reshape(-1, 1))
    np.testing.assert_array_equal(m_col["confusion"], m["confusion"])
    assert m_col["roc_auc"] == m["roc_auc"]


def test_binary_asymmetric_precision_recall():
    labels = np.array([1, 1, 1, 1, 0, 0])
    scores = np.array([0.9, 0.8, 0.3, 0.2, 0.7, 0.1])
    # predicted [1, 1, 0, 0, 1, 0]: TP 2, FN 2, FP 1, TN 1
    m = classification_metrics(labels, scores)
    np.testing.assert_array_equal(m["confusion"], [[1, 1], [2, 2]])
    assert m["precision"] == pytest.approx(2 / 3)
    assert m["recall"] == pytest.approx(2 / 4)
    assert m["f1"] == pytest.approx(2 * 2 / (2 * 2 + 1 + 2))  # 2TP / (2TP + FP + FN) = 4/7


def test_binary_undefined_values_without_warnings():
    # Nothing predicted positive: precision 0/0 -> 0, recall 0, F1 0.
    m = classification_metrics(np.array([0, 1, 1]), np.array([0.1, 0.2, 0.3]))
    assert (m["precision"], m["recall"], m["f1"]) == (0.0, 0.0, 0.0)
    # One class absent: AUC undefined; extreme scores are clipped in the loss.
    m = classification_metrics(np.array([0, 0]), np.array([0.0, 1.0]))
    assert math.isnan(m["roc_auc"])
    # ln(1e-7) for the sure-but-wrong prediction, ln(1 - 1e-7) ~ 0 for the right one
    assert m["loss"] == pytest.approx(-(math.log(1 - 1e-7) + math.log(1e-7)) / 2)
    empty = classification_metrics(np.zeros(0, dtype=np.int64), np.zeros(0))
    assert math.isnan(empty["accuracy"]) and math.isnan(empty["loss"])
    np.testing.assert_array_equal(empty["confusion"], np.zeros((2, 2)))
    with pytest.raises(ValueError):
        classification_metrics(np.array([0, 2]), np.array([0.1, 0.9]))


def test_multiclass_metrics_hand_computed():
    labels = np.array([0, 0, 1, 1, 2, 2])
    scores = np.array(
        [
            [0.7, 0.2, 0.1],  # true 0, argmax 0
            [0.3, 0.6, 0.1],  # true 0, argmax 1
            [0.2, 0.7, 0.1],  # true 1, argmax 1
            [0.1, 0.3, 0.6],  # true 1, argmax 2
            [0.1, 0.1, 0.8],  # true 2, argmax 2
            [0.2, 0.2, 0.6],  # true 2, argmax 2
        ]
    )
    m = classification_metrics(labels, scores)
    np.testing.assert_array_equal(m["confusion"], [[1, 1, 0], [0, 1, 1], [0, 0, 2]])
    assert m["accuracy"] == pytest.approx(4 / 6)
    # class 0: TP 1, FP 0, FN 1 -> P 1,   R 1/2, F1 2/3
    # class 1: TP 1, FP 1, FN 1 -> P 1/2, R 1/2, F1 1/2
    # class 2: TP 2, FP 1, FN 0 -> P 2/3, R 1,   F1 4/5
    assert m["precision"] == pytest.approx((1 + 1 / 2 + 2 / 3) / 3)  # 13/18
    assert m["recall"] == pytest.approx((1 / 2 + 1 / 2 + 1) / 3)  # 2/3
    assert m["f1"] == pytest.approx((2 / 3 + 1 / 2 + 4 / 5) / 3)  # 59/90
    # categorical CE: true-class probabilities .7, .3, .7, .3, .8, .6
    expected_loss = -sum(math.log(p) for p in (0.7, 0.3, 0.7, 0.3, 0.8, 0.6)) / 6
    assert m["loss"] == pytest.approx(expected_loss)
    # one-vs-rest AUC:
    # class 0: pos col0 {.7, .3} vs neg {.2, .1, .1, .2}: 8 of 8 -> 1
    # class 1: pos col1 {.7, .3} vs neg {.2, .6, .1, .2}: 4 + 3 = 7 of 8
    # class 2: pos col2 {.8, .6} vs neg {.1, .1, .1, .6}: 4 + 3.5 (tie) = 7.5 of 8
    assert m["roc_auc"] == pytest.approx((1 + 7 / 8 + 7.5 / 8) / 3)


def test_multiclass_macro_skips_classes_never_seen():
    labels = np.array([0, 1, 1])
    scores = np.array([[0.8, 0.1, 0.1], [0.2, 0.7, 0.1], [0.6, 0.3, 0.1]])
    # confusion [[1,0,0],[1,1,0],[0,0,0]]; class 2 is neither true nor predicted
    # class 0: P 1/2, R 1, F1 2/3; class 1: P 1, R 1/2, F1 2/3
    m = classification_metrics(labels, scores)
    np.testing.assert_array_equal(m["confusion"], [[1, 0, 0], [1, 1, 0], [0, 0, 0]])
    assert m["precision"] == pytest.approx(0.75)
    assert m["recall"] == pytest.approx(0.75)
    assert m["f1"] == pytest.approx(2 / 3)
    # AUC: class 0 pos {.8} vs neg {.2, .6} -> 1; class 1 pos {.7, .3} vs neg {.1} -> 1;
    # class 2 has no positives -> undefined, left out of the mean
    assert m["roc_auc"] == pytest.approx(1.0)


# ------------------------------------------------------------------------------------------------
# Spearman
# ------------------------------------------------------------------------------------------------


def test_average_ranks_ties():
    np.testing.assert_array_equal(average_ranks(np.array([10, 20, 20, 5])), [2, 3.5, 3.5, 1])


def test_spearman_hand_ranked_with_ties():
    # x ranks [1, 2.5, 2.5, 4], y ranks [1, 3, 2, 4]; both means 2.5
    # dx = [-1.5, 0, 0, 1.5], dy = [-1.5, .5, -.5, 1.5]
    # Σdx·dy = 4.5, Σdx² = 4.5, Σdy² = 5 -> rho = 4.5 / sqrt(4.5 * 5) = sqrt(0.9)
    assert spearman([1, 2, 2, 3], [10, 30, 20, 40]) == pytest.approx(math.sqrt(0.9))
    assert spearman([1, 2, 3, 4], [1, 4, 9, 16]) == pytest.approx(1.0)
    assert spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    assert math.isnan(spearman([1, 2], [2, 1]))  # fewer than 3 pairs
    assert math.isnan(spearman([1, 1, 1], [1, 2, 3]))  # constant input
    # NaN pairs are dropped: leaves [1, 2, 3] vs [3, 2, 1]
    assert spearman([1, 2, float("nan"), 3], [3, 2, 5, 1]) == pytest.approx(-1.0)


# ------------------------------------------------------------------------------------------------
# Model totals and summary
# ------------------------------------------------------------------------------------------------


def small_model(epsilon: float = 0.0) -> tuple[CaptureResult, np.ndarray, np.ndarray]:
    a = np.zeros((2, 2, 4), dtype=np.float32)  # (images, positions, units)
    a[:, :, 2] = 1.0  # unit 2: all four values 1
    a[1, 1, 3] = 4.0  # unit 3: one value 4; units 0 and 1 dead
    b = np.zeros((2, 1, 2), dtype=np.float32)
    b[0, 0, 0] = 2.0  # unit 0 alive, unit 1 dead
    out = np.zeros((2, 1, 1), dtype=np.float32)  # a dead output unit that must not count
    layers = [
        stats_from_values(a, "a"),
        stats_from_values(b, "b"),
        stats_from_values(out, "out", is_output=True),
    ]
    return make_result(layers, [0, 1], [0.2, 0.9], epsilon), a, b


def test_model_totals_exclude_output_layer():
    result, _, _ = small_model()
    assert model_units(result) == 6  # 4 + 2, output's 1 left out
    assert model_dead_units(result) == 3  # a: units 0, 1; b: unit 1
    assert model_nnu_pct(result) == pytest.approx(50.0)  # 100 * 3 / 6
    # a: abs sums [0, 0, 4, 4] / 4 values = [0, 0, 1, 1], mean 0.5 -> scores [0, 0, 2, 2]
    # b: abs sums [2, 0] / 2 values = [1, 0], mean 0.5 -> scores [2, 0]
    assert model_dormant_pct(result, tau=0.1) == pytest.approx(50.0)  # 3 of 6
    assert model_dormant_pct(result, tau=2.0) == pytest.approx(100.0)
    np.testing.assert_array_equal(activation_range(result), [4.0, 2.0])


def test_model_dead_units_default_to_capture_epsilon():
    result, _, _ = small_model(epsilon=1.0)
    # eps 1: a's unit 2 (max 1) dies too -> a: 3, b: 1 (unit 0 has max 2)
    assert model_dead_units(result) == 4
    assert model_dead_units(result, eps=0.0) == 3
    assert model_nnu_pct(result) == pytest.approx(100 * 4 / 6)


def test_summarize_small_model():
    result, a, b = small_model()
    s = summarize(result)
    assert (s.units, s.dead_units, s.n_images) == (6, 3, 2)
    assert s.nnu_pct == pytest.approx(50.0)
    assert s.dormant_pct == pytest.approx(50.0)
    # zeros: a has 16 values of which 11 are 0 (units 0, 1: 8; unit 3: 3); b has 3 of 4
    assert s.zero_fraction == pytest.approx((11 + 3) / (16 + 4))
    assert s.spectrum_skewness == pytest.approx(
        direct_skewness(np.concatenate([a.ravel(), b.ravel()])), rel=1e-9
    )
    assert s.range_max == 4.0
    assert s.range_cv == pytest.approx(1 / 3)  # maxima [4, 2]: mean 3, std 1
    # labels [0, 1], scores [0.2, 0.9]: both right
    assert s.accuracy == 1.0 and s.roc_auc == 1.0
    assert s.loss == pytest.approx(-(math.log(0.8) + math.log(0.9)) / 2, rel=1e-6)
    np.testing.assert_array_equal(s.confusion, [[1, 0], [0, 1]])


def test_summarize_empty_result_without_warnings():
    result = make_result([], np.zeros(0), np.zeros(0))
    s = summarize(result)
    assert s.units == 0 and s.dead_units == 0 and s.n_images == 0
    for value in (s.nnu_pct, s.dormant_pct, s.zero_fraction, s.spectrum_skewness):
        assert math.isnan(value)
    assert math.isnan(s.range_max) and math.isnan(s.range_cv) and math.isnan(s.accuracy)


# ------------------------------------------------------------------------------------------------
# Merging shards
# ------------------------------------------------------------------------------------------------


def test_merge_of_shards_equals_stats_of_all_values():
    rng = np.random.default_rng(7)
    # Multiples of 1/8 in [-2, 6): sums of their powers are exact in float64 in any order.
    values = (rng.integers(-16, 48, size=(9, 3, 5)) / 8).astype(np.float32)
    whole = stats_from_values(values)
    merged = stats_from_values(values[:4])
    merged.merge(stats_from_values(values[4:]))
    assert merged.n_images == whole.n_images == 9
    for field in ("unit_max", "unit_abs_sum", "unit_fire_count", "hist"):
        np.testing.assert_array_equal(getattr(merged, field), getattr(whole, field))
    np.testing.assert_allclose(merged.moments, whole.moments, rtol=1e-12, atol=1e-12)
    assert layer_skewness(merged) == pytest.approx(layer_skewness(whole), rel=1e-12)
    other = stats_from_values(values[:, :, :2], name="other")
    with pytest.raises(ValueError):
        merged.merge(other)
