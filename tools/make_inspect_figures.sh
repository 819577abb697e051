#!/usr/bin/env bash
# Regenerate the pictures of docs/inspect.md from the CPU demo run, with the
# project's own tools on its own generated data (nothing placed by hand):
#   1. the demo data set (tools/generate_demo_data.py; a no-op when present),
#   2. the demo pretraining with every monitor on
#      (configs/demo/iivcl_r3d18_demo_monitor.py; skipped when WORK_DIR
#      already holds a final checkpoint),
#   3. the NN grid sequence (IIVCL paper, Fig. 3b) stacked from the run's
#      nn_grid/epoch_*.png,
#   4. t-SNE of all demo videos, random init vs the pretrained backbone,
#   5. the monitor curves (NN label agreement, kNN top-1) from the run's log,
#   6. the zero-shot retrieval table (query_list -> train_list), pretrained
#      vs random init (3 seeds, mean ± std) vs chance.
#
# Usage: tools/make_inspect_figures.sh [WORK_DIR] [OUT_DIR]
#   WORK_DIR  default work_dirs/iivcl_r3d18_demo_monitor
#   OUT_DIR   default docs/figures
# Environment: PYTHON (default .venv/bin/python), CONFIG (default the demo
#   monitor config), DATA (default data/demo), TRAIN=0 to fail instead of
#   training when WORK_DIR has no checkpoint, WORKERS (dataloader workers, 2).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY="${PYTHON:-$ROOT/.venv/bin/python}"
CONFIG="${CONFIG:-configs/demo/iivcl_r3d18_demo_monitor.py}"
DATA="${DATA:-data/demo}"
WORK_DIR="${1:-work_dirs/$(basename "${CONFIG%.py}")}"
OUT="${2:-docs/figures}"
WORKERS="${WORKERS:-2}"
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-2}"
mkdir -p "$OUT"

echo "== 1. demo data ($DATA)"
# a no-op when a set with the current generator and parameters is there;
# a set from an older generator version is regenerated
"$PY" tools/generate_demo_data.py "$DATA" --config "$CONFIG"

ckpt_of() {  # the final checkpoint of a work dir, or nothing
  if [[ -f "$1/last_checkpoint" ]]; then cat "$1/last_checkpoint"; fi
}
CKPT="$(ckpt_of "$WORK_DIR")"
if [[ -z "$CKPT" || ! -f "$CKPT" ]]; then
  if [[ "${TRAIN:-1}" == 0 ]]; then
    echo "no checkpoint in $WORK_DIR (TRAIN=0)" >&2; exit 1
  fi
  echo "== 2. demo pretraining -> $WORK_DIR"
  "$PY" tools/train.py "$CONFIG" --work-dir "$WORK_DIR"
  CKPT="$(ckpt_of "$WORK_DIR")"
else
  echo "== 2. using the finished run $WORK_DIR ($CKPT)"
fi

echo "== 3. NN grid sequence"
"$PY" - "$WORK_DIR/nn_grid" "$OUT/nn_grid_sequence.png" <<'PYEOF'
import glob, os.path as osp, re, sys
import cv2
sys.path.insert(0, '.')
from mmiivcl.analysis.nn_grid import stack_images, write_png
src, out = sys.argv[1:3]
files = sorted(glob.glob(osp.join(src, 'epoch_*.png')),
               key=lambda p: int(re.findall(r'epoch_(\d+)', p)[-1]))
if not files:
    sys.exit(f'no NN grids in {src}: was NNVisualizationHook in the config?')
if len(files) > 5:  # first, last and three evenly spaced between
    files = [files[round(i * (len(files) - 1) / 4)] for i in range(5)]
imgs = [cv2.cvtColor(cv2.imread(p), cv2.COLOR_BGR2RGB) for p in files]
write_png(out, stack_images(imgs))
print(f'{len(files)} grids ({", ".join(osp.basename(p) for p in files)}) '
      f'-> {out}')
PYEOF

echo "== 4. t-SNE (random init, pretrained)"
TSNE_ARGS=(--list "$DATA/all_list.txt" --data-prefix "$DATA/videos"
           --classes "$DATA/classes.txt" --num-workers "$WORKERS")
"$PY" tools/visualize_tsne.py "$CONFIG" "${TSNE_ARGS[@]}" \
  --title "t-SNE of backbone features, random init" \
  --out "$OUT/tsne_random.png"
"$PY" tools/visualize_tsne.py "$CONFIG" "$CKPT" "${TSNE_ARGS[@]}" \
  --title "t-SNE of backbone features, IIVCL demo ($(basename "$CKPT"))" \
  --out "$OUT/tsne_iivcl.png"

echo "== 5. monitor curves"
CHANCE="$("$PY" - "$DATA/train_list.txt" <<'PYEOF'
import sys
import numpy as np
labels = [int(l.split()[-1]) for l in open(sys.argv[1]) if l.strip()]
p = np.bincount(labels) / len(labels)
print(f'{(p * p).sum():.4f}')
PYEOF
)"
"$PY" tools/plot_monitors.py "$WORK_DIR" --out "$OUT/monitors.png" \
  --chance "$CHANCE"

echo "== 6. zero-shot retrieval on the demo split"
RET_ARGS=(--gallery-list "$DATA/train_list.txt"
          --query-list "$DATA/query_list.txt"
          --data-prefix "$DATA/videos" --num-workers "$WORKERS")
# the tables only (the tools' log lines stay on the console)
tables() { grep -E '^(\||Zero-shot|[0-9]+ seeds)' || true; }
{
  echo "Pretrained (${CKPT#"$ROOT"/}):"
  echo
  "$PY" tools/retrieval.py "$CONFIG" "$CKPT" "${RET_ARGS[@]}" \
    --out "$OUT/retrieval_iivcl.json" 2>/dev/null | tables
  echo
  echo "Random init, seeds 0 1 2:"
  echo
  "$PY" tools/retrieval.py "$CONFIG" "${RET_ARGS[@]}" --seeds 0 1 2 \
    --out "$OUT/retrieval_random.json" 2>/dev/null | tables
} | tee "$OUT/retrieval_demo.md"
echo "figures in $OUT"
