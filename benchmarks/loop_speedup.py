"""The training loop against an earlier commit's: seconds to the precondition gates, same machine,
same run, one process at a time.

    python benchmarks/loop_speedup.py --base 94412e1                 # fda-tiny and thr-tiny, seed 0
    python benchmarks/loop_speedup.py --base 94412e1 --recipes thr-tiny --seeds 0,1

For each recipe and seed it trains three times, in fresh processes, one after another: the base
commit's code on the base commit's recipe file (checked out with `git worktree` into a temporary
directory); this tree's code on the base commit's recipe file (the loop alone: same recipe, so
the same model up to float rounding); and this tree's code on this tree's recipe (loop and
recipe, as shipped). A run's time to the gates is the training seconds at the first
evaluation where held-out accuracy and noisy recall both have a 95 % Wilson lower bound >= 0.9 and
M_pre lies behind it (the judge's precondition gates); "total" is the whole run, stopping rule
included. The ratio base / new of time to the gates is the loop's speed-up on that recipe.
Nothing is read from or written to the model store.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from suite.judge.gates import LEARNED_MIN, MEMORIZED_MIN  # noqa: E402
from suite.train import dynamics  # noqa: E402

# Run inside the tree under test: trains one recipe, prints its curve and split sizes as JSON.
TRAIN_ONE = """
import json, sys
from suite.train import recipes
from suite.train.loop import train
result = train(recipes.load(sys.argv[1]).with_seed_and_noise(int(sys.argv[2])))
print(json.dumps({"curve": result.curve, "seconds": result.seconds,
                  "n_heldout": len(result.data.heldout), "n_noisy": len(result.data.noisy)}))
"""


def train_in(tree: Path, recipes_from: Path, recipe: str, seed: int) -> dict:
    env = {**os.environ, "PYTHONPATH": str(tree), "MEMSUITE_RECIPES": str(recipes_from / "models")}
    done = subprocess.run([sys.executable, "-c", TRAIN_ONE, recipe, str(seed)], cwd=tree, env=env,
                          capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"training {recipe} seed {seed} in {tree} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def to_gates(run: dict) -> tuple[int | None, float | None]:
    level = max(LEARNED_MIN, MEMORIZED_MIN)
    step = dynamics.gates_met_step(run["curve"], run["n_heldout"], run["n_noisy"], level)
    if step is None:
        return None, None
    return step, float(dynamics.point_at(run["curve"], step)["seconds"])  # type: ignore[arg-type]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True, help="the commit to compare against")
    parser.add_argument("--recipes", default="fda-tiny,thr-tiny")
    parser.add_argument("--seeds", default="0")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "base"
        subprocess.run(["git", "worktree", "add", "--detach", str(base), args.base], cwd=ROOT,
                       check=True, capture_output=True)
        try:
            for recipe in args.recipes.split(","):
                for seed in (int(s) for s in args.seeds.split(",")):
                    runs = {}
                    for label, tree, recipes_from in (("base", base, base),
                                                      ("loop", ROOT, base), ("new", ROOT, ROOT)):
                        print(f"training {recipe} seed {seed}: {label} ...", file=sys.stderr,
                              flush=True)
                        runs[label] = train_in(tree, recipes_from, recipe, seed)
                    rows.append((recipe, seed, runs))
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(base)], cwd=ROOT,
                           check=False, capture_output=True)
    print(f"\nbase = {args.base}; loop = this tree's code on the base recipe; new = this tree's "
          "code and recipe. Seconds of training, evaluations included.\n")
    print("| recipe | seed | run | to gates (step) | total (steps) | speed-up to gates vs base |")
    print("|---|---|---|---|---|---|")
    for recipe, seed, runs in rows:
        _, base_s = to_gates(runs["base"])
        for label in ("base", "loop", "new"):
            run = runs[label]
            step, seconds = to_gates(run)
            reached = "not met" if seconds is None else f"{seconds:.0f} s ({step})"
            ratio = f"{base_s / seconds:.2f}x" if base_s and seconds else "-"
            print(f"| {recipe} | {seed} | {label} | {reached} | {run['seconds']:.0f} s "
                  f"({run['curve'][-1]['step']}) | {ratio} |")


if __name__ == "__main__":
    main()
