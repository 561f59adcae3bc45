"""Claims and verdicts: the record of what a test asserts and what it measured.

A `Claim` is a paper's sentence made precise: the statistic, the threshold and where the
threshold comes from. A `Verdict` is one judgment of a claim on one model (task, recipe, seed,
noise): the estimate with its interval, p where there is one, and pass / fail / precondition.
`judge` builds the Verdict, hands it to the recorders (so a failing assertion still leaves its
numbers in the report) and returns it; the test then asserts `verdict.passed` with
`verdict.message` as the assertion message. `precondition` records a Verdict of kind
"precondition" (the model cannot be judged) with the gates' measured numbers.

Report schema (--report DIR):
- results.jsonl: one Verdict per line, the fields of `Verdict` below (details holds the
  claim-specific numbers, e.g. the step at which a checkpoint was taken).
- items.jsonl: per-item outcomes, one object per item: {"claim", "model_key", "recipe", "seed",
  "noise", "item", ...} with the claim's per-item fields (e.g. "prompt", "clean_hit"), so every
  statistic can be recomputed without running a model.
"""

from __future__ import annotations

import json
import math
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Callable, Sequence

VERDICTS = ("pass", "fail", "precondition")


@dataclass(frozen=True)
class Claim:
    id: str  # "rr.generalize_first"
    source: str  # paper and figure / section
    sentence: str  # the claim as the paper says it
    statistic: str  # what is measured
    threshold: str  # the decision rule, e.g. "Wilson 95% lower bound >= 0.5"
    threshold_source: str  # a paper's number, or "a priori: <reason>"
    family: str = ""  # claims corrected together for multiple comparisons
    replicate: str = "majority"  # across seeds: "majority" (k > n/2) or "all" (every seed)

    def __post_init__(self) -> None:
        if self.replicate not in ("majority", "all"):
            raise ValueError(f"{self.id}: replicate must be 'majority' or 'all'")
        known = CLAIMS.get(self.id)
        if known is not None and known != self:
            raise ValueError(f"claim id {self.id!r} is declared twice with different content")
        CLAIMS[self.id] = self


CLAIMS: dict[str, Claim] = {}  # every declared claim by id (filled as claim modules import)


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
    estimate: float
    ci_low: float | None
    ci_high: float | None
    p: float | None
    threshold: str
    verdict: str
    details: dict[str, Any] = field(default_factory=dict)
    model_key: str = ""
    variant: str = ""  # a claim's parametrization beyond the model, e.g. the decoder
    replicate: str = "majority"
    family: str = ""
    test: str = ""  # the test function and its parameter id, "test_x[fda-tiny-s0-n0.05]"

    @property
    def passed(self) -> bool:
        return self.verdict == "pass"

    @property
    def message(self) -> str:
        ci = "" if self.ci_low is None else f" [{self.ci_low:.3f}, {self.ci_high:.3f}]"
        p = "" if self.p is None else f", p={self.p:.3g}"
        extra = "".join(f", {k}={_fmt(v)}" for k, v in self.details.items())
        return (f"{self.claim} on {self.recipe} seed {self.seed} noise {self.noise:g}: "
                f"{self.verdict.upper()}: estimate {_fmt(self.estimate)}{ci}{p} (n={self.n}); "
                f"rule: {self.threshold}{extra}")

    def to_json(self) -> str:
        return json.dumps(asdict(self), default=_jsonable)

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
            raise ValueError(f"{path}:{number}: not a verdict record ({err})") from None
    return out


def _fmt(v: Any) -> str:
    if isinstance(v, float) and not math.isnan(v):
        return f"{v:.3f}"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_fmt(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k}: {_fmt(x)}" for k, x in v.items()) + "}"
    return str(v)


def _jsonable(v: Any) -> Any:
    return v if not hasattr(v, "__dict__") else vars(v)


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


def judge(claim: Claim, model: Any, *, passed: bool, estimate: float, n: int,
          ci: tuple[float, float] | None = None, p: float | None = None,
          verdict: str | None = None, items: Sequence[dict[str, Any]] = (),
          variant: str = "", **details: Any) -> Verdict:
    """Record and return the Verdict of `claim` on `model` (a StoredModel).

    items: per-item outcomes for items.jsonl (each a dict of JSON-able values).
    """
    spec = model.task_spec
    v = Verdict(
        claim=claim.id, task=spec.task, recipe=model.name, seed=spec.seed, noise=spec.noise,
        n=n, estimate=estimate, ci_low=None if ci is None else ci[0],
        ci_high=None if ci is None else ci[1], p=p, threshold=claim.threshold,
        verdict=verdict or ("pass" if passed else "fail"), details=details,
        model_key=model.key, variant=variant, replicate=claim.replicate,
        family=claim.family, test=_current_test,
    )
    if v.verdict not in VERDICTS:
        raise ValueError(f"verdict must be one of {VERDICTS}, got {v.verdict!r}")
    for record in list(_recorders):
        record(v, items)
    return v


def precondition(claim: Claim, model: Any, reasons: Sequence[str]) -> Verdict:
    """Record that `claim` could not be judged on `model`, with the measured numbers."""
    return judge(claim, model, passed=False, estimate=float("nan"), n=0,
                 verdict="precondition", reasons="; ".join(reasons))


@dataclass(frozen=True)
class ReplicationVerdict:
    """A claim judged across seeds by the k-of-n rule (suite.stats.k_of_n)."""

    claim: str
    recipe: str
    noise: float
    variant: str
    seeds: list[int]
    passed: int
    k: int
    holds: bool
    false_positive_rate: float
    preconditions_unmet: int

    @property
    def message(self) -> str:
        name = self.claim + (f"[{self.variant}]" if self.variant else "")
        status = "REPLICATES" if self.holds else "DOES NOT REPLICATE"
        extra = (f"; {self.preconditions_unmet} seed(s) not judged (precondition)"
                 if self.preconditions_unmet else "")
        return (f"{name} on {self.recipe} noise {self.noise:g}: {status}: {self.passed} of "
                f"{len(self.seeds) - self.preconditions_unmet} seeds pass, rule >= {self.k} "
                f"(false-positive rate {self.false_positive_rate:.2g} at alpha 0.05){extra}")

    def to_json(self) -> str:
        return json.dumps(asdict(self))


def replicate(verdicts: Sequence[Verdict]) -> list[ReplicationVerdict]:
    """Group verdicts by (claim, variant, recipe, noise) over seeds and apply the k-of-n rule
    (k = all seeds for claims stated 'in every seed', else a strict majority). Groups with one
    seed are left out; seeds whose precondition failed are not counted."""
    from .stats import k_of_n

    groups: dict[tuple, list[Verdict]] = {}
    for v in verdicts:
        groups.setdefault((v.claim, v.variant, v.recipe, v.noise), []).append(v)
    out = []
    for (claim, variant, recipe, noise), vs in groups.items():
        if len({v.seed for v in vs}) < 2:
            continue
        judged = [v for v in vs if v.verdict != "precondition"]
        if not judged:
            continue
        k = len(judged) if vs[0].replicate == "all" else None
        r = k_of_n([v.passed for v in judged], k=k)
        out.append(ReplicationVerdict(claim, recipe, noise, variant, sorted(v.seed for v in vs),
                                      r.passed, r.k, r.holds, r.false_positive_rate,
                                      len(vs) - len(judged)))
    return out


@dataclass(frozen=True)
class FamilyVerdict:
    """One claim's p-value corrected with Holm's method over its family on one model.

    Added after the per-claim rules were fixed (version 2 of the reporting, issue 4): the
    per-claim verdicts are unchanged; this is a second, stricter reading for claims whose rule
    carries a p-value, reported beside them. Claims whose rule is an interval bound have no p
    and are not part of the correction.
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
    passed: bool  # the claim's own rule
    holds_corrected: bool  # its own rule and p_holm <= alpha

    @property
    def message(self) -> str:
        name = self.claim + (f"[{self.variant}]" if self.variant else "")
        status = "holds" if self.holds_corrected else "does not hold"
        return (f"{name} on {self.recipe} seed {self.seed} noise {self.noise:g}: p={self.p:.3g}, "
                f"Holm over {self.family_size} in {self.family}: {self.p_holm:.3g} -> {status} "
                f"after correction (own rule: {'pass' if self.passed else 'fail'})")

    def to_json(self) -> str:
        return json.dumps(asdict(self))


def family_correct(verdicts: Sequence[Verdict], alpha: float = 0.05) -> list[FamilyVerdict]:
    """Holm-correct the p-values of every claim family on each model (verdicts with a p and a
    family; precondition verdicts are left out)."""
    from .stats import holm

    groups: dict[tuple[str, str], list[Verdict]] = {}
    for v in verdicts:
        family = v.family
        if family and v.p is not None and v.verdict != "precondition" and not math.isnan(v.p):
            groups.setdefault((family, v.model_key), []).append(v)
    out = []
    for (family, _), vs in sorted(groups.items()):
        adjusted = holm([v.p for v in vs])
        for v, p_adj in zip(vs, adjusted):
            out.append(FamilyVerdict(family, v.claim, v.variant, v.model_key, v.recipe, v.seed,
                                     v.noise, v.p, p_adj, len(vs), v.passed,
                                     v.passed and p_adj <= alpha))
    return out
