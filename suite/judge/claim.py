"""Claims, rules and verdicts: what a test asserts, and the one function that decides it.

A `Claim` is a paper's sentence made precise: the quantities measured, the declared rules on
them (`Rule`: quantity, comparison, threshold), the confidence of the intervals, the unit the
intervals resample (the item), and where the thresholds come from. Its `protocol` id hashes all
of that, so every verdict says which frozen rule decided it, and a changed rule is a new
protocol (and a new `version`, an explicit field).

`decide` is the one place a claim is decided. It takes measurements (suite.judge.stats: Share,
ItemMean, Difference, Auc, Exact, Largest, ...), never finished pass/fail booleans, makes each
interval at the claim's confidence and gives one of three outcomes:

- holds: every rule's interval lies on its passing side of the threshold;
- does not hold: some rule's interval lies wholly on its failing side;
- inconclusive: otherwise (an interval straddles its threshold); the verdict then says how far
  from the threshold an effect would have had to lie for this run to decide it.

A claim stated "at some site" is judged over alternatives (`some=`): it holds if it holds at
one (intervals Bonferroni-adjusted over the alternatives), does not hold if it fails at every
one. `decide` is pure: it returns the Verdict. Recording it and turning it into a test outcome
is the job of `suite.judge.session.Judge` (the `judge` fixture of the pytest plugin).
"""

from __future__ import annotations

import dataclasses

import hashlib
import json
import math
import re
from dataclasses import MISSING, asdict, dataclass, field, fields
from typing import Any, Mapping, Sequence

from suite.judge import render
from suite.judge.figures import Bars, Lines, as_record
from suite.judge.stats import Estimate, Measure, is_exact, to_record

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
class KnownCase:
    """One known-answer case of a claim: the claim's own test, run on a subject whose answer is
    known by construction, on each of `tasks`. `plant` names the builder in
    suite.validate.plants that makes the subject from a reference model (the tiny recipe of
    the task, seed 0, or the recipe `reference` names); planted True: built for the claim to
    hold, False: built for its headline rule (or the rule on `fails`) to fail. args: the claim
    test's own parameters for this case (a decoder); plant_args: the builder's (a strength).
    rule_check: the subject checks that the rule reads its statistic the right way round but
    validates no instrument: a written curve or sweep, or a model chosen by the very reading the
    rule makes (the memorize-first model for rr.memorize_later)."""

    plant: str
    planted: bool
    tasks: tuple[str, ...]
    fails: str = ""
    args: tuple[tuple[str, Any], ...] = ()
    plant_args: tuple[tuple[str, Any], ...] = ()
    reference: str = ""
    rule_check: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.tasks, str) or not self.tasks:
            raise ValueError(f"known case {self.plant}: tasks are a non-empty tuple of task names, "
                             f"got {self.tasks!r}")
        if self.fails and self.planted:
            raise ValueError(f"known case {self.plant}: `fails` names the rule a planted-false "
                             "subject is built to fail; this one is planted true")

    @property
    def arg_words(self) -> list[str]:
        """The test's argument values and the builder's `name=value`, e.g. ["lens"]."""
        return [*(str(v) for _, v in self.args),
                *(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}"
                  for k, v in self.plant_args)]

    def label(self, task: str) -> str:
        """The case's test id on `task`, e.g. "true-late_recall-lens-fda"."""
        return "-".join(["true" if self.planted else "false", self.plant, *self.arg_words, task])


def known_pair(true: str, false: str, tasks: tuple[str, ...], **common: Any
               ) -> tuple[KnownCase, ...]:
    """A claim's two cases on `tasks`: planted true on plant `true`, planted false on plant
    `false`, both with the `common` fields of KnownCase (args, rule_check, ...); an `args`
    entry whose value is a tuple (("decoder", ("lens", "probe")),) makes one pair per value."""
    args = common.pop("args", ())
    variants: list[tuple[tuple[str, Any], ...]] = [()]
    for name, value in args:
        values = value if isinstance(value, tuple) else (value,)
        variants = [(*v, (name, x)) for v in variants for x in values]
    return tuple(KnownCase(plant, planted, tuple(tasks), args=v, **common)
                 for v in variants for plant, planted in ((true, True), (false, False)))


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
    # the tasks whose recipes the claim is judged on ("fda", "thr", "khop") and the special
    # training regime whose recipes alone it runs on ("" for the ordinary recipes): where it
    # runs, not how it decides, so not part of the rule's hash
    tasks: tuple[str, ...] = ()
    regime: str = ""
    gates: tuple[str, ...] = ()  # preconditions a model must meet to be judged
    # (suite.judge.gates.GATES: "learned", "memorized", "pre", "curve", "deep"); part of the rule
    # the known-answer cases that validate the instrument (KnownCase): they decide where its
    # verdicts are judged (suite.validate.known.bind) and are recorded with their own numbers,
    # so they are not part of the rule's hash; claims/test_known_answers.py runs them
    known: tuple[KnownCase, ...] = ()

    def __post_init__(self) -> None:
        if self.replicate not in ("majority", "all"):
            raise ValueError(f"{self.id}: replicate must be 'majority' or 'all'")
        if not self.rules:
            raise ValueError(f"{self.id}: a claim needs at least one rule")
        if not 0.5 < self.confidence < 1:
            raise ValueError(f"{self.id}: confidence must lie in (0.5, 1)")
        if isinstance(self.gates, str) or len(set(self.gates)) != len(self.gates):
            raise ValueError(f"{self.id}: gates are a tuple of distinct gate names, got "
                             f"{self.gates!r}")
        if isinstance(self.tasks, str):
            raise ValueError(f"{self.id}: tasks are a tuple of task names, got {self.tasks!r}")
        if self.regime and not self.tasks:
            raise ValueError(f"{self.id}: a regime ({self.regime!r}) needs the tasks it runs on")
        stray = sorted({t for c in self.known for t in c.tasks} - set(self.tasks)) \
            if self.tasks else []
        if stray:
            raise ValueError(f"{self.id}: known cases on {stray}, tasks it does not run on "
                             f"({self.tasks})")
        if not all(isinstance(c, KnownCase) for c in self.known):
            raise ValueError(f"{self.id}: known cases are KnownCase records, got {self.known!r}")
        labels = [c.label(t) for c in self.known for t in c.tasks]
        if len(set(labels)) != len(labels):
            raise ValueError(f"{self.id}: a known case is declared twice: {sorted(labels)}")

    @property
    def threshold(self) -> str:
        """The decision rule as one readable line."""
        where = (f" at some {self.some} (intervals Bonferroni-adjusted over the {self.some}s)"
                 if self.some else "")
        fails = ("; 'does not hold' where one rule fails at Bonferroni over the sampled rules"
                 if len(self.rules) > 1 else "")
        gated = f"; gates: {', '.join(self.gates)}" if self.gates else ""
        return (" and ".join(str(r) for r in self.rules) + where +
                f"; {self.confidence:.1%} intervals{fails}, unit: {self.unit}{gated}")

    @property
    def base_id(self) -> str:
        """The id shared by every version: "rr.bridge_decodable" for "rr.bridge_decodable.v3"."""
        return re.sub(r"\.v\d+$", "", self.id)

    @property
    def rank(self) -> tuple[int, int]:
        """Where this version stands among its claim's versions: the id's `.vN` suffix, else
        `version`; on a tie the suffixed id, a declared revision, comes later (curvature's
        `.v2` ids were declared keeping the version field of the claim they revise, which their
        protocols hash)."""
        suffix = re.search(r"\.v(\d+)$", self.id)
        return (int(suffix.group(1)), 1) if suffix else (self.version, 0)

    def revised(self, version: int, **changes: Any) -> "Claim":
        """The next version of this claim, as its own claim id `<base id>.v<version>` (a
        revision of a revision drops the first's suffix): the fields not named in `changes`
        (source, sentence, rules, ...) stay as they are."""
        return dataclasses.replace(self, id=f"{self.base_id}.v{version}", version=version,
                                   **changes)

    def without_gate(self, gate: str, version: int, why: str) -> "Claim":
        """The next version of this claim with one gate fewer and the rule otherwise unchanged
        (a gate is part of the rule, so dropping one is a new version); `why` is appended to
        its threshold source."""
        if gate not in self.gates:
            raise ValueError(f"{self.id} has no gate {gate!r} to drop (gates: {self.gates})")
        return self.revised(version, gates=tuple(g for g in self.gates if g != gate),
                            threshold_source=f"{self.threshold_source}. {why}")

    @property
    def protocol(self) -> str:
        """Hash of everything that decides a verdict: id, version, statistic, rules,
        confidence, unit, alternatives and gates (a model that misses one is not judged, so a
        changed gate changes which verdicts exist). Recorded with every verdict."""
        return self._hash(with_gates=True)

    @property
    def protocol_before_gates(self) -> str:
        """The protocol as hashed before the gates entered it (0dc55c1): what a verdict
        recorded before then names, so that `memsuite rescore` can still re-decide it."""
        return self._hash(with_gates=False)

    def _hash(self, with_gates: bool) -> str:
        content = {"id": self.id, "version": self.version, "statistic": self.statistic,
                   "rules": [[r.quantity, r.op, r.threshold] for r in self.rules],
                   "confidence": self.confidence, "unit": self.unit, "some": self.some}
        if with_gates:
            content["gates"] = list(self.gates)
        return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()[:12]


def superseded(claims: Sequence[Claim]) -> dict[str, str]:
    """{claim id: id of the current version} for every claim in `claims` that a later version
    of the same claim (same base id, higher `rank`) replaces. A claim's current version is its
    highest; only it runs by default and only its verdicts can be findings."""
    latest: dict[str, Claim] = {}
    for claim in claims:
        known = latest.get(claim.base_id)
        if known is not None and known.rank == claim.rank and known != claim:
            raise ValueError(f"{known.id} and {claim.id} are both version {claim.rank[0]} of "
                             f"{claim.base_id}: which is current cannot be told")
        if known is None or claim.rank > known.rank:
            latest[claim.base_id] = claim
    return {c.id: latest[c.base_id].id for c in claims if latest[c.base_id].id != c.id}


class NotJudged(Exception):
    """A precondition is not met: the model cannot be judged on the claim (the "not judged"
    Verdict, with the measured numbers, rides along)."""

    def __init__(self, verdict: "Verdict") -> None:
        super().__init__(f"{verdict.claim}: precondition not met: {verdict.details['reasons']}")
        self.verdict = verdict


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
    scale: str = ""  # the recipe's scale (tiny, small, paper); "" for a model from elsewhere
    arch: str = ""  # the model family (gpt2, llama); "" where unknown (older records)
    superseded_by: str = ""  # the current version's id when this version is superseded (run
    # only with --claim-versions all; never a finding)
    sentence: str = ""  # the claim as its paper says it (Claim.sentence), for the report
    source: str = ""  # the paper and figure or section (Claim.source)
    # what decided it, to re-decide without a model (memsuite rescore): the rule and every
    # measurement's per-item values (suite.judge.stats.to_record); written to measurements.jsonl
    measured: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def holds(self) -> bool:
        return self.outcome == HOLDS

    @property
    def judged(self) -> bool:
        return self.outcome != NOT_JUDGED

    @property
    def name(self) -> str:
        """claim id with [variant] where there is one."""
        return render.name(self.claim, self.variant)

    @property
    def said(self) -> str:
        """The outcome and the headline estimate, short: 'holds 0.720 [0.680, 0.760]'."""
        return render.said(self)

    @property
    def message(self) -> str:
        """One readable line: the model, the outcome with its numbers, and the rule."""
        return render.message(self)

    def to_json(self, measured: bool = True) -> str:
        """Strict JSON: NaN and infinities are written as null. measured=False leaves out the
        measurement records (results.jsonl keeps them in a file of their own)."""
        d = asdict(self)
        if not measured:
            d.pop("measured")
        return json.dumps(strict_json(d), default=_jsonable, allow_nan=False)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Verdict":
        names = {f.name for f in fields(cls)}
        missing = {f.name for f in fields(cls) if f.default is MISSING
                   and f.default_factory is MISSING} - set(d)
        if missing:
            raise ValueError(f"a verdict record lacks {sorted(missing)}")
        return cls(**{k: v for k, v in d.items() if k in names})


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


def _model_fields(stored: Any) -> dict[str, Any]:
    spec = stored.task_spec
    recipe = getattr(stored, "recipe", None)
    return dict(task=spec.task, recipe=stored.name, seed=spec.seed,
                noise=float(getattr(stored, "noise", spec.noise)), model_key=stored.key,
                scale=getattr(recipe, "scale", ""), arch=getattr(stored, "arch", ""))


def _finite(x: float) -> float:
    return x if math.isfinite(x) else float("-inf")


def fails_confidence(confidence: float, rules: int) -> float:
    """The confidence at which each of `rules` sampled rules is read for "does not hold"."""
    return 1 - (1 - confidence) / rules


def _decide(claim: Claim, measured: Mapping[str, Measure], confidence: float
            ) -> tuple[str, dict[str, Estimate], dict[str, str], float]:
    missing = {r.quantity for r in claim.rules} - set(measured)
    if missing:
        raise ValueError(f"{claim.id}: judge() needs the quantities {sorted(missing)} its rules "
                         f"name (got {sorted(measured)})")
    estimates = {name: m.interval(confidence) for name, m in measured.items()}
    each = {str(r): r.decide(estimates[r.quantity]) for r in claim.rules}
    # "does not hold" needs one rule to fail, so over m sampled rules its side is Bonferroni-
    # corrected (statistics version 6): a rule fails only where its interval at 1 - (1 - c) / m
    # lies on the failing side too. "holds" needs every rule, which needs no correction.
    sampled = [r for r in claim.rules if not is_exact(measured[r.quantity])]
    if len(sampled) > 1:
        strict = fails_confidence(confidence, len(sampled))
        for r in sampled:
            if each[str(r)] == DOES_NOT_HOLD:
                each[str(r)] = r.decide(measured[r.quantity].interval(strict))
    outcome = (DOES_NOT_HOLD if DOES_NOT_HOLD in each.values() else
               HOLDS if all(o == HOLDS for o in each.values()) else INCONCLUSIVE)
    p = max(measured[r.quantity].p(r.op, r.threshold) for r in claim.rules)
    return outcome, estimates, each, p


def decide(claim: Claim, stored: Any, measured: Mapping[str, Measure] | None = None, *,
           some: Mapping[str, Mapping[str, Measure]] | None = None, n: int,
           items: Sequence[dict[str, Any]] = (), variant: str = "", test: str = "",
           **details: Any) -> tuple[Verdict, list[dict[str, Any]]]:
    """Decide `claim` on `stored` (a StoredModel) from its measurements: the Verdict, and the
    per-item records (each with its "headline" value where the headline measurement has one
    row per item).

    measured: {quantity: measurement} for every quantity the claim's rules name (more may be
    given: they are reported). some: {label: measured} alternatives (sites, edits) for a claim
    that holds if it holds at one of them. items: per-item outcomes for items.jsonl. test: the
    test that judged it, "test_x[fda-tiny-s0-n0.05]".
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
    records = {lab: {q: to_record(m) for q, m in a.items()} for lab, a in alternatives.items()}
    measured_record = {
        "statistic": claim.statistic, "unit": claim.unit, "confidence": claim.confidence,
        "some": claim.some, "rules": [[r.quantity, r.op, r.threshold] for r in claim.rules],
        "gates": list(claim.gates),
        "alternatives": records if some is not None else records[""],
        "claim_details": sorted(details)}  # the test's own details (the rest decide adds)
    if any(r is None for a in records.values() for r in a.values()):
        measured_record = {}  # a statistic without a name: this verdict cannot be re-decided
    if isinstance(details.get("figure"), (Lines, Bars)):
        details["figure"] = as_record(details["figure"])
    e = estimates[head]
    v = Verdict(
        claim=claim.id, **_model_fields(stored), n=n, estimate=e.value,
        ci_low=None if e.low == e.high else e.low, ci_high=None if e.low == e.high else e.high,
        p=p, threshold=claim.threshold, outcome=outcome, details={**info, **details},
        variant=variant, replicate=claim.replicate, family=claim.family, test=test,
        protocol=claim.protocol, version=claim.version, sentence=claim.sentence,
        source=claim.source, error_rate=None if exact else (1 - claim.confidence) / 2,
        higher_is_better=sign > 0, measured=measured_record,
    )
    headline = alternatives[label][head]
    rows = getattr(headline, "rows", None)
    records = list(items)
    if records and rows is not None and rows.ndim == 1 and len(rows) == len(records):
        records = [{**it, "headline": float(x)} for it, x in zip(records, rows)]
    return v, records


def unjudged(claim: Claim, stored: Any, *reasons: str, variant: str = "", test: str = ""
             ) -> Verdict:
    """The "not judged" Verdict of `claim` on `stored`: a precondition is not met (the model
    did not learn the task or did not memorize), with the measured numbers as reasons."""
    return Verdict(claim=claim.id, **_model_fields(stored), n=0, estimate=None, ci_low=None,
                   ci_high=None, p=None, threshold=claim.threshold, outcome=NOT_JUDGED,
                   details={"reasons": "; ".join(reasons)}, variant=variant,
                   replicate=claim.replicate, family=claim.family, test=test,
                   protocol=claim.protocol, version=claim.version, sentence=claim.sentence,
                   source=claim.source)
