"""llama.cpp's startup log (llama-server, llama-cli, llama-cpp-python, Ollama's runner), and Ollama's own estimate.

llama.cpp logs the GGUF's file type and size, its context settings and every buffer it allocates, per device;
Ollama's server logs, before it starts the runner, what it expects those buffers to be (llm/memory.go, the
'offload to cuda' line) and the runner's command line.
"""

from __future__ import annotations

import re

from ...engines.llamacpp.releases import LLAMACPP_OLDEST, LLAMACPP_OUTPUTS_MAX, llamacpp_build
from ...errors import PlannerError
from .common import GIB, MIB, LogCheck, Row, first, half_digit, line_of, quoted
from .llamacpp_build import _output_last, llamacpp_build_in_log, newest_build_of_lines  # noqa: F401 (tests)
from .ollama import ESTIMATE, estimate_rows

_CTX = r"(?:llama_context|llama_new_context_with_model|llama_init_from_model)"  # the prefix over the years
_LLAMA_SETTINGS = {key: re.compile(rf"{_CTX}:\s+{key}\s+=\s+(\S+)")
                   for key in ("n_ctx", "n_batch", "n_ubatch", "n_seq_max", "flash_attn", "kv_unified",
                               "n_outputs_max")}
_LLAMA_BUFFERS = [  # (figure, pattern): device and MiB
    # print_backend_buffers_info: the name in the qvac-fabric-llm.cpp fork (b7248 and later)
    ("model", re.compile(r"(?:load_tensors|llm_load_tensors|print_backend_buffers_info):\s+(\S+) (?:model )?buffer size"
                         r"\s+=\s+([0-9.]+) MiB")),
    ("kv", re.compile(r"(?:llama_kv_cache\w*|init):\s+(\S+) KV buffer size\s+=\s+([0-9.]+) MiB")),  # init: ~b4980
    ("rs", re.compile(r"llama_memory_recurrent:\s+(\S+) RS buffer size\s+=\s+([0-9.]+) MiB")),  # a hybrid's state
    ("output", re.compile(rf"{_CTX}:\s+(\S+)\s+output buffer size\s+=\s+([0-9.]+) MiB")),
    ("compute", re.compile(rf"(?:sched_reserve|graph_reserve|{_CTX}):\s+(\S+) compute buffer size\s+=\s+"
                           r"([0-9.]+) MiB")),
]
# llama-server's own lines: its slots ("srv  load_model:", "slot   load_model:"), its listening line, its binary
_SERVER = re.compile(r"(?:^|\s)(?:srv|slot)\s+\w+:|server is listening|llama-server", re.MULTILINE)
_KV_TYPES = re.compile(r"K \((\w+)\):\s+[0-9.]+ MiB, V \((\w+)\)")
_OFFLOADED = re.compile(r"offloaded (\d+)/(\d+) layers to GPU")
# The command line, where the log holds it: the routed experts of the first N layers in system RAM (--n-cpu-moe N),
# of every layer (--cpu-moe); the tensors whose names -ot / --override-tensor "REGEX=CPU" finds
_N_CPU_MOE = re.compile(r"(?<![\w-])(?:--n-cpu-moe|-ncmoe)[= ]+(\d+)")
_ALL_CPU_MOE = re.compile(r"(?<![\w-])(?:--cpu-moe|-cmoe)(?![\w-])")
_NO_OP_OFFLOAD = re.compile(r"(?<![\w-])--no-op-offload(?![\w-])")  # what system RAM holds runs on the CPU
_OVERRIDE = re.compile(r"(?<![\w-])(?:-ot|--override-tensor)[= ]+(?:\"([^\"]*)\"|'([^']*)'|([^\s'\"]+))")
_GGML_TO_PLANNER = {"f16": "fp16", "f32": "fp32", "bf16": "bf16", "q8_0": "q8_0", "q4_0": "q4_0"}
# ik_llama.cpp, a fork: its context lines (MLA modes, fused MoE, smart expert reduction) are not llama.cpp's
_IK_FORK = re.compile(rf"{_CTX}:\s+(?:mla_attn|attn_max_b|fused_moe|ser)\s+=")


def _program(text: str, s: dict) -> str:
    """What ran a log of b9460 or later (releases.LLAMACPP_OUTPUTS_MAX): n_outputs_max (printed from b9464) is
    n_parallel (times a speculative decoder's drafts) under llama-server and llama-cli, which runs its server context,
    and n_batch through the library; without it, the server's own lines tell it from a program of the library
    (llama-cpp-python, llama-bench)."""
    if "n_outputs_max" in s and "n_batch" in s:
        return "library" if s["n_outputs_max"] >= s["n_batch"] > s.get("n_seq_max", 1) else "llama-server"
    return "llama-server" if _SERVER.search(text) else "library"


def llamacpp_settings(text: str) -> dict:
    """The context settings llama.cpp logged (n_ctx, n_batch, n_ubatch, slots, flash attention, cache types,
    layers on the GPU)."""
    out: dict = {}
    for key, pattern in _LLAMA_SETTINGS.items():
        if m := pattern.search(text):
            out[key] = m[1]
    settings = {k: int(out[k]) for k in ("n_ctx", "n_batch", "n_ubatch", "n_seq_max") if k in out}
    if "flash_attn" in out:
        settings["flash_attn"] = out["flash_attn"] in ("1", "enabled", "true", "auto")
    if "kv_unified" in out:
        settings["kv_unified"] = out["kv_unified"] in ("1", "true")
    if "n_outputs_max" in out:  # from b9464: the output rows its graph is reserved for
        settings["n_outputs_max"] = int(out["n_outputs_max"])
    if m := _KV_TYPES.search(text):
        settings["type_k"], settings["type_v"] = (_GGML_TO_PLANNER.get(m[1], m[1]), _GGML_TO_PLANNER.get(m[2], m[2]))
    if m := _OFFLOADED.search(text):
        settings["n_gpu_layers"] = int(m[1])
    if m := _N_CPU_MOE.search(text):
        settings["n_cpu_moe"] = int(m[1])
    elif _ALL_CPU_MOE.search(text):
        settings["n_cpu_moe"] = -1  # every layer's
    if _NO_OP_OFFLOAD.search(text):
        settings["op_offload"] = False
    items = [item.strip() for groups in _OVERRIDE.findall(text) for item in "".join(groups).split(",")]
    if overrides := [item for item in items if item.endswith("=CPU")]:  # other buffer types are not modelled
        settings["override_tensor"] = ",".join(overrides)
    return settings




_PARAMS = re.compile(r"model params\s*=\s*([0-9.]+) ([KMBT])")


def _untied(text: str, spec):
    """The model with an output matrix of its own, where the config ties it to the embeddings but the GGUF's printed
    parameter count is the untied one (to half its last printed digit, and nearer it than the tied count: a
    conversion that wrote output.weight); else None."""
    if not spec.tie_embeddings or (m := _PARAMS.search(text)) is None:
        return None
    unit = {"K": 1e3, "M": 1e6, "B": 1e9, "T": 1e12}[m[2]]
    printed, rounding = float(m[1]) * unit, 0.5 * 10 ** -len(m[1].partition(".")[2]) * unit  # half its last digit
    untied = spec.param_count + spec.vocab_size * spec.d_model
    if abs(printed - untied) <= rounding and abs(printed - untied) < abs(printed - spec.param_count):
        return spec.model_copy(update={"tie_embeddings": False})
    return None


def llamacpp_buffers(text: str, *, lines: dict | None = None) -> dict[tuple[str, str], int]:
    """(figure, device) → bytes, summed when a figure appears more than once for a device (an SWA cache).
    `lines`, when given, is filled with the line of each (figure, device)."""
    out: dict[tuple[str, str], int] = {}
    for figure, pattern in _LLAMA_BUFFERS:
        seen = set()
        for m in pattern.finditer(text):
            if figure == "compute" and (m[1], m[2]) in seen:
                continue  # the reserve and the context log the same compute buffer
            seen.add((m[1], m[2]))
            out[(figure, m[1])] = out.get((figure, m[1]), 0) + round(float(m[2]) * MIB)
            if lines is not None:
                lines.setdefault((figure, m[1]), line_of(text, m.start()))
    if not out:
        raise PlannerError("no buffer size line in this llama.cpp log (run with verbose logging)")
    return out


def is_host_buffer(device: str) -> bool:
    """CPU, CPU_Mapped, CPU_REPACK and CUDA_Host (pinned) buffers are system RAM; CUDA0, ROCm0, Metal, … device."""
    return device.startswith("CPU") or device.endswith("_Host")


_FILE_TYPE = re.compile(r"(?:file type|model ftype)\s+=\s+(?:\(guessed\)\s+)?(?:mostly\s+)?([^\n]+?)\s*$", re.MULTILINE)
_FILE_TYPE_ID = re.compile(r"general\.file_type\s+u32\s+=\s+(\d+)")
# llama.h's llama_ftype, for the 'general.file_type u32 = N' metadata line
_FTYPES = {0: "f32", 1: "f16", 2: "q4_0", 3: "q4_1", 7: "q8_0", 8: "q5_0", 9: "q5_1", 10: "q2_k", 11: "q3_k_s",
           12: "q3_k_m", 13: "q3_k_l", 14: "q4_k_s", 15: "q4_k_m", 16: "q5_k_s", 17: "q5_k_m", 18: "q6_k",
           19: "iq2_xxs", 20: "iq2_xs", 21: "q2_k_s", 22: "iq3_xs", 23: "iq3_xxs", 24: "iq1_s", 25: "iq4_nl",
           26: "iq3_s", 27: "iq3_m", 28: "iq2_s", 29: "iq2_m", 30: "iq4_xs", 31: "iq1_m", 32: "bf16", 36: "tq1_0",
           37: "tq2_0", 38: "mxfp4_moe"}


def _preset(name: str) -> str:
    """llama_model_ftype_name's text → planner's preset: 'Q4_K - Medium' → q4_k_m, 'Q2_K - Medium' → q2_k,
    'IQ3_S mix - 3.66 bpw' → iq3_m, 'MXFP4 MoE' → mxfp4_moe, 'all F32' → f32."""
    s = name.strip()
    if m := re.match(r"(Q\d_K) - (Small|Medium|Large)", s):
        return "q2_k" if m[0] == "Q2_K - Medium" else f"{m[1].lower()}_{m[2][0].lower()}"
    if s.startswith("IQ3_S mix"):
        return "iq3_m"
    if s.upper().startswith("MXFP4"):
        return "mxfp4_moe"
    return s.removeprefix("all ").split()[0].lower()


def llamacpp_quant(text: str) -> str | None:
    """The preset the log's file type line names: 'Q4_K - Medium' → q4_k_m, 'Q8_0' → q8_0; else the GGUF's
    'general.file_type' number."""
    if m := _FILE_TYPE.search(text):
        return _preset(m[1])
    if m := _FILE_TYPE_ID.search(text):
        return _FTYPES.get(int(m[1]))
    return None


_SIZE = re.compile(r"(?:model size|file size)\s+=\s+([0-9.]+) (GiB|MiB)")


def quant_from_size(text: str, spec) -> tuple[str, str] | None:
    """(preset, why) when the log names no file type but its 'model size' fits exactly one GGUF preset."""
    from ...quant.catalog import get_quant, quant_names
    from ...weights import weights_bytes

    m, line = first(_SIZE, text)
    if not m:
        return None
    unit = GIB if m[2] == "GiB" else MIB
    logged, tol = float(m[1]) * unit, half_digit(m[1]) * unit
    fits = [q for q in quant_names() if get_quant(q).is_gguf and not q.startswith("gguf-")
            and abs(weights_bytes(spec, q) - logged) <= tol]
    if len(fits) != 1:
        return None
    return fits[0], f"{fits[0]} (no file type line: the only GGUF preset of the {m[1]} {m[2]} on line {line})"


def _file_size_row(text: str, spec, quant: str) -> Row | None:
    from ...weights import weights_bytes

    m, line = first(_SIZE, text)
    if not m:
        return None
    unit = 1024 if m[2] == "GiB" else 1
    return Row("model size (GGUF tensors)", float(m[1]) * unit, weights_bytes(spec, quant) / MIB, "MiB",
               "all tensors of the file, wherever they are loaded", line, half_digit(m[1]) * unit)


def check_ollama_estimate(text: str, spec, quant: str) -> LogCheck:
    """Ollama's own estimate (memory.go) for the runner it starts, beside planner's reconstruction of it."""
    rows, settings = estimate_rows(text, spec, quant)
    return LogCheck("ollama", settings, rows)


def refuse_fork(text: str) -> None:
    m, line = first(_IK_FORK, text)
    if m:
        raise PlannerError(f"line {line} ('{quoted(text, line)}') is ik_llama.cpp's, a fork of llama.cpp whose KV "
                           "cache and compute buffers differ from it (no sliding-window cache, its own MLA and MoE "
                           "paths); planner follows mainline llama.cpp")


def _refuse_unloaded(text: str, lines: dict, buffers: dict, s: dict, gpu_weights: int) -> None:
    """'offloaded 33/33 layers to GPU' beside a GPU model buffer of 1 MiB: the layers stayed in host memory (a
    runtime's fault, not a configuration planner can follow)."""
    on_gpu = sum(b for (f, dev), b in buffers.items() if f == "model" and not is_host_buffer(dev))
    if s.get("n_gpu_layers", 0) > 0 and 0 < on_gpu < 0.05 * gpu_weights:
        off, line = first(_OFFLOADED, text)
        where = min(ln for (f, dev), ln in lines.items() if f == "model" and not is_host_buffer(dev))
        raise PlannerError(f"line {line} says '{off[0]}', yet line {where} puts {on_gpu / MIB:,.2f} MiB of weights "
                           f"on the GPU, not the {gpu_weights / MIB:,.2f} MiB those layers hold: the layers stayed in "
                           "host memory, which no setting planner follows does")


# the context planner assumes for a log that stops before llama.cpp creates one: only the model buffers are checked
# then, and they do not depend on it
WEIGHTS_ONLY_CTX = 512


def check_llamacpp(text: str, spec, quant: str, *, size_is_input: bool = False,
                   version: str | None = None) -> LogCheck:
    from ...estimate import estimate

    refuse_fork(text)
    s = llamacpp_settings(text)
    if (untied := _untied(text, spec)) is not None:  # the file stores an output matrix the model's config ties
        spec, s["output"] = untied, "the file's own output matrix (the config ties it to the embeddings)"
    size_row = _file_size_row(text, spec, quant)
    weights_only = "n_ctx" not in s
    if weights_only:
        if ESTIMATE.search(text):
            return check_ollama_estimate(text, spec, quant)
        if not any(figure == "model" and pattern.search(text) for figure, pattern in _LLAMA_BUFFERS):
            if size_row is not None and not size_is_input:  # the log stops before the context: the size is all
                return LogCheck("llama.cpp", s, [size_row])
            raise PlannerError("the log has no 'llama_context: n_ctx' line: it stops before the context is created")
        # the log stops after loading the tensors (a crash, an abort): the model buffers are placed by then and do
        # not depend on the context, so they are checked; a nominal one-slot context stands in for the rest
        s["context"] = "none: the log stops before the context is created (model buffers only)"
    logged_keys = set(s)
    slots = s.get("n_seq_max", 1)
    n_ctx = s.get("n_ctx", WEIGHTS_ONLY_CTX)
    kw = dict(quant=quant, engine="llama.cpp", n_ctx=n_ctx, n_parallel=slots, context=n_ctx // slots, batch=slots)
    for key in ("n_batch", "n_ubatch", "flash_attn", "n_gpu_layers", "kv_unified"):
        if key in s:
            kw[key] = s[key]
    if s.get("n_cpu_moe") and spec.moe is not None:  # the experts the command line keeps in system RAM (any N)
        kw["n_cpu_moe"] = s["n_cpu_moe"] = spec.n_layers if s["n_cpu_moe"] < 0 else min(s["n_cpu_moe"], spec.n_layers)
    elif "n_cpu_moe" in s and spec.moe is None:  # a dense model has no experts to keep there
        del s["n_cpu_moe"]
    if "override_tensor" in s:  # -ot …=CPU
        kw["override_tensor"] = s["override_tensor"]
    if "op_offload" in s:  # --no-op-offload
        kw["op_offload"] = s["op_offload"]
    if version is not None:  # the caller's build, over what the log prints
        kw["engine_version"] = f"b{llamacpp_build(version)}"
    elif (found := llamacpp_build_in_log(text)) is not None:  # that build's rules (sliding-window cells, padding)
        build, line = found
        if build < LLAMACPP_OLDEST:
            raise PlannerError(f"line {line} ('{quoted(text, line)}') is llama.cpp build {build}: planner follows "
                               f"llama.cpp from b{LLAMACPP_OLDEST} (the per-layer KV cache), whose buffers older "
                               "builds did not have")
        kw["engine_version"] = f"b{build}"
    elif (newest := newest_build_of_lines(text)) is not None:  # no build printed: the newest its lines allow
        kw["engine_version"] = f"b{newest}"
        s["version"] = f"b{newest} at the latest (dated by its lines)"
    if llamacpp_build(kw.get("engine_version")) >= LLAMACPP_OUTPUTS_MAX:  # what reserved the graph's output rows
        kw["program"] = s["program"] = _program(text, s)
        if "n_outputs_max" in s:  # as printed (from b9464): a speculative decoder's drafts add rows
            kw["n_outputs_max"] = s["n_outputs_max"]
    if "flash_attn" not in s:  # printed since llama.cpp has flash attention (ggml-org/llama.cpp PR 5021, April
        kw["flash_attn"] = s["flash_attn"] = False  # 2024): a log without the line is of a build without it
    if "kv_unified" not in s and slots > 1:
        # a build that does not print kv_unified predates the cache split per sequence (mid-2025, which added the
        # setting and its log line): one cache all sequences shared, each attending to the whole n_ctx, the compute
        # buffer sized for it
        kw["kv_unified"] = s["kv_unified"] = True
    if "n_ubatch" not in s:  # before the n_batch/n_ubatch split (PR 6017, March 2024) the graph was reserved for
        kw["n_batch"] = kw["n_ubatch"] = s["n_ubatch"] = s.get("n_batch", 512)  # one batch, 512 by default
    if "type_k" in s:
        kw["kv_dtype"], kw["type_v"] = s["type_k"], s["type_v"]
    lines: dict = {}
    buffers = llamacpp_buffers(text, lines=lines)
    on_gpu = any(not is_host_buffer(d) for _, d in buffers)
    vulkan = any(d.startswith("Vulkan") and not is_host_buffer(d) for _, d in buffers)
    e = estimate(spec, backend=("vulkan" if vulkan else "cuda") if on_gpu else "cpu", **kw)
    d = e.engine_details
    _refuse_unloaded(text, lines, buffers, s, e.weights_bytes)
    if size_row is not None and size_is_input:
        size_row.note, size_row.planner = "the preset was read from this size, so it is no check", None
    rows = [size_row] if size_row is not None else []
    if weights_only:  # the context's buffers and the defaults assumed for them are not the log's
        buffers = {k: b for k, b in buffers.items() if k[0] == "model"}
        s = {k: v for k, v in s.items() if k in logged_keys or k == "version"}
    if not on_gpu:  # a CPU run: the CPU holds everything
        host = estimate(spec, backend="cpu", **{**kw, "n_gpu_layers": 0}).engine_details
        # no GPU backend at all (a CPU build, or --device none): the CPU is the one device, its compute buffer the
        # whole graph's, as a GPU's is with every layer on it
        alone = all(dev.startswith("CPU") for _, dev in buffers)  # no CUDA_Host or Vulkan_Host: no GPU backend
        compute = estimate(spec, backend="cpu", **{**kw, "n_gpu_layers": spec.n_layers + 1}).activation_bytes \
            if alone else e.activation_bytes
        rs_host = host.get("host_rs_bytes", 0)
        predicted = {"model": host["host_weights_bytes"], "kv": host["host_kv_bytes"] - rs_host, "rs": rs_host,
                     "output": host["host_output_bytes"], "compute": compute}
        for (fig, dev), b in buffers.items():
            expected, note = predicted[fig], ""
            if (fig, dev) == ("model", "CPU_REPACK"):  # beside the mapped file: which matrices the CPU backend
                expected, note = None, ("copies of the matrices the CPU backend repacks into its interleaved "
                                        "layouts (which types depends on the CPU's instructions): not modelled")
            elif (fig, dev) == ("model", "CPU_Mapped"):
                note = "mmap: the file's range, every tensor"
            rows.append(Row(f"{fig} buffer ({dev})", b / MIB, None if expected is None else expected / MIB, "MiB",
                            note, line=lines[(fig, dev)], resolution=0.005))
        return LogCheck("llama.cpp", s, rows)
    # the compute buffer alone: before b9489 flash attention's f16 copies of a quantized cache come from CUDA's pool
    # a hybrid model's recurrent state is its own buffer (RS) beside the attention layers' KV
    gpu = {"model": e.weights_bytes, "kv": e.kv_cache_bytes - d.get("rs_bytes", 0), "rs": d.get("rs_bytes", 0),
           "compute": e.activation_bytes - e.engine_details.get("fa_f16_pool_bytes", 0)}
    host = {"model": d["host_weights_bytes"], "kv": d["host_kv_bytes"] - d.get("host_rs_bytes", 0),
            "rs": d.get("host_rs_bytes", 0), "compute": d["host_compute_bytes"], "output": d["host_output_bytes"]}
    gpu_total = {fig: sum(b for (f, dev), b in buffers.items() if f == fig and not is_host_buffer(dev)) for fig in gpu}
    for fig, logged in gpu_total.items():
        if logged:
            devices = sorted({dev for (f, dev) in buffers if f == fig and not is_host_buffer(dev)})
            note = "" if len(devices) == 1 else f"{len(devices)} GPUs together: planner plans one GPU"
            rows.append(Row(f"{fig} buffer ({'+'.join(devices)})", logged / MIB,
                            gpu[fig] / MIB if len(devices) == 1 else None, "MiB", note,
                            min(lines[(fig, dev)] for dev in devices), 0.005 * len(devices)))
    mapped_span = not d["output_on_gpu"]  # the output on the host: see below
    # the host's weights in several buffers (the CPU backend's repacked layouts, CPU_REPACK; pinned CUDA_Host beside
    # plain CPU memory with --no-mmap or -ot): one row, their sum
    held = sorted(dev for (f, dev) in buffers if f == "model" and is_host_buffer(dev) and dev != "CPU_Mapped")
    if len(held) > 1:
        rows.append(Row(f"model buffer ({'+'.join(held)})", sum(buffers[("model", d)] for d in held) / MIB,
                        host["model"] / MIB, "MiB", "the host's weights across its buffers",
                        min(lines[("model", d)] for d in held), 0.005 * len(held)))
        buffers = {k: b for k, b in buffers.items() if k[0] != "model" or k[1] not in held}
    for (fig, dev), b in buffers.items():
        if is_host_buffer(dev):
            expected, note = host[fig], ""
            if fig == "model" and dev == "CPU_Mapped" and mapped_span:
                # with mmap the host buffer is the file's range from the first host tensor to the last
                # (llama_model_loader::get_mapping_range): token_embd leads the file and the output closes it, so
                # with the output on the host the range is every tensor, the GPU's layers included (mapped, not read);
                # with it on the GPU (from PR #18148 whenever -ngl ≥ 1) the range ends at the last host layer
                expected = e.weights_bytes + d["host_weights_bytes"]
                note = "mmap: the file's range, token_embd to output"
            rows.append(Row(f"{fig} buffer ({dev})", b / MIB, expected / MIB, "MiB", note, line=lines[(fig, dev)],
                            resolution=0.005))
    try:  # an Ollama server log: its estimate before the runner started, where planner can rebuild it
        ollama = estimate_rows(text, spec, quant)
    except PlannerError as e:
        s = {**s, "ollama_estimate": f"not reconstructed: {e}"}
    else:
        if ollama is not None:
            rows += ollama[0]
            s = {**s, **ollama[1]}
    return LogCheck("llama.cpp", s, rows)
