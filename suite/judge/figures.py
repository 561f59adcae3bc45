"""Figures a claim declares for the report: typed records that travel with its verdict.

A claim test passes `figure=Lines(...)` or `figure=Bars(...)` to the judge; the record is kept in
the verdict's details (as plain JSON) and suite.run.report draws every figure it finds, one
panel per claim x variant x recipe with each seed's values. The report knows no claim by name:
the claim that owns the numbers says how they are drawn.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Lines:
    """Values over an ordered axis (residual sites, kept curvature mass), one line per series."""

    title: str
    x: tuple[str, ...]
    series: dict[str, list[float]]
    xlabel: str = ""
    ylabel: str = "share"
    kind: str = field(default="lines", init=False)


@dataclass(frozen=True)
class Bars:
    """An intervention's effect beside its control."""

    title: str
    effect: float
    control: float
    effect_label: str = "intervention"
    control_label: str = "control"
    kind: str = field(default="bars", init=False)


Figure = Lines | Bars


def as_record(figure: Figure) -> dict[str, Any]:
    """The figure as a JSON object (its `kind` says which type)."""
    record = asdict(figure)
    if "x" in record:
        record["x"] = list(record["x"])
    return record
