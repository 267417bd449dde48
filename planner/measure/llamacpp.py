"""llama.cpp, measured: a GGUF of the model's exact architecture, loaded by llama.cpp itself on the CPU.

The file has every tensor of the spec, named as llama.cpp names them, in the types the quantization preset
gives each (planner.quant.gguf.tensor_types), and no weights: the data section is a hole (a sparse file), so a
70B model costs a few kilobytes of disk and is written in well under a second. llama-cpp-python (built from its
source distribution) loads it with mmap and creates a context with the given options; llama.cpp's own log lines
give the sizes it allocated, which are compared with planner's engine="llama.cpp" figures:

  load_tensors:   CPU_Mapped model buffer size =  1252.41 MiB        ↔ all weights (n_gpu_layers=0)
  llama_kv_cache:        CPU KV buffer size =   128.00 MiB           ↔ the KV cache (and its K/V split)
  llama_context:        CPU  output buffer size =     0.49 MiB       ↔ the output (logits) buffer
  ~llama_context:        CPU compute buffer size is 258.5020 MiB     ↔ the compute buffer, backend="cpu"

On a CPU-only run the CPU is the device: its one compute buffer is the graph a GPU would hold with every layer
offloaded, allocated by the CPU backend, so it is compared with planner's device compute buffer for backend="cpu"
(the CPU graph keeps tensors that CUDA's does not; planner/engines/llamacpp.py says which). The CPU backend's
repacked weight buffers (CPU_REPACK) are turned off (use_extra_bufts=False), as a GPU has none.
The run happens in a child process (python -m planner.measure.llamacpp), so its memory goes when it ends.
"""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from pathlib import Path

from ..spec import ModelSpec

# llama.cpp's architecture name for each model_type whose GGUF layout planner writes (convert_hf_to_gguf.py).
ARCH = {"llama": "llama", "mistral": "llama", "mixtral": "llama", "qwen2": "qwen2", "qwen3": "qwen3",
        "qwen3_moe": "qwen3moe",
        "gemma2": "gemma2", "gemma3_text": "gemma3", "phi3": "phi3", "gpt_oss": "gpt-oss"}
# Tensors a llama.cpp architecture names differently from planner (llama-arch.cpp LLM_TENSOR_NAMES): gpt-oss's norm
# before the MoE is LLM_TENSOR_ATTN_POST_NORM, "blk.%d.post_attention_norm".
RENAME = {"gpt-oss": {"ffn_norm": "post_attention_norm"}}
GGML_TYPE = {"fp32": 0, "fp16": 1, "q4_0": 2, "q8_0": 8, "bf16": 30}  # enum ggml_type (ggml.h)
MIB = 2**20
MMPROJ_PREFIXES = ("v", "mm")  # a multimodal model's vision tensors (planner.tensors), which live in the mmproj file


def write_gguf(spec: ModelSpec, preset: str, path: str | Path) -> int:
    """Write the sparse GGUF of `spec` in llama.cpp preset `preset` (e.g. "Q4_K_M"); its size in bytes."""
    import numpy as np
    from gguf import GGML_QUANT_SIZES, GGMLQuantizationType, GGUFWriter

    from ..quant.gguf import tensor_types
    from ..tensors import weight_tensors

    if spec.model_type not in ARCH:
        raise ValueError(f"no GGUF layout for model_type {spec.model_type!r}; known: {', '.join(ARCH)}")
    arch = ARCH[spec.model_type]
    types = tensor_types(spec, preset)
    w = GGUFWriter(str(path), arch)
    w.add_context_length(spec.max_context)
    w.add_embedding_length(spec.d_model)
    w.add_block_count(spec.n_layers)
    # llama.cpp's llama architecture sizes its experts with feed_forward_length (Mixtral's config has no dense MLP)
    w.add_feed_forward_length(spec.d_ff or (spec.moe.expert_d_ff if spec.moe else 0))
    w.add_head_count(spec.n_heads)
    w.add_head_count_kv(spec.n_kv_heads)
    w.add_key_length(spec.head_dim)
    w.add_value_length(spec.head_dim)
    w.add_rope_dimension_count(spec.head_dim)
    w.add_rope_freq_base(10000.0)
    w.add_layer_norm_rms_eps(1e-6)
    w.add_vocab_size(spec.vocab_size)
    w.add_tokenizer_model("no_vocab")
    if spec.moe is not None:
        w.add_expert_count(spec.moe.n_experts)
        w.add_expert_used_count(spec.moe.experts_per_token)
        w.add_expert_feed_forward_length(spec.moe.expert_d_ff)
    if spec.sliding_window:
        w.add_sliding_window(spec.sliding_window)
    if arch == "gemma2":
        w.add_attn_logit_softcapping(50.0)
        w.add_final_logit_softcapping(30.0)
    rename = RENAME.get(arch, {})
    for t in weight_tensors(spec):
        if t.name.split(".")[0] in MMPROJ_PREFIXES:
            continue  # the vision tower and projector: llama.cpp loads them from the separate mmproj GGUF
        kind = GGMLQuantizationType[types[t.name]]
        block, size = GGML_QUANT_SIZES[kind]
        name = ".".join(rename.get(part, part) for part in t.name.split("."))
        w.add_tensor_info(name, t.shape, np.dtype(np.float32), math.prod(t.shape) // block * size, raw_dtype=kind)
    w.write_header_to_file(str(path))
    w.write_kv_data_to_file()
    w.write_ti_data_to_file()
    f = w.fout[0]
    f.flush()
    align = w.data_alignment
    end = -(-f.tell() // align) * align + sum(-(-ti.nbytes // align) * align for ti in w.tensors[0].values())
    f.truncate(end)  # the data section: a hole of zeros, no disk blocks
    w.close()
    return end


# The destructor's line gives the compute buffer to 4 decimals (the reserve's line, which logs.py reads, to 2).
_COMPUTE_EXACT = re.compile(r"~llama_context:\s+(\S+) compute buffer size is\s+([0-9.]+) MiB")
_KV_SPLIT = re.compile(r"llama_kv_cache(?:_iswa)?: size = .*K \((\w+)\):\s+([0-9.]+) MiB, V \((\w+)\):\s+([0-9.]+) MiB")


def parse_log(text: str) -> dict:
    """llama.cpp's buffer sizes from its log, in bytes (summed over devices and, for the KV cache, caches): the
    buffer lines as planner.measure.logs reads any user's log, the compute buffer from the destructor's line."""
    from ..errors import PlannerError
    from .logs import llamacpp_buffers

    try:
        buffers = llamacpp_buffers(text)
    except PlannerError:
        buffers = {}
    out = {f"{fig}_bytes": sum(b for (f, _), b in buffers.items() if f == fig) for fig in ("model", "kv", "output")}
    out["compute_bytes"] = sum(round(float(m[2]) * MIB) for m in _COMPUTE_EXACT.finditer(text))
    out |= _kv_split(text)
    if not out["model_bytes"] or not out["kv_bytes"]:
        raise RuntimeError("llama.cpp's log has no model or KV buffer line; it did not load the model")
    return out


def _kv_split(text: str) -> dict:
    """The K and V parts of every KV cache the log sizes (llama_kv_cache: size = … K (f16): … MiB, V (f16): … MiB)."""
    return {"k_bytes": sum(round(float(m[2]) * MIB) for m in _KV_SPLIT.finditer(text)),
            "v_bytes": sum(round(float(m[4]) * MIB) for m in _KV_SPLIT.finditer(text))}


def parse_device_log(text: str) -> dict:
    """A run with every layer on the GPU: each buffer on the device and in system RAM (the token embeddings stay
    there, the output and the host side of the compute graph are pinned), in bytes; the compute buffers from the
    destructor's lines."""
    from .logs import llamacpp_buffers
    from .logs.llamacpp import is_host_buffer

    buffers = llamacpp_buffers(text)

    def total(fig, on_host):
        return sum(b for (f, d), b in buffers.items() if f == fig and is_host_buffer(d) == on_host)

    exact = {m[1]: round(float(m[2]) * MIB) for m in _COMPUTE_EXACT.finditer(text)}
    out = {"model_bytes": total("model", False), "host_model_bytes": total("model", True),
           "kv_bytes": total("kv", False), "host_output_bytes": total("output", True),
           "compute_bytes": sum(b for d, b in exact.items() if not is_host_buffer(d)),
           "host_compute_bytes": sum(b for d, b in exact.items() if is_host_buffer(d)), **_kv_split(text)}
    if not out["model_bytes"] or not out["kv_bytes"] or not out["compute_bytes"]:
        raise RuntimeError("llama.cpp's log has no device model, KV or compute buffer line: nothing was offloaded")
    return out


def _child(path: str, options: dict) -> dict:
    """In the child process: load `path` with llama.cpp on the CPU, create the context, return the parsed log."""
    import ctypes

    import llama_cpp as L

    lines: list[str] = []

    @L.llama_log_callback
    def keep(level, text, user_data):
        lines.append(text.decode("utf-8", "replace"))

    L.llama_log_set(keep, ctypes.c_void_p(0))
    L.llama_backend_init()
    mp = L.llama_model_default_params()
    mp.n_gpu_layers, mp.use_mmap, mp.use_extra_bufts = options.get("n_gpu_layers", 0), True, False
    model = L.llama_model_load_from_file(path.encode(), mp)
    if not model:
        _keep_log(options, lines)
        raise RuntimeError("llama.cpp could not load the model: " + _last_error(lines))
    cp = L.llama_context_default_params()
    cp.n_ctx, cp.n_batch, cp.n_ubatch = options["n_ctx"], options["n_batch"], options["n_ubatch"]
    cp.n_seq_max, cp.n_threads, cp.n_threads_batch = options["n_parallel"], 1, 1
    cp.flash_attn_type = 1 if options["flash_attn"] else 0
    cp.type_k, cp.type_v = GGML_TYPE[options["type_k"]], GGML_TYPE[options["type_v"]]
    cp.swa_full = False  # llama-server's and llama-cli's default (common.h swa_full = false); the C API's is true
    ctx = L.llama_init_from_model(model, cp)
    if not ctx:
        _keep_log(options, lines)
        raise RuntimeError("llama.cpp could not create the context: " + _last_error(lines))
    L.llama_free(ctx)  # the destructor logs "~llama_context: CPU compute buffer size is …"
    L.llama_model_free(model)
    _keep_log(options, lines)
    text = "".join(lines)
    parsed = parse_device_log(text) if options.get("n_gpu_layers") else parse_log(text)
    return parsed | {"llama_cpp_python": L.__version__}


def _keep_log(options: dict, lines: list[str]) -> None:
    if log := options.get("log"):  # the whole log, for a reader who wants to see the lines themselves
        Path(log).write_text("".join(lines))


def _last_error(lines: list[str]) -> str:
    """llama.cpp's own reason: the last log line that says error or failed."""
    text = "".join(lines).splitlines()
    return next((ln.strip() for ln in reversed(text) if "error" in ln or "failed" in ln), "no reason logged")


def run(path: str | Path, options: dict, *, timeout_s: float = 600) -> dict:
    """Measure in a child process; `options`: n_ctx, n_batch, n_ubatch, n_parallel, flash_attn, type_k, type_v."""
    proc = subprocess.run([sys.executable, "-m", "planner.measure.llamacpp", str(path), json.dumps(options)],
                          capture_output=True, text=True, timeout=timeout_s)
    if proc.returncode != 0:
        raise RuntimeError(f"llama.cpp run failed: {(proc.stderr.strip().splitlines() or ['no output'])[-1]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    print(json.dumps(_child(sys.argv[1], json.loads(sys.argv[2]))))


RESOLUTION_BYTES = 0.005 * MIB + 1  # the log prints MiB with two decimals: half a unit of its last digit (+1 B
#                                     for a figure read back from it, rounded to whole bytes)
COMPUTE_TOLERANCE = 0.05         # the compute buffer: planner models the graph's peak, not ggml-alloc's packing


def options_for(spec: ModelSpec, *, context: int, n_parallel: int = 1, n_ubatch: int = 512, n_batch: int = 2048,
                flash_attn: bool = True, type_k: str = "fp16", type_v: str | None = None) -> dict:
    """The llama.cpp context options of a run: n_ctx is every slot's cells (context × n_parallel)."""
    return dict(n_ctx=context * n_parallel, n_batch=n_batch, n_ubatch=n_ubatch, n_parallel=n_parallel,
                flash_attn=flash_attn, type_k=type_k, type_v=type_v or type_k)


def predicted(spec: ModelSpec, quant: str, options: dict) -> dict:
    """planner's figures for the run's buffers: host figures with no layer offloaded (the CPU holds them all), and
    the device compute buffer of a full offload (the graph the CPU computes here)."""
    from ..estimate import estimate

    kw = dict(quant=quant, context=options["n_ctx"] // options["n_parallel"], batch=options["n_parallel"],
              engine="llama.cpp", kv_dtype=options["type_k"], type_v=options["type_v"],
              n_ubatch=options["n_ubatch"], n_batch=options["n_batch"], flash_attn=options["flash_attn"],
              n_parallel=options["n_parallel"], n_ctx=options["n_ctx"], program="library")  # llama-cpp-python
    host = estimate(spec, n_gpu_layers=0, **kw).engine_details
    device = estimate(spec, backend="cpu", **kw)
    return {"model_bytes": host["host_weights_bytes"], "kv_bytes": host["host_kv_bytes"],
            "k_bytes": host["kv_k_bytes"], "v_bytes": host["kv_v_bytes"],
            "output_bytes": host["host_output_bytes"], "compute_bytes": device.activation_bytes}


# The llama.cpp build each llama-cpp-python release vendors: its CHANGELOG's "update llama.cpp to
# ggml-org/llama.cpp@<commit>" and that commit's build number as public pins name it (0c1e57098 is b11312, 2026-10-01)
LLAMA_CPP_PYTHON_BUILDS = {"0.3.36": 11312}


def record_build(record: dict) -> int | None:
    """The llama.cpp build of a measurement record ("llama-cpp-python 0.3.36"), where planner knows it."""
    return LLAMA_CPP_PYTHON_BUILDS.get(record.get("engine_version", "").removeprefix("llama-cpp-python "))


def predicted_on_gpu(spec: ModelSpec, quant: str, options: dict, gpu: str, build: int | None = None) -> dict:
    """planner's figures for a run with every layer on `gpu` (CUDA backend): the device's weights, KV and compute
    buffer, and what stays in system RAM (token embeddings, the pinned output and host compute buffers). build: the
    llama.cpp build that ran (None: the current rules)."""
    from ..estimate import estimate

    e = estimate(spec, quant=quant, context=options["n_ctx"] // options["n_parallel"], batch=options["n_parallel"],
                 engine="llama.cpp", gpu=gpu, backend="cuda", kv_dtype=options["type_k"], type_v=options["type_v"],
                 n_ubatch=options["n_ubatch"], n_batch=options["n_batch"], flash_attn=options["flash_attn"],
                 n_parallel=options["n_parallel"], n_ctx=options["n_ctx"], n_gpu_layers=options["n_gpu_layers"],
                 engine_version=None if build is None else f"b{build}", program="library")  # llama-cpp-python
    d = e.engine_details
    return {"model_bytes": e.weights_bytes, "host_model_bytes": d["host_weights_bytes"],
            "kv_bytes": e.kv_cache_bytes, "k_bytes": d["kv_k_bytes"], "v_bytes": d["kv_v_bytes"],
            "host_output_bytes": d["host_output_bytes"], "compute_bytes": e.activation_bytes,
            "host_compute_bytes": d["host_compute_bytes"]}


def _gpu_name(gpu: str) -> str:
    from ..gpus import load_gpu

    return load_gpu(gpu).name


def within(what: str, estimated: int, measured: int) -> bool:
    """Exact at the log's resolution, or (compute buffers) within COMPUTE_TOLERANCE."""
    if what in ("compute_bytes", "host_compute_bytes"):
        return abs(estimated - measured) <= COMPUTE_TOLERANCE * measured
    return abs(estimated - measured) <= RESOLUTION_BYTES


def measure(spec: ModelSpec, quant: str, options: dict, *, workdir: str | Path, gpu: str | None = None) -> dict:
    """One record: write the GGUF, run llama.cpp, compare each buffer with planner's figure. gpu: the catalog id of
    the CUDA GPU the run offloads every layer to (options["n_gpu_layers"]); None: the CPU run."""
    from ..quant.catalog import get_quant

    preset = get_quant(quant).gguf_preset
    if preset is None:
        raise ValueError(f"{quant!r} is not a llama.cpp preset (q4_k_m, q8_0, …)")
    path = Path(workdir) / f"{spec.name.replace('/', '__')}-{preset}.gguf"
    write_gguf(spec, preset, path)
    try:
        measured = run(path, options)
    finally:
        path.unlink(missing_ok=True)
    version = measured.pop("llama_cpp_python")
    build = LLAMA_CPP_PYTHON_BUILDS.get(version)
    estimated = predicted(spec, quant, options) if gpu is None else predicted_on_gpu(spec, quant, options, gpu, build)
    where = "the CPU" if gpu is None else f"a CUDA GPU ({gpu}), every layer offloaded"
    on = {"device": "cpu"} if gpu is None else {"device": _gpu_name(gpu), "gpu": gpu}
    return {"engine": "llama.cpp", "engine_version": f"llama-cpp-python {version}", **on,
            "model": spec.name, "quant": get_quant(quant).name, "options": options,
            "estimated": estimated, "measured": measured,
            "error_pct": {k: round(100 * (estimated[k] / measured[k] - 1), 3) for k in measured if measured[k]},
            "within_tolerance": {k: within(k, estimated[k], measured[k]) for k in measured},
            "source": f"planner.measure.llamacpp: a sparse GGUF of the architecture loaded by llama.cpp on {where}"}
