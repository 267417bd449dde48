"""planner's Ollama engine: its num_ctx and slots, its cache type, the layers it puts on the GPU and `ollama ps`."""

import subprocess
import sys

import pytest

from planner import WorkloadError, estimate, load_model
from planner.engines.llamacpp.fit import LLAMA_FIT_TARGET_BYTES
from planner.engines.ollama import OLLAMA_MINIMUM_MEMORY_BYTES, ollama_num_ctx, processor

GIB = 2**30
MIB = 2**20


def test_num_ctx_follows_the_gpus_memory():
    # server/routes.go (v0.15.5+): 4K below 23 GiB, 32K below 47 GiB, 256K above
    assert ollama_num_ctx(16 * GIB) == 4096
    assert ollama_num_ctx(int(23.52 * GIB)) == 32768  # an RTX 4090 as CUDA reports it
    assert ollama_num_ctx(int(79.18 * GIB)) == 262144
    e = estimate("meta-llama/Llama-3.1-8B", quant="q4_k_m", engine="ollama", gpu="h100-sxm")
    assert e.engine_details["num_ctx"] == 131072  # 256K clamped to the model's context length


def test_a_published_ollama_log_parallel_4():
    # Ollama 0.5.4 on an RTX 4090, Llama-3.1-8B-Instruct Q4_K_M, OLLAMA_NUM_PARALLEL 4, num_ctx 2048, flash attention
    # off (github:MagicWand18/Securetag-AI-Agent logrunpod.txt): "n_ctx = 8192", "CUDA0 model buffer size = 4403.49
    # MiB", "CPU model buffer size = 281.81 MiB", "CUDA0 KV buffer size = 1024.00 MiB", "offloaded 33/33 layers"
    e = estimate("meta-llama/Llama-3.1-8B", quant="q4_k_m", engine="ollama", gpu="rtx-4090", num_ctx=2048,
                 num_parallel=4, flash_attn=False)
    d = e.engine_details
    assert d["n_ctx"] == 8192 and d["num_parallel"] == 4
    assert e.weights_bytes / MIB == pytest.approx(4403.49, abs=0.01)
    assert d["host_weights_bytes"] / MIB == pytest.approx(281.81, abs=0.01)
    assert e.kv_cache_bytes == 1024 * MIB
    assert (d["layers_offloaded"], d["layers_model"], d["processor"]) == (33, 33, "100% GPU")


@pytest.mark.parametrize("version, margin", [(None, LLAMA_FIT_TARGET_BYTES), ("0.15.4", OLLAMA_MINIMUM_MEMORY_BYTES)])
def test_a_model_larger_than_the_gpu_goes_partly_to_system_ram(version, margin):
    # the current release lets llama-server's --fit place layers (1 GiB target free); 0.12.11-0.29 kept Ollama's
    # 457 MiB minimum free
    e = estimate("meta-llama/Llama-3.1-70B", quant="q4_0", engine="ollama", gpu="rtx-4090", num_ctx=8192,
                 engine_version=version)
    d = e.engine_details
    assert 0 < d["layers_offloaded"] < 81 and d["gpu_margin_bytes"] == margin
    on_gpu = e.weights_bytes + e.kv_cache_bytes + e.activation_bytes
    room = 25250627584 - e.overhead_bytes - margin  # CUDA's RTX 4090 total (catalog)
    assert on_gpu <= room
    from planner.engines.ollama.releases import ollama_llamacpp_build, ollama_release

    build = ollama_llamacpp_build(ollama_release(version))  # the runner's llama.cpp (0.15.4: b7437, output last)
    one_more = estimate("meta-llama/Llama-3.1-70B", quant="q4_0", engine="llama.cpp", gpu="rtx-4090", context=8192,
                        n_gpu_layers=d["layers_offloaded"] + 1, flash_attn=d["flash_attn"], engine_version=f"b{build}")
    assert one_more.weights_bytes + one_more.kv_cache_bytes + one_more.activation_bytes > room  # the most that fit
    cpu = round((d["size_bytes"] - d["vram_bytes"]) / d["size_bytes"] * 100)
    assert d["processor"] == f"{cpu}%/{100 - cpu}% CPU/GPU" and cpu > 40
    assert e.performance.decode_tokens_per_s < 5  # the host's layers set the pace


def test_each_release_lays_out_as_the_llama_cpp_it_vendors():
    """Ollama's runner allocates as its vendored llama.cpp: 0.5.4 vendors b4327, whose -ngl puts the output layer last
    (only with every layer), so num_gpu 10 holds 10 layers; 0.30 vendors b9452, past PR #18148 (b7467), whose -ngl 10
    holds the output and 9 layers."""
    from planner.engines.ollama.releases import ollama_llamacpp_build, ollama_release
    from planner.weights import stored_tensors

    assert ollama_llamacpp_build(ollama_release("0.5.4")) == 4327
    assert ollama_llamacpp_build(ollama_release("0.30.0")) == 9452
    kw = dict(quant="q4_k_m", engine="ollama", gpu="rtx-4090", num_ctx=4096, num_gpu=10)
    old = estimate("meta-llama/Llama-3.1-8B", engine_version="0.5.4", **kw)
    new = estimate("meta-llama/Llama-3.1-8B", engine_version="0.30.0", **kw)
    assert not old.engine_details["output_on_gpu"] and new.engine_details["output_on_gpu"]
    tensors = stored_tensors(load_model("meta-llama/Llama-3.1-8B"), "q4_k_m")
    layer = {i: sum(t.nbytes for t in tensors if t.layer == i) for i in (21, 22)}
    output = sum(t.nbytes for t in tensors if t.layer is None and t.group != "embedding")
    assert old.weights_bytes == sum(t.nbytes for t in tensors if t.layer is not None and t.layer >= 22)
    assert new.weights_bytes == old.weights_bytes - layer[22] + output


def test_processor_as_ollama_ps_prints_it():
    assert processor(100, 0) == "100% CPU" and processor(100, 100) == "100% GPU"
    assert processor(100, 52) == "48%/52% CPU/GPU"


def test_ollama_refuses_what_it_cannot_run():
    with pytest.raises(WorkloadError, match="runs GGUF files"):
        estimate("meta-llama/Llama-3.1-8B", quant="awq", engine="ollama", gpu="rtx-4090")
    with pytest.raises(WorkloadError, match="needs flash attention"):
        estimate("meta-llama/Llama-3.1-8B", quant="q4_k_m", engine="ollama", gpu="rtx-4090", kv_cache_type="q8_0",
                 flash_attn=False)
    with pytest.raises(WorkloadError, match="batch 2 exceeds num_parallel 1"):
        estimate("meta-llama/Llama-3.1-8B", quant="q4_k_m", engine="ollama", gpu="rtx-4090", batch=2)
    q8 = estimate("meta-llama/Llama-3.1-8B", quant="q4_k_m", engine="ollama", gpu="rtx-4090", kv_cache_type="q8_0",
                  num_ctx=8192)
    assert q8.kv_cache_bytes == 8192 * 32 * 2 * 1024 * 34 // 32  # q8_0: 34 bytes a block of 32


def test_the_cli_prints_ollama_ps():
    out = subprocess.run([sys.executable, "-m", "planner", "estimate", "meta-llama/Llama-3.1-70B", "--quant", "q4_0",
                          "--engine", "ollama", "--gpu", "rtx-4090", "--num-ctx", "8192"], capture_output=True,
                         text=True)
    assert out.returncode == 0, out.stderr
    assert "Ollama 0.33: num_ctx 8,192 × num_parallel 1" in out.stdout and "CPU/GPU" in out.stdout


@pytest.mark.parametrize(("model", "quant", "num_ctx", "parallel", "gpu_bytes", "weights", "host", "kv"), [
    # Ollama 0.5 on a laptop RTX 4060 8 GB, gemma2:9b Q2_K, num_ctx 2048 (github:jazzwang/snippet md/genai/llm/
    # gemma.md): "CUDA0 model buffer size = 3623.33 MiB", "CPU model buffer size = 717.77 MiB", "CUDA0 KV buffer
    # size = 672.00 MiB", "offloaded 43/43 layers"
    ("google/gemma-2-9b", "q2_k", 2048, 1, 8188 * MIB, 3623.33, 717.77, 672.0),
    # Ollama on a GTX 1080 8 GB, DeepSeek-R1-Distill-Llama-8B Q4_K_M (Llama-3.1-8B's architecture), 4 slots of 2048
    # (github:deipss/blog): "CUDA0 model buffer size = 4403.49 MiB", "CUDA0 KV buffer size = 1024.00 MiB"
    ("meta-llama/Llama-3.1-8B", "q4_k_m", 2048, 4, 8192 * MIB, 4403.49, 281.81, 1024.0),
])
def test_published_ollama_logs_all_layers_on_the_gpu(model, quant, num_ctx, parallel, gpu_bytes, weights, host, kv):
    e = estimate(model, quant=quant, engine="ollama", gpu_memory_bytes=gpu_bytes, num_ctx=num_ctx,
                 num_parallel=parallel, flash_attn=False)
    d = e.engine_details
    assert e.weights_bytes / MIB == pytest.approx(weights, abs=0.01)
    assert d["host_weights_bytes"] / MIB == pytest.approx(host, abs=0.01)
    assert e.kv_cache_bytes / MIB == kv
    assert d["layers_offloaded"] == d["layers_model"] and d["processor"] == "100% GPU"


def test_the_kv_dtype_names_ollamas_cache_type_when_it_is_not_set():
    a = estimate("meta-llama/Llama-3.1-8B", quant="q4_k_m", engine="ollama", gpu="rtx-4090", num_ctx=8192,
                 kv_dtype="q8_0")
    b = estimate("meta-llama/Llama-3.1-8B", quant="q4_k_m", engine="ollama", gpu="rtx-4090", num_ctx=8192,
                 kv_cache_type="q8_0")
    assert a.kv_cache_bytes == b.kv_cache_bytes and a.engine_details["kv_cache_type"] == "q8_0"


def test_ollamas_cache_is_f16_whatever_the_weights():
    e = estimate("meta-llama/Llama-3.1-8B", engine="ollama", gpu="h100-sxm", num_ctx=4096)  # bf16 weights
    assert e.workload.kv_dtype == "fp16" and e.engine_details["kv_cache_type"] == "f16"
    assert e.performance.engine == "llama.cpp"  # its speed is llama.cpp's


# --- releases: Ollama's defaults and, up to 0.12.10, its own estimate choosing the layers (releases.py, estimate.py)

def _ollama(model="meta-llama/Llama-3.1-8B", quant="q4_k_m", gpu="rtx-4090", **kw):
    return estimate(model, quant=quant, engine="ollama", gpu=gpu, **kw)


def test_release_0_5_picks_four_slots_of_2048_and_its_estimate_as_the_log_prints_it():
    # github:MagicWand18/Securetag-AI-Agent logrunpod.txt (Ollama 0.5.x, RTX 4090, OLLAMA_NUM_PARALLEL unset):
    # 'new model will fit in available VRAM in single GPU, loading ... parallel=4 ... required="6.5 GiB"',
    # 'memory.required.kv="1.0 GiB" ... memory.graph.full="560.0 MiB" memory.graph.partial="677.5 MiB"',
    # '--ctx-size 8192 --batch-size 512 --n-gpu-layers 33 ... --parallel 4'
    e = _ollama(engine_version="0.5.4")
    d = e.engine_details
    assert (d["num_ctx"], d["num_parallel"], d["n_ctx"], d["flash_attn"]) == (2048, 4, 8192, False)
    assert d["estimate_layers"] == d["layers_offloaded"] == 33
    assert abs(d["estimate_vram_bytes"] / GIB - 6.5) <= 0.05
    assert d["estimate_kv_bytes"] == GIB and abs(d["estimate_graph_full_bytes"] / MIB - 560.0) <= 0.05
    assert abs(d["estimate_graph_partial_bytes"] / MIB - 677.5) <= 0.05
    assert e.kv_cache_bytes == 1024 * MIB  # the runner's cache (the log: CUDA0 KV buffer size = 1024.00 MiB)
    assert d["size_bytes"] == d["vram_bytes"] == d["estimate_vram_bytes"] and d["processor"] == "100% GPU"
    assert d["engine_version"] == "0.5.4" and d["layers_decided_by"].startswith("Ollama's estimate")


@pytest.mark.parametrize("version, num_ctx, slots, decided", [
    ("0.6.6", 2048, 4, "estimate"), ("0.9.6", 4096, 2, "estimate"), ("0.10.1", 4096, 1, "estimate"),
    ("0.12.10", 4096, 1, "estimate"), ("0.15.4", 4096, 1, "allocations"), ("0.24.0", 32768, 1, "allocations"),
    (None, 32768, 1, "allocations")])
def test_each_periods_defaults(version, num_ctx, slots, decided):
    d = _ollama(engine_version=version).engine_details
    assert (d["num_ctx"], d["num_parallel"]) == (num_ctx, slots)
    assert decided in d["layers_decided_by"]


def test_slots_fall_back_to_one_when_the_estimate_cannot_hold_the_model_with_more():
    # pickBestFullFitByLibrary tries [4, 1]; pickBestPartialFitByLibrary then takes 1 and offloads what fits
    e = _ollama(model="meta-llama/Llama-3.1-70B", quant="q4_0", engine_version="0.5.4")
    d = e.engine_details
    assert d["num_parallel"] == 1 and d["num_ctx"] == 2048
    assert 0 < d["layers_offloaded"] == d["estimate_layers"] < 81
    assert d["size_bytes"] == d["estimate_total_bytes"] > d["vram_bytes"] == d["estimate_vram_bytes"]
    with pytest.raises(WorkloadError, match=r"batch 2 exceeds num_parallel 1 \(Ollama 0\.5\.4 chose it"):
        _ollama(model="meta-llama/Llama-3.1-70B", quant="q4_0", engine_version="0.5.4", batch=2)
    assert _ollama(model="meta-llama/Llama-3.1-70B", quant="q4_0", engine_version="0.5.4", batch=2,
                   num_parallel=2).engine_details["num_parallel"] == 2  # OLLAMA_NUM_PARALLEL set: no choice


def test_the_estimate_is_more_cautious_than_the_allocations_it_leads_to():
    # the estimate reserves the 457 MiB minimum, one spare layer and the larger graph: the same model at the same
    # settings keeps fewer layers on the GPU under 0.12.10 (estimate) than under 0.15.4 (allocations)
    old = _ollama(model="meta-llama/Llama-3.1-70B", quant="q4_0", engine_version="0.12.10", num_ctx=8192)
    new = _ollama(model="meta-llama/Llama-3.1-70B", quant="q4_0", engine_version="0.15.4", num_ctx=8192)
    assert old.engine_details["layers_offloaded"] < new.engine_details["layers_offloaded"]


def test_ollama_engine_models_follow_their_allocations_from_0_12():
    # fs/ggml OllamaEngineRequired (gemma3, qwen3, gpt-oss, ...): the new memory management from 0.12.0
    assert "estimate" in _ollama(model="Qwen/Qwen3-8B", engine_version="0.11.4").engine_details["layers_decided_by"]
    assert "allocations" in _ollama(model="Qwen/Qwen3-8B", engine_version="0.12.10").engine_details[
        "layers_decided_by"]
    assert "estimate" in _ollama(engine_version="0.12.10").engine_details["layers_decided_by"]  # Llama: llama engine


def test_flash_attention_defaults_by_release_and_model():
    assert _ollama(model="Qwen/Qwen3-8B", engine_version="0.12.3").engine_details["flash_attn"] is False
    assert _ollama(model="Qwen/Qwen3-8B", engine_version="0.12.4").engine_details["flash_attn"] is True  # its list
    assert _ollama(engine_version="0.12.4").engine_details["flash_attn"] is False  # Llama is not on it
    assert _ollama(model="google/gemma-3-27b-it", engine_version="0.12.5", num_ctx=4096).engine_details[
        "flash_attn"] is False  # Gemma 3 joined the list in 0.12.6
    assert _ollama(engine_version="0.13.4").engine_details["flash_attn"] is True  # llama.cpp runner: "auto"
    assert _ollama(engine_version="0.30.0").engine_details["flash_attn"] is True  # llama-server's auto
    # Gemma 2: Ollama turned flash attention off whatever the setting from 0.11.11 (SupportsFlashAttention)
    assert _ollama(model="google/gemma-2-9b", engine_version="0.9.6", flash_attn=True).engine_details["flash_attn"]
    assert _ollama(model="google/gemma-2-9b", engine_version="0.11.11", flash_attn=True).engine_details[
        "flash_attn"] is False
    with pytest.raises(WorkloadError, match="needs flash attention"):
        _ollama(model="google/gemma-2-9b", engine_version="0.11.11", flash_attn=True, kv_cache_type="q8_0")
    # ROCm had no flash attention in Ollama before 0.5.0 (discover FlashAttentionSupported: CUDA and Metal only)
    assert _ollama(gpu="mi300x", engine_version="0.4.7", flash_attn=True).engine_details["flash_attn"] is False
    assert _ollama(gpu="mi300x", engine_version="0.5.0", flash_attn=True).engine_details["flash_attn"] is True


def test_the_cache_type_by_release():
    with pytest.raises(WorkloadError, match=r"has no OLLAMA_KV_CACHE_TYPE \(it arrived in 0\.5\.0\)"):
        _ollama(engine_version="0.4.7", flash_attn=True, kv_cache_type="q8_0")
    assert _ollama(engine_version="0.5.0", flash_attn=True, kv_cache_type="q8_0").kv_cache_bytes > 0
    # 0.13.4-0.29 ignore a quantized cache type under the llama.cpp runner's automatic flash attention
    with pytest.raises(WorkloadError, match="needs flash_attn set on"):
        _ollama(engine_version="0.24.0", kv_cache_type="q8_0")
    q8 = _ollama(engine_version="0.24.0", kv_cache_type="q8_0", flash_attn=True)
    assert q8.engine_details["kv_cache_type"] == "q8_0"


def test_architectures_ollama_did_not_run_yet_are_refused():
    with pytest.raises(WorkloadError, match="arrived in 0.11.0"):
        _ollama(model="openai/gpt-oss-20b", quant="mxfp4", engine_version="0.10.1")
    with pytest.raises(WorkloadError, match="arrived in 0.6.0"):
        _ollama(model="google/gemma-3-27b-it", engine_version="0.5.4")


def test_the_estimates_architecture_rules_follow_the_release():
    from planner.engines.ollama.estimate import estimate_gpu_layers

    def est(model, quant, release, **kw):
        return estimate_gpu_layers(load_model(model), quant, context=8192, batch=512, slots=1, cache="fp16",
                                   flash_attn=False, free_bytes=80 * GIB, minimum_bytes=OLLAMA_MINIMUM_MEMORY_BYTES,
                                   release=release, **kw)

    # gpt-oss: 0.11.0-0.11.7 took full = partial = 4·heads/kv_heads·KV/6, from 0.11.8 the partial graph halved
    old, new = est("openai/gpt-oss-20b", "mxfp4", (0, 11, 4)), est("openai/gpt-oss-20b", "mxfp4", (0, 11, 8))
    assert old.graph_full == old.graph_partial == 2 * new.graph_partial
    # Gemma 3: every layer at the full context until 0.6.2; its sliding layers smaller from 0.6.3
    g_old, g_new = est("google/gemma-3-27b-it", "q4_k_m", (0, 6, 1)), est("google/gemma-3-27b-it", "q4_k_m", (0, 6, 3))
    assert g_old.kv == 62 * 8192 * 2 * 16 * 128 * 2 and g_new.kv < g_old.kv / 3
    # until 0.6.8 the layers left off counted at the last layer's size; the output is overflow unless num_gpu capped
    capped_old = est("meta-llama/Llama-3.2-3B", "q4_k_m", (0, 7, 0), num_gpu=20)
    capped_new = est("meta-llama/Llama-3.2-3B", "q4_k_m", (0, 7, 1), num_gpu=20)
    assert capped_new.total - capped_old.total == capped_new.output and capped_old.layers == 20


@pytest.mark.parametrize("version", ["0.2.9", "1.0", "latest", "0.34.0", ""])
def test_a_release_planner_has_no_rules_for_is_refused(version):
    with pytest.raises(WorkloadError, match=r"engine_version must be an Ollama release from 0\.3\.0 to 0\.33, got"):
        _ollama(engine_version=version)


def test_the_cli_takes_an_ollama_release_and_refuses_a_bad_one():
    ok = subprocess.run([sys.executable, "-m", "planner", "estimate", "meta-llama/Llama-3.1-8B", "--quant", "q4_k_m",
                         "--engine", "ollama", "--gpu", "rtx-4090", "--engine-version", "0.5.4"],
                        capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert "Ollama 0.5.4: num_ctx 2,048 × num_parallel 4" in ok.stdout
    assert "its own estimate chose the layers (llm/memory.go): 6.45 GiB on the GPU" in ok.stdout
    bad = subprocess.run([sys.executable, "-m", "planner", "estimate", "meta-llama/Llama-3.1-8B", "--quant", "q4_k_m",
                          "--engine", "ollama", "--gpu", "rtx-4090", "--engine-version", "0.2"],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "--engine-version" in bad.stderr


def test_layers_the_estimate_places_but_llama_cpp_cannot_fit_are_refused(monkeypatch):
    # the rule, not a case: when Ollama's estimate puts more on the GPU than llama.cpp's buffers fit in the free
    # memory, the runner fails to load (an estimate that said every layer fits, on a GPU too small for them)
    import planner.engines.ollama as ollama
    from planner.engines.ollama.estimate import OllamaEstimate

    def optimistic(spec, quant, **kw):
        n = spec.n_layers + 1
        return OllamaEstimate(layers=n, layers_model=n, kv=0, kv_layers=(), graph_full=0, graph_partial=0,
                              repeating=0, output=0, vram=GIB, total=GIB)

    monkeypatch.setattr(ollama, "estimate_gpu_layers", optimistic)
    e = estimate("meta-llama/Llama-3.1-8B", quant="q4_k_m", engine="ollama", gpu_memory_bytes=4 * GIB,
                 engine_version="0.9.6", num_parallel=1)
    assert e.engine_refusal is not None and "33 of 33 layers" in e.engine_refusal
    assert "fails to load" in e.engine_refusal


def test_from_0_30_a_moe_model_keeps_its_layers_on_the_gpu_and_some_experts_in_system_ram():
    # llama-server's --fit (Ollama 0.30+) moves routed experts first; Ollama's own layout before moved whole layers
    new = _ollama(model="Qwen/Qwen3-30B-A3B", gpu="rtx-4060-ti-16gb", num_ctx=32768).engine_details
    old = _ollama(model="Qwen/Qwen3-30B-A3B", gpu="rtx-4060-ti-16gb", num_ctx=32768, engine_version="0.24.0")
    assert new["layers_offloaded"] == 49 and new["n_cpu_moe"] > 0 and new["processor"].endswith("CPU/GPU")
    assert old.engine_details["layers_offloaded"] < 49 and old.engine_details["n_cpu_moe"] == 0


def test_num_gpu_sets_the_layers_on_the_gpu_by_release():
    # up to 0.12.10 the estimate stops at num_gpu; later releases pass it to the runner as -ngl, fitting or not
    for version in (None, "0.5.4"):
        d = _ollama(num_ctx=8192, num_gpu=20, engine_version=version).engine_details
        assert d["layers_offloaded"] == 20 and d["processor"].endswith("CPU/GPU")
    e = _ollama(model="meta-llama/Llama-3.1-70B", quant="q4_0", num_ctx=8192, num_gpu=81)
    assert e.engine_refusal.startswith("num_gpu 81 puts") and not e.performance.fits
    with pytest.raises(WorkloadError, match="num_gpu"):
        _ollama(num_gpu=-2)


def test_a_num_ctx_beyond_the_trained_context_is_cut_and_said():
    # llm/server.go: `if opts.NumCtx > int(trainCtx) && trainCtx > 0 { slog.Warn("requested context size too large for
    # model", …); opts.NumCtx = int(trainCtx) }` — the cut is Ollama's, and the answer says it happened
    e = estimate("llama-3.1-8b", engine="ollama", num_ctx=1_000_000, gpu="h100-sxm", quant="q4_k_m")
    assert e.engine_details["num_ctx"] == 131072 and e.engine_details["num_ctx_requested"] == 1_000_000
    e = estimate("llama-3.1-8b", engine="ollama", num_ctx=8192, gpu="h100-sxm", quant="q4_k_m")
    assert "num_ctx_requested" not in e.engine_details


def test_ollama_loads_a_vision_models_image_encoder():
    """Ollama's gemma3 model files carry the SigLIP tower and load it beside the layers: ollama.com/library/gemma3
    lists gemma3:4b at 3.3 GB, its Q4_K_M text weights being 2.48 GB; the tower stays 16-bit (419,816,304
    parameters, as Gemma 3 4B's transformers class counts them)."""
    e = estimate("gemma-3-4b", engine="ollama", quant="q4_k_m", gpu="rtx-4060-ti-16gb", context=8192)
    text = estimate("gemma-3-4b", engine="llama.cpp", quant="q4_k_m", gpu="rtx-4060-ti-16gb", context=8192)
    assert e.engine_details["vision_bytes"] == 2 * 419_816_304
    assert e.weights_bytes - e.engine_details["vision_bytes"] == text.weights_bytes
    assert e.weights_bytes / 1e9 == pytest.approx(3.3, abs=0.05)
    assert "vision_bytes" not in estimate("gemma-3-1b", engine="ollama", quant="q4_k_m", gpu="rtx-4090",
                                          context=8192).engine_details  # a text model
    # releases whose own estimate chose the layers (to 0.12.10) sized them without it: planner follows that estimate
    old = estimate("gemma-3-4b", engine="ollama", quant="q4_k_m", gpu="rtx-4060-ti-16gb", context=8192,
                   engine_version="0.9.0")
    assert "vision_bytes" not in old.engine_details and old.weights_bytes == text.weights_bytes
    from tests.dashboard import app, caption

    at = app(model="google/gemma-3-4b-it", quant="q4_k_m", engine="ollama", gpu="rtx-4060-ti-16gb", context="8192")
    assert "The weights include the image encoder, 0.78 GiB in 16 bits" in caption(at)


def test_ollama_picks_llama_servers_batch_by_context_and_free_memory():
    """From 0.30 Ollama starts llama-server with -b N -ub N, N its choice when num_batch is unset (server/sched.go
    automaticGenerationBatch): 512 to 4,096 tokens of context, 1,024 beyond, 2,048 beyond 32,768, each only while its
    prediction (the file and an f16 cache) leaves the step's headroom (75 % / 60 % of the free memory, and a 768 MiB
    / 2 GiB surcharge within 80 %); 512 with flash attention off on CUDA. The compute buffer follows the ubatch."""
    from planner.engines.ollama import ollama_auto_batch

    spec = load_model("meta-llama/Llama-3.1-8B")
    gib = 2**30
    assert ollama_auto_batch(spec, "q4_k_m", 4096, 22 * gib, True, "cuda") == 512
    assert ollama_auto_batch(spec, "q4_k_m", 32768, 22 * gib, True, "cuda") == 1024
    assert ollama_auto_batch(spec, "q4_k_m", 131072, 78 * gib, True, "cuda") == 2048
    # 4.6 GiB of file and 16 GiB of cache on 22 GiB: above 75 % and 60 %, so 512
    assert ollama_auto_batch(spec, "q4_k_m", 131072, 22 * gib, True, "cuda") == 512
    assert ollama_auto_batch(spec, "q4_k_m", 32768, 7 * gib, False, "cuda") == 256
    auto = estimate("llama3.1:8b", engine="ollama", gpu="rtx-4090")  # Ollama's 32K default on a 24 GB card
    fixed = estimate("llama3.1:8b", engine="ollama", gpu="rtx-4090", num_batch=512)
    assert auto.engine_details["num_batch"] == 1024 and auto.engine_details["n_ubatch"] == 1024
    assert auto.activation_bytes > fixed.activation_bytes
    # before 0.30 Ollama's own runner took num_batch as its batch and ubatch, 512 unless set
    old = estimate("llama3.1:8b", engine="ollama", gpu="rtx-4090", engine_version="0.12.0")
    assert old.engine_details["num_batch"] == 512
    big = estimate("llama3.1:8b", engine="ollama", gpu="rtx-4090", engine_version="0.12.0", num_batch=1024)
    assert big.engine_details["n_ubatch"] == 1024 and big.activation_bytes > old.activation_bytes


def test_ollama_ps_size_is_the_gpus_buffers_when_every_layer_is_there():
    """From 0.30 `ollama ps` SIZE of a model wholly on the GPU is its GPU buffers (llm/llama_server.go MemorySize:
    total = vram when every layer is offloaded), not the embedding table and host buffers beside them."""
    e = estimate("gemma3:12b", engine="ollama", gpu="rtx-4090")
    d = e.engine_details
    assert d["layers_offloaded"] == d["layers_model"]
    assert d["size_bytes"] == d["vram_bytes"] == e.weights_bytes + e.kv_cache_bytes + e.activation_bytes
    # until 0.29 the host side (262K × 3,840 of embeddings among it) counted as VRAM too
    o = estimate("gemma3:12b", engine="ollama", gpu="rtx-4090", engine_version="0.29.0")
    old = o.engine_details
    assert old["size_bytes"] == old["vram_bytes"] == (o.weights_bytes + o.kv_cache_bytes + o.activation_bytes
                                                      + old["host_total_bytes"])
    assert old["host_total_bytes"] > 0.5 * 2**30


def test_ollamas_own_engine_sizes_a_sliding_layers_cache_itself():
    """Gemma 3 (from 0.6.3) and gpt-oss (from 0.11.0) run on Ollama's Go engine until 0.30, whose kvcache/causal.go
    gives a sliding layer slots × memory + num_batch cells (padded to 32 without flash attention, 256 with): the
    memory is Gemma 3's 1,024-token window, and 4,096 for gpt-oss (NewSWAMemCache(window, 4096)). Gemma-3-27B
    (62 layers, every sixth global; 16 KV heads of 128: 8 KiB a token and layer) at num_ctx 32K, one slot:
    10 × 32,768 + 52 × 1,536 cells = 3.11 GiB, where keeping every cell would be 15.5 GiB and fail to load on a
    24 GB card. gpt-oss-20b (24 layers alternating; 8 KV heads of 64: 2 KiB): 12 × 32,768 + 12 × 4,608 = 876 MiB."""
    gemma = dict(quant="q4_k_m", engine="ollama", context=32768, num_parallel=1, gpu="rtx-4090")
    for version in ("0.6.5", "0.9.0", "0.12.10"):
        e = estimate("google/gemma-3-27b-it", engine_version=version, **gemma)
        assert e.kv_cache_bytes == (10 * 32768 + 52 * 1536) * 8192 and e.fits, version
    oss = dict(engine="ollama", context=32768, gpu="h200")
    for version in ("0.11.4", "0.24.0"):
        e = estimate("gpt-oss-20b", engine_version=version, num_parallel=1, **oss)
        assert e.kv_cache_bytes == (12 * 32768 + 12 * 4608) * 2048, version
    # four slots share the sliding cells: 4 × 4,096 + 512 = 16,896 (a multiple of 256)
    e = estimate("gpt-oss-20b", engine_version="0.24.0", num_parallel=4, **oss)
    assert e.kv_cache_bytes == (12 * 4 * 32768 + 12 * 16896) * 2048


def test_ollamas_sliding_memory_at_num_ctx_by_release():
    """A sliding memory equal to num_ctx: before 0.12.4 Ollama still sizes slots × memory + num_batch (kvcache/
    causal.go: every cell only when the memory is larger); from 0.12.4 (1fc35f126) every cell, and with several slots
    the memory is at least window + 1."""
    from planner.engines.ollama.releases import go_swa_cells

    oss, gemma = load_model("gpt-oss-20b"), load_model("google/gemma-3-27b-it")
    assert go_swa_cells((0, 12, 3), oss, 4096, 1, 512, True) == 4096 + 512
    assert go_swa_cells((0, 12, 4), oss, 4096, 1, 512, True) == 4096
    assert go_swa_cells((0, 12, 10), gemma, 32768, 2, 512, False) == 2592  # 2 × 1,025 + 512, padded to 32
    assert go_swa_cells((0, 9, 0), gemma, 32768, 2, 512, False) == 2560
