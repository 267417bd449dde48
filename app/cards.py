"""The model card as model pages show it, derived from the spec (nothing typed twice)."""

from __future__ import annotations

from planner import ModelSpec


def attention_structure(spec: ModelSpec) -> str:
    """MHA, GQA with its ratio, MQA or MLA, plus sliding-window and block-sparse layers."""
    if spec.mla is not None:
        kind = f"MLA (latent {spec.mla.kv_lora_rank} + rope {spec.mla.qk_rope_head_dim})"
    elif spec.n_kv_heads == spec.n_heads:
        kind = "MHA"
    elif spec.n_kv_heads == 1:
        kind = "MQA"
    else:
        kind = f"GQA {spec.n_heads // spec.n_kv_heads}:1"
    kinds = spec.layer_kinds()
    extras = []
    if kinds.count("sliding"):
        extras.append(f"{kinds.count('sliding')}/{spec.n_layers} layers sliding window {spec.sliding_window:,}")
    if kinds.count("block_sparse"):
        b = spec.block_sparse
        extras.append(f"{kinds.count('block_sparse')}/{spec.n_layers} layers block-sparse (block {b.block_size}, "
                      f"{b.local_blocks} local, stride {b.vert_stride})")
    return ", ".join([kind, *extras])


def model_card(spec: ModelSpec) -> dict[str, str]:
    moe = spec.moe
    card = {
        "parameters": f"{spec.param_count / 1e9:.2f} B" + (f" ({spec.active_param_count / 1e9:.2f} B active)"
                                                           if moe else ""),
        "context length": f"{spec.max_context:,}",
        "architecture": (f"MoE: {moe.experts_per_token} of {moe.n_experts} experts"
                         + (f" + {moe.n_shared_experts} shared" if moe.n_shared_experts else "")) if moe else "dense",
        "attention": attention_structure(spec),
        "hidden size": f"{spec.d_model:,}",
        "layers": str(spec.n_layers),
        "heads / KV heads": f"{spec.n_heads} / {spec.n_kv_heads} (head dim {spec.head_dim})",
        "activation": spec.activation + (" (gated)" if spec.gated_mlp else ""),
        "normalization": spec.norm + (" with bias" if spec.norm_bias else "")
                         + (f", {spec.norms_per_layer} per layer" if spec.norms_per_layer != 2 else "")
                         + (", q/k norms" if spec.qk_norm else ""),
        "position embedding": "RoPE (rotary)",  # every supported model type uses rotary embeddings
        "checkpoint storage": spec.weights_dtype,
    }
    for key in ("license", "release_date", "modality"):
        fact = getattr(spec.card, key)
        if fact is not None:
            card[key.replace("_", " ")] = str(fact.value)
    return card
