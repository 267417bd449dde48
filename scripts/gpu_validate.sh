#!/usr/bin/env bash
# GPU validation on one H100/H200 in under 8 minutes: the reference model (and transformers, if installed) over
# the grid in planner/reference/grid.py, records in $OUT/records.jsonl. The device image lacks pydantic and
# PyYAML: pass their wheels in a folder (WHEELS, default ./wheels) and they are installed from it offline.
#   OUT=/tmp/out scripts/gpu_validate.sh            # on the GPU machine
#   OUT=/tmp/out MODE=cpu TINY=1 scripts/gpu_validate.sh   # dry run here, 2-layer miniatures on the CPU
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${OUT:-out}"
MODE="${MODE:-cuda}"
WHEELS="${WHEELS:-wheels}"
if ! python -c "import pydantic, yaml" 2>/dev/null; then
  python -m pip install --no-index --find-links "$WHEELS" pydantic pydantic-core annotated-types typing-inspection pyyaml
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
python -m planner.reference.grid --out "$OUT" --mode "$MODE" ${TINY:+--tiny} --budget-s "${BUDGET_S:-420}"
