"""Which AUROC interval the verdicts take: the simulation that chose it, criterion first.

An AUROC rule (liref.direction_separates: AUROC >= 0.9 at some site) is decided on DeLong's
standard error. Three intervals from that one error are candidates: z on the AUROC's own scale
(statistics version 3 and before), z on the logit scale (version 4), and a t quantile with
min(m, n) - 1 degrees of freedom. Scores are normal, shifted so that the AUROC is the truth.

The criterion, fixed in this file before it was run (the version-4 choice read only the 0.6
cells, which the liref rule never meets): in every cell, 100 + 100 and 449 + 449 items at
thresholds 0.6 and 0.9, with the truth at the threshold, both false rates within 0.025 plus three
simulation errors; of the candidates that pass, the one with the highest mean power (truth at
threshold + 0.05 for "holds", threshold - 0.1 for "does not hold", averaged over cells and both
sides). None passing: none changes.

    python benchmarks/auroc_choice.py --draws 20000
"""

from __future__ import annotations

import argparse
import math

import numpy as np
from scipy import special, stats as st

from suite.judge import stats

CELLS = [(n, t) for n in (100, 449) for t in (0.6, 0.9)]


def bounds(a: stats.AUROC, m: int, n: int) -> dict[str, tuple[float, float]]:
    """Each candidate's 95 % interval from the one DeLong error of `a`."""
    z = special.ndtri(0.975)
    t = st.t.ppf(0.975, min(m, n) - 1)
    e = a.estimate
    out = {"z": (e - z * a.se, e + z * a.se), "t": (e - t * a.se, e + t * a.se)}
    if a.se > 0 and 0 < e < 1:
        half = z * a.se / (e * (1 - e))
        out["logit"] = (float(special.expit(special.logit(e) - half)),
                        float(special.expit(special.logit(e) + half)))
    else:
        out["logit"] = (a.low, a.high)
    return out


def rates(n: int, truth: float, threshold: float, draws: int, seed: int) -> dict[str, list[float]]:
    """Per candidate: the share of draws whose interval lies wholly above and wholly below."""
    rng = np.random.default_rng(seed)
    shift = math.sqrt(2) * st.norm.ppf(truth)
    counts: dict[str, list[float]] = {}
    for _ in range(draws):
        a = stats.auroc(rng.normal(shift, 1, n), rng.normal(0, 1, n))
        for name, (low, high) in bounds(a, n, n).items():
            c = counts.setdefault(name, [0, 0])
            c[0] += low > threshold
            c[1] += high < threshold
    return {k: [c[0] / draws, c[1] / draws] for k, c in counts.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=20000)
    args = parser.parse_args()
    limit = 0.025 + 3 * math.sqrt(0.025 * 0.975 / args.draws)
    power: dict[str, list[float]] = {}
    passing = {"z": True, "logit": True, "t": True}
    print(f"{args.draws} draws a cell; limit for a false rate {limit:.4f}")
    print("| candidate | items | threshold | false holds | false does not hold | power (holds) | power (does not hold) |")
    print("|---|---|---|---|---|---|---|")
    for k, (n, t) in enumerate(CELLS):
        at = rates(n, t, t, args.draws, 1000 + k)
        above = rates(n, t + 0.05, t, args.draws, 2000 + k)
        below = rates(n, t - 0.1, t, args.draws, 3000 + k)
        for name in passing:
            fh, fd = at[name]
            passing[name] &= fh <= limit and fd <= limit
            power.setdefault(name, []).extend([above[name][0], below[name][1]])
            print(f"| {name} | {n} + {n} | {t} | {fh:.4f} | {fd:.4f} | {above[name][0]:.3f} | "
                  f"{below[name][1]:.3f} |", flush=True)
    for name, ok in passing.items():
        print(f"{name}: {'within the limit in every cell' if ok else 'OVER the limit'}; "
              f"mean power {np.mean(power[name]):.4f}")
    chosen = [n for n in passing if passing[n]]
    print("chosen:", max(chosen, key=lambda n: np.mean(power[n])) if chosen else "none")


if __name__ == "__main__":
    main()
