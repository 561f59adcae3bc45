"""Random labels (Zhang et al. 2016, arXiv 1611.03530): "deep neural networks easily fit random
labels". The classic result the Reason to Rote papers lean on: a network that generalizes on
real labels has the capacity to memorize a training set whose labels carry no structure at all.

Judged on the `zhang` regime: recipe zhang-fda-<scale>, the fda recipe with every training
answer replaced by a random wrong number (noise = 1.0), so nothing but memorization can fit it.

Rules are at version 2 (docs/CLAIMS.md, "Versions", says what changed from version 1).
"""

from __future__ import annotations

import dataclasses

import pytest

from suite.train.batching import encode, exact_match
from suite.judge import Claim, KnownCase, Rule
from suite.measure.itemsets import control_labels
from suite.judge.stats import Share

FIT_MIN = 0.95
HELDOUT_MAX = 0.05

RANDOM_LABELS_FIT = Claim(
    tasks=("fda",),
    regime="zhang",
    known=(KnownCase("random_init_recall", True, ("fda",)),
           # fits, and generalizes (its docstring): the held-out rule fails
           KnownCase("pre_recall", False, ("fda",), fails="heldout_accuracy")),
    id="zhang.random_labels_fit",
    source="Zhang et al. 2016 (arXiv 1611.03530), Sec. 2 (fitting random labels)",
    sentence="With 100 % random labels the model still fits the training set while held-out "
             "accuracy stays near chance.",
    statistic="training fit: exact-match recall of the random training labels over every "
              "training item; generalization: held-out exact match with the true sums, beside a "
              "chance control (held-out answers matched against other items' true sums)",
    rules=(Rule("training_fit", ">=", FIT_MIN), Rule("heldout_accuracy", "<=", HELDOUT_MAX)),
    unit="training item (held-out item for the held-out accuracy)",
    version=2,
    threshold_source=f"recommended operationalization (fit >= {FIT_MIN}, read as a lower bound like every gate here); "
                     f"'near chance' as <= {HELDOUT_MAX} a priori: chance for a five-digit exact "
                     "match is about 1e-4",
)


@pytest.mark.claim(RANDOM_LABELS_FIT)
def test_random_labels_fit(trained, judge):
    """A model trained on labels that are all random fits them (recall of the training labels
    >= 0.95) while its held-out accuracy on true sums stays near chance (<= 0.05)."""
    data = trained.data
    if data.clean or not data.noisy:
        reason = (f"the model was not trained on 100 % random labels: {len(data.clean)} clean "
                  f"and {len(data.noisy)} noisy training queries")
        judge.not_judged(RANDOM_LABELS_FIT, trained, reason)
    model = trained.model()
    fit_hits = exact_match(model, encode(data.noisy, data.vocab, "label"))
    held_hits = exact_match(model, encode(data.heldout, data.vocab, "clean"))
    controls = [dataclasses.replace(it, label=lab)
                for it, lab in zip(data.heldout, control_labels(data.heldout, seed=0))]
    control_hits = exact_match(model, encode(controls, data.vocab, "label"))
    judge(
        RANDOM_LABELS_FIT, trained,
        {"training_fit": Share(int(fit_hits.sum()), len(data.noisy)),
         "heldout_accuracy": Share(int(held_hits.sum()), len(data.heldout)),
         "chance_control": Share(int(control_hits.sum()), len(data.heldout))},
        n=len(data.noisy), n_heldout=len(data.heldout),
    )
