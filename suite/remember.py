"""Remembered verdicts: a judgement that is a pure function of stored models and of code, kept in
the model store so that a warm run replays it instead of measuring again.

A claim's verdict on a store model (and a known answer on a plant of one) depends only on that
model, whose store key already carries the recipe, the training code, the torch and transformers
versions, the device and the CPU thread count, and on the code that measures and judges it. So a
record is keyed by what identifies the judgement (the test case and the models' store keys), the
syntax tree of every module of the suite and of the folder of the test (comments and docstrings
do not count), and the numerical packages' versions. Any change to that code is a new key, so an
edited claim, statistic or plant is judged afresh; an empty store (every CI run) computes
everything; --refresh-models computes again and records anew. A model from elsewhere
(--model-dir) is never remembered: its files are not content-addressed.

A test whose verdict reads anything else (an environment variable, a file of its own) breaks that
premise: run it with MEMSUITE_REMEMBER=0, which neither replays nor records.

Records are JSON files in `<store>/.remembered/`, written whole and renamed into place; an
unreadable one is reported and recomputed.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import warnings
from importlib import metadata
from pathlib import Path
from typing import Any, Mapping, Sequence

from suite import store
from suite.judge.claim import strict_json

PACKAGES = ("torch", "transformers", "numpy", "scipy")
SUITE = Path(__file__).resolve().parent


@functools.lru_cache(maxsize=None)
def _code(folders: tuple[Path, ...]) -> str:
    """The syntax trees of every module under `folders` and the numerical packages' versions.
    A folder is named by its last component, not its absolute path: the same code in another
    checkout (a second clone sharing the store) replays the same records."""
    parts = [(folder.name, store.source_version(folder, sorted(
        str(f.relative_to(folder)) for f in folder.rglob("*.py")))) for folder in folders]
    packages = {name: metadata.version(name) for name in PACKAGES}
    return json.dumps({"folders": parts, "packages": packages}, sort_keys=True)


def root() -> Path:
    return store.store_root() / ".remembered"


def key(case: Mapping[str, Any], code: Sequence[Path]) -> str:
    """The record key of judgement `case` made by the suite and the modules under `code`."""
    folders = tuple(sorted({SUITE, *(Path(c).resolve() for c in code)}))
    content = json.dumps({"case": dict(case), "code": _code(folders)}, sort_keys=True,
                         default=str)
    return hashlib.sha256(content.encode()).hexdigest()[:24]


def enabled() -> bool:
    """False under MEMSUITE_REMEMBER=0: every judgement is measured afresh and none recorded."""
    return os.environ.get("MEMSUITE_REMEMBER", "1") != "0"


def load(record: str) -> dict[str, Any] | None:
    """The record, or None where there is none or it is unreadable (said in a warning)."""
    if not enabled():
        return None
    path = root() / f"{record}.json"
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as err:
        warnings.warn(f"unreadable remembered verdict {path} recomputed: {err}", stacklevel=2)
        return None


def save(record: str, content: Mapping[str, Any]) -> None:
    """Write the record whole, then rename it into place (no half-written record is ever read)."""
    if not enabled():
        return
    path = root() / f"{record}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    try:
        tmp.write_text(json.dumps(strict_json(dict(content)), allow_nan=False, default=str))
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
