"""vLLM's startup log, V0 (≤ 0.10) and V1: the model's memory, the profile run, the KV cache it allocates.

vLLM prints GiB (bytes / 2**30), labelled "GB" before 0.7. The budget is a fraction of the total memory CUDA
reports (torch.cuda.mem_get_info), which is what the log prints as total_gpu_memory (V0, 0.6.4–0.6.6), in
'Free memory on device (free/total GiB)' (V1 ≥ 0.11) or in an out-of-memory error; planner uses it when the log
has it, else the catalog's total for the GPU the log or --gpu names.
"""

from __future__ import annotations

import re

from ...errors import PlannerError
from .common import GIB, LogCheck, Row, first, half_digit, line_of

_FIGURES = {
    # (0.9-0.10 DEBUG: "Total non KV cache memory: …; torch peak memory increase: A; non-torch forward increase
    # memory: N; weights memory: W" (v1/worker/gpu_worker.py))
    "weights": re.compile(r"(?:(?:Model loading took|model weights take|Loading model weights took)\s+|"
                          r"(?=[0-9.]+ GiB for weight,)|weights memory:\s*)([0-9.]+)\s*Gi?B"),
    "available_kv": re.compile(r"(?:Available KV cache memory:|available_kv_cache_memory|kv_cache_size=|"
                               r"reserved for KV Cache is|Current kv cache memory in use is)\s*(-?[0-9.]+)\s*GiB"),
    "kv_tokens": re.compile(r"GPU KV cache size:\s+([0-9,]+) tokens"),
    "gpu_blocks": re.compile(r"#?\s*GPU blocks:\s+([0-9,]+)"),
    "concurrency": re.compile(r"Maximum concurrency for ([0-9,]+) tokens per request:\s+([0-9.]+)x"),
    # V1 from 0.11 (INFO from later releases): "Actual usage is W GiB for weight, A GiB for peak activation, N GiB for
    # non-torch memory, and G GiB for CUDAGraph memory" (v1/worker/gpu_worker.py)
    "activation": re.compile(r"(?:(?:PyTorch activation peak memory|torch_peak_increase)(?: takes)?[=\s]+|"
                             r"torch peak memory increase:\s*|(?=[0-9.]+ GiB for peak activation))([0-9.]+)\s*GiB"),
    "peak_torch": re.compile(r"peak_torch_memory=([0-9.]+)\s*GiB"),
    "non_torch": re.compile(r"(?:non_torch_memory(?: takes)?[=\s]+|non-torch forward increase memory:\s*|"
                            r"(?=[0-9.]+ GiB for non-torch memory))([0-9.]+)\s*GiB"),
    "graph_estimate": re.compile(r"Estimated CUDA graph memory:\s*(-?[0-9.]+)\s*GiB"),
    # a hybrid model's page size (0.11.0 models/config.py; 0.20+ platforms/interface.py _align_hybrid_block_size)
    "hybrid_block": re.compile(r"Setting attention block size to (\d+) tokens"),
    "hybrid_padding": re.compile(r"Padding mamba page size by ([0-9.]+)%"),
}
_TOTALS = [  # the total CUDA reports, as vLLM prints it (group 1: GiB)
    re.compile(r"total_gpu_memory[=\s]+\(?([0-9.]+)\s*GiB"),
    re.compile(r"Free memory on device \([0-9.]+/([0-9.]+) GiB\)"),
    re.compile(r"total capacity of ([0-9.]+) GiB"),
]
_SETTINGS = {  # engine config line, non-default args, V0 profiling line, the command line
    "max_model_len": re.compile(r"(?:Using max model len |max_seq_len=|'max_model_len': |max_model_len=)(\d+)"),
    "gpu_memory_utilization": re.compile(r"gpu[_-]memory[_-]utilization['\"]?[=:\s]+\(?([0-9.]+)"),
    # (?!\w|\.\d): a command line's "8K" is left for the engine's own line (human_readable_int, below)
    "max_num_batched_tokens": re.compile(r"max[_-]num[_-]batched[_-]tokens['\"]?[=:\s]+(\d+)(?!\w|\.\d)"),
    # DJL Serving's LMI container passes option.max_rolling_batch_size to vLLM as max_num_seqs
    # (djl_python/properties_manager/vllm_rb_properties.py generate_vllm_engine_arg_dict)
    "max_num_seqs": re.compile(r"max[_-]num[_-]seqs['\"]?[=:\s]+(\d+)(?!\w|\.\d)|"
                               r"option\.max_rolling_batch_size[=:\s]+(\d+)"),
    "block_size": re.compile(r"(?<![\w.])['\"]?block[_-]size['\"]?[=:]\s*(\d+)|--block-size (\d+)"),
    "tensor_parallel_size": re.compile(r"tensor[_-]parallel[_-]size['\"]?[=:\s]+(\d+)|(?<!\w)-tp (\d+)"),
}
# The scheduler's own print of the chunk size; 0.13-0.14 print it first for a throw-away default VllmConfig() (after
# "Current vLLM config is not set.", config/vllm.py) and then for the engine's: the last one is the engine's
_SCHEDULER_CHUNK = re.compile(r"Chunked prefill is enabled with max_num_batched_tokens=(\d+)")
_KV_DTYPE = re.compile(r"kv[_-]cache[_-]dtype['\"]?[=:\s]+'?(\w+)")
_DTYPE = re.compile(r"(?<![\w])dtype=torch\.(\w+)")
_QUANTIZATION = re.compile(r"(?<![\w-])(?:'quantization': '|quantization=|--quantization[= ])([\w-]+)")
_V1 = re.compile(r"V1 LLM engine|EngineCore|gpu_worker\.py|kv_cache_utils\.py|Available KV cache memory")
# which top-k/top-p sampler the profile run used, where the log says (v1/sample/ops/topk_topp_sampler.py)
_FLASHINFER_SAMPLER = [(re.compile(r"Using FlashInfer for top-p & top-k sampling"), True),
                       (re.compile(r"Falling back to the PyTorch-native implementation of top-p & top-k"), False)]
# the MXFP4 MoE kernel vLLM picked, where the log names it (quantization/mxfp4.py; fused_moe/oracle/mxfp4.py)
_MXFP4_BACKEND = [(re.compile(r"Using Marlin backend|leveraging the Marlin kernel|Using '?\w*MARLIN\w*'? Mxfp4",
                              re.IGNORECASE), "marlin"),
                  (re.compile(r"Using Triton backend|Using '?\w*TRITON\w*'? Mxfp4", re.IGNORECASE), "triton"),
                  (re.compile(r"Using FlashInfer MXFP4|Using '?FLASHINFER\w*'? Mxfp4", re.IGNORECASE), "flashinfer")]
# enforce_eager: no CUDA graphs and, under V1, no compiled model (the config line, the non-default args, the command)
_EAGER = re.compile(r"enforce_eager['\"]?[=:]\s*True|--enforce-eager(?![\w-])")
# vLLM's own all-reduce kernel off: asked for (config line, command), or refused at start ("Custom allreduce is
# disabled because ...": no P2P, more than two PCIe-only GPUs, a world size it has no kernel for); either way no buffers
_NO_CUSTOM_ALLREDUCE = re.compile(r"disable_custom_all_reduce['\"]?[=:]\s*True|--disable-custom-all-reduce(?![\w-])"
                                  r"|Custom allreduce is disabled")
_CHUNKED = re.compile(r"Chunked prefill is enabled|chunked_prefill_enabled=True|enable_chunked_prefill=True")
_NAMED = [(r"w8a8|int8", "int8"), (r"fp8", "fp8"), (r"awq", "awq"), (r"gptq", "gptq")]  # by the checkpoint's name
_QUANTS = {"fp8": "fp8", "awq": "awq", "awq_marlin": "awq", "gptq": "gptq", "gptq_marlin": "gptq",
           "mxfp4": "mxfp4", "bitsandbytes": "nf4"}


_GGUF_FILE = re.compile(r"[-_.]((?:I?Q\d\w*?)|F16|BF16|F32)\.gguf\b", re.IGNORECASE)


def _gguf_preset(text: str) -> str | None:
    """The llama.cpp preset a GGUF file's name carries (…-Q4_K_M.gguf: q4_k_m), where planner has it."""
    from ...quant.catalog import get_quant

    for m in _GGUF_FILE.finditer(text):
        try:
            return get_quant(m[1].lower()).name
        except PlannerError:
            continue
    return None


def _quant(text: str, model_names: str) -> str | None:
    """The weights format the log names: its quantization= setting, else the model's name (…-w8a8, …-FP8,
    …-AWQ), else the dtype of unquantized weights."""
    by_name = next((q for pattern, q in _NAMED if re.search(pattern, model_names, re.IGNORECASE)), None)
    if (m := _QUANTIZATION.search(text)) and m[1] not in ("None", "none"):
        if m[1] == "gguf":  # the file's preset, as its name gives it (Llama-3.2-3B-Instruct-Q8_0.gguf)
            if (preset := _gguf_preset(text)) is None:
                raise PlannerError("the log serves a GGUF file (quantization gguf) whose name carries no llama.cpp "
                                   "preset planner has: give --quant (e.g. q4_k_m)")
            return preset
        return by_name if m[1] == "compressed-tensors" else _QUANTS.get(m[1])
    if by_name:
        return by_name
    if m := _DTYPE.search(text):
        return {"bfloat16": "bf16", "float16": "fp16", "float32": "fp32"}.get(m[1])
    return None


# "vLLM API server version X" up to 0.14, "vLLM server version X, serving model Y" from 0.15 (entrypoints/utils.py)
_VERSION = re.compile(r"(?:vLLM (?:API )?server version|LLM engine \(v|vllm version:?|vLLM version)"
                      r"\s*v?(\d+\.\d+(?:\.\d+)?)")
# The release a log comes from when it does not print one: each period prints its own lines
# (research/vllm_versions.md, "Log signatures"), the oldest of each period's releases standing for it.
_PERIODS = [(re.compile(r"CUDA graph memory profiling is (?:enabled|disabled)"), "0.20.0"),
            (re.compile(r"Available KV cache memory"), "0.9.1"),
            (re.compile(r"GPU KV cache size"), "0.8.0"),
            (re.compile(r"# CUDA blocks:"), "0.7.0"),
            (re.compile(r"the current vLLM instance can use"), "0.6.5"),
            (re.compile(r"Memory profiling results: .*initial_memory_usage="), "0.6.4"),
            (re.compile(r"# GPU blocks: [0-9,]+, # CPU blocks"), "0.4.0"),
            (re.compile(r"# GPU blocks: [0-9,]+"), "0.8.0")]


_V0_WORKER = re.compile(r"\(VllmWorkerProcess pid=")


def _v0_ranks(pattern: re.Pattern, text: str) -> dict[bool, tuple[re.Match, int]]:
    """V0 under tensor parallel: the first match on the driver's lines (rank 0, which samples) and on another
    rank's (a "(VllmWorkerProcess pid=…)" line, which only runs the forward), keyed by driver or not."""
    out: dict[bool, tuple[re.Match, int]] = {}
    for m in pattern.finditer(text):
        start = text.rfind("\n", 0, m.start()) + 1
        out.setdefault(not _V0_WORKER.search(text, start, m.start()), (m, line_of(text, m.start())))
    return out


def vllm_log_release(text: str) -> tuple[str, str]:
    """(release, how it was told) of the vLLM a log comes from: the version it prints, else its period's lines, else
    0.11.0 for a V1 log and 0.6.5 for a V0 one."""
    if m := _VERSION.search(text):
        return m[1], "printed"
    return next(((release, "from its log lines") for pattern, release in _PERIODS if pattern.search(text)),
                ("0.11.0" if _V1.search(text) else "0.6.5", "assumed: no version or dated line"))


# the command line's --max-model-len, read as vLLM reads it (engine/arg_utils.py human_readable_int, 0.9.2+): "32k" is
# 32,000, "32K" 32,768 (binary multipliers take no decimals); the engine's own lines above are preferred to it
_CLI_MAX_MODEL_LEN = re.compile(r"--max-model-len[= ](\d+(?:\.\d+)?)([kmgKMG]?)(?!\w|\.\d)")
_MULTIPLIER = {"": 1, "k": 10**3, "m": 10**6, "g": 10**9, "K": 2**10, "M": 2**20, "G": 2**30}


def vllm_settings(text: str) -> dict:
    out: dict = {}
    for key, pattern in _SETTINGS.items():
        if m := pattern.search(text):
            value = next(g for g in m.groups() if g)
            out[key] = float(value) if key == "gpu_memory_utilization" else int(value)
    if chunks := _SCHEDULER_CHUNK.findall(text):
        out["max_num_batched_tokens"] = int(chunks[-1])
    if "max_model_len" not in out and (m := _CLI_MAX_MODEL_LEN.search(text)) and (m[2].islower() or "." not in m[1]):
        out["max_model_len"] = int(float(m[1]) * _MULTIPLIER[m[2]])
    if (m := _FIGURES["concurrency"].search(text)) and "max_model_len" not in out:
        out["max_model_len"] = int(m[1].replace(",", ""))
    if (m := _KV_DTYPE.search(text)) and m[1].startswith("fp8"):
        out["kv_dtype"] = "fp8"
    if (used := next((on for pattern, on in _FLASHINFER_SAMPLER if pattern.search(text)), None)) is not None:
        out["flashinfer_sampler"] = used
    if backend := next((name for pattern, name in _MXFP4_BACKEND if pattern.search(text)), None):
        out["mxfp4_backend"] = backend
    if _EAGER.search(text):
        out["enforce_eager"] = True
    if _NO_CUSTOM_ALLREDUCE.search(text):
        out["custom_all_reduce"] = False
    out["generation"] = "V1" if _V1.search(text) else "V0"
    return out


def check_vllm(text: str, spec, quant: str | None, gpu: str | None, *, model_names: str = "",
               version: str | None = None) -> LogCheck:
    from ...engines.vllm import VLLM_CURRENT, vllm_release
    from ...engines.vllm.releases import VLLM_V0_REMOVED_IN, VLLM_V0_RULES, vllm_first_release
    from ...estimate import estimate

    found = {k: first(p, text) for k, p in _FIGURES.items()}
    if not any(m for m, _ in found.values()):
        raise PlannerError("no vLLM memory line in this log (Model loading took, Available KV cache memory, "
                           "GPU KV cache size)")
    s = vllm_settings(text)
    quant = quant or _quant(text, model_names)
    tp = s.get("tensor_parallel_size", 1)
    kw: dict = {k: s[k] for k in ("max_model_len", "gpu_memory_utilization", "max_num_batched_tokens",
                                  "max_num_seqs", "block_size") if k in s}
    release, told = (str(version).strip(), "given") if version is not None else vllm_log_release(text)
    if version is not None:
        vllm_release(release)  # a release planner has rules for, else a one-line error naming it
    try:
        vllm_release(release)
    except PlannerError:  # a release outside the rules planner has read: the nearest it has
        newer = release[:1] != "0" or int(release.split(".")[1]) >= 4
        release, told = (VLLM_CURRENT, f"{release} printed, newer than planner's rules") if newer else (
            "0.4.0", f"{release} printed, older than planner's rules")
    added = vllm_first_release(spec)
    if added is not None and told != "printed" and version is None and vllm_release(release) < vllm_release(added):
        # a period's oldest release is older than the model: the first release that ran it stands for the log
        release, told = added, f"{told}; the model arrived in {added}"
    if s["generation"] == "V0" and vllm_release(release) >= (0, 8, 0):
        # V0 still ran in 0.8–0.10 where V1 could not (older GPUs, some options) or VLLM_USE_V1=0 asked for it: the
        # release, with its V0 engine (v1_engine=False; the V0 rules of 0.6.5–0.10)
        if vllm_release(release) < vllm_release(VLLM_V0_REMOVED_IN):
            kw["v1_engine"] = False
            told = f"{told}; its V0 engine"
        else:
            release, told = VLLM_V0_RULES, f"V0 engine of {release}, {told}: V0's rules of 0.6.5–0.10"
    kw["engine_version"] = release
    s["engine_version"] = f"{release} ({told})"
    if s["generation"] == "V0" and "max_num_batched_tokens" not in kw:
        # V0 profiles one batch of max(max_model_len, 2048) tokens, or one chunk with chunked prefill on
        # (SchedulerConfig: 512 up to 0.6.4, 2048 later)
        chunk = 512 if vllm_release(release) <= (0, 6, 4) else 2048
        chunked = bool(_CHUNKED.search(text))
        kw["max_num_batched_tokens"] = chunk if chunked else max(kw.get("max_model_len", spec.max_context), 2048)
        kw["enable_chunked_prefill"] = chunked  # as the log ran: vLLM's own check then holds
    total, total_line = next(((m, ln) for p in _TOTALS for m, ln in [first(p, text)] if m), (None, None))
    budget_note = ""
    if total is not None:
        kw["gpu_memory_bytes"] = round(float(total[1]) * GIB)
        s["total_gpu_memory"] = f"{total[1]} GiB (line {total_line})"
        if gpu is not None:  # the budget from the log's total; the GPU's kind for its interconnect (NCCL)
            kw["gpu"] = gpu
    elif gpu is not None:
        from ...gpus import ASSUMED_CUDA_TOTAL, load_gpu

        kw["gpu"] = gpu
        g = load_gpu(gpu)
        if g.cuda_memory_bytes is None:  # no NVIDIA GPU: the loader gives every one a CUDA total
            budget_note = (f"the log prints no total: the catalog's total for {gpu}; vLLM budgets a fraction of the "
                           "total the runtime reports (torch.cuda.mem_get_info)")
        elif g.sources.get("cuda_memory_bytes") == ASSUMED_CUDA_TOTAL:
            budget_note = (f"the log prints no total: the catalog's nvidia-smi total for {gpu} less the largest "
                           "driver reserve seen (no CUDA-reported total is published for it); vLLM budgets a "
                           "fraction of the total CUDA reports (torch.cuda.mem_get_info)")
        else:
            budget_note = (f"the log prints no total: the catalog's CUDA-reported total for {gpu}, which moves with "
                           "the driver by 0.05–0.2 GiB")
    if "kv_dtype" in s:
        kw["kv_dtype"] = s["kv_dtype"]
    for key in ("flashinfer_sampler", "mxfp4_backend", "enforce_eager", "custom_all_reduce"):
        if key in s:
            kw[key] = s[key]
    from ...engines.vllm import VLLM_CUDA_GRAPH_ESTIMATE_BYTES, vllm_rules

    rules = vllm_rules(vllm_release(release))  # what the log's release charges
    graphs_charged = rules["graphs"]
    if (g := found["graph_estimate"][0]) is not None and graphs_charged and float(g[1]) >= 0:
        kw["cuda_graph_memory_bytes"] = round(float(g[1]) * GIB)  # the run's own estimate, not planner's prior
    if (m := found["non_torch"][0]) is not None and rules["context"] and tp == 1:
        # a release that charges everything outside PyTorch's pool (V0 0.6.4; V1 0.8.0–0.9.0, whose logs print no
        # such line): on one GPU that is the CUDA context and what loads into it, which this run prints; planner's
        # prior for it was measured on another GPU and stack
        kw["cuda_context_bytes"] = round(float(m[1]) * GIB)
    if tp > 1:
        kw["tensor_parallel_size"] = tp
    weights_only = "gpu_memory_bytes" not in kw and "gpu" not in kw
    try:
        if weights_only:
            e = estimate(spec, quant=quant, context=min(spec.max_context, kw.get("max_model_len", 4096)))
        else:
            e = estimate(spec, quant=quant, engine="vllm", **kw)
    except PlannerError as err:
        raise PlannerError(f"planner cannot run vLLM's configuration from this log: {err}") from None
    d = e.engine_details
    why_not = "the log names neither the GPU nor the total memory CUDA reports: give --gpu"
    rows: list[Row] = []

    def add(figure, key, logged, predicted, unit, note="", printed=None):
        m, line = found[key]
        res = half_digit(printed if printed is not None else m[1]) if unit != "tokens" else 0.0
        rows.append(Row(figure, logged, None if weights_only else predicted, unit,
                        why_not if weights_only else note, line, res))

    if (m := found["weights"][0]) is not None:
        from ...engines.vllm import vllm_stage_weights

        per_gpu = e.weights_bytes if not weights_only else vllm_stage_weights(
            spec, e.workload.quant, [spec.n_layers], tp=tp, release=vllm_release(release),
            mxfp4_backend=s.get("mxfp4_backend", "none"), weights=e.weights_bytes)[0]
        rows.append(Row("model weights", float(m[1]), per_gpu / GIB, "GiB",
                        f"one GPU's share at tensor_parallel_size {tp}" if tp > 1 else "",
                        found["weights"][1], half_digit(m[1])))
    if (m := found["activation"][0]) is not None:
        through = f"{kw.get('max_num_batched_tokens', 2048):,} tokens through the model"
        by_rank = _v0_ranks(_FIGURES["activation"], text) if s["generation"] == "V0" and tp > 1 else {}
        if not by_rank:
            add("profile-run activation peak", "activation", float(m[1]), e.activation_bytes / GIB, "GiB", through)
        for driver, (rm, line) in sorted(by_rank.items(), reverse=True):
            note = (f"{through}; rank 0 also samples {d['max_num_seqs']:,} rows (max_num_seqs)" if driver else
                    f"{through}; V0 samples on rank 0 only") if not weights_only else why_not
            predicted = None if weights_only else (e.activation_bytes if driver else d["forward_bytes"]) / GIB
            rows.append(Row(f"activation peak ({'rank 0' if driver else 'other ranks'})", float(rm[1]),
                            predicted, "GiB", note, line, half_digit(rm[1])))
    elif (m := found["peak_torch"][0]) is not None and found["weights"][0] is not None:
        w = found["weights"][0][1]
        add("profile-run activation peak", "peak_torch", float(m[1]) - float(w), e.activation_bytes / GIB, "GiB",
            f"peak_torch_memory − weights; {kw.get('max_num_batched_tokens', 2048):,} tokens through the model",
            printed=m[1])
        rows[-1].resolution += half_digit(w)
    if (m := found["graph_estimate"][0]) is not None:
        rows.append(Row("estimated CUDA graph memory", float(m[1]),
                        VLLM_CUDA_GRAPH_ESTIMATE_BYTES / GIB if graphs_charged else None, "GiB",
                        "planner's prior; the rows below take the log's own estimate" if graphs_charged else
                        "estimated but not charged in this release (VLLM_MEMORY_PROFILER_ESTIMATE_CUDAGRAPHS off "
                        "by default before 0.20)", found["graph_estimate"][1], half_digit(m[1])))
    if (m := found["non_torch"][0]) is not None and "cuda_context_bytes" in kw:
        from ...overhead import CUDA_CONTEXT_BYTES

        rows.append(Row("non-torch memory", float(m[1]), CUDA_CONTEXT_BYTES / GIB, "GiB",
                        "planner's prior for the CUDA context (measured on an H200 under CUDA 13), which this release "
                        "charges with everything else outside PyTorch's pool; the rows below take the run's own figure",
                        found["non_torch"][1], half_digit(m[1])))
    elif (m := found["non_torch"][0]) is not None:
        # from 0.11 the communicators exist before vLLM's baseline: its non-torch figure no longer holds them
        comm = d.get("communication_bytes", 0) + d.get("nccl_bytes", 0) if rules["comm"] else 0
        rows.append(Row("non-torch memory", float(m[1]), comm / GIB if comm else None, "GiB",
                        ("planner: NCCL's communicators and the custom all-reduce's buffers on the tightest GPU; the "
                         "rest (cuBLAS, kernels: 0.05–0.35 GiB on one GPU) is not modelled" if comm else
                         "not modelled: memory outside PyTorch's pool that start-up adds after vLLM's baseline "
                         "(cuBLAS, kernels; from 0.11 NCCL's communicators sit in the baseline), charged by V0 0.6.5+ "
                         "and V1 0.9.1+"),
                        found["non_torch"][1], half_digit(m[1])))
    if (m := found["available_kv"][0]) is not None:
        add("available KV cache memory", "available_kv", float(m[1]), d.get("available_kv_bytes", 0) / GIB, "GiB",
            budget_note)
        if float(m[1]) <= 0:  # vLLM stops here ("No available memory for the cache blocks"): it holds no KV cache
            add("KV cache capacity", "available_kv", 0.0, max(0.0, float(d.get("kv_tokens", 0))), "tokens",
                f"vLLM refuses to start with {m[1]} GiB left for the cache: none; planner's budget leaves "
                f"{d.get('available_kv_bytes', 0) / GIB:.2f} GiB")
    block = s.get("block_size", 16)
    if (m := found["kv_tokens"][0]) is not None:
        tokens = int(m[1].replace(",", ""))
        add("KV cache size", "kv_tokens", float(tokens), float(d.get("kv_tokens", 0)), "tokens", budget_note)
    elif (m := found["gpu_blocks"][0]) is not None:
        tokens = int(m[1].replace(",", "")) * block
        add("GPU blocks", "gpu_blocks", float(tokens // block), float(d.get("kv_blocks", 0)), "blocks", budget_note)
    else:
        tokens = None
    if (m := found["concurrency"][0]) is not None:
        add(f"max concurrency at {m[1]} tokens", "concurrency", float(m[2]), float(d.get("max_concurrency", 0)), "×",
            budget_note)
    if (m := found["hybrid_block"][0]) is not None:
        rows.append(Row("hybrid attention block size", float(m[1]), None if weights_only else float(d["block_size"]),
                        "tokens", "the attention block grown until its page holds one request's recurrent state",
                        found["hybrid_block"][1]))
    if (m := found["hybrid_padding"][0]) is not None and not weights_only and d.get("hybrid_state_bytes"):
        padding = 100 * (d["hybrid_page_bytes"] - d["hybrid_state_bytes"]) / d["hybrid_state_bytes"]
        rows.append(Row("state page padding", float(m[1]), padding, "%", "", found["hybrid_padding"][1],
                        half_digit(m[1])))
    kv_m = found["available_kv"][0]
    if kv_m is not None and tokens and float(kv_m[1]) > 0 and spec.sliding_window is None and not spec.recurrent:
        from ...kv import kv_bytes_per_token_per_layer

        heads = 1.0 if spec.mla is not None else -(-spec.n_kv_heads // tp) / spec.n_kv_heads  # one GPU's share
        per_token = kv_bytes_per_token_per_layer(spec, s.get("kv_dtype", e.workload.kv_dtype)) * spec.n_layers * heads
        rows.append(Row("KV bytes per token", float(kv_m[1]) * GIB / tokens, float(per_token), "bytes",
                        "available KV cache memory ÷ tokens: the cache layout, whatever the budget",
                        found["available_kv"][1], half_digit(kv_m[1]) * GIB / tokens))
    settings = {"vllm": s.pop("generation"), **s, "quant": quant}
    return LogCheck("vllm", settings, rows)
