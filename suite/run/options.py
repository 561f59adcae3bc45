"""The suite's run options, declared once: the pytest plugin adds them to pytest, the CLI's
`run` command to its parser, with the same names, defaults and help.

parse_scales, parse_archs, parse_seeds and parse_noise read the options with a syntax of their own; a bad value is a
ValueError that names it (the plugin reports it as a usage error, the CLI as exit status 2).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from suite.train.recipes import ARCHS, SCALES, available, load


@dataclass(frozen=True)
class Option:
    flag: str
    help: str
    kwargs: dict[str, Any] = field(default_factory=dict)

    @property
    def dest(self) -> str:
        return self.flag.lstrip("-").replace("-", "_")


OPTIONS = (
    Option("--scale", f"recipe scale(s) to judge claims on, one or a list ({','.join(SCALES)}); "
           "several are shown side by side (default: tiny)", {"default": "tiny"}),
    Option("--arch", f"model families to judge claims on, one or a list ({','.join(ARCHS)}); "
           "each recipe names its family, e.g. fda-tiny-llama (default: gpt2)",
           {"default": "gpt2"}),
    Option("--seeds", "a count (3 = seeds 0,1,2) or a list (7,11); default 1", {"default": "1"}),
    Option("--noise", "comma-separated noise rates overriding each recipe's rate, e.g. 0.02,0.1",
           {"default": None}),
    Option("--model-dir", "judge this saved model (save_pretrained + vocab.json + task.json)",
           {"default": None}),
    Option("--device", "where models train and are judged: cpu, cuda or cuda:N (default: cuda "
           "when present, else cpu)", {"default": None}),
    Option("--threads", "CPU threads torch trains and judges with (part of each model's store "
           "key, so a plan trained with N threads is found with --threads N; default: torch's own)",
           {"default": None, "type": int}),
    Option("--shard", "judge one part of the selection, I of N (1/2, 2/2), split by model so "
           "that each model trains on one machine; `memsuite merge` joins the parts' results",
           {"default": None, "metavar": "I/N"}),
    Option("--refresh-models", "retrain every model this run uses, even if stored",
           {"action": "store_true"}),
    Option("--no-replay", "judge every claim and known answer afresh and remember nothing (a "
           "warm run otherwise replays verdicts judged before on the same models and code)",
           {"action": "store_true"}),
    Option("--measure-unvalidated", "measure a claim even where this run's known answers do "
           "not validate its instrument on the model's task (its verdict there is not judged "
           "either way; by default it is not measured and a model only such claims need is not "
           "trained)", {"action": "store_true"}),
    Option("--report", "write results.jsonl, known_answers.jsonl, items.jsonl, plots, "
           "report.md and report.html into DIR", {"default": None, "metavar": "DIR"}),
    Option("--claim-versions", "which versions of each claim to run: current (default; one "
           "verdict per claim) or all (superseded versions too, labelled superseded, never "
           "findings)", {"default": "current", "choices": ("current", "all")}),
    Option("--baseline", "compare verdicts with a previous --report DIR (or its results.jsonl); "
           "fail when a claim that held no longer holds or its effect got worse",
           {"default": None, "metavar": "DIR"}),
)


def add_to(add: Any) -> None:
    """Declare every option with `add(flag, help=..., **kwargs)` (argparse's add_argument or
    pytest's group.addoption)."""
    for option in OPTIONS:
        add(option.flag, help=option.help, **option.kwargs)


def parse_scales(text: str) -> list[str]:
    """'tiny' -> ['tiny']; 'tiny,small' -> ['tiny', 'small'] (in the order given)."""
    scales = [s.strip() for s in text.split(",") if s.strip()]
    bad = [s for s in scales if s not in SCALES]
    if not scales or bad:
        raise ValueError(f"--scale takes one or more of {', '.join(SCALES)} (comma-separated), "
                         f"got {text!r}")
    have = {load(name).scale for name in available()}  # the scales some recipe has
    empty = [s for s in scales if s not in have]
    if empty:
        raise ValueError(f"--scale {','.join(empty)}: no recipe has that scale, so no claim would "
                         f"run; scales with recipes: {', '.join(s for s in SCALES if s in have)}")
    return list(dict.fromkeys(scales))


def parse_archs(text: str) -> tuple[str, ...]:
    """'gpt2' -> ('gpt2',); 'gpt2,llama' -> ('gpt2', 'llama')."""
    archs = [a.strip() for a in text.split(",") if a.strip()]
    bad = [a for a in archs if a not in ARCHS]
    if not archs or bad:
        raise ValueError(f"--arch takes one or more of {', '.join(ARCHS)} (comma-separated), "
                         f"got {text!r}")
    return tuple(dict.fromkeys(archs))


def parse_seeds(text: str) -> list[int]:
    """'3' -> [0, 1, 2]; '7,11' -> [7, 11]; '7,' -> [7]."""
    text = text.strip()
    try:
        seeds = ([int(s) for s in text.split(",") if s.strip()] if "," in text
                 else list(range(int(text))))
    except ValueError:
        raise ValueError(f"--seeds takes a count (3) or a list (7,11), got {text!r}") from None
    if not seeds or any(s < 0 for s in seeds):
        raise ValueError(f"--seeds must name at least one non-negative seed, got {text!r}")
    return seeds


def parse_noise(text: str | None) -> list[float | None]:
    """'0.02,0.1' -> [0.02, 0.1]; nothing -> [None] (each recipe's own rate)."""
    if not text:
        return [None]
    try:
        rates = [float(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise ValueError(f"--noise takes rates such as 0.02,0.1, got {text!r}") from None
    if any(not 0 <= r <= 1 for r in rates):
        raise ValueError(f"--noise rates must lie in [0, 1], got {text!r}")
    return list(rates)


def parse_shard(text: str | None) -> tuple[int, int] | None:
    """'2/3' -> (2, 3); nothing -> None."""
    if not text:
        return None
    try:
        i, n = (int(x) for x in text.split("/"))
    except ValueError:
        raise ValueError(f"--shard takes I/N such as 1/2, got {text!r}") from None
    if not 1 <= i <= n:
        raise ValueError(f"--shard {text}: I must lie in 1..N")
    return i, n
