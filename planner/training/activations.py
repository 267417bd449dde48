"""Activations a training step keeps for backward, per token, as transformers' model classes and peft save them.

Autograd keeps an op's input only when a gradient needs it: a frozen linear keeps nothing of its input, a trainable
one keeps it; an RMSNorm keeps its fp32 upcast whenever its input needs a gradient. So what is saved depends on the
method. The terms below were read off torch.autograd.graph.saved_tensors_hooks on transformers 5.24 models with
peft 0.21 adapters (one term per saved storage), and the totals are checked against full-size fake-tensor runs
(planner.measure.training). Bytes per token of one micro-batch; B·T tokens multiply them.

Notation: d hidden, q = heads·head_dim, kv = kv_heads·head_dim, f the MLP width, r the LoRA rank, H heads, V vocab.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from ..spec import ModelSpec
from ..tensors import weight_tensors
from .setup import TrainSetup
from .states import adapts_experts, lora_targets

FP32 = 4
# Gemma-2 caps attention scores and final logits with tanh (config attn_logit_softcapping 50.0,
# final_logit_softcapping 30.0, https://huggingface.co/google/gemma-2-9b/blob/main/config.json); tanh keeps its output.
GEMMA2 = "gemma2"


@dataclass(frozen=True)
class Widths:
    d: int
    q: int
    kv: int
    heads: int
    kv_heads: int
    o: int  # the output projection's input


def _lora_inputs(spec: ModelSpec) -> dict[str, int]:
    """Input width of each attention projection LoRA may adapt (MLA's are its latents)."""
    d = spec.d_model
    out = {"attn_q": d, "attn_k": d, "attn_v": d, "attn_qkv": d, "attn_kv_a_mqa": d, "attn_q_a": d}
    if spec.mla is not None:
        out["attn_kv_b"] = spec.mla.kv_lora_rank
        out["attn_q_b"] = spec.mla.q_lora_rank or 0
    return out


def _widths(spec: ModelSpec) -> Widths:
    if spec.mla is not None:
        m = spec.mla
        q = spec.n_heads * (m.qk_nope_head_dim + m.qk_rope_head_dim)
        return Widths(spec.d_model, q, q, spec.n_heads, spec.n_heads, spec.n_heads * m.v_head_dim)
    q = spec.n_heads * spec.head_dim
    return Widths(spec.d_model, q, spec.n_kv_heads * spec.head_dim, spec.n_heads, spec.n_kv_heads, q)


@lru_cache(maxsize=256)
def layer_classes(spec: ModelSpec) -> tuple[tuple[int, int], ...]:
    """(first layer, count) of each class of layers that keep the same bytes: by attention kind and MoE, the first
    layer on its own (its input is the embedding)."""
    classes: dict[tuple, list[int]] = {}
    for i, kind in enumerate(spec.layer_kinds()):
        classes.setdefault((i == 0, kind, spec.is_moe_layer(i)), []).append(i)
    return tuple((ids[0], len(ids)) for ids in classes.values())


@lru_cache(maxsize=1024)
def adapted_roles(spec: ModelSpec, setup: TrainSetup) -> frozenset[str]:
    """Roles (attn_q, ffn_down, …) of the linears with a LoRA adapter; empty for full fine-tuning."""
    if not setup.adapters:
        return frozenset()
    return frozenset(t.role.removesuffix("_shexp") for t in lora_targets(spec, setup))


def _compute(setup: TrainSetup) -> int:
    return 4 if setup.precision == "fp32" and not setup.adapters else 2


def _residual(setup: TrainSetup) -> int:
    """The residual stream's dtype: the embedding's (fp32 under autocast too: the lookup is not cast; QLoRA's
    embedding is fp32 after prepare_model_for_kbit_training)."""
    if autocast_adapters(setup):
        return FP32
    return 4 if setup.precision in ("fp32", "mixed") and not setup.adapters else 2


def norm_bytes(width: int, setup: TrainSetup, *, input_grad: bool, readers: int, gemma: bool = False) -> int:
    """An RMSNorm: its fp32 input (kept by pow for the input's gradient), 1/rms per token (fp32), and — when the
    norm weight trains — the normalized tensor the weight multiplies, then the output if `readers` trainable
    linears read it.

    Llama's RMSNorm normalizes in fp32 and casts back before the weight: the kept tensor is in the compute dtype.
    Gemma's multiplies by (1 + weight) in fp32 and casts after: fp32.
    """
    full = not setup.adapters
    res = _residual(setup)
    if not input_grad:  # only a trainable weight's operand and its readers' input (the first trained layer)
        if not full:
            return 0
        return (FP32 if gemma or res == 4 else _compute(setup)) * width + (
            readers * 2 * width if setup.precision == "mixed" else (_compute(setup) if gemma else res) * width)
    # in fp32 (and under autocast, where the residual is fp32) the upcast is the input itself
    total = FP32 * width + FP32
    if full:
        total += (FP32 if gemma or res == 4 else _compute(setup)) * width  # what the weight multiplies
    if full and readers:  # the linears reading the output keep it; under autocast each keeps its own bf16 cast
        if setup.precision == "mixed":
            total += readers * 2 * width
        else:
            total += (_compute(setup) if gemma else res) * width
    return total


def lora_input_bytes(width: int, setup: TrainSetup) -> int:
    """A LoRA adapter on a linear of `width` inputs: peft casts the input to the adapter's fp32 (kept by lora_A for
    its weight gradient), lora_A's output (kept by lora_B), and with dropout the mask and dropped input."""
    total = FP32 * width + FP32 * setup.lora_rank
    if setup.lora_dropout > 0:
        total += width + FP32 * width  # bool mask, dropped fp32 input
    return total


def attention_bytes(spec: ModelSpec, setup: TrainSetup, kind: str, seq: int) -> int:
    """What the attention core keeps: rotated q and k, v, the output (also o_proj's input) and the fp32 log-sum-exp
    of flash attention; eager keeps the fp32 softmax and its compute-dtype copy for every query and key it sees,
    and K/V repeated to every query head."""
    w, c = _widths(spec), _compute(setup)
    if spec.mla is not None:
        return mla_bytes(spec, setup)
    total = c * (2 * w.q + 2 * w.kv) + FP32 * w.heads
    if setup.attention == "eager":
        keys = min(seq, spec.sliding_window) if kind == "sliding" and spec.sliding_window else seq
        total += (FP32 + c) * w.heads * keys - FP32 * w.heads + c * 2 * (w.q - w.kv)
        if setup.adapters:  # no kernel keeps the output; only a trainable o_proj would
            total -= c * w.o
    if spec.qk_norm:  # per-head RMSNorm of q and k: their fp32 upcasts and 1/rms, and what a trainable weight
        # multiplies (Gemma's norm multiplies in fp32); RoPE keeps only cos and sin, not the normalized q and k
        total += FP32 * (w.q + w.kv + w.heads + w.kv_heads)
        if not setup.adapters:
            total += (FP32 if _gemma(spec) else c) * (w.q + w.kv)
    if setup.attention == "eager" and spec.model_type == GEMMA2:  # attn_logit_softcapping: tanh keeps its output
        keys = min(seq, spec.sliding_window) if kind == "sliding" and spec.sliding_window else seq
        total += c * w.heads * keys
    return total


def mla_bytes(spec: ModelSpec, setup: TrainSetup) -> int:
    """Multi-head latent attention as transformers' DeepSeek-V2/V3 classes run it: the latent's RMSNorm (and the
    query latent's), the rotated q and k (nope and rope parts together), kv_b's output whose value part the kernel
    reads, the output and the log-sum-exp."""
    m, w, c = spec.mla, _widths(spec), _compute(setup)
    full = not setup.adapters
    total = c * (2 * w.q + w.heads * (m.qk_nope_head_dim + m.v_head_dim) + w.o) + FP32 * w.heads
    total += norm_bytes(m.kv_lora_rank, setup, input_grad=True, readers=1 if full else 0)
    if m.q_lora_rank:
        total += norm_bytes(m.q_lora_rank, setup, input_grad=True, readers=1 if full else 0)
    return total


def _gemma(spec: ModelSpec) -> bool:
    """Gemma's RMSNorm scales by (1 + weight) in fp32 and casts after; its layers have four norms."""
    return spec.norms_per_layer >= 4


def mlp_bytes(spec: ModelSpec, setup: TrainSetup, d_ff: int, roles: frozenset[str], *, suffix: str = "") -> int:
    """A gated MLP keeps gate(x), up(x), act(gate) and — for a trainable down projection — their product; a plain
    one keeps up(x) and act(up). LoRA adds its fp32 input copies."""
    c, d = _compute(setup), spec.d_model
    full = not setup.adapters
    if spec.gated_mlp:
        total = 3 * c * d_ff + (c * d_ff if full else 0)
        ups = ("ffn_up",) if spec.gate_up_fused else ("ffn_gate", "ffn_up")
    else:
        total = 2 * c * d_ff
        ups = ("ffn_up",)
    total += sum(lora_input_bytes(d, setup) for r in ups if r in roles)
    if "ffn_down" in roles:
        total += lora_input_bytes(d_ff, setup)
    return total


def autocast_adapters(setup: TrainSetup) -> bool:
    """Adapters trained under bf16 autocast: QLoRA (its recipe runs Trainer bf16=True over the fp32 norms and
    embeddings prepare_model_for_kbit_training leaves) and LoRA over an fp32 base (precision mixed)."""
    return setup.method == "qlora" or (setup.method == "lora" and setup.precision == "mixed")


def _autocast_adapter_layer(spec: ModelSpec, setup: TrainSetup, i: int, *, input_grad: bool) -> int:
    """A layer under autocast with adapters: the residual stream is fp32 (kept by each norm); every adapter keeps
    autocast's bf16 cast of its input and its bf16 lora_A output; q, k and v reach attention as bf16 casts of
    their fp32 rotary products; the MLP's gate and up (and act) are fp32 where the base returns its input's dtype
    (bitsandbytes' 4-bit linears) and bf16 where autocast computes them (a 16-bit base)."""
    w, c, r = _widths(spec), 2, setup.lora_rank
    roles = adapted_roles(spec, setup)
    ups = ("ffn_up",) if spec.gate_up_fused or not spec.gated_mlp else ("ffn_gate", "ffn_up")
    adapter = c * r + (w.d + FP32 * w.d if setup.lora_dropout > 0 else 0)
    total = (FP32 * w.d + FP32) if input_grad else 0
    total += sum(c * width + adapter for role, width in _lora_inputs(spec).items() if role in roles)
    total += attention_bytes(spec, setup, spec.layer_kinds()[i], setup.seq_len)
    if "attn_output" in roles:
        total += c * w.o + adapter
    total += FP32 * w.d + FP32
    total += sum(c * w.d + adapter for role in ups if role in roles)
    mlp = FP32 if setup.method == "qlora" else c
    total += (3 if spec.gated_mlp else 2) * mlp * spec.d_ff
    if "ffn_down" in roles:
        total += c * spec.d_ff + adapter
    if _gemma(spec):  # two post-norms on the fp32 residual
        total += 2 * (FP32 * w.d + FP32)
    return total


def moe_bytes(spec: ModelSpec, setup: TrainSetup, roles: frozenset[str]) -> int:
    """A routed MLP as transformers 5 runs it (grouped_mm over tokens sorted by expert): the router's fp32
    softmax and its top-k bookkeeping (int64 indices, sorted twice, fp32 weights), then for each of the k copies
    of a token its gathered input (kept when the experts train), gate/up, act and product, and the expert output
    the routing weight multiplies; shared experts as a dense MLP."""
    m, c, d, k = spec.moe, _compute(setup), spec.d_model, spec.moe.experts_per_token
    trains = not setup.adapters or adapts_experts(spec, setup)
    routing = FP32 * m.n_experts + FP32 + (FP32 + 8 + 2 * 8 + FP32 + 8) * k
    experts = c * k * ((d if trains else 0) + d + (4 if spec.gated_mlp else 2) * m.expert_d_ff)
    total = routing + experts
    if "ffn_gate_inp" in roles:
        total += lora_input_bytes(d, setup)
    if m.n_shared_experts:
        total += mlp_bytes(spec, setup, m.shared_d_ff, roles)
    return total


def expert_merge_bytes(spec: ModelSpec, setup: TrainSetup) -> int:
    """peft's adapters on fused experts build each MoE layer's adapted weights W + BA in bf16 and grouped_mm keeps
    them for backward: 2 bytes per routed-expert parameter of that layer."""
    if not adapts_experts(spec, setup):
        return 0
    first = next(i for i in range(spec.n_layers) if spec.is_moe_layer(i))
    return 2 * sum(t.numel for t in weight_tensors(spec) if t.is_expert and t.layer == first)


def layer_bytes(spec: ModelSpec, setup: TrainSetup, i: int, *, input_grad: bool) -> int:
    """Bytes per token one decoder layer keeps for backward (no checkpointing)."""
    if autocast_adapters(setup):
        return _autocast_adapter_layer(spec, setup, i, input_grad=input_grad)
    w = _widths(spec)
    roles = adapted_roles(spec, setup)
    gemma = _gemma(spec)
    qkv = ("attn_qkv",) if spec.qkv_fused else ("attn_q", "attn_k", "attn_v")
    ups = ("ffn_up",) if spec.gate_up_fused or not spec.gated_mlp else ("ffn_gate", "ffn_up")
    total = norm_bytes(w.d, setup, input_grad=input_grad, readers=len(qkv), gemma=gemma)
    total += sum(lora_input_bytes(width, setup) for role, width in _lora_inputs(spec).items() if role in roles)
    total += attention_bytes(spec, setup, spec.layer_kinds()[i], setup.seq_len)
    if "attn_output" in roles:
        total += lora_input_bytes(w.o, setup)
    if gemma:  # post-attention norm: its output is added to the residual, no linear reads it
        total += norm_bytes(w.d, setup, input_grad=True, readers=0, gemma=True)
    total += norm_bytes(w.d, setup, input_grad=True, readers=len(ups), gemma=gemma)
    total += moe_bytes(spec, setup, roles) if spec.is_moe_layer(i) else mlp_bytes(spec, setup, spec.d_ff, roles)
    if gemma:
        total += norm_bytes(w.d, setup, input_grad=True, readers=0, gemma=True)
    return total


def saved_bytes_per_token(spec: ModelSpec, setup: TrainSetup) -> int:
    """Every layer's saved activations plus the final norm, per token, without checkpointing."""
    if setup.freeze_layers:  # frozen leading layers keep nothing; the first trained one needs no input gradient
        f = min(setup.freeze_layers, spec.n_layers)
        total = sum(layer_bytes(spec, setup, i, input_grad=i > f) for i in range(f, spec.n_layers))
    else:  # with adapters only, the first layer's input (the frozen embedding) needs no gradient
        total = sum(count * layer_bytes(spec, setup, i, input_grad=(i > 0 or not setup.adapters))
                    for i, count in layer_classes(spec))
    head = 0
    if "output" in adapted_roles(spec, setup):
        head = 2 * spec.d_model + 2 * setup.lora_rank if autocast_adapters(setup) else lora_input_bytes(
            spec.d_model, setup)
    return total + final_norm_bytes(spec, setup) + rotary_bytes(spec, setup) + head


def final_norm_bytes(spec: ModelSpec, setup: TrainSetup) -> int:
    if autocast_adapters(setup):
        return FP32 * spec.d_model + FP32
    return norm_bytes(spec.d_model, setup, input_grad=True, readers=1, gemma=_gemma(spec))


def rotary_bytes(spec: ModelSpec, setup: TrainSetup) -> int:
    """The rotary cos and sin tables, one row per token shared by every layer (fp32 under autocast)."""
    width = spec.mla.qk_rope_head_dim if spec.mla is not None else spec.head_dim
    fp32 = (setup.precision in ("mixed", "fp32") and not setup.adapters) or autocast_adapters(setup)
    return 2 * width * (4 if fp32 else 2)


def checkpointed_bytes_per_token(spec: ModelSpec, setup: TrainSetup) -> int:
    """Gradient checkpointing keeps each layer's input hidden state (the residual stream) and the final norm's."""
    return spec.n_layers * _residual(setup) * spec.d_model + final_norm_bytes(spec, setup)


def logits_bytes_per_token(spec: ModelSpec) -> dict[str, int]:
    """The loss over the full vocabulary: transformers' ForCausalLMLoss upcasts the logits to fp32 and
    cross_entropy keeps the fp32 log-softmax for backward.

    forward: bf16 logits (the output) + their fp32 upcast + the log-softmax, alive together;
    backward: the kept log-softmax, nll_loss's gradient and log_softmax's gradient (fp32 each)."""
    v = spec.vocab_size
    cap = 2 * v if spec.model_type == GEMMA2 else 0  # final_logit_softcapping's tanh output (bf16)
    return {"saved": FP32 * v + cap, "forward_peak": 2 * v + FP32 * v + FP32 * v + cap,
            "backward_peak": 3 * FP32 * v + cap}


def autocast_weight_copy_bytes(spec: ModelSpec) -> int:
    """Under bf16 autocast over fp32 weights every linear reads a bf16 copy of its weight, which autocast caches and
    the linear keeps for backward: 2 bytes per element of every linear matrix and of the lm_head (the embedding
    lookup is not autocast). Alive from the forward to the end of backward."""
    total = sum(t.numel for t in weight_tensors(spec) if t.layer is not None and t.role not in ("norm", "bias")
                and len(t.shape) >= 2)
    return 2 * (total + spec.vocab_size * spec.d_model)


def adapter_weight_copy_bytes(spec: ModelSpec, setup: TrainSetup, trainable: int) -> int:
    """Autocast's cached bf16 copies that the linears keep for backward, with adapters: the fp32 adapters'
    (2 bytes per trainable parameter); QLoRA's fp32 lm_head; LoRA over an fp32 base: every base matrix."""
    if not autocast_adapters(setup):
        return 0
    head = 2 * spec.vocab_size * spec.d_model
    if setup.gradient_checkpointing:  # a checkpointed layer's copies live only while it is recomputed
        return head
    if setup.method == "qlora":
        return 2 * trainable + head
    # the first layer's q, k and v read the frozen embedding, which needs no gradient: no copy is kept
    first = sum(t.numel for t in weight_tensors(spec) if t.layer == 0 and t.role in ("attn_q", "attn_k", "attn_v",
                                                                                    "attn_qkv"))
    return 2 * trainable + autocast_weight_copy_bytes(spec) - 2 * first
