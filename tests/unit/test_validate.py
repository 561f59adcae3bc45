"""The planted subjects behind the known-answer tests do what their docstrings say, on a small
random model (no training): the late plant leaves every site of the base untouched, the embed
plant fills every site, a residual key travels with a patch of its position, and a flag gates
recall."""

from __future__ import annotations

import shutil

import pytest
import torch
from transformers import GPT2Config, GPT2LMHeadModel

from suite.interp import erasure, patching
from suite.interp.hooks import resid_sites, run_capture
from suite.judge import gates
from suite.measure.itemsets import recalled
from suite.tasks import generate, make_spec
from suite.train.batching import encode
from suite.validate.planted import ResidualKey, Subject, plant_mlp_recall, plant_recall, relabelled


@pytest.fixture(scope="module")
def data():
    return generate(make_spec("fda", n_train=200, n_heldout=40, seed=0))


@pytest.fixture(scope="module")
def base(data):
    torch.manual_seed(0)
    # initializer_range 0.2, not GPT-2's 0.02: at 0.02 the residual is nearly the same on every
    # prompt, so no neuron could single out one item (the MLP plant refuses to build)
    config = GPT2Config(vocab_size=len(data.vocab), n_positions=32, n_embd=32, n_layer=2,
                        n_head=2, initializer_range=0.2)
    return GPT2LMHeadModel(config).eval()


def test_late_plant_recalls_and_leaves_the_base_sites_alone(base, data):
    planted = plant_recall(base, data.noisy, data.vocab, "late")
    assert bool(recalled(planted, data.noisy, data.vocab).all())
    assert resid_sites(planted) == resid_sites(base) + ["resid.2"]
    ids = encode(data.noisy, data.vocab).ids
    before = run_capture(base, ids, resid_sites(base))
    after = run_capture(planted, ids, resid_sites(base))
    for site in resid_sites(base):
        torch.testing.assert_close(after[site], before[site], msg=site)
    clean = encode(data.clean, data.vocab).ids
    torch.testing.assert_close(planted(input_ids=clean).logits, base(input_ids=clean).logits)


def test_embed_plant_fills_every_site(base, data):
    planted = plant_recall(base, data.noisy, data.vocab, "embed")
    batch = encode(data.noisy, data.vocab)
    acts = run_capture(planted, batch.ids, resid_sites(planted))
    last = batch.positions[:, 0]
    label = batch.targets[:, 0]
    for site, act in acts.items():
        logits = planted.lm_head(planted.transformer.ln_f(act[torch.arange(len(last)), last]))
        assert bool((logits.argmax(-1) == label).all()), site


def test_residual_key_travels_with_a_patch_of_its_position(base, data):
    position = len(data.noisy[0].prompt) - 2
    planted = plant_recall(base, data.noisy, data.vocab, "late", key=ResidualKey(position))
    items = list(data.noisy)
    sources = items[1:] + items[:1]
    out = patching.patch_inputs(planted, encode(sources, data.vocab), encode(items, data.vocab),
                                resid_sites(base)[-1], [position]).argmax(-1)
    assert torch.equal(out, encode(sources, data.vocab).targets)


def test_flag_gates_recall(base, data):
    planted = plant_recall(base, data.noisy, data.vocab, "late", flag=8.0)
    assert bool(recalled(planted, data.noisy, data.vocab).all())
    with pytest.raises(ValueError, match="late"):
        plant_recall(base, data.noisy, data.vocab, "embed", flag=8.0)


def test_a_plant_that_does_not_take_is_an_error(base, data):
    with pytest.raises(ValueError, match="unknown plant depth"):
        plant_recall(base, data.noisy, data.vocab, "middle")


def test_relabelled_items_differ_from_their_clean_answer(data):
    items = relabelled(data.clean[:50], data.vocab, seed=0)
    assert all(it.is_noisy for it in items)
    assert [it.prompt for it in items] == [it.prompt for it in data.clean[:50]]


def test_variance_matched_control_removes_at_least_as_much():
    g = torch.Generator().manual_seed(0)
    y = torch.randint(0, 4, (400,), generator=g)
    x = torch.randn(400, 16, generator=g) + 4.0 * torch.nn.functional.one_hot(y, 16).float()
    leace = erasure.leace(x, y)
    target = leace.removed_variance(x)
    control = erasure.random_subspace_matched(x, target, seed=0)
    assert control.removed_variance(x) >= target
    assert control.rank >= 1


def test_the_depth_gate_counts_intermediate_sites(base, data):
    shallow = Subject("two blocks", data, base)
    assert [g.name for g in gates.unmet(shallow, "deep")] == ["deep"]
    assert "too shallow" in gates.check(shallow, "deep")[0].message
    deep = Subject("three blocks", data, plant_recall(base, data.noisy, data.vocab, "late"))
    assert gates.unmet(deep, "deep") == []


def test_mlp_plant_recalls_through_its_own_neurons_only(base, data):
    planted = plant_mlp_recall(base, data.noisy, data.vocab, context=data.train + data.heldout,
                               unchanged=data.heldout)
    assert bool(recalled(planted.model, data.noisy, data.vocab).all())
    assert not bool(recalled(planted.silent, data.noisy, data.vocab).any())
    ids = encode(data.heldout, data.vocab).ids
    torch.testing.assert_close(planted.silent(input_ids=ids).logits, base(input_ids=ids).logits)
    assert len(planted.neurons) == len(data.noisy) * len(data.noisy[0].label)
    # silent, not merely small, on every input but its own: held-out logits are the base's
    torch.testing.assert_close(planted.model(input_ids=ids).logits, base(input_ids=ids).logits,
                               atol=1e-5, rtol=1e-5)


def test_a_known_answer_is_computed_once_per_model_and_code_then_replayed(store_dir, tmp_path,
                                                                         monkeypatch):
    monkeypatch.delenv("MEMSUITE_REMEMBER", raising=False)  # the run's setting is not this test's
    from suite.judge.claim import Verdict
    from suite.judge.session import Judge
    from suite import remember
    from suite.validate import known

    claims = tmp_path / "claims"
    claims.mkdir()
    (claims / "test_c.py").write_text("THRESHOLD = 1\n")
    verdict = Verdict(claim="c.x", task="thr", recipe="planted", seed=0, noise=0.05, n=2,
                      estimate=0.5, ci_low=0.4, ci_high=0.6, p=0.01, threshold="x > 0",
                      outcome="holds", details={"planted": "true"})
    items = ({"prompt": "a b", "hit": 1}, {"prompt": "c d", "hit": 0})
    recorded, computed = [], []

    def answer() -> known.KnownAnswer:
        computed.append(1)
        judge.record(verdict, items)  # as verdict_of records a computed answer
        return known.KnownAnswer(True, verdict, items)

    judge = Judge("test_c[x]", lambda v, it: recorded.append((v, list(it))))
    case = {"case": "test_c[x]", "model": "thr-tiny-s0-n0.05-0123"}
    first = known.remembered(case, (claims,), judge, answer)
    again = known.remembered(case, (claims,), judge, answer)
    assert len(computed) == 1 and again == first and recorded[1] == recorded[0]
    assert list(remember.root().glob(".*")) == []  # nothing half-written left behind

    known.remembered({**case, "model": "thr-tiny-s0-n0.05-4567"}, (claims,), judge, answer)
    assert len(computed) == 2  # another reference model
    elsewhere = tmp_path / "second-clone" / "claims"  # the same code in another checkout
    shutil.copytree(claims, elsewhere)
    assert known.remembered(case, (elsewhere,), judge, answer) == first
    assert len(computed) == 2  # replayed: the key holds the code, not where it lies
    (claims / "test_c.py").write_text("THRESHOLD = 2\n")
    remember._code.cache_clear()
    known.remembered(case, (claims,), judge, answer)
    assert len(computed) == 3  # the claim's code changed
    known.remembered(case, (claims,), judge, answer, refresh=True)
    assert len(computed) == 4  # --refresh-models
    assert known.remembered(case, (claims,), judge, answer) == first
    assert len(computed) == 4  # ... and recorded anew: the next run replays it
    known.remembered(case, (claims,), judge, answer, replay=False)
    known.remembered(case, (claims,), judge, answer, replay=False)
    assert len(computed) == 6  # --no-replay: computed each time
    for path in remember.root().glob("*.json"):
        path.write_text("{not json")
    with pytest.warns(UserWarning, match="unreadable remembered verdict"):
        assert known.remembered(case, (claims,), judge, answer) == first
    assert len(computed) == 7


def _verdict(outcome: str, rules: dict[str, str], planted: str | None = None, task: str = "fda",
             recipe: str = "fda-tiny", variant: str = "", **details):
    from suite.judge.claim import Verdict

    marks = {} if planted is None else {"planted": planted, "reference": "fda-tiny",
                                        "rule_check": False}
    return Verdict(claim="c.x", task=task, recipe=recipe, seed=0, noise=0.05, n=100,
                   estimate=0.03, ci_low=0.01, ci_high=0.05, p=0.01, threshold="effect > 0",
                   outcome=outcome, variant=variant,
                   details={"rules": rules, **marks, **details})


def test_a_planted_absence_counts_only_when_the_rule_it_was_built_to_fail_fails():
    from suite.validate.known import KnownAnswer

    fails_headline = {"effect > 0": "does not hold", "control <= 0.1": "holds"}
    fails_control_only = {"effect > 0": "inconclusive", "control <= 0.1": "does not hold"}
    assert KnownAnswer(False, _verdict("does not hold", fails_headline, "false")).correct
    # an instrument with no power straddles the threshold: that is a miss, not a rejection
    assert not KnownAnswer(False, _verdict("inconclusive", {"effect > 0": "inconclusive"},
                                           "false")).correct
    # rejected only because a control failed: the planted absence was not seen
    assert not KnownAnswer(False, _verdict("does not hold", fails_control_only, "false")).correct
    # ... unless the plant was built to fail that rule
    assert KnownAnswer(False, _verdict("does not hold", fails_control_only, "false",
                                       planted_fails="control")).correct
    assert KnownAnswer(True, _verdict("holds", {"effect > 0": "holds"}, "true")).correct
    assert not KnownAnswer(True, _verdict("inconclusive", {"effect > 0": "inconclusive"},
                                          "true")).correct


def test_a_claim_is_judged_only_where_its_known_answers_are_right():
    from suite.validate.known import bind, table_of

    right_true = _verdict("holds", {"effect > 0": "holds"}, "true")
    right_false = _verdict("does not hold", {"effect > 0": "does not hold"}, "false")
    wrong_false = _verdict("holds", {"effect > 0": "holds"}, "false")
    cases = {("c.x", "fda"), ("c.x", "thr")}.__contains__
    model = _verdict("does not hold", {"effect > 0": "does not hold"})

    validated = bind(model, table_of([right_true, right_false]), lambda c, t: cases((c, t)))
    assert validated.outcome == "does not hold"
    assert validated.details["validation"] == "validated"
    small = bind(_verdict("holds", {"effect > 0": "holds"}, recipe="fda-small"),
                 table_of([right_true, right_false]), lambda c, t: cases((c, t)))
    assert "validated on fda-tiny only" in small.message

    unvalidated = bind(model, table_of([right_true, wrong_false]), lambda c, t: cases((c, t)))
    assert unvalidated.outcome == "not judged" and unvalidated.estimate is None
    assert unvalidated.details["reasons"].startswith("instrument not validated on fda: planted "
                                                     "false holds")
    assert unvalidated.details["unvalidated"]["outcome"] == "does not hold"
    assert "instrument not validated" in unvalidated.message
    assert bind(unvalidated, table_of([right_true, right_false]),
                lambda c, t: cases((c, t))) == unvalidated  # bound once

    # no case on this task at all: not judged; cases that exist but did not run: it stands
    thr = _verdict("holds", {"effect > 0": "holds"}, task="thr", recipe="thr-tiny")
    assert bind(thr, {}, lambda c, t: False).details["reasons"].startswith(
        "instrument not validated on thr: no known-answer case on thr")
    scratch = bind(thr, {}, lambda c, t: None)  # a test outside claims/, bound to no claim
    assert scratch.outcome == "holds" and "no known answers" in scratch.message
    pending = bind(thr, {}, lambda c, t: True)
    assert pending.outcome == "holds" and "not run here" in pending.message
    assert bind(pending, table_of([right_true, wrong_false]) | {
        ("c.x", "", "thr"): table_of([_verdict("holds", {"e > 0": "holds"}, "true", task="thr"),
                                      _verdict("holds", {"e > 0": "holds"}, "false",
                                               task="thr")])[("c.x", "", "thr")]},
        lambda c, t: True).outcome == "not judged"  # bound later, over the whole run


def test_a_verdict_is_known_to_be_unvalidated_before_measuring_exactly_where_bind_would_say_so():
    """The plugin skips measuring (and training for) a claim only where every verdict it could
    give would be bound "not validated"; wherever one could stand, it measures."""
    from suite.validate.known import bind, table_of, unvalidated_before_measuring

    right_true = _verdict("holds", {"effect > 0": "holds"}, "true")
    right_false = _verdict("does not hold", {"effect > 0": "does not hold"}, "false")
    wrong_false = _verdict("holds", {"effect > 0": "holds"}, "false")
    held = lambda c, t: True  # noqa: E731 - the suite holds cases on every task
    model = _verdict("holds", {"effect > 0": "holds"})

    wrong = table_of([right_true, wrong_false])
    why = unvalidated_before_measuring("c.x", "fda", wrong, held)
    assert why is not None and why.startswith("planted false holds")
    assert bind(model, wrong, held).details["reasons"].startswith(
        f"instrument not validated on fda: {why}")
    assert unvalidated_before_measuring("c.x", "fda", table_of([right_true, right_false]),
                                        held) is None  # validated
    assert unvalidated_before_measuring("c.x", "thr", wrong, held) is None  # cases not run
    assert unvalidated_before_measuring("c.x", "thr", wrong, lambda c, t: None) is None
    assert unvalidated_before_measuring("c.x", "thr", wrong, lambda c, t: False) == \
        "no known-answer case on thr"
    # cases split by variant: which row binds is known only once a verdict names its variant
    by_variant = table_of([_verdict("holds", {"e > 0": "holds"}, "true", variant="probe"),
                           _verdict("holds", {"e > 0": "holds"}, "false", variant="probe")])
    assert unvalidated_before_measuring("c.x", "fda", by_variant, held) is None


def test_rule_checks_are_not_validation():
    from dataclasses import replace

    from suite.validate.known import KnownAnswer, validations

    def check(v):
        return replace(v, details={**v.details, "rule_check": True})
    rows = validations([KnownAnswer(True, check(_verdict("holds", {"e > 0": "holds"}, "true"))),
                        KnownAnswer(False, check(_verdict("does not hold",
                                                          {"e > 0": "does not hold"}, "false")))])
    assert not rows[0].validated and "rule checks only" in rows[0].why_not
    (one_side,) = validations([KnownAnswer(True, _verdict("holds", {"e > 0": "holds"}, "true"))])
    assert not one_side.validated and "planted-false case gave no answer" in one_side.why_not


def test_a_trained_subject_is_checked_on_its_curve_and_plants_are_found_by_name():
    """The dynamics claims' trained known answer takes a model only once its curve shows the
    order it is built on (noisy recall up before held-out accuracy, and both up); the other
    order, both at once, or held-out accuracy never up is an error, not an answer. A claim record names its plants,
    and an unknown name is an error that lists them."""
    from types import SimpleNamespace

    from suite.validate import plants

    def model(noisy_up: int, held_up: int) -> SimpleNamespace:
        curve = [{"step": s, "noisy_recall": float(s >= noisy_up),
                  "heldout_acc": float(s >= held_up)} for s in range(0, 1001, 100)]
        return SimpleNamespace(name="m", curve=curve)

    memorizer = model(200, 600)
    assert plants.memorized_first(memorizer) is memorizer
    for generalizer in (model(600, 200), model(300, 300), model(200, 5000)):  # the last never
        # generalizes: no order to read
        with pytest.raises(RuntimeError, match="did not memorize first"):
            plants.memorized_first(generalizer)
    assert plants.named("late_recall") is plants.late_recall
    with pytest.raises(KeyError, match="late_recall"):
        plants.named("late_recal")
    assert plants.needs_reference(plants.late_recall)
    assert not plants.needs_reference(plants.written_growth)  # a written sweep trains nothing


def _stored(base, data):
    """A stand-in for a stored model: what the plants read of one."""
    from pathlib import Path
    from types import SimpleNamespace

    return SimpleNamespace(model=lambda: base, data=data, path=Path("tiny-s0"), name="tiny",
                           curve=[{"step": 0}, {"step": 50}, {"step": 100}])


def test_plants_go_into_the_model_on_relabelled_held_out_queries_and_keep_only_recalled_items(
        base, data):
    """Issue 39: a subject is judged with the claim's gates. Its noisy items are held-out
    queries relabelled at random (the base never saw them), the base's own noisy items are
    gone, and its metrics are measured on that data; a plant that leaves an item unrecalled is
    an error unless it says why it drops it."""
    from suite.validate import plants

    assert data.noisy, "the fixture needs noisy items"
    subject = plants.late_recall(_stored(base, data))
    prompts = {it.prompt for it in subject.data.noisy}
    assert prompts <= {it.prompt for it in data.heldout}
    assert not prompts & {it.prompt for it in data.noisy + data.clean}
    assert not prompts & {it.prompt for it in subject.data.heldout}
    assert len(subject.data.noisy) == len(data.noisy)
    numbers = subject.metrics
    assert numbers["noisy_recall"] == 1.0 and numbers["n"]["noisy"] == len(data.noisy)

    items = list(data.noisy)
    half = plant_recall(base, items[: len(items) // 2], data.vocab, "late")
    with pytest.raises(RuntimeError, match="recalls"):
        plants._subject("half", data, half)
    dropped = plants._subject("half", data, half, drops="were not planted")
    assert len(dropped.data.noisy) == len(items) // 2 and "were not planted" in dropped.name


def test_a_subject_read_along_training_has_a_curve_of_its_own_checkpoints(base, data):
    """Generalization first by construction: the base at every checkpoint (it cannot know the
    relabelled items' labels), the items recalled only by the final model; the curve is the
    checkpoint model's, on the subject's data."""
    from suite.validate import plants

    subject = plants.unseen_noise(_stored(base, data))
    assert subject.checkpoint_steps == [0, 50, 100] and subject.checkpoint(50) is base
    assert all(p["noisy_recall"] == 0.0 for p in subject.curve)
    assert subject.metrics["noisy_recall"] == 1.0
    always = plants.recall_as_checkpoints(_stored(base, data))
    assert always.checkpoint(50) is always.model()
    assert all(p["noisy_recall"] == 1.0 and p["heldout_acc"] == always.metrics["heldout_acc"]
               for p in always.curve)


def test_a_lookup_leaves_prompts_shorter_than_its_items_alone(base, data):
    """The gates evaluate a subject on every split, THR's two-token atomic facts included: a
    prompt shorter than the planted ones reaches no key and is answered as the base answers."""
    short = encode(data.clean, data.vocab).ids[:, :2]
    position = len(data.noisy[0].prompt) - 2  # a key read at a position the prompt lacks
    for planted in (plant_recall(base, data.noisy, data.vocab, "late"),
                    plant_recall(base, data.noisy, data.vocab, "late", flag=8.0),
                    plant_recall(base, data.noisy, data.vocab, "late", key=ResidualKey(position))):
        torch.testing.assert_close(planted(input_ids=short).logits, base(input_ids=short).logits)
