"""Statistics for verdicts: one helper per kind of test, all deterministic (seeded).

- proportions: Wilson score interval (good coverage at small n and near 0 or 1) and the exact
  Clopper-Pearson interval; exact binomial test.
- paired before/after outcomes: exact McNemar (binomial test on the discordant pairs).
- paired statistics: bootstrap with BCa intervals, falling back to percentile where BCa
  degenerates (e.g. every item has the same value), and to a point interval where all do.
- two groups: permutation test of a difference in means; AUROC with a DeLong interval.
- set overlap: hypergeometric tail probability of an overlap at least as large.
- multiple comparisons: Holm (family-wise) and Benjamini-Hochberg (false discovery rate).
- replication across seeds: the k-of-n rule and its false-positive rate under the null.
- "no effect" claims: TOST equivalence test of a mean difference within a margin.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
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


def _check_kn(k: int, n: int) -> None:
    if n < 0 or not 0 <= k <= max(n, 0):
        raise ValueError(f"need 0 <= k <= n, got k={k}, n={n}")


def wilson(k: int, n: int, confidence: float = 0.95) -> Proportion:
    """Wilson score interval for k successes out of n."""
    _check_kn(k, n)
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


def clopper_pearson(k: int, n: int, confidence: float = 0.95) -> Proportion:
    """Exact (conservative) interval for k successes out of n."""
    _check_kn(k, n)
    if n == 0:
        return Proportion(0, 0, float("nan"), 0.0, 1.0)
    alpha = 1 - confidence
    low = 0.0 if k == 0 else float(_st.beta.ppf(alpha / 2, k, n - k + 1))
    high = 1.0 if k == n else float(_st.beta.ppf(1 - alpha / 2, k + 1, n - k))
    return Proportion(k, n, k / n, low, high)


def binomial_p(k: int, n: int, p0: float, alternative: str = "greater") -> float:
    """Exact binomial test of H0: rate = p0 against `alternative` ('greater', 'less', 'two-sided')."""
    _check_kn(k, n)
    return float(_st.binomtest(k, n, p0, alternative=alternative).pvalue)


@dataclass(frozen=True)
class McNemar:
    lost: int  # success before, failure after
    gained: int  # failure before, success after
    n: int
    p: float
    effect: float  # (lost - gained) / n: the drop in success rate


def mcnemar(before: Sequence[bool], after: Sequence[bool], alternative: str = "greater") -> McNemar:
    """Exact McNemar test on paired outcomes. 'greater': the success rate dropped after."""
    b = np.asarray(before, dtype=bool)
    a = np.asarray(after, dtype=bool)
    if b.shape != a.shape:
        raise ValueError(f"paired outcomes need equal shapes, got {b.shape} and {a.shape}")
    lost, gained = int((b & ~a).sum()), int((~b & a).sum())
    discordant = lost + gained
    if discordant == 0:
        p = 1.0
    else:
        alt = {"greater": "greater", "less": "less", "two-sided": "two-sided"}[alternative]
        p = float(_st.binomtest(lost, discordant, 0.5, alternative=alt).pvalue)
    n = len(b)
    return McNemar(lost, gained, n, p, (lost - gained) / n if n else float("nan"))


@dataclass(frozen=True)
class SignTest:
    positive: int
    negative: int
    ties: int
    p: float


def sign_test(differences: Sequence[float], alternative: str = "greater") -> SignTest:
    """Exact sign test of paired differences against a median of 0 (ties dropped).
    'greater': positive differences are more common."""
    d = np.asarray(differences, dtype=float)
    pos, neg = int((d > 0).sum()), int((d < 0).sum())
    p = 1.0 if pos + neg == 0 else float(
        _st.binomtest(pos, pos + neg, 0.5, alternative=alternative).pvalue)
    return SignTest(pos, neg, len(d) - pos - neg, p)


@dataclass(frozen=True)
class Interval:
    estimate: float
    low: float
    high: float
    method: str


def bootstrap(statistic: Callable[..., float], *samples: Sequence[float], n_resamples: int = 2000,
              confidence: float = 0.95, seed: int = 0) -> Interval:
    """Paired bootstrap interval of statistic(*samples): BCa, else percentile, else a point."""
    arrays = [np.asarray(s, dtype=float) for s in samples]
    estimate = float(statistic(*arrays))
    if all(np.all(x == x[0]) for x in arrays if len(x)):
        return Interval(estimate, estimate, estimate, "point (no variation)")

    index = np.arange(len(arrays[0]), dtype=float)

    def by_index(idx: np.ndarray) -> float:
        rows = idx.astype(int)
        return float(statistic(*[x[rows] for x in arrays]))

    for method in ("BCa", "percentile"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = _st.bootstrap((index,), by_index, vectorized=False, n_resamples=n_resamples,
                                confidence_level=confidence, method=method,
                                rng=np.random.default_rng(seed))
        low, high = float(res.confidence_interval.low), float(res.confidence_interval.high)
        if math.isfinite(low) and math.isfinite(high):
            return Interval(estimate, low, high, method)
    return Interval(estimate, estimate, estimate, "point (bootstrap degenerate)")


def permutation_p(a: Sequence[float], b: Sequence[float], alternative: str = "greater",
                  n_resamples: int = 5000, seed: int = 0) -> float:
    """Permutation test of mean(a) - mean(b) ('greater': a larger)."""
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    res = _st.permutation_test((x, y), lambda u, v, axis=-1: u.mean(axis) - v.mean(axis),
                               vectorized=True, n_resamples=n_resamples, alternative=alternative,
                               rng=np.random.default_rng(seed))
    return float(res.pvalue)


@dataclass(frozen=True)
class Overlap:
    overlap: int
    expected: float
    p: float


def hypergeometric_overlap(a: set[int], b: set[int], population: int) -> Overlap:
    """P(overlap >= observed) for random sets of the same sizes drawn from `population`."""
    if not (a <= set(range(population)) and b <= set(range(population))):
        raise ValueError("sets must be drawn from range(population)")
    k = len(a & b)
    p = float(_st.hypergeom.sf(k - 1, population, len(a), len(b)))
    return Overlap(k, len(a) * len(b) / population, p)


@dataclass(frozen=True)
class AUROC:
    estimate: float
    low: float
    high: float
    p: float  # H0: AUROC = 0.5, two-sided


def auroc(positive: Sequence[float], negative: Sequence[float], confidence: float = 0.95) -> AUROC:
    """Area under the ROC curve (ties count half) with a DeLong interval."""
    x, y = np.asarray(positive, dtype=float), np.asarray(negative, dtype=float)
    m, n = len(x), len(y)
    if m == 0 or n == 0:
        raise ValueError("AUROC needs at least one positive and one negative score")
    psi = (x[:, None] > y[None, :]) + 0.5 * (x[:, None] == y[None, :])
    auc = float(psi.mean())
    v10, v01 = psi.mean(1), psi.mean(0)
    var = (v10.var(ddof=1) / m if m > 1 else 0.0) + (v01.var(ddof=1) / n if n > 1 else 0.0)
    se = math.sqrt(max(var, 0.0))
    z = _st.norm.ppf(0.5 + confidence / 2)
    p = 1.0 if se == 0 else float(2 * _st.norm.sf(abs(auc - 0.5) / se))
    if se == 0 and auc != 0.5:
        p = 0.0
    return AUROC(auc, max(0.0, auc - z * se), min(1.0, auc + z * se), p)


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm step-down adjusted p-values (family-wise error control)."""
    p = np.asarray(pvalues, dtype=float)
    order = np.argsort(p)
    adjusted = np.empty_like(p)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, (len(p) - rank) * p[i])
        adjusted[i] = min(1.0, running)
    return adjusted.tolist()


def benjamini_hochberg(pvalues: Sequence[float]) -> list[float]:
    """Benjamini-Hochberg adjusted p-values (false discovery rate control)."""
    p = np.asarray(pvalues, dtype=float)
    m = len(p)
    order = np.argsort(p)[::-1]
    adjusted = np.empty_like(p)
    running = 1.0
    for position, i in enumerate(order):
        rank = m - position
        running = min(running, p[i] * m / rank)
        adjusted[i] = running
    return adjusted.tolist()


@dataclass(frozen=True)
class Replication:
    passed: int
    n: int
    k: int
    holds: bool
    false_positive_rate: float  # P(>= k of n pass | the claim is false, each passing w.p. alpha)


def k_of_n(passes: Sequence[bool], k: int | None = None, alpha: float = 0.05) -> Replication:
    """The claim replicates if at least k of n seeds pass (default: a strict majority)."""
    n = len(passes)
    if n == 0:
        raise ValueError("no seeds to replicate over")
    k = n // 2 + 1 if k is None else k
    if not 1 <= k <= n:
        raise ValueError(f"need 1 <= k <= n, got k={k}, n={n}")
    passed = int(sum(bool(x) for x in passes))
    fpr = float(_st.binom.sf(k - 1, n, alpha))
    return Replication(passed, n, k, passed >= k, fpr)


@dataclass(frozen=True)
class Equivalence:
    estimate: float
    margin: float
    p: float  # max of the two one-sided p-values
    equivalent: bool


def tost(differences: Sequence[float], margin: float, alpha: float = 0.05) -> Equivalence:
    """Two one-sided t-tests: is the mean of paired differences within (-margin, margin)?"""
    d = np.asarray(differences, dtype=float)
    if margin <= 0:
        raise ValueError("the equivalence margin must be positive")
    mean = float(d.mean())
    se = float(d.std(ddof=1) / math.sqrt(len(d))) if len(d) > 1 else 0.0
    if se == 0:
        p = 0.0 if abs(mean) < margin else 1.0
    else:
        df = len(d) - 1
        p_low = float(_st.t.sf((mean + margin) / se, df))
        p_high = float(_st.t.cdf((mean - margin) / se, df))
        p = max(p_low, p_high)
    return Equivalence(mean, margin, p, p < alpha)
