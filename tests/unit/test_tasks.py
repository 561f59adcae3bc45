"""Property tests of task generation: oracles, noise, determinism, splits, tokens, renaming."""

from __future__ import annotations

import dataclasses
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from suite.tasks import fda, khop, make_spec, generate, spec_from_dict, spec_to_dict
from suite.tasks.base import Vocab, VocabMismatch, exact_count

noise_rates = st.sampled_from([0.0, 0.02, 0.05, 0.1, 0.5, 1.0])
seeds = st.integers(0, 10_000)

fda_specs = st.builds(
    fda.FDASpec,
    n_train=st.integers(5, 300), n_heldout=st.integers(1, 100), noise=noise_rates,
    seed=seeds, digits=st.integers(2, 4), reverse_answer=st.booleans(),
)
khop_specs = st.builds(
    khop.KHopSpec,
    k=st.integers(1, 4), n_entities=st.integers(3, 12), n_relations=st.integers(1, 5),
    train_fraction=st.sampled_from([0.5, 0.8, 0.9]), max_queries=st.sampled_from([None, 50, 200]),
    noise=noise_rates, seed=seeds,
).filter(lambda s: s.n_queries >= 10)
any_spec = st.one_of(fda_specs, khop_specs)


@given(fda_specs)
def test_fda_labels_follow_python_arithmetic(spec):
    data = generate(spec)
    for it in data.clean + data.heldout + data.noisy:
        a, b = int("".join(it.prompt[: spec.digits])), int("".join(it.prompt[spec.digits + 1 : -1]))
        assert fda.answer_value(it.clean, spec) == a + b
        assert it.intermediates["sum"] == a + b
        digits = it.intermediates["sum_digits"]
        assert sum(d * 10**i for i, d in enumerate(digits)) == a + b
        for i, (s, c) in enumerate(zip(it.intermediates["column_sums"], it.intermediates["carries"])):
            assert s == (a // 10**i) % 10 + (b // 10**i) % 10
            carry_in = it.intermediates["carries"][i - 1] if i else 0
            assert c == (s + carry_in) // 10


@given(fda_specs)
def test_fda_noisy_labels_keep_the_width_of_the_true_sum(spec):
    for it in generate(spec).noisy:
        true, noisy = it.intermediates["sum"], fda.answer_value(it.label, spec)
        assert noisy != true and len(str(noisy)) == len(str(true))


@given(khop_specs)
def test_khop_labels_follow_dictionary_composition(spec):
    data = generate(spec)
    facts = khop.facts_of(data)
    assert len(facts) == spec.n_entities * spec.n_relations == len(data.atomic)
    for it in data.clean + data.noisy + data.heldout:
        start, rels = int(it.prompt[0][1:]), [int(r[1:]) for r in it.prompt[1:]]
        assert len(rels) == spec.k
        path = khop.follow(facts, start, rels)
        assert it.clean == (f"e{path[-1]}",)
        assert it.intermediates["bridges"] == tuple(path[:-1])


@given(any_spec)
def test_noise_has_exact_count_and_never_the_true_label(spec):
    data = generate(spec)
    n_train = len(data.clean) + len(data.noisy)
    assert len(data.noisy) == exact_count(spec.noise, n_train)
    assert all(it.label != it.clean and it.split == "noisy" for it in data.noisy)
    assert all(it.label == it.clean for it in data.clean + data.heldout + data.atomic)


@given(any_spec)
def test_generation_is_deterministic_per_seed(spec):
    assert generate(spec) == generate(spec)
    other = generate(dataclasses.replace(spec, seed=spec.seed + 1))
    assert other.clean + other.noisy != generate(spec).clean + generate(spec).noisy


@given(any_spec)
def test_heldout_is_disjoint_from_training_and_prompts_are_unique(spec):
    data = generate(spec)
    train = [it.prompt for it in data.clean + data.noisy]
    held = [it.prompt for it in data.heldout]
    assert len(set(train)) == len(train) and len(set(held)) == len(held)
    assert not set(train) & set(held)


@given(any_spec)
def test_encode_decode_round_trip(spec):
    data = generate(spec)
    for it in data.clean[:20] + data.noisy[:20] + data.heldout[:20]:
        seq = it.prompt + it.label
        assert data.vocab.decode(data.vocab.encode(seq)) == seq
    assert len(set(data.vocab.tokens)) == len(data.vocab)


@given(any_spec)
def test_spec_round_trips_through_its_dict(spec):
    assert spec_from_dict(spec_to_dict(spec)) == spec


@given(khop_specs, st.randoms(use_true_random=False))
def test_renaming_entities_permutes_answers(spec, rnd):
    """Metamorphic: relabel the graph by a permutation pi; every answer becomes pi(answer)."""
    data = generate(spec)
    facts = khop.facts_of(data)
    perm = list(range(spec.n_entities))
    rnd.shuffle(perm)
    renamed = {(perm[e], r): perm[t] for (e, r), t in facts.items()}
    for it in data.clean[:30] + data.heldout[:30]:
        start, rels = int(it.prompt[0][1:]), [int(r[1:]) for r in it.prompt[1:]]
        original = khop.follow(facts, start, rels)
        assert khop.follow(renamed, perm[start], rels) == [perm[e] for e in original]


def test_thr_is_two_hop_with_a_bridge():
    data = generate(make_spec("thr", n_entities=10, n_relations=3))
    assert data.spec.k == 2 and data.spec.task == "thr"
    it = data.heldout[0]
    facts = khop.facts_of(data)
    bridge = facts[(int(it.prompt[0][1:]), int(it.prompt[1][1:]))]
    assert it.intermediates["bridge"] == bridge
    with pytest.raises(ValueError, match="two-hop"):
        make_spec("thr", k=3)


def test_unknown_task_and_bad_fields_name_the_problem():
    with pytest.raises(KeyError, match="did you mean 'thr'"):
        make_spec("thrr")
    with pytest.raises(TypeError, match="bad field for task 'fda'"):
        make_spec("fda", n_entities=3)
    with pytest.raises(ValueError, match="noise rate"):
        make_spec("fda", noise=1.5)


def test_vocab_mismatch_names_the_first_difference():
    a = Vocab(("<pad>", "e0", "e1"))
    with pytest.raises(VocabMismatch, match="at id 2: 'e2' where the task has 'e1'"):
        a.check_matches(Vocab(("<pad>", "e0", "e2")))
    with pytest.raises(VocabMismatch, match="has 2 tokens, the task needs 3"):
        a.check_matches(Vocab(("<pad>", "e0")))
    with pytest.raises(KeyError, match="not in this task's vocabulary"):
        a.encode(["e9"])


def test_exact_count_rounds_half_up():
    assert exact_count(0.05, 30) == 2 and exact_count(0.05, 2000) == 100
    assert exact_count(0.0, 10) == 0 and exact_count(1.0, 7) == 7
    rng = random.Random(0)
    for _ in range(100):
        n, rate = rng.randint(1, 5000), rng.random()
        assert abs(exact_count(rate, n) - rate * n) <= 0.5
