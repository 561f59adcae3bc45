"""Implicit k-hop reasoning (Yao et al. 2025, arXiv 2505.17923): GPT-2-style models learn
implicit k-hop reasoning, but the training data needed grows exponentially and the depth needed
linearly with k.

Real sweeps over trained models, so they are `slow` (left out of the default run; select with
`pytest claims/ -m slow`). Every grid point is a store entry: a sweep that is stopped resumes
where it stopped. Cost of one seed at --scale tiny (base recipe models/khop-sweep-tiny.toml;
16 models of 1-4 blocks x 128, 1500 steps each, plus the staged curriculum model): about 30 minutes on 2 CPU cores, estimated
from thr-tiny's measured rate (2200 steps of 4 x 128 at batch 256 in about 175 s) scaled by
steps and depth; on a GPU the same models are a few minutes in all (they are too small to fill
one). The grid and threshold below were fixed before any sweep was run.

Rules are at version 2 and 3 (docs/CLAIMS.md, "Versions", says what changed). Version 3 (below)
widens the data grid, trains twice as long and does not judge a sweep in which the larger k is
learned nowhere: v2's tiny grid never trained k = 3, so its "holds" could not tell "needs more"
from "cannot learn".
"""

from __future__ import annotations

import dataclasses
import math

import pytest

from suite.measure import sweeps
from suite.judge import Claim, KnownCase, Rule
from suite.judge.stats import Exact

THRESHOLD = 0.9  # the recommended operationalization: "reach 0.9 held-out accuracy"
DATA_GRID = (500, 1000, 2000, 4000)  # k-hop queries drawn (90 % trained), a priori
DEPTH_GRID = (1, 2, 3, 4)  # blocks, a priori; the depth sweep trains on the largest data size
SMALL_K, LARGE_K = 2, 3


def _growth_cases(grid) -> tuple[KnownCase, ...]:
    """Rule checks on written sweeps: k = LARGE_K first reaching the threshold one grid value
    after k = SMALL_K (planted true), at the same value (planted false)."""
    return tuple(KnownCase("written_growth", planted, ("khop",), rule_check=True,
                           plant_args=(("small_k", SMALL_K), ("small_at", grid[1]),
                                       ("large_k", LARGE_K), ("large_at", large)))
                 for planted, large in ((True, grid[2]), (False, grid[1])))


def _curriculum_cases(stage1: int) -> tuple[KnownCase, ...]:
    """Rule checks on written curricula: three times the first stage's steps alone against the
    first stage's after it (planted true), and the other way round (planted false)."""
    return tuple(KnownCase("written_curriculum", planted, ("khop",), rule_check=True,
                           plant_args=(("alone", alone), ("after", after)))
                 for planted, (alone, after) in ((True, (3 * stage1, stage1)),
                                                 (False, (stage1, 3 * stage1))))


class SweepSubject:
    """What a sweep verdict is recorded against: the base recipe (there is no single model)."""

    def __init__(self, base, points: list[sweeps.SweepPoint]) -> None:
        self.task_spec = base.task
        self.name = base.name
        self.key = "+".join(sorted({p.recipe for p in points}))[:200] or base.name


def _judge_growth(judge, claim: Claim, base, field: str, grid, data_grid=DATA_GRID,
                  large_k_must_reach: bool = False) -> None:
    """Sweep `field` over `grid` for both k and judge whether the value needed grows with k.
    The depth sweep keeps the base recipe's data size, which is the data grid's largest. With
    `large_k_must_reach` (v3) a sweep where the larger k reaches the threshold nowhere is not
    judged: the grid did not reach where k = 3 is learned at all."""
    assert field != "n_layer" or base.task.max_queries == max(data_grid)
    small = sweeps.run(base, SMALL_K, field, grid, THRESHOLD)
    large = sweeps.run(base, LARGE_K, field, grid, THRESHOLD)
    g = sweeps.growth(small, large)
    subject = SweepSubject(base, small + large)
    table = {f"k={p.k} {field}={p.value}": round(p.heldout_acc, 3) for p in small + large}
    if not g.judgeable:
        reason = (f"k={SMALL_K} never reached held-out {THRESHOLD} on the grid {list(grid)}: "
                  f"{table}")
        judge.not_judged(claim, subject, reason)
    if large_k_must_reach and g.needed_large_k is None:
        reason = (f"k={LARGE_K} never reached held-out {THRESHOLD} on the grid {list(grid)}, "
                  f"so the sweep cannot tell 'needs more' from 'not learned': {table}")
        judge.not_judged(claim, subject, reason)
    # never reached by the larger k on the grid: it needs more than the grid offers
    ratio = g.needed_large_k / g.needed_small_k if g.needed_large_k else math.inf
    judge(claim, subject, {"needed_ratio": Exact(ratio)}, n=len(small) + len(large),
          needed={f"k={SMALL_K}": g.needed_small_k, f"k={LARGE_K}": g.needed_large_k},
          heldout_by_point=table)


DATA_GROWS = Claim(
    tasks=("khop",),
    known=_growth_cases(DATA_GRID),
    id="khop.data_grows_with_k",
    source="Yao et al. 2025 (arXiv 2505.17923), data scaling with k",
    sentence="The training data needed to reach 0.9 held-out accuracy grows with the number of "
             "hops.",
    statistic=f"smallest number of k-hop queries in {DATA_GRID} whose model reaches held-out "
              f"accuracy {THRESHOLD}, for k = {SMALL_K} and k = {LARGE_K}, at a fixed model size",
    rules=(Rule("needed_ratio", ">", 1),),
    unit="sweep",
    threshold_source=f"recommended operationalization; grid a priori. needed_ratio: queries needed by k = {LARGE_K} "
                     f"over k = {SMALL_K} (infinite where k = {LARGE_K} never reaches it)",
    family="khop",
    version=2,
)


@pytest.mark.claim(DATA_GROWS)
@pytest.mark.slow
def test_data_grows_with_k(sweep_base, judge):
    """At a fixed model size, k = 3 needs more training queries than k = 2 to reach 0.9."""
    _judge_growth(judge, DATA_GROWS, sweep_base, "max_queries", DATA_GRID)


DEPTH_GROWS = Claim(
    tasks=("khop",),
    known=_growth_cases(DEPTH_GRID),
    id="khop.depth_grows_with_k",
    source="Yao et al. 2025 (arXiv 2505.17923), depth scaling with k",
    sentence="The smallest depth that reaches the threshold is larger for k = 3 than for k = 2.",
    statistic=f"smallest number of blocks in {DEPTH_GRID} whose model reaches held-out accuracy "
              f"{THRESHOLD} with {max(DATA_GRID)} queries, for k = {SMALL_K} and k = {LARGE_K}",
    rules=(Rule("needed_ratio", ">", 1),),
    unit="sweep",
    threshold_source=f"recommended operationalization; grid a priori. needed_ratio: blocks needed by k = {LARGE_K} "
                     f"over k = {SMALL_K} (infinite where k = {LARGE_K} never reaches it)",
    family="khop",
    version=2,
)


@pytest.mark.claim(DEPTH_GROWS)
@pytest.mark.slow
def test_depth_grows_with_k(sweep_base, judge):
    """With the largest data size, k = 3 needs more blocks than k = 2 to reach 0.9."""
    _judge_growth(judge, DEPTH_GROWS, sweep_base, "n_layer", DEPTH_GRID)


STAGE1_STEPS = 500  # a priori: a third of the base schedule spent on k - 1 hops first

CURRICULUM_HELPS = Claim(
    tasks=("khop",),
    known=_curriculum_cases(STAGE1_STEPS),
    id="khop.curriculum_helps",
    source="Yao et al. 2025 (arXiv 2505.17923), curriculum over k",
    sentence="Training k = 2 before k = 3 reaches the threshold with fewer steps than k = 3 "
             "alone.",
    statistic=f"steps to held-out accuracy {THRESHOLD} on k = {LARGE_K}: trained alone (base "
              f"schedule), and after {STAGE1_STEPS} steps of k = {SMALL_K} queries on the same "
              "knowledge graph (counted in the total)",
    rules=(Rule("steps_alone_over_curriculum", ">", 1),),
    unit="sweep",
    threshold_source=f"recommended operationalization (fewer steps or items); stage length {STAGE1_STEPS} a priori; "
                     "infinite where only the curriculum reaches the threshold, 0 where only "
                     "k alone does",
    family="khop",
    version=2,
)


@pytest.mark.claim(CURRICULUM_HELPS)
@pytest.mark.slow
def test_curriculum_helps(sweep_base, judge):
    """Training two hops first (on the same graph) gets three-hop reasoning to 0.9 held-out
    accuracy in fewer total steps than training three hops alone."""
    _judge_curriculum(judge, CURRICULUM_HELPS, sweep_base, STAGE1_STEPS)


def _judge_curriculum(judge, claim: Claim, base, stage1_steps: int) -> None:
    c = sweeps.curriculum(base, LARGE_K, stage1_steps, THRESHOLD)
    subject = SweepSubject(base, [])
    numbers = {"alone_reached": c.alone_reached, "curriculum_reached": c.curriculum_reached,
               "stage1_steps": c.stage1_steps}
    if not c.judgeable:
        reason = f"neither schedule reached held-out {THRESHOLD} on k = {LARGE_K}: {numbers}"
        judge.not_judged(claim, subject, reason)
    if c.alone_reached and c.curriculum_total:
        ratio = c.alone_reached / c.curriculum_total
    else:
        ratio = math.inf if c.curriculum_total else 0.0
    judge(claim, subject, {"steps_alone_over_curriculum": Exact(ratio)}, n=2, **numbers)


# --- version 3 ---------------------------------------------------------------------------------
# Declared before any v3 sweep ran. On v2's tiny grid k = 3 reached the threshold nowhere
# (held-out 0.05-0.15 at every point, docs/results/khop_tiny_seed0.md) and the v2 rule counts that
# as "needs more", so v2's two "holds" could not tell "k = 3 needs more data and depth" from
# "this recipe does not learn k = 3". Version 3, a priori:
# - data grid doubling from 1000 to 32000 queries: on the 30 x 12 graph k = 3 has 51840 queries
#   and k = 2 has 4320 (its grid ends there, at all of them); v2's k = 2 needed about half of its
#   query space (2000), and 32000 is 62 % of k = 3's;
# - twice v2's steps (3000), so the largest data size is still seen about 24 times per query;
# - a growth sweep in which k = 3 reaches the threshold nowhere is not judged (above);
# - the depth sweep and the curriculum train on the largest data size; the curriculum's first
#   stage is a third of the schedule, as in v2.

DATA_GRID_V3 = (1000, 2000, 4000, 8000, 16000, 32000)
STEPS_V3 = 3000
STAGE1_STEPS_V3 = 1000


def v3_base(base):
    """The v3 sweeps' base recipe: `base` trained STEPS_V3 steps on the largest data size."""
    return sweeps.replaced(
        base, name=f"{base.name}-{STEPS_V3}steps",
        task=dataclasses.replace(base.task, max_queries=max(DATA_GRID_V3)),
        train=dataclasses.replace(base.train, steps=STEPS_V3))


def _grid_models(field: str, grid):
    """The store recipes a v3 sweep trains from `sweep_base` (memsuite plan reads them)."""
    def models(sweep_base):
        base = v3_base(sweep_base)
        return [sweeps.grid_recipe(base, k=k, **{field: value})
                for k in (SMALL_K, LARGE_K) for value in grid]
    return models


def _curriculum_models(sweep_base):
    """The curriculum's two models: k hops alone, and after the first stage."""
    base = v3_base(sweep_base)
    return [sweeps.grid_recipe(base, k=LARGE_K),
            sweeps.curriculum_recipe(base, LARGE_K, STAGE1_STEPS_V3)]


_V3 = (f"; v3: the grid reaches {max(DATA_GRID_V3)} queries, each point trains {STEPS_V3} steps, "
       f"and a sweep where k = {LARGE_K} reaches the threshold nowhere is not judged")

DATA_GROWS_V3 = DATA_GROWS.revised(
    3,
    known=_growth_cases(DATA_GRID_V3),
    statistic=f"smallest number of k-hop queries in {DATA_GRID_V3} (capped at the task's query "
              f"space) whose model reaches held-out accuracy {THRESHOLD} in {STEPS_V3} steps, for "
              f"k = {SMALL_K} and k = {LARGE_K}, at a fixed model size",
    threshold_source=DATA_GROWS.threshold_source + _V3,
)

DEPTH_GROWS_V3 = DEPTH_GROWS.revised(
    3,
    statistic=f"smallest number of blocks in {DEPTH_GRID} whose model reaches held-out accuracy "
              f"{THRESHOLD} in {STEPS_V3} steps with up to {max(DATA_GRID_V3)} queries, for "
              f"k = {SMALL_K} and k = {LARGE_K}",
    threshold_source=DEPTH_GROWS.threshold_source + _V3,
)

CURRICULUM_HELPS_V3 = CURRICULUM_HELPS.revised(
    3,
    known=_curriculum_cases(STAGE1_STEPS_V3),
    statistic=f"steps to held-out accuracy {THRESHOLD} on k = {LARGE_K} with "
              f"{max(DATA_GRID_V3)} queries: trained alone ({STEPS_V3} steps), and after "
              f"{STAGE1_STEPS_V3} steps of k = {SMALL_K} queries on the same knowledge graph "
              "(counted in the total)",
    threshold_source=f"recommended operationalization (fewer steps or items); stage length a "
                     f"third of the schedule, a priori as in v2; infinite where only the "
                     f"curriculum reaches the threshold, 0 where only k alone does",
)


@pytest.mark.claim(DATA_GROWS_V3)
@pytest.mark.models.with_args(_grid_models("max_queries", DATA_GRID_V3))
@pytest.mark.slow
def test_data_grows_with_k_v3(sweep_base, judge):
    """With a grid that reaches k = 3's learnable region, k = 3 needs more queries than k = 2."""
    _judge_growth(judge, DATA_GROWS_V3, v3_base(sweep_base), "max_queries", DATA_GRID_V3,
                  DATA_GRID_V3, large_k_must_reach=True)


@pytest.mark.claim(DEPTH_GROWS_V3)
@pytest.mark.models.with_args(_grid_models("n_layer", DEPTH_GRID))
@pytest.mark.slow
def test_depth_grows_with_k_v3(sweep_base, judge):
    """With the largest data size, k = 3 needs more blocks than k = 2 (where k = 3 is learned)."""
    _judge_growth(judge, DEPTH_GROWS_V3, v3_base(sweep_base), "n_layer", DEPTH_GRID,
                  DATA_GRID_V3, large_k_must_reach=True)


@pytest.mark.claim(CURRICULUM_HELPS_V3)
@pytest.mark.models.with_args(_curriculum_models)
@pytest.mark.slow
def test_curriculum_helps_v3(sweep_base, judge):
    """Two hops first, then three, reaches 0.9 on three hops in fewer total steps."""
    _judge_curriculum(judge, CURRICULUM_HELPS_V3, v3_base(sweep_base), STAGE1_STEPS_V3)
