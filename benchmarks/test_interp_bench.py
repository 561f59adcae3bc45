"""Throughput and peak memory of the analysis toolkit on the tiny models.

    pytest benchmarks/test_interp_bench.py --benchmark-columns=mean,rounds

Each benchmark stores items/second and the peak extra resident memory of one call (Linux:
VmHWM after resetting it through /proc/self/clear_refs) in `extra_info`; the summary table at
the end prints them. Models come from the store (trained on first use, about 3 minutes each).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from suite import recipes, store
from suite.batching import encode
from suite.interp import curvature, lens, patching
from suite.interp.hooks import run_capture, sites

_rows: list[tuple[str, str, int, float, float]] = []


def peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def reset_peak() -> None:
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def measure(benchmark, name: str, model_name: str, n_items: int, fn) -> None:
    reset_peak()
    base = peak_rss_mb()
    fn()
    peak = peak_rss_mb() - base
    benchmark.pedantic(fn, rounds=3, iterations=1)
    seconds = benchmark.stats.stats.mean
    benchmark.extra_info.update(items_per_second=n_items / seconds, peak_extra_mb=peak)
    _rows.append((name, model_name, n_items, n_items / seconds, peak))


@pytest.fixture(scope="module", params=["fda-tiny", "thr-tiny"])
def tiny(request):
    stored = store.get_or_train(recipes.load(request.param).with_seed_and_noise(0))
    data = stored.data
    batch = encode(data.heldout[:512] + data.noisy, data.vocab)
    return request.param, stored.model(), batch, data


def test_capture_all_sites(benchmark, tiny):
    name, model, batch, _ = tiny
    measure(benchmark, "capture all sites", name, len(batch),
            lambda: run_capture(model, batch.ids, sites(model)))


def test_lens_all_layers(benchmark, tiny):
    name, model, batch, _ = tiny
    measure(benchmark, "logit lens, all layers", name, len(batch),
            lambda: lens.lens_at_answers(model, batch))


def test_patching_sweep_layers_x_positions(benchmark, tiny):
    name, model, batch, _ = tiny
    n = 256
    target, source = batch.select(slice(0, n)), batch.select(slice(n, 2 * n))
    positions = list(range(int(batch.positions[:, 0].min()) + 1))
    resid = ["embed"] + [f"resid.{i}" for i in range(len(model.transformer.h))]
    measure(benchmark, f"patch sweep {len(resid)} sites x {len(positions)} pos", name, n,
            lambda: patching.sweep_inputs(model, source, target, resid, positions))


def test_kfac_factors_and_edit(benchmark, tiny):
    name, model, batch, _ = tiny

    def run():
        factors = curvature.kfac_factors(model, batch)
        curvature.edit_model(model, factors, 0.8)

    measure(benchmark, "K-FAC factors + edit (rho=0.8)", name, len(batch), run)


def test_zz_print_table():
    """Print the collected table (runs last in this module)."""
    if not _rows:
        pytest.skip("no benchmark ran")
    print("\n| operation | model | items | items/s | peak extra MB |\n|---|---|---|---|---|")
    for op, model, n, rate, peak in _rows:
        print(f"| {op} | {model} | {n} | {rate:,.0f} | {peak:.0f} |")
