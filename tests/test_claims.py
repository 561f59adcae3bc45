"""Verdict records and the k-of-n replication across seeds."""

from __future__ import annotations

import json

import pytest

from suite.claims import Claim, Verdict, replicate


def verdict(claim="c.x", seed=0, outcome="pass", replicate_rule="majority", variant=""):
    return Verdict(claim=claim, task="thr", recipe="thr-tiny", seed=seed, noise=0.05, n=10,
                   estimate=0.5, ci_low=0.4, ci_high=0.6, p=0.01, threshold="rule",
                   verdict=outcome, variant=variant, replicate=replicate_rule)


def test_majority_rule_and_its_false_positive_rate():
    r, = replicate([verdict(seed=0), verdict(seed=1, outcome="fail"), verdict(seed=2)])
    assert (r.passed, r.k, r.holds, r.seeds) == (2, 2, True, [0, 1, 2])
    assert r.false_positive_rate == pytest.approx(3 * 0.05**2 * 0.95 + 0.05**3)
    assert "REPLICATES: 2 of 3 seeds pass" in r.message


def test_every_seed_rule_and_preconditions_are_not_counted():
    rows = [verdict(seed=s, replicate_rule="all") for s in range(3)]
    rows[2] = verdict(seed=2, outcome="precondition", replicate_rule="all")
    r, = replicate(rows)
    assert (r.passed, r.k, r.holds, r.preconditions_unmet) == (2, 2, True, 1)
    rows[1] = verdict(seed=1, outcome="fail", replicate_rule="all")
    assert not replicate(rows)[0].holds


def test_groups_by_claim_and_variant_and_skips_single_seeds():
    rows = [verdict(variant="lens", seed=s) for s in range(2)] + \
           [verdict(variant="probe", seed=s, outcome="fail") for s in range(2)] + [verdict("c.y")]
    out = {r.variant: r for r in replicate(rows)}
    assert set(out) == {"lens", "probe"} and out["lens"].holds and not out["probe"].holds
    assert json.loads(out["lens"].to_json())["claim"] == "c.x"


def test_claim_rejects_an_unknown_replication_rule():
    with pytest.raises(ValueError, match="replicate must be"):
        Claim("c.z", "s", "s", "s", "t", "a priori", replicate="most")


def test_report_plots_are_written_from_verdicts_and_curves(tmp_path, sample_report):
    from suite.claims import read_verdicts
    from suite.report import write_plots

    written = write_plots(tmp_path / "report", read_verdicts(sample_report / "results.jsonl"),
                          json.loads((sample_report / "curves.json").read_text()))
    names = sorted(p.name for p in written)
    assert names == ["bridge_thr-tiny.png", "curvature_edit_suppresses_memorization_thr-tiny.png",
                     "decoding_thr-tiny.png", "dynamics_thr-tiny-s0.png",
                     "interventions_thr-tiny.png"]
    assert all(p.stat().st_size > 1000 and p.read_bytes()[:4] == b"\x89PNG" for p in written)


def test_report_rerenders_from_results_alone(sample_report):
    """`memsuite report DIR` needs only results.jsonl (and curves.json for the dynamics)."""
    from suite.report import rerender

    md, html = rerender(sample_report)
    text = md.read_text()
    assert "| rr.clean_label_decodable [lens] | thr | thr-tiny | 0 | 0.05 | 0.300 | [0.200, 0.400] " \
           "| 0.01 | pass |" in text
    assert "## Family-wise correction (Holm, alpha 0.05)" in text
    assert "![dynamics_thr-tiny-s0](dynamics_thr-tiny-s0.png)" in text
    page = html.read_text()
    assert page.count("data:image/png;base64,") == 5 and "<table" in page
    assert "src='dynamics" not in page  # self-contained: no file references


def test_a_corrupt_results_file_names_the_line(tmp_path, sample_report):
    from suite.claims import read_verdicts

    first = (sample_report / "results.jsonl").read_text().splitlines()[0]
    (tmp_path / "results.jsonl").write_text(first + "\n{\"claim\": 1}\n")
    with pytest.raises(ValueError, match=r"results.jsonl:2: not a verdict record"):
        read_verdicts(tmp_path / "results.jsonl")


def test_family_correction_is_holm_over_a_family_on_one_model():
    from suite.claims import family_correct

    rows = [Verdict("a.one", "thr", "m", 0, 0.05, 10, 0.5, None, None, 0.02, "r", "pass",
                    family="a", model_key="k"),
            Verdict("a.two", "thr", "m", 0, 0.05, 10, 0.5, None, None, 0.03, "r", "pass",
                    family="a", model_key="k"),
            Verdict("a.one", "thr", "m", 1, 0.05, 10, 0.5, None, None, 0.02, "r", "pass",
                    family="a", model_key="other"),
            Verdict("b.one", "thr", "m", 0, 0.05, 10, 0.5, None, None, None, "r", "pass",
                    family="b", model_key="k")]
    out = {(f.claim, f.model_key): f for f in family_correct(rows)}
    assert set(out) == {("a.one", "k"), ("a.two", "k"), ("a.one", "other")}
    assert out[("a.one", "k")].p_holm == pytest.approx(0.04)  # 2 x 0.02
    assert out[("a.two", "k")].p_holm == pytest.approx(0.04)  # max(0.04, 1 x 0.03)
    assert out[("a.one", "other")].p_holm == pytest.approx(0.02) and out[("a.one", "other")].family_size == 1
    assert all(f.holds_corrected for f in out.values())


def _v(claim="c.x", verdict="pass", estimate=0.5, recipe="thr-tiny", seed=0, ci=(0.4, 0.6)):
    return Verdict(claim, "thr", recipe, seed, 0.05, 10, estimate, ci[0], ci[1], None, "r", verdict)


def test_baseline_comparison_finds_each_kind_of_regression():
    from suite.baseline import compare

    base = [_v("c.holds"), _v("c.moves"), _v("c.judged"), _v("c.fixed", "fail"), _v("c.same"),
            _v("c.gone")]
    now = [_v("c.holds", "fail", 0.45), _v("c.moves", estimate=0.7), _v("c.judged", "precondition"),
           _v("c.fixed"), _v("c.same", estimate=0.55), _v("c.new")]
    kinds = {c.claim: c.kind for c in compare(now, base)}
    assert kinds == {"c.holds": "no longer holds", "c.moves": "effect moved",
                     "c.judged": "no longer judged", "c.fixed": "now holds",
                     "c.new": "not in baseline", "c.gone": "not in this run"}
    regressions = [c for c in compare(now, base) if c.regression]
    assert [c.line for c in regressions][0] == \
        "- c.holds on thr-tiny seed 0 noise 0.05: no longer holds: pass 0.500 [0.400, 0.600] " \
        "-> fail 0.450 [0.400, 0.600]"


def test_a_new_model_is_compared_with_the_baselines_one_model_per_task():
    from suite.baseline import compare

    base = [_v("c.x", recipe="thr-tiny")]
    assert [c.kind for c in compare([_v("c.x", "fail", recipe="my-checkpoint")], base)] == \
        ["no longer holds"]
    two_seeds = base + [_v("c.x", recipe="thr-tiny", seed=1)]
    assert [c.kind for c in compare([_v("c.x", "fail", recipe="my-checkpoint")], two_seeds)] == \
        ["not in baseline", "not in this run", "not in this run"]


def test_findings_are_drafted_for_unrecorded_failures_only():
    import tomllib

    from suite.findings import draft

    rows = [Verdict("c.x", "thr", "thr-tiny", s, 0.05, 10, 0.25, 0.1, 0.4, 0.5, "rule r", "fail",
                    {"site": "resid.1"}, test=f"test_x[thr-tiny-s{s}-n0.05]") for s in range(3)]
    rows.append(Verdict("c.y", "thr", "thr-tiny", 0, 0.05, 10, 0.9, None, None, None, "r", "pass",
                        test="test_y[thr-tiny-s0-n0.05]"))
    text = draft(rows, [("test_x", "thr-tiny-s1-n0.05")])
    entries = tomllib.loads(text)["finding"]
    assert [(e["test"], e["id"]) for e in entries] == [("test_x", "thr-tiny-s0-n0.05"),
                                                       ("test_x", "thr-tiny-s2-n0.05")]
    assert entries[0]["reason"] == ("measured 0.250 [0.100, 0.400], p=0.5, n=10; site=resid.1; "
                                    "rule: rule r")
