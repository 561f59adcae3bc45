"""Measurements behind the Reason to Rote claims, one function each, returning per-item arrays.

Each function composes suite.interp operations on a model and an item set and returns what the
claim's statistic needs, item by item, so that claims only do statistics and verdicts, and the
per-item outcomes can be written to items.jsonl.

Conventions: "early sites" are the residual stream before the last block's output (embed,
resid.0 .. resid.{L-2}); decoding at the last block's output is the model's own answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch

from suite.train.batching import Batch, answer_logits, encode
from suite.interp import erasure, lens, patching, probes
from suite.interp.hooks import gather_positions, hooked, n_layers, resid_sites, run_capture
from suite.measure.itemsets import control_labels, token_ids
from suite.tasks import Item, Vocab


def early_sites(model: torch.nn.Module) -> list[str]:
    return resid_sites(model)[:-1]


@dataclass(frozen=True)
class Decodability:
    """Per item: counted answer positions whose target is decodable at some early site."""

    clean: torch.Tensor  # [N] count of counted positions where the clean token is decodable
    control: torch.Tensor  # [N] the same for the control label
    positions: torch.Tensor  # [N] answer positions counted per item
    by_site_clean: torch.Tensor  # [S, A] share of items (counted there) decodable at each site
    by_site_control: torch.Tensor  # [S, A]

    def shares(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Per item: the share of its counted answer positions decodable, for the clean label
        and for the control. The item is the unit: its positions are not independent."""
        return self.clean.float() / self.positions, self.control.float() / self.positions


def _decodability(hit_clean: torch.Tensor, hit_control: torch.Tensor, items: Sequence[Item],
                  control: torch.Tensor, vocab: Vocab, differing_only: bool) -> Decodability:
    """Counts from per-site hits [S, N, A]. differing_only: count only the answer positions
    where the item's training label differs from its clean label, and a control hit only where
    the control token differs from the training label too: where the labels agree, decoding
    the clean token is decoding the recalled one."""
    if differing_only:
        label = token_ids([it.label for it in items], vocab)
        counted = token_ids([it.clean for it in items], vocab) != label  # [N, A]
        hit_control = hit_control & (control != label)
    else:
        counted = torch.ones(hit_clean.shape[1:], dtype=torch.bool)
    hit_clean, hit_control = hit_clean & counted, hit_control & counted
    per_position = counted.float().sum(0).clamp(min=1)  # [A]
    return Decodability(hit_clean.any(0).sum(-1), hit_control.any(0).sum(-1), counted.sum(-1),
                        hit_clean.float().sum(1) / per_position,
                        hit_control.float().sum(1) / per_position)


def lens_decodability(model: torch.nn.Module, items: Sequence[Item], vocab: Vocab,
                      seed: int = 0, differing_only: bool = False) -> Decodability:
    """Logit lens with the clean answer's prefix forced: is the clean token (or the control
    label's token at the same position) the lens's top-1 at some early site?"""
    batch = encode(items, vocab, "clean")
    logits = lens.lens_at_answers(model, batch)[:-1]  # [S, N, A, V], early sites only
    control = token_ids(control_labels(items, seed), vocab)
    hit_clean = lens.target_rank(logits, batch.targets) == 0  # [S, N, A]
    hit_control = lens.target_rank(logits, control) == 0
    return _decodability(hit_clean, hit_control, items, control, vocab, differing_only)


def answer_features(model: torch.nn.Module, batch: Batch, sites: Sequence[str]
                    ) -> dict[str, torch.Tensor]:
    """{site: [N, A, D]} activations at the positions that predict each answer token."""
    acts = run_capture(model, batch.ids, sites)
    return {s: torch.stack([gather_positions(acts[s], batch.positions[:, a])
                            for a in range(batch.positions.shape[1])], 1) for s in sites}


@dataclass(frozen=True)
class ProbeHits:
    """Per early site, item and answer position: did the clean-label probe, and the control
    probe (fitted on shuffled labels), decode the item's clean token?"""

    hit: torch.Tensor  # [S, N, A] bool
    hit_control: torch.Tensor  # [S, N, A] bool
    targets: torch.Tensor  # [N, A] the clean tokens

    def counted(self, items: Sequence[Item], vocab: Vocab, differing_only: bool) -> Decodability:
        return _decodability(self.hit, self.hit_control, items, self.targets, vocab,
                             differing_only)


def probe_hits(model: torch.nn.Module, train_items: Sequence[Item], items: Sequence[Item],
               vocab: Vocab, seed: int = 0) -> ProbeHits:
    """Linear probes per early site and answer position, trained on clean items only (clean
    prefix forced) to predict the clean token; applied to `items`. Control: the same probes
    trained on the clean items' labels shuffled, scored against the items' clean labels (so a
    control hit is a clean-token hit)."""
    sites = early_sites(model)
    train = encode(train_items, vocab, "clean")
    test = encode(items, vocab, "clean")
    f_train, f_test = answer_features(model, train, sites), answer_features(model, test, sites)
    n_pos = test.targets.shape[1]
    hit = torch.zeros(len(sites), len(items), n_pos, dtype=torch.bool)
    hit_control = torch.zeros_like(hit)
    for s_i, s in enumerate(sites):
        for a in range(n_pos):
            y = train.targets[:, a]
            real = probes.train_probe(f_train[s][:, a], y)
            fake = probes.train_probe(f_train[s][:, a], probes.shuffled(y, seed + a))
            hit[s_i, :, a] = real.correct(f_test[s][:, a], test.targets[:, a])
            hit_control[s_i, :, a] = fake.correct(f_test[s][:, a], test.targets[:, a])
    return ProbeHits(hit, hit_control, test.targets)


_fitted_hits: dict = {}


def probe_hits_of(name: str, model: torch.nn.Module, train_items: Sequence[Item],
                  items: Sequence[Item], vocab: Vocab, seed: int = 0) -> ProbeHits:
    """probe_hits of the model `name` stands for (a stored model's key, and which of its models:
    "<key>:trained", "<key>:random model"), fitted once per process for the same items and seed.
    Claim versions that count one set of probes differently (rr.clean_label_decodable v1, v3
    and v4; coexist.clean_structure_survives_heavy_noise v2 to v4) share the fit: the same
    hits as fitting again, since the fit is deterministic (issue 13: analyses batched)."""
    key = (name, tuple(train_items), tuple(items), seed)
    if key not in _fitted_hits:
        _fitted_hits[key] = probe_hits(model, train_items, items, vocab, seed)
    return _fitted_hits[key]


@dataclass(frozen=True)
class Override:
    """Per item: +1 if the clean token appears at an earlier site than the noisy token wins,
    -1 if not (including never), averaged over answer positions where the labels differ."""

    score: torch.Tensor  # [N] in [-1, 1]
    first_clean: torch.Tensor  # [N, A] first site index with clean top-1 (S if never; -1 n/a)
    first_noisy: torch.Tensor  # [N, A]
    by_site_clean: list[float]  # per site: share of differing positions with clean top-1
    by_site_noisy: list[float]  # per site: share with noisy top-1
    # the same score over only the differing positions where the clean token is top-1 at some
    # site (NaN for an item with none): whether the override is late where there is a computed
    # answer to override
    score_decodable: torch.Tensor  # [N]
    sites: tuple[str, ...]  # the sites read, in order
    # Unconditional shares over the differing positions (never-decodable counts as not first),
    # so no item is selected on the clean token's own outcome: the clean token top-1 at a site
    # strictly before the noisy one first is; the same for a control token (another item's
    # clean label, a seeded derangement, read from the same logits; where it equals the noisy
    # token it cannot come first, where it equals the clean one it scores as the clean one
    # does); and the clean token top-1 only at or after the noisy one's first site (an override
    # before the computed answer shows)
    clean_first: torch.Tensor  # [N] in [0, 1]
    control_first: torch.Tensor  # [N] in [0, 1]
    clean_after: torch.Tensor  # [N] in [0, 1]


def override_layers(model: torch.nn.Module, items: Sequence[Item], vocab: Vocab,
                    first_site: int = 0, seed: int = 0) -> Override:
    """Logit lens at every residual site from `first_site` on (0 = embed) with the noisy prefix
    forced (what the model reads while recalling): the first site where the noisy token is
    top-1 vs where the clean one is, and where a control token (seed: its derangement) is."""
    batch = encode(items, vocab, "label")
    logits = lens.lens_at_answers(model, batch)[first_site:]  # [S, N, A, V]
    n_sites = logits.shape[0]
    clean = token_ids([it.clean for it in items], vocab)
    top_noisy = lens.target_rank(logits, batch.targets) == 0
    top_clean = lens.target_rank(logits, clean) == 0
    site_index = torch.arange(n_sites)[:, None, None].expand_as(top_noisy)
    never = torch.full_like(site_index, n_sites)
    first_noisy = torch.where(top_noisy, site_index, never).min(0).values
    first_clean = torch.where(top_clean, site_index, never).min(0).values
    differs = clean != batch.targets
    sign = torch.where(first_clean < first_noisy, 1.0, -1.0)
    score = (sign * differs).sum(-1) / differs.sum(-1).clamp_min(1)
    decodable = differs & (first_clean < n_sites)
    score_decodable = (sign * decodable).sum(-1) / decodable.sum(-1)  # NaN where none
    control = token_ids(control_labels(items, seed), vocab)
    first_control = torch.where(lens.target_rank(logits, control) == 0, site_index,
                                never).min(0).values

    def share(event: torch.Tensor) -> torch.Tensor:
        """[N] share of each item's differing positions where `event` ([N, A]) is true."""
        return (event & differs).sum(-1) / differs.sum(-1).clamp_min(1)

    units = differs.sum().clamp_min(1)
    return Override(score, torch.where(differs, first_clean, -1),
                    torch.where(differs, first_noisy, -1),
                    ((top_clean & differs).sum((1, 2)) / units).tolist(),
                    ((top_noisy & differs).sum((1, 2)) / units).tolist(),
                    score_decodable, tuple(resid_sites(model)[first_site:]),
                    share(first_clean < first_noisy), share(first_control < first_noisy),
                    share((first_clean >= first_noisy) & (first_clean < n_sites)))


def prompt_activations(model: torch.nn.Module, items: Sequence[Item],
                       vocab: Vocab) -> dict[str, torch.Tensor]:
    """{site: [N, T, D]} residual stream at every residual site and prompt position, from one
    forward pass: callers that read several positions of the same items slice this once."""
    return run_capture(model, encode(items, vocab, "clean").ids, resid_sites(model))


def prompt_features(model: torch.nn.Module, items: Sequence[Item], vocab: Vocab,
                    position: int) -> dict[str, torch.Tensor]:
    """{site: [N, D]} residual stream at prompt position `position` (e.g. THR: 1 = r1, 2 = r2;
    FDA: an operand digit)."""
    return {s: a[:, position] for s, a in prompt_activations(model, items, vocab).items()}


def bridges(items: Sequence[Item]) -> torch.Tensor:
    return torch.tensor([it.intermediates["bridge"] for it in items], dtype=torch.long)


@dataclass(frozen=True)
class BridgeProbe:
    site: str
    position: int
    selection_accuracy: float  # on held-out clean items, used to choose site and position
    by_site: dict[str, float]  # "site@position" -> selection accuracy (bridge per layer)
    hit: torch.Tensor  # [N] probe correct on the judged items
    hit_control: torch.Tensor  # [N] shuffled-label probe correct


def bridge_probe(model: torch.nn.Module, fit_items: Sequence[Item], select_items: Sequence[Item],
                 items: Sequence[Item], vocab: Vocab, seed: int = 0,
                 positions: Sequence[int] = (1, 2)) -> BridgeProbe:
    """Probe the bridge entity at every residual site and at the r1 and r2 positions; train on
    `fit_items` (clean), choose the site and position by accuracy on `select_items` (clean,
    disjoint from the judged items, so the choice is not fitted to them), and score that probe
    and a shuffled-label control on `items`."""
    best = None
    by_site: dict[str, float] = {}
    y_fit, y_sel, y = bridges(fit_items), bridges(select_items), bridges(items)
    a_fit = prompt_activations(model, fit_items, vocab)
    a_sel = prompt_activations(model, select_items, vocab)
    for position in positions:
        for site in resid_sites(model):
            f_fit = a_fit[site][:, position]
            acc = probes.train_probe(f_fit, y_fit).accuracy(a_sel[site][:, position], y_sel)
            by_site[f"{site}@{position}"] = acc
            if best is None or acc > best[0]:
                best = (acc, site, position, f_fit)
    assert best is not None
    acc, site, position, f_site = best
    f_items = prompt_features(model, items, vocab, position)[site]
    real = probes.train_probe(f_site, y_fit)
    fake = probes.train_probe(f_site, probes.shuffled(y_fit, seed))
    return BridgeProbe(site, position, acc, by_site, real.correct(f_items, y),
                       fake.correct(f_items, y))


@dataclass(frozen=True)
class ErasureOutcome:
    site: str
    position: int
    rank: int
    before: torch.Tensor  # [N] correct (w.r.t. `target`) without intervention
    erased: torch.Tensor  # [N] correct after concept erasure
    random: torch.Tensor  # [N] correct after erasing the random-subspace control
    control_rank: int  # the control's rank (equal to `rank` unless matched on variance)


def erase_bridge(model: torch.nn.Module, fit_items: Sequence[Item], items: Sequence[Item],
                 vocab: Vocab, site: str, position: int, target: str = "label",
                 seed: int = 0, matched: bool = False) -> ErasureOutcome:
    """LEACE-erase the bridge entity at (site, position), fitted on `fit_items` (clean), and
    score `items` against their `target` label; control: a random subspace of the same rank
    or, `matched`, one that removes as much variance of the fit features (rank reported)."""
    features = prompt_features(model, fit_items, vocab, position)[site]
    eraser = erasure.leace(features, bridges(fit_items))
    control = (erasure.random_subspace_matched(features, eraser.removed_variance(features), seed)
               if matched else erasure.random_subspace(eraser.mean, eraser.rank, seed))
    batch = encode(items, vocab, target)
    pos = torch.full((len(items),), position, dtype=torch.long)

    def correct(edit) -> torch.Tensor:
        with hooked(model, edit={} if edit is None else {site: edit}):
            pred = answer_logits(model, batch).argmax(-1)
        return (pred == batch.targets).all(-1)

    with torch.no_grad():
        return ErasureOutcome(site, position, eraser.rank, correct(None),
                              correct(eraser.at_positions(pos)),
                              correct(control.at_positions(pos)), control.rank)


def patched_answers(model: torch.nn.Module, source: Sequence[Item], target: Sequence[Item],
                    vocab: Vocab, site: str, positions: Sequence[int],
                    subspace: torch.Tensor | None = None) -> torch.Tensor:
    """[N, A] greedy answer tokens of `target` items (label prefix forced) with `site` at each of
    `positions` taken from the row-paired `source` items (interp.patching.patch_inputs), or only
    the component `subspace` selects."""
    return patching.patch_inputs(model, encode(source, vocab, "label"),
                                 encode(target, vocab, "label"), site, positions,
                                 subspace=subspace).argmax(-1)


@dataclass(frozen=True)
class PatchOutcome:
    site: str
    changed: torch.Tensor  # [N] memorized output changed, counterfactual source
    changed_control: torch.Tensor  # [N] changed, same-intermediate source


def _answers_equal(pred: torch.Tensor, items: Sequence[Item], vocab: Vocab) -> torch.Tensor:
    return (pred == token_ids([it.label for it in items], vocab)).all(-1)


def intermediate_patch(model: torch.nn.Module, items: Sequence[Item],
                       counterfactual: Sequence[Item], same_intermediate: Sequence[Item],
                       vocab: Vocab, site: str, positions: Sequence[tuple[int, ...]],
                       subspaces: dict[tuple[int, ...], torch.Tensor] | None = None
                       ) -> PatchOutcome:
    """Patch `site` at each item's `positions` from a source whose intermediate differs and from
    one whose intermediate is the same; did the memorized (noisy) output change? subspaces
    (per positions group, an operator such as an intermediate's LEACE eraser's `removed`): move
    only that component and keep the rest of the target's vector."""
    changed = torch.zeros(len(items), dtype=torch.bool)
    changed_same = torch.zeros(len(items), dtype=torch.bool)
    for group in sorted(set(positions)):
        rows = [i for i, p in enumerate(positions) if p == group]
        tgt = [items[i] for i in rows]
        subspace = subspaces[group] if subspaces is not None else None
        for sources, out in ((counterfactual, changed), (same_intermediate, changed_same)):
            pred = patched_answers(model, [sources[i] for i in rows], tgt, vocab, site, group,
                                   subspace)
            out[rows] = ~_answers_equal(pred, tgt, vocab)
    return PatchOutcome(site, changed, changed_same)


def intermediate_erasers(model: torch.nn.Module, items: Sequence[Item], vocab: Vocab,
                         sites: Sequence[str], labels_at: dict[int, torch.Tensor]
                         ) -> dict[tuple[str, int], erasure.Eraser]:
    """{(site, position): LEACE} for an intermediate's labels [N] at each prompt position of
    `labels_at` (position -> labels; FDA: a column sum at its b digit), at each of `sites`,
    fitted on `items` from one forward pass."""
    acts = prompt_activations(model, items, vocab)
    return {(site, position): erasure.leace(acts[site][:, position], labels)
            for site in sites for position, labels in labels_at.items()}


def transfer_rates(model: torch.nn.Module, items: Sequence[Item], vocab: Vocab,
                   positions: Sequence[int], seed: int = 0) -> dict[tuple[str, int], torch.Tensor]:
    """{(site, position): [N] bool}: patching one position's residual stream from another
    memorized item (a seeded derangement) makes the target output that item's noisy label."""
    from suite.measure.itemsets import derangement

    perm = derangement(len(items), seed)
    sources = [items[j] for j in perm]
    out = {}
    for site in resid_sites(model):
        for p in positions:
            pred = patched_answers(model, sources, items, vocab, site, [p])
            out[(site, p)] = _answers_equal(pred, sources, vocab)
    return out


@dataclass(frozen=True)
class CheckpointPatch:
    layer: int
    heldout_hit: torch.Tensor  # [H] bool: held-out items right with the layer patched
    recalled: torch.Tensor  # [M] bool: memorized items still recalled with the layer patched


@torch.no_grad()
def checkpoint_mlp_patches(donor: torch.nn.Module, model: torch.nn.Module, heldout: Batch,
                           memorized: Batch) -> list[CheckpointPatch]:
    """For each layer: `model` run with that layer's MLP neuron activations (site mlp.i) taken
    from `donor` (e.g. M_pre) on the same input, scored on held-out and memorized items."""
    out = []
    for layer in range(n_layers(model)):
        site = f"mlp.{layer}"
        held_hit = (patching.patch_models(donor, model, heldout, site).argmax(-1)
                    == heldout.targets).all(-1)
        recalled = (patching.patch_models(donor, model, memorized, site).argmax(-1)
                    == memorized.targets).all(-1)
        out.append(CheckpointPatch(layer, held_hit, recalled))
    return out


RANDOM_MODEL_SEED = 0  # a priori: the capacity controls' initialisation


def random_model_like(model: torch.nn.Module, seed: int = RANDOM_MODEL_SEED) -> torch.nn.Module:
    """A randomly initialised model of `model`'s architecture (seeded, on its device): the
    capacity control of a decoder, which reads what the prompt alone gives a linear readout."""
    torch.manual_seed(seed)
    return type(model)(model.config).to(next(model.parameters()).device).eval()
