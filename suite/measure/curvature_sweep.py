"""The loss-curvature edit swept over kept curvature mass (curv claims): for each rho, which
memorized, held-out and atomic items the K-FAC-edited model and the magnitude (SVD) baseline
keeping the same share of components still answer.

Returns per-item hits; the claim tests turn them into measurements and judge them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import torch

from suite.interp import curvature
from suite.tasks import Item, TaskData
from suite.train.batching import encode, exact_match


@dataclass(frozen=True)
class Sweep:
    base: dict[str, torch.Tensor]  # split -> [N] bool hits of the unedited model
    rows: list[dict]  # per rho: {"rho", "kfac": {split: hits}, "svd": {split: hits}}
    n_memorized: int


_factors: dict = {}


def _training_factors(model: torch.nn.Module, data: TaskData,
                      name: str | None) -> dict[str, curvature.Factors]:
    if name is None:
        return curvature.kfac_factors(model, encode(data.train, data.vocab))
    key = (name, tuple(data.train))
    if key not in _factors:
        _factors[key] = curvature.kfac_factors(model, encode(data.train, data.vocab))
    return _factors[key]


def sweep(model: torch.nn.Module, data: TaskData, memorized: Sequence[Item],
          keep_mass: Sequence[float], name: str | None = None) -> Sweep:
    """K-FAC factors from the training items, then every edit in `keep_mass`, scored on the
    memorized items (against their noisy labels), the held-out items and the atomic facts.

    With `name` (the key of the stored model `model` is) the factors are computed once per
    process for that model and data: every sweep of a model (v1's and v2's kept masses, and
    their known answers) edits in the same factors, which are deterministic for one model and
    data (issue 13: analyses batched)."""
    factors = _training_factors(model, data, name)
    sets = {"memorized": encode(memorized, data.vocab, "label"),
            "heldout": encode(data.heldout, data.vocab)}
    if data.atomic:
        sets["atomic"] = encode(data.atomic, data.vocab)
    base = {k: exact_match(model, b) for k, b in sets.items()}
    rows = []
    for rho in keep_mass:
        edited, baseline, _ = curvature.edit_model(model, factors, rho)
        rows.append({"rho": rho,
                     "kfac": {k: exact_match(edited, b) for k, b in sets.items()},
                     "svd": {k: exact_match(baseline, b) for k, b in sets.items()}})
    return Sweep(base, rows, len(memorized))


def sweep_of(stored: Any, model: torch.nn.Module, memorized: Sequence[Item],
             keep_mass: Sequence[float]) -> Sweep:
    """The sweep of a stored model (`sweep`, its factors cached under its key), or, for a rule
    check's subject that carries one (`written_sweep(memorized, keep_mass)`), the written one."""
    written = getattr(stored, "written_sweep", None)
    if written is not None:
        return written(memorized, keep_mass)
    return sweep(model, stored.data, memorized, keep_mass, name=stored.key)


def facts_of(item: Item) -> tuple[tuple[str, str], tuple[str, str]]:
    """The two atomic prompts a two-hop item `e r1 r2` rests on: (e, r1) and (bridge, r2)."""
    e, r1, r2 = item.prompt
    return (e, r1), (f"e{item.intermediates['bridge']}", r2)
