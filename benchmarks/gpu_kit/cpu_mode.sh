#!/usr/bin/env bash
# CPU mode of the GPU kit: the same benchmarks/gpu_check.sh, tiny sizes, in a
# FRESH virtual environment that looks like the GPU machine's: numpy 2 and
# opencv-python-headless (from the kit's cpu-extras), torch, and the kit's
# OpenMMLab wheels installed with --no-index --no-deps.
#
#   bash benchmarks/gpu_kit/prepare_wheels.sh --python 3.11 --cpu-extras
#   OUT=/tmp/kit_out bash benchmarks/gpu_kit/cpu_mode.sh
#
# torch: no wheel is downloaded (a CPU torch is ~200 MB); the fresh venv sees
# only the torch of TORCH_FROM (default: the project's .venv site-packages)
# through a .pth file naming a folder of links to torch and its pure-Python
# dependencies -- nothing else of that environment (no numpy, cv2, mm*).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
PYTHON="${PYTHON:-python3}"
PYV="$($PYTHON -c 'import sys; print(f"{sys.version_info[0]}{sys.version_info[1]}")')"
WHEELS="${WHEELS:-$HERE/wheels-py$PYV}"
VENV="${VENV:-/tmp/mmiivcl-cpu-venv}"
TORCH_FROM="${TORCH_FROM:-$ROOT/.venv/lib/python${PYV:0:1}.${PYV:1}/site-packages}"
[ -d "$WHEELS/cpu-extras" ] || { echo "cpu_mode.sh: $WHEELS/cpu-extras missing; run prepare_wheels.sh --python ${PYV:0:1}.${PYV:1} --cpu-extras" >&2; exit 2; }
[ -d "$TORCH_FROM/torch" ] || { echo "cpu_mode.sh: no torch in TORCH_FROM=$TORCH_FROM" >&2; exit 2; }
rm -rf "$VENV"
"$PYTHON" -m venv "$VENV"   # fresh: no system site-packages
SITE="$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
LINKS="$VENV/torch-only"
mkdir -p "$LINKS"
for pat in torch torchgen functorch 'torch-*.dist-info' filelock 'filelock-*' \
           typing_extensions.py 'typing_extensions-*' sympy 'sympy-*' mpmath \
           'mpmath-*' networkx 'networkx-*' jinja2 'jinja2-*' markupsafe \
           'markupsafe-*' fsspec 'fsspec-*'; do
  for p in "$TORCH_FROM"/$pat; do [ -e "$p" ] && ln -s "$p" "$LINKS/"; done
done
echo "$LINKS" > "$SITE/torch_only.pth"
"$VENV/bin/python" -m pip install --disable-pip-version-check --no-index \
  --no-deps "$WHEELS"/cpu-extras/*.whl
VENV="$VENV" WHEELS="$WHEELS" PYTHON="$PYTHON" exec bash "$ROOT/benchmarks/gpu_check.sh" --cpu
