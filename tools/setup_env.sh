#!/usr/bin/env bash
# Idempotent environment set-up used by both Quick-start commands (docs/install.md).
# Creates .venv inside the repository and installs the known-good set
# (docs/design.md#pinned-stack-and-upstream-gaps).
#
#   bash tools/setup_env.sh              lite profile: mmcv-lite (pure Python, no compiling);
#                                        pretraining, transfer, retrieval, the main job
#   bash tools/setup_env.sh --with-ops   ops profile: the full mmcv 2.1.0 with its compiled
#                                        ops (built from source the first time, about 7.5 min
#                                        on 2 cores; pip caches the wheel); AVA detection
#
#   MMIIVCL_WITH_OPS=1  same as --with-ops
#   TORCH_SPEC   torch requirement (default: torch==2.13.0, the CPU wheel on this machine kind;
#                GPU users: e.g. TORCH_SPEC="torch==2.13.0" with their CUDA index configured)
#   VENV_DIR     where the environment lives (default: <repo>/.venv)
#
# The ops profile is a superset of lite: an environment that has the ops keeps them when the
# script is called without --with-ops (tools/run_demo.sh does that); --with-ops in a lite
# environment uninstalls mmcv-lite first (mmcv and mmcv-lite install the same module), then
# installs mmcv. Prints the path of the environment's python on the last line.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
want_ops="${MMIIVCL_WITH_OPS:-0}"
[ "$want_ops" = "0" ] || [ "$want_ops" = "1" ] || {
  echo "[setup_env] MMIIVCL_WITH_OPS must be 0 or 1, got '$want_ops'" >&2; exit 2; }
for arg in "$@"; do
  case "$arg" in
    --with-ops) want_ops=1 ;;
    *) echo "[setup_env] unknown argument '$arg' (usage: tools/setup_env.sh [--with-ops])" >&2
       exit 2 ;;
  esac
done
VENV_DIR="${VENV_DIR:-$ROOT/.venv}"
TORCH_SPEC="${TORCH_SPEC:-torch==2.13.0}"
PY="${PYTHON:-python3}"
STAMP="$VENV_DIR/.mmiivcl-env-stamp"
# the stamp holds "<hash of the inputs>-<TORCH_SPEC> <profile>"
inputs="$(cat "$ROOT/requirements/"*.txt "$ROOT/setup.py" "$0" | sha256sum | cut -d' ' -f1)-$TORCH_SPEC"
VPY="$VENV_DIR/bin/python"

if [ -f "$STAMP" ] && [ -x "$VPY" ]; then
  read -r have_inputs have_profile < "$STAMP" || true
  if [ "${have_inputs:-}" = "$inputs" ] && { [ "${have_profile:-}" = ops ] || \
      { [ "${have_profile:-}" = lite ] && [ "$want_ops" = 0 ]; }; }; then
    echo "[setup_env] environment up to date ($have_profile profile): $VENV_DIR" >&2
    echo "$VPY"
    exit 0
  fi
fi

T0=$SECONDS
log() { echo "[setup_env] $(( SECONDS - T0 ))s: $*" >&2; }
[ -x "$VPY" ] || { log "creating virtual environment $VENV_DIR"; "$PY" -m venv "$VENV_DIR"; }
# --no-compile: no .pyc for all of torch & co. up front (a third of the install time); the
# import check at the end writes them for the modules the tools import (see there)
PIP=("$VPY" -m pip install --disable-pip-version-check --no-compile
     -c "$ROOT/requirements/constraints.txt")
export PIP_NO_INPUT=1
installed() { "$VPY" -m pip show -q "$1" >/dev/null 2>&1; }

# never downgrade: an environment with the full mmcv stays in the ops profile
if [ "$want_ops" = 0 ] && installed mmcv; then
  log "this environment has the full mmcv (ops profile): keeping it"
  want_ops=1
fi
profile=lite; [ "$want_ops" = 1 ] && profile=ops
log "profile: $profile"

log "base tools (setuptools<80 for pkg_resources users: mmcv setup.py, mmengine)"
if [ "$profile" = ops ]; then
  "${PIP[@]}" -q "pip>=23" "setuptools<80" wheel ninja >&2
else
  "${PIP[@]}" -q "pip>=23" "setuptools<80" wheel >&2
fi
# one resolver run for everything that comes as a wheel (each pip call costs seconds)
mmcv_lite=()
[ "$profile" = lite ] && mmcv_lite=(mmcv-lite==2.1.0)
log "$TORCH_SPEC, numpy<2, opencv<4.11, mmengine, ${mmcv_lite[*]:+${mmcv_lite[*]}, }mmaction2, mmdet, decord and the rest"
"${PIP[@]}" -q "$TORCH_SPEC" "numpy<2" "opencv-python<4.11" "opencv-contrib-python<4.11" \
  mmengine==0.10.7 "${mmcv_lite[@]}" \
  -r "$ROOT/requirements/runtime.txt" -r "$ROOT/requirements/tests.txt" >&2
if [ "$profile" = ops ]; then
  if installed mmcv-lite; then
    log "switching to the ops profile: uninstalling mmcv-lite (same module name as mmcv)"
    "$VPY" -m pip uninstall -y -q mmcv-lite >&2
  fi
  if ! "$VPY" -c "import mmcv.ops" 2>/dev/null; then
    reinstall=()
    installed mmcv && reinstall=(--force-reinstall --no-deps)
    log "mmcv 2.1.0 with ops from source (7.5-30 min on 2 cores the first time, 30.5 min on a 2-core AMD EPYC; pip caches the wheel)"
    MMCV_WITH_OPS=1 MAX_JOBS="${MAX_JOBS:-$(nproc)}" \
      "${PIP[@]}" --no-build-isolation "${reinstall[@]}" mmcv==2.1.0 >&2
  fi
fi
log "mmiivcl (editable)"
"${PIP[@]}" -q --no-build-isolation --no-deps -e "$ROOT" >&2
check="import torch, mmcv, mmengine, mmaction, mmdet, decord, numpy; assert numpy.__version__ < '2'"
[ "$profile" = ops ] && check="$check; import mmcv.ops"
# the check also imports what the tools and tests import, with bytecode writing on even under
# PYTHONDONTWRITEBYTECODE=1: those modules get their .pyc once here instead of being compiled
# again in every process (about 8 s of CPU per process for torch + mmaction2 otherwise)
log "import check (writes .pyc for the modules the tools import)"
env -u PYTHONDONTWRITEBYTECODE "$VPY" -W ignore -c \
  "$check; import mmiivcl, mmaction.models, matplotlib.pyplot, sklearn.linear_model, sklearn.manifold, pytest" >&2
echo "$inputs $profile" > "$STAMP"
log "done ($profile profile)"
echo "$VPY"
