"""Findings: claims measured not to hold, written down with their numbers.

claims/findings.toml lists them, one entry per claim (and variant) x recipe, where the recipe
stands for the task, the scale and the training regime (fda-tiny, thr-small, coexist-thr-tiny).
A finding is not tied to a seed, a noise rate or a machine: any run of that claim on that
recipe that again does not hold is an expected failure (xfail); one where the claim holds is a
plain pass, reported beside the recorded numbers (seeds of one recipe can differ: `measured`
says in how many of the recorded seeds it held); an inconclusive run is neither. A finding applies only under the rule it was measured with: its
`protocol` must equal the claim's current Claim.protocol, so a changed rule cannot inherit old
findings. `memsuite findings DIR` drafts entries for a run's confident non-holding verdicts that
are not recorded yet, for a person to read and add.

An entry:

    [[finding]]
    claim = "rr.noisy_overrides_late"
    variant = ""                       # e.g. "lens"; empty when the claim has none
    recipe = "fda-tiny"
    protocol = "3f2a..."               # Claim.protocol the numbers were measured under
    measured = "does not hold in 3 of 3 judged seeds: seed 0 n0.05: does not hold -0.72 ..."
"""

from __future__ import annotations

import json
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

from suite import shipped
from suite.judge import render
from suite.judge.claim import DOES_NOT_HOLD, Verdict

FIELDS = ("claim", "variant", "recipe", "protocol", "measured")
# the checkout's recorded findings; MEMSUITE_FINDINGS names another file
DEFAULT = shipped.folder("claims") / "findings.toml"


@dataclass(frozen=True)
class Finding:
    claim: str
    variant: str
    recipe: str
    protocol: str
    measured: str

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.claim, self.variant, self.recipe)

    @property
    def name(self) -> str:
        return render.name(self.claim, self.variant)


def default_path() -> Path:
    return Path(os.environ.get("MEMSUITE_FINDINGS", DEFAULT))


def load(path: Path | None = None) -> dict[tuple[str, str, str], Finding]:
    """{(claim, variant, recipe): Finding} of a findings.toml; a malformed entry is a ValueError
    naming it. path: default_path() when not given."""
    path = Path(path) if path is not None else default_path()
    if not path.is_file():
        return {}
    try:
        entries = tomllib.loads(path.read_text()).get("finding", [])
    except tomllib.TOMLDecodeError as err:
        raise ValueError(f"{path}: not valid TOML ({err})") from None
    out: dict[tuple[str, str, str], Finding] = {}
    for number, e in enumerate(entries, 1):
        missing = set(FIELDS) - {"variant"} - set(e)
        if missing:
            raise ValueError(f"{path}: finding {number} lacks {sorted(missing)}: {e}")
        f = Finding(e["claim"], e.get("variant", ""), e["recipe"], e["protocol"], e["measured"])
        if f.key in out:
            raise ValueError(f"{path}: finding {number} repeats {f.name} on {f.recipe}")
        out[f.key] = f
    return out


def key_of(v: Verdict) -> tuple[str, str, str]:
    return (v.claim, v.variant, v.recipe)


def covering(recorded: dict[tuple[str, str, str], Finding], v: Verdict) -> Finding | None:
    """The recorded finding that applies to `v`: same claim, variant and recipe, and measured
    under the same protocol (a finding of another rule does not apply)."""
    f = recorded.get(key_of(v))
    return f if f is not None and f.protocol == v.protocol else None


def draft(verdicts: Sequence[Verdict], recorded: Iterable[tuple[str, str, str]]) -> str:
    """TOML [[finding]] entries for claims that confidently do not hold on some seed of a recipe
    and are not recorded: one entry per (claim, variant, recipe), with every seed's numbers."""
    known = set(recorded)
    groups: dict[tuple[str, str, str], list[Verdict]] = {}
    for v in verdicts:
        if v.judged and key_of(v) not in known:
            groups.setdefault(key_of(v), []).append(v)
    out = []
    for (claim, variant, recipe), vs in sorted(groups.items()):
        if not any(v.outcome == DOES_NOT_HOLD for v in vs):
            continue
        out.append("\n".join(["[[finding]]", f"claim = {json.dumps(claim)}",
                              f"variant = {json.dumps(variant)}", f"recipe = {json.dumps(recipe)}",
                              f"protocol = {json.dumps(vs[0].protocol)}",
                              f"measured = {json.dumps(render.seeds_said(vs))}"]))
    return "\n\n".join(out) + ("\n" if out else "")
