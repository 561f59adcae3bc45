"""Across seeds and across claims: the k-of-n replication rule and Holm's family correction.

Both read finished Verdicts (suite.judge.claim), so they work the same on a live run and on a
results directory read back from disk.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from typing import Sequence

from suite.judge import render
from suite.judge.claim import DOES_NOT_HOLD, HOLDS, INCONCLUSIVE, NOT_JUDGED, OUTCOMES, Verdict, strict_json
from suite.judge.stats import holm, k_of_n


@dataclass(frozen=True)
class ReplicationVerdict:
    """A claim judged across seeds by the k-of-n rule (suite.judge.stats.k_of_n).

    Seeds are counted by outcome: holds, does not hold, inconclusive (judged) and not judged
    (a precondition failed). The rule: holds in at least k of the judged seeds (k: a strict
    majority, or all for claims stated 'in every seed'), with at least two judged seeds. Its
    error rate is P(>= k of n | the claim is false at its threshold) when each seed's "holds"
    has error rate alpha (the verdicts' error_rate); None where the rule is exact.
    """

    claim: str
    recipe: str
    noise: float
    variant: str
    seeds: list[int]
    holds_in: int
    does_not_hold_in: int
    inconclusive_in: int
    not_judged_in: int
    k: int  # holds in at least k judged seeds
    replicates: bool
    error_rate: float | None

    @property
    def judged(self) -> int:
        return self.holds_in + self.does_not_hold_in + self.inconclusive_in

    @property
    def message(self) -> str:
        return render.replication(self)

    def to_json(self) -> str:
        return json.dumps(strict_json(asdict(self)), allow_nan=False)


def replicate(verdicts: Sequence[Verdict]) -> list[ReplicationVerdict]:
    """Group verdicts by (claim, variant, recipe, noise) over seeds and apply the k-of-n rule.
    Groups with one seed are left out."""
    groups: dict[tuple, list[Verdict]] = {}
    for v in verdicts:
        groups.setdefault((v.claim, v.variant, v.recipe, v.noise), []).append(v)
    out = []
    for (claim, variant, recipe, noise), vs in groups.items():
        if len({v.seed for v in vs}) < 2:
            continue
        judged = [v for v in vs if v.judged]
        count = {o: sum(v.outcome == o for v in vs) for o in OUTCOMES}
        rates = [v.error_rate for v in judged]
        alpha = None if not judged or any(r is None for r in rates) else max(rates)
        if judged:
            k = len(judged) if vs[0].replicate == "all" else None
            r = k_of_n([v.holds for v in judged], k=k, alpha=alpha if alpha is not None else 0.0)
            k_needed, holds = r.k, r.holds and len(judged) >= 2
            error = r.false_positive_rate if alpha is not None else None
        else:
            k_needed, holds, error = 0, False, None
        out.append(ReplicationVerdict(claim, recipe, noise, variant, sorted(v.seed for v in vs),
                                      count[HOLDS], count[DOES_NOT_HOLD], count[INCONCLUSIVE],
                                      count[NOT_JUDGED], k_needed, holds, error))
    return out


@dataclass(frozen=True)
class FamilyVerdict:
    """One claim's p-value corrected with Holm's method over its family on one model.

    A second, stricter reading beside the per-claim outcomes, which keep their declared rules:
    p is a verdict's largest one-sided p over its rules (suite.judge.claim.decide), and a claim holds
    after correction if it holds and its Holm-adjusted p <= alpha.
    """

    family: str
    claim: str
    variant: str
    model_key: str
    recipe: str
    seed: int
    noise: float
    p: float
    p_holm: float
    family_size: int
    holds: bool  # the claim's own rule
    holds_corrected: bool  # its own rule and p_holm <= alpha

    @property
    def message(self) -> str:
        return render.family(self)

    def to_json(self) -> str:
        return json.dumps(strict_json(asdict(self)), allow_nan=False)


def family_correct(verdicts: Sequence[Verdict], alpha: float = 0.05) -> list[FamilyVerdict]:
    """Holm-correct the p-values of every claim family on each model (verdicts with a p and a
    family; precondition verdicts are left out)."""
    groups: dict[tuple[str, str], list[Verdict]] = {}
    for v in verdicts:
        family = v.family
        if family and v.p is not None and v.judged and not math.isnan(v.p):
            groups.setdefault((family, v.model_key), []).append(v)
    out = []
    for (family, _), vs in sorted(groups.items()):
        adjusted = holm([v.p for v in vs])
        for v, p_adj in zip(vs, adjusted):
            out.append(FamilyVerdict(family, v.claim, v.variant, v.model_key, v.recipe, v.seed,
                                     v.noise, v.p, p_adj, len(vs), v.holds,
                                     v.holds and p_adj <= alpha))
    return out
