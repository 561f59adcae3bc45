"""Are the intervals the verdicts rest on calibrated? One table, by simulation.

    python benchmarks/calibration.py                      # 2000 draws a cell, the whole grid
    python benchmarks/calibration.py --draws 20000 --match PairedHits   # cells near the limit

For every measurement type the claims decide on (suite.judge.calibration says how each cell is
drawn), data are drawn with the true quantity exactly at the rule's threshold and at a planted
effect on either side, and decided as a claim decides: the table gives false "holds" and false
"does not hold" at the threshold (each nominally 2.5 %), the power on either side, and whether
both false rates are within the nominal level plus three simulation errors. The paired 0/1
cells show the item bootstrap (the v3 paired-hit claims) beside PairedHits (v4). Numpy only;
single-threaded; about seven minutes for the whole grid at 2000 draws (2026-12-06, 2 cores).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import markdown  # noqa: E402
from suite.judge import calibration  # noqa: E402


def _power(rate: float) -> str:
    return "not drawn" if math.isnan(rate) else f"{rate:.3f}"


def table(draws: int, quick: bool = False, match: str = "", neuron_sets: bool = False,
          power: bool = True) -> str:
    lines = ["| measurement | data | threshold | effect | false holds | false does not hold "
             "| power (holds) | power (does not hold) | within nominal |",
             "|---|---|---|---|---|---|---|---|---|"]
    for cell, effect in calibration.grid(quick, neuron_sets):
        if match not in f"{cell.measurement} {cell.shape}":
            continue
        started = time.time()
        r = calibration.simulate(cell, draws, effect if power else None)
        lines.append(f"| {cell.measurement} | {cell.shape} | {cell.threshold:g} | {effect:g} | "
                     f"{r.false_holds:.4f} | {r.false_fails:.4f} | {_power(r.power_holds)} | "
                     f"{_power(r.power_fails)} | {'yes' if r.within_nominal else 'NO'} |")
        print(lines[-1], f"({time.time() - started:.0f} s)", file=sys.stderr)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=2000)
    parser.add_argument("--quick", action="store_true", help="n = 100 cells only")
    parser.add_argument("--match", default="", help="only the cells whose measurement and data "
                        "contain this (e.g. PairedHits)")
    parser.add_argument("--neuron-sets", action="store_true", help="add the MatchedUnits cells "
                        "(slow: about 0.2 s a draw)")
    parser.add_argument("--no-power", action="store_true", help="the false rates only")
    parser.add_argument("--write", type=Path, help="write the table into this markdown file, "
                        "between its '<!-- calibration -->' markers ('<!-- calibration MATCH "
                        "-->' with --match)")
    args = parser.parse_args(argv)
    text = (f"{args.draws} draws a cell (one simulation error at the nominal 2.5 %: "
            f"{calibration.simulation_error(args.draws):.4f})\n\n"
            + table(args.draws, args.quick, args.match, args.neuron_sets, not args.no_power))
    print(text)
    if args.write:  # one table per --match in the file
        markdown.write_between(args.write, f"calibration {args.match}".strip(), text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
