"""Activation and temporary-buffer peaks at inference (no autograd), as formulas.

The model is the PyTorch reference decoder (planner/reference/model.py), run layer by layer with a
preallocated KV cache; only one layer's temporaries are alive at a time, so the peak is the largest of four
phases. N = B·T rows are in flight (T = the prefill chunk or 1 when decoding), S keys are attended, a = bytes
per activation element. x, the residual stream, N·d, is alive throughout.

  norm       RMSNorm computes in fp32: x plus its fp32 copy, normalized and weighted values, 3·N·d·4 B;
             LayerNorm's kernel keeps only its output.
  attention  x and norm(x) 2·N·d; q, k, v N·(H + 2K)·D; then the larger of RoPE's temporaries or the attention
             output with its reshaped copy, 2·N·H·D (q/k norms: the fp32 norm of q, 3·N·H·D·4 B); SDPA adds a
             fp32 log-sum-exp N·H·4 B; eager adds two score tensors 2·B·H·T·S, the boolean mask
             (per head for block-sparse layers) and, under GQA, K and V repeated to every query head 2·B·H·S·D.
             Masked SDPA (sliding windows, a chunk after cached tokens) adds a boolean and a converted mask
             of c × L per block of c = min(T, 1024) queries over L keys. A cache in
             another dtype than the activations is converted when read (a copy of K and V of all S tokens).
             MLA prefill: q, the latent and the decompressed K, V of all S tokens (k and v padded to one head
             width), B·S·H·(2·(nope + rope) + nope + v); decode attends the latent itself with the kv_b weight
             absorbed into q and the output.
  mlp        x and norm(x) 2·N·d; gated: act(gate), up and their product 3·N·ff (a fused gate_up projection,
             Phi-3's, keeps its 2·ff output alive too: 4·N·ff); plain: up and act(up), 2·N·ff.
             MoE: router logits and probabilities in fp32 N·E·8 B, top-k weights and int64 indices N·k·12 B,
             an output accumulator N·d, and the larger of one expert at a time — its gathered tokens
             n_e = ceil(N·k/E) (balanced routing assumed), n_e·d in and out, width·n_e·f between — and the
             shared experts width·N·f_shared (their output's sum with the routed one, N·d, comes after those
             intermediates are freed).
  logits     x, and lm_head on the last position (B rows) or all positions (N rows), plus their fp32 copy.
Quantized weights are dequantized 1024 output rows at a time: a transient of 1024 rows of the phase's widest
quantized matrix (int4 also unpacks its nibbles first, half as much again) and its N × 1024 product.
Issue #3's fake-tensor profiler measures these against the reference model.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from .spec import ModelSpec
from .units import counts

Attention = Literal["sdpa", "eager"]
Logits = Literal["last", "all"]
Q_BLOCK = 1024           # query rows per masked-attention block (planner/reference/model.py)
DEQUANT_CHUNK_ROWS = 1024  # output rows dequantized at a time (planner/reference/weights.py)


def _ceil_div(a, b):
    return -(-a // b)


def _mlp_width(spec: ModelSpec) -> int:
    """Live intermediates in units of N·ff: act(gate)·up → 3; a fused gate_up (2·ff) + act + product → 4."""
    if not spec.gated_mlp:
        return 2
    return 4 if spec.gate_up_fused else 3


def _attention_bytes(spec: ModelSpec, B, T, S, a: int, attention: Attention, decode: bool, kv_factor: float,
                     masked_keys, chunk=0):
    N, d, H, K, D = B * T, spec.d_model, spec.n_heads, spec.n_kv_heads, spec.head_dim
    if spec.mla is not None:
        m = spec.mla
        qk = m.qk_nope_head_dim + m.qk_rope_head_dim
        elems = 2 * N * d + N * H * qk + 2 * N * (m.kv_lora_rank + m.qk_rope_head_dim)
        if m.q_lora_rank:
            elems = elems + N * m.q_lora_rank
        if decode:
            elems = elems + N * H * (2 * (m.kv_lora_rank + m.qk_rope_head_dim) + m.v_head_dim)
        else:  # decompressed K and V of all S tokens, padded k and v, q; then the output, its copy, o_proj
            elems = elems + B * S * H * (2 * qk + m.qk_nope_head_dim + m.v_head_dim) + 2 * N * H * qk \
                + N * H * m.v_head_dim + N * d
        out = elems * a + kv_factor * B * S * (m.kv_lora_rank + m.qk_rope_head_dim) * a + chunk
        v_dim = m.v_head_dim
    else:
        # RoPE's output and temporaries, or the attention output and its reshaped copy, or that copy and o_proj's
        # output (with o_proj's dequantized rows)
        transient = np.maximum(2 * N * H * D * a, (N * H * D + N * d) * a + chunk)
        if spec.qk_norm:
            transient = np.maximum(transient, 3 * N * H * D * 4)
        out = (2 * N * d + N * (H + 2 * K) * D) * a + transient + kv_factor * 2 * B * K * S * D * a
        v_dim = D
    if attention == "eager":  # two score tensors and the boolean mask (per head if block-sparse)
        mask_heads = H if "block_sparse" in spec.layer_pattern else 1
        out = out + 2 * B * H * T * S * a + mask_heads * T * S
        if K < H or spec.mla is not None:
            out = out + B * H * S * (D + v_dim) * a
        return out
    out = out + 4 * N * H
    if masked_keys is not None:
        c = np.minimum(T, Q_BLOCK)
        out = out + c * masked_keys * (2 + a)
    return out


def _ffn_bytes(spec: ModelSpec, rows, d_ff: int, a: int, chunk, chunk_in=None):
    """One MLP over `rows` tokens: its intermediates at the product; one fewer while the gate or up projection
    dequantizes (chunk_in; None: as `chunk`); only the product, the down projection's input, and that projection's
    output while it dequantizes (chunk: the gate and up outputs are freed by then, in the reference model as in
    transformers')."""
    if not d_ff:  # no such MLP (a MoE without shared experts)
        return 0
    w = _mlp_width(spec)
    chunk_in = chunk if chunk_in is None else chunk_in
    return np.maximum(np.maximum(w * rows * d_ff * a, (w - 1) * rows * d_ff * a + chunk_in),
                      rows * (d_ff + spec.d_model) * a + chunk)


def _moe_bytes(spec: ModelSpec, N, a: int, chunk, chunk_in=None):
    m, d = spec.moe, spec.d_model
    n_e = _ceil_div(N * m.experts_per_token, m.n_experts)
    routed = 2 * n_e * d * a + _ffn_bytes(spec, n_e, m.expert_d_ff, a, chunk, chunk_in)
    # the shared experts' output joins the routed sum (N·d) once their intermediates are freed: not on top of them
    shared = np.maximum(_ffn_bytes(spec, N, m.shared_d_ff, a, chunk, chunk_in), 2 * N * d * a) if m.shared_d_ff else 0
    routing = np.maximum(N * m.n_experts * 8, N * m.experts_per_token * 12)
    return 3 * N * d * a + np.maximum(routed, shared) + routing


def _mlp_bytes(spec: ModelSpec, N, a: int, chunk=0, chunk_in=None):
    dense = 2 * N * spec.d_model * a + _ffn_bytes(spec, N, spec.d_ff, a, chunk, chunk_in) if spec.d_ff else 0
    if spec.moe is None:
        return dense
    return np.maximum(dense, _moe_bytes(spec, N, a, chunk, chunk_in))


def _logits_bytes(spec: ModelSpec, B, T, a: int, logits: Logits, logits_bits: int):
    N = B * T
    rows = B if logits == "last" else N
    out = N * spec.d_model * a + rows * spec.vocab_size * a
    if logits_bits != 8 * a:
        out = out + rows * spec.vocab_size * logits_bits // 8
    return out


def step_activation_bytes(spec: ModelSpec, *, batch, tokens, attended, attention: Attention = "sdpa",
                          act_bits: int = 16, logits: Logits = "last", logits_bits: int = 32,
                          decode: bool = False, dequant: dict | None = None, kv_factor: float = 0.0,
                          masked_keys=None):
    """Peak temporaries of one forward step over `tokens` new tokens per sequence attending `attended`.

    dequant: widest quantized row per phase, {"attn": cols, "mlp": cols, "head": cols} (0 or absent: that phase's
    weights are stored as plain floats). kv_factor: 0 when the cache holds activation-dtype values, 1 when it is
    converted on reading. masked_keys: keys per masked-attention block (None: no mask).
    """
    a = act_bits // 8
    B = counts(batch)
    T = counts(tokens)
    S = counts(attended)
    N = B * T
    # RMSNorm computes in fp32 (copy, normalized, weighted); LayerNorm's fused kernel keeps only its output
    dq = dequant or {}
    rows = {"attn": N, "mlp": N, "mlp_in": N, "head": B if logits == "last" else N}

    unpack = dq.get("unpack", 1.0)

    def chunk(phase):
        cols, chunk_rows = dq.get(phase, 0), dq.get(f"{phase}_rows", DEQUANT_CHUNK_ROWS)
        return int(chunk_rows * cols * a * unpack) + rows[phase] * chunk_rows * a if cols else 0

    norm = N * spec.d_model * (a + 12) if spec.norm == "rmsnorm" else 2 * N * spec.d_model * a
    attn = _attention_bytes(spec, B, T, S, a, attention, decode, kv_factor, masked_keys, chunk("attn"))
    mlp = _mlp_bytes(spec, N, a, chunk("mlp"), chunk("mlp_in") if "mlp_in" in dq else None)
    head = _logits_bytes(spec, B, T, a, logits, logits_bits) + chunk("head")
    return np.maximum(np.maximum(norm, attn), np.maximum(mlp, head))


def tp_shard(spec: ModelSpec, tp: int) -> ModelSpec:
    """One tensor-parallel rank's view of `spec` for its activations (Megatron-style sharding, as vLLM and SGLang
    lay it out): the query heads, the KV heads (at least one: replicated below tp), the MLP's, the routed experts'
    and the shared experts' intermediate widths split tp ways; the residual stream x and norm(x) (d_model), the
    gathered logits and MLA's latents stay whole on every rank, as do linear-attention and Mamba mixers' widths
    (not split here: an upper bound). tp = 1 returns `spec` itself."""
    if tp == 1:
        return spec
    heads = max(1, spec.n_heads // tp)
    update = {"n_heads": heads, "n_kv_heads": heads if spec.mla is not None else max(1, -(-spec.n_kv_heads // tp)),
              "d_ff": spec.d_ff // tp}
    if spec.moe is not None:
        update["moe"] = spec.moe.model_copy(update={"expert_d_ff": max(1, spec.moe.expert_d_ff // tp),
                                                    "shared_d_ff": spec.moe.shared_d_ff // tp})
    return spec.model_copy(update=update)


def _masked_keys(spec: ModelSpec, tokens, context, chunked: bool):
    """Keys a masked SDPA block sees, or None when no layer needs a mask (full causal prefill)."""
    kinds = spec.layer_kinds()
    if spec.mla is not None:
        return None
    keys = None
    if "sliding" in kinds and spec.sliding_window is not None:  # a window only masks when context exceeds it
        keys = np.minimum(np.minimum(tokens, Q_BLOCK) + spec.sliding_window, context)
        keys = np.where((tokens > 1) & (context > spec.sliding_window), keys, 0)
    if chunked:
        full = np.where((tokens > 1) & (tokens < context), context, 0)
        keys = full if keys is None else np.maximum(keys, full)
    return keys


def prefill_activation_bytes(spec: ModelSpec, *, context_len, batch=1, chunk: int | None = None, **kw):
    """Peak of prefilling `context_len` tokens, in chunks of `chunk` (None: all at once).

    The last chunk is the largest: it has min(chunk, context) new tokens attending all context_len.
    """
    ctx = counts(context_len)
    tokens = ctx if chunk is None else np.minimum(ctx, chunk)
    kw.setdefault("masked_keys", _masked_keys(spec, tokens, ctx, chunk is not None))
    out = step_activation_bytes(spec, batch=batch, tokens=tokens, attended=ctx, **kw)
    return int(out) if np.ndim(out) == 0 else out


def decode_activation_bytes(spec: ModelSpec, *, context_len, batch=1, **kw):
    """Peak of one decode step: one new token per sequence attending context_len."""
    kw.pop("masked_keys", None)
    out = step_activation_bytes(spec, batch=batch, tokens=1, attended=context_len, decode=True, **kw)
    return int(out) if np.ndim(out) == 0 else out
