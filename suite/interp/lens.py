"""Logit lens: read the residual stream at every depth through the final layer norm and unembedding.

The block outputs captured at `resid.i` are before the final norm (GPT-2's ln_f, Llama's norm), so
it is applied exactly once, also at the last layer, where the lens equals the model's own logits
(a golden test checks this per family; note that Hugging Face's hidden_states[-1] already has
the final norm applied and must not be lensed again).
"""

from __future__ import annotations

import torch

from suite.train.batching import Batch, chunks
from suite.interp.hooks import final_norm, gather_positions, hooked, resid_sites


def lens(model: torch.nn.Module, resid: torch.Tensor) -> torch.Tensor:
    """Logits [..., V] in float32 for residual-stream vectors [..., D]."""
    return model.get_output_embeddings()(final_norm(model)(resid)).float()


@torch.no_grad()
def lens_at_answers(model: torch.nn.Module, batch: Batch, chunk: int = 1024) -> torch.Tensor:
    """[S, N, A, V] lens logits at every residual site (embed, resid.0, ...) and answer position."""
    sites = resid_sites(model)
    out = []
    for part in chunks(model, batch, chunk):
        with hooked(model, capture=sites) as acts:
            model(input_ids=part.ids)
        per_site = []
        for s in sites:
            cols = [gather_positions(acts[s], part.positions[:, j]) for j in range(part.positions.shape[1])]
            per_site.append(lens(model, torch.stack(cols, 1)).cpu())
        out.append(torch.stack(per_site))
    return torch.cat(out, 1)


def target_rank(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Rank of each target among the vocabulary (0 = top), for logits [..., V], targets [...]."""
    targets = targets.expand(logits.shape[:-1])
    target_logit = logits.gather(-1, targets.unsqueeze(-1))
    return (logits > target_logit).sum(-1)


