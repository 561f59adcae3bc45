"""The Wilson score interval for a rate: the one interval every accuracy in the suite is read with.

It sits at the bottom of the house because two floors need the same numbers: the training loop's
stopping rule (suite.train.dynamics.gates_met, part of every model's store key) and the verdicts'
precondition gates and statistics (suite.judge.gates, suite.judge.stats, which re-exports it).
Wilson has good coverage at small n and near 0 or 1, where accuracies live.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy import stats as _st


@dataclass(frozen=True)
class Proportion:
    k: int
    n: int
    estimate: float
    low: float
    high: float

    def __str__(self) -> str:
        return f"{self.estimate:.3f} [{self.low:.3f}, {self.high:.3f}] (k={self.k}, n={self.n})"


def check_kn(k: int, n: int) -> None:
    if n < 0 or not 0 <= k <= max(n, 0):
        raise ValueError(f"need 0 <= k <= n, got k={k}, n={n}")


def wilson(k: int, n: int, confidence: float = 0.95) -> Proportion:
    """Wilson score interval for k successes out of n."""
    check_kn(k, n)
    if n == 0:
        return Proportion(0, 0, float("nan"), 0.0, 1.0)
    z = _st.norm.ppf(0.5 + confidence / 2)
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    low = 0.0 if k == 0 else max(0.0, float(centre - half))
    high = 1.0 if k == n else min(1.0, float(centre + half))
    return Proportion(k, n, p, low, high)
