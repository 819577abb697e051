#!/usr/bin/env bash
# Launch tools/train.py in GPUS processes on this node (torchrun).
usage() {
  cat <<'USAGE'
Usage: tools/dist_train.sh CONFIG GPUS [train.py args]

Runs GPUS training processes of tools/train.py CONFIG --launcher pytorch on this
node (python -m torch.distributed.run). On a machine without CUDA the processes
train on CPU over gloo. Arguments after GPUS go to tools/train.py
(python tools/train.py --help lists them).

Environment (default in brackets):
  NNODES [1]  NODE_RANK [0]  PORT [29500]  MASTER_ADDR [127.0.0.1]
  PYTHON      interpreter [the repository's .venv/bin/python if present, else python3]
USAGE
}
case "${1:-}" in -h|--help) usage; exit 0;; esac
if [ $# -lt 2 ]; then usage >&2; exit 2; fi
set -e
CONFIG=$1
GPUS=$2
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-"127.0.0.1"}
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PY="${PYTHON:-$([ -x "$ROOT/.venv/bin/python" ] && echo "$ROOT/.venv/bin/python" || echo python3)}"
PYTHONPATH="$ROOT":$PYTHONPATH \
"$PY" -m torch.distributed.run --nnodes=$NNODES --node_rank=$NODE_RANK \
    --master_addr=$MASTER_ADDR --nproc_per_node=$GPUS --master_port=$PORT \
    "$ROOT/tools/train.py" "$CONFIG" --launcher pytorch "${@:3}"
