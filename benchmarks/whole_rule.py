"""Does each claim's whole rule keep its error rates? One table, by simulation.

    python benchmarks/whole_rule.py RESULTS_DIR                 # 1000 draws a configuration
    python benchmarks/whole_rule.py RESULTS_DIR --draws 4000 --match rr.noisy

For every verdict recorded in RESULTS_DIR/measurements.jsonl (a run's --report folder: one
seed's models), the claim's own decision is simulated on data shaped like that verdict's
measurements (suite.judge.whole_rule says how): false "holds" with one rule at its threshold
and the others clearly passing (the largest over rules), and false "does not hold" with every
rule at its threshold. Each is nominally at most 2.5 %. Numpy only; single-threaded.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import markdown  # noqa: E402
from suite.judge import whole_rule  # noqa: E402
from suite.judge.calibration import simulation_error  # noqa: E402


def table(results: Path, draws: int, match: str = "") -> str:
    path = results / "measurements.jsonl"
    if not path.is_file():
        raise SystemExit(f"{results} has no measurements.jsonl (a run's --report folder has)")
    lines = ["| claim | recipe | rules | alternatives | false holds (at its threshold) "
             "| false does not hold (all at threshold) | within nominal |",
             "|---|---|---|---|---|---|---|"]
    for line in path.read_text().splitlines():
        r = json.loads(line)
        record = r.get("measured") or {}
        if not any(m in r["claim"] for m in match.split(",")) or not record.get("rules"):
            continue
        name = r["claim"] + (f"[{r['variant']}]" if r.get("variant") else "")
        recipe = r["test"].split("[", 1)[-1].rstrip("]")
        started = time.time()
        try:
            w = whole_rule.simulate(record, draws, name=name, variant=r.get("variant", ""),
                                    test=r["test"])
        except whole_rule.NotSimulated as err:
            lines.append(f"| {name} | {recipe} | {len(record['rules'])} | | not simulated: "
                         f"{err} | | |")
            print(lines[-1], file=sys.stderr)
            continue
        passing = (f"; set passing, not simulated: {', '.join(w.unsimulated)}"
                   if w.unsimulated else "")
        lines.append(f"| {name} | {recipe} | {w.rules} | {w.alternatives} | {w.false_holds:.4f} "
                     f"({w.false_holds_rule}{passing}) | {w.false_fails:.4f} | "
                     f"{'yes' if w.within_nominal else 'NO'} |")
        print(lines[-1], f"({time.time() - started:.0f} s)", file=sys.stderr)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path, help="a run's --report folder")
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--match", default="", help="only the claims whose id contains this (or "
                        "one of these, comma-separated)")
    parser.add_argument("--write", type=Path, help="write the table into this markdown file, "
                        "between its '<!-- whole rule -->' markers ('<!-- whole rule MATCH -->' "
                        "with --match)")
    args = parser.parse_args(argv)
    text = (f"{args.draws} draws a configuration (one simulation error at the nominal 2.5 %: "
            f"{simulation_error(args.draws):.4f}), on the measurements of {args.results.name}\n\n"
            + table(args.results, args.draws, args.match))
    print(text)
    if args.write:
        markdown.write_between(args.write, f"whole rule {args.match}".strip(), text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
