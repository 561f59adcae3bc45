"""memsuite merge: shards of one run become one results directory, bound to all the parts'
known answers."""

from __future__ import annotations

import dataclasses
import json

import pytest

from suite.judge.claim import Verdict
from suite.run import results
from suite.run.merge import merge


POINT = {"step": 0, "heldout_acc": 0.1, "noisy_recall": 0.0, "noisy_clean_share": 0.0}


def verdict(seed: int, outcome: str = "holds", **details) -> Verdict:
    return Verdict(claim="c.x", task="fda", recipe="fda-tiny", seed=seed, noise=0.05, n=100,
                   estimate=0.5, ci_low=0.4, ci_high=0.6, p=0.01, threshold="x >= 0.3",
                   outcome=outcome, model_key=f"k{seed}", test=f"test_x[fda-tiny-s{seed}]",
                   details=details)


def known(planted: str, outcome: str) -> Verdict:
    return dataclasses.replace(
        verdict(0, outcome, planted=planted, reference="fda-tiny", rule_check=False,
                rules={"x >= 0.3": outcome}), recipe=f"{planted} plant", test=f"case[{planted}]")


def test_shards_merge_into_one_run_bound_to_every_part_s_known_answers(tmp_path, monkeypatch):
    monkeypatch.setenv("MEMSUITE_LEDGER", str(tmp_path / "none.json"))
    one, two = tmp_path / "shard1", tmp_path / "shard2"
    results.write(one, [known("true", "holds"), known("false", "holds"),
                        verdict(0, validation="not run in this session")], [],
                  {"git_commit": "abc", "seeds": [0]}, {"m0": [POINT]})
    results.write(two, [verdict(1, validation="not run in this session")],
                  [{"claim": "c.x", "seed": 1, "item": 0}], {"git_commit": "abc"},
                  {"m1": [POINT]})
    merged = merge([one, two], tmp_path / "all")
    models = [v for v in merged if "planted" not in v.details]
    # the planted-false case holds: not validated, so neither shard's verdict is judged
    assert [(v.seed, v.outcome) for v in models] == [(0, "not judged"), (1, "not judged")]
    out = tmp_path / "all"
    run = json.loads((out / "run.json").read_text())
    assert [p["directory"] for p in run["merged_from"]] == [str(one), str(two)]
    assert run["git_commit"] == "abc" and run["seeds"] == [0, 1]
    assert len(results.read_items(out)) == 1 and set(results.read_curves(out)) == {"m0", "m1"}
    assert (out / "report.html").is_file() and len(results.read_measured(out)) == 4


def test_a_merge_refuses_parts_that_disagree_or_a_used_directory(tmp_path):
    one, two = tmp_path / "a", tmp_path / "b"
    results.write(one, [verdict(0)], [], {}, {})
    results.write(two, [verdict(0, "does not hold")], [], {}, {})
    with pytest.raises(ValueError, match="another part says"):
        merge([one, two], tmp_path / "all")
    with pytest.raises(ValueError, match="not empty"):
        merge([one], two)
    with pytest.raises(FileNotFoundError):
        merge([tmp_path / "nowhere"], tmp_path / "new")


def test_a_merge_needs_every_shard_once_and_one_commit(tmp_path):
    parts = []
    for i, shard in enumerate(("1/3", "2/3", "2/3")):
        d = tmp_path / f"p{i}"
        results.write(d, [verdict(i)], [], {"git_commit": "abc", "shard": shard}, {})
        parts.append(d)
    with pytest.raises(ValueError, match="each of 1..3 exactly once"):
        merge(parts, tmp_path / "all")
    other = tmp_path / "other"
    results.write(other, [verdict(9)], [], {"git_commit": "def"}, {})
    with pytest.raises(ValueError, match="different commits"):
        merge([parts[0], other], tmp_path / "all2")
