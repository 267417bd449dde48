"""Llama 4 Scout and Maverick: chunked local attention on 36 of 48 layers, MoE with a shared expert (every layer for
Scout, the odd ones for Maverick), and an image encoder; each engine caches the chunked layers its own way
(research/llama4.md)."""

import pytest

import planner
from planner import load_model
from planner.weights import weights_breakdown

SCOUT, MAVERICK = "meta-llama/Llama-4-Scout-17B-16E-Instruct", "meta-llama/Llama-4-Maverick-17B-128E-Instruct"
KIB4 = 2 * 8 * 128 * 2  # K and V of 8 heads of 128 in bf16: 4 KiB a token a layer


def test_the_layout_config_json_describes():
    scout, maverick = load_model(SCOUT), load_model(MAVERICK)
    for spec in (scout, maverick):
        kinds = spec.layer_kinds()  # no_rope_layers: every 4th layer (3, 7, …, 47) is a global NoPE layer
        assert kinds.count("sliding") == 36 and [i for i, k in enumerate(kinds) if k == "full"] == list(range(3, 48, 4))
        assert spec.chunked_attention and spec.sliding_window == 8192
        assert spec.moe.n_shared_experts == 1 and spec.moe.shared_d_ff == spec.moe.expert_d_ff == 8192
    assert scout.n_moe_layers == 48 and scout.moe.n_experts == 16 and scout.d_ff == 0
    assert maverick.n_moe_layers == 24 and maverick.is_moe_layer(1) and not maverick.is_moe_layer(0)
    assert maverick.moe.n_experts == 128 and maverick.d_ff == 16384  # intermediate_size_mlp between the MoE layers


def test_the_image_encoder_and_projector_count_as_the_checkpoint_holds_them():
    # a stored dump of Scout's parameters: vision_adapter.mlp.fc1 23,068,672, fc2 16,777,216, multi_modal_projector
    # .linear_1 20,971,520, patch_embedding.linear 827,904, positional_embedding_vlm 812,416
    spec = load_model(SCOUT)
    vision = {t.name: t.numel for t in planner.tensors.weight_tensors(spec) if t.role == "vision"}
    assert vision["mm.adapter.fc1.weight"] == 23_068_672 and vision["mm.adapter.fc2.weight"] == 16_777_216
    assert vision["mm.linear_1.weight"] == 20_971_520 and vision["v.patch_embd.weight"] == 827_904
    assert vision["v.position_embd.weight"] == 812_416
    assert sum(vision.values()) == 850_960_896 + 20_971_520
    assert weights_breakdown(spec, "bf16")["vision"] == 2 * sum(vision.values())
    assert spec.vision.tokens_per_image == 144  # (336 / 14)² patches, four merged into one by the pixel shuffle


def test_a_chunked_layer_keeps_its_chunk_where_the_engine_does():
    plain = planner.estimate(SCOUT, context=32768)  # the plain model keeps a chunked layer's whole chunk
    assert plain.kv_cache_bytes == 12 * 32768 * KIB4 + 36 * 8192 * KIB4
    # llama.cpp sizes a chunked layer's cells as any SWA layer's: pad256(n_swa + n_ubatch) = 8,704 of them for one
    # slot; llama-server's 4 default slots over one unified cache keep each one's chunk, so every cell here
    cpp = planner.estimate(SCOUT, quant="q4_k_m", engine="llama.cpp", gpu="h100-sxm", context=32768, n_parallel=1)
    assert cpp.kv_cache_bytes == (12 * 32768 + 36 * 8704) * KIB4
    auto = planner.estimate(SCOUT, quant="q4_k_m", engine="llama.cpp", gpu="h100-sxm", context=32768)
    assert auto.kv_cache_bytes == 48 * 32768 * KIB4
    # Ollama's own engine (to 0.29) keeps every token (kvcache.NewChunkedAttentionCache); llama-server (0.30) does not
    new = planner.estimate(SCOUT, quant="q4_k_m", engine="ollama", gpu="h100-sxm", num_ctx=32768)
    old = planner.estimate(SCOUT, quant="q4_k_m", engine="ollama", gpu="h100-sxm", num_ctx=32768,
                           engine_version="0.12.11")
    assert new.kv_cache_bytes == cpp.kv_cache_bytes and old.kv_cache_bytes == 48 * 32768 * KIB4


def test_vllm_groups_chunked_layers_from_0_14_only():
    kw = dict(engine="vllm", gpu="h100-sxm", tensor_parallel_size=4, max_model_len=131072)
    grouped = planner.estimate(SCOUT, **kw).engine_details
    full = planner.estimate(SCOUT, engine_version="0.13.0", **kw).engine_details
    # 0.14.0 on: (full × 12) and three (chunked × 12) groups, a chunked one holding chunk + scheduled tokens
    assert grouped["hybrid_sliding_groups"] == 3 and grouped["hybrid_sliding_tokens"] == 8192 + 2 * 8192
    # to 0.13.0 VLLM_ALLOW_CHUNKED_LOCAL_ATTN_WITH_HYBRID_KV_CACHE is off: every layer full-length
    assert full["hybrid_sliding_groups"] == 0
    assert grouped["max_concurrency"] > 3 * full["max_concurrency"]


def test_sglang_gives_the_chunked_layers_their_own_pool():
    d = planner.estimate(SCOUT, engine="sglang", gpu="h100-sxm", tp_size=8, context_length=131072).engine_details
    # from 0.5.8 is_hybrid_swa_model takes Llama 4: its chunked layers' pool holds swa_full_tokens_ratio (0.8) of the
    # full layers' tokens
    assert d["swa_max_total_num_tokens"] == pytest.approx(0.8 * d["max_total_num_tokens"], abs=1)


def test_sglang_refuses_more_requests_than_the_chunked_pool_holds():
    # SGLang's default cuts a vision model's mem_fraction_static to 0.79 of a text model's, which leaves Scout's
    # weights no room on 4 × H100: the text model's fraction, as with --mem-fraction-static
    from planner.engines.sglang import sglang_defaults

    smi = planner.load_gpu("h100-sxm").memory_bytes  # nvidia-smi's total, as SGLang reads it
    text = planner.load_model(SCOUT).model_copy(update={"vision": None})
    fraction = sglang_defaults(smi / 2**20, 4, spec=text)["mem_fraction_static"]
    assert not planner.estimate(SCOUT, engine="sglang", gpu="h100-sxm", tp_size=4, context_length=8192).fits
    kw = dict(engine="sglang", gpu="h100-sxm", tp_size=4, context_length=8192, context=8192,
              mem_fraction_static=fraction)
    # 154,828 sliding-window tokens (on what NCCL's communicators leave): 17 requests keeping their 8,192-token chunk
    # beside one 8,192-token prompt chunk
    assert planner.estimate(SCOUT, batch=17, **kw).fits
    refused = planner.estimate(SCOUT, batch=23, **kw)  # the full layers' 193,536 tokens would hold 23
    assert not refused.fits and "sliding-window pool holds 154,828 tokens" in refused.engine_refusal


def test_the_contexts_vllm_published_for_llama_4_scout():
    # "Using 8xH100, vLLM can serve Scout with 1M context" and "On 8x H200 GPUs: Scout (up to 3.6M context)", with
    # v0.8.3 (blog.vllm.ai/2025/04/05/llama4.html): every layer full-length in that release, and both fit, the H200's
    # just (3.6M is its most)
    kw = dict(engine="vllm", engine_version="0.8.3", tensor_parallel_size=8)
    h100 = planner.estimate(SCOUT, gpu="h100-sxm", max_model_len=1_000_000, **kw)
    h200 = planner.estimate(SCOUT, gpu="h200", max_model_len=3_600_000, **kw)
    assert h100.fits and h200.fits and 1 <= h200.engine_details["max_concurrency"] < 1.1
    with pytest.raises(planner.WorkloadError, match="Llama 4 arrived in 0.8.3"):
        planner.estimate(SCOUT, gpu="h100-sxm", max_model_len=8192, engine="vllm", engine_version="0.7.3",
                         tensor_parallel_size=8)


def test_the_importer_reads_llama_4_as_transformers_does():
    import json
    from pathlib import Path

    from planner.errors import ConfigImportError
    from planner.hf_import import spec_from_config

    raw = json.loads((Path(__file__).parent / "fixtures/configs/meta-llama__Llama-4-Scout-17B-16E-Instruct.json")
                     .read_text())
    raw["text_config"]["no_rope_layers"] = []  # Llama4TextConfig: an empty list takes the default interval (4)
    assert spec_from_config(raw, name="x", source="t").layer_kinds() == load_model(SCOUT).layer_kinds()
    raw["text_config"]["no_rope_layers"] = "1110"
    with pytest.raises(ConfigImportError, match="no_rope_layers"):
        spec_from_config(raw, name="x", source="t")
    raw["text_config"]["no_rope_layers"] = None
    raw["text_config"]["moe_layers"] = [0, 2]  # not every interleave_moe_layer_step-th layer
    with pytest.raises(ConfigImportError, match="moe_layers"):
        spec_from_config(raw, name="x", source="t")


def test_sglang_at_scouts_own_context_runs_out_of_memory_as_published():
    # sgl-project/sglang#5755 (`launch_server --model meta-llama/Llama-4-Scout-17B-16E-Instruct --tp 8` on 80 GB
    # GPUs): "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 80.04 GiB" — the request-to-token map
    # for the default 2,048 requests of the model's 10,485,760 tokens, (2,048 + 1) × (10,485,760 + 4) × 4 bytes
    e = planner.estimate(SCOUT, engine="sglang", gpu="h100-sxm", tp_size=8)
    assert not e.fits and "request-to-token map" in e.engine_refusal and "(80.04 GiB)" in e.engine_refusal
