#!/usr/bin/env bash
# Prepare, on a machine with network, the wheels benchmarks/gpu_check.sh
# installs on a GPU machine that has none (Python 3.12, torch with CUDA,
# numpy 2.x and opencv-python-headless preinstalled), plus the few shared
# Kinetics clips its DataLoader section reads. Everything lands in git-ignored
# folders of benchmarks/gpu_kit/ that a remote call carries with the checkout
# (64 MiB in all): wheels/ (or wheels-py3XX/ for another --python) and clips/.
#
#   bash benchmarks/gpu_kit/prepare_wheels.sh                 # for Python 3.12
#   bash benchmarks/gpu_kit/prepare_wheels.sh --python 3.11   # the CPU mode here
#
# Only binary wheels, no dependency resolution (--no-deps): the list below is
# what mmengine 0.10.7, mmcv-lite 2.1.0 (no compiled ops: pretraining needs
# none, only AVA detection does), mmaction2 1.2.0 and decord 0.6.0 import at
# run time on top of torch / numpy / opencv. numpy is not carried: the stack
# runs on numpy 2 (checked by gpu_check.sh's import section; see
# docs/cost_model.md "GPU kit"). --cpu-extras also fetches numpy 2 and
# opencv-python-headless for the CPU mode's fresh venv (not carried).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
PYV=3.12
CPU_EXTRAS=0
SHARED="${MMIIVCL_SHARED_DATA:-$ROOT/../shared/data}"
while [ $# -gt 0 ]; do
  case "$1" in
    --python) PYV="$2"; shift 2 ;;
    --cpu-extras) CPU_EXTRAS=1; shift ;;
    *) echo "prepare_wheels.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
if [ "$PYV" = 3.12 ]; then OUTDIR="$HERE/wheels"; else OUTDIR="$HERE/wheels-py${PYV/./}"; fi
PIP="${PIP:-python3 -m pip}"
mkdir -p "$OUTDIR"
PKGS=(
  mmengine==0.10.7 mmcv-lite==2.1.0 mmaction2==1.2.0 decord==0.6.0
  # mmengine / mmcv-lite imports
  addict==2.4.0 pyyaml==6.0.2 yapf==0.43.0 platformdirs==4.3.6 termcolor==2.5.0
  rich==13.9.4 markdown-it-py==3.0.0 mdurl==0.1.2 pygments==2.18.0
  packaging==24.2 pillow==11.0.0
  # mmengine.visualization (imported by mmengine.runner)
  matplotlib==3.9.2 contourpy==1.3.1 cycler==0.12.1 fonttools==4.55.0
  kiwisolver==1.4.7 pyparsing==3.2.0 python-dateutil==2.9.0.post0 six==1.16.0
  # mmaction2 (scipy: see scipy_shim/, too large to carry)
  einops==0.8.0 importlib_metadata==8.5.0 zipp==3.21.0
  # the CUDA SyncBN test (pytest.ini sets timeout=)
  pytest==8.3.3 pluggy==1.5.0 iniconfig==2.0.0 pytest-timeout==2.3.1
)
DL=(download --disable-pip-version-check --only-binary=:all: --no-deps
    --python-version "$PYV" --implementation cp
    --platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64
    --platform manylinux_2_28_x86_64 --platform manylinux2010_x86_64
    --platform any -d "$OUTDIR")
$PIP "${DL[@]}" "${PKGS[@]}"
if [ "$CPU_EXTRAS" = 1 ]; then
  mkdir -p "$OUTDIR/cpu-extras"
  DL[-1]="$OUTDIR/cpu-extras"
  $PIP "${DL[@]}" 'numpy==2.2.6' 'opencv-python-headless==4.11.0.86'
fi
# a few shared Kinetics clips for the DataLoader section (../shared does not
# travel); they stay out of git (benchmarks/gpu_kit/.gitignore)
if [ -d "$SHARED/videos/kinetics" ]; then
  mkdir -p "$HERE/clips"
  for f in arm_wrestling_demo.mp4 clean_and_jerk.mp4 skateboarding.mp4 tai_chi.mp4; do
    cp -n "$SHARED/videos/kinetics/$f" "$HERE/clips/"
  done
else
  echo "prepare_wheels.sh: $SHARED/videos/kinetics not found; no clips copied" >&2
fi
echo "wheels: $(ls "$OUTDIR"/*.whl | wc -l) files, $(du -sh --exclude=cpu-extras "$OUTDIR" | cut -f1) in $OUTDIR"
[ -d "$HERE/clips" ] && echo "clips: $(du -sh "$HERE/clips" | cut -f1) in $HERE/clips"
echo "checkout (without .git) + kit: $(du -sh --exclude=.git --exclude=.venv --exclude=cpu-extras --exclude='wheels-*' "$ROOT" | cut -f1)"
