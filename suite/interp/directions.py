"""Directions in activation space: difference of means, and edits along a direction.

`scale_along(d, alpha)` rescales the component of every activation along unit(d): alpha = 0
removes it, alpha = -1 reverses it, alpha = 1 is the identity.
`random_like(d, seed)` draws a direction of the same norm: the control for any steering claim.
"""

from __future__ import annotations

import torch

from suite.interp.hooks import Edit, edit_vectors


def mean_difference(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """mean(a) - mean(b) over rows: [N, D], [M, D] -> [D]."""
    if len(a) == 0 or len(b) == 0:
        raise ValueError("both item sets must be non-empty")
    return a.float().mean(0) - b.float().mean(0)


def unit(d: torch.Tensor) -> torch.Tensor:
    norm = d.norm()
    if norm == 0:
        raise ValueError("a zero vector has no direction")
    return d / norm


def component(x: torch.Tensor, d: torch.Tensor) -> torch.Tensor:
    """Signed length of x along unit(d): [..., D] -> [...]."""
    return x @ unit(d).to(x.dtype)


def scale_along(d: torch.Tensor, alpha: float, positions: torch.Tensor | None = None) -> Edit:
    """Rescale the component along unit(d) by alpha (0 removes, -1 reverses)."""
    u = unit(d)

    def fn(v: torch.Tensor) -> torch.Tensor:
        uu = u.to(v.device, v.dtype)
        return v + (alpha - 1.0) * (v @ uu).unsqueeze(-1) * uu

    return edit_vectors(fn, positions)


def random_like(d: torch.Tensor, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    r = torch.randn(d.shape, generator=g)
    return r / r.norm() * d.norm()


def shift_like(d: torch.Tensor, alpha: float, r: torch.Tensor,
               positions: torch.Tensor | None = None) -> Edit:
    """The control for scale_along(d, alpha): move each vector along unit(r) by exactly as much
    as scale_along(d, alpha) moves it, so the control changes the activation as much as the
    edit does, in a random direction."""
    u, w = unit(d), unit(r)

    def fn(v: torch.Tensor) -> torch.Tensor:
        uu, ww = u.to(v.device, v.dtype), w.to(v.device, v.dtype)
        size = ((alpha - 1.0) * (v @ uu)).abs().unsqueeze(-1)
        return v + size * ww

    return edit_vectors(fn, positions)
