"""DeepSeek-V3.2 (deepseek_v32: DeepSeek-V3's layers plus DeepSeek Sparse Attention's lightning indexer, whose key
cache is its own part of the KV cache) and MiniMax-M2 (minimax_m2: a grouped-query mixture of experts). Parameter
counts against transformers' own classes built on the meta device and against the totals published for the
checkpoints; KV and indexer bytes per token against numbers derived by hand."""

from __future__ import annotations

from math import ceil

import pytest

from planner import estimate
from planner.errors import ConfigImportError
from planner.hf_import import SUPPORTED_MODEL_TYPES, spec_from_config
from planner.kv import (
    indexer_bytes_per_token_per_layer,
    indexer_cache_bytes,
    kv_bytes_per_token_per_layer,
    kv_cache_bytes,
)
from planner.tensors import weight_tensors

from .conftest import fixture_config

V32 = fixture_config("deepseek-ai/DeepSeek-V3.2")
V3 = fixture_config("deepseek-ai/DeepSeek-V3")
M2 = fixture_config("MiniMaxAI/MiniMax-M2.7")


def _spec(config: dict):
    return spec_from_config(config, name="m", source="test")


def test_types_are_listed():
    assert {"deepseek_v32", "minimax_m2"} <= set(SUPPORTED_MODEL_TYPES)


# ---- DeepSeek-V3.2 ----------------------------------------------------------------------------------------------

# One layer's lightning indexer (transformers' DeepseekV32Indexer, index_n_heads 64, index_head_dim 128, q_lora_rank
# 1536, hidden_size 7168): wq_b 1536 → 64·128, wk 7168 → 128, k_norm an nn.LayerNorm(128) (weight and bias),
# weights_proj 7168 → 64.
INDEXER_PER_LAYER = 1536 * 64 * 128 + 7168 * 128 + 2 * 128 + 7168 * 64  # 13,959,424


def test_v32_is_v3_plus_one_indexer_per_layer():
    v32, v3 = _spec(V32), _spec(V3)
    assert v32.model_type == "deepseek_v32" and v32.indexer.n_heads == 64 and v32.indexer.head_dim == 128
    assert v32.indexer.topk == 2048 and v32.weights_dtype == "fp8-block" and v32.moe.router_correction_bias
    assert INDEXER_PER_LAYER == 13_959_424
    assert v3.param_count == 671_026_419_200  # DeepSeek-V3 as planner counts it today: 61 layers, no MTP layer
    assert v32.param_count == v3.param_count + 61 * INDEXER_PER_LAYER == 671_877_944_064
    # the indexer runs for every token: all of it is active
    assert v32.active_param_count == v3.active_param_count + 61 * INDEXER_PER_LAYER


def _fp8_scale_count(tensors) -> int:
    """weight_scale_inv elements of the FP8 checkpoint: one fp32 per 128 × 128 block of every FP8 matrix (an
    expert stack has one grid per expert). Kept in bf16, without scales: the embedding, lm_head, the router
    (mlp.gate) and the indexer's weights_proj (DeepSeek's inference/model.py: "weights_proj in the checkpoint is
    stored in bf16")."""
    bf16 = ("token_embd", "output", "ffn_gate_inp", "attn_indexer_proj")
    total = 0
    for t in tensors:
        if t.is_matrix and t.role not in bf16:
            *stack, rows, cols = t.shape
            total += (stack[0] if stack else 1) * ceil(rows / 128) * ceil(cols / 128)
    return total


def test_v32_count_against_the_model_inspector_report():
    """The model-inspector report of deepseek-ai/DeepSeek-V3.2 (every tensor of its safetensors headers) gives
    685,396,921,376. It holds, besides the 671,877,944,064 planner counts (what transformers builds):
      the MTP layer (model.layers.61, num_nextn_predict_layers 1; DeepSeek-V3's README_WEIGHTS.md), which
        transformers does not build: one MoE decoder layer with its indexer (11,521,245,696), enorm, hnorm and
        shared_head.norm (3 × 7168), eh_proj (7168 × 14336, bf16) and its own copies of embed_tokens and
        shared_head.head (2 × 129280 × 7168), 1,956,140,032 in all;
      the FP8 block scales (weight_scale_inv, fp32, one per 128 × 128 block): 40,888,496 for the 61 layers and
        703,088 for the MTP layer.
    The sum is exact."""
    spec = _spec(V32)
    tensors = weight_tensors(spec)
    mtp_decoder = sum(t.numel for t in tensors if t.layer == spec.n_layers - 1)  # a MoE layer like the last one
    assert mtp_decoder == 11_521_245_696
    mtp_extra = 3 * 7168 + 7168 * 2 * 7168 + 2 * 129280 * 7168
    assert mtp_extra == 1_956_140_032
    scales = _fp8_scale_count(tensors)
    mtp_scales = _fp8_scale_count(t for t in tensors if t.layer == spec.n_layers - 1)
    assert (scales, mtp_scales) == (40_888_496, 703_088)
    assert spec.param_count + mtp_decoder + mtp_extra + scales + mtp_scales == 685_396_921_376


def test_v32_kv_and_indexer_bytes_per_token():
    spec = _spec(V32)
    # MLA: one latent of kv_lora_rank 512 + qk_rope_head_dim 64 per token and layer, 2 bytes each in bf16
    assert kv_bytes_per_token_per_layer(spec, "bf16") == 576 * 2 == 1152
    # the indexer key as vLLM allocates it: 128 fp8 bytes + one fp32 scale per 128 (head_dim + head_dim // 128 * 4)
    assert indexer_bytes_per_token_per_layer(spec) == 128 + 4 == 132
    # kv_cache_bytes holds both, over the 61 layers; the indexer's part does not follow kv_dtype
    assert kv_cache_bytes(spec, context_len=1) == 61 * (1152 + 132) == 78_324
    assert kv_cache_bytes(spec, context_len=1, kv_dtype="fp8") == 61 * (576 + 132)
    assert indexer_cache_bytes(spec, context_len=1000, batch=2) == 2 * 1000 * 61 * 132 == 16_104_000
    assert indexer_cache_bytes(_spec(V3), context_len=1000, batch=2) == 0
    e = estimate(spec, context=4096, batch=2)
    assert e.kv_cache_bytes == 2 * 4096 * 61 * (1152 + 132)


def test_v32_refusals():
    with pytest.raises(ConfigImportError, match="q_lora_rank is null"):
        _spec({**V32, "q_lora_rank": None})
    with pytest.raises(ConfigImportError, match="index_head_dim .32. must be at least qk_rope_head_dim"):
        _spec({**V32, "index_head_dim": 32})
    with pytest.raises(ConfigImportError, match="index_n_heads"):
        _spec({**V32, "index_n_heads": 0})


# ---- MiniMax-M2 --------------------------------------------------------------------------------------------------

def test_m2_count_equals_the_report():
    """MiniMax-M2.7's report count without the FP8 scale values: 228,689,764,864. By hand: embed_tokens and lm_head
    2 × 200064 × 3072; per layer q, o 3072 × 6144 each, k, v 3072 × 1024 each, q_norm 6144 and k_norm 1024 (one
    RMSNorm over all heads), two 3072 norms, the router 256 × 3072 with its 256 e_score_correction_bias, 256 experts
    of 3 × 1536 × 3072; 62 layers and the final norm. The MTP modules (num_mtp_modules 3) are not in it."""
    layer = (2 * 3072 * 6144 + 2 * 3072 * 1024 + 6144 + 1024 + 2 * 3072 + 256 * 3072 + 256
             + 256 * 3 * 1536 * 3072)
    by_hand = 2 * 200064 * 3072 + 62 * layer + 3072
    spec = _spec(M2)
    assert spec.param_count == by_hand == 228_689_764_864
    # MiniMax-M2's model card: "230 billion total parameters with 10 billion active" (the active count without the
    # 0.61 B embedding table, as MiniMax publishes it)
    assert abs(spec.param_count / 230e9 - 1) < 0.01 and round((spec.active_param_count - 200064 * 3072) / 1e9) == 10


def test_m2_layout_and_kv():
    spec = _spec(M2)
    assert spec.n_kv_heads == 8 and spec.head_dim == 128 and spec.d_ff == 0 and spec.sliding_window is None
    assert spec.qk_norm and not spec.qk_norm_per_head and not spec.qkv_bias and not spec.o_bias
    assert spec.moe.n_experts == 256 and spec.moe.expert_d_ff == 1536 and spec.moe.router_correction_bias
    # its quantization_config leaves the router (gate, e_score_correction_bias) and lm_head out of the fp8 blocks
    assert spec.moe.n_shared_experts == 0 and spec.indexer is None
    assert spec.weights_dtype == "fp8-block[keep=output,router]"
    # GQA: K and V of 8 heads of 128, 2 bytes each in bf16 (rotary_dim 64 rotates part of each head, stores no less)
    assert kv_bytes_per_token_per_layer(spec, "bf16") == 2 * 8 * 128 * 2 == 4096
    assert kv_cache_bytes(spec, context_len=1) == 62 * 4096 == 253_952
    assert indexer_cache_bytes(spec, context_len=4096) == 0


@pytest.mark.parametrize("change, message", [
    ({"attn_type_list": [1] * 61 + [0]}, r"attn_type_list\[61\] is 0"),
    ({"attn_type_list": [1] * 3}, "attn_type_list has 3 entries"),
    ({"shared_intermediate_size": 1536}, "no shared expert"),
    ({"qk_norm_type": "per_head"}, "qk_norm_type 'per_head' is not one of per_layer"),
    ({"rotary_dim": 256}, r"rotary_dim \(256\) must be at most head_dim"),
    ({"use_qk_norm": "true"}, "use_qk_norm must be true or false"),
])
def test_m2_refusals(change, message):
    with pytest.raises(ConfigImportError, match=message):
        _spec({**M2, **change})


def test_m2_switches():
    assert not _spec({**M2, "use_qk_norm": False}).qk_norm
    assert not _spec({**M2, "use_routing_bias": False}).moe.router_correction_bias
    assert _spec({k: v for k, v in M2.items() if k not in ("attn_type_list", "rotary_dim")}) == _spec(M2)


# ---- against transformers' own classes -------------------------------------------------------------------------

@pytest.mark.parametrize("config", [V32, M2], ids=["deepseek-v3.2", "minimax-m2.7"])
def test_param_count_equals_transformers_own_class(config):
    """Every parameter transformers 5 builds, and the e_score_correction_bias buffers the checkpoints hold; the
    config as published and as transformers writes it back (to_dict: DeepSeek-V3.2's layer_types
    "indexed_attention")."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from transformers import AutoConfig, AutoModelForCausalLM

    # quantization_config would ask for FP8 kernels; auto_map names MiniMax's remote code, never run here
    cfg = AutoConfig.for_model(**{k: v for k, v in config.items() if k not in ("quantization_config", "auto_map")})
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(cfg)
    counted = sum(p.numel() for p in model.parameters()) + sum(
        b.numel() for name, b in model.named_buffers() if name.endswith("e_score_correction_bias"))
    assert _spec(config).param_count == counted
    assert _spec(cfg.to_dict()).param_count == counted


def test_indexer_cache_holds_one_key_per_token_and_layer_in_transformers():
    """transformers' DynamicIndexedLayer keeps indexer_keys of (batch, tokens, index_head_dim) per layer, in the
    model's dtype: the elements planner counts, which vLLM stores as fp8 with a scale instead."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from transformers import AutoConfig, AutoModelForCausalLM, DynamicCache

    small = {**{k: v for k, v in V32.items() if k != "quantization_config"}, "hidden_size": 256,
             "intermediate_size": 512, "moe_intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4,
             "num_key_value_heads": 4, "n_routed_experts": 8, "num_experts_per_tok": 2, "n_group": 1,
             "topk_group": 1, "kv_lora_rank": 64, "q_lora_rank": 96, "qk_rope_head_dim": 32, "qk_nope_head_dim": 32,
             "v_head_dim": 32, "index_n_heads": 4, "index_topk": 8, "first_k_dense_replace": 1, "vocab_size": 1000}
    spec = _spec(small)
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(AutoConfig.for_model(**small), dtype=torch.bfloat16)
    cache = DynamicCache(config=model.config)
    batch, tokens = 3, 20
    with torch.no_grad():
        model(input_ids=torch.zeros((batch, tokens), dtype=torch.long), cache=cache, use_cache=True, logits_to_keep=1)
    keys = [layer.indexer_keys for layer in cache.layers]
    assert [tuple(k.shape) for k in keys] == [(batch, tokens, 128)] * spec.n_layers
    assert indexer_cache_bytes(spec, context_len=tokens, batch=batch) == sum(k.numel() for k in keys) * 132 // 128
