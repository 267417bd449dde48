#!/usr/bin/env bash
# llama.cpp itself on a CUDA GPU (one device session on an H200: about 4 minutes of build, 2 of runs): builds llama-cpp-python for CUDA
# from a trimmed copy of its source distribution, then runs scripts/measure_llamacpp.py --gpu with every layer
# offloaded. Results under $OUT: llamacpp-cuda.jsonl, build.log, measure.log.
# Travels ignored (.git/info/exclude) and is named in the device call's carry:
#   .lcp/lcp.tar.gz  llama-cpp-python's sdist without docs, tests, models, tools and the non-CUDA GPU backends
#                    (pip download --no-binary :all: llama-cpp-python==0.3.36; the source is not committed)
#   .whl/            pydantic and gguf wheels (the device image lacks them)
set -uo pipefail
cd "$(dirname "$0")/.."
GPU="${GPU:-h200}"
. scripts/device_env.sh
mkdir -p /tmp/site
start=$(date +%s)
if ! "$PY" -c "import llama_cpp" 2>/dev/null; then
  tar xzf .lcp/lcp.tar.gz -C /tmp
  CMAKE_ARGS="-DGGML_CUDA=on -DCMAKE_CUDA_ARCHITECTURES=${CUDA_ARCH:-90-real} -DLLAVA_BUILD=OFF -DGGML_NATIVE=OFF \
-DGGML_CUDA_NCCL=OFF" CMAKE_BUILD_PARALLEL_LEVEL=$(nproc) timeout "${BUILD_S:-330}" "$PY" -m pip install \
    --no-build-isolation --no-deps --no-cache-dir --target /tmp/site /tmp/lcp >"$OUT/build.log" 2>&1
  echo "build rc=$? after $(( $(date +%s) - start )) s"
fi
left=$(( ${TOTAL_S:-470} - ($(date +%s) - start) ))
"$PY" scripts/measure_llamacpp.py --gpu "$GPU" --out "$OUT/llamacpp-cuda.jsonl" --budget-s $(( left - 30 )) 2>&1 \
  | grep -v -i warn | tee "$OUT/measure.log" | tail -40
exit 0
