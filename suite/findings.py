"""Findings: claims measured not to hold on a model, written down with their numbers.

claims/findings.toml lists them; the pytest plugin marks each listed test xfail(strict=True), so
a run stays green while a claim keeps failing as measured and turns red if it starts to hold.
`memsuite findings DIR` drafts the entries for the failing verdicts of a run's results.jsonl
that are not listed yet, for a person to read and add: a finding is recorded only after the
claim ran with its pre-declared rule.
"""

from __future__ import annotations

import json
import re
from typing import Iterable, Sequence

from .claims import Verdict, _fmt


def reason(v: Verdict) -> str:
    """'measured <estimate> [<interval>], p=..., n=...; <details>; rule: <threshold>'."""
    ci = "" if v.ci_low is None else f" [{v.ci_low:.3f}, {v.ci_high:.3f}]"
    p = "" if v.p is None else f", p={v.p:.3g}"
    details = ", ".join(f"{k}={_fmt(x)}" for k, x in v.details.items())
    return (f"measured {_fmt(v.estimate)}{ci}{p}, n={v.n}" + (f"; {details}" if details else "")
            + f"; rule: {v.threshold}")


def split_test(test: str) -> tuple[str, str]:
    """'test_x[fda-tiny-s0-n0.05]' -> ('test_x', 'fda-tiny-s0-n0.05')."""
    found = re.fullmatch(r"([^\[]+)(?:\[(.*)\])?", test)
    if not found:
        raise ValueError(f"not a test name: {test!r}")
    return found.group(1), found.group(2) or ""


def draft(verdicts: Sequence[Verdict], recorded: Iterable[tuple[str, str]]) -> str:
    """TOML [[finding]] entries for failing verdicts whose test is not recorded yet."""
    known = set(recorded)
    out = []
    for v in verdicts:
        if v.verdict != "fail" or not v.test:
            continue
        test, test_id = split_test(v.test)
        if (test, test_id) in known:
            continue
        known.add((test, test_id))
        out.append("\n".join(["[[finding]]", f"claim = {json.dumps(v.claim)}",
                              f"test = {json.dumps(test)}", f"id = {json.dumps(test_id)}",
                              f"reason = {json.dumps(reason(v))}"]))
    return "\n\n".join(out) + ("\n" if out else "")
