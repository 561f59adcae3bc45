"""Recipes: inheritance (base = ...), the regime field, and the shipped derived recipes."""

from __future__ import annotations

import dataclasses

import pytest

from suite.train import recipes
from tests.conftest import MICRO_TOML as BASE  # a one-second THR recipe


@pytest.fixture
def folder(tmp_path, monkeypatch):
    monkeypatch.setenv("MEMSUITE_RECIPES", str(tmp_path))
    (tmp_path / "base.toml").write_text(BASE)
    return tmp_path


def test_a_recipe_inherits_its_base_and_overrides_what_it_sets(folder):
    (folder / "heavy.toml").write_text('base = "base"\nregime = "coexist"\n[task]\nnoise = 0.5\n'
                                       '[train]\nsteps = 40\n')
    base, heavy = recipes.load("base"), recipes.load("heavy")
    assert (heavy.task.noise, heavy.train.steps, heavy.regime) == (0.5, 40, "coexist")
    assert heavy.model == base.model and heavy.task.n_entities == base.task.n_entities
    assert heavy.train.batch_size == base.train.batch_size and heavy.name == "heavy"
    (folder / "heavier.toml").write_text('base = "heavy"\n[task]\nnoise = 0.6\n')
    heavier = recipes.load("heavier")
    assert heavier.train.steps == 40 and heavier.task.noise == 0.6
    assert heavier.regime == ""  # a regime is not inherited: a recipe names its own


def test_inheritance_errors_name_the_problem(folder):
    (folder / "a.toml").write_text('base = "b"\n')
    (folder / "b.toml").write_text('base = "a"\n')
    with pytest.raises(ValueError, match="inherits from itself"):
        recipes.load("a")
    (folder / "c.toml").write_text('base = "nope"\n')
    with pytest.raises(KeyError, match="unknown recipe 'nope'"):
        recipes.load("c")
    (folder / "d.toml").write_text('base = "base"\nregime = "mystery"\n')
    with pytest.raises(ValueError, match="regime must be one of"):
        recipes.load("d")
    (folder / "e.toml").write_text('base = "base"\n[train]\nstop_on = "boredom"\n')
    with pytest.raises(ValueError, match="stop_on must be one of"):
        recipes.load("e")


def test_the_shipped_regime_recipes_are_their_base_with_the_declared_changes(monkeypatch):
    monkeypatch.delenv("MEMSUITE_RECIPES", raising=False)
    for name, base, regime in (("coexist-fda-tiny", "fda-tiny", "coexist"),
                               ("coexist-thr-tiny", "thr-tiny", "coexist"),
                               ("zhang-fda-tiny", "fda-tiny", "zhang")):
        derived, parent = recipes.load(name), recipes.load(base)
        assert derived.regime == regime and parent.regime == ""
        assert derived.scale == parent.scale
        # the FDA regimes keep the 2 blocks and GPT-2's MLP width they were measured on
        # (fda-tiny has 3 blocks of width 256): the declared differences in the model
        if base == "fda-tiny":
            kept = dataclasses.replace(parent.model, n_layer=2, mlp_width=512)
        else:
            kept = parent.model
        assert derived.model == kept
    assert recipes.load("coexist-fda-tiny").task.noise == 0.5
    assert recipes.load("zhang-fda-tiny").task.noise == 1.0
    # the heavy-noise regimes stop on memorization alone; random labels train every step
    # (its claim reads the fit itself), as do the ordinary recipes' gates
    assert {n: recipes.load(n).train.stop_on for n in
            ("coexist-fda-tiny", "coexist-thr-tiny", "zhang-fda-tiny", "fda-tiny")} == \
        {"coexist-fda-tiny": "memorized", "coexist-thr-tiny": "memorized",
         "zhang-fda-tiny": "gates", "fda-tiny": "gates"}


def test_a_recipe_dictionary_states_the_fields_that_have_values_and_reads_back():
    """Recipe.to_dict (what a store key and a ledger entry hash) writes a recipe as its TOML
    file would: an unset optional field (no stopping rule, no first stage) is absent, never
    null, and the dictionary reads back as the same recipe."""
    from suite.train import recipes

    for name in ("khop-sweep-tiny", "fda-tiny"):
        recipe = recipes.load(name)
        train = recipe.to_dict()["train"]
        assert None not in train.values() and "first_stage" not in train
        assert recipes.Recipe.from_dict(recipe.to_dict()) == recipe
    assert "stop_after" not in recipes.load("khop-sweep-tiny").to_dict()["train"]
