"""A model's store key: the values that determine its weights, and nothing else.

A trained model is a function of (1) the resolved recipe (task spec with seed and noise rate,
model family and shape, optimizer schedule, stopping rule), (2) the data generated from it (the
training, held-out and atomic items and the noise list), (3) the code that turns those into
weights, (4) the numerical packages, and (5) the device type and CPU thread count (float sums in
another order give a slightly different model). The key hashes exactly those, as values:

- the recipe as its resolved dictionary (`Recipe.to_dict`, less its name and description);
- the data by digest (`data_digest`), so the generators' source does not count, only what they
  produce: a refactor of a generator that yields the same items keeps every key, and one that
  changes an item changes it;
- the code by `weights_code`: the syntax of the training loop's entry point (`suite.train.loop.
  train`), of the data classes it works on (TaskData, Vocab, Item: their methods, e.g. the
  context length and the token ids, run inside the loop), and of every suite function, class and
  constant these reach, found statically by following names through imports (module-level
  statements of every module reached count too). Code never reached (a dead function, the
  progress display in suite.train.progress, a validation in recipes.py, whose resolved values
  are hashed instead) is not hashed, so editing it retrains nothing; editing anything reached
  (the loop, batching and loss, the stopping rule, model construction, the learning-rate
  schedule, the vocabulary's encoding) is a new key. A `suite` import the reader cannot follow
  (relative, `*`, a name its module does not define) is an error, never a silent gap;
- torch, transformers, numpy and scipy versions (scipy's interval drives the stopping rule),
  device type, CPU threads, and KEY_SCHEME, raised whenever what the key covers changes.

Comments, docstrings and layout are not part of the syntax compared (ast.dump without
docstrings).
"""

from __future__ import annotations

import ast
import copy
import dataclasses
import functools
import hashlib
import json
from pathlib import Path
from typing import Any

KEY_SCHEME = 2  # 1: whole training modules hashed by file; 2: values (this module)
SUITE = Path(__file__).resolve().parent.parent
ENTRIES = (("suite.train.loop", "train"),  # where the computation of the weights starts
           # the data the loop works on, reached through attributes the reader cannot follow
           ("suite.tasks.base", "TaskData"), ("suite.tasks.base", "Vocab"),
           ("suite.tasks.base", "Item"))
# A curriculum recipe's own entry point (recipes with `train.first_stage`)
STAGED_ENTRIES = (("suite.train.curriculum", "train_after_first_stage"),)
# Reached by the loop but hashed by value instead: the task generators (data_digest).
BY_VALUE = ("suite.tasks.fda", "suite.tasks.khop", "suite.tasks.thr", "suite.tasks:generate")
# Reached by the loop but unable to change a weight: the progress display.
DISPLAY = ("suite.train.progress",)


def data_digest(data: Any) -> str:
    """Digest of a generated TaskData: the vocabulary and every item of every split (prompt,
    clean answer, trained label; the noise list is the noisy split's labels)."""
    h = hashlib.sha256(json.dumps(list(data.vocab.tokens)).encode())
    for split in ("clean", "noisy", "heldout", "atomic"):
        rows = [[it.prompt, it.clean, it.label] for it in getattr(data, split)]
        h.update(json.dumps([split, rows]).encode())
    return h.hexdigest()[:16]


@functools.lru_cache(maxsize=64)
def task_digest(spec: Any) -> str:
    """data_digest of the data `spec` generates (generated once per spec and process)."""
    from suite.tasks import generate

    return data_digest(generate(spec))


def strip_docstrings(tree: ast.AST) -> ast.AST:
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr) \
                and isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
            node.body = body[1:] or [ast.Pass()]  # type: ignore[attr-defined]
    return tree


class _Module:
    """One suite module, read statically: its top-level definitions and its imports."""

    def __init__(self, name: str, path: Path) -> None:
        self.name = name
        tree = ast.parse(path.read_text())
        self.defs: dict[str, ast.AST] = {}
        self.imports: dict[str, tuple[str, str | None]] = {}  # alias -> (module, attribute)
        self.statements: list[ast.AST] = []  # module-level code other than defs and imports
        body = tree.body[1:] if ast.get_docstring(tree) is not None else tree.body
        for node in body:
            if isinstance(node, ast.ImportFrom) and (node.level or any(
                    a.name == "*" for a in node.names)):
                raise ValueError(f"{name}: relative or * import ({ast.unparse(node)}); the "
                                 "store key's reader follows absolute imports only")
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                self.defs[node.name] = node
            elif isinstance(node, (ast.Assign, ast.AnnAssign)) and all(
                    isinstance(t, (ast.Name, ast.Tuple)) for t in _targets(node)):
                for t in _targets(node):  # NAME = ... or A, B = ...: a definition
                    for n in ast.walk(t):
                        if isinstance(n, ast.Name):
                            self.defs[n.id] = node
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for a in node.names:
                    self.imports[a.asname or a.name] = (node.module, a.name)
            elif isinstance(node, ast.Import):
                for a in node.names:
                    self.imports[a.asname or a.name.split(".")[0]] = (
                        a.name if a.asname else a.name.split(".")[0], None)
            elif not (isinstance(node, ast.ImportFrom) or (
                    isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant))):
                self.statements.append(node)  # if/try/expressions at module level


def _targets(node: ast.Assign | ast.AnnAssign) -> list[ast.expr]:
    return node.targets if isinstance(node, ast.Assign) else [node.target]


def _walk_code(node: ast.AST) -> Any:
    """ast.walk without type annotations (an annotation names a type; it computes nothing)."""
    todo = [node]
    while todo:
        n = todo.pop()
        yield n
        for field, value in ast.iter_fields(n):
            if field in ("annotation", "returns") or (isinstance(n, ast.AnnAssign)
                                                      and field == "target"):
                continue
            for child in value if isinstance(value, list) else [value]:
                if isinstance(child, ast.AST):
                    todo.append(child)


def _module_path(root: Path, name: str) -> Path | None:
    if name != "suite" and not name.startswith("suite."):
        return None
    rel = Path(*name.split(".")[1:])
    for path in (root / rel.with_suffix(".py"), root / rel / "__init__.py"):
        if path.is_file():
            return path
    return None


def _skipped(module: str, name: str | None = None) -> bool:
    if name is not None and f"{module}:{name}" in BY_VALUE:
        return True
    return any(module == m or module.startswith(m + ".") for m in BY_VALUE + DISPLAY
               if ":" not in m)


def weights_code(root: Path = SUITE,
                 entries: tuple[tuple[str, str], ...] = ENTRIES) -> dict[str, str]:
    """{"module:name": syntax} of the training loop's entry point (or other `entries`) and
    every suite definition it reaches, read from the package at `root` (a copy of suite/ in
    the canary tests)."""
    modules: dict[str, _Module] = {}

    def module(name: str) -> _Module | None:
        if name not in modules:
            path = _module_path(root, name)
            if path is None:
                return None
            modules[name] = _Module(name, path)
        return modules[name]

    def resolve(mod_name: str, name: str) -> tuple[str, str] | str | None:
        """A name as seen in a module: (module, definition), a module's name, or None."""
        if _skipped(mod_name):
            return None
        m = module(mod_name)
        if m is None:
            return None
        if name in m.defs:
            return (mod_name, name)
        if name in m.imports:
            target, attr = m.imports[name]
            if attr is None:
                return target if module(target) is not None else None
            if module(f"{target}.{attr}") is not None:  # `from suite.train import dynamics`
                return f"{target}.{attr}"
            if module(target) is not None and not _skipped(target) \
                    and attr not in module(target).defs and attr not in module(target).imports:
                raise ValueError(f"{mod_name}: `from {target} import {attr}`: {target} defines "
                                 f"no {attr}")
            return resolve(target, attr)
        return None

    found: dict[str, str] = {}
    todo: list[tuple[str, str]] = list(entries)
    while todo:
        mod_name, name = todo.pop()
        key = f"{mod_name}:{name}"
        if key in found or _skipped(mod_name, name):
            continue
        m = module(mod_name)
        if m is None or name not in m.defs:
            raise ValueError(f"the store key's reader cannot find {key}")
        node = m.defs[name]
        found[key] = ast.dump(strip_docstrings(copy.deepcopy(node)))
        if f"{mod_name}:<module>" not in found:  # the module's own top-level statements
            found[f"{mod_name}:<module>"] = ast.dump(ast.Module(body=m.statements,
                                                                type_ignores=[]))
        for sub in _walk_code(node):
            ref: Any = None
            if isinstance(sub, ast.ImportFrom) and sub.module and sub.level == 0:
                for a in sub.names:  # an import inside a function
                    r = resolve(sub.module, a.name) if module(sub.module) else None
                    if isinstance(r, tuple):
                        todo.append(r)
                continue
            if isinstance(sub, ast.Attribute) and isinstance(sub.value, ast.Name):
                owner = resolve(mod_name, sub.value.id)
                if isinstance(owner, str) and not _skipped(owner):
                    ref = resolve(owner, sub.attr)
            elif isinstance(sub, ast.Name):
                ref = resolve(mod_name, sub.id)
            if isinstance(ref, tuple) and not _skipped(*ref):
                todo.append(ref)
    return dict(sorted(found.items()))


@functools.lru_cache(maxsize=None)
def weights_code_digest(entries: tuple[tuple[str, str], ...] = ENTRIES) -> str:
    """Digest of weights_code() of the installed suite (once per process)."""
    return hashlib.sha256(json.dumps(weights_code(entries=entries)).encode()).hexdigest()[:16]


@functools.lru_cache(maxsize=64)
def first_stage_digest(recipe: Any) -> str:
    """data_digest of a curriculum's first-stage items (suite.train.curriculum)."""
    from suite.train.curriculum import first_stage_data

    return data_digest(first_stage_data(recipe))


def key_content(recipe: Any, device_type: str, cpu_threads: int) -> dict[str, Any]:
    """Everything a model's key hashes, as a readable dictionary (recipe.json beside each entry
    records the recipe; this is what `entry_key` digests)."""
    import numpy
    import scipy
    import torch
    import transformers

    content = recipe.to_dict()
    content.pop("description")
    content.pop("name")
    key = {"key_scheme": KEY_SCHEME, "recipe": content, "data": task_digest(recipe.task),
           "code": weights_code_digest(), "torch": torch.__version__,
           "transformers": transformers.__version__, "numpy": numpy.__version__,
           "scipy": scipy.__version__, "device": device_type,
           "cpu_threads": cpu_threads}
    if recipe.train.first_stage is not None:  # a curriculum: its driver and its first data
        key["first_stage_code"] = weights_code_digest(STAGED_ENTRIES)
        key["first_stage_data"] = first_stage_digest(dataclasses.replace(recipe, name=""))
    return key


def digest(content: dict[str, Any]) -> str:
    """The key of `content` (plain JSON data only: anything else is a TypeError, never a
    process-dependent repr)."""
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()[:16]
