"""Calibration by simulation: how often a measurement's interval decides a rule wrongly.

Every verdict is a rule "quantity > t" decided on an interval (suite.judge.claim.Rule.decide).
Whether the interval keeps its promise depends on the measurement type, the item count and the
shape of the data (how many items are discordant, how skewed the values are), so it is measured
here, not assumed: data are drawn with the true quantity exactly at the threshold, where a
"holds" and a "does not hold" are both errors (each nominally (1 - confidence) / 2), and at a
planted effect on either side, where the right call's rate is the power.

A `Cell` is one measurement type on one data shape; `simulate` draws it. The grid of cells
(benchmarks/calibration.py; a few draws in tests/unit/test_calibration.py) is read from the
recorded measurements: about 100 memorized items on fda-tiny and 450 on thr-tiny, with 5 to 30 %
of the items discordant (thr-tiny's 1024 held-out items lie beyond the largest cell), and FDA's
five answer positions for the fractional differences.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from suite.judge import stats
from suite.judge.claim import DOES_NOT_HOLD, HOLDS, Rule


@dataclass(frozen=True)
class Cell:
    """One measurement type on one data shape. draw(rng, truth) returns a measurement whose true
    quantity is `truth`."""

    measurement: str  # e.g. "paired 0/1, item bootstrap"
    shape: str  # e.g. "n=100, 5 % discordant"
    draw: Callable[[np.random.Generator, float], stats.Measure]
    threshold: float


@dataclass(frozen=True)
class Rates:
    """What one cell's draws said, at the threshold and at planted effects."""

    cell: Cell
    draws: int
    false_holds: float  # truth = threshold, said "holds"
    false_fails: float  # truth = threshold, said "does not hold"
    power_holds: float  # truth = threshold + effect, said "holds" (nan: not drawn)
    power_fails: float  # truth = threshold - effect, said "does not hold" (nan: not drawn)
    effect: float | None

    @property
    def error(self) -> float:
        """The simulation's own error on a rate at the nominal level (one standard error)."""
        return simulation_error(self.draws)

    @property
    def within_nominal(self) -> bool:
        """Both false rates at most the nominal level plus three simulation errors."""
        return max(self.false_holds, self.false_fails) <= NOMINAL + 3 * self.error


CONFIDENCE = 0.95
NOMINAL = (1 - CONFIDENCE) / 2  # each one-sided error


def simulation_error(draws: int) -> float:
    """One standard error of a rate at the nominal level estimated from `draws` draws."""
    return math.sqrt(NOMINAL * (1 - NOMINAL) / draws)


def _said(measure: stats.Measure, threshold: float) -> str:
    return Rule("q", ">", threshold).decide(measure.interval(CONFIDENCE))


def simulate(cell: Cell, draws: int, effect: float | None, seed: int = 0) -> Rates:
    """`draws` data sets at the threshold and, unless effect is None, `draws` more at each of
    threshold +- effect, decided as a claim does. The draws at the threshold come first from
    the seeded stream, so the false rates do not depend on whether power is drawn."""
    rng = np.random.default_rng(seed)

    def said(truth: float) -> list[str]:
        return [_said(cell.draw(rng, truth), cell.threshold) for _ in range(draws)]

    at = said(cell.threshold)
    if effect is None:
        power_holds = power_fails = float("nan")
    else:
        power_holds = said(cell.threshold + effect).count(HOLDS) / draws
        power_fails = said(cell.threshold - effect).count(DOES_NOT_HOLD) / draws
    return Rates(cell, draws, at.count(HOLDS) / draws, at.count(DOES_NOT_HOLD) / draws,
                 power_holds, power_fails, effect)


# --- data shapes --------------------------------------------------------------------------------

def _up_down(discordant: float, difference: float) -> tuple[float, float]:
    """The shares of "up" (a, not b) and "down" (b, not a) outcomes for a difference up - down
    with up + down = discordant."""
    if abs(difference) > discordant:
        raise ValueError(f"a difference of {difference} needs at least that share discordant")
    return (discordant + difference) / 2, (discordant - difference) / 2


def paired_outcomes(rng: np.random.Generator, n: int, discordant: float,
                    difference: float) -> tuple[np.ndarray, np.ndarray]:
    """Per-item 0/1 outcomes a, b with P(a and not b) - P(b and not a) = difference and
    P(a != b) = discordant (so |difference| <= discordant), and half the rest hits in both."""
    up, down = _up_down(discordant, difference)
    kind = rng.choice(4, size=n, p=[up, down, (1 - discordant) / 2, (1 - discordant) / 2])
    return (kind == 0) | (kind == 2), (kind == 1) | (kind == 2)


def paired_cell(n: int, discordant: float, threshold: float) -> Cell:
    """A paired 0/1 difference (a hit with and without an intervention): PairedHits, which
    the v4 claims take and an ItemMean of per-item differences takes from statistics version 5
    (before it, the item bootstrap: false "does not hold" 0.094 at 5 % discordant)."""
    def draw(rng: np.random.Generator, truth: float) -> stats.Measure:
        return stats.PairedHits.of(*paired_outcomes(rng, n, discordant, truth))
    return Cell("paired 0/1, score (PairedHits)", f"n={n}, {discordant:.0%} discordant", draw,
                threshold)


def share_as_item_mean_cell(n: int, threshold: float) -> Cell:
    """0/1 items handed over as an ItemMean (the claims' clean and control shares): PairedHits
    with no -1 item: valid, and more conservative than the share's exact interval near 0 and 1."""
    def draw(rng: np.random.Generator, truth: float) -> stats.Measure:
        return stats.ItemMean((rng.random(n) < truth).astype(float))
    return Cell("0/1 items as an item mean (PairedHits)", f"n={n}", draw, threshold)


def fractional_cell(n: int, positions: int, discordant: float, threshold: float) -> Cell:
    """A paired fractional difference (rr.clean_label_decodable on FDA: per item, the share of
    its answer positions decoded minus the control's share), as the claims decide it: an ItemMean
    with the bounds of a difference of shares, so the betting interval (statistics version 7;
    the item bootstrap before): at each of `positions` positions per item, "up" and "down" as in
    paired_outcomes, independently."""
    def draw(rng: np.random.Generator, truth: float) -> stats.Measure:
        up, down = _up_down(discordant, truth)
        kind = rng.choice(3, size=(n, positions), p=[up, down, 1 - discordant])
        values = ((kind == 0).sum(1) - (kind == 1).sum(1)) / positions
        return stats.ItemMean(values, seed=int(rng.integers(2**31)), bounds=stats.CHANGES)
    return Cell("paired fractional (betting)",
                f"n={n} x {positions} positions, {discordant:.0%} discordant", draw, threshold)


def sparse_items_cell(n: int, threshold: float, nonzero: float = 0.05) -> Cell:
    """Fractional items that are mostly 0: `nonzero` of the items take a size k/5 (k uniform on
    1..5), signed so that the mean is the truth (the bootstraps' worst bounded shape: false
    "does not hold" about 0.10 at n = 100, benchmarks/bounded_mean_choice.py), bounds [-1, 1]."""
    def draw(rng: np.random.Generator, truth: float) -> stats.Measure:
        size = rng.integers(1, 6, n) / 5
        sign = np.where(rng.random(n) < 0.5 + truth / (2 * nonzero * 0.6), 1.0, -1.0)
        values = np.where(rng.random(n) < nonzero, sign * size, 0.0)
        return stats.ItemMean(values, seed=int(rng.integers(2**31)), bounds=stats.CHANGES)
    return Cell("sparse fractional items (betting)", f"n={n}, {nonzero:.0%} nonzero", draw,
                threshold)


def bounded_skewed_cell(n: int, threshold: float) -> Cell:
    """Skewed items within known bounds: Beta(0.5, 4.5) - 0.1 + truth, bounds [-1, 1]."""
    def draw(rng: np.random.Generator, truth: float) -> stats.Measure:
        return stats.ItemMean(rng.beta(0.5, 4.5, n) - 0.1 + truth,
                              seed=int(rng.integers(2**31)), bounds=stats.CHANGES)
    return Cell("bounded skewed item mean (betting)", f"n={n}", draw, threshold)


def share_cell(n: int, threshold: float) -> Cell:
    """k of n items (Share: exact, Clopper-Pearson)."""
    return Cell("share (Clopper-Pearson)", f"n={n}",
                lambda rng, truth: stats.Share(int(rng.binomial(n, truth)), n), threshold)


def item_mean_cell(n: int, threshold: float, skew: bool) -> Cell:
    """The mean of an unbounded per-item value (ItemMean without bounds: the item bootstrap; no
    claim's items are unbounded): normal, or skewed (lognormal shifted to the truth)."""
    def draw(rng: np.random.Generator, truth: float) -> stats.Measure:
        if skew:
            values = rng.lognormal(0.0, 1.0, size=n)
            values = values - math.exp(0.5) + truth
        else:
            values = rng.normal(truth, 1.0, size=n)
        return stats.ItemMean(values, seed=int(rng.integers(2**31)))
    return Cell("unbounded item mean (bootstrap)", f"n={n}, {'skewed' if skew else 'normal'}",
                draw, threshold)


def difference_cell(n: int, threshold: float, base: float = 0.5) -> Cell:
    """mean(a) - mean(b) of two independent groups of 0/1 items at rates base +- truth / 2
    (Difference: MOVER over each group's PairedHits interval since statistics version 6; the
    bootstrap of the difference before). base 0.05: sparse, as a drop that few items show."""
    def draw(rng: np.random.Generator, truth: float) -> stats.Measure:
        a = rng.random(n) < base + truth / 2
        b = rng.random(n) < max(0.0, base - truth / 2)
        return stats.Difference(a.astype(float), b.astype(float), seed=int(rng.integers(2**31)))
    return Cell("independent groups (MOVER)", f"n={n} + {n}, rate {base:g}", draw, threshold)


def difference_of_means_cell(n: int, threshold: float) -> Cell:
    """mean(a) - mean(b) of two independent groups of normal values (Difference: MOVER over
    each group's item bootstrap)."""
    def draw(rng: np.random.Generator, truth: float) -> stats.Measure:
        return stats.Difference(rng.normal(truth, 1.0, n), rng.normal(0.0, 1.0, n),
                                seed=int(rng.integers(2**31)))
    return Cell("independent groups, values (MOVER)", f"n={n} + {n}, normal", draw, threshold)


def auc_cell(n: int, threshold: float) -> Cell:
    """AUROC of two groups of normal scores (Auc: DeLong, logit scale), the shift set for the truth."""
    from scipy.stats import norm

    def draw(rng: np.random.Generator, truth: float) -> stats.Measure:
        shift = math.sqrt(2) * norm.ppf(truth)  # AUROC of N(shift, 1) vs N(0, 1)
        return stats.Auc(tuple(rng.normal(shift, 1.0, size=n)), tuple(rng.normal(0, 1.0, size=n)))
    return Cell("AUROC (DeLong, logit)", f"n={n} + {n}", draw, threshold)


def largest_cell(n: int, parts: int, threshold: float) -> Cell:
    """The largest of `parts` shares (Largest over Clopper-Pearson parts, simultaneous): one part at the
    truth, the others well below it (the worst case for a false 'holds' is all at the truth)."""
    def draw(rng: np.random.Generator, truth: float) -> stats.Measure:
        return stats.Largest(tuple(stats.Share(int(rng.binomial(n, truth)), n)
                                   for _ in range(parts)))
    return Cell(f"largest of {parts} shares (Clopper-Pearson)", f"n={n} each", draw, threshold)


def matched_units_cell(prompts: int, units: int, sets: int, above: float, below: float,
                       threshold: float = 0.5, minimum: float = 0.6) -> Cell:
    """The share of units whose best Jaccard over sets reaches `minimum` (MatchedUnits, as
    heur.bag_of_heuristics.v3 reads it): round(truth x units) units whose population Jaccard with
    their own set is `above` the minimum, the rest `below` it; each unit fires on 90 % of its own
    set's prompts and on a share of the others set for that Jaccard; every set (a unit's own, or
    one of the unrelated rest) holds 10 % of the prompts."""
    hit, prevalence = 0.9, 0.1

    def stray(jaccard: float) -> float:  # P(fire | not in its set) for that population Jaccard
        return (hit * prevalence / jaccard - prevalence) / (1 - prevalence)

    def draw(rng: np.random.Generator, truth: float) -> stats.Measure:
        members = rng.random((prompts, sets)) < prevalence
        matched = int(round(min(max(truth, 0.0), 1.0) * units))
        off = np.array([stray(above)] * matched + [stray(below)] * (units - matched))
        own = members[:, :units]
        fires = np.where(own, rng.random((prompts, units)) < hit,
                         rng.random((prompts, units)) < off)
        return stats.MatchedUnits(fires.astype(float), members.astype(float), minimum,
                                  seed=int(rng.integers(2**31)))
    return Cell("matched units (prompt bootstrap)",
                f"{prompts} prompts, {units} units, {sets} sets, Jaccard {above:g} / {below:g}",
                draw, threshold)


def grid(quick: bool = False, neuron_sets: bool = False) -> list[tuple[Cell, float]]:
    """Each cell with its planted effect, on shapes read from the recorded measurements. quick:
    n = 100 only (the default run's few draws). neuron_sets: add the MatchedUnits cells (about
    0.2 s a draw: minutes at a few hundred draws)."""
    sizes = (100,) if quick else (100, 449)
    cells: list[tuple[Cell, float]] = []
    for n in sizes:
        for q, t in ((0.05, 0.0), (0.30, 0.0), (0.20, 0.10), (0.30, 0.10)):
            effect = min(0.10, q - t)  # the truth stays within the discordant share
            cells += [(paired_cell(n, q, t), effect)]
        cells += [(fractional_cell(n, 5, q, 0.0), min(0.10, q)) for q in (0.05, 0.20)]
        cells += [(fractional_cell(n, 5, 0.30, 0.10), 0.10), (sparse_items_cell(n, 0.0), 0.02),
                  (bounded_skewed_cell(n, 0.0), 0.03)]
        cells += [(share_cell(n, 0.5), 0.10), (share_as_item_mean_cell(n, 0.5), 0.10),
                  (item_mean_cell(n, 0.0, True), 0.3),
                  (difference_cell(n, 0.0), 0.10), (difference_cell(n, 0.0, 0.05), 0.05),
                  (difference_of_means_cell(n, 0.0), 0.3), (auc_cell(n, 0.6), 0.10),
                  (auc_cell(n, 0.9), 0.05)]  # liref.direction_separates: AUROC >= 0.9
        if not quick:
            cells += [(item_mean_cell(n, 0.0, False), 0.3)]
    cells += [(largest_cell(100, 4, 0.5), 0.15)]
    if neuron_sets:  # heur.bag_of_heuristics.v3's shape (38 units), fewer prompts and sets for time
        cells += [(matched_units_cell(300, 38, 64, 0.61, 0.59), 0.2),
                  (matched_units_cell(300, 38, 64, 0.75, 0.45), 0.2),
                  (matched_units_cell(1000, 38, 264, 0.61, 0.59), 0.2)]  # the claim's counts
    return cells
