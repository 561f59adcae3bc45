"""Re-decide a finished run from its records, without any model: `memsuite rescore DIR`.

A results directory keeps, beside each verdict, what decided it (measurements.jsonl: the rule,
the confidence, the alternatives and every measurement's per-item values). `redecide` rebuilds
the claim's rule from that record, checks that it is the rule the verdict names (the same
protocol id), and runs the one decision function, suite.judge.claim.decide, on the rebuilt
measurements. So a lab can re-check a run months later, or see what a change to the statistics
code does to old verdicts, without training or loading a model. Verdicts whose record is empty
(not judged: no measurement; or a statistic without a name) are passed over and counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from suite.judge import render
from suite.judge.claim import Claim, Rule, Verdict, decide
from suite.judge.stats import from_record
from suite.validate.known import was_measured

@dataclass(frozen=True)
class Rescored:
    recorded: Verdict
    now: Verdict | None  # None: nothing to re-decide (see `reason`)
    reason: str = ""

    @property
    def same(self) -> bool:
        """The re-decided verdict says what the recorded one said (outcome, estimate, interval
        and p, to the precision the report shows)."""
        if self.now is None:
            return True
        a, b = self.recorded, self.now
        return a.outcome == b.outcome and all(
            render.fmt(x) == render.fmt(y) for x, y in
            ((a.estimate, b.estimate), (a.ci_low, b.ci_low), (a.ci_high, b.ci_high), (a.p, b.p)))

    @property
    def line(self) -> str:
        v = self.recorded
        head = f"{v.name} on {v.recipe} seed {v.seed} noise {v.noise:g}: "
        if self.now is None:
            return head + f"not re-decided ({self.reason})"
        if self.same:
            return head + f"same: {render.said(self.now)}"
        return head + f"CHANGED: recorded {render.said(v)}, now {render.said(self.now)}"


def _model(v: Verdict) -> Any:
    """What decide reads of a model, from the verdict's own fields."""
    return SimpleNamespace(task_spec=SimpleNamespace(task=v.task, seed=v.seed, noise=v.noise),
                           name=v.recipe, noise=v.noise, key=v.model_key, arch=v.arch,
                           recipe=SimpleNamespace(scale=v.scale))


def redecide(v: Verdict) -> Rescored:
    record = v.measured
    if not record:
        why = ("not measured" if not was_measured(v) else "not judged" if not v.judged
               else "no measurement record")
        return Rescored(v, None, why)
    claim = Claim(id=v.claim, source=v.source, sentence=v.sentence,
                  statistic=record["statistic"],
                  rules=tuple(Rule(q, op, t) for q, op, t in record["rules"]),
                  threshold_source="", unit=record["unit"], confidence=record["confidence"],
                  some=record["some"], version=v.version, family=v.family,
                  replicate=v.replicate, gates=tuple(record.get("gates", ())))
    # a record written before the gates entered the protocol has no "gates" and names the older hash
    named = claim.protocol if "gates" in record else claim.protocol_before_gates
    if v.protocol and named != v.protocol:
        raise ValueError(f"{v.name} on {v.recipe}: its measurement record gives protocol "
                         f"{named}, the verdict says {v.protocol}")
    built = record["alternatives"]
    measures: dict[str, Any]
    if claim.some:
        measures = {"some": {label: {q: from_record(r) for q, r in alt.items()}
                             for label, alt in built.items()}}
    else:
        measures = {"measured": {q: from_record(r) for q, r in built.items()}}
    own = {k: x for k, x in v.details.items() if k in record["claim_details"] + list(KNOWN)}
    now, _ = decide(claim, _model(v), n=v.n, variant=v.variant, test=v.test, **measures, **own)
    return Rescored(v, now)


# what marks a known answer (suite.validate.known.verdict_of): carried to its re-decided verdict
KNOWN = ("planted", "reference", "rule_check", "planted_fails")


def rescore(directory: Path) -> list[Rescored]:
    """Every verdict of a results directory, re-decided from its measurement record, and bound
    to the validation its re-decided known answers show (suite.validate.known.bind)."""
    from suite.run.results import read_measured
    from suite.validate.known import bind, is_known_answer, table_of

    done = [redecide(v) for v in read_measured(directory)]
    table = table_of([r.now or r.recorded for r in done if is_known_answer(r.recorded)])

    def bound(r: Rescored) -> Rescored:
        was = r.recorded.details
        if r.now is None or was.get("validation") not in ("validated", "not validated"):
            return r  # a known answer, or a verdict the run did not bind (no cases ran)
        no_case = "no known-answer case" in str(was.get("reasons", ""))
        return Rescored(r.recorded, bind(r.now, table, lambda c, t: not no_case), r.reason)
    return [bound(r) for r in done]
