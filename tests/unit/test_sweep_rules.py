"""The decision rules of the slow k-hop claims (growth with k, curriculum), on hand-made points,
and the grid recipes they train."""

from __future__ import annotations

import dataclasses

from suite.measure import sweeps
from tests.conftest import micro_khop


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

def test_curriculum_rule():
    assert sweeps.Curriculum(3, 500, 1500, 800).helps  # 1300 < 1500
    assert not sweeps.Curriculum(3, 500, 1200, 800).helps  # 1300 >= 1200
    assert sweeps.Curriculum(3, 500, None, 800).helps
    assert not sweeps.Curriculum(3, 500, None, None).judgeable
