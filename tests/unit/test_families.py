"""Golden tests of the hook layer's per-family site map (suite.interp.hooks.FAMILIES).

GPT-2's sites are checked against a hand-written forward in test_interp.py; here Llama's are
(RoPE, RMSNorm, SwiGLU written out), and the family-generic pieces (the lens, the MLP weight
matrices and their orientation, a weight edit, the error for an unsupported family) on both.
"""

from __future__ import annotations

import math

import pytest
import torch

from suite.interp import curvature, hooks, lens
from suite.interp.hooks import hooked, sites
from suite.tasks import generate, make_spec
from suite.train.batching import answer_logits, answer_loss, encode
from suite.train.loop import build_model
from suite.train.recipes import ModelSpec

SPECS = {"gpt2": ModelSpec(n_layer=2, n_embd=32, n_head=4, activation="gelu"),
         "llama": ModelSpec(n_layer=2, n_embd=32, n_head=4, activation="silu", arch="llama",
                            mlp_width=88)}


@pytest.fixture(scope="module")
def data():
    return generate(make_spec("thr", n_entities=10, n_relations=4, seed=3))


@pytest.fixture(scope="module")
def batch(data):
    return encode(data.heldout[:24], data.vocab)


@pytest.fixture(scope="module", params=list(SPECS))
def model(request, data):
    torch.manual_seed(0)
    m = build_model(SPECS[request.param], data.vocab, n_positions=8).eval()
    with torch.no_grad():  # break the near-zero init so every path carries signal
        for p in m.parameters():
            p.add_(0.05 * torch.randn_like(p))
    return m


def rms_norm(norm, x):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + norm.variance_epsilon) * norm.weight


def rotate(x, cos, sin):
    half = x.shape[-1] // 2
    rotated = torch.cat([-x[..., half:], x[..., :half]], dim=-1)
    return x * cos + rotated * sin


def manual_llama_forward(model, ids):
    """Llama written out by hand: every site's value and the final logits."""
    body, cfg = model.model, model.config
    B, T = ids.shape
    n_head, d = cfg.num_attention_heads, cfg.hidden_size
    hd = d // n_head
    inv_freq = 1.0 / (body.rotary_emb.inv_freq.new_tensor(10000.0)
                      ** (torch.arange(0, hd, 2, dtype=torch.float32) / hd))
    torch.testing.assert_close(inv_freq, body.rotary_emb.inv_freq)  # the default RoPE base
    angles = torch.arange(T, dtype=torch.float32)[:, None] * inv_freq[None, :]
    cos, sin = torch.cat([angles, angles], -1).cos(), torch.cat([angles, angles], -1).sin()
    out = {}
    x = body.embed_tokens.weight[ids]
    out["embed"] = x
    for i, block in enumerate(body.layers):
        h = rms_norm(block.input_layernorm, x)
        att = block.self_attn
        q, k, v = (lin(h).view(B, T, n_head, hd).transpose(1, 2)
                   for lin in (att.q_proj, att.k_proj, att.v_proj))
        q, k = rotate(q, cos, sin), rotate(k, cos, sin)
        scores = q @ k.transpose(-1, -2) / math.sqrt(hd)
        scores = scores.masked_fill(torch.triu(torch.ones(T, T, dtype=torch.bool), 1), float("-inf"))
        a = (scores.softmax(-1) @ v).transpose(1, 2).reshape(B, T, d)
        a = a @ att.o_proj.weight.T
        out[f"attn.{i}"] = a
        x = x + a
        h = rms_norm(block.post_attention_layernorm, x)
        out[f"mlp_in.{i}"] = h
        gate, up = h @ block.mlp.gate_proj.weight.T, h @ block.mlp.up_proj.weight.T
        out[f"mlp_pre.{i}"], out[f"mlp_up.{i}"] = gate, up
        act = torch.nn.functional.silu(gate) * up
        out[f"mlp.{i}"] = act
        m = act @ block.mlp.down_proj.weight.T
        out[f"mlp_out.{i}"] = m
        x = x + m
        out[f"resid.{i}"] = x
    out["logits"] = rms_norm(body.norm, x) @ model.lm_head.weight.T
    return out


@torch.no_grad()
def test_llama_sites_equal_a_hand_written_forward(data, batch):
    torch.manual_seed(1)
    model = build_model(SPECS["llama"], data.vocab, n_positions=8).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.05 * torch.randn_like(p))
    expected = manual_llama_forward(model, batch.ids)
    with hooked(model, capture=sites(model)) as acts:
        logits = model(input_ids=batch.ids).logits
    assert set(acts) == set(sites(model)) and "mlp_up.0" in acts
    for site in sites(model):
        torch.testing.assert_close(acts[site], expected[site], atol=1e-5, rtol=1e-5, msg=site)
    torch.testing.assert_close(logits, expected["logits"], atol=1e-5, rtol=1e-5)


@torch.no_grad()
def test_lens_at_the_last_layer_equals_the_model_logits(model, batch):
    per_site = lens.lens_at_answers(model, batch)
    assert per_site.shape[0] == hooks.n_layers(model) + 1
    torch.testing.assert_close(per_site[-1], answer_logits(model, batch), atol=1e-5, rtol=1e-5)


@torch.no_grad()
def test_each_mlp_weight_maps_its_input_site_to_its_output_site(model, batch):
    projections = hooks.mlp_projections(model)
    assert len(projections) == hooks.n_layers(model) * (3 if "mlp_up.0" in sites(model) else 2)
    wanted = sorted({s for p in projections.values() for s in (p.in_site, p.out_site)})
    with hooked(model, capture=wanted) as acts:
        model(input_ids=batch.ids)
    for name, p in projections.items():
        bias = getattr(p.module, "bias", None)
        expected = acts[p.in_site] @ p.weight + (0 if bias is None else bias)
        torch.testing.assert_close(acts[p.out_site], expected, atol=1e-5, rtol=1e-5, msg=name)


@torch.no_grad()
def test_editing_the_mlp_input_reaches_every_mlp_matrix(model, batch):
    projections = [p for p in hooks.mlp_projections(model).values() if p.in_site == "mlp_in.0"]
    outs = [p.out_site for p in projections]
    with hooked(model, edit={"mlp_in.0": torch.zeros_like}, capture=outs) as acts:
        model(input_ids=batch.ids)
    for p in projections:
        bias = getattr(p.module, "bias", None)
        expected = torch.zeros_like(acts[p.out_site]) + (0 if bias is None else bias)
        torch.testing.assert_close(acts[p.out_site], expected, msg=p.out_site)


def test_a_full_mass_weight_edit_leaves_the_model_unchanged(model, batch):
    factors = curvature.kfac_factors(model, batch)
    assert set(factors) == set(hooks.mlp_projections(model))
    edited, _, report = curvature.edit_model(model, factors, 1.0)
    with torch.no_grad():
        torch.testing.assert_close(answer_logits(edited, batch), answer_logits(model, batch),
                                   atol=1e-4, rtol=1e-4)
    half, _, _ = curvature.edit_model(model, factors, 0.5)
    name = next(iter(factors))
    assert not torch.allclose(hooks.mlp_projections(half)[name].weight,
                              hooks.mlp_projections(model)[name].weight)


def test_an_unsupported_family_is_one_error_listing_the_supported_ones():
    with pytest.raises(ValueError, match="'mamba' is not supported; the suite judges: gpt2, llama"):
        hooks.family_of("mamba")
    with pytest.raises(ValueError, match="arch 'mamba' is not supported; supported: gpt2, llama"):
        ModelSpec(n_layer=1, n_embd=8, n_head=1, arch="mamba")
    with pytest.raises(ValueError, match="activation of a llama model must be one of"):
        ModelSpec(n_layer=1, n_embd=8, n_head=1, arch="llama")


def test_every_recipe_family_has_a_site_map_and_no_other():
    """Recipes (suite.train.recipes.ARCHS) and the store name the families the hook layer maps;
    the store cannot import the hook layer (imports run one way), so the two lists are kept
    equal here."""
    from suite.train.recipes import ARCHS

    assert list(ARCHS) == list(hooks.FAMILIES)
    assert all(hooks.FAMILIES[name].model_type == name for name in ARCHS)


def test_the_read_prefix_gives_the_same_answers_and_gradients(model, data):
    # Atomic facts are a token shorter than two-hop queries: the cut keeps every answer position.
    full = encode(data.heldout[:16] + data.atomic[:8], data.vocab)
    cut = full.read_prefix()
    assert cut.ids.shape[1] == full.ids.shape[1] - 1
    torch.testing.assert_close(answer_logits(model, cut), answer_logits(model, full),
                               atol=1e-5, rtol=1e-5)
    grads = []
    for b in (full, cut):
        model.zero_grad()
        answer_loss(model, b).backward()
        grads.append([p.grad.clone() for p in model.parameters()])
    model.zero_grad()
    for g_full, g_cut in zip(*grads):
        torch.testing.assert_close(g_cut, g_full, atol=1e-5, rtol=1e-4)
