"""llama.cpp: what sits on the GPU with -ngl layers offloaded, by build (default: the current build's rules)."""

from __future__ import annotations

import re

from ...checks import flag, positive_int
from ...errors import WorkloadError, shown
from ...kv import get_kv_dtype, kv_bytes_per_token_per_layer
from ...limits import MAX_CONTEXT
from ...profiles import OLLAMA_LIBRARY
from ...spec import STATE_ONLY_KINDS, ModelSpec
from ...weights import gpu_placement, llamacpp_on_gpu, stored_tensors, vision_encoder_bytes
from ..common import EngineMemory, engine_options
from .buffers import compute_buffer, fattn_f16, host_inputs
from .graph import LLAMACPP_SWA
from .recurrent import rs_cells, rs_row_bytes
from .releases import (
    LLAMA_SERVER_AUTO_SLOTS,
    LLAMACPP_AUTO_NP,
    LLAMACPP_AUTO_SLOTS,
    LLAMACPP_FA_F16_RESERVED,
    LLAMACPP_FUSED_GDN,
    LLAMACPP_MLA_LATENT,
    LLAMACPP_NO_OP_OFFLOAD,
    LLAMACPP_OP_OFFLOAD,
    LLAMACPP_OUTPUTS_MAX,
    LLAMACPP_V_LESS,
    PROGRAMS,
    build_name,
    kv_cells,
    llamacpp_build,
    llamacpp_rules,
    swa_cells,
)

LLAMA_MAX_SEQ = 256  # most sequences (slots) one context holds: src/llama-cparams.h `#define LLAMA_MAX_SEQ 256`


def _slots(spec: ModelSpec, o: dict, context: int, batch: int) -> tuple[int, int]:
    """(n_parallel, n_ctx): `batch` slots of `context` tokens unless the caller set them; contradictions refused.

    llama-server gives each of its n_parallel slots n_ctx / n_parallel cells (all n_ctx with a unified cache,
    shared by every slot), so `batch` sequences of `context` tokens need n_parallel ≥ batch and that many cells.
    """
    n_parallel = batch if o["n_parallel"] is None else o["n_parallel"]
    if batch > n_parallel:
        raise WorkloadError(f"batch {batch} exceeds n_parallel {n_parallel}: llama.cpp decodes at most "
                            f"n_parallel sequences at once; raise n_parallel or lower batch")
    if n_parallel > LLAMA_MAX_SEQ:
        raise WorkloadError(f"n_parallel {n_parallel} exceeds llama.cpp's LLAMA_MAX_SEQ ({LLAMA_MAX_SEQ})")
    if o["n_ctx"] is None:
        return n_parallel, context * n_parallel
    n_ctx = o["n_ctx"]
    if o["kv_unified"]:
        if context * batch > n_ctx:
            raise WorkloadError(f"batch {batch} × context {context} exceeds the unified cache of n_ctx {n_ctx}")
    elif context > n_ctx // n_parallel:
        raise WorkloadError(f"context {context} exceeds the {n_ctx // n_parallel} cells of each slot "
                            f"(n_ctx {n_ctx} / n_parallel {n_parallel})")
    return n_parallel, n_ctx


# the matrices the replayed graph (graph.py) places a copy for when they are kept in host memory: the matmuls it
# models (GGUF names without blk.N. and .weight); ggml-cuda's offload_op takes every op of ≥ OP_OFFLOAD_MIN_BATCH rows
# but GET_ROWS (ggml-cuda.cu), so the others (shared experts, MLA projections, norms) count in the bytes copied and
# in the analytic floor only
OFFLOADED_MATMULS = frozenset({"attn_q", "attn_k", "attn_v", "attn_qkv", "attn_output", "ffn_gate", "ffn_up",
                               "ffn_down", "ffn_gate_inp", "ffn_gate_exps", "ffn_up_exps", "ffn_down_exps"})
OP_OFFLOAD_MIN_BATCH = 32  # ggml-cuda's offload_op: host-resident weights run on the GPU for batches of ≥ 32 tokens
# the device whose compute buffer is modelled: a GPU through CUDA (or ROCm, which builds ggml-cuda), through Vulkan
# (no CUDA fusion dependencies, no f16 copies of a quantized cache), or the CPU backend
BACKENDS = ("cuda", "vulkan", "cpu")


def mla_gguf_of(spec: ModelSpec) -> bool:
    """Whether a GGUF of this MLA model holds the split attn_k_b / attn_v_b tensors that llama.cpp's latent cache needs
    (convert_hf_to_gguf.py writes them since April 2025): a file read says; Ollama's library files of these models
    predate that conversion (its 0.32.13 runs deepseek-coder-v2:16b with K n_head·192 and V n_head·128); a profile
    is taken as converted today."""
    if spec.source.startswith(OLLAMA_LIBRARY):
        return False
    if spec.checkpoint is None or spec.checkpoint.format != "gguf":  # a GGUF made from it would be converted today
        return True
    return any(t.name.endswith("attn_k_b.weight") for t in spec.checkpoint.tensors)


def mla_rows(spec: ModelSpec, type_k: str, type_v: str, build: int, mla_gguf: bool) -> tuple[int, int, str]:
    """(K, V) bytes of one token in one layer of an MLA model's cache in llama.cpp (releases.LLAMACPP_MLA_LATENT),
    and which cache that is: every head's K and V before the MLA support or from a GGUF converted before it
    (mla_gguf False); the latent (as K, and as V until the V-less cache) after."""
    m, k_dt, v_dt = spec.mla, get_kv_dtype(type_k), get_kv_dtype(type_v)
    if not mla_gguf or build < LLAMACPP_MLA_LATENT:
        return (spec.n_heads * k_dt.row_bytes(m.qk_nope_head_dim + m.qk_rope_head_dim),
                spec.n_heads * v_dt.row_bytes(m.v_head_dim), "every head")
    if spec.indexer is not None:  # DeepSeek-V3.2 (from its first build, V-less): the indexer's keys beside the latent
        return (k_dt.row_bytes(m.kv_lora_rank + m.qk_rope_head_dim) + k_dt.row_bytes(spec.indexer.head_dim), 0,
                "latent and indexer keys, K only")
    if build >= LLAMACPP_V_LESS:
        return k_dt.row_bytes(m.kv_lora_rank + m.qk_rope_head_dim), 0, "latent, K only"
    return k_dt.row_bytes(m.kv_lora_rank + m.qk_rope_head_dim), v_dt.row_bytes(m.kv_lora_rank), "latent"


def llamacpp_memory(spec: ModelSpec, *, quant: str, kv_dtype: str, context: int, batch: int = 1,
                    device_vendor: str | None = None, sliding_cells: int | None = None, **options) -> EngineMemory:
    """llama.cpp: KV cells, weights on the GPU and in host memory, compute buffers; n_ctx is all slots' cells.

    engine_version: the build whose rules apply ("b5000"; releases.LLAMACPP_RULES, default the current rules): how
    n_ctx and the sliding layers' cells are padded, whether each sequence has a stream of its own, and the defaults
    of flash_attn and kv_unified. The current rules: n_ctx rounded up to 256, then each slot's share (when
    --parallel without a unified cache); sliding layers keep pad256(min(cells, n_swa × slots + n_ubatch)).
    -ngl k puts the last k layers on the GPU, and the output layer only with all of them (k > n_layers; from PR
    #18148 the output first, then the last k − 1 layers: weights.gpu_placement). token_embd stays in host memory;
    a tied lm_head is a duplicated copy on the GPU. Compute buffer: ggml's allocator replayed on llama.cpp's graph
    of one ubatch (compute_buffer). backend="cpu" models llama.cpp's CPU backend as the
    device. Sliding windows only where llama.cpp implements them (LLAMACPP_SWA: not Phi-3's, not Mistral-7B-v0.1's).
    device_vendor: the GPU's maker where known ("apple": Metal, whose flash attention reads a quantized cache as it
    is; NVIDIA's and AMD's run ggml-cuda's, which converts it for a prompt: buffers.fattn_f16).
    n_parallel defaults to `batch` and n_ctx to context × n_parallel, so the cache holds every sequence.
    n_cpu_moe (--n-cpu-moe): the routed experts of the first n_cpu_moe layers stay in system RAM.
    override_tensor (-ot / --override-tensor): "REGEX=CPU" patterns, one or several; every tensor whose GGUF name
    the regex finds (blk.14.ffn_up_exps.weight) stays in system RAM, as llama.cpp's buffer-type overrides keep it.
    op_offload (False: --no-op-offload, from b5346): matmuls whose weights are in system RAM run on the GPU for a
    prompt ubatch of ≥ 32 tokens, their weights copied there (the default); off, they run on the CPU.
    sliding_cells: the sliding layers' cells over all slots where another runtime sizes them (Ollama's own engine:
    ollama.releases.go_swa_cells); None for llama.cpp's rule.
    mmproj (--mmproj FILE): a vision model's image encoder, loaded from its own 16-bit file onto the GPU beside the
    layers (--mmproj-offload, the default; with no layer on the GPU it stays in system RAM); the encoder's compute
    buffer, taken when an image is encoded, is not counted.
    program: "llama-server" (default) or "library" (llama-cpp-python, llama-bench): from b9460 llama-server reserves
    its graph for one output row per slot (releases.LLAMACPP_OUTPUTS_MAX), the library for every token of a ubatch;
    n_outputs_max sets those rows as a log prints them (a speculative decoder's drafts add rows). With -np unset
    llama-server runs 4 slots over one unified cache (from b6925): the cells stay the workload's, the slots count
    for each one's recurrent state and output row.
    """
    defaults = {"n_batch": 2048, "n_ubatch": 512, "flash_attn": None, "n_gpu_layers": spec.n_layers + 1,
                "n_cpu_moe": 0, "engine_version": None, "override_tensor": None,
                "n_parallel": None, "n_ctx": None, "kv_unified": None, "type_v": None, "backend": "cuda",
                "op_offload": True, "mmproj": False, "mla_gguf": None, "program": "llama-server", "n_outputs_max": None}
    o = engine_options("llama.cpp", options, defaults, minimum={"n_gpu_layers": 0, "n_cpu_moe": 0},
                       maximum={"n_batch": MAX_CONTEXT, "n_ubatch": MAX_CONTEXT, "n_gpu_layers": 2**31 - 1,
                                "n_cpu_moe": 2**31 - 1})
    if spec.mla is None and o["mla_gguf"] is not None:
        raise WorkloadError(f"mla_gguf says how a GGUF of an MLA model (DeepSeek) was converted; {spec.name} has "
                            "no MLA")
    mla_gguf = o.pop("mla_gguf")
    if spec.mla is not None:  # shown with the engine's details: a profile is taken as converted today
        o["mla_gguf"] = mla_gguf_of(spec) if mla_gguf is None else flag("mla_gguf", mla_gguf)
    for key, high in (("n_parallel", LLAMA_MAX_SEQ), ("n_ctx", MAX_CONTEXT), ("n_outputs_max", MAX_CONTEXT)):
        if o[key] is not None:
            positive_int(key, o[key], high)
    if o["backend"] not in BACKENDS:
        raise WorkloadError(f"backend must be one of {', '.join(BACKENDS)}, got {o['backend']!r}")
    if o["program"] not in PROGRAMS:
        raise WorkloadError(f"program must be one of {', '.join(PROGRAMS)}, got {shown(o['program'])}")
    on_cpu = cpu_overrides(o["override_tensor"])
    if o["override_tensor"] is not None:  # shown as llama.cpp takes it: patterns joined by commas
        ot = o["override_tensor"]
        o["override_tensor"] = ot if isinstance(ot, str) else ",".join(ot)
    build = llamacpp_build(o["engine_version"])
    rules = llamacpp_rules(build)
    # llama-server with -np unset: 4 slots over one unified cache (releases.LLAMACPP_AUTO_SLOTS); a batch of more
    # sequences needs -np, which planner then takes as n_parallel = batch
    # (b6925-b7432 turned an explicit -np 1 into the 4 slots too, unless --kv-unified: planner takes a given
    # n_parallel as given)
    auto_slots = (o["program"] == "llama-server" and batch <= LLAMA_SERVER_AUTO_SLOTS and o["n_parallel"] is None
                  and (build >= LLAMACPP_AUTO_NP or build >= LLAMACPP_AUTO_SLOTS and not o["kv_unified"]))
    if auto_slots:
        if o["kv_unified"] is False and build >= LLAMACPP_AUTO_NP:
            raise WorkloadError("kv_unified false: llama-server with -np unset runs 4 slots over one unified cache "
                                "whatever --kv-unified says (from b7433); set n_parallel for slots of their own")
        o["kv_unified"] = True
    _versioned_defaults(o, rules, build)
    np_, n_ctx = _slots(spec, o, context, batch)
    n_seq = max(np_, LLAMA_SERVER_AUTO_SLOTS) if auto_slots else np_  # n_seq_max: the slots, busy or not
    type_k = kv_dtype
    type_v = kv_dtype if o["type_v"] is None else get_kv_dtype(o["type_v"], "type_v").name
    if type_v not in ("fp32", "fp16", "bf16", "q8_0", "q4_0"):
        raise WorkloadError(f"type_v {type_v!r} is not a llama.cpp cache type (f32, f16, bf16, q8_0, q4_0)")
    if get_kv_dtype(type_v).block and not o["flash_attn"]:
        raise WorkloadError(f"type_v {type_v!r} is quantized, which llama.cpp allows only with flash_attn")
    n_ubatch = min(o["n_ubatch"], o["n_batch"], n_ctx)
    # the output rows the graph is reserved for: llama-server's n_parallel from b9460 (releases.LLAMACPP_OUTPUTS_MAX)
    if o["n_outputs_max"] is not None and build < LLAMACPP_OUTPUTS_MAX:
        raise WorkloadError(f"n_outputs_max: llama.cpp {build_name(build)} reserves every token of the ubatch as an "
                            "output row (n_outputs_max arrived in b9460, PR #23861)")
    n_outputs = n_ubatch if o["n_outputs_max"] is None else min(n_ubatch, o["n_outputs_max"])
    if o["n_outputs_max"] is None and o["program"] == "llama-server" and build >= LLAMACPP_OUTPUTS_MAX:
        n_outputs = min(n_ubatch, o["n_batch"], n_seq)
    unified = o["kv_unified"] or np_ == 1
    n_ctx_padded, per_stream = kv_cells(rules, n_ctx, np_, unified, o["flash_attn"])
    streams = 1 if unified else np_
    cells = per_stream * streams
    swa_cells_ = sliding_cells or streams * swa_cells(rules, per_stream, spec.sliding_window or 0, n_seq, unified,
                                                      o["n_batch"], n_ubatch, o["flash_attn"])
    if spec.mla is not None:
        row_k, row_v, o["mla_cache"] = mla_rows(spec, type_k, type_v, build, o["mla_gguf"])
    else:
        row_k = kv_bytes_per_token_per_layer(spec, type_k) // 2
        row_v = kv_bytes_per_token_per_layer(spec, type_v) // 2
    kinds = spec.layer_kinds()
    if spec.model_type not in LLAMACPP_SWA:  # llama.cpp keeps every token on these models' sliding layers
        kinds = ["full" if k == "sliding" else k for k in kinds]
    if o["n_cpu_moe"] and spec.moe is None:
        raise WorkloadError(f"n_cpu_moe {o['n_cpu_moe']} keeps routed experts in system RAM, and {spec.name} has none "
                            "(not a MoE model)")
    if o["n_cpu_moe"] > spec.n_layers:
        raise WorkloadError(f"n_cpu_moe must be within 0–{spec.n_layers} (the model's layers), got {o['n_cpu_moe']}")
    # llama-model.cpp load_tensors: i_gpu_start = n_layer - n_gpu_layers, the output "layer n_layer", on the GPU only
    # when n_gpu_layers > n_layer; from PR #18148 i_gpu_start = n_layer + 1 - n_gpu_layers, the output first
    output_first = rules["output"] == "first"
    # layers >= gpu_first run on the GPU
    gpu_first, output_on_gpu = gpu_placement(spec.n_layers, o["n_gpu_layers"], output_first=output_first)
    kv_gpu = kv_host = rs_gpu = rs_host = 0
    rs_n = rs_cells(n_seq)  # a hybrid model's recurrent cache: a cell per slot (recurrent.py)
    # each layer's KV cells: none on a recurrent-only layer, the window's on a sliding one
    layer_cells = [0 if k in STATE_ONLY_KINDS else swa_cells_ if k == "sliding" else cells for k in kinds]
    for i, kind in enumerate(kinds):
        n = layer_cells[i] * (row_k + row_v)
        kv_gpu, kv_host = (kv_gpu + n, kv_host) if i >= gpu_first else (kv_gpu, kv_host + n)
        rs = rs_n * rs_row_bytes(spec, kind)
        rs_gpu, rs_host = (rs_gpu + rs, rs_host) if i >= gpu_first else (rs_gpu, rs_host + rs)
    if not flag("op_offload", o["op_offload"]) and build < LLAMACPP_NO_OP_OFFLOAD:
        raise WorkloadError(f"op_offload=False: llama.cpp {build_name(build)} always offloads (--no-op-offload arrived "
                            "in b5346, PR #13386)")
    offloads_ops = (n_ubatch >= OP_OFFLOAD_MIN_BATCH and o["backend"] != "cpu" and build >= LLAMACPP_OP_OFFLOAD
                    and o["op_offload"])
    w_gpu = w_host = embd = lm_head = 0
    # op offload: the layers' tensors in host memory that a prompt ubatch copies to the GPU, whatever the layer (the
    # scheduler offloads every op of ≥ OP_OFFLOAD_MIN_BATCH rows whose weight is in a host buffer); the matrices of
    # OFFLOADED_MATMULS also placed in the replayed graph, per layer
    copied: dict[int, list[tuple[str, int]]] = {}
    copy_bytes = largest_copy = 0
    for t in stored_tensors(spec, quant):
        if t.group == "output" or (t.group == "embedding" and spec.tie_embeddings):
            lm_head = t.nbytes
        on_gpu = llamacpp_on_gpu(t, gpu_first, output_on_gpu, cpu_moe_layers=o["n_cpu_moe"], on_cpu=on_cpu)
        if offloads_ops and not on_gpu and t.layer is not None:
            copy_bytes, largest_copy = copy_bytes + t.nbytes, max(largest_copy, t.nbytes)
            if (role := t.name.split(".")[2]) in OFFLOADED_MATMULS and t.name.endswith(".weight"):
                copied.setdefault(t.layer, []).append((role, t.nbytes))
        if t.group == "embedding":
            w_host += t.nbytes
            embd += t.nbytes
            if spec.tie_embeddings and on_gpu:
                w_gpu += t.nbytes  # llama.cpp duplicates the tied matrix as the GPU's lm_head (an -ot of its name
                #                    keeps that copy on the CPU too)
        else:
            w_gpu, w_host = (w_gpu + t.nbytes, w_host) if on_gpu else (w_gpu, w_host + t.nbytes)
    mmproj = 0
    if o["mmproj"]:  # --mmproj: the image encoder's file, 16-bit, on the GPU beside any layer (--mmproj-offload)
        if spec.vision is None:
            raise WorkloadError(f"mmproj: {spec.name} has no image encoder to load")
        mmproj = vision_encoder_bytes(spec)
        w_gpu, w_host = (w_gpu + mmproj, w_host) if w_gpu else (w_gpu, w_host + mmproj)
    host_weights = tuple((layer, tuple(roles)) for layer, roles in sorted(copied.items()))
    # a prompt's flash attention over a quantized cache works on f16 copies of it (fattn_f16): from b9489 inside the
    # compute buffer; before, from CUDA's memory pool beside the buffer (and outside llama.cpp's --fit)
    fattn = fattn_f16(spec, o, per_stream, streams, type_k, type_v, device_vendor == "apple")
    reserved = build >= LLAMACPP_FA_F16_RESERVED
    compute = compute_buffer(spec, o, n_ubatch, per_stream, swa_cells_ // streams, type_k, type_v,
                              host_weights, largest_copy, fattn=fattn if reserved else (False, False, 0),
                              streams=streams, n_outputs=n_outputs, n_seqs=n_seq if spec.recurrent else 1,
                              replay=spec.linear_attention is None or build >= LLAMACPP_FUSED_GDN[
                                  "metal" if device_vendor == "apple" else o["backend"]]) \
        if w_gpu else 0
    fa_pool = fattn[2] if w_gpu and not reserved else 0
    if not output_on_gpu and offloads_ops and n_outputs >= OP_OFFLOAD_MIN_BATCH:
        # the output layer in host memory runs on the GPU all the same for a ubatch of ≥ 32 tokens (ggml-backend's
        # op offload; ggml-cuda offload_op: min_batch_size 32), even with no layer on the GPU (-ngl 0 on a CUDA
        # build; from PR #6083): its split copies the matrix into the compute buffer beside the ubatch's f32 logits
        # and its normed hidden states (a -ngl 20 log of Mistral-7B Q4_K_M: 102.54 + 31.25 + 4.00 = 137.79 MiB, to
        # the digit; -ngl 0 logs of Qwen2-7B bf16 and Qwen3-0.6B Q4_K_M: 1,480 and 422.92 MiB, this term 9.2 and
        # 0.6 % below). The layers kept in host memory are offloaded the same way; their splits are not modelled.
        compute = max(compute, lm_head + n_outputs * (spec.vocab_size + spec.d_model) * 4)
    host_compute = host_inputs(spec, build, n_ubatch, per_stream, swa_cells_ // streams if "sliding" in kinds else 0,
                                o["flash_attn"])
    output = spec.vocab_size * n_seq * 4
    return EngineMemory(
        engine="llama.cpp", weights_bytes=w_gpu, kv_cache_bytes=kv_gpu + rs_gpu, activation_bytes=compute + fa_pool,
        max_concurrent=np_,
        details={"engine_version": build_name(build), "n_ctx": n_ctx, "n_ctx_train": spec.max_context,
                 "n_layers_model": spec.n_layers + 1,
                 "kv_cells": cells,
                 "swa_cells": swa_cells_ if "sliding" in kinds else 0,
                 "kv_k_bytes": sum(layer_cells) * row_k, "kv_v_bytes": sum(layer_cells) * row_v,
                 **({"rs_cells": rs_n, "rs_bytes": rs_gpu, "host_rs_bytes": rs_host} if spec.recurrent else {}),
                 "type_k": type_k, "type_v": type_v, "host_weights_bytes": w_host, "host_kv_bytes": kv_host + rs_host,
                 "host_compute_bytes": host_compute, "host_output_bytes": output,
                 **({"mmproj_bytes": mmproj} if mmproj else {}),
                 **({"fa_f16_pool_bytes": fa_pool} if fa_pool else {}),
                 "host_total_bytes": w_host + kv_host + rs_host + host_compute + output,
                 # what a decode step reads from system RAM rather than the GPU (token_embd is only looked up)
                 "host_moved_bytes": w_host - embd + kv_host + rs_host
                 + (embd if spec.tie_embeddings and not output_on_gpu else 0),
                 **{k: v for k, v in o.items() if k not in ("type_v", "n_ctx", "n_parallel", "engine_version")
                    and not (k in ("override_tensor", "n_outputs_max") and v is None)},
                 "n_parallel": np_, "n_seq_max": n_seq, "graph_outputs": n_outputs, "n_ctx_padded": n_ctx_padded,
                 "output_first": output_first,
                 "output_on_gpu": output_on_gpu,
                 # what a prompt ubatch copies to the GPU when every layer runs there (op offload); absent with a
                 # layer left in host memory, whose attention runs on the CPU, or without op offload, where the
                 # matmuls of what system RAM holds run on the CPU (neither modelled)
                 **({"ubatch_copy_bytes": copy_bytes, "ubatch_tokens": n_ubatch}
                    if gpu_first == 0 and output_on_gpu and offloads_ops else {})})


def cpu_overrides(patterns):
    """A test of a tensor's GGUF name against llama.cpp -ot "REGEX=CPU" patterns (a string, or several in a list or
    tuple; comma-separated as llama.cpp takes them); other buffer types are refused, as are regexes that do not
    compile."""
    if patterns is None:
        return lambda name: False
    items = [patterns] if isinstance(patterns, str) else patterns
    if not isinstance(items, (list, tuple)) or not all(isinstance(p, str) for p in items):
        raise WorkloadError(f"override_tensor must be 'REGEX=CPU' or a list of them, got {shown(patterns)}")
    compiled = []
    for item in (part for p in items for part in p.split(",") if part.strip()):
        regex, sep, buft = item.strip().rpartition("=")
        if not sep or buft.upper() != "CPU":
            raise WorkloadError(f"override_tensor {shown(item)}: planner models 'REGEX=CPU' (a tensor kept in system "
                                "RAM); other buffer types are not modelled")
        try:
            compiled.append(re.compile(regex))
        except re.error as e:
            raise WorkloadError(f"override_tensor {shown(item)}: the regex does not compile ({e})") from None
    return lambda name: any(c.search(name) for c in compiled)


def _versioned_defaults(o: dict, rules: dict, build: int) -> None:
    """flash_attn and kv_unified as the build sets them when left unset; settings the build did not have refused."""
    if o["flash_attn"] is None:
        o["flash_attn"] = rules["flash_attn"] == "auto"
    elif flag("flash_attn", o["flash_attn"]) and rules["flash_attn"] == "none":
        raise WorkloadError(f"flash_attn: llama.cpp b{build} has no flash attention (it arrived in b2771, PR #5021)")
    if o["kv_unified"] is None:
        o["kv_unified"] = rules["streams"] == "unified"
    elif not flag("kv_unified", o["kv_unified"]) and rules["streams"] == "unified":
        raise WorkloadError(f"kv_unified false: llama.cpp b{build} has one cache all sequences share (a stream per "
                            "sequence arrived in b5913, PR #14363)")

