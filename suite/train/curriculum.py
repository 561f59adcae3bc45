"""A curriculum as one trained model: a first stage on fewer hops, then the recipe's schedule.

Yao et al. (2025) train k - 1 hops before k. A recipe says so with `train.first_stage`
(suite.train.recipes.FirstStage): `steps` of training on `hops`-hop queries of the same
knowledge graph, then the recipe's own k-hop training from those weights. Because the stages are
part of the recipe, the staged model is a store entry like any other: planned by `memsuite plan`,
trained once (on a Ray worker too), cached and keyed. Its key adds this module's code and the
first stage's data digest to what every key hashes (suite.train.key.key_content); recipes
without a first stage never reach this module, so their keys do not depend on it.

The stored entry is the second stage: its curve counts k-hop steps after the first stage.
"""

from __future__ import annotations

import dataclasses
from typing import Callable

import torch

from suite.tasks import TaskData, generate, khop
from suite.train.loop import TrainResult, train
from suite.train.recipes import Recipe


def first_stage_data(recipe: Recipe, data: TaskData | None = None) -> TaskData:
    """The first stage's items: up to the recipe's query count (or as many as its own task
    has) of `first_stage.hops`-hop queries on the graph of the recipe's data."""
    stage = recipe.train.first_stage
    if stage is None:
        raise ValueError(f"recipe {recipe.name!r} has no first stage")
    if recipe.task_name != "khop":
        raise ValueError(f"recipe {recipe.name!r}: a first stage needs a k-hop task, not "
                         f"{recipe.task_name!r}")
    if stage.hops >= recipe.task.k:
        raise ValueError(f"recipe {recipe.name!r}: a first stage of {stage.hops} hops before "
                         f"k = {recipe.task.k} is no curriculum")
    data = data if data is not None else generate(recipe.task)
    return khop.hop_queries(data, stage.hops,
                            recipe.task.max_queries or len(data.clean) + len(data.heldout))


def train_after_first_stage(
    recipe: Recipe,
    device: torch.device | None = None,
    progress_for: Callable[[Recipe], Callable[[int, dict[str, float | None] | None], None]]
    | None = None,
) -> TrainResult:
    """Train the first stage, then the recipe's schedule from its weights; the result is the
    second stage (its seconds count both). progress_for(stage recipe) gives each stage's
    progress callback (suite.train.loop.train's `progress`)."""
    stage = recipe.train.first_stage
    data = generate(recipe.task)
    first = first_stage_data(recipe, data)
    stage1 = dataclasses.replace(recipe, name=f"{recipe.name}-stage1", train=dataclasses.replace(
        recipe.train, steps=stage.steps, first_stage=None))
    warm = train(stage1, device=device, progress=progress_for and progress_for(stage1), data=first,
                 n_positions=data.max_length)
    own = dataclasses.replace(recipe, train=dataclasses.replace(recipe.train, first_stage=None))
    result = train(own, device=device, progress=progress_for and progress_for(own), data=data,
                   init=warm.model.state_dict())
    return dataclasses.replace(result, seconds=warm.seconds + result.seconds)
