"""How the --baseline check behaves on real models: its false-alarm rate on equally good models
and the smallest planted regression it catches, printed as tables.

Inputs are two results directories of the same claims on the same recipes, made by the suite's
own command: a baseline run (`pytest claims/ --seeds 3 --report BASE`) and a run on new seeds
(`pytest claims/ --seeds 3,4,5,6,7,8, --report NEW`). Every new seed's verdicts are compared
with the baseline restricted to its first 1, 2 and 3 seeds, through suite.run.baseline.compare
itself; a new seed's run "alarms" when any of its verdicts is a regression, which for an equally
good model (same recipe, another seed) is a false alarm. The rate's interval is Clopper-Pearson.

Planted regressions: for each new seed and each claim verdict that holds and whose estimate
should be high, a share `f` of the items that count for the claim (positive headline) lose it
(set to 0), and the verdict's estimate and interval shrink by the same share toward 0; the
check's detection rate over those cases, by `f` and by claim, gives the smallest regression
caught with 80 % power. (New seeds are not the baseline's seeds, so the paired-items test does
not apply here: this measures the across-seed "effect worse" rule.)

    python benchmarks/regression_check.py BASE NEW [--before FILE]

--before FILE: another version of suite/run/baseline.py (e.g. `git show COMMIT:suite/run/
baseline.py > FILE`), whose compare gives a second false-alarm table beside this tree's.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import random
import sys
from pathlib import Path

from scipy.stats import binomtest

from suite.run.baseline import Baseline, compare
from suite.run.results import read_items, read_verdicts
from suite.validate.known import split


def _interval(k: int, n: int) -> str:
    ci = binomtest(k, n).proportion_ci(0.95, method="exact")
    return f"{k}/{n} = {k / n:.2f} [{ci.low:.2f}, {ci.high:.2f}]"


def _planted(v, items, f: float, rng: random.Random):
    """`v` and its items with a share f of its counting items lost."""
    mine = [i for i in items if (i["claim"], i.get("variant", ""), i["seed"]) ==
            (v.claim, v.variant, v.seed) and "headline" in i]
    positive = [i for i in mine if i["headline"] > 0]
    lost = {id(i) for i in rng.sample(positive, round(f * len(positive)))} if positive else set()
    new_items = [dict(i, headline=0.0) if id(i) in lost else i for i in items]
    shrink = 1 - f
    low = None if v.ci_low is None else v.ci_low * shrink
    high = None if v.ci_high is None else v.ci_high * shrink
    return dataclasses.replace(v, estimate=v.estimate * shrink, ci_low=low, ci_high=high), new_items


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base", type=Path)
    parser.add_argument("new", type=Path)
    parser.add_argument("--before", type=Path, help="another baseline.py to compare with")
    args = parser.parse_args()
    checks = {"this tree": (compare, Baseline)}
    if args.before:
        spec = importlib.util.spec_from_file_location("baseline_before", args.before)
        module = importlib.util.module_from_spec(spec)
        sys.modules["baseline_before"] = module  # dataclasses look their module up
        spec.loader.exec_module(module)  # type: ignore[union-attr]
        checks[f"{args.before.name}"] = (module.compare, module.Baseline)
    base, _ = split(read_verdicts(args.base))
    base_items = read_items(args.base)
    new, _ = split(read_verdicts(args.new))
    new_items = read_items(args.new)
    base_seeds = sorted({v.seed for v in base})
    new_seeds = sorted({v.seed for v in new})
    print(f"baseline seeds {base_seeds}, new seeds {new_seeds}, "
          f"{len(new)} new verdicts on {sorted({v.recipe for v in new})}")
    print("\n| check | baseline seeds | new-seed runs with a false alarm | false regressions / "
          "verdicts | kinds |")
    print("| --- | --- | --- | --- | --- |")
    for (label, (check, make)), n in [(c, n) for c in checks.items() for n in (1, 2, 3)]:
        seeds = set(base_seeds[:n])
        b = make([v for v in base if v.seed in seeds],
                 [i for i in base_items if i["seed"] in seeds])
        alarms, wrong, total, kinds = 0, 0, 0, {}
        for s in new_seeds:
            now = [v for v in new if v.seed == s]
            changes = check(now, b, [i for i in new_items if i["seed"] == s])
            regressions = [c for c in changes if c.regression]
            alarms += bool(regressions)
            wrong += len(regressions)
            total += len(now)
            for c in regressions:
                kinds[c.kind] = kinds.get(c.kind, 0) + 1
        print(f"| {label} | {n} ({','.join(map(str, sorted(seeds)))}) | "
              f"{_interval(alarms, len(new_seeds))} "
              f"| {wrong}/{total} | {kinds or '-'} |")
    print("\nPlanted regressions against the 3-seed baseline (a share f of a holding claim's "
          "counting items lost, one claim at a time):\n")
    print("| f | detected / cases | kinds |")
    print("| --- | --- | --- |")
    b = Baseline([v for v in base if v.seed in set(base_seeds[:3])],
                 [i for i in base_items if i["seed"] in set(base_seeds[:3])])
    rng = random.Random(0)
    by_claim: dict[str, dict[float, list[bool]]] = {}
    for f in (0.0, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9):
        hit, cases, kinds = 0, 0, {}
        for s in new_seeds:
            now = [v for v in new if v.seed == s]
            items = [i for i in new_items if i["seed"] == s]
            for j, v in enumerate(now):
                if not v.holds or not v.estimate or not v.higher_is_better:
                    continue
                planted, planted_items = _planted(v, items, f, rng)
                changes = compare(now[:j] + [planted] + now[j + 1:], b, planted_items)
                caught = [c for c in changes if c.regression and c.claim == v.name]
                cases += 1
                hit += bool(caught)
                by_claim.setdefault(f"{v.name} on {v.recipe}", {}).setdefault(f, []).append(
                    bool(caught))
                for c in caught:
                    kinds[c.kind] = kinds.get(c.kind, 0) + 1
        print(f"| {f} | {_interval(hit, cases)} | {kinds or '-'} |")
    print("\nBy claim (detected of the new seeds, at each f):\n")
    print("| claim | " + " | ".join(f"f={f}" for f in (0.2, 0.3, 0.5, 0.7, 0.9)) + " |")
    print("| --- |" + " --- |" * 5)
    for name, rows in sorted(by_claim.items()):
        print(f"| {name} | " + " | ".join(f"{sum(rows[f])}/{len(rows[f])}"
                                          for f in (0.2, 0.3, 0.5, 0.7, 0.9)) + " |")

if __name__ == "__main__":
    main()
