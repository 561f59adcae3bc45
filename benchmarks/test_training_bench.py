"""Training performance: throughput against the machine's matrix-multiply rate, time to the
precondition gates, the default suite cold and warm, and the suite's loop against transformers'
Trainer on the same recipe.

    pytest benchmarks/test_training_bench.py -s                 # everything but the cold suite
    MEMSUITE_BENCH_COLD=1 pytest benchmarks/test_training_bench.py -s -k cold   # ~10 min

Each test prints its table rows; the last prints them all. Numbers depend on the machine: the
matmul rate is measured in the same run so the ratios travel.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from suite import store
from suite.train import dynamics, recipes
from suite.train.batching import encode
from suite.judge.gates import LEARNED_MIN, MEMORIZED_MIN
from suite.train.loop import build_model, train

ROOT = Path(__file__).resolve().parent.parent
TINY = ("fda-tiny", "thr-tiny")
_rows: list[tuple[str, str, str]] = []


def matmul_gflops(m: int, k: int, n: int, seconds: float = 2.0) -> float:
    """fp32 GFLOP/s of torch.mm at this shape, on this machine, now."""
    a, b = torch.randn(m, k), torch.randn(k, n)
    for _ in range(3):
        a @ b
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        a @ b
        count += 1
    return 2 * m * k * n * count / (time.perf_counter() - start) / 1e9


def training_flops_per_step(recipe: recipes.Recipe, seq_len: int, vocab: int) -> float:
    """Forward + backward FLOPs of one step: 3 x forward; forward per token and block is
    2 x (12 d^2 weights + 2 T d attention), plus the unembedding 2 d V."""
    d, layers, batch = recipe.model.n_embd, recipe.model.n_layer, recipe.train.batch_size
    per_token = layers * 2 * (12 * d * d + 2 * seq_len * d) + 2 * d * vocab
    return 3 * per_token * seq_len * batch


@pytest.mark.parametrize("name", TINY)
def test_throughput_vs_matmul_rate(name):
    """Training steps per second of the real loop (200 steps, no evaluation in between), as a
    share of the fp32 matmul rate at a large square shape and at the model's MLP shape."""
    base = recipes.load(name).with_seed_and_noise(0)
    steps = 200
    recipe = dataclasses.replace(base, train=dataclasses.replace(
        base.train, steps=steps, eval_every=10 * steps))
    result = train(recipe)
    data = result.data
    seq_len = encode(data.train[:1], data.vocab).ids.shape[1]
    flops = training_flops_per_step(recipe, data.max_length, len(data.vocab)) * steps
    achieved = flops / result.seconds / 1e9
    peak = matmul_gflops(2048, 2048, 2048)
    tokens = recipe.train.batch_size * seq_len
    mlp_shape = matmul_gflops(tokens, recipe.model.n_embd, 4 * recipe.model.n_embd)
    _rows.append(("training throughput", name,
                  f"{steps / result.seconds:.1f} steps/s, {achieved:.1f} GFLOP/s = "
                  f"{achieved / peak:.2f} of square matmul ({peak:.0f} GFLOP/s), "
                  f"{achieved / mlp_shape:.2f} of MLP-shaped matmul ({mlp_shape:.0f} GFLOP/s)"))
    print(_rows[-1])
    assert achieved > 0


def gates_met_at(curve: list[dict], n_heldout: int, n_noisy: int) -> dict | None:
    """The first evaluation at which both gates hold (95 % Wilson lower bounds), M_pre behind."""
    step = dynamics.gates_met_step(curve, n_heldout, n_noisy, max(LEARNED_MIN, MEMORIZED_MIN))
    return None if step is None else dynamics.point_at(curve, step)


_fresh: dict[str, object] = {}


def fresh(name: str):
    """The recipe trained now, in this process (not read from the store: stored times may come
    from a busier machine); trained once per benchmark session."""
    if name not in _fresh:
        _fresh[name] = train(recipes.load(name).with_seed_and_noise(0))
    return _fresh[name]


def gates_point(result) -> dict | None:
    data = result.data
    return gates_met_at(result.curve, len(data.heldout), len(data.noisy))


@pytest.mark.parametrize("name", TINY)
def test_time_to_preconditions(name):
    """Seconds (evaluation included) until the learned and memorized gates first hold, beside
    the full recipe's time, from a fresh training in this run."""
    result = fresh(name)
    point = gates_point(result)
    text = ("gates never met" if point is None else
            f"{point['seconds']:.0f} s (step {point['step']}) of {result.seconds:.0f} s for the "
            f"full recipe ({result.curve[-1]['step']} steps)")
    _rows.append(("time to preconditions", name, text))
    print(_rows[-1])


def _pytest(args: list[str], store_dir: Path) -> float:
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
                          cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "MEMSUITE_STORE": str(store_dir)})
    seconds = time.perf_counter() - start
    assert done.returncode == 0, done.stdout[-3000:]
    return seconds


def test_default_suite_warm():
    """`pytest` (unit tests and every claim on the default models) with the models stored."""
    store_dir = store.store_root()
    _pytest(["claims/", "-x", "--co"], store_dir)  # import once so the timing below is warm
    seconds = _pytest([], store_dir)
    _rows.append(("default suite (`pytest`), warm store", "tiny, seed 0", f"{seconds:.0f} s"))
    print(_rows[-1])


@pytest.mark.skipif(not os.environ.get("MEMSUITE_BENCH_COLD"),
                    reason="trains every default model from nothing (~10 min on 2 CPU cores); "
                           "set MEMSUITE_BENCH_COLD=1")
def test_default_suite_cold(tmp_path):
    seconds = _pytest([], tmp_path / "empty-store")
    _rows.append(("default suite (`pytest`), empty store", "tiny, seed 0", f"{seconds:.0f} s"))
    print(_rows[-1])


class _GateCallback:
    """A transformers TrainerCallback that evaluates the suite's gates every eval_every steps
    and stops training once both hold."""

    def __init__(self, model, data, eval_every: int) -> None:
        from suite.train.loop import EvalSets

        self.model, self.data, self.every = model, data, eval_every
        self.sets = EvalSets.of(data, 500)
        self.met_at: tuple[int, float] | None = None
        self.start = time.perf_counter()

    def on_step_end(self, args, state, control, **kwargs):
        from suite.train.loop import evaluate

        if state.global_step % self.every:
            return control
        self.model.eval()
        m = evaluate(self.model, self.sets)
        self.model.train()
        n_held, n_noisy = len(self.data.heldout), len(self.data.noisy)
        point = {"heldout_acc": m["heldout_acc"], "noisy_recall": m["noisy_recall"]}
        if gates_met_at([point], n_held, n_noisy):
            self.met_at = (state.global_step, time.perf_counter() - self.start)
            control.should_training_stop = True
        return control


def trainer_to_gates(recipe: recipes.Recipe) -> tuple[int, float] | None:
    """Train `recipe` with transformers' Trainer (same model, data, AdamW, warmup + cosine to the
    same floor, batch size and steps) until both gates hold; (step, seconds) or None."""
    from transformers import Trainer, TrainerCallback, TrainingArguments

    from suite.tasks import generate

    data, spec = generate(recipe.task), recipe.train
    torch.manual_seed(recipe.task.seed)
    model = build_model(recipe.model, data.vocab, n_positions=data.max_length)
    pool = data.clean + data.noisy + data.atomic * spec.atomic_repeat
    batch = encode(pool, data.vocab)
    labels = torch.full_like(batch.ids, -100)
    rows = torch.arange(len(batch)).unsqueeze(1)
    labels[rows, batch.positions + 1] = batch.targets  # HF shifts labels left by one

    class Pool(torch.utils.data.Dataset):
        def __len__(self) -> int:
            return len(batch)

        def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
            return {"input_ids": batch.ids[i], "labels": labels[i]}

    gate = _GateCallback(model, data, spec.eval_every)

    class Stop(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            return gate.on_step_end(args, state, control)

    args = TrainingArguments(
        output_dir=str(ROOT / ".bench-trainer"), max_steps=spec.steps,
        per_device_train_batch_size=spec.batch_size, learning_rate=spec.lr,
        weight_decay=spec.weight_decay, warmup_steps=spec.warmup_steps,
        lr_scheduler_type="cosine_with_min_lr",
        lr_scheduler_kwargs={"min_lr_rate": spec.min_lr_ratio}, adam_beta1=spec.beta1,
        adam_beta2=spec.beta2, logging_strategy="no", save_strategy="no", report_to=[],
        use_cpu=True, seed=recipe.task.seed, dataloader_num_workers=0, disable_tqdm=True)
    gate.start = time.perf_counter()
    Trainer(model=model, args=args, train_dataset=Pool(), callbacks=[Stop()]).train()
    return gate.met_at


def test_suite_loop_vs_hf_trainer():
    """thr-tiny seed 0 to the precondition gates: the suite's loop (a fresh training in this
    run) against transformers' Trainer on the same recipe, evaluated at the same steps."""
    pytest.importorskip("accelerate", reason="transformers' Trainer needs accelerate "
                                             "(pip install -e '.[bench]')")
    name = "thr-tiny"
    ours = gates_point(fresh(name))
    theirs = trainer_to_gates(recipes.load(name).with_seed_and_noise(0))
    if ours is None or theirs is None:
        text = f"gates met: suite {ours is not None}, Trainer {theirs is not None}"
    else:
        text = (f"suite {ours['seconds']:.0f} s (step {ours['step']}), Trainer {theirs[1]:.0f} s "
                f"(step {theirs[0]}): Trainer / suite = {theirs[1] / ours['seconds']:.2f}")
    _rows.append(("to preconditions: suite loop vs HF Trainer", name, text))
    print(_rows[-1])


def test_zz_print_table():
    if not _rows:
        pytest.skip("no benchmark ran")
    print("\n| benchmark | model | result |\n|---|---|---|")
    for what, model, text in _rows:
        print(f"| {what} | {model} | {text} |")
