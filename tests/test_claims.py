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


def test_report_plots_are_written_from_verdicts_and_curves(tmp_path):
    from suite.report import write_plots

    model_dir = tmp_path / "thr-tiny-s0"
    model_dir.mkdir()
    curve = [{"step": s, "heldout_acc": min(1, s / 100), "noisy_recall": max(0, (s - 100) / 100),
              "noisy_clean_share": 0.5} for s in range(0, 201, 20)]
    (model_dir / "curve.json").write_text(json.dumps(curve))
    rows = [
        Verdict("rr.clean_label_decodable", "thr", "thr-tiny", 0, 0.05, 10, 0.3, 0.2, 0.4, 0.01,
                "r", "pass", {"by_site_clean": [0.1, 0.3], "by_site_control": [0.1, 0.1]},
                variant="lens"),
        Verdict("rr.noisy_overrides_late", "thr", "thr-tiny", 0, 0.05, 10, 0.1, 0.0, 0.2, 1.0,
                "r", "fail", {"by_site_clean": [0.0, 0.2, 0.0], "by_site_noisy": [0.0, 0.1, 1.0]}),
        Verdict("rr.bridge_decodable", "thr", "thr-tiny", 0, 0.05, 10, 1.0, 0.9, 1.0, 0.0, "r",
                "pass", {"by_site": {"embed@1": 0.1, "resid.0@1": 1.0}}),
        Verdict("rr.bridge_removal_hurts_memorization", "thr", "thr-tiny", 0, 0.05, 10, 0.7, None,
                None, 0.0, "r", "pass", {"recall_after": 0.3, "recall_after_random": 0.98}),
    ]
    written = write_plots(tmp_path / "report", rows, [model_dir])
    names = sorted(p.name for p in written)
    assert names == ["bridge_thr-tiny.png", "decoding_thr-tiny.png", "dynamics_thr-tiny-s0.png",
                     "interventions_thr-tiny.png"]
    assert all(p.stat().st_size > 1000 and p.read_bytes()[:4] == b"\x89PNG" for p in written)
