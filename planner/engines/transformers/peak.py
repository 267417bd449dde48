"""transformers' activation peak, phase by phase, as its modeling code allocates it (transformers 5.24).

One forward step of generate(): the prompt (prefill: T = context new tokens into an empty cache) or one new token
(decode: T = 1 after `context` cached ones), for B sequences; N = B·T rows, a bytes per activation. The peak is the
largest, over the layers and the phases of each, of the bytes alive above the weights and the whole KV cache: a
phase of layer i holds only the cache of the layers filled so far (DynamicLayer.update grows by torch.cat,
StaticLayer.lazy_initialization allocates a layer at its first update), so it is charged minus the cache of the
layers after it. Paths are those of transformers/ (5.24.0); the rules were checked, tensor by tensor, against
planner.measure.transformers (scripts/measure_transformers.py).

Alive through the whole step (LlamaModel.forward and its siblings): input_ids B·T·8, position_ids T·8 (arange plus
the cache's length), inputs_embeds N·d, the rotary cos and sin (1, T, rotary dims) each (gpt-oss: half the head;
DeepSeek-V2: complex64 freqs_cis), the attention masks, and the layer's input h (the loop variable).
Phases of a layer, above those:
  norm   an RMSNorm in fp32 (LlamaRMSNorm.forward): the fp32 copy and its normalized product, 2·N·d·4, and two
         N·4 row statistics
  qkv    the input norm's output x_n, q, k, v, and RoPE's temporaries (apply_rotary_pos_emb: q·cos, rotate_half(q)
         and its product with sin, three q-sized tensors beside q, k, v; then three k-sized ones beside q and
         q_embed); qk-norms (Qwen3) an RMSNorm per head first. Before the cache update
  attn   x_n, q_embed, the attention function's tensors (SDPA: output, fp32 log-sum-exp, converted mask; eager:
         K and V repeated to every head, the scores and their fp32 softmax), the output's contiguous copy and
         o_proj's output. After the update (a DynamicLayer's torch.cat keeps k_embed and v beside the new cache)
  mlp    the post-attention residual h1 and norm output x_n2, and the MLP's intermediates: act(gate), up and
         their product, 3·N·ff (Phi-3's fused gate_up keeps its 2·ff output: 4·N·ff); MoE: the router's outputs
         and integrations/moe.py grouped_mm_experts_forward over the N·k routed rows (below)
  logits after the last layer: the final norm, lm_head on the last position (logits_to_keep=1) and generate()'s
         fp32 copy of those logits
SDPA's kernel is the one a CUDA GPU picks (flash attention without a mask and with one head size, else the
memory-efficient kernel); the CPU flash kernel's output needs the contiguous copy counted here, CUDA's (B, T, H, D)
output does not, so SDPA phases may be one q-sized tensor high on a GPU (never the peak in the measured runs).
Eager attention returns its weights, which the decoder layer holds through the MLP (hidden_states, _ =
self.self_attn(...)). Not modelled: quantized weights' kernels (dequantized tiles), a QuantizedCache's
dequantized copies at decode, flash_attention_2 and flex attention, torch.compile.
"""

from __future__ import annotations

from dataclasses import dataclass

from ...spec import ModelSpec

FP32 = 4
INT64 = 8
# transformers classes without an SDPA path (_supports_sdpa = False): from_pretrained picks eager attention
EAGER_ONLY = {"gemma2": "models/gemma2/modeling_gemma2.py Gemma2PreTrainedModel",
              "gpt_oss": "models/gpt_oss/modeling_gpt_oss.py GptOssPreTrainedModel"}
# models/deepseek_v2/modeling_deepseek_v2.py DeepseekV2TopkRouter: fp32 router weight
# (_keep_in_fp32_modules_strict = ["gate.weight"]), fp32 logits and scores
FP32_ROUTER = ("deepseek_v2", "deepseek_v3")
# Qwen2MoeTopKRouter, Qwen3MoeTopKRouter, OlmoeTopKRouter: the fp32 top-k weights are cast back to the logits' dtype
ROUTER_CAST = ("qwen2_moe", "qwen3_moe", "olmoe")
# Olmo2DecoderLayer.forward: attention and the MLP read the residual stream itself (no input norm) and normalize
# their outputs (post_attention_layernorm, post_feedforward_layernorm) before adding them back
POST_NORM_ONLY = ("olmo2",)
MEM_EFFICIENT_MASK_ALIGNMENT = 8  # torch's preprocess_mask pads the converted mask to a multiple of 8 keys


@dataclass(frozen=True)
class Step:
    """One forward step: B sequences of T new tokens after `past` cached ones."""

    B: int
    T: int
    past: int
    a: int                 # bytes per activation element
    attention: str         # "sdpa" | "eager"
    cache: str             # "dynamic" | "static"
    max_cache_len: int     # StaticCache's tokens (static only)

    @property
    def N(self) -> int:
        return self.B * self.T


def attention_used(spec: ModelSpec, attention: str) -> str:
    """The attention transformers runs: eager where the class has no SDPA path."""
    return "eager" if spec.model_type in EAGER_ONLY else attention


def _window(spec: ModelSpec, kind: str, s: Step) -> int | None:
    """Tokens a sliding layer's cache holds; None for a full layer."""
    if kind != "sliding" or spec.sliding_window is None:
        return None
    if s.cache == "static":  # StaticSlidingWindowLayer.__init__: min(sliding_window, max_cache_len)
        return min(spec.sliding_window, s.max_cache_len)
    return spec.sliding_window


def attended(spec: ModelSpec, kind: str, s: Step) -> tuple[int, int | None]:
    """(keys the layer's attention reads, keys of its mask, None when SDPA gets no mask).

    Keys (cache_utils.py, the layers' update): DynamicLayer returns the past and new keys; DynamicSlidingWindowLayer
    the last window − 1 past ones and the new; StaticLayer its whole max_cache_len buffer; StaticSlidingWindowLayer
    its window buffer, or the new keys themselves when a first update overflows it. The mask spans as many keys
    (get_mask_sizes). SDPA drops it (masking_utils.py _ignore_causal_mask_sdpa) below a sliding window's length
    when there is one query, as many queries as keys, or an empty cache (q_offset 0; sdpa_attention_forward then
    slices a static buffer to the queries and runs is_causal), except in a StaticCache's decode (is_compileable);
    eager_mask never drops it.
    """
    w = _window(spec, kind, s)
    if s.cache == "static":
        keys = s.max_cache_len if w is None else (s.T if s.past == 0 and s.T > w else w)
    else:
        keys = s.past + s.T if w is None else min(s.past, w - 1) + s.T
    if s.attention == "eager" or (w is not None and keys >= spec.sliding_window) or (
            s.cache == "static" and s.T == 1):
        return keys, keys
    if s.T == 1 or keys == s.T or s.past == 0:
        return (s.T if s.T > 1 else keys), None
    return keys, keys


def _kinds(spec: ModelSpec) -> list[str]:
    return ["sliding" if k == "sliding" and spec.sliding_window is not None else "full" for k in spec.layer_kinds()]


def _persistent(spec: ModelSpec, s: Step) -> int:
    """Alive through the step: ids, embeddings, RoPE tables and the masks of every layer kind."""
    B, T, a = s.B, s.T, s.a
    rot = spec.mla.qk_rope_head_dim if spec.mla is not None else spec.head_dim
    if spec.model_type == "deepseek_v2":  # DeepseekV2RotaryEmbedding.forward: complex64 freqs_cis (1, T, rot/2)
        rope = T * rot // 2 * 8
    elif spec.model_type == "gpt_oss":  # GptOssRotaryEmbedding.forward: cos, sin of (1, T, head_dim/2)
        rope = 2 * T * (rot // 2) * a
    else:  # LlamaRotaryEmbedding.forward: cos, sin of (1, T, head_dim) in the activation dtype
        rope = 2 * T * rot * a
    masks = 0
    for kind in set(_kinds(spec)):
        keys, mask_keys = attended(spec, kind, s)
        if mask_keys is None:
            continue
        # sdpa_mask broadcasts a (1, 1, T, kv) boolean and expands it over the batch; eager_mask's torch.where
        # materializes it in the activation dtype, (B, 1, T, kv)
        masks += B * T * mask_keys * a if s.attention == "eager" else T * mask_keys
    return B * T * INT64 + T * INT64 + B * T * spec.d_model * a + rope + masks


def _norm(rows: int, width: int) -> int:
    """An RMSNorm's fp32 temporaries (LlamaRMSNorm, Gemma2RMSNorm, GptOssRMSNorm): copy and product, row stats."""
    return 2 * rows * width * FP32 + 2 * rows * FP32


def _scores(spec: ModelSpec, s: Step, keys: int) -> int:
    """Eager attention's score tensors at their peak, bytes.

    eager_attention_forward (models/llama/modeling_llama.py): softmax(scores + mask, dtype=float32) holds the
    masked scores, their fp32 copy and the fp32 softmax. gpt-oss (models/gpt_oss/modeling_gpt_oss.py
    eager_attention_forward) appends the sink column: the masked scores, their concatenation with the sinks, its
    row maxima and the difference, all in the activation dtype.
    """
    rows = s.B * spec.n_heads * s.T
    if spec.attention_sinks:
        return rows * (3 * keys + 3) * s.a
    return rows * keys * (s.a + FP32 + (FP32 if s.a != FP32 else 0))


def _sdpa_core(spec: ModelSpec, s: Step, keys: int, mask_keys: int | None, v_dim: int, qk_dim: int) -> tuple:
    """(bytes during SDPA, True when the output comes back in (B, T, H, D) layout: no contiguous copy).

    Flash attention (no mask, one head size ≤ 256): output and fp32 log-sum-exp (B, H, T). Otherwise torch's
    memory-efficient kernel: output only, after converting the boolean mask to the activation dtype over the batch
    and padding it to a multiple of 8 keys (torch's convert_boolean_attn_mask, preprocess_mask).
    """
    out = s.N * spec.n_heads * v_dim * s.a
    if mask_keys is None and qk_dim == v_dim <= 256:
        return out + s.B * spec.n_heads * s.T * FP32, False
    if mask_keys is None:
        return out, True
    converted = s.B * s.T * mask_keys * s.a
    rem = mask_keys % MEM_EFFICIENT_MASK_ALIGNMENT
    padded = s.B * s.T * (mask_keys + MEM_EFFICIENT_MASK_ALIGNMENT - rem) * s.a if rem else 0
    return max(converted + padded, (padded or converted) + out), True


def _gqa_copies(spec: ModelSpec, s: Step, keys: int, mask_keys: int | None) -> int:
    """repeat_kv's copies of K and V for every query head: eager_attention_forward always; sdpa_attention_forward
    unless SDPA's enable_gqa runs (use_gqa_in_sdpa: no mask, head size ≤ 256) or, for a single query, pack_gqa."""
    if spec.n_kv_heads == spec.n_heads or spec.mla is not None:
        return 0
    if s.attention == "sdpa" and ((mask_keys is None and spec.head_dim <= 256) or s.T == 1):
        return 0
    return 2 * s.B * spec.n_heads * keys * spec.head_dim * s.a


def _attention(spec: ModelSpec, kind: str, s: Step) -> tuple[int, int, int, int]:
    """(peak before the cache update, at the update, after it, kept after it returns), bytes above the persistent
    ones and h. Eager attention returns its weights, and the decoder layer holds them through the MLP
    (LlamaDecoderLayer.forward: hidden_states, _ = self.self_attn(...))."""
    if spec.mla is not None:
        return _mla_attention(spec, kind, s)
    N, a, H, K, D, d = s.N, s.a, spec.n_heads, spec.n_kv_heads, spec.head_dim, spec.d_model
    x_n = 0 if spec.model_type in POST_NORM_ONLY else N * d * a  # the normed input beside the residual
    q, k = N * H * D * a, N * K * D * a
    temps = 2 if spec.model_type == "gpt_oss" else 3  # gpt-oss's _apply_rotary_emb: two halves, then cat
    before = max(_norm(N, d), x_n + q + 2 * k + temps * q, x_n + 2 * q + 2 * k + temps * k)
    if spec.qk_norm:  # Qwen3Attention.forward: q_norm(q_proj(x)), then k_norm(k_proj(x)) beside it
        before = max(before, x_n + q + _norm(N * H, D) + q, x_n + 2 * q + k + _norm(N * K, D) + k)
    keys, mask_keys = attended(spec, kind, s)
    reps = _gqa_copies(spec, s, keys, mask_keys)
    # Phi3Attention.forward's local qkv (the fused projection, of which v is a view) lives to the end
    fused = q + 2 * k if spec.qkv_fused else 0
    update = x_n + q + k + (fused or k)  # q_embed, k_embed and v beside the cache storage being written
    x_n += fused
    w = _window(spec, kind, s)
    own = s.cache == "static" and w is not None and s.past == 0 and s.T > w
    if own:
        x_n += k + (0 if fused else k)  # StaticSlidingWindowLayer.update returns k_embed and v themselves
    if s.attention == "eager":
        kept = s.B * H * s.T * (keys + (1 if spec.attention_sinks else 0)) * a  # attn_weights, returned
        # torch.matmul(attn_weights, value_states) folds (B, H) into one batch dimension: a copy of V when V is
        # still a view of v_proj's (B, T, H, D) output and B > 1
        v_copy = s.B * H * keys * D * a if own and not reps and s.B > 1 else 0
        core = max(x_n + q + reps + _scores(spec, s, keys), x_n + q + reps + kept + v_copy + q,
                   x_n + q + reps + kept + 2 * q)
        return before, update, max(core, x_n + q + kept + q + N * d * a), kept
    sdpa, transposed = _sdpa_core(spec, s, keys, mask_keys, D, D)
    copy = 0 if transposed else q  # attn_output.transpose(1, 2).contiguous()
    after = max(x_n + q + reps + sdpa, x_n + q + reps + q + copy, x_n + q + q + N * d * a)
    return before, update, after, 0


def _mla_attention(spec: ModelSpec, kind: str, s: Step) -> tuple[int, int, int, int]:
    """DeepseekV2Attention.forward: latents cached, K and V decompressed for every attended key (expand_kv).

    Held to the end: x_n, q (q_proj), the latent (kv_a_proj_with_mqa), the rotated q_pe, query_states (q_nope and
    q_pe concatenated), kv_b_proj's output over the keys (k_nope and V) and key_states (k_nope and k_pe copied
    into a new tensor), then the attention output and o_proj's.
    """
    m, N, a, H, d = spec.mla, s.N, s.a, spec.n_heads, spec.d_model
    qk, r, rot = m.qk_nope_head_dim + m.qk_rope_head_dim, m.kv_lora_rank, m.qk_rope_head_dim
    x_n, q = N * d * a, N * H * qk * a
    q_a = N * m.q_lora_rank * a if m.q_lora_rank else 0  # q_a_proj, q_a_layernorm
    latent = N * (r + rot) * a
    # kv_a_layernorm over the latent's first r columns; apply_rotary_emb: fp32 copies of q_pe and k_pe, their
    # complex product and the product cast back
    rope = N * H * rot * (2 * FP32 + a) + N * rot * FP32
    before = max(_norm(N, d), x_n + 2 * q_a + _norm(N, m.q_lora_rank or 0),
                 x_n + q + latent + _norm(N, r) + N * r * a, x_n + q + latent + N * r * a + rope)
    keys, mask_keys = attended(spec, kind, s)
    held = x_n + q + latent + N * H * rot * a + q
    held += s.B * keys * H * (m.qk_nope_head_dim + m.v_head_dim + qk) * a
    out = N * H * m.v_head_dim * a
    update = x_n + q + latent + N * H * rot * a + N * (r + rot) * a
    if s.attention == "eager":
        kept = s.B * H * s.T * keys * a
        # torch.matmul(attn_weights, value_states): V, a split of kv_b_proj's (B, S, H, nope + v) output, is copied
        # to fold (B, H) into one batch dimension when B > 1
        v_copy = s.B * keys * H * m.v_head_dim * a if s.B > 1 else 0
        return before, update, max(held + _scores(spec, s, keys), held + kept + v_copy + out,
                                   held + kept + 2 * out, held + kept + out + N * d * a), kept
    sdpa, transposed = _sdpa_core(spec, s, keys, mask_keys, m.v_head_dim, qk)
    copy = 0 if transposed else out
    return before, update, max(held + sdpa, held + out + copy, held + out + N * d * a), 0


def _dense_mlp(spec: ModelSpec, rows: int, d_ff: int, a: int) -> int:
    """LlamaMLP.forward: act(gate), up, product; Phi3MLP.forward keeps the fused gate_up beside them."""
    d = spec.d_model
    if not spec.gated_mlp:
        return rows * (2 * d_ff) * a
    if spec.gate_up_fused:
        return rows * max(4 * d_ff, 3 * d_ff + d) * a
    return rows * max(3 * d_ff, d_ff + d) * a


def _moe(spec: ModelSpec, s: Step) -> int:
    """A sparse MoE block over N rows: the router's outputs and grouped_mm_experts_forward (integrations/moe.py).

    Router (MixtralTopKRouter): logits N·E kept, top-k fp32 weights and int64 indices; DeepSeek's in fp32
    (DeepseekV2TopkRouter: the fp32 input copy, logits and scores); gpt-oss's (router bias) top-k softmax and
    Qwen-MoE's top-k weights in the activation dtype. Experts, over S = N·k rows sorted by expert: expert ids and
    order (int64), their weights and histc input, the gathered rows S·d, the gate_up output S·2ff with act(gate)
    and the product (gpt-oss: the gathered biases and its clamped SwiGLU's five intermediates), then the down
    output S·d, its product with the weights (fp32 where the weights are), that product gathered back in order,
    and the sum over k. DeepSeek's shared experts run after the routed ones, beside their output.
    """
    mo, N, a, d = spec.moe, s.N, s.a, spec.d_model
    E, k, f = mo.n_experts, mo.experts_per_token, mo.expert_d_ff
    S = N * k
    fp32_router = spec.model_type in FP32_ROUTER
    w = a if mo.router_bias or spec.model_type in ROUTER_CAST else FP32  # routing weights' dtype
    logits = N * E * (FP32 if fp32_router else a)
    router_live = max(N * d * FP32 + logits + N * E * FP32, logits + N * E * FP32 + N * k * (FP32 + INT64))
    kept = logits + N * k * (w + INT64)
    index = 2 * S * INT64 + S * w + S * FP32 + 2 * E * FP32  # ids, perm, weights, histc input, counts, offsets
    gathered = S * d * a
    if spec.activation == "swiglu_clamp":  # GptOssExperts._apply_gate; has_bias: gate_up_proj_bias[expert_ids_g]
        gate = S * 2 * f * a + S * 2 * f * a + 5 * S * f * a
    elif spec.gated_mlp:
        gate = 4 * S * f * a  # _default_apply_gate: gate_up, act(gate), product
    else:
        gate = 2 * S * f * a
    bias = S * d * a if spec.mlp_bias else 0  # down_proj_bias[expert_ids_g]
    wsum = w if w == FP32 else a  # proj_out * sample_weights: fp32 when the weights are
    combine = bias + S * d * a + 2 * S * d * wsum + S * INT64
    experts = index + gathered + max(gate, bias + S * f * a + S * d * a, combine, S * d * wsum + N * d * wsum)
    out = max(router_live, kept + experts)
    if mo.shared_d_ff:  # DeepseekV2Moe.forward: shared experts after the routed ones, beside their output
        out = max(out, kept + N * d * a + _dense_mlp(spec, N, mo.shared_d_ff, a) + N * d * a)
    return out


def _mlp(spec: ModelSpec, layer: int, s: Step) -> int:
    """The feed-forward phase above the persistent bytes and h: h1, x_n2 and the MLP's own."""
    N, a, d = s.N, s.a, spec.d_model
    moe = spec.is_moe_layer(layer)
    inner = _moe(spec, s) if moe else _dense_mlp(spec, N, spec.d_ff, a)
    if spec.model_type in POST_NORM_ONLY:  # h1 and the MLP; then its output beside its post-norm
        return max(N * d * a + inner, 2 * N * d * a + _norm(N, d))
    post = N * d * a + _norm(N, d) if spec.norms_per_layer == 4 else 0  # Gemma-2's post-feedforward norm
    return max(N * d * a + _norm(N, d), 2 * N * d * a + inner, N * d * a + post)


def _logits(spec: ModelSpec, s: Step, persistent: int) -> int:
    """After the last layer: the final norm beside the last hidden state (inside the model's forward), then,
    with the model's locals gone, the last position's logits (lm_head; Gemma-2 soft-caps them in a copy) and
    generate()'s fp32 copy of them (next_token_logits); the input ids stay."""
    N, a, d, V, B = s.N, s.a, spec.d_model, spec.vocab_size, s.B
    ids = B * s.T * INT64
    capped = 2 if spec.model_type == "gemma2" else 1
    return max(persistent + N * d * a + _norm(N, d), ids + N * d * a + capped * B * V * a,
               ids + B * V * (a + FP32))


def step_peak(spec: ModelSpec, s: Step, layer_kv: list[int], growth: list[int] | None = None,
              transient: list[int] | None = None) -> tuple[int, str]:
    """(peak bytes above the weights and the cache, the phase it is in) of one forward step.

    Prefill: layer_kv is each layer's cache at the end of the step, the peak is counted above all of it.
    Decode: the peak is counted above the cache before the step; growth is each layer's change of cache bytes in
    the step, transient the bytes its update holds beside its cache for a moment (the storage torch.cat replaces,
    a full sliding StaticCache layer's rolled copies).
    """
    persistent = _persistent(spec, s)
    h = s.N * spec.d_model * s.a
    missing, changed = sum(layer_kv), 0
    best, where = None, ""
    for i, kind in enumerate(_kinds(spec)):
        if growth is None:  # layers after i are not filled yet, layer i only from its update on
            missing -= layer_kv[i]
            before, after = -missing - layer_kv[i], -missing
        else:
            before = changed
            changed += growth[i]
            after = changed
        attn_before, update, attn_after, kept = _attention(spec, kind, s)
        moment = transient[i] if transient else 0
        for name, value in (("qkv", attn_before + before), ("update", update + after + moment),
                            ("attn", attn_after + after), ("mlp", _mlp(spec, i, s) + kept + after)):
            if best is None or value > best:
                best, where = value, f"layer {i} {name}"
    peak = persistent + h + best
    final = _logits(spec, s, persistent) + changed
    return (peak, where) if peak >= final else (final, "logits")
