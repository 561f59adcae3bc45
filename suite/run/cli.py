"""Command line (`python -m suite` or `memsuite`): ls, train, run, report.

    ls [--markdown [--write]]  claims with their sources, recipes, stored models (--markdown:
                               the claim catalogue; --write: into docs/CLAIMS.md)
    train RECIPE --seed N      train a recipe into the store (or load it)
    run [-k EXPR] [--model-dir DIR] [--scale S] [--arch A] [--seeds N] [--noise R] [--report DIR]
        [--baseline DIR]       judge the claims: pytest on claims/ with these options
    report DIR                 re-render DIR/report.html and report.md from DIR/results.jsonl
    rescore DIR                re-decide every verdict of DIR from its measurement records, no
                               model (exit 1 when one differs from what DIR recorded)
    findings DIR               draft claims/findings.toml entries for DIR's non-holding claims
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


def _run(args: argparse.Namespace) -> int:
    import pytest

    from suite.run.catalogue import CLAIMS_DIR

    folder = CLAIMS_DIR
    if not folder.is_dir():
        print(f"memsuite run: no claims folder at {folder} (install the checkout with "
              "pip install -e .)", file=sys.stderr)
        return 2
    argv = [str(folder), "-p", "no:cacheprovider", "-q" if args.quiet else "-v"]
    if args.k:
        argv += ["-k", args.k]
    for option in options.OPTIONS:  # the plugin's options, passed on as given
        value = getattr(args, option.dest)
        if value is True:
            argv.append(option.flag)
        elif value not in (None, False):
            argv += [option.flag, str(value)]
    if args.m:
        argv += ["-m", args.m]
    argv += args.pytest_args
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


def _findings(args: argparse.Namespace) -> int:
    from suite.run import findings
    from suite.run.results import read_verdicts
    from suite.validate.known import split

    try:
        verdicts = read_verdicts(Path(args.directory))
        recorded = findings.load()
    except (FileNotFoundError, ValueError) as err:
        print(f"memsuite findings: {err}", file=sys.stderr)
        return 2
    models, _ = split(verdicts)  # known answers are the instrument's checks, not findings
    print(findings.draft(models, recorded), end="")
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
    t.add_argument("recipe", help="recipe name (see `ls`) or path to a .toml file")
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
    rep = sub.add_parser("report", help="re-render a report from its results.jsonl")
    rep.add_argument("directory", help="a --report directory")
    rep.set_defaults(run=_report)
    rs = sub.add_parser("rescore", help="re-decide a run's verdicts from its records, no model")
    rs.add_argument("directory", help="a --report directory")
    rs.set_defaults(run=_rescore)
    f = sub.add_parser("findings", help="draft findings.toml entries for a run's non-holding claims")
    f.add_argument("directory", help="a --report directory")
    f.set_defaults(run=_findings)
    ru = sub.add_parser("rules", help="list the claims whose rule changed between two runs")
    ru.add_argument("old", help="a --report directory")
    ru.add_argument("new", help="a --report directory")
    ru.set_defaults(run=_rules)
    args = parser.parse_args(argv)
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())
