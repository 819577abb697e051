#!/usr/bin/env bash
# Quick-start main job: set up the environment (idempotent; lite profile, or keeps an
# existing ops environment), then generate the
# demo videos, pretrain IIVCL on CPU for 3 seeds and print the retrieval table.
# Arguments are passed to tools/run_demo.py (e.g. --seeds 0 --epochs 4).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="$(bash "$ROOT/tools/setup_env.sh" | tail -n 1)"
cd "$ROOT"
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-2}"
exec "$PY" tools/run_demo.py "$@"
