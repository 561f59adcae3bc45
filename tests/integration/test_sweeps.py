"""The sweep machinery of the slow k-hop claims, on a grid small enough for CI: real trainings
of a micro recipe through the store (the decision rules: tests/unit/test_sweep_rules.py)."""

from __future__ import annotations

import dataclasses

from suite.measure import sweeps
from suite.tasks import generate, khop
from tests.conftest import micro_khop



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


def test_a_curriculum_trains_fewer_hops_on_the_same_graph_first(store_dir):
    base = micro_khop()
    data = generate(sweeps.grid_recipe(base, k=3).task)
    first = khop.hop_queries(data, 2, 30)
    facts = khop.facts_of(data)
    assert len(first.clean) + len(first.heldout) == 30 and not first.noisy
    assert first.atomic == data.atomic and first.vocab == data.vocab
    for it in first.clean + first.heldout:  # answers follow the k = 3 task's own graph
        start, rels = int(it.prompt[0][1:]), [int(r[1:]) for r in it.prompt[1:]]
        assert len(rels) == 2 and it.clean == (f"e{khop.follow(facts, start, rels)[-1]}",)
    c = sweeps.curriculum(base, 3, stage1_steps=10, threshold=0.0, progress=False)
    assert (c.alone_reached, c.curriculum_reached, c.curriculum_total) == (0, 0, 10)
    assert c.judgeable and not c.helps  # 10 + 0 steps is not fewer than 0


def test_a_curriculum_is_one_store_entry_trained_as_its_two_stages(store_dir):
    """The staged model is keyed apart from k hops alone, is trained once, and has the weights
    of the first stage's training followed by the recipe's own from those weights."""
    import torch

    from suite import store
    from suite.train.curriculum import first_stage_data
    from suite.train.loop import train

    base = micro_khop()
    staged = sweeps.curriculum_recipe(base, 3, stage1_steps=10)
    alone = sweeps.grid_recipe(base, k=3)
    assert "first_stage" not in alone.to_dict()["train"]  # keys of other recipes unchanged
    assert store.entry_key(staged) != store.entry_key(alone)
    entry = store.get_or_train(staged, progress=False)
    assert store.get_or_train(staged, progress=False).path == entry.path
    assert len(list(store_dir.glob(f"{staged.name}-*"))) == 1
    assert entry.recipe == staged  # recipe.json round-trips the first stage

    data = generate(staged.task)
    no_stage = dataclasses.replace(staged.train, first_stage=None)
    warm = train(dataclasses.replace(staged, train=dataclasses.replace(no_stage, steps=10)),
                 data=first_stage_data(staged, data), n_positions=data.max_length)
    by_hand = train(dataclasses.replace(staged, train=no_stage), init=warm.model.state_dict())
    for name, tensor in by_hand.model.state_dict().items():
        assert torch.equal(tensor, entry.model().state_dict()[name]), name
