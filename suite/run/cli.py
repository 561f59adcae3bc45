"""Command line (`python -m suite` or `memsuite`): ls, train, run, report.

    ls [--markdown [--write]]  claims with their sources, recipes, stored models (--markdown:
                               the claim catalogue; --write: into docs/CLAIMS.md)
    train RECIPE --seed N      train a recipe into the store (or load it)
    train --plan FILE [--ray [ADDRESS]] [--ship]
                               train a plan's missing models, here or as Ray tasks
    run [-k EXPR] [--model-dir DIR] [--scale S] [--arch A] [--seeds N] [--noise R] [--report DIR]
        [--baseline DIR]       judge the claims: pytest on claims/ with these options
    plan [-k EXPR] [--seeds N] ... [--json FILE]
                               the models a selection needs and which are stored (nothing trains)
    report DIR                 re-render DIR/report.html and report.md from DIR/results.jsonl
    rescore DIR                re-decide every verdict of DIR from its measurement records, no
                               model (exit 1 when one differs from what DIR recorded)
    ledger DIR... [--check]    record the verdicts of results directories (clean commits) in
                               claims/ledger.json, the record a run is compared with; --check:
                               only say what would change
    merge DIR... --into OUT    one results directory from several (the shards of a run)
    results [--write]          the scoreboard (docs/RESULTS.md) from the ledger and the claims
    rules OLD NEW              which claims' rules (protocols) differ between two results dirs

Everything goes through the same code paths as pytest: `train` uses the store and loop the
fixtures use, and `run` is pytest itself on the claims folder, so a verdict from here is the
verdict `pytest claims/` gives.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Sequence

from suite.judge.claim import superseded
from suite.run import options
from suite.train import recipes


def _train(args: argparse.Namespace) -> int:
    if args.plan:
        return _train_plan(args)
    if not args.recipe:
        print("memsuite train: name a recipe, or --plan FILE", file=sys.stderr)
        return 2
    try:
        recipe = recipes.load(args.recipe).with_seed_and_noise(args.seed, args.noise)
    except (KeyError, FileNotFoundError, ValueError) as err:
        print(f"memsuite train: {err.args[0] if err.args else err}", file=sys.stderr)
        return 2
    import os
    import time

    from suite import store

    if args.device:
        os.environ["MEMSUITE_DEVICE"] = args.device
    try:
        store.device()
    except ValueError as err:
        print(f"memsuite train: {err}", file=sys.stderr)
        return 2

    stored = store.get_or_train(recipe, refresh_before=time.time() if args.refresh else None,
                                progress=not args.quiet)
    m = stored.metrics
    out = {
        "recipe": recipe.name,
        "seed": args.seed,
        "noise": recipe.task.noise,
        "seconds": round(stored.trained_seconds, 2),
        "trained_seconds_when_stored": m.get("seconds"),
        "steps": m.get("steps"),
        "heldout_acc": m.get("heldout_acc"),
        "noisy_recall": m.get("noisy_recall"),
        "clean_train_acc": m.get("clean_train_acc"),
        "atomic_acc": m.get("atomic_acc"),
        "pre_memorization_step": m.get("pre_memorization_step"),
        "noisy_clean_share_at_pre": m.get("noisy_clean_share_at_pre"),
        "n": m.get("n"),
        "path": str(stored.path),
    }
    if args.json:
        print(json.dumps(out))
    else:
        for k, v in out.items():
            print(f"{k:28s} {v}")
    return 0


def _ls(args: argparse.Namespace) -> int:
    from suite.run import catalogue

    try:
        claims = catalogue.collect()
    except (FileNotFoundError, RuntimeError, ValueError) as err:
        print(f"memsuite ls: {err}", file=sys.stderr)
        return 2
    if args.markdown:
        text = catalogue.markdown(claims)
        if args.write:
            path = catalogue.catalogue_file()
            old = path.read_text()
            head = old[:old.index(catalogue.GENERATED)] if catalogue.GENERATED in old else old
            path.write_text(head + text)
            print(f"wrote {path}")
        else:
            print(text)
        return 0
    replaced = superseded(list(claims.values()))
    shown = {i: c for i, c in claims.items() if args.all or i not in replaced}
    print(f"claims ({len(shown)} current" + (f", {len(replaced)} superseded" if args.all else
                                            f"; --all adds {len(replaced)} superseded") + "):")
    for claim_id, claim in shown.items():
        old = f"  (superseded by {replaced[claim_id]})" if claim_id in replaced else ""
        print(f"  {claim_id:42s} v{claim.version} {claim.protocol}  {claim.source}{old}")
    print("recipes:")
    for name in recipes.available():
        r = recipes.load(name)
        print(f"  {name:20s} {r.scale:6s} {r.model.arch:6s} {r.task_name:5s} {r.regime or '-':8s} "
              f"{r.description}")
    from suite import store

    print(f"stored models ({store.store_root()}):")
    for entry in store.entries():
        m = entry.metrics
        print(f"  {entry.path.name}  held-out {m.get('heldout_acc')}  noisy recall "
              f"{m.get('noisy_recall')}  M_pre {m.get('pre_memorization_step')}")
    return 0


def _train_plan(args: argparse.Namespace) -> int:
    """Train a plan's missing models (suite.run.farm): here, or as Ray tasks with --ray."""
    from suite.run import farm
    from suite.run.plan import Spec

    try:
        specs = [Spec.from_dict(json.loads(line)) for line in
                 Path(args.plan).read_text().splitlines() if line.strip()]
    except (OSError, ValueError, TypeError) as err:
        print(f"memsuite train: --plan {args.plan}: not a plan ({err}); make one with "
              "memsuite plan --json FILE", file=sys.stderr)
        return 2
    todo = farm.missing(specs)
    print(f"{len(specs)} models in the plan, {len(specs) - len(todo)} stored, {len(todo)} to train")
    if not todo:
        return 0
    try:
        done = (farm.with_ray(todo, args.ray or None, ship=args.ship) if args.ray is not None
                else farm.serially(todo))
    except RuntimeError as err:
        print(f"memsuite train: {err}", file=sys.stderr)
        return 2
    return farm.report(done)


def _merge(args: argparse.Namespace) -> int:
    """One results directory from several (suite.run.merge)."""
    from suite.run.merge import merge

    try:
        merged = merge([Path(d) for d in args.directories], Path(args.into))
    except (FileNotFoundError, ValueError) as err:
        print(f"memsuite merge: {err}", file=sys.stderr)
        return 2
    print(f"{len(merged)} verdicts and known answers from {len(args.directories)} directories: "
          f"{Path(args.into) / 'report.html'}")
    return 0


def _selection(args: argparse.Namespace) -> list[str]:
    """pytest arguments for a claims selection: -k, -m and the plugin's options as given."""
    argv = ["-k", args.k] if args.k else []
    for option in options.OPTIONS:  # the plugin's options, passed on as given
        value = getattr(args, option.dest, None)
        if value is True:
            argv.append(option.flag)
        elif value not in (None, False):
            argv += [option.flag, str(value)]
    if args.m:
        argv += ["-m", args.m]
    return argv + list(getattr(args, "pytest_args", []))


def _plan(args: argparse.Namespace) -> int:
    """The models a selection needs (suite.run.plan), as a table and, with --json, specs."""
    from suite.run import plan
    from suite.run.catalogue import CLAIMS_DIR

    try:
        options.parse_seeds(args.seeds)  # a bad option, said once (not per test module)
        options.parse_noise(args.noise)
        options.parse_scales(args.scale)
        options.parse_archs(args.arch)
        specs = plan.plan(_selection(args), CLAIMS_DIR)
    except ValueError as err:
        print(f"memsuite plan: {err}", file=sys.stderr)
        return 2
    print(plan.table(specs))
    if args.json:
        Path(args.json).write_text("".join(s.to_json() + "\n" for s in specs))
        print(f"specs: {args.json} (one JSON object a line)")
    return 0


def _run(args: argparse.Namespace) -> int:
    import pytest

    from suite.run.catalogue import CLAIMS_DIR

    folder = CLAIMS_DIR
    if not folder.is_dir():
        print(f"memsuite run: no claims folder at {folder} (install the checkout with "
              "pip install -e .)", file=sys.stderr)
        return 2
    argv = [str(folder), "-p", "no:cacheprovider", "-q" if args.quiet else "-v",
            *_selection(args)]
    code = int(pytest.main(argv))
    if code == pytest.ExitCode.NO_TESTS_COLLECTED:
        print(f"memsuite run: no claim test matches -k {args.k!r}" if args.k else
              "memsuite run: no claim test was collected", file=sys.stderr)
    if args.report and code in (0, 1):
        print(f"report: {Path(args.report) / 'report.html'}")
    return code


def _report(args: argparse.Namespace) -> int:
    from suite.run.report import rerender

    try:
        md, html = rerender(Path(args.directory))
    except (FileNotFoundError, ValueError) as err:
        print(f"memsuite report: {err}", file=sys.stderr)
        return 2
    print(f"wrote {html} and {md}")
    return 0


def _rescore(args: argparse.Namespace) -> int:
    from suite.run.rescore import rescore

    try:
        rows = rescore(Path(args.directory))
    except (FileNotFoundError, ValueError) as err:
        print(f"memsuite rescore: {err}", file=sys.stderr)
        return 2
    for row in rows:
        print(row.line)
    redone = [r for r in rows if r.now is not None]
    changed = [r for r in redone if not r.same]
    print(f"{len(redone)} verdicts re-decided from their records: {len(redone) - len(changed)} "
          f"the same, {len(changed)} changed; {len(rows) - len(redone)} with nothing to "
          "re-decide (not judged, or a statistic without a name)")
    return 1 if changed else 0


def _ledger(args: argparse.Namespace) -> int:
    """Record results directories in the ledger (suite.run.ledger): only runs of a clean commit
    whose recipes are today's, only current claims under their current rules, and never a run
    that contradicts the ledger unless --accept (which prints what it overrides)."""
    import subprocess

    from suite.run import ledger
    from suite.run.catalogue import CLAIMS_DIR, collect
    from suite.run.results import read_run, read_verdicts

    path = Path(args.ledger) if args.ledger else ledger.default_path()
    try:
        book = ledger.load(path)
        runs = [(Path(d), read_run(Path(d)), read_verdicts(Path(d))) for d in args.directories]
    except (FileNotFoundError, ValueError) as err:
        print(f"memsuite ledger: {err}", file=sys.stderr)
        return 2
    checkout = CLAIMS_DIR.parent
    for directory, run, _ in runs:
        commit = (run or {}).get("git_commit")
        if not commit or commit.endswith("+dirty"):
            print(f"memsuite ledger: {directory} was not run from a clean commit ({commit}); "
                  "the ledger records only what a commit's code measured", file=sys.stderr)
            return 2
        same = subprocess.run(["git", "diff", "--quiet", commit, "--", "models"], cwd=checkout,
                              capture_output=True)
        if same.returncode != 0:
            print(f"memsuite ledger: {directory}: the recipes (models/) differ between its commit "
                  f"{commit[:12]} and this checkout (or git cannot tell), so its entries would "
                  "carry the wrong recipe digests", file=sys.stderr)
            return 2
    claims = collect()
    old = superseded(list(claims.values()))
    current = {c.id: c.protocol for c in claims.values() if c.id not in old}
    contradictions = [f"{directory}: {c.why}" for directory, _, verdicts in runs
                      for v in verdicts if ledger.key_of(v) in book
                      and (c := ledger.check(book, v)).red and not c.unrecorded]  # validated
    # or not: what it measured; too few seeds is no contradiction (recording is how they grow)
    from suite.validate.known import was_measured

    latest = {(ledger.key_of(v), v.seed): v for _, _, verdicts in runs for v in verdicts
              if was_measured(v)}
    # a verdict the ledger would record had it been measured, and no given run measured
    unmeasured = [f"{d}: {v.name} on {v.recipe} seed {v.seed}" for d, _, vs in runs for v in vs
                  if not was_measured(v) and (key := ledger.key_of(v)) is not None
                  and not v.superseded_by and current.get(v.claim) == v.protocol
                  and (key, v.seed) not in latest]
    everything = list(latest.values())
    for (key, seed), v in latest.items():
        entry = book.get(key) if key is not None else None
        was = next((s for s in entry.seeds if s.seed == seed), None) if entry else None
        if was is not None and was.measured != ledger.measured_outcome(v):
            print(f"replaced: {v.name} on {v.recipe} seed {seed} was recorded "
                  f"'{was.said}', now {ledger.measured_outcome(v)}")
    for block in ledger.blocks(book, everything):
        print(block.line)
        if block.red:
            contradictions.append(block.line)
    for line in contradictions:
        print(line)
    if contradictions and not args.accept:
        print(f"memsuite ledger: {len(contradictions)} verdict(s) contradict the ledger; "
              "nothing written (--accept records them, replacing what they contradict)",
              file=sys.stderr)
        return 1
    if unmeasured and not args.accept_unmeasured:
        print(f"memsuite ledger: {len(unmeasured)} current verdict(s) were not measured (an "
              f"instrument its run's known answers did not validate), e.g. {unmeasured[0]}; the "
              "ledger records what every current claim measured: judge with "
              "--measure-unvalidated; nothing written (--accept-unmeasured records the rest and "
              "keeps those seeds' records)", file=sys.stderr)
        return 1
    total = 0
    for directory, run, verdicts in runs:
        book, n = ledger.record(book, verdicts, run["git_commit"], current)
        total += n
        print(f"{directory}: {n} verdict(s) recorded (commit {run['git_commit'][:12]})")
    book, dropped = ledger.prune(book, current)
    for e in dropped:
        print(f"dropped: {e.name} on {e.recipe} (noise {e.noise:g}): its claim, rule or recipe "
              "changed")
    findings = sorted(e.name + " on " + e.recipe for e in book.values() if book.finding(e))
    print(f"{len(book)} entries, {total} seed record(s) added, {len(dropped)} dropped; "
          f"findings: {', '.join(findings) or 'none'}")
    if not args.check:
        print(f"written: {ledger.write(book, path)}")
    return 0


def _results(args: argparse.Namespace) -> int:
    """The scoreboard (suite.run.scoreboard) from the ledger and the current claims."""
    from suite.run import ledger, scoreboard
    from suite.run.catalogue import collect, results_file

    try:
        book = ledger.load()
    except ValueError as err:
        print(f"memsuite results: {err}", file=sys.stderr)
        return 2
    text = scoreboard.markdown(book, collect())
    if args.write:
        results_file().write_text(text)
        print(f"written: {results_file()}")
    else:
        print(text, end="")
    return 0


def _rules(args: argparse.Namespace) -> int:
    """Per claim: the protocol (frozen rule) each results directory was judged under."""
    from suite.run.results import read_verdicts

    try:
        old, new = (read_verdicts(Path(d)) for d in (args.old, args.new))
    except (FileNotFoundError, ValueError) as err:
        print(f"memsuite rules: {err}", file=sys.stderr)
        return 2

    def protocols(verdicts) -> dict[str, set[str]]:
        out: dict[str, set[str]] = {}
        for v in verdicts:
            out.setdefault(v.claim, set()).add(f"{v.protocol or '-'} (v{v.version})")
        return out

    before, after = protocols(old), protocols(new)
    changed = 0
    for claim in sorted(set(before) | set(after)):
        a, b = before.get(claim, set()), after.get(claim, set())
        if a != b:
            changed += 1
            print(f"{claim}: {', '.join(sorted(a)) or 'absent'} -> {', '.join(sorted(b)) or 'absent'}")
    same = sum(before.get(c) == after.get(c) for c in set(before) & set(after))
    print(f"{changed} claim(s) with a changed or missing rule, {same} unchanged")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="memsuite", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train", help="train a recipe (or load it from the store)")
    t.add_argument("recipe", nargs="?", help="recipe name (see `ls`) or path to a .toml file")
    t.add_argument("--plan", default=None, metavar="FILE",
                   help="train the missing models of a plan (memsuite plan --json FILE)")
    t.add_argument("--ray", nargs="?", const="", default=None, metavar="ADDRESS",
                   help="with --plan: one Ray task per missing model, on the cluster at ADDRESS "
                   "(auto, ray://host:10001) or a local one")
    t.add_argument("--ship", action="store_true", help="with --ray: workers that do not share "
                   "the store send each entry back, and this process stores it")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--noise", type=float, default=None, help="override the recipe's noise rate")
    t.add_argument("--json", action="store_true", help="print one JSON object")
    t.add_argument("--refresh", action="store_true", help="retrain even if stored")
    t.add_argument("--quiet", action="store_true", help="no progress bar")
    t.add_argument("--device", default=None, help="cpu, cuda or cuda:N (default: cuda when "
                   "present, else cpu)")
    t.set_defaults(run=_train)
    ls = sub.add_parser("ls", help="list claims, recipes and stored models")
    ls.add_argument("--markdown", action="store_true",
                    help="print the claim catalogue as Markdown (docs/CLAIMS.md's generated part)")
    ls.add_argument("--all", action="store_true",
                    help="list superseded claim versions too (labelled)")
    ls.add_argument("--write", action="store_true",
                    help="with --markdown: rewrite docs/CLAIMS.md's generated part")
    ls.set_defaults(run=_ls)
    r = sub.add_parser("run", help="judge the claims (pytest on claims/)",
                       epilog="arguments after -- go to pytest unchanged, e.g. -- -n auto -x")
    r.add_argument("-k", default=None, help="pytest -k expression, e.g. thr or 'bridge and s1'")
    r.add_argument("-m", default=None, help="pytest -m marker expression, e.g. slow")
    options.add_to(r.add_argument)
    r.add_argument("--quiet", action="store_true", help="pytest -q instead of -v")
    r.add_argument("pytest_args", nargs="*", help="passed to pytest after --")
    r.set_defaults(run=_run)
    pl = sub.add_parser("plan", help="the models a claims selection needs, stored or missing")
    pl.add_argument("-k", default=None, help="pytest -k expression")
    pl.add_argument("-m", default=None, help="pytest -m marker expression")
    options.add_to(pl.add_argument)
    pl.add_argument("--json", default=None, metavar="FILE",
                    help="write one JSON spec a line (recipe, seed, noise, family, device, threads)")
    pl.set_defaults(run=_plan)
    rep = sub.add_parser("report", help="re-render a report from its results.jsonl")
    rep.add_argument("directory", help="a --report directory")
    rep.set_defaults(run=_report)
    rs = sub.add_parser("rescore", help="re-decide a run's verdicts from its records, no model")
    rs.add_argument("directory", help="a --report directory")
    rs.set_defaults(run=_rescore)
    le = sub.add_parser("ledger", help="record results directories in claims/ledger.json")
    le.add_argument("directories", nargs="+", help="--report directories of clean commits")
    le.add_argument("--ledger", default=None, help="another ledger file (default: "
                    "claims/ledger.json, or MEMSUITE_LEDGER)")
    le.add_argument("--check", action="store_true", help="say what would change, write nothing")
    le.add_argument("--accept-unmeasured", action="store_true",
                    help="record runs that left unvalidated instruments unmeasured (without "
                    "--measure-unvalidated); those seeds keep their records")
    le.add_argument("--accept", action="store_true",
                    help="record runs that contradict the ledger (printing each contradiction)")
    le.set_defaults(run=_ledger)
    me = sub.add_parser("merge", help="one results directory from several (shards of a run)")
    me.add_argument("directories", nargs="+", help="--report directories")
    me.add_argument("--into", required=True, help="the new results directory")
    me.set_defaults(run=_merge)
    res = sub.add_parser("results", help="the scoreboard (docs/RESULTS.md) from the ledger")
    res.add_argument("--write", action="store_true", help="rewrite docs/RESULTS.md")
    res.set_defaults(run=_results)
    ru = sub.add_parser("rules", help="list the claims whose rule changed between two runs")
    ru.add_argument("old", help="a --report directory")
    ru.add_argument("new", help="a --report directory")
    ru.set_defaults(run=_rules)
    args = parser.parse_args(argv)
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())
