"""vLLM V1's cache for hybrid models: attention pages and recurrent states in one pool of equal pages
(planner/engines/vllm/hybrid.py; research/vllm_hybrid.md, read in the 0.11.0 and 0.33.0 wheels)."""

import pytest

from planner import WorkloadError, estimate, load_model
from planner.engines.vllm import vllm_hybrid_pages, vllm_state_bytes

GIB = 2**30


def test_qwen3_next_pages_at_tp2():
    # Qwen3-Next-80B-A3B-Instruct config.json: 48 layers, full attention every 4th (12), 36 Gated DeltaNet layers of
    # linear_num_key_heads 16, linear_num_value_heads 32, key/value head dims 128, linear_conv_kernel_dim 4; 2 KV heads
    # of head_dim 256. One GPU of two: conv 3 × (2·16·128 + 32·128) / 2 + recurrent 32 / 2 × 128 × 128, in bf16
    spec = load_model("Qwen/Qwen3-Next-80B-A3B-Instruct")
    assert vllm_state_bytes(spec, 2) == (3 * 8192 // 2 + 16 * 128 * 128) * 2 == 548_864
    pages = vllm_hybrid_pages(spec, tp=2, kv_dtype="bf16", block_size=16, release=(0, 11, 0))
    # one KV head per GPU: 2 × 256 × 2 = 1,024 B a token; 16 × cdiv(548,864, 16 × 1,024) = 544 tokens
    # (vLLM logs "Setting attention block size to 544 tokens" and "Padding mamba page size by 1.49%")
    assert pages.block_size == 544 and pages.page_bytes == 544 * 1024 == 557_056
    assert round(100 * (pages.page_bytes - pages.state_bytes) / pages.state_bytes, 2) == 1.49
    assert (pages.group_size, pages.attention_groups, pages.state_groups) == (12, 1, 3)
    assert pages.block_bytes == 12 * 557_056
    assert pages.blocks_per_request(32_768) == 61 + 3
    assert pages.printed_tokens(7_162) == 7_162 // 4 * 544  # blocks // groups × the attention block


def test_jamba_pages_at_tp2():
    # AI21-Jamba-1.5-Mini config.json: hidden 4096, mamba_expand 2 (d_inner 8192), mamba_d_state 16, mamba_d_conv 4;
    # 4 attention layers of 8 KV heads × 128 among 32. One GPU of two: (3 + 16) × 4096 × 2 bytes of state per layer
    spec = load_model("ai21labs/AI21-Jamba-1.5-Mini")
    pages = vllm_hybrid_pages(spec, tp=2, kv_dtype="bf16", block_size=16, release=(0, 11, 0))
    assert pages.state_bytes == 19 * 4096 * 2 == 155_648
    assert pages.block_size == 16 * -(-155_648 // (16 * 2048)) == 80 and pages.page_bytes == 80 * 2048
    assert (pages.group_size, pages.attention_groups, pages.state_groups) == (4, 1, 7)


def test_vllm_sizes_a_hybrid_models_blocks_concurrency_and_printed_tokens():
    e = estimate("Qwen/Qwen3-Next-80B-A3B-Instruct", engine="vllm", gpu="h200", tensor_parallel_size=2,
                 engine_version="0.11.0", max_model_len=32_768)
    d = e.engine_details
    blocks = d["available_kv_bytes"] // (12 * 557_056)
    assert d["kv_blocks"] == blocks and d["block_size"] == 544
    assert d["kv_tokens"] == blocks // 4 * 544
    assert d["max_concurrency"] == pytest.approx(blocks / (61 + 3))
    assert e.kv_cache_bytes == blocks * 12 * 557_056
    assert (d["hybrid_state_bytes"], d["hybrid_group_size"], d["hybrid_state_groups"]) == (548_864, 12, 3)
    # attention-only models keep their plain pages
    assert estimate("Qwen/Qwen3-8B", engine="vllm", gpu="h200").engine_details["hybrid_group_size"] == 0


def test_what_is_not_read_is_refused():
    kw = dict(engine="vllm", gpu="h200", tensor_parallel_size=2, max_model_len=32_768)
    with pytest.raises(WorkloadError, match="planner reads vLLM's hybrid KV cache from 0.11.0"):
        estimate("Qwen/Qwen3-Next-80B-A3B-Instruct", engine_version="0.10.2", **kw)
    with pytest.raises(WorkloadError, match="Qwen3NextForCausalLM is first in 0.10.2's model registry"):
        estimate("Qwen/Qwen3-Next-80B-A3B-Instruct", engine_version="0.10.1", **kw)
    with pytest.raises(WorkloadError, match="V0's separate Mamba cache is not modelled"):
        estimate("ai21labs/AI21-Jamba-1.5-Mini", engine_version="0.7.3", **kw)
    with pytest.raises(WorkloadError, match="pipeline_parallel_size 2 is not modelled"):
        estimate("Qwen/Qwen3-Next-80B-A3B-Instruct", engine_version="0.11.0", pipeline_parallel_size=2,
                 **{k: v for k, v in kw.items() if k != "tensor_parallel_size"})
    with pytest.raises(WorkloadError, match="Gated DeltaNet models\\) only"):
        estimate("ai21labs/AI21-Jamba-1.5-Mini", engine="sglang", gpu="h200")


def test_prefix_caching_from_028_keeps_two_or_three_state_blocks():
    # 0.28.0 turns prefix caching on for hybrids ("align" mode): two blocks a request in every state group; 0.33.0 adds
    # a prefill checkpoint block for Gated DeltaNet under FlashInfer's kernel (Hopper) and aligns the block to 64:
    # 64 × cdiv(548,864, 64 × 1,024) = 576 tokens (page 589,824 B, the state padded 7.46 %)
    spec = load_model("Qwen/Qwen3-Next-80B-A3B-Instruct")
    from planner.gpus import load_gpu

    h200, a100 = load_gpu("h200"), load_gpu("a100-sxm-80gb")
    v28 = vllm_hybrid_pages(spec, tp=2, kv_dtype="bf16", block_size=16, release=(0, 28, 0), gpu=h200)
    assert (v28.block_size, v28.state_blocks, v28.blocks_per_request(32_768)) == (544, 2, 61 + 3 * 2)
    v33 = vllm_hybrid_pages(spec, tp=2, kv_dtype="bf16", block_size=16, release=(0, 33, 0), gpu=h200)
    assert (v33.block_size, v33.page_bytes, v33.state_blocks) == (576, 589_824, 3)
    assert round(100 * (v33.page_bytes - v33.state_bytes) / v33.state_bytes, 2) == 7.46
    assert v33.blocks_per_request(32_768) == 57 + 3 * 3
    # Ampere runs the Triton/FLA prefill: no checkpoint block, no 64-token alignment
    ampere = vllm_hybrid_pages(spec, tp=2, kv_dtype="bf16", block_size=16, release=(0, 33, 0), gpu=a100)
    assert (ampere.block_size, ampere.state_blocks) == (544, 2)
    off = vllm_hybrid_pages(spec, tp=2, kv_dtype="bf16", block_size=16, release=(0, 33, 0), gpu=h200,
                            prefix_caching=False)
    assert (off.block_size, off.state_blocks) == (544, 1)
    with pytest.raises(WorkloadError, match="planner models it from vLLM 0.28.0"):
        vllm_hybrid_pages(spec, tp=2, kv_dtype="bf16", block_size=16, release=(0, 27, 1), prefix_caching=True)


def test_printed_tokens_follow_concurrency_from_0201():
    # from 0.20.1 "GPU KV cache size" is int(concurrency × max_model_len) for every model (kv_cache_utils.py
    # get_kv_cache_capacity); 0.20.0 printed blocks // groups × block
    kw = dict(engine="vllm", gpu="h200", tensor_parallel_size=2, max_model_len=32_768)
    new = estimate("Qwen/Qwen3-Next-80B-A3B-Instruct", engine_version="0.33.0", **kw).engine_details
    assert new["block_size"] == 576 and new["hybrid_state_blocks"] == 3 and new["hybrid_prefix_caching"]
    assert new["kv_tokens"] == int(new["kv_blocks"] / (57 + 9) * 32_768)
    old = estimate("Qwen/Qwen3-Next-80B-A3B-Instruct", engine_version="0.20.0", **kw).engine_details
    assert old["kv_tokens"] == old["kv_blocks"] // 4 * 544 and not old["hybrid_prefix_caching"]
    off = estimate("Qwen/Qwen3-Next-80B-A3B-Instruct", engine_version="0.33.0", enable_prefix_caching=False,
                   **kw).engine_details
    assert off["block_size"] == 544 and off["hybrid_state_blocks"] == 1
    # an attention-only model with max_model_len a multiple of the block: the same as blocks × block
    plain = estimate("Qwen/Qwen3-8B", engine="vllm", gpu="h200", max_model_len=40_960).engine_details
    assert plain["kv_tokens"] == plain["kv_blocks"] * 16
    with pytest.raises(WorkloadError, match="enable_prefix_caching"):
        estimate("Qwen/Qwen3-8B", engine="vllm", gpu="h200", enable_prefix_caching="yes")


def test_the_cli_shows_a_hybrid_models_pages(capsys):
    from planner.cli import main

    args = ["estimate", "Qwen/Qwen3-Next-80B-A3B-Instruct", "--engine", "vllm", "--gpu", "h200", "-tp", "2",
            "--max-model-len", "32768"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "hybrid: a request's state is 548,864 bytes in each recurrent layer; pages of 589,824 bytes (576 " in out
    assert "3 state block(s) a request (prefix caching on)" in out and "blocks of 576)" in out
    assert main([*args, "--prefix-caching", "off"]) == 0
    out = capsys.readouterr().out
    assert "pages of 557,056 bytes (544 attention tokens)" in out and "1 state block(s) a request\n" in out
    assert main([*args, "--prefix-caching", "maybe"]) == 2


def test_qwen3_next_block_of_544_as_vllm_states_it():
    # vLLM PR #32492 (ROCm aiter attention for Qwen3-Next): "the model uses non-standard block size (544)", one GPU:
    # 3 × 8,192 + 32 × 128 × 128 two-byte values of state, 2 KV heads × 256 × 2 × 2 bytes a token → 16 × 34 = 544
    spec = load_model("Qwen/Qwen3-Next-80B-A3B-Instruct")
    one = vllm_hybrid_pages(spec, tp=1, kv_dtype="bf16", block_size=16, release=(0, 11, 0))
    assert one.state_bytes == 1_097_728 and one.block_size == 544


def test_check_log_reads_a_hybrid_models_block_and_padding_lines():
    # the two lines vLLM logs while it unifies the pages (format strings of 0.11.0 models/config.py:379 and :401)
    from planner.measure.logs import check_log

    log = ("INFO [api_server.py] vLLM API server version 0.11.0\n"
           "INFO [utils.py] non-default args: {'model': 'Qwen/Qwen3-Next-80B-A3B-Instruct', "
           "'tensor_parallel_size': 2}\n"
           "INFO [config.py] Setting attention block size to 544 tokens to ensure that attention page size is >= "
           "mamba page size.\n"
           "INFO [config.py] Padding mamba page size by 1.49% to ensure that mamba page size and attention page size "
           "are exactly equal.\n"
           "(EngineCore_DP0 pid=1) INFO [core.py] Initializing a V1 LLM engine (v0.11.0) with config: "
           "model='Qwen/Qwen3-Next-80B-A3B-Instruct', dtype=torch.bfloat16, max_seq_len=32768, tensor_parallel_size=2\n"
           "(Worker_TP0 pid=2) INFO [gpu_model_runner.py] Model loading took 74.2812 GiB and 200.0 seconds\n")
    rows = {r.figure: r for r in check_log(log, "Qwen/Qwen3-Next-80B-A3B-Instruct", gpu="h200").rows}
    assert rows["hybrid attention block size"].planner == 544
    assert rows["state page padding"].within(0)  # 1.49 % to the printed digit


def test_sliding_window_layers_keep_their_window_from_091():
    # gpt-oss-120b config.json: 36 layers alternating sliding (window 128) and full attention, 8 KV heads of 64.
    # vLLM's hybrid KV cache manager (0.9.1+) groups them 18 and 18; a request keeps at most
    # cdiv(min(127 + in-flight tokens, L), 16) + 1 blocks in the sliding group (SlidingWindowSpec), in-flight tokens
    # being two batches of max_num_batched_tokens under async scheduling from 0.26
    kw = dict(engine="vllm", gpu="h100-sxm", max_model_len=131_072)
    d = estimate("openai/gpt-oss-120b", **kw).engine_details
    page = 16 * 2 * 8 * 64 * 2
    assert (d["hybrid_group_size"], d["hybrid_attention_groups"], d["hybrid_sliding_groups"]) == (18, 1, 1)
    assert d["kv_blocks"] == d["available_kv_bytes"] // (18 * page)
    window = -(-(127 + 2 * 8192) // 16) + 1
    assert d["max_concurrency"] == pytest.approx(d["kv_blocks"] / (8192 + window))
    assert d["kv_tokens"] == int(d["kv_blocks"] / (8192 + window) * 131_072)
    # 0.20.0: one batch in flight, and the tokens printed as blocks // groups × block
    old = estimate("openai/gpt-oss-120b", engine_version="0.20.0", **kw).engine_details
    assert old["hybrid_sliding_tokens"] == 127 + 8192 and old["kv_tokens"] == old["kv_blocks"] // 2 * 16
    # Gemma-3-27B (config.json: 62 layers, every sixth full: 10 full and 52 sliding of window 1024): groups of 10
    g = estimate("google/gemma-3-27b-it", engine="vllm", gpu="h100-sxm", max_model_len=32_768).engine_details
    assert (g["hybrid_group_size"], g["hybrid_attention_groups"], g["hybrid_sliding_groups"]) == (10, 1, 6)
    # before 0.9.1 every layer took full-attention pages (gpt-oss arrived in 0.10.1: Gemma 3, 16 KV heads of 128)
    early = estimate("google/gemma-3-27b-it", engine="vllm", gpu="h100-sxm", max_model_len=32_768,
                     engine_version="0.9.0").engine_details
    assert early["hybrid_group_size"] == 0 and early["kv_blocks"] == early["available_kv_bytes"] // (
        62 * 16 * 2 * 16 * 128 * 2)
    with pytest.raises(WorkloadError, match="arrived in 0.10.1"):
        estimate("openai/gpt-oss-120b", engine_version="0.10.0", **kw)
    # a model whose every layer slides keeps full-attention pages (its window's handling in vLLM is not read)
    m = estimate("mistralai/Mistral-7B-v0.1", engine="vllm", gpu="h100-sxm", max_model_len=8192).engine_details
    assert m["hybrid_group_size"] == 0


def test_near_equal_unequal_sliding_counts_fall_back_to_full_pages():
    # 0.33.0 groups unequal layer counts within 1.5× of each other by the larger count (kv_cache_planning.py:521-532),
    # an earlier release by the smaller; planner, not knowing when, gives every layer full pages: more than vLLM takes.
    # gpt-oss-20b's 24 layers under two other patterns: 16 sliding + 8 full, and 14 + 10
    spec = load_model("openai/gpt-oss-20b")
    skewed = spec.model_copy(update={"layer_pattern": ("sliding", "full", "sliding", "full", "sliding", "sliding")})
    kinds = skewed.layer_kinds()
    assert (kinds.count("sliding"), kinds.count("full")) == (16, 8)  # 2×: grouped as read
    assert vllm_hybrid_layout_for(skewed).sliding_groups == 2
    close = spec.model_copy(update={"layer_pattern": ("sliding", "full", "sliding", "full", "sliding")})
    kinds = close.layer_kinds()
    assert (kinds.count("sliding"), kinds.count("full")) == (14, 10)  # within 1.5×, unequal
    assert vllm_hybrid_layout_for(close) is None


def vllm_hybrid_layout_for(spec):
    from planner.engines.vllm import vllm_hybrid_layout, vllm_rules

    release = (0, 33, 0)
    return vllm_hybrid_layout(spec, vllm_rules(release), tp=1, pp=1, kv_dtype="bf16", block_size=16, release=release,
                              max_num_batched_tokens=8192)
