"""Statistics for verdicts: one helper per kind of test, all deterministic (seeded).

- proportions: the exact binomial test and its Clopper-Pearson interval for a verdict's share
  (Share); the Wilson score interval for accuracies read as gates (suite.proportion); the exact
  binomial test is also the sign test on paired items (suite.run.baseline).
- two groups: AUROC with a DeLong interval on the logit scale.
- set overlap: hypergeometric tail probability of an overlap at least as large.
- multiple comparisons: Holm (family-wise).
- replication across seeds: the k-of-n rule and its false-positive rate under the null.
- measurements a claim's rule is decided on (Share, ItemMean, ItemStatistic, Difference,
  MatchedUnits, TopOverlap, PairedHits, Auc, Exact, Largest, Smallest, Shifted;
  suite.judge.claim.decide reads them): each gives an estimate with an interval whose unit is
  the item, so items that contribute several answer positions or sites are resampled whole (a
  cluster bootstrap), never counted as independent units.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from functools import cached_property
from typing import Callable, Protocol, Sequence

import numpy as np
from scipy import special as _special, stats as _st

from suite.judge.betting import Betting, check_bounds as _unit_check
from suite.proportion import Proportion, check_kn as _check_kn, wilson  # noqa: F401 (re-exported)


def binomial_p(k: int, n: int, p0: float, alternative: str = "greater") -> float:
    """Exact binomial test of H0: rate = p0 against `alternative` ('greater', 'less', 'two-sided')."""
    _check_kn(k, n)
    return float(_st.binomtest(k, n, p0, alternative=alternative).pvalue)


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
    se: float = 0.0  # DeLong standard error (on the AUROC's own scale)
    pairs: int = 0  # disjoint positive-negative pairs, min(m, n): the fallback's sample size


def auroc(positive: Sequence[float], negative: Sequence[float], confidence: float = 0.95) -> AUROC:
    """Area under the ROC curve (ties count half): DeLong's standard error, with the interval
    and the p-values on the logit scale (statistics version 4; DeLong on the AUROC's own scale
    gave false "holds" 0.0305 at 100 + 100 items, docs/CALIBRATION.md). Where that error is zero
    (every pair ordered alike, AUROC 0 or 1, or no spread at all), the AUROC is read as a share
    of concordant pairs among min(m, n) disjoint pairs, with its exact interval: never a point."""
    x, y = np.asarray(positive, dtype=float), np.asarray(negative, dtype=float)
    m, n = len(x), len(y)
    if m == 0 or n == 0:
        raise ValueError("AUROC needs at least one positive and one negative score")
    psi = (x[:, None] > y[None, :]) + 0.5 * (x[:, None] == y[None, :])
    auc = float(psi.mean())
    v10, v01 = psi.mean(1), psi.mean(0)
    var = (v10.var(ddof=1) / m if m > 1 else 0.0) + (v01.var(ddof=1) / n if n > 1 else 0.0)
    se = math.sqrt(max(var, 0.0))
    a = AUROC(auc, auc, auc, 1.0, se, min(m, n))
    low, high = _auc_bounds(a, confidence)
    p = min(1.0, 2 * min(_auc_tail(a, ">", 0.5), _auc_tail(a, "<", 0.5)))
    return AUROC(auc, low, high, p, se, min(m, n))


def _pairs_share(a: AUROC) -> "Share":
    return Share(int(round(a.estimate * a.pairs)), a.pairs)


def _auc_bounds(a: AUROC, confidence: float) -> tuple[float, float]:
    if a.se == 0 or not 0 < a.estimate < 1:
        e = _pairs_share(a).interval(confidence)
        return min(e.low, a.estimate), max(e.high, a.estimate)
    z = _special.ndtri(0.5 + confidence / 2)  # what norm.ppf evaluates
    centre, half = _special.logit(a.estimate), z * a.se / (a.estimate * (1 - a.estimate))
    return float(_special.expit(centre - half)), float(_special.expit(centre + half))


def _auc_tail(a: AUROC, op: str, threshold: float) -> float:
    """The p-value of `a` against `op threshold`, by the procedure its interval inverts."""
    if a.se == 0 or not 0 < a.estimate < 1:
        return _pairs_share(a).p(op, threshold)
    if not 0 < threshold < 1:  # the AUROC lies strictly inside (0, 1) on this scale
        return 0.0 if (threshold <= 0) == (PASSING[op] == "greater") else 1.0
    se = a.se / (a.estimate * (1 - a.estimate))
    return _normal_tail((_special.logit(a.estimate) - _special.logit(threshold)) / se, op)


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


# ---------------------------------------------------------------------------------------------
# Measurements: what a claim's rule is decided on. A claim test hands judge() measurements, not
# finished intervals, so the interval (at the claim's confidence, Bonferroni-adjusted where a
# claim may hold at one of several sites) and the decision are made in one place.
# ---------------------------------------------------------------------------------------------

N_RESAMPLES = 2000  # bootstrap resamples; seeded, so every interval repeats exactly
SHARES = (0.0, 1.0)  # the bounds of per-item shares (of answer positions, of outcomes)
CHANGES = (-1.0, 1.0)  # ... and of a difference of two of them
PASSING = {">=": "greater", ">": "greater", "<=": "less", "<": "less"}


@dataclass(frozen=True)
class Estimate:
    value: float
    low: float
    high: float
    method: str  # how the interval was made, e.g. "Wilson", "bootstrap over 150 items"


class Measure(Protocol):
    def interval(self, confidence: float) -> Estimate: ...

    def p(self, op: str, threshold: float) -> float:
        """One-sided p-value of the hypothesis that the quantity lies on the failing side of
        `op threshold` (small p: evidence that it lies on the passing side)."""
        ...


def _normal_tail(z: float, op: str) -> float:
    """P(Z >= z) for a "greater" rule, P(Z <= z) for a "less" one: scipy.special.ndtr, the
    function scipy.stats.norm.sf and .cdf evaluate, without their per-call overhead (the
    PairedHits interval is a bisection of about a hundred of these)."""
    return float(_special.ndtr(-z) if PASSING[op] == "greater" else _special.ndtr(z))


def _tail(resampled: np.ndarray, op: str, threshold: float) -> float:
    failing = resampled <= threshold if PASSING[op] == "greater" else resampled >= threshold
    return float((failing.sum() + 1) / (len(resampled) + 1))


def _percentile(resampled: np.ndarray, value: float, confidence: float, method: str) -> Estimate:
    tail = (1 - confidence) / 2
    low, high = np.quantile(resampled, [tail, 1 - tail])
    return Estimate(value, min(float(low), value), max(float(high), value), method)


@dataclass(frozen=True)
class Share:
    """k of n units (items) with an outcome: the exact binomial test and its inversion, the
    Clopper-Pearson interval, so the interval and the p-value are one procedure (a bound lies
    beyond a threshold exactly where the one-sided exact p is below (1 - confidence) / 2) and
    the false rates at a threshold stay within the nominal level at any n (the Wilson interval
    exceeded it at n = 100: docs/CALIBRATION.md, statistics version 3)."""

    k: int
    n: int

    def interval(self, confidence: float) -> Estimate:
        _check_kn(self.k, self.n)
        if self.n == 0:
            return Estimate(float("nan"), 0.0, 1.0, "no units")
        ci = _st.binomtest(self.k, self.n).proportion_ci(confidence, method="exact")
        return Estimate(self.k / self.n, float(ci.low), float(ci.high),
                        f"Clopper-Pearson over {self.n}")

    def p(self, op: str, threshold: float) -> float:
        if self.n == 0:
            return 1.0
        return binomial_p(self.k, self.n, min(1.0, max(0.0, threshold)), PASSING[op])


class ItemStatistic:
    """statistic(rows) over items (rows: an array with one row per item), with a percentile
    bootstrap that resamples whole items: an item's positions or sites stay together."""

    def __init__(self, rows: Sequence | np.ndarray, statistic: Callable[[np.ndarray], float],
                 seed: int = 0) -> None:
        self.rows = np.asarray(rows, dtype=float)
        self.statistic = statistic
        self.seed = seed

    @property
    def n(self) -> int:
        return len(self.rows)

    def _resampled(self) -> np.ndarray:
        rng = np.random.default_rng(self.seed)
        index = rng.integers(0, self.n, size=(N_RESAMPLES, self.n))
        return np.array([self.statistic(self.rows[i]) for i in index])

    def interval(self, confidence: float) -> Estimate:
        if self.n == 0:
            return Estimate(float("nan"), float("-inf"), float("inf"), "no items")
        value = float(self.statistic(self.rows))
        if np.all(self.rows == self.rows[0]):
            return Estimate(value, value, value, f"every one of {self.n} items equal")
        return _percentile(self.draws, value, confidence, f"bootstrap over {self.n} items")

    def p(self, op: str, threshold: float) -> float:
        if self.n == 0:
            return 1.0
        if np.all(self.rows == self.rows[0]):
            return Exact(float(self.statistic(self.rows))).p(op, threshold)
        return _tail(self.draws, op, threshold)

    @cached_property
    def draws(self) -> np.ndarray:
        """The statistic on each bootstrap resample, drawn once (interval and p share them)."""
        return self._resampled()


class ItemMean(ItemStatistic):
    """The mean over items of a per-item value (e.g. a paired difference), bootstrapped over
    items (vectorized).

    Items that each take -1, 0 or 1 (a paired difference of 0/1 outcomes, a 0/1 outcome, or
    all equal at one of these) are decided by PairedHits instead (statistics version 5): the
    count of +1 items against the count of -1 items is the whole of the data there, and the
    percentile bootstrap of such a mean is anti-conservative where few items are nonzero (false
    "does not hold" 0.094 at 5 of 100 discordant, docs/CALIBRATION.md) and a point where all
    items are equal. PairedHits models any item on {-1, 0, 1} (its three shares, the mean their
    difference), so it is valid for a 0/1 share too, where it is more conservative than the
    exact binomial interval near 0 and 1 (a Share, which assumes no item can be -1). The branch
    is decided by the items' values, never by how a rule comes out; it is not monotone across
    the branch (5 of 100 items at +1 are PairedHits' "inconclusive" at > 0, while 4 at +1 and
    one at +0.5 are the bootstrap's "holds"), so a claim whose items are not structurally on
    {-1, 0, 1} (fractional shares) can meet both procedures. Since statistics version 6 items on
    {-s, 0, s} for one s > 0 (a relative drop: a 0/1 change divided by the rate before) are
    PairedHits too, its interval scaled by s.

    Other items with declared `bounds` (lower, upper), which every claim gives (shares of answer
    positions lie in [0, 1], their differences in [-1, 1]), take the betting interval
    (suite.judge.betting; statistics version 7): valid at every n by its construction, where each
    bootstrap missed the level at about 100 items for sparse or skewed items (false "does not
    hold" up to 0.10 for items that are mostly 0, benchmarks/bounded_mean_choice.py). It pays
    with power where the items' spread is small against their bounds (docs/CALIBRATION.md). Items
    without bounds keep the percentile bootstrap: no interval keeps its level for every
    distribution of unbounded items (Bahadur and Savage 1956), and it is not calibrated for
    skewed ones."""

    def __init__(self, values: Sequence | np.ndarray, seed: int = 0,
                 bounds: tuple[float, float] | None = None) -> None:
        super().__init__(np.asarray(values, dtype=float).reshape(-1), np.mean, seed)
        self.bounds = None if bounds is None else (float(bounds[0]), float(bounds[1]))
        if self.bounds is not None:
            _unit_check(self.rows, *self.bounds)

    @cached_property
    def scale(self) -> float:
        """s where every item is -s, 0 or s (s = 1 where all are 0); 0.0 where they are not."""
        if self.n == 0:
            return 0.0
        s = float(np.abs(self.rows).max()) or 1.0
        return s if np.isin(self.rows, (-s, 0.0, s)).all() else 0.0

    @cached_property
    def trinary(self) -> "PairedHits | None":
        """The items, divided by their scale, as PairedHits where every one is -s, 0 or s;
        None otherwise."""
        if not self.scale:
            return None
        s = self.scale
        return PairedHits(int((self.rows == s).sum()), int((self.rows == -s).sum()), self.n)

    @cached_property
    def betting(self) -> Betting | None:
        """The betting interval's procedure where the items are bounded and not on {-s, 0, s}."""
        if self.trinary is not None or self.bounds is None or self.n == 0:
            return None
        return Betting(self.rows, *self.bounds, seed=self.seed)

    def interval(self, confidence: float) -> Estimate:
        if self.trinary is not None:
            e, s = self.trinary.interval(confidence), self.scale
            method = e.method if s == 1 else f"{e.method}, items +-{s:.4g}"
            return Estimate(float(self.rows.mean()), e.low * s, e.high * s, method)
        if self.betting is not None:
            low, high = self.betting.interval(confidence)
            value = float(self.rows.mean())
            lo, hi = self.bounds
            return Estimate(value, min(low, value), max(high, value),
                            f"betting over {self.n} items in [{lo:g}, {hi:g}]")
        return super().interval(confidence)

    def p(self, op: str, threshold: float) -> float:
        if self.trinary is not None:
            return self.trinary.p(op, threshold / self.scale)
        if self.betting is not None:
            return self.betting.p(PASSING[op] == "greater", threshold)
        return super().p(op, threshold)

    def _resampled(self) -> np.ndarray:
        rng = np.random.default_rng(self.seed)
        return self.rows[rng.integers(0, self.n, size=(N_RESAMPLES, self.n))].mean(1)


class Difference:
    """mean(a) - mean(b) for two independent groups of items. The interval combines each
    group's own interval (ItemMean's: PairedHits where a group's items lie on {-s, 0, s}, else
    its item bootstrap) by MOVER (Zou and Donner 2008, Stat. Med. 27:1693; for two proportions
    with score intervals it is Newcombe's 1998 method 10): d - sqrt((a - a_low)^2 + (b_high -
    b)^2) to d + sqrt((a_high - a)^2 + (b - b_low)^2). Statistics version 6: the bootstrap of
    the difference (version 5) was a point where both groups had no spread, and gave false
    "does not hold" 0.0325 at 100 + 100 0/1 items (docs/CALIBRATION.md). The p-value inverts
    the same interval (the one-sided level at which its bound reaches the threshold)."""

    def __init__(self, a: Sequence | np.ndarray, b: Sequence | np.ndarray, seed: int = 0,
                 bounds: tuple[float, float] | None = None) -> None:
        self.a, self.b = ItemMean(a, seed, bounds), ItemMean(b, seed + 1, bounds)

    @property
    def value(self) -> float:
        if self.a.n == 0 or self.b.n == 0:
            return float("nan")
        return float(self.a.rows.mean() - self.b.rows.mean())

    def interval(self, confidence: float) -> Estimate:
        if self.a.n == 0 or self.b.n == 0:
            return Estimate(float("nan"), float("-inf"), float("inf"), "no items in a group")
        a, b = self.a.interval(confidence), self.b.interval(confidence)
        d = self.value
        return Estimate(d, d - math.hypot(a.value - a.low, b.high - b.value),
                        d + math.hypot(a.high - a.value, b.value - b.low),
                        f"MOVER over {self.a.n} and {self.b.n} items ({a.method}; {b.method})")

    def p(self, op: str, threshold: float) -> float:
        if self.a.n == 0 or self.b.n == 0:
            return 1.0
        greater = PASSING[op] == "greater"

        def rejects(alpha: float) -> bool:  # the one-sided test at level alpha
            e = self.interval(1 - 2 * alpha)
            return e.low > threshold if greater else e.high < threshold

        lo, hi = 1e-9, 0.5 - 1e-9
        if not rejects(hi):
            return 1.0 if (self.value <= threshold if greater else self.value >= threshold) else 0.5
        if rejects(lo):
            return lo
        for _ in range(30):  # the smallest level that rejects (rejection grows with the level)
            mid = (lo + hi) / 2
            lo, hi = (lo, mid) if rejects(mid) else (mid, hi)
        return hi


class MatchedUnits:
    """The share of units (e.g. a model's top neurons) whose firing set over prompts matches
    some prompt set (best Jaccard index >= `minimum`), minus the same share for `control`
    firing where one is given: the units are fixed (chosen on other items), the prompts are the
    sampling unit, so the percentile bootstrap resamples prompts whole and recomputes every
    unit's best match in each resample (issue 40: the units are not independent draws; the
    randomness is in the prompts).

    Not calibrated by simulation. The best match is a maximum over many sets, so a unit's
    sample Jaccard is biased upwards and the draws lie at or above the estimate: "does not hold"
    is the safe side, "holds" near the threshold is not (a review's simulation: ten of twenty
    units at a population Jaccard of 0.59 "held" a share > 0.5 in 98 % of draws). The firing
    threshold and position (suite.measure.heuristics.firing) are not recomputed per resample.

    fires, control: [prompts, units] 0/1; sets: [prompts, sets] 0/1."""

    def __init__(self, fires: Sequence | np.ndarray, sets: Sequence | np.ndarray, minimum: float,
                 control: Sequence | np.ndarray | None = None, seed: int = 0) -> None:
        self.fires = np.asarray(fires, dtype=float)
        self.sets = np.asarray(sets, dtype=float)
        self.control = None if control is None else np.asarray(control, dtype=float)
        if self.fires.ndim != 2 or self.sets.ndim != 2 or len(self.fires) != len(self.sets):
            raise ValueError("matched units need fires [prompts, units] and sets [prompts, sets] "
                             "over the same prompts")
        if 0 in self.fires.shape or self.sets.shape[1] == 0:
            raise ValueError(f"matched units need at least one prompt, unit and set, got fires "
                             f"{self.fires.shape} and sets {self.sets.shape}")
        if self.control is not None and self.control.shape != self.fires.shape:
            raise ValueError("the control firing must have the shape of the firing")
        for name, x in (("fires", self.fires), ("sets", self.sets), ("control", self.control)):
            if x is not None and not np.isin(x, (0.0, 1.0)).all():
                raise ValueError(f"matched units need 0/1 {name}")
        if not 0 < minimum <= 1:
            raise ValueError(f"a Jaccard minimum lies in (0, 1], got {minimum}")
        self.minimum, self.seed = float(minimum), seed

    @staticmethod
    def _share(fires: np.ndarray, sets: np.ndarray, minimum: float) -> float:
        inter = fires.T @ sets  # [units, sets]
        union = fires.sum(0)[:, None] + sets.sum(0)[None, :] - inter
        jaccard = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
        return float((jaccard.max(1) >= minimum).mean())

    def _value(self, rows: np.ndarray | slice) -> float:
        value = self._share(self.fires[rows], self.sets[rows], self.minimum)
        if self.control is not None:
            value -= self._share(self.control[rows], self.sets[rows], self.minimum)
        return value

    @cached_property
    def draws(self) -> np.ndarray:
        rng = np.random.default_rng(self.seed)
        n = len(self.fires)
        return np.array([self._value(rng.integers(0, n, size=n)) for _ in range(N_RESAMPLES)])

    def interval(self, confidence: float) -> Estimate:
        return _percentile(self.draws, self._value(slice(None)), confidence,
                           f"bootstrap over {len(self.fires)} prompts, {self.fires.shape[1]} "
                           "units fixed")

    def p(self, op: str, threshold: float) -> float:
        return _tail(self.draws, op, threshold)


class TopOverlap:
    """|top(a) & top(b)| / k, where top(x) is the k units (columns, e.g. neurons) with the
    largest mean over x's items (rows): two groups of items, each resampled whole with its top
    units chosen again in each resample, so the interval carries the choice's own variation
    (issue 40 item 3: the units are chosen from the items, so the items are the sampling unit,
    not the k units).

    Not calibrated by simulation. Choosing again in each resample adds the choice's noise a
    second time, so the draws lie below the overlap of the population's tops where the signal
    is weak: "holds" is the safe side, "does not hold" near the threshold is not (a review's
    simulation, k = 100 of 2000 units and 50 items a group: false "does not hold" 0.17 at a
    true overlap of 0.15; the Share over the k units it replaced gave 0.08, also above 0.025).
    Tied means at the k-th place are broken by argpartition's order, the same in both groups."""

    def __init__(self, a: Sequence | np.ndarray, b: Sequence | np.ndarray, k: int,
                 seed: int = 0) -> None:
        self.a, self.b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
        if self.a.ndim != 2 or self.b.ndim != 2 or self.a.shape[1] != self.b.shape[1]:
            raise ValueError("top overlap needs two [items, units] arrays over the same units")
        if len(self.a) == 0 or len(self.b) == 0:
            raise ValueError("top overlap needs at least one item in each group")
        if not (isinstance(k, (int, np.integer)) and 1 <= k <= self.a.shape[1]):
            raise ValueError(f"need an integer 1 <= k <= {self.a.shape[1]} units, got k={k}")
        self.k, self.seed = int(k), seed

    def _tops(self, means: np.ndarray) -> np.ndarray:
        """[rows, units] bool: each row's k largest means."""
        means = np.atleast_2d(means)
        chosen = np.argpartition(-means, self.k - 1, axis=1)[:, :self.k]
        tops = np.zeros(means.shape, dtype=bool)
        np.put_along_axis(tops, chosen, True, axis=1)
        return tops

    def _overlap(self, mean_a: np.ndarray, mean_b: np.ndarray) -> np.ndarray:
        return (self._tops(mean_a) & self._tops(mean_b)).sum(1) / self.k

    @cached_property
    def draws(self) -> np.ndarray:
        rng = np.random.default_rng(self.seed)

        def resampled_means(x: np.ndarray) -> np.ndarray:
            n = len(x)
            counts = np.stack([np.bincount(rng.integers(0, n, size=n), minlength=n)
                               for _ in range(N_RESAMPLES)])
            return counts @ x / n

        return self._overlap(resampled_means(self.a), resampled_means(self.b))

    def interval(self, confidence: float) -> Estimate:
        value = float(self._overlap(self.a.mean(0), self.b.mean(0))[0])
        return _percentile(self.draws, value, confidence,
                           f"bootstrap over {len(self.a)} and {len(self.b)} items, the top "
                           f"{self.k} units chosen again in each resample")

    def p(self, op: str, threshold: float) -> float:
        return _tail(self.draws, op, threshold)


@dataclass(frozen=True)
class PairedHits:
    """share(a) - share(b) over the same items, for 0/1 outcomes a and b (a hit with and without
    an intervention, or above a control): (up - down) / n, where `up` items have a and not b
    and `down` items b and not a. The percentile bootstrap is anti-conservative here when few
    items are discordant (issue 40: 4 of 100 items +1 "holds", the exact sign test does not).

    One test, at every count, gives both the p-value of a rule "difference > delta" and the
    interval (the thresholds neither one-sided test rejects): Tango's score test (Tango 1998,
    Stat. Med. 17:891; the variance at the null's constrained maximum-likelihood rates) with a
    continuity correction of one item on the up - down scale, as in McNemar's corrected test
    (Edwards 1948). At delta = 0 it is McNemar's corrected test, which decides as the exact sign
    test does where few items differ (k of k discordant items in one direction: "holds" from
    k = 6, as the exact test). Calibrated by simulation (suite.judge.calibration,
    docs/CALIBRATION.md), with no switch between procedures, so one more item against the claim
    never moves a verdict towards it."""

    up: int
    down: int
    n: int

    def __post_init__(self) -> None:
        if not all(isinstance(x, (int, np.integer)) for x in (self.up, self.down, self.n)):
            raise TypeError(f"paired hits are counts (integers), got {self}")
        if min(self.up, self.down) < 0 or self.up + self.down > self.n:
            raise ValueError(f"paired hits need 0 <= up, down and up + down <= n, got {self}")

    @classmethod
    def of(cls, a: Sequence | np.ndarray, b: Sequence | np.ndarray) -> "PairedHits":
        """From per-item 0/1 outcomes a and b (booleans or 0/1 numbers)."""
        a, b = np.asarray(a, dtype=float).reshape(-1), np.asarray(b, dtype=float).reshape(-1)
        if a.shape != b.shape or not np.isin(np.concatenate([a, b]), (0.0, 1.0)).all():
            raise ValueError("paired hits need two 0/1 outcomes per item")
        return cls(int(((a == 1) & (b == 0)).sum()), int(((a == 0) & (b == 1)).sum()), len(a))

    @property
    def value(self) -> float:
        return (self.up - self.down) / self.n if self.n else float("nan")

    def score(self, delta: float) -> float:
        """The continuity-corrected score statistic for the null difference = delta."""
        n, b, c = self.n, self.up, self.down
        A, B, C = 2 * n, -b - c + (2 * n - b + c) * delta, -c * delta * (1 - delta)
        p01 = (math.sqrt(max(B * B - 4 * A * C, 0.0)) - B) / (2 * A)  # constrained MLE
        variance = n * (2 * p01 + delta * (1 - delta))
        excess = b - c - n * delta
        corrected = math.copysign(max(abs(excess) - 1.0, 0.0), excess)
        if variance <= 0:
            return math.copysign(math.inf, corrected) if corrected else 0.0
        return corrected / math.sqrt(variance)

    def p(self, op: str, threshold: float) -> float:
        if self.n == 0:
            return 1.0
        z = self.score(threshold)
        return _normal_tail(z, op)

    def interval(self, confidence: float) -> Estimate:
        return _paired_interval(self, confidence)


@functools.lru_cache(maxsize=4096)
def _paired_interval(measure: PairedHits, confidence: float) -> Estimate:
    """PairedHits' interval (once per counts: a bisection of about a hundred tests)."""
    if measure.n == 0:
        return Estimate(float("nan"), float("-inf"), float("inf"), "no items")
    alpha = (1 - confidence) / 2

    def edge(greater: bool) -> float:
        # the lowest threshold a "greater" test does not reject (its p rises with the
        # threshold), or the highest a "less" test does not reject
        lo, hi = -1.0, 1.0
        for _ in range(50):
            mid = (lo + hi) / 2
            rejected = measure.p(">" if greater else "<", mid) < alpha
            lo, hi = (mid, hi) if rejected == greater else (lo, mid)
        return lo if greater else hi

    value = measure.value
    return Estimate(value, min(edge(True), value), max(edge(False), value),
                    f"Tango score, continuity-corrected, over {measure.n} items, "
                    f"{measure.up + measure.down} discordant")


@dataclass(frozen=True)
class Auc:
    """AUROC of positive vs negative scores (one score per item): DeLong on the logit scale, or
    the exact interval of concordant disjoint pairs where DeLong's error is zero (`auroc`)."""

    positive: tuple[float, ...]
    negative: tuple[float, ...]

    def interval(self, confidence: float) -> Estimate:
        a = auroc(self.positive, self.negative, confidence)
        how = (f"DeLong, logit scale, over {len(self.positive)} + {len(self.negative)} items"
               if a.se > 0 and 0 < a.estimate < 1 else
               f"no spread: Clopper-Pearson over {a.pairs} disjoint pairs")
        return Estimate(a.estimate, a.low, a.high, how)

    def p(self, op: str, threshold: float) -> float:
        return _auc_tail(auroc(self.positive, self.negative), op, threshold)


@dataclass(frozen=True)
class Exact:
    """A quantity measured without sampling error (e.g. a step read off the training curve):
    its interval is the point, and the rule's error rate is not a sampling error rate."""

    value: float
    method: str = "exact (no sampling unit)"

    def interval(self, confidence: float) -> Estimate:
        return Estimate(self.value, self.value, self.value, self.method)

    def p(self, op: str, threshold: float) -> float:
        passes = {">=": self.value >= threshold, ">": self.value > threshold,
                  "<=": self.value <= threshold, "<": self.value < threshold}[op]
        return 0.0 if passes else 1.0


@dataclass(frozen=True)
class Largest:
    """The largest of several quantities (e.g. over layers or cells), with simultaneous
    intervals: each part at confidence 1 - (1 - c) / m, so the interval of the maximum is
    [max of lows, max of highs] with coverage >= c."""

    parts: tuple[Measure, ...]

    def interval(self, confidence: float) -> Estimate:
        m = len(self.parts)
        each = [p.interval(1 - (1 - confidence) / m) for p in self.parts]
        value = max(e.value for e in each)
        return Estimate(value, max(e.low for e in each), max(e.high for e in each),
                        f"largest of {m}, simultaneous ({each[0].method} each)")

    def p(self, op: str, threshold: float) -> float:
        ps = [part.p(op, threshold) for part in self.parts]
        if PASSING[op] == "greater":  # some part above: Bonferroni
            return min(1.0, len(ps) * min(ps))
        return max(ps)  # every part below: intersection-union


@dataclass(frozen=True)
class Smallest:
    """The smallest of several quantities (a claim 'at every rho'): simultaneous intervals as in
    Largest, [min of lows, min of highs]."""

    parts: tuple[Measure, ...]

    def interval(self, confidence: float) -> Estimate:
        m = len(self.parts)
        each = [p.interval(1 - (1 - confidence) / m) for p in self.parts]
        return Estimate(min(e.value for e in each), min(e.low for e in each),
                        min(e.high for e in each),
                        f"smallest of {m}, simultaneous ({each[0].method} each)")

    def p(self, op: str, threshold: float) -> float:
        ps = [part.p(op, threshold) for part in self.parts]
        if PASSING[op] == "greater":  # every part above: intersection-union
            return max(ps)
        return min(1.0, len(ps) * min(ps))


@dataclass(frozen=True)
class Shifted:
    """measure + by (e.g. a recall minus its 0.5 threshold, to compare it with other parts)."""

    measure: Measure
    by: float

    def interval(self, confidence: float) -> Estimate:
        e = self.measure.interval(confidence)
        return Estimate(e.value + self.by, e.low + self.by, e.high + self.by, e.method)

    def p(self, op: str, threshold: float) -> float:
        return self.measure.p(op, threshold - self.by)


def is_exact(measure: Measure) -> bool:
    """True where no sampling error is involved (so a rule on it has no error rate)."""
    if isinstance(measure, (Largest, Smallest)):
        return all(is_exact(p) for p in measure.parts)
    if isinstance(measure, Shifted):
        return is_exact(measure.measure)
    return isinstance(measure, Exact)


# --- measurements as records: what `memsuite rescore` re-decides a run from, without models ---

def median_column_mean(rows: np.ndarray) -> float:
    """The median over columns of each column's mean over items (e.g. over neurons, the share
    of items whose own top set holds the neuron)."""
    return float(np.median(rows.mean(0)))


# ItemStatistic's statistics that a record can name (a lambda cannot be written to a file)
STATISTICS: dict[str, Callable[[np.ndarray], float]] = {"median_column_mean": median_column_mean}


def to_record(measure: Measure) -> dict | None:
    """A JSON-able record of `measure` from which from_record rebuilds it exactly (its per-item
    values, not its interval), or None for an ItemStatistic whose statistic STATISTICS does
    not name."""
    if isinstance(measure, Share):
        return {"share": [int(measure.k), int(measure.n)]}
    if isinstance(measure, ItemMean):
        bounds = {} if measure.bounds is None else {"bounds": list(measure.bounds)}
        return {"item_mean": measure.rows.tolist(), "seed": int(measure.seed), **bounds}
    if isinstance(measure, ItemStatistic):
        name = next((k for k, f in STATISTICS.items() if f is measure.statistic), None)
        return None if name is None else {"item_statistic": measure.rows.tolist(),
                                          "statistic": name, "seed": int(measure.seed)}
    if isinstance(measure, PairedHits):
        return {"paired_hits": [int(measure.up), int(measure.down), int(measure.n)]}
    if isinstance(measure, TopOverlap):
        return {"top_overlap": [measure.a.tolist(), measure.b.tolist()], "k": measure.k,
                "seed": int(measure.seed)}
    if isinstance(measure, MatchedUnits):
        return {"matched_units": [measure.fires.astype(int).tolist(),
                                  measure.sets.astype(int).tolist()],
                "minimum": measure.minimum, "seed": int(measure.seed),
                "control": None if measure.control is None else measure.control.astype(int).tolist()}
    if isinstance(measure, Difference):
        bounds = {} if measure.a.bounds is None else {"bounds": list(measure.a.bounds)}
        return {"difference": [measure.a.rows.tolist(), measure.b.rows.tolist()],
                "seed": int(measure.a.seed), **bounds}
    if isinstance(measure, Auc):
        return {"auc": [[float(x) for x in measure.positive],
                        [float(x) for x in measure.negative]]}
    if isinstance(measure, Exact):
        return {"exact": float(measure.value), "method": measure.method}
    if isinstance(measure, (Largest, Smallest)):
        parts = [to_record(p) for p in measure.parts]
        kind = "largest" if isinstance(measure, Largest) else "smallest"
        return None if any(p is None for p in parts) else {kind: parts}
    if isinstance(measure, Shifted):
        inner = to_record(measure.measure)
        return None if inner is None else {"shifted": inner, "by": float(measure.by)}
    return None


def from_record(record: dict) -> Measure:
    """The measurement a to_record record describes; a ValueError names an unknown kind."""
    r = record
    if "share" in r:
        return Share(*r["share"])
    if "item_mean" in r:
        return ItemMean(r["item_mean"], r["seed"], bounds=r.get("bounds"))
    if "item_statistic" in r:
        if r["statistic"] not in STATISTICS:
            raise ValueError(f"unknown statistic {r['statistic']!r} (known: {sorted(STATISTICS)})")
        rows = np.asarray(r["item_statistic"], dtype=float)
        return ItemStatistic(rows, STATISTICS[r["statistic"]], r["seed"])
    if "paired_hits" in r:
        return PairedHits(*r["paired_hits"])
    if "top_overlap" in r:
        return TopOverlap(*r["top_overlap"], r["k"], r["seed"])
    if "matched_units" in r:
        return MatchedUnits(*r["matched_units"], r["minimum"], r["control"], r["seed"])
    if "difference" in r:
        return Difference(*r["difference"], seed=r["seed"], bounds=r.get("bounds"))
    if "auc" in r:
        return Auc(tuple(r["auc"][0]), tuple(r["auc"][1]))
    if "exact" in r:
        return Exact(r["exact"], r["method"])
    if "largest" in r:
        return Largest(tuple(from_record(p) for p in r["largest"]))
    if "smallest" in r:
        return Smallest(tuple(from_record(p) for p in r["smallest"]))
    if "shifted" in r:
        return Shifted(from_record(r["shifted"]), r["by"])
    raise ValueError(f"not a measurement record: keys {sorted(r)}")
