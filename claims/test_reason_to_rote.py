"""Reason to Rote (Du et al., EMNLP 2025, arXiv 2507.04782): claims about how models memorize.

Two groups of claims. Dynamics ("models first generalize, then memorize") read the curve and
checkpoints saved with each model (suite/store.py). Mechanism claims look inside the final model
while it recalls memorized noisy labels, using suite.measures (built on suite.interp). Each test
states the paper's sentence, the operationalization, the control and the decision rule; the
rules were fixed before the claims were first run.
"""

from __future__ import annotations

import pytest
import torch

from fixtures.plugin import require, require_memorized
from suite import counterfactuals, dynamics, measures
from suite.batching import encode, exact_match
from suite.claims import Claim, judge
from suite.interp import attribution, patching
from suite.stats import binomial_p, hypergeometric_overlap, mcnemar, sign_test, wilson

GENERALIZE_FIRST = Claim(
    id="rr.generalize_first",
    source="Du et al. 2025 (arXiv 2507.04782), training dynamics",
    sentence="Models first generalize, then memorize: when held-out accuracy is already high, "
             "noisy training items are still answered with their clean label.",
    statistic="at the first checkpoint with held-out accuracy >= 0.8: share of noisy items "
              "answered with the clean label, and share answered with the noisy label",
    threshold="clean share Wilson 95% lower bound >= 0.5 and noisy share upper bound <= 0.1",
    threshold_source="CLAIMS.md (>= 0.5 clean, <= 0.1 noisy); the interval bounds are a priori: "
                     "the claim holds only if it holds with 95% confidence",
)

MEMORIZE_LATER = Claim(
    id="rr.memorize_later",
    source="Du et al. 2025 (arXiv 2507.04782), training dynamics",
    sentence="Memorization of noisy labels comes after generalization.",
    statistic="first evaluated step with noisy recall >= 0.5 minus first evaluated step with "
              "held-out accuracy >= 0.5",
    threshold="difference > 0 (strictly later), in every seed",
    threshold_source="CLAIMS.md",
    replicate="all",
)


@pytest.mark.task("fda", "thr")
def test_generalize_first(trained):
    """At the first checkpoint where held-out accuracy reaches 0.8, noisy items still get their
    clean label (>= 0.5) and rarely their noisy label (<= 0.1).

    Operationalization: CLAIMS.md allows M_pre or the first checkpoint with held-out >= 0.8. M_pre
    is defined by noisy recall <= 0.1, so at M_pre the noisy half of the claim could not fail;
    we therefore use the first checkpoint with held-out >= 0.8, reload its weights and score
    every noisy training item against both labels (greedy exact match). Control: the noisy-label
    share is the model's own baseline for noise recall at that point.
    """
    require(GENERALIZE_FIRST, trained, "learned", "memorized", "curve")
    step = dynamics.first_step(trained.curve, "heldout_acc", 0.8)
    assert step is not None  # guaranteed by the "learned" gate (final held-out >= 0.9)
    model = trained.checkpoint(step)
    data = trained.data
    clean_hit = exact_match(model, encode(data.noisy, data.vocab, "clean"))
    noisy_hit = exact_match(model, encode(data.noisy, data.vocab, "label"))
    clean_hits, noisy_hits, n = int(clean_hit.sum()), int(noisy_hit.sum()), len(data.noisy)
    clean, noisy = wilson(clean_hits, n), wilson(noisy_hits, n)
    verdict = judge(
        GENERALIZE_FIRST, trained,
        passed=clean.low >= 0.5 and noisy.high <= 0.1,
        estimate=clean.estimate, ci=(clean.low, clean.high), n=n,
        p=binomial_p(clean_hits, n, 0.5, "greater"),
        step=step, noisy_label_share=noisy.estimate, noisy_label_ci_high=noisy.high,
        items=[{"prompt": " ".join(it.prompt), "clean_hit": bool(c), "noisy_hit": bool(h)}
               for it, c, h in zip(data.noisy, clean_hit.tolist(), noisy_hit.tolist())],
    )
    assert verdict.passed, verdict.message


@pytest.mark.task("fda", "thr")
def test_memorize_later(trained):
    """The step where noisy recall first reaches 0.5 comes after the step where held-out
    accuracy first reaches 0.5.

    Operationalization: both steps are read from the evaluations saved during training (every
    `eval_every` steps of the recipe), so a tie within one evaluation interval counts as not
    later. Across seeds the rule is n-of-n: every seed's test must pass.
    """
    require(MEMORIZE_LATER, trained, "learned", "memorized", "curve")
    generalized = dynamics.first_step(trained.curve, "heldout_acc", 0.5)
    memorized = dynamics.first_step(trained.curve, "noisy_recall", 0.5)
    assert generalized is not None and memorized is not None  # guaranteed by the gates
    gap = memorized - generalized
    verdict = judge(
        MEMORIZE_LATER, trained, passed=gap > 0, estimate=float(gap), n=1,
        generalized_step=generalized, memorized_step=memorized,
        eval_every=trained.curve[1]["step"] - trained.curve[0]["step"],
    )
    assert verdict.passed, verdict.message


# ---------------------------------------------------------------------------------------------
# Mechanism: what the model computes while it recalls a memorized noisy label.
# Judged on memorized items: noisy training items the final model answers with the noisy label.
# ---------------------------------------------------------------------------------------------

ALPHA = 0.05
N_PROBE_TRAIN = 2000  # clean items used to fit probes (the first ones, deterministic)


_bridge_probes: dict = {}


def _bridge_probe(trained, model, items, positions=(1, 2)):
    """The bridge probe of a model (cached: several claims use the same one)."""
    key = (trained.key, positions)
    if key not in _bridge_probes:
        fit, select = _bridge_split(trained.data)
        _bridge_probes[key] = measures.bridge_probe(model, fit, select, items, trained.data.vocab,
                                                    positions=positions)
    return _bridge_probes[key]


CLEAN_LABEL_DECODABLE = Claim(
    id="rr.clean_label_decodable",
    source="Du et al. 2025 (arXiv 2507.04782), Sec. 'reasoning persists during recall'",
    sentence="While recalling a memorized noisy label, the model still computes the correct "
             "answer: the clean label is decodable at earlier layers.",
    statistic="per memorized item, the number of answer positions whose clean token is decoded "
              "at some site before the last block's output, minus the same for a control label "
              "(another memorized item's clean label, same format and priors)",
    threshold=f"one-sided exact sign test p < {ALPHA / 2} (Bonferroni over the two decoders) and "
              "clean rate > control rate",
    threshold_source="CLAIMS.md ('above a control'); alpha a priori",
    family="rr.decodability",
)


@pytest.mark.task("fda", "thr")
@pytest.mark.parametrize("decoder", ["lens", "probe"])
def test_clean_label_decodable(trained, decoder):
    """For memorized items, the clean answer is decodable at some layer before the last, more
    often than a control label.

    Decoders: the logit lens (ln_f + unembedding on each early residual site) and linear probes
    per site and answer position trained on clean training items only (never noisy ones).
    FDA decodes each answer digit with the clean answer's prefix forced (teacher forcing). The
    control label is another memorized item's clean label (a seeded derangement), decoded from
    the same activations; for the probe, the control decoder is the same probe fitted on
    shuffled labels, scored against the clean label.
    """
    require(CLEAN_LABEL_DECODABLE, trained, "learned", "memorized")
    model, items = require_memorized(CLEAN_LABEL_DECODABLE, trained)
    data = trained.data
    if decoder == "lens":
        d = measures.lens_decodability(model, items, data.vocab)
    else:
        d = measures.probe_decodability(model, data.clean[:N_PROBE_TRAIN], items, data.vocab)
    clean, control, test = d.against_control()
    verdict = judge(
        CLEAN_LABEL_DECODABLE, trained, passed=test.p < ALPHA / 2 and clean.estimate > control,
        estimate=clean.estimate, ci=(clean.low, clean.high), p=test.p, n=len(items),
        variant=decoder, control_rate=control, items_more=test.positive, items_fewer=test.negative,
        by_site_clean=d.by_site_clean.mean(1).tolist(),
        by_site_control=d.by_site_control.mean(1).tolist(),
        items=[{"prompt": " ".join(it.prompt), "clean_positions": int(c), "control_positions": int(k)}
               for it, c, k in zip(items, d.clean.tolist(), d.control.tolist())],
    )
    assert verdict.passed, verdict.message


NOISY_OVERRIDES_LATE = Claim(
    id="rr.noisy_overrides_late",
    source="Du et al. 2025 (arXiv 2507.04782), Sec. 'memorization overrides late'",
    sentence="The memorized noisy label overrides the computed answer only in late layers.",
    statistic="per memorized item (and answer position where the labels differ): +1 if the clean "
              "token is the lens's top-1 at a site strictly before the first site where the noisy "
              "token is top-1, else -1 (never decodable counts -1); averaged over positions",
    threshold=f"one-sided exact sign test over items p < {ALPHA}",
    threshold_source="CLAIMS.md (paired test over items); alpha a priori",
    family="rr.decodability",
)


@pytest.mark.task("fda", "thr")
def test_noisy_overrides_late(trained):
    """For memorized items, the first layer at which the noisy label wins comes after the first
    layer at which the clean label is decodable.

    The lens reads every residual site with the noisy prefix forced (what the model reads while
    recalling); sites are ordered embed < resid.0 < ... < resid.{L-1}.
    """
    require(NOISY_OVERRIDES_LATE, trained, "learned", "memorized")
    model, items = require_memorized(NOISY_OVERRIDES_LATE, trained)
    o = measures.override_layers(model, items, trained.data.vocab)
    test = sign_test(o.score.tolist())
    share = wilson(test.positive, len(items))
    verdict = judge(
        NOISY_OVERRIDES_LATE, trained, passed=test.p < ALPHA, estimate=share.estimate,
        ci=(share.low, share.high), p=test.p, n=len(items), items_clean_first=test.positive,
        items_noisy_first=test.negative, by_site_clean=o.by_site_clean,
        by_site_noisy=o.by_site_noisy,
        items=[{"prompt": " ".join(it.prompt), "score": float(s)} for it, s in zip(items, o.score)],
    )
    assert verdict.passed, verdict.message


BRIDGE_DECODABLE = Claim(
    id="rr.bridge_decodable",
    source="Du et al. 2025 (arXiv 2507.04782), THR analysis",
    sentence="While recalling a memorized label, the model still computes the bridge entity.",
    statistic="accuracy on memorized items of a bridge probe trained on clean items, at the "
              "residual site and position (r1 or r2) chosen on other clean items; paired with "
              "the same probe fitted on shuffled bridges",
    threshold=f"exact McNemar (probe vs control) one-sided p < {ALPHA} and accuracy > control",
    threshold_source="CLAIMS.md ('above a control'); alpha a priori",
    family="rr.bridge",
)


def _bridge_split(data):
    clean = data.clean
    return clean[:3000], clean[3000:4000]


@pytest.mark.task("thr")
def test_bridge_decodable(trained):
    """For memorized items, the bridge entity r1(e) is decodable from the residual stream by a
    probe trained on clean items, above a shuffled-label control."""
    require(BRIDGE_DECODABLE, trained, "learned", "memorized")
    model, items = require_memorized(BRIDGE_DECODABLE, trained)
    b = _bridge_probe(trained, model, items)
    acc = wilson(int(b.hit.sum()), len(items))
    control = float(b.hit_control.float().mean())
    test = mcnemar(b.hit_control.tolist(), b.hit.tolist(), alternative="less")
    verdict = judge(
        BRIDGE_DECODABLE, trained, passed=test.p < ALPHA and acc.estimate > control,
        estimate=acc.estimate, ci=(acc.low, acc.high), p=test.p, n=len(items), site=b.site,
        position=b.position, selection_accuracy=b.selection_accuracy, control_rate=control,
        by_site=b.by_site,
    )
    assert verdict.passed, verdict.message


BRIDGE_REMOVAL_MEMORIZATION = Claim(
    id="rr.bridge_removal_hurts_memorization",
    source="Du et al. 2025 (arXiv 2507.04782), THR intervention",
    sentence="Removing the bridge entity hurts recall of a memorized label, even though the "
             "noisy label and the bridge are unrelated.",
    statistic="noisy recall of memorized items after LEACE erasure of the bridge at the probe's "
              "site and position, paired with no erasure and with a random subspace of equal rank",
    threshold=f"exact McNemar p < {ALPHA / 2} for both the drop and erasure-vs-random "
              "(Bonferroni over the two tests)",
    threshold_source="CLAIMS.md (paired, exact McNemar; more than a random subspace); alpha a priori",
    family="rr.bridge",
)


@pytest.mark.task("thr")
def test_bridge_removal_hurts_memorization(trained):
    """Erasing the bridge entity's identity (LEACE, fitted on clean items at the site and
    position where a probe decodes it best) lowers noisy recall significantly, and more than
    erasing a random subspace of the same rank at the same place."""
    require(BRIDGE_REMOVAL_MEMORIZATION, trained, "learned", "memorized")
    model, items = require_memorized(BRIDGE_REMOVAL_MEMORIZATION, trained)
    fit, _ = _bridge_split(trained.data)
    b = _bridge_probe(trained, model, items)
    e = measures.erase_bridge(model, fit, items, trained.data.vocab, b.site, b.position)
    drop = mcnemar(e.before.tolist(), e.erased.tolist())
    vs_random = mcnemar(e.random.tolist(), e.erased.tolist())
    after = wilson(int(e.erased.sum()), len(items))
    verdict = judge(
        BRIDGE_REMOVAL_MEMORIZATION, trained,
        passed=drop.p < ALPHA / 2 and vs_random.p < ALPHA / 2,
        estimate=float(e.before.float().mean() - e.erased.float().mean()), n=len(items),
        p=max(drop.p, vs_random.p), site=e.site, position=e.position, rank=e.rank,
        recall_after=after.estimate, recall_after_random=float(e.random.float().mean()),
        p_drop=drop.p, p_vs_random=vs_random.p,
    )
    assert verdict.passed, verdict.message


BRIDGE_REMOVAL_GENERALIZATION = Claim(
    id="rr.bridge_removal_hurts_generalization",
    source="Du et al. 2025 (arXiv 2507.04782), THR intervention",
    sentence="The bridge is causally used: erasing it lowers held-out two-hop accuracy, while "
             "atomic-fact recall is less affected.",
    statistic="held-out two-hop accuracy drop under the bridge erasure (paired with no erasure "
              "and with a random subspace of equal rank), and atomic-fact recall drop under the "
              "same eraser at the atomic prompt's last position",
    threshold=f"McNemar p < {ALPHA / 2} for the held-out drop and for erasure-vs-random, and "
              "atomic drop < held-out drop",
    threshold_source="CLAIMS.md; alpha a priori",
    family="rr.bridge",
)


@pytest.mark.task("thr")
def test_bridge_removal_hurts_generalization(trained):
    """The same erasure lowers held-out two-hop accuracy, more than a random subspace does, and
    atomic-fact recall drops less.

    The eraser is applied to atomic prompts (`e r`) at position 1, their last position (where
    the atomic answer, which is itself a bridge-type entity, is produced): the honest same
    intervention, which may well hurt atomic recall. The measured numbers decide.
    """
    require(BRIDGE_REMOVAL_GENERALIZATION, trained, "learned", "memorized")
    model, items = require_memorized(BRIDGE_REMOVAL_GENERALIZATION, trained)
    data = trained.data
    fit, _ = _bridge_split(data)
    b = _bridge_probe(trained, model, items)
    held = measures.erase_bridge(model, fit, data.heldout, data.vocab, b.site, b.position)
    atomic = measures.erase_bridge(model, fit, data.atomic, data.vocab, b.site, 1)
    drop = mcnemar(held.before.tolist(), held.erased.tolist())
    vs_random = mcnemar(held.random.tolist(), held.erased.tolist())
    held_drop = float(held.before.float().mean() - held.erased.float().mean())
    atomic_drop = float(atomic.before.float().mean() - atomic.erased.float().mean())
    verdict = judge(
        BRIDGE_REMOVAL_GENERALIZATION, trained,
        passed=drop.p < ALPHA / 2 and vs_random.p < ALPHA / 2 and atomic_drop < held_drop,
        estimate=held_drop, n=len(data.heldout), p=max(drop.p, vs_random.p), site=held.site,
        position=held.position, atomic_drop=atomic_drop,
        heldout_drop_random=float(held.before.float().mean() - held.random.float().mean()),
        p_drop=drop.p, p_vs_random=vs_random.p,
    )
    assert verdict.passed, verdict.message


INTERMEDIATE_PATCHING = Claim(
    id="rr.intermediate_patching_changes_memory",
    source="Du et al. 2025 (arXiv 2507.04782), 'memorization is a distributed encoding'",
    sentence="Memorized recall reads the intermediate results: patching only the intermediate "
             "from an item whose intermediate differs changes the memorized output.",
    statistic="share of memorized items whose noisy output changes when the intermediate's "
              "positions are patched from a counterfactual (different intermediate) minus the "
              "share for a source with the same intermediate (THR: bridge at the r1 position, "
              "at the site where a bridge probe is best; FDA: one column's two digit positions, "
              "at each early site)",
    threshold=f"one-sided exact McNemar p < {ALPHA} (FDA: Bonferroni over sites) and a "
              "difference >= 0.10",
    threshold_source="CLAIMS.md ('clearly larger'); 0.10 and alpha a priori",
    family="rr.distributed",
)


@pytest.mark.task("fda", "thr")
def test_intermediate_patching_changes_memory(trained):
    """Patching only the intermediate result (THR: the bridge; FDA: a column sum) from an item
    whose intermediate differs changes the memorized noisy output in a clearly larger share of
    items than patching from an item whose intermediate is the same."""
    require(INTERMEDIATE_PATCHING, trained, "learned", "memorized")
    model, items = require_memorized(INTERMEDIATE_PATCHING, trained)
    data = trained.data
    if data.spec.task == "thr":
        kept, cf, same = counterfactuals.thr_sources(items, data)
        site = _bridge_probe(trained, model, items, positions=(1,)).site
        candidates = [(site, [(1,)] * len(kept))]
    else:
        kept, cf, same, columns = counterfactuals.fda_sources(items, data.spec)
        positions = [counterfactuals.fda_column_positions(data.spec, c) for c in columns]
        candidates = [(s, positions) for s in measures.early_sites(model)]
    results = []
    for site, positions in candidates:
        o = measures.intermediate_patch(model, kept, cf, same, data.vocab, site, positions)
        test = mcnemar(o.changed_control.tolist(), o.changed.tolist(), alternative="less")
        diff = float(o.changed.float().mean() - o.changed_control.float().mean())
        results.append((test.p * len(candidates), diff, site, o))
    p, diff, site, o = min(results, key=lambda r: (r[0], -r[1]))
    verdict = judge(
        INTERMEDIATE_PATCHING, trained, passed=p < ALPHA and diff >= 0.10, estimate=diff,
        p=min(1.0, p), n=len(kept), site=site, changed=float(o.changed.float().mean()),
        changed_same_intermediate=float(o.changed_control.float().mean()),
        all_sites={s: round(d, 3) for _, d, s, _ in results},
    )
    assert verdict.passed, verdict.message


NO_LOOKUP_KEY = Claim(
    id="rr.no_lookup_key",
    source="Du et al. 2025 (arXiv 2507.04782), 'memorization is a distributed encoding'",
    sentence="Memorization is not a look-up: no single input position carries the memorized "
             "label.",
    statistic="largest share, over residual sites and input positions (every prompt position "
              "but the last, which produces the answer), of memorized items that output another "
              "memorized item's noisy label when that one position is patched from it",
    threshold="largest share <= 0.10",
    threshold_source="CLAIMS.md (<= 10 % of cases)",
    family="rr.distributed",
)


@pytest.mark.task("fda", "thr")
def test_no_lookup_key(trained):
    """Patching the residual stream at any one input position from a memorized item into a
    different memorized item transfers the source's noisy label in at most 10 % of cases."""
    require(NO_LOOKUP_KEY, trained, "learned", "memorized")
    model, items = require_memorized(NO_LOOKUP_KEY, trained)
    prompt_length = len(items[0].prompt)
    rates = measures.transfer_rates(model, items, trained.data.vocab, range(prompt_length - 1))
    (site, position), hits = max(rates.items(), key=lambda kv: float(kv[1].float().mean()))
    worst = wilson(int(hits.sum()), len(items))
    verdict = judge(
        NO_LOOKUP_KEY, trained, passed=worst.estimate <= 0.10, estimate=worst.estimate,
        ci=(worst.low, worst.high), n=len(items), site=site, position=position,
        cells=len(rates),
    )
    assert verdict.passed, verdict.message


OUTLIER_PATCHING = Claim(
    id="rr.outlier_heuristics_patching",
    source="Du et al. 2025 (arXiv 2507.04782), FDA 'outlier heuristics'",
    sentence="Patching the MLP activations of a pre-memorization checkpoint into the final "
             "model leaves held-out accuracy intact but breaks memorized recall.",
    statistic="for each layer, M_final with that layer's MLP neuron activations replaced by "
              "M_pre's on the same input: held-out accuracy change, and noisy recall of memorized "
              "items (paired with unpatched M_final)",
    threshold="held-out accuracy within 0.05 of baseline at every layer, and at some layer a "
              f"noisy-recall drop >= 0.5 with exact McNemar p < {ALPHA}",
    threshold_source="CLAIMS.md (5 points; drop >= 0.5)",
    family="rr.heuristics",
)


@pytest.mark.task("fda")
def test_outlier_heuristics_patching(trained):
    """Replacing one layer's MLP neuron activations in M_final by M_pre's (same input) keeps
    held-out accuracy within 5 points at every layer, while at some layer noisy recall drops by
    at least 0.5. M_pre: the last checkpoint with held-out >= 0.8 and noisy recall <= 0.1."""
    require(OUTLIER_PATCHING, trained, "learned", "memorized", "curve", "pre")
    model, items = require_memorized(OUTLIER_PATCHING, trained)
    data = trained.data
    pre = trained.checkpoint(dynamics.pre_memorization_step(trained.curve))
    held, mem = encode(data.heldout, data.vocab), encode(items, data.vocab, "label")
    held_base = exact_match(model, held).float().mean().item()
    per_layer = []
    for layer in range(len(model.transformer.h)):
        site = f"mlp.{layer}"
        held_hit = (patching.patch_models(pre, model, held, site).argmax(-1) == held.targets).all(-1)
        recall = (patching.patch_models(pre, model, mem, site).argmax(-1) == mem.targets).all(-1)
        test = mcnemar([True] * len(items), recall.tolist())
        per_layer.append((layer, held_hit.float().mean().item() - held_base,
                          1.0 - recall.float().mean().item(), test.p))
    held_ok = all(abs(d) <= 0.05 for _, d, _, _ in per_layer)
    best = max(per_layer, key=lambda r: r[2])
    verdict = judge(
        OUTLIER_PATCHING, trained, passed=held_ok and best[2] >= 0.5 and best[3] < ALPHA,
        estimate=best[2], p=best[3], n=len(items), layer=best[0], heldout_base=held_base,
        heldout_change_by_layer=[round(d, 3) for _, d, _, _ in per_layer],
        recall_drop_by_layer=[round(r, 3) for _, _, r, _ in per_layer],
        pre_step=dynamics.pre_memorization_step(trained.curve),
    )
    assert verdict.passed, verdict.message


HEURISTIC_NEURONS = Claim(
    id="rr.heuristic_neurons_reused",
    source="Du et al. 2025 (arXiv 2507.04782), FDA 'outlier heuristics'",
    sentence="Memorization reuses the existing heuristic neurons, slightly shifted, rather than "
             "new item-specific neurons.",
    statistic="overlap of the top 5 % MLP neurons (all layers) by mean |activation x gradient| "
              "of the answer logit on memorized items (noisy label) and on clean items (clean "
              "label); and, for the memorized top neurons, the median share of memorized items "
              "whose own top 5 % contains the neuron (item-specific neurons would serve few items)",
    threshold=f"hypergeometric p < {ALPHA} with overlap >= 2x chance, and median share >= 0.10 "
              "(2x the 5 % base rate)",
    threshold_source="CLAIMS.md ('far above chance'); 2x and 0.10 a priori",
    family="rr.heuristics",
)


@pytest.mark.task("fda")
def test_heuristic_neurons_reused(trained):
    """The top-attribution neurons for memorized items overlap those for clean items far above
    chance, and each is shared across many memorized items rather than item-specific."""
    require(HEURISTIC_NEURONS, trained, "learned", "memorized")
    model, items = require_memorized(HEURISTIC_NEURONS, trained)
    data = trained.data
    layers = range(len(model.transformer.h))
    mem_batch = encode(items, data.vocab, "label")
    clean_batch = encode(data.clean[:500], data.vocab, "clean")
    mem_attr = torch.cat([attribution.neuron_attribution(model, mem_batch, l) for l in layers], 1)
    clean_attr = torch.cat([attribution.neuron_attribution(model, clean_batch, l) for l in layers], 1)
    population = mem_attr.shape[1]
    k = max(1, round(0.05 * population))
    top_mem = set(attribution.top_neurons(mem_attr, k).tolist())
    top_clean = set(attribution.top_neurons(clean_attr, k).tolist())
    overlap = hypergeometric_overlap(top_mem, top_clean, population)
    per_item_top = torch.topk(mem_attr.abs(), k, dim=1).indices
    shares = [float((per_item_top == j).any(1).float().mean()) for j in sorted(top_mem)]
    median_share = float(torch.tensor(shares).median())
    verdict = judge(
        HEURISTIC_NEURONS, trained,
        passed=overlap.p < ALPHA and overlap.overlap >= 2 * overlap.expected and median_share >= 0.10,
        estimate=overlap.overlap / k, p=overlap.p, n=len(items), k=k, population=population,
        expected_overlap=overlap.expected, median_item_share=median_share,
    )
    assert verdict.passed, verdict.message
