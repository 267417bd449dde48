"""llama.cpp's compute buffers: the device's (the graph of one ubatch, replayed where planner has the architecture's
graph, else an analytic floor), the host's graph inputs, and flash attention's f16 copies of a quantized cache."""

from __future__ import annotations

from ...kv import kv_bytes_per_token_per_layer
from ...spec import ModelSpec
from .graph import ARCH_GRAPH, buffer_bytes, fattn_f16_bytes
from .releases import LLAMACPP_EMBD_INPUT, LLAMACPP_F16_MASK, LLAMACPP_SET_ROWS

QUANTIZED_CACHE = ("q8_0", "q4_0")
# Where planner replays no graph, ffn_floor stands for the compute buffer's peak once llama-server keeps one output
# row per slot; the replayed graphs peak above it by up to these ratios (one output row, ubatches of 512 and 2,048,
# flash attention, CUDA fusion; graph.py): dense, Qwen3-8B's 1.18 (Llama-3.1-8B 1.16, Phi-3-mini 1.13, Gemma 3 27B
# 1.12); MoE, Qwen3-30B-A3B's 1.43 (Mixtral 1.39, Qwen3-235B-A22B 1.37, gpt-oss 1.22). The floor is raised to the
# largest of its kind, so that an architecture planner cannot replay is not taken as lighter than those it can.
FLOOR_TO_PEAK = {"dense": 1.18, "moe": 1.43}


def ffn_floor(spec: ModelSpec, n: int) -> int:
    """What an FFN of a ubatch of n tokens holds at once, at least (f32): a dense gated MLP's gate, up and GLU
    outputs with the residual and the normed input; a MoE's router logits, each token's k experts' gate and up rows
    and down outputs (the shared expert's as a dense MLP). Below the replayed graphs' peaks (with one
    output row, graph.py: Llama-3.1-8B 0.86, Qwen3-30B-A3B 0.70, Mixtral 0.72, gpt-oss 0.82, Qwen3-235B-A22B 0.73;
    0.56 for Qwen3.5-35B-A3B, whose Gated DeltaNet layers peak higher), it stands where planner replays no graph, now
    that llama-server reserves a graph for few output rows and the logits no longer set it."""
    d = spec.d_model
    if spec.moe is None:
        return (3 * spec.d_ff + 2 * d) * n * 4
    m = spec.moe
    shared = 3 * m.shared_d_ff * m.n_shared_experts
    return (m.n_experts + m.experts_per_token * (2 * m.expert_d_ff + d) + shared + 2 * d) * n * 4


def host_inputs(spec: ModelSpec, build: int, n_ubatch: int, n_kv: int, n_kv_swa: int, flash_attn: bool) -> int:
    """The graph's inputs, which stay in host memory (the CUDA_Host compute buffer with every layer on the GPU), by
    the build: a KQ mask of n_kv × n_ubatch per KV cache (the sliding one too), f32, f16 with flash attention from
    b9410 (PR #23764 "use f16 mask for FA to save VRAM"); the token lookup's n_ubatch × n_embd f32 result, and from
    b7774 (PR #18550, ggml_build_forward_select) the embeddings input beside it, always allocated; from b6071 (PR
    #14959, ggml_set_rows by default) the int64 index of each row a ubatch writes, without flash attention (V
    transposed) each element of V. Builds dated by their merge commits' rev-list count. Measured: llama-cpp-python
    0.3.36 (b11312) on an H200, 39 of 40 runs within 0.1 MiB (profiles/measurements/llamacpp-cuda.jsonl); public logs
    of older builds (tests/fixtures/logs)."""
    mask = (2 if flash_attn and build >= LLAMACPP_F16_MASK else 4) * n_ubatch * (n_kv + n_kv_swa)
    embd = (2 if build >= LLAMACPP_EMBD_INPUT else 1) * n_ubatch * spec.d_model * 4
    index = 0
    if build >= LLAMACPP_SET_ROWS:
        v_elements = kv_bytes_per_token_per_layer(spec, "fp16") // 4  # V's f16 elements a token writes in a layer
        rows = 1 if flash_attn else v_elements
        index = (2 if n_kv_swa else 1) * n_ubatch * 8 * (1 + rows)  # K's rows and V's, per cache
    return mask + embd + index


def fattn_f16(spec: ModelSpec, o: dict, n_kv: int, streams: int, type_k: str, type_v: str,
               metal: bool = False) -> tuple[bool, bool, int]:
    """(K, V, bytes): whether a prompt's flash attention on this backend converts the quantized K and V of the
    cache to f16 (ggml-cuda, which ROCm builds run too: its MMA and tile kernels read f16 only; graph.fattn_f16_bytes),
    and the largest layer's copies, a full layer's n_kv cells of every stream. MLA caches the latent as K, V its view
    (one copy). Metal does the same from b10532 (PR #27390, q8_0 only), past the builds planner follows."""
    if not o["flash_attn"] or o["backend"] != "cuda" or metal:
        return False, False, 0
    k, v = type_k in QUANTIZED_CACHE, type_v in QUANTIZED_CACHE
    if spec.mla is not None:
        width, v = spec.mla.kv_lora_rank + spec.mla.qk_rope_head_dim, False
    else:
        width = spec.n_kv_heads * spec.head_dim
    return k, v, fattn_f16_bytes(spec.n_heads * spec.head_dim * 4, n_kv * streams * width, k, v)


def compute_buffer(spec: ModelSpec, o: dict, n_ubatch: int, n_kv: int, n_kv_swa: int, type_k: str,
                    type_v: str, host_weights: tuple = (), largest_copy: int = 0, *,
                    fattn: tuple[bool, bool, int] = (False, False, 0), streams: int = 1,
                    n_outputs: int | None = None, n_seqs: int = 1, replay: bool = True) -> int:
    """The device's compute buffer: ggml-alloc replayed on llama.cpp's graph of one ubatch (graph.py, alloc.py)
    where planner has the architecture's graph (and, for a Gated DeltaNet model, the build runs the fused op it
    replays: releases.LLAMACPP_FUSED_GDN); otherwise, and as a floor on CUDA, the analytic peak.

    Replayed, the CPU backend's buffer is within 64 KiB of llama.cpp's on 94 of 101 measured runs and within 5 %
    on all (profiles/measurements/llamacpp-cpu.jsonl). On a GPU the embeddings input stays in host memory; GPU
    buffers, measured with llama.cpp on an H200 (profiles/measurements/llamacpp-cuda.jsonl), match the replay with
    the embeddings input in host memory and the CUDA backend's MoE fusions (graph.py _moe) to 64 KiB on 32 of 40
    runs and within 5 % on 39; the analytic peak stays a floor there (it changes one of the 40 by a few KiB).
    Analytic: the f32 logits of the graph's output rows (CUDA: llama.cpp#18258, 296.75 of 298.75 MiB for a whole
    ubatch); without flash attention at least the f32 KQ scores and mask, n_kv × n_ubatch × (n_head + 1) × 4 B, plus
    n_ubatch × (n_ff + n_embd) × 4 B of other activations; either way at least the FFN's live activations
    (ffn_floor).

    host_weights (graph.compute_graph): the matrices that -ot, --n-cpu-moe or -ngl keep in host memory; the device
    copies each whole for the op that reads it (op offload), so its split peaks at the copy beside what is live
    (replayed; analytic, and a floor: largest_copy, the largest such tensor, with the ubatch's expert outputs).
    Measured against llama.cpp's own scheduler and allocator at b5271 (a CPU build with a device following
    ggml-cuda's offload rules, sparse GGUFs of the logged shapes): Qwen3-235B-A22B Q8_0 with layers 14–93's FFN on
    the CPU on an RTX A6000, 1,024.00 MiB as logged — 144 MiB live, the 816 MiB ffn_down_exps copy, its 64 MiB
    output; replayed here 952.58 (−7.0 %: before b9410 the device also holds an f32 copy of the mask it casts to
    f16, not replayed, as its place in the allocator's history decides whether it moves the peak). Weights the CPU
    backend repacks (CPU_REPACK: on ARM, q4_0 and iq4_nl on x86) are not host buffers and are not copied; planner
    copies every format. From b6220 (PR #15346) only the used experts are transferred, into a copy still allocated
    whole; from b5346 (PR #13386) --no-op-offload (op_offload=False) turns the copies off.
    """
    d_ff = max(spec.d_ff, spec.moe.expert_d_ff if spec.moe else 0)
    other = n_ubatch * (d_ff + spec.d_model) * 4
    k16, v16, f16 = fattn  # flash attention's f16 copies of a quantized cache inside the buffer (fattn_f16)
    other += f16
    hidden = 2 * n_ubatch * spec.d_model * 4 if o["backend"] == "cpu" else 0  # the CPU graph's hidden states
    logits = spec.vocab_size * (n_ubatch if n_outputs is None else n_outputs) * 4 + hidden
    if o["flash_attn"]:
        analytic = max(logits, other, ffn_floor(spec, n_ubatch))
    else:
        analytic = max(n_kv * n_ubatch * (spec.n_heads + 1) * 4 + other, logits, ffn_floor(spec, n_ubatch))
    if largest_copy:
        k = spec.moe.experts_per_token if spec.moe else 1
        analytic = max(analytic, largest_copy + n_ubatch * (d_ff + spec.d_model) * k * 4)
    if spec.model_type not in ARCH_GRAPH or not replay:  # no graph to replay: the floor raised to a replayed peak
        return max(analytic, round(ffn_floor(spec, n_ubatch) * FLOOR_TO_PEAK["moe" if spec.moe else "dense"]))
    replayed = buffer_bytes(spec, n_ubatch=n_ubatch, n_kv=n_kv, n_kv_swa=n_kv_swa, flash_attn=o["flash_attn"],
                            rotate_k=type_k in QUANTIZED_CACHE, rotate_v=type_v in QUANTIZED_CACHE,
                            host_embd=o["backend"] == "cpu", cuda_fusion=o["backend"] == "cuda",
                            host_weights=host_weights, f16_kv=(k16, v16), streams=streams,
                            n_outputs=None if n_outputs == n_ubatch else n_outputs, n_seqs=n_seqs)
    return replayed if o["backend"] == "cpu" else max(replayed, analytic)
