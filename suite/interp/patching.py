"""Activation patching: run one input (or one model) with another's activation at a site.

- Between inputs (interchange patching, the one primitive every patching claim uses): the
  target item's activation at `site` and the given positions is replaced by the row-paired
  source item's activation there.
- Between models (checkpoint patching): a recipient model runs an input with a donor model's
  activations at `site` on the same input (all positions), e.g. M_pre's MLP neurons into M_final.

Both return the recipient's answer logits [N, A, V]; callers score them against whichever
label they ask about.
"""

from __future__ import annotations

from typing import Sequence

import torch

from suite.train.batching import Batch, answer_logits
from suite.interp.hooks import at_positions, compose, hooked


@torch.no_grad()
def patch_inputs(model: torch.nn.Module, source: Batch, target: Batch, site: str,
                 positions: Sequence[int]) -> torch.Tensor:
    """Answer logits of `target` with `site` at each of `positions` taken from the row-paired
    `source` (prompts of one length, so a position means the same slot in both)."""
    if len(source) != len(target):
        raise ValueError(f"source and target must pair row by row ({len(source)} vs {len(target)})")
    with hooked(model, capture=[site]) as acts:
        model(input_ids=source.ids)
    rows = len(target)
    edits = [at_positions(acts[site][:, p], torch.full((rows,), p, dtype=torch.long))
             for p in positions]
    with hooked(model, edit={site: compose(*edits)}):
        return answer_logits(model, target)


@torch.no_grad()
def patch_models(donor: torch.nn.Module, recipient: torch.nn.Module, batch: Batch,
                 site: str) -> torch.Tensor:
    """Answer logits of `recipient` on `batch` with `site` (all positions) taken from `donor`."""
    with hooked(donor, capture=[site]) as acts:
        donor(input_ids=batch.ids)
    donated = acts[site]
    with hooked(recipient, edit={site: lambda _: donated}):
        return answer_logits(recipient, batch)
