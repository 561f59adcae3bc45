"""Linear reasoning features (Hong et al. 2025, arXiv 2503.23084).

The paper: a direction in the residual stream (difference of mean activations at the last
prompt token between reasoning-heavy and recall-heavy prompts) separates the two kinds of item,
and scaling the component along it moves a model between recall and reasoning. Here the two
kinds are memorized noisy items (recall) and clean training items (reasoning), read at the last
prompt position (the one that predicts the first answer token).

Rules are at version 2 (docs/CLAIMS.md, "Versions", says what changed from version 1).
"""

from __future__ import annotations

import pytest
import torch

from suite.train.batching import answer_logits, encode, exact_match
from suite.judge import Claim, Rule
from suite.interp import directions
from suite.interp.hooks import hooked, resid_sites, run_capture
from suite.judge.stats import Auc, ItemMean

GATES = ("learned", "memorized", "pre")  # a model that generalized, then memorized



def _split(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    return order[: n // 2], order[n // 2 :]


def _last_prompt(model, items, vocab) -> dict[str, torch.Tensor]:
    """{site: [N, D]} residual stream at the last prompt position."""
    batch = encode(items, vocab, "label")
    acts = run_capture(model, batch.ids, resid_sites(model))
    rows = torch.arange(len(items))
    return {s: a[rows, batch.positions[:, 0]] for s, a in acts.items()}


def _direction_setup(judge, claim, trained):
    model, mem = judge.require_memorized(claim, trained)
    data = trained.data
    clean = list(data.clean[: len(mem)])
    f_mem, f_clean = _last_prompt(model, mem, data.vocab), _last_prompt(model, clean, data.vocab)
    mem_fit, mem_test = _split(len(mem), 0)
    clean_fit, clean_test = _split(len(clean), 1)
    per_site = {}
    for site in resid_sites(model):
        d = directions.mean_difference(f_mem[site][mem_fit], f_clean[site][clean_fit])
        if float(d.norm()) < 1e-6:
            continue  # every item has the same activation here (e.g. FDA's '=' embedding)
        pos, neg = directions.component(f_mem[site][mem_test], d), directions.component(f_clean[site][clean_test], d)
        # control: the same fit with memorized / clean labels shuffled across the fit halves
        pooled = torch.cat([f_mem[site][mem_fit], f_clean[site][clean_fit]])
        perm = torch.randperm(len(pooled), generator=torch.Generator().manual_seed(2))
        half = len(mem_fit)
        d_ctrl = directions.mean_difference(pooled[perm[:half]], pooled[perm[half:]])
        ctrl = Auc(tuple(directions.component(f_mem[site][mem_test], d_ctrl).tolist()),
                   tuple(directions.component(f_clean[site][clean_test], d_ctrl).tolist()))
        per_site[site] = (Auc(tuple(pos.tolist()), tuple(neg.tolist())), ctrl, d)
    return model, data, mem, mem_test, per_site


DIRECTION_SEPARATES = Claim(
    id="liref.direction_separates",
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


@pytest.mark.task("fda", "thr")
def test_direction_separates(trained, judge):
    """The mean difference between memorized-noisy and clean items, fitted on one half of the
    items, separates the other half with AUROC >= 0.9 at some layer; a label-shuffled control
    stays near 0.5."""
    judge.require(DIRECTION_SEPARATES, trained, *GATES)
    _, _, mem, mem_test, per_site = _direction_setup(judge, DIRECTION_SEPARATES, trained)
    judge(
        DIRECTION_SEPARATES, trained,
        some={site: {"auroc": real, "control_auroc": ctrl} for site, (real, ctrl, _) in per_site.items()},
        n=len(mem),
    )


STEERING = Claim(
    id="liref.steering_recovers_reasoning",
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


@pytest.mark.task("fda", "thr")
def test_steering_recovers_reasoning(trained, judge):
    """Removing or reversing the component along the direction makes memorized items output
    their clean label at a rate well above a random direction of the same norm, while held-out
    accuracy drops by at most 5 points."""
    judge.require(STEERING, trained, *GATES)
    model, data, mem, mem_test, per_site = _direction_setup(judge, STEERING, trained)
    site, (_, _, d) = max(per_site.items(), key=lambda kv: kv[1][0].interval(0.95).value)
    targets = [mem[i] for i in mem_test.tolist()]
    clean_batch = encode(targets, data.vocab, "clean")
    held = encode(data.heldout, data.vocab)
    held_base = exact_match(model, held).float()

    def outcomes(direction: torch.Tensor, alpha: float) -> tuple[torch.Tensor, torch.Tensor]:
        rows = lambda b: b.positions[:, 0]  # noqa: E731 - the last prompt position per row
        with hooked(model, edit={site: directions.scale_along(direction, alpha, rows(clean_batch))}):
            clean_hit = (answer_logits(model, clean_batch).argmax(-1) == clean_batch.targets).all(-1)
        with hooked(model, edit={site: directions.scale_along(direction, alpha, rows(held))}):
            held_hit = (answer_logits(model, held).argmax(-1) == held.targets).all(-1)
        return clean_hit.float(), held_hit.float()

    by_edit = {}
    with torch.no_grad():
        for name, alpha in (("remove", 0.0), ("reverse", -1.0)):
            hit, held_hit = outcomes(d, alpha)
            rand_hit, _ = outcomes(directions.random_like(d, seed=0), alpha)
            by_edit[name] = {"clean_rate_minus_random": ItemMean((hit - rand_hit).numpy()),
                             "heldout_drop": ItemMean((held_base - held_hit).numpy()),
                             "clean_rate": ItemMean(hit.numpy()),
                             "random_direction_clean_rate": ItemMean(rand_hit.numpy())}
    judge(STEERING, trained, some=by_edit, n=len(targets), site=site)
