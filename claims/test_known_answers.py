"""Known answers: every claim's own test, run on a subject where the claim is true by
construction and on one where it is false, must tell them apart.

A verdict of "does not hold" on a trained model is a finding only if the claim's code could have
seen the effect; a verdict of "holds" only if the code could have failed. Each case below builds
a planted subject (suite.validate.planted) from the tiny reference model of its task (seed 0)
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

Plants: docs/CLAIMS.md ("Known answers") tables every plant and what it makes true; each plant
function below says it again. The plants themselves (suite/validate/planted.py) check that they
took: every planted item is recalled, or the case errors instead of answering.
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
from suite.interp import probes
from suite.judge import Judge
from suite.judge.claim import HOLDS, NOT_JUDGED
from suite.interp.hooks import resid_sites
from suite.measure import curvature_sweep, mechanism, sweeps
from suite.measure.itemsets import recalled
from suite.train.batching import encode
from suite.tasks import Item, fda
from suite.train import dynamics, recipes
from suite.validate.known import remembered, verdict_of
from suite.validate.planted import (MLP_FIRED, ReadoutKey, ResidualKey, Subject,
                                    plant_input_remap, plant_mlp_recall,
                                    plant_neuron_activations, plant_recall, relabelled,
                                    with_identity_block)

pytestmark = pytest.mark.known_answer


def _pre(stored):
    """M_pre of a stored model, and its step."""
    step = dynamics.pre_memorization_step(stored.curve)
    assert step is not None, f"{stored.name}: no M_pre on its curve; no base to plant into"
    return stored.checkpoint(step), step


def late_recall(stored) -> Subject:
    """M_pre plus an added identity block whose prompt-keyed lookup writes every noisy label:
    whatever M_pre computes is intact at every site; the label appears only at the last."""
    pre, _ = _pre(stored)
    data = stored.data
    return Subject(f"late recall on {stored.path.name} M_pre", data,
                   plant_recall(pre, data.noisy, data.vocab, "late"))


def embed_recall(stored) -> Subject:
    """The lookup written into the embedding: the label fills every site, and nothing M_pre
    computes reaches the answer positions."""
    pre, _ = _pre(stored)
    data = stored.data
    return Subject(f"embed recall on {stored.path.name} M_pre", data,
                   plant_recall(pre, data.noisy, data.vocab, "embed"))


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


def early_override(stored) -> Subject:
    """Late recall that also writes the label at the first block's output: the noisy label
    wins in the first layer, before the computed answer shows: an early override."""
    pre, _ = _pre(stored)
    data = stored.data
    return Subject(f"early and late recall on {stored.path.name} M_pre", data,
                   plant_recall(pre, data.noisy, data.vocab, "late", early=True))


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


def bridge_keyed_recall(stored, position: int = 1) -> Subject:
    """Late recall keyed on the bridge entity read at `position` (1: r1, 2: r2; by a probe
    fitted on clean items at the residual entering the plant) and the r2 token: recall that
    reads the intermediate result, by construction."""
    pre, _ = _pre(stored)
    data = stored.data
    last = resid_sites(pre)[-1]
    fit = data.clean[:3000]
    features = mechanism.prompt_features(pre, fit, data.vocab, position)[last]
    probe = probes.train_probe(features, mechanism.bridges(fit))
    return Subject(f"bridge-at-{position}-keyed late recall on {stored.path.name} M_pre", data,
                   plant_recall(pre, data.noisy, data.vocab, "late",
                                key=ReadoutKey(probe, position=position, token_position=2)))


# FDA intermediate patching: recall keyed on the sum digits the base computes (read by a probe
# per answer position at the residual entering the late plant), so patching a column's digits
# from an item whose column sum differs changes the key and ends recall, and from one whose
# column sum is the same does not: recall that reads the intermediate, by construction.

def sum_keyed_recall(stored) -> Subject:
    """Late recall keyed on the answer digits M_pre computes, on M_pre."""
    pre, _ = _pre(stored)
    data = stored.data
    last = resid_sites(pre)[-1]
    fit = encode(data.clean[:3000], data.vocab, "label")
    acts = mechanism.answer_features(pre, fit, [last])[last]  # [N, A, D]
    readers = [probes.train_probe(acts[:, j], fit.targets[:, j]) for j in range(acts.shape[1])]
    answer = fit.positions[0].tolist()  # FDA answer positions are the same for every item

    def computed_sum(hidden, ids):
        if hidden.shape[1] <= answer[-1]:  # a prompt run without its answer: nothing to read
            return [None] * len(hidden)
        read = torch.stack([r.predict(hidden[:, p]) for r, p in zip(readers, answer)], 1)
        return [tuple(row) for row in read.tolist()]
    return Subject(f"sum-keyed late recall on {stored.path.name} M_pre", data,
                   plant_recall(pre, data.noisy, data.vocab, "late", key=computed_sum))


@pytest.mark.claim(rr.INTERMEDIATE_PATCHING)
@pytest.mark.parametrize("task, plant, planted", [
    ("thr", bridge_keyed_recall, True), ("thr", late_recall, False),
    ("fda", sum_keyed_recall, True), ("fda", late_recall, False)],
    ids=["true-thr", "false-thr", "true-fda", "false-fda"])
def test_intermediate_patching_changes_memory(task, plant, planted, reference_model, judge):
    _answer(rr.test_intermediate_patching_changes_memory, task, plant, planted,
            reference_model, judge)


def bridge_at_r2_keyed_recall(stored) -> Subject:
    return bridge_keyed_recall(stored, position=2)


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


# Generalization through the bridge: every two-hop prompt (training and held-out) answered by
# a late lookup keyed on the bridge a probe reads at r2 and the r2 token, noisy prompts recalled
# by prompt: held-out accuracy rests on the bridge at r2, by construction. Its absence: the same
# answers keyed on the whole prompt, which no erasure of the bridge can reach.

def _prompt_or(key, items, vocab):
    """A lookup key: the whole prompt for `items`, `key` for every other row."""
    length = len(items[0].prompt)
    known = {tuple(vocab.encode(it.prompt)) for it in items}

    def either(hidden, ids):
        rows = [tuple(p) for p in ids[:, :length].tolist()]
        return [("prompt", p) if p in known else k for p, k in zip(rows, key(hidden, ids))]
    return either


def bridge_computed(stored) -> Subject:
    """Two-hop answers computed from the bridge read at r2 (held-out prompts included), noisy
    labels recalled by prompt, on M_pre."""
    pre, _ = _pre(stored)
    data = stored.data
    fit = data.clean[:3000]
    features = mechanism.prompt_features(pre, fit, data.vocab, 2)[resid_sites(pre)[-1]]
    probe = probes.train_probe(features, mechanism.bridges(fit))
    key = _prompt_or(ReadoutKey(probe, position=2, token_position=2), data.noisy, data.vocab)
    return Subject(f"two-hop answers keyed on the bridge at r2 on {stored.path.name} M_pre", data,
                   plant_recall(pre, data.noisy + data.clean + data.heldout, data.vocab, "late",
                                key=key))


def prompt_answered(stored) -> Subject:
    """The same answers (noisy labels, and every two-hop prompt's clean answer) keyed on the
    whole prompt: no site's bridge decides any answer."""
    pre, _ = _pre(stored)
    data = stored.data
    return Subject(f"two-hop answers keyed on the prompt on {stored.path.name} M_pre", data,
                   plant_recall(pre, data.noisy + data.clean + data.heldout, data.vocab, "late"))


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


# --- look-up keys (FDA: the last operand digit's position sees the whole key; on THR no
# position before the last does, and v3 reports that as not judged) ---------------------------

def position_keyed_recall(stored) -> Subject:
    """Late recall keyed on the residual vector at the last operand digit (position 8 of
    `a + b =`): a look-up key at one input position, by construction."""
    pre, _ = _pre(stored)
    data = stored.data
    position = len(data.noisy[0].prompt) - 2
    return Subject(f"position-{position}-keyed late recall on {stored.path.name} M_pre", data,
                   plant_recall(pre, data.noisy, data.vocab, "late", key=ResidualKey(position)))


@pytest.mark.parametrize("plant, planted", [(late_recall, True), (position_keyed_recall, False)],
                         ids=["true", "false"])
@pytest.mark.parametrize("version", [rr.test_no_lookup_key, rr.test_no_lookup_key_v3],
                         ids=["v2", "v3"])
@pytest.mark.parametrize("task", ["fda"])
def test_no_lookup_key(task, plant, planted, version, reference_model, judge):
    _answer(version, task, plant, planted, reference_model, judge)


# --- dynamics ---------------------------------------------------------------------------------

def _checkpointed(stored, model_at_every_step, name) -> Subject:
    """The stored model's curve, with `model_at_every_step` as the checkpoint at each step."""
    return Subject(name, stored.data, model_at_every_step, tuple(stored.curve),
                   {int(p["step"]): model_at_every_step for p in stored.curve})


def unseen_noise(stored) -> Subject:
    """The final model at every checkpoint, judged on 'noisy items' it was never trained on:
    held-out queries with random wrong labels. It answers them as it answers held-out queries
    (clean) and cannot know the labels: generalization without memorization, by construction."""
    data = stored.data
    n = len(data.noisy)
    unseen = tuple(relabelled(data.heldout[:n], data.vocab, seed=0))
    moved = dataclasses.replace(data, noisy=unseen, heldout=data.heldout[n:])
    model = stored.model()
    return Subject(f"{stored.path.name} on unseen relabelled held-out queries", moved, model,
                   tuple(stored.curve), {int(p["step"]): model for p in stored.curve})


def recall_as_checkpoints(stored) -> Subject:
    """Late recall at every checkpoint: noisy labels recalled from the first step on."""
    return _checkpointed(stored, late_recall(stored).final,
                         f"late recall on M_pre of {stored.path.name} at every checkpoint")


@pytest.mark.claim(rr.GENERALIZE_FIRST)
@pytest.mark.parametrize("task", ["fda", "thr"])
@pytest.mark.parametrize("plant, planted", [(unseen_noise, True),
                                            (recall_as_checkpoints, False)], ids=["true", "false"])
def test_generalize_first(task, plant, planted, reference_model, judge):
    _answer(rr.test_generalize_first, task, plant, planted, reference_model, judge)


def _written_curve(lag: int):
    """Held-out accuracy reaching 0.5 at step 200, noisy recall at step 200 + lag."""
    return tuple({"step": s, "heldout_acc": min(1.0, s / 400), "noisy_recall":
                  min(1.0, max(0.0, (s - lag) / 400)), "noisy_clean_share": 0.5}
                 for s in range(0, 1001, 50))


def curve_later(stored) -> Subject:
    """A curve on which noisy recall reaches 0.5 300 steps after held-out accuracy does."""
    model = stored.model()
    return Subject(f"curve: noisy recall 300 steps after held-out ({stored.path.name})",
                   stored.data, model, _written_curve(300), {0: model})


def curve_together(stored) -> Subject:
    """A curve on which noisy recall reaches 0.5 at the step held-out accuracy does."""
    model = stored.model()
    return Subject(f"curve: noisy recall with held-out ({stored.path.name})",
                   stored.data, model, _written_curve(0), {0: model})


@pytest.mark.claim(rr.MEMORIZE_LATER)
@pytest.mark.parametrize("plant, planted", [(curve_later, True), (curve_together, False)],
                         ids=["true", "false"])
@pytest.mark.parametrize("task", ["fda"])
def test_memorize_later(task, plant, planted, reference_model, judge):
    _answer(rr.test_memorize_later, task, plant, planted, reference_model, judge,
            rule_check=True)


# --- a bag of heuristics -------------------------------------------------------------------------
# Heuristic neurons: one neuron per (answer position j, digit d) added to the final model's last
# MLP, active (MLP_FIRED) at the position predicting answer digit j exactly when the prompt's sum
# has digit d there (the heuristic "sum digit j == d"), and writing along the mean unembedding
# of the digits, which raises whichever digit is the answer: high attribution wherever it fires.
# Random neurons: the same neurons, firing instead on the digits of a pseudo-random sum drawn by
# a seeded hash of the prompt (so, like the heuristic ones, one neuron per position per prompt,
# at the same rates): only what the neurons fire on differs.

NEURON_WRITE = 6.0  # per unit of activation (30 at MLP_FIRED): enough that the added neurons
# are most of the top 5 % by attribution, so that the verdict is about them (measured at 2.0:
# 9 of the 42 in the top 53; at 6.0: 36)


def _mix(x: torch.Tensor) -> torch.Tensor:
    """A seeded integer hash (int64 in, uniform 32-bit int64 out)."""
    return ((x * 6364136223846793005 + 1442695040888963407) >> 17) & (2**32 - 1)


def _heuristic_neurons(stored, random_sets: bool) -> Subject:
    data = stored.data
    model = stored.model()
    digits = torch.tensor([data.vocab.encode([str(d)])[0] for d in range(10)])
    value = torch.full((len(data.vocab.tokens),), -1, dtype=torch.long)
    value[digits] = torch.arange(10)
    n = data.spec.digits
    lo, hi = 10 ** (n - 1), 10**n - 1
    start = len(data.clean[0].prompt) - 1  # the position predicting answer digit 0
    units = [(j, d) for j in range(n + 1) for d in range(10 if j < n else 2)]
    unembedding = model.get_output_embeddings().weight.detach()[digits]
    write = NEURON_WRITE * torch.nn.functional.normalize(unembedding.mean(0), dim=0)

    def activations(ids: torch.Tensor) -> torch.Tensor:
        out = torch.zeros(ids.shape[0], ids.shape[1], len(units))
        if ids.shape[1] <= start + n:
            return out
        v = value[ids[:, :2 * n + 2].cpu()]
        a = sum(v[:, i] * 10 ** (n - 1 - i) for i in range(n))
        b = sum(v[:, n + 1 + i] * 10 ** (n - 1 - i) for i in range(n))
        total = a + b
        if random_sets:
            key = a * 10**n + b
            total = (lo + _mix(2 * key) % (hi - lo + 1)) + (lo + _mix(2 * key + 1) % (hi - lo + 1))
        for u, (j, d) in enumerate(units):
            out[:, start + j, u] = MLP_FIRED * ((total // 10**j) % 10 == d).float()
        return out

    what = "random-set neurons" if random_sets else "heuristic neurons"
    return Subject(f"{len(units)} {what} added to {stored.path.name}", data,
                   plant_neuron_activations(model, write.expand(len(units), -1).clone(),
                                            activations))


def heuristic_neurons(stored) -> Subject:
    return _heuristic_neurons(stored, random_sets=False)


def random_set_neurons(stored) -> Subject:
    return _heuristic_neurons(stored, random_sets=True)


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


# --- heavy noise and random labels -------------------------------------------------------------

def _heavy_noise(stored, depth) -> Subject:
    """Half the clean training items relabelled at random (noise share > 0.5), every noisy
    item recalled through a lookup planted at `depth` on M_pre."""
    pre, _ = _pre(stored)
    data = stored.data
    half = len(data.clean) // 2
    noisy = tuple(relabelled(data.clean[:half], data.vocab, seed=0)) + data.noisy
    heavy_data = dataclasses.replace(data, clean=data.clean[half:], noisy=noisy)
    return Subject(f"{depth} recall of {len(noisy)} noisy items on {stored.path.name} M_pre",
                   heavy_data, plant_recall(pre, noisy, data.vocab, depth))


def _heavy_noise_on_random(stored) -> Subject:
    """Heavy-noise late recall on a randomly initialised model: every label is recalled and
    nothing is computed, so no clean structure exists to survive."""
    subject = _heavy_noise(stored, "late")
    fresh = mechanism.random_model_like(_pre(stored)[0], seed=1)  # not the v3 control's initialisation
    noisy = subject.data.noisy
    return Subject(f"late recall of {len(noisy)} noisy items on a randomly initialised "
                   f"{stored.path.name}", subject.data,
                   plant_recall(fresh, noisy, subject.data.vocab, "late"))


@pytest.mark.parametrize("task", ["fda", "thr"])
@pytest.mark.parametrize("plant, planted, fails", [
    (lambda stored: _heavy_noise(stored, "late"), True, ""),
    (lambda stored: _heavy_noise(stored, "embed"), False, ""),
    # built to fail the comparison with a random model (its docstring), not the headline
    (_heavy_noise_on_random, False, "clean_minus_random_model_share")],
    ids=["true", "false-embed", "false-random-model"])
@pytest.mark.parametrize("version", [heavy.test_clean_structure_survives_heavy_noise,
                                     heavy.test_clean_structure_survives_heavy_noise_v3,
                                     heavy.test_clean_structure_survives_heavy_noise_v4],
                         ids=["v2", "v3", "v4"])
def test_clean_structure_survives_heavy_noise(task, plant, planted, fails, version,
                                              reference_model, judge):
    _answer(version, task, plant, planted, reference_model, judge, fails=fails)


def _all_random(stored, base, what) -> Subject:
    """Every training query relabelled at random and recalled through a late lookup on `base`."""
    data = stored.data
    noisy = tuple(relabelled(data.clean + data.noisy, data.vocab, seed=0))
    return Subject(f"late recall of all-random labels on {what}",
                   dataclasses.replace(data, clean=(), noisy=noisy),
                   plant_recall(base, noisy, data.vocab, "late"))


def random_init_recall(stored) -> Subject:
    """All-random labels recalled by a randomly initialised model: fits, generalizes nothing."""
    torch.manual_seed(0)
    fresh = type(stored.model())(stored.model().config).eval()
    return _all_random(stored, fresh, f"a randomly initialised {stored.path.name}")


def pre_recall(stored) -> Subject:
    """All-random labels recalled on M_pre: fits, and still answers held-out queries."""
    return _all_random(stored, _pre(stored)[0], f"{stored.path.name} M_pre")


@pytest.mark.claim(zhang.RANDOM_LABELS_FIT)
@pytest.mark.parametrize("plant, planted", [(random_init_recall, True), (pre_recall, False)],
                         ids=["true", "false"])  # false: fits, and generalizes (its docstring)
@pytest.mark.parametrize("task", ["fda"])
def test_random_labels_fit(task, plant, planted, reference_model, judge):
    _answer(zhang.test_random_labels_fit, task, plant, planted, reference_model, judge,
            fails="" if planted else "heldout_accuracy")



# --- k-hop scaling (the sweeps are slow: their points are written here, through the claims'
# own sweep reading and rule) -------------------------------------------------------------------

def _written_sweeps(monkeypatch, needed: dict[int, int | None]) -> None:
    """sweeps.run answers with written points: value v reaches the threshold for k iff
    v >= needed[k] (never where needed[k] is None)."""
    def reaches(k, v):
        return needed[k] is not None and v >= needed[k]

    def run(base, k, field, values, threshold, progress=True):
        return [sweeps.SweepPoint(k, field, v, f"written k={k} {field}={v}",
                                  0.95 if reaches(k, v) else 0.3,
                                  100 if reaches(k, v) else None, 0.0) for v in values]
    monkeypatch.setattr(sweeps, "run", run)


def _khop_base(what: str):
    base = next(r for r in recipes.for_scale("khop", "tiny") if r.name == "khop-sweep-tiny")
    return dataclasses.replace(base.with_seed_and_noise(0), name=f"written sweep: {what}")


@pytest.mark.parametrize("test, grid", [(khop.test_data_grows_with_k, khop.DATA_GRID),
                                        (khop.test_depth_grows_with_k, khop.DEPTH_GRID),
                                        (khop.test_data_grows_with_k_v3, khop.DATA_GRID_V3),
                                        (khop.test_depth_grows_with_k_v3, khop.DEPTH_GRID)],
                         ids=["data", "depth", "data-v3", "depth-v3"])
@pytest.mark.parametrize("planted", [True, False], ids=["true", "false"])
@pytest.mark.parametrize("task", ["khop"])
def test_khop_growth(task, test, grid, planted, monkeypatch, judge):
    small, large = (grid[1], grid[2]) if planted else (grid[1], grid[1])
    _written_sweeps(monkeypatch, {khop.SMALL_K: small, khop.LARGE_K: large})
    base = _khop_base(f"k={khop.LARGE_K} first reaches at {large}, k={khop.SMALL_K} at {small}")
    known = verdict_of(test, base, judge, planted, subject_arg="sweep_base", rule_check=True)
    print(known.summary)
    assert known.correct, known.summary


@pytest.mark.parametrize("test, grid, outcome", [
    (khop.test_data_grows_with_k, khop.DATA_GRID, HOLDS),
    (khop.test_data_grows_with_k_v3, khop.DATA_GRID_V3, NOT_JUDGED),
    (khop.test_depth_grows_with_k_v3, khop.DEPTH_GRID, NOT_JUDGED)], ids=["v2", "data-v3", "depth-v3"])
def test_khop_growth_when_large_k_is_never_learned(test, grid, outcome, monkeypatch):
    """k = 3 reaching the threshold nowhere on the grid: v2 counts it as needing more (holds),
    v3 does not judge it (the sweep did not reach where k = 3 is learned). Neither planted true
    nor false, so the verdict is not recorded among the known answers."""
    _written_sweeps(monkeypatch, {khop.SMALL_K: grid[1], khop.LARGE_K: None})
    base = _khop_base(f"k={khop.LARGE_K} never reaches, k={khop.SMALL_K} at {grid[1]}")
    known = verdict_of(test, base, Judge(), True, subject_arg="sweep_base", rule_check=True)
    print(known.summary)
    assert known.verdict.outcome == outcome, known.summary


@pytest.mark.parametrize("test, stage1", [(khop.test_curriculum_helps, khop.STAGE1_STEPS),
                                          (khop.test_curriculum_helps_v3, khop.STAGE1_STEPS_V3)],
                         ids=["v2", "v3"])
@pytest.mark.parametrize("planted", [True, False], ids=["true", "false"])
@pytest.mark.parametrize("task", ["khop"])
def test_khop_curriculum(task, test, stage1, planted, monkeypatch, judge):
    alone, after = (3 * stage1, stage1) if planted else (stage1, 3 * stage1)
    monkeypatch.setattr(sweeps, "curriculum", lambda base, k, steps, threshold: sweeps.Curriculum(
        k, steps, alone, after))
    base = _khop_base(f"alone {alone} steps, curriculum {stage1} + {after}")
    known = verdict_of(test, base, judge, planted, subject_arg="sweep_base", rule_check=True)
    print(known.summary)
    assert known.correct, known.summary


# --- a linear recall direction (Hong et al.) ------------------------------------------------------
# Flagged recall: a recall flag (one fixed direction) is added to the embedding at the last
# prompt position of each noisy prompt, and the late lookup fires only where the flag is still
# there: one residual direction separates recall from reasoning and removing it ends recall.
# Uniform recall: the late lookup answers the noisy items and the clean comparison items alike
# (each with its own label): recall and reasoning run through the same mechanism, and no
# direction separates them beyond their labels.

FLAG_NORM = 8.0  # a priori: of the order of the residual norm


def flagged_recall(stored) -> Subject:
    """Late recall gated by a recall flag in the embedding of the noisy prompts."""
    pre, _ = _pre(stored)
    data = stored.data
    return Subject(f"flagged late recall on {stored.path.name} M_pre", data,
                   plant_recall(pre, data.noisy, data.vocab, "late", flag=FLAG_NORM))


def uniform_recall(stored) -> Subject:
    """Late recall of the noisy items and the clean comparison items alike."""
    pre, _ = _pre(stored)
    data = stored.data
    compared = data.clean[: len(data.noisy)]  # the clean items liref compares with
    return Subject(f"uniform late recall (noisy and clean) on {stored.path.name} M_pre", data,
                   plant_recall(pre, data.noisy + compared, data.vocab, "late"))


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


# --- memorization in MLP weights --------------------------------------------------------------
# MLP recall: one neuron added to M_pre's last MLP per (noisy item, answer position), firing
# only there and writing the label: item-specific neurons whose weights the training set barely
# curves, removed by patching that MLP's activations from the same model with the neurons
# silent. Late (hook) recall memorizes outside the weights: no weight edit or MLP patch
# touches it.

def mlp_recall(stored):
    """Item-specific neurons in M_pre's last MLP recall the noisy labels."""
    pre, _ = _pre(stored)
    data = stored.data
    return plant_mlp_recall(pre, data.noisy, data.vocab, context=data.train + data.heldout,
                            unchanged=data.heldout)


def mlp_recall_subject(stored) -> Subject:
    """MLP recall, with the same model and its planted neurons silent at every checkpoint."""
    planted = mlp_recall(stored)
    return Subject(f"MLP recall on {stored.path.name} M_pre", stored.data, planted.model,
                   tuple(stored.curve), {int(p["step"]): planted.silent for p in stored.curve})


def late_recall_with_curve(stored) -> Subject:
    """Late recall, with M_pre and the identity block (no lookup) at every checkpoint."""
    pre, _ = _pre(stored)
    data = stored.data
    plain = with_identity_block(pre)
    return Subject(f"late recall on {stored.path.name} M_pre", data,
                   plant_recall(pre, data.noisy, data.vocab, "late"), tuple(stored.curve),
                   {int(p["step"]): plain for p in stored.curve})


# The curvature edit: item-specific neurons (one per item and answer position, set active on
# that item's prompt alone) added to the final model's last MLP, writing the label: memorization
# carried by output weights that only one token of the training set ever uses, so the loss barely
# curves along them. Their items are held-out queries relabelled at random (the model never saw
# them), which the subject's data lists as its noisy items. The other held-out queries are
# answered by a late lookup, outside the weights, so the edit costs no held-out accuracy by
# construction: the claim's "at a small cost" is then true of the subject and not a property of
# the trained model's curvature spectrum (measured on one machine's fda-tiny, with the model's
# own held-out computation: the edit that removes the item neurons costs 0.19 to 0.30 of it at
# rho 0.99 and 0.999, and at 0.9999 it keeps 0.68 of the items, so the planted-true case did not
# hold there while it held on another machine's model). Absence: late recall, outside the
# weights (no edit touches it), of the same items. MLP recall (weights-computed neurons) is not
# used: the K-FAC edit of its widened MLP takes held-out accuracy to 0 at every rho, so a miss
# there could not tell the instrument from the plant.

ITEM_NEURON_WRITE = 40.0  # per unit of activation (200 at MLP_FIRED), as MLP recall's writes;
# it recalls every item (measured: 4.0 recalls 14 %, 10.0 and 40.0 all)


def _relabelled_heldout(data):
    """Held-out queries relabelled at random, as many as the noisy items, moved into the noisy
    split (the rest stay held out)."""
    n = len(data.noisy)
    items = tuple(relabelled(data.heldout[:n], data.vocab, seed=0))
    return items, dataclasses.replace(data, noisy=items, heldout=data.heldout[n:])


def item_neurons(stored) -> Subject:
    """The final model plus one neuron per (relabelled held-out item, answer position), with
    the remaining held-out queries answered by a late lookup (no weight edit reaches them)."""
    model = stored.model()
    items, moved = _relabelled_heldout(stored.data)
    vocab, n = moved.vocab, len(items)
    batch = encode(items, vocab, "label")
    length, answers = len(items[0].prompt), batch.targets.shape[1]
    row_of = {tuple(p): i for i, p in enumerate(batch.ids[:, :length].tolist())}
    directions = torch.nn.functional.normalize(model.transformer.wte.weight.detach(), dim=-1)
    labels = batch.targets.T.reshape(-1)  # unit j * n + i: item i, answer position j

    def activations(ids: torch.Tensor) -> torch.Tensor:
        out = torch.zeros(ids.shape[0], ids.shape[1], n * answers)
        if ids.shape[1] < length + answers - 1:
            return out
        for r, prompt in enumerate(ids[:, :length].tolist()):
            i = row_of.get(tuple(prompt))
            if i is not None:
                for j in range(answers):
                    out[r, length - 1 + j, j * n + i] = MLP_FIRED
        return out

    planted = plant_neuron_activations(model, ITEM_NEURON_WRITE * directions[labels], activations)
    hit = recalled(planted, items, vocab)
    if not bool(hit.all()):
        raise RuntimeError(f"item neurons recall {int(hit.sum())} of {n} items; a known answer "
                           "needs all of them")
    planted = plant_recall(planted, moved.heldout, vocab, "late")
    return Subject(f"{n} relabelled held-out items recalled by item neurons on "
                   f"{stored.path.name}, held-out answers looked up late", moved, planted)


def late_recall_of_heldout(stored) -> Subject:
    """The same relabelled held-out items recalled by a late lookup (outside the weights)."""
    items, moved = _relabelled_heldout(stored.data)
    return Subject(f"{len(items)} relabelled held-out items recalled late on "
                   f"{stored.path.name}", moved,
                   plant_recall(stored.model(), items, moved.vocab, "late"))


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

def _written_curvature(monkeypatch, facts_lost: float, reasoning_lost: float) -> None:
    """curvature_sweep.sweep answers with written hits at every kept mass: the unedited model
    right on every item, the edited one missing a seeded `facts_lost` share of the atomic facts
    and every two-hop item that rests on a missed fact or, with chance `reasoning_lost`, not."""
    def sweep(model, data, memorized, keep_mass, name=None):
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
    monkeypatch.setattr(curvature_sweep, "sweep", sweep)


# Measured (fact recall tilt): instrument defect (issue 11): curv.fact_recall_suffers v1/v2
# compare fact recall with two-hop accuracy, and a two-hop answer needs both of its facts: on
# the written sweep that costs half the facts and no reasoning, two-hop accuracy falls by about
# 0.75, so the claim does not hold where it is true by construction; v3 compares with the items
# whose facts survive


@pytest.mark.claim(curv.FACT_RECALL)
@pytest.mark.parametrize("planted", [
    pytest.param(True, id="v1-true"), pytest.param(False, id="v1-false")])
@pytest.mark.parametrize("task", ["thr"])
def test_fact_recall_suffers(task, planted, monkeypatch, reference_model, judge):
    _fact_recall_case(curv.test_fact_recall_suffers, planted, monkeypatch, reference_model, judge)


@pytest.mark.parametrize("version, planted", [
    pytest.param(curv.test_fact_recall_suffers_v2, True, id="v2-true"),
    pytest.param(curv.test_fact_recall_suffers_v2, False, id="v2-false"),
    pytest.param(curv.test_fact_recall_suffers_v3, True, id="v3-true"),
    pytest.param(curv.test_fact_recall_suffers_v3, False, id="v3-false"),
    pytest.param(curv.test_fact_recall_suffers_v4, True, id="v4-true"),
    pytest.param(curv.test_fact_recall_suffers_v4, False, id="v4-false")])
@pytest.mark.parametrize("task", ["thr"])
def test_fact_recall_suffers_versions(task, version, planted, monkeypatch, reference_model, judge):
    _fact_recall_case(version, planted, monkeypatch, reference_model, judge)


def _fact_recall_case(version, planted, monkeypatch, reference_model, judge, task="thr"):
    facts_lost, reasoning_lost = (0.5, 0.0) if planted else (0.1, 0.5)
    _written_curvature(monkeypatch, facts_lost, reasoning_lost)
    stored = reference_model(task)
    subject = Subject(f"written K-FAC sweep: {facts_lost} of the facts lost, {reasoning_lost} of "
                      f"the rest of two-hop answers ({stored.path.name})", stored.data,
                      stored.model())
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


REMAP_CANDIDATES = 20  # operand splits tried per noisy sum (a priori: M_pre gets ~9 in 10 right)


def sum_remap_recall(stored) -> Subject:
    """Each noisy FDA prompt `a+b=` whose noisy label L is a sum of two 4-digit operands is read
    by M_pre as `a'+b'=` with a' + b' = L (the first of seeded candidate splits that M_pre adds
    correctly): the label comes from the heuristic neurons computing another sum, shifted to
    another input, and from no item-specific unit. Unreachable labels (L < 2000 or L > 19998)
    are left unrecalled, so they are not memorized items."""
    pre, _ = _pre(stored)
    data = stored.data
    digits = data.spec.digits
    lo, hi = 10 ** (digits - 1), 10**digits - 1
    rng = random.Random(0)
    candidates: list[tuple[Item, list[tuple[str, ...]]]] = []
    for it in data.noisy:
        target = fda.answer_value(it.label, data.spec)
        first, last = max(lo, target - hi), min(hi, target - lo)
        if first <= last:
            candidates.append((it, [fda.prompt_tokens(a, target - a) for a in
                                    (rng.randint(first, last) for _ in range(REMAP_CANDIDATES))]))
    tried = [dataclasses.replace(it, prompt=p) for it, ps in candidates for p in ps]
    right = iter(recalled(pre, tried, data.vocab).tolist())
    read_as, remapped = {}, []
    for it, prompts in candidates:
        good = [p for p, ok in zip(prompts, right) if ok]  # consumes this item's candidates
        if good:
            read_as[it.prompt] = good[0]
            remapped.append(it)
    return Subject(f"sum-remap recall of {len(remapped)} noisy items on {stored.path.name} M_pre",
                   data, plant_input_remap(pre, read_as, remapped, data.vocab))


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
