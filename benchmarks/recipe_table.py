"""Do the recipes meet the precondition gates across the papers' noise range? One table.

    python benchmarks/recipe_table.py                                   # fda-tiny, thr-tiny
    python benchmarks/recipe_table.py --recipes fda-small --noise 0.05 --seeds 0

For each recipe x noise rate x seed it takes the model from the store (training it on first use,
exactly as `pytest` would, so the models it trains are the ones the claims are judged on) and
prints: training seconds (as recorded when it was trained: a model trained earlier, on a busier
or faster machine, keeps its own time), steps trained, held-out accuracy and noisy recall with
their 95 % Wilson intervals, the M_pre step, and whether the judge's gates (learned, memorized,
pre) are met. Run it alone: two torch jobs on two cores slow each other badly.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from suite import store  # noqa: E402
from suite.judge import gates  # noqa: E402
from suite.judge.stats import wilson  # noqa: E402
from suite.run.options import parse_noise, parse_seeds  # noqa: E402
from suite.train import recipes  # noqa: E402


def row(name: str, noise: float, seed: int) -> list[str]:
    stored = store.get_or_train(recipes.load(name).with_seed_and_noise(seed, noise))
    m = stored.metrics
    n = m["n"]
    held = wilson(round(m["heldout_acc"] * n["heldout"]), n["heldout"])
    noisy = wilson(round(m["noisy_recall"] * n["noisy"]), n["noisy"])
    missed = gates.unmet(stored, "learned", "memorized", "pre")
    return [name, f"{noise:g}", str(seed), f"{m['seconds']:.0f}", str(m["steps"]), str(held),
            str(noisy), str(m["pre_memorization_step"]),
            "yes" if not missed else "NO: " + ", ".join(g.name for g in missed)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipes", default="fda-tiny,thr-tiny")
    parser.add_argument("--noise", default="0.02,0.05,0.1")
    parser.add_argument("--seeds", default="3")
    args = parser.parse_args()
    header = ["recipe", "noise", "seed", "train s", "steps", "held-out [95 % Wilson]",
              "noisy recall [95 % Wilson]", "M_pre step", "gates met"]
    print("| " + " | ".join(header) + " |\n|" + "---|" * len(header), flush=True)
    for name in args.recipes.split(","):
        for noise in parse_noise(args.noise):
            for seed in parse_seeds(args.seeds):
                print("| " + " | ".join(row(name, noise, seed)) + " |", flush=True)


if __name__ == "__main__":
    main()
