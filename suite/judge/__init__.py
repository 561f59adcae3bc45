"""Judging: claims and their rules, the measurements they are decided on, and verdicts.

What a claim author needs: `Claim`, `Rule` and the known-answer cases (`KnownCase`,
`known_pair`) of claim.py, the measurements in stats.py
(Share, ItemMean, Difference, ...), and the `judge` fixture (a `Judge`, session.py) that
decides, records and raises. gates.py holds the preconditions, replication.py the k-of-n rule
and Holm's correction, render.py the one text form of every verdict.
"""

from suite.judge.claim import (DOES_NOT_HOLD, HOLDS, INCONCLUSIVE, NOT_JUDGED, OUTCOMES, Claim,
                               DoesNotHold, Inconclusive, KnownCase, NotJudged, Rule, Verdict,
                               decide, known_pair)
from suite.judge.session import Judge

__all__ = ["Claim", "Rule", "KnownCase", "known_pair", "Verdict", "Judge", "decide", "NotJudged",
           "DoesNotHold",
           "Inconclusive", "HOLDS", "DOES_NOT_HOLD", "INCONCLUSIVE", "NOT_JUDGED", "OUTCOMES"]
