# Sourced by the device scripts (gpu_session.sh, gpu_speed.sh, gpu_llamacpp.sh) from the repository root: OUT and
# DEVICE defaults, the Python packages the device image lacks installed offline from .whl/ (see the device notes:
# pydantic and its dependencies, gguf, diskcache), and PYTHONPATH with the repository on it.
OUT="${OUT:-out}"
DEVICE="${DEVICE:-cuda}"
mkdir -p "$OUT"
PY=$(command -v python3 || command -v python)
if ! "$PY" -c "import pydantic, gguf, diskcache" 2>/dev/null; then
  "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
    && export PYTHONPATH=/tmp/site
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
