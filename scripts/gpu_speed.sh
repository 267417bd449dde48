#!/usr/bin/env bash
# One device session (about 90 s of GPU time on an H200, 2 minutes with the MoE models): the speed model's kernels at real models' shapes
# (planner.measure.kernels_cuda). Results under $OUT: kernels-cuda.jsonl, gpu.csv, kernels.log.
# The device image lacks pydantic: its wheels travel in .whl/ (see the device notes) and are installed offline.
#   OUT=/tmp/out bash scripts/gpu_speed.sh                      # on the GPU machine
#   OUT=/tmp/out DEVICE=cpu TINY=1 bash scripts/gpu_speed.sh    # dry run here
set -uo pipefail
cd "$(dirname "$0")/.."
. scripts/device_env.sh
if [ "$DEVICE" = cuda ]; then
  nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm,clocks.max.mem,power.limit \
    --format=csv >"$OUT/gpu.csv" 2>&1
  "$PY" -c "import torch; print(torch.__version__, torch.version.cuda)" >>"$OUT/gpu.csv" 2>&1
fi
timeout "${KERNELS_S:-400}" "$PY" -m planner.measure.kernels_cuda --out "$OUT/kernels-cuda.jsonl" --device "$DEVICE" \
  ${TINY:+--tiny} --budget-s "${BUDGET_S:-330}" 2>&1 | grep -v -i warn | tee "$OUT/kernels.log"
[ "$DEVICE" = cuda ] && nvidia-smi --query-gpu=clocks.sm,clocks.mem,temperature.gpu,power.draw --format=csv \
  >>"$OUT/gpu.csv" 2>&1
exit 0
