"""The training loop against an earlier commit's: seconds to the precondition gates, same machine,
same run, one process at a time, repeated and interleaved so that the machine's drift shows.

    python benchmarks/loop_speedup.py --base 94412e1                 # fda-tiny and thr-tiny, seed 0
    python benchmarks/loop_speedup.py --base 94412e1 --recipes thr-tiny --seeds 0,1 --repeats 3

For each recipe and seed it trains three variants, in fresh processes, one after another: the base
commit's code on the base commit's recipe file (checked out with `git worktree` into a temporary
directory); this tree's code on the base commit's recipe file (the loop alone: same recipe, so
the same model up to float rounding); and this tree's code on this tree's recipe (loop and
recipe, as shipped). A run's time to the gates is the training seconds at the first
evaluation where held-out accuracy and noisy recall both have a 95 % Wilson lower bound >= 0.9 and
M_pre lies behind it (the judge's precondition gates); "total" is the whole run, stopping rule
included; "ms/step" is the whole run's seconds over its steps, evaluations included.

A shared 2-core machine's speed drifts by tens of percent over minutes (measured: the same base
run took 186 s, then 281 s), and one run per variant puts that drift straight into the ratio. So
the variants run `--repeats` times, in alternating order (base, loop, new, then new, loop, base,
...), which cancels a steady drift within each pair of rounds; each round's ratio base / variant
is paired within the round, and the table gives the median of the rounds with their range. A
trained model is deterministic per machine, so the steps to the gates must agree across rounds;
the table says so where they do not. Nothing is read from or written to the model store.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
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


VARIANTS = ("base", "loop", "new")


def round_order(round_index: int) -> tuple[str, ...]:
    """base, loop, new on even rounds and the reverse on odd ones: a steady drift cancels in pairs."""
    return VARIANTS if round_index % 2 == 0 else VARIANTS[::-1]


def spread(values: list[float], fmt: str) -> str:
    """The median of `values`, with their range when there is more than one."""
    if not values:
        return "-"
    mid = fmt.format(statistics.median(values))
    return mid if len(values) == 1 else f"{mid} ({fmt.format(min(values))}-{fmt.format(max(values))})"


def ms_per_step(run: dict) -> float:
    return 1e3 * run["seconds"] / run["curve"][-1]["step"]


def row(label: str, rounds: list[dict[str, dict]]) -> str:
    """One variant's table cells over the rounds; its ratios are paired with the same round's base."""
    runs = [r[label] for r in rounds]
    gates = [to_gates(run) for run in runs]
    base_gates = [to_gates(r["base"]) for r in rounds]
    steps = sorted({step for step, _ in gates}, key=lambda s: (s is None, s))
    reached = [seconds for _, seconds in gates if seconds is not None]
    if steps == [None]:
        at_gates = "not met"
    else:
        named = "/".join("not met" if s is None else str(s) for s in steps)
        at_gates = f"{spread(reached, '{:.0f}')} s at step {named}"
        if len(steps) > 1:
            at_gates += " (steps differ between rounds)"
    total = spread([run["seconds"] for run in runs], "{:.0f}") + " s"
    last_steps = "/".join(str(s) for s in sorted({run["curve"][-1]["step"] for run in runs}))
    ratios = [b / s for (_, b), (_, s) in zip(base_gates, gates) if b and s]
    step_ratios = [ms_per_step(r["base"]) / ms_per_step(r[label]) for r in rounds]
    return (f"{at_gates} | {total} ({last_steps}) | "
            f"{spread([ms_per_step(run) for run in runs], '{:.1f}')} | "
            f"{spread(step_ratios, '{:.2f}x')} | {spread(ratios, '{:.2f}x')}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True, help="the commit to compare against")
    parser.add_argument("--recipes", default="fda-tiny,thr-tiny")
    parser.add_argument("--seeds", default="0")
    parser.add_argument("--repeats", type=int, default=2,
                        help="rounds of the three variants, in alternating order (default 2)")
    args = parser.parse_args()
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    table = []
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "base"
        subprocess.run(["git", "worktree", "add", "--detach", str(base), args.base], cwd=ROOT,
                       check=True, capture_output=True)
        trees = {"base": (base, base), "loop": (ROOT, base), "new": (ROOT, ROOT)}
        try:
            for recipe in args.recipes.split(","):
                for seed in (int(s) for s in args.seeds.split(",")):
                    rounds: list[dict[str, dict]] = []
                    for index in range(args.repeats):
                        runs = {}
                        for label in round_order(index):
                            print(f"training {recipe} seed {seed}, round {index + 1} of "
                                  f"{args.repeats}: {label} ...", file=sys.stderr, flush=True)
                            runs[label] = train_in(*trees[label], recipe, seed)
                            print(f"  {runs[label]['seconds']:.0f} s", file=sys.stderr, flush=True)
                        rounds.append(runs)
                    table.append((recipe, seed, rounds))
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(base)], cwd=ROOT,
                           check=False, capture_output=True)
    print(f"\nbase = {args.base}; loop = this tree's code on the base recipe; new = this tree's "
          f"code and recipe. Seconds of training, evaluations included; {args.repeats} "
          "interleaved rounds: medians, with the range over rounds in brackets.\n")
    print("| recipe | seed | run | to gates | total (steps) | ms/step | per step vs base "
          "| to gates vs base |")
    print("|---|---|---|---|---|---|---|---|")
    for recipe, seed, rounds in table:
        for label in VARIANTS:
            print(f"| {recipe} | {seed} | {label} | {row(label, rounds)} |")


if __name__ == "__main__":
    main()
