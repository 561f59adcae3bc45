"""Sweeps over trained models, for scaling claims (Yao et al. 2025, arXiv 2505.17923): train a
grid of recipes through the store (so every grid point is trained once and cached like any
model), read when each reached an accuracy threshold, and find the smallest grid value that
reaches it.

A grid point is a base recipe with one field changed: the number of k-hop queries drawn
(`max_queries`, data), the number of blocks (`n_layer`, depth) or the number of hops (`k`).
A curriculum trains k - 1 hops on the same knowledge graph first, then k hops from there.
"""

from __future__ import annotations

import dataclasses
import sys
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from suite import store
from suite.train.dynamics import first_step
from suite.train.recipes import FirstStage, Recipe


@dataclass(frozen=True)
class SweepPoint:
    """One trained grid point."""

    k: int
    field: str  # the swept field: "max_queries" or "n_layer"
    value: int
    recipe: str  # the grid point's recipe name
    heldout_acc: float
    reached_step: int | None  # first evaluated step with held-out accuracy >= the threshold
    train_seconds: float  # when it was trained (from its metrics)


def grid_recipe(base: Recipe, *, k: int, max_queries: int | None = None,
                n_layer: int | None = None) -> Recipe:
    """`base` (a k-hop recipe) with k hops, and the data size or depth of one grid point."""
    task = dataclasses.replace(base.task, k=k)
    if max_queries is not None:
        # past the query space (E * R^k) every query is drawn: name that count, not the request
        space = task.n_entities * task.n_relations**k
        task = dataclasses.replace(task, max_queries=min(max_queries, space))
    model = base.model if n_layer is None else dataclasses.replace(base.model, n_layer=n_layer)
    name = (f"{base.name}-k{k}-q{task.max_queries}-L{model.n_layer}")
    return dataclasses.replace(base, name=name, task=task, model=model)


@dataclass(frozen=True)
class Written:
    """Sweep outcomes written by hand around a base recipe, for a rule check (a case that checks
    how a claim reads its sweep, with no model): `run` and `curriculum` answer with them instead
    of training. needed: per k, the grid value from which that k reaches the threshold (None:
    no value does); steps: (steps alone, steps after the first stage) for `curriculum`. The
    recipe's fields (task, name) read through."""

    recipe: Recipe
    needed: Mapping[int, int | None] = field(default_factory=dict)
    steps: tuple[int | None, int | None] = (None, None)

    def __getattr__(self, name: str) -> Any:
        if name == "recipe":  # not yet set (a copy being built): no recursion
            raise AttributeError(name)
        return getattr(self.recipe, name)

    def points(self, k: int, field: str, values: Sequence[int]) -> list[SweepPoint]:
        def reaches(v: int) -> bool:
            return self.needed.get(k) is not None and v >= self.needed[k]
        return [SweepPoint(k, field, v, f"written k={k} {field}={v}", 0.95 if reaches(v) else 0.3,
                           100 if reaches(v) else None, 0.0) for v in values]


def replaced(base: Recipe | Written, **changes: Any) -> Recipe | Written:
    """dataclasses.replace of a base recipe's fields, a Written base keeping its outcomes."""
    if isinstance(base, Written):
        return dataclasses.replace(base, recipe=dataclasses.replace(base.recipe, **changes))
    return dataclasses.replace(base, **changes)


def run(base: Recipe | Written, k: int, field: str, values: Sequence[int], threshold: float,
        progress: bool = True) -> list[SweepPoint]:
    """Train (or load) every grid point of one sweep and measure it (a Written base: its
    written points)."""
    if field not in ("max_queries", "n_layer"):
        raise ValueError(f"a sweep varies max_queries or n_layer, not {field!r}")
    if isinstance(base, Written):
        return base.points(k, field, values)
    points: list[SweepPoint] = []
    for i, value in enumerate(values, 1):
        recipe = grid_recipe(base, k=k, **{field: value})
        if field == "max_queries":
            value = recipe.task.max_queries  # a request past the query space draws all of it
            if any(p.value == value for p in points):
                continue  # the same data as a smaller request: one model, one point
        if progress:
            print(f"[sweep] k={k} {field}={value} ({i}/{len(values)})", file=sys.stderr)
        stored = store.get_or_train(recipe, progress=progress)
        points.append(SweepPoint(k, field, value, recipe.name,
                                 float(stored.metrics["heldout_acc"]),
                                 first_step(stored.curve, "heldout_acc", threshold),
                                 float(stored.metrics.get("seconds") or 0.0)))
    return points


def smallest_reaching(points: Sequence[SweepPoint]) -> int | None:
    """The smallest swept value whose model reached the threshold (None if none did)."""
    reached = [p.value for p in points if p.reached_step is not None]
    return min(reached) if reached else None


@dataclass(frozen=True)
class Growth:
    """Does the value needed to reach the threshold grow from the smaller k to the larger?"""

    needed_small_k: int | None
    needed_large_k: int | None
    judgeable: bool  # the smaller k reached the threshold somewhere on the grid
    grows: bool  # larger k needs strictly more (or never reaches it on the grid)


def growth(small_k: Sequence[SweepPoint], large_k: Sequence[SweepPoint]) -> Growth:
    a, b = smallest_reaching(small_k), smallest_reaching(large_k)
    if a is None:
        return Growth(a, b, False, False)
    return Growth(a, b, True, b is None or b > a)


@dataclass(frozen=True)
class Curriculum:
    """Steps to the threshold on the k-hop task: trained alone, and after a (k-1)-hop stage."""

    k: int
    stage1_steps: int
    alone_reached: int | None  # steps of k-hop training alone
    curriculum_reached: int | None  # k-hop steps after the first stage (its steps not included)

    @property
    def curriculum_total(self) -> int | None:
        return None if self.curriculum_reached is None else self.stage1_steps + self.curriculum_reached

    @property
    def judgeable(self) -> bool:
        return self.alone_reached is not None or self.curriculum_reached is not None

    @property
    def helps(self) -> bool:
        """Fewer total steps (both stages) than k hops alone, or reached where alone did not."""
        if self.curriculum_total is None:
            return False
        return self.alone_reached is None or self.curriculum_total < self.alone_reached


def curriculum_recipe(base: Recipe, k: int, stage1_steps: int) -> Recipe:
    """The k-hop grid recipe of `base` after `stage1_steps` of k - 1 hops on the same graph
    (one store entry: suite.train.curriculum trains both stages)."""
    recipe = grid_recipe(base, k=k)
    return dataclasses.replace(
        recipe, name=f"{recipe.name}-after{stage1_steps}k{k - 1}",
        train=dataclasses.replace(recipe.train, first_stage=FirstStage(k - 1, stage1_steps)))


def curriculum(base: Recipe | Written, k: int, stage1_steps: int, threshold: float,
               progress: bool = True) -> Curriculum:
    """Steps to `threshold` of k hops alone and after a (k-1)-hop first stage (both store
    entries; a Written base: its written steps)."""
    if isinstance(base, Written):
        return Curriculum(k, stage1_steps, *base.steps)
    alone = store.get_or_train(grid_recipe(base, k=k), progress=progress)
    staged = store.get_or_train(curriculum_recipe(base, k, stage1_steps), progress=progress)
    return Curriculum(k, stage1_steps, first_step(alone.curve, "heldout_acc", threshold),
                      first_step(staged.curve, "heldout_acc", threshold))
