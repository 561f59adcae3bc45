"""Clean structure under heavy noise (Liu & Lu 2026, arXiv 2605.18022): even when half or more
of the training labels are wrong, the hidden states keep the clean structure of the task, so a
probe trained on clean items reads the correct answer of noisy items off a model that outputs
the noisy one.

Judged on the `coexist` regime: recipes coexist-<task>-<scale>, the ordinary recipe with noise
0.5. Items: the noisy training items the model recalls (memorized), so the model's own output is
the wrong label and any clean-label signal comes from the hidden states alone.

Rules are at version 2 (docs/CLAIMS.md, "Versions", says what changed from version 1).
"""

from __future__ import annotations

import pytest

from suite.measure import mechanism as measures
from suite.judge import Claim, known_pair, KnownCase, Rule
from suite.judge.stats import CHANGES, SHARES, ItemMean

TWICE = (-2.0, 1.0)  # the bounds of a share minus twice another

ALPHA = 0.05
HEAVY_NOISE_MIN = 0.5
N_PROBE_TRAIN = 2000  # clean items the probes are fitted on (as for rr.clean_label_decodable)

def _heavy_noise_items(judge, claim, trained):
    """The noise share, the final model and its memorized items; not judged below heavy noise."""
    data = trained.data
    share = len(data.noisy) / max(1, len(data.noisy) + len(data.clean))
    if share < HEAVY_NOISE_MIN:
        judge.not_judged(claim, trained,
                         f"noise share {share:.3f} < {HEAVY_NOISE_MIN}: not a heavy-noise model")
    model, items = judge.require_memorized(claim, trained)
    return share, model, items


def _probed(trained, model, items, which: str = "trained", differing_only: bool = False):
    """The probes of `model` on `items`, fitted once per stored model (v2, v3 and v4 share
    them), counted over every answer position or only where the labels differ."""
    hits = measures.probe_hits_of(f"{trained.key}:{which}", model,
                                  trained.data.clean[:N_PROBE_TRAIN], items, trained.data.vocab)
    return hits.counted(items, trained.data.vocab, differing_only)


CLEAN_STRUCTURE = Claim(
    tasks=("fda", "thr"),
    regime="coexist",
    # the third case is built to fail the comparison with a random model, not the headline
    known=known_pair("heavy_noise_late_recall", "heavy_noise_embed_recall", ("fda", "thr"))
    + (KnownCase("heavy_noise_on_random", False, ("fda", "thr"),
                 fails="clean_minus_random_model_share"),),
    id="coexist.clean_structure_survives_heavy_noise",
    source="Liu & Lu 2026 (arXiv 2605.18022), probing under heavy label noise",
    sentence="Even with heavy noise (>= 50 %), a probe trained on clean items recovers the clean "
             "label of noisy items from hidden states well above chance.",
    statistic="linear probes per early residual site and answer position, fitted on clean "
              "training items to predict the clean token, applied to memorized noisy items: "
              "answer positions where some early site decodes the clean token; control: the "
              "same probes fitted on shuffled labels (chance with the same capacity)",
    rules=(Rule("clean_minus_control_share", ">", 0),
           Rule("clean_minus_twice_control_share", ">=", 0)),
    unit="memorized item",
    threshold_source="recommended operationalization ('well above chance'); the paired comparison, alpha and the 2x "
                     "margin are a priori",
    version=2,
    family="coexist",
)


@pytest.mark.claim(CLEAN_STRUCTURE)
def test_clean_structure_survives_heavy_noise(trained, judge):
    """With >= 50 % noisy labels, probes fitted on clean items decode the clean answer of
    memorized noisy items from early hidden states, well above probes fitted on shuffled
    labels."""
    data = trained.data
    share, model, items = _heavy_noise_items(judge, CLEAN_STRUCTURE, trained)
    d = _probed(trained, model, items)
    clean, control = d.shares()
    judge(
        CLEAN_STRUCTURE, trained,
        {"clean_minus_control_share": ItemMean((clean - control).numpy(), bounds=CHANGES),
         "clean_minus_twice_control_share": ItemMean((clean - 2 * control).numpy(),
                                                     bounds=TWICE),
         "clean_share": ItemMean(clean.numpy(), bounds=SHARES),
         "control_share": ItemMean(control.numpy(), bounds=SHARES)},
        n=len(items), noise_share=share, memorized=len(items), noisy=len(data.noisy),
        heldout_acc=trained.metrics.get("heldout_acc"),
        by_site_clean=d.by_site_clean.mean(1).tolist(),
        by_site_control=d.by_site_control.mean(1).tolist(),
        items=[{"prompt": " ".join(it.prompt), "clean_positions": int(c),
                "control_positions": int(k)}
               for it, c, k in zip(items, d.clean.tolist(), d.control.tolist())],
    )


CLEAN_STRUCTURE_V3 = CLEAN_STRUCTURE.revised(
    3,
    statistic="as v2, and a capacity control: the same probes fitted and applied on a randomly "
              "initialised model of the same architecture (what linear probes read off the "
              "input alone); the clean share must exceed the random model's",
    rules=(Rule("clean_minus_control_share", ">", 0),
           Rule("clean_minus_twice_control_share", ">=", 0),
           Rule("clean_minus_random_model_share", ">", 0)),
    threshold_source="recommended operationalization ('well above chance'); the paired "
                     "comparisons, alpha and the 2x margin are a priori. v3 (declared before any "
                     "v3 run): v2's shuffled-label control measures chance, not what probes "
                     "decode from the prompt tokens without any learned computation (v2 held on "
                     "a model with 0.5 % held-out accuracy); the random-model control does",
)

@pytest.mark.claim(CLEAN_STRUCTURE_V3)
def test_clean_structure_survives_heavy_noise_v3(trained, judge):
    """As v2, and the probes decode the clean answer better from the trained model than from a
    randomly initialised one (so they read learned computation, not the prompt)."""
    _judge_with_capacity_control(judge, CLEAN_STRUCTURE_V3, trained, differing_only=False)


def _judge_with_capacity_control(judge, claim, trained, differing_only: bool) -> None:
    """v3 and v4: v2's comparison plus the random-model capacity control."""
    data = trained.data
    share, model, items = _heavy_noise_items(judge, claim, trained)
    d = _probed(trained, model, items, differing_only=differing_only)
    r = _probed(trained, measures.random_model_like(model), items, "random model",
                differing_only=differing_only)
    clean, control = d.shares()
    random_clean, _ = r.shares()
    judge(
        claim, trained,
        {"clean_minus_control_share": ItemMean((clean - control).numpy(), bounds=CHANGES),
         "clean_minus_twice_control_share": ItemMean((clean - 2 * control).numpy(),
                                                     bounds=TWICE),
         "clean_minus_random_model_share": ItemMean((clean - random_clean).numpy(), bounds=CHANGES),
         "clean_share": ItemMean(clean.numpy(), bounds=SHARES),
         "control_share": ItemMean(control.numpy(), bounds=SHARES),
         "random_model_share": ItemMean(random_clean.numpy(), bounds=SHARES)},
        n=len(items), noise_share=share, memorized=len(items), noisy=len(data.noisy),
        heldout_acc=trained.metrics.get("heldout_acc"),
        counted_positions=float(d.positions.float().mean()),
        by_site_clean=d.by_site_clean.mean(1).tolist(),
        by_site_random_model=r.by_site_clean.mean(1).tolist(),
    )


CLEAN_STRUCTURE_V4 = CLEAN_STRUCTURE_V3.revised(
    4,
    statistic="as v3, over the answer positions where a memorized item's noisy label differs "
              "from its clean label (a control hit counts only where the control token differs "
              "from the noisy one too)",
    threshold_source="recommended operationalization ('well above chance'); the paired "
                     "comparisons, alpha and the 2x margin are a priori. v4 (declared before any "
                     "v4 run): v2/v3 counted answer positions where the noisy label equals the "
                     "clean one, where decoding the clean token is decoding the recalled label "
                     "(the defect rr.clean_label_decodable.v3 fixed); v4 counts where they differ",
)


@pytest.mark.claim(CLEAN_STRUCTURE_V4)
def test_clean_structure_survives_heavy_noise_v4(trained, judge):
    """As v3, over the answer positions where the recalled label differs from the clean one."""
    _judge_with_capacity_control(judge, CLEAN_STRUCTURE_V4, trained, differing_only=True)
