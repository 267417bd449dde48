"""A user's own startup log, read back: the settings it states and the figures it logs, beside planner's.

llama.cpp (llama-server, llama-cli, llama-cpp-python, Ollama's runner) logs its context settings and every buffer
it allocates, and Ollama its own estimate; vLLM logs the model's memory, the memory left for KV blocks, the KV
cache size in tokens and the concurrency; SGLang the weights it loaded and the K and V pools. check_log() reads the
model, the weights format, the GPU and the runtime's version from the log (or takes them from its arguments),
makes planner's estimate for the same configuration, and returns one row per logged figure: what the log says,
what planner says, the error. A log it cannot reconcile raises PlannerError, one line saying which line and why.
"""

from __future__ import annotations

import re

from ...errors import PlannerError
from .common import GIB, MIB, LogCheck, Row
from .llamacpp import (
    check_llamacpp,
    llamacpp_buffers,
    llamacpp_quant,
    llamacpp_settings,
    quant_from_size,
    refuse_fork,
)
from .recognise import catalog_gpu, gpu_in_log, gpus_in_log, model_in_log, profile_for, shape_mismatch, version_in_log
from .sglang import check_sglang
from .vllm import check_vllm

MAX_LOG_CHARS = 50 * 2**20

_SGLANG = re.compile(r"Load weight (?:begin|end)\. |KV Cache is allocated\.|max_total_num_tokens=|sglang\.srt|"
                     r"mem_fraction_static=")
_LLAMA = re.compile(r"llama_kv_cache|load_tensors:|llama_context:|llama_new_context_with_model:|llama_model_loader:|"
                    r"llm_load_print_meta:|print_info: |source=memory\.go|msg=\"offload to ")
_VLLM = re.compile(r"Model loading took|model weights take|Loading model weights took|Available KV cache memory|"
                   r"GPU KV cache size|GPU blocks:|vllm", re.IGNORECASE)


def engine_of(text: str) -> str:
    """'sglang', 'llama.cpp' (Ollama's logs too) or 'vllm', by the lines only that runtime prints."""
    if _SGLANG.search(text):
        return "sglang"
    if _LLAMA.search(text):
        return "llama.cpp"
    if _VLLM.search(text):
        return "vllm"
    raise PlannerError("this log is neither llama.cpp's (or Ollama's), vLLM's nor SGLang's: no buffer, KV cache or "
                       "model-loading line in it")


def _model(text: str, model) -> tuple[object, str]:
    """The spec to plan with and where it came from: the argument, else the name the log gives."""
    from ...profiles import load_model

    if model is not None:
        return load_model(model), "given"
    found, names = model_in_log(text)
    if found is not None:
        name, line = next((n, ln) for n, ln in names if profile_for(n) == found)
        shown = re.split(r"[\\/]", name)[-1] if name.count("/") > 1 or "\\" in name else name
        return load_model(found), f"line {line}: {shown!r}" + ("" if name == found else ", same shapes")
    if names:
        name, line = names[0]
        raise PlannerError(f"the log names the model {name[:80]!r} (line {line}), which is no bundled profile: "
                           "give --model (see `planner models`)")
    raise PlannerError("the log does not name the model: give --model (see `planner models`)")


def check_log(text: str, model=None, *, quant: str | None = None, gpu: str | None = None,
              engine_version: str | None = None) -> LogCheck:
    """Read a startup log and put planner's figure beside each one it logs.

    model, quant, gpu, engine_version: what the log does not say (a profile name or path, a weights format, a
    catalog GPU id, the vLLM release or llama.cpp build that wrote it); each overrides what the log says."""
    if not isinstance(text, str):
        raise PlannerError(f"a log must be text, got {type(text).__name__}")
    if len(text) > MAX_LOG_CHARS:
        raise PlannerError(f"a log of {len(text):,} characters is more than the {MAX_LOG_CHARS:,} a startup log may "
                           "have")
    text = text.replace("\r\n", "\n")
    engine = engine_of(text)
    if engine == "llama.cpp":
        refuse_fork(text)
    spec, model_from = _model(text, model)
    if engine == "llama.cpp" and (wrong := shape_mismatch(text, spec)) is not None:
        fix = ("give the model the log loaded" if model_from == "given"
               else f"the name it gives ({model_from}) matched the wrong profile: give --model")
        raise PlannerError(f"{wrong}: {fix}")
    gpu_id, gpu_name, n_gpus = gpu_in_log(text)
    if gpu is not None:
        from ...gpus import load_gpu

        given = load_gpu(gpu).id
        logged = {g: name for name, total, _ in gpus_in_log(text) if (g := catalog_gpu(name, total)) is not None}
        if logged and given not in logged:  # a figure from another GPU's budget would be compared as if it were
            g, name = next(iter(logged.items()))
            raise PlannerError(f"gpu {gpu!r} is not the GPU the log ran on ({g}: {name!r}); leave it out, or give "
                               "the log of a run on it")
        gpu_id, gpu_from = given, "given"
    else:
        gpu_from = "log" if gpu_id else None
    found = {"model": f"{spec.name} ({model_from})"}
    if engine == "llama.cpp":
        quant_from = "given" if quant else "log"
        _check_quant(quant, llamacpp_quant(text))
        quant = quant or llamacpp_quant(text)
        if quant is None and (inferred := quant_from_size(text, spec)) is not None:
            quant, quant_from = inferred[0], inferred[1]
        if quant is None:
            raise PlannerError("the log names no file type (no 'file type', 'model ftype' or 'general.file_type' "
                               "line) and no model size that fits one preset: give --quant (e.g. q4_k_m)")
        result = check_llamacpp(text, spec, quant, size_is_input=quant_from not in ("given", "log"),
                                version=engine_version)
        found["quant"] = quant if quant_from in ("given", "log") else quant_from
    elif engine == "sglang":
        if engine_version is not None:
            raise PlannerError(f"engine_version {engine_version!r}: planner has one set of SGLang rules (its "
                               "releases are not versioned); give it for vLLM and llama.cpp logs")
        result = check_sglang(text, spec, quant)
    else:
        names = " ".join(n for n, _ in model_in_log(text)[1])
        result = check_vllm(text, spec, quant, gpu_id, model_names=names, version=engine_version)
    if gpu is not None and engine == "vllm":
        _check_room(result.rows, gpu)
    if gpu_name or gpu_id:
        found["gpu"] = (gpu_id or "not in the catalog") + (f" ({gpu_name})" if gpu_name and gpu_from == "log" else "")
        if n_gpus > 1:
            found["gpu"] += f", {n_gpus} devices"
    found["version"] = f"{engine_version} (given)" if engine_version is not None else version_in_log(text)
    result.settings = {**found, **result.settings}
    result.model = spec.name
    return result


def _check_quant(given: str | None, logged: str | None) -> None:
    """A --quant whose GGUF preset is not the file type the llama.cpp log prints would compare another file's figures
    with this one's: refuse it. A preset with its parts changed (q4_k_m[keep=...], a build's rules) is the same
    type."""
    if given is None or logged is None:
        return
    from ...quant.catalog import get_quant

    if get_quant(given).gguf_preset != get_quant(logged).gguf_preset:
        raise PlannerError(f"quant {given!r} is not the file the log loaded (its file type is {logged}); leave --quant "
                           "out, or give the log of a run of that file")


def _check_room(rows, gpu: str) -> None:
    """A vLLM log whose weights and KV cache (GiB a GPU) outgrow the given GPU ran on another: refuse it rather than
    compare its figures with a budget it never had."""
    from ...gpus import load_gpu

    logged = {row.figure: row.logged for row in rows if row.unit == "GiB"}
    held = logged.get("model weights", 0) + logged.get("available KV cache memory", 0)
    g = load_gpu(gpu)
    if held * GIB > g.memory_bytes:
        raise PlannerError(f"gpu {gpu!r}: the log's weights and KV cache take {held:.2f} GiB a GPU, more than "
                           f"{g.id}'s {g.memory_bytes / GIB:.2f} GiB; the run was on a larger GPU: give that one")


__all__ = ["GIB", "MIB", "LogCheck", "Row", "catalog_gpu", "check_log", "engine_of", "llamacpp_buffers",
           "llamacpp_quant", "llamacpp_settings"]
