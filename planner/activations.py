"""Activation and temporary-buffer peaks at inference (no autograd), as formulas.

The model: a pre-norm decoder run layer by layer with a preallocated KV cache. Only one layer's
temporaries are alive at a time, so the peak is the largest of three phases, each with the
residual stream (block input and output, 2 · N · d) alive:

  attention  norm(x) N·d; q, k, v N·(nh + 2·nkv)·hd; rotated q N·nh·hd; output N·nh·hd;
             SDPA/flash adds a fp32 log-sum-exp N·nh; eager adds scores and probabilities
             2·B·nh·T·S and, under GQA, K and V repeated to every query head 2·B·nh·S·hd.
             MLA: q N·nh·(nope+rope), latent N·(kv_lora+rope); prefill decompresses K and V of all
             S cached tokens, B·S·nh·(nope+v); decode absorbs them into q, 2·N·nh·kv_lora.
  mlp        norm(x) N·d; gated: act(gate), up and their product 3·N·ff; plain: 2·N·ff.
             MoE: fp32 router probabilities N·E·4 B, top-k weights and int64 indices N·k·12 B,
             an output accumulator N·d, and the larger of one expert at a time — its gathered
             tokens n_e = ceil(N·k/E) (balanced routing assumed), n_e·d in, 3·n_e·f out — and the
             shared experts 3·N·f_shared.
  logits     final norm and lm_head on the last position (B rows) or all positions (N rows), in
             the activation dtype, plus their copy in logits_bits when that differs (fp32 upcast).

N = B·T rows are in flight: T = the prefill chunk (min(context, chunk)) or 1 when decoding;
S = context tokens attended. Issue #3 measures these against the PyTorch reference model.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from .spec import ModelSpec

Attention = Literal["sdpa", "eager"]
Logits = Literal["last", "all"]


def _ceil_div(a, b):
    return -(-a // b)


def _attention_elems(spec: ModelSpec, B, T, S, attention: Attention, decode: bool):
    """(activation-dtype elements, extra fp32 bytes) alive in the attention phase."""
    N, d, nh, nkv, hd = B * T, spec.d_model, spec.n_heads, spec.n_kv_heads, spec.head_dim
    if spec.mla is not None:
        m = spec.mla
        elems = N * d + N * nh * (m.qk_nope_head_dim + m.qk_rope_head_dim) + N * (m.kv_lora_rank + m.qk_rope_head_dim)
        if m.q_lora_rank:
            elems = elems + N * m.q_lora_rank
        if decode:
            elems = elems + 2 * N * nh * m.kv_lora_rank
        else:
            elems = elems + B * S * nh * (m.qk_nope_head_dim + m.v_head_dim) + N * nh * m.v_head_dim
        v_dim = m.v_head_dim
    else:
        elems = N * d + N * (nh + 2 * nkv) * hd + 2 * N * nh * hd
        v_dim = hd
    if attention == "eager":
        elems = elems + 2 * B * nh * T * S
        if nkv < nh or spec.mla is not None:
            elems = elems + B * nh * S * (hd + v_dim)
        return elems, 0
    return elems, 4 * N * nh


def _dense_mlp_elems(spec: ModelSpec, N, d_ff: int):
    return N * spec.d_model + (3 if spec.gated_mlp else 2) * N * d_ff


def _moe_bytes(spec: ModelSpec, N, act_bits: int):
    m, d = spec.moe, spec.d_model
    n_e = _ceil_div(N * m.experts_per_token, m.n_experts)
    routed = 2 * n_e * d + (3 if spec.gated_mlp else 2) * n_e * m.expert_d_ff
    shared = 3 * N * m.shared_d_ff
    elems = 2 * N * d + np.maximum(routed, shared)
    routing = N * m.n_experts * 4 + N * m.experts_per_token * 12
    return elems * act_bits // 8 + routing


def _mlp_bytes(spec: ModelSpec, N, act_bits: int):
    dense = _dense_mlp_elems(spec, N, spec.d_ff) * act_bits // 8 if spec.d_ff else 0
    if spec.moe is None:
        return dense
    return np.maximum(dense, _moe_bytes(spec, N, act_bits))


def _logits_bytes(spec: ModelSpec, B, T, act_bits: int, logits: Logits, logits_bits: int):
    N = B * T
    rows = B if logits == "last" else N
    out = (N * spec.d_model + rows * spec.d_model + rows * spec.vocab_size) * act_bits // 8
    if logits_bits != act_bits:
        out = out + rows * spec.vocab_size * logits_bits // 8
    return out


def step_activation_bytes(spec: ModelSpec, *, batch, tokens, attended, attention: Attention = "sdpa",
                          act_bits: int = 16, logits: Logits = "last", logits_bits: int = 32,
                          decode: bool = False):
    """Peak temporaries of one forward step over `tokens` new tokens per sequence attending `attended`."""
    B = np.asarray(batch, dtype=np.int64)
    T = np.asarray(tokens, dtype=np.int64)
    S = np.asarray(attended, dtype=np.int64)
    N = B * T
    residual = 2 * N * spec.d_model * act_bits // 8
    attn_elems, attn_extra = _attention_elems(spec, B, T, S, attention, decode)
    attn = residual + attn_elems * act_bits // 8 + attn_extra
    mlp = residual + _mlp_bytes(spec, N, act_bits)
    head = _logits_bytes(spec, B, T, act_bits, logits, logits_bits)
    return np.maximum(np.maximum(attn, mlp), head)


def prefill_activation_bytes(spec: ModelSpec, *, context_len, batch=1, chunk: int | None = None, **kw):
    """Peak of prefilling `context_len` tokens, in chunks of `chunk` (None: all at once).

    The last chunk is the largest: it has min(chunk, context) new tokens attending all context_len.
    """
    ctx = np.asarray(context_len, dtype=np.int64)
    tokens = ctx if chunk is None else np.minimum(ctx, chunk)
    out = step_activation_bytes(spec, batch=batch, tokens=tokens, attended=ctx, **kw)
    return int(out) if np.ndim(out) == 0 else out


def decode_activation_bytes(spec: ModelSpec, *, context_len, batch=1, **kw):
    """Peak of one decode step: one new token per sequence attending context_len."""
    out = step_activation_bytes(spec, batch=batch, tokens=1, attended=context_len, decode=True, **kw)
    return int(out) if np.ndim(out) == 0 else out
