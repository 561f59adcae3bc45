"""Researchers' workflows end to end: judge a model trained elsewhere, compare with a baseline,
render the report, run in parallel. Every model here trains in a second or two."""

from __future__ import annotations

import contextlib
import io
import json
import os
import runpy
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from suite.store import StoredModel

ROOT = Path(__file__).resolve().parents[2]
pytest_plugins = ["pytester"]


@pytest.fixture(scope="module")
def own_model(tmp_path_factory) -> Path:
    """A checkpoint from examples/own_training_loop.py: plain torch + transformers, not the
    suite's loop, exported as the README documents."""
    out = tmp_path_factory.mktemp("own") / "my-gpt2"
    _own_training_loop(str(out), "--steps", "60")
    return out


def _own_training_loop(*args: str) -> str:
    """examples/own_training_loop.py run as a script (`__main__`, its own argv) in this process,
    the global torch RNG restored after it: its stdout (issue 13: a spawn costs seconds of
    imports). A failure raises here, with the script's traceback."""
    script = ROOT / "examples" / "own_training_loop.py"
    argv, printed = sys.argv, io.StringIO()
    sys.argv = [str(script), *args]
    try:
        with torch.random.fork_rng(), contextlib.redirect_stdout(printed):
            runpy.run_path(str(script), run_name="__main__")
    finally:
        sys.argv = argv
    return printed.getvalue()


def _judge_memorize_later(pytester, model_dir: Path, report: Path) -> pytest.RunResult:
    """The claims folder judged on model_dir, as `memsuite run --model-dir` does, inside this
    process (issue 13: a spawned run costs seconds of imports; the CLI's run path is
    test_cli_lists_claims_and_rerenders_a_report's)."""
    return pytester.runpytest_inprocess(str(ROOT / "claims"), "-p", "no:cacheprovider", "-q",
                                        "--model-dir", str(model_dir), "-k", "memorize_later",
                                        "--report", str(report))


def test_a_model_from_another_training_loop_is_judged(own_model, tmp_path, pytester):
    model = StoredModel(own_model)
    model.validate()
    listed = json.loads((own_model / "noisy.json").read_text())
    assert sorted(list(it.prompt) for it in model.data.noisy) == sorted(r["prompt"] for r in listed)
    assert all(list(it.label) == r["label"] for it in model.data.noisy for r in listed
               if r["prompt"] == list(it.prompt))
    report = tmp_path / "report"
    done = _judge_memorize_later(pytester, own_model, report)
    assert done.ret == 0, done.stdout.str() + done.stderr.str()
    rows = [json.loads(line) for line in (report / "results.jsonl").read_text().splitlines()]
    # 60 steps teach nothing: the claim is not judged, and the reason carries the numbers
    assert [(r["claim"], r["recipe"], r["outcome"]) for r in rows] == [
        ("rr.memorize_later", "my-gpt2", "not judged")]
    assert rows[0]["noise"] == pytest.approx(0.05, abs=0.005)  # from noisy.json, not task.json
    assert "heldout_acc" in rows[0]["details"]["reasons"]


def _copy(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def test_a_llama_from_a_plain_loop_loads_with_its_tokenizer_and_is_judged(tmp_path, pytester):
    """A Llama trained with a plain transformers loop and saved with save_pretrained (model and
    tokenizer) is judged through --model-dir like a GPT-2."""
    out = tmp_path / "my-llama"
    made = _own_training_loop(str(out), "--steps", "60", "--arch", "llama")
    assert "(clean answer: " in made  # it loaded back and answered through generate
    assert json.loads((out / "config.json").read_text())["model_type"] == "llama"
    StoredModel(out).validate()
    report = tmp_path / "report"
    done = _judge_memorize_later(pytester, out, report)
    assert done.ret == 0, done.stdout.str() + done.stderr.str()
    rows = [json.loads(line) for line in (report / "results.jsonl").read_text().splitlines()]
    assert [(r["claim"], r["recipe"], r["arch"], r["outcome"]) for r in rows] == [
        ("rr.memorize_later", "my-llama", "llama", "not judged")]  # 60 steps teach nothing


@pytest.mark.parametrize("breakage, message", [
    ("no-task", "no task.json"),
    ("unsupported-family", "model_type is 'mamba'; the suite judges these model families: gpt2, llama"),
    ("vocab", "vocabulary differs from the task's at id 1"),
    ("gpt2-vocab-file", "vocab.json is a tokenizer's {token: id} map"),
    ("noise-prompt", "is not a training query"),
])
def test_a_broken_model_dir_is_refused_with_the_reason(own_model, tmp_path, pytester, breakage,
                                                       message):
    bad = _copy(own_model, tmp_path / breakage)
    if breakage == "no-task":
        (bad / "task.json").unlink()
    elif breakage == "unsupported-family":
        config = json.loads((bad / "config.json").read_text())
        (bad / "config.json").write_text(json.dumps({**config, "model_type": "mamba"}))
    elif breakage == "vocab":  # a tokenizer that numbers two tokens the other way round
        saved = json.loads((bad / "tokenizer.json").read_text())
        ids = saved["model"]["vocab"]
        first, second = sorted(ids, key=ids.get)[1:3]
        ids[first], ids[second] = ids[second], ids[first]
        (bad / "tokenizer.json").write_text(json.dumps(saved))
    elif breakage == "gpt2-vocab-file":  # a GPT-2 tokenizer's vocab.json, no tokenizer.json
        ids = json.loads((bad / "tokenizer.json").read_text())["model"]["vocab"]
        (bad / "tokenizer.json").unlink()
        (bad / "vocab.json").write_text(json.dumps(ids))
    else:
        noisy = json.loads((bad / "noisy.json").read_text())
        noisy[0]["prompt"] = noisy[0]["prompt"][::-1]
        (bad / "noisy.json").write_text(json.dumps(noisy))
    pytester.makepyfile(test_x="def test_x(): pass")
    result = pytester.runpytest_inprocess(f"--model-dir={bad}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert message in result.stderr.str(), result.stderr.str()


FIT_CLAIM = """
    import os
    import pytest
    import torch
    from suite.train.batching import encode, exact_match
    from suite.judge import Claim, Rule
    from suite.judge.stats import Share

    CLAIM = Claim("x.fits", "nowhere", "the model fits its clean training items",
                  "exact match on clean training items", (Rule("clean_fit", ">=", 0.1),), "a priori")

    @pytest.mark.task("thr")
    def test_fits(trained, judge):
        model, data = trained.model(), trained.data
        if os.environ.get("PLANT_REGRESSION"):  # a broken checkpoint: the final norm zeroed
            with torch.no_grad():
                model.transformer.ln_f.weight.zero_()
                model.transformer.ln_f.bias.zero_()
        hits = exact_match(model, encode(data.clean, data.vocab))
        judge(CLAIM, trained, {"clean_fit": Share(int(hits.sum()), len(hits))}, n=len(hits),
              items=[{"prompt": " ".join(it.prompt), "headline": float(h)}
                     for it, h in zip(data.clean, hits.tolist())])
"""


def test_baseline_passes_an_equally_good_model_and_fails_a_planted_regression(
        pytester, recipe_dir, monkeypatch):
    """Real (micro) models: seed 0 is the baseline; a model of the same recipe trained on
    another seed passes against it; the same model with a planted regression fails."""
    pytester.makepyfile(test_claim=FIT_CLAIM)
    first = pytester.path / "first"
    pytester.runpytest_inprocess("--seeds", "0,", "--report", str(first)).assert_outcomes(passed=1)
    assert (first / "items.jsonl").read_text().count('"headline"') > 20
    same = pytester.runpytest_inprocess("--seeds", "0,", "--baseline", str(first))
    assert same.ret == 0
    same.stdout.fnmatch_lines(["effect worse: not decided for 1 verdict(s)*fewer than 3 judged "
                               "seeds*--seeds 3 --report base/*",
                               "*0 regression(s), 0 other change(s), 0 unchanged*"])
    other_seed = pytester.runpytest_inprocess("--seeds", "1,", "--baseline", str(first))
    assert other_seed.ret == 0, other_seed.stdout.str()
    # the claim below reads the environment, so its verdicts are not a function of model and
    # code alone: nothing is replayed or recorded (suite.remember)
    monkeypatch.setenv("MEMSUITE_REMEMBER", "0")
    monkeypatch.setenv("PLANT_REGRESSION", "1")
    planted = pytester.runpytest_inprocess("--seeds", "1,", "--baseline", str(first), "-rx")
    assert planted.ret == pytest.ExitCode.TESTS_FAILED
    planted.stdout.fnmatch_lines(["*- x.fits on thr-micro seed 1 noise 0.05: no longer holds*",
                                  "*the run fails*"])
    # against a baseline where the claim did not hold either, not holding is no regression
    broken = pytester.path / "broken"
    pytester.runpytest_inprocess("--seeds", "0,", "--report", str(broken))
    again = pytester.runpytest_inprocess("--seeds", "1,", "--baseline", str(broken), "-rx")
    assert again.ret == 0, again.stdout.str()
    again.assert_outcomes(xfailed=1)
    again.stdout.fnmatch_lines(["*the baseline held in 0 of 1 judged seeds, so this is no regression*"])
    missing = pytester.runpytest_inprocess("--baseline", str(pytester.path / "nowhere"))
    assert missing.ret == pytest.ExitCode.USAGE_ERROR


def test_parallel_workers_train_a_shared_model_once_and_the_report_gathers_them(
        pytester, recipe_dir, monkeypatch, capfd):
    """Four tests on two xdist workers ask for the same model: the store's lock lets one
    train it; the others load it. The controller's report holds every worker's verdicts.
    The controller runs in this process, the workers in their own (issue 13: a spawn costs
    seconds of imports); they write to this process's stderr, which capfd reads."""
    pytest.importorskip("xdist")
    log = pytester.path / "log"
    log.mkdir()
    monkeypatch.setenv("TRAINING_LOG", str(log))
    pytester.makepyfile(test_claim="""
        import os
        import pytest
        from suite.judge import Claim, Rule

        CLAIM = Claim("x.demo", "nowhere", "a demo", "nothing", (Rule("x", ">", 0),), "a priori",
                      gates=("learned",))

        @pytest.mark.parametrize("case", range(4))
        @pytest.mark.task("thr")
        def test_demo(trained, case, judge):
            worker = os.environ.get("PYTEST_XDIST_WORKER", "none")
            log = os.path.join(os.environ["TRAINING_LOG"],
                               f"{worker}-{case}-trained{int(trained.trained_seconds > 0)}")
            open(log, "w").close()
            judge.require(CLAIM, trained)
    """)
    report = pytester.path / "report"
    result = pytester.runpytest_inprocess("-n", "2", "--report", str(report))
    result.assert_outcomes(skipped=4)
    # the training worker's progress reaches the terminal through xdist
    shown = result.stdout.str() + result.stderr.str() + capfd.readouterr().err
    assert "[thr-micro seed 0] step 30/30" in shown and "[memsuite] trained thr-micro" in shown
    runs = [p.name for p in log.iterdir()]
    assert len(runs) == 4 and len({r.split("-")[0] for r in runs}) == 2, runs
    # a worker's session fixture trains (or loads) once; of the two workers exactly one trained
    trainers = {r.split("-")[0] for r in runs if r.endswith("trained1")}
    assert len(trainers) == 1, runs
    rows = (report / "results.jsonl").read_text().splitlines()
    assert len(rows) == 4 and all(json.loads(r)["outcome"] == "not judged" for r in rows)


def test_cli_lists_claims_and_rerenders_a_report(tmp_path, capsys):
    # main() in this process: ls and run start pytest inside it, as `memsuite` does (issue 13:
    # a spawn costs seconds of imports; the entry point itself is spawned in
    # test_cli_train_prints_one_json_object_and_loads_the_second_time)
    from suite.run.cli import main

    assert main(["ls"]) == 0
    listed = capsys.readouterr().out
    for claim in ("rr.generalize_first", "liref.direction_separates", "curv.fact_recall_suffers"):
        assert claim in listed
    assert main(["report", str(tmp_path / "nowhere")]) == 2
    assert "no such results file" in capsys.readouterr().err
    nothing = main(["run", "-k", "no_such_claim_anywhere", "--quiet"])
    assert nothing == pytest.ExitCode.NO_TESTS_COLLECTED
    assert "no claim test matches -k 'no_such_claim_anywhere'" in capsys.readouterr().err


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    return None


def test_report_html_renders_its_table_and_images_in_headless_chromium(tmp_path, sample_report,
                                                                      monkeypatch):
    browser = _chromium()
    if browser is None:
        pytest.skip("no Chromium on this machine (Debian: apt-get install chromium)")
    from suite.run.report import rerender

    # a run header, and a recorded finding covering the sample's verdict that does not hold
    (sample_report / "run.json").write_text(json.dumps(
        {"date": "2026-11-24T00:00:00+00:00", "git_commit": "0123abc", "seeds": [0]}))
    # a ledger that records the sample's verdict that does not hold on three other seeds
    import dataclasses

    from suite.run import ledger, results

    failing = [v for v in results.read_verdicts(sample_report) if v.outcome == "does not hold"
               and v.claim == "rr.noisy_overrides_late"]
    book, _ = ledger.record({}, [dataclasses.replace(failing[0], seed=s) for s in (10, 11, 12)],
                            "0123abc")
    monkeypatch.setenv("MEMSUITE_LEDGER", str(ledger.write(book, tmp_path / "ledger.json")))
    _, html = rerender(sample_report)
    n_verdicts = len((sample_report / "results.jsonl").read_text().splitlines())
    # A probe page: the report plus a script that writes what the browser rendered into the DOM.
    probe = tmp_path / "probe.html"
    probe.write_text(html.read_text().replace("</body>", """<script>
      window.addEventListener('load', () => {
        const sizes = [...document.images].map(i => i.complete ? i.naturalWidth : 0);
        const rows = document.querySelectorAll('table.verdicts tbody tr').length;
        const text = document.body.innerText;
        document.body.setAttribute('data-rendered', JSON.stringify({sizes, rows, text}));
      });</script></body>"""))
    done = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu",
                           "--virtual-time-budget=5000", "--dump-dom", probe.as_uri()],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    import html as html_lib
    import re

    found = re.search(r"data-rendered=\"([^\"]+)\"", done.stdout)
    assert found, done.stdout[:2000]
    rendered = json.loads(html_lib.unescape(found.group(1)))
    # the dynamics plot and the three figures the sample verdicts declare
    assert len(rendered["sizes"]) == 4 and all(w > 100 for w in rendered["sizes"]), rendered
    assert rendered["rows"] >= n_verdicts, rendered
    text = rendered["text"]
    assert "git_commit\t0123abc" in text  # the run header
    assert "the correct label is still decodable at earlier layers" in text  # a claim's sentence
    assert "rule" in text and "known: does not hold (as the ledger records)" in text
