"""Reading a training curve: when a metric first crosses a level, and where M_pre sits.

M_pre (docs/CLAIMS.md): the last checkpoint at which held-out accuracy is already high but noisy
recall is still low (held-out >= 0.8 and noisy recall <= 0.1 by default).

The precondition gates read off the same curve: `gates_met_step` is the first evaluation at which
held-out accuracy and noisy recall both have a 95 % Wilson lower bound at or above a level, with
M_pre already behind it; `gates_held` (the training loop's stopping rule) asks that of each of the
last few evaluations. A regime recipe (heavy noise) may stop on memorization alone
(`gates="memorized"`): noisy recall's bound at the level, held-out accuracy and M_pre not asked,
since its claims need memorized noisy items, not a model that generalizes through the noise.
"""

from __future__ import annotations

from typing import Sequence

from suite.proportion import wilson

Curve = Sequence[dict[str, float | None]]

PRE_HELDOUT_MIN = 0.8
PRE_NOISY_MAX = 0.1
# What a stopping rule waits for: "gates" (held-out accuracy, noisy recall, M_pre behind them: the
# preconditions of the ordinary claims) or "memorized" (noisy recall alone: the regimes' claims)
STOP_GATES = ("gates", "memorized")


def first_step(curve: Curve, field: str, level: float) -> int | None:
    """First evaluated step at which curve[field] >= level, or None if never."""
    for point in curve:
        value = point.get(field)
        if value is not None and value >= level:
            return int(point["step"])  # type: ignore[arg-type]
    return None


def pre_memorization_step(
    curve: Curve, heldout_min: float = PRE_HELDOUT_MIN, noisy_max: float = PRE_NOISY_MAX
) -> int | None:
    """Last step with held-out >= heldout_min while noisy recall <= noisy_max (M_pre)."""
    found = None
    for point in curve:
        h, n = point.get("heldout_acc"), point.get("noisy_recall")
        if h is not None and n is not None and h >= heldout_min and n <= noisy_max:
            found = int(point["step"])  # type: ignore[arg-type]
    return found


def point_at(curve: Curve, step: int) -> dict[str, float | None]:
    for point in curve:
        if point["step"] == step:
            return dict(point)
    raise KeyError(f"no evaluation at step {step}; evaluated steps: {[p['step'] for p in curve]}")


def _gates_met(curve: Curve, i: int, n_heldout: int, n_noisy: int, level: float,
               gates: str = "gates") -> bool:
    if gates not in STOP_GATES:
        raise ValueError(f"gates must be one of {STOP_GATES}, got {gates!r}")
    held, noisy = curve[i].get("heldout_acc"), curve[i].get("noisy_recall")
    if noisy is None or not n_noisy or wilson(round(noisy * n_noisy), n_noisy).low < level:
        return False
    if gates == "memorized":
        return True
    return (held is not None and bool(n_heldout)
            and wilson(round(held * n_heldout), n_heldout).low >= level
            and pre_memorization_step(curve[: i + 1]) is not None)


def gates_met_step(curve: Curve, n_heldout: int, n_noisy: int, level: float,
                   gates: str = "gates") -> int | None:
    """First evaluated step at which held-out accuracy (of n_heldout items) and noisy recall (of
    n_noisy) both have a 95 % Wilson lower bound >= level and M_pre exists (with
    gates="memorized", noisy recall's bound alone); None if never."""
    for i, point in enumerate(curve):
        if _gates_met(curve, i, n_heldout, n_noisy, level, gates):
            return int(point["step"])  # type: ignore[arg-type]
    return None


def gates_held(curve: Curve, n_heldout: int, n_noisy: int, level: float, evaluations: int,
               gates: str = "gates") -> bool:
    """The gates (as in gates_met_step) are met at each of the last `evaluations` evaluations:
    the training loop's stopping rule."""
    if evaluations < 1 or len(curve) < evaluations:
        return False
    return all(_gates_met(curve, i, n_heldout, n_noisy, level, gates)
               for i in range(len(curve) - evaluations, len(curve)))
