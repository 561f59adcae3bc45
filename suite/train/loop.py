"""The training loop: one plain loop in the manner of minGPT, deterministic per seed on CPU.

The model is a Hugging Face causal LM of the recipe's family (GPT2LMHeadModel, GELU exact or
GPT-2's tanh form; or LlamaForCausalLM: RoPE, RMSNorm, SwiGLU), dropout off, input and output
embeddings tied in both, trained with fused AdamW on the answer tokens only (cross-entropy at the answer
positions, the unembedding computed there alone, on batches cut after the last position read:
Batch.read_prefix; the prompt is context, not target). Every
`eval_every` steps it scores exact match on each split and keeps a copy of the weights, so the
saved curve and checkpoints locate when the model generalizes and when it starts to recall noisy
labels (M_pre). A recipe with a stopping rule (TrainSpec.stop_after) ends the run once the gates have held at
1 + stop_after evaluations in a row, instead of at `steps`, so the stored model meets them (for a
heavy-noise regime, TrainSpec.stop_on = "memorized": noisy recall's gate alone). Batches come from a seeded permutation per epoch; the same seed gives the same
batches, initial weights and so the same model (float32 on CPU).

The code this module's `train` reaches is what the store hashes into a model's key (suite.train.
key): only code that determines the weights belongs here. Progress display is suite.train.progress.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Callable, Mapping

import torch
from transformers import GPT2Config, GPT2LMHeadModel, LlamaConfig, LlamaForCausalLM, PreTrainedModel

from suite.train import dynamics
from suite.train.batching import Batch, answer_loss, encode, exact_match
from suite.train.recipes import ModelSpec, Recipe, TrainSpec
from suite.tasks import TaskData, Vocab, generate

def default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def build_model(spec: ModelSpec, vocab: Vocab, n_positions: int) -> PreTrainedModel:
    if spec.arch == "llama":
        return LlamaForCausalLM(LlamaConfig(
            vocab_size=len(vocab),
            max_position_embeddings=n_positions,
            hidden_size=spec.n_embd,
            intermediate_size=spec.mlp_width or 4 * spec.n_embd,
            num_hidden_layers=spec.n_layer,
            num_attention_heads=spec.n_head,
            num_key_value_heads=spec.n_head,
            hidden_act=spec.activation,
            attention_dropout=0.0,
            tie_word_embeddings=True,  # as GPT-2: the lens reads both families the same way
            bos_token_id=None,  # as GPT-2 below: no special tokens besides padding
            eos_token_id=None,
        ))
    config = GPT2Config(
        vocab_size=len(vocab),
        n_positions=n_positions,
        n_embd=spec.n_embd,
        n_layer=spec.n_layer,
        n_head=spec.n_head,
        n_inner=spec.mlp_width,
        activation_function=spec.activation,
        resid_pdrop=0.0,
        embd_pdrop=0.0,
        attn_pdrop=0.0,
        bos_token_id=None,  # the tasks have no special tokens besides padding
        eos_token_id=None,
    )
    return GPT2LMHeadModel(config)


@dataclass(frozen=True)
class EvalSets:
    """Fixed batches scored at every evaluation."""

    heldout: Batch
    clean_train: Batch
    noisy_as_label: Batch
    noisy_as_clean: Batch
    atomic: Batch

    @classmethod
    def of(cls, data: TaskData, clean_max: int) -> "EvalSets":
        v = data.vocab
        return cls(
            heldout=encode(data.heldout, v).read_prefix(),
            clean_train=encode(data.clean[:clean_max], v).read_prefix(),
            noisy_as_label=encode(data.noisy, v, "label").read_prefix(),
            noisy_as_clean=encode(data.noisy, v, "clean").read_prefix(),
            atomic=encode(data.atomic, v).read_prefix(),
        )


def _rate(model: torch.nn.Module, batch: Batch) -> float | None:
    return int(exact_match(model, batch).sum()) / len(batch) if len(batch) else None


@torch.no_grad()
def evaluate(model: torch.nn.Module, sets: EvalSets) -> dict[str, float | None]:
    was_training = model.training
    model.eval()
    out = {
        "heldout_acc": _rate(model, sets.heldout),
        "clean_train_acc": _rate(model, sets.clean_train),
        "noisy_recall": _rate(model, sets.noisy_as_label),
        "noisy_clean_share": _rate(model, sets.noisy_as_clean),
        "atomic_acc": _rate(model, sets.atomic),
    }
    model.train(was_training)
    return out


def lr_at(step: int, spec: TrainSpec) -> float:
    if spec.warmup_steps and step < spec.warmup_steps:
        return spec.lr * (step + 1) / spec.warmup_steps
    if spec.schedule == "constant":
        return spec.lr
    progress = (step - spec.warmup_steps) / max(1, spec.steps - spec.warmup_steps)
    floor = spec.min_lr_ratio * spec.lr
    return floor + (spec.lr - floor) * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))


@dataclass
class TrainResult:
    model: PreTrainedModel
    data: TaskData
    curve: list[dict[str, float | None]]
    checkpoints: dict[int, dict[str, torch.Tensor]]  # step -> state dict (CPU copies)
    seconds: float
    device: str = "cpu"  # where it was trained


def train(
    recipe: Recipe,
    device: torch.device | None = None,
    progress: Callable[[int, dict[str, float | None] | None], None] | None = None,
    data: TaskData | None = None,
    init: Mapping[str, torch.Tensor] | None = None,
    n_positions: int | None = None,
) -> TrainResult:
    """Train `recipe` (its task spec carries the seed) and return model, curve and checkpoints.

    A curriculum trains in stages: `data` replaces the recipe's task data (an earlier stage's
    items), `init` starts from an earlier stage's weights, and `n_positions` sizes the context
    for the longest stage. progress(step, metrics or None) is called after every step (with the
    evaluation's metrics at evaluated steps); suite.train.progress draws it. Nothing that only
    reports lives in this module: the code it reaches is hashed into every store key (suite.train.key)."""
    device = device or default_device()
    spec = recipe.train
    seed = recipe.task.seed
    data = data if data is not None else generate(recipe.task)
    torch.manual_seed(seed)
    model = build_model(recipe.model, data.vocab, n_positions=n_positions or data.max_length)
    if init is not None:
        model.load_state_dict(init)
    model = model.to(device)
    model.train()

    pool = data.clean + data.noisy + data.atomic * spec.atomic_repeat
    train_batch = encode(pool, data.vocab).read_prefix().to(device)
    sets = EvalSets.of(data, spec.eval_clean_max)
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": spec.weight_decay},
         {"params": no_decay, "weight_decay": 0.0}],
        lr=spec.lr, betas=(spec.beta1, spec.beta2), fused=True,
    )
    generator = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(train_batch), generator=generator)
    cursor = 0
    curve: list[dict[str, float | None]] = []
    checkpoints: dict[int, dict[str, torch.Tensor]] = {}
    start = time.perf_counter()
    losses: list[float] = []

    def checkpoint(step: int) -> None:
        metrics = {"step": step, "seconds": time.perf_counter() - start,
                   "loss": sum(losses) / len(losses) if losses else None}
        metrics.update(evaluate(model, sets))
        losses.clear()
        curve.append(metrics)
        checkpoints[step] = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
        if progress:
            progress(step, metrics)

    def should_stop() -> bool:
        if spec.stop_after is None:
            return False
        return dynamics.gates_held(curve, len(data.heldout), len(data.noisy), spec.stop_level,
                                   spec.stop_after + 1, gates=spec.stop_on)

    checkpoint(0)
    for step in range(1, spec.steps + 1):
        if cursor + spec.batch_size > len(order):
            order = torch.randperm(len(train_batch), generator=generator)
            cursor = 0
        index = order[cursor : cursor + spec.batch_size].to(device)
        cursor += spec.batch_size
        for group in optimizer.param_groups:
            group["lr"] = lr_at(step - 1, spec)
        loss = answer_loss(model, train_batch.select(index))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        if step % spec.eval_every == 0 or step == spec.steps:
            checkpoint(step)
            if should_stop():
                break
        elif progress:
            progress(step, None)
    seconds = time.perf_counter() - start
    model.eval()
    return TrainResult(model.cpu(), data, curve, checkpoints, seconds, str(device))
