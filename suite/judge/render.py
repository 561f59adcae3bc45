"""The one text renderer: how a verdict, a replication and a family correction read as text.

The terminal summary, the failure and skip messages, the report's tables, findings and the
baseline diff all take their words and number formats from here, so a verdict reads the same
wherever it appears.
"""

from __future__ import annotations

import re

import math
from typing import Any

from suite.train.recipes import ARCHS, SCALES


def fmt(v: Any) -> str:
    """A number with three decimals; lists and dicts of numbers element by element."""
    if isinstance(v, float) and math.isfinite(v):
        return f"{v:.3f}"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(fmt(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k}: {fmt(x)}" for k, x in v.items()) + "}"
    return str(v)


def slug(*parts: str) -> str:
    """A file-name stem from `parts`: lower-case letters, digits, '.', '-' and '_' only, any
    other run of characters a '-', parts joined by '_' ("figure", "rr.x_y", "100 relabelled,
    late" -> figure_rr.x_y_100-relabelled-late), so scripts can glob report files."""
    clean = ["-".join(re.findall(r"[a-z0-9._-]+", p.lower())) for p in parts if p]
    return "_".join(c for c in clean if c)


def name(claim: str, variant: str) -> str:
    """claim id with [variant] where there is one."""
    return claim + (f"[{variant}]" if variant else "")


def interval(low: float | None, high: float | None) -> str:
    return "" if low is None else f"[{fmt(low)}, {fmt(high)}]"


def said(v: Any) -> str:
    """A Verdict's outcome and headline estimate, short: 'holds 0.720 [0.680, 0.760]'."""
    if not v.judged or v.estimate is None:
        return v.outcome
    ci = interval(v.ci_low, v.ci_high)
    return f"{v.outcome} {fmt(v.estimate)}" + (f" {ci}" if ci else "")


def _head(v: Any) -> str:
    old = f" (superseded by {v.superseded_by})" if getattr(v, "superseded_by", "") else ""
    return f"{v.name}{old} on {v.recipe} seed {v.seed} noise {v.noise:g}: "


def _validated(v: Any) -> str:
    """Where the instrument was validated, when that is not the verdict's own recipe."""
    where = v.details.get("validated_on", "")
    if where and v.recipe not in where.split(", "):
        return f" (validated on {where} only)"
    if v.details.get("validation") == "not run in this session":
        return " (its known answers were not run here)"
    if v.details.get("validation") == "no known answers":
        return " (no known answers: not validated, not a finding)"
    return ""


def line(v: Any) -> str:
    """A Verdict as a short line: the model, the outcome and its headline estimate, n; for a
    verdict not judged, why."""
    if not v.judged:
        return _head(v) + f"NOT JUDGED: {v.details.get('reasons', '')}"
    return _head(v) + f"{v.outcome.upper()}: {said(v)} (n={v.n}){_validated(v)}"


def message(v: Any) -> str:
    """A Verdict as one readable line: the model, the outcome with its numbers, and the rule."""
    head = _head(v)
    if not v.judged:
        why = ("instrument not validated" if v.details.get("validation") == "not validated"
               else "precondition not met")
        return head + f"NOT JUDGED ({why}): {v.details.get('reasons', '')}"
    p = "" if v.p is None else f", p={v.p:.3g}"
    extra = "".join(f", {k}={fmt(x)}" for k, x in v.details.items() if k != "figure")
    return (head + f"{v.outcome.upper()}: {said(v)}{p} (n={v.n}){_validated(v)}; "
            f"rule: {v.threshold}{extra}")


def replication(r: Any) -> str:
    """A ReplicationVerdict as one line."""
    status = "REPLICATES" if r.replicates else "DOES NOT REPLICATE"
    if r.judged < 2:
        status = "CANNOT REPLICATE (fewer than 2 seeds judged)"
    rate = ("exact rule, no sampling error rate" if r.error_rate is None else
            f"error rate {r.error_rate:.2g} if the claim is false at its threshold")
    return (f"{name(r.claim, r.variant)} on {r.recipe} noise {r.noise:g}: {status}: holds in "
            f"{r.holds_in} of {r.judged} judged seeds (does not hold {r.does_not_hold_in}, "
            f"inconclusive {r.inconclusive_in}; not judged {r.not_judged_in}); rule >= "
            f"{r.k} ({rate})")


def family(f: Any) -> str:
    """A FamilyVerdict as one line."""
    status = "holds" if f.holds_corrected else "does not hold"
    return (f"{name(f.claim, f.variant)} on {f.recipe} seed {f.seed} noise {f.noise:g}: "
            f"p={f.p:.3g}, Holm over {f.family_size} in {f.family}: {f.p_holm:.3g} -> {status} "
            f"after correction (own rule: {'holds' if f.holds else 'does not hold'})")


def seeds_said(verdicts: Any) -> str:
    """'does not hold in 2 of 3 judged seeds: seed 0 n0.05: does not hold 0.127 [...]; ...'."""
    vs = sorted(verdicts, key=lambda v: (v.noise, v.seed))
    judged = [v for v in vs if v.judged]
    failing = sum(v.outcome == "does not hold" for v in judged)
    return (f"does not hold in {failing} of {len(judged)} judged seeds: " +
            "; ".join(f"seed {v.seed} n{v.noise:g}: {said(v)}" for v in vs))


def model_columns(verdicts: Any) -> tuple[list[str], Any]:
    """The kinds of model a run judged, as column names in ladder order, and v -> its column:
    the scale ("tiny", "small"), with the family beside it ("tiny llama") once a run has a
    family other than GPT-2. Models from elsewhere (no scale) have no column."""
    archs = {v.arch or "gpt2" for v in verdicts if v.scale}
    with_arch = archs != {"gpt2"}

    def column(v: Any) -> str:
        return f"{v.scale} {v.arch or 'gpt2'}" if with_arch else v.scale

    order = [f"{s} {a}" if with_arch else s for s in SCALES for a in ARCHS]
    present = {column(v) for v in verdicts if v.scale}
    return [c for c in dict.fromkeys(order) if c in present], column


def by_scale(verdicts: Any) -> tuple[list[str], list[list[str]]] | None:
    """The verdicts side by side across scales and model families: one row per claim x task x
    noise rate, one column per scale (tiny, small, paper; with the family when a run has more
    than GPT-2) holding each seed's outcome and estimate, so a reader sees whether an effect
    grows, stays or vanishes with depth, and whether it survives another architecture. None
    with fewer than two columns."""
    columns, column = model_columns(verdicts)
    if len(columns) < 2:
        return None
    cells: dict[tuple[str, str, str], dict[str, list[Any]]] = {}
    for v in verdicts:
        if v.scale:
            cells.setdefault((v.name, v.task, f"{v.noise:g}"), {}).setdefault(column(v), []).append(v)
    rows = [[claim, task, noise] + ["; ".join(f"s{v.seed}: {said(v)}" for v in
                                              sorted(by.get(c, []), key=lambda v: v.seed)) or "-"
                                    for c in columns]
            for (claim, task, noise), by in sorted(cells.items())]
    return ["claim", "task", "noise", *columns], rows
