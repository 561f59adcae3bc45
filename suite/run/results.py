"""The results directory (--report DIR): the one module that writes it and reads it back.

    results.jsonl      one Verdict per line (suite.judge.claim.Verdict's fields; details holds
                       the claim-specific numbers, details["quantities"] every measured
                       quantity with its interval)
    items.jsonl        per-item outcomes, one object per item: {"claim", "variant", "model_key", "recipe",
                       "seed", "noise", "item", ...} with the claim's per-item fields (e.g.
                       "prompt", "clean_hit", "headline"), so a statistic can be recomputed
                       without running a model
    known_answers.jsonl  the known-answer cases (verdicts on planted subjects, not on models under
                       study): one Verdict per line with what decided it ("measured"), and
                       "planted" (true/false), "subject" (the planted subject) and "correct"
    measurements.jsonl one line per line of results.jsonl: what decided that verdict (its rule
                       and every measurement's per-item values, suite.judge.stats.to_record),
                       from which `memsuite rescore DIR` re-decides it without a model
    replication.jsonl  the k-of-n verdict of each claim across seeds (suite.judge.replication)
    run.json           the run header: what produced these verdicts (code, packages, machine,
                       seeds, date, command), so a lab can tell months later where they came from
    curves.json        the training curve of every model the run judged
    baseline_diff.jsonl   with --baseline: each change against it (suite.run.baseline.Change)
    report.md/.html    and the plots: suite.run.report

All of it is strict JSON (NaN and infinities written as null).
"""

from __future__ import annotations

import dataclasses
import datetime
import os
import platform
import subprocess
import sys
import json
from importlib import metadata
from pathlib import Path
from typing import Any, Sequence

from suite.judge.claim import Verdict, strict_json
from suite.judge.replication import replicate
from suite.validate.known import split

PACKAGES = ("memsuite", "torch", "transformers", "tokenizers", "safetensors", "numpy", "scipy",
            "pytest", "hypothesis")


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def _git_commit(folder: Path) -> str | None:
    try:
        done = subprocess.run(["git", "rev-parse", "HEAD"], cwd=folder, capture_output=True,
                              text=True, timeout=10)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=folder, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    if done.returncode != 0:
        return None
    return done.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")


def header(argv: Sequence[str], seeds: Sequence[int] | None = None,
           extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Suite version and git commit, package versions, device, threads, seeds, date, command."""
    import torch

    return {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "command": list(argv),
        "git_commit": _git_commit(Path(__file__).resolve().parent),
        "packages": {name: _version(name) for name in PACKAGES},
        "python": platform.python_version(),
        "platform": platform.platform(),
        "device": "cuda" if torch.cuda.is_available() else "cpu",
        "cpu_threads": torch.get_num_threads(),
        "cpu_count": os.cpu_count(),
        "seeds": list(seeds) if seeds is not None else None,
        "executable": sys.executable,
        **(extra or {}),
    }


def item_records(verdict: Verdict, items: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """items.jsonl records of one verdict's items: the model's identity, the item's index, and
    the claim's per-item fields."""
    return [{"claim": verdict.claim, "variant": verdict.variant, "model_key": verdict.model_key,
             "recipe": verdict.recipe, "seed": verdict.seed, "noise": verdict.noise,
             "item": index, **item}
            for index, item in enumerate(items)]


def _jsonl(path: Path, rows: Sequence[str]) -> None:
    path.write_text("".join(row + "\n" for row in rows))


def write(out: Path, verdicts: Sequence[Verdict], items: Sequence[dict[str, Any]],
          run: dict[str, Any], curves: dict[str, list[dict[str, Any]]],
          changes: Sequence[Any] | None = None) -> None:
    """Every JSON file of a results directory (the report is written beside them). changes:
    this run against --baseline (suite.run.baseline.Change), when there was one."""
    out.mkdir(parents=True, exist_ok=True)
    verdicts, answers = split(verdicts)
    _jsonl(out / "known_answers.jsonl", [json.dumps(
        {**json.loads(k.verdict.to_json()), "planted": k.planted, "subject": k.verdict.recipe,
         "correct": k.correct}, allow_nan=False) for k in answers])
    _jsonl(out / "results.jsonl", [v.to_json(measured=False) for v in verdicts])
    _jsonl(out / "measurements.jsonl", [json.dumps(strict_json(
        {"claim": v.claim, "variant": v.variant, "model_key": v.model_key, "test": v.test,
         "measured": v.measured}), allow_nan=False) for v in verdicts])
    _jsonl(out / "items.jsonl", [json.dumps(strict_json(i), allow_nan=False) for i in items])
    _jsonl(out / "replication.jsonl", [r.to_json() for r in replicate(verdicts)])
    (out / "run.json").write_text(json.dumps(strict_json(run), indent=1, allow_nan=False))
    (out / "curves.json").write_text(json.dumps(strict_json(curves), allow_nan=False))
    (out / "baseline_diff.jsonl").unlink(missing_ok=True)  # a stale one from an earlier run
    if changes is not None:
        _jsonl(out / "baseline_diff.jsonl",
               [json.dumps({**dataclasses.asdict(c), "regression": c.regression}) for c in changes])


def results_file(path: Path) -> Path:
    """A results directory's results.jsonl, or the file itself when given one."""
    path = Path(path)
    return path / "results.jsonl" if path.is_dir() else path


def read_verdicts(path: Path) -> list[Verdict]:
    """The verdicts of a results directory (or its results.jsonl), then its known answers
    (known_answers.jsonl, where there is one), with the line number of any record that is not
    one."""
    path = results_file(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such results file (written by --report DIR)")
    answers = path.parent / "known_answers.jsonl"
    return _verdicts_in(path) + (_verdicts_in(answers) if answers.is_file() else [])


def _verdicts_in(path: Path) -> list[Verdict]:
    out = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            out.append(Verdict.from_dict(json.loads(line)))
        except (json.JSONDecodeError, ValueError, TypeError) as err:
            raise ValueError(f"{path}:{number}: not a verdict record of this suite version "
                             f"({err})") from None
    return out


def read_measured(path: Path) -> list[Verdict]:
    """The verdicts of a results directory with what decided each (measurements.jsonl, line by
    line with results.jsonl; known answers carry theirs in known_answers.jsonl). Directories
    written before known answers had a file of their own keep them in results.jsonl, and their
    measurements.jsonl follows that file: both layouts are read."""
    path = results_file(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such results file (written by --report DIR)")
    verdicts = _verdicts_in(path)
    answers_file = path.parent / "known_answers.jsonl"
    answers = _verdicts_in(answers_file) if answers_file.is_file() else []
    source = path.parent / "measurements.jsonl"
    if not source.is_file():
        raise FileNotFoundError(f"{source}: no such file (runs before the suite recorded "
                                "measurements cannot be re-decided)")
    rows = [json.loads(line) for line in source.read_text().splitlines() if line.strip()]
    if len(rows) != len(verdicts) or any(
            (r["claim"], r["variant"], r["model_key"]) != (v.claim, v.variant, v.model_key)
            for r, v in zip(rows, verdicts)):
        raise ValueError(f"{source} does not match results.jsonl line by line")
    return [dataclasses.replace(v, measured=r["measured"]) for v, r in zip(verdicts, rows)
            ] + answers


def read_items(path: Path) -> list[dict[str, Any]]:
    """The item records beside a results.jsonl (none when the directory has no items.jsonl)."""
    items = results_file(path).parent / "items.jsonl"
    if not items.is_file():
        return []
    return [json.loads(line) for line in items.read_text().splitlines() if line.strip()]


def read_run(path: Path) -> dict[str, Any] | None:
    """The run header (run.json) beside a results.jsonl; None for directories without one."""
    run = results_file(path).parent / "run.json"
    return json.loads(run.read_text()) if run.is_file() else None


def read_changes(path: Path) -> list[dict[str, Any]] | None:
    """The baseline diff beside a results.jsonl; None when the run had no baseline."""
    diff = results_file(path).parent / "baseline_diff.jsonl"
    if not diff.is_file():
        return None
    return [json.loads(line) for line in diff.read_text().splitlines() if line.strip()]


def read_curves(path: Path) -> dict[str, list[dict[str, Any]]]:
    curves = results_file(path).parent / "curves.json"
    return json.loads(curves.read_text()) if curves.is_file() else {}
