#!/usr/bin/env bash
# The newcomer's path, timed: for each COMMIT in turn (give them interleaved, e.g. A B A B), a clean
# clone into a temporary folder, a fresh virtual environment, the README's install, then with
# CI=true and an empty store the README's `pytest` (cold), `pytest` again (warm) and, where the
# commit has a separate integration tier, `pytest tests/integration`. One tab-separated line per
# round goes to stdout: fp32 matmul rate (the machine drifts; compare rounds that ran close
# together), install, cold, warm and integration seconds, and each model's training seconds read
# from the store. The medians and the ratio are the reader's (docs/PERFORMANCE.md, 2026-12-06).
#
#     bash benchmarks/cold_run.sh f562435 HEAD f562435 HEAD > rounds.tsv
#
# Run nothing else on the machine meanwhile (two torch jobs on 2 cores slow both many times).
set -uo pipefail
repo=$(git -C "$(dirname "$0")/.." rev-parse --show-toplevel)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
printf "commit\tmatmul_gflops\tinstall_s\tcold_s\tcold_rc\twarm_s\twarm_rc\tintegration_s\ttraining_s\tper_model\n"
round=0
for commit in "$@"; do
  round=$((round + 1))
  d="$work/round$round"
  git clone -q "$repo" "$d" && git -C "$d" checkout -q "$(git -C "$repo" rev-parse "$commit")" || exit 1
  cd "$d" || exit 1
  python3 -m venv .venv && . .venv/bin/activate
  t0=$(date +%s.%N)
  python -m pip install -q -c constraints.txt torch==2.13.0 -e ".[dev]" > install.log 2>&1 \
    || { echo "round $round ($commit): install failed, see install.log" >&2; exit 1; }
  t1=$(date +%s.%N)
  matmul=$(python - <<'PY'
import time, torch
a, b = torch.randn(1024, 1024), torch.randn(1024, 1024)
for _ in range(3): a @ b
t = time.perf_counter()
for _ in range(50): a @ b
print(f"{2 * 1024**3 * 50 / (time.perf_counter() - t) / 1e9:.0f}")
PY
)
  export CI=true MEMSUITE_STORE="$d/.memsuite-store"
  t2=$(date +%s.%N); pytest -q > cold.log 2>&1; cold_rc=$?; t3=$(date +%s.%N)
  pytest -q > warm.log 2>&1; warm_rc=$?; t4=$(date +%s.%N)
  integration="-"
  if grep -q '^testpaths = \["tests/unit"' pyproject.toml; then
    t5=$(date +%s.%N); pytest -q tests/integration > integration.log 2>&1; t6=$(date +%s.%N)
    integration=$(printf "%.0f" "$(echo "$t6 - $t5" | bc)")
  fi
  training=$(python - "$MEMSUITE_STORE" <<'PY'
import json, pathlib, sys
rows = [(m.parent.name.rsplit("-", 1)[0], json.loads(m.read_text())["seconds"])
        for m in sorted(pathlib.Path(sys.argv[1]).glob("*/metrics.json"))]
print(f"{sum(s for _, s in rows):.0f}\t" + " ".join(f"{n}={s:.0f}" for n, s in rows))
PY
)
  printf "%s\t%s\t%.0f\t%.0f\t%s\t%.0f\t%s\t%s\t%s\n" "$commit" "$matmul" "$(echo "$t1 - $t0" | bc)" \
    "$(echo "$t3 - $t2" | bc)" "$cold_rc" "$(echo "$t4 - $t3" | bc)" "$warm_rc" "$integration" "$training"
  deactivate
  cd "$repo" || exit 1
  rm -rf "$d"
done
