"""Intervals keep their promise (issue 40): at the threshold, false "holds" and false "does not
hold" stay within the nominal 2.5 % plus three simulation errors, per measurement type, on the
n = 100 cells of suite.judge.calibration's grid (400 draws each at the threshold here; power is
not drawn; benchmarks/calibration.py draws more, power and the whole grid; docs/CALIBRATION.md
has its table).

Cells where a measurement misses the level are strict expected failures naming the defect:
fixing the measurement turns them green and must remove the mark.
"""

from __future__ import annotations

import numpy as np
import pytest

from suite.judge import calibration

DRAWS = 400

CELLS = {f"{cell.measurement} / {cell.shape} / t={cell.threshold:g}": (cell, effect)
         for cell, effect in calibration.grid(quick=True)}


def _defect(reason: str):
    return pytest.mark.xfail(strict=True, reason=f"issue 40: {reason}")


DEFECTS = {  # the rates at 2000 draws are docs/CALIBRATION.md's
    "unbounded item mean (bootstrap) / n=100, skewed / t=0": _defect(
        "the percentile bootstrap of a skewed item mean at n = 100: false does-not-hold 0.063 "
        "(0.0715 at 20,000 draws); neither BCa nor the studentized bootstrap passes either "
        "(benchmarks/item_mean_choice.py). No interval keeps the level for every distribution "
        "of unbounded items (Bahadur and Savage 1956), so no claim's item mean is unbounded: "
        "since statistics version 7 each declares its bounds and takes the betting interval"),
}


@pytest.mark.parametrize("name", [pytest.param(n, marks=DEFECTS[n]) if n in DEFECTS else n
                                  for n in CELLS])
def test_false_verdicts_at_the_threshold_stay_within_the_nominal_level(name):
    cell, _ = CELLS[name]
    rates = calibration.simulate(cell, DRAWS, effect=None)
    assert rates.within_nominal, (
        f"{name}: false holds {rates.false_holds:.3f}, false does not hold "
        f"{rates.false_fails:.3f} (nominal {calibration.NOMINAL} + 3 x {rates.error:.4f})")


def test_an_impossible_paired_cell_is_refused():
    with pytest.raises(ValueError, match="discordant"):
        calibration.paired_outcomes(np.random.default_rng(0), 10, 0.05, 0.1)


def _paired_record(up: int, down: int, n: int) -> dict:
    return {"paired_hits": [up, down, n]}


def test_a_whole_rule_of_two_paired_rules_keeps_the_nominal_level():
    """Two rules at their thresholds at once: one confident failure among two decides, and the
    Bonferroni reading of 'does not hold' over the rules keeps the whole rule's false rate
    within the nominal level (suite.judge.whole_rule; benchmarks/whole_rule.py draws the
    recorded claims)."""
    from suite.judge import whole_rule

    record = {"rules": [["a", ">", 0.1], ["b", ">", 0.1]], "some": "", "confidence": 0.95,
              "alternatives": {"a": _paired_record(40, 10, 200), "b": _paired_record(60, 20, 200)}}
    w = whole_rule.simulate(record, DRAWS)
    assert w.rules == 2 and w.alternatives == 1
    assert w.within_nominal, (w.false_holds, w.false_fails)


def test_a_whole_rule_names_what_it_cannot_simulate():
    from suite.judge import whole_rule

    record = {"rules": [["a", ">", 0.5]], "some": "", "confidence": 0.95,
              "alternatives": {"a": {"matched_units": [[[1]], [[1]]], "minimum": 0.6,
                                     "seed": 0, "control": None}}}
    with pytest.raises(whole_rule.NotSimulated, match="matched_units"):
        whole_rule.simulate(record, 10)
    # beside a rule it can draw, such a rule is set passing and named
    record["rules"].append(["b", ">", 0.1])
    record["alternatives"]["b"] = _paired_record(40, 10, 200)
    w = whole_rule.simulate(record, 20)
    assert w.unsimulated == ("a > 0.5",) and w.false_holds_rule == "b > 0.1"


def test_a_top_overlap_is_drawn_around_population_tops_that_overlap_by_the_truth():
    """The drawn groups' population tops share round(truth x k) units: with items that do not
    vary, the sample tops are the population tops, so the overlap is the truth itself."""
    from suite.judge import whole_rule

    rng = np.random.default_rng(0)
    means = rng.permutation(np.arange(40.0))
    a, b = np.tile(means, (6, 1)), np.tile(rng.permutation(means), (5, 1))
    draw = whole_rule.drawer({"top_overlap": [a.tolist(), b.tolist()], "k": 10, "seed": 0})
    for truth in (0.0, 0.3, 1.0):
        m = draw(rng, truth)
        assert m.interval(0.95).value == pytest.approx(truth)
        assert m.a.shape == a.shape and m.b.shape == b.shape


def test_a_median_of_column_rates_is_drawn_with_its_median_at_the_truth():
    """rr.heuristic_neurons_reused's median item share: 0/1 rows whose column rates all move by
    one shift, so the median rate is the truth (here with many rows, the estimate is near it)."""
    from suite.judge import whole_rule

    rng = np.random.default_rng(1)
    rows = (rng.random((4000, 31)) < np.linspace(0.05, 0.6, 31)).astype(float)
    draw = whole_rule.drawer({"item_statistic": rows.tolist(), "statistic": "median_column_mean",
                              "seed": 0})
    for truth in (0.1, 0.25, 0.5):
        m = draw(rng, truth)
        assert m.rows.shape == rows.shape and set(np.unique(m.rows)) <= {0.0, 1.0}
        assert m.interval(0.95).value == pytest.approx(truth, abs=0.02)
