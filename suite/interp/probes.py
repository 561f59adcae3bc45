"""Linear probes: multinomial logistic regression on activations, trained on one item set and
evaluated on another (never on the items whose label is in question, e.g. noisy items).

Features are standardized with the training set's mean and scale; the fit is full-batch L-BFGS
with an L2 penalty, deterministic for fixed inputs. So a fit is remembered for the rest of the
process by the content of its inputs: the same features and labels are fitted once, however many
claims ask (a planted model whose early sites equal the trained model's gives the same features;
in a run of claims/ about 290 of 740 fits were such repeats). Labels outside the training classes
count as wrong and rank last.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass

import torch

FITTED_MAX = 1024  # probes remembered per process (a probe is K x D floats: well under 1 MB each)
_fitted: "OrderedDict[str, Probe]" = OrderedDict()


@dataclass(frozen=True)
class Probe:
    weight: torch.Tensor  # [K, D] on standardized features
    bias: torch.Tensor  # [K]
    mean: torch.Tensor  # [D]
    scale: torch.Tensor  # [D]
    classes: torch.Tensor  # [K] the label value of each output

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        return ((x.float() - self.mean) / self.scale) @ self.weight.T + self.bias

    def predict(self, x: torch.Tensor) -> torch.Tensor:
        return self.classes[self.logits(x).argmax(-1)]

    def correct(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.predict(x) == y

    def accuracy(self, x: torch.Tensor, y: torch.Tensor) -> float:
        return float(self.correct(x, y).float().mean())

    def rank(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Rank of the true label among the probe's classes (0 = top; K if never seen)."""
        logits = self.logits(x)
        index = {int(c): i for i, c in enumerate(self.classes)}
        out = torch.full((len(y),), len(self.classes), dtype=torch.long)
        for row, label in enumerate(y.tolist()):
            if label in index:
                out[row] = int((logits[row] > logits[row, index[label]]).sum())
        return out


def _inputs_key(x: torch.Tensor, y: torch.Tensor, l2: float, max_iter: int) -> str:
    digest = hashlib.sha256(repr((l2, max_iter, str(x.device))).encode())
    for t in (x, y):
        t = t.detach().cpu().contiguous()
        digest.update(repr((t.dtype, tuple(t.shape))).encode())
        digest.update(t.numpy().tobytes())
    return digest.hexdigest()


def train_probe(x: torch.Tensor, y: torch.Tensor, l2: float = 1e-3, max_iter: int = 200) -> Probe:
    """Fit a probe for integer labels y [N] from features x [N, D] (or return the one fitted on
    the same inputs earlier in this process)."""
    if len(x) != len(y) or len(x) == 0:
        raise ValueError(f"need as many labels as feature rows (got {len(x)} and {len(y)})")
    x = x.float()
    key = _inputs_key(x, y, l2, max_iter)
    if key in _fitted:
        _fitted.move_to_end(key)
        return _fitted[key]
    probe = _fit(x, y, l2, max_iter)
    _fitted[key] = probe
    if len(_fitted) > FITTED_MAX:
        _fitted.popitem(last=False)
    return probe


def _fit(x: torch.Tensor, y: torch.Tensor, l2: float, max_iter: int) -> Probe:
    classes, target = torch.unique(y, return_inverse=True)
    mean, scale = x.mean(0), x.std(0).clamp_min(1e-6)
    z = (x - mean) / scale
    k, d = len(classes), x.shape[1]
    weight = torch.zeros(k, d, requires_grad=True)
    bias = torch.zeros(k, requires_grad=True)
    opt = torch.optim.LBFGS([weight, bias], lr=1.0, max_iter=max_iter, history_size=20,
                            line_search_fn="strong_wolfe", tolerance_grad=1e-6)

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(z @ weight.T + bias, target)
        loss = loss + l2 * (weight**2).sum()
        loss.backward()
        return loss

    if k > 1:
        opt.step(closure)
    return Probe(weight.detach(), bias.detach(), mean, scale, classes)


def shuffled(y: torch.Tensor, seed: int) -> torch.Tensor:
    """The same labels in a seeded random order: the control for any probe."""
    g = torch.Generator().manual_seed(seed)
    return y[torch.randperm(len(y), generator=g)]
