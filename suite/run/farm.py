"""Train a plan's missing models: one after another here, or as Ray tasks on a cluster.

`memsuite train --plan FILE` trains every spec of a plan (suite.run.plan) the store lacks.
Without --ray it trains them in this process. With --ray [ADDRESS] each missing spec is one Ray
task that asks for its threads as CPUs (and a GPU for a cuda spec): Ray schedules them on the
cluster, retries a task whose worker died (a killed process leaves only a temporary directory,
which the next writer of that entry removes: the store writes an entry into .tmp/ and renames it
into place under the entry's lock, so no partial entry is ever visible and two workers never
write one entry), and this driver shows entries done / total with an ETA. A failed spec is named
with its error and the others still finish.

Workers that share the store's filesystem write into it directly. Where they do not (--ship),
each worker trains into a store of its own and returns the entry's files through Ray's object
store, and this driver installs them into its store (suite.store.install_entry).

Each worker sets the spec's threads and device before it computes the key, and checks that the
entry it trained is the spec's: a worker with other package versions would train another model,
and says so instead of storing it under a name the judging run will never look for.

Ray is an optional dependency (`pip install -e ".[ray]"`); nothing here imports it without --ray.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

from suite.run.plan import Spec

RETRIES = 3  # a task whose worker process died is run again this many times


@dataclass(frozen=True)
class Trained:
    """What training one spec gave: the entry, how long, and which process trained it."""

    entry: str
    seconds: float  # 0 when the store already held it
    pid: int
    files: dict[str, bytes] | None = None  # --ship: the entry's files, for the driver to install
    error: str = ""


def train_spec(spec: Spec, root: str | None, ship: bool = False) -> Trained:
    """Train (or load) `spec` into the store at `root` (None: this process's default), in
    this process, with the spec's threads and device. ship: train into a private store and
    return the entry's files."""
    import torch

    from suite import store

    threads, device = torch.get_num_threads(), os.environ.get("MEMSUITE_DEVICE")
    torch.set_num_threads(spec.threads)
    os.environ["MEMSUITE_DEVICE"] = spec.device
    try:
        recipe = spec.resolve()
        name = store.entry_name(recipe)
        if name != spec.entry:
            raise RuntimeError(f"{spec.entry}: this worker would store it as {name} (another "
                               "package version, device or code); train it where the plan was "
                               "made")
        with (tempfile.TemporaryDirectory(prefix="memsuite-ship-") if ship
              else contextlib.nullcontext()) as own:
            where = Path(own) if ship else (Path(root) if root else None)
            stored = store.get_or_train(recipe, root=where, progress=False)
            files = ({str(p.relative_to(stored.path)): p.read_bytes()
                      for p in sorted(stored.path.rglob("*")) if p.is_file()} if ship else None)
        return Trained(name, stored.trained_seconds or 0.0, os.getpid(), files)
    finally:  # a driver that trains serially runs on with its own settings
        torch.set_num_threads(threads)
        if device is None:
            os.environ.pop("MEMSUITE_DEVICE", None)
        else:
            os.environ["MEMSUITE_DEVICE"] = device


def missing(specs: Sequence[Spec]) -> list[Spec]:
    """The specs the store lacks now (a plan may be older than the store)."""
    from suite import store

    out = []
    for spec in specs:
        try:
            store.verify_entry(store.store_root() / spec.entry)
        except store.CorruptEntry:
            out.append(spec)
    return out


def _progress(done: int, total: int, started: float, said: str) -> None:
    elapsed = time.time() - started
    eta = elapsed / done * (total - done) if done else float("nan")
    print(f"[{done}/{total}] {said}  ({elapsed:.0f} s elapsed, ~{eta:.0f} s left)", flush=True)


def serially(specs: Sequence[Spec]) -> list[Trained]:
    """Train each spec here, one after another."""
    out, started = [], time.time()
    for i, spec in enumerate(specs, 1):
        try:
            done = train_spec(spec, None)
        except Exception as err:  # noqa: BLE001 - named, and the others still train
            done = Trained(spec.entry, 0.0, os.getpid(), error=f"{type(err).__name__}: {err}")
        out.append(done)
        _progress(i, len(specs), started, _said(done))
    return out


def _said(t: Trained) -> str:
    if t.error:
        return f"FAILED {t.entry}: {t.error}"
    return f"{t.entry}: trained in {t.seconds:.0f} s (pid {t.pid})" if t.seconds else \
        f"{t.entry}: already stored"


def with_ray(specs: Sequence[Spec], address: str | None, ship: bool = False,
             task: Callable[..., Trained] = train_spec) -> list[Trained]:
    """Train each spec as a Ray task (see the module docstring). address: a running cluster's
    ("auto", "ray://host:10001"), or None to start a local one (or use the one this process
    already joined). task: what each Ray task runs (train_spec; a test passes a wrapper)."""
    try:
        import ray
    except ImportError:
        raise RuntimeError("--ray needs Ray: pip install -e \".[ray]\"") from None
    from suite import store

    if not ray.is_initialized():
        ray.init(address=address, include_dashboard=False, log_to_driver=False)
    nodes = [n.get("Resources", {}) for n in ray.nodes() if n.get("Alive")]
    most_cpus = max((n.get("CPU", 0) for n in nodes), default=0)
    has_gpu = any(n.get("GPU", 0) for n in nodes)
    unfit = [s.entry for s in specs if s.threads > most_cpus
             or (s.device.startswith("cuda") and not has_gpu)]
    if unfit:  # Ray would wait for such a node forever
        raise RuntimeError(f"no node of the cluster can run {unfit[0]} (and {len(unfit) - 1} "
                           f"more): the largest has {most_cpus:g} CPUs"
                           + ("" if has_gpu else " and there is no GPU")
                           + "; plan with --threads N (and --device) the cluster has")
    root = None if ship else str(store.store_root())
    remote = ray.remote(max_retries=RETRIES, retry_exceptions=False)(task)
    pending = {remote.options(num_cpus=s.threads,
                              num_gpus=1 if s.device.startswith("cuda") else 0).remote(
                                  s, root, ship): s for s in specs}
    out, started = [], time.time()
    while pending:
        ready, _ = ray.wait(list(pending), num_returns=1)
        spec = pending.pop(ready[0])
        try:
            done = ray.get(ready[0])
            if done.entry != spec.entry:
                raise RuntimeError(f"the worker stored {done.entry}, not the plan's entry")
            if ship and done.files is not None:
                store.install_entry(done.entry, done.files)
                done = Trained(done.entry, done.seconds, done.pid)
            store.verify_entry(store.store_root() / spec.entry)  # where this driver looks
        except store.CorruptEntry as err:
            done = Trained(spec.entry, 0.0, 0, error=f"not in this driver's store ({err}): "
                           "workers that do not share its filesystem need --ship")
        except Exception as err:  # noqa: BLE001 - a task's error: named, the others finish
            cause = getattr(err, "cause", None) or err
            done = Trained(spec.entry, 0.0, 0, error=f"{type(cause).__name__}: {cause}")
        out.append(done)
        _progress(len(out), len(specs), started, _said(done))
    return out


def report(results: Sequence[Trained]) -> int:
    """Print what failed; exit status 1 when something did."""
    failed = [t for t in results if t.error]
    workers = {t.pid for t in results if t.seconds and not t.error}
    print(f"{len(results) - len(failed)} of {len(results)} entries stored "
          f"({sum(bool(t.seconds) for t in results)} trained by {len(workers)} process(es))",
          file=sys.stderr if failed else sys.stdout)
    for t in failed:
        print(f"failed: {t.entry}: {t.error}", file=sys.stderr)
    return 1 if failed else 0
