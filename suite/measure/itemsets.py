"""Item sets the claims are judged on, and the control labels they are compared with.

"Memorized items" (docs/CLAIMS.md): noisy training items the final model recalls, i.e. answers with
the injected label by greedy exact match. Control labels are other items' clean labels in a
seeded derangement, so a control has the same distribution of answers (the same priors at each
answer position) but no relation to the item.
"""

from __future__ import annotations

import random
from typing import Sequence

import torch

from suite.train.batching import encode, exact_match
from suite.tasks import Item, TaskData, Vocab


def recalled(model: torch.nn.Module, items: Sequence[Item], vocab: Vocab) -> torch.Tensor:
    """[N] bool: the model answers each item with its training label."""
    return exact_match(model, encode(items, vocab, "label"))


def memorized(model: torch.nn.Module, data: TaskData) -> list[Item]:
    """Noisy training items the model recalls with their noisy label."""
    hits = recalled(model, data.noisy, data.vocab)
    return [it for it, hit in zip(data.noisy, hits.tolist()) if hit]


def derangement(n: int, seed: int) -> list[int]:
    """A seeded permutation of range(n) with no fixed point (n >= 2)."""
    if n < 2:
        raise ValueError("a derangement needs at least 2 items")
    rng = random.Random(seed)
    order = list(range(n))
    rng.shuffle(order)
    # rotate within the shuffled order: item order[i] takes the label of order[i + 1]
    out = [0] * n
    for i in range(n):
        out[order[i]] = order[(i + 1) % n]
    return out


def control_labels(items: Sequence[Item], seed: int = 0) -> list[tuple[str, ...]]:
    """For each item, the clean label of another item (a seeded derangement)."""
    perm = derangement(len(items), seed)
    return [items[j].clean for j in perm]


def token_ids(labels: Sequence[tuple[str, ...]], vocab: Vocab) -> torch.Tensor:
    """[N, A] ids of answer labels."""
    return torch.tensor([vocab.encode(lab) for lab in labels], dtype=torch.long)
