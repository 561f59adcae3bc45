"""A bag of heuristics (Nikankin et al. 2024, arXiv 2410.21272): language models do arithmetic
with neither an algorithm nor memorization but a bag of heuristics, each implemented by MLP
neurons that fire for a simple pattern of the operands or the result (a range, a residue, a
digit). Reason to Rote builds its "outlier heuristics" account of FDA memorization on this.

Rules are at version 3 (docs/CLAIMS.md, "Versions", says what changed from versions 1 and 2).
"""

from __future__ import annotations

from collections import Counter

import pytest
import torch

from suite.train.batching import encode
from suite.judge import Claim, known_pair, Rule
from suite.measure.heuristics import classify_top_neurons, kind
from suite.judge.stats import CHANGES, ItemMean, MatchedUnits, Share

TOP_SHARE = 0.05  # the top 5 % of MLP neurons by attribution, as in rr.heuristic_neurons_reused
JACCARD_MIN = 0.6
N_ATTRIBUTION = 500  # clean training items the attribution is averaged over

BAG_OF_HEURISTICS = Claim(
    tasks=("fda",),
    known=known_pair("heuristic_neurons", "random_set_neurons", ("fda",)),
    id="heur.bag_of_heuristics",
    gates=("learned",),
    source="Nikankin et al. 2024 (arXiv 2410.21272), neuron classification into heuristics",
    sentence="In the FDA model, most high-attribution MLP neurons match a simple heuristic "
             "(operand or result range, modulo, digit pattern).",
    statistic="the top 5 % of MLP neurons (all layers) by mean |activation x gradient| of the "
              "clean answer on clean items; on held-out prompts, each neuron's firing set "
              "(activation >= half its maximum) against the heuristics' prompt sets "
              "(suite.heuristics): share of neurons whose best Jaccard index >= 0.6; control: "
              "each neuron's firing set permuted across prompts (same firing rate, no structure)",
    rules=(Rule("classified_share", ">", 0.5), Rule("classified_minus_control", ">", 0)),
    unit="top neuron",
    version=2,
    threshold_source="recommended operationalization ('most'; overlap >= 0.6; Jaccard as the overlap measure and the "
                     "firing rule are a priori)",
)


@pytest.mark.claim(BAG_OF_HEURISTICS)
def test_bag_of_heuristics(trained, judge):
    """Most of the FDA model's high-attribution MLP neurons fire on the prompt set of one simple
    heuristic (Jaccard >= 0.6), far more than the same neurons with their firing shuffled."""
    judge.require(BAG_OF_HEURISTICS, trained)
    model, data = trained.model(), trained.data
    c = classify_top_neurons(model, encode(data.clean[:N_ATTRIBUTION], data.vocab, "clean"),
                             data.heldout, encode(data.heldout, data.vocab, "clean"), TOP_SHARE)
    top, fires, heuristics, matches, control = c.top, c.fires, c.heuristics, c.matches, c.control
    k = len(top)
    classified = [m for m in matches if m.jaccard >= JACCARD_MIN]
    is_classified = torch.tensor([m.jaccard >= JACCARD_MIN for m in matches], dtype=torch.float)
    control_classified = torch.tensor([m.jaccard >= JACCARD_MIN for m in control], dtype=torch.float)
    families = Counter(kind(m.heuristic) for m in classified)
    judge(
        BAG_OF_HEURISTICS, trained,
        {"classified_share": Share(len(classified), k),
         "classified_minus_control": ItemMean((is_classified - control_classified).numpy(),
                                             bounds=CHANGES)},
        n=k, control_share=float(control_classified.mean()),
        median_jaccard=float(torch.tensor([m.jaccard for m in matches]).median()),
        heuristics=len(heuristics), by_kind=dict(families),
        items=[{"neuron": int(top[m.unit]), "heuristic": m.heuristic, "jaccard": round(m.jaccard, 3),
                "fires_on": int(fires[:, m.unit].sum())} for m in matches],
    )


BAG_OF_HEURISTICS_V3 = BAG_OF_HEURISTICS.revised(
    3,
    unit="held-out prompt (the top neurons fixed by attribution on training items)",
    threshold_source="recommended operationalization ('most'; overlap >= 0.6; Jaccard as the "
                     "overlap measure and the firing rule are a priori). v3 (declared before any "
                     "v3 run; issue 40 item 3): v2 treated the selected neurons as independent "
                     "sampling units (a share over neurons, 4/38 = 0.105 [0.042, 0.241]), though "
                     "the neurons are chosen on other items and the randomness is in the "
                     "held-out prompts their firing is matched on; v3 resamples the prompts and "
                     "recomputes every neuron's best match in each resample, for both rules",
)


@pytest.mark.claim(BAG_OF_HEURISTICS_V3)
def test_bag_of_heuristics_v3(trained, judge):
    """As v2, with the held-out prompts as the sampling unit: most high-attribution MLP neurons
    match a heuristic's prompt set, and more than with their firing shuffled."""
    judge.require(BAG_OF_HEURISTICS_V3, trained)
    model, data = trained.model(), trained.data
    c = classify_top_neurons(model, encode(data.clean[:N_ATTRIBUTION], data.vocab, "clean"),
                             data.heldout, encode(data.heldout, data.vocab, "clean"), TOP_SHARE)
    sets = torch.stack(list(c.heuristics.values()), 1).numpy()
    fires = c.fires.numpy()
    families = Counter(kind(m.heuristic) for m in c.matches if m.jaccard >= JACCARD_MIN)
    judge(
        BAG_OF_HEURISTICS_V3, trained,
        {"classified_share": MatchedUnits(fires, sets, JACCARD_MIN),
         "classified_minus_control": MatchedUnits(fires, sets, JACCARD_MIN,
                                                  control=c.permuted.numpy())},
        n=len(fires), neurons=len(c.top), heuristics=len(c.heuristics), by_kind=dict(families),
        median_jaccard=float(torch.tensor([m.jaccard for m in c.matches]).median()),
        items=[{"neuron": int(c.top[m.unit]), "heuristic": m.heuristic,
                "jaccard": round(m.jaccard, 3), "fires_on": int(c.fires[:, m.unit].sum())}
               for m in c.matches],
    )
