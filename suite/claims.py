"""Claims and verdicts: the record of what a test asserts and what it measured.

A `Claim` is a paper's sentence made precise: the quantities measured, the declared rules on
them (`Rule`: quantity, comparison, threshold), the confidence of the intervals, the unit the
intervals resample (the item), and where the thresholds come from. Its `protocol` id hashes all
of that, so every verdict says which frozen rule decided it, and a changed rule is a new
protocol (and a new `version`).

`judge` is the one place a claim is decided. A test hands it measurements (suite.stats: Share,
ItemMean, Difference, Auc, Exact, Largest, ...), never finished pass/fail booleans; judge makes
each interval at the claim's confidence and gives one of three outcomes:

- holds: every rule's interval lies on its passing side of the threshold;
- does not hold: some rule's interval lies wholly on its failing side;
- inconclusive: otherwise (an interval straddles its threshold); the verdict then says how far
  from the threshold an effect would have had to lie for this run to decide it.

A claim stated "at some site" is judged over alternatives (`some=`): it holds if it holds at
one (intervals Bonferroni-adjusted over the alternatives), does not hold if it fails at every
one. judge records the Verdict (recorders, so the numbers reach the report whatever happens),
then returns it when the claim holds and raises `DoesNotHold` or `Inconclusive` otherwise.
`not_judged` records a "not judged" verdict (a precondition is not met) and raises `NotJudged`.
The pytest plugin turns these into a failure (or an expected failure for a recorded finding),
a skip marked inconclusive, and a skip marked "precondition not met".

Report schema (--report DIR):
- results.jsonl: one Verdict per line, the fields of `Verdict` below (details holds the
  claim-specific numbers; details["quantities"] every measured quantity with its interval).
- items.jsonl: per-item outcomes, one object per item: {"claim", "model_key", "recipe", "seed",
  "noise", "item", ...} with the claim's per-item fields (e.g. "prompt", "clean_hit"), so every
  statistic can be recomputed without running a model.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from .stats import Estimate, Measure, is_exact

HOLDS, DOES_NOT_HOLD, INCONCLUSIVE, NOT_JUDGED = ("holds", "does not hold", "inconclusive",
                                                 "not judged")
OUTCOMES = (HOLDS, DOES_NOT_HOLD, INCONCLUSIVE, NOT_JUDGED)
COMPARISONS = (">=", ">", "<=", "<")


@dataclass(frozen=True)
class Rule:
    """`quantity op threshold`, e.g. Rule("clean_share", ">=", 0.5): the passing side."""

    quantity: str
    op: str
    threshold: float

    def __post_init__(self) -> None:
        if self.op not in COMPARISONS:
            raise ValueError(f"rule on {self.quantity}: op must be one of {COMPARISONS}")

    def __str__(self) -> str:
        return f"{self.quantity} {self.op} {self.threshold:g}"

    def decide(self, e: Estimate) -> str:
        """holds / does not hold / inconclusive for the interval [e.low, e.high]."""
        t, low, high = self.threshold, e.low, e.high
        if math.isnan(e.value):
            return INCONCLUSIVE
        if self.op in (">=", ">"):
            holds = low >= t if self.op == ">=" else low > t
            fails = high < t if self.op == ">=" else high <= t
        else:
            holds = high <= t if self.op == "<=" else high < t
            fails = low > t if self.op == "<=" else low >= t
        return HOLDS if holds else DOES_NOT_HOLD if fails else INCONCLUSIVE

    def margin(self, e: Estimate) -> float:
        """How far from the threshold an effect must lie for an interval this wide to decide:
        the larger half-width of the interval."""
        return max(e.value - e.low, e.high - e.value)


@dataclass(frozen=True)
class Claim:
    id: str  # "rr.generalize_first"
    source: str  # paper and figure / section
    sentence: str  # the claim as the paper says it
    statistic: str  # what is measured
    rules: tuple[Rule, ...]  # every rule must hold; the first names the headline estimate
    threshold_source: str  # a paper's number, or "a priori: <reason>"
    unit: str = "item"  # what the intervals resample, e.g. "memorized item", "training run"
    confidence: float = 0.95  # two-sided; each rule is a one-sided test at (1 - confidence) / 2
    some: str = ""  # "site": the claim holds if it holds at some site (alternatives)
    version: int = 1  # raised whenever the rule changes (a new protocol)
    family: str = ""  # claims corrected together for multiple comparisons
    replicate: str = "majority"  # across seeds: "majority" (k > n/2) or "all" (every seed)

    def __post_init__(self) -> None:
        if self.replicate not in ("majority", "all"):
            raise ValueError(f"{self.id}: replicate must be 'majority' or 'all'")
        if not self.rules:
            raise ValueError(f"{self.id}: a claim needs at least one rule")
        if not 0.5 < self.confidence < 1:
            raise ValueError(f"{self.id}: confidence must lie in (0.5, 1)")
        known = CLAIMS.get(self.id)
        if known is not None and known != self:
            raise ValueError(f"claim id {self.id!r} is declared twice with different content")
        CLAIMS[self.id] = self

    @property
    def threshold(self) -> str:
        """The decision rule as one readable line."""
        where = (f" at some {self.some} (intervals Bonferroni-adjusted over the {self.some}s)"
                 if self.some else "")
        return (" and ".join(str(r) for r in self.rules) + where +
                f"; {self.confidence:.1%} intervals, unit: {self.unit}")

    @property
    def protocol(self) -> str:
        """Hash of everything that decides a verdict: id, version, statistic, rules,
        confidence, unit and alternatives. Recorded with every verdict."""
        content = {"id": self.id, "version": self.version, "statistic": self.statistic,
                   "rules": [[r.quantity, r.op, r.threshold] for r in self.rules],
                   "confidence": self.confidence, "unit": self.unit, "some": self.some}
        return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()[:12]


CLAIMS: dict[str, Claim] = {}  # every declared claim by id (filled as claim modules import)


class NotJudged(Exception):
    """A precondition is not met: the model cannot be judged on the claim."""


class DoesNotHold(AssertionError):
    """The claim was judged and does not hold (with its numbers)."""

    def __init__(self, verdict: "Verdict") -> None:
        super().__init__(verdict.message)
        self.verdict = verdict


class Inconclusive(Exception):
    """The claim was judged and the run cannot decide it (an interval straddles a threshold)."""

    def __init__(self, verdict: "Verdict") -> None:
        super().__init__(verdict.message)
        self.verdict = verdict


def claims_dir() -> Path:
    """The claims/ folder of this checkout (claims are tests, so they live beside suite/)."""
    return Path(__file__).resolve().parent.parent / "claims"


def load_catalogue(directory: Path | None = None) -> dict[str, Claim]:
    """Import every claim module (claims/test_*.py) and return the declared claims by id."""
    import importlib.util
    import sys

    directory = directory or claims_dir()
    if not directory.is_dir():
        raise FileNotFoundError(f"no claims folder at {directory}: the claims live in the "
                                "repository checkout (pip install -e .)")
    root = str(directory.parent)
    if root not in sys.path:
        sys.path.insert(0, root)
    for path in sorted(directory.glob("test_*.py")):
        name = f"claims.{path.stem}"
        if name not in sys.modules:
            importlib.import_module(name)
    return dict(CLAIMS)


def get_claim(claim_id: str) -> Claim:
    """The declared claim `claim_id`; an unknown id is a KeyError that suggests the closest."""
    if claim_id not in CLAIMS:
        load_catalogue()
    if claim_id not in CLAIMS:
        from .tasks import unknown

        raise unknown("claim", claim_id, sorted(CLAIMS))
    return CLAIMS[claim_id]


@dataclass(frozen=True)
class Verdict:
    claim: str
    task: str
    recipe: str
    seed: int
    noise: float
    n: int
    estimate: float | None  # the first rule's quantity (None: not judged)
    ci_low: float | None
    ci_high: float | None
    p: float | None  # largest one-sided p over the rules (Bonferroni over alternatives)
    threshold: str
    outcome: str  # one of OUTCOMES
    details: dict[str, Any] = field(default_factory=dict)
    model_key: str = ""
    variant: str = ""  # a claim's parametrization beyond the model, e.g. the decoder
    replicate: str = "majority"
    family: str = ""
    test: str = ""  # the test function and its parameter id, "test_x[fda-tiny-s0-n0.05]"
    protocol: str = ""  # Claim.protocol of the rule that decided it
    version: int = 1
    error_rate: float | None = None  # per-verdict chance of "holds" when the claim is false at
    # its threshold ((1 - confidence) / 2); None where a quantity is exact (no sampling)
    higher_is_better: bool = True  # the headline's passing side (the first rule's direction)

    @property
    def holds(self) -> bool:
        return self.outcome == HOLDS

    @property
    def judged(self) -> bool:
        return self.outcome != NOT_JUDGED

    @property
    def name(self) -> str:
        """claim id with [variant] where there is one."""
        return self.claim + (f"[{self.variant}]" if self.variant else "")

    @property
    def said(self) -> str:
        """The outcome and the headline estimate, short: 'holds 0.72 [0.68, 0.76]'."""
        if not self.judged or self.estimate is None:
            return self.outcome
        ci = "" if self.ci_low is None else f" [{_fmt(self.ci_low)}, {_fmt(self.ci_high)}]"
        return f"{self.outcome} {_fmt(self.estimate)}{ci}"

    @property
    def message(self) -> str:
        """One readable line: the model, the outcome with its numbers, and the rule."""
        head = f"{self.name} on {self.recipe} seed {self.seed} noise {self.noise:g}: "
        if not self.judged:
            return head + f"NOT JUDGED (precondition not met): {self.details.get('reasons', '')}"
        p = "" if self.p is None else f", p={self.p:.3g}"
        extra = "".join(f", {k}={_fmt(v)}" for k, v in self.details.items())
        return (head + f"{self.outcome.upper()}: {self.said}{p} (n={self.n}); "
                f"rule: {self.threshold}{extra}")

    def to_json(self) -> str:
        """Strict JSON: NaN and infinities are written as null."""
        return json.dumps(strict_json(asdict(self)), default=_jsonable, allow_nan=False)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Verdict":
        names = {f.name for f in fields(cls)}
        missing = {f.name for f in fields(cls) if f.default is MISSING
                   and f.default_factory is MISSING} - set(d)
        if missing:
            raise ValueError(f"a verdict record lacks {sorted(missing)}")
        return cls(**{k: v for k, v in d.items() if k in names})


def read_verdicts(path: Path) -> list[Verdict]:
    """The verdicts of a results.jsonl, with the line number of any record that is not one."""
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such results file (written by --report DIR)")
    out = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            out.append(Verdict.from_dict(json.loads(line)))
        except (json.JSONDecodeError, ValueError, TypeError) as err:
            raise ValueError(f"{path}:{number}: not a verdict record of this suite version "
                             f"({err})") from None
    return out


def _fmt(v: Any) -> str:
    if isinstance(v, float) and math.isfinite(v):
        return f"{v:.3f}"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_fmt(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k}: {_fmt(x)}" for k, x in v.items()) + "}"
    return str(v)


def strict_json(v: Any) -> Any:
    """v with every NaN or infinity replaced by None (strict JSON parsers reject them)."""
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, dict):
        return {k: strict_json(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [strict_json(x) for x in v]
    return v


def _jsonable(v: Any) -> Any:
    if hasattr(v, "tolist"):
        return strict_json(v.tolist())
    return strict_json(vars(v)) if hasattr(v, "__dict__") else str(v)


Recorder = Callable[[Verdict, Sequence[dict[str, Any]]], None]
_recorders: list[Recorder] = []
_current_test = ""  # set by the pytest plugin around each test call


def set_current_test(name: str) -> None:
    """Name the running test (function[id]) so its verdicts say which test made them."""
    global _current_test
    _current_test = name


def add_recorder(recorder: Recorder) -> None:
    _recorders.append(recorder)


def remove_recorder(recorder: Recorder) -> None:
    _recorders.remove(recorder)


def _model_fields(model: Any) -> dict[str, Any]:
    spec = model.task_spec
    return dict(task=spec.task, recipe=model.name, seed=spec.seed,
                noise=float(getattr(model, "noise", spec.noise)), model_key=model.key)


def _record(v: Verdict, items: Sequence[dict[str, Any]] = ()) -> Verdict:
    for record in list(_recorders):
        record(v, items)
    return v


def _finite(x: float) -> float:
    return x if math.isfinite(x) else float("-inf")


def _decide(claim: Claim, measured: Mapping[str, Measure], confidence: float
            ) -> tuple[str, dict[str, Estimate], dict[str, str], float]:
    missing = {r.quantity for r in claim.rules} - set(measured)
    if missing:
        raise ValueError(f"{claim.id}: judge() needs the quantities {sorted(missing)} its rules "
                         f"name (got {sorted(measured)})")
    estimates = {name: m.interval(confidence) for name, m in measured.items()}
    each = {str(r): r.decide(estimates[r.quantity]) for r in claim.rules}
    outcome = (DOES_NOT_HOLD if DOES_NOT_HOLD in each.values() else
               HOLDS if all(o == HOLDS for o in each.values()) else INCONCLUSIVE)
    p = max(measured[r.quantity].p(r.op, r.threshold) for r in claim.rules)
    return outcome, estimates, each, p


def judge(claim: Claim, model: Any, measured: Mapping[str, Measure] | None = None, *,
          some: Mapping[str, Mapping[str, Measure]] | None = None, n: int,
          items: Sequence[dict[str, Any]] = (), variant: str = "", **details: Any) -> Verdict:
    """Decide `claim` on `model` (a StoredModel) from its measurements, record the Verdict and
    return it if the claim holds; raise DoesNotHold or Inconclusive (carrying the recorded
    Verdict) if not.

    measured: {quantity: measurement} for every quantity the claim's rules name (more may be
    given: they are reported). some: {label: measured} alternatives (sites, edits) for a claim
    that holds if it holds at one of them. items: per-item outcomes for items.jsonl.
    """
    if (measured is None) == (some is None):
        raise ValueError(f"{claim.id}: pass either measured= or some=")
    if some is not None and not claim.some:
        raise ValueError(f"{claim.id}: some= needs a claim declared with some='...'")
    alternatives = dict(some) if some is not None else {"": dict(measured or {})}
    if not alternatives:
        raise ValueError(f"{claim.id}: some= needs at least one alternative")
    confidence = 1 - (1 - claim.confidence) / len(alternatives)
    decided = {label: _decide(claim, m, confidence) for label, m in alternatives.items()}
    outcomes = [d[0] for d in decided.values()]
    outcome = (HOLDS if HOLDS in outcomes else
               DOES_NOT_HOLD if all(o == DOES_NOT_HOLD for o in outcomes) else INCONCLUSIVE)
    head = claim.rules[0].quantity
    # the alternative reported: the first that holds, else the best headline estimate
    sign = 1 if claim.rules[0].op in (">=", ">") else -1
    label = next((lab for lab, d in decided.items() if d[0] == HOLDS), None)
    if label is None:  # the best headline among the alternatives that gave this outcome
        candidates = [lab for lab, d in decided.items() if d[0] == outcome] or list(decided)
        label = max(candidates, key=lambda lab: sign * _finite(decided[lab][1][head].value))
    _, estimates, each, p = decided[label]
    p = min(1.0, p * len(alternatives))
    info: dict[str, Any] = {}
    if some is not None:
        info[claim.some] = label
        info[f"by_{claim.some}"] = {lab: d[0] for lab, d in decided.items()}
    info["quantities"] = {k: [e.value, e.low, e.high] for k, e in estimates.items()}
    info["rules"] = each
    info["interval_method"] = estimates[head].method
    if outcome == INCONCLUSIVE:
        straddling = [r for r in claim.rules if each[str(r)] == INCONCLUSIVE]
        info["decidable_beyond"] = {str(r): round(r.margin(estimates[r.quantity]), 4)
                                    for r in straddling}
    exact = any(is_exact(m) for a in alternatives.values() for m in a.values())
    e = estimates[head]
    v = Verdict(
        claim=claim.id, **_model_fields(model), n=n, estimate=e.value,
        ci_low=None if e.low == e.high else e.low, ci_high=None if e.low == e.high else e.high,
        p=p, threshold=claim.threshold, outcome=outcome, details={**info, **details},
        variant=variant, replicate=claim.replicate, family=claim.family, test=_current_test,
        protocol=claim.protocol, version=claim.version,
        error_rate=None if exact else (1 - claim.confidence) / 2,
        higher_is_better=sign > 0,
    )
    headline = alternatives[label][head]
    rows = getattr(headline, "rows", None)
    if items and rows is not None and rows.ndim == 1 and len(rows) == len(items):
        items = [{**it, "headline": float(x)} for it, x in zip(items, rows)]
    _record(v, items)
    if outcome == DOES_NOT_HOLD:
        raise DoesNotHold(v)
    if outcome == INCONCLUSIVE:
        raise Inconclusive(v)
    return v


def not_judged(claim: Claim, model: Any, *reasons: str, variant: str = "") -> None:
    """Record that `claim` cannot be judged on `model` (a precondition is not met: the model
    did not learn the task or did not memorize), with the measured numbers, and raise
    NotJudged: never a pass, never a claim failure."""
    text = "; ".join(reasons)
    _record(Verdict(claim=claim.id, **_model_fields(model), n=0, estimate=None, ci_low=None,
                    ci_high=None, p=None, threshold=claim.threshold, outcome=NOT_JUDGED,
                    details={"reasons": text}, variant=variant, replicate=claim.replicate,
                    family=claim.family, test=_current_test, protocol=claim.protocol,
                    version=claim.version))
    raise NotJudged(f"{claim.id}: precondition not met: {text}")


@dataclass(frozen=True)
class ReplicationVerdict:
    """A claim judged across seeds by the k-of-n rule (suite.stats.k_of_n).

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
        name = self.claim + (f"[{self.variant}]" if self.variant else "")
        status = "REPLICATES" if self.replicates else "DOES NOT REPLICATE"
        if self.judged < 2:
            status = "CANNOT REPLICATE (fewer than 2 seeds judged)"
        rate = ("exact rule, no sampling error rate" if self.error_rate is None else
                f"error rate {self.error_rate:.2g} if the claim is false at its threshold")
        return (f"{name} on {self.recipe} noise {self.noise:g}: {status}: holds in "
                f"{self.holds_in} of {self.judged} judged seeds (does not hold {self.does_not_hold_in}, "
                f"inconclusive {self.inconclusive_in}; not judged {self.not_judged_in}); rule >= "
                f"{self.k} ({rate})")

    def to_json(self) -> str:
        return json.dumps(strict_json(asdict(self)), allow_nan=False)


def replicate(verdicts: Sequence[Verdict]) -> list[ReplicationVerdict]:
    """Group verdicts by (claim, variant, recipe, noise) over seeds and apply the k-of-n rule.
    Groups with one seed are left out."""
    from .stats import k_of_n

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
    p is a verdict's largest one-sided p over its rules (suite.claims.judge), and a claim holds
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
        name = self.claim + (f"[{self.variant}]" if self.variant else "")
        status = "holds" if self.holds_corrected else "does not hold"
        return (f"{name} on {self.recipe} seed {self.seed} noise {self.noise:g}: p={self.p:.3g}, "
                f"Holm over {self.family_size} in {self.family}: {self.p_holm:.3g} -> {status} "
                f"after correction (own rule: {'holds' if self.holds else 'does not hold'})")

    def to_json(self) -> str:
        return json.dumps(strict_json(asdict(self)), allow_nan=False)


def family_correct(verdicts: Sequence[Verdict], alpha: float = 0.05) -> list[FamilyVerdict]:
    """Holm-correct the p-values of every claim family on each model (verdicts with a p and a
    family; precondition verdicts are left out)."""
    from .stats import holm

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
