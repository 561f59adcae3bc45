"""Golden tests of suite.interp against hand-written computations on a tiny GPT-2."""

from __future__ import annotations

import math

import pytest
import torch
from transformers import GPT2Config, GPT2LMHeadModel

from suite.train.batching import answer_logits, encode
from suite.interp import attribution, curvature, directions, erasure, lens, patching, probes
from suite.interp.hooks import at_positions, hooked, resid_sites, run_capture, sites
from suite.tasks import generate, make_spec


@pytest.fixture(scope="module")
def data():
    return generate(make_spec("thr", n_entities=10, n_relations=4, seed=3))


@pytest.fixture(scope="module")
def model(data):
    torch.manual_seed(0)
    config = GPT2Config(vocab_size=len(data.vocab), n_positions=8, n_embd=32, n_layer=2, n_head=4,
                        resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0)
    m = GPT2LMHeadModel(config).eval()
    with torch.no_grad():  # break the near-zero init so every path carries signal
        for p in m.parameters():
            p.add_(0.05 * torch.randn_like(p))
    return m


@pytest.fixture(scope="module")
def batch(data):
    return encode(data.heldout[:24], data.vocab)


def manual_forward(model, ids):
    """GPT-2 written out by hand: every site's value and the final logits."""
    t = model.transformer
    cfg = model.config
    out = {}
    x = t.wte.weight[ids] + t.wpe.weight[torch.arange(ids.shape[1])]
    out["embed"] = x
    n_head, d = cfg.n_head, cfg.n_embd
    T = ids.shape[1]
    for i, block in enumerate(t.h):
        h = block.ln_1(x)
        qkv = h @ block.attn.c_attn.weight + block.attn.c_attn.bias
        q, k, v = qkv.split(d, dim=-1)
        q, k, v = (z.view(ids.shape[0], T, n_head, d // n_head).transpose(1, 2) for z in (q, k, v))
        scores = q @ k.transpose(-1, -2) / math.sqrt(d // n_head)
        scores = scores.masked_fill(torch.triu(torch.ones(T, T, dtype=torch.bool), 1), float("-inf"))
        a = (scores.softmax(-1) @ v).transpose(1, 2).reshape(ids.shape[0], T, d)
        a = a @ block.attn.c_proj.weight + block.attn.c_proj.bias
        out[f"attn.{i}"] = a
        x = x + a
        h = block.ln_2(x)
        out[f"mlp_in.{i}"] = h
        pre = h @ block.mlp.c_fc.weight + block.mlp.c_fc.bias
        out[f"mlp_pre.{i}"] = pre
        act = 0.5 * pre * (1 + torch.tanh(math.sqrt(2 / math.pi) * (pre + 0.044715 * pre**3)))
        out[f"mlp.{i}"] = act
        m = act @ block.mlp.c_proj.weight + block.mlp.c_proj.bias
        out[f"mlp_out.{i}"] = m
        x = x + m
        out[f"resid.{i}"] = x
    out["logits"] = model.lm_head(t.ln_f(x))
    return out


@torch.no_grad()
def test_captured_sites_equal_a_hand_written_forward(model, batch):
    expected = manual_forward(model, batch.ids)
    with hooked(model, capture=sites(model)) as acts:
        logits = model(input_ids=batch.ids).logits
    assert set(acts) == set(sites(model))
    for site in sites(model):
        torch.testing.assert_close(acts[site], expected[site], atol=1e-5, rtol=1e-5, msg=site)
    torch.testing.assert_close(logits, expected["logits"], atol=1e-5, rtol=1e-5)


def test_unknown_site_lists_the_valid_ones(model):
    with pytest.raises(KeyError, match=r"unknown site 'resid\.9'.*did you mean"):
        with hooked(model, capture=["resid.9"]):
            pass


@torch.no_grad()
def test_editing_changes_downstream_and_hooks_are_removed(model, batch):
    base = model(input_ids=batch.ids).logits
    with hooked(model, edit={"mlp.0": torch.zeros_like}, capture=["mlp.0"]) as acts:
        edited = model(input_ids=batch.ids).logits
    assert torch.count_nonzero(acts["mlp.0"]) == 0
    assert not torch.allclose(base, edited)
    torch.testing.assert_close(model(input_ids=batch.ids).logits, base)


@torch.no_grad()
def test_patching_a_run_with_its_own_activations_changes_nothing(model, batch):
    base = answer_logits(model, batch)
    for site in sites(model):
        pos = batch.positions[:, 0]
        patched = patching.patch_inputs(model, batch, batch, site, sorted(set(pos.tolist())))
        torch.testing.assert_close(patched, base, msg=site)
    torch.testing.assert_close(patching.patch_models(model, model, batch, "mlp.1"), base)


@torch.no_grad()
def test_patching_from_another_input_moves_the_output_towards_it(model, data, batch):
    other = encode(data.clean[: len(batch)], data.vocab)
    last = batch.positions[:, 0]
    assert (last == last[0]).all() and (other.positions[:, 0] == last[0]).all()  # one length
    patched = patching.patch_inputs(model, other, batch, f"resid.{len(model.transformer.h) - 1}",
                                    [int(last[0])])
    torch.testing.assert_close(patched, answer_logits(model, other))  # last layer, answer position


@torch.no_grad()
def test_a_subspace_patch_moves_only_its_subspace(model, data, batch):
    """The whole space is the full patch, the empty one no patch, and a half-space patch lands
    between: the component in the subspace is the source's, the rest the target's."""
    other = encode(data.clean[: len(batch)], data.vocab)
    last, site = int(batch.positions[0, 0]), f"resid.{len(model.transformer.h) - 1}"
    d = model.config.n_embd
    full = patching.patch_inputs(model, other, batch, site, [last])
    torch.testing.assert_close(patching.patch_inputs(model, other, batch, site, [last],
                                                     subspace=torch.eye(d)), full)
    torch.testing.assert_close(patching.patch_inputs(model, other, batch, site, [last],
                                                     subspace=torch.zeros(d, d)),
                               answer_logits(model, batch))
    half = torch.diag((torch.arange(d) < d // 2).float())
    seen = {}
    with hooked(model, capture=[site]) as acts:
        model(input_ids=other.ids)
    seen["source"] = acts[site][:, last]
    with hooked(model, capture=[site]) as acts:
        model(input_ids=batch.ids)
    seen["target"] = acts[site][:, last]
    mixed = torch.cat([seen["source"][:, : d // 2], seen["target"][:, d // 2:]], 1)
    with hooked(model, edit={site: at_positions(mixed, torch.full((len(batch),), last))}):
        expected = answer_logits(model, batch)
    torch.testing.assert_close(patching.patch_inputs(model, other, batch, site, [last],
                                                     subspace=half), expected)


@torch.no_grad()
def test_lens_at_the_last_layer_equals_the_model_logits(model, batch):
    per_site = lens.lens_at_answers(model, batch)
    assert per_site.shape[0] == len(resid_sites(model))
    torch.testing.assert_close(per_site[-1], answer_logits(model, batch), atol=1e-5, rtol=1e-5)
    ranks = lens.target_rank(per_site[-1], batch.targets)
    assert torch.equal(ranks == 0, per_site[-1].argmax(-1) == batch.targets)


def planted(n=600, d=24, classes=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, classes, (n,), generator=g)
    means = 3.0 * torch.randn(classes, d, generator=g)
    x = torch.randn(n, d, generator=g) + means[y]
    return x, y


def test_probe_finds_a_planted_variable_and_the_shuffled_control_does_not():
    x, y = planted()
    probe = probes.train_probe(x[:400], y[:400])
    assert probe.accuracy(x[400:], y[400:]) > 0.9
    control = probes.train_probe(x[:400], probes.shuffled(y[:400], seed=1))
    assert control.accuracy(x[400:], y[400:]) < 0.45
    assert (probe.rank(x[400:], y[400:]) == 0).float().mean() == probe.accuracy(x[400:], y[400:])


def test_a_probe_is_fitted_once_per_content_of_its_inputs(monkeypatch):
    fits = []
    fit = probes._fit
    monkeypatch.setattr(probes, "_fit", lambda *a: fits.append(a) or fit(*a))
    monkeypatch.setattr(probes, "_fitted", type(probes._fitted)())
    x, y = planted(seed=3)
    first = probes.train_probe(x[:400], y[:400])
    assert probes.train_probe(x[:400].clone(), y[:400].clone()) is first  # equal content, new tensors
    assert len(fits) == 1
    other = probes.train_probe(x[:400], probes.shuffled(y[:400], seed=1))
    moved = x[:400].clone()
    moved[0, 0] += 1e-3
    probes.train_probe(moved, y[:400])
    probes.train_probe(x[:400], y[:400], l2=1e-2)
    assert len(fits) == 4 and other is not first
    assert torch.equal(first.weight, fit(x[:400].float(), y[:400], 1e-3, 200).weight)


def test_erasure_drops_a_planted_variable_to_chance_and_random_subspace_does_not():
    x, y = planted()
    fit = erasure.leace(x[:400], y[:400])
    assert 1 <= fit.rank <= x.shape[1] // 2
    erased = fit(x)
    after = probes.train_probe(erased[:400], y[:400]).accuracy(erased[400:], y[400:])
    control = erasure.random_subspace(fit.mean, fit.rank, seed=0)(x)
    kept = probes.train_probe(control[:400], y[:400]).accuracy(control[400:], y[400:])
    assert after < 0.4  # chance is 0.25
    assert kept > 0.85


def test_eraser_as_a_hook_edit_touches_only_the_given_positions():
    x, y = planted(d=8)
    fit = erasure.leace(x, y)
    act = torch.randn(3, 5, 8)
    pos = torch.tensor([0, 2, 4])
    out = fit.at_positions(pos)(act)
    rows = torch.arange(3)
    torch.testing.assert_close(out[rows, pos], fit(act[rows, pos]))
    mask = torch.ones(3, 5, dtype=torch.bool)
    mask[rows, pos] = False
    torch.testing.assert_close(out[mask], act[mask])


def test_direction_edits():
    d = torch.tensor([3.0, 4.0, 0.0])
    x = torch.tensor([[[1.0, 2.0, 5.0]]])
    removed = directions.scale_along(d, 0.0)(x)
    assert abs(float(directions.component(removed, d))) < 1e-6
    reversed_ = directions.scale_along(d, -1.0)(x)
    assert float(directions.component(reversed_, d)) == pytest.approx(-float(directions.component(x, d)))
    torch.testing.assert_close(directions.scale_along(d, 1.0)(x), x)
    r = directions.random_like(d, seed=0)
    assert float(r.norm()) == pytest.approx(float(d.norm()))
    a, b = torch.ones(4, 3), torch.zeros(2, 3)
    torch.testing.assert_close(directions.mean_difference(a, b), torch.ones(3))


def test_kfac_factors_equal_a_direct_computation(model, batch):
    factors = curvature.kfac_factors(model, batch, chunk=10)
    mask = (torch.arange(batch.ids.shape[1])[None, :] <= batch.positions[:, -1:])
    acts = run_capture(model, batch.ids, ["mlp.1"])["mlp.1"][mask]
    torch.testing.assert_close(factors["h.1.c_proj"].A, acts.T @ acts / mask.sum(), atol=1e-5, rtol=1e-4)
    # G: gradients of the summed answer loss at the MLP output, taken directly by autograd
    with hooked(model, capture=["mlp_out.1"], detach=False) as cap:
        logits = answer_logits(model, batch)
    loss = torch.nn.functional.cross_entropy(logits.flatten(0, 1), batch.targets.flatten(), reduction="sum")
    grad, = torch.autograd.grad(loss, cap["mlp_out.1"])
    g = grad[mask]
    torch.testing.assert_close(factors["h.1.c_proj"].G, g.T @ g / mask.sum(), atol=1e-6, rtol=1e-4)
    assert factors["h.0.c_fc"].A.shape == (32, 32) and factors["h.0.c_fc"].G.shape == (128, 128)


def test_kfac_edit_keeps_everything_at_full_mass_and_less_below(model, batch):
    factors = curvature.kfac_factors(model, batch)
    w = model.transformer.h[0].mlp.c_fc.weight
    full = curvature.kfac_edit(w, factors["h.0.c_fc"], 1.0)
    torch.testing.assert_close(full.weight, w, atol=1e-5, rtol=1e-4)
    half = curvature.kfac_edit(w, factors["h.0.c_fc"], 0.5)
    assert 0 < half.kept < half.total
    svd = curvature.svd_edit(w, half.kept / half.total)
    assert svd.kept == math.ceil(half.kept / half.total * 32)
    assert torch.linalg.matrix_rank(svd.weight) == svd.kept
    edited, baseline, report = curvature.edit_model(model, factors, 0.5, layers=["h.0.c_fc"])
    assert report["h.0.c_fc"]["kfac_kept"] == half.kept
    torch.testing.assert_close(edited.transformer.h[0].mlp.c_fc.weight, half.weight)
    torch.testing.assert_close(model.transformer.h[0].mlp.c_fc.weight, w)  # original untouched


def test_attribution_agrees_with_ablation(model, batch):
    attr = attribution.neuron_attribution(model, batch, layer=1)
    assert attr.shape == (len(batch), 128)
    neurons = attribution.top_neurons(attr, 8).tolist()
    ablated = attribution.ablation_effect(model, batch, 1, neurons)
    a, b = attr[:, neurons].flatten(), ablated.flatten()
    r = torch.corrcoef(torch.stack([a, b]))[0, 1]
    assert r > 0.9, f"attribution vs ablation correlation {r:.3f}"
