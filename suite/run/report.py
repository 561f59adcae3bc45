"""Plots for a run's report directory (--report DIR), drawn from the recorded verdicts and the
models' saved training curves: nothing is recomputed from a model here.

    dynamics_<model>.png      held-out accuracy, noisy recall and noisy_clean_share (noisy
                              items answered with their clean label) over training steps, with M_pre marked
    by_scale.png              each claim's estimate at each scale and model family of the run
                              (two or more)
    figure_<claim>[_<variant>]_<recipe>.png   every figure a claim declared with its verdict
                              (names are slugs: render.slug; no spaces or commas)
                              (suite.judge.figures: per-site lines, an intervention beside its
                              control, a sweep), each seed's values in one panel
    report.md, report.html    the run header (run.json), the claims judged (sentence, source,
                              rule), the verdicts with their numbers, the known answers,
                              replication, family-wise correction, the baseline diff and the
                              plots (embedded in the HTML, so the file travels alone)
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any, Sequence

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402

from suite.train import dynamics  # noqa: E402
from suite.judge import render  # noqa: E402
from suite.judge.claim import Verdict  # noqa: E402


def plot_dynamics(curve: Sequence[dict[str, Any]], title: str, path: Path) -> None:
    steps = [p["step"] for p in curve]
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for field, label in (("heldout_acc", "held-out accuracy"), ("noisy_recall", "noisy recall"),
                         ("noisy_clean_share", "noisy items answered with the clean label")):
        ax.plot(steps, [p[field] for p in curve], label=label)
    pre = dynamics.pre_memorization_step(curve)
    if pre is not None:
        ax.axvline(pre, color="grey", linestyle="--", label=f"M_pre (step {pre})")
    ax.set(xlabel="training step", ylabel="share", ylim=(-0.02, 1.02), title=title)
    ax.legend(fontsize=7, loc="center right")
    _save(fig, path)


def _save(fig: Any, path: Path, title_inches: float = 0.0) -> Path:
    """Lay out, write and close `fig`; title_inches keeps room at the top for a suptitle."""
    fig.tight_layout(rect=(0, 0, 1, 1 - title_inches / fig.get_figheight()))
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _panels(verdicts: Sequence[Verdict]) -> dict[tuple[str, str, str], list[Verdict]]:
    """Verdicts that carry a figure, by (claim, variant, recipe): one panel each."""
    out: dict[tuple[str, str, str], list[Verdict]] = defaultdict(list)
    for v in verdicts:
        if v.judged and isinstance(v.details.get("figure"), dict):
            out[(v.claim, v.variant, v.recipe)].append(v)
    return out


def _draw_lines(ax: Any, rows: Sequence[Verdict]) -> None:
    for v in sorted(rows, key=lambda r: r.seed):
        f = v.details["figure"]
        for i, (label, values) in enumerate(f["series"].items()):
            ax.plot(range(len(values)), values, marker="o", color=f"C{i}", alpha=0.8,
                    label=f"{label}, seed {v.seed}")
        ax.set_xticks(range(len(f["x"])), f["x"], fontsize=7)
    ax.set(xlabel=f["xlabel"], ylabel=f["ylabel"], ylim=(-0.02, 1.02))


def _draw_bars(ax: Any, rows: Sequence[Verdict]) -> None:
    rows = sorted(rows, key=lambda r: r.seed)
    figs = [v.details["figure"] for v in rows]
    x = range(len(rows))
    ax.bar([i - 0.2 for i in x], [f["effect"] for f in figs], width=0.4, label=figs[0]["effect_label"])
    ax.bar([i + 0.2 for i in x], [f["control"] for f in figs], width=0.4, color="grey",
           label=figs[0]["control_label"])
    ax.set_xticks(list(x), [f"seed {v.seed}" for v in rows], fontsize=7)


def plot_figures(verdicts: Sequence[Verdict], out: Path) -> list[Path]:
    """Every figure the claims declared (suite.judge.figures), one file per claim x variant x
    recipe with each seed's values."""
    draw = {"lines": _draw_lines, "bars": _draw_bars}
    written = []
    for (claim, variant, recipe), rows in sorted(_panels(verdicts).items()):
        kind = rows[0].details["figure"]["kind"]
        fig, ax = plt.subplots(figsize=(6.5, 3.8))
        draw[kind](ax, rows)
        name = render.name(claim, variant)
        ax.set_title(f"{recipe}: {name}\n{rows[0].details['figure']['title']}", fontsize=9)
        ax.legend(fontsize=6)
        stem = render.slug("figure", claim, variant, recipe)
        if out / f"{stem}.png" in written:
            raise ValueError(f"two figures would share the file name {stem}.png")
        written.append(_save(fig, out / f"{stem}.png"))
    return written


def plot_by_scale(verdicts: Sequence[Verdict], out: Path) -> list[Path]:
    """One panel per claim x task judged on two kinds of model or more (scales, families): each
    seed's estimate and interval per kind (by_scale.png), the picture beside render.by_scale's
    table."""
    scales, column = render.model_columns([v for v in verdicts if v.judged])
    groups: dict[tuple[str, str], list[Verdict]] = defaultdict(list)
    for v in verdicts:
        if v.scale and v.judged and v.estimate is not None:
            groups[(v.name, v.task)].append(v)
    groups = {k: vs for k, vs in groups.items() if len({column(v) for v in vs}) >= 2}
    if len(scales) < 2 or not groups:
        return []
    cols = 3
    rows = -(-len(groups) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 2.6 * rows), squeeze=False)
    for ax, ((claim, task), vs) in zip(axes.flat, sorted(groups.items())):
        for v in vs:
            x = scales.index(column(v)) + 0.08 * (v.seed % 5 - 2)
            low = max(0.0, v.estimate - (v.ci_low if v.ci_low is not None else v.estimate))
            high = max(0.0, (v.ci_high if v.ci_high is not None else v.estimate) - v.estimate)
            ax.errorbar([x], [v.estimate], yerr=[[low], [high]], fmt="o", ms=4, capsize=2,
                        color={"holds": "C2", "does not hold": "C3"}.get(v.outcome, "grey"))
        ax.set_xticks(range(len(scales)), scales, fontsize=7)
        ax.set_xlim(-0.5, len(scales) - 0.5)
        ax.set_title(f"{claim} ({task})", fontsize=7)
        ax.tick_params(labelsize=6)
    for ax in list(axes.flat)[len(groups):]:
        ax.axis("off")
    fig.suptitle("estimate by scale and model family (green holds, red does not hold, grey "
                 "inconclusive; one point per seed)", fontsize=9)
    return [_save(fig, out / "by_scale.png", title_inches=0.3)]


def write_plots(out: Path, verdicts: Sequence[Verdict],
                curves: dict[str, list[dict[str, Any]]]) -> list[Path]:
    """Every plot this run's verdicts and training curves support; returns the files written.
    curves: model name -> its curve.json."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, curve in sorted(curves.items()):
        if curve:
            path = out / f"{render.slug('dynamics', name)}.png"
            plot_dynamics(curve, name, path)
            written.append(path)
    return written + plot_by_scale(verdicts, out) + plot_figures(verdicts, out)


# --- the run's summary: markdown and one self-contained HTML file ---------------------------

def _row(v: Verdict, known: frozenset = frozenset()) -> list[str]:
    name = v.name + (f" (superseded by {v.superseded_by})" if v.superseded_by else "")
    interval = render.interval(v.ci_low, v.ci_high)
    estimate = "" if v.estimate is None or not v.judged else render.fmt(v.estimate)
    p = "" if v.p is None else f"{v.p:.3g}"
    status = v.outcome if v.judged else (
        "not judged (instrument not validated)" if v.details.get("validation") == "not validated"
        else "not judged (precondition)")
    if v.outcome == "does not hold" and _identity(v) in known:
        status = "known: does not hold (as the ledger records)"
    return [name, v.task, v.recipe, str(v.seed), f"{v.noise:g}", estimate, interval, p,
            _numbers(v), status]


HEADER = ["claim", "task", "model", "seed", "noise", "estimate", "interval", "p",
          "numbers behind the verdict", "outcome"]
HIDDEN_DETAILS = ("figure", "quantities")  # drawn as plots, or repeated by the columns


def _numbers(v: Verdict) -> str:
    """The claim-specific numbers a verdict rests on (its details, less plots), one line."""
    return "; ".join(f"{k}={render.fmt(x)}" for k, x in v.details.items()
                     if k not in HIDDEN_DETAILS)


def _claims_judged(verdicts: Sequence[Verdict]) -> tuple[list[str], list[list[str]]]:
    """One row per claim (and variant) judged: its sentence, source and decision rule."""
    rows: dict[str, list[str]] = {}
    for v in verdicts:
        rows.setdefault(v.name, [v.name, v.sentence or "(not recorded)", v.source, v.threshold])
    return ["claim", "sentence", "source", "rule"], [rows[k] for k in sorted(rows)]


def _run_table(run: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    """The run header as key / value rows (package versions on one row)."""
    rows = []
    for key, value in run.items():
        if key == "packages" and isinstance(value, dict):
            value = ", ".join(f"{k} {v}" for k, v in value.items() if v)
        elif isinstance(value, list):
            value = " ".join(str(x) for x in value)
        rows.append([key, "" if value is None else str(value)])
    return ["run", "value"], rows


def _changes_table(changes: Sequence[dict[str, Any]]) -> tuple[list[str], list[list[str]]]:
    from suite.run.baseline import UNLISTED

    shown = [c for c in changes if c["kind"] not in UNLISTED]
    rows = [[c["claim"], c["model"], c["kind"], c["before"], c["after"],
             "regression" if c["regression"] else "change"] for c in shown]
    regressions = sum(c["regression"] for c in changes)
    rows.append(["(all)", "", f"{regressions} regression(s), {len(shown) - regressions} other "
                 f"change(s); {sum(c['kind'] == 'not in baseline' for c in changes)} not in the "
                 f"baseline, {sum(c['kind'] == 'not in this run' for c in changes)} not in this "
                 "run", "", "", "regression" if regressions else "change"])
    return ["claim", "model", "change", "baseline", "this run", "status"], rows


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(c.replace("|", "/") for c in r) + " |" for r in rows]
    return "\n".join(lines)


def _html_table(header: Sequence[str], rows: Sequence[Sequence[str]], css: str = "") -> str:
    from html import escape

    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join(
        f'<tr class="{escape(r[-1].split()[0] if r[-1] else "")}">' + "".join(f"<td>{escape(c)}</td>" for c in r)
        + "</tr>" for r in rows)
    return f'<table class="{css}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


STYLE = """body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}
table{border-collapse:collapse;font-size:13px;margin:1em 0}td,th{border:1px solid #ccc;
padding:3px 6px;text-align:left}tr.holds td:last-child{color:#060}tr.does td:last-child{color:#a00}
tr.inconclusive td:last-child,tr.not td:last-child,tr.known td:last-child{color:#888}
tr.regression td:last-child{color:#a00;font-weight:bold}img{max-width:100%;display:block;margin:1em 0}"""


def summary_tables(verdicts: Sequence[Verdict], known: frozenset = frozenset(),
                   run: dict[str, Any] | None = None,
                   changes: Sequence[dict[str, Any]] | None = None
                   ) -> dict[str, tuple[list[str], list[list[str]]]]:
    """The report's tables: the run header, the baseline diff (when there is one: it says
    whether the run passes), known answers (the instrument's validation: it says which verdicts
    can be read), the claims judged, their verdicts, replication across seeds, family-corrected
    p-values."""
    from suite.judge.replication import family_correct, replicate
    from suite.validate.known import split, validations

    verdicts, answers = split(verdicts)
    tables = {}
    if run:
        tables["Run"] = _run_table(run)
    if changes is not None:
        tables["Against the baseline"] = _changes_table(changes)
    if answers:
        tables["Known answers (each claim on a planted-true and a planted-false subject)"] = (
            ["claim", "task", "planted true", "planted false", "validated"],
            [[r.name, r.task] + ["; ".join(_said_known(k) for k in cases) or "no case"
                                  for cases in (r.true, r.false)]
             + ["yes" if r.validated else f"NO: {r.why_not}"] for r in validations(answers)])
    if verdicts:
        tables["Claims judged"] = _claims_judged(verdicts)
    tables["Verdicts"] = (HEADER, [_row(v, known) for v in verdicts])
    scaled = render.by_scale(verdicts)
    if scaled:
        tables["By scale and model family (each seed's outcome and estimate)"] = scaled
    reps = replicate(verdicts)
    if reps:
        tables["Replication across seeds (k-of-n)"] = (
            ["claim", "model", "noise", "holds / judged seeds", "not judged", "rule", "error rate",
             "outcome"],
            [[render.name(r.claim, r.variant), r.recipe, f"{r.noise:g}",
              f"{r.holds_in} of {r.judged} ({r.does_not_hold_in} do not hold, "
              f"{r.inconclusive_in} inconclusive)", str(r.not_judged_in), f">= {r.k}",
              "exact" if r.error_rate is None else f"{r.error_rate:.2g}",
              "replicates" if r.replicates else "does not replicate"] for r in reps])
    fams = family_correct(verdicts)
    if fams:
        tables["Family-wise correction (Holm, alpha 0.05)"] = (
            ["claim", "family", "model", "seed", "noise", "p", "p (Holm)", "verdict"],
            [[render.name(f.claim, f.variant), f"{f.family} ({f.family_size})",
              f.recipe, str(f.seed), f"{f.noise:g}", f"{f.p:.3g}", f"{f.p_holm:.3g}",
              "holds" if f.holds_corrected else "does not hold"] for f in fams])
    return tables


def _said_known(k) -> str:
    v = k.verdict
    return f"{render.said(v)}{'' if k.correct else ' (wrong)'} on {v.recipe}"


def write_summary(out: Path, verdicts: Sequence[Verdict], plots: Sequence[Path],
                  title: str = "memsuite report", known: frozenset = frozenset(),
                  run: dict[str, Any] | None = None,
                  changes: Sequence[dict[str, Any]] | None = None) -> tuple[Path, Path]:
    """report.md (tables, plots linked) and report.html (tables, plots embedded: one file that
    opens anywhere)."""
    import base64
    from html import escape

    from suite.judge.claim import OUTCOMES

    from suite.validate.known import split

    models, answers = split(verdicts)
    counts = {k: sum(v.outcome == k for v in models) for k in OUTCOMES}
    line = (f"{len(models)} verdicts: " + ", ".join(f"{n} {k}" for k, n in counts.items())
            + (f"; {len(answers)} known-answer verdicts" if answers else ""))
    tables = summary_tables(verdicts, known, run, changes)
    md = [f"# {title}", "", line, ""]
    html = [f"<!doctype html><html><head><meta charset='utf-8'><title>{escape(title)}</title>"
            f"<style>{STYLE}</style></head><body><h1>{escape(title)}</h1><p>{escape(line)}</p>"]
    for heading, (header, rows) in tables.items():
        md += [f"## {heading}", "", markdown_table(header, rows), ""]
        html.append(f"<h2>{escape(heading)}</h2>" + _html_table(header, rows, css="verdicts"))
    if plots:
        md += ["## Plots", ""]
        html.append("<h2>Plots</h2>")
    for path in plots:
        md += [f"![{path.stem}]({path.name})", ""]
        data = base64.b64encode(path.read_bytes()).decode()
        html.append(f"<figure><img alt='{escape(path.stem)}' src='data:image/png;base64,{data}'>"
                    f"<figcaption>{escape(path.stem)}</figcaption></figure>")
    html.append("</body></html>")
    (out / "report.md").write_text("\n".join(md))
    (out / "report.html").write_text("\n".join(html))
    return out / "report.md", out / "report.html"


def write_report(out: Path, verdicts: Sequence[Verdict], curves: dict[str, list[dict[str, Any]]],
                 known: frozenset = frozenset(), run: dict[str, Any] | None = None,
                 changes: Sequence[dict[str, Any]] | None = None) -> tuple[Path, Path]:
    """Plots, report.md and report.html for a run (or a re-render of one). known: the
    verdicts that do not hold as the ledger expects (expected_by_ledger);
    run: the run header; changes: baseline_diff.jsonl's records, when the run had a baseline."""
    plots = write_plots(out, verdicts, curves)
    return write_summary(out, verdicts, plots, known=known, run=run, changes=changes)


def _identity(v: Verdict) -> tuple[str, str, str, int, float]:
    return (v.claim, v.variant, v.recipe, v.seed, float(v.noise))


def expected_by_ledger(verdicts: Sequence[Verdict], book: dict) -> frozenset:
    """The verdicts (claim, variant, recipe, seed, noise) that do not hold as the ledger expects
    (suite.run.ledger.check), shown as known."""
    from suite.run.ledger import check

    return frozenset(_identity(v) for v in verdicts
                     if v.outcome == "does not hold" and check(book, v).expected_failure)


def rerender(directory: Path) -> tuple[Path, Path]:
    """Re-render a report directory from its results.jsonl and curves.json, no models run."""
    from suite.run import ledger, results

    verdicts = results.read_verdicts(directory)
    known = expected_by_ledger(verdicts, ledger.load())
    return write_report(directory, verdicts, results.read_curves(directory), known,
                        results.read_run(directory), results.read_changes(directory))
