"""Regression against a baseline run: which claims that held no longer hold, and which effects
moved outside the interval the baseline measured.

A verdict is matched to the baseline's by (claim, variant, task, recipe, seed, noise). When a
new model is judged (--model-dir, a new recipe) its recipe name differs from the baseline's;
then a claim is matched on (claim, variant, task) alone, provided the baseline holds exactly
one verdict for it, so "this checkpoint against last release's model" compares like with like.

Changes that fail a run (regressions):
- "no longer holds": the baseline passed, this run fails;
- "no longer judged": the baseline judged the claim, this run's model misses its precondition;
- "effect moved": both judged, and this run's estimate lies outside the baseline's interval.
Reported but not failing: "now holds" (fail -> pass) and claims absent from either run.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from .claims import Verdict, read_verdicts

REGRESSIONS = ("no longer holds", "no longer judged", "effect moved")


@dataclass(frozen=True)
class Change:
    kind: str  # one of REGRESSIONS, "now holds", "not in baseline", "not in this run"
    claim: str  # claim id with [variant] where there is one
    model: str  # this run's recipe / model (the baseline's when absent here)
    before: str  # the baseline's verdict and estimate, readable
    after: str  # this run's

    @property
    def regression(self) -> bool:
        return self.kind in REGRESSIONS

    @property
    def line(self) -> str:
        mark = "-" if self.regression else "+" if self.kind == "now holds" else " "
        return f"{mark} {self.claim} on {self.model}: {self.kind}: {self.before} -> {self.after}"


def _key(v: Verdict) -> tuple:
    return (v.claim, v.variant, v.task, v.recipe, v.seed, v.noise)


def _loose(v: Verdict) -> tuple:
    return (v.claim, v.variant, v.task)


def _says(v: Verdict) -> str:
    if v.verdict == "precondition":
        return "precondition not met"
    interval = "" if v.ci_low is None else f" [{v.ci_low:.3f}, {v.ci_high:.3f}]"
    return f"{v.verdict} {v.estimate:.3f}{interval}"


def load(path: Path) -> list[Verdict]:
    """A baseline: a report directory (its results.jsonl) or a results.jsonl file."""
    path = Path(path)
    return read_verdicts(path / "results.jsonl" if path.is_dir() else path)


def compare(current: Sequence[Verdict], baseline: Sequence[Verdict]) -> list[Change]:
    exact = {_key(b): b for b in baseline}
    loose: dict[tuple, list[Verdict]] = {}
    for b in baseline:
        loose.setdefault(_loose(b), []).append(b)
    used: set[tuple] = set()
    changes = []
    for v in current:
        b = exact.get(_key(v))
        if b is None and len(loose.get(_loose(v), [])) == 1:
            b = loose[_loose(v)][0]
        name = v.claim + (f"[{v.variant}]" if v.variant else "")
        model = f"{v.recipe} seed {v.seed} noise {v.noise:g}"
        if b is None:
            changes.append(Change("not in baseline", name, model, "-", _says(v)))
            continue
        used.add(_key(b))
        kind = None
        if b.verdict == "pass" and v.verdict == "fail":
            kind = "no longer holds"
        elif b.verdict != "precondition" and v.verdict == "precondition":
            kind = "no longer judged"
        elif b.verdict == "fail" and v.verdict == "pass":
            kind = "now holds"
        elif (b.verdict != "precondition" and v.verdict != "precondition"
              and b.ci_low is not None and not b.ci_low <= v.estimate <= b.ci_high):
            kind = "effect moved"
        if kind:
            changes.append(Change(kind, name, model, _says(b), _says(v)))
    for b in baseline:
        if _key(b) not in used:
            name = b.claim + (f"[{b.variant}]" if b.variant else "")
            changes.append(Change("not in this run", name,
                                  f"{b.recipe} seed {b.seed} noise {b.noise:g}", _says(b), "-"))
    return changes
