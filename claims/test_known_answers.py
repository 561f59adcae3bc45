"""Known answers: every claim's own test, run on a subject where the claim is true by
construction and on one where it is false, must tell them apart.

A verdict of "does not hold" on a trained model is a finding only if the claim's code could have
seen the effect; a verdict of "holds" only if the code could have failed. The cases are declared
in each claim's record (`Claim.known`, suite.judge.claim.KnownCase: which plant, on which task,
planted true or false); this module generates one test per case from the records of the claim
modules and runs the claim's test function itself on the subject (suite.validate.known.verdict_of),
with the claim's own gates (a subject that misses one is "not judged", a miss). Planted true must
hold; planted false must not hold, its headline rule failing (inconclusive is a miss).

Nothing here is marked expected to fail: the outcomes are the validation. A claim (and variant)
is validated on a task when its cases there are right in this run; where not, its verdicts on
that task's models are "not judged: instrument not validated", with these cases' numbers
(suite.validate.known.bind). The plugin runs these cases first and adds the cases of every
selected claim to a selection. Cases on written curves or sweeps (k-hop, the K-FAC sweep of
curv.fact_recall_suffers, rr.memorize_later's curve) are rule checks: they must be right (the
rule reads its statistic the right way round) but validate no instrument.

The subjects are built in the library (suite.validate.plants, one function each, named by the
records; their mechanics in suite.validate.planted check that they took, or the case errors
instead of answering). Most plant into the tiny reference model of the task (seed 0); the
dynamics claims' planted-false case on FDA is a trained model, the memorize-first recipe's (for
rr.memorize_later a rule check: the model was chosen by the order its rule reads). The
comments headed "Measured" keep what earlier versions' cases showed, for the record of why a
version changed.
"""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from . import test_heavy_noise as heavy
from . import test_heuristics as heur  # relative: the folder is `claims` in a checkout,
from . import test_khop_scaling as khop  # `memsuite_claims` when installed
from . import test_linear_reasoning as liref
from . import test_loss_curvature as curv
from . import test_random_labels as zhang
from . import test_reason_to_rote as rr
from suite.judge import Judge
from suite.judge.claim import HOLDS, NOT_JUDGED, Claim, KnownCase
from suite.validate import plants
from suite.validate.known import remembered, verdict_of

pytestmark = pytest.mark.known_answer

CLAIM_MODULES = (rr, heur, heavy, liref, curv, zhang, khop)


def claim_tests(modules=CLAIM_MODULES) -> list[tuple[object, Claim]]:
    """(test function, the Claim its `claim` marker binds) for every claim test of `modules`."""
    found = []
    for module in modules:
        for test in vars(module).values():
            if callable(test) and getattr(test, "__module__", "") == module.__name__:
                found += [(test, m.args[0]) for m in getattr(test, "pytestmark", [])
                          if m.name == "claim"]
    return found


def _cases() -> list:
    """One pytest parameter per known case and task of every claim test's record. A case on a
    reference recipe of its own (the memorize-first model) trains that recipe, about nine
    minutes on two CPU cores, so it is in the slow tier: a run selects it only with a -m
    expression that does (CI's third step: -m "slow or not slow" -k "generalize_first or
    memorize_later")."""
    return [pytest.param(test, case, task, id=f"{claim.id}-{case.label(task)}",
                         marks=[pytest.mark.slow] if case.reference else [])
            for test, claim in claim_tests() for case in claim.known for task in case.tasks]


_subjects: dict = {}


def _subject(case: KnownCase, stored):
    """The case's subject, built once per session (several claims read the same subject)."""
    builder = plants.named(case.plant)
    key = (case.plant, case.plant_args, stored.key if stored is not None else None)
    if key not in _subjects:
        args = dict(case.plant_args)
        _subjects[key] = builder(stored, **args) if stored is not None else builder(**args)
    return _subjects[key]


@pytest.mark.parametrize("test, case, task", _cases())
def test_known_answer(test, case, task, reference_model, judge):
    """The case's known answer: the claim's `test` run on the case's subject (replayed from the
    store when this code has answered it on that reference model before). Its outcome is the
    validation of the claim on `task` (suite.validate.known.bind), so a planted case passes once
    it has answered; a rule check (a written curve or sweep, or a model chosen by the reading
    its rule makes) must be right."""
    builder = plants.named(case.plant)
    stored = reference_model(task, case.reference) if plants.needs_reference(builder) else None
    subject_arg = "sweep_base" if "sweep_base" in inspect.signature(test).parameters \
        else "trained"

    def answer():
        # every subject is judged with the claim's gates, as any model, unless the case only
        # checks how the rule reads it
        return verdict_of(test, _subject(case, stored), judge, case.planted,
                          subject_arg=subject_arg,
                          reference=stored.name if stored and not case.rule_check else "",
                          rule_check=case.rule_check, fails=case.fails, **dict(case.args))

    if stored is None:  # a written sweep: nothing trained, nothing to replay
        known = answer()
    else:
        known = remembered({"case": f"{__name__}::{judge.test}", "model": stored.key,
                            "weights": stored.content_digest},
                           (Path(__file__).parent, *reference_model.code), judge, answer,
                           refresh=reference_model.refresh, replay=reference_model.replay)
    print(known.summary, "(right)" if known.correct else "(WRONG: not validated)")
    if case.rule_check:
        assert known.correct, known.summary


@pytest.mark.parametrize("test, grid, outcome", [
    (khop.test_data_grows_with_k, khop.DATA_GRID, HOLDS),
    (khop.test_data_grows_with_k_v3, khop.DATA_GRID_V3, NOT_JUDGED),
    (khop.test_depth_grows_with_k_v3, khop.DEPTH_GRID, NOT_JUDGED)], ids=["v2", "data-v3", "depth-v3"])
def test_khop_growth_when_large_k_is_never_learned(test, grid, outcome):
    """k = 3 reaching the threshold nowhere on the grid: v2 counts it as needing more (holds),
    v3 does not judge it (the sweep did not reach where k = 3 is learned). Neither planted true
    nor false, so the verdict is not recorded among the known answers."""
    base = plants.written_growth(khop.SMALL_K, grid[1], khop.LARGE_K, None)
    known = verdict_of(test, base, Judge(), True, subject_arg="sweep_base", rule_check=True)
    print(known.summary)
    assert known.verdict.outcome == outcome, known.summary


# --- what earlier versions' cases showed -----------------------------------------------------------

# Measured (decodable v2 defect): instrument defect (issue 11): rr.clean_label_decodable v2
# counts answer positions where the noisy label equals the clean one, where decoding the clean
# token is decoding the recalled label; on FDA it holds on embed recall (measured: lens 0.078
# [0.036, 0.126], probe 0.142 [0.088, 0.198]; on embed recall the clean token is top-1 at no
# differing position); v3 counts the positions where the labels differ

# Measured (overrides v2 defect): instrument defect (issue 11): rr.noisy_overrides_late v2
# scores a never-decodable clean token as an early override and reads the embedding, where the
# noisy token wins by chance; on FDA it misses late recall on M_pre (measured: inconclusive,
# 0.051, while v3 holds at 0.878)

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

# Measured (patching v3 fda defect): instrument defect (issue 11):
# rr.intermediate_patching_changes_memory.v3 moves the column sum's LEACE subspace at the
# column's b digit, and on fda-tiny no early site holds the column sum there apart from the
# digit itself: on sum-keyed recall, moving it changes the output in 0.844 (other sum) and 0.948
# (same sum) of items at the embedding, where the subspace is the digit's identity, and in 0.052
# and 0.042 after block 0, where the sum is not read (recall reads the sum computed at the
# answer positions): does not hold 0.010 [-0.042, 0.062]. v3's FDA verdicts are not findings; v2
# (whole vectors at both digit positions) detects this plant

# Measured (generalization v2 defect): instrument defect (issue 11):
# rr.bridge_removal_hurts_generalization v2 erases the bridge in atomic prompts at their last
# position, where the bridge is their answer, so its clause 'atomic recall is less affected'
# cannot hold: on two-hop answers keyed on the bridge at r2 it measured held-out drop 0.888
# [0.867, 0.906] (beyond random 0.863) and atomic drop 0.942, so held-out minus atomic -0.054
# [-0.081, -0.028]; v3 drops the clause

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

# Measured (steering fda power): instrument power (issue 13): on fda-tiny the steering claims
# edit along a direction fitted on 50 + 50 items and score the other 50 memorized items;
# removing or reversing it stops only the recall whose flag it removes, so the planted effect's
# size moves with how well the fitted direction aligns with the flag: inconclusive 0.140 [0.040,
# 0.260] against the 0.10 bound on one model set of fda-tiny (the read-prefix loop's, on a
# second machine), holds on the others. Its 'does not hold' verdicts on fda-tiny (0.000) stand;
# a miss by a small margin would not

# Measured (edit v1 sweep): instrument defect (issue 11): curv.edit_suppresses_memorization v1
# sweeps rho in (0.5, 0.7, 0.9), which on these models keeps under 1.5 % of the components and
# takes held-out accuracy to about 0 whatever memorization does (why the v2 sweep was declared);
# on item neurons with held-out answers looked up late, the magnitude baseline keeping that
# share removes the item neurons as well (measured: its recall 0.0 on fda-tiny, 0.095 to 0.161
# on thr-tiny), so the edit cannot beat it and v1 cannot hold

# Measured (edit v2 fda power): instrument margin (issue 13): on fda-tiny the planted item
# neurons sit near the ends of v2's rho sweep, so whether some rho removes them while the
# magnitude baseline keeps them depends on the trained base: it held on the former 2-block fda-
# tiny (rho 0.999: K-FAC recall 0.0, magnitude 0.9); on the 3-block one (seed 0, 2 cores) rho
# 0.99 removes them under both (K-FAC 0.0, magnitude 0.05) and 0.999 under neither (1.0, 1.0):
# does not hold 0.000 [0.000, 0.054]. The thr case and both false cases stay checks

# Measured (fact recall tilt): instrument defect (issue 11): curv.fact_recall_suffers v1/v2
# compare fact recall with two-hop accuracy, and a two-hop answer needs both of its facts: on
# the written sweep that costs half the facts and no reasoning, two-hop accuracy falls by about
# 0.75, so the claim does not hold where it is true by construction; v3 compares with the items
# whose facts survive

# Measured (neurons v2 defect): instrument defect (issue 11): rr.heuristic_neurons_reused v2
# ranks neurons by attribution of the noisy logit, which credits the neurons computing the clean
# answer as well as those recalling the label, and counts membership on the same items it
# selected on; it holds on MLP recall (overlap 0.326 on one machine's model, 0.461 on
# another's), where every memorized label comes from an item-specific neuron; v3 fixes both

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
