"""Intervals keep their promise (issue 40): at the threshold, false "holds" and false "does not
hold" stay within the nominal 2.5 % plus three simulation errors, per measurement type, on the
n = 100 cells of suite.judge.calibration's grid (400 draws each at the threshold here; power is
not drawn; benchmarks/calibration.py draws more, power and the whole grid; docs/CALIBRATION.md
has its table).

Cells where a measurement the current claims still use misses the level are strict expected
failures naming the defect: fixing the measurement turns them green and must remove the mark.
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
    "item mean (bootstrap) / n=100, skewed / t=0": _defect(
        "the percentile bootstrap of a skewed item mean at n = 100: false does-not-hold 0.063 "
        "(0.0715 at 20,000 draws); neither BCa nor the studentized bootstrap passes either "
        "(benchmarks/item_mean_choice.py, docs/CALIBRATION.md)"),
    "independent groups (bootstrap) / n=100 + 100 / t=0": _defect(
        "the percentile bootstrap of a difference of two groups at n = 100 + 100: false "
        "does-not-hold 0.0525 with this test's draws and 0.0325 at 2000 draws, above the "
        "nominal 0.025 there too (by 2.1 simulation errors)"),
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
