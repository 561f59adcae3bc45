"""Loss curvature of MLP weights by K-FAC, and the weight edit of Merullo et al. (arXiv 2510.24256).

For an MLP projection y = x W (W: [d_in, d_out]; suite.interp.hooks.mlp_projections names them
per model family and reads W in that orientation whatever the module stores) K-FAC approximates the Fisher
block of W as A (x) G with A = E[x x^T] over token positions (inputs) and G = E[g g^T] (gradients
of the loss at the outputs). With A = U_A diag(a) U_A^T and G = U_G diag(g) U_G^T, the component
u_A,i u_G,j^T of W has curvature a_i g_j. The edit keeps the highest-curvature components until a
share `keep_mass` of the total curvature mass is kept, and zeroes the rest of W in that basis.

Baseline (magnitude): keep the top singular components of W. The two bases differ in size
(d_in x d_out pairs against min(d_in, d_out) singular vectors), so "the same number" is matched
as the same share of the basis: k pairs kept of d_in*d_out -> ceil(k / (d_in*d_out) *
min(d_in, d_out)) singular components kept.

Fisher: "empirical" uses the training labels' loss (the label a memorized item is trained on);
"true" samples labels from the model's own predictive distribution.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from functools import cached_property

import torch

from suite.interp.hooks import hooked, mlp_projections
from suite.train.batching import Batch, answer_logits


@dataclass(frozen=True)
class Factors:
    A: torch.Tensor  # [d_in, d_in]
    G: torch.Tensor  # [d_out, d_out]
    tokens: int

    @cached_property
    def eigen(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """(a, U_A, g, U_G) in float64: computed once, read by every edit of a sweep."""
        a, ua = torch.linalg.eigh(self.A.double())
        g, ug = torch.linalg.eigh(self.G.double())
        return a, ua, g, ug


def kfac_factors(model: torch.nn.Module, batch: Batch, fisher: str = "empirical",
                 chunk: int = 512, seed: int = 0) -> dict[str, Factors]:
    """K-FAC factors A and G for every MLP projection, averaged over non-padding tokens."""
    if fisher not in ("empirical", "true"):
        raise ValueError(f"fisher must be 'empirical' or 'true', got {fisher!r}")
    modules = {name: (p.in_site, p.out_site) for name, p in mlp_projections(model).items()}
    sums = {name: [None, None] for name in modules}  # type: dict[str, list]
    wanted = [site for pair in modules.values() for site in pair]
    tokens = 0
    generator = torch.Generator().manual_seed(seed)
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    for start in range(0, len(batch), chunk):
        part = batch.select(slice(start, start + chunk)).to(device)
        mask = (torch.arange(part.ids.shape[1], device=device)[None, :]
                <= part.positions[:, -1:]).float()  # tokens up to the last answer input
        with hooked(model, capture=wanted, detach=False) as acts:
            logits = answer_logits(model, part)
            for _, out_site in modules.values():
                acts[out_site].retain_grad()
            if fisher == "empirical":
                targets = part.targets
            else:
                probs = logits.detach().softmax(-1).flatten(0, 1).cpu()
                targets = torch.multinomial(probs, 1, generator=generator).view_as(part.targets)
                targets = targets.to(device)
            loss = torch.nn.functional.cross_entropy(logits.flatten(0, 1), targets.flatten(),
                                                     reduction="sum")
            model.zero_grad(set_to_none=True)
            loss.backward()
        m = mask.unsqueeze(-1)
        for name, (in_site, out_site) in modules.items():
            x = (acts[in_site].detach() * m).flatten(0, 1)
            g = (acts[out_site].grad * m).flatten(0, 1)
            a_part, g_part = x.T @ x, g.T @ g
            s = sums[name]
            s[0] = a_part if s[0] is None else s[0] + a_part
            s[1] = g_part if s[1] is None else s[1] + g_part
        tokens += int(mask.sum())
    model.zero_grad(set_to_none=True)
    model.train(was_training)
    return {name: Factors((s[0] / tokens).cpu(), (s[1] / tokens).cpu(), tokens)
            for name, s in sums.items()}


@dataclass(frozen=True)
class EditedWeight:
    weight: torch.Tensor
    kept: int  # components kept
    total: int  # components in the basis


def kfac_edit(weight: torch.Tensor, factors: Factors, keep_mass: float) -> EditedWeight:
    """Keep the highest-curvature components of `weight` up to `keep_mass` of curvature mass."""
    if not 0.0 < keep_mass <= 1.0:
        raise ValueError(f"keep_mass must lie in (0, 1], got {keep_mass}")
    w = weight.detach().double()
    a, ua, g, ug = factors.eigen
    curvature = a.clamp_min(0)[:, None] * g.clamp_min(0)[None, :]
    flat = curvature.flatten()
    order = torch.argsort(flat, descending=True)
    cumulative = torch.cumsum(flat[order], 0) / flat.sum().clamp_min(1e-300)
    if keep_mass >= 1.0:
        # Full mass is the identity edit. Components of zero curvature add nothing to the mass,
        # so the cumulative sum can reach 1.0 (by rounding) before them; they are kept anyway.
        n_keep = flat.numel()
    else:
        n_keep = int(torch.searchsorted(cumulative, torch.tensor(keep_mass, dtype=cumulative.dtype))) + 1
        n_keep = min(n_keep, flat.numel())
    mask = torch.zeros_like(flat)
    mask[order[:n_keep]] = 1.0
    coefficients = ua.T @ w @ ug
    edited = ua @ (coefficients * mask.view_as(coefficients)) @ ug.T
    return EditedWeight(edited.to(weight.dtype), n_keep, flat.numel())


def svd_edit(weight: torch.Tensor, share: float) -> EditedWeight:
    """Keep the top ceil(share * rank) singular components of `weight` (the magnitude baseline)."""
    u, s, vh = torch.linalg.svd(weight.detach().double(), full_matrices=False)
    r = min(len(s), max(0, math.ceil(share * len(s) - 1e-9)))
    edited = u[:, :r] @ torch.diag(s[:r]) @ vh[:r]
    return EditedWeight(edited.to(weight.dtype), r, len(s))


def edit_model(model: torch.nn.Module, factors: dict[str, Factors], keep_mass: float,
               layers: list[str] | None = None) -> tuple[torch.nn.Module, torch.nn.Module, dict]:
    """(K-FAC-edited copy, SVD-baseline copy, {name: (kfac kept/total, svd kept/total)})."""
    kfac_model, svd_model = copy.deepcopy(model), copy.deepcopy(model)
    kfac_mods, svd_mods = mlp_projections(kfac_model), mlp_projections(svd_model)
    report = {}
    for name in layers or list(factors):
        weight = kfac_mods[name].weight
        k = kfac_edit(weight, factors[name], keep_mass)
        b = svd_edit(weight, k.kept / k.total)
        kfac_mods[name].set_weight(k.weight)
        svd_mods[name].set_weight(b.weight)
        report[name] = {"kfac_kept": k.kept, "kfac_total": k.total,
                        "svd_kept": b.kept, "svd_total": b.total}
    return kfac_model.eval(), svd_model.eval(), report
