"""Shared helpers for the unit and integration tests: recipes small enough to train in about a
second, a private store, and a sample report directory."""

from __future__ import annotations

import pytest

from suite.train.recipes import ModelSpec, Recipe, TrainSpec
from suite.tasks import make_spec


def micro_recipe(task: str = "thr", steps: int = 40, seed: int = 0) -> Recipe:
    spec = (make_spec("thr", n_entities=8, n_relations=3, seed=seed) if task == "thr"
            else make_spec("fda", n_train=60, n_heldout=20, seed=seed))
    return Recipe(
        name=f"{task}-micro", scale="tiny", task=spec,
        model=ModelSpec(n_layer=1, n_embd=16, n_head=2),
        train=TrainSpec(steps=steps, batch_size=16, lr=3e-3, eval_every=10),
    )


def micro_khop() -> Recipe:
    return Recipe(name="khop-micro", scale="tiny",
                  task=make_spec("khop", k=3, n_entities=6, n_relations=3, noise=0.0),
                  model=ModelSpec(n_layer=1, n_embd=16, n_head=2),
                  train=TrainSpec(steps=20, batch_size=16, lr=3e-3, eval_every=10))


@pytest.fixture
def store_dir(tmp_path, monkeypatch):
    root = tmp_path / "store"
    monkeypatch.setenv("MEMSUITE_STORE", str(root))
    return root


MICRO_TOML = """
name = "thr-micro"
scale = "tiny"
[task]
task = "thr"
n_entities = 8
n_relations = 3
[model]
n_layer = 1
n_embd = 16
n_head = 2
[train]
steps = 30
batch_size = 16
lr = 3e-3
eval_every = 10
"""


@pytest.fixture
def recipe_dir(tmp_path, monkeypatch, store_dir):
    d = tmp_path / "recipes"
    d.mkdir()
    (d / "thr-micro.toml").write_text(MICRO_TOML)
    monkeypatch.setenv("MEMSUITE_RECIPES", str(d))
    return d


def _report_rows() -> list:
    from suite.judge.claim import Verdict
    from suite.judge.figures import Bars, Lines, as_record

    def lines(**series):
        return as_record(Lines("a title", tuple(str(i) for i in range(len(series["a"]))), series))

    return [
        Verdict("rr.clean_label_decodable", "thr", "thr-tiny", 0, 0.05, 10, 0.3, 0.2, 0.4, 0.01,
                "r", "holds", {"figure": lines(a=[0.1, 0.3], b=[0.1, 0.1])},
                variant="lens", family="rr.decodability",
                sentence="the correct label is still decodable at earlier layers when a noisy "
                         "label is recalled", source="a paper, Fig. 3"),
        Verdict("rr.noisy_overrides_late", "thr", "thr-tiny", 0, 0.05, 10, 0.1, 0.0, 0.2, 1.0,
                "r", "does not hold", {"figure": lines(a=[0.0, 0.2, 0.0], b=[0.0, 0.1, 1.0])},
                family="rr.decodability"),
        Verdict("rr.bridge_decodable", "thr", "thr-tiny", 0, 0.05, 10, 1.0, 0.9, 1.0, 0.0, "r",
                "holds", {"by_site": {"embed@1": 0.1, "resid.0@1": 1.0}}),  # no figure declared
        Verdict("rr.bridge_removal_hurts_memorization", "thr", "thr-tiny", 0, 0.05, 10, 0.7, None,
                None, 0.0, "r", "holds", {"figure": as_record(Bars("erasure", 0.3, 0.98))}),
        Verdict("curv.edit_suppresses_memorization", "thr", "thr-tiny", 0, 0.05, 10, 0.2, None,
                None, None, "r", "not judged", {"figure": lines(a=[1.0, 0.5])}),  # not drawn
    ]


CURVE = [{"step": s, "heldout_acc": min(1, s / 100), "noisy_recall": max(0, (s - 100) / 100),
          "noisy_clean_share": 0.5} for s in range(0, 201, 20)]


@pytest.fixture
def sample_report(tmp_path):
    """A report directory with results.jsonl (five verdicts with plot details) and curves.json,
    as a run with --report leaves it, before rendering."""
    import json

    out = tmp_path / "sample-report"
    out.mkdir()
    (out / "results.jsonl").write_text("".join(v.to_json() + "\n" for v in _report_rows()))
    (out / "curves.json").write_text(json.dumps({"thr-tiny-s0": CURVE}))
    return out
