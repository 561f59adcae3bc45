"""Linear reasoning features (Hong et al. 2025, arXiv 2503.23084).

The paper: a direction in the residual stream (difference of mean activations at the last
prompt token between reasoning-heavy and recall-heavy prompts) separates the two kinds of item,
and scaling the component along it moves a model between recall and reasoning. Here the two
kinds are memorized noisy items (recall) and clean training items (reasoning), read at the last
prompt position (the one that predicts the first answer token).

Rules are at version 2 to 4 (docs/CLAIMS.md, "Versions", says what changed).
"""

from __future__ import annotations

import pytest

from suite.train.batching import encode, exact_match
from suite.judge import Claim, known_pair, Rule
from suite.judge.gates import PRE_NOT_READ
from suite.interp import directions
from suite.measure import steering
from suite.judge.stats import CHANGES, SHARES, Auc, ItemMean

GATES = ("learned", "memorized", "pre")  # a model that generalized, then memorized; the current
# versions drop "pre", which their measurements do not read (PRE_NOT_READ)


def _direction_setup(judge, claim, trained):
    model, mem = judge.require_memorized(claim, trained)
    data = trained.data
    fit = steering.fit_direction(model, mem, list(data.clean[: len(mem)]), data.vocab)
    per_site = {site: (Auc(tuple(f.memorized), tuple(f.clean)),
                       Auc(tuple(f.control_memorized), tuple(f.control_clean)), f.direction)
                for site, f in fit.by_site.items()}
    return model, data, mem, fit.memorized_test, per_site


DIRECTION_SEPARATES = Claim(
    tasks=("fda", "thr"),
    known=known_pair("flagged_recall", "uniform_recall", ("fda", "thr")),
    id="liref.direction_separates",
    gates=GATES,
    source="Hong et al. 2025 (arXiv 2503.23084), difference-of-means reasoning direction",
    sentence="A single residual direction separates recall-heavy from reasoning-heavy items.",
    statistic="AUROC, on held-out halves, of the projection on mean(memorized) - mean(clean) "
              "fitted on the other halves, at the last prompt position; best residual site; "
              "control: the same fit with the two groups' labels shuffled, at that site",
    rules=(Rule("auroc", ">=", 0.9), Rule("control_auroc", ">=", 0.35),
           Rule("control_auroc", "<=", 0.65)),
    unit="item (held-out halves)",
    some="site",
    threshold_source="recommended operationalization (0.9; control near 0.5); the 0.15 band is a priori",
    family="liref",
    version=2,
)


@pytest.mark.claim(DIRECTION_SEPARATES)
def test_direction_separates(trained, judge):
    """The mean difference between memorized-noisy and clean items, fitted on one half of the
    items, separates the other half with AUROC >= 0.9 at some layer; a label-shuffled control
    stays near 0.5."""
    judge.require(DIRECTION_SEPARATES, trained)
    _, _, mem, mem_test, per_site = _direction_setup(judge, DIRECTION_SEPARATES, trained)
    judge(
        DIRECTION_SEPARATES, trained,
        some={site: {"auroc": real, "control_auroc": ctrl} for site, (real, ctrl, _) in per_site.items()},
        n=len(mem),
    )


STEERING = Claim(
    tasks=("fda", "thr"),
    known=known_pair("flagged_recall", "late_recall", ("fda", "thr")),
    id="liref.steering_recovers_reasoning",
    gates=GATES,
    source="Hong et al. 2025 (arXiv 2503.23084), steering along the reasoning direction",
    sentence="Removing or reversing the component along the direction moves memorized items "
             "back to reasoning, at little cost to held-out accuracy.",
    statistic="share of held-out-half memorized items answering with their clean label after "
              "scaling the component along the direction (0: remove, -1: reverse) at the best "
              "site and the last prompt position, minus the same with a random direction of "
              "equal norm; held-out accuracy change under the same edit",
    rules=(Rule("clean_rate_minus_random", ">=", 0.10), Rule("heldout_drop", "<=", 0.05)),
    unit="memorized item (held-out item for the held-out drop)",
    some="edit",
    threshold_source="recommended operationalization ('well above a random direction'; <= 5 points); 0.10 a priori; "
                     "remove or reverse, Bonferroni over the two edits",
    family="liref",
    version=2,
)


@pytest.mark.claim(STEERING)
def test_steering_recovers_reasoning(trained, judge):
    """Removing or reversing the component along the direction makes memorized items output
    their clean label at a rate well above a random direction of the same norm, while held-out
    accuracy drops by at most 5 points."""
    judge.require(STEERING, trained)
    model, data, mem, mem_test, per_site = _direction_setup(judge, STEERING, trained)
    site, (_, _, d) = max(per_site.items(), key=lambda kv: kv[1][0].interval(0.95).value)
    targets = [mem[i] for i in mem_test.tolist()]
    clean_batch = encode(targets, data.vocab, "clean")
    held = encode(data.heldout, data.vocab)
    held_base = exact_match(model, held).float()

    by_edit = {}
    for name, alpha in (("remove", 0.0), ("reverse", -1.0)):
        hit, held_hit = steering.steered_hits(model, site, d, alpha, clean_batch, held)
        rand_hit, _ = steering.steered_hits(model, site, directions.random_like(d, seed=0), alpha,
                                            clean_batch, held)
        by_edit[name] = {"clean_rate_minus_random": ItemMean((hit - rand_hit).numpy(), bounds=CHANGES),
                         "heldout_drop": ItemMean((held_base - held_hit).numpy(), bounds=CHANGES),
                         "clean_rate": ItemMean(hit.numpy(), bounds=SHARES),
                         "random_direction_clean_rate": ItemMean(rand_hit.numpy(), bounds=SHARES)}
    judge(STEERING, trained, some=by_edit, n=len(targets), site=site)


DIRECTION_SEPARATES_V3 = DIRECTION_SEPARATES.revised(
    3,
    statistic="as v2, with the control read without group structure: the label-shuffled fit's "
              "direction scored on the held-out halves pooled and split at random into two "
              "groups of the same sizes",
    threshold_source="recommended operationalization (0.9; control near 0.5); the 0.15 band is "
                     "a priori. v3 (declared before any v3 run): v2 scored the shuffled fit's "
                     "direction against the true groups, so a strong effect leaks into it (it "
                     "reads 1.0 on a planted recall direction) and v2 could not hold where the "
                     "effect is strongest",
)


@pytest.mark.claim(DIRECTION_SEPARATES_V3)
def test_direction_separates_v3(trained, judge):
    """As v2, with a control that has no group structure to find."""
    _direction_separates_v3(DIRECTION_SEPARATES_V3, trained, judge)


def _direction_separates_v3(claim, trained, judge) -> None:
    """test_direction_separates_v3's measurement and rule for `claim` (v3, v4)."""
    judge.require(claim, trained)
    model, mem = judge.require_memorized(claim, trained)
    data = trained.data
    fit = steering.fit_direction(model, mem, list(data.clean[: len(mem)]), data.vocab)
    judge(
        claim, trained,
        some={site: {"auroc": Auc(tuple(f.memorized), tuple(f.clean)),
                     "control_auroc": Auc(tuple(f.shuffled_a), tuple(f.shuffled_b))}
              for site, f in fit.by_site.items()},
        n=len(mem),
    )


DIRECTION_SEPARATES_V4 = DIRECTION_SEPARATES_V3.without_gate("pre", 4, PRE_NOT_READ)


@pytest.mark.claim(DIRECTION_SEPARATES_V4)
def test_direction_separates_v4(trained, judge):
    """As v3, judged without M_pre, which it does not read."""
    _direction_separates_v3(DIRECTION_SEPARATES_V4, trained, judge)


STEERING_V3 = STEERING.revised(
    3,
    statistic="as v2, at the site where the direction separates the halves it was fitted on "
              "best (not the judged halves), against a control that moves each activation as "
              "far as the edit does, along a random direction",
    threshold_source="recommended operationalization ('well above a random direction'; <= 5 "
                     "points); 0.10 a priori; Bonferroni over the two edits. v3 (declared before "
                     "any v3 run): v2 chose the site on the items it judged, and its random "
                     "direction 'of equal norm' changed the activation far less than the edit "
                     "(only the direction's unit vector is used)",
)


@pytest.mark.claim(STEERING_V3)
def test_steering_recovers_reasoning_v3(trained, judge):
    """As v2, with the site chosen on the fitting halves and a control matched on edit size."""
    _steering_recovers_reasoning_v3(STEERING_V3, trained, judge)


def _steering_recovers_reasoning_v3(claim, trained, judge) -> None:
    """test_steering_recovers_reasoning_v3's measurement and rule for `claim` (v3, v4)."""
    judge.require(claim, trained)
    model, mem = judge.require_memorized(claim, trained)
    data = trained.data
    fit = steering.fit_direction(model, mem, list(data.clean[: len(mem)]), data.vocab)
    site, f = max(fit.by_site.items(),
                  key=lambda kv: Auc(tuple(kv[1].fit_memorized), tuple(kv[1].fit_clean))
                  .interval(0.95).value)
    targets = [mem[i] for i in fit.memorized_test.tolist()]
    clean_batch = encode(targets, data.vocab, "clean")
    held = encode(data.heldout, data.vocab)
    held_base = exact_match(model, held).float()
    random = directions.random_like(f.direction, seed=0)
    by_edit = {}
    for name, alpha in (("remove", 0.0), ("reverse", -1.0)):
        hit, held_hit = steering.steered_hits(model, site, f.direction, alpha, clean_batch, held)
        rand_hit, _ = steering.steered_hits(model, site, random, alpha, clean_batch, held,
                                            matched_to=f.direction)
        by_edit[name] = {"clean_rate_minus_random": ItemMean((hit - rand_hit).numpy(), bounds=CHANGES),
                         "heldout_drop": ItemMean((held_base - held_hit).numpy(), bounds=CHANGES),
                         "clean_rate": ItemMean(hit.numpy(), bounds=SHARES),
                         "random_direction_clean_rate": ItemMean(rand_hit.numpy(), bounds=SHARES)}
    judge(claim, trained, some=by_edit, n=len(targets), site=site)


STEERING_V4 = STEERING_V3.without_gate("pre", 4, PRE_NOT_READ)


@pytest.mark.claim(STEERING_V4)
def test_steering_recovers_reasoning_v4(trained, judge):
    """As v3, judged without M_pre, which it does not read."""
    _steering_recovers_reasoning_v3(STEERING_V4, trained, judge)
