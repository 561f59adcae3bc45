"""Four-digit addition (FDA) with injected label noise (Reason to Rote, arXiv 2507.04782).

Items read `a+b=` one character per token and are answered with the sum's digits. The answer has
a fixed width (digits + 1, zero-padded) and, by default, is written least-significant digit
first: a small model then computes each answer digit from the columns it has already produced,
which makes addition learnable from a few thousand items in minutes on a CPU. The choice is a
spec field (`reverse_answer`) and is stated in every saved task spec.

Noise: an exact count, round(rate * n_train), of training items get a random label with the same
number of digits as the true sum and never equal to it. Intermediates per item, least
significant column first: `column_sums` (a_i + b_i, 0..18), `carries` (carry out of column i)
and `sum_digits` (the true answer digits), so claims can probe or patch them.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from suite.tasks.base import PAD, Item, TaskData, Vocab, check_disjoint, exact_count

DIGITS = tuple("0123456789")


@dataclass(frozen=True)
class FDASpec:
    n_train: int = 3000
    n_heldout: int = 500
    noise: float = 0.05
    seed: int = 0
    digits: int = 4
    reverse_answer: bool = True

    task = "fda"

    def __post_init__(self) -> None:
        if self.digits < 1:
            raise ValueError(f"digits must be >= 1, got {self.digits}")
        lo = 10 ** (self.digits - 1)
        space = (10**self.digits - lo) ** 2
        if self.n_train < 1 or self.n_heldout < 0 or self.n_train + self.n_heldout > space // 2:
            raise ValueError(
                f"n_train={self.n_train}, n_heldout={self.n_heldout} do not fit the "
                f"{space} distinct {self.digits}-digit pairs (use at most half of them)"
            )
        exact_count(self.noise, self.n_train)  # validates the rate


def vocab(spec: FDASpec) -> Vocab:
    return Vocab((PAD,) + DIGITS + ("+", "="))


def true_sum(a: int, b: int) -> int:
    return a + b


def intermediates(a: int, b: int, digits: int) -> dict[str, tuple[int, ...]]:
    """Per-column sums, carries out and result digits, least significant column first."""
    column_sums, carries, sum_digits = [], [], []
    carry = 0
    for i in range(digits):
        s = (a // 10**i) % 10 + (b // 10**i) % 10
        column_sums.append(s)
        sum_digits.append((s + carry) % 10)
        carry = (s + carry) // 10
        carries.append(carry)
    sum_digits.append(carry)
    return {
        "column_sums": tuple(column_sums),
        "carries": tuple(carries),
        "sum_digits": tuple(sum_digits),
    }


def answer_tokens(value: int, spec: FDASpec) -> tuple[str, ...]:
    text = str(value).zfill(spec.digits + 1)
    if len(text) != spec.digits + 1:
        raise ValueError(f"{value} does not fit {spec.digits + 1} answer digits")
    return tuple(reversed(text)) if spec.reverse_answer else tuple(text)


def answer_value(tokens: tuple[str, ...], spec: FDASpec) -> int:
    text = "".join(reversed(tokens)) if spec.reverse_answer else "".join(tokens)
    return int(text)


def prompt_tokens(a: int, b: int) -> tuple[str, ...]:
    return tuple(str(a)) + ("+",) + tuple(str(b)) + ("=",)


def noisy_value(true: int, rng: random.Random) -> int:
    """A random number with as many digits as `true`, never equal to it."""
    width = len(str(true))
    lo, hi = (0 if width == 1 else 10 ** (width - 1)), 10**width - 1
    while True:
        value = rng.randint(lo, hi)
        if value != true:
            return value


def generate(spec: FDASpec) -> TaskData:
    rng = random.Random(f"fda-{spec.seed}")
    lo, hi = 10 ** (spec.digits - 1), 10**spec.digits - 1
    pairs: dict[tuple[int, int], None] = {}
    while len(pairs) < spec.n_train + spec.n_heldout:
        pairs[(rng.randint(lo, hi), rng.randint(lo, hi))] = None
    ordered = list(pairs)
    train_pairs, heldout_pairs = ordered[: spec.n_train], ordered[spec.n_train :]
    noisy_idx = set(rng.sample(range(spec.n_train), exact_count(spec.noise, spec.n_train)))

    def item(a: int, b: int, split: str, label: int | None = None) -> Item:
        clean = true_sum(a, b)
        return Item(
            prompt=prompt_tokens(a, b),
            clean=answer_tokens(clean, spec),
            label=answer_tokens(clean if label is None else label, spec),
            split=split,
            intermediates={"a": a, "b": b, "sum": clean, **intermediates(a, b, spec.digits)},
        )

    clean, noisy = [], []
    for i, (a, b) in enumerate(train_pairs):
        if i in noisy_idx:
            noisy.append(item(a, b, "noisy", noisy_value(true_sum(a, b), rng)))
        else:
            clean.append(item(a, b, "clean"))
    heldout = [item(a, b, "heldout") for a, b in heldout_pairs]
    check_disjoint(clean + noisy, heldout)
    return TaskData(spec, vocab(spec), tuple(clean), tuple(noisy), tuple(heldout))
