"""Training a plan on a local Ray cluster (suite.run.farm): the same weights as serial training,
several worker processes, nothing left half-written when a worker is killed, and each entry
trained once when two drivers share a plan. Ray is the optional extra `.[ray]` (CI installs it);
without it these tests skip."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

ray = pytest.importorskip("ray", reason="Ray is the optional extra: pip install -e '.[ray]'")

from suite import store  # noqa: E402
from suite.run import farm  # noqa: E402
from suite.run.plan import plan  # noqa: E402

GRID = """
    import pytest

    @pytest.mark.task("thr")
    def test_uses(trained):
        pass
"""


@pytest.fixture(scope="module")
def cluster():
    """A local Ray cluster of two one-CPU worker slots."""
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # the killing wrapper below
    yield
    ray.shutdown()


@pytest.fixture
def specs(pytester, recipe_dir, store_dir):
    pytester.makepyfile(test_grid=GRID)
    return plan(["--seeds", "4", "--threads", "1"], pytester.path)


def _weights(root: Path, entry: str) -> bytes:
    return (root / entry / "model.safetensors").read_bytes()


def test_a_plan_trains_on_ray_as_it_would_serially(cluster, specs, store_dir, tmp_path,
                                                   monkeypatch):
    assert len(specs) == 4 and not any(s.stored for s in specs)
    done = farm.with_ray(specs, None)
    assert farm.report(done) == 0
    assert len({t.pid for t in done}) >= 2  # two worker processes trained
    assert farm.missing(specs) == []  # a second plan finds everything stored
    serial = tmp_path / "serial-store"
    monkeypatch.setenv("MEMSUITE_STORE", str(serial))
    import torch

    threads = torch.get_num_threads()
    try:
        assert farm.report(farm.serially(specs)) == 0
    finally:
        torch.set_num_threads(threads)
    for spec in specs:  # byte-identical to one-thread training in this process
        assert _weights(store_dir, spec.entry) == _weights(serial, spec.entry), spec.entry


def _killed_once(spec, root, ship=False):
    """train_spec, but the first attempt (per spec) SIGKILLs its own process once the entry's
    files are written under .tmp/ and before they are moved into place: Ray must retry, and
    the store must show nothing of the first try."""
    Path(root).mkdir(parents=True, exist_ok=True)
    marker = Path(root) / f".killed-{spec.entry}"
    if not marker.exists():
        marker.write_text("")
        write = store.write_entry

        def write_then_die(result, recipe, directory):
            write(result, recipe, directory)
            Path(f"{marker}-while-writing").write_text(str(directory))
            os.kill(os.getpid(), signal.SIGKILL)
        store.write_entry = write_then_die  # this worker process only
    return farm.train_spec(spec, root, ship)


def test_a_killed_worker_is_retried_and_leaves_no_partial_entry(cluster, specs, store_dir):
    done = farm.with_ray(specs[:2], None, task=_killed_once)
    assert farm.report(done) == 0
    for spec in specs[:2]:
        # the first attempt died with part of the entry written
        assert (store_dir / f".killed-{spec.entry}-while-writing").exists()
        store.verify_entry(store_dir / spec.entry)  # the retry stored it whole
    assert list((store_dir / ".tmp").iterdir()) == []  # the next writer cleared the remains
    for spec in specs[:2]:  # no lock is held: another writer takes it at once
        from filelock import FileLock

        FileLock(str(store_dir / ".locks" / f"{spec.entry}.lock")).acquire(timeout=1)


def test_shipped_entries_are_installed_by_the_driver(cluster, specs, store_dir):
    done = farm.with_ray(specs[:1], None, ship=True)
    assert farm.report(done) == 0 and done[0].files is None
    store.verify_entry(store_dir / specs[0].entry)


def test_a_failed_entry_is_named_and_the_others_still_finish(cluster, specs, store_dir, capsys):
    import dataclasses

    wrong = dataclasses.replace(specs[0], entry=specs[0].entry[:-4] + "0000")  # another key
    done = farm.with_ray([wrong, specs[1]], None)
    assert farm.report(done) == 1
    err = capsys.readouterr().err
    assert f"failed: {wrong.entry}: RuntimeError" in err and "would store it as" in err
    store.verify_entry(store_dir / specs[1].entry)
