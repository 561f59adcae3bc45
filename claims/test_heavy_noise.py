"""Clean structure under heavy noise (Liu & Lu 2026, arXiv 2605.18022): even when half or more
of the training labels are wrong, the hidden states keep the clean structure of the task, so a
probe trained on clean items reads the correct answer of noisy items off a model that outputs
the noisy one.

Judged on the `coexist` regime: recipes coexist-<task>-<scale>, the ordinary recipe with noise
0.5. Items: the noisy training items the model recalls (memorized), so the model's own output is
the wrong label and any clean-label signal comes from the hidden states alone.
"""

from __future__ import annotations

import pytest

from fixtures.plugin import not_judged, require_memorized
from suite import measures
from suite.claims import Claim, judge

ALPHA = 0.05
HEAVY_NOISE_MIN = 0.5
N_PROBE_TRAIN = 2000  # clean items the probes are fitted on (as for rr.clean_label_decodable)

CLEAN_STRUCTURE = Claim(
    id="coexist.clean_structure_survives_heavy_noise",
    source="Liu & Lu 2026 (arXiv 2605.18022), probing under heavy label noise",
    sentence="Even with heavy noise (>= 50 %), a probe trained on clean items recovers the clean "
             "label of noisy items from hidden states well above chance.",
    statistic="linear probes per early residual site and answer position, fitted on clean "
              "training items to predict the clean token, applied to memorized noisy items: "
              "answer positions where some early site decodes the clean token; control: the "
              "same probes fitted on shuffled labels (chance with the same capacity)",
    threshold=f"one-sided exact sign test over items (probe vs control) p < {ALPHA}, and the "
              "decoded share at least twice the control share",
    threshold_source="CLAIMS.md ('well above chance'); the paired test, alpha and the 2x "
                     "margin are a priori",
    family="coexist",
)


@pytest.mark.task("fda", "thr", regime="coexist")
def test_clean_structure_survives_heavy_noise(trained):
    """With >= 50 % noisy labels, probes fitted on clean items decode the clean answer of
    memorized noisy items from early hidden states, well above probes fitted on shuffled
    labels."""
    data = trained.data
    share = len(data.noisy) / max(1, len(data.noisy) + len(data.clean))
    if share < HEAVY_NOISE_MIN:
        reason = f"noise share {share:.3f} < {HEAVY_NOISE_MIN}: not a heavy-noise model"
        not_judged(CLEAN_STRUCTURE, trained, reason)
    model, items = require_memorized(CLEAN_STRUCTURE, trained)
    d = measures.probe_decodability(model, data.clean[:N_PROBE_TRAIN], items, data.vocab)
    clean, control, test = d.against_control()
    verdict = judge(
        CLEAN_STRUCTURE, trained, passed=test.p < ALPHA and clean.estimate >= 2 * control,
        estimate=clean.estimate, ci=(clean.low, clean.high), p=test.p, n=len(items),
        control_rate=control, noise_share=share, memorized=len(items), noisy=len(data.noisy),
        heldout_acc=trained.metrics.get("heldout_acc"),
        items_more=test.positive, items_fewer=test.negative,
        by_site_clean=d.by_site_clean.mean(1).tolist(),
        by_site_control=d.by_site_control.mean(1).tolist(),
        items=[{"prompt": " ".join(it.prompt), "clean_positions": int(c),
                "control_positions": int(k)}
               for it, c, k in zip(items, d.clean.tolist(), d.control.tolist())],
    )
    assert verdict.passed, verdict.message
