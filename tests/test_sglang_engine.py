"""planner's SGLang engine: mem_fraction_static as SGLang picks it, the KV pool it leaves, and its verdicts."""

import subprocess
import sys

import pytest

from planner import WorkloadError, estimate, load_model
from planner.engines.sglang import sglang_defaults, sglang_prefill_graph_sizes
from planner.gpus import load_gpu
from planner.overhead import CUDA_CONTEXT_BYTES

GIB = 2**30


def test_mem_fraction_static_follows_sglangs_rule():
    # H100 80GB, nvidia-smi 81,559 MiB, tp 1: chunked 8192, decode graphs up to 256, prefill graphs at 58 sizes up to
    # 8,192 tokens (8 MiB each); reserved = 512 + 1.5 × 8192 + 1/8 × 1024 + 2 × 256 + 8 × 58 = 13,904 MiB
    # → (81,559 − 13,904) / 81,559 = 0.830 (research/sglang_ollama.md, arg_groups/memory_hook.py of 0.5.23)
    assert len(sglang_prefill_graph_sizes(8192)) == 58 and len(sglang_prefill_graph_sizes(4096)) == 50
    assert sglang_defaults(81559, tp=1) == {"chunked_prefill_size": 8192, "cuda_graph_max_bs": 256,
                                            "mem_fraction_static": 0.830}
    # an L4 (23,034 MiB) at tp 4: chunked 4096, graphs to 160; 512 + 6144 + 512 + 320 + 8 × 50 = 7,888 MiB reserved
    assert sglang_defaults(23034, tp=4)["mem_fraction_static"] == round((23034 - 7888) / 23034, 3)
    # MLA models reserve 1.5 GiB for their prefill graphs instead
    mla = sglang_defaults(81559, tp=1, spec=load_model("deepseek-ai/DeepSeek-V2-Lite"))["mem_fraction_static"]
    assert mla == round((81559 - 13440 - 1536) / 81559, 3)
    # a B200 (183,359 MiB): the largest tier, and the 10 GiB floor is below its 512 + 24,576 + 128 + 1,024
    assert sglang_defaults(183359, tp=1)["chunked_prefill_size"] == 16384


def test_the_pool_is_the_static_share_of_free_memory_less_the_weights():
    # SGLang's docs (docs.sglang.ai send_request, 2025-01): Llama-3.1-8B on an 80 GB card, mem_fraction_static 0.88,
    # 78.81 GB free before loading → max_total_num_tokens=444500 (tests/fixtures/logs/…docs-send-request.log)
    free = int(78.81 * GIB)
    e = estimate("meta-llama/Llama-3.1-8B", quant="bf16", engine="sglang", gpu_memory_bytes=free + CUDA_CONTEXT_BYTES,
                 mem_fraction_static=0.88, context=8192)
    d = e.engine_details
    cell = 8 * 128 * 2 * 2 * 32  # 8 KV heads of 128, K and V, bf16, 32 layers: 131,072 B a token
    assert d["cell_bytes"] == cell
    assert d["max_total_num_tokens"] == (int(free * 0.88) - e.weights_bytes) // cell
    assert d["max_total_num_tokens"] == pytest.approx(444500, rel=0.01)
    # on the catalog's H100 (CUDA's 79.18 GiB less the CUDA context) it lands within 1 % too
    h100 = estimate("meta-llama/Llama-3.1-8B", quant="bf16", engine="sglang", gpu="h100-sxm",
                    mem_fraction_static=0.88, context=8192)
    assert h100.engine_details["max_total_num_tokens"] == pytest.approx(444500, rel=0.01)
    assert h100.engine_refusal is None and h100.performance.fits


def test_tensor_parallel_splits_weights_and_kv_heads():
    # QwQ-32B over 4 L4s at mem_fraction_static 0.85 (didier-durand/llms-in-clouds): 46,611 tokens logged with
    # 21.63 GB free before loading; a GPU holds 2 of the 8 KV heads
    free = round(21.63 * GIB)  # the log's "Load weight begin. avail mem=21.63 GB"
    e = estimate("Qwen/Qwen2.5-32B", quant="bf16", engine="sglang", gpu_memory_bytes=free + CUDA_CONTEXT_BYTES,
                 tp_size=4, mem_fraction_static=0.85, context=4096)
    d = e.engine_details
    assert d["cell_bytes"] == 2 * 128 * 2 * 2 * 64
    # what loading took: 15.26 GiB of tensors, the fp32 rotary cache and 3.5 MiB a layer of allocator tails; the log
    # prints mem usage=15.54 GB
    assert e.weights_bytes / GIB == pytest.approx(15.54, abs=0.005)
    assert d["weight_tensors_bytes"] / GIB == pytest.approx(15.26, abs=0.005)
    assert d["max_total_num_tokens"] == pytest.approx(46611, rel=0.005)


def test_sglang_refuses_what_it_would_refuse():
    tight = estimate("Qwen/Qwen2.5-32B", quant="bf16", engine="sglang", gpu="l4", tp_size=4)
    assert tight.engine_refusal.startswith("SGLang would not start: the weights (15.54 GiB per GPU)")
    assert not tight.performance.fits and "and SGLang would not start" in tight.performance.reason
    long = estimate("meta-llama/Llama-3.1-8B", quant="bf16", engine="sglang", gpu="rtx-4090")
    assert "fewer than one request of 131,072" in long.engine_refusal
    with pytest.raises(Exception, match="mem_fraction_static must be within"):
        estimate("meta-llama/Llama-3.1-8B", engine="sglang", gpu="h100-sxm", mem_fraction_static=1.5)
    with pytest.raises(Exception, match="tp_size 3"):
        estimate("meta-llama/Llama-3.1-70B", engine="sglang", gpu="h100-sxm", tp_size=3)
    with pytest.raises(Exception, match="GGUF type"):
        estimate("meta-llama/Llama-3.1-8B", engine="sglang", gpu="h100-sxm", quant="q4_k_m")


def test_the_cli_prints_sglangs_pool():
    out = subprocess.run([sys.executable, "-m", "planner", "estimate", "meta-llama/Llama-3.1-8B", "--engine", "sglang",
                          "--gpu", "h100-sxm", "--context", "8192"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "SGLang 0.5.23: mem_fraction_static 0.83 ×" in out.stdout and "KV cache: " in out.stdout


def test_sglang_holds_mla_down_projections_whole_and_its_per_head_kv_b_copies():
    # models/deepseek_v2.py: fused_qkv_a_proj_with_mqa is a ReplicatedLinear and MoEGate a plain parameter, whole on
    # every rank; post_load_weights splits kv_b_proj per head into w_kc and w_vc, bf16 copies beside it
    from planner.engines.sglang import sglang_loaded_bytes, sglang_mla_absorbed_bytes
    from planner.weights import stage_weights

    v3 = load_model("deepseek-ai/DeepSeek-V3")  # 61 layers, 128 heads, kv_lora_rank 512, nope 128, v 128
    assert sglang_mla_absorbed_bytes(v3, 8) == 61 * 512 * 16 * (128 + 128) * 2  # 0.24 GiB on each of 8 GPUs
    assert sglang_mla_absorbed_bytes(load_model("meta-llama/Llama-3.1-8B"), 1) == 0
    from planner.gpus import load_gpu  # on ROCm an fp8 checkpoint's kv_b_proj is requantized to fp8, not bf16

    assert sglang_mla_absorbed_bytes(v3, 8, quant="fp8", gpu=load_gpu("mi300x")) * 2 == \
        sglang_mla_absorbed_bytes(v3, 8, quant="fp8", gpu=load_gpu("h200"))
    loaded = sglang_loaded_bytes(v3, "fp8", 8)
    assert loaded["weight_tensors"] == pytest.approx(stage_weights(v3, "fp8", [61], tp=8)[0], rel=1e-6)
    e = estimate("deepseek-ai/DeepSeek-V3", quant="fp8", gpu="h200", engine="sglang", tp_size=8, context=4096)
    assert e.weights_bytes == sum(loaded.values())


def test_gpt_oss_gets_a_sliding_window_pool_of_its_own():
    # SGLang 0.5.23 (model_executor/pool_configurator.py HybridSWAPoolConfigurator): full tokens = rest // (full layers'
    # cell + 0.8 × sliding layers' cell), the sliding pool int(full × 0.8). gpt-oss-120b config.json: 18 full and 18
    # sliding layers, 8 KV heads of 64: 2,048 B a token a layer
    e = estimate("openai/gpt-oss-120b", engine="sglang", gpu="h100-sxm", context=8192)
    d = e.engine_details
    rest = int(d["free_before_load_bytes"] * d["mem_fraction_static"]) - e.weights_bytes
    full = int(rest // (2048 * 18 + 0.8 * 2048 * 18))
    assert d["max_total_num_tokens"] == full and d["swa_max_total_num_tokens"] == int(full * 0.8)
    assert d["cell_bytes"] == 2048 * 18
    # Gemma 2 and 3 keep one pool for every layer (model_overrides/gemma2_gemma3.py)
    g = estimate("google/gemma-2-9b", engine="sglang", gpu="h100-sxm", context=8192, kv_dtype="bf16").engine_details
    assert g["swa_max_total_num_tokens"] == 0 and g["cell_bytes"] == 8 * 256 * 2 * 2 * 42  # all 42 layers


def test_qwen3_next_states_come_before_the_kv_pool():
    # SGLang 0.5.23 (mem_cache/kv_cache_configurator.py _handle_max_mamba_cache): a request's states on one GPU of two,
    # 36 Gated DeltaNet layers × (3 × 4,096 bf16 + 16 × 128 × 128 fp32) = 38,633,472 B; the state pool takes 0.9 / 1.9
    # of the rest, the full-attention layers (12, one KV head of 256 a GPU) make the cell
    e = estimate("Qwen/Qwen3-Next-80B-A3B-Instruct", engine="sglang", gpu="h200", tp_size=2, context=8192)
    d = e.engine_details
    per_request = 36 * (3 * 4096 * 2 + 16 * 128 * 128 * 4)
    assert d["mamba_state_bytes"] == per_request == 38_633_472
    rest = int(d["free_before_load_bytes"] * d["mem_fraction_static"]) - e.weights_bytes
    states = int((rest * 0.9 / 1.9 - per_request) // per_request)
    assert d["max_mamba_cache_size"] == states
    assert d["max_total_num_tokens"] == (rest - (states + 1) * per_request) // (12 * 256 * 2 * 2)
    assert d["max_running_requests"] == states // 5  # the radix cache on: 5 states a running request
    with pytest.raises(Exception, match="Gated DeltaNet models"):
        estimate("ai21labs/AI21-Jamba-1.5-Mini", engine="sglang", gpu="h200", tp_size=2)


def test_check_log_reads_sglangs_labelled_pools():
    # the line formats of SGLang 0.5.23 (pool_configurator.py:888-891, memory_pool.py:2073-2099 and :1004-1009); the
    # figures are planner's own for these setups, so the rows check the reading, not the model
    from planner.measure.logs import check_log

    e = estimate("openai/gpt-oss-120b", engine="sglang", gpu="h100-sxm", context=8192)
    d = e.engine_details
    free = d["free_before_load_bytes"] / GIB
    k = d["max_total_num_tokens"] * 18 * 8 * 64 * 2 / GIB  # the full layers' K: 18 layers of 8 heads × 64, bf16
    log = (f"server_args=ServerArgs(model_path='openai/gpt-oss-120b', mem_fraction_static={d['mem_fraction_static']}, "
           "tp_size=1)\n"
           f"[2026-01-01 00:00:00] Load weight begin. avail mem={free:.2f} GB\n"
           f"[2026-01-01 00:00:09] Load weight end. type=GptOssForCausalLM, dtype=torch.bfloat16, avail mem=14.27 GB, "
           f"mem usage={e.weights_bytes / GIB:.2f} GB.\n"
           f"[2026-01-01 00:00:09] Use sliding window memory pool. full_layer_tokens={d['max_total_num_tokens']}, "
           f"swa_layer_tokens={d['swa_max_total_num_tokens']}\n"
           f"[2026-01-01 00:00:09] Full KV Cache is allocated. dtype: torch.bfloat16, #tokens: "
           f"{d['max_total_num_tokens']}, K size: {k:.2f} GB, V size: {k:.2f} GB\n"
           f"[2026-01-01 00:00:09] SWA KV Cache is allocated. dtype: torch.bfloat16, #tokens: "
           f"{d['swa_max_total_num_tokens']}, K size: {0.8 * k:.2f} GB, V size: {0.8 * k:.2f} GB\n")
    rows = {r.figure: r for r in check_log(log, "openai/gpt-oss-120b").rows}
    assert rows[f"K cache for {d['max_total_num_tokens']:,} tokens"].within(0.5)  # the full layers' pool, not SWA's
    assert rows["sliding-window pool tokens"].logged == d["swa_max_total_num_tokens"]


def test_prefill_graph_reserve_is_cudas_and_a_model_without_attention_is_refused():
    # SGLang captures prefill CUDA graphs by default on CUDA only (model_executor/cuda_graph_config.py): an MI300X
    # (192 GiB) keeps the reserve of 512 + 1.5 × 16,384 + 1/8 × 1,024 + 2 × 512 MiB
    from planner.gpus import load_gpu

    mi300x = load_gpu("mi300x")
    smi = mi300x.memory_bytes / 2**20
    amd = estimate("meta-llama/Llama-3.1-8B", engine="sglang", gpu="mi300x", context=8192).engine_details
    assert amd["mem_fraction_static"] == round((smi - (512 + 1.5 * 16384 + 128 + 2 * 512)) / smi, 3)
    linear_only = load_model("Qwen/Qwen3-Next-80B-A3B-Instruct").model_copy(update={"layer_pattern": ("linear",)})
    with pytest.raises(Exception, match="has no full-attention layer"):
        estimate(linear_only, engine="sglang", gpu="h200", tp_size=2)


def test_cpu_offload_gb_keeps_decoder_layers_in_host_memory():
    """--cpu-offload-gb: each GPU moves its decoder layers' parameters to the host, layer by layer, until that many
    GiB have gone (the parameter that crosses the budget included; srt/offloader.py), so the pool grows by what left;
    every forward step then copies them back over PCIe, which the speed pays. The public log of Qwen3-14B at tp 2 with
    48 GiB (tests/fixtures/logs/sglang-qwen3-14b-fp16-cpu-offload-tp2-a4500) holds the rest to 2.1 %."""
    from planner.engines.sglang import sglang_loaded_bytes
    from planner.weights import stored_tensors

    spec = load_model("Qwen/Qwen3-14B")
    whole = sum(sglang_loaded_bytes(spec, "bf16", 2).values())
    four = sglang_loaded_bytes(spec, "bf16", 2, cpu_offload_bytes=4 * 2**30)
    moved = four.pop("cpu_offloaded")  # the parameters on the host, apart from what the GPU holds
    largest = max(t.nbytes for t in stored_tensors(spec, "bf16") if t.layer is not None)
    assert 4 * 2**30 <= moved < 4 * 2**30 + largest
    assert whole - sum(four.values()) >= moved  # and their allocator tails left the GPU too
    every = sglang_loaded_bytes(spec, "bf16", 2, cpu_offload_bytes=48 * 2**30)
    every = sum(every.values()) - every["cpu_offloaded"]
    outside = sum(t.nbytes for t in stored_tensors(spec, "bf16") if t.layer is None) / 2  # vocab-parallel halves
    assert outside < every < outside + 0.1 * 2**30

    kw = dict(engine="sglang", gpu="rtx-4090", quant="bf16", context=4096, prompt=2048, tp_size=2)
    base = estimate("Qwen/Qwen3-14B", **kw)
    off = estimate("Qwen/Qwen3-14B", cpu_offload_gb=4, **kw)
    assert off.weights_bytes == sum(four.values()) < base.weights_bytes - moved + 1
    assert off.engine_details["host_weights_bytes"] == moved
    assert off.engine_details["max_total_num_tokens"] > base.engine_details["max_total_num_tokens"]
    copy = moved / load_gpu("rtx-4090").host_link.bytes_per_s
    assert off.performance.host_copy_seconds == pytest.approx(copy)
    assert off.performance.decode_seconds_per_token == pytest.approx(base.performance.decode_seconds_per_token + copy)
    with pytest.raises(WorkloadError, match="cpu_offload_gb must be a number of GiB from 0 to 1,048,576, got -1"):
        estimate("Qwen/Qwen3-14B", cpu_offload_gb=-1, **kw)
    assert estimate("Qwen/Qwen3-14B", cpu_offload_gb=None, **kw).weights_bytes == base.weights_bytes  # unset: none


def test_a_context_length_beyond_the_models_is_refused_by_its_own_name():
    # SGLang refuses a context_length above the model's (unless SGLANG_ALLOW_OVERWRITE_LONGER_CONTEXT_LEN is set)
    with pytest.raises(WorkloadError, match="context_length must be at most 8,192, got 16,384"):
        estimate("meta-llama/Meta-Llama-3-8B", engine="sglang", gpu="h100-sxm", context_length=16384)


def test_a_vision_language_model_leaves_room_for_its_encoder():
    """SGLang 0.5.23 (arg_groups/memory_hook.py adjust_mem_fraction_for_vlm) multiplies a vision-language model's
    default mem_fraction_static by 0.95 × clamp(1 − 0.1 × (layers × hidden² / (24 × 1024²) − 1), 0.8, 1.05):
    Qwen3-VL's 27 × 1,152 encoder 0.9097, Pixtral's 24 × 1,024 0.95, Llama 4's 34 × 1,408 0.79."""
    from planner.engines.sglang import sglang_defaults, sglang_vlm_factor

    vl, text = load_model("qwen3-vl-8b"), load_model("qwen3-8b")
    assert sglang_vlm_factor(vl.vision) == pytest.approx(0.95 * (1 - 0.1 * (27 * 1152**2 / (24 * 1024**2) - 1)))
    assert sglang_vlm_factor(load_model("mistral-small-3.1").vision) == pytest.approx(0.95)
    assert sglang_vlm_factor(load_model("llama-4-scout").vision) == pytest.approx(
        0.95 * (1 - 0.1 * (34 * 1408**2 / (24 * 1024**2) - 1)))
    mib = 44_000
    # and a multimodal model off SGLang's list (cuda_graph_hook.py; Qwen3.5 is on it) captures no prefill graphs, so
    # reserves nothing for them: the text model's fraction without that reserve
    assert sglang_defaults(mib, 1, spec=vl)["mem_fraction_static"] == pytest.approx(
        sglang_defaults(mib, 1, spec=text, cuda=False)["mem_fraction_static"] * sglang_vlm_factor(vl.vision))
    assert sglang_defaults(mib, 1, spec=text)["mem_fraction_static"] < \
        sglang_defaults(mib, 1, spec=text, cuda=False)["mem_fraction_static"]
    qwen35 = load_model("qwen3.5-35b-a3b")
    assert sglang_defaults(mib, 1, spec=qwen35)["mem_fraction_static"] < \
        sglang_defaults(mib, 1, spec=qwen35, cuda=False)["mem_fraction_static"]
    e = estimate("qwen3-vl-8b", engine="sglang", gpu="l40s", context_length=131072)
    assert not e.fits and e.engine_details["max_total_num_tokens"] < 131072


def test_sglang_sizes_its_pool_on_what_is_free_once_its_gpus_talk():
    """SGLang measures the memory free before loading after its parallel groups are up
    (srt/distributed/bootstrap.py measure_pre_model_load_memory): over 4 H100s NCCL's communicators (planner's
    model: 1.38 GiB with NVLink SHARP's buffers) are gone from it, and the pool shrinks by mem_fraction_static of
    them; a log's measured figure stands as it is."""
    from planner.engines.nccl import vllm_nccl_bytes
    from planner.engines.vllm import VLLM_CURRENT, vllm_release

    g = load_gpu("h100-sxm")
    nccl = vllm_nccl_bytes(g, tp=4, pp=1, release=vllm_release(VLLM_CURRENT), v1=True)
    assert nccl > 2**30
    d = estimate("meta-llama/Llama-3.1-70B", engine="sglang", gpu="h100-sxm", tp_size=4,
                 context_length=8192).engine_details
    assert d["free_before_load_bytes"] == g.cuda_memory_bytes - CUDA_CONTEXT_BYTES - nccl
    one = estimate("meta-llama/Llama-3.1-8B", engine="sglang", gpu="h100-sxm", context_length=8192).engine_details
    assert one["free_before_load_bytes"] == g.cuda_memory_bytes - CUDA_CONTEXT_BYTES
