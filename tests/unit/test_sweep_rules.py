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

def test_data_sizes_past_the_query_space_are_one_point(monkeypatch):
    """A request past E * R^k draws every query: it is named by that count, and a larger
    request with the same data is neither trained again nor counted as a second point."""
    base = micro_khop()
    space = base.task.n_entities * base.task.n_relations**2
    assert sweeps.grid_recipe(base, k=2, max_queries=10 * space).task.max_queries == space
    trained = []

    class Stored:
        metrics = {"heldout_acc": 1.0, "seconds": 1.0}
        curve = [{"step": 10, "heldout_acc": 1.0}]

    monkeypatch.setattr(sweeps.store, "get_or_train",
                        lambda recipe, progress=True: trained.append(recipe.name) or Stored())
    points = sweeps.run(base, 2, "max_queries", (space // 2, 2 * space, 4 * space), 0.9,
                        progress=False)
    assert [p.value for p in points] == [space // 2, space]
    assert len(trained) == 2

def test_curriculum_rule():
    assert sweeps.Curriculum(3, 500, 1500, 800).helps  # 1300 < 1500
    assert not sweeps.Curriculum(3, 500, 1200, 800).helps  # 1300 >= 1200
    assert sweeps.Curriculum(3, 500, None, 800).helps
    assert not sweeps.Curriculum(3, 500, None, None).judgeable
