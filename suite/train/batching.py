"""Items -> tensors, and the one forward pass every metric and analysis reads answers from.

A query is the prompt followed by an answer (teacher forcing), right-padded to a common length.
With causal attention, padding after an item never changes its logits, so no attention mask is
needed. The logits that predict answer token j sit at position len(prompt) - 1 + j.

Exact match under teacher forcing (every answer position's argmax equals the target) is the
same event as greedy decoding producing the target, so accuracy costs one forward pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, Sequence

import torch

from suite.tasks import Item, Vocab

TARGETS = ("label", "clean")


@dataclass(frozen=True)
class Batch:
    ids: torch.Tensor  # [N, L] prompt + answer, right-padded
    positions: torch.Tensor  # [N, A] positions whose logits predict the answer tokens
    targets: torch.Tensor  # [N, A] answer token ids

    def __len__(self) -> int:
        return self.ids.shape[0]

    def to(self, device: torch.device | str) -> "Batch":
        return Batch(self.ids.to(device), self.positions.to(device), self.targets.to(device))

    def select(self, index: torch.Tensor | slice) -> "Batch":
        return Batch(self.ids[index], self.positions[index], self.targets[index])

    def read_prefix(self) -> "Batch":
        """The batch cut after the last position whose logits predict an answer token.

        With causal attention the positions after it (every item's last answer token, and
        padding) never change the logits that are read, so answer_logits and answer_loss give the
        same values on the cut batch for fewer FLOPs (a quarter fewer on THR's four tokens). Only
        for code that reads answers alone: a hook that expects the full length sees the cut one."""
        if not self.positions.numel():
            return self
        return Batch(self.ids[:, : int(self.positions.max()) + 1], self.positions, self.targets)


def encode(items: Sequence[Item], vocab: Vocab, target: str = "label") -> Batch:
    """Teacher-forced batch of `items`, answered with their training label or clean label."""
    if target not in TARGETS:
        raise ValueError(f"target must be one of {TARGETS}, got {target!r}")
    if not items:
        return Batch(torch.zeros(0, 1, dtype=torch.long), torch.zeros(0, 0, dtype=torch.long),
                     torch.zeros(0, 0, dtype=torch.long))
    answers = [getattr(it, target) for it in items]
    n_answer = len(answers[0])
    if any(len(a) != n_answer for a in answers):
        raise ValueError("all items in a batch must have answers of one length")
    length = max(len(it.prompt) + n_answer for it in items)
    ids = torch.full((len(items), length), vocab.pad_id, dtype=torch.long)
    positions = torch.empty(len(items), n_answer, dtype=torch.long)
    for row, (it, ans) in enumerate(zip(items, answers)):
        seq = vocab.encode(it.prompt + ans)
        ids[row, : len(seq)] = torch.tensor(seq)
        positions[row] = torch.arange(len(it.prompt) - 1, len(it.prompt) - 1 + n_answer)
    targets = torch.tensor([vocab.encode(a) for a in answers], dtype=torch.long)
    return Batch(ids, positions, targets)


def answer_logits(model: torch.nn.Module, batch: Batch) -> torch.Tensor:
    """[N, A, V] logits at the answer positions, in float32.

    The unembedding runs on the answer positions only (the other positions' logits are never
    read): the model's body, then its output layer on the gathered hidden states."""
    hidden = model.base_model(input_ids=batch.ids).last_hidden_state
    rows = torch.arange(len(batch), device=batch.ids.device)[:, None]
    return model.get_output_embeddings()(hidden[rows, batch.positions]).float()


def answer_loss(model: torch.nn.Module, batch: Batch) -> torch.Tensor:
    logits = answer_logits(model, batch)
    return torch.nn.functional.cross_entropy(logits.flatten(0, 1), batch.targets.flatten())


def chunks(model: torch.nn.Module, batch: Batch, size: int) -> Iterator[Batch]:
    """`batch` in slices of `size` rows, each on the model's device: the one chunked-forward
    loop (evaluation, lens, attribution)."""
    device = next(model.parameters()).device
    for start in range(0, len(batch), size):
        yield batch.select(slice(start, start + size)).to(device)


@torch.no_grad()
def exact_match(model: torch.nn.Module, batch: Batch, chunk: int = 2048) -> torch.Tensor:
    """[N] bool: the model's greedy answer equals the batch's targets."""
    out = []
    for part in chunks(model, batch, chunk):
        pred = answer_logits(model, part).argmax(-1)
        out.append((pred == part.targets).all(-1).cpu())
    return torch.cat(out) if out else torch.zeros(0, dtype=torch.bool)
