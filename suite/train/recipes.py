"""Recipes: named, declarative model + training configs, one TOML file each in models/.

A recipe fixes everything that determines a trained model except the seed (and, optionally, a
noise-rate override): the task spec, the model's family and shape and the optimizer schedule. The store keys
models by the resolved recipe, so editing a recipe's file retrains it. A path to any .toml file
works wherever a recipe name does, so a new recipe can be judged without adding it here.

A recipe may inherit: `base = "fda-tiny"` takes every field of fda-tiny and overrides those the
file sets (tables merge key by key). `regime` names a special training regime ("zhang": 100 %
random labels, "coexist": heavy noise, "memorize_first": built to memorize before it
generalizes, the dynamics claims' known answer); claims about a regime run on its recipes only,
the ordinary claims on recipes without one.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from suite import shipped
from suite.tasks import spec_from_dict, spec_to_dict, unknown
from suite.train.dynamics import STOP_GATES

SCALES = ("tiny", "small", "paper")
REGIMES = ("", "zhang", "coexist", "memorize_first")


def recipes_dir() -> Path:
    env = os.environ.get("MEMSUITE_RECIPES")
    return Path(env) if env else shipped.folder("models")


# Each architecture family and the MLP activations it takes. GPT-2: its tanh approximation
# ("gelu_new") or the exact (erf) GELU. Llama: SwiGLU, whose gate is SiLU.
ARCHS = {"gpt2": ("gelu_new", "gelu"), "llama": ("silu",)}


@dataclass(frozen=True)
class ModelSpec:
    n_layer: int
    n_embd: int
    n_head: int
    # "gelu" (exact) is the cheaper chain on CPU (one erf instead of mul, pow, tanh, add);
    # GPT-2's own "gelu_new" stays available
    activation: str = "gelu_new"
    # the model family (a key of ARCHS): GPT-2 (learned positions, LayerNorm, GELU MLP) or
    # Llama (RoPE, RMSNorm, SwiGLU MLP), both built from transformers
    arch: str = "gpt2"
    mlp_width: int | None = None  # MLP hidden width; None is GPT-2's 4 x n_embd

    def __post_init__(self) -> None:
        if self.arch not in ARCHS:
            raise ValueError(f"arch {self.arch!r} is not supported; supported: "
                             f"{', '.join(ARCHS)}")
        if self.activation not in ARCHS[self.arch]:
            raise ValueError(f"activation of a {self.arch} model must be one of "
                             f"{ARCHS[self.arch]}, got {self.activation!r}")
        if self.mlp_width is not None and self.mlp_width < 1:
            raise ValueError(f"mlp_width must be >= 1 or absent, got {self.mlp_width}")


@dataclass(frozen=True)
class FirstStage:
    """A curriculum's first stage (k-hop tasks): `steps` of training on `hops`-hop queries of
    the same knowledge graph, whose weights start the recipe's own schedule
    (suite.train.curriculum). Part of the recipe, so the staged model is one store entry."""

    hops: int
    steps: int

    def __post_init__(self) -> None:
        if self.hops < 1 or self.steps < 1:
            raise ValueError(f"a first stage needs hops >= 1 and steps >= 1, got {self}")


@dataclass(frozen=True)
class TrainSpec:
    steps: int
    batch_size: int
    lr: float
    weight_decay: float = 0.0
    warmup_steps: int = 0
    schedule: str = "constant"  # "constant" or "cosine" (to min_lr_ratio * lr)
    min_lr_ratio: float = 0.1
    beta1: float = 0.9
    beta2: float = 0.98
    eval_every: int = 100
    eval_clean_max: int = 1000  # clean training items scored per evaluation (a fixed subset)
    atomic_repeat: int = 1  # THR/k-hop: each atomic fact appears this many times per epoch
    # The stopping rule: stop at the first evaluation where held-out accuracy and noisy recall
    # have both had a 95 % Wilson lower bound >= stop_level, with M_pre behind them, at this and
    # the `stop_after` evaluations before it (suite.train.dynamics.gates_held): the margin is
    # the gates holding that long, so the stored model meets them. None trains all `steps`.
    stop_level: float = 0.9
    stop_after: int | None = None
    # What the rule waits for (suite.train.dynamics.STOP_GATES): "gates" as above, or
    # "memorized", noisy recall's bound alone, for a regime whose claims need memorized items
    stop_on: str = "gates"
    first_stage: FirstStage | None = None  # a curriculum's first stage; None trains from scratch

    def __post_init__(self) -> None:
        if self.stop_after is not None and self.stop_after < 0:
            raise ValueError(f"stop_after must be >= 0 or absent, got {self.stop_after}")
        if self.stop_on not in STOP_GATES:
            raise ValueError(f"stop_on must be one of {STOP_GATES}, got {self.stop_on!r}")
        if not 0.0 < self.stop_level <= 1.0:
            raise ValueError(f"stop_level must be in (0, 1], got {self.stop_level}")
        if self.schedule not in ("constant", "cosine"):
            raise ValueError(f"schedule must be 'constant' or 'cosine', got {self.schedule!r}")
        if self.steps < 1 or self.batch_size < 1 or self.eval_every < 1:
            raise ValueError("steps, batch_size and eval_every must be >= 1")


@dataclass(frozen=True)
class Recipe:
    name: str
    scale: str
    task: Any  # frozen task spec
    model: ModelSpec
    train: TrainSpec
    description: str = ""
    regime: str = ""  # one of REGIMES; "" for the ordinary recipes

    @property
    def task_name(self) -> str:
        return self.task.task

    def with_seed_and_noise(self, seed: int, noise: float | None = None) -> "Recipe":
        """The recipe as trained for one seed: the task data is drawn from the same seed."""
        task = dataclasses.replace(self.task, seed=seed)
        if noise is not None:
            task = dataclasses.replace(task, noise=noise)
        return dataclasses.replace(self, task=task)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "scale": self.scale,
            "regime": self.regime,
            "description": self.description,
            "task": spec_to_dict(self.task),
            "model": dataclasses.asdict(self.model),
            "train": _train_dict(self.train),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any], name: str | None = None) -> "Recipe":
        try:
            scale = d.get("scale", "tiny")
            if scale not in SCALES:
                raise ValueError(f"scale must be one of {SCALES}, got {scale!r}")
            regime = d.get("regime", "")
            if regime not in REGIMES:
                raise ValueError(f"regime must be one of {REGIMES[1:]} or absent, got {regime!r}")
            return cls(
                name=name or d["name"],
                scale=scale,
                regime=regime,
                description=d.get("description", ""),
                task=spec_from_dict(d["task"]),
                model=ModelSpec(**d["model"]),
                train=_train_spec(d["train"]),
            )
        except (KeyError, TypeError) as err:
            raise ValueError(f"recipe {name or d.get('name')!r} is malformed: {err}") from None


def _train_dict(spec: TrainSpec) -> dict[str, Any]:
    """The schedule as a recipe file states it: every TrainSpec field that has a value. An
    optional field left unset (None: no stopping rule, no first stage) is absent, as in the TOML
    recipes, which cannot write null, so the dictionary of a recipe reads like its file."""
    return {k: v for k, v in dataclasses.asdict(spec).items() if v is not None}


def _train_spec(d: dict[str, Any]) -> TrainSpec:
    d = dict(d)
    if isinstance(d.get("first_stage"), dict):
        d["first_stage"] = FirstStage(**d["first_stage"])
    return TrainSpec(**d)


def available() -> list[str]:
    return sorted(p.stem for p in recipes_dir().glob("*.toml"))


def _path(name_or_path: str) -> Path:
    path = Path(name_or_path)
    if path.suffix == ".toml":
        if not path.is_file():
            raise FileNotFoundError(f"recipe file {path} does not exist")
        return path
    path = recipes_dir() / f"{name_or_path}.toml"
    if not path.is_file():
        raise unknown("recipe", name_or_path, available())
    return path


def _merged(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        out[key] = _merged(base[key], value) if isinstance(value, dict) and \
            isinstance(base.get(key), dict) else value
    return out


def resolve(name_or_path: str, seen: tuple[str, ...] = ()) -> dict[str, Any]:
    """A recipe file's fields with its `base` chain applied (the base's fields, overridden)."""
    path = _path(name_or_path)
    if path.stem in seen:
        raise ValueError(f"recipe {path.stem!r} inherits from itself: {' -> '.join(seen)}")
    with path.open("rb") as f:
        d = tomllib.load(f)
    base = d.pop("base", None)
    if base is None:
        return d
    parent = resolve(base, (*seen, path.stem))
    parent.pop("description", None)
    parent.pop("regime", None)  # a regime is not inherited: a recipe names its own
    return _merged(parent, d)


def load(name_or_path: str) -> Recipe:
    """A recipe by name (models/NAME.toml) or by path to a .toml file."""
    return Recipe.from_dict(resolve(name_or_path), name=_path(name_or_path).stem)


def for_scale(task: str, scale: str, archs: tuple[str, ...] = ("gpt2",)) -> list[Recipe]:
    """Recipes of one task at one scale and of the given model families, by name order."""
    if scale not in SCALES:
        raise unknown("scale", scale, list(SCALES))
    found = [load(n) for n in available()]
    return [r for r in found
            if r.task_name == task and r.scale == scale and r.model.arch in archs]
