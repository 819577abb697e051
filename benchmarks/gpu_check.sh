#!/usr/bin/env bash
# GPU kit, one call: install the carried wheels without network, check the
# imports, then measure and write JSON section by section to $OUT (a call cut
# short by its time limit still returns the sections done). About 5 minutes
# on one H200 (GPU mode); under a minute in the CPU mode.
#
# Before (on a machine with network; the folders are git-ignored, carry them):
#   bash benchmarks/gpu_kit/prepare_wheels.sh       # wheels/ for Python 3.12 + clips/
# On the GPU machine (Python 3.12, torch with CUDA, numpy 2, opencv-headless):
#   OUT=/some/dir bash benchmarks/gpu_check.sh
#   (remote call: carry benchmarks/gpu_kit/wheels and benchmarks/gpu_kit/clips)
# CPU mode (tiny sizes, proves the script end to end without a GPU):
#   bash benchmarks/gpu_kit/cpu_mode.sh              # fresh venv, then this with --cpu
#
# Sections (files in $OUT): 00_env.json, 01_install.log, 02_imports.json,
# 03_steps.json (IIVCL and rho-MoCo steps of R3D-50 8x224^2 at per-GPU batch
# 8/16/32, bf16 autocast, channels-last 3D: time/step, clips/s, peak memory,
# MFU, IIVCL/rho-MoCo ratio; NN lookup 512 x 65536; ClipAugmentPreprocessor
# ms per batch of 32), 04_loader.json (DataLoader samples/s, 8 and 16
# workers, shared Kinetics clips: the full CPU pipeline, the GPU-aug recipe's
# worker ('deferred') and the decode bound),
# 05_syncbn.json (the CUDA SyncBN checks); summary.json at the end.
# Environment: OUT (default ./gpu_check_out), VENV (default
# /tmp/mmiivcl-gpu-venv; created with --system-site-packages so the
# machine's torch / numpy / opencv are used), WHEELS (default
# benchmarks/gpu_kit/wheels), CLIPS (default benchmarks/gpu_kit/clips),
# PYTHON (default python3).
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
MODE=gpu
[ "${1:-}" = "--cpu" ] && MODE=cpu
OUT="${OUT:-$ROOT/gpu_check_out}"
VENV="${VENV:-/tmp/mmiivcl-gpu-venv}"
WHEELS="${WHEELS:-$ROOT/benchmarks/gpu_kit/wheels}"
CLIPS="${CLIPS:-$ROOT/benchmarks/gpu_kit/clips}"
PYTHON="${PYTHON:-python3}"
mkdir -p "$OUT"
T0=$(date +%s)
declare -A STATUS
section() {  # section NAME TIMEOUT_S CMD...: run, record rc and seconds
  local name="$1" limit="$2"; shift 2
  local s=$(date +%s)
  echo "== $name (limit ${limit}s)"
  timeout -k 10 "$limit" "$@" > "$OUT/$name.log" 2>&1
  local rc=$?
  tail -n 25 "$OUT/$name.log"
  STATUS[$name]="{\"rc\": $rc, \"seconds\": $(( $(date +%s) - s ))}"
  echo "== $name: rc=$rc in $(( $(date +%s) - s )) s"
}

# 00 environment ------------------------------------------------------------
{
  echo "{\"mode\": \"$MODE\", \"date\": \"$(date -u +%FT%TZ)\","
  echo " \"nproc\": $(nproc), \"python\": \"$($PYTHON -V 2>&1)\","
  echo " \"nvidia_smi\": \"$(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null | tr -d '"' | head -1)\","
  echo " \"kit_wheels\": $(ls "$WHEELS"/*.whl 2>/dev/null | wc -l), \"kit_size\": \"$(du -sh "$WHEELS" 2>/dev/null | cut -f1)\"}"
} > "$OUT/00_env.json"
cat "$OUT/00_env.json"

# 01 install (no network: --no-index --no-deps) -------------------------------
install() {
  if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv --system-site-packages "$VENV" || return 1
  fi
  "$VENV/bin/python" -m pip install --disable-pip-version-check --no-index \
    --no-deps "$WHEELS"/*.whl || return 1
}
export -f install
export VENV WHEELS PYTHON
section 01_install 180 bash -c install
PY="$VENV/bin/python"
# mmaction2 imports scipy.stats at import time (skeleton transforms, unused
# here); without a scipy on the machine, the kit's import shim stands in
if ! "$PY" -c 'import scipy.stats' 2>/dev/null; then
  SITE="$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
  echo "$ROOT/benchmarks/gpu_kit/scipy_shim" > "$SITE/mmiivcl_scipy_shim.pth"
  echo "scipy not found: using benchmarks/gpu_kit/scipy_shim (import only)"
fi
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"

# 02 imports, numpy 2 compatibility ---------------------------------------------
section 02_imports 120 "$PY" benchmarks/gpu_kit/check_imports.py \
  --clips "$CLIPS" --json "$OUT/02_imports.json"

# 03 training steps + NN lookup -----------------------------------------------
if [ "$MODE" = gpu ]; then
  section 03_steps 300 "$PY" benchmarks/bench_gpu.py --batches 8 16 32 \
    --steps 8 --warmup 3 --json "$OUT/03_steps.json"
else
  section 03_steps 300 "$PY" benchmarks/bench_gpu.py --quick \
    --json "$OUT/03_steps.json"
fi

# 04 DataLoader samples/s on the carried Kinetics clips -----------------------
if [ "$MODE" = gpu ]; then
  section 04_loader 150 "$PY" benchmarks/bench_pipeline.py --data "$CLIPS" \
    --workers 8 16 --variants ours deferred bound --profile-samples 0 \
    --repeats 1 \
    --samples 384 --batch-size 8 --json "$OUT/04_loader.json"
else
  section 04_loader 150 "$PY" benchmarks/bench_pipeline.py --data "$CLIPS" \
    --workers 1 2 --variants ours deferred bound --profile-samples 0 \
    --repeats 1 \
    --samples 4 --batch-size 2 --json "$OUT/04_loader.json"
fi

# 05 SyncBN: the CUDA test of the suite + a 2-rank SyncBN vs plain-BN check ---
section 05_syncbn 120 "$PY" benchmarks/gpu_kit/syncbn_check.py \
  --json "$OUT/05_syncbn.json"
if [ "$MODE" = gpu ]; then
  section 05_syncbn_pytest 120 "$PY" -m pytest -q -p no:cacheprovider \
    tests/test_dist/test_distributed.py -k sync_bn_trains_on_gpu
fi

# summary -----------------------------------------------------------------------
{
  echo "{\"mode\": \"$MODE\", \"seconds\": $(( $(date +%s) - T0 )), \"sections\": {"
  first=1
  for k in $(printf '%s\n' "${!STATUS[@]}" | sort); do
    [ $first = 1 ] || echo ","
    first=0
    printf '  "%s": %s' "$k" "${STATUS[$k]}"
  done
  echo "}}"
} > "$OUT/summary.json"
cat "$OUT/summary.json"
fail=0
for k in "${!STATUS[@]}"; do
  case "${STATUS[$k]}" in *'"rc": 0,'*) ;; *) fail=1 ;; esac
done
exit $fail
