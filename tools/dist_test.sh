#!/usr/bin/env bash
# Launch tools/test.py in GPUS processes on this node (torchrun).
usage() {
  cat <<'USAGE'
Usage: tools/dist_test.sh CONFIG CHECKPOINT GPUS [test.py args]

Runs GPUS processes of tools/test.py CONFIG CHECKPOINT --launcher pytorch on this
node (python -m torch.distributed.run). On a machine without CUDA the processes
run on CPU over gloo. Arguments after GPUS go to tools/test.py
(python tools/test.py --help lists them).

Environment (default in brackets):
  NNODES [1]  NODE_RANK [0]  PORT [29500]  MASTER_ADDR [127.0.0.1]
  PYTHON      interpreter [the repository's .venv/bin/python if present, else python3]
USAGE
}
case "${1:-}" in -h|--help) usage; exit 0;; esac
if [ $# -lt 3 ]; then usage >&2; exit 2; fi
set -e
CONFIG=$1
CHECKPOINT=$2
GPUS=$3
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-"127.0.0.1"}
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PY="${PYTHON:-$([ -x "$ROOT/.venv/bin/python" ] && echo "$ROOT/.venv/bin/python" || echo python3)}"
PYTHONPATH="$ROOT":$PYTHONPATH \
"$PY" -m torch.distributed.run --nnodes=$NNODES --node_rank=$NODE_RANK \
    --master_addr=$MASTER_ADDR --nproc_per_node=$GPUS --master_port=$PORT \
    "$ROOT/tools/test.py" "$CONFIG" "$CHECKPOINT" --launcher pytorch "${@:4}"
