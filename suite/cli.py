"""Command line: `python -m suite train RECIPE --seed N [--json]` and `python -m suite ls`.

Training from here goes through the same store and loop as the pytest fixtures, so a model
trained by hand is the model the claims are later judged on.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Sequence

from . import recipes, store


def _train(args: argparse.Namespace) -> int:
    try:
        recipe = recipes.load(args.recipe).with_seed_and_noise(args.seed, args.noise)
    except (KeyError, FileNotFoundError, ValueError) as err:
        print(f"memsuite train: {err.args[0] if err.args else err}", file=sys.stderr)
        return 2
    import time

    stored = store.get_or_train(recipe, refresh_before=time.time() if args.refresh else None,
                                progress=not args.quiet)
    m = stored.metrics
    out = {
        "recipe": recipe.name,
        "seed": args.seed,
        "noise": recipe.task.noise,
        "seconds": round(stored.trained_seconds, 2),
        "trained_seconds_when_stored": m.get("seconds"),
        "steps": m.get("steps"),
        "heldout_acc": m.get("heldout_acc"),
        "noisy_recall": m.get("noisy_recall"),
        "clean_train_acc": m.get("clean_train_acc"),
        "atomic_acc": m.get("atomic_acc"),
        "pre_memorization_step": m.get("pre_memorization_step"),
        "clean_label_share_at_pre": m.get("clean_label_share_at_pre"),
        "n": m.get("n"),
        "path": str(stored.path),
    }
    if args.json:
        print(json.dumps(out))
    else:
        for k, v in out.items():
            print(f"{k:28s} {v}")
    return 0


def _ls(args: argparse.Namespace) -> int:
    print("recipes:")
    for name in recipes.available():
        r = recipes.load(name)
        print(f"  {name:16s} {r.scale:6s} {r.task_name:5s} {r.description}")
    print(f"stored models ({store.store_root()}):")
    for entry in store.entries():
        m = entry.metrics
        print(f"  {entry.path.name}  held-out {m.get('heldout_acc')}  noisy recall "
              f"{m.get('noisy_recall')}  M_pre {m.get('pre_memorization_step')}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="memsuite", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train", help="train a recipe (or load it from the store)")
    t.add_argument("recipe", help="recipe name (see `ls`) or path to a .toml file")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--noise", type=float, default=None, help="override the recipe's noise rate")
    t.add_argument("--json", action="store_true", help="print one JSON object")
    t.add_argument("--refresh", action="store_true", help="retrain even if stored")
    t.add_argument("--quiet", action="store_true", help="no progress bar")
    t.set_defaults(run=_train)
    ls = sub.add_parser("ls", help="list recipes and stored models")
    ls.set_defaults(run=_ls)
    args = parser.parse_args(argv)
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())
