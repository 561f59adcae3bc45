"""The Judge: `decide` bound to one test of one run, with the gates that come before it.

A claim test receives a Judge from the pytest plugin's `judge` fixture and calls it with its
measurements. The Judge decides (suite.judge.claim.decide), hands the Verdict and its item
records to the run's recorder, then returns the Verdict when the claim holds and raises
DoesNotHold or Inconclusive (carrying the Verdict) otherwise. `require` checks the claim's
preconditions first (suite.judge.gates) and raises NotJudged, also recorded, when one is not
met. Nothing here is global: a Judge made without a recorder (a unit test) records nowhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping, NoReturn, Sequence

from suite.judge import gates
from suite.judge.claim import (DOES_NOT_HOLD, INCONCLUSIVE, Claim, DoesNotHold, Inconclusive,
                               NotJudged, Verdict, decide, unjudged)
from suite.judge.stats import Measure

Recorder = Callable[[Verdict, Sequence[dict[str, Any]]], None]
MIN_MEMORIZED = 20  # a priori: fewer memorized items make every per-item statistic too coarse


def _nowhere(verdict: Verdict, items: Sequence[dict[str, Any]]) -> None:
    return None


@dataclass(frozen=True)
class Judge:
    """Decides claims for one test (`test`: "test_x[fda-tiny-s0-n0.05]") and records each
    Verdict with `record`."""

    test: str = ""
    record: Recorder = _nowhere
    gates: bool = True  # False only for a known answer's rule check (suite.validate.known): a
    # written curve or sweep, or a model read only for the order its rule reads, which no model
    # precondition is about

    def __call__(self, claim: Claim, stored: Any, measured: Mapping[str, Measure] | None = None,
                 *, some: Mapping[str, Mapping[str, Measure]] | None = None, n: int,
                 items: Sequence[dict[str, Any]] = (), variant: str = "", **details: Any
                 ) -> Verdict:
        """Decide `claim` on `stored` (see suite.judge.claim.decide), record the Verdict and
        return it if the claim holds; raise DoesNotHold or Inconclusive if not. A model that
        misses one of the claim's gates is not judged (NotJudged), whatever was measured."""
        self.require(claim, stored, variant=variant)
        verdict, records = decide(claim, stored, measured, some=some, n=n, items=items,
                                  variant=variant, test=self.test, **details)
        self.record(verdict, records)
        if verdict.outcome == DOES_NOT_HOLD:
            raise DoesNotHold(verdict)
        if verdict.outcome == INCONCLUSIVE:
            raise Inconclusive(verdict)
        return verdict

    def not_judged(self, claim: Claim, stored: Any, *reasons: str, variant: str = "") -> NoReturn:
        """Record that `claim` cannot be judged on `stored` (a precondition is not met), with
        the measured numbers, and raise NotJudged: never a pass, never a claim failure."""
        verdict = unjudged(claim, stored, *reasons, variant=variant, test=self.test)
        self.record(verdict, ())
        raise NotJudged(verdict)

    def require(self, claim: Claim, stored: Any, variant: str = "") -> None:
        """NotJudged (recorded, with the measured numbers) unless `stored` meets every gate the
        claim declares (Claim.gates, named in suite.judge.gates.GATES). A test calls it before
        it measures, so that a model that misses a gate costs nothing; deciding calls it again,
        so no verdict is made past a missed gate. variant: the claim's parametrization."""
        if not self.gates:
            return
        missed = gates.unmet(stored, *claim.gates)
        if missed:
            self.not_judged(claim, stored, *[g.message for g in missed], variant=variant)

    def require_memorized(self, claim: Claim, stored: Any, variant: str = "") -> tuple[Any, list]:
        """The final model and its memorized items (noisy items it recalls); fewer than
        MIN_MEMORIZED is an unmet precondition (NotJudged, with the count)."""
        from suite.measure.itemsets import memorized

        final = stored.model()
        items = memorized(final, stored.data)
        if len(items) < MIN_MEMORIZED:
            self.not_judged(claim, stored, f"only {len(items)} memorized items (need >= "
                            f"{MIN_MEMORIZED})", variant=variant)
        return final, items
