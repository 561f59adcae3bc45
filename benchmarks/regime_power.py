"""Planned power of a regime claim at a smaller recipe, computed before the smaller recipe runs.

Issue 41 lets the regime recipes (zhang, coexist) become cheaper only where each regime claim
keeps its power: from the planned item count and the per-item spread measured on the current
recipe (results directories of its seeds), each rule's power at the effects measured there
must be at least 0.8, or the change is dropped. This script prints that table; it trains and
judges nothing.

- A rule on a share ("Wilson over n"): the exact probability, over Binomial(n, p) with p the
  share measured on the current recipe (the lowest over seeds), that the Wilson bound lies on
  the rule's passing side; and the share at which that probability is 0.8.
- A rule on an item mean ("bootstrap over n items"): the normal approximation with the per-item
  standard deviation read off the current recipe's interval (width / 3.92 x sqrt(n), the largest
  over seeds): the power to decide the rule (the interval clear of the threshold, on the side
  the estimate lies) at the estimate farthest towards the threshold's failing side and at the
  median, and the distance from the threshold decided with power 0.8 (2.80 standard errors).

    python benchmarks/regime_power.py --results /path/seed0 /path/seed1 ... \
        --recipe zhang-fda-tiny --claim zhang.random_labels_fit --planned-n 500
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
from pathlib import Path

from scipy import stats as st

from suite.judge.stats import PASSING, wilson

Z = st.norm.ppf(0.975)  # the claims' 95 % intervals: each side at 2.5 %


def _records(dirs: list[str], recipe: str, claim: str) -> list[dict]:
    out = []
    for d in dirs:
        for line in (Path(d) / "results.jsonl").read_text().splitlines():
            r = json.loads(line)
            if r["recipe"] == recipe and r["claim"] == claim:
                out.append(r)
    if not out:
        raise SystemExit(f"no verdict of {claim} on {recipe} in {dirs}")
    return out


def share_power(n: int, p: float, op: str, threshold: float) -> float:
    """P(the Wilson interval of k ~ Binomial(n, p) lies on the passing side of `op threshold`)."""
    greater = PASSING[op] == "greater"
    total = 0.0
    for k in range(n + 1):
        w = wilson(k, n, 0.95)
        if (w.low >= threshold) if greater else (w.high <= threshold):
            total += st.binom.pmf(k, n, p)
    return total


def share_needed(n: int, op: str, threshold: float) -> float:
    """The true share at which share_power is 0.8 (bisection)."""
    greater = PASSING[op] == "greater"
    lo, hi = (threshold, 1.0) if greater else (0.0, threshold)
    for _ in range(40):
        mid = (lo + hi) / 2
        ok = share_power(n, mid, op, threshold) >= 0.8
        lo, hi = ((lo, mid) if ok else (mid, hi)) if greater else ((mid, hi) if ok else (lo, mid))
    return hi if greater else lo


def mean_power(effect: float, sd: float, n: int) -> float:
    return float(st.norm.cdf(abs(effect) / (sd / math.sqrt(n)) - Z)) if sd > 0 else 1.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--results", nargs="+", required=True)
    ap.add_argument("--recipe", required=True)
    ap.add_argument("--claim", required=True)
    ap.add_argument("--planned-n", type=int, required=True,
                    help="items the rule counts on the planned recipe")
    args = ap.parse_args()
    records = _records(args.results, args.recipe, args.claim)
    n_now = sorted({r["n"] for r in records})
    print(f"{args.claim} on {args.recipe}: {len(records)} seeds measured, n = "
          f"{n_now[0]}-{n_now[-1]} now, {args.planned_n} planned\n")
    print("| rule | measured (worst, median) | per-item sd | power at worst | power at median "
          "| 80 % power from |")
    print("|---|---|---|---|---|---|")
    for rule in records[0]["details"]["rules"]:
        name, op, threshold = rule.split()
        threshold = float(threshold)
        values = [r["details"]["quantities"][name] for r in records]
        estimates = sorted(v[0] for v in values)
        worst = estimates[0] if PASSING[op] == "greater" else estimates[-1]
        median = statistics.median(estimates)
        if records[0]["details"]["interval_method"].startswith("Wilson"):
            sd = "binomial"
            lowest = share_power(args.planned_n, worst, op, threshold)
            at_median = share_power(args.planned_n, median, op, threshold)
            needed = f"share {share_needed(args.planned_n, op, threshold):.3f}"
        else:
            s = max((hi - lo) / (2 * Z) * math.sqrt(r["n"]) for r, (_, lo, hi) in zip(records, values))
            sd = f"{s:.2f}"
            nearest = min(estimates, key=lambda e: abs(e - threshold))
            lowest = mean_power(nearest - threshold, s, args.planned_n)
            at_median = mean_power(median - threshold, s, args.planned_n)
            needed = f"effect {2.80 * s / math.sqrt(args.planned_n):.3f}"
        shown = worst if sd == "binomial" else nearest
        print(f"| {rule} | {shown:.3f}, {median:.3f} | {sd} | {lowest:.2f} | {at_median:.2f} "
              f"| {needed} |")


if __name__ == "__main__":
    main()
