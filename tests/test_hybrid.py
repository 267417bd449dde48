"""Hybrid linear-attention models (Qwen3-Next: Gated DeltaNet layers beside gated full attention): the recurrent
state is its own part of the cache, per sequence and constant in context; weights, KV and state against
transformers' own Qwen3-Next class."""

from __future__ import annotations

import pytest

from planner import estimate
from planner.errors import WorkloadError
from planner.hf_import import spec_from_config
from planner.kv import kv_cache_bytes, recurrent_state_bytes_per_sequence

# Qwen/Qwen3-Next-80B-A3B-Instruct config.json (the same values as transformers' Qwen3NextConfig defaults, which
# are that model's), with its 262,144-token context
QWEN3_NEXT = {"architectures": ["Qwen3NextForCausalLM"], "model_type": "qwen3_next", "hidden_size": 2048,
              "intermediate_size": 5632, "num_hidden_layers": 48, "num_attention_heads": 16, "num_key_value_heads": 2,
              "head_dim": 256, "vocab_size": 151936, "max_position_embeddings": 262144, "tie_word_embeddings": False,
              "linear_conv_kernel_dim": 4, "linear_key_head_dim": 128, "linear_value_head_dim": 128,
              "linear_num_key_heads": 16, "linear_num_value_heads": 32, "num_experts": 512, "num_experts_per_tok": 10,
              "moe_intermediate_size": 512, "shared_expert_intermediate_size": 512, "decoder_sparse_step": 1,
              "full_attention_interval": 4, "torch_dtype": "bfloat16",
              "layer_types": (["linear_attention"] * 3 + ["full_attention"]) * 12}


def spec():
    return spec_from_config(QWEN3_NEXT, name="Qwen/Qwen3-Next-80B-A3B-Instruct", source="test")


def test_layout():
    s = spec()
    assert s.layer_pattern == ("linear", "linear", "linear", "full") and s.attn_output_gate and s.qk_norm
    assert s.linear_attention.conv_dim == 2 * 16 * 128 + 32 * 128 and s.moe.shared_expert_gate


def test_parameters_near_the_published_80b():
    """Model card: "80B total parameters and 3B activated"; the active count here includes the embedding table."""
    s = spec()
    assert abs(s.param_count / 80e9 - 1) < 0.01
    assert s.active_param_count - 2 * 151936 * 2048 < 3.5e9


def test_state_is_per_sequence_and_constant_in_context():
    s = spec()
    state = recurrent_state_bytes_per_sequence(s)
    # 36 linear layers: 3 conv positions × 8,192 channels × 2 B, and 32 heads of 128 × 128 fp32
    assert state == 36 * (3 * 8192 * 2 + 32 * 128 * 128 * 4)
    short, long = (kv_cache_bytes(s, context_len=n, batch=2) for n in (1024, 2048))
    per_token = 2 * 2 * 256 * 2 * 12  # K and V, 2 KV heads of 256, bf16, in the 12 full-attention layers
    assert long - short == 2 * 1024 * per_token and short == 2 * (1024 * per_token + state)
    e = estimate(s, context=8192, batch=3)
    assert e.breakdown["kv_cache"]["recurrent_state"] == 3 * state
    assert e.breakdown["kv_cache"]["kv_cache"] + 3 * state == e.kv_cache_bytes


def test_what_is_not_modelled_says_so():
    s = spec()
    with pytest.raises(WorkloadError, match="linear-attention"):
        estimate(s, engine="vllm", context=4096)
    from planner.training import train_estimate

    with pytest.raises(WorkloadError, match="linear-attention"):
        train_estimate(s)


def test_layer_pattern_and_linear_attention_must_agree():
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="linear_attention"):
        type(spec()).model_validate({**spec().model_dump(), "linear_attention": None})


def test_against_transformers_own_class():
    """Parameters on the meta device, then KV and state of a 2 × 1,000-token prefill under fake tensors: the KV of
    the full-attention layers exactly; transformers keeps conv_kernel positions of the convolution input where
    vLLM and planner keep conv_kernel - 1, and the recurrent state in fp32 as planner does."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from torch._subclasses.fake_tensor import FakeTensorMode
    from transformers import AutoConfig, AutoModelForCausalLM, DynamicCache

    from planner.measure.transformers import build, sdpa_as_on_cuda

    s = spec()
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(AutoConfig.for_model(**QWEN3_NEXT))
    assert sum(p.numel() for p in model.parameters()) == s.param_count

    small = {**QWEN3_NEXT, "num_hidden_layers": 4, "num_experts": 8, "num_experts_per_tok": 2,
             "layer_types": ["linear_attention"] * 3 + ["full_attention"]}
    t = spec_from_config(small, name="small", source="test")
    batch, tokens = 2, 1000
    with FakeTensorMode(allow_non_fake_inputs=True), torch.no_grad(), sdpa_as_on_cuda():
        net = build(small)
        cache = DynamicCache(config=net.config)
        net(input_ids=torch.zeros((batch, tokens), dtype=torch.long), cache=cache, use_cache=True, logits_to_keep=1)
        kv = state = 0
        for layer in cache.layers:
            if hasattr(layer, "conv_states"):
                state += sum(x.untyped_storage().nbytes() for x in (*layer.conv_states.values(),
                                                                     *layer.recurrent_states.values())
                             if x is not None)
            else:
                kv += sum(x.untyped_storage().nbytes() for x in (layer.keys, layer.values))
    ours_state = batch * recurrent_state_bytes_per_sequence(t)
    assert kv_cache_bytes(t, context_len=tokens, batch=batch) - ours_state == kv
    assert state == ours_state + batch * 3 * 2 * t.linear_attention.conv_dim  # one more conv position per layer
