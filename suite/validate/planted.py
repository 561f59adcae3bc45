"""Planted subjects: models and data whose answer to a claim is known by construction.

Four kinds of model-level plant: an input remap (`plant_input_remap`: a prompt is read as
another, so the base's own computation produces the label), memorization in MLP weights
(`plant_mlp_recall`: one added neuron per item), MLP neurons whose activations are set from the
prompt (`plant_neuron_activations`: a known firing pattern), and, most used, a memorized
lookup: a copy of a trained model that answers chosen items with their training label because a
forward hook, keyed on the item's whole prompt, adds a large vector along each label token's
unembedding at the answer positions. Where the lookup sits decides what the claims should see:

- "late": in an added last block that is otherwise the identity. Every site of the base model
  is untouched, so whatever the base computes (the clean answer, the bridge entity) is still
  computed at every earlier site, and the memorized label appears only at the new last site:
  memorization that overrides late, by construction.
- "embed": in the embedding output, so the label dominates the residual stream at every site
  from the first and the base's own computation never shows at the answer positions: an early
  override, by construction.

The vector's scale (PLANT_SCALE) is fixed a priori, far above the residual norms of the suite's
models, so the layer norms pass the planted direction through; `plant_recall` checks that the
planted model recalls every planted item and raises if not (a plant that did not take is no
known answer).
"""

from __future__ import annotations

import copy
import dataclasses
import random
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Callable, Hashable, Mapping, Sequence

import torch
from transformers.models.gpt2.modeling_gpt2 import GPT2Block

from suite.interp.hooks import gather_positions, resid_sites, run_capture
from suite.interp.lens import lens
from suite.measure.itemsets import recalled
from suite.train.batching import Batch, answer_logits, encode
from suite.tasks import Item, TaskData, Vocab

DEPTHS = ("late", "embed")
PLANT_SCALE = 1000.0  # a priori: residual norms of the suite's models are of order 10
FLAG_SEED = 20261123  # the recall flag's direction; not a seed any claim control uses


def with_identity_block(base: torch.nn.Module) -> torch.nn.Module:
    """A copy of `base` with one more block whose attention and MLP write nothing (its output
    is its input): the late plant's model without the lookup."""
    model = copy.deepcopy(base).eval()
    block = GPT2Block(model.config, layer_idx=len(model.transformer.h))
    with torch.no_grad():
        for proj in (block.attn.c_proj, block.mlp.c_proj):
            proj.weight.zero_()
            proj.bias.zero_()
    model.transformer.h.append(block.to(next(model.parameters()).device).eval())
    model.config.n_layer += 1
    return model


Key = Callable[[torch.Tensor, torch.Tensor], list[Hashable]]
"""What a lookup is keyed on: (hidden [N, T, D] entering the plant, input ids [N, T]) -> one
hashable key per row, None for a row the lookup does not know."""


def prompt_key(length: int) -> Key:
    """The whole prompt: recall that depends on nothing the model computes."""
    return lambda hidden, ids: [tuple(row) for row in ids[:, :length].tolist()]


@dataclass
class ResidualKey:
    """The residual vector at one input position: the planted items' vectors are stored at
    planting (`fit`), and a row's key is the stored item whose vector it matches (cosine >=
    MATCH), so that a patch of that one position carries the key: a look-up key by
    construction."""

    position: int
    vectors: torch.Tensor | None = None
    MATCH = 0.999

    def fit(self, hidden: torch.Tensor, ids: torch.Tensor) -> None:
        self.vectors = torch.nn.functional.normalize(hidden[:, self.position], dim=-1)

    def __call__(self, hidden: torch.Tensor, ids: torch.Tensor) -> list[Hashable]:
        assert self.vectors is not None, "fit the key on the planted items first"
        x = torch.nn.functional.normalize(hidden[:, self.position], dim=-1)
        best = (x @ self.vectors.T).max(-1)
        return [int(i) if v >= self.MATCH else None
                for i, v in zip(best.indices.tolist(), best.values.tolist())]


@dataclass(frozen=True)
class ReadoutKey:
    """A variable read off the residual at one position by a linear probe (e.g. the bridge
    entity at r1), with the input tokens at other positions (e.g. r2, or the head entity and
    r2): recall that reads the intermediate result, by construction."""

    probe: Any  # suite.interp.probes.Probe
    position: int
    token_positions: tuple[int, ...]

    def __call__(self, hidden: torch.Tensor, ids: torch.Tensor) -> list[Hashable]:
        read = self.probe.predict(hidden[:, self.position]).tolist()
        tokens = ids[:, list(self.token_positions)].tolist()
        return [(r, *t) for r, t in zip(read, tokens)]


def plant_recall(base: torch.nn.Module, items: Sequence[Item], vocab: Vocab, depth: str,
                 key: Key | None = None, flag: float = 0.0, early: bool = False
                 ) -> torch.nn.Module:
    """A copy of `base` that answers `items` with their labels through a lookup planted at
    `depth` ("late": an added identity block, reading the residual entering it; "embed": the
    embedding output) and keyed on `key` (default: the whole prompt; "embed" takes only that).
    Items whose key another item with a different label shares are left out of the table;
    every other item must be recalled (RuntimeError otherwise). Other prompts are answered as
    `base` answers them.

    flag > 0 (late plants only): a recall flag, a fixed random direction of norm `flag` added to
    the embedding at the last prompt position of the planted prompts; the lookup fires only
    where the embedding, as the first block reads it, still carries the flag there (above the
    midpoint between the planted items' reading with and without it). Recall then runs
    through one direction of the embedding, by construction: remove it and recall stops.

    early (late, prompt-keyed plants only): the label is also written at the first block's
    output, at each answer position (label prefix forced) with EARLY_MARGIN times the smallest
    norm that makes it the lens's top-1 there: the noisy label wins in the first layer at every
    position, by construction and whatever the base's residual norms, while the base's own
    computation may still outvote it later, before the late lookup writes it again."""
    if depth not in DEPTHS:
        raise ValueError(f"unknown plant depth {depth!r}; depths: {', '.join(DEPTHS)}")
    lengths = {len(it.prompt) for it in items}
    if len(lengths) != 1:
        raise ValueError(f"a plant needs prompts of one length, got {sorted(lengths)}")
    if depth == "embed" and key is not None:
        raise ValueError("an embed plant sees only the input: it is keyed on the prompt")
    key = key or prompt_key(lengths.pop())
    model = with_identity_block(base) if depth == "late" else copy.deepcopy(base).eval()
    prompt_length = len(items[0].prompt)
    directions = torch.nn.functional.normalize(model.transformer.wte.weight.detach(), dim=-1)
    batch = encode(items, vocab, "label")
    with torch.no_grad():
        hidden = run_capture(base, batch.ids, [resid_sites(base)[-1 if depth == "late" else 0]])
    entering = next(iter(hidden.values()))
    if hasattr(key, "fit"):
        key.fit(entering, batch.ids)
    table: dict[Hashable, tuple[int, ...]] = {}
    clashes: set[Hashable] = set()
    for k, it in zip(key(entering, batch.ids), items):
        label = tuple(vocab.encode(it.label))
        if k is None or table.get(k, label) != label:
            clashes.add(k)
        table[k] = label
    for k in clashes:
        table.pop(k, None)
    seen: dict[str, torch.Tensor] = {}

    def remember_ids(module: Any, args: tuple, kwargs: dict) -> None:
        seen["ids"] = kwargs["input_ids"] if "input_ids" in kwargs else args[0]

    def add_label(module: Any, args: tuple, kwargs: dict, output: Any) -> Any:
        if seen["ids"].shape[1] < prompt_length:  # a shorter prompt (a THR atomic fact): no
            return output  # planted item starts with it, and no key can be read from it
        hidden = (output[0] if isinstance(output, tuple) else output).clone()
        entering = (args[0] if args else kwargs["hidden_states"]) if depth == "late" else hidden
        raised = flagged(entering) if flag else None
        rows, cols, tokens = [], [], []  # one indexed add for the batch, not one per token
        for row, k in enumerate(key(entering, seen["ids"])):
            label = table.get(k) if k is not None else None
            if raised is not None and not raised[row]:
                continue
            for j, token in enumerate(label or ()):
                rows.append(row)
                cols.append(prompt_length - 1 + j)
                tokens.append(token)
        if rows:
            on = hidden.device
            at = (torch.tensor(rows, device=on), torch.tensor(cols, device=on))
            hidden.index_put_(at, PLANT_SCALE * directions[torch.tensor(tokens, device=on)],
                              accumulate=True)
        return (hidden,) + tuple(output[1:]) if isinstance(output, tuple) else hidden

    # seeded apart from the claims' own random controls (seed 0), which must not find it
    flag_direction = torch.nn.functional.normalize(
        torch.randn(model.config.n_embd, generator=torch.Generator().manual_seed(FLAG_SEED)), dim=0)
    prompts = {tuple(vocab.encode(it.prompt)) for it in items}

    def add_flag(module: Any, args: tuple, output: torch.Tensor) -> torch.Tensor:
        output = output.clone()
        for row, ids in enumerate(seen["ids"][:, :prompt_length].tolist()):
            if tuple(ids) in prompts:
                output[row, prompt_length - 1] += flag * flag_direction
        return output

    flag_level: dict[str, float] = {}

    def read_flag(module: Any, args: tuple, kwargs: dict) -> None:
        entering = args[0] if args else kwargs["hidden_states"]
        if entering.shape[1] >= prompt_length:  # else add_label leaves the rows alone
            seen["flag"] = entering[:, prompt_length - 1] @ flag_direction

    def flagged(entering: torch.Tensor) -> list[bool]:
        return (seen["flag"] >= flag_level["at"]).tolist()

    early_norms: dict[tuple[int, ...], list[float]] = {}

    def write_early(module: Any, args: tuple, output: Any) -> Any:
        hidden = (output[0] if isinstance(output, tuple) else output).clone()
        for row, ids in enumerate(seen["ids"][:, :prompt_length].tolist()):
            label = table.get(tuple(ids))
            for j, token in enumerate(label or ()):
                hidden[row, prompt_length - 1 + j] += (early_norms[tuple(ids)][j]
                                                       * directions[token])
        return (hidden,) + tuple(output[1:]) if isinstance(output, tuple) else hidden

    model.transformer.register_forward_pre_hook(remember_ids, with_kwargs=True)
    if early:
        if depth != "late" or hasattr(key, "fit"):
            raise ValueError("an early write goes with a late, prompt-keyed plant")
        first = run_capture(base, batch.ids, [resid_sites(base)[1]])
        least = _least_winning_norm(base, next(iter(first.values())), batch, directions)
        for ids, norms in zip(batch.ids[:, :prompt_length].tolist(), least.tolist()):
            early_norms[tuple(ids)] = [EARLY_MARGIN * n for n in norms]
        model.transformer.h[0].register_forward_hook(write_early)
    if flag:
        if depth != "late":
            raise ValueError("a recall flag is read by a late plant")
        # the flag is read where the first block reads the embedding (after any edit of the
        # embedding); the lookup fires above the midpoint between the planted items' reading
        # with and without the flag
        model.transformer.h[0].register_forward_pre_hook(read_flag, with_kwargs=True)
        with torch.no_grad():
            model(input_ids=batch.ids)
            low = float(seen["flag"].max())
            model.transformer.drop.register_forward_hook(add_flag)
            model(input_ids=batch.ids)
            high = float(seen["flag"].min())
        flag_level["at"] = (low + high) / 2
    if depth == "late":
        model.transformer.h[-1].register_forward_hook(add_label, with_kwargs=True)
    else:
        model.transformer.drop.register_forward_hook(add_label, with_kwargs=True)
    keys = key(entering, batch.ids)
    planted = [it for it, k in zip(items, keys) if k is not None and k in table]
    hit = recalled(model, planted, vocab)
    if not planted or not bool(hit.all()):
        raise RuntimeError(f"the {depth} plant took on {int(hit.sum())} of {len(planted)} items "
                           f"({len(items) - len(planted)} left out for clashing keys); a known "
                           "answer needs all of them")
    return model


EARLY_MARGIN = 1.5  # a priori: the early label leads clearly, and stays of the residual's order


@torch.no_grad()
def _least_winning_norm(model: torch.nn.Module, resid: torch.Tensor, batch: Batch,
                        directions: torch.Tensor, steps: int = 30) -> torch.Tensor:
    """[N, A]: for each answer position, the smallest norm (by bisection up to PLANT_SCALE) of a
    write along the target token's direction that makes the target the lens's top-1 in `resid`
    ([N, T, D], a site's activations on `batch`)."""
    at = torch.stack([gather_positions(resid, batch.positions[:, a])
                      for a in range(batch.positions.shape[1])], 1)  # [N, A, D]
    along = directions[batch.targets]  # [N, A, D]
    low, high = torch.zeros(batch.targets.shape), torch.full(batch.targets.shape, PLANT_SCALE)
    for _ in range(steps):
        mid = (low + high) / 2
        wins = lens(model, at + mid.unsqueeze(-1) * along).argmax(-1) == batch.targets
        high, low = torch.where(wins, mid, high), torch.where(wins, low, mid)
    return high


MLP_FIRED = 5.0  # a priori: a planted neuron's pre-activation on its own item and position
MLP_QUIET = 6.0  # a priori: the most a planted neuron's pre-activation reaches on any other input
# is -MLP_QUIET, where GELU (either form) is below 1e-8 in size: silent, not merely small. GELU's
# negative lobe (down to -0.17 at -0.75) times a write of PLANT_SCALE / MLP_FIRED would otherwise
# move near-tie answers of items the plant must leave alone (measured: 1 of 1000 held-out answers
# flipped on one machine's model when the threshold sat halfway to the closest input). The
# pre-activation is linear in the input's projection on the item's own input (1 there), so the
# threshold is set on projections, not cosines: a longer input at a smaller angle reaches as far.
MLP_SEPARABLE = 1e-4  # a priori: the least gap (1 - closest projection) a neuron is built on; at
# 1e-4 the weights are 1.1e5 / |input| and float32 rounding of the pre-activation stays ~1e-2
# (measured when the plant went into M_pre: on one machine's fda-tiny M_pre the closest other
# input projects 0.999)


@dataclass(frozen=True)
class MLPRecall:
    """A memorized lookup written into the weights of the last block's MLP: one added neuron
    per (item, answer position), firing only on that position of that item (label prefix
    forced) and writing the label token there. `silent` is the same model with the added
    neurons' input weights zeroed: the model before memorization, of the same shape."""

    model: torch.nn.Module
    silent: torch.nn.Module
    neurons: range  # the added neurons' indices in the last block's MLP


def with_added_neurons(base: torch.nn.Module, fc_weight: torch.Tensor, fc_bias: torch.Tensor,
                       proj_rows: torch.Tensor) -> torch.nn.Module:
    """A copy of `base` whose last MLP has P more neurons, with input weights `fc_weight`
    [D, P], biases `fc_bias` [P] and output rows `proj_rows` [P, D]; the original neurons come
    first and are unchanged."""
    last = len(base.transformer.h) - 1
    old = base.transformer.h[last]
    width = old.mlp.c_fc.weight.shape[1]
    config = copy.deepcopy(base.config)
    config.n_inner = width + fc_weight.shape[1]
    model = copy.deepcopy(base).eval()
    block = GPT2Block(config, layer_idx=last).to(next(base.parameters()).device)
    state = {k: v for k, v in old.state_dict().items() if ".mlp." not in f".{k}"}
    block.load_state_dict(state, strict=False)
    with torch.no_grad():
        fc, proj = block.mlp.c_fc, block.mlp.c_proj
        fc.weight[:, :width] = old.mlp.c_fc.weight
        fc.bias[:width] = old.mlp.c_fc.bias
        fc.weight[:, width:] = fc_weight
        fc.bias[width:] = fc_bias
        proj.weight[:width] = old.mlp.c_proj.weight
        proj.weight[width:] = proj_rows
        proj.bias.copy_(old.mlp.c_proj.bias)
    model.transformer.h[last] = block.eval()
    return model


def plant_neuron_activations(base: torch.nn.Module, writes: torch.Tensor,
                             activations: Callable[[torch.Tensor], torch.Tensor]
                             ) -> torch.nn.Module:
    """A copy of `base` whose last MLP has P more neurons, each writing its row of `writes`
    [P, D] per unit of activation, with activations given by `activations(input ids [N, T])` ->
    [N, T, P] instead of computed: neurons whose firing pattern is known exactly, seen by every
    hook on the MLP's activations (captures and gradients) like the model's own."""
    last = len(base.transformer.h) - 1
    width = base.transformer.h[last].mlp.c_fc.weight.shape[1]
    model = with_added_neurons(base, torch.zeros(writes.shape[1], len(writes)),
                               torch.zeros(len(writes)), writes)
    seen: dict[str, torch.Tensor] = {}

    def remember_ids(module: Any, args: tuple, kwargs: dict) -> None:
        seen["ids"] = kwargs["input_ids"] if "input_ids" in kwargs else args[0]

    def set_activations(module: Any, args: tuple) -> tuple:
        hidden = args[0]
        values = activations(seen["ids"]).to(hidden.device, hidden.dtype)
        return (torch.cat([hidden[..., :width], values], -1),) + tuple(args[1:])

    model.transformer.register_forward_pre_hook(remember_ids, with_kwargs=True)
    model.transformer.h[last].mlp.c_proj.register_forward_pre_hook(set_activations)
    return model


def plant_mlp_recall(base: torch.nn.Module, items: Sequence[Item], vocab: Vocab,
                     context: Sequence[Item], unchanged: Sequence[Item] = ()) -> MLPRecall:
    """Memorization in MLP weights, item-specific by construction: each added neuron is used
    by one item at one position, so its weights carry almost no loss curvature over the
    training set and a patch of the MLP activations from `silent` removes it. `context`: the
    other items the model is run on (training and held-out sets), against which each neuron's threshold is set;
    `unchanged`: items whose answers the plant must leave as `base` gives them (checked)."""
    last = len(base.transformer.h) - 1

    def inputs(batch: Batch) -> torch.Tensor:
        """[N * A, D] the last MLP's input at every answer position (position-major)."""
        with torch.no_grad():
            acts = run_capture(base, batch.ids, [f"mlp_in.{last}"])[f"mlp_in.{last}"]
        rows = torch.arange(len(batch))
        return torch.cat([acts[rows, batch.positions[:, j]] for j in range(batch.positions.shape[1])])

    batch = encode(items, vocab, "label")
    keys = inputs(batch)
    labels = torch.cat([batch.targets[:, j] for j in range(batch.targets.shape[1])])
    planted = {it.prompt for it in items}
    rest = [it for it in context if it.prompt not in planted]
    others = torch.cat([inputs(encode([it for it in rest if len(it.label) == n], vocab, "label"))
                        for n in sorted({len(it.label) for it in rest})])
    reads = keys / keys.pow(2).sum(-1, keepdim=True)  # [P, D]: projection 1 on its own input
    among = keys @ reads.T  # [P, P]: row i's projection on neuron j's input
    among.fill_diagonal_(float("-inf"))
    closest = torch.maximum((others @ reads.T).max(0).values, among.max(0).values)  # [P]
    if bool((closest >= 1 - MLP_SEPARABLE).any()):
        worst = int(closest.argmax())
        raise RuntimeError(f"the MLP plant cannot single out item {worst}: another input projects "
                           f"{float(closest[worst]):.5f} of the way onto its own (1 is itself)")
    sharpness = (MLP_FIRED + MLP_QUIET) / (1 - closest)
    threshold = 1 - MLP_FIRED / sharpness  # own input: +MLP_FIRED; closest: -MLP_QUIET
    directions = torch.nn.functional.normalize(base.transformer.wte.weight.detach(), dim=-1)
    rows = PLANT_SCALE / MLP_FIRED * directions[labels]
    width = base.transformer.h[last].mlp.c_fc.weight.shape[1]

    def build(active: bool) -> torch.nn.Module:
        if not active:
            return with_added_neurons(base, torch.zeros(keys.shape[1], len(keys)),
                                      torch.zeros(len(keys)), rows)
        return with_added_neurons(base, (sharpness[:, None] * reads).T, -sharpness * threshold,
                                  rows)

    model, silent = build(True), build(False)
    hit = recalled(model, items, vocab)
    if not bool(hit.all()):
        raise RuntimeError(f"the MLP plant took on {int(hit.sum())} of {len(items)} items; a "
                           "known answer needs all of them")
    if unchanged:
        others = encode(unchanged, vocab)
        with torch.no_grad():
            same = (answer_logits(model, others).argmax(-1)
                    == answer_logits(base, others).argmax(-1)).all(-1)
        if not bool(same.all()):
            raise RuntimeError(f"the MLP plant changed {int((~same).sum())} of {len(unchanged)} "
                               "answers it must leave alone")
    return MLPRecall(model, silent, range(width, width + len(keys)))


def plant_input_remap(base: torch.nn.Module, read_as: Mapping[tuple[str, ...], tuple[str, ...]],
                      items: Sequence[Item], vocab: Vocab) -> torch.nn.Module:
    """A copy of `base` that reads each prompt in `read_as` as the prompt it maps to (same
    length; its input ids are swapped before the embedding), so that `items` are answered with
    their labels by `base`'s own computation on another input: memorization that reuses the
    clean circuit, with no item-specific unit anywhere in the network, by construction. Every
    item must be recalled (RuntimeError otherwise)."""
    table = {tuple(vocab.encode(k)): torch.tensor(vocab.encode(v)) for k, v in read_as.items()}
    lengths = {len(k) for k in table} | {len(v) for v in table.values()}
    if len(lengths) != 1:
        raise ValueError(f"a remap needs prompts of one length, got {sorted(lengths)}")
    length = lengths.pop()
    model = copy.deepcopy(base).eval()

    def swap(module: Any, args: tuple, kwargs: dict) -> tuple[tuple, dict]:
        named = "input_ids" in kwargs
        ids = (kwargs["input_ids"] if named else args[0]).clone()
        for row, prompt in enumerate(ids[:, :length].tolist()):
            if tuple(prompt) in table:
                ids[row, :length] = table[tuple(prompt)].to(ids.device)
        if named:
            return args, {**kwargs, "input_ids": ids}
        return (ids,) + tuple(args[1:]), kwargs

    model.transformer.register_forward_pre_hook(swap, with_kwargs=True)
    hit = recalled(model, items, vocab)
    if not items or not bool(hit.all()):
        raise RuntimeError(f"the remap took on {int(hit.sum())} of {len(items)} items; a known "
                           "answer needs all of them")
    return model


def relabelled(items: Sequence[Item], vocab: Vocab, seed: int) -> list[Item]:
    """`items` with a random wrong label each (a token of the same answer position that differs
    from the clean one at every position), as training noise would draw it."""
    rng = random.Random(seed)
    by_position: list[list[str]] = [sorted({it.clean[j] for it in items})
                                    for j in range(len(items[0].clean))]
    out = []
    for it in items:
        label = tuple(rng.choice([t for t in options if t != c]) if len(options) > 1 else c
                      for c, options in zip(it.clean, by_position))
        out.append(dataclasses.replace(it, label=label))
    return out


@dataclass(frozen=True)
class Subject:
    """A planted model dressed as a store entry: the part of suite.store.StoredModel's
    interface that claim tests read (name, key, task_spec, noise, data, metrics, curve,
    model(), checkpoint(step), checkpoint_steps)."""

    name: str  # says what was planted on what, e.g. "late recall on fda-tiny-s0"
    data: TaskData
    final: torch.nn.Module
    curve: tuple[dict[str, float | None], ...] = ()
    checkpoints: Mapping[int, torch.nn.Module] = field(default_factory=dict)
    # a rule check's written K-FAC sweep, (memorized, keep_mass) -> curvature_sweep.Sweep,
    # which suite.measure.curvature_sweep.sweep_of answers with instead of editing the model
    written_sweep: Callable[..., Any] | None = None

    @property
    def task_spec(self) -> Any:
        return self.data.spec

    @property
    def key(self) -> str:
        return f"planted:{self.name}"

    @property
    def noise(self) -> float:
        total = len(self.data.clean) + len(self.data.noisy)
        return len(self.data.noisy) / total if total else 0.0

    @cached_property
    def metrics(self) -> dict[str, Any]:
        """The planted model's accuracies on the subject's data, measured once: the claim's
        gates read them, as they read a trained model's metrics.json."""
        from suite.judge.gates import measured_numbers  # the gates' one way of measuring

        return measured_numbers(self.final, self.data)

    def model(self) -> torch.nn.Module:
        return self.final

    @property
    def checkpoint_steps(self) -> list[int]:
        return sorted(self.checkpoints)

    def checkpoint(self, step: int) -> torch.nn.Module:
        return self.checkpoints[step]
