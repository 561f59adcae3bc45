"""Each statistic against hand-computed or reference values, plus Hypothesis properties."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from suite import stats

counts = st.integers(1, 400).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n)))


def test_wilson_and_clopper_pearson_reference_values():
    w = stats.wilson(0, 10)
    assert w.low == 0.0 and w.high == pytest.approx(0.2775, abs=1e-4)
    w = stats.wilson(81, 263)  # Newcombe (1998), example
    assert (w.low, w.high) == (pytest.approx(0.2553, abs=1e-4), pytest.approx(0.3662, abs=1e-4))
    cp = stats.clopper_pearson(0, 10)
    assert cp.high == pytest.approx(1 - 0.025 ** (1 / 10), abs=1e-9)
    assert stats.binomial_p(9, 10, 0.5) == pytest.approx(11 / 1024)


@given(counts)
def test_interval_properties(kn):
    k, n = kn
    for p in (stats.wilson(k, n), stats.clopper_pearson(k, n)):
        assert 0.0 <= p.low <= p.estimate <= p.high <= 1.0
    assert 0.0 <= stats.binomial_p(k, n, 0.3) <= 1.0
    if k < n:
        assert stats.wilson(k + 1, n).low >= stats.wilson(k, n).low
        assert stats.binomial_p(k + 1, n, 0.3) <= stats.binomial_p(k, n, 0.3)


def test_mcnemar_exact():
    before = [True] * 12 + [False] * 8
    after = [False] * 10 + [True] * 2 + [True] * 2 + [False] * 6
    r = stats.mcnemar(before, after)
    assert (r.lost, r.gained, r.n) == (10, 2, 20)
    # one-sided exact: P(X >= 10 | X ~ Bin(12, 0.5)) = (66 + 12 + 1) / 4096
    assert r.p == pytest.approx(79 / 4096)
    assert r.effect == pytest.approx(8 / 20)
    assert stats.mcnemar([True, False], [True, False]).p == 1.0
    with pytest.raises(ValueError, match="equal shapes"):
        stats.mcnemar([True], [True, False])


def test_sign_test():
    r = stats.sign_test([1, 2, 3, 0, -1, 5, 4, 2, 1, 3])
    assert (r.positive, r.negative, r.ties) == (8, 1, 1)
    assert r.p == pytest.approx((9 + 1) / 512)  # P(X >= 8), X ~ Bin(9, 0.5)
    assert stats.sign_test([0, 0]).p == 1.0


def test_bootstrap_bca_percentile_and_degenerate():
    rng = np.random.default_rng(0)
    x = rng.normal(1.0, 1.0, 200)
    iv = stats.bootstrap(np.mean, x)
    assert iv.method == "BCa" and iv.low < iv.estimate < iv.high and iv.low < 1.0 < iv.high
    const = stats.bootstrap(np.mean, np.ones(50))
    assert (const.low, const.high, const.method) == (1.0, 1.0, "point (no variation)")
    before, after = rng.random(100) < 0.9, rng.random(100) < 0.5
    paired = stats.bootstrap(lambda a, b: a.mean() - b.mean(), before, after)
    assert paired.low <= paired.estimate <= paired.high
    assert stats.bootstrap(np.mean, x, seed=3) == stats.bootstrap(np.mean, x, seed=3)


def test_permutation_test():
    a, b = np.arange(10, 20), np.arange(0, 10)
    assert stats.permutation_p(a, b) < 0.001
    assert stats.permutation_p(b, a) > 0.99


def test_hypergeometric_overlap_by_enumeration():
    # population 10, |a| = |b| = 3, overlap 2: P(X >= 2) = (C(3,2)C(7,1) + C(3,3)) / C(10,3)
    r = stats.hypergeometric_overlap({0, 1, 2}, {1, 2, 5}, 10)
    assert r.overlap == 2 and r.expected == pytest.approx(0.9)
    assert r.p == pytest.approx((3 * 7 + 1) / 120)


def test_auroc_reference_values():
    assert stats.auroc([3, 4, 5], [0, 1, 2]).estimate == 1.0
    r = stats.auroc([0.1, 0.4, 0.35, 0.8], [0.2, 0.3, 0.5, 0.05])
    # pairs won: 0.1>0.05; 0.4>0.2,0.3,0.05; 0.35>0.2,0.3,0.05; 0.8>all -> 11 of 16
    assert r.estimate == pytest.approx(11 / 16)
    assert r.low <= r.estimate <= r.high
    rng = np.random.default_rng(1)
    null = stats.auroc(rng.normal(size=300), rng.normal(size=300))
    assert null.low < 0.5 < null.high and null.p > 0.05


def test_holm_and_benjamini_hochberg_reference_values():
    p = [0.01, 0.04, 0.03, 0.005]
    assert stats.holm(p) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert stats.benjamini_hochberg(p) == pytest.approx([0.02, 0.04, 0.04, 0.02])


@given(st.lists(st.floats(0, 1), min_size=1, max_size=20))
def test_adjusted_p_values_are_valid_and_not_smaller(p):
    for adjusted in (stats.holm(p), stats.benjamini_hochberg(p)):
        assert all(0 <= a <= 1 for a in adjusted)
        assert all(a >= q - 1e-12 for a, q in zip(adjusted, p))


def test_k_of_n_rule_and_its_false_positive_rate():
    r = stats.k_of_n([True, False, True])
    assert r.holds and r.k == 2
    assert r.false_positive_rate == pytest.approx(3 * 0.05**2 * 0.95 + 0.05**3)
    assert not stats.k_of_n([True, False, False]).holds
    assert stats.k_of_n([True] * 3, k=3).false_positive_rate == pytest.approx(0.05**3)


def test_tost_equivalence():
    rng = np.random.default_rng(0)
    small = rng.normal(0.0, 0.05, 200)
    assert stats.tost(small, margin=0.05).equivalent
    large = rng.normal(0.2, 0.05, 200)
    assert not stats.tost(large, margin=0.05).equivalent
    assert stats.tost([0.0, 0.0, 0.0], margin=0.1).p == 0.0
    assert 0 <= stats.tost(rng.normal(0, 1, 30), 0.1).p <= 1
    assert math.isfinite(stats.tost(small, 0.05).estimate)
