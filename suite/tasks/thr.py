"""Two-hop relational reasoning (THR): k-hop at k = 2 (Reason to Rote; Wang et al. 2024).

The bridge entity r1(e) is the intermediate every THR claim probes, erases or patches; it is in
each item's `intermediates["bridge"]`.
"""

from __future__ import annotations

from suite.tasks.khop import KHopSpec, generate, vocab  # noqa: F401  (the THR API is k-hop's)


def thr_spec(**fields: object) -> KHopSpec:
    if fields.get("k", 2) != 2:
        raise ValueError("THR is two-hop: k must be 2 (use the khop task for other k)")
    fields.pop("k", None)
    return KHopSpec(k=2, **fields)  # type: ignore[arg-type]
