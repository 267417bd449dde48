"""planner's Ollama engine: its num_ctx and slots, its cache type, the layers it puts on the GPU and `ollama ps`."""

import subprocess
import sys

import pytest

from planner import WorkloadError, estimate
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


def test_a_model_larger_than_the_gpu_goes_partly_to_system_ram():
    e = estimate("meta-llama/Llama-3.1-70B", quant="q4_0", engine="ollama", gpu="rtx-4090", num_ctx=8192)
    d = e.engine_details
    assert 0 < d["layers_offloaded"] < 81
    on_gpu = e.weights_bytes + e.kv_cache_bytes + e.activation_bytes
    room = 25250627584 - e.overhead_bytes - OLLAMA_MINIMUM_MEMORY_BYTES  # CUDA's RTX 4090 total (catalog)
    assert on_gpu <= room
    one_more = estimate("meta-llama/Llama-3.1-70B", quant="q4_0", engine="llama.cpp", gpu="rtx-4090", context=8192,
                        n_gpu_layers=d["layers_offloaded"] + 1)
    assert one_more.weights_bytes + one_more.kv_cache_bytes + one_more.activation_bytes > room  # the most that fit
    cpu = round((d["size_bytes"] - d["vram_bytes"]) / d["size_bytes"] * 100)
    assert d["processor"] == f"{cpu}%/{100 - cpu}% CPU/GPU" and cpu > 40
    assert e.performance.decode_tokens_per_s < 5  # the host's layers set the pace


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
