"""MLP neuron attribution: each neuron's effect on the answer, by activation x gradient.

The score of an item is the sum over its answer positions of the target token's logit (teacher
forced), or, given an alternative token per position, of the target's logit minus the
alternative's: the neurons that push the answer given over another (e.g. a memorized label over
the clean one), rather than every neuron that raises the target's logit.
attribution[n, j] = sum over positions t of act[n, t, j] * d score_n / d act[n, t, j], the
first-order estimate of how much the score drops when neuron j is zeroed everywhere
(`ablation_effect` measures that directly, and a test checks the two agree).
"""

from __future__ import annotations

import torch

from suite.train.batching import Batch, answer_logits, chunks
from suite.interp.hooks import hooked


def answer_score(logits: torch.Tensor, targets: torch.Tensor,
                 against: torch.Tensor | None = None) -> torch.Tensor:
    """[N]: sum over answer positions of the target logit, minus the `against` token's logit
    ([N, A] token ids) where given."""
    score = logits.gather(-1, targets.unsqueeze(-1)).squeeze(-1)
    if against is not None:
        score = score - logits.gather(-1, against.unsqueeze(-1)).squeeze(-1)
    return score.sum(-1)


def neuron_attribution(model: torch.nn.Module, batch: Batch, layer: int,
                       chunk: int = 512, against: torch.Tensor | None = None) -> torch.Tensor:
    """[N, H] activation x gradient of each MLP neuron of `layer` for each item; of the target
    logit minus the `against` token's ([N, A] token ids, aligned with batch.targets) if given."""
    site = f"mlp.{layer}"
    out, start = [], 0
    for part in chunks(model, batch, chunk):
        alternative = None
        if against is not None:
            alternative = against[start:start + len(part)].to(part.targets.device)
            start += len(part)
        with hooked(model, capture=[site], detach=False) as acts:
            score = answer_score(answer_logits(model, part), part.targets, alternative)
        act = acts[site]
        grad, = torch.autograd.grad(score.sum(), act)
        out.append((act * grad).sum(1).detach().cpu())
    return torch.cat(out)


@torch.no_grad()
def ablation_effect(model: torch.nn.Module, batch: Batch, layer: int,
                    neurons: list[int]) -> torch.Tensor:
    """[N, len(neurons)]: score(original) - score(neuron zeroed at every position)."""
    site = f"mlp.{layer}"
    base = answer_score(answer_logits(model, batch), batch.targets)
    cols = []
    for j in neurons:
        def zero(act: torch.Tensor, j: int = j) -> torch.Tensor:
            act = act.clone()
            act[..., j] = 0
            return act
        with hooked(model, edit={site: zero}):
            cols.append(base - answer_score(answer_logits(model, batch), batch.targets))
    return torch.stack(cols, 1)


def top_neurons(attribution: torch.Tensor, k: int) -> torch.Tensor:
    """Indices of the k neurons with the largest mean |attribution| over the given items."""
    return torch.topk(attribution.abs().mean(0), k).indices.sort().values
