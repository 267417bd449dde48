#!/usr/bin/env bash
# Regenerate every measurement record and the documents made from them (about 15 minutes on 2 cores):
#   llama.cpp itself on the CPU   → profiles/measurements/llamacpp-cpu.jsonl, docs/measured-llamacpp.md
#   transformers under fake tensors → profiles/measurements/transformers-fake.jsonl
#   both, with the speed check     → docs/accuracy.md
# Needs the measure extra: pip install -e '.[measure]' transformers (llama-cpp-python builds from source once).
set -euo pipefail
cd "$(dirname "$0")/.."
python scripts/measure_llamacpp.py
python scripts/measure_llamacpp.py --report > docs/measured-llamacpp.md
python scripts/measure_transformers.py
python benchmarks/speed_accuracy.py --markdown > docs/accuracy.md
