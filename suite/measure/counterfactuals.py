"""Source items for intermediate patching: one whose intermediate differs, one whose is the same.

THR: the intermediate is the bridge r1(e). For a target `e r1 r2`, the counterfactual source is
`e' r1' r2` with r1'(e') != r1(e); the control source is `e'' r1'' r2` with (e'', r1'') !=
(e, r1) but r1''(e'') = r1(e). Both share r2, so patching the r1 position moves only the bridge.

FDA: the intermediate is one column's digit sum. For a target `a+b`, both sources change the two
digits of one column (chosen per item); the counterfactual's new digits have a different sum,
the control's the same sum (e.g. 3+5 -> 2+6). Both change the input tokens equally often, so
only the intermediate differs between them.
"""

from __future__ import annotations

import random
from typing import Sequence

from suite.tasks import Item, TaskData, fda, khop


def thr_sources(items: Sequence[Item], data: TaskData, seed: int = 0
                ) -> tuple[list[Item], list[Item], list[Item]]:
    """(targets kept, counterfactual sources, same-bridge sources); targets without a
    same-bridge source are dropped."""
    facts = khop.facts_of(data)
    by_target: dict[int, list[tuple[int, int]]] = {}
    for (e, r), t in facts.items():
        by_target.setdefault(t, []).append((e, r))
    rng = random.Random(f"thr-sources-{seed}")
    pairs = sorted(facts)
    kept, cf, same = [], [], []
    for it in items:
        e, r1 = int(it.prompt[0][1:]), int(it.prompt[1][1:])
        bridge = facts[(e, r1)]
        others = [p for p in by_target[bridge] if p != (e, r1)]
        if not others:
            continue
        while True:
            pe, pr = rng.choice(pairs)
            if facts[(pe, pr)] != bridge:
                break
        se, sr = rng.choice(others)
        kept.append(it)
        cf.append(_thr_item(pe, pr, it))
        same.append(_thr_item(se, sr, it))
    return kept, cf, same


def _thr_item(e: int, r1: int, like: Item) -> Item:
    prompt = (khop.entity(e), khop.relation(r1)) + like.prompt[2:]
    return Item(prompt, like.clean, like.label, "source")  # labels unused when patching prompts


def fda_column_positions(spec: fda.FDASpec, column: int) -> tuple[int, int]:
    """Prompt positions of a's and b's digit in `column` (0 = least significant)."""
    return spec.digits - 1 - column, 2 * spec.digits - column


def fda_sources(items: Sequence[Item], spec: fda.FDASpec, seed: int = 0
                ) -> tuple[list[Item], list[Item], list[Item], list[int]]:
    """(targets kept, counterfactual sources, same-sum sources, column per target)."""
    rng = random.Random(f"fda-sources-{seed}")
    kept, cf, same, columns = [], [], [], []
    for it in items:
        a, b = it.intermediates["a"], it.intermediates["b"]
        column = rng.randrange(spec.digits)
        da, db = (a // 10**column) % 10, (b // 10**column) % 10
        lowest = 1 if column == spec.digits - 1 else 0  # no leading zero
        digits = range(lowest, 10)
        same_sum = [(x, y) for x in digits for y in digits if x + y == da + db and (x, y) != (da, db)]
        other_sum = [(x, y) for x in digits for y in digits if x + y != da + db]
        if not same_sum:
            continue
        kept.append(it)
        cf.append(_fda_item(a, b, column, rng.choice(other_sum), da, db))
        same.append(_fda_item(a, b, column, rng.choice(same_sum), da, db))
        columns.append(column)
    return kept, cf, same, columns


def _fda_item(a: int, b: int, column: int, new: tuple[int, int], da: int, db: int) -> Item:
    a2 = a + (new[0] - da) * 10**column
    b2 = b + (new[1] - db) * 10**column
    prompt = fda.prompt_tokens(a2, b2)
    return Item(prompt, (), (), "source")
