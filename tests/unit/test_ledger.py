"""The ledger (suite.run.ledger): written only from results, and a run is red exactly where it
contradicts it."""

from __future__ import annotations

import dataclasses
import json

import pytest

from suite.judge.claim import Verdict
from suite.run import ledger


def verdict(seed: int, outcome: str, recipe: str = "fda-tiny", claim: str = "c.x",
            protocol: str = "p1", **details) -> Verdict:
    return Verdict(claim=claim, task="fda", recipe=recipe, seed=seed, noise=0.05, n=100,
                   estimate=0.5 if outcome == "holds" else 0.1, ci_low=0.4, ci_high=0.6, p=0.01,
                   threshold="x >= 0.3", outcome=outcome, protocol=protocol,
                   details={"validation": "validated", **details})


def known_answers(entries: ledger.Ledger, validated: bool) -> ledger.Ledger:
    """`entries` with a recorded known-answer row for claim c.x on fda."""
    protocol = next(iter(entries.values())).protocol
    row = ledger.Validated("c.x", "", "fda", protocol, "fda-tiny", validated, "c.x [fda] ...",
                           "c0ffee")
    return ledger.Ledger(entries, {row.key: row})


def book(*outcomes: str, start: int = 0) -> ledger.Ledger:
    out, _ = ledger.record({}, [verdict(start + i, o) for i, o in enumerate(outcomes)], "c0ffee")
    return out


def test_a_run_is_red_exactly_where_it_contradicts_the_ledger():
    always, never = book(*["holds"] * 4), book(*["does not hold"] * 4)
    mixed = book("holds", "holds", "does not hold", "holds")
    new = 9  # a seed none of them lists
    assert ledger.check(always, verdict(new, "does not hold")).red
    assert not ledger.check(always, verdict(new, "holds")).red
    assert ledger.check(never, verdict(new, "holds")).red
    expected = ledger.check(never, verdict(new, "does not hold"))
    assert not expected.red and expected.expected_failure and "0 of 4" in expected.why
    assert ledger.check(mixed, verdict(new, "does not hold")).expected_failure
    assert not ledger.check(mixed, verdict(new, "holds")).red
    for entry in (always, never, mixed):  # inconclusive is reported, never red
        assert not ledger.check(entry, verdict(new, "inconclusive")).red
    # unrecorded, or fewer than three seeds: a "does not hold" is red until measured
    assert ledger.check({}, verdict(new, "does not hold")).red
    assert not ledger.check({}, verdict(new, "holds")).red
    assert ledger.check(book("does not hold", "does not hold"), verdict(new, "does not hold")).red
    # a recorded seed is one sample among the entry's (another machine trains another model
    # from it), so it is compared with all of them; inconclusive seeds are no evidence
    recorded = book("does not hold", "holds", "holds", "holds")
    assert ledger.check(recorded, verdict(0, "does not hold")).expected_failure
    assert ledger.check(recorded, verdict(1, "does not hold")).expected_failure
    assert not ledger.check(recorded, verdict(0, "holds")).red
    assert ledger.check(book(*["holds"] * 3), verdict(0, "does not hold")).red
    assert ledger.check(book("holds", "holds", "holds", "inconclusive"),
                        verdict(new, "does not hold")).red  # never recorded not holding
    assert ledger.check(book("does not hold", "does not hold", "inconclusive"),
                        verdict(new, "does not hold")).red  # two decided seeds only
    # another rule, or another recipe: unrecorded
    assert ledger.check(never, verdict(new, "does not hold", protocol="p2")).red
    assert ledger.check(never, verdict(new, "does not hold", recipe="thr-tiny")).red


def test_the_comparison_reads_what_the_rule_measured_before_validation():
    unvalidated = verdict(9, "not judged", validation="not validated",
                          unvalidated={"outcome": "holds", "estimate": 0.5, "ci": [0.4, 0.6]})
    assert ledger.measured_outcome(unvalidated) == "holds"
    never = book(*["does not hold"] * 3)
    assert ledger.check(never, unvalidated).red  # `memsuite ledger` refuses to record it; a
    # run does not fail on it (a verdict it does not judge is never red)
    entry, _ = ledger.record({}, [unvalidated], "c0ffee")
    (seed,) = next(iter(entry.values())).seeds
    assert (seed.outcome, seed.measured, seed.estimate) == ("not judged", "holds", 0.5)


def test_a_block_of_new_seeds_is_held_to_the_range_a_mixed_entry_predicts():
    mixed = book(*["holds", "does not hold"] * 5)  # 5 of 10: 0 or 10 of 10 new is outside
    all_fail = [verdict(20 + i, "does not hold") for i in range(10)]
    half = [verdict(20 + i, "holds" if i % 2 else "does not hold") for i in range(10)]
    (red,) = ledger.blocks(mixed, all_fail)
    assert red.red and red.holds == 0 and red.low >= 1 and "CONTRADICTS" in red.line
    (fine,) = ledger.blocks(mixed, half)
    assert not fine.red and fine.low <= 5 <= fine.high
    assert ledger.blocks(mixed, [verdict(0, "does not hold")]) == []  # a recorded seed
    assert ledger.blocks(book(*["holds"] * 4), all_fail) == []  # checked verdict by verdict


def test_a_finding_is_validated_and_fails_in_most_confirmatory_seeds():
    exploratory_only = book(*["does not hold"] * 3)
    assert not next(iter(exploratory_only.values())).finding
    confirmed = book(*["does not hold"] * 3, "does not hold", "holds", "does not hold", start=0)
    assert next(iter(confirmed.values())).finding
    unvalidated, _ = ledger.record({}, [verdict(s, "does not hold", validation="not validated")
                                        for s in range(3, 8)], "c0ffee")
    assert not next(iter(unvalidated.values())).finding


def test_known_answers_that_stop_validating_withdraw_a_finding():
    """Seeds judged while the instrument was validated, then known answers recorded that do not
    validate it (new plants): the entry is no finding until its seeds are judged again."""
    confirmed = book(*["does not hold"] * 6)
    entry = next(iter(confirmed.values()))
    assert entry.finding and known_answers(confirmed, True).finding(entry)
    assert not known_answers(confirmed, False).finding(entry)
    assert not confirmed.finding(entry)  # no known answers recorded: nothing backs it
    from suite.run import scoreboard

    def row(book: ledger.Ledger) -> str:
        return next(line for line in scoreboard.markdown(book, {}).splitlines()
                    if line.startswith("| c.x"))
    assert "**no** in the latest known answers" in row(known_answers(confirmed, False))
    assert row(known_answers(confirmed, False)).endswith("| no |")
    assert "no known answers recorded on fda" in row(confirmed) and row(confirmed).endswith("| no |")


def test_a_claim_whose_rule_was_set_after_more_seeds_counts_them_as_exploratory(monkeypatch):
    """A rule declared after seeds 0-7 had been seen under it (rr.clean_label_decodable.v5):
    those seeds cannot confirm it, so they are exploratory and make no finding."""
    monkeypatch.setitem(ledger.EXPLORATORY_BY_CLAIM, "c.x", frozenset(range(8)))
    seen, _ = ledger.record({}, [verdict(s, "does not hold") for s in range(8)], "c0ffee")
    entry = next(iter(seen.values()))
    assert not entry.finding and entry.phase(exploratory=False) == []
    later, _ = ledger.record(seen, [verdict(s, "does not hold") for s in range(13, 18)], "c0ffee")
    entry = next(iter(later.values()))
    assert entry.finding and [s.seed for s in entry.phase(exploratory=False)] == list(range(13, 18))
    assert ledger.exploratory_seeds("another.claim") == ledger.EXPLORATORY_SEEDS


def test_the_ledger_is_written_by_the_command_and_rejects_a_hand_edit(tmp_path):
    path = tmp_path / "ledger.json"
    entries = book("holds", "does not hold", "holds")
    ledger.write(entries, path)
    assert ledger.load(path) == entries
    raw = json.loads(path.read_text())
    raw["entries"][0]["seeds"][1]["measured"] = "holds"
    path.write_text(json.dumps(raw))
    with pytest.raises(ValueError, match="edited by hand"):
        ledger.load(path)
    path.write_text("{not json")
    with pytest.raises(ValueError, match="not a ledger"):
        ledger.load(path)
    assert ledger.load(tmp_path / "absent.json") == {}


def test_entries_of_a_changed_rule_or_recipe_are_dropped():
    entries = book("holds", "holds", "holds")
    kept, dropped = ledger.prune(entries, {"c.x": "p1"})
    assert kept == entries and dropped == []
    kept, dropped = ledger.prune(entries, {"c.x": "p2"})
    assert kept == {} and [e.claim for e in dropped] == ["c.x"]
    moved = {k: dataclasses.replace(e, recipe_digest="0" * 16) for k, e in entries.items()}
    assert ledger.prune(moved, {"c.x": "p1"})[0] == {}


def test_the_command_records_only_results_of_a_clean_commit(tmp_path, capsys):
    from suite.run import results
    from suite.run.cli import main

    out = tmp_path / "run"
    results.write(out, [verdict(3, "holds", claim="rr.generalize_first")], [],
                  {"git_commit": "abc+dirty"}, {})
    target = tmp_path / "ledger.json"
    assert main(["ledger", str(out), "--ledger", str(target)]) == 2
    assert "clean commit" in capsys.readouterr().err and not target.exists()


def test_known_answers_are_recorded_per_claim_and_task_and_read_back(tmp_path):
    known = dict(reference="fda-tiny", rule_check=False, rules={"x >= 0.3": "holds"})
    true = verdict(0, "holds", planted="true", **known)
    false = verdict(0, "does not hold", planted="false",
                    **{**known, "rules": {"x >= 0.3": "does not hold"}})
    book, n = ledger.record({}, [true, false, verdict(3, "holds")], "c0ffee")
    assert n == 1  # the known answers are no seeds of an entry
    (row,) = book.validations.values()
    assert row.validated and row.reference == "fda-tiny" and row.task == "fda"
    path = ledger.write(book, tmp_path / "ledger.json")
    assert ledger.load(path) == book
    kept, _ = ledger.prune(book, {"c.x": "other"})
    assert kept.validations == {}
    partial, _ = ledger.record(book, [dataclasses.replace(false, details={
        **false.details, "rules": {"x >= 0.3": "holds"}})], "d00d")  # a run of one case only
    assert partial.validations == book.validations  # does not replace the pair's record


def test_the_scoreboard_says_k_of_n_per_phase_and_what_is_a_finding():
    from suite.run import scoreboard

    book, _ = ledger.record({}, [verdict(s, "does not hold") for s in range(0, 8)], "c0ffee")
    text = scoreboard.markdown(known_answers(book, True), {})
    row = next(line for line in text.splitlines() if line.startswith("| c.x"))
    assert "0 of 3 hold (seeds 0,1,2; estimate 0.100)" in row
    assert "0 of 5 hold (seeds 3,4,5,6,7; estimate 0.100)" in row and row.endswith("**yes** |")
    unvalidated = ledger.record({}, [verdict(s, "not judged", validation="not validated",
                                             unvalidated={"outcome": "holds", "estimate": 0.7,
                                                          "ci": [0.6, 0.8]}) for s in (3, 4)],
                                "c0ffee")[0]
    row = next(line for line in scoreboard.markdown(unvalidated, {}).splitlines()
               if line.startswith("| c.x"))
    assert "not judged on seeds 3,4 (measured, not validated: holds in 2 of 2 decided" in row
    assert row.endswith("| no |")


def test_every_shipped_ledger_entry_is_under_today_s_statistics_version():
    """A raised STATS_VERSION makes every entry stale (each verdict then reads as unrecorded),
    so the ledger is re-measured at the commit that raises it and recorded in the next one (it
    records only clean commits' runs); this makes the gap between them red in the default run,
    and a version raised without its re-measurement visible at once."""
    from suite.run import ledger

    book = ledger.load(ledger.DEFAULT)
    stale = sorted({e.protocol for e in book.values()
                    if not e.protocol.endswith(f"/stats{ledger.STATS_VERSION}")})
    assert book and not stale, f"entries under another statistics version: {stale[:3]}"
