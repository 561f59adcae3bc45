"""Loss curvature (Merullo et al. 2025, arXiv 2510.24256).

The paper orders weight components by K-FAC curvature: memorized data relies on low-curvature
components, so keeping only the high-curvature part of the MLP weights suppresses recitation of
memorized data far more than a magnitude baseline, at a small cost elsewhere; arithmetic and
closed-book fact retrieval suffer most. K-FAC factors here are collected on the model's own
training set (clean, noisy and, for THR, atomic items) with the training labels (empirical
Fisher), and every MLP projection of every block is edited (suite.interp.curvature).

Rules are at version 2 (docs/CLAIMS.md, "Versions", says what changed from version 1).
"""

from __future__ import annotations

import dataclasses

import pytest
import torch

from suite.judge import Claim, known_pair, KnownCase, Rule
from suite.judge.figures import Lines
from suite.judge.gates import PRE_NOT_READ
from suite.measure import curvature_sweep
from suite.judge.stats import (CHANGES, Difference, ItemMean, Largest, Share, Shifted,
                               Smallest)

GATES = ("learned", "memorized", "pre")  # a model that generalized, then memorized; the current
# versions drop "pre", which their measurements do not read (PRE_NOT_READ)
# The sweep of curvature mass kept, fixed a priori before the first run.
KEEP_MASS = (0.5, 0.7, 0.9)
# The v2 sweep, declared after the v1 sweep was run (history, not a priori): the first runs
# showed the curvature mass so concentrated on these models that every v1 rho edits away most
# components, so v2 keeps far more of the mass and removes only the low-curvature tail the paper
# is about. It was fixed before any v2 run. A revised sweep is always a new claim version beside
# the old one, never swapped in.
KEEP_MASS_V2 = (0.99, 0.999, 0.9999)
_sweeps: dict = {}


def _sweep(judge, claim, trained, keep_mass=KEEP_MASS):
    """Per kept mass: recall of memorized items and accuracies for the K-FAC edit and the
    magnitude (SVD) baseline. Cached per model and sweep: two claims read the same sweep."""
    if (trained.key, keep_mass) in _sweeps:
        return _sweeps[(trained.key, keep_mass)]
    model, mem = judge.require_memorized(claim, trained)
    s = curvature_sweep.sweep_of(trained, model, mem, keep_mass)
    base, rows = s.base, s.rows
    _sweeps[(trained.key, keep_mass)] = (base, rows, len(mem))
    return _sweeps[(trained.key, keep_mass)]


def _rate(hits: torch.Tensor) -> float:
    return float(hits.float().mean())


EDIT_SUPPRESSES = Claim(
    tasks=("fda", "thr"),
    known=known_pair("item_neurons", "late_recall_of_heldout", ("fda", "thr")),
    id="curv.edit_suppresses_memorization",
    gates=GATES,
    source="Merullo et al. 2025 (arXiv 2510.24256), K-FAC weight edit",
    sentence="Keeping only the high-curvature components of the MLP weights suppresses "
             "recitation of memorized data far more than a magnitude baseline, at a small cost.",
    statistic="over kept curvature mass rho in (0.5, 0.7, 0.9): noisy recall of memorized items "
              "and held-out accuracy after the K-FAC edit and after keeping the same share of "
              "top singular components (magnitude baseline)",
    rules=(Rule("kfac_recall", "<=", 0.5), Rule("kfac_heldout_drop", "<=", 0.10),
           Rule("magnitude_shortfall", ">", 0)),
    unit="memorized item (held-out item for held-out accuracy)",
    some="rho",
    threshold_source="recommended operationalization (at least half: recall before the edit is 1 on memorized items by "
                     "definition; <= 10 points; better than the magnitude baseline); the rho "
                     "sweep is a priori. magnitude_shortfall: the larger of (magnitude recall - "
                     "0.5) and (magnitude held-out drop - 0.10), > 0 when the baseline misses "
                     "either bound",
    family="curv",
    version=2,
)


@pytest.mark.claim(EDIT_SUPPRESSES)
def test_edit_suppresses_memorization(trained, judge):
    """The K-FAC edit lowers noisy recall by at least half while held-out accuracy drops by at
    most 10 points, and does so where the magnitude baseline with the same share of components
    does not."""
    _judge_edit(judge, EDIT_SUPPRESSES, trained, KEEP_MASS)


def _drop(before: torch.Tensor, after: torch.Tensor) -> ItemMean:
    return ItemMean((before.float() - after.float()).numpy(), bounds=CHANGES)


def _judge_edit(judge, claim: Claim, trained, keep_mass) -> None:
    judge.require(claim, trained)
    base, rows, n = _sweep(judge, claim, trained, keep_mass)
    by_rho = {}
    for r in rows:
        kfac, svd = r["kfac"], r["svd"]
        by_rho[str(r["rho"])] = {
            "kfac_recall": Share(int(kfac["memorized"].sum()), n),
            "kfac_heldout_drop": _drop(base["heldout"], kfac["heldout"]),
            "magnitude_shortfall": Largest((
                Shifted(Share(int(svd["memorized"].sum()), n), -0.5),
                Shifted(_drop(base["heldout"], svd["heldout"]), -0.10))),
            "magnitude_recall": Share(int(svd["memorized"].sum()), n),
            "magnitude_heldout_drop": _drop(base["heldout"], svd["heldout"])}
    sweep = {f"rho={r['rho']}": {
        "kfac_recall": round(_rate(r["kfac"]["memorized"]), 3),
        "kfac_heldout": round(_rate(r["kfac"]["heldout"]), 3),
        "svd_recall": round(_rate(r["svd"]["memorized"]), 3),
        "svd_heldout": round(_rate(r["svd"]["heldout"]), 3)} for r in rows}
    figure = Lines(f"{claim.id}: K-FAC edit vs magnitude baseline",
                   tuple(str(r["rho"]) for r in rows),
                   {label: [_rate(r[edit][split]) for r in rows] for label, edit, split in (
                       ("K-FAC: noisy recall", "kfac", "memorized"),
                       ("K-FAC: held-out acc.", "kfac", "heldout"),
                       ("magnitude: noisy recall", "svd", "memorized"),
                       ("magnitude: held-out acc.", "svd", "heldout"))},
                   xlabel="curvature mass kept (rho)")
    judge(claim, trained, some=by_rho, n=n, recall_before=_rate(base["memorized"]),
          heldout_before=_rate(base["heldout"]), sweep=sweep, figure=figure)


FACT_RECALL = Claim(
    tasks=("thr",),
    known=(  # rule checks: written K-FAC sweeps of the THR reference model
        KnownCase("written_curvature", True, ("thr",), rule_check=True,
                  plant_args=(("facts_lost", 0.5), ("reasoning_lost", 0.0))),
        KnownCase("written_curvature", False, ("thr",), rule_check=True,
                  plant_args=(("facts_lost", 0.1), ("reasoning_lost", 0.5)))),
    id="curv.fact_recall_suffers",
    gates=GATES,
    source="Merullo et al. 2025 (arXiv 2510.24256), effects of the edit on tasks",
    sentence="The curvature edit specifically hurts closed-book fact retrieval.",
    statistic="relative drop of atomic-fact recall vs relative drop of held-out two-hop accuracy "
              "under the K-FAC edit, at every kept mass rho in (0.5, 0.7, 0.9)",
    rules=(Rule("smallest_atomic_minus_heldout_drop", ">", 0),),
    unit="atomic fact and held-out item (independent groups)",
    threshold_source="recommended operationalization ('fact retrieval is specifically hurt'); the every-rho rule is "
                     "a priori (intervals simultaneous over rho)",
    family="curv",
    version=2,
)


@pytest.mark.claim(FACT_RECALL)
def test_fact_recall_suffers(trained, judge):
    """The K-FAC edit hurts atomic-fact recall more than held-out two-hop accuracy, relative to
    the unedited model (stated either way by the numbers)."""
    _judge_fact_recall(judge, FACT_RECALL, trained, KEEP_MASS)


def _judge_fact_recall(judge, claim: Claim, trained, keep_mass) -> None:
    judge.require(claim, trained)
    base, rows, _ = _sweep(judge, claim, trained, keep_mass)
    atomic0, held0 = _rate(base["atomic"]), _rate(base["heldout"])

    def relative_drop(split: str, edit: dict, before: float):
        return ((base[split].float() - edit[split].float()) / before).numpy()

    # a relative drop lies within +-1 / its rate before (float32 items: a hair of room)
    widest = (1 + 1e-6) / min(atomic0, held0)
    differences = tuple(Difference(relative_drop("atomic", r["kfac"], atomic0),
                                   relative_drop("heldout", r["kfac"], held0),
                                   bounds=(-widest, widest)) for r in rows)
    judge(
        claim, trained, {"smallest_atomic_minus_heldout_drop": Smallest(differences)},
        n=len(trained.data.atomic),
        by_rho={f"rho={r['rho']}": {"atomic_drop": round(1 - _rate(r["kfac"]["atomic"]) / atomic0, 3),
                                    "heldout_drop": round(1 - _rate(r["kfac"]["heldout"]) / held0, 3)}
                for r in rows},
    )


def _v2(claim: Claim) -> Claim:
    """The same claim and rule on the v2 sweep, as its own claim id."""
    return dataclasses.replace(
        claim, id=f"{claim.id}.v2",
        statistic=claim.statistic.replace(str(KEEP_MASS), str(KEEP_MASS_V2)),
        threshold_source=claim.threshold_source + "; v2 sweep declared after v1 was measured "
                         "degenerate (rho = 0.9 keeps < 1.5 % of components), before v2 was run")


EDIT_SUPPRESSES_V2 = _v2(EDIT_SUPPRESSES)
FACT_RECALL_V2 = _v2(FACT_RECALL)


@pytest.mark.claim(EDIT_SUPPRESSES_V2)
def test_edit_suppresses_memorization_v2(trained, judge):
    """Version 2 of test_edit_suppresses_memorization: the same rule over rho in
    (0.99, 0.999, 0.9999), which keeps most components and removes the low-curvature tail."""
    _judge_edit(judge, EDIT_SUPPRESSES_V2, trained, KEEP_MASS_V2)


EDIT_SUPPRESSES_V3 = EDIT_SUPPRESSES_V2.without_gate("pre", 3, PRE_NOT_READ)


@pytest.mark.claim(EDIT_SUPPRESSES_V3)
def test_edit_suppresses_memorization_v3(trained, judge):
    """As v2, judged without M_pre, which it does not read."""
    _judge_edit(judge, EDIT_SUPPRESSES_V3, trained, KEEP_MASS_V2)


@pytest.mark.claim(FACT_RECALL_V2)
def test_fact_recall_suffers_v2(trained, judge):
    """Version 2 of test_fact_recall_suffers, over the v2 sweep of kept mass."""
    _judge_fact_recall(judge, FACT_RECALL_V2, trained, KEEP_MASS_V2)


FACT_RECALL_V3 = FACT_RECALL.revised(
    3,
    statistic=f"over the v2 sweep of kept mass rho in {KEEP_MASS_V2}: relative drop of "
              "atomic-fact recall under the K-FAC edit vs relative drop of held-out two-hop "
              "accuracy on the items whose two atomic facts the edited model still recalls "
              "(reasoning with the facts intact)",
    rules=(Rule("smallest_atomic_minus_reasoning_drop", ">", 0),),
    threshold_source="recommended operationalization ('fact retrieval is specifically hurt'); "
                     "every rho, intervals simultaneous over rho. v3 (declared before any v3 "
                     "run): a two-hop answer needs both of its facts, so two-hop accuracy falls "
                     "about twice as fast as fact recall under any edit that costs facts, and "
                     "v1/v2 were tilted to fail; v3 compares fact recall with reasoning on the "
                     "items whose facts survive",
)


@pytest.mark.claim(FACT_RECALL_V3)
def test_fact_recall_suffers_v3(trained, judge):
    """The K-FAC edit hurts atomic-fact recall more than two-hop reasoning on the held-out
    items whose two facts the edited model still recalls, at every kept mass of the v2 sweep."""
    _judge_reasoning_drop(judge, FACT_RECALL_V3, trained, split=False)


MIN_INTACT = 20  # as MIN_MEMORIZED: fewer items make the interval too coarse


FACT_RECALL_V4 = FACT_RECALL_V3.revised(
    4,
    statistic=f"over the v2 sweep of kept mass rho in {KEEP_MASS_V2}, with the atomic facts split "
              "at random (seeded) into a selection half and a measurement half: relative drop "
              "of atomic-fact recall under the K-FAC edit on the measurement half vs relative "
              "drop of held-out two-hop accuracy on the items whose two facts are both in the "
              "selection half and recalled by the edited model (reasoning with the facts intact)",
    unit="atomic fact of the measurement half and held-out item (independent groups)",
    threshold_source="recommended operationalization ('fact retrieval is specifically hurt'); "
                     "every rho, intervals simultaneous over rho. v4 (declared before any v4 run; "
                     "issue 40 item 3): v3 chose its intact items from the edited model's "
                     "outcomes on the same facts whose drop it measured, then treated the two "
                     "groups as fixed and independent; v4 selects on one half of the facts and "
                     "measures the fact drop on the other",
)


def fact_halves(n_facts: int, seed: int = 0) -> tuple[frozenset[int], frozenset[int]]:
    """The atomic facts (by index) split at random into a selection half and a measurement
    half: seeded, so the same data give the same split."""
    order = torch.randperm(n_facts, generator=torch.Generator().manual_seed(seed)).tolist()
    return frozenset(order[:n_facts // 2]), frozenset(order[n_facts // 2:])


@pytest.mark.claim(FACT_RECALL_V4)
def test_fact_recall_suffers_v4(trained, judge):
    """The K-FAC edit hurts atomic-fact recall (on half of the facts) more than two-hop reasoning
    on the held-out items whose two facts, both from the other half, the edited model still
    recalls, at every kept mass of the v2 sweep."""
    _judge_reasoning_drop(judge, FACT_RECALL_V4, trained, split=True)


FACT_RECALL_V5 = FACT_RECALL_V4.without_gate("pre", 5, PRE_NOT_READ)


@pytest.mark.claim(FACT_RECALL_V5)
def test_fact_recall_suffers_v5(trained, judge):
    """As v4, judged without M_pre, which it does not read."""
    _judge_reasoning_drop(judge, FACT_RECALL_V5, trained, split=True)


def _judge_reasoning_drop(judge, claim: Claim, trained, split: bool) -> None:
    """v3 and v4: fact drop vs reasoning drop on the intact items, every rho of the v2 sweep.
    split: select the intact items on one half of the facts and measure the fact drop on the
    other (v4); else both on all facts (v3)."""
    judge.require(claim, trained)
    base, rows, _ = _sweep(judge, claim, trained, KEEP_MASS_V2)
    data = trained.data
    fact_index = {it.prompt: i for i, it in enumerate(data.atomic)}
    pairs = [tuple(fact_index[f] for f in curvature_sweep.facts_of(it)) for it in data.heldout]
    everything = frozenset(range(len(data.atomic)))
    select, measure = fact_halves(len(data.atomic)) if split else (everything, everything)
    measured = torch.tensor(sorted(measure))
    candidates = torch.tensor([a in select and b in select for a, b in pairs])
    half = " of the selection half" if split else ""
    atomic0, held0 = base["atomic"].float(), base["heldout"].float()
    differences, by_rho = [], {}
    for r in rows:
        atomic = r["kfac"]["atomic"]
        intact = candidates & torch.tensor([bool(atomic[a] and atomic[b] and base["atomic"][a]
                                                 and base["atomic"][b]) for a, b in pairs])
        if int(intact.sum()) < MIN_INTACT or float(held0[intact].mean()) == 0:
            judge.not_judged(claim, trained,
                             f"at rho={r['rho']} only {int(intact.sum())} held-out items keep "
                             f"both facts{half} (need >= {MIN_INTACT}) with some answered before")
        before = float(held0[intact].mean())
        atomic_drop = ((atomic0[measured] - atomic[measured].float())
                       / float(atomic0[measured].mean())).numpy()
        reasoning_drop = ((held0[intact] - r["kfac"]["heldout"][intact].float()) / before).numpy()
        widest = (1 + 1e-6) / min(float(atomic0[measured].mean()), before)  # +-1 / rate before
        differences.append(Difference(atomic_drop, reasoning_drop, bounds=(-widest, widest)))
        by_rho[f"rho={r['rho']}"] = {"atomic_drop": round(float(atomic_drop.mean()), 3),
                                     "reasoning_drop": round(float(reasoning_drop.mean()), 3),
                                     "intact_items": int(intact.sum())}
    judge(claim, trained, {"smallest_atomic_minus_reasoning_drop": Smallest(tuple(differences))},
          n=len(measure), by_rho=by_rho, **({"candidates": int(candidates.sum())} if split else {}))
