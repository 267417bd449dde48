"""ggml's graph allocator, replayed (planner/engines/llamacpp/alloc.py), and llama.cpp's ubatch graph (graph.py)."""

import pytest

from planner import load_model
from planner.engines.llamacpp.alloc import Graph, buffer_size
from planner.engines.llamacpp.graph import compute_graph

MIB = 2**20


def test_a_chain_reuses_freed_memory():
    g = Graph()
    a = g.op(100 * MIB)
    b = g.op(100 * MIB, a)  # a is freed once b is allocated
    g.op(100 * MIB, b)      # … so c takes a's block
    assert buffer_size(g) == 200 * MIB


def test_an_in_place_op_takes_its_parent_and_a_view_is_never_reused():
    g = Graph()
    a = g.op(64 * MIB)
    g.op(64 * MIB, a, inplace=True)  # MUL/ADD/ROPE…: a's only consumer works in a's memory
    assert buffer_size(g) == 64 * MIB
    g = Graph()
    a = g.op(64 * MIB)
    g.op(64 * MIB, g.view(a), inplace=True)  # through a reshape: ggml_gallocr_is_own is false for views
    assert buffer_size(g) == 128 * MIB


def test_outputs_stay_and_best_fit_leaves_holes_that_grow_the_buffer():
    g = Graph()
    a = g.op(10 * MIB, output=True)
    b = g.op(30 * MIB, a)
    c = g.op(20 * MIB, b)           # after c is placed, b is freed: a 30 MiB hole after a
    g.op(40 * MIB, c)               # d does not fit the hole: the buffer grows past c
    assert buffer_size(g) == (10 + 30 + 20 + 40) * MIB  # a | hole of 30 | c | d


def test_sizes_are_padded_to_the_alignment():
    g = Graph()
    g.input(1)
    g.input(1)
    assert buffer_size(g) == 64


@pytest.mark.parametrize("model", ["meta-llama/Llama-3.1-8B", "mistralai/Mixtral-8x7B-v0.1", "google/gemma-2-9b",
                                   "microsoft/Phi-3-mini-4k-instruct", "Qwen/Qwen2.5-7B", "Qwen/Qwen3-8B"])
def test_the_buffer_is_at_least_the_logits_and_grows_with_the_scores(model):
    spec = load_model(model)
    kw = dict(n_ubatch=512, n_kv=4096, n_kv_swa=4096)
    fa = buffer_size(compute_graph(spec, flash_attn=True, **kw))
    no_fa = buffer_size(compute_graph(spec, flash_attn=False, **kw))
    assert fa >= spec.vocab_size * 512 * 4
    assert no_fa >= 4096 * 512 * spec.n_heads * 4 and no_fa >= fa
    longer = buffer_size(compute_graph(spec, flash_attn=False, n_ubatch=512, n_kv=8192, n_kv_swa=8192))
    assert longer > no_fa


def test_mistral_flash_attention_peaks_inside_a_layer():
    # llama.cpp (llama-cpp-python 0.3.36, CPU): "CPU compute buffer size is 120.0137 MiB" for Mistral-7B-v0.3 at
    # n_ctx 4096, n_ubatch 512, flash attention (profiles/measurements/llamacpp-cpu.jsonl): the FFN's three
    # 28 MiB tensors, not the 64 MiB of logits of its 32,768-token vocabulary
    spec = load_model("mistralai/Mistral-7B-v0.3")
    b = buffer_size(compute_graph(spec, n_ubatch=512, n_kv=4096, n_kv_swa=4096, flash_attn=True))
    assert b == pytest.approx(120.0137 * MIB, abs=0.0001 * MIB)
    assert b > spec.vocab_size * 512 * 4 + 2 * 4096 * 512 * 4


def _cuda_compute(spec, **kw):
    from planner.engines.llamacpp import llamacpp_memory

    base = dict(quant="q8_0", kv_dtype="q8_0", context=32768, batch=1, n_ctx=32768, flash_attn=True,
                n_gpu_layers=99, engine_version="b5271", n_batch=2048, n_ubatch=512, backend="cuda")
    m = llamacpp_memory(spec, **{**base, **kw})
    return m.activation_bytes - m.details.get("fa_f16_pool_bytes", 0)  # the compute buffer (b5271: the pool apart)


def test_experts_kept_in_host_memory_are_copied_whole_into_the_gpu_compute_buffer_for_a_prompt_ubatch():
    """Op offload: a MUL_MAT_ID of ≥ 32 tokens whose experts are in host memory runs on the GPU, each expert matrix
    copied whole for its op. The public A6000 log (tests/fixtures/logs/llama.cpp-qwen3-235b-a22b-q8_0-b5274-…):
    Qwen3-235B-A22B Q8_0 with layers 14–93's FFN on the CPU, CUDA0 compute buffer 1,024.00 MiB; without the copies
    planner had 385.54 (the output layer's split)."""
    spec = load_model("Qwen/Qwen3-235B-A22B")
    ot = ["blk\\.1[4-9]\\.ffn.*=CPU", "blk\\.[2-9][0-9]\\.ffn.*=CPU"]
    expert = 128 * 4096 * 1536 * 34 // 32  # one q8_0 expert matrix: 816 MiB
    with_copies = _cuda_compute(spec, override_tensor=ot)
    assert _cuda_compute(spec) < 400 * MIB < expert < with_copies
    assert with_copies == pytest.approx(1024 * MIB, rel=0.075)
    # --n-cpu-moe keeps the same expert matrices in host memory (in the first layers rather than the last, the router
    # on the GPU): the same copy at the peak, beside a little more or less of what the allocator left live
    assert _cuda_compute(spec, n_cpu_moe=80) == pytest.approx(with_copies, rel=0.03)
    # a ubatch under 32 tokens stays on the CPU (ggml-cuda offload_op), and a CPU build copies nothing
    assert _cuda_compute(spec, override_tensor=ot, n_ubatch=16) == _cuda_compute(spec, n_ubatch=16)
    assert _cuda_compute(spec, override_tensor=ot, backend="cpu") == _cuda_compute(spec, backend="cpu")


def test_flash_attention_converts_a_quantized_cache_to_f16_for_a_prompt():
    """ggml-cuda's flash attention kernels for a prompt's ubatch (MMA, tile) read f16 only: a quantized K and V are
    converted first, a layer's whole cache view, 2 bytes an element (fattn-common.cuh
    ggml_cuda_flash_attn_ext_get_f16_extra_data). From b9489 (PR #23907 "cuda: reserve space for quantize kv-cache at
    startup") the copies sit in the compute buffer; before, CUDA's pool took them as the prompt ran, outside the
    buffer and --fit, which is why the PR was written ("OOM even when using --fit"). Llama-3.1-8B at 128K: K and V of
    131,072 cells × 1,024 = 512 MiB."""
    from planner.engines.llamacpp import llamacpp_memory

    spec = load_model("meta-llama/Llama-3.1-8B")
    kw = dict(quant="q4_k_m", context=131072, batch=1, n_ctx=131072, flash_attn=True, n_gpu_layers=99,
              backend="cuda", program="library")  # every token of the ubatch an output row, as measured
    f16 = llamacpp_memory(spec, kv_dtype="fp16", **kw)
    q8 = llamacpp_memory(spec, kv_dtype="q8_0", **kw)
    assert 400 * MIB < q8.activation_bytes - f16.activation_bytes <= 512 * MIB + 1024  # the replay: live beside others
    old = llamacpp_memory(spec, kv_dtype="q8_0", engine_version="b9000", **kw)
    pool = old.details["fa_f16_pool_bytes"]
    assert pool == 2 * 131072 * 1024 * 2  # 512 MiB (the f32 output of 4,096 × 4 B is 128-aligned already)
    assert old.activation_bytes - pool == llamacpp_memory(spec, kv_dtype="fp16", engine_version="b9000",
                                                          **kw).activation_bytes
    # the vector kernel of a decode step reads the quantized cache; Metal converts nothing (until b10532, PR #27390,
    # past the builds planner follows); at 4K the copies (16 MiB) stay under the logits' peak, as the H200 measured
    # both caches alike (profiles/measurements/llamacpp-cuda.jsonl, 271,056,896 B each)
    assert llamacpp_memory(spec, kv_dtype="q8_0", device_vendor="apple", **kw).activation_bytes == \
        llamacpp_memory(spec, kv_dtype="fp16", device_vendor="apple", **kw).activation_bytes
    short = dict(kw, context=4096, n_ctx=4096, quant="bf16")
    q8_short = llamacpp_memory(spec, kv_dtype="q8_0", **short).activation_bytes
    assert q8_short == llamacpp_memory(spec, kv_dtype="fp16", **short).activation_bytes
    assert q8_short == pytest.approx(271_056_896, abs=4096)
