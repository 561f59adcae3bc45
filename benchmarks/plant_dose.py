"""Dose-response of the plants whose strength is a constant: is a known answer right only at
the strength the suite uses, or across a range of it? (issue 39 item 3)

Three plants write with a strength fixed a priori in the units of the base model
(suite/validate/plants.py): the recall flag's norm (FLAG_NORM, liref's flagged recall), the
heuristic neurons' write (NEURON_WRITE, heur.bag_of_heuristics; the random-set neurons of its
planted-false case write with the same strength) and the item neurons' write (ITEM_NEURON_WRITE,
curv.edit_suppresses_memorization's planted-true case). Each case below is the claim's own test
run on the plant at 0.5, 1 and 2 times that strength, on the tiny reference model of its task
(seed 0, from the store: trained on first use), exactly as claims/test_known_answers.py runs it
(suite.validate.known.verdict_of, with the claim's gates). The table gives each outcome and
estimate (or, where not judged, the unmet gate); a case is right where planted true holds and
planted false does not hold. Nothing here changes a
strength: the a priori values stay, and this table says how far from them the answers hold.

    python benchmarks/plant_dose.py            # about ten minutes on 2 cores
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from claims import test_heuristics as heur  # noqa: E402
from claims import test_linear_reasoning as liref  # noqa: E402
from claims import test_loss_curvature as curv  # noqa: E402
from suite import store  # noqa: E402
from suite.judge import Judge  # noqa: E402
from suite.judge.render import fmt  # noqa: E402
from suite.validate import plants  # noqa: E402
from suite.validate.known import reference_recipe, verdict_of  # noqa: E402

SCALES = (0.5, 1.0, 2.0)  # times the a priori strength

# (claim test, task, planted, plant(stored, strength), the a priori strength, its name)
Case = tuple[Callable[..., Any], str, bool, Callable[..., Any], float, str]
CASES: list[Case] = [
    *[(test, task, True, lambda s, k: plants.flagged_recall(s, flag=k), plants.FLAG_NORM,
       "FLAG_NORM") for test in (liref.test_direction_separates_v4,
                                 liref.test_steering_recovers_reasoning_v4)
      for task in ("fda", "thr")],
    (heur.test_bag_of_heuristics_v3, "fda", True,
     lambda s, k: plants.heuristic_neurons(s, write=k), plants.NEURON_WRITE, "NEURON_WRITE"),
    (heur.test_bag_of_heuristics_v3, "fda", False,
     lambda s, k: plants.random_set_neurons(s, write=k), plants.NEURON_WRITE, "NEURON_WRITE"),
    *[(curv.test_edit_suppresses_memorization_v3, task, True,
       lambda s, k: plants.item_neurons(s, write=k), plants.ITEM_NEURON_WRITE, "ITEM_NEURON_WRITE")
      for task in ("fda", "thr")],
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--match", default="", help="only the cases whose claim test name "
                        "contains this")
    args = parser.parse_args(argv)
    print("| claim test | task | planted | strength | " + " | ".join(f"x{k:g}" for k in SCALES)
          + " |")
    print("|---|---|---|---|" + "---|" * len(SCALES))
    for test, task, planted, plant, strength, name in CASES:
        if args.match not in test.__name__:
            continue
        stored = store.get_or_train(reference_recipe(task), progress=True)
        cells = []
        for k in SCALES:
            try:
                known = verdict_of(test, plant(stored, k * strength), Judge(test.__name__),
                                   planted, reference=stored.name)
                v = known.verdict
                said = (f"{v.outcome} {fmt(v.estimate)}" if v.estimate is not None else
                        f"{v.outcome} ({v.details.get('reasons', '')})".replace("|", "/"))
                cells.append(said + ("" if known.correct else " (WRONG)"))
            except RuntimeError as err:  # a plant that did not take (e.g. recalls too few)
                cells.append(f"no plant: {err}".replace("|", "/")[:80])
        print(f"| {test.__name__} | {task} | {'true' if planted else 'false'} | {name} "
              f"{strength:g} | " + " | ".join(cells) + " |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
