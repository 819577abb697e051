#!/usr/bin/env bash
# Idempotent environment set-up used by both Quick-start commands.
# Creates .venv inside the repository and installs the known-good set
# (docs/design.md#pinned-stack-and-upstream-gaps).
#   TORCH_SPEC   torch requirement (default: torch==2.13.0, the CPU wheel on this machine kind;
#                GPU users: e.g. TORCH_SPEC="torch==2.13.0" with their CUDA index configured)
#   VENV_DIR     where the environment lives (default: <repo>/.venv)
# Prints the path of the environment's python on the last line.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV_DIR="${VENV_DIR:-$ROOT/.venv}"
TORCH_SPEC="${TORCH_SPEC:-torch==2.13.0}"
PY="${PYTHON:-python3}"
STAMP="$VENV_DIR/.mmiivcl-env-stamp"
want="$(cat "$ROOT/requirements/"*.txt "$ROOT/setup.py" "$0" | sha256sum | cut -d' ' -f1)-$TORCH_SPEC"

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ] && [ -x "$VENV_DIR/bin/python" ]; then
  echo "[setup_env] environment up to date: $VENV_DIR" >&2
  echo "$VENV_DIR/bin/python"
  exit 0
fi

log() { echo "[setup_env] $*" >&2; }
[ -x "$VENV_DIR/bin/python" ] || { log "creating virtual environment $VENV_DIR"; "$PY" -m venv "$VENV_DIR"; }
VPY="$VENV_DIR/bin/python"
PIP=("$VPY" -m pip install --disable-pip-version-check -c "$ROOT/requirements/constraints.txt")
export PIP_NO_INPUT=1

log "base tools (setuptools<80 for pkg_resources users: mmcv setup.py, mmengine)"
"${PIP[@]}" -q "pip>=23" "setuptools<80" wheel ninja >&2
log "torch: $TORCH_SPEC"
"${PIP[@]}" -q "$TORCH_SPEC" >&2
log "numpy<2 / opencv<4.11 / mmengine"
"${PIP[@]}" -q "numpy<2" "opencv-python<4.11" "opencv-contrib-python<4.11" mmengine==0.10.7 >&2
if ! "$VPY" -c "import mmcv, mmcv.ops" 2>/dev/null; then
  log "mmcv 2.1.0 with ops from source (about 7.5 min on 2 cores the first time; pip caches the wheel)"
  MMCV_WITH_OPS=1 MAX_JOBS="${MAX_JOBS:-$(nproc)}" "${PIP[@]}" --no-build-isolation mmcv==2.1.0 >&2
fi
log "mmaction2, mmdet, decord and the rest"
"${PIP[@]}" -q -r "$ROOT/requirements/runtime.txt" -r "$ROOT/requirements/tests.txt" >&2
log "mmiivcl (editable)"
"${PIP[@]}" -q --no-build-isolation --no-deps -e "$ROOT" >&2
"$VPY" -c "import torch, mmcv.ops, mmengine, mmaction, mmdet, decord, numpy; assert numpy.__version__ < '2'" >&2
echo "$want" > "$STAMP"
log "done"
echo "$VPY"
