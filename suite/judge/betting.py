"""The betting confidence interval for the mean of bounded items, valid at every sample size.

Why: the percentile bootstrap of an item mean misses its nominal level at about 100 items when
the items are skewed or sparse (docs/CALIBRATION.md: false "does not hold" 0.032 for FDA's
fractional shares with 5 % of positions discordant, 0.032 false "holds" for heavy noise's
clean - 2 x control), and BCa and the bootstrap-t miss too. No interval can keep its level for
every distribution of unbounded items at a finite n (Bahadur and Savage 1956), but the claims'
items are bounded by construction (shares of answer positions and their differences), and for
bounded items there is an interval that keeps it by a proof, not by a simulation: Waudby-Smith
and Ramdas (2024, J. R. Stat. Soc. B 86:1, "Estimating means of bounded random variables by
betting"), their hedged capital process with predictable plug-in bets.

For a candidate mean m of items rescaled to [0, 1], a gambler starting with capital 1 bets on
"the mean is above m" (capital K+ = prod(1 + l_i (x_i - m))) and, separately, below it
(K- = prod(1 - l_i (x_i - m))), each bet l_i fixed before item i is seen. Under mean m each
capital is a nonnegative martingale, so by Ville's inequality it ever reaches 2 / alpha with
probability at most alpha / 2. The interval is every m at which neither capital ever does:
each one-sided error at most alpha / 2, the rule's one-sided level. The one-sided p-value of
"mean <= m" is 1 / max_t K+_t(m) (and of "mean >= m" 1 / max_t K-_t(m)), with the bets of 95 %
intervals, so at 95 % a bound lies beyond a threshold exactly where that p is below 0.025: one
procedure. At another confidence (a claim's Bonferroni over alternatives or rules) the
interval's bets are tuned to that level and the p keeps the 95 % bets: both stay valid, but
they are then two tests, not one. At a threshold exactly at a bound the p says 0 once any item
lies inside, while the interval keeps that end; no rule sits at a bound of its items.

Choices, a priori (the paper's recommendations): bets l_i = sqrt(2 log(2 / alpha) / (n s2_i)),
s2_i the regularized running variance of the items before i (their eq. 26-27, tuned for one
fixed n), truncated at c / m (c / (1 - m) for K-) with c = 1/2 so that a bet never stakes more
than half the capital; the items are taken in a seeded random order, drawn without looking at
them, so the running estimates do not follow any order of the data set.
"""

from __future__ import annotations

import math

import numpy as np

TRUNCATION = 0.5  # c: at most half the capital on one item (Waudby-Smith and Ramdas, sec. 5)
BISECTIONS = 50  # halvings of [0, 1] for each bound: far below any threshold's resolution


def check_bounds(values: np.ndarray, lower: float, upper: float) -> np.ndarray:
    """The items as a flat float array; a ValueError where the bounds are not an interval or an
    item lies outside them (a claim that declared the wrong bounds)."""
    if not upper > lower:
        raise ValueError(f"bounded items need lower < upper, got [{lower}, {upper}]")
    x = np.asarray(values, dtype=float).reshape(-1)
    if np.isnan(x).any():
        raise ValueError(f"{int(np.isnan(x).sum())} item(s) are NaN; a bounded item mean needs "
                         "a value for every item")
    if x.size and (x.min() < lower or x.max() > upper):
        raise ValueError(f"items lie outside their declared bounds [{lower}, {upper}]: "
                         f"min {x.min():.6g}, max {x.max():.6g}")
    return x


def _unit(values: np.ndarray, lower: float, upper: float) -> np.ndarray:
    return (check_bounds(values, lower, upper) - lower) / (upper - lower)


class Betting:
    """The hedged-capital interval and p-values for the mean of `values`, which must lie in
    [lower, upper] (a ValueError names any that do not)."""

    def __init__(self, values: np.ndarray, lower: float, upper: float, seed: int = 0) -> None:
        x = _unit(values, lower, upper)
        self.x = x[np.random.default_rng(seed).permutation(len(x))]
        self.lower, self.upper = float(lower), float(upper)
        n = len(self.x)
        t = np.arange(1, n + 1)
        mean = (0.5 + np.cumsum(self.x)) / (t + 1)
        var = (0.25 + np.cumsum((self.x - mean) ** 2)) / (t + 1)
        self._var_before = np.concatenate([[0.25], var[:-1]])  # predictable: items before i

    @property
    def n(self) -> int:
        return len(self.x)

    def _bets(self, alpha: float) -> np.ndarray:
        return np.sqrt(2 * math.log(2 / alpha) / (self.n * self._var_before))

    def _log_capital(self, m: float, bets: np.ndarray, up: bool) -> float:
        """log max_t K+_t(m) (up) or log max_t K-_t(m), m on the unit scale."""
        if up:
            stake = np.minimum(bets, TRUNCATION / m) if m > 0 else bets * 0
            steps = np.log1p(stake * (self.x - m))
        else:
            stake = np.minimum(bets, TRUNCATION / (1 - m)) if m < 1 else bets * 0
            steps = np.log1p(-stake * (self.x - m))
        return float(max(0.0, np.cumsum(steps).max()))

    def _to_unit(self, value: float) -> float:
        return (value - self.lower) / (self.upper - self.lower)

    def _from_unit(self, m: float) -> float:
        return self.lower + m * (self.upper - self.lower)

    def interval(self, confidence: float) -> tuple[float, float]:
        """Every mean neither capital rejects at level 1 - confidence (each side (1 -
        confidence) / 2). Each capital only grows as m moves away from the data on its side, so
        each bound is found by bisection."""
        if self.n == 0:
            return self.lower, self.upper
        alpha = 1 - confidence
        bets, level = self._bets(alpha), math.log(2 / alpha)

        def bound(up: bool) -> float:
            # the bet on "above m" can never win at m = 1 (no item lies above it), nor the bet
            # on "below m" at m = 0: those ends are kept, and the far ends start as rejected
            rejected, kept = (0.0, 1.0) if up else (1.0, 0.0)
            for _ in range(BISECTIONS):
                mid = (rejected + kept) / 2
                if self._log_capital(mid, bets, up) >= level:
                    rejected = mid
                else:
                    kept = mid
            return rejected  # the bound, rounded outwards (an end where nothing is rejected)

        return self._from_unit(bound(True)), self._from_unit(bound(False))

    def p(self, greater: bool, threshold: float, confidence: float = 0.95) -> float:
        """One-sided p of "mean <= threshold" (greater) or "mean >= threshold" (not greater):
        1 / the largest capital of the bet against it, with the bets of `confidence`."""
        if self.n == 0:
            return 1.0
        m = self._to_unit(threshold)
        if not 0 < m < 1:  # at or beyond a bound: decided by whether any item lies inside it
            if greater:
                return 1.0 if m >= 1 or self.x.max() <= 0 else 0.0
            return 1.0 if m <= 0 or self.x.min() >= 1 else 0.0
        log_k = self._log_capital(m, self._bets(1 - confidence), greater)
        return float(min(1.0, math.exp(-log_k)))
