"""Calibration of a claim's whole rule by simulation: every rule and alternative together.

suite.judge.calibration draws one measurement type at a time. A claim decides on all its rules
at once (each must hold; one confident failure decides "does not hold") and, for some claims,
over alternatives (it holds at some site or rho, Bonferroni over them). Whether the whole
decision keeps the nominal error rate of each side (2.5 % at 95 % intervals) depends on how
many rules and alternatives there are and on the data each rule reads, so it is simulated with
the claim's own decision code (suite.judge.claim.decide) on data shaped like a recorded
verdict's measurements: their kinds, item counts, discordant shares and spreads.

Two least-favourable configurations of a claim at the edge of its truth:

- false "holds": one rule's quantity exactly at its threshold and every other rule clearly
  passing, at every alternative (the claim false by that rule alone); each rule in turn, the
  largest rate kept. The intersection of rules needs no correction here: every rule must hold.
- false "does not hold": every rule's quantity at its threshold at one alternative, the other
  alternatives clearly failing (the claim just true). One confident failure among m rules
  decides, so without a correction over the rules this rate grows towards m times the nominal.

A measurement is drawn like its record: a share as binomial counts; paired 0/1 outcomes (and an
item mean whose items are all -1, 0 or 1) with the recorded discordant share; a fractional item
mean by resampling the recorded items shifted to the truth; two independent groups of 0/1 items
as Bernoulli draws around their recorded average, or else shifted resamples; an AUROC as normal
scores of the recorded group sizes; largest / smallest with every part at the truth; shifted
through its inner measurement; a top-unit overlap (TopOverlap) as each group's recorded items'
deviations from their unit means, resampled whole, around population means whose top units
overlap by the truth (the recorded means, with the values of the second group's top units moved
onto the units that give that overlap); the median over columns of 0/1 column rates
(rr.heuristic_neurons_reused's median item share) as recorded rows resampled whole with each
column's cells flipped at random to shift every rate alike, the median rate at the truth. An
exact rule (a step read off a curve) has no sampling error: it is set passing. MatchedUnits (a
best match over sets, with a permuted control read from the same firing) and other statistics
are not simulated: a claim with no other rule says so, and in a claim with others such a rule
is set passing as an exact one and named (`WholeRule.unsimulated`). Setting it passing keeps the false "holds" of each simulated
rule least favourable, and it makes "does not hold" rest on the simulated rules alone, read
without the Bonferroni share the unsimulated rule would take: the false "does not hold" reported
is then an upper bound for those rules.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, Callable, Mapping

import numpy as np

from suite.judge import stats
from suite.judge.calibration import NOMINAL, paired_outcomes, simulation_error
from suite.judge.claim import DOES_NOT_HOLD, HOLDS, Claim, Rule, decide

Draw = Callable[[np.random.Generator, float], stats.Measure]
FAR = 0.3  # how far beyond its threshold a "clearly passing" (or failing) quantity is set
NOT_SIMULATED = ("item_statistic", "matched_units")  # item_statistic: but median_column_mean


class NotSimulated(ValueError):
    """A measurement kind this module cannot draw (named in the message)."""


@dataclass(frozen=True)
class WholeRule:
    """One recorded verdict's whole rule, by simulation."""

    claim: str
    variant: str
    test: str
    rules: int
    alternatives: int
    draws: int
    false_holds: float  # the largest over rules: that rule at its threshold, the others passing
    false_holds_rule: str  # the rule that gave it
    false_fails: float  # every rule at its threshold at one alternative
    unsimulated: tuple[str, ...] = ()  # rules whose kind cannot be drawn, set passing

    @property
    def within_nominal(self) -> bool:
        """Both whole-rule false rates at most the nominal level plus three simulation errors."""
        return max(self.false_holds, self.false_fails) <= NOMINAL + 3 * simulation_error(self.draws)


def _range(record: Mapping[str, Any]) -> tuple[float, float]:
    """The values the record's quantity can take."""
    if "share" in record:
        return 0.0, 1.0
    if "auc" in record:
        return 0.001, 0.999
    if "shifted" in record:
        low, high = _range(record["shifted"])
        return low + record["by"], high + record["by"]
    if "largest" in record or "smallest" in record:
        parts = [_range(p) for p in record.get("largest", record.get("smallest"))]
        return max(p[0] for p in parts), min(p[1] for p in parts)
    if "item_mean" in record:
        rows = np.asarray(record["item_mean"], dtype=float)
        if np.isin(rows, (-1.0, 0.0, 1.0)).all():
            return -1.0, 1.0
        return tuple(record.get("bounds", (-math.inf, math.inf)))
    if "paired_hits" in record:
        return -1.0, 1.0
    if "top_overlap" in record or record.get("statistic") == "median_column_mean":
        return 0.0, 1.0
    return -math.inf, math.inf


def _clip(truth: float, record: Mapping[str, Any]) -> float:
    low, high = _range(record)
    return min(max(truth, low), high)


def drawer(record: Mapping[str, Any]) -> Draw:
    """A function (rng, truth) -> measurement drawn like `record` with its quantity at
    `truth`; NotSimulated names a kind that cannot be drawn."""
    r = record
    if "share" in r:
        n = int(r["share"][1])
        return lambda rng, t: stats.Share(int(rng.binomial(n, min(max(t, 0.0), 1.0))), n)
    if "paired_hits" in r:
        up, down, n = (int(x) for x in r["paired_hits"])
        return _paired((up + down) / max(n, 1), n, as_items=False)
    if "item_mean" in r:
        rows = np.asarray(r["item_mean"], dtype=float)
        if np.isin(rows, (-1.0, 0.0, 1.0)).all():
            return _paired(float((rows != 0).mean()), len(rows), as_items=True)
        return _shifted_items(rows, r.get("bounds"))
    if "difference" in r:
        a, b = (np.asarray(x, dtype=float) for x in r["difference"])
        if np.isin(np.concatenate([a, b]), (0.0, 1.0)).all():
            middle = (a.mean() + b.mean()) / 2

            def groups(rng: np.random.Generator, t: float) -> stats.Measure:
                pa = min(max(middle + t / 2, 0.0), 1.0)
                pb = min(max(pa - t, 0.0), 1.0)
                return stats.Difference((rng.random(len(a)) < pa).astype(float),
                                        (rng.random(len(b)) < pb).astype(float),
                                        seed=int(rng.integers(2**31)))
            return groups
        gap, bounds = a.mean() - b.mean(), r.get("bounds")

        def shifted(rng: np.random.Generator, t: float) -> stats.Measure:
            move = t - gap  # a moves by this, b stays: bounds that hold both
            both = None if bounds is None else (bounds[0] + min(0.0, move),
                                                 bounds[1] + max(0.0, move))
            return stats.Difference(rng.choice(a, len(a)) + move, rng.choice(b, len(b)),
                                    seed=int(rng.integers(2**31)), bounds=both)
        return shifted
    if "auc" in r:
        from scipy.stats import norm
        m, k = len(r["auc"][0]), len(r["auc"][1])

        def scores(rng: np.random.Generator, t: float) -> stats.Measure:
            shift = math.sqrt(2) * norm.ppf(min(max(t, 1e-3), 1 - 1e-3))
            return stats.Auc(tuple(rng.normal(shift, 1.0, m)), tuple(rng.normal(0.0, 1.0, k)))
        return scores
    if "top_overlap" in r:
        return _top_overlap(*(np.asarray(x, dtype=float) for x in r["top_overlap"]), int(r["k"]))
    if r.get("statistic") == "median_column_mean" and "item_statistic" in r:
        rows = np.asarray(r["item_statistic"], dtype=float)
        if rows.ndim == 2 and np.isin(rows, (0.0, 1.0)).all():
            return _median_column_mean(rows)
    if "largest" in r or "smallest" in r:
        kind = stats.Largest if "largest" in r else stats.Smallest
        parts = [drawer(p) for p in r.get("largest", r.get("smallest"))]
        return lambda rng, t: kind(tuple(d(rng, t) for d in parts))
    if "shifted" in r:
        inner, by = drawer(r["shifted"]), float(r["by"])
        return lambda rng, t: stats.Shifted(inner(rng, t - by), by)
    kind = next(iter(r), "?")
    raise NotSimulated(f"a {kind} measurement is not simulated (its resampling includes a "
                       "selection or a statistic other than the mean)" if kind in NOT_SIMULATED
                       else f"not a measurement record this module can draw: keys {sorted(r)}")


def _paired(discordant: float, n: int, as_items: bool) -> Draw:
    """Paired 0/1 outcomes of n items with the recorded discordant share (at least what the
    truth needs, and one item), as PairedHits or as the ItemMean of their differences."""
    def draw(rng: np.random.Generator, t: float) -> stats.Measure:
        q = min(1.0, max(discordant, abs(t) + 1.0 / n))
        a, b = paired_outcomes(rng, n, q, max(-q, min(q, t)))
        if as_items:
            return stats.ItemMean(a.astype(float) - b.astype(float))
        return stats.PairedHits.of(a, b)
    return draw


def _shifted_items(rows: np.ndarray, bounds: tuple[float, float] | None) -> Draw:
    """The recorded items resampled and shifted so that their population mean is the truth;
    declared bounds move with them."""
    mean = float(rows.mean())

    def draw(rng: np.random.Generator, t: float) -> stats.Measure:
        moved = None if bounds is None else (bounds[0] - mean + t, bounds[1] - mean + t)
        return stats.ItemMean(rng.choice(rows, len(rows)) - mean + t,
                              seed=int(rng.integers(2**31)), bounds=moved)
    return draw


def _top_overlap(a: np.ndarray, b: np.ndarray, k: int) -> Draw:
    """Two groups of items drawn like the recorded ones (each item's deviation from its
    group's unit means, resampled whole) around population means whose top-k units overlap in
    round(truth x k) units: a's recorded means, and b's recorded mean values with its k largest
    placed on that many of a's top units and on other units for the rest."""
    mean_a, mean_b = a.mean(0), b.mean(0)
    dev_a, dev_b = a - mean_a, b - mean_b
    units = a.shape[1]
    top_a = np.argsort(-mean_a, kind="stable")[:k]
    rest_a = np.setdiff1d(np.arange(units), top_a)
    values = np.sort(mean_b)[::-1]

    def draw(rng: np.random.Generator, t: float) -> stats.Measure:
        shared = int(round(min(max(t, 0.0), 1.0) * k))
        tops = np.concatenate([rng.choice(top_a, shared, replace=False),
                               rng.choice(rest_a, k - shared, replace=False)])
        others = rng.permutation(np.setdiff1d(np.arange(units), tops))
        population_b = np.empty(units)
        population_b[np.concatenate([tops, others])] = values
        items_a = mean_a + dev_a[rng.integers(0, len(a), len(a))]
        items_b = population_b + dev_b[rng.integers(0, len(b), len(b))]
        return stats.TopOverlap(items_a, items_b, k, seed=int(rng.integers(2**31)))
    return draw


def _median_column_mean(rows: np.ndarray) -> Draw:
    """0/1 rows (items x columns) drawn like the recorded ones: rows resampled whole, then each
    column's cells flipped at random, 0 to 1 or 1 to 0, so that its rate moves from the recorded
    one by the same shift for every column (clipped to [0, 1]), which puts the median of the
    population column rates at the truth and keeps most of the within-item correlation."""
    rates = rows.mean(0)
    middle = float(np.median(rates))

    def draw(rng: np.random.Generator, t: float) -> stats.Measure:
        target = np.clip(rates + (t - middle), 0.0, 1.0)
        up = np.where(target > rates, (target - rates) / np.maximum(1 - rates, 1e-12), 0.0)
        down = np.where(target < rates, (rates - target) / np.maximum(rates, 1e-12), 0.0)
        x = rows[rng.integers(0, len(rows), len(rows))]
        flip = rng.random(x.shape)
        x = np.where(x == 0, flip < up, flip >= down).astype(float)
        return stats.ItemStatistic(x, stats.median_column_mean, seed=int(rng.integers(2**31)))
    return draw


def _claim(record: Mapping[str, Any], name: str) -> Claim:
    return Claim(id=name, source="", sentence="", statistic=record.get("statistic", ""),
                 rules=tuple(Rule(q, op, float(t)) for q, op, t in record["rules"]),
                 threshold_source="", unit=record.get("unit", "item"),
                 confidence=float(record.get("confidence", 0.95)), some=record.get("some", ""))


_STUB = SimpleNamespace(task_spec=SimpleNamespace(task="sim", seed=0, noise=0.0), name="sim",
                        key="sim")


def _passing(rule: Rule) -> float:
    return 1.0 if rule.op in (">", ">=") else -1.0


def simulate(record: Mapping[str, Any], draws: int, seed: int = 0, name: str = "claim",
             variant: str = "", test: str = "") -> WholeRule:
    """The whole rule of a recorded verdict (its `measured` record) by simulation."""
    claim = _claim(record, name)
    some = bool(record.get("some"))
    alternatives = record["alternatives"] if some else {"": record["alternatives"]}
    unsimulated: list[str] = []

    def drawer_or_passing(rule: Rule, record_of: Mapping[str, Any]) -> Draw | None:
        if "exact" in record_of:
            return None
        try:
            return drawer(record_of)
        except NotSimulated:
            if len(claim.rules) == 1:
                raise
            unsimulated.append(str(rule))
            return None

    drawers = {label: {r.quantity: drawer_or_passing(r, alt[r.quantity]) for r in claim.rules}
               for label, alt in alternatives.items()}
    if len(set(unsimulated)) == len(claim.rules):
        raise NotSimulated(f"no rule of {name} can be drawn ({'; '.join(sorted(set(unsimulated)))})")
    labels = list(alternatives)
    rng = np.random.default_rng(seed)

    def measured(label: str, truths: Mapping[str, float]) -> dict[str, stats.Measure]:
        out: dict[str, stats.Measure] = {}
        for r in claim.rules:
            record_of = alternatives[label][r.quantity]
            draw = drawers[label][r.quantity]
            if draw is None:  # exact: set passing
                out[r.quantity] = stats.Exact(r.threshold + _passing(r) * FAR)
            else:
                out[r.quantity] = draw(rng, _clip(truths[r.quantity], record_of))
        return out

    def outcome(config: Mapping[str, Mapping[str, float]]) -> str:
        if some:
            verdict, _ = decide(claim, _STUB, some={lab: measured(lab, config[lab])
                                                    for lab in labels}, n=1)
        else:
            verdict, _ = decide(claim, _STUB, measured("", config[""]), n=1)
        return verdict.outcome

    def far(rule: Rule, sign: float) -> float:
        return rule.threshold + sign * _passing(rule) * FAR

    sampled = [r for r in claim.rules if drawers[labels[0]][r.quantity] is not None]
    worst, worst_rule = 0.0, "" if sampled else "every rule exact: no sampling error"
    for rule in sampled:  # this rule at its threshold, every other passing, at every alternative
        config = {lab: {r.quantity: (r.threshold if r is rule else far(r, +1))
                        for r in claim.rules} for lab in labels}
        rate = [outcome(config) for _ in range(draws)].count(HOLDS) / draws
        if rate >= worst:
            worst, worst_rule = rate, str(rule)
    # every rule at its threshold at the first alternative, the others clearly failing
    config = {lab: {r.quantity: (r.threshold if lab == labels[0] else far(r, -1))
                    for r in claim.rules} for lab in labels}
    fails = [outcome(config) for _ in range(draws)].count(DOES_NOT_HOLD) / draws if sampled else 0.0
    return WholeRule(name, variant, test, len(claim.rules), len(labels), draws, worst, worst_rule,
                     fails, tuple(sorted(set(unsimulated))))
