"""The poster's claims, checked on the user's own models (numpy only).

Each claim is a rank correlation (Spearman ρ) between test accuracy and one activation metric
across the models of a suite. With so few models (the poster has five) no correlation is
significant in the statistical sense, so the verdict is deliberately plain: "yes" when ρ has the
claimed sign and |ρ| ≥ 0.5, "no" when it has the opposite sign and |ρ| ≥ 0.5, else "unclear".
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from tlexplorer import metrics
from tlexplorer.capture.result import CaptureResult

STRONG = 0.5


@dataclass(frozen=True)
class Claim:
    claim: str
    metric: str
    sign: int  # +1: metric rises with accuracy; -1: metric falls as accuracy rises


CLAIMS = (
    Claim("NNU ∝ 1/accuracy", "nnu_pct", -1),
    Claim("NNU ∝ 1/accuracy (τ-dormant form)", "dormant_pct", -1),
    Claim("right-skewed spectrum goes with success", "spectrum_skewness", +1),
    Claim("consistent range goes with success", "range_cv", -1),
)


@dataclass
class ClaimCheck:
    claim: str
    metric: str
    spearman_rho: float
    n: int
    holds: str  # "yes", "no", "unclear"


def verdict(rho: float, sign: int) -> str:
    if math.isnan(rho) or abs(rho) < STRONG:
        return "unclear"
    return "yes" if rho * sign > 0 else "no"


def check_claims(results: Sequence[CaptureResult], tau: float = metrics.DEFAULT_TAU
                 ) -> list[ClaimCheck]:
    summaries = [metrics.summarize(r, tau) for r in results]
    accuracy = [s.accuracy for s in summaries]
    checks = []
    for claim in CLAIMS:
        values = [getattr(s, claim.metric) for s in summaries]
        pairs = [(a, v) for a, v in zip(accuracy, values, strict=True)
                 if not (math.isnan(a) or math.isnan(v))]
        rho = metrics.spearman([a for a, _ in pairs], [v for _, v in pairs])
        checks.append(ClaimCheck(claim.claim, claim.metric, rho, len(pairs),
                                 verdict(rho, claim.sign)))
    return checks
