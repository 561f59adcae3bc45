"""Run a claim's own test function on a planted subject and read its verdict.

A claim test is `test_x(trained, judge, **params)`: it measures, then asks the judge to decide,
and the judge raises when the claim does not hold. `verdict_of` calls that same function with a
planted subject as `trained` and a judge whose model gates are waived (the subject's answer is
known by construction; the gates are about real models), and returns the verdict whatever the
outcome. The verdict is recorded like any other, with `planted` ("true" or "false") added to its
details so that results and the report can show the instrument's validation beside its findings.

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

from suite.judge.claim import (DOES_NOT_HOLD, HOLDS, INCONCLUSIVE, DoesNotHold, Inconclusive,
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
        """Planted true must hold; planted false must not (does not hold, or inconclusive where
        the planted absence sits exactly at a strict threshold such as '> 0')."""
        if self.planted:
            return self.verdict.outcome == HOLDS
        return self.verdict.outcome in (DOES_NOT_HOLD, INCONCLUSIVE)

    @property
    def summary(self) -> str:
        v = self.verdict
        what = "planted true" if self.planted else "planted false"
        reasons = v.details.get("reasons")
        why = f" ({'; '.join(reasons)})" if reasons else ""
        return f"{v.name} on {v.recipe}, {what}: {v.said}{why}"


def verdict_of(test: Callable[..., Any], subject: Any, judge: Judge, planted: bool,
               subject_arg: str = "trained", **params: Any) -> KnownAnswer:
    """Run claim test `test` on `subject` (passed as its `subject_arg` argument) with `judge`'s
    recorder, gates waived."""
    verdicts: list[tuple[Verdict, tuple[dict[str, Any], ...]]] = []

    def record(verdict: Verdict, items: Sequence[dict[str, Any]]) -> None:
        verdict = dataclasses.replace(verdict, details={**verdict.details,
                                                        "planted": "true" if planted else "false"})
        verdicts.append((verdict, tuple(items)))
        judge.record(verdict, items)

    try:
        test(**{subject_arg: subject}, judge=Judge(judge.test, record, gates=False), **params)
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
    task: str
    true: tuple[KnownAnswer, ...]
    false: tuple[KnownAnswer, ...]

    @staticmethod
    def said(answers: Sequence[KnownAnswer], yes: str, no: str) -> str:
        if not answers:
            return "no case run"
        return ", ".join(f"{yes if k.correct else no} ({k.verdict.said})" for k in answers)

    @property
    def line(self) -> str:
        return (f"{self.claim} [{self.task}]: "
                f"{self.said(self.true, 'detects planted effect', 'MISSES planted effect')}; "
                f"{self.said(self.false, 'rejects planted absence', 'ACCEPTS planted absence')}")

    @property
    def validated(self) -> bool:
        return bool(self.true and self.false) and all(k.correct for k in self.true + self.false)


def validations(known: Sequence[KnownAnswer]) -> list[Validation]:
    """One row per claim (with variant) and task, sorted."""
    rows: dict[tuple[str, str], list[KnownAnswer]] = {}
    for k in known:
        rows.setdefault((k.verdict.name, k.verdict.task), []).append(k)
    return [Validation(name, task, tuple(k for k in r if k.planted),
                       tuple(k for k in r if not k.planted))
            for (name, task), r in sorted(rows.items())]
