"""Remembered verdicts: a judgement that is a pure function of stored models and of code, kept in
the model store so that a warm run replays it instead of measuring again.

A claim's verdict on a store model (and a known answer on a plant of one) depends only on that
model and on the code that measures and judges it. So a record is keyed by what identifies the
judgement (the test case, the model's store key and the digest of the weights the entry holds,
StoredModel.content_digest, so a retrained model with other weights is judged afresh), the syntax
tree of every module of the suite, of the folder of the test, of the pytest plugin and of the
root conftest.py (comments and docstrings do not count), and the numerical packages' versions.
Any change to that code is a new key, so an edited claim, statistic, gate or plant is judged
afresh; an empty store (every CI run) computes everything; --refresh-models computes again and
records anew. A model from elsewhere (--model-dir) is never remembered: its files are not
content-addressed.

A test whose verdict reads anything else (an environment variable, a file of its own) breaks that
premise: run it with `pytest --no-replay` (or MEMSUITE_REMEMBER=0), which neither replays nor
records.

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
def _code(paths: tuple[Path, ...]) -> str:
    """The syntax trees of every module under `paths` (folders, or single files such as a
    conftest.py) and the numerical packages' versions. A path is named by its last component,
    not its absolute path: the same code in another checkout (a second clone sharing the store)
    replays the same records."""
    parts = [(p.name, store.source_version(p, sorted(str(f.relative_to(p))
                                                     for f in p.rglob("*.py")))
              if p.is_dir() else (p.name, store.source_version(p.parent, [p.name])))
             for p in paths]
    packages = {name: metadata.version(name) for name in PACKAGES}
    return json.dumps({"folders": parts, "packages": packages}, sort_keys=True)


def root() -> Path:
    return store.store_root() / ".remembered"


def key(case: Mapping[str, Any], code: Sequence[Path]) -> str:
    """The record key of judgement `case` made by the suite and the modules under `code`
    (folders or files)."""
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
