"""The models a claims selection needs, and which the store already holds: `memsuite plan`.

A selection (`-k`, `--seeds`, `--noise`, `--scale`, `--arch`) is collected by pytest exactly as
`pytest claims/` would collect it, and every model its tests would train is listed: the models
the claim tests are parametrized with, the tiny seed-0 reference models the known-answer
cases plant into, and the grid points a sweep test declares with `@pytest.mark.models`. Each is a `Spec`: the resolved recipe, seed, noise rate, family, device and
CPU threads, which together are its store key (suite.train.key), so that a model trained from
the plan elsewhere is the one the judging run finds. Nothing is trained here.

The k-hop v3 sweeps declare their grid points (claims/test_khop_scaling.py), the curriculum its
k-alone model and its staged model (one entry: suite.train.curriculum trains both stages).
"""

from __future__ import annotations

import contextlib
import io
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Sequence

import pytest


@dataclass(frozen=True)
class Spec:
    """One model a selection needs."""

    recipe: dict[str, Any]  # the resolved recipe (seed and noise applied), as recipe.json
    name: str
    seed: int
    noise: float
    arch: str
    device: str
    threads: int
    entry: str  # the store entry's name (recipe, seed, noise, key)
    stored: bool  # the store holds it (and its manifest checks out)
    needed_by: int  # how many collected tests use it

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @staticmethod
    def from_dict(d: dict[str, Any]) -> "Spec":
        return Spec(**d)

    def resolve(self) -> Any:
        """The Recipe to train."""
        from suite.train.recipes import Recipe

        return Recipe.from_dict(self.recipe)


class _Needed:
    """A pytest plugin that records, once the selection is final, the models it trains: as
    specs made while the run's settings (--threads, --device) are in force."""

    def __init__(self) -> None:
        self.specs: list[Spec] = []

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        """After every selection (-k, -m, --shard, the plugin's own): what the run would run."""
        from suite.validate import plants
        from suite.validate.known import reference_recipe

        counts: dict[str, tuple[Any, int]] = {}
        for item in session.items:
            params = getattr(getattr(item, "callspec", None), "params", {})
            wanted = []
            model = params.get("trained")  # the plugin's ModelRequest (or a --model-dir model)
            if callable(getattr(model, "resolve", None)):
                wanted.append(model.resolve())
            declared = item.get_closest_marker("models")
            if declared is not None and "sweep_base" in params:  # a sweep's grid points
                wanted += declared.args[0](params["sweep_base"])
            if item.get_closest_marker("known_answer") and isinstance(params.get("task"), str) \
                    and params["task"] in ("fda", "thr"):
                case = params.get("case")  # a KnownCase; a written sweep trains nothing
                if case is None or plants.needs_reference(plants.named(case.plant)):
                    wanted.append(reference_recipe(params["task"], getattr(case, "reference", "")))
            for recipe in wanted:
                key = json.dumps(recipe.to_dict(), sort_keys=True)
                old = counts.get(key, (recipe, 0))
                counts[key] = (recipe, old[1] + 1)
        self.specs = [_spec(recipe, count) for recipe, count in counts.values()]


def _spec(recipe: Any, count: int) -> Spec:
    """A recipe's spec under this process's threads and device, and whether it is stored."""
    import torch

    from suite import store

    name = store.entry_name(recipe)
    try:
        store.verify_entry(store.store_root() / name)
        stored = True
    except store.CorruptEntry:
        stored = False
    return Spec(recipe.to_dict(), recipe.name, recipe.task.seed, float(recipe.task.noise),
                recipe.model.arch, store.device().type, torch.get_num_threads(), name, stored,
                count)


def plan(pytest_args: Sequence[str], claims: Path) -> list[Spec]:
    """The models the claims in `claims` need under `pytest_args` (the run options), in the
    order the tests first use them. A usage error (a bad option) is a ValueError. The run's
    --threads and --device hold while it collects, and are given back after."""
    needed = _Needed()
    said = io.StringIO()
    with contextlib.redirect_stdout(said):
        code = pytest.main([str(claims), "--collect-only", "-q", "-p", "no:cacheprovider",
                            *pytest_args], plugins=[needed])
    if code not in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED):
        raise ValueError(f"the selection could not be collected (pytest exit {int(code)}):\n"
                         + said.getvalue()[-2000:])
    return needed.specs


def table(specs: Sequence[Spec]) -> str:
    """The plan as a readable table."""
    rows = [("model", "family", "device", "threads", "tests", "store")] + [
        (s.entry, s.arch, s.device, str(s.threads), str(s.needed_by),
         "stored" if s.stored else "MISSING") for s in specs]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    missing = sum(not s.stored for s in specs)
    return "\n".join(lines + [f"{len(specs)} models, {len(specs) - missing} stored, "
                              f"{missing} missing"])
