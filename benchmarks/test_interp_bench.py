"""Throughput and peak memory of the analysis toolkit on the tiny models.

    pytest benchmarks/ -s --benchmark-columns=mean,stddev,rounds

Time: pytest-benchmark, 3 rounds per operation; items/second goes into `extra_info`. Memory:
each operation runs once more in a fresh Python process, which reports the growth of its peak
resident set (Linux VmHWM) over the operation, so earlier allocations in this process cannot
hide it. The table at the end prints both. Models come from the store (trained on first use,
about 3 minutes each).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from suite import store
from suite.train import recipes
from suite.train.batching import encode
from suite.interp import curvature, lens, patching
from suite.interp.hooks import resid_sites, run_capture, sites

RECIPES = ("fda-tiny", "thr-tiny")
_rows: list[tuple[str, str, int, float, float]] = []


def load(recipe: str):
    stored = store.get_or_train(recipes.load(recipe).with_seed_and_noise(0))
    data = stored.data
    return stored.model(), encode(data.heldout[:512] + data.noisy, data.vocab)


def op_capture(model, batch):
    run_capture(model, batch.ids, sites(model))


def op_lens(model, batch):
    lens.lens_at_answers(model, batch)


def op_patch_sweep(model, batch, n: int = 256):
    target, source = batch.select(slice(0, n)), batch.select(slice(n, 2 * n))
    positions = list(range(int(batch.positions[:, 0].min()) + 1))
    for site in resid_sites(model):
        for p in positions:
            patching.patch_inputs(model, source, target, site, [p])


def op_kfac(model, batch):
    curvature.edit_model(model, curvature.kfac_factors(model, batch), 0.8)


OPS = {
    "capture all sites": (op_capture, None),
    "logit lens, all layers": (op_lens, None),
    "patch sweep, every residual site x prompt position": (op_patch_sweep, 256),
    "K-FAC factors + edit (rho=0.8)": (op_kfac, None),
}


def _vmhwm_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def child(op: str, recipe: str) -> None:
    """Entry point of the memory-measuring subprocess: prints the peak growth in MB."""
    model, batch = load(recipe)
    op_fn = OPS[op][0]
    with torch.no_grad():
        model(input_ids=batch.ids[:2])  # warm the allocator and lazy initializations
    before = _vmhwm_mb()
    op_fn(model, batch)
    print(json.dumps({"peak_extra_mb": _vmhwm_mb() - before}))


def peak_extra_mb(op: str, recipe: str) -> float:
    code = (f"import runpy; ns = runpy.run_path({str(Path(__file__))!r}); "
            f"ns['child']({op!r}, {recipe!r})")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=600, cwd=Path(__file__).resolve().parent.parent)
    if out.returncode:
        return float("nan")
    return float(json.loads(out.stdout.strip().splitlines()[-1])["peak_extra_mb"])


@pytest.fixture(scope="module", params=RECIPES)
def tiny(request):
    return (request.param, *load(request.param))


@pytest.mark.parametrize("op", list(OPS))
def test_toolkit_operation(benchmark, tiny, op):
    recipe, model, batch = tiny
    fn, n_items = OPS[op]
    benchmark.pedantic(fn, args=(model, batch), rounds=3, iterations=1)
    items = n_items or len(batch)
    rate = items / benchmark.stats.stats.mean
    peak = peak_extra_mb(op, recipe)
    benchmark.extra_info.update(items=items, items_per_second=rate, peak_extra_mb=peak)
    _rows.append((op, recipe, items, rate, peak))


def test_zz_print_table():
    """Print the collected table (runs last in this module)."""
    if not _rows:
        pytest.skip("no benchmark ran")
    print("\n| operation | model | items | items/s | peak extra MB |\n|---|---|---|---|---|")
    for op, model, n, rate, peak in _rows:
        print(f"| {op} | {model} | {n} | {rate:,.0f} | {peak:.0f} |")
