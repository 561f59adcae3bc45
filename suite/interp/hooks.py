"""Named intervention sites of a GPT2LMHeadModel, and one context manager to read or edit them.

Sites (L = number of blocks, i in 0..L-1), each a tensor [batch, position, width]:

    embed        token + position embeddings (the residual stream before block 0)
    resid.i      the residual stream after block i (block output; resid.{L-1} is before ln_f)
    attn.i       block i's attention output (after c_proj, before it is added to the stream)
    mlp_in.i     block i's MLP input (after ln_2, before c_fc)
    mlp_pre.i    block i's MLP pre-activations (after c_fc, before the nonlinearity)
    mlp.i        block i's MLP neuron activations, after the nonlinearity (width 4 x n_embd)
    mlp_out.i    block i's MLP output (after c_proj, before it is added to the stream)

`hooked(model, capture=[...], edit={site: fn})` registers plain torch forward hooks for the
duration of a `with` block: captured activations land in the returned dict after each forward,
and `fn(activation) -> activation` replaces a site's value in place in the computation. This is
the only place the suite touches module internals; everything else speaks in site names.

transformers 5.x blocks return a tensor, 4.x blocks a tuple whose first element is the hidden
state: both are handled; anything else raises an error naming the installed version.
"""

from __future__ import annotations

import contextlib
from typing import Callable, Iterator, Mapping, Sequence

import torch
import transformers

from suite.tasks import unknown

Edit = Callable[[torch.Tensor], torch.Tensor]
KINDS = ("embed", "resid", "attn", "mlp_in", "mlp_pre", "mlp", "mlp_out")


def n_layers(model: torch.nn.Module) -> int:
    return len(model.transformer.h)


def sites(model: torch.nn.Module) -> list[str]:
    """Every valid site name of `model`, in forward order."""
    out = ["embed"]
    for i in range(n_layers(model)):
        out += [f"attn.{i}", f"mlp_in.{i}", f"mlp_pre.{i}", f"mlp.{i}", f"mlp_out.{i}",
                f"resid.{i}"]
    return out


def resid_sites(model: torch.nn.Module) -> list[str]:
    """embed, resid.0, ..., resid.{L-1}: the residual stream at every depth."""
    return ["embed"] + [f"resid.{i}" for i in range(n_layers(model))]


def _module_and_mode(model: torch.nn.Module, site: str) -> tuple[torch.nn.Module, str]:
    """The module to hook and whether the site is its output ('out') or first input ('in')."""
    if site not in sites(model):
        raise unknown("site", site, sites(model))
    if site == "embed":
        return model.transformer.drop, "out"
    kind, index = site.split(".")
    block = model.transformer.h[int(index)]
    return {
        "resid": (block, "out"),
        "attn": (block.attn, "out"),
        "mlp_in": (block.mlp.c_fc, "in"),
        "mlp_pre": (block.mlp.c_fc, "out"),
        "mlp": (block.mlp.c_proj, "in"),
        "mlp_out": (block.mlp, "out"),
    }[kind]


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
