"""Shared helpers for unit tests: a recipe small enough to train in about a second."""

from __future__ import annotations

import pytest

from suite.recipes import ModelSpec, Recipe, TrainSpec
from suite.tasks import make_spec


def micro_recipe(task: str = "thr", steps: int = 40, seed: int = 0) -> Recipe:
    spec = (make_spec("thr", n_entities=8, n_relations=3, seed=seed) if task == "thr"
            else make_spec("fda", n_train=60, n_heldout=20, seed=seed))
    return Recipe(
        name=f"{task}-micro", scale="tiny", task=spec,
        model=ModelSpec(n_layer=1, n_embd=16, n_head=2),
        train=TrainSpec(steps=steps, batch_size=16, lr=3e-3, eval_every=10),
    )


@pytest.fixture
def store_dir(tmp_path, monkeypatch):
    root = tmp_path / "store"
    monkeypatch.setenv("MEMSUITE_STORE", str(root))
    return root
