"""Canaries for the store key (suite.train.key): it must change exactly when something that can
change a model's weights changes.

Each edit is made to a copy of the suite's source, and the copy's training code is read as the
store reads the real one: an edit to the progress display, to a function the loop never reaches
or to a generator's source leaves the training code alone; an edit to each function that can
change a weight (the loop, batching and loss, the stopping rule, model construction, the
learning-rate schedule) changes it. A generator whose output changes changes the data digest.
"""

from __future__ import annotations

import ast
import dataclasses
import shutil
from pathlib import Path

import pytest

from suite.tasks import generate, make_spec
from suite.train import key

SUITE = Path(key.__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def copied(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("suite-copy") / "suite"
    shutil.copytree(SUITE, root, ignore=shutil.ignore_patterns("__pycache__"))
    return root


def _edited(copied: Path, tmp_path: Path, module: str, function: str | None,
            statement: str = "_canary = 1") -> Path:
    """A copy of the suite where `statement` opens `function` of `module` (a path under suite/),
    or, with function None, is added at the end of the module."""
    root = tmp_path / "suite"
    shutil.copytree(copied, root)
    path = root / module
    tree = ast.parse(path.read_text())
    added = ast.parse(statement).body
    if function is None:
        tree.body += added
    else:
        node = next(n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.ClassDef))
                    and n.name == function)
        node.body[1:1] = added  # after the docstring (or the first statement)
    path.write_text(ast.unparse(tree))
    return root


def _changed(before: dict[str, str], after: dict[str, str]) -> set[str]:
    return {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)}


@pytest.mark.parametrize("module, function, statement", [
    ("train/progress.py", "bar_for", "_canary = 1"),
    ("train/progress.py", None, "def shown():\n    return 'a new progress line'"),
    ("train/loop.py", None, "def unused(model):\n    return model"),
    ("train/recipes.py", "available", "_canary = 1"),
    ("tasks/fda.py", None, "def unused_generator_helper():\n    return 0"),
    ("tasks/fda.py", "generate", "_canary = 1"),
    ("tasks/base.py", "exact_count", "_canary = 1"),
], ids=["progress-function", "progress-new", "unused-in-loop-module", "recipes-listing",
        "generator-source", "generator-function", "noise-count"])
def test_edits_that_cannot_change_a_weight_keep_the_key(copied, tmp_path, module, function,
                                                        statement):
    before = key.weights_code(copied)
    after = key.weights_code(_edited(copied, tmp_path, module, function, statement))
    assert after == before


@pytest.mark.parametrize("module, function", [
    ("train/loop.py", "train"),
    ("train/loop.py", "build_model"),
    ("train/loop.py", "lr_at"),
    ("train/batching.py", "answer_loss"),
    ("train/batching.py", "encode"),
    ("train/dynamics.py", "_gates_met"),
    ("train/dynamics.py", "gates_held"),
    ("proportion.py", "wilson"),
], ids=["loop", "model-construction", "lr-schedule", "loss", "batching", "stopping-rule",
        "stopping-count", "stopping-interval"])
def test_edits_that_can_change_a_weight_change_the_key(copied, tmp_path, module, function):
    before = key.weights_code(copied)
    after = key.weights_code(_edited(copied, tmp_path, module, function))
    dotted = "suite." + module[:-3].replace("/", ".")
    assert _changed(before, after) == {f"{dotted}:{function}"}


def test_the_installed_suite_is_what_the_copy_reads(copied):
    assert key.weights_code(copied) == key.weights_code()


def test_a_generator_whose_output_changes_changes_the_data_digest():
    data = generate(make_spec("fda", n_train=60, n_heldout=20, seed=0))
    same = generate(make_spec("fda", n_train=60, n_heldout=20, seed=0))
    assert key.data_digest(same) == key.data_digest(data)
    first = data.noisy[0] if data.noisy else data.clean[0]
    label = tuple(reversed(first.label))
    moved = dataclasses.replace(data, clean=(dataclasses.replace(data.clean[0], label=label),)
                                + data.clean[1:])
    assert key.data_digest(moved) != key.data_digest(data)
    heldout = dataclasses.replace(data, heldout=data.heldout[1:])
    assert key.data_digest(heldout) != key.data_digest(data)


@pytest.mark.parametrize("module, function", [
    ("tasks/base.py", "max_length"),  # the context length sizes the position embedding
    ("tasks/base.py", "encode"),  # tokens to ids
], ids=["context-length", "vocab-encode"])
def test_edits_to_the_data_classes_the_loop_uses_change_the_key(copied, tmp_path, module,
                                                                 function):
    before = key.weights_code(copied)
    after = key.weights_code(_edited(copied, tmp_path, module, function))
    owner = "TaskData" if function == "max_length" else "Vocab"
    assert _changed(before, after) == {f"suite.tasks.base:{owner}"}


def test_module_level_code_of_a_module_the_loop_reaches_changes_the_key(copied, tmp_path):
    before = key.weights_code(copied)
    after = key.weights_code(_edited(copied, tmp_path, "train/loop.py", None,
                                     "torch.backends.cudnn.benchmark = True"))
    assert _changed(before, after) == {"suite.train.loop:<module>"}


@pytest.mark.parametrize("statement, error", [
    ("from .batching import encode", "relative or \\* import"),
    ("from suite.train.batching import *", "relative or \\* import"),
    ("from suite.train.batching import no_such_function", "defines no no_such_function"),
])
def test_an_import_the_reader_cannot_follow_is_an_error(copied, tmp_path, statement, error):
    root = _edited(copied, tmp_path, "train/loop.py", None, statement)
    if "no_such" in statement:  # reached only when a def uses it
        root = _edited(root, tmp_path / "again", "train/loop.py", "train",
                       "_canary = no_such_function")
    with pytest.raises(ValueError, match=error):
        key.weights_code(root)


def test_the_key_takes_plain_data_only():
    with pytest.raises(TypeError):
        key.digest({"recipe": object()})


def test_a_curriculum_driver_counts_in_staged_keys_only(copied, tmp_path):
    """An edit to suite.train.curriculum changes the code a staged recipe hashes and leaves
    every other recipe's code alone; the loop's edits reach both."""
    edited = _edited(copied, tmp_path, "train/curriculum.py", "train_after_first_stage")
    assert key.weights_code(edited) == key.weights_code(copied)
    staged = _changed(key.weights_code(copied, key.STAGED_ENTRIES),
                      key.weights_code(edited, key.STAGED_ENTRIES))
    assert staged == {"suite.train.curriculum:train_after_first_stage"}
    loop = _edited(copied, tmp_path / "loop", "train/loop.py", "train")
    assert "suite.train.loop:train" in _changed(key.weights_code(copied, key.STAGED_ENTRIES),
                                                key.weights_code(loop, key.STAGED_ENTRIES))
