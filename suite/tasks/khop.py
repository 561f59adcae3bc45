"""k-hop relational reasoning with injected label noise (Yao et al. 2025, arXiv 2505.17923).

A random knowledge graph: E entities, R relations, and for each (entity, relation) one target
entity drawn uniformly. A k-hop query `e r1 ... rk` is answered by following the relations in
order; the entities passed on the way are the bridges. Training holds every atomic fact `e r -> t`
and a share `train_fraction` of the k-hop queries; the rest are held out (in-distribution
composition: every fact they need was seen). Noise: an exact count, round(rate * n), of training
k-hop queries get a random wrong target entity.

Two-hop reasoning (THR) is this task at k = 2; see thr.py.
"""

from __future__ import annotations

import dataclasses
import itertools
import random
from dataclasses import dataclass
from typing import Mapping, Sequence

from suite.tasks.base import PAD, Item, TaskData, Vocab, check_disjoint, exact_count

Facts = Mapping[tuple[int, int], int]


@dataclass(frozen=True)
class KHopSpec:
    k: int = 2
    n_entities: int = 50
    n_relations: int = 10
    train_fraction: float = 0.9
    max_queries: int | None = None
    noise: float = 0.05
    seed: int = 0

    @property
    def task(self) -> str:
        return "thr" if self.k == 2 else "khop"

    def __post_init__(self) -> None:
        if self.k < 1:
            raise ValueError(f"k must be >= 1, got {self.k}")
        if self.n_entities < 2 or self.n_relations < 1:
            raise ValueError("need at least 2 entities and 1 relation")
        if not 0.0 < self.train_fraction < 1.0:
            raise ValueError(f"train_fraction must lie in (0, 1), got {self.train_fraction}")
        if self.max_queries is not None and self.max_queries < 2:
            raise ValueError(f"max_queries must be >= 2, got {self.max_queries}")
        exact_count(self.noise, 1)

    @property
    def n_queries(self) -> int:
        total = self.n_entities * self.n_relations**self.k
        return total if self.max_queries is None else min(total, self.max_queries)


def entity(i: int) -> str:
    return f"e{i}"


def relation(i: int) -> str:
    return f"r{i}"


def vocab(spec: KHopSpec) -> Vocab:
    return Vocab(
        (PAD,)
        + tuple(entity(i) for i in range(spec.n_entities))
        + tuple(relation(i) for i in range(spec.n_relations))
    )


def follow(facts: Facts, start: int, relations: Sequence[int]) -> list[int]:
    """The entities visited from `start`: [bridge_1, ..., bridge_{k-1}, answer]."""
    path, here = [], start
    for r in relations:
        here = facts[(here, r)]
        path.append(here)
    return path


def make_facts(spec: KHopSpec, rng: random.Random) -> dict[tuple[int, int], int]:
    return {
        (e, r): rng.randrange(spec.n_entities)
        for e in range(spec.n_entities)
        for r in range(spec.n_relations)
    }


def facts_of(data: TaskData) -> dict[tuple[int, int], int]:
    """Rebuild the knowledge graph from a dataset's atomic items."""
    return {
        (int(it.prompt[0][1:]), int(it.prompt[1][1:])): int(it.clean[0][1:]) for it in data.atomic
    }


def generate(spec: KHopSpec) -> TaskData:
    rng = random.Random(f"khop-{spec.k}-{spec.seed}")
    facts = make_facts(spec, rng)
    everything = itertools.product(range(spec.n_entities), *[range(spec.n_relations)] * spec.k)
    if spec.max_queries is None or spec.max_queries >= spec.n_entities * spec.n_relations**spec.k:
        queries = list(everything)
        rng.shuffle(queries)
    else:
        # sample without materializing E * R^k tuples
        total = spec.n_entities * spec.n_relations**spec.k
        queries = [_unrank(i, spec) for i in rng.sample(range(total), spec.max_queries)]
    n_train = round(spec.train_fraction * len(queries))
    if n_train in (0, len(queries)):
        raise ValueError(f"train_fraction {spec.train_fraction} leaves an empty split")
    noisy_idx = set(rng.sample(range(n_train), exact_count(spec.noise, n_train)))

    def item(query: tuple[int, ...], split: str, noisy: bool = False) -> Item:
        start, rels = query[0], query[1:]
        path = follow(facts, start, rels)
        answer = path[-1]
        label = answer
        if noisy:
            label = rng.randrange(spec.n_entities - 1)
            label += label >= answer  # uniform over the other entities
        return Item(
            prompt=(entity(start),) + tuple(relation(r) for r in rels),
            clean=(entity(answer),),
            label=(entity(label),),
            split=split,
            intermediates={
                "bridges": tuple(path[:-1]),
                "bridge": path[0] if len(path) > 1 else None,
                "start": start,
                "relations": tuple(rels),
            },
        )

    clean, noisy = [], []
    for i, q in enumerate(queries[:n_train]):
        (noisy if i in noisy_idx else clean).append(item(q, "noisy" if i in noisy_idx else "clean", i in noisy_idx))
    heldout = [item(q, "heldout") for q in queries[n_train:]]
    atomic = [item((e, r), "atomic") for (e, r) in facts]
    check_disjoint(clean + noisy, heldout)
    return TaskData(spec, vocab(spec), tuple(clean), tuple(noisy), tuple(heldout), tuple(atomic))


def _unrank(index: int, spec: KHopSpec) -> tuple[int, ...]:
    rels = []
    for _ in range(spec.k):
        index, r = divmod(index, spec.n_relations)
        rels.append(r)
    return (index,) + tuple(reversed(rels))


def hop_queries(data: TaskData, k: int, n: int) -> TaskData:
    """A curriculum's first stage: up to `n` random k-hop queries (no noise) on the knowledge
    graph of `data`, split like `data`'s task (train_fraction), with its atomic facts and
    vocabulary."""
    spec, facts = data.spec, facts_of(data)
    total = spec.n_entities * spec.n_relations**k
    rng = random.Random(f"curriculum-{k}-{spec.seed}")
    items = []
    for index in rng.sample(range(total), min(n, total)):
        index, rels = divmod(index, spec.n_relations**k)
        relations = [(rels // spec.n_relations**i) % spec.n_relations for i in range(k)]
        path = follow(facts, index, relations)
        answer = (entity(path[-1]),)
        items.append(Item(prompt=(entity(index),) + tuple(relation(r) for r in relations),
                          clean=answer, label=answer, split="clean",
                          intermediates={"bridges": tuple(path[:-1]), "start": index,
                                         "bridge": path[0] if len(path) > 1 else None,
                                         "relations": tuple(relations)}))
    n_train = round(spec.train_fraction * len(items))
    heldout = tuple(dataclasses.replace(it, split="heldout") for it in items[n_train:])
    return dataclasses.replace(data, clean=tuple(items[:n_train]), noisy=(), heldout=heldout)
