#!/usr/bin/env bash
# Quick-start test command: set up the environment (idempotent, ops profile: the AVA
# tests need mmcv's compiled ops), run the tests.
# Exit status is pytest's; "no tests collected" (pytest exit 5) counts as failure.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="$(bash "$ROOT/tools/setup_env.sh" --with-ops | tail -n 1)"
cd "$ROOT"
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-2}"
set +e
"$PY" -m pytest "$@"
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
  echo "run_tests: pytest collected no tests; failing" >&2
  exit 1
fi
exit "$rc"
