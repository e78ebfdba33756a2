"""Claims verdicts and weight shift maths, by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tlexplorer.claims import verdict
from tlexplorer.weightshift import shift


def test_shift_by_hand():
    # W0 = [3, 4] (norm 5); W = [3, 4] + [0, 1] = [3, 5]: relative = 1/5; cos = (9+20)/(5*sqrt(34))
    rel, cos = shift([np.array([3.0, 4.0])], [np.array([3.0, 4.0]) - [0, 0]])
    assert rel == 0.0 and cos == pytest.approx(1.0)
    rel, cos = shift([np.array([[3.0]]), np.array([5.0])], [np.array([[3.0]]), np.array([4.0])])
    assert rel == pytest.approx(0.2)
    assert cos == pytest.approx(29 / (5 * math.sqrt(34)))


def test_shift_shape_mismatch_and_zero_reference():
    with pytest.raises(ValueError):
        shift([np.zeros(3)], [np.zeros(4)])
    rel, cos = shift([np.ones(2)], [np.zeros(2)])
    assert math.isnan(rel) and math.isnan(cos)


@pytest.mark.parametrize(("rho", "sign", "expected"), [
    (-0.9, -1, "yes"), (0.9, -1, "no"), (0.3, -1, "unclear"), (-0.5, -1, "yes"),
    (0.7, 1, "yes"), (-0.7, 1, "no"), (float("nan"), 1, "unclear"),
])
def test_verdicts(rho, sign, expected):
    assert verdict(rho, sign) == expected
