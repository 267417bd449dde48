"""Every parameter tensor of a ModelSpec, named as llama.cpp's GGUF files name them.

The list is the single source for parameter counts, weight bytes per quantization and (in the
reference model) the modules to build. Shapes are (out_features, in_features) for linears and
(n_experts, out, in) for expert stacks, so the last dimension is always the row that a
quantizer's blocks run along (GGUF's ne[0]).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from math import prod

from .spec import ModelSpec


@dataclass(frozen=True)
class WeightTensor:
    name: str            # e.g. "blk.3.attn_v.weight"
    role: str            # e.g. "attn_v"; "norm" and "bias" for 1-D tensors
    shape: tuple[int, ...]
    layer: int | None = None  # None for token_embd, output, output_norm

    @property
    def numel(self) -> int:
        return prod(self.shape)

    @property
    def is_matrix(self) -> bool:
        """2-D (or stacked 3-D) weights are what quantizers compress; 1-D norms and biases never."""
        return len(self.shape) >= 2

    @property
    def is_expert(self) -> bool:
        return self.role.endswith("_exps")


def _linear(layer: int, role: str, out: int, inp: int, bias: bool) -> list[WeightTensor]:
    t = [WeightTensor(f"blk.{layer}.{role}.weight", role, (out, inp), layer)]
    if bias:
        t.append(WeightTensor(f"blk.{layer}.{role}.bias", "bias", (out,), layer))
    return t


def _norm(spec: ModelSpec, name: str, width: int, layer: int | None) -> list[WeightTensor]:
    t = [WeightTensor(f"{name}.weight", "norm", (width,), layer)]
    if spec.norm == "layernorm" and spec.norm_bias:
        t.append(WeightTensor(f"{name}.bias", "norm", (width,), layer))
    return t


def _attention(spec: ModelSpec, i: int) -> list[WeightTensor]:
    d, hd = spec.d_model, spec.head_dim
    q, kv = spec.n_heads * hd, spec.n_kv_heads * hd
    t: list[WeightTensor] = []
    if spec.mla is not None:
        m = spec.mla
        qk = m.qk_nope_head_dim + m.qk_rope_head_dim
        if m.q_lora_rank is None:
            t += _linear(i, "attn_q", spec.n_heads * qk, d, False)
        else:
            t += _linear(i, "attn_q_a", m.q_lora_rank, d, False)
            t += _norm(spec, f"blk.{i}.attn_q_a_norm", m.q_lora_rank, i)
            t += _linear(i, "attn_q_b", spec.n_heads * qk, m.q_lora_rank, False)
        # The latent: kv_lora_rank compressed dims plus one shared rotary key head.
        t += _linear(i, "attn_kv_a_mqa", m.kv_lora_rank + m.qk_rope_head_dim, d, False)
        t += _norm(spec, f"blk.{i}.attn_kv_a_norm", m.kv_lora_rank, i)
        t += _linear(i, "attn_kv_b", spec.n_heads * (m.qk_nope_head_dim + m.v_head_dim), m.kv_lora_rank, False)
        t += _linear(i, "attn_output", d, spec.n_heads * m.v_head_dim, spec.o_bias)
        if spec.indexer is not None:
            t += _indexer(spec, i)
        return t
    if spec.qkv_fused:
        t += _linear(i, "attn_qkv", q + 2 * kv, d, spec.qkv_bias)
    else:
        t += _linear(i, "attn_q", 2 * q if spec.attn_output_gate else q, d, spec.qkv_bias)
        t += _linear(i, "attn_k", kv, d, spec.qkv_bias)
        t += _linear(i, "attn_v", kv, d, spec.qkv_bias)
    if spec.qk_norm:
        qw, kw = (hd, hd) if spec.qk_norm_per_head else (q, kv)
        t += _norm(spec, f"blk.{i}.attn_q_norm", qw, i) + _norm(spec, f"blk.{i}.attn_k_norm", kw, i)
    t += _linear(i, "attn_output", d, q, spec.o_bias)
    if spec.attention_sinks:
        t.append(WeightTensor(f"blk.{i}.attn_sinks.weight", "attn_sinks", (spec.n_heads,), i))
    return t


def _indexer(spec: ModelSpec, i: int) -> list[WeightTensor]:
    """DeepSeek-V3.2's lightning indexer (transformers' DeepseekV32Indexer): wq_b from the query latent to n_heads
    heads, wk to the one key, k_norm a LayerNorm with its bias (nn.LayerNorm), weights_proj to one weight per head;
    named as llama.cpp's LLM_TENSOR_INDEXER_* (blk.N.indexer.attn_q_b, attn_k, k_norm, proj)."""
    x, d, q_rank = spec.indexer, spec.d_model, spec.mla.q_lora_rank
    return [WeightTensor(f"blk.{i}.indexer.attn_q_b.weight", "attn_indexer_q_b", (x.n_heads * x.head_dim, q_rank), i),
            WeightTensor(f"blk.{i}.indexer.attn_k.weight", "attn_indexer_k", (x.head_dim, d), i),
            WeightTensor(f"blk.{i}.indexer.k_norm.weight", "norm", (x.head_dim,), i),
            WeightTensor(f"blk.{i}.indexer.k_norm.bias", "norm", (x.head_dim,), i),
            WeightTensor(f"blk.{i}.indexer.proj.weight", "attn_indexer_proj", (x.n_heads, d), i)]


def _linear_attention(spec: ModelSpec, i: int) -> list[WeightTensor]:
    """A Gated DeltaNet layer (transformers' Qwen3NextGatedDeltaNet): q, k, v and the output gate z from one
    projection, the decay and update rates (a, b) from another, a depthwise causal convolution over q, k and v, the
    per-head dt_bias and A_log, the gated RMSNorm over each value head, and the output projection."""
    la, d = spec.linear_attention, spec.d_model
    kd, vd = la.num_key_heads * la.key_head_dim, la.num_value_heads * la.value_head_dim
    return [*_linear(i, "attn_qkvz", 2 * kd + 2 * vd, d, False), *_linear(i, "attn_ba", 2 * la.num_value_heads, d,
                                                                            False),
            WeightTensor(f"blk.{i}.ssm_conv1d.weight", "ssm_conv1d", (la.conv_dim, la.conv_kernel), i),
            WeightTensor(f"blk.{i}.ssm_dt.bias", "bias", (la.num_value_heads,), i),
            WeightTensor(f"blk.{i}.ssm_a", "norm", (la.num_value_heads,), i),
            WeightTensor(f"blk.{i}.ssm_norm.weight", "norm", (la.value_head_dim,), i),
            *_linear(i, "attn_output", d, vd, False)]


def _mamba(spec: ModelSpec, i: int) -> list[WeightTensor]:
    """A Mamba-2 mixer (transformers' GraniteMoeHybridMambaLayer): one projection to the gate z, x, B, C and dt, the
    depthwise causal convolution over x, B and C, per-head dt_bias, A_log and D, the gated RMSNorm over d_inner,
    and the output projection."""
    m, d = spec.mamba, spec.d_model
    t = _linear(i, "attn_ssm_in", m.d_inner + m.conv_dim + m.n_heads, d, m.proj_bias)
    t.append(WeightTensor(f"blk.{i}.ssm_conv1d.weight", "ssm_conv1d", (m.conv_dim, m.conv_kernel), i))
    if m.conv_bias:
        t.append(WeightTensor(f"blk.{i}.ssm_conv1d.bias", "bias", (m.conv_dim,), i))
    t += [WeightTensor(f"blk.{i}.ssm_dt.bias", "bias", (m.n_heads,), i),
          WeightTensor(f"blk.{i}.ssm_a", "norm", (m.n_heads,), i),
          WeightTensor(f"blk.{i}.ssm_d", "norm", (m.n_heads,), i)]
    if m.gated_norm:
        t.append(WeightTensor(f"blk.{i}.ssm_norm.weight", "norm", (m.d_inner,), i))
    return t + _linear(i, "attn_ssm_out", d, m.d_inner, m.out_bias)


def _mamba1(spec: ModelSpec, i: int) -> list[WeightTensor]:
    """A Mamba mixer as Jamba has it (transformers' JambaMambaMixer): x and the gate from one projection, the
    depthwise convolution over x, x_proj to the time step's rank and B and C, dt_proj back to d_inner, A_log
    (d_inner × d_state), D, the output projection, and RMSNorms over dt, B and C."""
    m, d = spec.mamba1, spec.d_model
    t = _linear(i, "attn_ssm_in", 2 * m.d_inner, d, m.proj_bias)
    t.append(WeightTensor(f"blk.{i}.ssm_conv1d.weight", "ssm_conv1d", (m.d_inner, m.conv_kernel), i))
    if m.conv_bias:
        t.append(WeightTensor(f"blk.{i}.ssm_conv1d.bias", "bias", (m.d_inner,), i))
    t += _linear(i, "attn_ssm_x", m.dt_rank + 2 * m.d_state, m.d_inner, False)
    t += _linear(i, "attn_ssm_dt", m.d_inner, m.dt_rank, True)
    t += [WeightTensor(f"blk.{i}.ssm_a", "ssm_a", (m.d_inner, m.d_state), i),
          WeightTensor(f"blk.{i}.ssm_d", "norm", (m.d_inner,), i),
          WeightTensor(f"blk.{i}.ssm_dt_norm.weight", "norm", (m.dt_rank,), i),
          WeightTensor(f"blk.{i}.ssm_b_norm.weight", "norm", (m.d_state,), i),
          WeightTensor(f"blk.{i}.ssm_c_norm.weight", "norm", (m.d_state,), i)]
    return t + _linear(i, "attn_ssm_out", d, m.d_inner, m.proj_bias)


def _mlp(spec: ModelSpec, i: int, d_ff: int, suffix: str = "") -> list[WeightTensor]:
    d, b = spec.d_model, spec.mlp_bias
    if not spec.gated_mlp:
        return _linear(i, f"ffn_up{suffix}", d_ff, d, b) + _linear(i, f"ffn_down{suffix}", d, d_ff, b)
    if spec.gate_up_fused:
        up = _linear(i, f"ffn_up{suffix}", 2 * d_ff, d, b)  # llama.cpp keeps Phi-3's fused gate_up as ffn_up
    else:
        up = _linear(i, f"ffn_gate{suffix}", d_ff, d, b) + _linear(i, f"ffn_up{suffix}", d_ff, d, b)
    return up + _linear(i, f"ffn_down{suffix}", d, d_ff, b)


def _experts(spec: ModelSpec, i: int) -> list[WeightTensor]:
    m, d = spec.moe, spec.d_model
    assert m is not None
    e, f = m.n_experts, m.expert_d_ff
    t = [WeightTensor(f"blk.{i}.ffn_gate_inp.weight", "ffn_gate_inp", (e, d), i)]
    if m.router_bias:
        t.append(WeightTensor(f"blk.{i}.ffn_gate_inp.bias", "bias", (e,), i))
    if m.router_correction_bias:
        t.append(WeightTensor(f"blk.{i}.exp_probs_b.bias", "bias", (e,), i))
    shapes = {"ffn_down_exps": (e, d, f), "ffn_up_exps": (e, f, d)}
    if spec.gated_mlp:
        shapes = {"ffn_gate_exps": (e, f, d), **shapes}
    for role, shape in shapes.items():
        t.append(WeightTensor(f"blk.{i}.{role}.weight", role, shape, i))
        if spec.mlp_bias:
            t.append(WeightTensor(f"blk.{i}.{role}.bias", "bias", shape[:2], i))
    if m.n_shared_experts:
        t += _mlp(spec, i, m.shared_d_ff, suffix="_shexp")
    if m.shared_expert_gate:
        t += _linear(i, "ffn_gate_inp_shexp", 1, d, False)
    return t


def _layer(spec: ModelSpec, i: int) -> list[WeightTensor]:
    t = _norm(spec, f"blk.{i}.attn_norm", spec.d_model, i)
    kind = spec.layer_pattern[i % len(spec.layer_pattern)]
    if kind == "parallel":  # Falcon-H1: attention and a Mamba-2 mixer side by side
        t += _attention(spec, i) + _mamba(spec, i)
    else:
        t += {"linear": _linear_attention, "mamba": _mamba, "mamba1": _mamba1}.get(kind, _attention)(spec, i)
    if spec.norms_per_layer >= 3:
        t += _norm(spec, f"blk.{i}.post_attention_norm", spec.d_model, i)
    t += _norm(spec, f"blk.{i}.ffn_norm", spec.d_model, i)
    t += _experts(spec, i) if spec.is_moe_layer(i) else _mlp(spec, i, spec.d_ff)
    if spec.norms_per_layer >= 4:
        t += _norm(spec, f"blk.{i}.post_ffw_norm", spec.d_model, i)
    return t


@lru_cache(maxsize=256)
def weight_tensors(spec: ModelSpec) -> tuple[WeightTensor, ...]:
    """All parameter tensors, in checkpoint order: embedding, layers, final norm, lm_head."""
    t = [WeightTensor("token_embd.weight", "token_embd", (spec.vocab_size, spec.d_model))]
    for i in range(spec.n_layers):
        t += _layer(spec, i)
    t += _norm(spec, "output_norm", spec.d_model, None)
    if not spec.tie_embeddings:
        t.append(WeightTensor("output.weight", "output", (spec.vocab_size, spec.d_model)))
        if spec.lm_head_bias:
            t.append(WeightTensor("output.bias", "bias", (spec.vocab_size,)))
    if spec.vision is not None:
        t += _vision(spec)
    return tuple(t)


def _vision(spec: ModelSpec) -> list[WeightTensor]:
    """A SigLIP image encoder and Gemma 3's projector (transformers' SiglipVisionModel: patch embedding with bias,
    learned positions, pre-norm layers with biased q/k/v/out and fc1/fc2, a final LayerNorm; Gemma3MultiModalProjector:
    an RMSNorm and a (vision, text) projection), or Llama 4's (Llama4VisionModel: an unbiased patch linear, a class
    token, the same pre-norm layers between two LayerNorms; its pixel-shuffle adapter and a (vision, text) projection),
    or Qwen3-VL's (a Conv3d patch embedding, the same layers without a final norm, its mergers: _qwen_vl_mergers), or
    Qwen2.5-VL's (an unbiased Conv3d patch embedding, RMSNorm layers with a gated MLP, one merger), or Pixtral's
    (RMSNorms, unbiased attention and a gated MLP; Mistral 3's patch merger and projector), named as llama.cpp's mmproj
    files name them (v.*, mm.*)."""
    v = spec.vision
    d, f = v.d_model, v.d_ff

    def w(name: str, *shape: int) -> WeightTensor:
        return WeightTensor(name, "vision", shape)

    if v.kind == "llama4":  # Llama4VisionModel: an unbiased patch linear, a class token, learned positions
        t = [w("v.patch_embd.weight", d, v.channels * v.patch_size * v.patch_size), w("v.class_embd", d),
             w("v.position_embd.weight", v.n_patches + 1, d), w("v.pre_ln.weight", d), w("v.pre_ln.bias", d)]
    elif v.kind == "pixtral":  # PixtralVisionModel: an unbiased patch Conv2d, an RMSNorm; 2-D RoPE, no positions
        t = [w("v.patch_embd.weight", d, v.channels, v.patch_size, v.patch_size), w("v.pre_ln.weight", d)]
        for i in range(v.n_layers):  # RMSNorms, unbiased q/k/v/o and a gated SiLU MLP
            b = f"v.blk.{i}"
            t += [w(f"{b}.ln1.weight", d), *(w(f"{b}.{n}.weight", d, d) for n in ("attn_q", "attn_k", "attn_v",
                                                                                    "attn_out")),
                  w(f"{b}.ln2.weight", d), w(f"{b}.ffn_gate.weight", f, d), w(f"{b}.ffn_up.weight", f, d),
                  w(f"{b}.ffn_down.weight", d, f)]
        # Mistral3MultiModalProjector: an RMSNorm, the patch merger (shuffle patches into one), two unbiased linears
        return t + [w("mm.input_norm.weight", d), w("mm.patch_merger.weight", d, d * v.shuffle),
                    w("mm.1.weight", spec.d_model, d), w("mm.2.weight", spec.d_model, spec.d_model)]
    elif v.kind == "qwen2_5_vl":  # Qwen2_5_VisionPatchEmbed: an unbiased Conv3d; 2-D RoPE, no learned positions
        t = [w("v.patch_embd.weight", d, v.channels, v.temporal_patch, v.patch_size, v.patch_size)]
        for i in range(v.n_layers):  # RMSNorms without bias, biased q/k/v/o and a biased gated SiLU MLP
            b = f"v.blk.{i}"
            t += [w(f"{b}.ln1.weight", d)]
            for name in ("attn_q", "attn_k", "attn_v", "attn_out"):
                t += [w(f"{b}.{name}.weight", d, d), w(f"{b}.{name}.bias", d)]
            t += [w(f"{b}.ln2.weight", d), *(x for n in ("ffn_gate", "ffn_up") for x in (
                w(f"{b}.{n}.weight", f, d), w(f"{b}.{n}.bias", f))),
                  w(f"{b}.ffn_down.weight", d, f), w(f"{b}.ffn_down.bias", d)]
        wide = d * v.shuffle  # Qwen2_5_VLPatchMerger: an RMSNorm over one patch, then a GELU MLP over the fold
        return t + [w("v.post_ln.weight", d), w("mm.0.weight", wide, wide), w("mm.0.bias", wide),
                    w("mm.2.weight", v.output_dim, wide), w("mm.2.bias", v.output_dim)]
    elif v.kind == "qwen3_vl":  # Qwen3VLVisionPatchEmbed: a biased Conv3d over temporal_patch frames; learned positions
        t = [w("v.patch_embd.weight", d, v.channels, v.temporal_patch, v.patch_size, v.patch_size),
             w("v.patch_embd.bias", d), w("v.position_embd.weight", v.n_patches, d)]
    else:
        t = [w("v.patch_embd.weight", d, v.channels, v.patch_size, v.patch_size), w("v.patch_embd.bias", d),
             w("v.position_embd.weight", v.n_patches, d)]
    for i in range(v.n_layers):
        b = f"v.blk.{i}"
        t += [w(f"{b}.ln1.weight", d), w(f"{b}.ln1.bias", d)]
        for name in ("attn_q", "attn_k", "attn_v", "attn_out"):
            t += [w(f"{b}.{name}.weight", d, d), w(f"{b}.{name}.bias", d)]
        t += [w(f"{b}.ln2.weight", d), w(f"{b}.ln2.bias", d), w(f"{b}.ffn_up.weight", f, d),
              w(f"{b}.ffn_up.bias", f), w(f"{b}.ffn_down.weight", d, f), w(f"{b}.ffn_down.bias", d)]
    if v.kind == "qwen3_vl":  # no final norm: the merger (LayerNorm, then an MLP over `shuffle` patches) and as many
        return t + _qwen_vl_mergers(v)  # again for the deepstack layers (their LayerNorm after the fold)
    t += [w("v.post_ln.weight", d), w("v.post_ln.bias", d)]
    if v.kind == "llama4":  # the pixel-shuffle adapter (fc1 over `shuffle` merged patches, fc2), then the projector
        return t + [w("mm.adapter.fc1.weight", v.adapter_dim, f),  # Llama4VisionMLP2: Linear(intermediate_size, …)
                    w("mm.adapter.fc2.weight", v.output_dim, v.output_dim),
                    w("mm.linear_1.weight", spec.d_model, v.output_dim)]
    return t + [w("mm.input_projection.weight", spec.d_model, d), w("mm.soft_emb_norm.weight", d)]


def _qwen_vl_mergers(v) -> list[WeightTensor]:
    """Qwen3VLVisionPatchMerger: a LayerNorm over one patch (over the folded `shuffle` patches for the deepstack
    mergers, use_postshuffle_norm), fc1 across the folded width, GELU, fc2 out to output_dim; biased linears."""
    wide = v.d_model * v.shuffle
    out = []
    for name, norm in [("mm", v.d_model)] + [(f"mm.deepstack.{i}", wide) for i in range(v.deepstack)]:
        out += [WeightTensor(f"{name}.norm.weight", "vision", (norm,)),
                WeightTensor(f"{name}.norm.bias", "vision", (norm,)),
                WeightTensor(f"{name}.fc1.weight", "vision", (wide, wide)),
                WeightTensor(f"{name}.fc1.bias", "vision", (wide,)),
                WeightTensor(f"{name}.fc2.weight", "vision", (v.output_dim, wide)),
                WeightTensor(f"{name}.fc2.bias", "vision", (v.output_dim,))]
    return out


def language_tensors(spec: ModelSpec) -> tuple[WeightTensor, ...]:
    """weight_tensors without an image encoder's: what a GGUF model file holds (llama.cpp keeps the encoder in a
    separate mmproj file, loaded only with --mmproj)."""
    return tuple(t for t in weight_tensors(spec) if t.role != "vision")


@lru_cache(maxsize=256)
def param_count(spec: ModelSpec) -> int:
    """Exact parameter count: the sum over weight_tensors (cached with them: a fit asks it thousands of times)."""
    return sum(t.numel for t in weight_tensors(spec))


@lru_cache(maxsize=256)
def vision_param_count(spec: ModelSpec) -> int:
    """Parameters of the image encoder and its projector (0 for a text-only model): weights held, never read by a
    token's step."""
    return sum(t.numel for t in weight_tensors(spec) if t.role == "vision")


@lru_cache(maxsize=256)
def active_param_count(spec: ModelSpec) -> int:
    """Parameters per token: routed experts count experts_per_token of n_experts; everything else in full.

    The token-embedding table is included (Mistral AI's and Microsoft's convention); OpenAI and DeepSeek
    publish active counts without it (subtract vocab_size * d_model).
    """
    total = 0
    for t in weight_tensors(spec):
        if t.is_expert or (t.role == "bias" and ("_exps." in t.name)):
            total += t.numel // spec.moe.n_experts * spec.moe.experts_per_token
        else:
            total += t.numel
    return total
