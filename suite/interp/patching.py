"""Activation patching: run one input (or one model) with another's activation at a site.

- Between inputs (interchange patching, the one primitive every patching claim uses): the
  target item's activation at `site` and the given positions is replaced by the row-paired
  source item's activation there, or only its component in a given subspace (the
  intermediate's, so that the rest of the vector, e.g. the prompt's own tokens, stays).
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
                 positions: Sequence[int], subspace: torch.Tensor | None = None) -> torch.Tensor:
    """Answer logits of `target` with `site` at each of `positions` taken from the row-paired
    `source` (prompts of one length, so a position means the same slot in both). subspace
    ([D, D], an operator M such as an eraser's removed component): only the component x M^T
    is taken from the source, the rest of the target's vector stays (x_t + (x_s - x_t) M^T)."""
    if len(source) != len(target):
        raise ValueError(f"source and target must pair row by row ({len(source)} vs {len(target)})")
    with hooked(model, capture=[site]) as acts:
        model(input_ids=source.ids)
    rows = len(target)
    if subspace is None:
        edits = [at_positions(acts[site][:, p], torch.full((rows,), p, dtype=torch.long))
                 for p in positions]
    else:
        edits = [_swap_component(acts[site][:, p], p, subspace) for p in positions]
    with hooked(model, edit={site: compose(*edits)}):
        return answer_logits(model, target)


def _swap_component(values: torch.Tensor, position: int, operator: torch.Tensor):
    """An edit replacing, at `position` of every row, the component x M^T of the activation by
    that of values[row]."""
    def fn(act: torch.Tensor) -> torch.Tensor:
        out = act.clone()
        m = operator.to(act.device, act.dtype)
        here = act[:, position]
        out[:, position] = here + (values.to(act.device, act.dtype) - here) @ m.T
        return out
    return fn


@torch.no_grad()
def patch_models(donor: torch.nn.Module, recipient: torch.nn.Module, batch: Batch,
                 site: str) -> torch.Tensor:
    """Answer logits of `recipient` on `batch` with `site` (all positions) taken from `donor`."""
    with hooked(donor, capture=[site]) as acts:
        donor(input_ids=batch.ids)
    donated = acts[site]
    with hooked(recipient, edit={site: lambda _: donated}):
        return answer_logits(recipient, batch)
