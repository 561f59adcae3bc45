"""Choose the memorize-first recipe (issue 39 item 5) by its training curve, never by a verdict.

    python benchmarks/memorize_first.py            # train the candidates in order, seed 0

rr.generalize_first and rr.memorize_later read the training sequence. On the shipped recipes
held-out accuracy comes first (their stopping rule even waits for M_pre), so those claims hold
there by construction. Their known answer on a real trained model is a recipe on which
memorization comes first and that still meets the gates in the end: both claims must come out
"does not hold" on it.

The criterion, committed with the candidates before any of them was trained: the candidates in
benchmarks/memorize_first/ are trained in file order, seed 0, at their own noise rate, and the
first one whose model

1. memorizes first: the first evaluated step with noisy recall >= 0.5 comes strictly before the
   first with held-out accuracy >= 0.5 (the curve's order, as the issue states it);
2. meets the learned and memorized gates at the end (95 % Wilson lower bounds >= 0.9, as every
   ordinary claim asks), and
3. has its curve and checkpoints saved

is the recipe, copied to models/memorize-first-<task>-tiny.toml. This script computes no claim
verdict. It prints one row per candidate and seed (--seeds 3 reports seeds 0-2 as well; only
seed 0 chooses, so a list without it chooses nothing). Run it alone: two torch jobs on two cores
slow each other badly.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from suite import store  # noqa: E402
from suite.judge import gates  # noqa: E402
from suite.judge.stats import wilson  # noqa: E402
from suite.run.options import parse_seeds  # noqa: E402
from suite.train import dynamics, recipes  # noqa: E402

CANDIDATES = Path(__file__).resolve().parent / "memorize_first"
LEVEL = 0.5  # "up": the level memorize_later's own steps are read at


def final_name(recipe: recipes.Recipe) -> str:
    """The name the chosen candidate takes in models/ (the store key ignores names, so the
    model trained here is the one the known answers then load)."""
    return f"memorize-first-{recipe.task_name}-tiny"


def judged(path: Path, seed: int) -> tuple[list[str], bool]:
    """One table row for candidate `path` at `seed`, and whether it meets the criterion."""
    recipe = recipes.load(str(path))
    recipe = recipes.Recipe.from_dict(recipe.to_dict(), name=final_name(recipe))
    stored = store.get_or_train(recipe.with_seed_and_noise(seed, None))
    curve, m = stored.curve, stored.metrics
    noisy_up = dynamics.first_step(curve, "noisy_recall", LEVEL)
    held_up = dynamics.first_step(curve, "heldout_acc", LEVEL)
    first = noisy_up is not None and (held_up is None or noisy_up < held_up)
    missed = [g.name for g in gates.unmet(stored, "learned", "memorized", "curve")]
    n = m["n"]
    row = [path.stem, str(seed), f"{m['seconds']:.0f}", str(m["steps"]), str(noisy_up),
           str(held_up), str(dynamics.pre_memorization_step(curve)),
           str(wilson(round(m["heldout_acc"] * n["heldout"]), n["heldout"])),
           str(wilson(round(m["noisy_recall"] * n["noisy"]), n["noisy"])),
           "yes" if first else "no", "yes" if not missed else "NO: " + ", ".join(missed)]
    return row, first and not missed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="1", help="seeds to report (0 alone chooses)")
    parser.add_argument("--all", action="store_true", help="train every candidate, not only up "
                        "to the first chosen")
    args = parser.parse_args()
    header = ["candidate", "seed", "train s", "steps", "noisy >= 0.5 at", "held-out >= 0.5 at",
              "M_pre", "held-out [95 % Wilson]", "noisy recall [95 % Wilson]",
              "memorizes first", "gates met"]
    print("| " + " | ".join(header) + " |\n|" + "---|" * len(header), flush=True)
    chosen = None
    for path in sorted(CANDIDATES.glob("*.toml")):
        for seed in parse_seeds(args.seeds):
            row, meets = judged(path, seed)
            print("| " + " | ".join(row) + " |", flush=True)
            if seed == 0 and meets and chosen is None:
                chosen = path
        if chosen is not None and not args.all:
            break
    print(f"\nchosen: {chosen.name if chosen else 'none'} (seed 0, the criterion above)")


if __name__ == "__main__":
    main()
