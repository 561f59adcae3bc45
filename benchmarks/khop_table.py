"""The k-hop sweeps as a table and a plot: held-out accuracy by training-set size and by depth,
for each k, and where each curve first crosses the claims' threshold.

    python benchmarks/khop_table.py                      # seed 0, --scale tiny, v3 grid
    python benchmarks/khop_table.py --seed 1 --out khop
    python benchmarks/khop_table.py --version 2          # the v2 grid (to 4000 queries)

The grid points are the ones the slow claims judge (claims/test_khop_scaling.py: DATA_GRID or
DATA_GRID_V3 with v3_base, DEPTH_GRID, k = 2 and 3, THRESHOLD), taken from the store through the same sweep code
(suite.measure.sweeps.run), so a point is trained only if no run trained it before and a stopped
run resumes where it stopped. The verdicts (and the curriculum, which is not a grid) come from
`pytest claims/test_khop_scaling.py -m slow`; run that first and this reads the same models.
Run it alone: two torch jobs on two cores slow each other badly.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from claims import test_khop_scaling as khop  # noqa: E402
from suite.measure import sweeps  # noqa: E402
from suite.train import recipes  # noqa: E402


def sweep_points(base: recipes.Recipe, version: int = 2
                 ) -> dict[tuple[str, int], list[sweeps.SweepPoint]]:
    """{(field, k): points} for both sweeps and both k, on the grid of the claims' `version`."""
    if version == 3:
        base, data_grid = khop.v3_base(base), khop.DATA_GRID_V3
    else:
        data_grid = khop.DATA_GRID
    grids = {"max_queries": data_grid, "n_layer": khop.DEPTH_GRID}
    return {(field, k): sweeps.run(base, k, field, grid, khop.THRESHOLD)
            for field, grid in grids.items() for k in (khop.SMALL_K, khop.LARGE_K)}


def table(points: dict[tuple[str, int], list[sweeps.SweepPoint]]) -> str:
    header = ["sweep", "k", "value", "held-out (final)", f"first step >= {khop.THRESHOLD}",
              "train s"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for (field, k), row in points.items():
        for p in row:
            lines.append(f"| {field} | {k} | {p.value} | {p.heldout_acc:.3f} | "
                         f"{p.reached_step if p.reached_step is not None else 'never'} | "
                         f"{p.train_seconds:.0f} |")
    lines.append("")
    for (field, k), row in points.items():
        needed = sweeps.smallest_reaching(row)
        lines.append(f"- {field}, k = {k}: smallest value reaching {khop.THRESHOLD}: "
                     f"{needed if needed is not None else 'none on the grid'}")
    return "\n".join(lines)


def plot(points: dict[tuple[str, int], list[sweeps.SweepPoint]], path: Path) -> Path:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6))
    for ax, field, label in ((axes[0], "max_queries", "k-hop queries drawn (data)"),
                             (axes[1], "n_layer", "blocks (depth)")):
        for k in (khop.SMALL_K, khop.LARGE_K):
            row = points[(field, k)]
            ax.plot([p.value for p in row], [p.heldout_acc for p in row], marker="o",
                    label=f"k = {k}")
        ax.axhline(khop.THRESHOLD, color="grey", linestyle="--", linewidth=1)
        ax.set_xlabel(label)
        ax.set_ylabel("held-out accuracy (final)")
        ax.set_ylim(0, 1.02)
        if field == "max_queries":
            ax.set_xscale("log", base=2)
        ax.legend()
    fig.suptitle("k-hop sweeps (dashed: the claims' threshold)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--scale", default="tiny")
    parser.add_argument("--version", type=int, choices=(2, 3), default=3,
                        help="the claims' grid: 2 (to 4000 queries, 1500 steps) or 3 (to 32000, "
                             "3000 steps)")
    parser.add_argument("--out", type=Path, default=Path("khop"),
                        help="directory for khop_sweeps.png")
    args = parser.parse_args()
    bases = [r for r in recipes.for_scale("khop", args.scale)
             if r.name == f"khop-sweep-{args.scale}"]
    if not bases:
        raise SystemExit(f"no k-hop sweep base recipe at scale {args.scale!r} "
                         f"(looked for khop-sweep-{args.scale})")
    points = sweep_points(bases[0].with_seed_and_noise(args.seed), args.version)
    print(table(points))
    print(f"\nplot: {plot(points, args.out / 'khop_sweeps.png')}")


if __name__ == "__main__":
    main()
