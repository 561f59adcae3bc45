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
