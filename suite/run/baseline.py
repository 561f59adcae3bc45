"""Regression against a baseline run: does this run's model keep the claims the baseline's
models kept? Built so that an equally good model passes and a worse one fails.

A verdict is compared with the baseline's verdicts of the same claim (and variant) on the same
recipe, over every seed and noise rate the baseline judged (a multi-seed baseline is a range,
not a point). A model the baseline does not know by recipe (--model-dir, a new recipe) is
compared with the baseline's verdicts of the same claim on the same task.

Changes that fail a run (regressions), each only in the direction that hurts the claim:
- "no longer holds": the baseline held in every one of its judged seeds and this run
  confidently does not hold (inconclusive is not a regression; where the baseline itself held
  in only some seeds, a seed that does not hold is reported, not failed);
- "no longer judged": the baseline judged the claim, this run's model misses a precondition;
- "effect worse": this run's interval lies wholly on the harmful side of the baseline's range
  (for a claim whose estimate should be high: below the lowest lower bound of the baseline's
  intervals and below the 95 % prediction interval for a new seed, mean - t sd sqrt(1 + 1/n)
  over the baseline's seeds, which covers the seed-to-seed spread that item-level intervals
  cannot see). It needs a baseline that shows that spread: with fewer than MIN_SEEDS judged
  seeds (one seed's item interval cannot see seed-to-seed variation; with two, t(0.975, 1) =
  12.7 makes the range useless) it is not decided, and the run says so and how to make one;
- "items worse": where both runs judged the same generated items (same recipe, seed and noise,
  items.jsonl with each item's headline value), this run is worse item by item: an exact
  one-sided sign test (McNemar for 0/1 outcomes) over the paired items, Bonferroni-corrected
  over every paired comparison of the run at alpha 0.05.
Reported but not failing: "now holds", "effect better", "no longer holds, now inconclusive"
(a warning: the baseline held in every seed and this run cannot decide), "effect not decided"
(too few baseline seeds), claims absent from either run. Item records are paired on claim,
variant, recipe, seed and noise rate.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from suite.judge import render
from suite.judge.claim import DOES_NOT_HOLD, INCONCLUSIVE, Verdict
from suite.run.results import read_items, read_verdicts
from scipy import stats as _st

from suite.judge.stats import binomial_p

REGRESSIONS = ("no longer holds", "no longer judged", "effect worse", "items worse")
WARNINGS = ("no longer holds, now inconclusive",)
NOT_DECIDED = "effect not decided"  # the baseline has fewer than MIN_SEEDS judged seeds
UNLISTED = ("not in baseline", "not in this run", NOT_DECIDED)  # counted, not listed one by one
MIN_SEEDS = 3
ALPHA = 0.05


@dataclass(frozen=True)
class Change:
    kind: str  # one of REGRESSIONS, "now holds", "effect better", "not in baseline", ...
    claim: str  # claim id with [variant] where there is one
    model: str  # this run's recipe / model (the baseline's when absent here)
    before: str  # the baseline's outcomes and range, readable
    after: str  # this run's

    @property
    def regression(self) -> bool:
        return self.kind in REGRESSIONS

    @property
    def line(self) -> str:
        mark = "-" if self.regression else "+" if self.kind in ("now holds", "effect better") else " "
        return f"{mark} {self.claim} on {self.model}: {self.kind}: {self.before} -> {self.after}"


@dataclass(frozen=True)
class Baseline:
    verdicts: list[Verdict]
    items: list[dict[str, Any]]  # items.jsonl records (empty when the baseline has none)


def load(path: Path) -> Baseline:
    """A baseline: a report directory (results.jsonl, and items.jsonl when present) or a
    results.jsonl file. Known-answer verdicts (suite.validate) are left out: a baseline is
    about models."""
    from suite.validate.known import split

    return Baseline(split(read_verdicts(path))[0], read_items(path))


def _group(baseline: Sequence[Verdict], v: Verdict) -> list[Verdict]:
    same_recipe = [b for b in baseline if (b.claim, b.variant, b.recipe) == (v.claim, v.variant, v.recipe)]
    if same_recipe:
        return same_recipe
    if any(b.recipe == v.recipe for b in baseline):
        return []  # a known recipe without this claim: nothing to compare with
    return [b for b in baseline if (b.claim, b.variant, b.task) == (v.claim, v.variant, v.task)]


def held_in(baseline: Baseline, v: Verdict) -> tuple[int, int]:
    """(seeds that held, seeds judged) among the baseline's verdicts comparable to `v`."""
    judged = [b for b in _group(baseline.verdicts, v) if b.judged]
    return sum(b.holds for b in judged), len(judged)


def _range(group: Sequence[Verdict]) -> tuple[float, float] | None:
    """The baseline's range for a new model's estimate: its intervals' span, widened to the
    95 % prediction interval for a new seed where it has two or more seeds."""
    judged = [b for b in group if b.judged and b.estimate is not None
              and math.isfinite(b.estimate)]
    if not judged:
        return None
    low = min(b.ci_low if b.ci_low is not None else b.estimate for b in judged)
    high = max(b.ci_high if b.ci_high is not None else b.estimate for b in judged)
    estimates = [b.estimate for b in judged]
    if len(estimates) >= 2:
        n, mean, sd = len(estimates), statistics.fmean(estimates), statistics.stdev(estimates)
        half = float(_st.t.ppf(0.975, n - 1)) * sd * math.sqrt(1 + 1 / n)
        low, high = min(low, mean - half), max(high, mean + half)
    return low, high


def _says_group(group: Sequence[Verdict]) -> str:
    judged = [b for b in group if b.judged]
    holds = sum(b.holds for b in judged)
    r = _range(group)
    span = "" if r is None else f", range {render.interval(r[0], r[1])}"
    return f"holds in {holds} of {len(judged)} judged ({len(group)} verdicts){span}"


def _headlines(items: Sequence[dict[str, Any]]) -> dict[tuple, dict[str, float]]:
    """{(claim, variant, recipe, seed, noise): {prompt: headline}} for items that carry both
    (records written before items carried their variant count as variant "")."""
    out: dict[tuple, dict[str, float]] = {}
    for it in items:
        if "headline" in it and "prompt" in it:
            key = (it["claim"], it.get("variant", ""), it["recipe"], it["seed"], it["noise"])
            out.setdefault(key, {})[it["prompt"]] = float(it["headline"])
    return out


def paired_worse(now: dict[str, float], before: dict[str, float], higher_is_better: bool) -> float:
    """One-sided exact sign test over the items both runs judged: p of as many items getting
    worse (against getting better) if neither direction were more likely."""
    common = sorted(set(now) & set(before))
    sign = 1 if higher_is_better else -1
    worse = sum(sign * (now[p] - before[p]) < 0 for p in common)
    better = sum(sign * (now[p] - before[p]) > 0 for p in common)
    if worse + better == 0:
        return 1.0
    return binomial_p(worse, worse + better, 0.5, "greater")


def compare(current: Sequence[Verdict], baseline: Baseline | Sequence[Verdict],
            current_items: Sequence[dict[str, Any]] = ()) -> list[Change]:
    if not isinstance(baseline, Baseline):
        baseline = Baseline(list(baseline), [])
    base = baseline.verdicts
    now_items, base_items = _headlines(current_items), _headlines(baseline.items)
    paired = [(v, now_items[k], base_items[k]) for v in current
              for k in [(v.claim, v.variant, v.recipe, v.seed, v.noise)]
              if v.judged and k in now_items and k in base_items]
    alpha = ALPHA / max(1, len(paired))
    worse_items = {id(v): p for v, now, before in paired
                   if (p := paired_worse(now, before, v.higher_is_better)) < alpha}
    used: set[int] = set()
    changes = []
    for v in current:
        group = _group(base, v)
        model = f"{v.recipe} seed {v.seed} noise {v.noise:g}"
        if not group:
            changes.append(Change("not in baseline", v.name, model, "-", v.said))
            continue
        used.update(id(b) for b in group)
        judged = [b for b in group if b.judged]
        holds_in = sum(b.holds for b in judged)
        r = _range(group)
        kind = None
        seeds = len({b.seed for b in judged})  # seeds, not noise rates, scales or verdicts
        if judged and not v.judged:
            kind = "no longer judged"
        elif judged and holds_in == len(judged) and v.outcome == DOES_NOT_HOLD:
            kind = "no longer holds"
        elif 0 < holds_in < len(judged) and v.outcome == DOES_NOT_HOLD:
            kind = "does not hold, as in some baseline seeds"
        elif judged and holds_in * 2 <= len(judged) and v.holds:
            kind = "now holds"
        elif id(v) in worse_items:
            kind = "items worse"
        elif v.judged and r is not None and v.estimate is not None and seeds >= MIN_SEEDS:
            low = v.ci_low if v.ci_low is not None else v.estimate
            high = v.ci_high if v.ci_high is not None else v.estimate
            worse = high < r[0] if v.higher_is_better else low > r[1]
            better = low > r[1] if v.higher_is_better else high < r[0]
            kind = "effect worse" if worse else "effect better" if better else None
        elif v.judged and r is not None and v.estimate is not None:
            kind = NOT_DECIDED
        if kind is None and judged and holds_in == len(judged) and v.outcome == INCONCLUSIVE:
            kind = WARNINGS[0]
        if kind:
            after = v.said + (f" (paired items p={worse_items[id(v)]:.2g})"
                              if kind == "items worse" else "")
            changes.append(Change(kind, v.name, model, _says_group(group), after))
    for b in base:
        if id(b) not in used:
            changes.append(Change("not in this run", b.name,
                                  f"{b.recipe} seed {b.seed} noise {b.noise:g}", b.said, "-"))
    return changes
