"""Training determinism, the store's atomicity, corruption handling, locking and loading."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from suite import store
from suite.train import dynamics
from suite.judge import gates as preconditions
from suite.train.batching import encode, exact_match
from suite.train.loop import build_model, train
from suite.train.recipes import ModelSpec
from suite.tasks import generate
from tests.conftest import micro_recipe

ROOT = Path(__file__).resolve().parents[2]


def micro_data():
    return generate(micro_recipe().task)


def test_same_seed_same_model_other_seed_other_model():
    a, b, c = train(micro_recipe()), train(micro_recipe()), \
        train(micro_recipe(seed=1))
    for (name, pa), pb in zip(a.model.state_dict().items(), b.model.state_dict().values()):
        assert torch.equal(pa, pb), name
    assert a.curve[-1]["heldout_acc"] == b.curve[-1]["heldout_acc"]
    assert not torch.equal(a.model.transformer.wte.weight, c.model.transformer.wte.weight)


def test_curve_has_every_field_at_every_evaluation_and_checkpoints_match():
    result = train(micro_recipe(steps=35))
    assert [p["step"] for p in result.curve] == [0, 10, 20, 30, 35]
    assert sorted(result.checkpoints) == [0, 10, 20, 30, 35]
    for point in result.curve:
        for field in ("heldout_acc", "clean_train_acc", "noisy_recall", "noisy_clean_share",
                      "atomic_acc"):
            assert 0.0 <= point[field] <= 1.0
    # the last checkpoint is the final model
    final = result.checkpoints[35]
    for k, v in result.model.state_dict().items():
        assert torch.equal(final[k], v), k


def test_dynamics_reads_first_crossings_and_m_pre():
    curve = [
        {"step": 0, "heldout_acc": 0.0, "noisy_recall": 0.0},
        {"step": 10, "heldout_acc": 0.85, "noisy_recall": 0.0},
        {"step": 20, "heldout_acc": 0.9, "noisy_recall": 0.1},
        {"step": 30, "heldout_acc": 0.9, "noisy_recall": 0.6},
    ]
    assert dynamics.first_step(curve, "heldout_acc", 0.5) == 10
    assert dynamics.first_step(curve, "noisy_recall", 0.5) == 30
    assert dynamics.first_step(curve, "noisy_recall", 0.99) is None
    assert dynamics.pre_memorization_step(curve) == 20
    assert dynamics.pre_memorization_step(curve[:1]) is None


def test_stopping_rule_needs_both_wilson_bounds_and_m_pre_behind_them():
    n = {"n_heldout": 1000, "n_noisy": 100}
    curve = [
        {"step": 0, "heldout_acc": 0.0, "noisy_recall": 0.0},
        {"step": 10, "heldout_acc": 0.95, "noisy_recall": 0.0},  # M_pre
        {"step": 20, "heldout_acc": 0.95, "noisy_recall": 0.93},  # noisy bound 0.862: not yet
        {"step": 30, "heldout_acc": 0.95, "noisy_recall": 0.99},  # both bounds >= 0.92
    ]
    assert dynamics.gates_met_step(curve, level=0.92, **n) == 30
    assert dynamics.gates_met_step(curve, level=0.96, **n) is None  # held-out bound 0.935
    no_pre = [curve[0], {"step": 10, "heldout_acc": 0.95, "noisy_recall": 0.99}]
    assert dynamics.gates_met_step(no_pre, level=0.92, **n) is None
    # the stopping rule: met at each of the last k evaluations
    later = curve + [{"step": 40, "heldout_acc": 0.95, "noisy_recall": 1.0}]
    assert dynamics.gates_held(later, level=0.92, evaluations=2, **n)
    assert not dynamics.gates_held(later, level=0.92, evaluations=3, **n)  # step 20 missed
    assert not dynamics.gates_held(later[:2], level=0.92, evaluations=3, **n)


def test_a_memorization_stop_asks_noisy_recall_alone():
    n = {"n_heldout": 1000, "n_noisy": 100}
    curve = [  # a heavy-noise run: held-out stays low, no M_pre, the noisy labels are learned
        {"step": 0, "heldout_acc": 0.0, "noisy_recall": 0.0},
        {"step": 10, "heldout_acc": 0.02, "noisy_recall": 0.93},  # bound 0.862: not yet
        {"step": 20, "heldout_acc": 0.02, "noisy_recall": 0.99},
        {"step": 30, "heldout_acc": 0.03, "noisy_recall": 1.0},
    ]
    assert dynamics.gates_met_step(curve, level=0.92, **n) is None
    assert dynamics.gates_met_step(curve, level=0.92, gates="memorized", **n) == 20
    assert dynamics.gates_held(curve, level=0.92, evaluations=2, gates="memorized", **n)
    assert not dynamics.gates_held(curve, level=0.92, evaluations=3, gates="memorized", **n)
    with pytest.raises(ValueError, match="gates must be one of"):
        dynamics.gates_held(curve, level=0.92, evaluations=2, gates="loss", **n)


def test_training_stops_the_declared_evaluations_after_the_gates(monkeypatch):
    recipe = micro_recipe(steps=100)
    recipe = dataclasses.replace(recipe, train=dataclasses.replace(recipe.train, stop_after=2))
    monkeypatch.setattr(dynamics, "gates_held",  # met from step 10 on; held at 3 by step 30
                        lambda curve, *a, **k: len([p for p in curve if p["step"] >= 10]) >= a[-1])
    result = train(recipe)
    assert [p["step"] for p in result.curve] == [0, 10, 20, 30]
    assert sorted(result.checkpoints) == [0, 10, 20, 30]
    assert train(micro_recipe(steps=40)).curve[-1]["step"] == 40  # no rule: every step


def test_exact_gelu_is_a_recipe_field_and_gpt2_tanh_gelu_the_default():
    assert ModelSpec(1, 16, 2).activation == "gelu_new"
    model = build_model(ModelSpec(1, 16, 2, activation="gelu"), micro_data().vocab, 8)
    assert model.config.activation_function == "gelu"
    with pytest.raises(ValueError, match="activation of a gpt2 model must be one of"):
        ModelSpec(1, 16, 2, activation="relu6")


def test_store_trains_once_then_loads(store_dir):
    recipe = micro_recipe()
    first = store.get_or_train(recipe, progress=False)
    assert first.trained_seconds > 0
    second = store.get_or_train(recipe, progress=False)
    assert second.path == first.path and second.trained_seconds == 0
    assert not list((store_dir / ".tmp").iterdir())
    # the stored model is the trained model
    data = second.data
    hits = exact_match(second.model(), encode(data.heldout, data.vocab))
    assert float(hits.float().mean()) == pytest.approx(second.metrics["heldout_acc"])
    ckpt = second.checkpoint(second.checkpoint_steps[-1])
    for k, v in second.model().state_dict().items():
        assert torch.equal(ckpt.state_dict()[k], v), k
    with pytest.raises(KeyError, match="no checkpoint at step 7"):
        second.checkpoint(7)


def test_key_changes_with_recipe_seed_and_noise():
    base = micro_recipe()
    keys = {store.entry_key(base), store.entry_key(micro_recipe(seed=1)),
            store.entry_key(base.with_seed_and_noise(0, 0.1)),
            store.entry_key(micro_recipe(steps=41))}
    assert len(keys) == 4


def test_key_changes_with_the_cpu_thread_count():
    """Another thread count sums floats in another order: a different model, a different key."""
    import torch

    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = store.entry_key(micro_recipe())
        torch.set_num_threads(2)
        two = store.entry_key(micro_recipe())
    finally:
        torch.set_num_threads(threads)
    assert one != two


def test_corrupt_entry_is_reported_and_retrained(store_dir, recwarn):
    recipe = micro_recipe()
    entry = store.get_or_train(recipe, progress=False)
    weights = entry.path / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-10])  # truncated weights
    with pytest.raises(store.CorruptEntry, match="model.safetensors does not match"):
        store.verify_entry(entry.path)
    again = store.get_or_train(recipe, progress=False)
    assert again.trained_seconds > 0
    assert any("corrupt store entry" in str(w.message) for w in recwarn)
    store.verify_entry(again.path)
    (again.path / "manifest.json").unlink()
    with pytest.raises(store.CorruptEntry, match="no manifest.json"):
        store.verify_entry(again.path)


def test_a_file_rewritten_after_verification_is_checked_again(store_dir):
    """Checksums are remembered per process while a file is untouched; a rewrite of the same
    size (a flipped byte) is still caught."""
    entry = store.get_or_train(micro_recipe(), progress=False)
    store.verify_entry(entry.path)
    curve = entry.path / "curve.json"
    text = curve.read_text()
    time.sleep(0.05)  # a later modification time, whatever the file system's resolution
    curve.write_text(text.replace("0", "1", 1))
    assert len(curve.read_text()) == len(text)
    with pytest.raises(store.CorruptEntry, match="curve.json does not match"):
        store.verify_entry(entry.path)


def test_refresh_retrains_entries_older_than_the_given_time(store_dir):
    recipe = micro_recipe()
    store.get_or_train(recipe, progress=False)
    fresh = store.get_or_train(recipe, progress=False, refresh_before=time.time())
    assert fresh.trained_seconds > 0
    assert store.get_or_train(recipe, progress=False,
                              refresh_before=fresh.metrics["created_at"]).trained_seconds == 0


_CHILD = """
import sys, time
sys.path.insert(0, {root!r})
from tests.conftest import micro_recipe
from suite import store
s = store.get_or_train(micro_recipe(steps={steps}), progress=False)
print(s.trained_seconds > 0, flush=True)
"""


@dataclasses.dataclass(frozen=True)
class Children:
    """Processes that ask a store for a micro model: two for one model in `shared`, and one
    training a long run in `killed`, there to be killed."""

    shared: Path
    askers: tuple[subprocess.Popen, ...]
    killed: Path
    long_run: subprocess.Popen


@pytest.fixture(scope="module")
def children(tmp_path_factory):
    """All three processes start at once, one thread each, so their seconds of imports overlap
    (issue 13: a spawn costs seconds of imports; the two tests below share them)."""
    shared, killed = tmp_path_factory.mktemp("shared"), tmp_path_factory.mktemp("killed")

    def start(store_root: Path, steps: int, **pipes) -> subprocess.Popen:
        env = dict(os.environ, MEMSUITE_STORE=str(store_root), OMP_NUM_THREADS="1")
        return subprocess.Popen([sys.executable, "-c", _CHILD.format(root=str(ROOT), steps=steps)],
                                env=env, text=True, **pipes)

    procs = Children(shared, tuple(start(shared, 60, stdout=subprocess.PIPE) for _ in range(2)),
                     killed, start(killed, 100_000, stderr=subprocess.DEVNULL))
    yield procs
    for proc in (*procs.askers, procs.long_run):
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_two_processes_asking_for_one_model_train_it_once(children):
    outs = sorted(p.communicate(timeout=120)[0].strip() for p in children.askers)
    assert outs == ["False", "True"]
    assert len([p for p in children.shared.iterdir() if not p.name.startswith(".")]) == 1


def test_killed_training_leaves_no_entry_and_no_temporary_files(children):
    store_dir, proc = children.killed, children.long_run
    deadline = time.time() + 60
    while not (store_dir / ".locks").exists() and time.time() < deadline:
        time.sleep(0.1)
    time.sleep(2.0)  # well into training
    assert proc.poll() is None, "the long run ended before it could be killed"
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)
    assert [p.name for p in store_dir.iterdir() if not p.name.startswith(".")] == []
    assert list((store_dir / ".tmp").iterdir()) == []


def test_gates_report_measured_numbers(store_dir):
    entry = store.get_or_train(micro_recipe(steps=10), progress=False)
    gates = {g.name: g for g in preconditions.check(entry, "learned", "memorized", "curve", "pre")}
    assert not gates["learned"].met and "heldout_acc" in gates["learned"].message
    assert "lower bound >= 0.9" in gates["memorized"].message
    assert gates["curve"].met
    with pytest.raises(KeyError, match="unknown precondition"):
        preconditions.check(entry, "learnt")


def test_external_model_dir_is_validated(store_dir, tmp_path):
    entry = store.get_or_train(micro_recipe(), progress=False)
    external = tmp_path / "mine"
    entry.model().save_pretrained(external)
    AutoTokenizer.from_pretrained(entry.path).save_pretrained(external)
    (external / "task.json").write_text((entry.path / "task.json").read_text())
    model = store.StoredModel(external)
    model.validate()
    assert model.curve == [] and not preconditions.check(model, "curve")[0].met
    (external / "tokenizer.json").unlink()  # an entry of the suite's older layout: vocab.json
    tokens = list(entry.vocab.tokens)
    (external / "vocab.json").write_text(json.dumps({"tokens": tokens}))
    store.StoredModel(external).validate()
    tokens[1], tokens[2] = tokens[2], tokens[1]
    (external / "vocab.json").write_text(json.dumps({"tokens": tokens}))
    with pytest.raises(ValueError, match="differs from the task's at id 1"):
        store.StoredModel(external).validate()
    (external / "task.json").unlink()
    with pytest.raises(FileNotFoundError, match="no task.json"):
        store.StoredModel(external).validate()


@pytest.mark.parametrize("arch", ["gpt2", "llama"])
def test_a_stored_model_loads_with_auto_classes_and_answers_through_generate(store_dir, arch):
    recipe = micro_recipe(steps=30)
    if arch == "llama":
        recipe = dataclasses.replace(recipe, model=ModelSpec(
            n_layer=1, n_embd=16, n_head=2, arch="llama", activation="silu"))
    entry = store.get_or_train(recipe, progress=False)
    assert (entry.path / "tokenizer.json").is_file() and not (entry.path / "vocab.json").exists()
    tokenizer = AutoTokenizer.from_pretrained(entry.path)
    model = AutoModelForCausalLM.from_pretrained(entry.path).eval()
    assert model.config.model_type == arch == entry.arch
    item = entry.data.heldout[0]
    inputs = tokenizer(" ".join(item.prompt), return_tensors="pt")
    assert inputs.input_ids[0].tolist() == entry.vocab.encode(item.prompt)
    out = model.generate(input_ids=inputs.input_ids, attention_mask=inputs.attention_mask,
                         max_new_tokens=len(item.clean), do_sample=False,
                         pad_token_id=tokenizer.pad_token_id)
    answer = tokenizer.decode(out[0, inputs.input_ids.shape[1]:]).split()
    # the same greedy answer as the suite's own model and vocabulary give, token by token
    ids = entry.vocab.encode(item.prompt)
    with torch.no_grad():
        suite_model = entry.model()
        for _ in item.clean:
            ids.append(int(suite_model(input_ids=torch.tensor([ids])).logits[0, -1].argmax()))
    assert answer == list(entry.vocab.decode(ids[len(item.prompt):]))
    last = entry.checkpoint(entry.checkpoint_steps[-1])  # checkpoints load for either family
    torch.testing.assert_close(last.get_output_embeddings().weight, model.get_input_embeddings().weight)


def test_the_device_is_chosen_once_and_a_missing_one_is_named(monkeypatch):
    monkeypatch.setenv("MEMSUITE_DEVICE", "cpu")
    assert store.device() == torch.device("cpu")
    monkeypatch.setenv("MEMSUITE_DEVICE", "gpu0")
    with pytest.raises(ValueError, match="'gpu0' is not a device name"):
        store.device()
    if not torch.cuda.is_available():
        monkeypatch.setenv("MEMSUITE_DEVICE", "cuda")
        with pytest.raises(ValueError, match="--device cuda: this machine has no CUDA device"):
            store.device()


def test_weights_change_exactly_when_the_key_does():
    """A 20-step micro training: a new name, description or progress display keeps the key and
    the weights; a new learning rate, seed or noise rate changes both."""
    import dataclasses
    import hashlib

    from suite.train.loop import train

    def checksum(recipe, progress=None) -> str:
        state = train(recipe, progress=progress).model.state_dict()
        h = hashlib.sha256()
        for name in sorted(state):
            h.update(name.encode() + state[name].numpy().tobytes())
        return h.hexdigest()

    base = micro_recipe(steps=20)
    variants = {
        "display": (dataclasses.replace(base, name="renamed", description="another text"),
                    lambda step, metrics: None),
        "lr": (dataclasses.replace(base, train=dataclasses.replace(base.train, lr=1e-3)), None),
        "seed": (micro_recipe(steps=20, seed=1), None),
        "noise": (base.with_seed_and_noise(0, 0.3), None),
    }
    first = (store.entry_key(base), checksum(base))
    same = {name: ((store.entry_key(r), checksum(r, p)) == first, store.entry_key(r) == first[0],
                   checksum(r, p) == first[1]) for name, (r, p) in variants.items()}
    assert same == {"display": (True, True, True), "lr": (False, False, False),
                    "seed": (False, False, False), "noise": (False, False, False)}
