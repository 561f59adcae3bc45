"""Named intervention sites of a causal LM (GPT-2 or Llama family), and one context manager to
read or edit them.

Sites (L = number of blocks, i in 0..L-1), each a tensor [batch, position, width]:

    embed        the residual stream before block 0 (GPT-2: token + position embeddings;
                 Llama: token embeddings, positions enter through RoPE inside attention)
    resid.i      the residual stream after block i (block output; resid.{L-1} is before the
                 final norm)
    attn.i       block i's attention output (after its output projection, before it is added
                 to the stream)
    mlp_in.i     block i's MLP input (after the block's second norm)
    mlp_pre.i    block i's MLP pre-activations (GPT-2: c_fc's output; Llama: gate_proj's)
    mlp_up.i     Llama only: up_proj's output, the linear half of SwiGLU
    mlp.i        block i's MLP neuron activations, the input of the MLP's output projection
                 (GPT-2: GELU(pre), width 4 x n_embd; Llama: SiLU(gate) * up)
    mlp_out.i    block i's MLP output (before it is added to the stream)

`hooked(model, capture=[...], edit={site: fn})` registers plain torch forward hooks for the
duration of a `with` block: captured activations land in the returned dict after each forward,
and `fn(activation) -> activation` replaces a site's value in place in the computation.

Each family's module names are written once, in FAMILIES: where each site is, the final norm
and the MLP's weight matrices. This is the only place the suite touches module internals;
everything else speaks in site names (golden tests check each family against its own forward).

transformers 5.x blocks return a tensor, 4.x blocks a tuple whose first element is the hidden
state: both are handled; anything else raises an error naming the installed version.
"""

from __future__ import annotations

import contextlib
import operator
from dataclasses import dataclass
from typing import Callable, Iterator, Mapping, Sequence

import torch
import transformers
from transformers.pytorch_utils import Conv1D

from suite.tasks import unknown

Edit = Callable[[torch.Tensor], torch.Tensor]
KINDS = ("embed", "resid", "attn", "mlp_in", "mlp_pre", "mlp_up", "mlp", "mlp_out")


@dataclass(frozen=True)
class Family:
    """Where one model family keeps each site. Paths are attribute paths: from the model for
    `blocks`, `embed` and `final_norm`, from a block for `block_sites` and `projections`."""

    model_type: str  # config.model_type
    blocks: str  # the ModuleList of blocks
    embed: str  # the module whose output is the residual stream before block 0
    final_norm: str  # applied to the last block's output before the unembedding
    block_sites: dict[str, tuple[str, str]]  # kind -> (module path, "out" or "in" (first input))
    # the MLP's weight matrices, as (short name, module path, input kind, output kind)
    projections: tuple[tuple[str, str, str, str], ...]
    projection_prefix: str  # names projections "<prefix>.<block>.<short name>"


FAMILIES = {
    "gpt2": Family(
        model_type="gpt2", blocks="transformer.h", embed="transformer.drop",
        final_norm="transformer.ln_f",
        block_sites={"resid": ("", "out"), "attn": ("attn", "out"),
                     "mlp_in": ("mlp.c_fc", "in"), "mlp_pre": ("mlp.c_fc", "out"),
                     "mlp": ("mlp.c_proj", "in"), "mlp_out": ("mlp", "out")},
        projections=(("c_fc", "mlp.c_fc", "mlp_in", "mlp_pre"),
                     ("c_proj", "mlp.c_proj", "mlp", "mlp_out")),
        projection_prefix="h"),
    "llama": Family(
        model_type="llama", blocks="model.layers", embed="model.embed_tokens",
        final_norm="model.norm",
        # mlp_in is the MLP module's input: both gate_proj and up_proj read it, so an edit
        # there reaches both
        block_sites={"resid": ("", "out"), "attn": ("self_attn", "out"),
                     "mlp_in": ("mlp", "in"), "mlp_pre": ("mlp.gate_proj", "out"),
                     "mlp_up": ("mlp.up_proj", "out"),
                     "mlp": ("mlp.down_proj", "in"), "mlp_out": ("mlp", "out")},
        projections=(("gate_proj", "mlp.gate_proj", "mlp_in", "mlp_pre"),
                     ("up_proj", "mlp.up_proj", "mlp_in", "mlp_up"),
                     ("down_proj", "mlp.down_proj", "mlp", "mlp_out")),
        projection_prefix="layers"),
}


def family_of(model_or_type: torch.nn.Module | str) -> Family:
    """The Family of a model (or of a config.model_type); an error lists the supported ones."""
    if isinstance(model_or_type, str):
        kind = model_or_type
    else:
        kind = getattr(getattr(model_or_type, "config", None), "model_type", None)
    if kind not in FAMILIES:
        raise ValueError(f"model family {kind!r} is not supported; the suite judges: "
                         f"{', '.join(FAMILIES)} (suite.interp.hooks.FAMILIES)")
    return FAMILIES[kind]


def _get(root: torch.nn.Module, path: str) -> torch.nn.Module:
    return operator.attrgetter(path)(root) if path else root


def blocks(model: torch.nn.Module) -> torch.nn.ModuleList:
    return _get(model, family_of(model).blocks)


def final_norm(model: torch.nn.Module) -> torch.nn.Module:
    """The norm between the last block's output and the unembedding (GPT-2 ln_f, Llama norm)."""
    return _get(model, family_of(model).final_norm)


def n_layers(model: torch.nn.Module) -> int:
    return len(blocks(model))


def sites(model: torch.nn.Module) -> list[str]:
    """Every valid site name of `model`, in forward order."""
    kinds = [k for k in KINDS[2:] if k in family_of(model).block_sites] + ["resid"]
    out = ["embed"]
    for i in range(n_layers(model)):
        out += [f"{kind}.{i}" for kind in kinds]
    return out


def resid_sites(model: torch.nn.Module) -> list[str]:
    """embed, resid.0, ..., resid.{L-1}: the residual stream at every depth."""
    return ["embed"] + [f"resid.{i}" for i in range(n_layers(model))]


@dataclass(frozen=True)
class Projection:
    """One MLP weight matrix y = x W, and the sites of its input x and output y."""

    module: torch.nn.Module
    in_site: str
    out_site: str

    @property
    def weight(self) -> torch.Tensor:
        """W as [d_in, d_out] (GPT-2's Conv1D stores it so; nn.Linear stores W^T)."""
        w = self.module.weight
        return w if isinstance(self.module, Conv1D) else w.T

    @torch.no_grad()
    def set_weight(self, weight: torch.Tensor) -> None:
        """Replace W, given as [d_in, d_out]."""
        self.weight.copy_(weight)


def mlp_projections(model: torch.nn.Module) -> dict[str, Projection]:
    """Every MLP weight matrix by name (GPT-2: 'h.{i}.c_fc', 'h.{i}.c_proj'; Llama:
    'layers.{i}.gate_proj', 'layers.{i}.up_proj', 'layers.{i}.down_proj'), in forward order."""
    family = family_of(model)
    out = {}
    for i, block in enumerate(blocks(model)):
        for short, path, in_kind, out_kind in family.projections:
            out[f"{family.projection_prefix}.{i}.{short}"] = Projection(
                _get(block, path), f"{in_kind}.{i}", f"{out_kind}.{i}")
    return out


def _module_and_mode(model: torch.nn.Module, site: str) -> tuple[torch.nn.Module, str]:
    """The module to hook and whether the site is its output ('out') or first input ('in')."""
    if site not in sites(model):
        raise unknown("site", site, sites(model))
    family = family_of(model)
    if site == "embed":
        return _get(model, family.embed), "out"
    kind, index = site.split(".")
    path, mode = family.block_sites[kind]
    return _get(blocks(model)[int(index)], path), mode


def _split(output: object, site: str) -> tuple[torch.Tensor, Callable[[torch.Tensor], object]]:
    """The hidden-state tensor inside a module output, and how to put a replacement back."""
    if isinstance(output, torch.Tensor):
        return output, lambda t: t
    if isinstance(output, tuple) and output and isinstance(output[0], torch.Tensor):
        return output[0], lambda t: (t,) + tuple(output[1:])
    raise TypeError(
        f"site {site}: the module returned {type(output).__name__}, not a tensor or a tuple "
        f"starting with one; transformers {transformers.__version__} is not supported by "
        "suite.interp.hooks"
    )


@contextlib.contextmanager
def hooked(
    model: torch.nn.Module,
    capture: Sequence[str] = (),
    edit: Mapping[str, Edit] | None = None,
    detach: bool = True,
) -> Iterator[dict[str, torch.Tensor]]:
    """Capture and/or edit named sites during forwards inside the `with` block.

    An edited site is captured after its edit. With detach=False the captured tensors stay in
    the autograd graph (for gradients with respect to activations).
    """
    edit = dict(edit or {})
    captured: dict[str, torch.Tensor] = {}
    handles = []
    for site in dict.fromkeys(list(capture) + list(edit)):
        module, mode = _module_and_mode(model, site)
        fn, keep = edit.get(site), site in capture

        if mode == "out":
            def hook(mod, args, output, site=site, fn=fn, keep=keep):  # type: ignore[no-untyped-def]
                tensor, rebuild = _split(output, site)
                if fn is not None:
                    tensor = fn(tensor)
                if keep:
                    captured[site] = tensor.detach() if detach else tensor
                return rebuild(tensor) if fn is not None else None

            handles.append(module.register_forward_hook(hook))
        else:
            def pre_hook(mod, args, site=site, fn=fn, keep=keep):  # type: ignore[no-untyped-def]
                tensor = args[0]
                if fn is not None:
                    tensor = fn(tensor)
                if keep:
                    captured[site] = tensor.detach() if detach else tensor
                return (tensor,) + tuple(args[1:]) if fn is not None else None

            handles.append(module.register_forward_pre_hook(pre_hook))
    try:
        yield captured
    finally:
        for h in handles:
            h.remove()


def at_positions(values: torch.Tensor, positions: torch.Tensor) -> Edit:
    """An edit that writes values[b] into row b at position positions[b] (one position per row).

    values: [B, D]; positions: [B] (long).
    """
    def fn(act: torch.Tensor) -> torch.Tensor:
        out = act.clone()
        rows = torch.arange(act.shape[0], device=act.device)
        out[rows, positions.to(act.device)] = values.to(act.dtype).to(act.device)
        return out

    return fn


def compose(*edits: Edit) -> Edit:
    """One edit applying several in order."""
    def fn(act: torch.Tensor) -> torch.Tensor:
        for edit in edits:
            act = edit(act)
        return act

    return fn


def edit_vectors(fn: Callable[[torch.Tensor], torch.Tensor],
                 positions: torch.Tensor | None = None) -> Edit:
    """An edit applying fn to activation vectors [..., D]: at one position per row ([B] long),
    or at every position when positions is None."""
    def edit(act: torch.Tensor) -> torch.Tensor:
        if positions is None:
            return fn(act)
        out = act.clone()
        rows = torch.arange(act.shape[0], device=act.device)
        pos = positions.to(act.device)
        out[rows, pos] = fn(act[rows, pos])
        return out

    return edit


def gather_positions(act: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
    """act[b, positions[b]] for each row: [B, T, D] x [B] -> [B, D]."""
    rows = torch.arange(act.shape[0], device=act.device)
    return act[rows, positions.to(act.device)]


@torch.no_grad()
def run_capture(model: torch.nn.Module, ids: torch.Tensor, capture: Sequence[str],
                chunk: int = 1024) -> dict[str, torch.Tensor]:
    """Capture `capture` sites over a large batch in chunks; returns CPU tensors [N, T, D]."""
    parts: dict[str, list[torch.Tensor]] = {s: [] for s in capture}
    device = next(model.parameters()).device
    for start in range(0, ids.shape[0], chunk):
        with hooked(model, capture=capture) as acts:
            model(input_ids=ids[start : start + chunk].to(device))
        for s in capture:
            parts[s].append(acts[s].cpu())
    return {s: torch.cat(v) for s, v in parts.items()}
