"""Concept erasure: remove a linearly decodable variable from activations, and a control.

- `leace`: least-squares concept erasure (Belrose et al. 2023): the smallest change, in the
  whitened geometry, that makes the class-conditional means equal, so no linear classifier can
  beat a constant predictor. Rank <= number of classes - 1.
- `random_subspace`: orthogonal projection out of a random subspace of a given rank: the control
  every erasure claim compares against (v2 claims).
- `random_subspace_matched`: the same, grown one random direction at a time until it removes
  at least as much variance of the features as the erasure it controls for: a control matched
  on the size of the change, not only its rank (v3 claims).

Each returns an `Eraser`: x -> x - (x - mean) @ M.T, with M the removed component's operator.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from suite.interp.hooks import Edit, edit_vectors


@dataclass(frozen=True)
class Eraser:
    mean: torch.Tensor  # [D]
    removed: torch.Tensor  # [D, D] operator M of the removed component
    rank: int

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        m, r = self.mean.to(x.device, x.dtype), self.removed.to(x.device, x.dtype)
        return x - (x - m) @ r.T

    def removed_variance(self, x: torch.Tensor) -> float:
        """Mean squared norm of the component removed from rows of x [N, D]."""
        m, r = self.mean.to(x.device, x.dtype), self.removed.to(x.device, x.dtype)
        return float(((x - m) @ r.T).pow(2).sum(-1).mean())

    def at_positions(self, positions: torch.Tensor | None = None) -> Edit:
        """A hook edit applying the eraser at one position per row ([B] long), or everywhere."""
        return edit_vectors(self, positions)


def _orthonormal(vectors: torch.Tensor, tol: float = 1e-6) -> torch.Tensor:
    """Orthonormal basis [D, r] of the column space of vectors [D, k]."""
    if vectors.numel() == 0:
        return vectors.new_zeros(vectors.shape[0], 0)
    u, s, _ = torch.linalg.svd(vectors.double(), full_matrices=False)
    return u[:, s > tol * s.max().clamp_min(1e-30)].float()


def leace(x: torch.Tensor, y: torch.Tensor) -> Eraser:
    """LEACE eraser for integer labels y [N] from features x [N, D]."""
    x = x.double()
    mean = x.mean(0)
    xc = x - mean
    classes, index = torch.unique(y, return_inverse=True)
    z = torch.nn.functional.one_hot(index, len(classes)).double()
    zc = z - z.mean(0)
    n = len(x)
    sigma_xx = xc.T @ xc / n
    sigma_xz = xc.T @ zc / n
    evals, evecs = torch.linalg.eigh(sigma_xx)
    keep = evals > evals.max().clamp_min(1e-30) * 1e-8
    v, lam = evecs[:, keep], evals[keep]
    whiten = v @ torch.diag(lam.rsqrt()) @ v.T
    unwhiten = v @ torch.diag(lam.sqrt()) @ v.T
    basis = _orthonormal(whiten @ sigma_xz).double()
    removed = unwhiten @ basis @ basis.T @ whiten
    return Eraser(mean.float(), removed.float(), basis.shape[1])


def random_subspace(mean: torch.Tensor, rank: int, seed: int) -> Eraser:
    """Orthogonal projection out of a random `rank`-dimensional subspace (the control)."""
    g = torch.Generator().manual_seed(seed)
    basis = _orthonormal(torch.randn(mean.shape[0], rank, generator=g))
    return Eraser(mean.float(), basis @ basis.T, basis.shape[1])


def random_subspace_matched(x: torch.Tensor, variance: float, seed: int) -> Eraser:
    """Orthogonal projection out of a random subspace, grown one direction at a time (a seeded
    random orthonormal basis) until it removes at least `variance` of the features x [N, D]
    (each row centred on x's mean)."""
    g = torch.Generator().manual_seed(seed)
    basis = _orthonormal(torch.randn(x.shape[1], x.shape[1], generator=g))
    mean = x.float().mean(0)
    per_direction = ((x.float() - mean) @ basis).pow(2).mean(0)  # variance along each direction
    rank = int((per_direction.cumsum(0) < variance).sum()) + 1
    rank = min(rank, basis.shape[1])
    kept = basis[:, :rank]
    return Eraser(mean, kept @ kept.T, rank)
