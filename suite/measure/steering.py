"""The linear-reasoning-direction measurements (liref claims): a difference-of-means direction
between memorized and clean items at the last prompt position, fitted on one half of each group
and read on the other, with a label-shuffled control; and steering along it.

Everything here returns per-item numbers (projections, hits); the claim tests turn them into
measurements (AUROC, paired shares) and judge them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch

from suite.interp import directions
from suite.interp.hooks import hooked, resid_sites, run_capture
from suite.tasks import Item, Vocab
from suite.train.batching import Batch, answer_logits, encode


def halves(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """A seeded split of range(n) into a fitting half and a held-out half."""
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    return order[: n // 2], order[n // 2:]


def last_prompt_features(model: torch.nn.Module, items: Sequence[Item], vocab: Vocab
                         ) -> dict[str, torch.Tensor]:
    """{site: [N, D]} residual stream at the last prompt position, at every residual site."""
    batch = encode(items, vocab, "label")
    acts = run_capture(model, batch.ids, resid_sites(model))
    rows = torch.arange(len(items))
    return {s: a[rows, batch.positions[:, 0]] for s, a in acts.items()}


@dataclass(frozen=True)
class SiteDirection:
    """At one site: the fitted direction, the held-out halves' projections on it, and the same
    for the control direction (fitted with the two groups' labels shuffled)."""

    direction: torch.Tensor
    memorized: list[float]
    clean: list[float]
    control_memorized: list[float]
    control_clean: list[float]
    # v3: the control direction read on the held-out halves pooled and split at random into
    # two groups of the same sizes (no group structure), and the fitted direction read on the
    # halves it was fitted on (for choosing a site without the judged items)
    shuffled_a: list[float]
    shuffled_b: list[float]
    fit_memorized: list[float]
    fit_clean: list[float]


@dataclass(frozen=True)
class DirectionFit:
    memorized_test: torch.Tensor  # indices of the memorized items held out from the fit
    by_site: dict[str, SiteDirection]


def fit_direction(model: torch.nn.Module, memorized: Sequence[Item], clean: Sequence[Item],
                  vocab: Vocab) -> DirectionFit:
    """mean(memorized) - mean(clean) at each residual site, fitted on seeded halves (sites
    where every item has the same activation are left out), read on the other halves."""
    f_mem = last_prompt_features(model, memorized, vocab)
    f_clean = last_prompt_features(model, clean, vocab)
    mem_fit, mem_test = halves(len(memorized), 0)
    clean_fit, clean_test = halves(len(clean), 1)
    by_site = {}
    for site in resid_sites(model):
        d = directions.mean_difference(f_mem[site][mem_fit], f_clean[site][clean_fit])
        if float(d.norm()) < 1e-6:
            continue  # every item has the same activation here (e.g. FDA's '=' embedding)
        pooled = torch.cat([f_mem[site][mem_fit], f_clean[site][clean_fit]])
        perm = torch.randperm(len(pooled), generator=torch.Generator().manual_seed(2))
        half = len(mem_fit)
        d_ctrl = directions.mean_difference(pooled[perm[:half]], pooled[perm[half:]])
        held = torch.cat([f_mem[site][mem_test], f_clean[site][clean_test]])
        mix = torch.randperm(len(held), generator=torch.Generator().manual_seed(3))
        by_site[site] = SiteDirection(
            d,
            directions.component(f_mem[site][mem_test], d).tolist(),
            directions.component(f_clean[site][clean_test], d).tolist(),
            directions.component(f_mem[site][mem_test], d_ctrl).tolist(),
            directions.component(f_clean[site][clean_test], d_ctrl).tolist(),
            directions.component(held[mix[: len(mem_test)]], d_ctrl).tolist(),
            directions.component(held[mix[len(mem_test):]], d_ctrl).tolist(),
            directions.component(f_mem[site][mem_fit], d).tolist(),
            directions.component(f_clean[site][clean_fit], d).tolist())
    return DirectionFit(mem_test, by_site)


@torch.no_grad()
def steered_hits(model: torch.nn.Module, site: str, direction: torch.Tensor, alpha: float,
                 *batches: Batch, matched_to: torch.Tensor | None = None) -> list[torch.Tensor]:
    """Per batch, [N] float: greedy answers equal the targets with the component along
    `direction` scaled by alpha at `site`, at each row's last prompt position. matched_to: the
    control instead, a shift along `direction` as large as that edit of `matched_to` makes."""
    out = []
    for batch in batches:
        edit = (directions.scale_along(direction, alpha, batch.positions[:, 0])
                if matched_to is None else
                directions.shift_like(matched_to, alpha, direction, batch.positions[:, 0]))
        with hooked(model, edit={site: edit}):
            out.append((answer_logits(model, batch).argmax(-1) == batch.targets).all(-1).float())
    return out
