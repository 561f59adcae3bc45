"""Training progress on stderr: steps, time left, and the last evaluation.

Kept out of the training loop (suite.train.loop), whose reachable source is hashed into every store key,
so a change to how progress reads never retrains a model.
"""

from __future__ import annotations

import sys
import time
from typing import Any


class Progress:
    """Progress with an estimate of time left, on stderr.

    On a terminal one line is redrawn in place; in a log (CI) a full line is written every
    `log_every` seconds and at the end, so logs stay readable.
    """

    def __init__(self, total: int, label: str, enabled: bool = True, log_every: float = 20.0) -> None:
        self.total, self.label, self.enabled = total, label, enabled
        self.tty = sys.stderr.isatty()
        self.interval = 0.5 if self.tty else log_every
        self.start = time.perf_counter()
        self.last_print = self.start
        self.last_metrics: dict[str, float | None] = {}

    def update(self, step: int, metrics: dict[str, float | None] | None = None) -> None:
        if not self.enabled:
            return
        if metrics:
            self.last_metrics = metrics
        now = time.perf_counter()
        if now - self.last_print < self.interval and step < self.total:
            return
        self.last_print = now
        elapsed = now - self.start
        left = elapsed / max(step, 1) * (self.total - step)
        shown = " ".join(
            f"{name}={self.last_metrics[key]:.2f}"
            for key, name in (("heldout_acc", "held-out"), ("noisy_recall", "noisy-recall"))
            if self.last_metrics.get(key) is not None
        )
        line = (f"[{self.label}] step {step}/{self.total}  {elapsed:4.0f}s elapsed, "
                f"~{left:4.0f}s left  {shown}")
        if self.tty:
            sys.stderr.write("\r" + line + "   " + ("\n" if step >= self.total else ""))
        else:
            sys.stderr.write(line + "\n")
        sys.stderr.flush()


def bar_for(recipe: Any) -> Progress:
    """The progress bar of one training run of `recipe` (seed applied)."""
    return Progress(recipe.train.steps, f"{recipe.name} seed {recipe.task.seed}")
