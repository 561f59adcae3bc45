"""The ledger: what each current claim measured on each recipe, seed by seed, and the one record a
run is compared with.

claims/ledger.json is written by `memsuite ledger DIR...` from results directories of clean
commits (never by hand: a file edited by hand fails its check), in commits of its own. An entry is
one claim (and variant) on one recipe at one noise rate, keyed by the recipe's content (a changed
recipe is unrecorded), the claim's protocol (a changed rule is unrecorded) and STATS_VERSION (a
changed meaning of the statistics); it lists every judged seed with its outcome, its estimate
and interval, whether the instrument was validated there, and the commit that measured it.

Two outcomes are kept per seed: `outcome`, the verdict as the run reported it (not judged where
the instrument was not validated), and `measured`, what the claim's rule decided on the model
before validation. Findings read `outcome`; the comparison reads `measured`, so that a claim whose
instrument validates on one machine and not on another is still held to what it measured where
it measured (a run skips measuring an instrument its known answers do not validate, unless
--measure-unvalidated: the ledger's runs use it, and `memsuite ledger` refuses a run without it).

A run is red exactly where it contradicts its entry (`check`), counting only the seeds the rule
decided (holds or does not hold; an inconclusive seed is no evidence either way). The recorded
seeds are samples of the recipe: the same seed trained on another machine gives another model,
so a seed is compared with all of them, its own record included, never with its record alone:
- recorded holding in every decided seed, and now it does not hold;
- recorded not holding in every decided seed, and now it holds;
- a mixed entry (holds in some seeds), and the run's new seeds hold in a number outside the 95 %
  range that the entry predicts for that many new seeds (`blocks`: a beta-binomial predictive
  from a uniform prior on the entry's holds of its decided seeds);
- no entry, or fewer than MIN_SEEDS decided seeds: a "does not hold" is red until it is measured
  on MIN_SEEDS seeds (an unrecorded claim cannot fail quietly).
Inconclusive and not judged are reported, never red. A "does not hold" the entry expects (it
records not holding in some of at least MIN_SEEDS decided seeds) is an expected failure (xfail)
that names the entry.

A finding is a validated claim that does not hold in a majority of its confirmatory seeds: those
run after its protocol was committed. Seeds 0-2 shaped the current versions (EXPLORATORY_SEEDS).
Validated means on every judged seed and in the latest recorded known answers of its task
(`Ledger.finding`): known answers that stop validating (new plants) withdraw the finding.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from scipy import stats as _st

from suite import shipped
from suite.judge import render
from suite.judge.claim import DOES_NOT_HOLD, HOLDS, INCONCLUSIVE, NOT_JUDGED, Verdict

SCHEME = 1
STATS_VERSION = 7  # raised whenever suite/judge/stats.py changes what an interval means
# 2: PairedHits is one continuity-corrected score test at every count (1: exact below 25 items);
# 3: a share's interval is Clopper-Pearson (was Wilson); 4: AUROC on the logit scale, never a point;
# 5: an ItemMean of items on {-1, 0, 1} is PairedHits (was the percentile bootstrap);
# 6: "does not hold" Bonferroni over the sampled rules, Difference by MOVER;
# 7: an ItemMean (and a Difference's groups) with declared bounds takes the betting interval
#    (was the percentile bootstrap), and every claim declares its items' bounds
EXPLORATORY_SEEDS = frozenset({0, 1, 2})  # they shaped the current claim versions
# Claims whose rule was set after more seeds had been seen: those seeds are exploratory for them.
EXPLORATORY_BY_CLAIM: dict[str, frozenset[int]] = {
    # v5's margin was declared after its measurements on seeds 0-7 had been re-decided under
    # statistics version 5 (memsuite rescore of v4's records), so none of them confirms it
    "rr.clean_label_decodable.v5": frozenset(range(8)),
    "rr.clean_label_decodable.v6": frozenset(range(8)),  # v5 without the gate "pre"
    # v4 was written after v3's kept counts (memorized items with a decodable clean token) had
    # been seen on every seed below 18, and its headline is a share of those items
    "rr.noisy_overrides_late.v4": frozenset(range(18)),
    "rr.noisy_overrides_late.v5": frozenset(range(18)),  # v4 without the gate "pre"
}


def exploratory_seeds(claim: str) -> frozenset[int]:
    """The seeds that shaped `claim`'s current rule (its findings are decided on the others)."""
    return EXPLORATORY_BY_CLAIM.get(claim, EXPLORATORY_SEEDS)
MIN_SEEDS = 3  # judged seeds before a "does not hold" is a recorded result, not a surprise
RANGE = 0.95  # the predictive range a mixed entry gives a block of new seeds
DEFAULT = shipped.folder("claims") / "ledger.json"  # MEMSUITE_LEDGER names another file

Key = tuple[str, str, str, str, str, float]  # claim, variant, recipe, recipe digest, protocol, noise


def default_path() -> Path:
    return Path(os.environ.get("MEMSUITE_LEDGER", DEFAULT))


@lru_cache(maxsize=None)
def recipe_digest(name: str) -> str | None:
    """A digest of the recipe `name` as the suite holds it now (its whole content, seed and
    noise as written); None for a model that is not a suite recipe (--model-dir)."""
    from suite.train import recipes

    try:
        recipe = recipes.load(name)
    except (KeyError, ValueError, FileNotFoundError):
        return None
    content = json.dumps(recipe.to_dict(), sort_keys=True)
    return hashlib.sha256(content.encode()).hexdigest()[:16]


def measured_outcome(v: Verdict) -> str:
    """What the claim's rule decided on the model, before validation."""
    unvalidated = v.details.get("unvalidated")
    return unvalidated["outcome"] if isinstance(unvalidated, dict) else v.outcome


def recipe_task(name: str) -> str:
    """The task of the suite recipe `name` ("fda", "thr", ...)."""
    from suite.train import recipes

    return recipes.load(name).task_name


def versioned(protocol: str) -> str:
    """A claim's protocol under this statistics version: what entries are keyed on."""
    return f"{protocol}/stats{STATS_VERSION}"


def key_of(v: Verdict) -> Key | None:
    digest = recipe_digest(v.recipe)
    if digest is None:
        return None
    return (v.claim, v.variant, v.recipe, digest, versioned(v.protocol),
            round(float(v.noise), 6))


@dataclass(frozen=True)
class Seed:
    seed: int
    outcome: str  # as reported (not judged where the instrument was not validated)
    measured: str  # the rule's outcome before validation
    estimate: float | None
    ci_low: float | None
    ci_high: float | None
    validation: str  # "validated", "not validated", or "" where none ran
    commit: str

    @property
    def said(self) -> str:
        what = self.measured if self.estimate is None else (
            f"{self.measured} {render.fmt(self.estimate)}"
            + (f" {render.interval(self.ci_low, self.ci_high)}" if self.ci_low is not None
               else ""))
        return f"seed {self.seed}: {what}" + (
            " (not validated)" if self.validation == "not validated" else "")

    @staticmethod
    def of(v: Verdict, commit: str) -> "Seed":
        unvalidated = v.details.get("unvalidated")
        if isinstance(unvalidated, dict):
            estimate, (low, high) = unvalidated["estimate"], unvalidated["ci"]
        else:
            estimate, low, high = v.estimate, v.ci_low, v.ci_high
        return Seed(v.seed, v.outcome, measured_outcome(v), estimate, low, high,
                    str(v.details.get("validation", "")), commit)


@dataclass(frozen=True)
class Entry:
    claim: str
    variant: str
    recipe: str
    recipe_digest: str
    protocol: str  # Claim.protocol/statsN
    noise: float
    seeds: tuple[Seed, ...]

    @property
    def key(self) -> Key:
        return (self.claim, self.variant, self.recipe, self.recipe_digest, self.protocol,
                self.noise)

    @property
    def name(self) -> str:
        return render.name(self.claim, self.variant)

    def judged(self) -> list[Seed]:
        """The seeds the rule decided or could not decide (not those it did not judge)."""
        return [s for s in self.seeds if s.measured in (HOLDS, DOES_NOT_HOLD, INCONCLUSIVE)]

    def decided(self) -> list[Seed]:
        """The seeds the rule decided: holds or does not hold."""
        return [s for s in self.seeds if s.measured in (HOLDS, DOES_NOT_HOLD)]

    @property
    def holds_in(self) -> int:
        return sum(s.measured == HOLDS for s in self.decided())

    @property
    def always_holds(self) -> bool:
        """Held in every decided seed (inconclusive seeds are no evidence either way)."""
        decided = self.decided()
        return bool(decided) and all(s.measured == HOLDS for s in decided)

    @property
    def never_holds(self) -> bool:
        decided = self.decided()
        return bool(decided) and all(s.measured == DOES_NOT_HOLD for s in decided)

    @property
    def said(self) -> str:
        return (f"holds in {self.holds_in} of {len(self.decided())} decided seeds ("
                + "; ".join(s.said for s in self.seeds) + ")")

    def phase(self, exploratory: bool) -> list[Seed]:
        shaped = exploratory_seeds(self.claim)
        return [s for s in self.seeds if (s.seed in shaped) == exploratory]

    @property
    def validated(self) -> bool:
        """Validated on every seed it was judged on."""
        return bool(self.seeds) and all(s.validation == "validated" for s in self.seeds
                                        if s.measured != NOT_JUDGED)

    @property
    def finding(self) -> bool:
        """Validated, and does not hold in a majority of the confirmatory seeds."""
        confirmatory = self.phase(exploratory=False)
        return (self.validated and bool(confirmatory) and
                2 * sum(s.outcome == DOES_NOT_HOLD for s in confirmatory) > len(confirmatory))

    def to_dict(self) -> dict[str, Any]:
        return {**{f.name: getattr(self, f.name) for f in dataclasses.fields(self)
                   if f.name != "seeds"},
                "seeds": [dataclasses.asdict(s) for s in sorted(self.seeds, key=lambda s: s.seed)]}

    @staticmethod
    def from_dict(d: Mapping[str, Any]) -> "Entry":
        return Entry(d["claim"], d["variant"], d["recipe"], d["recipe_digest"], d["protocol"],
                     float(d["noise"]), tuple(Seed(**s) for s in d["seeds"]))


@dataclass(frozen=True)
class Validated:
    """A claim's known answers on one task, as the latest recorded run measured them."""

    claim: str
    variant: str
    task: str
    protocol: str  # Claim.protocol/statsN
    reference: str  # the recipe the plants went into
    validated: bool
    line: str  # suite.validate.known.Validation.line: both cases with their numbers
    commit: str

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.claim, self.variant, self.task, self.protocol)


class Ledger(dict):
    """{Key: Entry}, with `validations`: {(claim, variant, task, protocol): Validated}."""

    def __init__(self, entries: Mapping[Key, Entry] | None = None,
                 validations: Mapping[tuple[str, str, str, str], Validated] | None = None
                 ) -> None:
        super().__init__(entries or {})
        self.validations = dict(validations or {})

    def __eq__(self, other: object) -> bool:
        return (dict.__eq__(self, other) and
                self.validations == getattr(other, "validations", {}))

    def validation_of(self, e: Entry) -> Validated | None:
        """The latest recorded known answers of `e`'s claim (its variant's, else the claim's)
        on the task of `e`'s recipe; None where none were recorded."""
        task = recipe_task(e.recipe)
        return (self.validations.get((e.claim, e.variant, task, e.protocol))
                or self.validations.get((e.claim, "", task, e.protocol)))

    def finding(self, e: Entry) -> bool:
        """`e` is a finding (Entry.finding: validated on its seeds, does not hold in a majority
        of its confirmatory seeds) and the latest recorded known answers on its task still
        validate the instrument: a "does not hold" is a finding only while the instrument can
        be shown to see the effect, so known answers that stop validating withdraw it."""
        if not e.finding:
            return False
        v = self.validation_of(e)
        return v is not None and v.validated


def _content(entries: Iterable[Entry]) -> list[dict[str, Any]]:
    return [e.to_dict() for e in sorted(entries, key=lambda e: (e.claim, e.variant, e.recipe,
                                                                 e.noise, e.protocol))]


def _checksum(rows: list[dict[str, Any]]) -> str:
    return hashlib.sha256(json.dumps(rows, sort_keys=True).encode()).hexdigest()


def load(path: Path | None = None) -> Ledger:
    """The ledger at `path` (default_path()); empty where there is none. A malformed file, or
    one whose checksum does not match its entries (edited by hand), is a ValueError."""
    path = Path(path) if path is not None else default_path()
    if not path.is_file():
        return Ledger()
    try:
        raw = json.loads(path.read_text())
        rows, checks = raw["entries"], raw["validations"]
        entries = [Entry.from_dict(r) for r in rows]
        validations = [Validated(**r) for r in checks]
    except (json.JSONDecodeError, KeyError, TypeError) as err:
        raise ValueError(f"{path}: not a ledger ({err}); rewrite it with `memsuite ledger`") \
            from None
    if raw.get("scheme") != SCHEME:
        raise ValueError(f"{path}: ledger scheme {raw.get('scheme')}, this suite reads {SCHEME}")
    if raw.get("checksum") != _checksum([rows, checks]):
        raise ValueError(f"{path}: its entries do not match its checksum (edited by hand?); "
                         "the ledger is written only by `memsuite ledger`")
    return Ledger({e.key: e for e in entries}, {v.key: v for v in validations})


def write(ledger: Ledger, path: Path | None = None) -> Path:
    """Write `ledger` to `path` atomically, with its checksum."""
    path = Path(path) if path is not None else default_path()
    rows = _content(ledger.values())
    checks = [dataclasses.asdict(v) for _, v in sorted(ledger.validations.items())]
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps({"scheme": SCHEME, "checksum": _checksum([rows, checks]),
                               "entries": rows, "validations": checks},
                              indent=1, sort_keys=True) + "\n")
    os.replace(tmp, path)
    return path


def record(ledger: Ledger, verdicts: Sequence[Verdict], commit: str,
           current: Mapping[str, str] | None = None) -> tuple[Ledger, int]:
    """`ledger` with `verdicts` (a run's, measured at `commit`) added: each current claim's
    verdict on a suite recipe becomes its entry's seed (replacing that seed's earlier record),
    and each current claim's known answers on a task replace their earlier record where the run
    answered both a planted-true and a planted-false case there. Superseded
    versions and models from elsewhere are left out, and with `current` ({claim id: protocol})
    every claim or rule that is not current, and verdicts decided before measuring (an
    instrument not validated: suite.validate.known.not_measured). Returns the new ledger and how
    many seeds it recorded."""

    def applies(v: Verdict) -> bool:
        return current is None or current.get(v.claim) == v.protocol
    from suite.validate.known import is_known_answer, split, validations, was_measured

    out = Ledger(ledger, getattr(ledger, "validations", {}))
    _, answers = split(verdicts)
    for row in validations(answers):
        first = (row.true + row.false)[0].verdict
        if first.superseded_by or not applies(first):
            continue
        if not (row.true and row.false):  # a run that selected only some cases (-m slow runs
            continue                      # the memorize-first ones alone): no validation
        v = Validated(row.claim, row.variant, row.task, versioned(first.protocol),
                      row.reference, row.validated, row.line, commit)
        out.validations[v.key] = v
    n = 0
    for v in verdicts:
        key = key_of(v)
        if key is None or is_known_answer(v) or v.superseded_by or not applies(v) \
                or not was_measured(v):  # nothing measured: keep the seed's record
            continue
        old = out.get(key)
        seeds = {s.seed: s for s in (old.seeds if old else ())}
        seeds[v.seed] = Seed.of(v, commit)
        out[key] = Entry(v.claim, v.variant, v.recipe, key[3], key[4], key[5],
                         tuple(seeds[s] for s in sorted(seeds)))
        n += 1
    return out, n


@dataclass(frozen=True)
class Check:
    """A verdict against its ledger entry."""

    red: bool
    expected_failure: bool  # a "does not hold" the entry expects
    why: str
    unrecorded: bool = False  # red only because the entry has too few decided seeds (a run is
    # red there; recording the run is how an entry grows, so `memsuite ledger` records it)


def check(ledger: Ledger, v: Verdict) -> Check:
    """One verdict against its entry (see the module docstring). The entry's seeds are samples
    of the recipe, the verdict's own seed among them: a model trained from one seed on another
    machine is not the recorded one, so a seed is not held to its own record alone."""
    key = key_of(v)
    entry = ledger.get(key) if key is not None else None
    now = measured_outcome(v)
    if now not in (HOLDS, DOES_NOT_HOLD):
        return Check(False, False, "")
    where = f"{v.name} on {v.recipe} seed {v.seed}"
    decided = entry.decided() if entry else []
    if now == DOES_NOT_HOLD:
        if len(decided) < MIN_SEEDS:
            recorded = (f"recorded on {len(decided)} decided seed(s)" if entry else "unrecorded")
            return Check(True, False, f"{where}: does not hold and is {recorded}; a 'does not "
                                      f"hold' is red until measured on {MIN_SEEDS} seeds "
                                      "(`memsuite ledger DIR`)", unrecorded=True)
        if entry.always_holds:
            return Check(True, False, f"contradicts the ledger: {where} does not hold; recorded "
                                      f"holding in every decided seed ({entry.said})")
        return Check(False, True, f"recorded in the ledger: {entry.said}")
    if entry is not None and decided and entry.never_holds:
        return Check(True, False, f"contradicts the ledger: {where} holds; recorded not holding "
                                  f"in every decided seed ({entry.said})")
    return Check(False, False, "")


@dataclass(frozen=True)
class Block:
    """A run's new seeds of one mixed entry against the range the entry predicts."""

    entry: Entry
    holds: int
    judged: int
    low: int
    high: int

    @property
    def red(self) -> bool:
        return not self.low <= self.holds <= self.high

    @property
    def line(self) -> str:
        verdict = "CONTRADICTS the ledger" if self.red else "within the ledger's range"
        return (f"{self.entry.name} on {self.entry.recipe} (noise {self.entry.noise:g}): holds in "
                f"{self.holds} of {self.judged} new seeds; the ledger ({self.entry.holds_in} of "
                f"{len(self.entry.decided())}) predicts {self.low}-{self.high}: {verdict}")


def blocks(ledger: Ledger, verdicts: Sequence[Verdict]) -> list[Block]:
    """Each mixed entry's new seeds in this run (seeds the entry does not list), with the 95 %
    range of holds the entry predicts for that many seeds."""
    groups: dict[Key, list[Verdict]] = {}
    for v in verdicts:
        key = key_of(v)
        entry = ledger.get(key) if key is not None else None
        if (entry is None or v.seed in {s.seed for s in entry.seeds}
                or measured_outcome(v) not in (HOLDS, DOES_NOT_HOLD)):
            continue
        groups.setdefault(key, []).append(v)
    out = []
    for key, vs in sorted(groups.items()):
        entry = ledger[key]
        n, k = len(entry.decided()), entry.holds_in
        if n < MIN_SEEDS or entry.always_holds or entry.never_holds:
            continue  # those are checked verdict by verdict
        m = len(vs)
        predictive = _st.betabinom(m, k + 1, n - k + 1)
        low, high = (int(predictive.ppf((1 - RANGE) / 2)), int(predictive.ppf((1 + RANGE) / 2)))
        out.append(Block(entry, sum(measured_outcome(v) == HOLDS for v in vs), m, low, high))
    return out


def prune(ledger: Ledger, current_protocols: Mapping[str, str]) -> tuple[Ledger, list[Entry]]:
    """The entries that still apply, and those dropped: a claim that is no longer current, a
    rule (protocol or statistics version) that changed, a recipe whose content changed. Known
    answers of a claim that is no longer current, or of another rule, go too."""
    def applies(claim: str, protocol: str) -> bool:
        current = current_protocols.get(claim)
        return current is not None and protocol == versioned(current)
    kept, dropped = Ledger(), []
    for key, e in ledger.items():
        if applies(e.claim, e.protocol) and recipe_digest(e.recipe) == e.recipe_digest:
            kept[key] = e
        else:
            dropped.append(e)
    kept.validations = {k: v for k, v in getattr(ledger, "validations", {}).items()
                        if applies(v.claim, v.protocol)}
    return kept, dropped


def validation_changes(ledger: Ledger, rows: Sequence[Any]) -> list[str]:
    """This run's known-answer validations (suite.validate.known.Validation) that differ from
    the ledger's record. Reported, not red: the plants go into each machine's own reference
    models, so a case near its threshold can fall either way on another machine; the claim's
    verdicts there are not judged, which the summary shows."""
    out = []
    for row in rows:
        first = (row.true + row.false)[0].verdict
        if first.superseded_by:
            continue
        key = (row.claim, row.variant, row.task, versioned(first.protocol))
        recorded = getattr(ledger, "validations", {}).get(key)
        if recorded is not None and recorded.validated != row.validated:
            now = "validated" if row.validated else "NOT VALIDATED"
            was = "validated" if recorded.validated else "not validated"
            out.append(f"{row.name} [{row.task}]: {now} in this run, recorded {was} (commit "
                       f"{recorded.commit[:12]}): {row.line}")
    return out
