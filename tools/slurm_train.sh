#!/usr/bin/env bash
# Launch tools/train.py on a Slurm partition (srun, one task per GPU).
usage() {
  cat <<'USAGE'
Usage: tools/slurm_train.sh PARTITION JOB_NAME CONFIG [train.py args]

Runs tools/train.py CONFIG --launcher slurm as GPUS srun tasks on PARTITION.
Arguments after CONFIG go to tools/train.py (python tools/train.py --help lists them).

Environment (default in brackets):
  GPUS [8]  GPUS_PER_NODE [8]  CPUS_PER_TASK [5]  SRUN_ARGS [""]
  PYTHON    interpreter [the repository's .venv/bin/python if present, else python3]
USAGE
}
case "${1:-}" in -h|--help) usage; exit 0;; esac
if [ $# -lt 3 ]; then usage >&2; exit 2; fi
set -x
PARTITION=$1
JOB_NAME=$2
CONFIG=$3
GPUS=${GPUS:-8}
GPUS_PER_NODE=${GPUS_PER_NODE:-8}
CPUS_PER_TASK=${CPUS_PER_TASK:-5}
SRUN_ARGS=${SRUN_ARGS:-""}
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PY="${PYTHON:-$([ -x "$ROOT/.venv/bin/python" ] && echo "$ROOT/.venv/bin/python" || echo python3)}"
PYTHONPATH="$ROOT":$PYTHONPATH \
srun -p ${PARTITION} --job-name=${JOB_NAME} --gres=gpu:${GPUS_PER_NODE} \
    --ntasks=${GPUS} --ntasks-per-node=${GPUS_PER_NODE} \
    --cpus-per-task=${CPUS_PER_TASK} --kill-on-bad-exit=1 ${SRUN_ARGS} \
    "$PY" -u "$ROOT/tools/train.py" "${CONFIG}" --launcher="slurm" "${@:4}"
