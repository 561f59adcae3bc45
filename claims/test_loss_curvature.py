"""Loss curvature (Merullo et al. 2025, arXiv 2510.24256).

The paper orders weight components by K-FAC curvature: memorized data relies on low-curvature
components, so keeping only the high-curvature part of the MLP weights suppresses recitation of
memorized data far more than a magnitude baseline, at a small cost elsewhere; arithmetic and
closed-book fact retrieval suffer most. K-FAC factors here are collected on the model's own
training set (clean, noisy and, for THR, atomic items) with the training labels (empirical
Fisher), and every MLP projection of every block is edited (suite.interp.curvature).
"""

from __future__ import annotations

import dataclasses

import pytest
import torch

from fixtures.plugin import require, require_memorized
from suite.batching import encode, exact_match
from suite.claims import Claim, judge
from suite.interp import curvature
from suite.stats import mcnemar

ALPHA = 0.05
# The sweep of curvature mass kept, fixed a priori before the first run. Measured on the tiny
# models: the mass is so concentrated that rho = 0.9 keeps under 1.5 % of each MLP weight's
# components and destroys held-out accuracy along with memorization (see findings.toml), so on
# these models the sweep cannot separate the two. A revised sweep must be declared as a new
# version of the claim, beside this one, not swapped in.
KEEP_MASS = (0.5, 0.7, 0.9)
# Version 2 (declared after v1 was measured degenerate, before any v2 run): keep far more of the
# curvature mass, so that the edit removes only the low-curvature tail the paper is about.
KEEP_MASS_V2 = (0.99, 0.999, 0.9999)
_sweeps: dict = {}


def _sweep(claim, trained, keep_mass=KEEP_MASS):
    """Per kept mass: recall of memorized items and accuracies for the K-FAC edit and the
    magnitude (SVD) baseline. Cached per model and sweep: two claims read the same sweep."""
    if (trained.key, keep_mass) in _sweeps:
        return _sweeps[(trained.key, keep_mass)]
    model, mem = require_memorized(claim, trained)
    data = trained.data
    factors = curvature.kfac_factors(model, encode(data.train, data.vocab))
    sets = {"memorized": encode(mem, data.vocab, "label"), "heldout": encode(data.heldout, data.vocab)}
    if data.atomic:
        sets["atomic"] = encode(data.atomic, data.vocab)
    base = {k: exact_match(model, b) for k, b in sets.items()}
    rows = []
    for rho in keep_mass:
        edited, baseline, _ = curvature.edit_model(model, factors, rho)
        rows.append({"rho": rho,
                     "kfac": {k: exact_match(edited, b) for k, b in sets.items()},
                     "svd": {k: exact_match(baseline, b) for k, b in sets.items()}})
    _sweeps[(trained.key, keep_mass)] = (base, rows, len(mem))
    return _sweeps[(trained.key, keep_mass)]


def _rate(hits: torch.Tensor) -> float:
    return float(hits.float().mean())


EDIT_SUPPRESSES = Claim(
    id="curv.edit_suppresses_memorization",
    source="Merullo et al. 2025 (arXiv 2510.24256), K-FAC weight edit",
    sentence="Keeping only the high-curvature components of the MLP weights suppresses "
             "recitation of memorized data far more than a magnitude baseline, at a small cost.",
    statistic="over kept curvature mass rho in (0.5, 0.7, 0.9): noisy recall of memorized items "
              "and held-out accuracy after the K-FAC edit and after keeping the same share of "
              "top singular components (magnitude baseline)",
    threshold=f"at some rho: K-FAC recall <= half of baseline recall (exact McNemar p < {ALPHA}) "
              "and held-out accuracy down <= 0.10, while the magnitude baseline at that rho does "
              "not meet both",
    threshold_source="CLAIMS.md (at least half; <= 10 points; better than the magnitude "
                     "baseline); the rho sweep is a priori",
    family="curv",
)


@pytest.mark.task("fda", "thr")
def test_edit_suppresses_memorization(trained):
    """The K-FAC edit lowers noisy recall by at least half while held-out accuracy drops by at
    most 10 points, and does so where the magnitude baseline with the same share of components
    does not."""
    _judge_edit(EDIT_SUPPRESSES, trained, KEEP_MASS)


def _judge_edit(claim: Claim, trained, keep_mass) -> None:
    require(claim, trained, "learned", "memorized")
    base, rows, n = _sweep(claim, trained, keep_mass)
    recall0, held0 = _rate(base["memorized"]), _rate(base["heldout"])

    def meets(edit: dict) -> bool:
        return _rate(edit["memorized"]) <= 0.5 * recall0 and held0 - _rate(edit["heldout"]) <= 0.10

    found = None
    for r in rows:
        p = mcnemar(base["memorized"].tolist(), r["kfac"]["memorized"].tolist()).p
        if meets(r["kfac"]) and p < ALPHA and not meets(r["svd"]):
            found = (r, p)
            break
    summary = {f"rho={r['rho']}": {
        "kfac_recall": round(_rate(r["kfac"]["memorized"]), 3),
        "kfac_heldout": round(_rate(r["kfac"]["heldout"]), 3),
        "svd_recall": round(_rate(r["svd"]["memorized"]), 3),
        "svd_heldout": round(_rate(r["svd"]["heldout"]), 3)} for r in rows}
    chosen = found[0] if found else min(rows, key=lambda r: _rate(r["kfac"]["memorized"]))
    verdict = judge(
        claim, trained, passed=found is not None,
        estimate=recall0 - _rate(chosen["kfac"]["memorized"]), n=n,
        p=found[1] if found else None, rho=chosen["rho"], recall_before=recall0,
        heldout_before=held0, sweep=summary,
    )
    assert verdict.passed, verdict.message


FACT_RECALL = Claim(
    id="curv.fact_recall_suffers",
    source="Merullo et al. 2025 (arXiv 2510.24256), effects of the edit on tasks",
    sentence="The curvature edit specifically hurts closed-book fact retrieval.",
    statistic="relative drop of atomic-fact recall vs relative drop of held-out two-hop accuracy "
              "under the K-FAC edit, at every kept mass rho in (0.5, 0.7, 0.9)",
    threshold="atomic relative drop > held-out relative drop at every rho of the sweep",
    threshold_source="CLAIMS.md ('fact retrieval is specifically hurt'); the every-rho rule is "
                     "a priori",
    family="curv",
)


@pytest.mark.task("thr")
def test_fact_recall_suffers(trained):
    """The K-FAC edit hurts atomic-fact recall more than held-out two-hop accuracy, relative to
    the unedited model (stated either way by the numbers)."""
    _judge_fact_recall(FACT_RECALL, trained, KEEP_MASS)


def _judge_fact_recall(claim: Claim, trained, keep_mass) -> None:
    require(claim, trained, "learned", "memorized")
    base, rows, _ = _sweep(claim, trained, keep_mass)
    atomic0, held0 = _rate(base["atomic"]), _rate(base["heldout"])
    drops = [(r["rho"], 1 - _rate(r["kfac"]["atomic"]) / atomic0,
              1 - _rate(r["kfac"]["heldout"]) / held0) for r in rows]
    verdict = judge(
        claim, trained, passed=all(a > h for _, a, h in drops),
        estimate=min(a - h for _, a, h in drops), n=len(trained.data.atomic),
        by_rho={f"rho={rho}": {"atomic_drop": round(a, 3), "heldout_drop": round(h, 3)}
                for rho, a, h in drops},
    )
    assert verdict.passed, verdict.message


def _v2(claim: Claim) -> Claim:
    """The same claim and rule on the v2 sweep, as its own claim id."""
    return dataclasses.replace(
        claim, id=f"{claim.id}.v2",
        statistic=claim.statistic.replace(str(KEEP_MASS), str(KEEP_MASS_V2)),
        threshold_source=claim.threshold_source + "; v2 sweep declared after v1 was measured "
                         "degenerate (rho = 0.9 keeps < 1.5 % of components), before v2 was run")


EDIT_SUPPRESSES_V2 = _v2(EDIT_SUPPRESSES)
FACT_RECALL_V2 = _v2(FACT_RECALL)


@pytest.mark.task("fda", "thr")
def test_edit_suppresses_memorization_v2(trained):
    """Version 2 of test_edit_suppresses_memorization: the same rule over rho in
    (0.99, 0.999, 0.9999), which keeps most components and removes the low-curvature tail."""
    _judge_edit(EDIT_SUPPRESSES_V2, trained, KEEP_MASS_V2)


@pytest.mark.task("thr")
def test_fact_recall_suffers_v2(trained):
    """Version 2 of test_fact_recall_suffers, over the v2 sweep of kept mass."""
    _judge_fact_recall(FACT_RECALL_V2, trained, KEEP_MASS_V2)
