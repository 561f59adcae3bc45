"""The planted subjects the known-answer cases judge: each builds, from a stored reference model
(the tiny recipe of its task, seed 0), a model whose answer to a claim is known by construction.

A plant function takes the stored model and returns a suite.validate.planted.Subject (a planted
model dressed as a store entry), so a claim's own test runs on it unchanged, with the claim's own
gates (issue 39: a plant must be a model that learned and memorized). Most plant into the
stored model itself (`_base`), which learned (the gates hold on it), judged on held-out queries
relabelled at random, which it never saw, as its noisy items: every noisy label the subject
recalls is recalled by the plant alone, and it must recall every planted item (`_subject`; a
plant that cannot plant some names why, and they leave the subject's data), so it meets
"memorized", and "learned" on the base's own held-out answers
(except where a plant answers every held-out query by a lookup: the item neurons and the two-hop
answers keyed on the bridge or the prompt, on which "learned" tests the lookup). Subjects that a
claim reads along training have the stored model's checkpoint steps, each holding the
subject's own checkpoint model, and a curve of that model's accuracies on the subject's data:
one model at every step, so the step a claim picks (generalize_first's first checkpoint at
held-out 0.8, M_pre) is recorded but arbitrary, and these cases do not test how it is picked.
The plants of the claims that ask no gate (heavy noise, random labels) go into M_pre, the
checkpoint that generalized before it memorized. Each docstring says what the plant makes true
or false. The mechanics (hooks,
lookups, added neurons, and the checks that every planted item is recalled) are in
suite.validate.planted. Which claim reads which plant is in the claim's record (Claim.known, by
the names in PLANTS), and docs/CLAIMS.md ("Known answers") tables them. A few subjects are no
plant: the model of a recipe built to memorize first (memorized_first), and written curves and
sweeps for rule checks. Plant strengths (NEURON_WRITE, FLAG_NORM,
ITEM_NEURON_WRITE) are set in the units of the base model's activations, as their comments say.
"""

from __future__ import annotations

import dataclasses
import inspect
import random
from typing import Any, Callable, Sequence

import torch

from suite.interp import probes
from suite.interp.hooks import resid_sites
from suite.judge.gates import measured_numbers
from suite.measure import curvature_sweep, mechanism, sweeps
from suite.measure.itemsets import recalled
from suite.tasks import Item, TaskData, fda, unknown
from suite.train import dynamics
from suite.train.batching import encode
from suite.validate.planted import (MLP_FIRED, ReadoutKey, ResidualKey, Subject,
                                    plant_input_remap, plant_mlp_recall,
                                    plant_neuron_activations, plant_recall, relabelled,
                                    with_identity_block)


def _pre(stored):
    """M_pre of a stored model, and its step."""
    step = dynamics.pre_memorization_step(stored.curve)
    assert step is not None, f"{stored.name}: no M_pre on its curve; no base to plant into"
    return stored.checkpoint(step), step


def _base(stored) -> tuple[torch.nn.Module, TaskData]:
    """The model most plants go into, and the data their subjects are judged on: the stored
    model itself (it learned: its gates hold), with held-out queries relabelled at random as the
    noisy items (as many as it has; it never saw them, so nothing it computes recalls their
    labels) and its own noisy items dropped (it memorized those, and a planted answer must come
    from the plant alone). The rest of the held-out queries stay held out."""
    data = stored.data
    n = len(data.noisy)
    items = tuple(relabelled(data.heldout[:n], data.vocab, seed=0))
    return stored.model(), dataclasses.replace(data, noisy=items, heldout=data.heldout[n:])


def _subject(name: str, data: TaskData, model: torch.nn.Module, *, drops: str = "",
             checkpoint: torch.nn.Module | None = None, steps: Sequence[int] = ()) -> Subject:
    """The subject `model` on `data`, whose noisy items are the planted items. Every one must be
    recalled (RuntimeError otherwise: a plant that did not take is no known answer), except
    where the plant says which it cannot plant (`drops`: why, e.g. keys that clash): those are
    no memorized items, so they leave the subject's data and its name says how many did.
    checkpoint: the model at each of `steps` (the stored model's checkpoint steps), with a
    curve of its own accuracies on the subject's data at every step, so the curve describes
    the checkpoints the claims read."""
    hit = recalled(model, data.noisy, data.vocab).tolist()
    kept = tuple(it for it, h in zip(data.noisy, hit) if h)
    if len(kept) < len(data.noisy):
        if not drops:
            raise RuntimeError(f"{name}: the plant recalls {len(kept)} of its "
                               f"{len(data.noisy)} items; a known answer needs all of them")
        name += f" ({len(kept)} of {len(data.noisy)} planted items recalled; the rest {drops})"
    data = dataclasses.replace(data, noisy=kept)
    if checkpoint is None:
        return Subject(name, data, model)
    accuracies = {k: v for k, v in measured_numbers(checkpoint, data).items() if k != "n"}
    return Subject(name, data, model, tuple({"step": s, **accuracies} for s in steps),
                   {s: checkpoint for s in steps})


def _steps(stored: Any) -> list[int]:
    """The steps of the stored model's training curve."""
    return [int(p["step"]) for p in stored.curve]


CLASHING_KEYS = "share a key with an item of another label"


def late_recall(stored) -> Subject:
    """The base plus an added identity block whose prompt-keyed lookup writes every noisy
    label: whatever the base computes is intact at every site; the label appears only at the
    last."""
    base, data = _base(stored)
    return _subject(f"late recall on {stored.path.name}", data,
                    plant_recall(base, data.noisy, data.vocab, "late"))


def embed_recall(stored) -> Subject:
    """The lookup written into the embedding: the label fills every site, and nothing the
    base computes reaches the answer positions."""
    base, data = _base(stored)
    return _subject(f"embed recall on {stored.path.name}", data,
                    plant_recall(base, data.noisy, data.vocab, "embed"))


def early_override(stored) -> Subject:
    """Late recall that also writes the label at the first block's output: the noisy label
    wins in the first layer, before the computed answer shows: an early override."""
    base, data = _base(stored)
    return _subject(f"early and late recall on {stored.path.name}", data,
                    plant_recall(base, data.noisy, data.vocab, "late", early=True))


def bridge_keyed_recall(stored, position: int = 1) -> Subject:
    """Late recall keyed on the bridge entity read at `position` (1: r1, 2: r2; by a probe
    fitted on clean items at the residual entering the plant), the head entity token and the r2
    token: recall that reads the intermediate result, by construction. The head entity is in
    the key (a priori) so that the lookup answers its item and not every query whose bridge
    and r2 it shares: in THR those have one answer, and a key on bridge and r2 alone would
    answer them all with the noisy label, so the subject would no longer answer held-out
    queries as its base does."""
    base, data = _base(stored)
    last = resid_sites(base)[-1]
    fit = data.clean[:3000]
    features = mechanism.prompt_features(base, fit, data.vocab, position)[last]
    probe = probes.train_probe(features, mechanism.bridges(fit))
    key = ReadoutKey(probe, position=position, token_positions=(0, 2))
    return _subject(f"bridge-at-{position}-keyed late recall on {stored.path.name}", data,
                    plant_recall(base, data.noisy, data.vocab, "late", key=key),
                    drops=CLASHING_KEYS)


# FDA intermediate patching: recall keyed on the sum digits the base computes (read by a probe
# per answer position at the residual entering the late plant), so patching a column's digits
# from an item whose column sum differs changes the key and ends recall, and from one whose
# column sum is the same does not: recall that reads the intermediate, by construction.

def sum_keyed_recall(stored) -> Subject:
    """Late recall keyed on the answer digits the base computes."""
    base, data = _base(stored)
    last = resid_sites(base)[-1]
    fit = encode(data.clean[:3000], data.vocab, "label")
    acts = mechanism.answer_features(base, fit, [last])[last]  # [N, A, D]
    readers = [probes.train_probe(acts[:, j], fit.targets[:, j]) for j in range(acts.shape[1])]
    answer = fit.positions[0].tolist()  # FDA answer positions are the same for every item

    def computed_sum(hidden, ids):
        if hidden.shape[1] <= answer[-1]:  # a prompt run without its answer: nothing to read
            return [None] * len(hidden)
        read = torch.stack([r.predict(hidden[:, p]) for r, p in zip(readers, answer)], 1)
        return [tuple(row) for row in read.tolist()]
    return _subject(f"sum-keyed late recall on {stored.path.name}", data,
                    plant_recall(base, data.noisy, data.vocab, "late", key=computed_sum),
                    drops=CLASHING_KEYS)


def bridge_at_r2_keyed_recall(stored) -> Subject:
    return bridge_keyed_recall(stored, position=2)


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
    labels recalled by prompt."""
    base, data = _base(stored)
    fit = data.clean[:3000]
    features = mechanism.prompt_features(base, fit, data.vocab, 2)[resid_sites(base)[-1]]
    probe = probes.train_probe(features, mechanism.bridges(fit))
    key = _prompt_or(ReadoutKey(probe, position=2, token_positions=(2,)), data.noisy, data.vocab)
    return _subject(f"two-hop answers keyed on the bridge at r2 on {stored.path.name}", data,
                    plant_recall(base, data.noisy + data.clean + data.heldout, data.vocab,
                                 "late", key=key))


def prompt_answered(stored) -> Subject:
    """The same answers (noisy labels, and every two-hop prompt's clean answer) keyed on the
    whole prompt: no site's bridge decides any answer."""
    base, data = _base(stored)
    return _subject(f"two-hop answers keyed on the prompt on {stored.path.name}", data,
                    plant_recall(base, data.noisy + data.clean + data.heldout, data.vocab,
                                 "late"))


# --- look-up keys (FDA: the last operand digit's position sees the whole key; on THR no
# position before the last does, and v3 reports that as not judged) ---------------------------

def position_keyed_recall(stored) -> Subject:
    """Late recall keyed on the residual vector at the last operand digit (position 8 of
    `a + b =`): a look-up key at one input position, by construction."""
    base, data = _base(stored)
    position = len(data.noisy[0].prompt) - 2
    return _subject(f"position-{position}-keyed late recall on {stored.path.name}", data,
                    plant_recall(base, data.noisy, data.vocab, "late", key=ResidualKey(position)))


# --- dynamics ---------------------------------------------------------------------------------

def unseen_noise(stored) -> Subject:
    """The base at every checkpoint, and as the final model the base with the noisy items (held-
    out queries it never saw, relabelled at random) recalled by a late lookup: until the end it
    answers them as it answers held-out queries (clean) and cannot know their labels; it
    memorizes them last. Generalization first, by construction."""
    base, data = _base(stored)
    return _subject(f"{stored.path.name} at every checkpoint, relabelled held-out queries "
                    "recalled late at the end", data,
                    plant_recall(base, data.noisy, data.vocab, "late"),
                    checkpoint=base, steps=_steps(stored))


def recall_as_checkpoints(stored) -> Subject:
    """Late recall at every checkpoint: noisy labels recalled from the first step on."""
    base, data = _base(stored)
    planted = plant_recall(base, data.noisy, data.vocab, "late")
    return _subject(f"late recall on {stored.path.name} at every checkpoint", data, planted,
                    checkpoint=planted, steps=_steps(stored))


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


# --- a bag of heuristics -------------------------------------------------------------------------
# Heuristic neurons: one neuron per (answer position j, digit d) added to the final model's last
# MLP, active (MLP_FIRED) at the position predicting answer digit j exactly when the prompt's sum
# has digit d there (the heuristic "sum digit j == d"), and writing along the mean unembedding
# of the digits: high attribution wherever it fires. One neuron fires at every answer position,
# so the write is one vector added at each of them, which does not raise the answer's digit
# alone (measured with the claim's gates, issue 39: fda-tiny seed 0's held-out accuracy falls
# from 0.983 to 0.727 with either set, so both subjects miss the gate "learned" and
# heur.bag_of_heuristics.v3 is not validated on FDA; a write that leaves the base's answers
# intact is a new plant, for a new version).
# Random neurons: the same neurons, firing instead on the digits of a pseudo-random sum drawn by
# a seeded hash of the prompt (so, like the heuristic ones, one neuron per position per prompt,
# at the same rates): only what the neurons fire on differs.

NEURON_WRITE = 6.0  # per unit of activation (30 at MLP_FIRED): enough that the added neurons
# are most of the top 5 % by attribution, so that the verdict is about them (measured at 2.0:
# 9 of the 42 in the top 53; at 6.0: 36)


def _mix(x: torch.Tensor) -> torch.Tensor:
    """A seeded integer hash (int64 in, uniform 32-bit int64 out)."""
    return ((x * 6364136223846793005 + 1442695040888963407) >> 17) & (2**32 - 1)


def _strength(value: float, default: float) -> str:
    """A subject name's note of a plant strength other than its a priori one."""
    return "" if value == default else f" (strength {value:g}, a priori {default:g})"


def _heuristic_neurons(stored, random_sets: bool, write_scale: float = NEURON_WRITE) -> Subject:
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
    write = write_scale * torch.nn.functional.normalize(unembedding.mean(0), dim=0)

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
    return Subject(f"{len(units)} {what} added to {stored.path.name}"
                   f"{_strength(write_scale, NEURON_WRITE)}", data,
                   plant_neuron_activations(model, write.expand(len(units), -1).clone(),
                                            activations))


def heuristic_neurons(stored, write: float = NEURON_WRITE) -> Subject:
    return _heuristic_neurons(stored, random_sets=False, write_scale=write)


def random_set_neurons(stored, write: float = NEURON_WRITE) -> Subject:
    return _heuristic_neurons(stored, random_sets=True, write_scale=write)


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


def heavy_noise_late_recall(stored) -> Subject:
    """Heavy noise recalled by a late lookup: M_pre's clean structure intact."""
    return _heavy_noise(stored, "late")


def heavy_noise_embed_recall(stored) -> Subject:
    """Heavy noise recalled through the embedding: no clean structure reaches the answer."""
    return _heavy_noise(stored, "embed")


def heavy_noise_on_random(stored) -> Subject:
    """Heavy-noise late recall on a randomly initialised model: every label is recalled and
    nothing is computed, so no clean structure exists to survive."""
    subject = _heavy_noise(stored, "late")
    fresh = mechanism.random_model_like(_pre(stored)[0], seed=1)  # not the v3 control's initialisation
    noisy = subject.data.noisy
    return Subject(f"late recall of {len(noisy)} noisy items on a randomly initialised "
                   f"{stored.path.name}", subject.data,
                   plant_recall(fresh, noisy, subject.data.vocab, "late"))


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


# --- a linear recall direction (Hong et al.) ------------------------------------------------------
# Flagged recall: a recall flag (one fixed direction) is added to the embedding at the last
# prompt position of each noisy prompt, and the late lookup fires only where the flag is still
# there: one residual direction separates recall from reasoning and removing it ends recall.
# Uniform recall: the late lookup answers the noisy items and the clean comparison items alike
# (each with its own label): recall and reasoning run through the same mechanism, and no
# direction separates them beyond their labels.

FLAG_NORM = 8.0  # a priori: of the order of the residual norm


def flagged_recall(stored, flag: float = FLAG_NORM) -> Subject:
    """Late recall gated by a recall flag (of norm `flag`) in the embedding of the noisy
    prompts."""
    base, data = _base(stored)
    return _subject(f"flagged late recall on {stored.path.name}{_strength(flag, FLAG_NORM)}",
                    data, plant_recall(base, data.noisy, data.vocab, "late", flag=flag))


def uniform_recall(stored) -> Subject:
    """Late recall of the noisy items and the clean comparison items alike."""
    base, data = _base(stored)
    compared = data.clean[: len(data.noisy)]  # the clean items liref compares with
    return _subject(f"uniform late recall (noisy and clean) on {stored.path.name}", data,
                    plant_recall(base, data.noisy + compared, data.vocab, "late"))


# --- memorization in MLP weights --------------------------------------------------------------
# MLP recall: one neuron added to the base's last MLP per (noisy item, answer position), firing
# only there and writing the label: item-specific neurons whose weights the training set barely
# curves, removed by patching that MLP's activations from the same model with the neurons
# silent. Late (hook) recall memorizes outside the weights: no weight edit or MLP patch
# touches it.

def mlp_recall_subject(stored) -> Subject:
    """Item-specific neurons in the base's last MLP recall the noisy labels; the same model
    with its planted neurons silent at every checkpoint."""
    base, data = _base(stored)
    planted = plant_mlp_recall(base, data.noisy, data.vocab, context=data.train + data.heldout,
                               unchanged=data.heldout)
    return _subject(f"MLP recall on {stored.path.name}", data, planted.model,
                    checkpoint=planted.silent, steps=_steps(stored))


def late_recall_with_curve(stored) -> Subject:
    """Late recall, with the base and the identity block (no lookup) at every checkpoint."""
    base, data = _base(stored)
    return _subject(f"late recall on {stored.path.name}", data,
                    plant_recall(base, data.noisy, data.vocab, "late"),
                    checkpoint=with_identity_block(base), steps=_steps(stored))


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


def item_neurons(stored, write: float = ITEM_NEURON_WRITE) -> Subject:
    """The base plus one neuron per (relabelled held-out item, answer position), with the
    remaining held-out queries answered by a late lookup (no weight edit reaches them)."""
    base, data = _base(stored)
    items = data.noisy
    vocab, n = data.vocab, len(items)
    batch = encode(items, vocab, "label")
    length, answers = len(items[0].prompt), batch.targets.shape[1]
    row_of = {tuple(p): i for i, p in enumerate(batch.ids[:, :length].tolist())}
    directions = torch.nn.functional.normalize(base.transformer.wte.weight.detach(), dim=-1)
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

    planted = plant_neuron_activations(base, write * directions[labels], activations)
    planted = plant_recall(planted, data.heldout, vocab, "late")  # recalls no planted item
    return _subject(f"{n} relabelled held-out items recalled by item neurons on "
                    f"{stored.path.name}, held-out answers looked up late"
                    f"{_strength(write, ITEM_NEURON_WRITE)}", data, planted)


def late_recall_of_heldout(stored) -> Subject:
    """The same relabelled held-out items recalled by a late lookup (outside the weights)."""
    base, data = _base(stored)
    return _subject(f"{len(data.noisy)} relabelled held-out items recalled late on "
                    f"{stored.path.name}", data,
                    plant_recall(base, data.noisy, data.vocab, "late"))


REMAP_CANDIDATES = 20  # operand splits tried per noisy sum (a priori, set when the base was M_pre:
# it got ~9 in 10 sums right)


def sum_remap_recall(stored) -> Subject:
    """Each noisy FDA prompt `a+b=` whose noisy label L is a sum of two 4-digit operands is read
    by the base as `a'+b'=` with a' + b' = L (the first of seeded candidate splits that the base
    adds correctly): the label comes from the heuristic neurons computing another sum, shifted
    to another input, and from no item-specific unit. Unreachable labels (L < 2000 or
    L > 19998) are left unrecalled, so they are not memorized items (`_subject` drops them)."""
    base, data = _base(stored)
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
    right = iter(recalled(base, tried, data.vocab).tolist())
    read_as, remapped = {}, []
    for it, prompts in candidates:
        good = [p for p, ok in zip(prompts, right) if ok]  # consumes this item's candidates
        if good:
            read_as[it.prompt] = good[0]
            remapped.append(it)
    return _subject(f"sum-remap recall on {stored.path.name}", data,
                    plant_input_remap(base, read_as, remapped, data.vocab),
                    drops=f"have labels that none of the {REMAP_CANDIDATES} operand splits "
                          "tried reaches with a sum the base adds right")


# --- trained and written subjects ----------------------------------------------------------------

def memorized_first(stored):
    """The reference model itself, trained on a recipe built to memorize first
    (models/memorize-first-<task>-tiny.toml, chosen by its curve: benchmarks/memorize_first.py):
    noisy recall reaches 0.5 at an earlier evaluation than held-out accuracy does (and both
    do). That order is checked here, as every plant checks that it took; the gates are the
    claim's, which a case on a trained model applies. Generalization does not come first on it,
    so the dynamics claims must not hold."""
    noisy = dynamics.first_step(stored.curve, "noisy_recall", 0.5)
    held = dynamics.first_step(stored.curve, "heldout_acc", 0.5)
    if noisy is None or held is None or held <= noisy:
        raise RuntimeError(f"{stored.name}: noisy recall reaches 0.5 at step {noisy}, held-out "
                           f"accuracy at step {held}: this model did not memorize first, so it "
                           "is no known answer")
    return stored


def _khop_base(what: str, needed: dict[int, int | None] | None = None,
               steps: tuple[int | None, int | None] = (None, None)) -> sweeps.Written:
    """The k-hop sweep base recipe (khop-sweep-tiny, seed 0) with written outcomes: k reaches
    the threshold from needed[k] on; the curriculum takes `steps` (alone, after the first
    stage)."""
    from suite.train import recipes

    base = next(r for r in recipes.for_scale("khop", "tiny") if r.name == "khop-sweep-tiny")
    return sweeps.Written(dataclasses.replace(base.with_seed_and_noise(0),
                                              name=f"written sweep: {what}"),
                          needed or {}, steps)


def written_growth(small_k: int, small_at: int | None, large_k: int,
                   large_at: int | None) -> sweeps.Written:
    """A written k-hop sweep: k = small_k first reaches the threshold at grid value small_at,
    k = large_k at large_at (None: nowhere on the grid)."""
    def at(value: int | None) -> str:
        return "nowhere" if value is None else f"at {value}"

    return _khop_base(f"k={large_k} first reaches {at(large_at)}, k={small_k} {at(small_at)}",
                      {small_k: small_at, large_k: large_at})


def written_curriculum(alone: int, after: int) -> sweeps.Written:
    """A written curriculum: `alone` steps to the threshold from scratch, `after` steps after
    the first stage."""
    return _khop_base(f"alone {alone} steps, curriculum {after} steps after the first stage",
                      steps=(alone, after))


def written_curvature(stored, facts_lost: float, reasoning_lost: float) -> Subject:
    """A written K-FAC sweep of the THR reference model (Subject.written_sweep): the unedited
    model right on every item; the edited one, at every kept mass, missing a seeded
    `facts_lost` share of the atomic facts and every two-hop item that rests on a missed fact
    or, with chance `reasoning_lost`, not."""
    data = stored.data

    def sweep(memorized, keep_mass):
        rng = random.Random(0)
        lost = {it.prompt for it in data.atomic if rng.random() < facts_lost}
        heldout = torch.tensor([not any(f in lost for f in curvature_sweep.facts_of(it))
                                and rng.random() >= reasoning_lost for it in data.heldout])
        atomic = torch.tensor([it.prompt not in lost for it in data.atomic])
        edited = {"memorized": torch.zeros(len(memorized), dtype=torch.bool),
                  "heldout": heldout, "atomic": atomic}
        base = {k: torch.ones(len(v), dtype=torch.bool) for k, v in edited.items()}
        return curvature_sweep.Sweep(base, [{"rho": rho, "kfac": edited, "svd": edited}
                                            for rho in keep_mass], len(memorized))

    return Subject(f"written K-FAC sweep: {facts_lost} of the facts lost, {reasoning_lost} of "
                   f"the rest of two-hop answers ({stored.path.name})", data, stored.model(),
                   written_sweep=sweep)


PLANTS: dict[str, Callable[..., Any]] = {f.__name__: f for f in (
    late_recall, embed_recall, early_override, bridge_keyed_recall, sum_keyed_recall,
    bridge_at_r2_keyed_recall, bridge_computed, prompt_answered, position_keyed_recall,
    unseen_noise, recall_as_checkpoints, curve_later, curve_together, heuristic_neurons,
    random_set_neurons, heavy_noise_late_recall, heavy_noise_embed_recall, heavy_noise_on_random,
    random_init_recall, pre_recall, flagged_recall, uniform_recall, mlp_recall_subject,
    late_recall_with_curve, item_neurons, late_recall_of_heldout, sum_remap_recall,
    memorized_first, written_growth, written_curriculum, written_curvature)}


def named(name: str) -> Callable[..., Any]:
    """The plant builder called `name` (a KnownCase's plant); an unknown name is an error that
    lists the known ones."""
    if name not in PLANTS:
        raise unknown("plant", name, sorted(PLANTS))
    return PLANTS[name]


def needs_reference(builder: Callable[..., Any]) -> bool:
    """Whether `builder` builds on a stored reference model (its first parameter, `stored`);
    the written k-hop sweeps build on no model."""
    return next(iter(inspect.signature(builder).parameters), "") == "stored"
