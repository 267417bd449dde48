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


def _prefill_cache(config: dict, *, batch: int, tokens: int) -> tuple[int, int]:
    """(KV bytes, recurrent-state bytes) of transformers' own cache after a prefill of `batch` × `tokens` of
    `config`'s class at full size under fake tensors."""
    import torch
    from torch._subclasses.fake_tensor import FakeTensorMode
    from transformers import DynamicCache

    from planner.measure.transformers import build, sdpa_as_on_cuda

    with FakeTensorMode(allow_non_fake_inputs=True), torch.no_grad(), sdpa_as_on_cuda():
        net = build(config)
        cache = DynamicCache(config=net.config)
        net(input_ids=torch.zeros((batch, tokens), dtype=torch.long), cache=cache, use_cache=True, logits_to_keep=1)
        kv = state = 0
        for layer in cache.layers:  # a hybrid layer (Falcon-H1) holds both
            if hasattr(layer, "conv_states"):
                state += sum(x.untyped_storage().nbytes() for x in (*layer.conv_states.values(),
                                                                     *layer.recurrent_states.values())
                             if x is not None)
            if getattr(layer, "keys", None) is not None:
                kv += sum(x.untyped_storage().nbytes() for x in (layer.keys, layer.values))
    return kv, state


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
    with pytest.raises(WorkloadError, match=r"models for vLLM, llama.cpp, Ollama \(and SGLang's Gated DeltaNet "
                                            r"models\) only"):
        estimate(s, engine="transformers", context=4096)
    # vLLM's hybrid cache is modelled from 0.11.0 (tests/test_vllm_hybrid.py); V0's separate Mamba cache is not (and
    # Qwen3-Next came after V0's releases: 0.10.2)
    with pytest.raises(WorkloadError, match="V0's separate Mamba cache is not modelled"):
        estimate("ai21labs/AI21-Jamba-1.5-Mini", engine="vllm", gpu="h200", context=4096, engine_version="0.7.3")
    with pytest.raises(WorkloadError, match="Qwen3NextForCausalLM is first in 0.10.2's model registry"):
        estimate(s, engine="vllm", gpu="h200", context=4096, engine_version="0.7.3")
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
    from transformers import AutoConfig, AutoModelForCausalLM


    s = spec()
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(AutoConfig.for_model(**QWEN3_NEXT))
    assert sum(p.numel() for p in model.parameters()) == s.param_count

    small = {**QWEN3_NEXT, "num_hidden_layers": 4, "num_experts": 8, "num_experts_per_tok": 2,
             "layer_types": ["linear_attention"] * 3 + ["full_attention"]}
    t = spec_from_config(small, name="small", source="test")
    batch, tokens = 2, 1000
    kv, state = _prefill_cache(small, batch=batch, tokens=tokens)
    ours_state = batch * recurrent_state_bytes_per_sequence(t)
    assert kv_cache_bytes(t, context_len=tokens, batch=batch) - ours_state == kv
    assert state == ours_state + batch * 3 * 2 * t.linear_attention.conv_dim  # one more conv position per layer


# ibm-granite/granite-4.0-h-tiny's shape: 40 layers, Mamba-2 but for 4 attention layers, 64 experts (6 active) and a
# shared MLP in every layer
GRANITE_4H = {"model_type": "granitemoehybrid", "hidden_size": 1536, "intermediate_size": 512,
              "shared_intermediate_size": 1024, "num_hidden_layers": 40, "num_attention_heads": 12,
              "num_key_value_heads": 4, "vocab_size": 100352, "max_position_embeddings": 131072,
              "num_local_experts": 64, "num_experts_per_tok": 6, "mamba_n_heads": 48, "mamba_d_head": 64,
              "mamba_d_state": 128, "mamba_n_groups": 1, "mamba_d_conv": 4, "mamba_expand": 2,
              "tie_word_embeddings": True, "torch_dtype": "bfloat16",
              "layer_types": ["attention" if i in (5, 15, 25, 35) else "mamba" for i in range(40)]}


def test_granite_4h_mamba_state():
    """Model card: "7B total parameters, 1B active"; 36 Mamba-2 layers keep 3 conv positions of x, B and C
    (3,072 + 2 × 128 channels, bf16) and 48 heads × 64 × 128 of fp32 state each."""
    s = spec_from_config(GRANITE_4H, name="granite-4.0-h-tiny", source="test")
    assert abs(s.param_count / 7e9 - 1) < 0.02 and s.mamba.conv_dim == 3072 + 256
    assert recurrent_state_bytes_per_sequence(s) == 36 * (3 * 3328 * 2 + 48 * 64 * 128 * 4)
    dense = spec_from_config({**GRANITE_4H, "num_local_experts": 0}, name="dense", source="test")
    assert dense.moe is None and dense.d_ff == 1024


@pytest.mark.parametrize("experts", [64, 0])
def test_granite_4h_against_transformers(experts):
    """transformers 5 names the Mamba layers linear_attention; parameters equal its class on the meta device, and
    the KV of the attention layers and the Mamba states of a prefill under fake tensors match planner's (the conv
    state one position longer, as transformers keeps it)."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from transformers import AutoConfig, AutoModelForCausalLM


    ours = {**GRANITE_4H, "num_local_experts": experts}
    theirs = {**ours, "layer_types": ["linear_attention" if k == "mamba" else "full_attention"
                                      for k in GRANITE_4H["layer_types"]]}
    s = spec_from_config(ours, name="g", source="test")
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(AutoConfig.for_model(**theirs))
    assert sum(p.numel() for p in model.parameters()) == s.param_count
    small_types = ["linear_attention", "full_attention"]
    small = {**theirs, "num_hidden_layers": 2, "layer_types": small_types, "num_local_experts": min(experts, 4),
             "num_experts_per_tok": 2}
    t = spec_from_config({**small, "layer_types": ["mamba", "attention"]}, name="small", source="test")
    batch, tokens = 2, 512
    kv, state = _prefill_cache(small, batch=batch, tokens=tokens)
    planned = batch * recurrent_state_bytes_per_sequence(t)
    assert kv_cache_bytes(t, context_len=tokens, batch=batch) - planned == kv
    assert state == planned + batch * 2 * t.mamba.conv_dim  # one more conv position, bf16


def test_falcon_h1_runs_attention_and_mamba_in_every_layer():
    """Falcon-H1 (transformers' FalconH1Config defaults: the 7B shape): each layer keeps KV and a Mamba-2 state;
    parameters equal transformers' class, with and without the mixer's gated norm and output bias; KV exact and the
    state within one convolution position of its cache after a prefill under fake tensors."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from transformers import AutoModelForCausalLM, FalconH1Config


    for extra in ({}, {"mamba_rms_norm": True, "projectors_bias": True}):
        cfg = {k: v for k, v in FalconH1Config(**extra).to_dict().items() if v is not None}
        s = spec_from_config(cfg, name="falcon-h1", source="test")
        assert s.layer_pattern == ("parallel",)
        with torch.device("meta"):
            model = AutoModelForCausalLM.from_config(FalconH1Config(**extra))
        assert sum(p.numel() for p in model.parameters()) == s.param_count
    small = {k: v for k, v in FalconH1Config(num_hidden_layers=2).to_dict().items() if v is not None}
    t = spec_from_config(small, name="small", source="test")
    batch, tokens = 2, 512
    kv, state = _prefill_cache(small, batch=batch, tokens=tokens)
    planned = batch * recurrent_state_bytes_per_sequence(t)
    assert kv_cache_bytes(t, context_len=tokens, batch=batch) - planned == kv
    assert state == planned + batch * 2 * 2 * t.mamba.conv_dim  # two layers, one more conv position each


def test_jamba_mamba1_and_periodic_experts():
    """Jamba (transformers' JambaConfig defaults: Jamba-v0.1's shape, "52B total, 12B active"): Mamba (v1) layers
    with attention every 8th and experts every 2nd; parameters equal transformers' class; KV exact and the Mamba
    state within one convolution position of its cache after a prefill under fake tensors."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from transformers import AutoModelForCausalLM, JambaConfig


    s = spec_from_config(JambaConfig().to_dict(), name="jamba", source="test")
    assert s.layer_kinds()[4] == "full" and s.layer_kinds().count("mamba1") == 28
    assert [s.is_moe_layer(i) for i in range(4)] == [False, True, False, True]
    assert abs(s.param_count / 52e9 - 1) < 0.01 and abs(s.active_param_count / 12e9 - 1) < 0.02
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(JambaConfig())
    assert sum(p.numel() for p in model.parameters()) == s.param_count
    small = {k: v for k, v in JambaConfig(num_hidden_layers=2, attn_layer_period=2, attn_layer_offset=1, num_experts=4,
                                          expert_layer_period=2, expert_layer_offset=1).to_dict().items()
             if v is not None}
    t = spec_from_config(small, name="small", source="test")
    batch, tokens = 2, 256
    kv, state = _prefill_cache(small, batch=batch, tokens=tokens)
    planned = batch * recurrent_state_bytes_per_sequence(t)
    assert kv_cache_bytes(t, context_len=tokens, batch=batch) - planned == kv
    assert state == planned + batch * 2 * t.mamba1.d_inner
