"""Reason to Rote (Du et al., EMNLP 2025, arXiv 2507.04782): claims about how models memorize.

"Models first generalize, then memorize": the training dynamics claims read the curve and the
checkpoints saved with each model (suite/store.py). Each test states the paper's sentence, the
operationalization and the decision rule fixed before it was first run.
"""

from __future__ import annotations

import pytest

from fixtures.plugin import require
from suite import dynamics
from suite.batching import encode, exact_match
from suite.claims import Claim, judge
from suite.stats import binomial_p, wilson

GENERALIZE_FIRST = Claim(
    id="rr.generalize_first",
    source="Du et al. 2025 (arXiv 2507.04782), training dynamics",
    sentence="Models first generalize, then memorize: when held-out accuracy is already high, "
             "noisy training items are still answered with their clean label.",
    statistic="at the first checkpoint with held-out accuracy >= 0.8: share of noisy items "
              "answered with the clean label, and share answered with the noisy label",
    threshold="clean share Wilson 95% lower bound >= 0.5 and noisy share upper bound <= 0.1",
    threshold_source="CLAIMS.md (>= 0.5 clean, <= 0.1 noisy); the interval bounds are a priori: "
                     "the claim holds only if it holds with 95% confidence",
)

MEMORIZE_LATER = Claim(
    id="rr.memorize_later",
    source="Du et al. 2025 (arXiv 2507.04782), training dynamics",
    sentence="Memorization of noisy labels comes after generalization.",
    statistic="first evaluated step with noisy recall >= 0.5 minus first evaluated step with "
              "held-out accuracy >= 0.5",
    threshold="difference > 0 (strictly later), in every seed",
    threshold_source="CLAIMS.md",
)


@pytest.mark.task("fda", "thr")
def test_generalize_first(trained):
    """At the first checkpoint where held-out accuracy reaches 0.8, noisy items still get their
    clean label (>= 0.5) and rarely their noisy label (<= 0.1).

    Operationalization: CLAIMS.md allows M_pre or the first checkpoint with held-out >= 0.8. M_pre
    is defined by noisy recall <= 0.1, so at M_pre the noisy half of the claim could not fail;
    we therefore use the first checkpoint with held-out >= 0.8, reload its weights and score
    every noisy training item against both labels (greedy exact match). Control: the noisy-label
    share is the model's own baseline for noise recall at that point.
    """
    require(GENERALIZE_FIRST, trained, "learned", "memorized", "curve")
    step = dynamics.first_step(trained.curve, "heldout_acc", 0.8)
    assert step is not None  # guaranteed by the "learned" gate (final held-out >= 0.9)
    model = trained.checkpoint(step)
    data = trained.data
    clean_hit = exact_match(model, encode(data.noisy, data.vocab, "clean"))
    noisy_hit = exact_match(model, encode(data.noisy, data.vocab, "label"))
    clean_hits, noisy_hits, n = int(clean_hit.sum()), int(noisy_hit.sum()), len(data.noisy)
    clean, noisy = wilson(clean_hits, n), wilson(noisy_hits, n)
    verdict = judge(
        GENERALIZE_FIRST, trained,
        passed=clean.low >= 0.5 and noisy.high <= 0.1,
        estimate=clean.estimate, ci=(clean.low, clean.high), n=n,
        p=binomial_p(clean_hits, n, 0.5, "greater"),
        step=step, noisy_label_share=noisy.estimate, noisy_label_ci_high=noisy.high,
        items=[{"prompt": " ".join(it.prompt), "clean_hit": bool(c), "noisy_hit": bool(h)}
               for it, c, h in zip(data.noisy, clean_hit.tolist(), noisy_hit.tolist())],
    )
    assert verdict.passed, verdict.message


@pytest.mark.task("fda", "thr")
def test_memorize_later(trained):
    """The step where noisy recall first reaches 0.5 comes after the step where held-out
    accuracy first reaches 0.5.

    Operationalization: both steps are read from the evaluations saved during training (every
    `eval_every` steps of the recipe), so a tie within one evaluation interval counts as not
    later. Across seeds the rule is n-of-n: every seed's test must pass.
    """
    require(MEMORIZE_LATER, trained, "learned", "memorized", "curve")
    generalized = dynamics.first_step(trained.curve, "heldout_acc", 0.5)
    memorized = dynamics.first_step(trained.curve, "noisy_recall", 0.5)
    assert generalized is not None and memorized is not None  # guaranteed by the gates
    gap = memorized - generalized
    verdict = judge(
        MEMORIZE_LATER, trained, passed=gap > 0, estimate=float(gap), n=1,
        generalized_step=generalized, memorized_step=memorized,
        eval_every=trained.curve[1]["step"] - trained.curve[0]["step"],
    )
    assert verdict.passed, verdict.message
