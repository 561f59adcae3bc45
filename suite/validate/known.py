"""Run a claim's own test function on a planted subject, read its verdict, and bind the claim's
verdicts to what it showed.

A claim test is `test_x(trained, judge, **params)`: it measures, then asks the judge to decide,
and the judge raises when the claim does not hold. `verdict_of` calls that same function with a
planted subject as `trained` and a judge that applies the claim's own gates, as on any model (a
plant must be a model that learned and memorized, issue 39; "not judged" is then a miss; a rule
check, which reads a written curve or sweep, waives them), and returns the verdict whatever the
outcome. The verdict is recorded like any other, with
`planted` ("true" or "false"), the reference recipe it was planted into, and whether the case is
only a rule check (a written curve or sweep, or a model chosen by the very reading its rule
makes) added to its details.

Validation is computed, never declared: a claim (and variant) is validated on a task when this
run's planted-true case holds and its planted-false case does not hold, its headline rule being
the one that fails (an instrument with no power is inconclusive there, and that is not a
rejection). Rule checks show that the rule reads its statistic the right way round; they are
not validation. `bind` applies the result to a verdict on a model under study: where the
instrument is not validated on the verdict's task, the verdict is "not judged", with the known
answers' numbers and what the instrument measured; where it is, a verdict on another recipe than
the one the plants went into says so ("validated on fda-tiny only").

A known answer is a pure function of the reference model it is planted into and of the code that
plants and judges it: `remembered` keeps it in the store (suite.remember), so a warm run replays
it instead of rebuilding the plant.
"""

from __future__ import annotations

import dataclasses
import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from suite.judge import render
from suite.judge.claim import (DOES_NOT_HOLD, HOLDS, NOT_JUDGED, DoesNotHold, Inconclusive,
                               NotJudged, Verdict)
from suite.judge.session import Judge
from suite import remember


@dataclass(frozen=True)
class KnownAnswer:
    """A claim's verdict on a subject where it holds (planted=True) or not (planted=False) by
    construction."""

    planted: bool
    verdict: Verdict
    items: tuple[dict[str, Any], ...] = field(default=(), compare=False, repr=False)

    @property
    def correct(self) -> bool:
        """Planted true must hold. Planted false must not hold, and for the reason it was built
        for: the rule its plant makes false (`planted_fails`, by default the headline, the
        claim's first rule) is one that fails, not only a control; inconclusive is a miss."""
        if self.planted:
            return self.verdict.outcome == HOLDS
        rules = self.verdict.details.get("rules") or {}
        target = self.verdict.details.get("planted_fails", "")
        decided = [o for r, o in rules.items() if not target or r.split()[0] == target]
        if not rules:  # an exact verdict without per-rule outcomes (a rule check's)
            return self.verdict.outcome == DOES_NOT_HOLD
        return (self.verdict.outcome == DOES_NOT_HOLD and bool(decided)
                and decided[0] == DOES_NOT_HOLD)

    @property
    def rule_check(self) -> bool:
        """A case that checks the rule, not the instrument: a written curve or sweep, or a model
        chosen by the reading the rule makes."""
        return bool(self.verdict.details.get("rule_check"))

    @property
    def reference(self) -> str:
        """The recipe the plant went into ("fda-tiny"); "" for a rule check."""
        return str(self.verdict.details.get("reference", ""))

    @property
    def summary(self) -> str:
        v = self.verdict
        what = "planted true" if self.planted else "planted false"
        reasons = v.details.get("reasons")  # one string: the unmet gates, joined by "; "
        why = f" ({reasons})" if reasons else ""
        return f"{v.name} on {v.recipe}, {what}: {v.said}{why}"


def verdict_of(test: Callable[..., Any], subject: Any, judge: Judge, planted: bool,
               subject_arg: str = "trained", *, reference: str = "", rule_check: bool = False,
               fails: str = "", **params: Any) -> KnownAnswer:
    """Run claim test `test` on `subject` (passed as its `subject_arg` argument) with `judge`'s
    recorder. reference: the recipe the plant went into; rule_check: the case checks the rule,
    not the instrument (a written curve or sweep, or a model chosen by the reading its rule
    makes); fails: the quantity whose rule a planted-false subject is
    built to make false, where that is not the headline's. The claim's gates apply, except to a
    rule check (its subject is a written curve or sweep, or a model read only for its order)."""
    if not reference and not rule_check:
        raise ValueError("a known answer names the reference recipe its plant went into, or is "
                         "a rule check")
    verdicts: list[tuple[Verdict, tuple[dict[str, Any], ...]]] = []
    marks = {"planted": "true" if planted else "false", "reference": reference,
             "rule_check": rule_check, **({"planted_fails": fails} if fails else {})}

    def record(verdict: Verdict, items: Sequence[dict[str, Any]]) -> None:
        verdict = dataclasses.replace(verdict, details={**verdict.details, **marks})
        verdicts.append((verdict, tuple(items)))
        judge.record(verdict, items)

    try:
        test(**{subject_arg: subject}, judge=Judge(judge.test, record, gates=not rule_check),
             **params)
    except (DoesNotHold, Inconclusive, NotJudged):
        pass
    if len(verdicts) != 1:
        raise RuntimeError(f"{test.__name__} recorded {len(verdicts)} verdicts on {subject.name}; "
                           "a known-answer case needs exactly one")
    return KnownAnswer(planted, *verdicts[0])


def remembered(case: Mapping[str, Any], code: Sequence[Path], judge: Judge,
               answer: Callable[[], KnownAnswer], refresh: bool = False,
               replay: bool = True) -> KnownAnswer:
    """`answer()`, or the known answer recorded for `case` (what identifies it: the test case,
    the reference model's store key and its content digest) under the same suite and `code`
    (the claim modules' folder, the plugin's, the root conftest), which is recorded with
    `judge` as if it had been computed. refresh: compute it again and record it anew. replay
    False (--no-replay): compute it and record nothing."""
    record = remember.key(case, tuple(code))
    saved = None if refresh or not replay else remember.load(record)
    if saved is not None:
        try:
            known = KnownAnswer(saved["planted"], Verdict.from_dict(saved["verdict"]),
                                tuple(saved["items"]))
        except (ValueError, KeyError, TypeError) as err:
            warnings.warn(f"unreadable known answer {record} recomputed: {err}", stacklevel=2)
        else:
            judge.record(known.verdict, known.items)
            return known
    known = answer()
    if not replay:
        return known
    remember.save(record, {"case": dict(case), "planted": known.planted,
                           "verdict": json.loads(known.verdict.to_json()),
                           "items": list(known.items)})
    return known


def reference_recipe(task: str, name: str = "") -> Any:
    """The model a task's known-answer cases plant into: its tiny GPT-2 recipe (or the recipe
    `name`, a KnownCase's reference), seed 0, at the recipe's own noise rate."""
    from suite.train import recipes

    recipe = recipes.load(name or f"{task}-tiny")
    if recipe.task_name != task:
        raise ValueError(f"known-answer reference {recipe.name} is a {recipe.task_name} recipe, "
                         f"not {task}")
    return recipe.with_seed_and_noise(0, None)


def is_known_answer(verdict: Verdict) -> bool:
    """A verdict on a planted subject (not on a model under study)."""
    return "planted" in verdict.details


def split(verdicts: Sequence[Verdict]) -> tuple[list[Verdict], list[KnownAnswer]]:
    """Verdicts on models under study, and known answers."""
    models = [v for v in verdicts if not is_known_answer(v)]
    known = [KnownAnswer(v.details["planted"] == "true", v) for v in verdicts
             if is_known_answer(v)]
    return models, known


@dataclass(frozen=True)
class Validation:
    """A claim (and variant) on one task: its planted-true and planted-false answers."""

    claim: str
    variant: str
    task: str
    true: tuple[KnownAnswer, ...]
    false: tuple[KnownAnswer, ...]

    @staticmethod
    def said(answers: Sequence[KnownAnswer], yes: str, no: str) -> str:
        if not answers:
            return "no case run"
        return ", ".join(f"{yes if k.correct else 'NO VERDICT' if not k.verdict.judged else no}"
                         f" ({k.verdict.said}{', rule check' if k.rule_check else ''})"
                         for k in answers)

    @property
    def name(self) -> str:
        return render.name(self.claim, self.variant)

    @property
    def line(self) -> str:
        status = "validated" if self.validated else "NOT VALIDATED"
        return (f"{self.name} [{self.task}] {status}: "
                f"{self.said(self.true, 'detects planted effect', 'MISSES planted effect')}; "
                f"{self.said(self.false, 'rejects planted absence', 'ACCEPTS planted absence')}")

    @property
    def validated(self) -> bool:
        """Both cases run, both right, and at least one of each on a planted model (not only
        rule checks)."""
        answers = self.true + self.false
        return (all(k.correct for k in answers)
                and any(not k.rule_check for k in self.true)
                and any(not k.rule_check for k in self.false))

    @property
    def why_not(self) -> str:
        """Why it is not validated, with the known answers' numbers."""
        wrong = [k for k in self.true + self.false if not k.correct]
        if wrong:
            return "; ".join(f"planted {'true' if k.planted else 'false'} "
                             f"{k.verdict.said}" for k in wrong)
        absent = [w for w, ks in (("true", self.true), ("false", self.false)) if not ks]
        if absent:
            return (f"its planted-{' and planted-'.join(absent)} case gave no answer in this run "
                    "(it errored or was not selected)")
        return ("its cases are rule checks only (written curves or sweeps, or a model chosen by "
                "the reading the rule makes), no case that validates the instrument")

    @property
    def reference(self) -> str:
        """The recipe(s) the plants went into."""
        return ", ".join(sorted({k.reference for k in self.true + self.false if k.reference}))


def validations(known: Sequence[KnownAnswer]) -> list[Validation]:
    """One row per claim (with variant) and task, sorted."""
    rows: dict[tuple[str, str, str], list[KnownAnswer]] = {}
    for k in known:
        rows.setdefault((k.verdict.claim, k.verdict.variant, k.verdict.task), []).append(k)
    return [Validation(claim, variant, task, tuple(k for k in r if k.planted),
                       tuple(k for k in r if not k.planted))
            for (claim, variant, task), r in sorted(rows.items())]


NOT_VALIDATED = "instrument not validated"


def _validation(claim: str, variant: str, task: str,
                table: Mapping[tuple[str, str, str], Validation],
                has_cases: Callable[[str, str], bool | None]) -> tuple[str, str]:
    """(status, what) for a verdict of `claim` (and `variant`) on `task`, as `bind` explains:
    ("no known answers", ""), ("not run in this session", ""), ("validated", the recipe the
    plants went into) or ("not validated", why, with the known answers' numbers)."""
    row = table.get((claim, variant, task)) or table.get((claim, "", task))
    cases = has_cases(claim, task)
    if row is None and cases is None:
        return "no known answers", ""
    if row is None and not cases:
        return "not validated", f"no known-answer case on {task}"
    if row is None:
        return "not run in this session", ""
    if row.validated:
        return "validated", row.reference
    return "not validated", row.why_not


def bind(verdict: Verdict, table: Mapping[tuple[str, str, str], Validation],
         has_cases: Callable[[str, str], bool | None]) -> Verdict:
    """`verdict` (on a model under study) as its instrument's validation on its task allows.

    table: this run's validations by (claim, variant, task); a verdict with a variant no case
    names is bound by the claim's cases without a variant. has_cases(claim, task): whether any
    known-answer case of the claim on that task exists in the suite; None for a claim the suite
    does not hold (a test outside claims/ bound to no claim: it stands, tagged "no known
    answers", and is no finding). Not validated, or no case on a model: "not judged", with the
    known answers' numbers and what the instrument measured. Validated: tagged with the recipe
    the plants went into. Cases that exist but were not run here (a --model-dir run, another
    xdist worker): the verdict stands, tagged "not run"."""
    if is_known_answer(verdict) or verdict.details.get("validation") in (
            "validated", "not validated", "no known answers"):
        return verdict
    if not verdict.judged:  # a precondition not met: nothing was measured to validate
        return verdict
    status, what = _validation(verdict.claim, verdict.variant, verdict.task, table, has_cases)
    if status == "validated":
        return dataclasses.replace(verdict, details={**verdict.details, "validation": status,
                                                     "validated_on": what})
    if status != "not validated":
        return dataclasses.replace(verdict, details={**verdict.details, "validation": status})
    reason = f"{NOT_VALIDATED} on {verdict.task}: {what}; it measured {verdict.said}"
    return dataclasses.replace(
        verdict, outcome=NOT_JUDGED, estimate=None, ci_low=None, ci_high=None, p=None,
        details={**verdict.details, "validation": "not validated", "reasons": reason,
                 "unvalidated": {"outcome": verdict.outcome, "estimate": verdict.estimate,
                                 "ci": [verdict.ci_low, verdict.ci_high]}})


NOT_MEASURED = "not_measured"  # details key of a verdict decided "not validated" before measuring


def was_measured(verdict: Verdict) -> bool:
    """False for a verdict decided before its claim was measured (`not_measured`)."""
    return not verdict.details.get(NOT_MEASURED)


def unvalidated_before_measuring(claim: str, task: str,
                                 table: Mapping[tuple[str, str, str], Validation],
                                 has_cases: Callable[[str, str], bool | None]) -> str | None:
    """Why `bind` will make every verdict of `claim` on `task` "not judged" (its instrument is
    not validated there), known before the claim is measured; None where a verdict could stand
    or be validated. Decided only where the answer does not depend on the verdict: where the
    claim's cases on `task` are not split by variant (a variant is known once measured)."""
    if any(c == claim and t == task and v for c, v, t in table):
        return None
    status, why = _validation(claim, "", task, table, has_cases)
    return why if status == "not validated" else None


def not_measured(verdict: Verdict, why: str) -> Verdict:
    """`verdict` (a "not judged" stand-in for a model under study) as decided before measuring:
    its instrument is not validated on its task (`why`), so the claim was not measured and its
    model not trained for it. Never recorded over a measured seed in the ledger."""
    reason = (f"{NOT_VALIDATED} on {verdict.task}: {why}; not measured (the model is trained "
              "for validated instruments only; --measure-unvalidated measures it)")
    return dataclasses.replace(verdict, details={**verdict.details, "validation": "not validated",
                                                 "reasons": reason, NOT_MEASURED: True})


def table_of(verdicts: Sequence[Verdict]) -> dict[tuple[str, str, str], Validation]:
    """This run's validations by (claim, variant, task)."""
    _, known = split(verdicts)
    return {(v.claim, v.variant, v.task): v for v in validations(known)}
