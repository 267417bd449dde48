#!/usr/bin/env bash
# One device session on an H100/H200 (about 8 minutes): transformers on CUDA over the fake-tensor grid
# (scripts/measure_transformers_cuda.py), then the reference-model grid (planner.reference.grid) with what is left.
# Results under $OUT: gpu.csv, transformers-cuda.jsonl, grid/records.jsonl, grid/summary.json, the logs.
# The device image lacks pydantic: its wheels travel in .whl/ (see the device notes) and are installed offline.
#   OUT=/tmp/out bash scripts/gpu_session.sh                      # on the GPU machine
#   OUT=/tmp/out DEVICE=cpu TINY=1 bash scripts/gpu_session.sh    # dry run here
set -uo pipefail
cd "$(dirname "$0")/.."
. scripts/device_env.sh
if [ "$DEVICE" = cuda ]; then
  nvidia-smi --query-gpu=name,memory.total,memory.used,driver_version --format=csv >"$OUT/gpu.csv" 2>&1
  "$PY" -c "import torch, transformers; print(torch.__version__, torch.version.cuda, transformers.__version__)" \
    >>"$OUT/gpu.csv" 2>&1
fi
timeout "${TRANSFORMERS_S:-330}" "$PY" scripts/measure_transformers_cuda.py --out "$OUT/transformers-cuda.jsonl" \
  --device "$DEVICE" ${TINY:+--tiny} ${MODELS:+--models $MODELS} 2>&1 | grep -v -i warn | tee "$OUT/transformers.log"
MODE=cpu; [ "$DEVICE" = cuda ] && MODE=cuda
timeout "${GRID_S:-200}" "$PY" -m planner.reference.grid --out "$OUT/grid" --mode "$MODE" ${TINY:+--tiny} \
  --budget-s "${BUDGET_S:-140}" 2>&1 | tee "$OUT/grid.log" | tail -5
