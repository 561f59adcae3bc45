"""Planned power of a regime claim at a smaller recipe, computed before the smaller recipe runs.

Issue 41 lets the regime recipes (zhang, coexist) become cheaper only where each regime claim
keeps its power. From the item counts a planned recipe would give each rule and the spread
measured on the current recipe (the results directories of its seeds), this prints, per rule,
the probability that the rule comes out "holds" (its 95 % interval wholly on the passing side)
if the planned recipe measured what the current one did: at the estimate worst for the claim (the lowest for a ">" rule, the highest for a "<"
one) and at the median. The criterion it serves (docs/RECIPES.md) is stated there, before a
planned recipe runs. It trains and judges nothing. Every rule is read with the headline's
interval method (true of the regime claims); intervals at other confidences are refused.

- A rule on a share ("Wilson over n"): exact, over k ~ Binomial(n, p), with p the measured share,
  each k's Wilson interval decided by suite.judge.claim.Rule.decide.
- A rule on an item mean ("bootstrap over n items"): the normal approximation, with the per-item
  standard deviation read off the current recipe's intervals (width / 3.92 x sqrt(n), the
  largest over seeds). The last column is the distance beyond the threshold at which the power
  is 0.8 (2.80 standard errors), or for a share the share at which it is.

    python benchmarks/regime_power.py --results DIR/seed0 ... --recipe zhang-fda-tiny \
        --claim zhang.random_labels_fit --planned training_fit=500 heldout_accuracy=1000
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
from pathlib import Path

from scipy import stats as st

from suite.judge.claim import HOLDS, Rule
from suite.judge.stats import PASSING, Estimate, wilson

Z = st.norm.ppf(0.975)  # the claims' 95 % intervals: each side at 2.5 %


def _records(dirs: list[str], recipe: str, claim: str) -> list[dict]:
    out = []
    for d in dirs:
        for line in (Path(d) / "results.jsonl").read_text().splitlines():
            r = json.loads(line)
            if r["recipe"] == recipe and r["claim"] == claim:
                out.append(r)
    measured = [r for r in out if r["details"].get("quantities")
                and all(None not in v for v in r["details"]["quantities"].values())]
    if len(measured) < len(out):
        print(f"({len(out) - len(measured)} verdicts without measured intervals left out)")
    if not measured:
        raise SystemExit(f"no measured verdict of {claim} on {recipe} in {dirs}")
    method = measured[0]["details"]["interval_method"]
    if not method.startswith(("Wilson", "bootstrap")):
        raise SystemExit(f"{claim}: intervals by {method!r}; this script plans Wilson shares and "
                         "item bootstraps at 95 % only")
    return measured


def share_power(rule: Rule, n: int, p: float) -> float:
    """P(rule holds on the Wilson interval of k of n), k ~ Binomial(n, p)."""
    return sum(st.binom.pmf(k, n, p) for k in range(n + 1)
               if rule.decide(_wilson(k, n)) == HOLDS)


def _wilson(k: int, n: int) -> Estimate:
    w = wilson(k, n, 0.95)
    return Estimate(w.estimate, w.low, w.high, "Wilson")


def share_needed(rule: Rule, n: int) -> float:
    """The true share at which share_power is 0.8 (bisection)."""
    greater = PASSING[rule.op] == "greater"
    lo, hi = (rule.threshold, 1.0) if greater else (0.0, rule.threshold)
    for _ in range(40):
        mid = (lo + hi) / 2
        ok = share_power(rule, n, mid) >= 0.8
        lo, hi = ((lo, mid) if ok else (mid, hi)) if greater else ((mid, hi) if ok else (lo, mid))
    return hi if greater else lo


def mean_power(rule: Rule, estimate: float, sd: float, n: int) -> float:
    """P(the interval lies wholly on the passing side) for an item mean whose truth is `estimate`."""
    beyond = estimate - rule.threshold if PASSING[rule.op] == "greater" else rule.threshold - estimate
    if sd == 0:  # every item equal on every seed: the interval is the point
        return 1.0 if beyond > 0 else 0.0
    return float(st.norm.cdf(beyond / (sd / math.sqrt(n)) - Z))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--results", nargs="+", required=True)
    ap.add_argument("--recipe", required=True)
    ap.add_argument("--claim", required=True)
    ap.add_argument("--planned", nargs="+", required=True, metavar="RULE=N",
                    help="items each rule counts on the planned recipe (every rule named)")
    args = ap.parse_args()
    planned: dict[str, int] = {}
    for p in args.planned:
        name, sep, count = p.partition("=")
        if not sep or not count.isdigit():
            ap.error(f"--planned {p!r}: write RULE=N, N a whole number of items")
        planned[name] = int(count)
    records = _records(args.results, args.recipe, args.claim)
    rules = [Rule(name, op, float(t)) for name, op, t in
             (text.split() for text in records[0]["details"]["rules"])]
    missing = [r.quantity for r in rules if r.quantity not in planned]
    unknown = sorted(set(planned) - {r.quantity for r in rules})
    if missing or unknown:
        ap.error(f"--planned must name each rule of {args.claim} once: missing {missing}, "
                 f"unknown {unknown}")
    n_now = sorted({r["n"] for r in records})
    print(f"{args.claim} on {args.recipe}: {len(records)} seeds measured (n = {n_now[0]}-{n_now[-1]})\n")
    print("| rule | planned n | measured (worst, median) | per-item sd | P(holds) at worst "
          "| P(holds) at median | 80 % from |")
    print("|---|---|---|---|---|---|---|")
    for r in rules:
        n = planned[r.quantity]
        values = [rec["details"]["quantities"][r.quantity] for rec in records]
        estimates = sorted(v[0] for v in values)
        worst = estimates[0] if PASSING[r.op] == "greater" else estimates[-1]
        median = statistics.median(estimates)
        if records[0]["details"]["interval_method"].startswith("Wilson"):
            sd, at_worst, at_median = "binomial", share_power(r, n, worst), share_power(r, n, median)
            needed = f"share {share_needed(r, n):.3f}"
        else:
            s = max((hi - lo) / (2 * Z) * math.sqrt(rec["n"]) for rec, (_, lo, hi) in zip(records, values))
            sd, at_worst, at_median = f"{s:.2f}", mean_power(r, worst, s, n), mean_power(r, median, s, n)
            needed = f"{2.80 * s / math.sqrt(n):.3f} beyond"
        print(f"| {r} | {n} | {worst:.3f}, {median:.3f} | {sd} | {at_worst:.2f} | {at_median:.2f} "
              f"| {needed} |")


if __name__ == "__main__":
    main()
