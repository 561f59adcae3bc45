"""The command line and the pytest plugin, end to end on a recipe that trains in a second."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from suite.run.options import parse_archs, parse_noise, parse_scales, parse_seeds
from suite.train import recipes

ROOT = Path(__file__).resolve().parents[2]
pytest_plugins = ["pytester"]

def test_seeds_and_noise_options_parse():
    assert parse_seeds("3") == [0, 1, 2] and parse_seeds("7,11") == [7, 11]
    assert parse_noise(None) == [None] and parse_noise("0.02,0.1") == [0.02, 0.1]
    for bad in ("x", "0", "-1,2"):
        with pytest.raises(ValueError, match="--seeds"):
            parse_seeds(bad)
    with pytest.raises(ValueError, match="--noise"):
        parse_noise("2")
    assert parse_scales("tiny") == ["tiny"] and parse_scales("tiny,small,tiny") == ["tiny", "small"]
    for bad in ("", "huge", "tiny,big"):
        with pytest.raises(ValueError, match="--scale takes one or more of tiny, small, paper"):
            parse_scales(bad)


def test_a_scale_without_recipes_is_an_error_naming_the_scales_that_have_them(monkeypatch,
                                                                              tmp_path):
    (tmp_path / "fda-tiny.toml").write_text((ROOT / "models" / "fda-tiny.toml").read_text())
    monkeypatch.setenv("MEMSUITE_RECIPES", str(tmp_path))
    with pytest.raises(ValueError, match="--scale small: no recipe has that scale.*scales with "
                                         "recipes: tiny$"):
        parse_scales("tiny,small")


def test_shipped_recipes_load_and_cover_both_tasks_at_every_scale():
    for task in ("fda", "thr"):
        for scale in ("tiny", "small", "paper"):
            names = [r.name for r in recipes.for_scale(task, scale)]
            assert f"{task}-{scale}" in names
        # the Llama twins are picked by --arch only; by default the run stays GPT-2
        assert f"{task}-tiny-llama" not in [r.name for r in recipes.for_scale(task, "tiny")]
        twins = recipes.for_scale(task, "tiny", ("llama",))
        assert [r.name for r in twins] == [f"{task}-tiny-llama"]
        gpt2 = recipes.load(f"{task}-tiny")
        assert twins[0].task == gpt2.task and twins[0].train == gpt2.train  # same task, budget


def test_arch_takes_the_supported_families():
    assert parse_archs("gpt2") == ("gpt2",) and parse_archs("llama,gpt2,llama") == ("llama", "gpt2")
    for bad in ("", "mamba", "gpt2,neox"):
        with pytest.raises(ValueError, match="--arch takes one or more of gpt2, llama"):
            parse_archs(bad)


def test_unknown_recipe_suggests_the_closest(recipe_dir):
    with pytest.raises(KeyError, match="did you mean 'thr-micro'"):
        recipes.load("thr-mikro")


def test_cli_train_prints_one_json_object_and_loads_the_second_time(recipe_dir, store_dir,
                                                                    capfd):
    # main() in this process, which reads the same environment; capfd reads file descriptor 1,
    # so a stray print from any library would show (issue 13: a spawn costs seconds of
    # imports). The entry point itself is spawned once, on a path that imports no torch.
    from suite.run.cli import main

    assert main(["train", "thr-micro", "--seed", "1", "--json", "--quiet"]) == 0
    first = json.loads(capfd.readouterr().out)
    for field in ("recipe", "seed", "seconds", "heldout_acc", "noisy_recall",
                  "noisy_clean_share_at_pre", "pre_memorization_step", "path"):
        assert field in first
    assert first["seed"] == 1 and first["seconds"] > 0 and Path(first["path"]).is_dir()
    assert main(["train", "thr-micro", "--seed", "1", "--json", "--quiet"]) == 0
    second = json.loads(capfd.readouterr().out)
    assert second["seconds"] == 0 and second["path"] == first["path"]
    refused = subprocess.run([sys.executable, "-m", "suite", "train", "fda-tinyy"], cwd=ROOT,
                             capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2 and refused.stdout == ""
    assert "unknown recipe 'fda-tinyy'" in refused.stderr


def test_claims_are_parametrized_per_model_and_unmet_gates_skip_with_numbers(
        pytester, recipe_dir, store_dir):
    pytester.makepyfile(test_claim="""
        import pytest
        from suite.judge import Claim, Rule

        CLAIM = Claim("x.demo", "nowhere", "a demo", "nothing", (Rule("x", ">", 0),), "a priori",
                      gates=("learned",))

        @pytest.mark.task("thr")
        def test_something(trained, judge):
            judge.require(CLAIM, trained)
            assert False, "a micro model cannot pass the gate"
    """)
    report = pytester.path / "report"
    result = pytester.runpytest_inprocess("--seeds", "0,2", "-rs", "-v", "--report", str(report))
    result.stdout.fnmatch_lines([
        "*test_something?thr-micro-s0-n0.05?*SKIPPED*",
        "*test_something?thr-micro-s2-n0.05?*SKIPPED*",
        "*x.demo: precondition not met: heldout_acc*needs 95% lower bound >= 0.9*",
    ])
    result.assert_outcomes(skipped=2)
    rows = [json.loads(line) for line in (report / "results.jsonl").read_text().splitlines()]
    assert [(r["claim"], r["seed"], r["outcome"]) for r in rows] == [
        ("x.demo", 0, "not judged"), ("x.demo", 2, "not judged")]
    run = json.loads((report / "run.json").read_text())
    assert run["seeds"] == [0, 2] and run["packages"]["torch"] and run["cpu_threads"] >= 1
    assert "0,2" in run["command"] and run["verdicts"] == 2


def test_a_claim_record_says_where_its_test_runs_and_once(pytester, recipe_dir, store_dir):
    """A test bound to a claim whose record names its tasks runs on those tasks' recipes with
    no task marker (collection only: nothing trains); naming them in a marker too is an error
    that says so."""
    pytester.makepyfile(test_claim="""
        import pytest
        from suite.judge import Claim, Rule

        CLAIM = Claim("x.where", "nowhere", "a demo", "nothing", (Rule("x", ">", 0),),
                      "a priori", tasks=("thr",))

        @pytest.mark.claim(CLAIM)
        def test_where(trained, judge):
            pass
    """)
    result = pytester.runpytest_inprocess("--collect-only", "-q")
    result.stdout.fnmatch_lines(["*test_where?thr-micro-s0-n0.05?*"])
    pytester.makepyfile(test_claim="""
        import pytest
        from suite.judge import Claim, Rule

        CLAIM = Claim("x.where", "nowhere", "a demo", "nothing", (Rule("x", ">", 0),),
                      "a priori", tasks=("thr",))

        @pytest.mark.claim(CLAIM)
        @pytest.mark.task("thr")
        def test_where(trained, judge):
            pass
    """)
    result = pytester.runpytest_inprocess("--collect-only", "-q")
    assert result.ret == pytest.ExitCode.INTERRUPTED  # a collection error, naming the test
    result.stdout.fnmatch_lines(["*test_where: its tasks are named twice*x.where*"])


def test_bad_model_dir_is_a_usage_error(pytester, tmp_path):
    pytester.makepyfile(test_x="def test_x(): pass")
    result = pytester.runpytest_inprocess(f"--model-dir={tmp_path / 'nope'}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--model-dir*no such directory*"])
    (tmp_path / "empty").mkdir()
    result = pytester.runpytest_inprocess(f"--model-dir={tmp_path / 'empty'}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--model-dir*no config.json*"])


LEDGER_CLAIM = """
    import pytest
    from suite.judge import Claim, Rule
    from suite.judge.stats import Share

    CLAIM = Claim("x.finding", "nowhere", "a demo", "a share", (Rule("share", ">=", 0.5),), "a priori")
    # by seed: 0, 3, 4, 5 do not hold; 1 and 6 hold; 2 is inconclusive
    SHARES = {0: 10, 1: 90, 2: 52, 3: 10, 4: 10, 5: 10, 6: 90}

    @pytest.mark.task("thr")
    def test_claim(trained, judge):
        judge(CLAIM, trained, {"share": Share(SHARES[trained.task_spec.seed], 100)}, n=100)
"""


def test_outcomes_against_the_ledger(pytester, recipe_dir, store_dir, monkeypatch):
    """A "does not hold" is red until the ledger records the claim on three seeds; then one
    the ledger expects is an xfail that names the entry, and a "holds" where every recorded
    seed did not hold is red; inconclusive is a skip that says so."""
    from suite.run import ledger, results

    pytester.makepyfile(test_claim=LEDGER_CLAIM)
    path = pytester.path / "ledger.json"
    monkeypatch.setenv("MEMSUITE_LEDGER", str(path))
    fresh = pytester.runpytest_inprocess("--seeds", "7", "-rsx", "--report", "all")
    fresh.assert_outcomes(failed=4, passed=2, skipped=1)  # unrecorded: every failure is red
    fresh.stdout.fnmatch_lines(["*does not hold and is unrecorded*",
                                "*INCONCLUSIVE*x.finding*decidable_beyond*"])
    measured = results.read_verdicts(pytester.path / "all")
    book, n = ledger.record({}, [v for v in measured if v.seed in (0, 3, 4, 5)], "0123abc")
    assert n == 4
    ledger.write(book, path)
    expected = pytester.runpytest_inprocess("--seeds", "0,", "-rx")
    expected.assert_outcomes(xfailed=1)
    expected.stdout.fnmatch_lines(["*recorded in the ledger: holds in 0 of 4 decided seeds*"])
    assert expected.ret == 0
    contradicted = pytester.runpytest_inprocess("--seeds", "1,")
    contradicted.assert_outcomes(failed=1)
    contradicted.stdout.fnmatch_lines(["*contradicts the ledger: x.finding on thr-micro seed 1 "
                                       "holds; recorded not holding in every decided seed*"])
    path.write_text(path.read_text().replace('"measured": "does not hold"', '"measured": "holds"'))
    edited = pytester.runpytest_inprocess("--seeds", "0,")
    assert edited.ret == pytest.ExitCode.USAGE_ERROR
    edited.stderr.fnmatch_lines(["*edited by hand*"])


def test_the_scoreboard_is_generated_from_the_ledger_and_up_to_date():
    """docs/RESULTS.md is what `memsuite results` makes of claims/ledger.json and the current
    Claim records; a ledger entry of a claim, rule or recipe that changed is stale."""
    from suite.run import catalogue, ledger, scoreboard
    from suite.judge.claim import superseded

    claims = catalogue.collect()
    book = ledger.load()
    old = superseded(list(claims.values()))
    _, stale = ledger.prune(book, {c.id: c.protocol for c in claims.values() if c.id not in old})
    assert not stale, f"ledger entries of a changed claim, rule or recipe: {stale[:3]}; " \
                      "re-measure and run memsuite ledger"
    assert catalogue.results_file().read_text() == scoreboard.markdown(book, claims), \
        "docs/RESULTS.md is out of date: run memsuite results --write"


def test_the_catalogue_in_docs_is_generated_from_the_claims_and_up_to_date():
    """docs/CLAIMS.md's claim entries are what `memsuite ls --markdown` prints from the Claim
    records (found by pytest's collection, the claims are never imported by the library)."""
    from suite.run import catalogue

    claims = catalogue.collect()
    assert len(claims) >= 20 and all("." in claim_id for claim_id in claims)
    written = catalogue.generated_part(catalogue.catalogue_file().read_text())
    assert written.strip() == catalogue.markdown(claims).strip(), \
        "docs/CLAIMS.md is out of date: run memsuite ls --markdown --write"


VERSIONED_CLAIM = """
    import pytest
    from suite.judge import Claim, Rule
    from suite.judge.stats import Share

    OLD = Claim("x.versioned", "nowhere", "a demo", "a share", (Rule("share", ">=", 0.5),),
                "a priori", version=2)
    NEW = OLD.revised(3, rules=(Rule("share", ">=", 0.05),))

    @pytest.mark.claim(OLD)
    @pytest.mark.task("thr")
    def test_old(trained, judge):
        judge(OLD, trained, {"share": Share(20, 100)}, n=100)

    @pytest.mark.claim(NEW)
    @pytest.mark.task("thr")
    def test_new(trained, judge):
        judge(NEW, trained, {"share": Share(20, 100)}, n=100)
"""


def test_only_the_current_version_of_a_claim_runs_unless_all_are_asked_for(
        pytester, recipe_dir, store_dir, monkeypatch):
    """A claim with versions 2 and 3 gives one verdict (v3) by default; --claim-versions all
    runs v2 too, labels it superseded wherever it prints, and its failure is no finding (an
    expected failure that says why), not a red run."""
    monkeypatch.setenv("MEMSUITE_LEDGER", str(pytester.path / "none.json"))
    (pytester.path / "none.toml").write_text("")
    pytester.makepyfile(test_versions=VERSIONED_CLAIM)
    default = pytester.runpytest_inprocess("-rsx")
    default.assert_outcomes(passed=1, deselected=1)
    default.stdout.fnmatch_lines(["*1 test(s) of superseded claim versions left out*",
                                  "x.versioned.v3 on thr-micro seed 0 noise 0.05: HOLDS*"])
    assert "x.versioned on" not in default.stdout.str()
    both = pytester.runpytest_inprocess("-rsx", "--claim-versions", "all")
    both.assert_outcomes(passed=1, xfailed=1)
    both.stdout.fnmatch_lines(["*superseded by x.versioned.v3: its verdicts are not findings*"])
    both.stdout.fnmatch_lines([
        "x.versioned (superseded by x.versioned.v3) on thr-micro seed 0*DOES NOT HOLD*"])


COUNTED_CLAIM = """
    import os
    from pathlib import Path

    import pytest
    from suite.judge import Claim, Rule
    from suite.judge.stats import Share

    CLAIM = Claim("x.counted", "nowhere", "a demo", "a share", (Rule("share", ">=", 0.05),),
                  "a priori")

    @pytest.mark.claim(CLAIM)
    @pytest.mark.task("thr")
    def test_counted(trained, judge):
        with Path(os.environ["COUNT_FILE"]).open("a") as f:  # one line per measurement
            f.write("measured\\n")
        judge(CLAIM, trained, {"share": Share(20, 100)}, n=100)
"""


def test_a_replay_is_never_stale(pytester, recipe_dir, store_dir, monkeypatch):
    """A verdict is replayed only on the same model weights and code: a store entry whose
    weights changed under the same key is judged afresh; --no-replay judges afresh and records
    nothing; --refresh-models retrains, judges afresh and records anew."""
    import json as json_

    import torch
    from safetensors.torch import load_file, save_file

    from suite import store

    monkeypatch.delenv("MEMSUITE_REMEMBER", raising=False)
    count = pytester.path / "count.txt"
    monkeypatch.setenv("COUNT_FILE", str(count))
    pytester.makepyfile(test_counted=COUNTED_CLAIM)

    def measured(*args: str) -> int:
        pytester.runpytest_inprocess(*args).assert_outcomes(passed=1)
        return len(count.read_text().splitlines())

    assert measured() == 1
    assert measured() == 1  # replayed
    (entry,) = store.entries()
    weights = entry.path / "model.safetensors"  # other weights under the same key
    state = load_file(weights)
    name = sorted(state)[0]
    state[name] = state[name] + torch.ones_like(state[name])
    save_file(state, weights, metadata={"format": "pt"})
    manifest = json_.loads((entry.path / "manifest.json").read_text())
    manifest["model.safetensors"] = store._sha256(weights)
    (entry.path / "manifest.json").write_text(json_.dumps(manifest))
    assert measured() == 2  # judged afresh on the changed weights
    assert measured() == 2  # and replayed from then on
    assert measured("--no-replay") == 3
    assert measured("--no-replay") == 4
    assert measured("--refresh-models") == 5  # retrained: the original weights again
    assert measured() == 5  # the record --refresh-models wrote is replayed


def test_a_claim_test_is_bound_to_the_claim_it_judges(pytester, recipe_dir, store_dir,
                                                      monkeypatch):
    """In the claims folder a test that judges must name its claim, and may judge only it."""
    from suite.run import catalogue

    monkeypatch.setattr(catalogue, "CLAIMS_DIR", pytester.path)
    pytester.makepyfile(test_unbound="""
        import pytest
        from suite.judge import Claim, Rule
        from suite.judge.stats import Share

        CLAIM = Claim("x.free", "nowhere", "a demo", "a share", (Rule("share", ">=", 0.05),),
                      "a priori")

        @pytest.mark.task("thr")
        def test_free(trained, judge):
            judge(CLAIM, trained, {"share": Share(20, 100)}, n=100)
    """)
    unbound = pytester.runpytest_inprocess()
    assert unbound.ret == pytest.ExitCode.USAGE_ERROR
    unbound.stderr.fnmatch_lines(["*test_free* judges a claim but names none*"])
    pytester.makepyfile(test_unbound="""
        import pytest
        from suite.judge import Claim, Rule
        from suite.judge.stats import Share

        CLAIM = Claim("x.free", "nowhere", "a demo", "a share", (Rule("share", ">=", 0.05),),
                      "a priori")
        OTHER = Claim("x.other", "nowhere", "a demo", "a share", (Rule("share", ">=", 0.05),),
                      "a priori")

        @pytest.mark.claim(OTHER)
        @pytest.mark.task("thr")
        def test_free(trained, judge):
            judge(CLAIM, trained, {"share": Share(20, 100)}, n=100)
    """)
    wrong = pytester.runpytest_inprocess("--measure-unvalidated")  # x.other has no known
    wrong.assert_outcomes(failed=1)  # answers here, so it is measured only when asked
    wrong.stdout.fnmatch_lines(["*is bound to x.other (@pytest.mark.claim) but judged x.free*"])


UNVALIDATED_CLAIM = """
    import pytest
    from suite.judge import Claim, Rule
    from suite.judge.stats import Share

    CLAIM = Claim("x.unvalidated", "nowhere", "a demo", "a share", (Rule("share", ">=", 0.5),),
                  "a priori")

    @pytest.mark.known_answer
    @pytest.mark.claim(CLAIM)
    @pytest.mark.task("thr")
    def test_planted_absence(trained, judge):  # a planted-false case that holds: a wrong answer
        judge(CLAIM, trained, {"share": Share(90, 100)}, n=100, planted="false",
              reference="thr-micro")

    @pytest.mark.claim(CLAIM)
    @pytest.mark.task("thr", regime="coexist")
    def test_claim(trained, judge):
        judge(CLAIM, trained, {"share": Share(90, 100)}, n=100)
"""


def test_a_claim_whose_instrument_is_not_validated_trains_no_model_for_it(
        pytester, recipe_dir, store_dir, monkeypatch):
    """Where the run's known answers do not validate a claim on a task, its verdict there is
    not judged whatever it measures, so by default it is not measured and a model only it needs
    is never trained; --measure-unvalidated measures it, and the verdict is not judged either
    way. `memsuite ledger` keeps a seed's measured record over a verdict that measured nothing."""
    from suite import store
    from suite.run import catalogue, ledger, results

    monkeypatch.setattr(catalogue, "CLAIMS_DIR", pytester.path)
    monkeypatch.setenv("MEMSUITE_LEDGER", str(pytester.path / "none.json"))
    (recipe_dir / "thr-micro-coexist.toml").write_text(
        'base = "thr-micro"\nname = "thr-micro-coexist"\nregime = "coexist"\n[task]\nnoise = 0.5\n')
    pytester.makepyfile(test_unvalidated=UNVALIDATED_CLAIM)

    default = pytester.runpytest_inprocess("-rs", "--report", "skipped")
    default.assert_outcomes(passed=1, skipped=1)
    default.stdout.fnmatch_lines(["*x.unvalidated on thr-micro-coexist seed 0 noise 0.5: NOT "
                                  "JUDGED: instrument not validated on thr: planted false holds "
                                  "0.900*; not measured*--measure-unvalidated*"])
    assert [e.name for e in store.entries()] == ["thr-micro"]  # the reference model only
    (skipped,) = [v for v in results.read_verdicts(pytester.path / "skipped")
                  if v.recipe == "thr-micro-coexist"]
    assert skipped.outcome == "not judged" and skipped.model_key

    measured = pytester.runpytest_inprocess("-rs", "--measure-unvalidated", "--report", "measured")
    measured.assert_outcomes(passed=1, skipped=1)
    measured.stdout.fnmatch_lines(["*x.unvalidated on thr-micro-coexist seed 0 noise 0.5: NOT "
                                   "JUDGED: instrument not validated on thr: *; it measured holds "
                                   "0.900*"])
    assert sorted(e.name for e in store.entries()) == ["thr-micro", "thr-micro-coexist"]
    (entry,) = [e for e in store.entries() if e.name == "thr-micro-coexist"]
    assert entry.key == skipped.model_key  # the stand-in named the model it did not train

    book, n = ledger.record(ledger.Ledger(), results.read_verdicts(pytester.path / "measured"),
                            "c1")
    book, m = ledger.record(book, results.read_verdicts(pytester.path / "skipped"), "c2")
    (seed,) = next(e for e in book.values() if e.recipe == "thr-micro-coexist").seeds
    assert (seed.measured, seed.commit) == ("holds", "c1")


PLANNED_CLAIM = """
    import pytest
    from suite.judge import Claim, Rule
    from suite.judge.stats import Share

    CLAIM = Claim("x.planned", "nowhere", "a demo", "a share", (Rule("share", ">=", 0.5),), "a priori")

    @pytest.mark.task("thr")
    def test_claim(trained, judge):
        judge(CLAIM, trained, {"share": Share(90, 100)}, n=100)

    @pytest.mark.task("thr")
    def test_other(trained):
        pass
"""


def test_a_plan_lists_the_models_a_selection_needs_and_trains_nothing(pytester, recipe_dir,
                                                                      store_dir):
    """`memsuite plan`: one spec per model the selected tests would train, with the key the
    judging run will look for (threads included), stored or missing; nothing is trained."""
    from suite import store
    from suite.run.plan import Spec, plan

    import torch

    pytester.makepyfile(test_planned=PLANNED_CLAIM)
    threads = torch.get_num_threads()
    specs = plan(["--seeds", "2", "--threads", "1"], pytester.path)
    assert torch.get_num_threads() == threads  # --threads held for the plan only
    assert [(s.name, s.seed, s.threads, s.stored, s.needed_by) for s in specs] == [
        ("thr-micro", 0, 1, False, 2), ("thr-micro", 1, 1, False, 2)]
    assert not store_dir.exists() or not store.entries()  # nothing trained
    assert [s.name for s in plan(["--seeds", "2", "-k", "s1"], pytester.path)] == ["thr-micro"]
    torch.set_num_threads(specs[0].threads)  # the key holds the threads it trains with
    try:
        trained = store.get_or_train(specs[0].resolve(), progress=False)
    finally:
        torch.set_num_threads(threads)
    assert trained.path.name == specs[0].entry  # the plan's key is the store's
    again = plan(["--seeds", "2", "--threads", "1"], pytester.path)
    assert [s.stored for s in again] == [True, False]
    assert Spec.from_dict(json.loads(again[0].to_json())) == again[0]
    two = plan(["--seeds", "1", "--threads", "2"], pytester.path)
    assert two[0].entry != specs[0].entry  # threads are part of the key


def test_shards_split_a_selection_by_model(pytester, recipe_dir, store_dir):
    """--shard I/N: every test in exactly one shard, all tests of one model in the same one."""
    pytester.makepyfile(test_planned=PLANNED_CLAIM)

    def collected(*args: str) -> set[str]:
        out = pytester.runpytest_inprocess("--collect-only", "-q", "--seeds", "4", *args)
        return {line for line in out.outlines if "::" in line}
    everything = collected()
    parts = [collected("--shard", f"{i}/3") for i in (1, 2, 3)]
    assert set().union(*parts) == everything and sum(map(len, parts)) == len(everything)
    for part in parts:  # both tests of a model go together
        seeds = {line.split("[")[1] for line in part}
        assert len(part) == 2 * len(seeds)
    bad = pytester.runpytest_inprocess("--collect-only", "--shard", "3/2")
    assert bad.ret == pytest.ExitCode.USAGE_ERROR


SHARDED_CLAIM = """
    import pytest
    from suite.judge import Claim, Rule
    from suite.judge.stats import Share

    CLAIM = Claim("x.sharded", "nowhere", "a demo", "held-out accuracy",
                  (Rule("heldout", ">=", 0.5),), "a priori")

    @pytest.mark.task("thr")
    def test_claim(trained, judge):
        n = trained.metrics["n"]["heldout"]
        judge(CLAIM, trained, {"heldout": Share(round(trained.metrics["heldout_acc"] * n), n)},
              n=n)
"""


def test_merged_shards_give_the_verdicts_of_one_unsharded_run(pytester, recipe_dir, store_dir,
                                                              tmp_path):
    """Two shards judged apart and merged give the verdicts (outcome, estimate, interval) of
    the whole selection judged in one run, replay off in every run."""
    from suite.run import results
    from suite.run.merge import merge

    pytester.makepyfile(test_sharded=SHARDED_CLAIM)

    def judged(report, *args: str) -> dict:
        pytester.runpytest_inprocess("--seeds", "3", "--no-replay", "--report", str(report),
                                     *args)
        return {(v.claim, v.seed): (v.outcome, v.estimate, v.ci_low, v.ci_high)
                for v in results.read_verdicts(report)}
    whole = judged(tmp_path / "whole")
    parts = [tmp_path / f"part{i}" for i in (1, 2)]
    for i, part in enumerate(parts, 1):
        assert judged(part, "--shard", f"{i}/2")  # each shard judges some of the models
    merged = {(v.claim, v.seed): (v.outcome, v.estimate, v.ci_low, v.ci_high)
              for v in merge(parts, tmp_path / "merged")}
    assert len(whole) == 3 and merged == whole
    assert len({estimate for _, estimate, _, _ in whole.values()}) > 1  # the seeds differ


def test_memsuite_ledger_records_current_claims_and_refuses_a_contradiction(tmp_path, capsys):
    """The command records a clean commit's verdicts of current claims under their current
    rules (nothing else), and a run that contradicts the ledger only with --accept."""
    import dataclasses
    import subprocess

    from suite.judge.claim import Verdict
    from suite.run import catalogue, ledger, results
    from suite.run.cli import main

    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True,
                          text=True).stdout.strip()
    if not head:
        pytest.skip("not a git checkout")
    claim = catalogue.collect()["rr.generalize_first"]
    base = Verdict(claim=claim.id, task="fda", recipe="fda-tiny", seed=0, noise=0.05, n=100,
                   estimate=0.1, ci_low=0.05, ci_high=0.15, p=0.5, threshold="", version=2,
                   outcome="does not hold", protocol=claim.protocol,
                   details={"validation": "validated"})
    stale = dataclasses.replace(base, claim="rr.generalize_first", protocol="an-old-rule")
    first = tmp_path / "first"
    results.write(first, [dataclasses.replace(base, seed=s) for s in (0, 1, 2)] + [stale], [],
                  {"git_commit": head}, {})
    book_path = tmp_path / "ledger.json"
    assert main(["ledger", str(first), "--ledger", str(book_path)]) == 0
    book = ledger.load(book_path)
    assert [(e.claim, len(e.seeds)) for e in book.values()] == [(claim.id, 3)]
    flipped = tmp_path / "flipped"
    results.write(flipped, [dataclasses.replace(base, seed=1, outcome="holds", estimate=0.9,
                                                ci_low=0.8, ci_high=0.95)], [],
                  {"git_commit": head}, {})
    assert main(["ledger", str(flipped), "--ledger", str(book_path)]) == 1
    assert "contradicts the ledger" in capsys.readouterr().out
    assert ledger.load(book_path) == book  # nothing written
    assert main(["ledger", str(flipped), "--ledger", str(book_path), "--accept"]) == 0
    (entry,) = ledger.load(book_path).values()
    assert [s.measured for s in entry.seeds] == ["does not hold", "holds", "does not hold"]
    # a run that did not measure an unvalidated instrument is refused (the ledger records what
    # every current claim measured); --accept records the rest and keeps that seed's record
    skipped = tmp_path / "skipped"
    results.write(skipped, [dataclasses.replace(base, seed=2, outcome="not judged", estimate=None,
                                                ci_low=None, ci_high=None,
                                                details={"validation": "not validated",
                                                         "not_measured": True})], [],
                  {"git_commit": head}, {})
    assert main(["ledger", str(skipped), "--ledger", str(book_path)]) == 1
    assert "--measure-unvalidated" in capsys.readouterr().err
    assert main(["ledger", str(skipped), str(flipped), "--ledger", str(book_path), "--accept"]) == 1
    assert main(["ledger", str(skipped), "--ledger", str(book_path), "--accept-unmeasured"]) == 0
    (kept,) = ledger.load(book_path).values()
    assert kept.seeds == entry.seeds


def test_the_k_hop_sweeps_declare_their_grid_points_for_a_plan(store_dir):
    """The slow tier's grid points are store entries a plan lists (nothing trains)."""
    from suite.run.catalogue import CLAIMS_DIR
    from suite.run.plan import plan

    curriculum = plan(["-m", "slow", "-k", "curriculum_helps_v3"], CLAIMS_DIR)
    assert [s.name for s in curriculum] == ["khop-sweep-tiny-3000steps-k3-q32000-L4",
                                            "khop-sweep-tiny-3000steps-k3-q32000-L4-after1000k2"]
    depth = plan(["-m", "slow", "-k", "depth_grows_with_k_v3"], CLAIMS_DIR)
    import re

    points = {tuple(map(int, re.search(r"-k(\d)-q(\d+)-L(\d)$", s.name).groups())) for s in depth}
    assert points == {(k, 32000, n) for k in (2, 3) for n in (1, 2, 3, 4)}
    assert not any(s.stored for s in depth)


def test_two_drivers_on_one_plan_train_each_entry_once(pytester, recipe_dir, store_dir):
    """The store's lock, not the driver, decides who trains an entry (Ray's drivers too)."""
    import os
    import subprocess
    import sys

    from suite.run import farm
    from suite.run.plan import plan

    pytester.makepyfile(test_planned=PLANNED_CLAIM)
    specs = plan(["--seeds", "4", "--threads", "1"], pytester.path)
    path = pytester.path / "plan.jsonl"
    path.write_text("".join(s.to_json() + "\n" for s in specs))
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    drivers = [subprocess.Popen([sys.executable, "-m", "suite", "train", "--plan", str(path)],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                env=env) for _ in range(2)]
    said = [d.communicate(timeout=600)[0] for d in drivers]
    assert all(d.returncode == 0 for d in drivers), said
    trained = sum(line.count("trained in") for out in said for line in out.splitlines())
    assert trained == len(specs), said  # the other driver found each one stored
    assert farm.missing(specs) == []
