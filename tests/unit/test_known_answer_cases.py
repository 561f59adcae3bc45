"""Every current claim has a planted-true and a planted-false known-answer case on every task
its claim test runs on, so that its validation there is computed by the run, not assumed. The
cases are declared in the claim records (Claim.known) and generated from them; the claim x task
pairs without them are listed here, and their verdicts are "not judged: no known-answer case"
(suite.validate.known.bind)."""

from __future__ import annotations

from pathlib import Path

import pytest

from memsuite_fixtures.plugin import _task_of, bound_claim
from suite.judge.claim import superseded
from suite.tasks import TASKS

ROOT = Path(__file__).resolve().parents[2]

# a claim test on this task, but no plant built for it (the verdicts there are not judged)
WITHOUT_CASES = {("rr.no_lookup_key.v4", "thr"),  # no position before the last sees a THR key
                 ("rr.memorize_later", "thr")}  # its cases (a rule check, the memorize-first
                                                # model) are on FDA


class _Collected:
    """Every item of a collection, before any selection."""

    def __init__(self) -> None:
        self.items: list[pytest.Item] = []

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        self.items = list(items)


@pytest.fixture(scope="module")
def collected() -> list[pytest.Item]:
    plugin = _Collected()
    code = pytest.main([str(ROOT / "claims"), "--collect-only", "-q", "-p", "no:randomly",
                        "-p", "no:cacheprovider", "--scale", "tiny,small"], plugins=[plugin])
    assert code == 0
    return plugin.items


def test_every_current_claim_has_both_cases_on_each_of_its_tasks(collected):
    claims = {c.id: c for c in map(bound_claim, collected) if c is not None}
    old = superseded(list(claims.values()))
    runs_on, cases = set(), {}
    for item in collected:
        claim = bound_claim(item)
        if claim is None or claim.id in old:
            continue
        key = (claim.id, _task_of(item))
        if item.get_closest_marker("known_answer"):
            case = item.callspec.params.get("case")  # a KnownCase; else a check of a rule's edges
            if case is not None:
                cases.setdefault(key, set()).add("true" if case.planted else "false")
        else:
            runs_on.add(key)
    assert runs_on, "no claim test collected"
    missing = {key for key in runs_on if cases.get(key) != {"true", "false"}}
    assert missing == WITHOUT_CASES, f"claim x task without both cases: {sorted(missing)}"
    stray = set(cases) - runs_on
    assert not stray, f"known-answer cases on a task their claim does not run on: {sorted(stray)}"


def test_every_claim_declares_only_gates_that_exist(collected):
    """A claim's gates are part of its rule (Claim.gates, hashed into its protocol); a name the
    Judge does not know would fail only when a model reached it."""
    from suite.judge.gates import GATES

    for claim in {c.id: c for c in map(bound_claim, collected) if c is not None}.values():
        assert set(claim.gates) <= set(GATES), f"{claim.id}: unknown gates {claim.gates}"


def test_every_known_case_is_generated_from_its_claim_record(collected):
    """The known-answer module holds no case of its own: each collected case is one of its
    claim's declared KnownCases on one of the case's tasks, and every declared case (of the
    claims the run collects) is collected once."""
    declared = {(c.id, case, task) for c in map(bound_claim, collected) if c is not None
                for case in c.known for task in case.tasks}
    generated = [(bound_claim(i).id, i.callspec.params["case"], i.callspec.params["task"])
                 for i in collected if i.get_closest_marker("known_answer")
                 and "case" in i.callspec.params]
    assert len(generated) == len(set(generated)), "a known case generated twice"
    assert set(generated) == declared


def test_every_known_case_names_a_plant_and_a_reference_that_exist(collected):
    """A misspelt plant, or a reference recipe of another task, would fail only when its case
    ran; the records are checked here."""
    from suite.validate import plants

    from suite.validate.known import reference_recipe

    for claim in {c.id: c for c in map(bound_claim, collected) if c is not None}.values():
        for case in claim.known:
            builder = plants.named(case.plant)
            if case.reference:  # a recipe of its own: of the case's tasks, and one it builds on
                assert plants.needs_reference(builder), f"{claim.id}: {case.plant} ignores it"
                for task in case.tasks:
                    reference_recipe(task, case.reference)


def test_every_claim_record_says_where_it_runs(collected):
    """The record is the unit: every claim in claims/ names its tasks (and regime) in its
    record, none in a `task` marker, and its known cases lie on those tasks."""
    for item in collected:
        claim = bound_claim(item)
        if claim is None or item.get_closest_marker("known_answer"):
            continue
        assert claim.tasks and set(claim.tasks) <= set(TASKS), f"{claim.id}: tasks {claim.tasks}"
        assert item.get_closest_marker("task") is None, f"{item.nodeid}: a task marker"


class _Selected:
    """The items a collection finally selects."""

    def __init__(self) -> None:
        self.ids: list[str] = []

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.ids = [i.nodeid for i in session.items]


@pytest.mark.parametrize("args, brought, left", [
    ([], "rr.generalize_first-false-recall_as_checkpoints-fda", "memorized_first"),
    (["-m", "slow"], "khop.data_grows_with_k.v3-true-written_growth", "rr.generalize_first"),
    (["-m", "slow or not slow"], "rr.generalize_first-false-memorized_first-fda", "khop.")],
    ids=["default", "slow", "both"])
def test_a_selected_claim_brings_its_cases_but_not_a_slow_one_its_markers_leave_out(
        args, brought, left):
    """Selecting a claim test brings its known-answer cases back whatever -k and -m say (the
    k-hop sweeps are slow, their rule checks are not), except a slow case that the -m
    expression (or, without one, the default run) leaves out: the memorize-first model's."""
    claim = "data_grows_with_k_v3" if "khop" in brought else "generalize_first"
    plugin = _Selected()
    code = pytest.main([str(ROOT / "claims"), "--collect-only", "-q", "-p", "no:randomly",
                        "-p", "no:cacheprovider", "-k", claim, *args], plugins=[plugin])
    assert code == 0
    cases = [i for i in plugin.ids if "test_known_answer[" in i]
    assert any(brought in i for i in cases), cases
    assert not any(left in i for i in cases), cases
