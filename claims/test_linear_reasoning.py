"""Linear reasoning features (Hong et al. 2025, arXiv 2503.23084).

The paper: a direction in the residual stream (difference of mean activations at the last
prompt token between reasoning-heavy and recall-heavy prompts) separates the two kinds of item,
and scaling the component along it moves a model between recall and reasoning. Here the two
kinds are memorized noisy items (recall) and clean training items (reasoning), read at the last
prompt position (the one that predicts the first answer token).
"""

from __future__ import annotations

import pytest
import torch

from fixtures.plugin import require, require_memorized
from suite.batching import answer_logits, encode, exact_match
from suite.claims import Claim, judge
from suite.interp import directions
from suite.interp.hooks import hooked, resid_sites, run_capture
from suite.stats import auroc, mcnemar, wilson

ALPHA = 0.05


def _split(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    return order[: n // 2], order[n // 2 :]


def _last_prompt(model, items, vocab) -> dict[str, torch.Tensor]:
    """{site: [N, D]} residual stream at the last prompt position."""
    batch = encode(items, vocab, "label")
    acts = run_capture(model, batch.ids, resid_sites(model))
    rows = torch.arange(len(items))
    return {s: a[rows, batch.positions[:, 0]] for s, a in acts.items()}


def _direction_setup(claim, trained):
    model, mem = require_memorized(claim, trained)
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
        ctrl = auroc(directions.component(f_mem[site][mem_test], d_ctrl).tolist(),
                     directions.component(f_clean[site][clean_test], d_ctrl).tolist())
        per_site[site] = (auroc(pos.tolist(), neg.tolist()), ctrl, d)
    return model, data, mem, mem_test, per_site


DIRECTION_SEPARATES = Claim(
    id="liref.direction_separates",
    source="Hong et al. 2025 (arXiv 2503.23084), difference-of-means reasoning direction",
    sentence="A single residual direction separates recall-heavy from reasoning-heavy items.",
    statistic="AUROC, on held-out halves, of the projection on mean(memorized) - mean(clean) "
              "fitted on the other halves, at the last prompt position; best residual site; "
              "control: the same fit with the two groups' labels shuffled, at that site",
    threshold="AUROC >= 0.9 at some site and the control's AUROC within 0.5 +- 0.15",
    threshold_source="CLAIMS.md (0.9; control near 0.5); the 0.15 band is a priori",
    family="liref",
)


@pytest.mark.task("fda", "thr")
def test_direction_separates(trained):
    """The mean difference between memorized-noisy and clean items, fitted on one half of the
    items, separates the other half with AUROC >= 0.9 at some layer; a label-shuffled control
    stays near 0.5."""
    require(DIRECTION_SEPARATES, trained, "learned", "memorized")
    _, _, mem, mem_test, per_site = _direction_setup(DIRECTION_SEPARATES, trained)
    site, (real, ctrl, _) = max(per_site.items(), key=lambda kv: kv[1][0].estimate)
    verdict = judge(
        DIRECTION_SEPARATES, trained,
        passed=real.estimate >= 0.9 and abs(ctrl.estimate - 0.5) <= 0.15,
        estimate=real.estimate, ci=(real.low, real.high), p=real.p, n=len(mem), site=site,
        control_auroc=ctrl.estimate,
        auroc_by_site={s: round(v[0].estimate, 3) for s, v in per_site.items()},
    )
    assert verdict.passed, verdict.message


STEERING = Claim(
    id="liref.steering_recovers_reasoning",
    source="Hong et al. 2025 (arXiv 2503.23084), steering along the reasoning direction",
    sentence="Removing or reversing the component along the direction moves memorized items "
             "back to reasoning, at little cost to held-out accuracy.",
    statistic="share of held-out-half memorized items answering with their clean label after "
              "scaling the component along the direction (0: remove, -1: reverse) at the best "
              "site and the last prompt position, minus the same with a random direction of "
              "equal norm; held-out accuracy change under the same edit",
    threshold=f"for remove or reverse (Bonferroni, p < {ALPHA / 2}): exact McNemar against the "
              "random direction and a difference >= 0.10, with held-out accuracy down <= 0.05",
    threshold_source="CLAIMS.md ('well above a random direction'; <= 5 points); 0.10 a priori",
    family="liref",
)


@pytest.mark.task("fda", "thr")
def test_steering_recovers_reasoning(trained):
    """Removing or reversing the component along the direction makes memorized items output
    their clean label at a rate well above a random direction of the same norm, while held-out
    accuracy drops by at most 5 points."""
    require(STEERING, trained, "learned", "memorized")
    model, data, mem, mem_test, per_site = _direction_setup(STEERING, trained)
    site, (_, _, d) = max(per_site.items(), key=lambda kv: kv[1][0].estimate)
    targets = [mem[i] for i in mem_test.tolist()]
    clean_batch = encode(targets, data.vocab, "clean")
    held = encode(data.heldout, data.vocab)
    held_base = float(exact_match(model, held).float().mean())

    def outcomes(direction: torch.Tensor, alpha: float) -> tuple[torch.Tensor, float]:
        rows = lambda b: b.positions[:, 0]  # noqa: E731 - the last prompt position per row
        with hooked(model, edit={site: directions.scale_along(direction, alpha, rows(clean_batch))}):
            clean_hit = (answer_logits(model, clean_batch).argmax(-1) == clean_batch.targets).all(-1)
        with hooked(model, edit={site: directions.scale_along(direction, alpha, rows(held))}):
            held_acc = float((answer_logits(model, held).argmax(-1) == held.targets).all(-1).float().mean())
        return clean_hit, held_acc

    results = []
    with torch.no_grad():
        for alpha in (0.0, -1.0):
            hit, held_acc = outcomes(d, alpha)
            rand_hit, _ = outcomes(directions.random_like(d, seed=0), alpha)
            test = mcnemar(rand_hit.tolist(), hit.tolist(), alternative="less")
            diff = float(hit.float().mean() - rand_hit.float().mean())
            ok = test.p < ALPHA / 2 and diff >= 0.10 and held_base - held_acc <= 0.05
            results.append((ok, diff, alpha, test.p, float(hit.float().mean()),
                            float(rand_hit.float().mean()), held_base - held_acc))
    ok, diff, alpha, p, rate, rand_rate, held_drop = max(results, key=lambda r: (r[0], r[1]))
    share = wilson(round(rate * len(targets)), len(targets))
    verdict = judge(
        STEERING, trained, passed=ok, estimate=diff, p=p, n=len(targets), site=site, alpha=alpha,
        clean_rate=share.estimate, random_direction_clean_rate=rand_rate,
        heldout_drop=held_drop,
        all={f"alpha={r[2]:g}": {"diff": round(r[1], 3), "heldout_drop": round(r[6], 3)} for r in results},
    )
    assert verdict.passed, verdict.message
