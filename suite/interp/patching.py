"""Activation patching: run one input (or one model) with another's activation at a site.

- Between inputs (counterfactual patching): the target item's activation at `site` and one
  position per row is replaced by the source item's activation at its position.
- Between models (checkpoint patching): a recipient model runs an input with a donor model's
  activations at `site` on the same input (all positions), e.g. M_pre's MLP neurons into M_final.

Both return the recipient's answer logits [N, A, V]; callers score them with `lens.decodes` or
`lens.target_rank` against whichever label they ask about.
"""

from __future__ import annotations

from typing import Sequence

import torch

from suite.train.batching import Batch, answer_logits
from suite.interp.hooks import at_positions, gather_positions, hooked


@torch.no_grad()
def capture_at(model: torch.nn.Module, batch: Batch, site: str,
               positions: torch.Tensor) -> torch.Tensor:
    """[N, D]: the site's activation of each row at its position."""
    with hooked(model, capture=[site]) as acts:
        model(input_ids=batch.ids)
    return gather_positions(acts[site], positions)


@torch.no_grad()
def patch_inputs(model: torch.nn.Module, source: Batch, target: Batch, site: str,
                 source_positions: torch.Tensor, target_positions: torch.Tensor) -> torch.Tensor:
    """Answer logits of `target` with `site` at target_positions taken from `source` (row-paired)."""
    if len(source) != len(target):
        raise ValueError(f"source and target must pair row by row ({len(source)} vs {len(target)})")
    values = capture_at(model, source, site, source_positions)
    with hooked(model, edit={site: at_positions(values, target_positions)}):
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


@torch.no_grad()
def sweep_inputs(model: torch.nn.Module, source: Batch, target: Batch, sites: Sequence[str],
                 positions: Sequence[int]) -> torch.Tensor:
    """[S, P, N, A, V] answer logits for patching each site at each (shared) position.

    Every row is patched at the same position index p in source and target (prompts of one
    length, as in FDA or THR two-hop queries).
    """
    out = []
    n = len(target)
    for site in sites:
        per_pos = []
        for p in positions:
            pos = torch.full((n,), p, dtype=torch.long, device=target.ids.device)
            per_pos.append(patch_inputs(model, source, target, site, pos, pos))
        out.append(torch.stack(per_pos))
    return torch.stack(out)
