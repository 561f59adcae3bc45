"""The sweep machinery of the slow k-hop claims, on a grid small enough for CI: real trainings
of a micro recipe through the store, and the decision rule on hand-made points."""

from __future__ import annotations

import dataclasses

from suite.measure import sweeps
from suite.train.recipes import ModelSpec, Recipe, TrainSpec
from suite.tasks import make_spec


def micro_khop() -> Recipe:
    return Recipe(name="khop-micro", scale="tiny",
                  task=make_spec("khop", k=3, n_entities=6, n_relations=3, noise=0.0),
                  model=ModelSpec(n_layer=1, n_embd=16, n_head=2),
                  train=TrainSpec(steps=20, batch_size=16, lr=3e-3, eval_every=10))


def test_a_sweep_trains_each_grid_point_once_through_the_store(store_dir):
    base = micro_khop()
    points = sweeps.run(base, 2, "n_layer", (1, 2), threshold=0.0, progress=False)
    assert [(p.k, p.field, p.value) for p in points] == [(2, "n_layer", 1), (2, "n_layer", 2)]
    assert [p.recipe for p in points] == ["khop-micro-k2-qNone-L1", "khop-micro-k2-qNone-L2"]
    assert all(p.reached_step == 0 for p in points)  # threshold 0 is reached at step 0
    assert len(list(store_dir.glob("khop-micro-*"))) == 2
    again = sweeps.run(base, 2, "n_layer", (1, 2), threshold=0.0, progress=False)
    assert again == points and len(list(store_dir.glob("khop-micro-*"))) == 2
    data = sweeps.run(base, 3, "max_queries", (20,), threshold=1.01, progress=False)
    assert data[0].reached_step is None and data[0].recipe == "khop-micro-k3-q20-L1"


def _points(k, reached: dict[int, bool]) -> list[sweeps.SweepPoint]:
    return [sweeps.SweepPoint(k, "n_layer", v, f"r{v}", 0.9 if ok else 0.1, 100 if ok else None,
                              1.0) for v, ok in reached.items()]


def test_growth_rule():
    g = sweeps.growth(_points(2, {1: False, 2: True, 3: True}), _points(3, {1: False, 2: False, 3: True}))
    assert (g.needed_small_k, g.needed_large_k, g.judgeable, g.grows) == (2, 3, True, True)
    same = sweeps.growth(_points(2, {1: True}), _points(3, {1: True}))
    assert same.judgeable and not same.grows
    never = sweeps.growth(_points(2, {1: True}), _points(3, {1: False}))
    assert never.grows and never.needed_large_k is None
    unjudgeable = sweeps.growth(_points(2, {1: False}), _points(3, {1: True}))
    assert not unjudgeable.judgeable and not unjudgeable.grows


def test_grid_recipes_change_one_field():
    base = micro_khop()
    r = sweeps.grid_recipe(base, k=2, max_queries=50)
    assert (r.task.k, r.task.max_queries, r.model) == (2, 50, base.model)
    assert dataclasses.replace(r, name=base.name).train == base.train


def test_a_curriculum_trains_fewer_hops_on_the_same_graph_first(store_dir):
    base = micro_khop()
    data = sweeps.generate(sweeps.grid_recipe(base, k=3).task)
    first = sweeps.hop_queries(data, 2, 30)
    facts = sweeps.facts_of(data)
    assert len(first.clean) + len(first.heldout) == 30 and not first.noisy
    assert first.atomic == data.atomic and first.vocab == data.vocab
    for it in first.clean + first.heldout:  # answers follow the k = 3 task's own graph
        start, rels = int(it.prompt[0][1:]), [int(r[1:]) for r in it.prompt[1:]]
        assert len(rels) == 2 and it.clean == (f"e{sweeps.follow(facts, start, rels)[-1]}",)
    c = sweeps.curriculum(base, 3, stage1_steps=10, threshold=0.0, progress=False)
    assert (c.alone_reached, c.curriculum_reached, c.curriculum_total) == (0, 0, 10)
    assert c.judgeable and not c.helps  # 10 + 0 steps is not fewer than 0


def test_curriculum_rule():
    assert sweeps.Curriculum(3, 500, 1500, 800).helps  # 1300 < 1500
    assert not sweeps.Curriculum(3, 500, 1200, 800).helps  # 1300 >= 1200
    assert sweeps.Curriculum(3, 500, None, 800).helps
    assert not sweeps.Curriculum(3, 500, None, None).judgeable
