"""Plots for a run's report directory (--report DIR), drawn from the recorded verdicts and the
models' saved training curves: nothing is recomputed from a model here.

    dynamics_<model>.png      held-out accuracy, noisy recall and clean-label share on noisy
                              items over training steps, with M_pre marked
    decoding_<recipe>.png     per residual site, for memorized items: clean vs control label
                              (lens and probe) and clean vs noisy label (lens, noisy prefix)
    bridge_<recipe>.png       bridge-probe accuracy per residual site and position (THR)
    interventions_<recipe>.png  each intervention's effect beside its control, per seed
    curvature_<claim>_<recipe>.png  noisy recall and held-out accuracy against kept curvature
                              mass, K-FAC edit vs magnitude baseline
    report.md, report.html    the claims table, replication, family-wise correction and the
                              plots (embedded in the HTML, so the file travels alone)
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any, Sequence

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402

from . import dynamics  # noqa: E402
from .claims import Verdict  # noqa: E402


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


def _save(fig: Any, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _by_recipe(verdicts: Sequence[Verdict], claim: str) -> dict[str, list[Verdict]]:
    out: dict[str, list[Verdict]] = defaultdict(list)
    for v in verdicts:
        if v.claim == claim and v.judged:
            out[v.recipe].append(v)
    return out


def _mean(rows: list[list[float]]) -> list[float]:
    return [sum(col) / len(col) for col in zip(*rows)]


def plot_decoding(verdicts: Sequence[Verdict], out: Path) -> list[Path]:
    written = []
    decodable = _by_recipe(verdicts, "rr.clean_label_decodable")
    overrides = _by_recipe(verdicts, "rr.noisy_overrides_late")
    for recipe in sorted(set(decodable) | set(overrides)):
        fig, axes = plt.subplots(1, 2, figsize=(9, 3.5))
        for decoder, style in (("lens", "-"), ("probe", "--")):
            rows = [v for v in decodable.get(recipe, []) if v.variant == decoder]
            if rows:
                clean = _mean([v.details["by_site_clean"] for v in rows])
                control = _mean([v.details["by_site_control"] for v in rows])
                axes[0].plot(clean, style, marker="o", label=f"clean ({decoder})")
                axes[0].plot(control, style, marker="x", color="grey", label=f"control ({decoder})")
        axes[0].set(title="clean label, clean prefix (early sites)", xlabel="site (0 = embed)",
                    ylabel="share decodable")
        rows = overrides.get(recipe, [])
        if rows:
            axes[1].plot(_mean([v.details["by_site_clean"] for v in rows]), marker="o", label="clean")
            axes[1].plot(_mean([v.details["by_site_noisy"] for v in rows]), marker="s", label="noisy")
        axes[1].set(title="lens top-1, noisy prefix (all sites)", xlabel="site (0 = embed)")
        for ax in axes:
            ax.set_ylim(-0.02, 1.02)
            ax.legend(fontsize=7)
        fig.suptitle(f"{recipe}: memorized items, mean over seeds")
        written.append(_save(fig, out / f"decoding_{recipe}.png"))
    return written


def plot_bridge(verdicts: Sequence[Verdict], out: Path) -> list[Path]:
    written = []
    for recipe, rows in sorted(_by_recipe(verdicts, "rr.bridge_decodable").items()):
        fig, ax = plt.subplots(figsize=(6, 3.5))
        for v in rows:
            sites = v.details["by_site"]
            for position in sorted({k.split("@")[1] for k in sites}):
                keys = [k for k in sites if k.endswith(f"@{position}")]
                ax.plot([sites[k] for k in keys], marker="o",
                        label=f"seed {v.seed}, position {position}")
                ax.set_xticks(range(len(keys)), [k.split("@")[0] for k in keys], fontsize=7)
        ax.set(title=f"{recipe}: bridge probe accuracy (clean items)", ylim=(-0.02, 1.02),
               ylabel="accuracy")
        ax.legend(fontsize=6)
        written.append(_save(fig, out / f"bridge_{recipe}.png"))
    return written


# (claim, short label, effect field or "estimate", control field); the legend says which bar
# is the intervention and which its control
INTERVENTIONS = (
    ("rr.bridge_removal_hurts_memorization", "noisy recall after\nbridge erasure",
     "recall_after", "recall_after_random"),
    ("rr.bridge_removal_hurts_generalization", "held-out drop under\nbridge erasure",
     "heldout_drop", "heldout_drop_random"),
    ("rr.intermediate_patching_changes_memory", "memorized output changed\nby intermediate patch",
     "changed", "changed_same_intermediate"),
)
CONTROLS = "control: random subspace of equal rank (erasure), same-intermediate source (patching)"


def _detail(v: Verdict, field: str) -> float:
    """A number the verdict recorded: a detail, or a measured quantity's estimate."""
    if field in v.details:
        return v.details[field]
    return v.details["quantities"][field][0]


def plot_interventions(verdicts: Sequence[Verdict], out: Path) -> list[Path]:
    by_recipe: dict[str, list[tuple[str, float, float]]] = defaultdict(list)
    for claim, label, e_field, c_field in INTERVENTIONS:
        for recipe, rows in _by_recipe(verdicts, claim).items():
            for v in rows:
                e = v.estimate if e_field == "estimate" else _detail(v, e_field)
                by_recipe[recipe].append((f"{label}\nseed {v.seed}", e, _detail(v, c_field)))
    written = []
    for recipe, bars in sorted(by_recipe.items()):
        fig, ax = plt.subplots(figsize=(max(6, 1.6 * len(bars)), 4.2))
        x = range(len(bars))
        ax.bar([i - 0.2 for i in x], [b[1] for b in bars], width=0.4, label="intervention")
        ax.bar([i + 0.2 for i in x], [b[2] for b in bars], width=0.4, color="grey", label="control")
        ax.set_xticks(list(x), [b[0] for b in bars], fontsize=6)
        ax.set(title=f"{recipe}: interventions and their controls", ylim=(0, 1.05))
        ax.text(0.0, -0.32, CONTROLS, transform=ax.transAxes, fontsize=7)
        ax.legend(fontsize=7)
        written.append(_save(fig, out / f"interventions_{recipe}.png"))
    return written


def plot_curvature_sweep(verdicts: Sequence[Verdict], out: Path) -> list[Path]:
    """Noisy recall and held-out accuracy against kept curvature mass rho, for the K-FAC edit
    and the magnitude baseline (from curv.edit_suppresses_memorization's recorded sweep)."""
    written = []
    for claim in sorted({v.claim for v in verdicts if v.claim.startswith("curv.edit_")}):
        for recipe, rows in sorted(_by_recipe(verdicts, claim).items()):
            fig, ax = plt.subplots(figsize=(6, 3.5))
            for i, v in enumerate(sorted(rows, key=lambda r: r.seed)):
                sweep = v.details["sweep"]
                rhos = [float(k.split("=")[1]) for k in sweep]
                for field, label, style, color in (
                        ("kfac_recall", "K-FAC: noisy recall", "-o", "C3"),
                        ("kfac_heldout", "K-FAC: held-out acc.", "-s", "C0"),
                        ("svd_recall", "magnitude: noisy recall", ":o", "C3"),
                        ("svd_heldout", "magnitude: held-out acc.", ":s", "C0")):
                    ax.plot(rhos, [sweep[k][field] for k in sweep], style, color=color,
                            alpha=0.8, label=label if i == 0 else None)
            ax.text(0.01, 0.01, f"one line per seed ({', '.join(str(v.seed) for v in rows)})",
                    transform=ax.transAxes, fontsize=7)
            ax.set(title=f"{recipe}: {claim}", xlabel="curvature mass kept (rho)",
                   ylabel="share", ylim=(-0.02, 1.02))
            if len(rows) and max(float(k.split("=")[1]) for k in rows[0].details["sweep"]) > 0.95:
                ax.set_xscale("logit")
            ax.legend(fontsize=6)
            written.append(_save(fig, out / f"curvature_{claim.split('.', 1)[1]}_{recipe}.png"))
    return written


def write_plots(out: Path, verdicts: Sequence[Verdict],
                curves: dict[str, list[dict[str, Any]]]) -> list[Path]:
    """Every plot this run's verdicts and training curves support; returns the files written.
    curves: model name -> its curve.json."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, curve in sorted(curves.items()):
        if curve:
            path = out / f"dynamics_{name}.png"
            plot_dynamics(curve, name, path)
            written.append(path)
    written += plot_decoding(verdicts, out)
    written += plot_bridge(verdicts, out)
    written += plot_interventions(verdicts, out)
    written += plot_curvature_sweep(verdicts, out)
    return written


# --- the run's summary: markdown and one self-contained HTML file ---------------------------

def _row(v: Verdict, known: frozenset = frozenset()) -> list[str]:
    name = v.claim + (f" [{v.variant}]" if v.variant else "")
    interval = "" if v.ci_low is None else f"[{v.ci_low:.3f}, {v.ci_high:.3f}]"
    estimate = "" if v.estimate is None or not v.judged else f"{v.estimate:.3f}"
    p = "" if v.p is None else f"{v.p:.3g}"
    status = v.outcome if v.judged else "not judged (precondition)"
    if v.outcome == "does not hold" and (v.claim, v.variant, v.recipe) in known:
        status = "known: does not hold (recorded finding)"
    return [name, v.task, v.recipe, str(v.seed), f"{v.noise:g}", estimate, interval, p, status]


HEADER = ["claim", "task", "model", "seed", "noise", "estimate", "interval", "p", "outcome"]


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
tr.inconclusive td:last-child,tr.not td:last-child,tr.known td:last-child{color:#888}img{max-width:100%;display:block;margin:1em 0}"""


def summary_tables(verdicts: Sequence[Verdict], known: frozenset = frozenset()
                   ) -> dict[str, tuple[list[str], list[list[str]]]]:
    """The report's tables: claims, replication across seeds, family-corrected p-values."""
    from .claims import family_correct, replicate

    tables = {"Claims": (HEADER, [_row(v, known) for v in verdicts])}
    reps = replicate(verdicts)
    if reps:
        tables["Replication across seeds (k-of-n)"] = (
            ["claim", "model", "noise", "holds / judged seeds", "not judged", "rule", "error rate",
             "outcome"],
            [[r.claim + (f" [{r.variant}]" if r.variant else ""), r.recipe, f"{r.noise:g}",
              f"{r.holds_in} of {r.judged} ({r.does_not_hold_in} do not hold, "
              f"{r.inconclusive_in} inconclusive)", str(r.not_judged_in), f">= {r.k}",
              "exact" if r.error_rate is None else f"{r.error_rate:.2g}",
              "replicates" if r.replicates else "does not replicate"] for r in reps])
    fams = family_correct(verdicts)
    if fams:
        tables["Family-wise correction (Holm, alpha 0.05)"] = (
            ["claim", "family", "model", "seed", "noise", "p", "p (Holm)", "verdict"],
            [[f.claim + (f" [{f.variant}]" if f.variant else ""), f"{f.family} ({f.family_size})",
              f.recipe, str(f.seed), f"{f.noise:g}", f"{f.p:.3g}", f"{f.p_holm:.3g}",
              "holds" if f.holds_corrected else "does not hold"] for f in fams])
    return tables


def write_summary(out: Path, verdicts: Sequence[Verdict], plots: Sequence[Path],
                  title: str = "memsuite report", known: frozenset = frozenset()
                  ) -> tuple[Path, Path]:
    """report.md (tables, plots linked) and report.html (tables, plots embedded: one file that
    opens anywhere)."""
    import base64
    from html import escape

    from .claims import OUTCOMES

    counts = {k: sum(v.outcome == k for v in verdicts) for k in OUTCOMES}
    line = (f"{len(verdicts)} verdicts: " + ", ".join(f"{n} {k}" for k, n in counts.items()))
    tables = summary_tables(verdicts, known)
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
                 known: frozenset = frozenset()) -> tuple[Path, Path]:
    """Plots, report.md and report.html for a run (or a re-render of one). known: the
    (claim, variant, recipe) keys of recorded findings whose protocol matches, shown as known."""
    plots = write_plots(out, verdicts, curves)
    return write_summary(out, verdicts, plots, known=known)


def known_findings(verdicts: Sequence[Verdict], findings: dict) -> frozenset:
    """The verdicts' (claim, variant, recipe) keys that a recorded finding of the same protocol
    covers (findings: suite.findings.load's result)."""
    from .findings import covering

    return frozenset((v.claim, v.variant, v.recipe) for v in verdicts
                     if covering(findings, v) is not None)


def rerender(directory: Path) -> tuple[Path, Path]:
    """Re-render a report directory from its results.jsonl and curves.json, no models run."""
    from .claims import read_verdicts

    verdicts = read_verdicts(directory / "results.jsonl")
    curves_path = directory / "curves.json"
    curves = json.loads(curves_path.read_text()) if curves_path.is_file() else {}
    from . import findings
    from .claims import claims_dir

    known = known_findings(verdicts, findings.load(claims_dir() / "findings.toml"))
    return write_report(directory, verdicts, curves, known)
