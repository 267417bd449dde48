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

from ..spec import ModelSpec
from .setup import TrainSetup
from .states import lora_targets

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


def _widths(spec: ModelSpec) -> Widths:
    if spec.mla is not None:
        m = spec.mla
        q = spec.n_heads * (m.qk_nope_head_dim + m.qk_rope_head_dim)
        return Widths(spec.d_model, q, q, spec.n_heads, spec.n_heads)
    return Widths(spec.d_model, spec.n_heads * spec.head_dim, spec.n_kv_heads * spec.head_dim, spec.n_heads,
                  spec.n_kv_heads)


def adapted_roles(spec: ModelSpec, setup: TrainSetup) -> frozenset[str]:
    """Roles (attn_q, ffn_down, …) of the linears with a LoRA adapter; empty for full fine-tuning."""
    if not setup.adapters:
        return frozenset()
    return frozenset(t.role.removesuffix("_shexp") for t in lora_targets(spec, setup))


def _compute(setup: TrainSetup) -> int:
    return 4 if setup.precision == "fp32" and not setup.adapters else 2


def _residual(setup: TrainSetup) -> int:
    """The residual stream's dtype: the weights' dtype (fp32 under autocast too: the embedding is not cast)."""
    return 4 if setup.precision in ("fp32", "mixed") and not setup.adapters else 2


def norm_bytes(width: int, setup: TrainSetup, *, input_grad: bool, readers: int, gemma: bool = False) -> int:
    """An RMSNorm: its fp32 input (kept by pow for the input's gradient), 1/rms per token (fp32), and — when the
    norm weight trains — the normalized tensor the weight multiplies, then the output if `readers` trainable
    linears read it.

    Llama's RMSNorm normalizes in fp32 and casts back before the weight: the kept tensor is in the compute dtype.
    Gemma's multiplies by (1 + weight) in fp32 and casts after: fp32.
    """
    if not input_grad:
        return 0
    full = not setup.adapters
    res = _residual(setup)
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
    total = c * (2 * w.q + 2 * w.kv) + FP32 * w.heads
    if setup.attention == "eager":
        keys = min(seq, spec.sliding_window) if kind == "sliding" and spec.sliding_window else seq
        total += (FP32 + c) * w.heads * keys - FP32 * w.heads + c * 2 * (w.q - w.kv)
        if setup.adapters:  # no kernel keeps the output; only a trainable o_proj would
            total -= c * w.q
    if spec.qk_norm:  # per-head RMSNorm of q and k: their fp32 upcasts and 1/rms, and what a trainable weight
        # multiplies (Gemma's norm multiplies in fp32); RoPE keeps only cos and sin, not the normalized q and k
        total += FP32 * (w.q + w.kv + w.heads + w.kv_heads)
        if not setup.adapters:
            total += (FP32 if _gemma(spec) else c) * (w.q + w.kv)
    if setup.attention == "eager" and spec.model_type == GEMMA2:  # attn_logit_softcapping: tanh keeps its output
        keys = min(seq, spec.sliding_window) if kind == "sliding" and spec.sliding_window else seq
        total += c * w.heads * keys
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


def layer_bytes(spec: ModelSpec, setup: TrainSetup, i: int, *, input_grad: bool) -> int:
    """Bytes per token one decoder layer keeps for backward (no checkpointing)."""
    w = _widths(spec)
    roles = adapted_roles(spec, setup)
    gemma = _gemma(spec)
    qkv = ("attn_qkv",) if spec.qkv_fused else ("attn_q", "attn_k", "attn_v")
    ups = ("ffn_up",) if spec.gate_up_fused or not spec.gated_mlp else ("ffn_gate", "ffn_up")
    total = norm_bytes(w.d, setup, input_grad=input_grad, readers=len(qkv), gemma=gemma)
    total += sum(lora_input_bytes(w.d, setup) for r in qkv if r in roles)
    total += attention_bytes(spec, setup, spec.layer_kinds()[i], setup.seq_len)
    if "attn_output" in roles:
        total += lora_input_bytes(w.q, setup)
    if gemma:  # post-attention norm: its output is added to the residual, no linear reads it
        total += norm_bytes(w.d, setup, input_grad=True, readers=0, gemma=True)
    total += norm_bytes(w.d, setup, input_grad=True, readers=len(ups), gemma=gemma)
    total += mlp_bytes(spec, setup, spec.d_ff, roles)
    if gemma:
        total += norm_bytes(w.d, setup, input_grad=True, readers=0, gemma=True)
    return total


def saved_bytes_per_token(spec: ModelSpec, setup: TrainSetup) -> int:
    """Every layer's saved activations plus the final norm, per token, without checkpointing."""
    # With adapters only, the first layer's input (the frozen embedding) needs no gradient.
    total = sum(layer_bytes(spec, setup, i, input_grad=(i > 0 or not setup.adapters)) for i in range(spec.n_layers))
    return total + final_norm_bytes(spec, setup) + rotary_bytes(spec, setup)


def final_norm_bytes(spec: ModelSpec, setup: TrainSetup) -> int:
    return norm_bytes(spec.d_model, setup, input_grad=True, readers=1, gemma=_gemma(spec))


def rotary_bytes(spec: ModelSpec, setup: TrainSetup) -> int:
    """The rotary cos and sin tables, one row per token shared by every layer (fp32 under autocast)."""
    width = spec.mla.qk_rope_head_dim if spec.mla is not None else spec.head_dim
    return 2 * width * (4 if setup.precision in ("mixed", "fp32") and not setup.adapters else 2)


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
    from ..tensors import weight_tensors

    total = sum(t.numel for t in weight_tensors(spec) if t.layer is not None and t.role not in ("norm", "bias")
                and len(t.shape) >= 2)
    return 2 * (total + spec.vocab_size * spec.d_model)
