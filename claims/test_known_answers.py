"""Known answers: every claim's own test, run on a subject where the claim is true by
construction and on one where it is false, must tell them apart.

A verdict of "does not hold" on a trained model is a finding only if the claim's code could have
seen the effect; a verdict of "holds" only if the code could have failed. Each case below builds
a planted subject (suite.validate.plants) from the tiny reference model of its task (seed 0)
and runs the claim's test function itself on it (suite.validate.known.verdict_of), with the
model gates waived. Planted true must hold; planted false must not hold, its headline rule
failing (inconclusive is a miss).

Nothing here is marked expected to fail: the outcomes are the validation. A claim (and variant)
is validated on a task when its cases there are right in this run; where not, its verdicts on
that task's models are "not judged: instrument not validated", with these cases' numbers
(suite.validate.known.bind). The plugin runs these cases first and adds the cases of every
selected claim to a selection. Cases on written curves or sweeps (k-hop, the K-FAC sweep of
curv.fact_recall_suffers, rr.memorize_later's curve) are rule checks: they must be right (the
rule reads its statistic the right way round) but validate no instrument. The comments headed
"Measured" keep what earlier versions' cases showed, for the record of why a version changed.

Plants: the subjects are built in the library (suite/validate/plants.py, one function each,
whose docstring says what it makes true); docs/CLAIMS.md ("Known answers") tables them. Their
mechanics (suite/validate/planted.py) check that they took: every planted item is recalled, or
the case errors instead of answering. This module only says which claim reads which plant.
"""

from __future__ import annotations

import dataclasses
import random
from pathlib import Path

import pytest
import torch

from . import test_heavy_noise as heavy
from . import test_heuristics as heur  # relative: the folder is `claims` in a checkout,
from . import test_khop_scaling as khop  # `memsuite_claims` when installed
from . import test_linear_reasoning as liref
from . import test_loss_curvature as curv
from . import test_random_labels as zhang
from . import test_reason_to_rote as rr
from suite.judge import Judge
from suite.judge.claim import HOLDS, NOT_JUDGED
from suite.measure import curvature_sweep, sweeps
from suite.train import recipes
from suite.validate.known import remembered, verdict_of
from suite.validate.planted import Subject
from suite.validate.plants import (
    bridge_at_r2_keyed_recall, bridge_computed, bridge_keyed_recall, curve_later, curve_together,
    early_override, embed_recall, flagged_recall, heavy_noise_embed_recall,
    heavy_noise_late_recall, heavy_noise_on_random, heuristic_neurons, item_neurons, late_recall,
    late_recall_of_heldout, late_recall_with_curve, mlp_recall_subject, position_keyed_recall,
    pre_recall, prompt_answered, random_init_recall, random_set_neurons, recall_as_checkpoints,
    sum_keyed_recall, sum_remap_recall, uniform_recall, unseen_noise)

pytestmark = pytest.mark.known_answer


_subjects: dict = {}


def _subject(plant, stored) -> Subject:
    """`plant(stored)`, built once per session (several claims read the same subject)."""
    if (plant, stored.key) not in _subjects:
        _subjects[(plant, stored.key)] = plant(stored)
    return _subjects[(plant, stored.key)]


def _answer(test, task, plant, planted, reference_model, judge, rule_check=False, fails="",
            **params):
    """The case's known answer: `test` run on `plant` of the reference model of `task`
    (replayed from the store when this code has answered it on that model before). Its
    outcome is the validation of the claim on `task` (suite.validate.known.bind), so a planted
    case passes once it has answered; a rule check (a written curve, no model) must be right."""
    stored = reference_model(task)
    known = remembered({"case": f"{__name__}::{judge.test}", "model": stored.key,
                        "weights": stored.content_digest},
                       (Path(__file__).parent, *reference_model.code), judge,
                       lambda: verdict_of(test, _subject(plant, stored), judge, planted,
                                          reference=stored.name, rule_check=rule_check,
                                          fails=fails, **params),
                       refresh=reference_model.refresh, replay=reference_model.replay)
    print(known.summary, "(right)" if known.correct else "(WRONG: not validated)")
    if rule_check:
        assert known.correct, known.summary


# --- decodability: the clean label is computed while the noisy one is recalled -----------------

# v2 counts the answer positions where the noisy label equals the clean one; there embed recall
# puts the recalled (= clean) token on top at every site, so v2's clean share is the share of
# agreeing positions and its control's the share where another item's clean token equals the
# noisy one: on FDA (five digits, the leading 0/1 often shared) the first is larger, from the
# data alone. v3 counts the positions where the labels differ.
# Measured (decodable v2 defect): instrument defect (issue 11): rr.clean_label_decodable v2
# counts answer positions where the noisy label equals the clean one, where decoding the clean
# token is decoding the recalled label; on FDA it holds on embed recall (measured: lens 0.078
# [0.036, 0.126], probe 0.142 [0.088, 0.198]; on embed recall the clean token is top-1 at no
# differing position); v3 counts the positions where the labels differ


@pytest.mark.parametrize("version, task, decoder, plant, planted", [
    pytest.param(version, task, decoder, plant, planted, id=f"{v}-{'true' if planted else 'false'}"
                 f"-{decoder}-{task}")
    for v, version in (("v2", rr.test_clean_label_decodable),
                       ("v3", rr.test_clean_label_decodable_v3),
                       ("v4", rr.test_clean_label_decodable_v4),
                       ("v5", rr.test_clean_label_decodable_v5))
    for task in ("fda", "thr") for decoder in ("lens", "probe")
    for plant, planted in ((late_recall, True), (embed_recall, False))])
def test_clean_label_decodable(version, task, decoder, plant, planted, reference_model, judge):
    _answer(version, task, plant, planted, reference_model, judge, decoder=decoder)


# Measured (overrides v2 defect): instrument defect (issue 11): rr.noisy_overrides_late v2
# scores a never-decodable clean token as an early override and reads the embedding, where the
# noisy token wins by chance; on FDA it misses late recall on M_pre (measured: inconclusive,
# 0.051, while v3 holds at 0.878)


@pytest.mark.parametrize("version, task, plant, planted", [
    (rr.test_noisy_overrides_late, "fda", late_recall, True),
    (rr.test_noisy_overrides_late, "fda", early_override, False),
    (rr.test_noisy_overrides_late, "thr", late_recall, True),
    (rr.test_noisy_overrides_late, "thr", early_override, False),
    (rr.test_noisy_overrides_late_v3, "fda", late_recall, True),
    (rr.test_noisy_overrides_late_v3, "fda", early_override, False),
    (rr.test_noisy_overrides_late_v3, "thr", late_recall, True),
    (rr.test_noisy_overrides_late_v3, "thr", early_override, False),
    (rr.test_noisy_overrides_late_v4, "fda", late_recall, True),
    (rr.test_noisy_overrides_late_v4, "fda", early_override, False),
    (rr.test_noisy_overrides_late_v4, "thr", late_recall, True),
    (rr.test_noisy_overrides_late_v4, "thr", early_override, False),
], ids=["v2-true-fda", "v2-false-fda", "v2-true-thr", "v2-false-thr",
        "v3-true-fda", "v3-false-fda", "v3-true-thr", "v3-false-thr",
        "v4-true-fda", "v4-false-fda", "v4-true-thr", "v4-false-thr"])
def test_noisy_overrides_late(version, task, plant, planted, reference_model, judge):
    _answer(version, task, plant, planted, reference_model, judge)


# --- the bridge (THR) --------------------------------------------------------------------------
# Embed recall writes the label at the r2 position from the first site on, and leaves r1 as
# M_pre computes it: there the bridge is decodable on every prompt (the causal prefix `e r1` is
# the atomic prompt), whether or not recall uses it. v2 reads r1 or r2 and cannot reject this
# subject: the defect that v3 (r2 only) fixes.

# Measured (bridge v2 defect): instrument defect (issue 11): rr.bridge_decodable v2 may read r1,
# which the causal prefix shares with the atomic prompt, so it holds on embed recall, where
# recall never computes the bridge; v3 reads r2 only


# Measured (bridge v3 leak): instrument limit (issue 13): embed recall writes the label at the
# answer positions only, so positions e and r1 still compute the bridge (as the atomic prompt
# does) and attention carries a trace of it to r2; rr.bridge_decodable.v3's rule is '> 0' above
# a shuffled control, so with enough items it can detect that trace: holds 0.026 [0.004, 0.048]
# on one model set of thr-tiny (the read-prefix loop's, on a second machine), does not hold or
# inconclusive on the others. A v3 'holds' near that size is not evidence that recall uses the
# bridge (thr-tiny's own: 0.920)


@pytest.mark.parametrize("version, plant, planted", [
    (rr.test_bridge_decodable, late_recall, True),
    (rr.test_bridge_decodable, embed_recall, False),
    (rr.test_bridge_decodable_v3, late_recall, True),
    (rr.test_bridge_decodable_v3, embed_recall, False),
    (rr.test_bridge_decodable_v4, late_recall, True),
    (rr.test_bridge_decodable_v4, embed_recall, False),
], ids=["v2-true", "v2-false", "v3-true", "v3-false", "v4-true", "v4-false"])
@pytest.mark.parametrize("task", ["thr"])
def test_bridge_decodable(task, version, plant, planted, reference_model, judge):
    _answer(version, task, plant, planted, reference_model, judge)


@pytest.mark.claim(rr.INTERMEDIATE_PATCHING)
@pytest.mark.parametrize("task, plant, planted", [
    ("thr", bridge_keyed_recall, True), ("thr", late_recall, False),
    ("fda", sum_keyed_recall, True), ("fda", late_recall, False)],
    ids=["true-thr", "false-thr", "true-fda", "false-fda"])
def test_intermediate_patching_changes_memory(task, plant, planted, reference_model, judge):
    _answer(rr.test_intermediate_patching_changes_memory, task, plant, planted,
            reference_model, judge)


# Measured (patching v3 fda defect): instrument defect (issue 11):
# rr.intermediate_patching_changes_memory.v3 moves the column sum's LEACE subspace at the
# column's b digit, and on fda-tiny no early site holds the column sum there apart from the
# digit itself: on sum-keyed recall, moving it changes the output in 0.844 (other sum) and 0.948
# (same sum) of items at the embedding, where the subspace is the digit's identity, and in 0.052
# and 0.042 after block 0, where the sum is not read (recall reads the sum computed at the
# answer positions): does not hold 0.010 [-0.042, 0.062]. v3's FDA verdicts are not findings; v2
# (whole vectors at both digit positions) detects this plant


@pytest.mark.parametrize("version", [rr.test_intermediate_patching_changes_memory_v3,
                                     rr.test_intermediate_patching_changes_memory_v4],
                         ids=["v3", "v4"])
@pytest.mark.parametrize("task, plant, planted", [
    ("thr", bridge_at_r2_keyed_recall, True), ("thr", late_recall, False),
    ("fda", sum_keyed_recall, True),
    ("fda", late_recall, False)],
    ids=["true-thr", "false-thr", "true-fda", "false-fda"])
def test_intermediate_subspace_patching(version, task, plant, planted, reference_model, judge):
    _answer(version, task, plant, planted, reference_model, judge)


@pytest.mark.parametrize("version, plant, planted", [
    (rr.test_bridge_removal_hurts_memorization, bridge_keyed_recall, True),
    (rr.test_bridge_removal_hurts_memorization, late_recall, False),
    (rr.test_bridge_removal_hurts_memorization_v3, bridge_at_r2_keyed_recall, True),
    (rr.test_bridge_removal_hurts_memorization_v3, late_recall, False),
    (rr.test_bridge_removal_hurts_memorization_v4, bridge_at_r2_keyed_recall, True),
    (rr.test_bridge_removal_hurts_memorization_v4, late_recall, False),
], ids=["v2-true", "v2-false", "v3-true", "v3-false", "v4-true", "v4-false"])
@pytest.mark.parametrize("task", ["thr"])
def test_bridge_removal_hurts_memorization(task, version, plant, planted, reference_model, judge):
    _answer(version, task, plant, planted, reference_model, judge)


# Measured (generalization v2 defect): instrument defect (issue 11):
# rr.bridge_removal_hurts_generalization v2 erases the bridge in atomic prompts at their last
# position, where the bridge is their answer, so its clause 'atomic recall is less affected'
# cannot hold: on two-hop answers keyed on the bridge at r2 it measured held-out drop 0.888
# [0.867, 0.906] (beyond random 0.863) and atomic drop 0.942, so held-out minus atomic -0.054
# [-0.081, -0.028]; v3 drops the clause


@pytest.mark.parametrize("version, plant, planted", [
    pytest.param(rr.test_bridge_removal_hurts_generalization, bridge_computed, True,
                 id="v2-true"),
    pytest.param(rr.test_bridge_removal_hurts_generalization, prompt_answered, False,
                 id="v2-false"),
    pytest.param(rr.test_bridge_removal_hurts_generalization_v3, bridge_computed, True,
                 id="v3-true"),
    pytest.param(rr.test_bridge_removal_hurts_generalization_v3, prompt_answered, False,
                 id="v3-false"),
    pytest.param(rr.test_bridge_removal_hurts_generalization_v4, bridge_computed, True,
                 id="v4-true"),
    pytest.param(rr.test_bridge_removal_hurts_generalization_v4, prompt_answered, False,
                 id="v4-false")])
@pytest.mark.parametrize("task", ["thr"])
def test_bridge_removal_hurts_generalization(task, version, plant, planted, reference_model, judge):
    _answer(version, task, plant, planted, reference_model, judge)


@pytest.mark.parametrize("plant, planted", [(late_recall, True), (position_keyed_recall, False)],
                         ids=["true", "false"])
@pytest.mark.parametrize("version", [rr.test_no_lookup_key, rr.test_no_lookup_key_v3],
                         ids=["v2", "v3"])
@pytest.mark.parametrize("task", ["fda"])
def test_no_lookup_key(task, plant, planted, version, reference_model, judge):
    _answer(version, task, plant, planted, reference_model, judge)


@pytest.mark.claim(rr.GENERALIZE_FIRST)
@pytest.mark.parametrize("task", ["fda", "thr"])
@pytest.mark.parametrize("plant, planted", [(unseen_noise, True),
                                            (recall_as_checkpoints, False)], ids=["true", "false"])
def test_generalize_first(task, plant, planted, reference_model, judge):
    _answer(rr.test_generalize_first, task, plant, planted, reference_model, judge)


@pytest.mark.claim(rr.MEMORIZE_LATER)
@pytest.mark.parametrize("plant, planted", [(curve_later, True), (curve_together, False)],
                         ids=["true", "false"])
@pytest.mark.parametrize("task", ["fda"])
def test_memorize_later(task, plant, planted, reference_model, judge):
    _answer(rr.test_memorize_later, task, plant, planted, reference_model, judge,
            rule_check=True)


@pytest.mark.claim(heur.BAG_OF_HEURISTICS)
@pytest.mark.parametrize("plant, planted", [(heuristic_neurons, True),
                                            (random_set_neurons, False)], ids=["true", "false"])
@pytest.mark.parametrize("task", ["fda"])
def test_bag_of_heuristics(task, plant, planted, reference_model, judge):
    _answer(heur.test_bag_of_heuristics, task, plant, planted, reference_model, judge)


@pytest.mark.claim(heur.BAG_OF_HEURISTICS_V3)
@pytest.mark.parametrize("plant, planted", [(heuristic_neurons, True),
                                            (random_set_neurons, False)], ids=["true", "false"])
@pytest.mark.parametrize("task", ["fda"])
def test_bag_of_heuristics_v3(task, plant, planted, reference_model, judge):
    _answer(heur.test_bag_of_heuristics_v3, task, plant, planted, reference_model, judge)


@pytest.mark.parametrize("task", ["fda", "thr"])
@pytest.mark.parametrize("plant, planted, fails", [
    (heavy_noise_late_recall, True, ""),
    (heavy_noise_embed_recall, False, ""),
    # built to fail the comparison with a random model (its docstring), not the headline
    (heavy_noise_on_random, False, "clean_minus_random_model_share")],
    ids=["true", "false-embed", "false-random-model"])
@pytest.mark.parametrize("version", [heavy.test_clean_structure_survives_heavy_noise,
                                     heavy.test_clean_structure_survives_heavy_noise_v3,
                                     heavy.test_clean_structure_survives_heavy_noise_v4],
                         ids=["v2", "v3", "v4"])
def test_clean_structure_survives_heavy_noise(task, plant, planted, fails, version,
                                              reference_model, judge):
    _answer(version, task, plant, planted, reference_model, judge, fails=fails)


@pytest.mark.claim(zhang.RANDOM_LABELS_FIT)
@pytest.mark.parametrize("plant, planted", [(random_init_recall, True), (pre_recall, False)],
                         ids=["true", "false"])  # false: fits, and generalizes (its docstring)
@pytest.mark.parametrize("task", ["fda"])
def test_random_labels_fit(task, plant, planted, reference_model, judge):
    _answer(zhang.test_random_labels_fit, task, plant, planted, reference_model, judge,
            fails="" if planted else "heldout_accuracy")



# --- k-hop scaling (the sweeps are slow: their points are written here, through the claims'
# own sweep reading and rule) -------------------------------------------------------------------

def _khop_base(what: str, needed: dict[int, int | None] | None = None,
               steps: tuple[int | None, int | None] = (None, None)) -> sweeps.Written:
    """The k-hop sweep base recipe with written outcomes (sweeps.Written): k reaches the
    threshold from needed[k] on; the curriculum takes `steps` (alone, after the first stage)."""
    base = next(r for r in recipes.for_scale("khop", "tiny") if r.name == "khop-sweep-tiny")
    return sweeps.Written(dataclasses.replace(base.with_seed_and_noise(0),
                                              name=f"written sweep: {what}"),
                          needed or {}, steps)


@pytest.mark.parametrize("test, grid", [(khop.test_data_grows_with_k, khop.DATA_GRID),
                                        (khop.test_depth_grows_with_k, khop.DEPTH_GRID),
                                        (khop.test_data_grows_with_k_v3, khop.DATA_GRID_V3),
                                        (khop.test_depth_grows_with_k_v3, khop.DEPTH_GRID)],
                         ids=["data", "depth", "data-v3", "depth-v3"])
@pytest.mark.parametrize("planted", [True, False], ids=["true", "false"])
@pytest.mark.parametrize("task", ["khop"])
def test_khop_growth(task, test, grid, planted, judge):
    small, large = (grid[1], grid[2]) if planted else (grid[1], grid[1])
    base = _khop_base(f"k={khop.LARGE_K} first reaches at {large}, k={khop.SMALL_K} at {small}",
                      {khop.SMALL_K: small, khop.LARGE_K: large})
    known = verdict_of(test, base, judge, planted, subject_arg="sweep_base", rule_check=True)
    print(known.summary)
    assert known.correct, known.summary


@pytest.mark.parametrize("test, grid, outcome", [
    (khop.test_data_grows_with_k, khop.DATA_GRID, HOLDS),
    (khop.test_data_grows_with_k_v3, khop.DATA_GRID_V3, NOT_JUDGED),
    (khop.test_depth_grows_with_k_v3, khop.DEPTH_GRID, NOT_JUDGED)], ids=["v2", "data-v3", "depth-v3"])
def test_khop_growth_when_large_k_is_never_learned(test, grid, outcome):
    """k = 3 reaching the threshold nowhere on the grid: v2 counts it as needing more (holds),
    v3 does not judge it (the sweep did not reach where k = 3 is learned). Neither planted true
    nor false, so the verdict is not recorded among the known answers."""
    base = _khop_base(f"k={khop.LARGE_K} never reaches, k={khop.SMALL_K} at {grid[1]}",
                      {khop.SMALL_K: grid[1], khop.LARGE_K: None})
    known = verdict_of(test, base, Judge(), True, subject_arg="sweep_base", rule_check=True)
    print(known.summary)
    assert known.verdict.outcome == outcome, known.summary


@pytest.mark.parametrize("test, stage1", [(khop.test_curriculum_helps, khop.STAGE1_STEPS),
                                          (khop.test_curriculum_helps_v3, khop.STAGE1_STEPS_V3)],
                         ids=["v2", "v3"])
@pytest.mark.parametrize("planted", [True, False], ids=["true", "false"])
@pytest.mark.parametrize("task", ["khop"])
def test_khop_curriculum(task, test, stage1, planted, judge):
    alone, after = (3 * stage1, stage1) if planted else (stage1, 3 * stage1)
    base = _khop_base(f"alone {alone} steps, curriculum {stage1} + {after}", steps=(alone, after))
    known = verdict_of(test, base, judge, planted, subject_arg="sweep_base", rule_check=True)
    print(known.summary)
    assert known.correct, known.summary


# Measured (liref v2 control defect): instrument defect (issue 11): liref.direction_separates v2
# scores its label-shuffled control against the true groups, so a strong planted direction leaks
# into it (on flagged recall: AUROC 1.000, the control above its 0.65 band, so inconclusive) and
# v2 holds only where the leak happens to stay inside the band

# Measured (liref v3 fda power): instrument power (issue 13): fda-tiny now trains on 2000 items,
# so 100 noisy items and held-out halves of 50 + 50; the control's band (0.35-0.65) is an
# equivalence test whose interval at that size (DeLong, Bonferroni over 4 sites) is about
# +-0.145 wide, so liref.direction_separates.v3 holds only when the shuffled control lands
# within about 0.005 of 0.5 (measured on flagged recall: AUROC 1.000 [1.000, 1.000] at embed,
# control 0.540, inconclusive). It can still reject (planted false: does not hold), so its 'does
# not hold' verdicts stand; a 'holds' on fda-tiny is out of its reach


@pytest.mark.parametrize("version, task, plant, planted", [
    pytest.param(liref.test_direction_separates, task, flagged_recall, True,
                 id=f"v2-true-{task}") for task in ("fda", "thr")
] + [pytest.param(liref.test_direction_separates, task, uniform_recall, False,
                  id=f"v2-false-{task}") for task in ("fda", "thr")
] + [pytest.param(liref.test_direction_separates_v3, task, plant, planted,
                  id=f"v3-{'true' if planted else 'false'}-{task}")
     for task in ("fda", "thr") for plant, planted in ((flagged_recall, True),
                                                       (uniform_recall, False))])
def test_direction_separates(version, task, plant, planted, reference_model, judge):
    _answer(version, task, plant, planted, reference_model, judge)


# Measured (steering fda power): instrument power (issue 13): on fda-tiny the steering claims
# edit along a direction fitted on 50 + 50 items and score the other 50 memorized items;
# removing or reversing it stops only the recall whose flag it removes, so the planted effect's
# size moves with how well the fitted direction aligns with the flag: inconclusive 0.140 [0.040,
# 0.260] against the 0.10 bound on one model set of fda-tiny (the read-prefix loop's, on a
# second machine), holds on the others. Its 'does not hold' verdicts on fda-tiny (0.000) stand;
# a miss by a small margin would not


@pytest.mark.parametrize("version, plant, planted, task", [
    pytest.param(version, plant, planted, task, id=f"{v}-{'true' if planted else 'false'}-{task}")
    for task in ("fda", "thr") for plant, planted in ((flagged_recall, True), (late_recall, False))
    for v, version in (("v2", liref.test_steering_recovers_reasoning),
                       ("v3", liref.test_steering_recovers_reasoning_v3))])
def test_steering_recovers_reasoning(version, plant, planted, task, reference_model, judge):
    _answer(version, task, plant, planted, reference_model, judge)


# Measured (edit v1 sweep): instrument defect (issue 11): curv.edit_suppresses_memorization v1
# sweeps rho in (0.5, 0.7, 0.9), which on these models keeps under 1.5 % of the components and
# takes held-out accuracy to about 0 whatever memorization does (why the v2 sweep was declared);
# on item neurons with held-out answers looked up late, the magnitude baseline keeping that
# share removes the item neurons as well (measured: its recall 0.0 on fda-tiny, 0.095 to 0.161
# on thr-tiny), so the edit cannot beat it and v1 cannot hold


# Where the planted item neurons fall in the K-FAC spectrum depends on the base model: v2's sweep
# (rho 0.99, 0.999, 0.9999) brackets them on one fda-tiny and not on another.
# Measured (edit v2 fda power): instrument margin (issue 13): on fda-tiny the planted item
# neurons sit near the ends of v2's rho sweep, so whether some rho removes them while the
# magnitude baseline keeps them depends on the trained base: it held on the former 2-block fda-
# tiny (rho 0.999: K-FAC recall 0.0, magnitude 0.9); on the 3-block one (seed 0, 2 cores) rho
# 0.99 removes them under both (K-FAC 0.0, magnitude 0.05) and 0.999 under neither (1.0, 1.0):
# does not hold 0.000 [0.000, 0.054]. The thr case and both false cases stay checks


@pytest.mark.parametrize("task", ["fda", "thr"])
@pytest.mark.parametrize("version, plant, planted", [
    pytest.param(curv.test_edit_suppresses_memorization, item_neurons, True, id="v1-true"),
    pytest.param(curv.test_edit_suppresses_memorization, late_recall_of_heldout, False,
                 id="v1-false"),
    pytest.param(curv.test_edit_suppresses_memorization_v2, item_neurons, True, id="v2-true"),
    pytest.param(curv.test_edit_suppresses_memorization_v2, late_recall_of_heldout, False,
                 id="v2-false")])
def test_edit_suppresses_memorization(task, version, plant, planted, reference_model, judge):
    _answer(version, task, plant, planted, reference_model, judge)


# curv.fact_recall_suffers: the K-FAC sweep is written (as the k-hop sweeps are), so these
# cases validate the claim's statistic and rule on a known outcome, not the edit; the edit's
# own known answers are the unit tests of suite.interp.curvature. True: the edit costs half the
# atomic facts and nothing else, so a two-hop answer is lost exactly when one of its two facts
# is (reasoning intact). False: it costs a tenth of the facts and, besides, half of the two-hop
# answers whose facts survive (reasoning hurt more than fact recall).

def _written_curvature(data, facts_lost: float, reasoning_lost: float):
    """A written K-FAC sweep of `data` (Subject.written_sweep): the unedited model right on
    every item, the edited one, at every kept mass, missing a seeded `facts_lost` share of the
    atomic facts and every two-hop item that rests on a missed fact or, with chance
    `reasoning_lost`, not."""
    def sweep(memorized, keep_mass):
        rng = random.Random(0)
        lost = {it.prompt for it in data.atomic if rng.random() < facts_lost}
        heldout = torch.tensor([not any(f in lost for f in curv._facts_of(it))
                                and rng.random() >= reasoning_lost for it in data.heldout])
        atomic = torch.tensor([it.prompt not in lost for it in data.atomic])
        edited = {"memorized": torch.zeros(len(memorized), dtype=torch.bool),
                  "heldout": heldout, "atomic": atomic}
        base = {k: torch.ones(len(v), dtype=torch.bool) for k, v in edited.items()}
        return curvature_sweep.Sweep(base, [{"rho": rho, "kfac": edited, "svd": edited}
                                            for rho in keep_mass], len(memorized))
    return sweep


# Measured (fact recall tilt): instrument defect (issue 11): curv.fact_recall_suffers v1/v2
# compare fact recall with two-hop accuracy, and a two-hop answer needs both of its facts: on
# the written sweep that costs half the facts and no reasoning, two-hop accuracy falls by about
# 0.75, so the claim does not hold where it is true by construction; v3 compares with the items
# whose facts survive


@pytest.mark.claim(curv.FACT_RECALL)
@pytest.mark.parametrize("planted", [
    pytest.param(True, id="v1-true"), pytest.param(False, id="v1-false")])
@pytest.mark.parametrize("task", ["thr"])
def test_fact_recall_suffers(task, planted, reference_model, judge):
    _fact_recall_case(curv.test_fact_recall_suffers, planted, reference_model, judge)


@pytest.mark.parametrize("version, planted", [
    pytest.param(curv.test_fact_recall_suffers_v2, True, id="v2-true"),
    pytest.param(curv.test_fact_recall_suffers_v2, False, id="v2-false"),
    pytest.param(curv.test_fact_recall_suffers_v3, True, id="v3-true"),
    pytest.param(curv.test_fact_recall_suffers_v3, False, id="v3-false"),
    pytest.param(curv.test_fact_recall_suffers_v4, True, id="v4-true"),
    pytest.param(curv.test_fact_recall_suffers_v4, False, id="v4-false")])
@pytest.mark.parametrize("task", ["thr"])
def test_fact_recall_suffers_versions(task, version, planted, reference_model, judge):
    _fact_recall_case(version, planted, reference_model, judge)


def _fact_recall_case(version, planted, reference_model, judge, task="thr"):
    facts_lost, reasoning_lost = (0.5, 0.0) if planted else (0.1, 0.5)
    stored = reference_model(task)
    subject = Subject(f"written K-FAC sweep: {facts_lost} of the facts lost, {reasoning_lost} of "
                      f"the rest of two-hop answers ({stored.path.name})", stored.data,
                      stored.model(), written_sweep=_written_curvature(stored.data, facts_lost,
                                                                       reasoning_lost))
    known = verdict_of(version, subject, judge, planted, rule_check=True)
    print(known.summary)
    assert known.correct, known.summary


@pytest.mark.claim(rr.OUTLIER_PATCHING)
@pytest.mark.parametrize("plant, planted", [(mlp_recall_subject, True),
                                            (late_recall_with_curve, False)],
                         ids=["true", "false"])
@pytest.mark.parametrize("task", ["fda"])
def test_outlier_heuristics_patching(task, plant, planted, reference_model, judge):
    _answer(rr.test_outlier_heuristics_patching, task, plant, planted, reference_model, judge)


@pytest.mark.claim(rr.OUTLIER_PATCHING_V3)
@pytest.mark.parametrize("plant, planted", [(mlp_recall_subject, True),
                                            (late_recall_with_curve, False)],
                         ids=["true", "false"])
@pytest.mark.parametrize("task", ["fda"])
def test_outlier_heuristics_patching_v3(task, plant, planted, reference_model, judge):
    _answer(rr.test_outlier_heuristics_patching_v3, task, plant, planted, reference_model, judge)


# Measured (neurons v2 defect): instrument defect (issue 11): rr.heuristic_neurons_reused v2
# ranks neurons by attribution of the noisy logit, which credits the neurons computing the clean
# answer as well as those recalling the label, and counts membership on the same items it
# selected on; it holds on MLP recall (overlap 0.326 on one machine's model, 0.461 on
# another's), where every memorized label comes from an item-specific neuron; v3 fixes both


@pytest.mark.claim(rr.HEURISTIC_NEURONS)
@pytest.mark.parametrize("plant, planted", [
    (sum_remap_recall, True), (mlp_recall_subject, False)],
    ids=["true", "false"])
@pytest.mark.parametrize("task", ["fda"])
def test_heuristic_neurons_reused(task, plant, planted, reference_model, judge):
    _answer(rr.test_heuristic_neurons_reused, task, plant, planted, reference_model, judge)


# Measured (neurons v3 power): instrument limit (issue 13): rr.heuristic_neurons_reused.v3 takes
# the top 5 % of neurons (76 of 1524 on MLP recall) by mean attribution over the even memorized
# items; a planted neuron serves one item, so its mean is a fiftieth of its attribution, and
# real neurons with a consistent bias can fill the top: on one machine's fda-tiny M_pre the
# planted-false case holds 0.184 [0.113, 0.286] (median item share 0.29, clean baseline 0.26),
# on the models of earlier machines it did not hold. So a 'holds' of v3 is not evidence of reuse

# Measured (neurons v3 true power): instrument power (issue 13): sum-remap recall reaches 45 of
# fda-tiny's 100 noisy items, so v3's membership is counted on 22 of them: inconclusive 0.392
# [0.270, 0.529] on one model set (the read-prefix loop's, on a second machine; the median item
# share's interval crosses 0.10), holds on the others. With its false case also unstable
# (above), rr.heuristic_neurons_reused.v3 is not validated on fda-tiny across machines: its
# verdicts there are reported, not evidence


@pytest.mark.claim(rr.HEURISTIC_NEURONS_V3)
@pytest.mark.parametrize("plant, planted", [
    (sum_remap_recall, True), (mlp_recall_subject, False)],
    ids=["true", "false"])
@pytest.mark.parametrize("task", ["fda"])
def test_heuristic_neurons_reused_v3(task, plant, planted, reference_model, judge):
    _answer(rr.test_heuristic_neurons_reused_v3, task, plant, planted, reference_model, judge)


@pytest.mark.claim(rr.HEURISTIC_NEURONS_V4)
@pytest.mark.parametrize("plant, planted", [
    (sum_remap_recall, True), (mlp_recall_subject, False)],
    ids=["true", "false"])
@pytest.mark.parametrize("task", ["fda"])
def test_heuristic_neurons_reused_v4(task, plant, planted, reference_model, judge):
    _answer(rr.test_heuristic_neurons_reused_v4, task, plant, planted, reference_model, judge)
