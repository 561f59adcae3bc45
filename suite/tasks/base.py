"""Shared records for every synthetic task: the vocabulary, one item, one generated dataset.

Every task (FDA, THR, k-hop) produces the same shapes so that training, the store and the claims
never special-case a task: an `Item` carries its prompt, its clean label, the label it is trained
on (noisy for injected noise) and its intermediates; a `TaskData` holds the four splits and the
`Vocab` that turns tokens into ids. The vocabulary is built from the task spec alone, so it is
identical on every machine and is saved beside every model.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

SPLITS = ("clean", "noisy", "heldout", "atomic")
"""clean / noisy: training items with their true / injected label; heldout: never trained on;
atomic: THR and k-hop single-hop facts (trained on, and evaluated as 'atomic recall')."""

PAD = "<pad>"


class VocabMismatch(ValueError):
    """A model and a task disagree on tokens: the model would read ids as other tokens."""


@dataclass(frozen=True)
class Vocab:
    """Token strings <-> ids. id 0 is always the padding token."""

    tokens: tuple[str, ...]

    def __post_init__(self) -> None:
        if not self.tokens or self.tokens[0] != PAD:
            raise ValueError(f"a Vocab starts with {PAD!r}, got {self.tokens[:1]}")
        if len(set(self.tokens)) != len(self.tokens):
            dup = sorted({t for t in self.tokens if self.tokens.count(t) > 1})
            raise ValueError(f"duplicate tokens in Vocab: {dup}")
        object.__setattr__(self, "_index", {t: i for i, t in enumerate(self.tokens)})

    def __len__(self) -> int:
        return len(self.tokens)

    @property
    def pad_id(self) -> int:
        return 0

    def encode(self, tokens: Iterable[str]) -> list[int]:
        index: dict[str, int] = self._index  # type: ignore[attr-defined]
        try:
            return [index[t] for t in tokens]
        except KeyError as err:
            raise KeyError(f"token {err.args[0]!r} is not in this task's vocabulary") from None

    def decode(self, ids: Iterable[int]) -> tuple[str, ...]:
        return tuple(self.tokens[i] for i in ids)

    def check_matches(self, other: "Vocab", what: str = "model") -> None:
        """Raise VocabMismatch naming the first differing token."""
        if self.tokens == other.tokens:
            return
        if len(self.tokens) != len(other.tokens):
            raise VocabMismatch(
                f"the {what}'s vocabulary has {len(other.tokens)} tokens, the task needs "
                f"{len(self.tokens)}"
            )
        i = next(i for i, (a, b) in enumerate(zip(self.tokens, other.tokens)) if a != b)
        raise VocabMismatch(
            f"the {what}'s vocabulary differs from the task's at id {i}: "
            f"{other.tokens[i]!r} where the task has {self.tokens[i]!r}"
        )


@dataclass(frozen=True)
class Item:
    """One query. `label` is what training shows; it differs from `clean` only for noisy items."""

    prompt: tuple[str, ...]
    clean: tuple[str, ...]
    label: tuple[str, ...]
    split: str
    intermediates: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def is_noisy(self) -> bool:
        return self.label != self.clean


@dataclass(frozen=True)
class TaskData:
    """A generated dataset: one tuple of items per split, plus the vocabulary."""

    spec: Any  # the task's frozen spec dataclass
    vocab: Vocab
    clean: tuple[Item, ...]
    noisy: tuple[Item, ...]
    heldout: tuple[Item, ...]
    atomic: tuple[Item, ...] = ()

    def split(self, name: str) -> tuple[Item, ...]:
        if name not in SPLITS:
            raise KeyError(f"unknown split {name!r}; splits are {', '.join(SPLITS)}")
        return getattr(self, name)

    @property
    def train(self) -> tuple[Item, ...]:
        """Everything training sees: clean and noisy queries, and atomic facts."""
        return self.clean + self.noisy + self.atomic

    @property
    def answer_length(self) -> int:
        return len(self.heldout[0].clean) if self.heldout else len(self.clean[0].clean)

    @property
    def max_length(self) -> int:
        """Longest prompt + answer over all splits (the context the model needs)."""
        return max(len(it.prompt) + len(it.label) for s in SPLITS for it in self.split(s))


def exact_count(rate: float, n: int) -> int:
    """Number of noisy items for a rate: round half away from zero, so 5 % of 30 is 2 (not 1)."""
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"noise rate must lie in [0, 1], got {rate}")
    return int(rate * n + 0.5)


def check_disjoint(train: Sequence[Item], heldout: Sequence[Item]) -> None:
    seen = {it.prompt for it in train}
    clash = [it.prompt for it in heldout if it.prompt in seen]
    if clash:
        raise AssertionError(f"held-out prompts also in training: {clash[:3]}")
