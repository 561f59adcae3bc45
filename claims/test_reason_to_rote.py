"""Reason to Rote (Du et al., EMNLP 2025, arXiv 2507.04782): claims about how models memorize.

Two groups of claims. Dynamics ("models first generalize, then memorize") read the curve and
checkpoints saved with each model (suite/store.py). Mechanism claims look inside the final model
while it recalls memorized noisy labels, using suite.measure.mechanism (built on suite.interp). Each test
states the paper's sentence, the operationalization, the control and the decision rule; the
rules were fixed before the claims were first run.

Rules are at version 2 to 6 (docs/CLAIMS.md, "Versions", says what changed); version 4 of the
paired-hit claims states a margin and takes PairedHits' paired intervals, and the latest version
of each mechanism claim that does not read M_pre drops the gate "pre" (PRE_NOT_READ).
"""

from __future__ import annotations

import pytest
import torch

from suite.measure import counterfactuals, heuristics
from suite.train import dynamics
from suite.measure import mechanism as measures
from suite.train.batching import encode, exact_match
from suite.judge import Claim, known_pair, KnownCase, Rule
from suite.judge.figures import Bars, Lines
from suite.judge.gates import PRE_NOT_READ
from suite.judge.stats import (CHANGES, SHARES, Difference, Exact, ItemMean, ItemStatistic,
                               Largest, PairedHits, Share, TopOverlap, hypergeometric_overlap,
                               median_column_mean)

# Mechanism claims analyse a model that generalized and then memorized. Their versions before
# issue 39 asked for M_pre (gate "pre") besides the learned and memorized gates; their current
# versions ask for it only where the measurement reads M_pre (rr.outlier_heuristics_patching), so
# that a checkpoint saved without its curve can be judged. The dynamics claims test that sequence
# themselves, so they are not gated on it (the gate would keep them from failing).
MECHANISM = ("learned", "memorized", "pre")


def _paired(a: torch.Tensor, b: torch.Tensor) -> ItemMean:
    """Per-item a - b (booleans or numbers), averaged over items."""
    return ItemMean((a.float() - b.float()).numpy(), bounds=CHANGES)


def _paired_hits(a: torch.Tensor, b: torch.Tensor) -> PairedHits:
    """share(a) - share(b) for per-item 0/1 outcomes on the same items, with PairedHits'
    interval (the v4 rules: an item bootstrap is anti-conservative when few items differ)."""
    return PairedHits.of(a.float().numpy(), b.float().numpy())


# Version 4 of the paired-hit claims (issues 39 and 40), declared before any v4 run on a model:
# the same measurements, two changes. (1) A margin: a rule "> 0" or "above a control" is now
# "> MARGIN", the smallest effect the claim cares about, so that a planted absence (a trace
# carried by attention, a decoder's small bias) lies confidently on the failing side instead of
# straddling zero. (2) The paired interval of suite.judge.stats.PairedHits (a continuity-
# corrected score test, which decides as the exact sign test where few items differ) instead of
# the item bootstrap.
MARGIN = 0.10
V4 = ("v4 (declared before any v4 run; issues 39, 40): '> 0' rules become '> 0.10', a priori: a "
      "tenth of the items, the one margin the suite already used for a difference of item "
      "shares (rr.intermediate_patching_changes_memory's 'clearly larger share', 0.10 since "
      "v1), chosen by that rule and not fitted to any estimate (the v3 estimates were known); "
      "paired intervals over items (PairedHits)")


def _by_site(title: str, **series: list[float]) -> Lines:
    """A figure of shares per residual site (0 = embed), one line per series."""
    n = len(next(iter(series.values())))
    return Lines(title, tuple(str(i) for i in range(n)), dict(series), xlabel="site (0 = embed)")

GENERALIZE_FIRST = Claim(
    tasks=("fda", "thr"),
    known=known_pair("unseen_noise", "recall_as_checkpoints", ("fda", "thr")) + (
        KnownCase("memorized_first", False, ("fda",), reference="memorize-first-fda-tiny"),),
    id="rr.generalize_first",
    gates=("learned", "memorized", "curve"),
    source="Du et al. 2025 (arXiv 2507.04782), training dynamics",
    sentence="Models first generalize, then memorize: when held-out accuracy is already high, "
             "noisy training items are still answered with their clean label.",
    statistic="at the first checkpoint with held-out accuracy >= 0.8: share of noisy items "
              "answered with the clean label, and share answered with the noisy label",
    rules=(Rule("clean_label_share", ">=", 0.5), Rule("noisy_label_share", "<=", 0.1)),
    unit="noisy training item",
    threshold_source="recommended operationalization (>= 0.5 clean, <= 0.1 noisy); the interval bounds are a priori: "
                     "the claim holds only if it holds with 95% confidence",
    version=2,
)

MEMORIZE_LATER = Claim(
    tasks=("fda", "thr"),
    # the memorize-first model was chosen by the very order this rule reads, so on it the rule
    # can only be checked, not validated
    known=known_pair("curve_later", "curve_together", ("fda",), rule_check=True) + (
        KnownCase("memorized_first", False, ("fda",), reference="memorize-first-fda-tiny",
                  rule_check=True),),
    id="rr.memorize_later",
    gates=("learned", "memorized", "curve"),
    source="Du et al. 2025 (arXiv 2507.04782), training dynamics",
    sentence="Memorization of noisy labels comes after generalization.",
    statistic="first evaluated step with noisy recall >= 0.5 minus first evaluated step with "
              "held-out accuracy >= 0.5",
    rules=(Rule("memorization_lag_steps", ">", 0),),
    unit="training run",
    threshold_source="recommended operationalization ('strictly later', in every seed); exact: both steps are read off "
                     "the saved curve, at its evaluation resolution",
    replicate="all",
    version=2,
)


@pytest.mark.claim(GENERALIZE_FIRST)
def test_generalize_first(trained, judge):
    """At the first checkpoint where held-out accuracy reaches 0.8, noisy items still get their
    clean label (>= 0.5) and rarely their noisy label (<= 0.1).

    Operationalization: the catalogue (docs/CLAIMS.md) allows M_pre or the first checkpoint with held-out >= 0.8. M_pre
    is defined by noisy recall <= 0.1, so at M_pre the noisy half of the claim could not fail;
    we therefore use the first checkpoint with held-out >= 0.8, reload its weights and score
    every noisy training item against both labels (greedy exact match). Control: the noisy-label
    share is the model's own baseline for noise recall at that point.
    """
    judge.require(GENERALIZE_FIRST, trained)
    step = dynamics.first_step(trained.curve, "heldout_acc", 0.8)
    assert step is not None  # guaranteed by the "learned" gate (final held-out >= 0.9)
    model = trained.checkpoint(step)
    data = trained.data
    clean_hit = exact_match(model, encode(data.noisy, data.vocab, "clean"))
    noisy_hit = exact_match(model, encode(data.noisy, data.vocab, "label"))
    n = len(data.noisy)
    judge(
        GENERALIZE_FIRST, trained,
        {"clean_label_share": Share(int(clean_hit.sum()), n),
         "noisy_label_share": Share(int(noisy_hit.sum()), n)},
        n=n, step=step,
        items=[{"prompt": " ".join(it.prompt), "clean_hit": bool(c), "noisy_hit": bool(h),
                "headline": float(c)}  # the item's share in the headline (paired baselines)
               for it, c, h in zip(data.noisy, clean_hit.tolist(), noisy_hit.tolist())],
    )


@pytest.mark.claim(MEMORIZE_LATER)
def test_memorize_later(trained, judge):
    """The step where noisy recall first reaches 0.5 comes after the step where held-out
    accuracy first reaches 0.5.

    Operationalization: both steps are read from the evaluations saved during training (every
    `eval_every` steps of the recipe), so a tie within one evaluation interval counts as not
    later. Across seeds the rule is n-of-n: every seed's test must pass.
    """
    judge.require(MEMORIZE_LATER, trained)
    generalized = dynamics.first_step(trained.curve, "heldout_acc", 0.5)
    memorized = dynamics.first_step(trained.curve, "noisy_recall", 0.5)
    assert generalized is not None and memorized is not None  # guaranteed by the gates
    judge(
        MEMORIZE_LATER, trained, {"memorization_lag_steps": Exact(float(memorized - generalized))},
        n=1, generalized_step=generalized, memorized_step=memorized,
        eval_every=trained.curve[1]["step"] - trained.curve[0]["step"],
    )


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
    tasks=("fda", "thr"),
    known=known_pair("late_recall", "embed_recall", ("fda", "thr"),
                     args=(("decoder", ("lens", "probe")),)),
    id="rr.clean_label_decodable",
    gates=(*MECHANISM, "deep"),
    source="Du et al. 2025 (arXiv 2507.04782), Sec. 'reasoning persists during recall'",
    sentence="While recalling a memorized noisy label, the model still computes the correct "
             "answer: the clean label is decodable at earlier layers.",
    statistic="per memorized item, the number of answer positions whose clean token is decoded "
              "at some site before the last block's output, minus the same for a control label "
              "(another memorized item's clean label, same format and priors)",
    rules=(Rule("clean_minus_control_share", ">", 0),),
    unit="memorized item",
    confidence=1 - ALPHA / 2,
    threshold_source="recommended operationalization ('above a control'); alpha a priori, Bonferroni over the two "
                     "decoders (97.5 % intervals)",
    family="rr.decodability",
    version=2,
)


@pytest.mark.claim(CLEAN_LABEL_DECODABLE)
@pytest.mark.parametrize("decoder", ["lens", "probe"])
def test_clean_label_decodable(trained, decoder, judge):
    """For memorized items, the clean answer is decodable at some layer before the last, more
    often than a control label.

    Decoders: the logit lens (ln_f + unembedding on each early residual site) and linear probes
    per site and answer position trained on clean training items only (never noisy ones).
    FDA decodes each answer digit with the clean answer's prefix forced (teacher forcing). The
    control label is another memorized item's clean label (a seeded derangement), decoded from
    the same activations; for the probe, the control decoder is the same probe fitted on
    shuffled labels, scored against the clean label.

    Depth: "earlier layers" needs at least two intermediate sites (three blocks; gate "deep").
    """
    _clean_label_decodable(CLEAN_LABEL_DECODABLE, trained, decoder, judge, differing_only=False)


def _decoded(trained, which: str, model, items, decoder: str, differing_only: bool):
    """The clean label decoded from `model` (`which` of trained's: "trained", "random model");
    the probes are fitted once per model and items (v1, v3 and v4 count the same fit)."""
    data = trained.data
    if decoder == "lens":
        return measures.lens_decodability(model, items, data.vocab, differing_only=differing_only)
    hits = measures.probe_hits_of(f"{trained.key}:{which}", model, data.clean[:N_PROBE_TRAIN],
                                  items, data.vocab)
    return hits.counted(items, data.vocab, differing_only)


def _clean_label_decodable(claim, trained, decoder, judge, differing_only: bool,
                           capacity_control: bool = False) -> None:
    judge.require(claim, trained, variant=decoder)
    model, items = judge.require_memorized(claim, trained, variant=decoder)
    d = _decoded(trained, "trained", model, items, decoder, differing_only)
    clean, control = d.shares()
    measured = {"clean_minus_control_share": _paired(clean, control),
                "clean_share": ItemMean(clean.numpy(), bounds=SHARES),
                "control_share": ItemMean(control.numpy(), bounds=SHARES)}
    if capacity_control:
        random_clean, _ = _decoded(trained, "random model", measures.random_model_like(model),
                                   items, decoder, differing_only).shares()
        measured["clean_minus_random_model_share"] = _paired(clean, random_clean)
        measured["random_model_share"] = ItemMean(random_clean.numpy(), bounds=SHARES)
    judge(
        claim, trained, measured,
        n=len(items), variant=decoder, by_site_clean=d.by_site_clean.mean(1).tolist(),
        by_site_control=d.by_site_control.mean(1).tolist(),
        figure=_by_site(f"clean label, clean prefix ({decoder})",
                        clean=d.by_site_clean.mean(1).tolist(),
                        control=d.by_site_control.mean(1).tolist()),
        items=[{"prompt": " ".join(it.prompt), "clean_positions": int(c), "control_positions": int(k),
                "positions": int(p)}
               for it, c, k, p in zip(items, d.clean.tolist(), d.control.tolist(),
                                      d.positions.tolist())],
    )


CLEAN_LABEL_DECODABLE_V3 = CLEAN_LABEL_DECODABLE.revised(
    3,
    statistic="per memorized item, over the answer positions where its training (noisy) label "
              "differs from its clean label: the share whose clean token is decoded at some site "
              "before the last block's output, minus the same share for a control label "
              "(another memorized item's clean label; a control token equal to the noisy one "
              "does not count)",
    threshold_source="recommended operationalization ('above a control'); alpha a priori, "
                     "Bonferroni over the two decoders (97.5 % intervals). v3 (declared before any "
                     "v3 run): v2 counted positions where the noisy label equals the clean one, "
                     "where decoding the clean token is decoding the recalled label (on FDA about "
                     "a fifth of the positions), so recall alone made it hold (known answer: embed "
                     "recall, lens 0.078 [0.036, 0.126])",
)


@pytest.mark.claim(CLEAN_LABEL_DECODABLE_V3)
@pytest.mark.parametrize("decoder", ["lens", "probe"])
def test_clean_label_decodable_v3(trained, decoder, judge):
    """For memorized items, the clean answer is decodable at some layer before the last where it
    differs from the recalled label, more often than a control label: v2 over the positions
    where the labels differ."""
    _clean_label_decodable(CLEAN_LABEL_DECODABLE_V3, trained, decoder, judge, differing_only=True)


CLEAN_LABEL_DECODABLE_V4 = CLEAN_LABEL_DECODABLE_V3.revised(
    4,
    statistic="as v3, and a capacity control: the same decoder (lens, or probes fitted the same "
              "way) on a randomly initialised model of the same architecture; the clean share "
              "must exceed the random model's",
    rules=(Rule("clean_minus_control_share", ">", 0),
           Rule("clean_minus_random_model_share", ">", 0)),
    threshold_source="recommended operationalization ('above a control'); alpha a priori, "
                     "Bonferroni over the two decoders (97.5 % intervals); both rules must hold. "
                     "v4 (declared before any v4 run): v3's control label measures chance for "
                     "the decoder, not what a linear probe reads off the prompt tokens without "
                     "any learned computation (the capacity control of "
                     "coexist.clean_structure_survives_heavy_noise.v3)",
)


@pytest.mark.claim(CLEAN_LABEL_DECODABLE_V4)
@pytest.mark.parametrize("decoder", ["lens", "probe"])
def test_clean_label_decodable_v4(trained, decoder, judge):
    """As v3, and the clean answer is decoded more often from the model than by the same
    decoder from a randomly initialised model of its architecture."""
    _clean_label_decodable(CLEAN_LABEL_DECODABLE_V4, trained, decoder, judge, differing_only=True,
                           capacity_control=True)


CLEAN_LABEL_DECODABLE_V5 = CLEAN_LABEL_DECODABLE_V4.revised(
    5,
    rules=(Rule("clean_minus_control_share", ">", MARGIN),
           Rule("clean_minus_random_model_share", ">", MARGIN)),
    threshold_source="recommended operationalization ('above a control'); alpha a priori, "
                     "Bonferroni over the two decoders (97.5 % intervals); both rules must hold. "
                     "v5 (declared before any v5 run; issues 39, 40): both rules '> 0.10', the "
                     "v4 paired-hit claims' a priori margin (a tenth of the items; see V4), "
                     "because under statistics version 5 a planted absence (embed recall: no "
                     "item's clean token decoded, by model or control) has an interval about "
                     "zero, not the point at zero the bootstrap gave, so '> 0' could no longer "
                     "fail on it (in v4's planted-false lens cases the headline rule became "
                     "inconclusive: fda 0.000 [-0.065, 0.065], thr 0.000 [-0.015, 0.015]). "
                     "Declared after v4's measurements on seeds 0-7 had been re-decided under "
                     "version 5, so those seeds are exploratory for v5 (suite.run.ledger); the "
                     "margin also validates the probe decoder (v4's planted-false fda -0.060 "
                     "[-0.131, 0.007])",
)


@pytest.mark.claim(CLEAN_LABEL_DECODABLE_V5)
@pytest.mark.parametrize("decoder", ["lens", "probe"])
def test_clean_label_decodable_v5(trained, decoder, judge):
    """As v4, with the clean answer decoded on more than a tenth more of the items (positions)
    than the control label and than the same decoder reads off a randomly initialised model."""
    _clean_label_decodable(CLEAN_LABEL_DECODABLE_V5, trained, decoder, judge, differing_only=True,
                           capacity_control=True)


CLEAN_LABEL_DECODABLE_V6 = CLEAN_LABEL_DECODABLE_V5.without_gate("pre", 6, PRE_NOT_READ)


@pytest.mark.claim(CLEAN_LABEL_DECODABLE_V6)
@pytest.mark.parametrize("decoder", ["lens", "probe"])
def test_clean_label_decodable_v6(trained, decoder, judge):
    """As v5, judged without M_pre, which it does not read."""
    _clean_label_decodable(CLEAN_LABEL_DECODABLE_V6, trained, decoder, judge, differing_only=True,
                           capacity_control=True)


NOISY_OVERRIDES_LATE = Claim(
    tasks=("fda", "thr"),
    known=known_pair("late_recall", "early_override", ("fda", "thr")),
    id="rr.noisy_overrides_late",
    gates=(*MECHANISM, "deep"),
    source="Du et al. 2025 (arXiv 2507.04782), Sec. 'memorization overrides late'",
    sentence="The memorized noisy label overrides the computed answer only in late layers.",
    statistic="per memorized item (and answer position where the labels differ): +1 if the clean "
              "token is the lens's top-1 at a site strictly before the first site where the noisy "
              "token is top-1, else -1 (never decodable counts -1); averaged over positions",
    rules=(Rule("mean_override_score", ">", 0),),
    unit="memorized item",
    threshold_source="recommended operationalization (paired test over items); alpha a priori",
    family="rr.decodability",
    version=2,
)


@pytest.mark.claim(NOISY_OVERRIDES_LATE)
def test_noisy_overrides_late(trained, judge):
    """For memorized items, the first layer at which the noisy label wins comes after the first
    layer at which the clean label is decodable.

    The lens reads every residual site with the noisy prefix forced (what the model reads while
    recalling); sites are ordered embed < resid.0 < ... < resid.{L-1}.
    """
    judge.require(NOISY_OVERRIDES_LATE, trained)
    model, items = judge.require_memorized(NOISY_OVERRIDES_LATE, trained)
    o = measures.override_layers(model, items, trained.data.vocab)
    judge(
        NOISY_OVERRIDES_LATE, trained,
        {"mean_override_score": ItemMean(o.score.numpy(), bounds=CHANGES),
         "clean_first_share": Share(int((o.score > 0).sum()), len(items))},
        n=len(items), by_site_clean=o.by_site_clean, by_site_noisy=o.by_site_noisy,
        figure=_by_site("lens top-1, noisy prefix", clean=o.by_site_clean, noisy=o.by_site_noisy),
        items=[{"prompt": " ".join(it.prompt), "score": float(s)} for it, s in zip(items, o.score)],
    )


NOISY_OVERRIDES_LATE_V3 = NOISY_OVERRIDES_LATE.revised(
    3,
    statistic="per memorized item, over the answer positions where the labels differ and the "
              "clean token is the lens's top-1 at some block output (resid.0 onward; the "
              "embedding holds only the input token): +1 if the clean token is top-1 at a site "
              "strictly before the first site where the noisy token is, else -1; items with no "
              "such position are left out (counted)",
    unit="memorized item with a decodable clean token",
    threshold_source="recommended operationalization (paired test over items); alpha a priori. "
                     "v3 (declared before any v3 run): v2 scored a never-decodable clean token as "
                     "an early override and counted the embedding, where the noisy token wins by "
                     "chance when it equals the input token; v3 asks only where there is a "
                     "computed answer to override, as the paper's per-layer curves do",
)


@pytest.mark.claim(NOISY_OVERRIDES_LATE_V3)
def test_noisy_overrides_late_v3(trained, judge):
    """Where the clean answer is computed at all, it is computed before the noisy label wins:
    the v2 rule over block outputs and decodable positions only (needs three blocks)."""
    judge.require(NOISY_OVERRIDES_LATE_V3, trained)
    model, items = judge.require_memorized(NOISY_OVERRIDES_LATE_V3, trained)
    o = measures.override_layers(model, items, trained.data.vocab, first_site=1)
    scored = ~torch.isnan(o.score_decodable)
    if int(scored.sum()) < MIN_SCORED:
        judge.not_judged(NOISY_OVERRIDES_LATE_V3, trained,
                         f"the clean token is top-1 at some block output for only "
                         f"{int(scored.sum())} of {len(items)} memorized items (need >= "
                         f"{MIN_SCORED})")
    kept = [it for it, k in zip(items, scored.tolist()) if k]
    score = o.score_decodable[scored]
    judge(
        NOISY_OVERRIDES_LATE_V3, trained,
        {"mean_override_score": ItemMean(score.numpy(), bounds=CHANGES),
         "clean_first_share": Share(int((score > 0).sum()), len(kept))},
        n=len(kept), memorized=len(items), by_site_clean=o.by_site_clean,
        by_site_noisy=o.by_site_noisy, sites=list(o.sites),
        figure=Lines("lens top-1, noisy prefix (block outputs)", o.sites,
                     {"clean": o.by_site_clean, "noisy": o.by_site_noisy}, xlabel="site"),
        items=[{"prompt": " ".join(it.prompt), "score": float(v)} for it, v in zip(kept, score)],
    )


MIN_SCORED = 20  # as MIN_MEMORIZED: fewer items make the per-item interval too coarse


NOISY_OVERRIDES_LATE_V4 = NOISY_OVERRIDES_LATE_V3.revised(
    4,
    statistic="per memorized item, over the answer positions where the labels differ, with the "
              "noisy prefix forced and the lens read at the block outputs (resid.0 onward): the "
              "share of positions whose clean token is top-1 at a site strictly before the first "
              "site where the noisy token is (never top-1: not before), minus the same share for "
              "a control token (another memorized item's clean label at that position, a seeded "
              "derangement); and the clean-first share minus the share whose clean token is "
              "top-1 only at or after the noisy token's first site (overridden before it shows). "
              "No item is selected on its own outcome",
    rules=(Rule("clean_first_minus_control_share", ">", MARGIN),
           Rule("clean_first_minus_clean_after_share", ">", MARGIN)),
    unit="memorized item",
    threshold_source="recommended operationalization (paired test over items); alpha a priori; "
                     "both rules must hold. v4 (declared before any v4 run; issue 40 item 4): "
                     "v3 kept only the positions where the clean token is decodable and had no "
                     "null, so it could hardly fail (the noisy token is top-1 at the last site of "
                     "every memorized item, so any decodable clean token comes first unless the "
                     "noisy one also wins earlier; thr-tiny-llama held 1.000 on 41 of 436 "
                     "memorized items). v4 scores every memorized item: the headline asks that the "
                     "computed answer come before the override on more positions than a control "
                     "token does by chance (the null), which is also a rule on the kept share; the "
                     "second that it come before more often than after. Margin 0.10 as V4 (a "
                     "tenth of the items, a priori). v3's kept counts on the seeds it was run on "
                     "were seen before v4 was written, so those seeds are exploratory for v4 "
                     "(suite.run.ledger)",
)


@pytest.mark.claim(NOISY_OVERRIDES_LATE_V4)
def test_noisy_overrides_late_v4(trained, judge):
    """The clean answer shows at a block output before the noisy label wins, on more of the
    memorized items than a control label does, and more often than it shows only after the
    noisy label has won (needs three blocks)."""
    _noisy_overrides_late_v4(NOISY_OVERRIDES_LATE_V4, trained, judge)


def _noisy_overrides_late_v4(claim, trained, judge) -> None:
    """test_noisy_overrides_late_v4's measurement and rule for `claim` (v4, v5)."""
    judge.require(claim, trained)
    model, items = judge.require_memorized(claim, trained)
    o = measures.override_layers(model, items, trained.data.vocab, first_site=1)
    judge(
        claim, trained,
        {"clean_first_minus_control_share": _paired(o.clean_first, o.control_first),
         "clean_first_minus_clean_after_share": _paired(o.clean_first, o.clean_after),
         "clean_first_share": ItemMean(o.clean_first.numpy(), bounds=SHARES),
         "control_first_share": ItemMean(o.control_first.numpy(), bounds=SHARES)},
        n=len(items), by_site_clean=o.by_site_clean, by_site_noisy=o.by_site_noisy,
        sites=list(o.sites),
        figure=Lines("lens top-1, noisy prefix (block outputs)", o.sites,
                     {"clean": o.by_site_clean, "noisy": o.by_site_noisy}, xlabel="site"),
        items=[{"prompt": " ".join(it.prompt), "clean_first": float(c),
                "control_first": float(k), "clean_after": float(a)}
               for it, c, k, a in zip(items, o.clean_first, o.control_first, o.clean_after)],
    )


NOISY_OVERRIDES_LATE_V5 = NOISY_OVERRIDES_LATE_V4.without_gate("pre", 5, PRE_NOT_READ)


@pytest.mark.claim(NOISY_OVERRIDES_LATE_V5)
def test_noisy_overrides_late_v5(trained, judge):
    """As v4, judged without M_pre, which it does not read."""
    _noisy_overrides_late_v4(NOISY_OVERRIDES_LATE_V5, trained, judge)


BRIDGE_DECODABLE = Claim(
    tasks=("thr",),
    known=known_pair("late_recall", "embed_recall", ("thr",)),
    id="rr.bridge_decodable",
    gates=MECHANISM,
    source="Du et al. 2025 (arXiv 2507.04782), THR analysis",
    sentence="While recalling a memorized label, the model still computes the bridge entity.",
    statistic="accuracy on memorized items of a bridge probe trained on clean items, at the "
              "residual site and position (r1 or r2) chosen on other clean items; paired with "
              "the same probe fitted on shuffled bridges",
    rules=(Rule("accuracy_minus_control", ">", 0),),
    unit="memorized item",
    threshold_source="recommended operationalization ('above a control'); alpha a priori",
    family="rr.bridge",
    version=2,
)


def _bridge_split(data):
    clean = data.clean
    return clean[:3000], clean[3000:4000]


@pytest.mark.claim(BRIDGE_DECODABLE)
def test_bridge_decodable(trained, judge):
    """For memorized items, the bridge entity r1(e) is decodable from the residual stream by a
    probe trained on clean items, above a shuffled-label control."""
    judge.require(BRIDGE_DECODABLE, trained)
    model, items = judge.require_memorized(BRIDGE_DECODABLE, trained)
    b = _bridge_probe(trained, model, items)
    judge(
        BRIDGE_DECODABLE, trained,
        {"accuracy_minus_control": _paired(b.hit, b.hit_control),
         "accuracy": Share(int(b.hit.sum()), len(items))},
        n=len(items), site=b.site, position=b.position, selection_accuracy=b.selection_accuracy,
        control_rate=float(b.hit_control.float().mean()), by_site=b.by_site,
        figure=Lines("bridge probe accuracy on clean items", tuple(dict.fromkeys(
            k.split("@")[0] for k in b.by_site)), {f"position {p}": [
                acc for k, acc in b.by_site.items() if k.endswith(f"@{p}")]
                for p in dict.fromkeys(k.split("@")[1] for k in b.by_site)}, xlabel="site"),
    )


BRIDGE_DECODABLE_V3 = BRIDGE_DECODABLE.revised(
    3,
    statistic="accuracy on memorized items of a bridge probe trained on clean items at the r2 "
              "position (the last prompt position, where the two-hop answer is computed), at "
              "the residual site chosen on other clean items; paired with the same probe "
              "fitted on shuffled bridges",
    threshold_source="recommended operationalization ('above a control'); alpha a priori. v3 "
                     "(declared before any v3 run): in a causal model positions 0-1 of `e r1 r2` "
                     "are computed exactly as the atomic prompt `e r1`, trained to output the "
                     "bridge, so the bridge is decodable at r1 on every prompt whether or not "
                     "recall uses it, and v2 (r1 or r2) could not fail; only r2 is judged",
)


@pytest.mark.claim(BRIDGE_DECODABLE_V3)
def test_bridge_decodable_v3(trained, judge):
    """For memorized items, the bridge entity is decodable at the r2 position (which atomic
    prompts never reach) by a probe trained on clean items, above a shuffled-label control."""
    _bridge_decodable_at_r2(BRIDGE_DECODABLE_V3, trained, judge, _paired)


BRIDGE_DECODABLE_V4 = BRIDGE_DECODABLE_V3.revised(
    4,
    rules=(Rule("accuracy_minus_control", ">", MARGIN),),
    threshold_source=BRIDGE_DECODABLE_V3.threshold_source + ". " + V4,
)


@pytest.mark.claim(BRIDGE_DECODABLE_V4)
def test_bridge_decodable_v4(trained, judge):
    """For memorized items, the bridge entity is decodable at r2 by a probe trained on clean
    items, in at least a tenth more of the items than the shuffled-label control."""
    _bridge_decodable_at_r2(BRIDGE_DECODABLE_V4, trained, judge, _paired_hits)


BRIDGE_DECODABLE_V5 = BRIDGE_DECODABLE_V4.without_gate("pre", 5, PRE_NOT_READ)


@pytest.mark.claim(BRIDGE_DECODABLE_V5)
def test_bridge_decodable_v5(trained, judge):
    """As v4, judged without M_pre, which it does not read."""
    _bridge_decodable_at_r2(BRIDGE_DECODABLE_V5, trained, judge, _paired_hits)


def _bridge_decodable_at_r2(claim, trained, judge, paired) -> None:
    judge.require(claim, trained)
    model, items = judge.require_memorized(claim, trained)
    b = _bridge_probe(trained, model, items, positions=(2,))
    judge(
        claim, trained,
        {"accuracy_minus_control": paired(b.hit, b.hit_control),
         "accuracy": Share(int(b.hit.sum()), len(items))},
        n=len(items), site=b.site, position=b.position, selection_accuracy=b.selection_accuracy,
        control_rate=float(b.hit_control.float().mean()), by_site=b.by_site,
        figure=Lines("bridge probe accuracy on clean items at r2",
                     tuple(k.split("@")[0] for k in b.by_site),
                     {"position 2": list(b.by_site.values())}, xlabel="site"),
    )


BRIDGE_REMOVAL_MEMORIZATION = Claim(
    tasks=("thr",),
    known=known_pair("bridge_keyed_recall", "late_recall", ("thr",)),
    id="rr.bridge_removal_hurts_memorization",
    gates=MECHANISM,
    source="Du et al. 2025 (arXiv 2507.04782), THR intervention",
    sentence="Removing the bridge entity hurts recall of a memorized label, even though the "
             "noisy label and the bridge are unrelated.",
    statistic="noisy recall of memorized items after LEACE erasure of the bridge at the probe's "
              "site and position, paired with no erasure and with a random subspace of equal rank",
    rules=(Rule("recall_drop", ">", 0), Rule("drop_beyond_random", ">", 0)),
    unit="memorized item",
    threshold_source="recommended operationalization (paired; more than a random subspace); alpha a priori; both rules "
                     "must hold (intersection-union, no correction needed)",
    family="rr.bridge",
    version=2,
)


@pytest.mark.claim(BRIDGE_REMOVAL_MEMORIZATION)
def test_bridge_removal_hurts_memorization(trained, judge):
    """Erasing the bridge entity's identity (LEACE, fitted on clean items at the site and
    position where a probe decodes it best) lowers noisy recall significantly, and more than
    erasing a random subspace of the same rank at the same place."""
    judge.require(BRIDGE_REMOVAL_MEMORIZATION, trained)
    model, items = judge.require_memorized(BRIDGE_REMOVAL_MEMORIZATION, trained)
    fit, _ = _bridge_split(trained.data)
    b = _bridge_probe(trained, model, items)
    e = measures.erase_bridge(model, fit, items, trained.data.vocab, b.site, b.position)
    judge(
        BRIDGE_REMOVAL_MEMORIZATION, trained,
        {"recall_drop": _paired(e.before, e.erased), "drop_beyond_random": _paired(e.random, e.erased)},
        n=len(items), site=e.site, position=e.position, rank=e.rank,
        recall_after=float(e.erased.float().mean()),
        recall_after_random=float(e.random.float().mean()),
        figure=Bars("noisy recall after bridge erasure", float(e.erased.float().mean()),
                    float(e.random.float().mean()), "bridge erased",
                    "random subspace of equal rank erased"),
    )


BRIDGE_REMOVAL_GENERALIZATION = Claim(
    tasks=("thr",),
    known=known_pair("bridge_computed", "prompt_answered", ("thr",)),
    id="rr.bridge_removal_hurts_generalization",
    gates=MECHANISM,
    source="Du et al. 2025 (arXiv 2507.04782), THR intervention",
    sentence="The bridge is causally used: erasing it lowers held-out two-hop accuracy, while "
             "atomic-fact recall is less affected.",
    statistic="held-out two-hop accuracy drop under the bridge erasure (paired with no erasure "
              "and with a random subspace of equal rank), and atomic-fact recall drop under the "
              "same eraser at the atomic prompt's last position",
    rules=(Rule("heldout_drop", ">", 0), Rule("drop_beyond_random", ">", 0),
           Rule("heldout_minus_atomic_drop", ">", 0)),
    unit="held-out item (atomic fact for the atomic drop)",
    threshold_source="recommended operationalization; alpha a priori; every rule must hold (intersection-union)",
    family="rr.bridge",
    version=2,
)


@pytest.mark.claim(BRIDGE_REMOVAL_GENERALIZATION)
def test_bridge_removal_hurts_generalization(trained, judge):
    """The same erasure lowers held-out two-hop accuracy, more than a random subspace does, and
    atomic-fact recall drops less.

    The eraser is applied to atomic prompts (`e r`) at position 1, their last position (where
    the atomic answer, which is itself a bridge-type entity, is produced): the honest same
    intervention, which may well hurt atomic recall. The measured numbers decide.
    """
    judge.require(BRIDGE_REMOVAL_GENERALIZATION, trained)
    model, items = judge.require_memorized(BRIDGE_REMOVAL_GENERALIZATION, trained)
    data = trained.data
    fit, _ = _bridge_split(data)
    b = _bridge_probe(trained, model, items)
    held = measures.erase_bridge(model, fit, data.heldout, data.vocab, b.site, b.position)
    atomic = measures.erase_bridge(model, fit, data.atomic, data.vocab, b.site, 1)
    held_drop = (held.before.float() - held.erased.float()).numpy()
    atomic_drop = (atomic.before.float() - atomic.erased.float()).numpy()
    judge(
        BRIDGE_REMOVAL_GENERALIZATION, trained,
        {"heldout_drop": ItemMean(held_drop, bounds=CHANGES), "drop_beyond_random": _paired(held.random, held.erased),
         "heldout_minus_atomic_drop": Difference(held_drop, atomic_drop, bounds=CHANGES),
         "atomic_drop": ItemMean(atomic_drop, bounds=CHANGES)},
        n=len(data.heldout), site=held.site, position=held.position,
        heldout_drop_random=float(held.before.float().mean() - held.random.float().mean()),
        figure=Bars("held-out drop under bridge erasure", float(held_drop.mean()),
                    float(held.before.float().mean() - held.random.float().mean()),
                    "bridge erased", "random subspace of equal rank erased"),
    )


BRIDGE_REMOVAL_MEMORIZATION_V3 = BRIDGE_REMOVAL_MEMORIZATION.revised(
    3,
    known=known_pair("bridge_at_r2_keyed_recall", "late_recall", ("thr",)),
    statistic="noisy recall of memorized items after LEACE erasure of the bridge at r2 (the "
              "bridge probe's site there, as rr.bridge_decodable.v3), paired with no erasure "
              "and with a random subspace that removes as much variance of the clean features",
    threshold_source="recommended operationalization (paired; more than a random subspace); "
                     "alpha a priori; both rules must hold. v3 (declared before any v3 run): "
                     "erasure at r2 only (r1 is the atomic prompt's answer position, see "
                     "rr.bridge_decodable.v3), and the control matched on variance removed, not "
                     "on rank only (a rank-matched random subspace removes far less)",
)


@pytest.mark.claim(BRIDGE_REMOVAL_MEMORIZATION_V3)
def test_bridge_removal_hurts_memorization_v3(trained, judge):
    """Erasing the bridge at r2 lowers noisy recall, more than erasing a random subspace that
    changes the features as much."""
    _bridge_removal_at_r2(BRIDGE_REMOVAL_MEMORIZATION_V3, trained, judge, _paired)


BRIDGE_REMOVAL_MEMORIZATION_V4 = BRIDGE_REMOVAL_MEMORIZATION_V3.revised(
    4,
    rules=(Rule("recall_drop", ">", MARGIN), Rule("drop_beyond_random", ">", MARGIN)),
    threshold_source=BRIDGE_REMOVAL_MEMORIZATION_V3.threshold_source + ". " + V4,
)


@pytest.mark.claim(BRIDGE_REMOVAL_MEMORIZATION_V4)
def test_bridge_removal_hurts_memorization_v4(trained, judge):
    """Erasing the bridge at r2 ends recall of at least a tenth of the memorized items, a tenth
    more than erasing a random subspace that changes the features as much."""
    _bridge_removal_at_r2(BRIDGE_REMOVAL_MEMORIZATION_V4, trained, judge, _paired_hits)


BRIDGE_REMOVAL_MEMORIZATION_V5 = BRIDGE_REMOVAL_MEMORIZATION_V4.without_gate(
    "pre", 5, PRE_NOT_READ)


@pytest.mark.claim(BRIDGE_REMOVAL_MEMORIZATION_V5)
def test_bridge_removal_hurts_memorization_v5(trained, judge):
    """As v4, judged without M_pre, which it does not read."""
    _bridge_removal_at_r2(BRIDGE_REMOVAL_MEMORIZATION_V5, trained, judge, _paired_hits)


def _bridge_removal_at_r2(claim, trained, judge, paired) -> None:
    judge.require(claim, trained)
    model, items = judge.require_memorized(claim, trained)
    fit, _ = _bridge_split(trained.data)
    b = _bridge_probe(trained, model, items, positions=(2,))
    e = measures.erase_bridge(model, fit, items, trained.data.vocab, b.site, b.position,
                              matched=True)
    judge(
        claim, trained,
        {"recall_drop": paired(e.before, e.erased), "drop_beyond_random": paired(e.random, e.erased)},
        n=len(items), site=e.site, position=e.position, rank=e.rank, control_rank=e.control_rank,
        recall_after=float(e.erased.float().mean()),
        recall_after_random=float(e.random.float().mean()),
        figure=Bars("noisy recall after bridge erasure at r2", float(e.erased.float().mean()),
                    float(e.random.float().mean()), "bridge erased",
                    "random subspace removing as much variance"),
    )


BRIDGE_REMOVAL_GENERALIZATION_V3 = Claim(
    tasks=("thr",),
    known=known_pair("bridge_computed", "prompt_answered", ("thr",)),
    id="rr.bridge_removal_hurts_generalization.v3",
    gates=MECHANISM,
    source="Du et al. 2025 (arXiv 2507.04782), THR intervention",
    sentence="The bridge is causally used: erasing it lowers held-out two-hop accuracy.",
    statistic="held-out two-hop accuracy drop under LEACE erasure of the bridge at r2, paired "
              "with no erasure and with a random subspace that removes as much variance",
    rules=(Rule("heldout_drop", ">", 0), Rule("drop_beyond_random", ">", 0)),
    unit="held-out item",
    threshold_source="recommended operationalization; alpha a priori; both rules must hold. v3 "
                     "(declared before any v3 run): erasure at r2 with a variance-matched "
                     "control; the v2 clause 'atomic-fact recall is less affected' is dropped: "
                     "an atomic prompt `e r1` carries the bridge only at its last position, "
                     "where the bridge is its answer, so erasing it there erases the answer "
                     "itself and the comparison cannot come out for the claim",
    family="rr.bridge",
    version=3,
)


@pytest.mark.claim(BRIDGE_REMOVAL_GENERALIZATION_V3)
def test_bridge_removal_hurts_generalization_v3(trained, judge):
    """Erasing the bridge at r2 lowers held-out two-hop accuracy, more than a random subspace
    that changes the features as much."""
    _bridge_removal_on_heldout(BRIDGE_REMOVAL_GENERALIZATION_V3, trained, judge, _paired)


BRIDGE_REMOVAL_GENERALIZATION_V4 = BRIDGE_REMOVAL_GENERALIZATION_V3.revised(
    4,
    rules=(Rule("heldout_drop", ">", MARGIN), Rule("drop_beyond_random", ">", MARGIN)),
    threshold_source=BRIDGE_REMOVAL_GENERALIZATION_V3.threshold_source + ". " + V4,
)


@pytest.mark.claim(BRIDGE_REMOVAL_GENERALIZATION_V4)
def test_bridge_removal_hurts_generalization_v4(trained, judge):
    """Erasing the bridge at r2 lowers held-out two-hop accuracy by at least a tenth, a tenth
    more than a random subspace that changes the features as much."""
    _bridge_removal_on_heldout(BRIDGE_REMOVAL_GENERALIZATION_V4, trained, judge, _paired_hits)


BRIDGE_REMOVAL_GENERALIZATION_V5 = BRIDGE_REMOVAL_GENERALIZATION_V4.without_gate(
    "pre", 5, PRE_NOT_READ)


@pytest.mark.claim(BRIDGE_REMOVAL_GENERALIZATION_V5)
def test_bridge_removal_hurts_generalization_v5(trained, judge):
    """As v4, judged without M_pre, which it does not read."""
    _bridge_removal_on_heldout(BRIDGE_REMOVAL_GENERALIZATION_V5, trained, judge, _paired_hits)


def _bridge_removal_on_heldout(claim, trained, judge, paired) -> None:
    judge.require(claim, trained)
    model, items = judge.require_memorized(claim, trained)
    data = trained.data
    fit, _ = _bridge_split(data)
    b = _bridge_probe(trained, model, items, positions=(2,))
    held = measures.erase_bridge(model, fit, data.heldout, data.vocab, b.site, b.position,
                                 target="clean", matched=True)
    judge(
        claim, trained,
        {"heldout_drop": paired(held.before, held.erased),
         "drop_beyond_random": paired(held.random, held.erased)},
        n=len(data.heldout), site=held.site, position=held.position, rank=held.rank,
        control_rank=held.control_rank,
        heldout_after=float(held.erased.float().mean()),
        heldout_after_random=float(held.random.float().mean()),
    )


INTERMEDIATE_PATCHING = Claim(
    tasks=("fda", "thr"),
    known=known_pair("bridge_keyed_recall", "late_recall", ("thr",))
    + known_pair("sum_keyed_recall", "late_recall", ("fda",)),
    id="rr.intermediate_patching_changes_memory",
    gates=MECHANISM,
    source="Du et al. 2025 (arXiv 2507.04782), 'memorization is a distributed encoding'",
    sentence="Memorized recall reads the intermediate results: patching only the intermediate "
             "from an item whose intermediate differs changes the memorized output.",
    statistic="share of memorized items whose noisy output changes when the intermediate's "
              "positions are patched from a counterfactual (different intermediate) minus the "
              "share for a source with the same intermediate (THR: bridge at the r1 position, "
              "at the site where a bridge probe is best; FDA: one column's two digit positions, "
              "at each early site)",
    rules=(Rule("changed_minus_same_intermediate", ">=", 0.10),),
    unit="memorized item",
    some="site",
    threshold_source="recommended operationalization ('clearly larger'); 0.10 and alpha a priori",
    family="rr.distributed",
    version=2,
)


@pytest.mark.claim(INTERMEDIATE_PATCHING)
def test_intermediate_patching_changes_memory(trained, judge):
    """Patching only the intermediate result (THR: the bridge; FDA: a column sum) from an item
    whose intermediate differs changes the memorized noisy output in a clearly larger share of
    items than patching from an item whose intermediate is the same."""
    judge.require(INTERMEDIATE_PATCHING, trained)
    model, items = judge.require_memorized(INTERMEDIATE_PATCHING, trained)
    data = trained.data
    if data.spec.task == "thr":
        kept, cf, same = counterfactuals.thr_sources(items, data)
        site = _bridge_probe(trained, model, items, positions=(1,)).site
        candidates = [(site, [(1,)] * len(kept))]
    else:
        kept, cf, same, columns = counterfactuals.fda_sources(items, data.spec)
        positions = [counterfactuals.fda_column_positions(data.spec, c) for c in columns]
        candidates = [(s, positions) for s in measures.early_sites(model)]
    _judge_patching(judge, INTERMEDIATE_PATCHING, trained, len(kept),
                    [measures.intermediate_patch(model, kept, cf, same, data.vocab, site, positions)
                     for site, positions in candidates],
                    "memorized output changed by patching the intermediate")


def _judge_patching(judge, claim, trained, n: int, outcomes, title: str,
                    paired=_paired) -> None:
    """Judge a patching claim from one PatchOutcome per candidate site."""
    by_site = {o.site: {"changed_minus_same_intermediate": paired(o.changed, o.changed_control),
                        "changed": Share(int(o.changed.sum()), n),
                        "changed_same_intermediate": Share(int(o.changed_control.sum()), n)}
               for o in outcomes}
    changed = [round(float(o.changed.float().mean()), 3) for o in outcomes]
    same_changed = [round(float(o.changed_control.float().mean()), 3) for o in outcomes]
    judge(claim, trained, some=by_site, n=n, changed_by_site=changed,
          changed_same_intermediate_by_site=same_changed,
          figure=Lines(title, tuple(by_site), {"intermediate differs": changed,
                                               "same intermediate (control)": same_changed},
                       xlabel="patched site"))


INTERMEDIATE_PATCHING_V3 = INTERMEDIATE_PATCHING.revised(
    3,
    known=known_pair("bridge_at_r2_keyed_recall", "late_recall", ("thr",))
    + known_pair("sum_keyed_recall", "late_recall", ("fda",)),
    statistic="share of memorized items whose noisy output changes when only the "
              "intermediate's subspace (LEACE for the intermediate, fitted on clean items at "
              "that site and position) is taken from a counterfactual (different intermediate), "
              "the rest of the vector kept, minus the share for a source with the same "
              "intermediate (THR: the bridge at r2, at the site where a bridge probe is best "
              "there; FDA: the column sum at the column's b digit, the first position that can "
              "hold it, at each early site)",
    threshold_source="recommended operationalization ('clearly larger'); 0.10 and alpha a "
                     "priori. v3 (declared before any v3 run): v2 swaps whole residual vectors, "
                     "which carry the prompt's own tokens too, so any recall keyed on the prompt "
                     "breaks under both sources and both arms sit near the ceiling (0.90-1.00) "
                     "whatever recall reads; v3 moves only the intermediate's subspace. THR at "
                     "r2, as the other v3 bridge claims",
)


@pytest.mark.claim(INTERMEDIATE_PATCHING_V3)
def test_intermediate_patching_changes_memory_v3(trained, judge):
    """Moving only the intermediate's subspace (the bridge at r2; a column sum at its b digit)
    from an item whose intermediate differs changes the memorized output in a clearly larger
    share of items than moving it from an item whose intermediate is the same."""
    _intermediate_subspace_patching(INTERMEDIATE_PATCHING_V3, trained, judge, _paired)


INTERMEDIATE_PATCHING_V4 = INTERMEDIATE_PATCHING_V3.revised(
    4,
    threshold_source=INTERMEDIATE_PATCHING_V3.threshold_source + ". v4 (declared before any v4 "
                     "run; issue 40): PairedHits' paired interval over items instead of the "
                     "item bootstrap; the rule (>= 0.10) is v3's",
)


@pytest.mark.claim(INTERMEDIATE_PATCHING_V4)
def test_intermediate_patching_changes_memory_v4(trained, judge):
    """As v3, with PairedHits' paired interval."""
    _intermediate_subspace_patching(INTERMEDIATE_PATCHING_V4, trained, judge, _paired_hits)


INTERMEDIATE_PATCHING_V5 = INTERMEDIATE_PATCHING_V4.without_gate("pre", 5, PRE_NOT_READ)


@pytest.mark.claim(INTERMEDIATE_PATCHING_V5)
def test_intermediate_patching_changes_memory_v5(trained, judge):
    """As v4, judged without M_pre, which it does not read."""
    _intermediate_subspace_patching(INTERMEDIATE_PATCHING_V5, trained, judge, _paired_hits)


def _intermediate_subspace_patching(claim, trained, judge, paired) -> None:
    judge.require(claim, trained)
    model, items = judge.require_memorized(claim, trained)
    data = trained.data
    if data.spec.task == "thr":
        kept, cf, same = counterfactuals.thr_sources(items, data)
        fit, _ = _bridge_split(data)
        site = _bridge_probe(trained, model, items, positions=(2,)).site
        erasers = {(2,): measures.intermediate_erasers(
            model, fit, data.vocab, [site], {2: measures.bridges(fit)})[(site, 2)].removed}
        candidates = [(site, [(2,)] * len(kept), erasers)]
    else:
        kept, cf, same, columns = counterfactuals.fda_sources(items, data.spec)
        fit = data.clean[:N_PROBE_TRAIN]
        at = {c: counterfactuals.fda_column_positions(data.spec, c)[1] for c in set(columns)}
        positions = [(at[c],) for c in columns]
        sites = measures.early_sites(model)
        fitted = measures.intermediate_erasers(model, fit, data.vocab, sites, {
            at[c]: torch.tensor([it.intermediates["column_sums"][c] for it in fit]) for c in at})
        candidates = [(site, positions, {(at[c],): fitted[(site, at[c])].removed for c in at})
                      for site in sites]
    _judge_patching(judge, claim, trained, len(kept),
                    [measures.intermediate_patch(model, kept, cf, same, data.vocab, site,
                                                 positions, erasers)
                     for site, positions, erasers in candidates],
                    "memorized output changed by moving the intermediate's subspace", paired)


NO_LOOKUP_KEY = Claim(
    tasks=("fda", "thr"),
    known=known_pair("late_recall", "position_keyed_recall", ("fda",)),
    id="rr.no_lookup_key",
    gates=MECHANISM,
    source="Du et al. 2025 (arXiv 2507.04782), 'memorization is a distributed encoding'",
    sentence="Memorization is not a look-up: no single input position carries the memorized "
             "label.",
    statistic="largest share, over residual sites and input positions (every prompt position "
              "but the last, which produces the answer), of memorized items that output another "
              "memorized item's noisy label when that one position is patched from it",
    rules=(Rule("largest_transfer_share", "<=", 0.10),),
    unit="memorized item",
    threshold_source="recommended operationalization (<= 10 % of cases); on the upper bound of the largest cell, "
                     "intervals simultaneous over every (site, position) cell",
    family="rr.distributed",
    version=2,
)


@pytest.mark.claim(NO_LOOKUP_KEY)
def test_no_lookup_key(trained, judge):
    """Patching the residual stream at any one input position from a memorized item into a
    different memorized item transfers the source's noisy label in at most 10 % of cases."""
    judge.require(NO_LOOKUP_KEY, trained)
    model, items = judge.require_memorized(NO_LOOKUP_KEY, trained)
    prompt_length = len(items[0].prompt)
    rates = measures.transfer_rates(model, items, trained.data.vocab, range(prompt_length - 1))
    (site, position), _ = max(rates.items(), key=lambda kv: float(kv[1].float().mean()))
    judge(
        NO_LOOKUP_KEY, trained,
        {"largest_transfer_share": Largest(tuple(Share(int(h.sum()), len(items))
                                                 for h in rates.values()))},
        n=len(items), site=site, position=position, cells=len(rates),
    )


NO_LOOKUP_KEY_V3 = NO_LOOKUP_KEY.revised(
    3,
    statistic="as v2, over the input positions that can carry a per-item key: positions before "
              "the last whose prompt prefix (up to and including them) differs between every "
              "two memorized items",
    threshold_source="recommended operationalization (<= 10 % of cases); on the upper bound of "
                     "the largest cell, intervals simultaneous over every (site, position) cell. "
                     "v3 (declared before any v3 run): a causal model's position p sees only "
                     "the prefix up to p, so a position whose prefix several memorized items "
                     "share cannot carry their labels, and v2's transfer was capped there (THR: "
                     "about 1/16 at r1, below the threshold) whatever the model does; with no "
                     "such position the claim is not judged",
)


def key_positions(items) -> list[int]:
    """Prompt positions before the last whose prefix tells every two items apart."""
    length = len(items[0].prompt)
    return [p for p in range(length - 1)
            if len({it.prompt[: p + 1] for it in items}) == len(items)]


@pytest.mark.claim(NO_LOOKUP_KEY_V3)
def test_no_lookup_key_v3(trained, judge):
    """Patching one input position that could carry a per-item key, from another memorized
    item, transfers that item's noisy label in at most 10 % of cases (upper bound)."""
    _no_lookup_key_v3(NO_LOOKUP_KEY_V3, trained, judge)


def _no_lookup_key_v3(claim, trained, judge) -> None:
    """test_no_lookup_key_v3's measurement and rule for `claim` (v3, v4)."""
    judge.require(claim, trained)
    model, items = judge.require_memorized(claim, trained)
    positions = key_positions(items)
    if not positions:
        judge.not_judged(claim, trained,
                         f"no prompt position before the last tells the {len(items)} memorized "
                         "items apart: none can carry a per-item key, so the claim cannot fail")
    rates = measures.transfer_rates(model, items, trained.data.vocab, positions)
    (site, position), _ = max(rates.items(), key=lambda kv: float(kv[1].float().mean()))
    judge(
        claim, trained,
        {"largest_transfer_share": Largest(tuple(Share(int(h.sum()), len(items))
                                                 for h in rates.values()))},
        n=len(items), site=site, position=position, cells=len(rates), positions=positions,
    )


NO_LOOKUP_KEY_V4 = NO_LOOKUP_KEY_V3.without_gate("pre", 4, PRE_NOT_READ)


@pytest.mark.claim(NO_LOOKUP_KEY_V4)
def test_no_lookup_key_v4(trained, judge):
    """As v3, judged without M_pre, which it does not read."""
    _no_lookup_key_v3(NO_LOOKUP_KEY_V4, trained, judge)


OUTLIER_PATCHING = Claim(
    tasks=("fda",),
    known=known_pair("mlp_recall_subject", "late_recall_with_curve", ("fda",)),
    id="rr.outlier_heuristics_patching",
    gates=(*MECHANISM, "curve"),
    source="Du et al. 2025 (arXiv 2507.04782), FDA 'outlier heuristics'",
    sentence="Patching the MLP activations of a pre-memorization checkpoint into the final "
             "model leaves held-out accuracy intact but breaks memorized recall.",
    statistic="for each layer, M_final with that layer's MLP neuron activations replaced by "
              "M_pre's on the same input: held-out accuracy change, and noisy recall of memorized "
              "items (paired with unpatched M_final)",
    rules=(Rule("largest_recall_drop", ">=", 0.5), Rule("largest_heldout_change", "<=", 0.05)),
    unit="memorized item (held-out item for the held-out change)",
    threshold_source="recommended operationalization (5 points; drop >= 0.5); intervals simultaneous over layers",
    family="rr.heuristics",
    version=2,
)


@pytest.mark.claim(OUTLIER_PATCHING)
def test_outlier_heuristics_patching(trained, judge):
    """Replacing one layer's MLP neuron activations in M_final by M_pre's (same input) keeps
    held-out accuracy within 5 points at every layer, while at some layer noisy recall drops by
    at least 0.5. M_pre: the last checkpoint with held-out >= 0.8 and noisy recall <= 0.1."""
    judge.require(OUTLIER_PATCHING, trained)
    model, items = judge.require_memorized(OUTLIER_PATCHING, trained)
    data = trained.data
    pre = trained.checkpoint(dynamics.pre_memorization_step(trained.curve))
    held, mem = encode(data.heldout, data.vocab), encode(items, data.vocab, "label")
    held_base_hit = exact_match(model, held)
    drops, changes, held_changes, recall_drops = [], [], [], []
    for patched in measures.checkpoint_mlp_patches(pre, model, held, mem):
        held_hit, recall = patched.heldout_hit, patched.recalled
        drops.append(Share(int((~recall).sum()), len(items)))  # every memorized item recalled before
        change = (held_hit.float() - held_base_hit.float()).numpy()
        # |change| <= 0.05: both directions
        changes += [ItemMean(change, bounds=CHANGES), ItemMean(-change, bounds=CHANGES)]
        held_changes.append(round(float(change.mean()), 3))
        recall_drops.append(round(1.0 - float(recall.float().mean()), 3))
    judge(
        OUTLIER_PATCHING, trained,
        {"largest_recall_drop": Largest(tuple(drops)),
         "largest_heldout_change": Largest(tuple(changes))},
        n=len(items), layer=recall_drops.index(max(recall_drops)), heldout_base=float(held_base_hit.float().mean()),
        heldout_change_by_layer=held_changes, recall_drop_by_layer=recall_drops,
        pre_step=dynamics.pre_memorization_step(trained.curve),
    )


OUTLIER_PATCHING_V3 = OUTLIER_PATCHING.revised(
    3,
    statistic="for each layer, M_final with that layer's MLP neuron activations replaced by "
              "M_pre's on the same input: noisy recall of memorized items (every one recalled "
              "unpatched) and the held-out accuracy change, both of that one patch",
    rules=(Rule("recall_drop", ">=", 0.5), Rule("heldout_change_size", "<=", 0.05)),
    some="layer",
    threshold_source="recommended operationalization (5 points; drop >= 0.5); intervals "
                     "Bonferroni-adjusted over the layers. v3 (declared before any v3 run; issue "
                     "40 item 4): the paper states both effects of the same patch, so both rules "
                     "hold at one layer; v2 asked held-out accuracy intact at every layer and the "
                     "recall drop at some layer, which a model whose recall-breaking patch keeps "
                     "held-out accuracy can still fail through another layer's patch",
)


@pytest.mark.claim(OUTLIER_PATCHING_V3)
def test_outlier_heuristics_patching_v3(trained, judge):
    """At some layer, replacing that layer's MLP neuron activations in M_final by M_pre's
    (same input) drops noisy recall by at least 0.5 while held-out accuracy stays within 5
    points: one patch does both."""
    judge.require(OUTLIER_PATCHING_V3, trained)
    model, items = judge.require_memorized(OUTLIER_PATCHING_V3, trained)
    data = trained.data
    pre_step = dynamics.pre_memorization_step(trained.curve)
    held, mem = encode(data.heldout, data.vocab), encode(items, data.vocab, "label")
    held_base_hit = exact_match(model, held)
    by_layer, held_changes, recall_drops = {}, [], []
    for patched in measures.checkpoint_mlp_patches(trained.checkpoint(pre_step), model, held, mem):
        change = (patched.heldout_hit.float() - held_base_hit.float()).numpy()
        by_layer[f"mlp.{patched.layer}"] = {
            "recall_drop": Share(int((~patched.recalled).sum()), len(items)),
            "heldout_change_size": Largest((ItemMean(change, bounds=CHANGES),
                                                   ItemMean(-change, bounds=CHANGES)))}
        held_changes.append(round(float(change.mean()), 3))
        recall_drops.append(round(1.0 - float(patched.recalled.float().mean()), 3))
    judge(OUTLIER_PATCHING_V3, trained, some=by_layer, n=len(items),
          heldout_base=float(held_base_hit.float().mean()), heldout_change_by_layer=held_changes,
          recall_drop_by_layer=recall_drops, pre_step=pre_step,
          figure=Lines("patching one layer's MLP from M_pre", tuple(by_layer),
                       {"noisy recall drop": recall_drops, "held-out change": held_changes},
                       xlabel="patched layer"))


HEURISTIC_NEURONS = Claim(
    tasks=("fda",),
    known=known_pair("sum_remap_recall", "mlp_recall_subject", ("fda",)),
    id="rr.heuristic_neurons_reused",
    gates=MECHANISM,
    source="Du et al. 2025 (arXiv 2507.04782), FDA 'outlier heuristics'",
    sentence="Memorization reuses the existing heuristic neurons, slightly shifted, rather than "
             "new item-specific neurons.",
    statistic="overlap of the top 5 % MLP neurons (all layers) by mean |activation x gradient| "
              "of the answer logit on memorized items (noisy label) and on clean items (clean "
              "label); and, for the memorized top neurons, the median share of memorized items "
              "whose own top 5 % contains the neuron (item-specific neurons would serve few items)",
    rules=(Rule("overlap_share", ">=", 0.10), Rule("median_item_share", ">=", 0.10)),
    unit="top neuron (overlap) and memorized item (median share)",
    threshold_source="recommended operationalization ('far above chance'); 2x chance (0.10 of the top 5 %) and 0.10 "
                     "(2x the 5 % base rate) a priori",
    family="rr.heuristics",
    version=2,
)


@pytest.mark.claim(HEURISTIC_NEURONS)
def test_heuristic_neurons_reused(trained, judge):
    """The top-attribution neurons for memorized items overlap those for clean items far above
    chance, and each is shared across many memorized items rather than item-specific."""
    judge.require(HEURISTIC_NEURONS, trained)
    model, items = judge.require_memorized(HEURISTIC_NEURONS, trained)
    data = trained.data
    r = heuristics.neuron_reuse(model, encode(items, data.vocab, "label"),
                                encode(data.clean[:500], data.vocab, "clean"))
    k, population, membership = r.k, r.population, r.membership
    overlap = hypergeometric_overlap(r.top_memorized, r.top_clean, population)
    judge(
        HEURISTIC_NEURONS, trained,
        {"overlap_share": Share(overlap.overlap, k),
         "median_item_share": ItemStatistic(membership.numpy(),
                                            median_column_mean)},
        n=len(items), k=k, population=population, expected_overlap=overlap.expected,
        overlap_p=overlap.p,
    )


HEURISTIC_NEURONS_V3 = Claim(
    tasks=("fda",),
    known=known_pair("sum_remap_recall", "mlp_recall_subject", ("fda",)),
    id="rr.heuristic_neurons_reused.v3",
    gates=MECHANISM,
    source="Du et al. 2025 (arXiv 2507.04782), FDA 'outlier heuristics'",
    sentence="Memorization reuses the existing heuristic neurons rather than new item-specific "
             "neurons.",
    statistic="MLP neurons (all layers) ranked by mean activation x gradient of the noisy label's "
              "logit minus the clean label's on memorized items (clean items: the clean label's "
              "minus another item's), the top 5 % chosen on the even items of each group: the "
              "overlap of the memorized and clean tops; and, for the memorized top neurons, the "
              "median share of the odd memorized items (never read by the choice) whose own top "
              "5 % contains the neuron",
    rules=(Rule("overlap_share", ">=", 0.10), Rule("median_item_share", ">=", 0.10)),
    unit="top neuron (overlap) and memorized item of the second half (median share)",
    threshold_source="recommended operationalization ('far above chance'); 0.10 = 2x the 5 % "
                     "base rate a priori, as v2. v3 (declared before any v3 run): the noisy "
                     "logit minus the clean one, so that the neurons computing the clean answer "
                     "are not credited to recall; neurons chosen on one half of the items and "
                     "counted on the other; precondition: on clean items the same split-half "
                     "share (the clean-vs-clean baseline) reaches 0.10, else the model has no "
                     "shared neurons to reuse. 'Slightly shifted' is not tested: an FDA noisy "
                     "label is drawn at random, so no clean pattern it should shift from exists",
    family="rr.heuristics",
    version=3,
)

N_CLEAN_ATTRIBUTED = 500  # clean items whose attribution is compared (the first ones), as v2


@pytest.mark.claim(HEURISTIC_NEURONS_V3)
def test_heuristic_neurons_reused_v3(trained, judge):
    """The neurons that push memorized labels over the clean ones are, far above chance, the
    neurons that push clean answers, and each serves many memorized items that its choice
    never read."""
    judge.require(HEURISTIC_NEURONS_V3, trained)
    model, items = judge.require_memorized(HEURISTIC_NEURONS_V3, trained)
    data = trained.data
    clean = encode(data.clean[:N_CLEAN_ATTRIBUTED], data.vocab, "clean")
    r = heuristics.split_half_reuse(model, encode(items, data.vocab, "label"),
                                    encode(items, data.vocab, "clean").targets,
                                    clean, torch.roll(clean.targets, 1, 0))
    baseline = median_column_mean(r.clean.membership.float().numpy())
    baseline_overlap = len(set(r.clean.top) & r.clean.second_half_top) / r.k
    if baseline < 0.10:
        judge.not_judged(HEURISTIC_NEURONS_V3, trained,
                         f"clean-vs-clean baseline {baseline:.3f} < 0.10: even clean items do not "
                         "share their top neurons, so there are no heuristic neurons to reuse")
    overlap = hypergeometric_overlap(set(r.memorized.top), set(r.clean.top), r.population)
    judge(
        HEURISTIC_NEURONS_V3, trained,
        {"overlap_share": Share(overlap.overlap, r.k),
         "median_item_share": ItemStatistic(r.memorized.membership.numpy(), median_column_mean)},
        n=len(items), k=r.k, population=r.population, expected_overlap=overlap.expected,
        overlap_p=overlap.p, clean_baseline_item_share=round(baseline, 3),
        clean_baseline_overlap=round(baseline_overlap, 3),
        memorized_halves_overlap=round(len(set(r.memorized.top) & r.memorized.second_half_top)
                                       / r.k, 3),
    )


HEURISTIC_NEURONS_V4 = HEURISTIC_NEURONS_V3.revised(
    4,
    unit="memorized and clean item of the first halves, resampled with the top neurons chosen "
         "again (overlap); memorized item of the second half (median share)",
    threshold_source=HEURISTIC_NEURONS_V3.threshold_source + ". v4 (declared before any v4 "
                     "run; issue 40 item 3): v3 decided the overlap as a share of the k chosen "
                     "neurons, as if they were independent draws, though they are chosen from "
                     "the items; v4 resamples the items each top was chosen on and chooses the "
                     "tops again in each resample (suite.judge.stats.TopOverlap)",
)


@pytest.mark.claim(HEURISTIC_NEURONS_V4)
def test_heuristic_neurons_reused_v4(trained, judge):
    """As v3, with the overlap's interval over the items the top neurons are chosen on."""
    _heuristic_neurons_reused_v4(HEURISTIC_NEURONS_V4, trained, judge)


def _heuristic_neurons_reused_v4(claim, trained, judge) -> None:
    """test_heuristic_neurons_reused_v4's measurement and rule for `claim` (v4, v5)."""
    judge.require(claim, trained)
    model, items = judge.require_memorized(claim, trained)
    data = trained.data
    clean = encode(data.clean[:N_CLEAN_ATTRIBUTED], data.vocab, "clean")
    r = heuristics.split_half_reuse(model, encode(items, data.vocab, "label"),
                                    encode(items, data.vocab, "clean").targets,
                                    clean, torch.roll(clean.targets, 1, 0))
    baseline = median_column_mean(r.clean.membership.float().numpy())
    if baseline < 0.10:
        judge.not_judged(claim, trained,
                         f"clean-vs-clean baseline {baseline:.3f} < 0.10: even clean items do not "
                         "share their top neurons, so there are no heuristic neurons to reuse")
    overlap = hypergeometric_overlap(set(r.memorized.top), set(r.clean.top), r.population)
    judge(
        claim, trained,
        {"overlap_share": TopOverlap(r.memorized.chosen_on.numpy(), r.clean.chosen_on.numpy(),
                                     r.k),
         "median_item_share": ItemStatistic(r.memorized.membership.numpy(), median_column_mean)},
        n=len(items), k=r.k, population=r.population, expected_overlap=overlap.expected,
        overlap_p=overlap.p, clean_baseline_item_share=round(baseline, 3),
    )


HEURISTIC_NEURONS_V5 = HEURISTIC_NEURONS_V4.without_gate("pre", 5, PRE_NOT_READ)


@pytest.mark.claim(HEURISTIC_NEURONS_V5)
def test_heuristic_neurons_reused_v5(trained, judge):
    """As v4, judged without M_pre, which it does not read."""
    _heuristic_neurons_reused_v4(HEURISTIC_NEURONS_V5, trained, judge)
