"""Plots for a run's report directory (--report DIR), drawn from the recorded verdicts and the
models' saved training curves: nothing is recomputed from a model here.

    dynamics_<model>.png      held-out accuracy, noisy recall and clean-label share on noisy
                              items over training steps, with M_pre marked
    decoding_<recipe>.png     per residual site, for memorized items: clean vs control label
                              (lens and probe) and clean vs noisy label (lens, noisy prefix)
    bridge_<recipe>.png       bridge-probe accuracy per residual site and position (THR)
    interventions_<recipe>.png  each intervention's effect beside its control, per seed
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
        if v.claim == claim and v.verdict != "precondition":
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
     "estimate", "heldout_drop_random"),
    ("rr.intermediate_patching_changes_memory", "memorized output changed\nby intermediate patch",
     "changed", "changed_same_intermediate"),
)
CONTROLS = "control: random subspace of equal rank (erasure), same-intermediate source (patching)"


def plot_interventions(verdicts: Sequence[Verdict], out: Path) -> list[Path]:
    by_recipe: dict[str, list[tuple[str, float, float]]] = defaultdict(list)
    for claim, label, e_field, c_field in INTERVENTIONS:
        for recipe, rows in _by_recipe(verdicts, claim).items():
            for v in rows:
                e = v.estimate if e_field == "estimate" else v.details[e_field]
                by_recipe[recipe].append((f"{label}\nseed {v.seed}", e, v.details[c_field]))
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


def write_plots(out: Path, verdicts: Sequence[Verdict], model_dirs: Sequence[Path]) -> list[Path]:
    """Every plot this run's verdicts and models support; returns the files written."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for directory in model_dirs:
        curve_path = directory / "curve.json"
        if curve_path.is_file():
            path = out / f"dynamics_{directory.name}.png"
            plot_dynamics(json.loads(curve_path.read_text()), directory.name, path)
            written.append(path)
    written += plot_decoding(verdicts, out)
    written += plot_bridge(verdicts, out)
    written += plot_interventions(verdicts, out)
    return written
