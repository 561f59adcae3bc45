"""The judge: rules, three outcomes, alternatives, protocols, replication, baseline."""

from __future__ import annotations

import dataclasses
import json
import math
from types import SimpleNamespace

import numpy as np
import pytest

from suite.judge import Claim, DoesNotHold, Inconclusive, Judge, NotJudged, Rule, Verdict
from suite.judge.replication import replicate
from suite.judge.stats import Exact, ItemMean, Largest, Share


def verdict(claim="c.x", seed=0, outcome="holds", replicate_rule="majority", variant="",
            estimate=0.5, ci=(0.4, 0.6), recipe="thr-tiny", error_rate=0.025, **kw):
    return Verdict(claim=claim, task="thr", recipe=recipe, seed=seed, noise=0.05, n=10,
                   estimate=estimate, ci_low=ci[0], ci_high=ci[1], p=0.01, threshold="rule",
                   outcome=outcome, variant=variant, replicate=replicate_rule,
                   error_rate=error_rate, **kw)


MODEL = SimpleNamespace(task_spec=SimpleNamespace(task="thr", seed=3, noise=0.05), name="thr-tiny",
                        key="k", noise=0.05)


RECORDED: list = []  # what JUDGE recorded, newest last
JUDGE = Judge(test="test_unit", record=lambda v, items: RECORDED.append((v, list(items))))
judge = JUDGE


@pytest.fixture
def recorded():
    RECORDED.clear()
    return RECORDED


def claim(id_, *rules, **kw):
    return Claim(id_, "src", "a sentence", "a statistic", tuple(rules), "a priori: test", **kw)


SHARE_AT_LEAST_HALF = claim("t.half", Rule("share", ">=", 0.5))


@pytest.mark.parametrize("k, outcome", [(80, "holds"), (20, "does not hold"), (52, "inconclusive")])
def test_three_outcomes_from_where_the_interval_lies(k, outcome, recorded):
    if outcome == "holds":
        v = judge(SHARE_AT_LEAST_HALF, MODEL, {"share": Share(k, 100)}, n=100)
    else:
        error = DoesNotHold if outcome == "does not hold" else Inconclusive
        with pytest.raises(error) as caught:
            judge(SHARE_AT_LEAST_HALF, MODEL, {"share": Share(k, 100)}, n=100)
        v = caught.value.verdict
    assert v.outcome == outcome and recorded[-1][0] == v
    assert v.ci_low <= v.estimate <= v.ci_high
    if outcome == "inconclusive":  # how far from 0.5 an effect must lie to be decided here
        assert 0.05 < v.details["decidable_beyond"]["share >= 0.5"] < 0.15
    assert v.protocol == SHARE_AT_LEAST_HALF.protocol and v.error_rate == pytest.approx(0.025)


def test_every_rule_must_hold_and_one_confident_failure_decides():
    both = claim("t.both", Rule("a", ">", 0), Rule("b", "<=", 0.1))
    assert judge(both, MODEL, {"a": ItemMean([1, 1, 0, 1] * 25), "b": Share(2, 100)}, n=100).holds
    with pytest.raises(DoesNotHold):  # b confidently above 0.1, a straddles nothing
        judge(both, MODEL, {"a": ItemMean([1, 1, 0, 1] * 25), "b": Share(40, 100)}, n=100)
    with pytest.raises(Inconclusive):  # a straddles 0, b holds
        judge(both, MODEL, {"a": ItemMean([1, -1] * 10 + [1]), "b": Share(2, 100)}, n=21)
    with pytest.raises(ValueError, match=r"needs the quantities \['b'\]"):
        judge(both, MODEL, {"a": Exact(1.0)}, n=1)


def test_does_not_hold_is_bonferroni_over_the_sampled_rules():
    """One confident failure among m sampled rules decides, so each is read at 1 - 0.05 / m
    for 'does not hold' (statistics version 6): a rule whose 95 % interval lies just below its
    threshold but whose 97.5 % one does not is inconclusive beside a second rule, and does not
    hold alone; an exact rule is not counted."""
    rule = Rule("a", ">", 0.6)
    a = Share(49, 100)  # 95 % upper bound about 0.593, 97.5 % about 0.606
    assert Share(49, 100).interval(0.95).high < 0.6 < Share(49, 100).interval(0.975).high
    with pytest.raises(DoesNotHold):
        judge(claim("t.one", rule), MODEL, {"a": a}, n=100)
    with pytest.raises(Inconclusive) as caught:
        judge(claim("t.two", rule, Rule("b", ">", 0)), MODEL, {"a": a, "b": Share(90, 100)},
              n=100)
    assert caught.value.verdict.details["rules"]["a > 0.6"] == "inconclusive"
    with pytest.raises(DoesNotHold):  # beside an exact rule: one sampled rule, no correction
        judge(claim("t.exact", rule, Rule("b", ">", 0)), MODEL, {"a": a, "b": Exact(1.0)}, n=100)


def test_some_site_holds_at_one_and_fails_only_at_all(recorded):
    at_some = claim("t.some", Rule("effect", ">=", 0.1), some="site")
    strong, null = ItemMean([0.3] * 50 + [0.4] * 50), ItemMean([0.0] * 50 + [0.01] * 50)
    v = judge(at_some, MODEL, some={"resid.0": {"effect": null}, "resid.1": {"effect": strong}},
              n=100)
    assert v.holds and v.details["site"] == "resid.1"
    with pytest.raises(DoesNotHold):
        judge(at_some, MODEL, some={"resid.0": {"effect": null}, "resid.1": {"effect": null}}, n=100)
    with pytest.raises(ValueError, match="some="):
        judge(SHARE_AT_LEAST_HALF, MODEL, some={"a": {"share": Share(1, 2)}}, n=2)


def test_exact_quantities_have_no_error_rate():
    later = claim("t.later", Rule("lag", ">", 0))
    assert judge(later, MODEL, {"lag": Exact(50.0)}, n=1).error_rate is None
    with pytest.raises(DoesNotHold):
        judge(later, MODEL, {"lag": Exact(0.0)}, n=1)


def test_the_protocol_changes_with_the_rule_and_only_with_it():
    a = claim("t.p1", Rule("x", ">=", 0.5))
    assert a.protocol == claim("t.p1", Rule("x", ">=", 0.5)).protocol
    changed = [claim("t.p2", Rule("x", ">=", 0.6)), claim("t.p3", Rule("x", ">=", 0.5), version=2),
               claim("t.p4", Rule("x", ">=", 0.5), confidence=0.99),
               claim("t.p1", Rule("x", ">=", 0.5), gates=("learned",))]  # a gate is in the rule
    assert len({a.protocol} | {c.protocol for c in changed}) == 5
    from suite.run.catalogue import by_id

    with pytest.raises(ValueError, match="declared twice"):  # the catalogue refuses one id twice
        by_id([a, claim("t.p1", Rule("x", ">=", 0.7))])


def test_known_cases_are_part_of_the_record_but_not_of_the_rule():
    """A claim declares its known-answer cases (Claim.known): a pair per task and variant, each
    with its own id. They validate the instrument and are recorded with their own numbers, so
    the rule's hash ignores them (adding a case re-measures nothing), and a revision keeps them
    unless it names others."""
    from suite.judge import KnownCase, known_pair

    pair = known_pair("late_recall", "embed_recall", ("fda", "thr"),
                      args=(("decoder", ("lens", "probe")),))
    assert [c.label(t) for c in pair for t in c.tasks][:4] == [
        "true-late_recall-lens-fda", "true-late_recall-lens-thr",
        "false-embed_recall-lens-fda", "false-embed_recall-lens-thr"]
    assert len(pair) == 4 and {c.planted for c in pair} == {True, False}
    a = claim("t.k", Rule("x", ">=", 0.5))
    b = dataclasses.replace(a, known=pair)
    assert a.protocol == b.protocol and b.revised(2).known == pair
    with pytest.raises(ValueError, match="declared twice"):
        dataclasses.replace(a, known=pair + pair[:1])
    with pytest.raises(ValueError, match="planted true"):
        KnownCase("late_recall", True, ("fda",), fails="x")
    with pytest.raises(ValueError, match="tuple of task names"):
        KnownCase("late_recall", True, "fda")
    with pytest.raises(ValueError, match="tasks it does not run on"):
        dataclasses.replace(a, tasks=("fda",), known=pair)  # cases on thr, a claim on fda
    assert dataclasses.replace(a, tasks=("fda", "thr"), known=pair).protocol == a.protocol


def test_dropping_a_gate_is_a_new_version_with_the_same_rule():
    """Claim.without_gate: the next version, one gate fewer, the rule and cases as they were,
    its reason appended to the threshold source; a gate the claim lacks is an error."""
    v4 = claim("t.g.v4", Rule("x", ">", 0.1), version=4, gates=("learned", "memorized", "pre"))
    v5 = v4.without_gate("pre", 5, "M_pre is not read")
    assert (v5.id, v5.version, v5.gates, v5.rules) == ("t.g.v5", 5, ("learned", "memorized"),
                                                       v4.rules)
    assert v5.threshold_source.endswith("M_pre is not read") and v5.protocol != v4.protocol
    with pytest.raises(ValueError, match="no gate 'deep'"):
        v4.without_gate("deep", 5, "")


def test_a_revision_is_named_from_the_base_claim():
    v2 = claim("t.rev", Rule("x", ">=", 0.5), version=2)
    v3 = v2.revised(3, statistic="changed")
    assert (v3.id, v3.version, v3.rules) == ("t.rev.v3", 3, v2.rules)
    assert v3.revised(4).id == "t.rev.v4"  # not t.rev.v3.v4
    assert len({v2.protocol, v3.protocol, v3.revised(4).protocol}) == 3


def test_not_judged_is_recorded_and_raised(recorded):
    with pytest.raises(NotJudged, match="precondition not met: heldout 0.2"):
        JUDGE.not_judged(SHARE_AT_LEAST_HALF, MODEL, "heldout 0.2")
    v = recorded[-1][0]
    assert v.outcome == "not judged" and v.estimate is None and "NOT JUDGED" in v.message


UNLEARNED = SimpleNamespace(**vars(MODEL), metrics={
    "heldout_acc": 0.2, "noisy_recall": 1.0, "n": {"heldout": 100, "noisy": 100}})


def test_a_claim_s_own_gates_decide_whether_it_is_judged(recorded):
    gated = claim("t.gated", Rule("share", ">=", 0.5), gates=("learned", "memorized"))
    with pytest.raises(NotJudged, match="heldout_acc 0.2"):
        JUDGE.require(gated, UNLEARNED)
    # a test that measures without asking first still gets no verdict past the missed gate
    with pytest.raises(NotJudged, match="heldout_acc 0.2"):
        JUDGE(gated, UNLEARNED, {"share": Share(90, 100)}, n=100)
    assert [v.outcome for v, _ in recorded] == ["not judged", "not judged"]
    assert JUDGE(SHARE_AT_LEAST_HALF, UNLEARNED, {"share": Share(90, 100)}, n=100).holds
    assert "gates: learned, memorized" in gated.threshold
    with pytest.raises(KeyError, match="unknown precondition"):
        JUDGE.require(claim("t.typo", Rule("x", ">", 0), gates=("learnt",)), UNLEARNED)


def test_verdicts_are_strict_json():
    v = verdict(estimate=float("nan"), ci=(float("-inf"), float("inf")),
                details={"x": float("nan"), "arr": np.array([1.0, np.inf])})
    row = json.loads(v.to_json())
    assert row["estimate"] is None and row["ci_low"] is None and row["details"]["x"] is None
    assert row["details"]["arr"] == [1.0, None]


def test_replication_counts_outcomes_separately_with_its_error_rate():
    rows = [verdict(seed=0), verdict(seed=1, outcome="does not hold"), verdict(seed=2),
            verdict(seed=3, outcome="not judged", estimate=None), verdict(seed=4, outcome="inconclusive")]
    r, = replicate(rows)
    assert (r.holds_in, r.does_not_hold_in, r.inconclusive_in, r.not_judged_in, r.judged) == \
        (2, 1, 1, 1, 4)
    assert r.k == 3 and not r.replicates  # a strict majority of 4 judged seeds is 3
    assert r.error_rate == pytest.approx(4 * 0.025**3 * 0.975 + 0.025**4)
    assert "holds in 2 of 4 judged seeds" in r.message and "not judged 1" in r.message


def test_one_judged_seed_cannot_replicate_and_exact_rules_have_no_rate():
    r, = replicate([verdict(seed=0, error_rate=None), verdict(seed=1, outcome="not judged")])
    assert not r.replicates and "CANNOT REPLICATE" in r.message and r.error_rate is None
    every = [verdict(seed=s, replicate_rule="all") for s in range(3)]
    assert replicate(every)[0].replicates
    every[1] = verdict(seed=1, outcome="inconclusive", replicate_rule="all")
    assert not replicate(every)[0].replicates


def test_claim_rejects_bad_declarations():
    with pytest.raises(ValueError, match="replicate must be"):
        claim("c.z", Rule("x", ">", 0), replicate="most")
    with pytest.raises(ValueError, match="at least one rule"):
        claim("c.z2")
    with pytest.raises(ValueError, match="op must be"):
        Rule("x", "=>", 0)
    with pytest.raises(ValueError, match="distinct gate names"):
        claim("c.z3", Rule("x", ">", 0), gates="learned")


def test_family_correction_is_holm_over_a_family_on_one_model():
    from suite.judge.replication import family_correct

    base = dict(task="thr", recipe="m", noise=0.05, n=10, estimate=0.5, ci_low=None, ci_high=None,
                threshold="r", outcome="holds")
    rows = [Verdict("a.one", seed=0, p=0.02, family="a", model_key="k", **base),
            Verdict("a.two", seed=0, p=0.03, family="a", model_key="k", **base),
            Verdict("a.one", seed=1, p=0.02, family="a", model_key="other", **base),
            Verdict("b.one", seed=0, p=None, family="b", model_key="k", **base)]
    out = {(f.claim, f.model_key): f for f in family_correct(rows)}
    assert set(out) == {("a.one", "k"), ("a.two", "k"), ("a.one", "other")}
    assert out[("a.one", "k")].p_holm == pytest.approx(0.04)
    assert out[("a.two", "k")].p_holm == pytest.approx(0.04)
    assert all(f.holds_corrected for f in out.values())


# --- baseline: an equally good model passes, a worse one fails --------------------------------

def test_baseline_flags_only_changes_that_hurt_the_claim():
    from suite.run.baseline import compare

    def seeds(claim, **kw):  # a three-seed baseline, the smallest that decides "effect worse"
        return [verdict(claim, seed=s, **kw) for s in range(3)]

    base = [*seeds("c.holds"), *seeds("c.worse"), *seeds("c.judged"),
            *seeds("c.fixed", outcome="does not hold", estimate=0.2, ci=(0.1, 0.3)),
            *seeds("c.better"), *seeds("c.gone"), *seeds("c.unsure")]
    now = [verdict("c.holds", outcome="does not hold", estimate=0.1, ci=(0.0, 0.2)),
           verdict("c.worse", estimate=0.3, ci=(0.25, 0.35)),
           verdict("c.judged", outcome="not judged", estimate=None),
           verdict("c.fixed"), verdict("c.better", estimate=0.9, ci=(0.8, 0.95)), verdict("c.new"),
           verdict("c.unsure", outcome="inconclusive", estimate=0.45, ci=(0.3, 0.6))]
    kinds = {c.claim: c.kind for c in compare(now, base)}
    assert kinds == {"c.holds": "no longer holds", "c.worse": "effect worse",
                     "c.judged": "no longer judged", "c.fixed": "now holds",
                     "c.better": "effect better", "c.new": "not in baseline",
                     "c.gone": "not in this run",
                     "c.unsure": "no longer holds, now inconclusive"}  # a warning, not a failure
    assert {c.claim for c in compare(now, base) if c.regression} == {"c.holds", "c.worse", "c.judged"}


@pytest.mark.parametrize("n_seeds", [1, 2])
def test_effect_worse_is_not_decided_on_fewer_than_three_baseline_seeds(n_seeds):
    """One seed's item interval cannot see seed-to-seed variation, and two seeds give a
    prediction interval with t(0.975, 1) = 12.7: an equally good model on another seed would be
    flagged, or nothing could be. The paired-items test and "no longer holds" still decide."""
    from suite.run.baseline import NOT_DECIDED, compare

    base = [verdict("c.x", seed=s, estimate=0.97, ci=(0.95, 0.99)) for s in range(n_seeds)]
    other_seed = [verdict("c.x", seed=7, estimate=0.69, ci=(0.6, 0.78))]
    assert [c.kind for c in compare(other_seed, base)] == [NOT_DECIDED]
    assert not any(c.regression for c in compare(other_seed, base))
    gone = [verdict("c.x", seed=7, outcome="does not hold", estimate=0.1, ci=(0.0, 0.2))]
    assert [c.kind for c in compare(gone, base)] == ["no longer holds"]


def test_lower_is_better_claims_regress_upwards():
    from suite.run.baseline import compare

    base = [verdict("c.low", seed=s, estimate=0.05, ci=(0.02, 0.08), higher_is_better=False)
            for s in range(3)]
    up = [verdict("c.low", estimate=0.3, ci=(0.2, 0.4), higher_is_better=False)]
    down = [verdict("c.low", estimate=0.0, ci=(0.0, 0.01), higher_is_better=False)]
    assert [c.kind for c in compare(up, base)] == ["effect worse"]
    assert [c.kind for c in compare(down, base)] == ["effect better"]


def test_items_are_paired_on_their_variant():
    """The lens and probe items of one claim on one model are two item sets, not one."""
    from suite.run.baseline import _headlines

    rows = [{"claim": "c.x", "variant": v, "recipe": "thr-tiny", "seed": 0, "noise": 0.05,
             "prompt": "p0", "headline": h} for v, h in (("lens", 1.0), ("probe", 0.0))]
    assert _headlines(rows) == {("c.x", "lens", "thr-tiny", 0, 0.05): {"p0": 1.0},
                                ("c.x", "probe", "thr-tiny", 0, 0.05): {"p0": 0.0}}


def test_another_seed_inside_a_multi_seed_range_is_not_a_regression():
    from suite.run.baseline import compare

    base = [verdict(seed=s, estimate=e, ci=(e - 0.08, e + 0.08)) for s, e in enumerate((0.5, 0.6, 0.7))]
    # seed 7 of the same recipe: a narrower interval outside every single seed's, inside the range
    assert compare([verdict(seed=7, estimate=0.43, ci=(0.40, 0.46))], base) == []
    # with three seeds the prediction interval for a new seed reaches down to 0.10
    near = verdict(seed=0, recipe="my-checkpoint", estimate=0.2, ci=(0.1, 0.3))
    assert compare([near], base) == []  # matched by task: inside the new-seed range
    mine = verdict(seed=0, recipe="my-checkpoint", estimate=0.04, ci=(0.0, 0.08))
    assert [c.kind for c in compare([mine], base)] == ["effect worse"]


def test_paired_items_catch_a_regression_inside_the_range():
    from suite.run.baseline import Baseline, compare

    rng = np.random.default_rng(0)
    before = rng.random(200) < 0.8
    after = before.copy()
    after[np.flatnonzero(before)[:25]] = False  # 25 items lost, none gained
    items = lambda hits: [{"claim": "c.x", "recipe": "thr-tiny", "seed": 0, "noise": 0.05,  # noqa
                           "prompt": f"p{i}", "headline": float(h)} for i, h in enumerate(hits)]
    base = Baseline([verdict(estimate=0.8, ci=(0.6, 0.9))], items(before))
    now = [verdict(estimate=0.68, ci=(0.62, 0.74))]
    assert [c.kind for c in compare(now, base, items(after))] == ["items worse"]
    noise = before.copy()  # a retrained model: 10 items lost, 10 others gained
    noise[np.flatnonzero(before)[-10:]] = False
    noise[np.flatnonzero(~before)[:10]] = True
    assert not any(c.regression for c in compare(now, base, items(noise)))


def test_report_plots_are_written_from_verdicts_and_curves(tmp_path, sample_report):
    from suite.run.results import read_verdicts
    from suite.run.report import write_plots

    written = write_plots(tmp_path / "report", read_verdicts(sample_report / "results.jsonl"),
                          json.loads((sample_report / "curves.json").read_text()))
    names = sorted(p.name for p in written)
    # a figure for each judged verdict that declared one (suite.judge.figures), whatever its claim
    assert names == ["dynamics_thr-tiny-s0.png",
                     "figure_rr.bridge_removal_hurts_memorization_thr-tiny.png",
                     "figure_rr.clean_label_decodable_lens_thr-tiny.png",
                     "figure_rr.noisy_overrides_late_thr-tiny.png"]
    assert all(p.stat().st_size > 1000 and p.read_bytes()[:4] == b"\x89PNG" for p in written)


def test_report_rerenders_from_results_alone(sample_report):
    """`memsuite report DIR` needs only results.jsonl (and curves.json for the dynamics)."""
    from suite.run.report import rerender

    md, html = rerender(sample_report)
    text = md.read_text()
    assert "| rr.clean_label_decodable[lens] | thr | thr-tiny | 0 | 0.05 | 0.300 | [0.200, 0.400] " \
           "| 0.01 |  | holds |" in text  # its only detail is a figure, drawn below
    assert "| rr.bridge_decodable | thr | thr-tiny | 0 | 0.05 | 1.000 | [0.900, 1.000] | 0 | " \
           "by_site={embed@1: 0.100, resid.0@1: 1.000} | holds |" in text
    assert "## Family-wise correction (Holm, alpha 0.05)" in text
    assert "![dynamics_thr-tiny-s0](dynamics_thr-tiny-s0.png)" in text
    page = html.read_text()
    assert page.count("data:image/png;base64,") == 4 and "<table" in page  # dynamics + 3 figures
    assert "src='dynamics" not in page  # self-contained: no file references


def test_a_corrupt_results_file_names_the_line(tmp_path, sample_report):
    from suite.run.results import read_verdicts

    first = (sample_report / "results.jsonl").read_text().splitlines()[0]
    (tmp_path / "results.jsonl").write_text(first + "\n{\"claim\": 1}\n")
    with pytest.raises(ValueError, match=r"results.jsonl:2: not a verdict record"):
        read_verdicts(tmp_path / "results.jsonl")


def test_largest_is_simultaneous_over_its_parts():
    one = Share(10, 100).interval(0.95)
    many = Largest(tuple(Share(10, 100) for _ in range(20))).interval(0.95)
    assert many.value == one.value and many.high > one.high and many.low < one.low
    assert not math.isnan(many.low)


def test_rules_lists_the_claims_whose_protocol_changed(tmp_path, capsys):
    from suite.run.cli import main

    for name, rows in (("old", [verdict("c.a", protocol="p1"), verdict("c.b", protocol="p2")]),
                       ("new", [verdict("c.a", protocol="p1"), verdict("c.b", protocol="p3",
                                                                       version=2)])):
        (tmp_path / name).mkdir()
        (tmp_path / name / "results.jsonl").write_text("".join(v.to_json() + "\n" for v in rows))
    assert main(["rules", str(tmp_path / "old"), str(tmp_path / "new")]) == 0
    out = capsys.readouterr().out
    assert "c.b: p2 (v1) -> p3 (v2)" in out and "c.a" not in out.split("\n")[0]
    assert "1 claim(s) with a changed or missing rule, 1 unchanged" in out


def test_the_report_marks_failures_the_ledger_expects_as_known(tmp_path):
    import dataclasses

    from suite.run import ledger
    from suite.run.report import expected_by_ledger, write_summary

    rows = [verdict("c.x", outcome="does not hold", protocol="p1"),
            verdict("c.y", outcome="does not hold", protocol="p2")]
    book, _ = ledger.record({}, [dataclasses.replace(rows[0], seed=s) for s in (1, 2, 3)] +
                            [dataclasses.replace(rows[1], seed=s, protocol="old")
                             for s in (1, 2, 3)], "c0ffee")
    known = expected_by_ledger(rows, book)
    assert known == {("c.x", "", "thr-tiny", 0, 0.05)}  # c.y's entry is of another rule
    md, _ = write_summary(tmp_path, rows, [], known=known)
    text = md.read_text()
    assert "| c.x | thr | thr-tiny | 0 | 0.05 | 0.500 | [0.400, 0.600] | 0.01 |  | known: does not " \
           "hold (as the ledger records) |" in text
    assert "| c.y | thr | thr-tiny | 0 | 0.05 | 0.500 | [0.400, 0.600] | 0.01 |  | does not hold |" in text


def test_an_inconclusive_some_claim_reports_the_undecided_alternative():
    at_some = claim("t.some2", Rule("effect", ">=", 0.1), some="site")
    wide = ItemMean([0.0] * 92 + [1.0] * 8)  # 0.08, its interval straddles 0.1
    below = ItemMean([0.09] * 100)  # 0.09: a larger estimate, but confidently below 0.1
    with pytest.raises(Inconclusive) as caught:
        judge(at_some, MODEL, some={"a": {"effect": wide}, "b": {"effect": below}}, n=100)
    v = caught.value.verdict
    assert v.details["site"] == "a" and v.details["by_site"] == {"a": "inconclusive",
                                                                  "b": "does not hold"}


def test_a_seed_variable_claim_is_not_a_regression_on_a_new_seed():
    """Measured on thr-tiny (rr.intermediate_patching_changes_memory): seeds 0-2 gave 0.193,
    0.212 and 0.120 (holds, holds, inconclusive); seed 3 gave 0.048 [0.022, 0.076], outside every
    seed's interval but inside the prediction interval for a new seed, and the baseline did not
    hold in every seed: reported, not a regression."""
    from suite.run.baseline import compare

    base = [verdict(seed=0, estimate=0.193, ci=(0.154, 0.230)),
            verdict(seed=1, estimate=0.212, ci=(0.171, 0.254)),
            verdict(seed=2, outcome="inconclusive", estimate=0.120, ci=(0.079, 0.162))]
    seed3 = verdict(seed=3, outcome="does not hold", estimate=0.048, ci=(0.022, 0.076))
    changes = compare([seed3], base)
    assert [c.kind for c in changes] == ["does not hold, as in some baseline seeds"]
    assert not any(c.regression for c in changes)
    always = [verdict(seed=s, estimate=0.2, ci=(0.16, 0.24)) for s in range(3)]
    assert [c.kind for c in compare([seed3], always)] == ["no longer holds"]


def test_a_declared_figure_travels_as_a_plain_record_and_stays_out_of_the_message():
    from suite.judge.figures import Bars

    v = JUDGE(SHARE_AT_LEAST_HALF, MODEL, {"share": Share(80, 100)}, n=100,
              figure=Bars("an intervention", 0.2, 0.9), erased=0.2)
    assert v.details["figure"] == {"title": "an intervention", "effect": 0.2, "control": 0.9,
                                   "effect_label": "intervention", "control_label": "control",
                                   "kind": "bars"}
    assert json.loads(v.to_json())["details"]["figure"]["kind"] == "bars"
    assert "erased=0.200" in v.message and "figure" not in v.message


def test_a_judge_without_a_recorder_records_nowhere_and_names_its_test():
    v = Judge(test="test_x[fda-tiny-s0-n0.05]")(SHARE_AT_LEAST_HALF, MODEL,
                                                  {"share": Share(90, 100)}, n=100)
    assert v.test == "test_x[fda-tiny-s0-n0.05]" and v.holds


def test_verdicts_at_two_scales_read_side_by_side_in_a_table_and_a_plot(tmp_path):
    from suite.judge.render import by_scale
    from suite.run.report import plot_by_scale

    rows = [verdict(seed=0, scale="tiny", estimate=0.7), verdict(seed=1, scale="tiny"),
            verdict(seed=0, scale="small", outcome="does not hold", estimate=0.1),
            verdict(claim="c.only_tiny", scale="tiny")]
    assert by_scale(rows[:2]) is None and plot_by_scale(rows[:2], tmp_path) == []
    header, table = by_scale(rows)
    assert header == ["claim", "task", "noise", "tiny", "small"]
    assert table[0][:3] == ["c.only_tiny", "thr", "0.05"] and table[0][4] == "-"
    assert table[1][3] == "s0: holds 0.700 [0.400, 0.600]; s1: holds 0.500 [0.400, 0.600]"
    assert table[1][4] == "s0: does not hold 0.100 [0.400, 0.600]"
    assert [p.name for p in plot_by_scale(rows, tmp_path)] == ["by_scale.png"]


def test_the_report_shows_the_run_the_claims_their_numbers_and_the_baseline_diff(tmp_path):
    from suite.run.report import write_summary

    rows = [verdict("c.x", sentence="the clean label stays decodable", source="Paper, Fig. 2",
                    details={"by_site": {"resid.0": 0.25}}, scale="tiny", arch="gpt2"),
            verdict("c.x", recipe="thr-tiny-llama", outcome="does not hold", scale="tiny",
                    arch="llama", sentence="the clean label stays decodable")]
    run = {"date": "2026-11-24T00:00:00+00:00", "git_commit": "abc123",
           "packages": {"torch": "2.13.0", "transformers": "5.23.0"}, "seeds": [0]}
    changes = [{"kind": "no longer holds", "claim": "c.x", "model": "thr-tiny-llama",
                "before": "holds 0.5", "after": "does not hold 0.5", "regression": True}]
    md, html = write_summary(tmp_path, rows, [], run=run, changes=changes)
    text = md.read_text()
    assert "| git_commit | abc123 |" in text and "| packages | torch 2.13.0, transformers 5.23.0 |" in text
    assert "| c.x | the clean label stays decodable | Paper, Fig. 2 | rule |" in text
    assert "| by_site={resid.0: 0.250} | holds |" in text
    assert "| c.x | thr-tiny-llama | no longer holds | holds 0.5 | does not hold 0.5 | regression |" in text
    assert "1 regression(s), 0 other change(s)" in text
    assert "| claim | task | noise | tiny gpt2 | tiny llama |" in text  # the per-family view
    page = html.read_text()
    assert '<tr class="regression">' in page and "the clean label stays decodable" in page


def test_a_run_is_re_decided_from_its_measurement_records_without_a_model(tmp_path):
    """Every kind of measurement, alone and as alternatives, survives the trip through
    results.jsonl + measurements.jsonl (a bounded item mean with its bounds, a claim with its
    gates, which its protocol hashes), and rescore gives the recorded verdicts back; a changed
    per-item value is reported as a change (exit 1)."""
    from suite.judge.claim import decide
    from suite.judge.stats import (Auc, Difference, Exact, ItemStatistic, Largest, Shifted,
                                   median_column_mean)
    from suite.run import results
    from suite.run.cli import main
    from suite.run.rescore import rescore

    rng = np.random.default_rng(0)
    many = claim("t.many", Rule("share", ">=", 0.5), Rule("mean", ">", 0.0), Rule("gap", ">", 0),
                 Rule("auc", ">=", 0.6), Rule("step", ">", 0), Rule("top", ">=", 0.2),
                 Rule("median", ">=", 0.1))
    measured = {"share": Share(70, 100), "mean": ItemMean(rng.normal(0.3, 1, 80)),
                "gap": Difference(rng.normal(1, 1, 50), rng.normal(0, 1, 60)),
                "auc": Auc(tuple(rng.normal(1, 1, 40)), tuple(rng.normal(0, 1, 40))),
                "step": Exact(300.0), "median": ItemStatistic(rng.random((30, 5)) < 0.4,
                                                               median_column_mean),
                "top": Largest((Shifted(Share(30, 100), 0.1), ItemMean(rng.random(50)),
                                ItemMean(rng.random(50), bounds=(0.0, 1.0))))}
    at_some = claim("t.some3", Rule("effect", ">=", 0.1), some="site", gates=("learned", "deep"))
    rows = [decide(many, MODEL, measured, n=100, figure_note="kept")[0],
            decide(at_some, MODEL, some={"a": {"effect": ItemMean(rng.random(60) * 0.1)},
                                         "b": {"effect": Share(40, 100)}}, n=100)[0],
            decide(claim("t.lambda", Rule("x", ">=", 0.5)), MODEL,
                   {"x": ItemStatistic(rng.random((20, 2)), lambda r: float(r.max()))}, n=20)[0]]
    assert rows[0].measured and rows[1].measured and not rows[2].measured
    results.write(tmp_path, rows, [], {}, {})
    assert "item_mean" not in (tmp_path / "results.jsonl").read_text()  # kept apart
    again = rescore(tmp_path)
    assert [r.same for r in again] == [True, True, True]
    assert again[0].now == rows[0] and again[1].now == rows[1]  # every field, details included
    assert again[2].now is None and "no measurement record" in again[2].line
    assert main(["rescore", str(tmp_path)]) == 0
    lines = (tmp_path / "measurements.jsonl").read_text().splitlines()
    record = json.loads(lines[0])
    record["measured"]["alternatives"]["share"] = {"share": [35, 100]}  # now below 0.5
    (tmp_path / "measurements.jsonl").write_text("\n".join([json.dumps(record), *lines[1:]]))
    changed = rescore(tmp_path)[0]
    assert not changed.same and changed.now.outcome == "does not hold"
    assert "CHANGED: recorded" in changed.line
    assert main(["rescore", str(tmp_path)]) == 1


def test_report_file_names_are_slugs():
    from suite.judge.render import slug

    assert slug("figure", "rr.x_y", "", "100 relabelled held-out items, late on fda-tiny-s0") == \
        "figure_rr.x_y_100-relabelled-held-out-items-late-on-fda-tiny-s0"
    assert slug("dynamics", "thr-tiny-s0-n0.05-ab12") == "dynamics_thr-tiny-s0-n0.05-ab12"


def test_known_answers_live_in_their_own_file_and_read_back_with_the_verdicts(tmp_path):
    from dataclasses import replace

    from suite.run import results

    model = verdict("c.x", seed=0)
    answer = replace(verdict("c.x", seed=0, outcome="does not hold"), recipe="late recall on M_pre",
                     details={"planted": "false"})
    results.write(tmp_path, [model, answer], [], {"command": "pytest"}, {})
    rows = [json.loads(line) for line in (tmp_path / "results.jsonl").read_text().splitlines()]
    assert [(r["claim"], r["recipe"]) for r in rows] == [("c.x", "thr-tiny")]
    known = [json.loads(line) for line in
             (tmp_path / "known_answers.jsonl").read_text().splitlines()]
    assert [(k["planted"], k["subject"], k["correct"]) for k in known] == [
        (False, "late recall on M_pre", True)]
    assert [v.recipe for v in results.read_verdicts(tmp_path)] == ["thr-tiny",
                                                                   "late recall on M_pre"]
    assert len(results.read_measured(tmp_path)) == 2


def test_the_current_version_of_a_claim_is_its_highest():
    from suite.judge.claim import superseded

    v2 = claim("c.x", Rule("x", ">", 0), version=2)
    v3 = v2.revised(3, rules=(Rule("x", ">", 0.1),))
    sweep = dataclasses.replace(v2, id="c.x.v2")  # a revision declared keeping version=2
    other = claim("c.y", Rule("y", ">", 0))
    assert superseded([v2, v3, other]) == {"c.x": "c.x.v3"}
    assert superseded([v2, sweep]) == {"c.x": "c.x.v2"}  # the suffixed id is the later one
    assert superseded([v3, sweep, v2]) == {"c.x": "c.x.v3", "c.x.v2": "c.x.v3"}
    with pytest.raises(ValueError, match="both version 3"):
        superseded([v3, dataclasses.replace(v3, statistic="another")])


def test_rescore_binds_a_verdict_to_the_run_s_own_known_answers(tmp_path):
    """A verdict the run left not judged (its instrument failed a known answer) is re-decided
    and bound again: still not judged, with the re-decided numbers; and when the known answer
    is re-decided right, the verdict is judged."""
    import dataclasses

    from suite.judge.claim import decide
    from suite.run import results
    from suite.run.rescore import rescore
    from suite.validate.known import bind, table_of

    effect = claim("t.effect", Rule("effect", ">", 0.1))
    marks = {"reference": "thr-tiny", "rule_check": False}
    true = decide(effect, MODEL, {"effect": Share(60, 100)}, n=100, planted="true", **marks)[0]
    false = decide(effect, MODEL, {"effect": Share(30, 100)}, n=100, planted="false", **marks)[0]
    model = decide(effect, MODEL, {"effect": Share(50, 100)}, n=100)[0]
    bound = bind(model, table_of([true, false]), lambda c, t: True)
    assert bound.outcome == "not judged"  # planted false holds 0.30: not validated
    results.write(tmp_path, [bound, true, false], [], {}, {})
    again = {r.recorded.recipe + str(r.recorded.details.get("planted")): r
             for r in rescore(tmp_path)}
    assert all(r.same for r in again.values())
    assert again["thr-tinyNone"].now.outcome == "not judged"
    cases = tmp_path / "known_answers.jsonl"
    lines = cases.read_text().splitlines()
    record = json.loads(lines[1])  # the planted-false case: now no effect
    record["measured"]["alternatives"]["effect"] = {"share": [0, 100]}
    cases.write_text("\n".join([lines[0], json.dumps(record)]))
    now = {r.recorded.recipe + str(r.recorded.details.get("planted")): r
           for r in rescore(tmp_path)}
    assert now["thr-tinyNone"].now.outcome == "holds"
    assert dataclasses.asdict(now["thr-tinyNone"].now)["details"]["validation"] == "validated"


def test_a_verdict_recorded_before_gates_entered_the_protocol_is_still_re_decided(tmp_path):
    """Records written before 0dc55c1 have no "gates" and name the protocol hashed without
    them; rescore accepts that hash for them (and only for them)."""
    from suite.judge.claim import decide
    from suite.run import results
    from suite.run.rescore import rescore

    old = claim("t.old", Rule("share", ">=", 0.5))
    v, _ = decide(old, MODEL, {"share": Share(70, 100)}, n=100)
    record = {k: x for k, x in v.measured.items() if k != "gates"}
    before = dataclasses.replace(v, protocol=old.protocol_before_gates, measured=record)
    assert old.protocol_before_gates != old.protocol
    results.write(tmp_path, [before], [], {}, {})
    assert [r.same for r in rescore(tmp_path)] == [True]
    with_gates = dataclasses.replace(v, protocol=old.protocol_before_gates)  # a new record
    results.write(tmp_path, [with_gates], [], {}, {})
    with pytest.raises(ValueError, match="gives protocol"):
        rescore(tmp_path)
