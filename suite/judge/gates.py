"""Precondition gates: a model must show the phenomenon before a claim is judged on it.

Held-out accuracy >= 0.9 and noisy recall >= 0.9, each as the lower bound of a 95 %
Wilson interval, and M_pre exists; claims about earlier vs later layers also need depth
("deep": three blocks or more). A model that misses a gate makes the claims that need it
report "precondition not met" with the measured numbers: the model did not learn or did not
memorize, which says nothing about the claim. A claim declares the gates it needs
(`Claim.gates`, hashed into its protocol: a changed gate is a new version) and the Judge applies
them (`judge.require(claim, trained)`, and again before every verdict: suite.judge.session).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from suite.train import dynamics
from suite.interp.hooks import n_layers
from suite.judge.stats import wilson
from suite.tasks import unknown

LEARNED_MIN = 0.9
MEMORIZED_MIN = 0.9


@dataclass(frozen=True)
class Gate:
    name: str
    met: bool
    message: str


def final_numbers(stored: Any) -> dict[str, Any]:
    """Final accuracies and split sizes: from metrics.json, or measured now for a model without."""
    m = stored.metrics
    if m.get("heldout_acc") is not None and m.get("n"):
        return m
    return measured_numbers(stored.model(), stored.data)


def measured_numbers(model: Any, data: Any) -> dict[str, Any]:
    """`model`'s accuracies on every split of `data` and the split sizes, measured now (a model
    from elsewhere, or a planted subject)."""
    from suite.train.loop import EvalSets, evaluate  # measuring is only needed for external models

    out: dict[str, Any] = dict(evaluate(model, EvalSets.of(data, len(data.clean))))
    out["n"] = {"clean": len(data.clean), "noisy": len(data.noisy),
                "heldout": len(data.heldout), "atomic": len(data.atomic)}
    return out


def _rate_gate(name: str, field: str, split: str, minimum: float, numbers: dict[str, Any]) -> Gate:
    n = int(numbers["n"][split])
    rate = numbers.get(field)
    if rate is None or n == 0:
        return Gate(name, False, f"{name}: no {split} items to measure {field}")
    p = wilson(round(rate * n), n)
    met = p.low >= minimum
    return Gate(name, met, f"{field} {p} needs 95% lower bound >= {minimum}")


def _learned(stored: Any) -> Gate:
    return _rate_gate("learned", "heldout_acc", "heldout", LEARNED_MIN, final_numbers(stored))


def _memorized(stored: Any) -> Gate:
    return _rate_gate("memorized", "noisy_recall", "noisy", MEMORIZED_MIN, final_numbers(stored))


def _curve(stored: Any) -> Gate:
    has = bool(stored.curve) and bool(stored.checkpoint_steps)
    return Gate("curve", has, "a training curve and checkpoints" + ("" if has else
                " are needed, and this model has none (curve.json, checkpoints/)"))


def _pre(stored: Any) -> Gate:
    if not stored.curve:
        return Gate("pre", False, "M_pre needs a training curve; this model has none")
    step = dynamics.pre_memorization_step(stored.curve)
    return Gate("pre", step is not None,
                f"M_pre (held-out >= {dynamics.PRE_HELDOUT_MIN} while noisy recall <= "
                f"{dynamics.PRE_NOISY_MAX}) at step {step}")


# Why a claim version dropped the gate "pre" (issue 39): M_pre is asked only where a measurement
# reads it (rr.outlier_heuristics_patching) or the sentence is about the training sequence
PRE_NOT_READ = ("declared before any run of this version (issue 39): the same rule without the "
                "gate 'pre' (an M_pre on the training curve), which this measurement does not "
                "read, so a model saved without its curve, such as a checkpoint trained "
                "elsewhere, is judged; on a model that has an M_pre (the suite's recipes stop "
                "only once it is behind them), each verdict equals the previous version's")

MIN_INTERMEDIATE_SITES = 2  # a priori: "earlier vs later layers" needs two layers to order


def _deep(stored: Any) -> Gate:
    """A claim that compares earlier with later layers needs at least two intermediate sites
    (residual sites strictly between the embedding and the last block's output): three
    blocks. On fewer, "earlier" and "later" name one layer, and the verdict would be about the
    model's depth, not the claim."""
    blocks = n_layers(stored.model())
    intermediate = blocks - 1
    met = intermediate >= MIN_INTERMEDIATE_SITES
    return Gate("deep", met, f"too shallow: {blocks} blocks give {intermediate} intermediate "
                f"site(s); the claim compares earlier with later layers and needs >= "
                f"{MIN_INTERMEDIATE_SITES} ({MIN_INTERMEDIATE_SITES + 1} blocks)")


GATES = {"learned": _learned, "memorized": _memorized, "curve": _curve, "pre": _pre,
         "deep": _deep}


def check(stored: Any, *names: str) -> list[Gate]:
    for name in names:
        if name not in GATES:
            raise unknown("precondition", name, list(GATES))
    return [GATES[name](stored) for name in names]


def unmet(stored: Any, *names: str) -> list[Gate]:
    return [g for g in check(stored, *names) if not g.met]
