"""The compute graph llama.cpp reserves for one ubatch, node by node, for planner/engines/llamacpp/alloc.py.

llama.cpp reserves its compute buffer for the worst case: a prompt ubatch of n_ubatch tokens with every token an
output, attending to every cell of the cache (llama_context::graph_reserve). The graph follows llama.cpp's builders
(src/models/*.cpp, src/llama-graph.cpp build_attn / build_ffn / build_moe_ffn / build_norm) as the scheduler prints
them with GGML_SCHED_DEBUG=2 (node order, op, size): only tensors that live in the compute buffer are sized (f32
activations, the KQ mask and the index inputs); weights and the KV cache are external.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache

from ...spec import ModelSpec
from .alloc import Graph, buffer_size

F32, F16, I32, I64 = 4, 2, 4, 8
# Model types whose sliding window llama.cpp implements (src/llama-model.cpp load_hparams sets swa_type from the GGUF's
# sliding_window: GEMMA2, GEMMA3, GEMMA3N, OPENAI_MOE, COHERE2, EXAONE4, OLMO2's OLMo 3, SMALLTHINKER, AFMOE, and
# LLAMA4, whose chunked layers (LLAMA_SWA_TYPE_CHUNKED, n_swa 8192) llama_kv_cache_iswa sizes as any SWA layer's;
# research/llama4.md). Every other model
# keeps every token on its "sliding" layers in llama.cpp: Mistral-7B-v0.1 converts to LLM_ARCH_LLAMA, which reads no
# window, and LLM_ARCH_PHI3 logs "Phi SWA is currently disabled - results might be suboptimal for some models (see
# https://github.com/ggml-org/llama.cpp/pull/13676)" (measured: Phi-3-mini-4k at n_ctx 4096 allocates 4,096 cells on
# all 32 layers).
LLAMACPP_SWA = frozenset({"gemma2", "gemma3", "gemma3_text", "gemma3n", "gemma3n_text", "gpt_oss", "cohere2",
                          "exaone4", "olmo3", "smallthinker", "afmoe", "llama4_text"})
CUDA_MOE_REDUCTION_MAX_K = 15  # ggml-cuda fuses the experts' weighted sum for 2–15 experts a token
#                                (ggml-cuda.cu MOE_WEIGHTED_REDUCTION_MAX_EXPERTS)
ROT_BLOCK = 64  # the rotation of a quantized cache works on blocks of 64 (llama_kv_cache: n_embd_head_k_all = 64)


@dataclass(frozen=True)
class Shape:
    """What sizes one layer of the graph: the spec's dimensions for one ubatch."""

    n: int            # tokens in the ubatch (all outputs)
    d: int            # n_embd
    q: int            # n_head × head_dim (the Q projection)
    kv: int           # n_head_kv × head_dim (one of K or V)
    heads: int
    ff: int           # the MLP's (or one expert's) n_ff
    vocab: int


def _copy(g: Graph, host: dict, name: str) -> int | None:
    """The GPU's copy of a weight kept in host memory, made at the start of the split of the op that reads it
    (ggml-backend's op offload: a matmul of a ubatch of ≥ 32 tokens whose weight is in a host buffer runs on the GPU,
    the weight copied whole into the compute buffer, ggml_dup_tensor_layout) and freed after that op; None where the
    weight is on the GPU."""
    return g.op(host[name]) if name in host else None


def _ffn(g: Graph, s: Shape, cur: int, *, fused_up: bool, host: dict) -> int:
    """build_ffn with a gated unit: gate and up matmuls, the GLU (SWIGLU/GEGLU: not in place), down."""
    n = s.n
    if fused_up:  # Phi-3: one ffn_up matmul of 2 × n_ff, split by the GLU op
        par = g.op(s.ff * n * F32, g.op(2 * s.ff * n * F32, cur, _copy(g, host, "ffn_up")))
    else:
        gate = g.op(s.ff * n * F32, cur, _copy(g, host, "ffn_gate"))
        up = g.op(s.ff * n * F32, cur, _copy(g, host, "ffn_up"))
        par = g.op(s.ff * n * F32, gate, up)
    return g.op(s.d * n * F32, par, _copy(g, host, "ffn_down"))


def _moe(g: Graph, s: Shape, cur: int, n_expert: int, k: int, *, softmax_weight: bool = False,
         biases: bool = False, cuda_fusion: bool = False, host: dict | None = None) -> int:
    """build_moe_ffn: the router, k experts per token (MUL_MAT_ID), their weighted sum. Softmax gating with
    normalised weights (Mixtral, Qwen3-MoE), or gpt-oss's softmax over the k chosen logits with expert biases.

    cuda_fusion: ggml-cuda's graph_optimize keeps the tensors of the fusions it will run alive until the fused
    group's last node (ggml-backend's alloc deps, "this may increase the overall compute buffer size"): the top-k
    routing (softmax, argsort, get_rows and the normalisation; not gpt-oss's delayed softmax) and the weighted sum
    of the experts (k of 2–15), whose experts' output then cannot take the weighting in place. A dep node (Graph.dep)
    after the group holds them, as ggml-backend inserts one; the allocator then declines the in-place reuses itself."""
    n = s.n
    host = host or {}
    logits = g.op(n_expert * n * F32, cur, _copy(g, host, "ffn_gate_inp"))
    kept = [logits]                                                    # the top-k fusion's tensors (CUDA)
    probs = g.op(n_expert * n * F32, logits, inplace=True)             # SOFT_MAX, or ADD of the router bias
    argsort = g.op(n_expert * n * I32, probs)
    selected = g.view(argsort)                                         # ARGSORT; top-k is a view of it
    weights = g.op(k * n * F32, g.view(probs), selected)               # GET_ROWS of the probabilities
    kept += [probs, argsort, selected, weights]
    fused_topk = cuda_fusion and not softmax_weight
    if softmax_weight:
        weights = g.op(k * n * F32, g.view(weights), inplace=True)     # SOFT_MAX of the reshaped k logits
    else:
        wsum = g.op(n * F32, weights)                                  # SUM_ROWS
        clamp = g.op(n * F32, wsum, inplace=True)                      # CLAMP
        kept += [wsum, clamp]
        # DIV: normalised. Measured (Mixtral, Qwen3-MoE: 10 runs exact), the result takes the block of the
        # weights themselves although it reads them through a reshape, so the reshape is not modelled as a view.
        weights = g.op(k * n * F32, weights, clamp, inplace=True)
    if fused_topk:
        g.dep(*kept, weights)                                          # the alloc dep after the fused group
    x = g.view(cur)
    size = s.ff * k * n * F32
    gate = g.op(size, x, selected, _copy(g, host, "ffn_gate_exps"))    # MUL_MAT_ID
    if biases:
        gate = g.op(size, gate, selected, inplace=True)                # ADD_ID: the experts' biases
    up = g.op(size, x, selected, _copy(g, host, "ffn_up_exps"))
    if biases:
        up = g.op(size, up, selected, inplace=True)
    par = g.op(size, gate, up)                                         # SWIGLU / SWIGLU_OAI
    experts = g.op(s.d * k * n * F32, par, selected, _copy(g, host, "ffn_down_exps"))  # MUL_MAT_ID (down)
    if biases:
        experts = g.op(s.d * k * n * F32, experts, selected, inplace=True)
    reduced = cuda_fusion and 2 <= k <= CUDA_MOE_REDUCTION_MAX_K
    raw = experts
    experts = g.op(s.d * k * n * F32, experts, weights, inplace=True)  # MUL by the weights (not in place where a
    #                                                                    dep keeps the experts' output: two children)
    out = g.view(experts)
    for _ in range(1, k):                                              # ADD of each expert's view (in place from
        out = g.op(s.d * n * F32, out, g.view(experts), inplace=True)  # the second on)
    if reduced:
        g.dep(raw, weights)                                            # the alloc dep after the weighted sum
    return out


# Per architecture (src/models/<arch>.cpp): fused QKV and up projections (phi3), Q/K RMS norms (qwen3), Q/K/V
# biases (qwen2, gpt-oss), an embedding scale and post-attention / post-FFN norms (gemma2/3), the order of the
# projections; gpt-oss's attention sinks ride on the softmax / flash attention ops and cost no memory.
ARCH_GRAPH = {
    "llama": dict(order="qvk"), "mistral": dict(order="qvk"), "mixtral": dict(order="qvk"),
    "qwen2": dict(order="qkv", bias=True), "qwen3": dict(order="qvk", qk_norm=True),
    "qwen3_moe": dict(order="qvk", qk_norm=True),
    "gemma2": dict(order="qkv", embd_scale=True, q_scale=True, post_norms=True),
    "gemma3_text": dict(order="qkv", qk_norm=True, embd_scale=True, q_scale=True, post_norms=True),
    "phi3": dict(fused=True, q_scale=True),
    "gpt_oss": dict(order="qkv", bias=True, o_bias=True, softmax_weight=True),
    # Qwen3.5 (src/models/qwen35.cpp, qwen35moe.cpp): Gated DeltaNet layers (_gdn) between gated attention layers
    # (one Q projection of query and gate; Q and K RMS-normed), a shared expert beside the routed ones, and the
    # output rows taken after the final norm, so that the last layer's FFN runs on every token
    "qwen3_5_text": dict(gated_q=True, qk_norm=True, rows_after_norm=True),
    "qwen3_5_moe_text": dict(gated_q=True, qk_norm=True, rows_after_norm=True),
    # Qwen3-Next (src/models/qwen3next.cpp, GGUFs with the split wqkv / wqkv_gate of today's converter): Qwen3.5's
    # layers but for beta and alpha from one projection (CONT of each half) and Q and K repeated to the value heads
    # (the fused op does not broadcast them there). Its output rows are taken after the final norm from b10238 (PR
    # #25589), at the last layer before: the last FFN on every token is the larger of the two, kept for all builds.
    # No public log with its compute buffer checks this replay; GGUFs of the legacy ssm_in layout are not modelled.
    "qwen3_next": dict(gated_q=True, qk_norm=True, rows_after_norm=True, fused_ba=True, repeat_qk=True),
}


def fattn_f16_bytes(out_bytes: int, kv_elements: int, k: bool, v: bool) -> int:
    """The f16 copies of a quantized K and V that ggml-cuda's flash attention (its MMA and tile kernels, which a
    prompt's ubatch takes; the vector kernel of a decode step reads the quantized cache) allocates past its output,
    each 128-aligned (fattn-common.cuh ggml_cuda_flash_attn_ext_get_f16_extra_data): kv_elements of the layer's
    cache view, 2 bytes each. From b9489 (PR #23907 "cuda: reserve space for quantize kv-cache at startup") inside the
    compute buffer; before it, from CUDA's memory pool as the prompt runs."""
    if not (k or v):
        return 0
    start = -(-out_bytes // 128) * 128
    end = start + (kv_elements * 2 if k else 0)
    if v:
        end = -(-end // 128) * 128 + kv_elements * 2
    return end - out_bytes


@lru_cache(maxsize=256)
def buffer_bytes(spec: ModelSpec, **kw) -> int:
    """The compute buffer ggml-alloc reserves for compute_graph(spec, **kw), in bytes."""
    return buffer_size(compute_graph(spec, **kw))


def compute_graph(spec: ModelSpec, *, n_ubatch: int, n_kv: int, n_kv_swa: int, flash_attn: bool,
                  rotate_k: bool = False, rotate_v: bool = False, host_embd: bool = True,
                  cuda_fusion: bool = False, host_weights: tuple = (), f16_kv: tuple[bool, bool] = (False, False),
                  streams: int = 1, n_outputs: int | None = None, n_seqs: int = 1) -> Graph:
    """The worst-case prompt graph of one ubatch (every token an output) for an architecture of ARCH_GRAPH.

    rotate_k / rotate_v: a quantized K (V) cache is written and read in a rotated basis (llama_kv_cache logs
    "attn_rot_k = 1"): Q and K (V and the attention output) are multiplied by a head_dim² f32 rotation first.
    host_embd: the graph's device also holds the embeddings input (inp_embd) — true on the CPU backend; with the
    layers on a GPU, the token embeddings stay in host memory and reach the GPU as an input copy instead.
    cuda_fusion: the CUDA backend's allocation dependencies for the MoE fusions it runs (_moe).
    host_weights: ((layer, ((role, bytes), …)), …), the matrices of the device's layers kept in host memory (-ot,
    --n-cpu-moe), which the device copies for the ubatch (_copy); roles are GGUF names without blk.N. and .weight.
    f16_kv: (K, V) of a quantized cache converted to f16 for a prompt's flash attention inside the op's own
    allocation (ggml-cuda from b9489: fattn_f16_bytes); streams: the cache's streams, whose views the op converts.
    n_outputs: the rows the graph is reserved to output (None: every token of the ubatch): the last layer keeps only
    those rows from its attention on (inp_out_ids), so its FFN, the final norm and the logits have n_outputs rows.
    n_seqs: the sequences the reserved ubatch holds (n_seq_max), whose recurrent states a hybrid's layers read.
    """
    a = ARCH_GRAPH[spec.model_type]
    n = n_ubatch
    d, h, kvh, hd = spec.d_model, spec.n_heads, spec.n_kv_heads, spec.head_dim
    moe = spec.moe
    s = Shape(n=n, d=d, q=h * hd, kv=kvh * hd, heads=h, ff=moe.expert_d_ff if moe else spec.d_ff,
              vocab=spec.vocab_size)
    kinds = spec.layer_kinds()
    swa = "sliding" in kinds and spec.model_type in LLAMACPP_SWA
    mask_t = F16 if flash_attn else F32
    v_idx = n * I64 if flash_attn else n * s.kv * I64  # a transposed V cache is written element by element
    g = Graph()
    tokens = g.input(n * I32) if host_embd else None
    if host_embd:  # inp_embd: the embeddings input of build_inp_embd, allocated though the tokens are used
        g.input(d * n * F32)
    embd = None if host_embd else g.input(d * n * F32)
    pos = g.input(n * I32)
    rotate = hd & (hd - 1) == 0  # a Hadamard rotation: head sizes that are powers of two
    rot_k = g.input(ROT_BLOCK**2 * F32) if rotate_k and rotate else None
    rot_v = g.input(ROT_BLOCK**2 * F32) if rotate_v and rotate else None
    caches = {"full": (g.input(n * I64), g.input(v_idx), g.input(n_kv * n * mask_t))}
    if swa:
        caches["sliding"] = (g.input(n * I64), g.input(v_idx), g.input(n_kv_swa * n * mask_t))
    n_out = n if n_outputs is None else n_outputs
    out_ids = g.input(n_out * I32)
    weight, cache = g.external(), g.external()
    inp = g.op(d * n * F32, weight, tokens) if host_embd else embd     # GET_ROWS: the token embeddings
    if a.get("embd_scale"):
        inp = g.op(d * n * F32, inp, inplace=True)                     # SCALE by sqrt(n_embd)
    on_host = {layer: dict(roles) for layer, roles in host_weights}
    for il, kind in enumerate(kinds):
        host = on_host.get(il, {})
        k_idxs, v_idxs, mask = caches["sliding" if swa and kind == "sliding" else "full"]
        n_kv_l = n_kv_swa if swa and kind == "sliding" else n_kv
        cur = g.op(d * n * F32, inp, inplace=True)                     # RMS_NORM
        cur = g.op(d * n * F32, cur, weight, inplace=True)             # MUL by attn_norm
        if kind == "linear":                                           # a Gated DeltaNet layer: no KV cache
            att = _gdn(g, spec.linear_attention, n, d, cur, weight, n_seqs, host, a)
        else:
            att = _attention(g, s, a, cur, pos, rot_k, rot_v, host, cache, (k_idxs, v_idxs, mask),
                             flash_attn=flash_attn, n_kv=n_kv_l, streams=streams, f16_kv=f16_kv, weight=weight)
        if il == len(kinds) - 1 and not a.get("rows_after_norm"):      # only the output rows go on
            s = replace(s, n=n_out)
            n = n_out
            att = g.op(d * n * F32, att, out_ids)
            inp = g.op(d * n * F32, inp, out_ids)
        ffn_inp = g.op(d * n * F32, att, inp, inplace=True)            # ADD: the residual
        cur = g.op(d * n * F32, ffn_inp, inplace=True)
        cur = g.op(d * n * F32, cur, weight, inplace=True)
        if moe:
            out = _moe(g, s, cur, moe.n_experts, moe.experts_per_token,
                       softmax_weight=a.get("softmax_weight", False), biases=a.get("bias", False),
                       cuda_fusion=cuda_fusion, host=host)
            if moe.n_shared_experts:                                   # the shared expert, sigmoid-gated (qwen35moe)
                shared = _ffn(g, replace(s, ff=moe.shared_d_ff * moe.n_shared_experts), cur, fused_up=False,
                              host={})
                gate = g.op(n * F32, g.op(n * F32, cur, weight), inplace=True)  # ffn_gate_inp_shexp, SIGMOID
                out = g.op(d * n * F32, out, g.op(d * n * F32, shared, gate, inplace=True), inplace=True)
        else:
            out = _ffn(g, s, cur, fused_up=a.get("fused", False), host=host)
        if a.get("post_norms"):
            out = g.op(d * n * F32, g.op(d * n * F32, out, inplace=True), weight, inplace=True)
        # ADD: Phi-3 adds the FFN output to the residual (src order residual, out), the others out to the residual
        inp = g.op(d * n * F32, ffn_inp, out, inplace=True) if a.get("fused") else \
            g.op(d * n * F32, out, ffn_inp, inplace=True)
    cur = g.op(d * n * F32, inp, inplace=True)
    cur = g.op(d * n * F32, cur, weight, inplace=True)                 # result_norm
    if a.get("rows_after_norm"):                                       # the output rows, after the norm (qwen35)
        n = n_out
        cur = g.op(d * n * F32, cur, out_ids)
    g.op(s.vocab * n * F32, cur, output=True)                          # result_output: the logits (softcapping
    return g                                                           # scales and tanh run in place)


def _attention(g: Graph, s: Shape, a: dict, cur: int, pos: int, rot_k: int | None, rot_v: int | None, host: dict,
               cache: int, inputs: tuple[int, int, int], *, flash_attn: bool, n_kv: int, streams: int,
               f16_kv: tuple[bool, bool], weight: int) -> int:
    """One attention layer from its normed input to attn_output (build_attn): Q, K, V, the cache writes, flash
    attention or the KQ scores and their softmax, a gate where the model has one (Qwen3.5), the output projection."""
    n, d, h = s.n, s.d, s.heads
    k_idxs, v_idxs, mask = inputs
    if a.get("gated_q"):  # one projection of Q and its gate, both n_head × head_dim (qwen35.cpp build_layer_attn)
        q_full = g.op(2 * s.q * n * F32, cur, _copy(g, host, "attn_q"))
        q = g.op(s.q * n * F32, g.view(q_full), inplace=True)          # RMS_NORM of Q's view: its own tensor
        q = g.op(s.q * n * F32, g.op(s.q * n * F32, q, weight, inplace=True), pos, inplace=True)  # MUL, ROPE
        v = g.op(s.kv * n * F32, cur, _copy(g, host, "attn_v"))        # build_attn expands Q, V, then K
        k = g.op(s.kv * n * F32, cur, _copy(g, host, "attn_k"))
        k = g.op(s.kv * n * F32, g.view(k), inplace=True)
        k = g.op(s.kv * n * F32, g.op(s.kv * n * F32, k, weight, inplace=True), pos, inplace=True)
    else:
        q, k, v = _qkv(g, s, a, cur, pos, rot_k, rot_v, host)
    g.view(cache, g.view(k), k_idxs)                                   # SET_ROWS into the cache (a view of it)
    g.view(cache, g.view(v), v_idxs)
    qp, kc, vc = g.view(q), g.view(cache), g.view(cache)
    if flash_attn:                                                     # FLASH_ATTN_EXT (its f16 copies of K, V)
        extra = fattn_f16_bytes(s.q * n * F32, n_kv * streams * s.kv, *f16_kv)
        att = g.view(g.op(s.q * n * F32 + extra, qp, kc, vc, mask))
        if rot_v is not None:                                          # back from the rotated V basis
            att = g.view(g.op(s.q * n * F32, rot_v, att))
    else:
        kq = g.op(n_kv * n * h * F32, kc, qp)                          # MUL_MAT: the scores
        kq = g.op(n_kv * n * h * F32, kq, mask, inplace=True)          # SOFT_MAX with the mask
        att = g.op(s.q * n * F32, g.view(g.op(s.q * n * F32, vc, kq)))  # KQV, CONT of its permutation
    if a.get("gated_q"):  # CONT of the gate's view, SIGMOID, MUL: the attention scaled by its gate
        gate = g.op(s.q * n * F32, g.op(s.q * n * F32, g.view(q_full)), inplace=True)
        att = g.op(s.q * n * F32, att, gate, inplace=True)
    att = g.op(d * n * F32, att, _copy(g, host, "attn_output"))        # attn_output
    if a.get("o_bias"):
        att = g.op(d * n * F32, att, weight, inplace=True)
    if a.get("post_norms"):
        att = g.op(d * n * F32, g.op(d * n * F32, att, inplace=True), weight, inplace=True)
    return att


def _gdn(g: Graph, la, n: int, d: int, cur: int, weight: int, n_seqs: int, host: dict, a: dict) -> int:
    """A Gated DeltaNet layer from its normed input to its output projection, as llama.cpp's qwen35 graph builds it
    with the fused GATED_DELTA_NET op (qwen35.cpp build_layer_attn_linear, delta-net-base.cpp): the qkv projection,
    the recurrent cache's conv rows concatenated before it (CONCAT, SSM_CONV, SILU), Q and K L2-normed, the op's
    output and new state in one tensor, the gated RMS norm with z (projected last), ssm_out. The states read from the
    cache are n_seqs rows (GET_ROWS); nodes in the order the builder expands them."""
    conv, value, key = la.conv_dim, la.num_value_heads * la.value_head_dim, la.num_key_heads * la.key_head_dim
    nv, taps = la.num_value_heads, la.conv_kernel - 1
    conv_states = g.op(n_seqs * taps * conv * F32, weight)             # build_rs: the conv rows of each sequence
    qkv = g.op(conv * n * F32, cur, _copy(g, host, "attn_qkv"))        # wqkv
    conv_in = g.op((n + taps * n_seqs) * conv * F32, conv_states, g.view(qkv))  # CONCAT
    g.view(weight, g.view(conv_in))                                    # CPY of its last rows into the cache
    state = g.op(n_seqs * nv * la.key_head_dim * la.value_head_dim * F32, weight)  # build_rs: the delta states
    x = g.op(conv * n * F32, conv_in, weight)                          # SSM_CONV
    x = g.op(conv * n * F32, x, inplace=True)                          # SILU
    q = g.op(key * n * F32, g.view(x))                                 # L2_NORM of Q's and K's views
    k = g.op(key * n * F32, g.view(x))
    if a.get("repeat_qk") and la.num_key_heads != la.num_value_heads:  # REPEAT to the value heads (qwen3next)
        q = g.op(nv * la.key_head_dim * n * F32, g.view(q))
        k = g.op(nv * la.key_head_dim * n * F32, g.view(k))
    if a.get("fused_ba"):  # one projection of beta and alpha, each half made contiguous (qwen3next)
        ba = g.op(2 * nv * n * F32, cur, weight)
        beta = g.op(nv * n * F32, g.op(nv * n * F32, g.view(ba)), inplace=True)  # CONT, SIGMOID
        alpha = g.op(nv * n * F32, g.op(nv * n * F32, g.view(ba)), weight, inplace=True)  # CONT, ADD dt
    else:
        alpha = g.op(nv * n * F32, g.op(nv * n * F32, cur, weight), weight, inplace=True)  # ssm_alpha, ADD dt
        beta = None
    alpha = g.op(nv * n * F32, g.op(nv * n * F32, alpha, inplace=True), weight, inplace=True)  # SOFTPLUS, MUL a
    if beta is None:
        beta = g.op(nv * n * F32, g.op(nv * n * F32, cur, weight), inplace=True)  # ssm_beta, SIGMOID
    out = g.op((value * n + n_seqs * nv * la.key_head_dim * la.value_head_dim) * F32,
               q, k, g.view(x), alpha, beta, state)                    # GATED_DELTA_NET: output and new state
    g.view(weight, g.view(out))                                        # CPY of the new state into the cache
    y = g.op(value * n * F32, g.view(out))                             # RMS_NORM of the output's view
    y = g.op(value * n * F32, y, weight, inplace=True)                 # MUL by ssm_norm
    z = g.op(value * n * F32, cur, _copy(g, host, "attn_gate"))        # wqkv_gate (z), then SILU
    z = g.op(value * n * F32, z, inplace=True)
    y = g.op(value * n * F32, y, z, inplace=True)                      # MUL: gated
    return g.op(d * n * F32, y, _copy(g, host, "ssm_out"))             # ssm_out


def _qkv(g: Graph, s: Shape, a: dict, cur: int, pos: int, rot_k: int | None,
         rot_v: int | None, host: dict) -> tuple[int, int, int]:
    """Q, K and V of one layer as llama.cpp builds them: projections, biases, norms, RoPE (on a reshaped view, so
    never in place), Q's scale, the rotation of a quantized cache."""
    n = s.n
    if a.get("fused"):
        qkv = g.op((s.q + 2 * s.kv) * n * F32, cur, _copy(g, host, "attn_qkv"))
        q = g.op(s.q * n * F32, g.view(qkv), pos)
        q = g.op(s.q * n * F32, q, inplace=True)                       # SCALE
        k = g.op(s.kv * n * F32, g.view(qkv), pos)
        return q, k, g.view(qkv)
    made = {}
    for which in a["order"]:
        size = (s.q if which == "q" else s.kv) * n * F32
        t = g.op(size, cur, _copy(g, host, f"attn_{which}"))
        if a.get("bias"):
            t = g.op(size, t, inplace=True)                            # ADD of the bias
        if which == "v":
            made["v"] = t if rot_v is None else g.op(size, rot_v, g.view(t))
            continue
        if a.get("qk_norm"):
            t = g.op(size, g.op(size, g.view(t), inplace=True), inplace=True)  # RMS_NORM of the view, MUL
            t = g.op(size, t, pos, inplace=True)                       # ROPE of the normed tensor: in place
        else:
            t = g.op(size, g.view(t), pos, inplace=True)               # ROPE of the reshaped view
        if which == "q" and a.get("q_scale"):
            t = g.op(size, t, inplace=True)
        made[which] = t if rot_k is None else g.op(size, rot_k, g.view(t))
    return made["q"], made["k"], made["v"]
