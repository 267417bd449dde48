"""KV cache: golden numbers and properties."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from planner import UnknownQuantError, WorkloadError, load_model
from planner.kv import kv_bytes_per_token_per_layer, kv_cache_bytes

LLAMA_3_8B = load_model("meta-llama/Meta-Llama-3-8B")
MiB, GiB = 2**20, 2**30


def test_llama3_8b_8k_tokens_in_bf16_is_exactly_one_gib():
    # 2 (K, V) * 32 layers * 8 kv heads * 128 dims * 2 bytes = 128 KiB per token
    assert kv_cache_bytes(LLAMA_3_8B, context_len=8192) == GiB


def test_llama2_7b_matches_llama_cpp_log():
    # llama.cpp, llama-2-7b.Q4_K_M.gguf, n_ctx 2048, f16 cache: "KV self size = 1024.00 MiB"
    # (utilityai/llama-cpp-rs README)
    assert kv_cache_bytes(load_model("llama-2-7b"), context_len=2048, kv_dtype="fp16") == 1024 * MiB


def test_vllm_l40s_llama31_8b_token_capacity_is_consistent():
    # vLLM PR #17122: L40S, Llama-3.1-8B: "GPU KV cache size: 158,656 tokens"; "Maximum concurrency for 32,768
    # tokens per request: 4.84x" — 158656 / 32768 = 4.84, and 158656 tokens * 128 KiB = 19.37 GiB of KV.
    spec = load_model("meta-llama/Llama-3.1-8B")
    assert kv_cache_bytes(spec, context_len=158_656) == 158_656 * 128 * 1024
    assert round(158_656 / 32_768, 2) == 4.84


@pytest.mark.parametrize("kv_dtype,bytes_per_token", [
    ("fp32", 256 * 1024), ("fp16", 128 * 1024), ("bf16", 128 * 1024), ("fp8", 64 * 1024),
    # q8_0: 128-wide rows are 4 blocks of 34 bytes; q4_0: 4 blocks of 18 bytes
    ("q8_0", 2 * 32 * 8 * 4 * 34), ("q4_0", 2 * 32 * 8 * 4 * 18),
    # int8/int4: LMDeploy's per-head per-token fp16 scale and zero add 4 bytes per row
    ("int8", 2 * 32 * 8 * (128 + 4)), ("int4", 2 * 32 * 8 * (64 + 4)),
])
def test_kv_dtypes_exact_bytes_per_token(kv_dtype, bytes_per_token):
    assert kv_cache_bytes(LLAMA_3_8B, context_len=1, kv_dtype=kv_dtype) == bytes_per_token


@given(tokens=st.integers(0, 1_000_000), batch=st.integers(1, 64))
def test_kv_cache_is_linear_in_tokens_and_batch(tokens, batch):
    per_token = kv_cache_bytes(LLAMA_3_8B, context_len=1)
    assert kv_cache_bytes(LLAMA_3_8B, context_len=tokens, batch=batch) == tokens * batch * per_token


@given(ratio=st.sampled_from([1, 2, 4, 8, 32]))
def test_gqa_divides_kv_by_the_group_ratio(ratio):
    mha = LLAMA_3_8B.model_copy(update={"n_kv_heads": 32})
    gqa = LLAMA_3_8B.model_copy(update={"n_kv_heads": 32 // ratio})
    assert kv_cache_bytes(mha, context_len=4096) == ratio * kv_cache_bytes(gqa, context_len=4096)


def test_explicit_head_dim_is_used_not_hidden_over_heads():
    # Gemma-2-9B: hidden 3584, 16 heads, head_dim 256 (not 224); 8 KV heads; 42 layers.
    spec = load_model("gemma-2-9b")
    assert kv_bytes_per_token_per_layer(spec) == 2 * 8 * 256 * 2


def test_sliding_layers_cap_at_window():
    # Gemma-2: even layers slide over 4096 tokens, odd layers are global; 21 of each in 42 layers.
    spec = load_model("gemma-2-9b")
    per_layer = 2 * 8 * 256 * 2
    assert kv_cache_bytes(spec, context_len=8192) == 21 * per_layer * 8192 + 21 * per_layer * 4096
    assert kv_cache_bytes(spec, context_len=8192, cap_sliding=False) == 42 * per_layer * 8192
    assert kv_cache_bytes(spec, context_len=2048) == 42 * per_layer * 2048


def test_gpt_oss_sliding_window_of_128():
    spec = load_model("gpt-oss-20b")  # 24 layers alternate sliding (128) and full; 8 kv heads of 64
    per_layer = 2 * 8 * 64 * 2
    assert kv_cache_bytes(spec, context_len=131072) == 12 * per_layer * 131072 + 12 * per_layer * 128


def test_phi3_small_block_sparse_layers_keep_every_token():
    spec = load_model("microsoft/Phi-3-small-8k-instruct")
    assert spec.layer_kinds().count("block_sparse") == 16
    assert kv_cache_bytes(spec, context_len=8192) == 32 * 2 * 8 * 128 * 2 * 8192  # exactly 1 GiB


def test_mla_caches_the_latent():
    # DeepSeek-V3: kv_lora_rank 512 + qk_rope_head_dim 64 = 576 values per token per layer, 61 layers.
    spec = load_model("deepseek-v3")
    assert kv_cache_bytes(spec, context_len=1) == 61 * 576 * 2


def test_kv_cache_accepts_arrays():
    out = kv_cache_bytes(LLAMA_3_8B, context_len=np.array([1024, 2048]), batch=np.array([1, 2]))
    assert out.tolist() == [2**27, 2**29]


def test_unknown_kv_dtype_names_the_value():
    with pytest.raises(UnknownQuantError, match="'fp9'"):
        kv_cache_bytes(LLAMA_3_8B, context_len=1, kv_dtype="fp9")


def test_block_kv_dtype_needs_divisible_head_dim():
    odd = LLAMA_3_8B.model_copy(update={"head_dim": 80})
    with pytest.raises(WorkloadError, match="divisible by 32, got 80"):
        kv_cache_bytes(odd, context_len=1, kv_dtype="q8_0")
