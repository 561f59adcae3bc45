"""Arithmetic heuristics (Nikankin et al. 2024, arXiv 2410.21272) as prompt sets, and the
classification of MLP neurons by which heuristic their firing pattern matches.

A heuristic is a simple property of an addition prompt `a+b=`: an operand or the result lies in
a range, has a residue modulo a small number, or has a given digit at a given place; or a column
of the addition sums to a value or carries. Its prompt set is the prompts with that property.
A neuron's prompt set is the prompts on which it fires strongly (activation >= half its maximum
over the prompts, at the answer position where its mean |activation| is largest). A neuron
matches the heuristic whose prompt set overlaps its own best, by Jaccard index.

`neuron_reuse` gives the top-attribution neurons for memorized and for clean items, for the
claim that memorization reuses the heuristic neurons (rr.heuristic_neurons_reused, v2);
`split_half_reuse` does the same without reading any item twice (v3): neurons are chosen on one
half of each group and counted on the other, by the attribution of the answer's logit over an
alternative's (memorized: the noisy label over the clean one).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch

from suite.interp import attribution
from suite.interp.hooks import n_layers
from suite.measure.mechanism import answer_features
from suite.tasks import Item
from suite.train.batching import Batch

RANGE_WIDTH = 1000
MODULI = (2, 3, 5)  # residues modulo 10 are the last digit, a digit pattern
FIRE_SHARE_OF_MAX = 0.5


def fda_heuristics(items: Sequence[Item]) -> dict[str, torch.Tensor]:
    """{name: [N] bool prompt set} over FDA items; sets that hold for no or every item are left
    out (they cannot distinguish prompts)."""
    values = {k: torch.tensor([it.intermediates[k] for it in items]) for k in ("a", "b", "sum")}
    sets: dict[str, torch.Tensor] = {}
    for name, v in values.items():
        for lo in range(0, int(v.max()) + 1, RANGE_WIDTH):
            sets[f"{name} in [{lo}, {lo + RANGE_WIDTH})"] = (v >= lo) & (v < lo + RANGE_WIDTH)
        for m in MODULI:
            for r in range(m):
                sets[f"{name} mod {m} == {r}"] = v % m == r
        for place in range(len(str(int(v.max())))):
            digit = (v // 10**place) % 10
            for d in range(10):
                sets[f"{name} digit {place} == {d}"] = digit == d
    columns = torch.tensor([it.intermediates["column_sums"] for it in items])
    carries = torch.tensor([it.intermediates["carries"] for it in items])
    for place in range(columns.shape[1]):
        for s in range(19):
            sets[f"column {place} sums to {s}"] = columns[:, place] == s
        sets[f"column {place} carries"] = carries[:, place] == 1
    n = len(items)
    return {k: m for k, m in sets.items() if 0 < int(m.sum()) < n}


def firing(acts: torch.Tensor) -> torch.Tensor:
    """[N, A, U] activations (items, answer positions, units) -> [N, U] bool: where each unit
    fires strongly at its own most active answer position."""
    position = acts.abs().mean(0).argmax(0)  # [U]
    chosen = acts.gather(1, position.view(1, 1, -1).expand(acts.shape[0], 1, -1)).squeeze(1)
    peak = chosen.max(0).values
    return (chosen >= FIRE_SHARE_OF_MAX * peak) & (peak > 0)


KINDS = ((" in [", "range"), (" mod ", "modulo"), (" digit ", "digit"), (" sums to ", "column sum"),
         (" carries", "carry"))


def kind(heuristic: str) -> str:
    """The family of a heuristic's name: range, modulo, digit, column sum or carry."""
    return next(k for marker, k in KINDS if marker in heuristic)


@dataclass(frozen=True)
class Match:
    unit: int
    heuristic: str
    jaccard: float


def best_matches(fires: torch.Tensor, heuristics: dict[str, torch.Tensor]) -> list[Match]:
    """For each unit (column of `fires`), the heuristic whose prompt set has the highest Jaccard
    index with the unit's."""
    names = list(heuristics)
    sets = torch.stack([heuristics[k] for k in names], 1).float()  # [N, H]
    f = fires.float()  # [N, U]
    inter = f.T @ sets  # [U, H]
    union = f.sum(0)[:, None] + sets.sum(0)[None, :] - inter
    jaccard = torch.where(union > 0, inter / union.clamp(min=1), torch.zeros_like(inter))
    best, index = jaccard.max(1)
    return [Match(u, names[int(i)], float(b)) for u, (b, i) in enumerate(zip(best, index))]


@dataclass(frozen=True)
class NeuronReuse:
    """Top neurons by attribution (all MLP layers, neuron index over the concatenated layers)
    for memorized and clean items, and which memorized items have each memorized top neuron
    in their own top k."""

    k: int
    population: int
    top_memorized: set[int]
    top_clean: set[int]
    membership: torch.Tensor  # [items, top memorized neurons, in index order] bool


def neuron_reuse(model: torch.nn.Module, memorized: Batch, clean: Batch,
                 share: float = 0.05) -> NeuronReuse:
    """Attribution (activation x gradient) of every MLP neuron for memorized items (noisy
    label) and clean items (clean label); the top `share` of neurons by mean |attribution| in
    each group, and per memorized item its own top `share`."""
    layers = range(n_layers(model))
    mem_attr = torch.cat([attribution.neuron_attribution(model, memorized, l) for l in layers], 1)
    clean_attr = torch.cat([attribution.neuron_attribution(model, clean, l) for l in layers], 1)
    population = mem_attr.shape[1]
    k = max(1, round(share * population))
    top_mem = set(attribution.top_neurons(mem_attr, k).tolist())
    top_clean = set(attribution.top_neurons(clean_attr, k).tolist())
    per_item_top = torch.topk(mem_attr.abs(), k, dim=1).indices
    membership = torch.stack([(per_item_top == j).any(1) for j in sorted(top_mem)], 1)
    return NeuronReuse(k, population, top_mem, top_clean, membership)


@dataclass(frozen=True)
class Classification:
    """The top-attribution neurons, when each fires on the held-out prompts, the heuristic each
    matches best, and the same for the control (each neuron's firing pattern permuted across
    prompts, which keeps how often it fires and breaks what it fires on)."""

    top: torch.Tensor  # [k] neuron indices over the concatenated MLP layers
    fires: torch.Tensor  # [prompts, k] bool
    heuristics: dict[str, torch.Tensor]
    matches: list[Match]
    control: list[Match]
    permuted: torch.Tensor  # [prompts, k] bool: the control's firing


def classify_top_neurons(model: torch.nn.Module, attributed: Batch, heldout: Sequence[Item],
                         heldout_batch: Batch, top_share: float) -> Classification:
    """The top `top_share` of MLP neurons by mean |attribution| on `attributed`, classified by
    the heuristic whose prompt set (over the held-out prompts) best matches their firing."""
    layers = range(n_layers(model))
    attr = torch.cat([attribution.neuron_attribution(model, attributed, l) for l in layers], 1)
    k = max(1, round(top_share * attr.shape[1]))
    top = attribution.top_neurons(attr, k)
    sites = [f"mlp.{l}" for l in layers]
    acts = answer_features(model, heldout_batch, sites)
    acts = torch.cat([acts[s] for s in sites], -1)[:, :, top]  # [N, A, k]
    fires = firing(acts)
    heuristics = fda_heuristics(heldout)
    generator = torch.Generator().manual_seed(0)
    permuted = torch.stack([fires[torch.randperm(len(fires), generator=generator), u]
                            for u in range(fires.shape[1])], 1)
    return Classification(top, fires, heuristics, best_matches(fires, heuristics),
                          best_matches(permuted, heuristics), permuted)


@dataclass(frozen=True)
class GroupTops:
    """One group's top neurons chosen on its first half, and for each item of its second half
    which of them are in the item's own top k."""

    top: tuple[int, ...]  # neuron indices over the concatenated MLP layers, ascending
    membership: torch.Tensor  # [second-half items, len(top)] bool
    second_half_top: frozenset[int]  # the top neurons chosen on the second half instead
    chosen_on: torch.Tensor  # [first-half items, neurons]: the attribution `top` was chosen on


@dataclass(frozen=True)
class SplitHalfReuse:
    k: int
    population: int
    memorized: GroupTops
    clean: GroupTops


def _attribution(model: torch.nn.Module, batch: Batch, against: torch.Tensor) -> torch.Tensor:
    """[N, neurons over the concatenated MLP layers]: attribution of target minus against."""
    return torch.cat([attribution.neuron_attribution(model, batch, l, against=against)
                      for l in range(n_layers(model))], 1)


def _group_tops(attr: torch.Tensor, k: int) -> GroupTops:
    """The k neurons with the largest mean attribution (signed: those pushing the target over
    the alternative) on the even items, and the per-item top k of the odd items."""
    first, second = attr[0::2], attr[1::2]
    top = torch.topk(first.mean(0), k).indices.sort().values
    per_item = torch.topk(second, k, dim=1).indices
    membership = torch.stack([(per_item == j).any(1) for j in top.tolist()], 1)
    return GroupTops(tuple(top.tolist()), membership,
                     frozenset(torch.topk(second.mean(0), k).indices.tolist()), first)


def split_half_reuse(model: torch.nn.Module, memorized: Batch, memorized_clean: torch.Tensor,
                     clean: Batch, clean_other: torch.Tensor, share: float = 0.05
                     ) -> SplitHalfReuse:
    """The top `share` of MLP neurons for memorized items (noisy label over clean label,
    `memorized_clean`: [N, A] the clean tokens) and for clean items (clean label over another
    item's, `clean_other`), each chosen on the group's even items; membership counted on its
    odd items, which the choice never read."""
    mem_attr = _attribution(model, memorized, memorized_clean)
    clean_attr = _attribution(model, clean, clean_other)
    population = mem_attr.shape[1]
    k = max(1, round(share * population))
    return SplitHalfReuse(k, population, _group_tops(mem_attr, k), _group_tops(clean_attr, k))
