"""Task registry: a spec dict {"task": name, ...fields} <-> a frozen spec <-> generated data."""

from __future__ import annotations

import dataclasses
import difflib
from typing import Any, Callable

from suite.tasks import fda, khop
from suite.tasks.base import SPLITS, PAD, Item, TaskData, Vocab, VocabMismatch  # noqa: F401
from suite.tasks.thr import thr_spec

_MAKERS: dict[str, tuple[Callable[..., Any], Callable[[Any], TaskData]]] = {
    "fda": (fda.FDASpec, fda.generate),
    "thr": (thr_spec, khop.generate),
    "khop": (khop.KHopSpec, khop.generate),
}
TASKS = tuple(_MAKERS)


def unknown(kind: str, name: str, known: tuple[str, ...] | list[str]) -> KeyError:
    """A KeyError that lists what exists and suggests the closest name."""
    close = difflib.get_close_matches(name, list(known), n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return KeyError(f"unknown {kind} {name!r}{hint} (known: {', '.join(sorted(known))})")


def make_spec(task: str, **fields: Any) -> Any:
    if task not in _MAKERS:
        raise unknown("task", task, TASKS)
    maker = _MAKERS[task][0]
    try:
        return maker(**fields)
    except TypeError as err:
        raise TypeError(f"bad field for task {task!r}: {err}") from None


def spec_to_dict(spec: Any) -> dict[str, Any]:
    return {"task": spec.task, **dataclasses.asdict(spec)}


def spec_from_dict(d: dict[str, Any]) -> Any:
    fields = dict(d)
    task = fields.pop("task", None)
    if task is None:
        raise KeyError("task spec has no 'task' field")
    return make_spec(task, **fields)


def generate(spec: Any) -> TaskData:
    return _MAKERS[spec.task][1](spec)
