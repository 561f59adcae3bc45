"""One results directory from several: `memsuite merge DIR... --into OUT`.

A selection judged in shards (`--shard i/n`, one machine each) leaves one results directory per
shard. Merged, they are one run: every verdict, known answer, item record, measurement and curve,
a run header that lists the parts, and the report written again, so that replication across
seeds and the family-wise correction are computed over all the parts and `--baseline OUT` and
`memsuite rescore OUT` work on it. A shard judges a claim on a task whose known answers ran in
another shard without them ("not run in this session"); the merge binds every verdict to the
known answers of all the parts (suite.validate.known.bind). The same verdict in two parts (the
same claim, variant, model and test) must say the same, or the merge refuses.
"""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Any, Sequence

from suite.judge.claim import Verdict
from suite.run import results
from suite.validate.known import bind, is_known_answer, table_of


def _identity(v: Verdict) -> tuple[Any, ...]:
    return (v.claim, v.variant, v.model_key, v.seed, v.noise, v.test,
            v.details.get("planted", ""))


def merge(parts: Sequence[Path], out: Path) -> list[Verdict]:
    """Write the merged results directory `out` from `parts`; returns its verdicts. A part
    that is not a results directory, or two parts that disagree on one verdict, is a
    ValueError (FileNotFoundError for a missing part)."""
    if not parts:
        raise ValueError("merge needs at least one results directory")
    if out.exists() and any(out.iterdir()):
        raise ValueError(f"{out}: not empty; merge writes a new results directory")
    verdicts: dict[tuple[Any, ...], Verdict] = {}
    items: list[dict[str, Any]] = []
    curves: dict[str, Any] = {}
    runs = []
    for part in parts:
        for v in results.read_measured(part):
            key = _identity(v)
            seen = verdicts.get(key)
            if seen is not None and (seen.outcome, seen.estimate) != (v.outcome, v.estimate):
                raise ValueError(f"{part}: {v.name} on {v.recipe} seed {v.seed} says {v.said}, "
                                 f"another part says {seen.said}")
            verdicts.setdefault(key, v)
        items += results.read_items(part)
        for name, curve in results.read_curves(part).items():
            if curves.setdefault(name, curve) != curve:
                raise ValueError(f"{part}: model {name} has another training curve in another "
                                 "part: not the same model")
        runs.append({"directory": str(part), **(results.read_run(part) or {})})
    _complete(runs)
    items = list({json.dumps(i, sort_keys=True): i for i in items}.values())  # overlaps once
    merged = list(verdicts.values())
    table = table_of([v for v in merged if is_known_answer(v)])
    merged = [bind(v, table, lambda claim, task: True) for v in merged]  # cases exist: they ran
    merged.sort(key=lambda v: (v.claim, v.variant, v.task, v.recipe, v.noise, v.seed))
    run = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
           "command": ["memsuite", "merge", *map(str, parts), "--into", str(out)],
           "merged_from": runs, "verdicts": sum(not is_known_answer(v) for v in merged),
           "seeds": sorted({v.seed for v in merged if not is_known_answer(v)}),
           "git_commit": _one(r.get("git_commit") for r in runs)}
    results.write(out, merged, items, run, curves)
    from suite.run.ledger import load
    from suite.run.report import expected_by_ledger, write_report

    write_report(out, merged, curves, expected_by_ledger(merged, load()), run)
    return merged


def _complete(runs: Sequence[dict[str, Any]]) -> None:
    """Parts of one run: one commit, and where they are shards (--shard I/N), all N of them."""
    from suite.run.options import parse_shard

    commits = {r.get("git_commit") for r in runs}
    if len(commits) > 1:
        raise ValueError(f"the parts were run at different commits ({', '.join(map(str, commits))})"
                         ": their verdicts are not one run's")
    shards = [parse_shard(r.get("shard")) for r in runs]
    if any(shards):
        if not all(shards) or len({n for _, n in shards}) > 1:
            raise ValueError("some parts are shards and some are not, or of different N: "
                             f"{[r.get('shard') for r in runs]}")
        n = shards[0][1]
        if sorted(i for i, _ in shards) != list(range(1, n + 1)):
            raise ValueError(f"the shards are {sorted(i for i, _ in shards)} of {n}: each of "
                             f"1..{n} exactly once makes the whole run")


def _one(values: Any) -> str | None:
    """The parts' common value; None where they differ (the ledger then refuses the merge)."""
    found = set(values)
    return found.pop() if len(found) == 1 else None
