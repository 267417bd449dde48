"""A verdict says what the engine would do: each case here was a wrong "fits" before."""

from __future__ import annotations

import pytest

from planner import LayoutError, WorkloadError, estimate, fit, load_model
from planner.parallel import plan


def test_vllm_that_cannot_hold_one_max_model_len_request_does_not_fit():
    # Llama-3.1-8B's default max_model_len is 131,072; 5.9 GiB of KV on a 24 GB card holds 48,560 tokens.
    e = estimate("llama-3.1-8b", engine="vllm", gpu="rtx-4090")
    assert e.engine_details["kv_tokens"] < 131072
    assert not e.fits and "max_model_len 131,072" in e.performance.reason


def test_vllm_with_no_memory_left_for_kv_blocks_does_not_fit():
    e = estimate("llama-3.1-8b", engine="vllm", gpu="rtx-4090", gpu_memory_utilization=0.5, max_model_len=8192)
    assert e.engine_details["available_kv_bytes"] < 0 and e.engine_details["kv_blocks"] == 0
    assert not e.fits and "no memory for KV blocks" in e.performance.reason


def test_vllm_batch_beyond_the_pool_does_not_fit_and_says_how_many_run():
    e = estimate("llama-3.1-8b", engine="vllm", gpu="h100-sxm", context=131072, batch=1000)
    assert 3 < e.engine_details["max_concurrency"] < 4  # about 54 GiB of KV at 16 GiB a 131K sequence
    assert not e.fits and "at most 3 sequences of 131,072 tokens at once" in e.performance.reason
    ok = estimate("llama-3.1-8b", engine="vllm", gpu="h100-sxm", context=131072, batch=3)
    assert ok.fits and ok.performance.reason is None


def test_vllm_refuses_a_budget_larger_than_the_free_memory_at_start():
    # vLLM: "Free memory on device … on startup is less than desired GPU memory utilization"
    e = estimate("llama-3.2-1b", engine="vllm", gpu="rtx-4090", gpu_memory_utilization=0.99, max_model_len=4096)
    assert not e.fits and "is free once the CUDA context is up" in e.performance.reason


def test_vllm_requests_shorter_than_max_model_len_share_the_pool():
    e = estimate("llama-3.1-8b", engine="vllm", gpu="h100-sxm", max_model_len=32768, context=8192, batch=50)
    assert e.workload.context == 8192 and e.engine_details["max_model_len"] == 32768
    assert e.fits  # 28,682 blocks hold 56 sequences of 512 blocks


def test_llama_cpp_batch_keeps_every_sequence_in_memory_and_in_speed():
    one = estimate("llama-3-8b", quant="q4_k_m", engine="llama.cpp", context=2048, gpu="rtx-4090")
    many = estimate("llama-3-8b", quant="q4_k_m", engine="llama.cpp", context=2048, batch=64, gpu="rtx-4090")
    assert many.engine_details["n_parallel"] == 64 and many.engine_details["kv_cells"] == 64 * 2048
    assert many.kv_cache_bytes == 64 * one.kv_cache_bytes
    assert many.performance.throughput_tokens_per_s == pytest.approx(64 * many.performance.decode_tokens_per_s)


def test_llama_cpp_batch_beyond_its_slots_is_an_error():
    with pytest.raises(WorkloadError, match="batch 4 exceeds n_parallel 2"):
        estimate("llama-3-8b", quant="q4_k_m", engine="llama.cpp", batch=4, n_parallel=2)
    with pytest.raises(WorkloadError, match="LLAMA_MAX_SEQ"):
        estimate("llama-3-8b", quant="q4_k_m", engine="llama.cpp", batch=300)


def test_fit_never_ranks_a_tensor_parallel_split_vllm_refuses():
    spec = load_model("microsoft/Phi-3-medium-4k-instruct")
    assert (spec.n_heads, spec.n_kv_heads) == (40, 10)  # 4- and 8-way splits of 10 KV heads are refused
    df = fit(spec, context=4096, gpus=["rtx-3090", "l4", "t4", "a10g"], quants=["bf16", "fp8", "int4"])
    assert not df.empty and set(df["n_gpus"]) <= {1, 2}


@pytest.mark.parametrize("kwargs,message", [
    (dict(n_gpus=3), "32 attention heads do not divide by 3"),
    (dict(n_gpus=64, mode="pp"), "needs at least 64 layers"),
    (dict(n_gpus=2, gpu="m2-ultra"), "Apple GPUs are one per machine"),
    # llama.cpp splits GGUF weights by layers (--split-mode layer): a tensor split of them is not planned as vLLM's
    (dict(n_gpus=2, quant="q4_k_m"), "tensor-parallel split of GGUF weights over 2 GPUs in llama.cpp is not modelled"),
])
def test_plans_the_engine_would_refuse_are_refused(kwargs, message):
    with pytest.raises(LayoutError, match=message):
        plan("llama-3-8b", **{"gpu": "h100-sxm", **kwargs})


def test_a_gguf_format_over_several_gpus_is_planned_by_layers_and_one_gpu_is_unchanged():
    """The split llama.cpp runs by default plans it (mode "pp"); one GPU is no split, so "tp" at n = 1 stays the
    plain plan (Llama-3.1-70B in q4_k_m on an RTX 4090 at 8K: the time to first token its roofline gives)."""
    two = plan("meta-llama/Llama-3.1-70B", gpu="rtx-4090", n_gpus=2, mode="pp", quant="q4_k_m", context=8192)
    one = plan("meta-llama/Llama-3.1-70B", gpu="rtx-4090", n_gpus=1, mode="tp", quant="q4_k_m", context=8192)
    assert two.mode == "pp" and one.prefill_seconds == plan("meta-llama/Llama-3.1-70B", gpu="rtx-4090", n_gpus=1,
                                                            mode="pp", quant="q4_k_m", context=8192).prefill_seconds


def test_absurd_gpu_counts_and_engines_on_the_wrong_hardware_are_refused():
    with pytest.raises(WorkloadError, match="n_gpus must be an integer within 1–1,024, got 1000000"):
        plan("llama-3-8b", gpu="h100-sxm", n_gpus=10**6)
    with pytest.raises(WorkloadError, match="engine 'vllm' does not run on .*: it has no Metal backend"):
        estimate("llama-3-8b", engine="vllm", gpu="m2-ultra")
    with pytest.raises(WorkloadError, match="engine 'sglang' does not run on"):
        estimate("llama-3-8b", engine="sglang", gpu="m2-ultra")
    with pytest.raises(WorkloadError, match="engine 'ollama' decides its layers from the GPU's memory"):
        estimate("llama-3-8b", engine="ollama", quant="q4_k_m")


@pytest.mark.parametrize("batch", [2**56, 10**13])
def test_absurd_batches_are_refused_not_wrapped_around(batch):
    with pytest.raises(WorkloadError, match="batch must be at most 1,048,576"):
        estimate("llama-3-8b", batch=batch, gpu="rtx-4090")


def test_totals_beyond_int64_are_refused_in_sweeps_too():
    from planner import sweep

    with pytest.raises(WorkloadError, match="EiB"):
        sweep("meta-llama/Llama-3.1-405B", contexts=[131072], batches=[2**20], attention="eager")


@pytest.mark.parametrize("kwargs,message", [
    (dict(engine="vllm", gpu="rtx-4090", kv_dtype="q4_0"), "engine 'vllm' has no 'q4_0' KV cache"),
    (dict(engine="llama.cpp", kv_dtype="int4"), "engine 'llama.cpp' has no 'int4' KV cache"),
    (dict(engine="llama.cpp", quant="awq"), "llama.cpp' runs GGUF files"),
    (dict(engine="transformers", quant="q4_k_m"), "dequantizes GGUF files"),
    (dict(engine="vllm", gpu="rtx-4090", quant="exl2-4.65"), "cannot load ExLlamaV2 weights"),
    (dict(engine="vllm", gpu="rtx-4090", context=8192, max_model_len=4096), "context 8,192 exceeds max_model_len"),
    (dict(engine="llama.cpp", quant="q4_k_m", context=4096, n_ctx=4096, n_parallel=2),
     "context 4096 exceeds the 2048 cells of each slot"),
])
def test_contradictions_name_both_options(kwargs, message):
    with pytest.raises(WorkloadError, match=message):
        estimate("llama-3-8b", **kwargs)
