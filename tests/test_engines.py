"""Engine-aware memory: llama.cpp's buffers, SGLang's loading, transformers' extras."""

from math import prod

import pytest

from planner import LayoutError, ModelSpec, WorkloadError, estimate, load_model
from planner.gpus import load_gpu

MiB, GiB = 2**20, 2**30


def test_llama_cpp_reproduces_the_reference_log():
    # reference-data.md (utilityai/llama-cpp-rs README): llama-2-7b.Q4_K_M.gguf, n_ctx 2048, f16 cache:
    # "KV self size = 1024.00 MiB, K (f16): 512.00 MiB, V (f16): 512.00 MiB"
    e = estimate("meta-llama/Llama-2-7b-hf", quant="q4_k_m", engine="llama.cpp", context=2048, flash_attn=False)
    d = e.engine_details
    assert e.kv_cache_bytes == 1024 * MiB and d["kv_k_bytes"] == d["kv_v_bytes"] == 512 * MiB


def test_llama_cpp_model_buffers_match_published_logs():
    # Same README: "CUDA0 buffer size = 3820.94 MiB", "CPU buffer size = 70.31 MiB" (token_embd stays on the host)
    e = estimate("llama-2-7b", quant="q4_k_m", engine="llama.cpp", context=2048, flash_attn=False)
    assert e.weights_bytes / MiB == pytest.approx(3820.94, abs=0.02)
    assert round(e.engine_details["host_weights_bytes"] / MiB, 2) == 70.31
    # ollama/ollama#9415, gemma2:9b (Q4_0, tied embeddings duplicated as the GPU lm_head):
    # "CPU_Mapped model buffer size = 717.77 MiB", "CUDA0 model buffer size = 5185.21 MiB"
    e = estimate("gemma-2-9b", quant="q4_0", engine="llama.cpp", context=8192)
    assert round(e.weights_bytes / MiB, 2) == 5185.21
    assert round(e.engine_details["host_weights_bytes"] / MiB, 2) == 717.77


def test_llama_cpp_compute_buffer_without_flash_attention_grows_with_context():
    # logdetective PR #106 (32 heads, ubatch 512): CUDA0 compute 164.00 MiB at n_ctx 2048, 2144.00 at 32768 —
    # the f32 KQ scores and mask, n_kv × n_ubatch × (n_head + 1) × 4 B, grow by exactly 1980 MiB.
    small = estimate("mistral-7b-v0.3", quant="q4_k_m", engine="llama.cpp", context=2048, flash_attn=False)
    large = estimate("mistral-7b-v0.3", quant="q4_k_m", engine="llama.cpp", context=32768, flash_attn=False)
    assert (large.activation_bytes - small.activation_bytes) / MiB == 1980
    assert small.activation_bytes / MiB == pytest.approx(164.0, rel=0.05)


def test_llama_cpp_flash_attention_buffer_is_the_logits_of_one_ubatch():
    # With flash attention the largest compute tensor is n_vocab × n_ubatch × 4 B (llama.cpp#18258, a December 2025
    # build: 296.75 MiB of a 298.75 MiB buffer for a 151,936-token vocabulary), where every token of the ubatch is an
    # output row: every build before b9460, and the library's programs (llama-cpp-python, llama-bench) after it.
    kw = dict(quant="q4_k_m", engine="llama.cpp", context=20224, kv_dtype="q8_0")
    e = estimate("qwen3-8b", program="library", **kw)
    assert load_model("qwen3-8b").vocab_size == 151936
    logits = 151936 * 512 * 4  # larger than the FFN activations of 512 tokens
    # the replayed graph keeps the final normed hidden state (n_embd × n_ubatch f32) beside the logits
    assert logits <= e.activation_bytes <= logits + 4096 * 512 * 4
    # llama-server from b9460 (PR #23861) reserves one output row per slot: the FFN of the ubatch sets the peak, its
    # gate, up and SwiGLU outputs (3 × 12,288 × 512 × 4 B = 72 MiB) beside the residual stream
    server = estimate("qwen3-8b", **kw).activation_bytes
    assert 3 * 12288 * 512 * 4 < server < logits / 2


def test_llama_cpp_pads_cells_and_splits_slots():
    e = estimate("llama-3-8b", quant="q4_k_m", engine="llama.cpp", context=3000)
    assert e.engine_details["kv_cells"] == 3072  # rounded up to 256
    # unsloth#7530: 1024 context over 3 non-unified slots → 341 per slot, padded to 512 → 1536 cells
    e = estimate("llama-3-8b", quant="q4_k_m", engine="llama.cpp", n_ctx=1024, n_parallel=3)
    assert e.engine_details["kv_cells"] == 1536 and e.workload.context == 341


def test_llama_cpp_sliding_layers_keep_window_plus_ubatch():
    # gpt-oss (window 128): SWA layers keep pad256(128 + 512) = 768 cells for one slot (llama.cpp PR #17609 log: 768
    # cells); llama-server with -np unset runs 4 slots over one unified cache, whose SWA layers keep each slot's
    # window: pad256(128 × 4 + 512) = 1,024 (src/llama-kv-cache-iswa.cpp: n_swa * (unified ? n_seq_max : 1) + n_ubatch)
    e = estimate("gpt-oss-20b", engine="llama.cpp", context=4096, n_parallel=1)
    assert e.engine_details["swa_cells"] == 768 and e.engine_details["kv_cells"] == 4096
    auto = estimate("gpt-oss-20b", engine="llama.cpp", context=4096).engine_details
    assert auto["swa_cells"] == 1024 and auto["n_seq_max"] == 4 and auto["kv_cells"] == 4096


def test_llama_cpp_partial_offload_moves_layers_to_the_host():
    full = estimate("llama-3-8b", quant="q4_k_m", engine="llama.cpp", context=4096)
    part = estimate("llama-3-8b", quant="q4_k_m", engine="llama.cpp", context=4096, n_gpu_layers=17)
    assert part.weights_bytes < 0.6 * full.weights_bytes
    assert part.engine_details["host_kv_bytes"] == full.kv_cache_bytes - part.kv_cache_bytes > 0


def test_llama_cpp_quantized_v_needs_flash_attention():
    with pytest.raises(WorkloadError, match="type_v 'q8_0' is quantized"):
        estimate("llama-3-8b", quant="q4_k_m", engine="llama.cpp", kv_dtype="q8_0", flash_attn=False)


def test_transformers_follows_its_cache_classes_and_attention_code():
    plain = estimate("llama-3-8b", context=4096)
    hf = estimate("llama-3-8b", context=4096, engine="transformers")
    eager = estimate("llama-3-8b", context=4096, engine="transformers", attention="eager")
    static = estimate("llama-3-8b", context=4096, engine="transformers", cache="static", max_cache_len=8192)
    assert hf.kv_cache_bytes == plain.kv_cache_bytes and static.kv_cache_bytes >= 2 * plain.kv_cache_bytes
    # eager attention: bf16 scores, their fp32 copy and the fp32 softmax, 10 bytes per score for 32 heads
    assert eager.activation_bytes > 32 * 4096 * 4096 * 10
    assert plain.activation_bytes < hf.activation_bytes < eager.activation_bytes
    assert hf.engine_details["prefill_peak_at"]  # where the peak is, said


@pytest.mark.parametrize("kwargs,message", [
    ({"engine": "vllm"}, "give gpu= or gpu_memory_bytes="),
    ({"engine": "vllm", "gpu": "h100-sxm", "gpu_memory_utilization": 1.5}, "within \\(0, 1\\], got 1.5"),
    ({"engine": "vllm", "gpu": "h100-sxm", "n_ubatch": 4}, "engine 'vllm' has no option 'n_ubatch'"),
    ({"engine": "llama.cpp", "n_ubatch": 0}, "n_ubatch must be an integer ≥ 1, got 0"),
    ({"engine": "vllm", "gpu": "h100-sxm", "block_size": 7}, "block_size must be one of 1, 8, 16, 32, 64, 128, 256 "
                                                             "\\(vLLM's --block-size\\), got 7"),
    ({"max_model_len": 4096}, "needs an engine that takes it: vllm \\(--engine vllm\\)$"),
    ({"flash_attn": True}, "llama.cpp \\(--engine llama.cpp\\) or ollama \\(--engine ollama\\)$"),
    ({"gpu_memory_bytes": 2**34}, "needs an engine that takes it: vllm \\(--engine vllm\\) or sglang "
                                  "\\(--engine sglang\\) or ollama \\(--engine ollama\\)$"),
    ({"fit": False}, "needs an engine that takes it: llama.cpp \\(--engine llama.cpp\\)$"),
    ({"contxt": 5}, "^estimate\\(\\) has no option 'contxt'; did you mean context"),
    ({"zzz": 1}, "^estimate\\(\\) has no option 'zzz'; help\\(planner.estimate\\) lists them$"),
    ({"engine": "transformers", "chunk": 512}, "chunk must be None"),
])
def test_bad_engine_options_name_the_option(kwargs, message):
    with pytest.raises(WorkloadError, match=message):
        estimate("llama-3-8b", **kwargs)


@pytest.mark.parametrize("engine", ["vllm", "sglang", "llama.cpp", "ollama", "transformers"])
def test_the_option_registry_is_what_each_engine_takes(engine):
    """planner.engines.ENGINE_OPTIONS (which names the engines of an option given without one) lists exactly the
    options each engine's own check takes: it lists them when refusing an unknown one (those read before the engine's
    check aside)."""
    from planner.engines import ENGINE_OPTIONS

    quant = "q4_k_m" if engine in ("llama.cpp", "ollama") else "bf16"
    with pytest.raises(WorkloadError, match="it takes ") as err:
        estimate("llama-3-8b", gpu="h100-sxm", engine=engine, quant=quant, zzz=1)
    takes = set(str(err.value).split("it takes ")[1].split(", "))
    # read before the engine's own check: a release, vLLM's max_model_len and engine, the budget, llama.cpp's --fit
    assert set(ENGINE_OPTIONS[engine]) - takes <= {"engine_version", "max_model_len", "gpu_memory_bytes", "fit",
                                                   "v1_engine"}
    assert takes <= set(ENGINE_OPTIONS[engine])


def test_llama_cpp_with_layers_in_cpu_ram_decodes_at_host_memory_speed():
    """-ngl below all: the decode step reads the host's layers at its memory bandwidth (planner.parallel.offload),
    and no time to first token is claimed for a prefill that is not modelled."""
    from planner.parallel import offload

    kw = dict(quant="q4_k_m", context=4096)
    # offload() holds gpu_layers layers and the output only with all of them, as llama.cpp did before PR #18148
    e = estimate("meta-llama/Llama-3.1-70B", engine="llama.cpp", gpu="rtx-4090", n_gpu_layers=40,
                 engine_version="b7466", **kw)
    o = offload("meta-llama/Llama-3.1-70B", gpu="rtx-4090", gpu_layers=40, **kw)
    assert e.decode_tokens_per_s == pytest.approx(o.decode_tokens_per_s, rel=1e-6) and e.prefill_seconds is None
    full = estimate("meta-llama/Llama-3.1-8B", engine="llama.cpp", gpu="rtx-4090", **kw)
    assert full.prefill_seconds is not None and full.decode_tokens_per_s > 10 * e.decode_tokens_per_s


def test_llama_cpp_offloads_the_output_layer_first_from_pr_18148():
    """-ngl 40 of Llama-3.1-70B: b7466 holds layers 40-79 on the GPU and the output in RAM; from b7467 (PR #18148,
    "llama: offload output layer to GPU first") the output and layers 41-79, so one layer fewer and the output more
    on the GPU, and that step reads the output at the GPU's speed."""
    from planner import load_model
    from planner.weights import stored_tensors

    spec = load_model("meta-llama/Llama-3.1-70B")
    tensors = stored_tensors(spec, "q4_k_m")
    layer40 = sum(t.nbytes for t in tensors if t.layer == 40)
    output = sum(t.nbytes for t in tensors if t.layer is None and t.group != "embedding")  # output and its norm
    kw = dict(quant="q4_k_m", context=4096, engine="llama.cpp", gpu="rtx-4090", n_gpu_layers=40)
    old = estimate("meta-llama/Llama-3.1-70B", engine_version="b7466", **kw)
    new = estimate("meta-llama/Llama-3.1-70B", engine_version="b7467", **kw)
    assert new.weights_bytes == old.weights_bytes - layer40 + output
    assert new.engine_details["output_on_gpu"] and not old.engine_details["output_on_gpu"]
    assert new.decode_tokens_per_s > old.decode_tokens_per_s
    current = estimate("meta-llama/Llama-3.1-70B", **kw)
    assert current.weights_bytes == new.weights_bytes


def test_llama_cpp_runs_a_context_past_the_trained_length():
    # llama.cpp warns "n_ctx_per_seq (…) > n_ctx_train (…) -- possible training context overflow" and runs it
    e = estimate("meta-llama/Llama-2-7b-hf", quant="q4_k_m", engine="llama.cpp", context=16384)
    assert e.workload.context == 16384 and e.engine_details["n_ctx_train"] == 4096
    assert e.engine_details["kv_k_bytes"] == 16384 * 32 * 4096 * 2  # K: 16K cells × 32 layers × 4096 × f16
    with pytest.raises(WorkloadError, match="exceeds meta-llama/Llama-2-7b-hf's max_context 4,096"):
        estimate("meta-llama/Llama-2-7b-hf", quant="q4_k_m", context=16384)  # the plain model keeps its limit


def test_sglang_loading_takes_the_rotary_cache_and_the_allocators_segment_tails():
    """SGLang's "mem usage" at load is free memory before − after: the tensors, one fp32 rotary cos/sin cache
    (layers/rotary_embedding.py), and PyTorch's 2 MiB rounding of every allocation of 10 MiB or more
    (CUDACachingAllocator kRoundLarge) that empty_cache() cannot return. QwQ-32B at tp_size 4: qkv_proj 17.5 MiB,
    o_proj 12.5, gate_up_proj 135, down_proj 67.5 per layer leave 0.5 + 1.5 + 1 + 0.5 MiB of tails."""
    from planner.engines.sglang import sglang_loaded_bytes

    qwq = sglang_loaded_bytes(load_model("Qwen/QwQ-32B"), "bf16", 4)
    assert qwq["rotary_cache"] == 131072 * 128 * 4
    layers = 64 * 3.5 * 2**20
    assert layers <= qwq["allocator_tails"] <= layers + 2 * 2**20  # and the vocabulary-split embedding's
    llama = sglang_loaded_bytes(load_model("meta-llama/Llama-3.1-8B"), "bf16", 1)
    assert llama["allocator_tails"] == 0  # every large tensor a whole number of 2 MiB
    assert llama["weight_tensors"] == 16_060_522_496  # model.safetensors.index.json total_size (Llama-3-8B's shapes)
    e = estimate("meta-llama/Llama-3.1-8B", engine="sglang", gpu="h100-sxm", context=8192)
    assert e.weights_bytes == sum(llama.values())


def test_sglang_lays_out_mxfp4_experts_as_its_moe_kernel_does():
    """SGLang 0.5 (layers/quantization/mxfp4.py): triton_kernels keeps the loaded block scales beside its swizzled ones
    (1 byte of every 17 of the experts more); FlashInfer's TRT-LLM kernel on a B200 pads gpt-oss's 2880 to 3072 in
    both the intermediate and hidden sizes."""
    from planner.engines.sglang import sglang_loaded_bytes
    from planner.weights import is_mxfp4_expert, stage_weights

    spec = load_model("openai/gpt-oss-20b")
    experts = stage_weights(spec, "mxfp4", [spec.n_layers], only=is_mxfp4_expert)[0]
    plain = sglang_loaded_bytes(spec, "mxfp4")  # no GPU: triton_kernels
    h100 = sglang_loaded_bytes(spec, "mxfp4", gpu=load_gpu("h100-sxm"))
    b200 = sglang_loaded_bytes(spec, "mxfp4", gpu=load_gpu("b200"))
    assert h100 == plain
    extra = h100["weight_tensors"] - estimate(spec, context=4096).weights_bytes
    assert extra == pytest.approx(experts / 17, abs=spec.n_layers * 2)
    padded = b200["weight_tensors"] - estimate(spec, context=4096).weights_bytes
    assert padded == pytest.approx(experts * (3072**2 / 2880**2 - 1), abs=spec.n_layers * 2)


def test_sglang_fuses_a_checkpoints_own_tensors_as_it_fuses_planners():
    """A safetensors checkpoint names its tensors as Hugging Face does (self_attn.q_proj, mlp.gate_proj): SGLang fuses
    them into the same qkv_proj and gate_up_proj parameters, so the same bytes leave the same allocator tails."""
    from planner.engines.sglang import sglang_loaded_bytes
    from planner.files.model_files import with_safetensors
    from planner.spec import FileTensor
    from planner.weights import weight_tensors

    spec = load_model("Qwen/Qwen2.5-7B")
    hf = {"token_embd": "model.embed_tokens", "output": "lm_head", "output_norm": "model.norm",
          "attn_q": "self_attn.q_proj", "attn_k": "self_attn.k_proj", "attn_v": "self_attn.v_proj",
          "attn_output": "self_attn.o_proj", "ffn_gate": "mlp.gate_proj", "ffn_up": "mlp.up_proj",
          "ffn_down": "mlp.down_proj", "attn_norm": "input_layernorm", "ffn_norm": "post_attention_layernorm"}
    files = []
    for t in weight_tensors(spec):
        parts = t.name.split(".")
        name = (f"model.layers.{parts[1]}.{hf[parts[2]]}.{parts[3]}" if parts[0] == "blk"
                else f"{hf[parts[0]]}.{parts[1]}")
        files.append(FileTensor(name=name, dtype="BF16", shape=tuple(t.shape), nbytes=2 * prod(t.shape)))
    checkpoint = with_safetensors(spec, files, "/nowhere")
    for tp in (1, 2):
        assert sglang_loaded_bytes(checkpoint, "checkpoint", tp) == sglang_loaded_bytes(spec, "bf16", tp)


def test_llama_cpp_fits_its_layers_to_the_gpu_when_n_gpu_layers_is_unset():
    # llama-server's --fit (default since ggml-org/llama.cpp PR #18266): -ngl unset puts on the GPU the most layers
    # that leave --fit-target (1024 MiB) free; a model larger than the GPU then runs partly from system RAM
    from planner.engines.llamacpp.fit import LLAMA_FIT_TARGET_BYTES

    kw = dict(quant="q4_0", engine="llama.cpp", gpu="rtx-4090", context=8192)
    e = estimate("meta-llama/Llama-3.1-70B", **kw)
    d = e.engine_details
    assert d["fit"] is True and 0 < d["n_gpu_layers"] < 81
    free = 25250627584 - e.overhead_bytes  # CUDA's RTX 4090 total (catalog) less the runtime's own
    on_gpu = e.weights_bytes + e.kv_cache_bytes + e.activation_bytes
    assert on_gpu <= free - LLAMA_FIT_TARGET_BYTES
    more = estimate("meta-llama/Llama-3.1-70B", **kw, n_gpu_layers=d["n_gpu_layers"] + 1)
    assert more.weights_bytes + more.kv_cache_bytes + more.activation_bytes > free - LLAMA_FIT_TARGET_BYTES
    assert e.performance.fits and e.performance.decode_tokens_per_s < 5  # fits, at system RAM's pace
    off = estimate("meta-llama/Llama-3.1-70B", **kw, fit=False)  # --fit off: every layer, which does not fit
    assert off.engine_details["n_gpu_layers"] == 81 and not off.performance.fits
    small = estimate("meta-llama/Llama-3.1-8B", quant="q4_k_m", engine="llama.cpp", gpu="rtx-4090", context=8192)
    assert small.engine_details["n_gpu_layers"] == 33  # what fits stays whole on the GPU
    assert estimate("meta-llama/Llama-3.1-70B", quant="q4_0", engine="llama.cpp", context=8192).engine_details[
        "n_gpu_layers"] == 81  # no GPU named: nothing to fit to
    with pytest.raises(WorkloadError, match="fit"):
        estimate("meta-llama/Llama-3.1-70B", **kw, fit="yes")
    unset = estimate("meta-llama/Llama-3.1-70B", **kw, n_gpu_layers=None, fit=None)  # None: the defaults
    assert unset.engine_details["n_gpu_layers"] == d["n_gpu_layers"]


def test_llama_cpp_fits_a_moe_model_by_its_experts_first():
    # llama_params_fit on a MoE model: every layer's routed experts to system RAM first; where the rest fits, as many
    # layers as fit get theirs back (--n-cpu-moe N: the experts of the first N layers stay in system RAM)
    from planner.engines.llamacpp.fit import LLAMA_FIT_TARGET_BYTES

    kw = dict(quant="q4_k_m", engine="llama.cpp", gpu="rtx-4060-ti-16gb", context=32768)
    e = estimate("Qwen/Qwen3-30B-A3B", **kw)
    d = e.engine_details
    assert d["n_gpu_layers"] == 49 and 0 < d["n_cpu_moe"] < 48  # every layer on the GPU, some experts not
    room = load_gpu("rtx-4060-ti-16gb").runtime_total_bytes - e.overhead_bytes - LLAMA_FIT_TARGET_BYTES
    assert e.weights_bytes + e.kv_cache_bytes + e.activation_bytes <= room
    more = estimate("Qwen/Qwen3-30B-A3B", **kw, n_gpu_layers=49, n_cpu_moe=d["n_cpu_moe"] - 1)
    assert more.weights_bytes + more.kv_cache_bytes + more.activation_bytes > room  # one more layer's experts won't
    assert 15 < e.performance.decode_tokens_per_s < more.performance.decode_tokens_per_s
    dense = estimate("meta-llama/Llama-3.1-70B", quant="q4_0", engine="llama.cpp", gpu="rtx-4090", context=8192)
    assert dense.engine_details["n_cpu_moe"] == 0  # a dense model: whole layers
    with pytest.raises(WorkloadError, match="n_cpu_moe"):
        estimate("Qwen/Qwen3-30B-A3B", **kw, n_cpu_moe=-1)
    # n_cpu_moe=0 is llama.cpp's default (no override), so --fit still places the layers
    assert estimate("Qwen/Qwen3-30B-A3B", **kw, n_cpu_moe=0).engine_details["n_cpu_moe"] == d["n_cpu_moe"]


def test_llama_cpp_fit_leaves_a_placement_the_user_set_and_respects_apples_share():
    from planner.engines.llamacpp.fit import LLAMA_FIT_TARGET_BYTES

    # --n-cpu-moe is a tensor override: llama_params_fit aborts ("tensor_buft_overrides already set by user") and
    # -ngl's default puts every layer on the GPU, here more than the GPU holds
    kw = dict(quant="q8_0", engine="llama.cpp", gpu="rtx-4090", context=32768)
    e = estimate("Qwen/Qwen3-30B-A3B", **kw, n_cpu_moe=8)
    assert e.engine_details["n_gpu_layers"] == 49 and not e.engine_details.get("fit") and not e.performance.fits
    # a MoE model whose layers without experts do not all fit: expert-less layers from the back, the output in RAM
    big = estimate("Qwen/Qwen3-235B-A22B", quant="q4_k_m", engine="llama.cpp", gpu="rtx-4060-ti-16gb", context=32768,
                   batch=2)
    d = big.engine_details
    assert d["n_cpu_moe"] == 94 and 0 < d["n_gpu_layers"] < 94 and big.performance.fits
    # Apple: the GPU may use its working-set share of unified memory, and the fit keeps within it
    mac = estimate("meta-llama/Llama-3.1-70B", quant="q5_k_m", engine="llama.cpp", gpu="m1-max", context=8192)
    room = load_gpu("m1-max").usable_memory_bytes - mac.overhead_bytes - LLAMA_FIT_TARGET_BYTES
    assert mac.weights_bytes + mac.kv_cache_bytes + mac.activation_bytes <= room and mac.performance.fits
    with pytest.raises(WorkloadError, match="not a MoE model"):
        estimate("meta-llama/Llama-3.1-8B", quant="q4_k_m", engine="llama.cpp", n_cpu_moe=4, context=4096)
    with pytest.raises(WorkloadError, match=r"n_cpu_moe must be within 0–48"):
        estimate("Qwen/Qwen3-30B-A3B", quant="q4_k_m", engine="llama.cpp", n_cpu_moe=1000, context=4096)


def test_the_cli_says_what_system_ram_must_hold_when_layers_stay_there():
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "planner", "estimate", "meta-llama/Llama-3.1-70B", "--quant", "q4_0",
                          "--engine", "llama.cpp", "--gpu", "rtx-4090", "--context", "8192"],
                         capture_output=True, text=True)
    e = estimate("meta-llama/Llama-3.1-70B", quant="q4_0", engine="llama.cpp", gpu="rtx-4090", context=8192)
    host = e.engine_details["host_total_bytes"] / 2**30
    assert out.returncode == 0 and f"system RAM must hold the other {host:.2f} GiB" in out.stdout


def test_system_ram_too_small_for_what_llama_cpp_leaves_there_does_not_fit():
    kw = dict(quant="q4_k_m", engine="llama.cpp", gpu="rtx-4090", context=8192)
    e = estimate("deepseek-ai/DeepSeek-V3", **kw)
    host = e.engine_details["host_total_bytes"]
    assert e.performance.fits  # the GPU's part fits
    short = estimate("deepseek-ai/DeepSeek-V3", **kw, host_memory_bytes=host - 1)
    assert not short.performance.fits and "system RAM must hold" in short.performance.reason
    assert estimate("deepseek-ai/DeepSeek-V3", **kw, host_memory_bytes=host).performance.fits
    # nothing left in system RAM but the token embedding: no system-RAM verdict
    assert estimate("meta-llama/Llama-3.1-8B", quant="q4_k_m", engine="llama.cpp", gpu="rtx-4090", context=8192,
                    host_memory_bytes=1).performance.fits
    with pytest.raises(WorkloadError, match="host_memory_bytes"):
        estimate("deepseek-ai/DeepSeek-V3", **kw, host_memory_bytes=-5)
    with pytest.raises(WorkloadError, match="engine 'vllm' leaves nothing there"):
        estimate("meta-llama/Llama-3.1-8B", engine="vllm", gpu="h100-sxm", host_memory_bytes=2**36)


def test_llama_cpp_keeps_every_token_where_it_implements_no_sliding_window():
    """Mistral-7B-v0.1 converts to llama.cpp's LLM_ARCH_LLAMA, which reads no sliding window (src/llama-model.cpp): at
    32,768 tokens every layer holds every cell, 32,768 × 32 layers × 8 KV heads × 128 × (K and V) × 2 B = 4 GiB,
    where its 4,096-token window would hold 0.56 GiB; gemma-2's window llama.cpp keeps (LLAMACPP_SWA)."""
    e = estimate("mistralai/Mistral-7B-v0.1", engine="llama.cpp", quant="q4_k_m", context=32768, gpu="rtx-4090")
    assert e.kv_cache_bytes == 32768 * 32 * 8 * 128 * 2 * 2 == 4 * 2**30
    assert e.engine_details["swa_cells"] == 0
    g = estimate("google/gemma-2-9b", engine="llama.cpp", quant="q4_k_m", context=8192, gpu="rtx-4090", n_parallel=1)
    assert 0 < g.engine_details["swa_cells"] < g.engine_details["kv_cells"]


def test_vllm_and_sglang_load_a_float32_checkpoint_in_16_bits():
    # dtype "auto": vLLM's _get_and_verify_dtype "Following the common practice, we use float16 for float32 models"
    # (bfloat16 for Gemma 2; the platform's bfloat16 from 0.10.1); SGLang's the same, bfloat16 for "gemma*" types.
    # gemma-2-9b's checkpoint is float32 (its config.json torch_dtype), 34.4 GiB as stored, half that as served
    from planner.engines.common import auto_dtype

    gemma, olmo = load_model("google/gemma-2-9b"), load_model("allenai/OLMo-2-1124-7B")
    assert gemma.weights_dtype == olmo.weights_dtype == "fp32"
    assert [auto_dtype("vllm", olmo, r) for r in ((0, 6, 3), (0, 10, 1), None)] == ["fp16", "bf16", "bf16"]
    assert auto_dtype("vllm", gemma, (0, 6, 3)) == "bf16"
    assert (auto_dtype("sglang", gemma), auto_dtype("sglang", olmo)) == ("bf16", "fp16")
    assert auto_dtype("llama.cpp", olmo) is None and auto_dtype("vllm", load_model("meta-llama/Llama-3.1-8B")) is None
    served = estimate("google/gemma-2-9b", engine="vllm", gpu="rtx-4090", context=8192)
    stored = estimate("google/gemma-2-9b", gpu="rtx-4090", context=8192)
    assert served.workload.quant == "bf16" and stored.workload.quant == "fp32"
    assert served.weights_bytes == estimate("google/gemma-2-9b", quant="bf16", engine="vllm", gpu="rtx-4090",
                                            context=8192).weights_bytes
    assert served.performance.fits and not stored.performance.fits
    assert estimate("google/gemma-2-9b", engine="vllm", engine_version="0.6.3", gpu="h100-sxm",
                    context=4096).workload.quant == "bf16"
    assert estimate("allenai/OLMo-2-1124-7B", engine="sglang", gpu="h100-sxm", context=4096).workload.quant == "fp16"
    # asked for, float32 stays float32 (--dtype float32)
    assert estimate("google/gemma-2-9b", quant="fp32", engine="vllm", gpu="h100-sxm",
                    context=4096).workload.quant == "fp32"


@pytest.mark.parametrize("engine,own", [("vllm", "max_num_batched_tokens"), ("sglang", "chunked_prefill_size"),
                                        ("llama.cpp", "n_ubatch"), ("ollama", "num_batch")])
def test_an_engine_refuses_plannerss_analytic_chunk_and_names_its_own(engine, own):
    with pytest.raises(WorkloadError, match=f"chunk is planner's analytic prefill chunk; the {engine} engine.*{own}"):
        estimate("meta-llama/Llama-3.1-8B", engine=engine, gpu="h100-sxm", context=4096, chunk=512)


def test_sglang_chunked_prefill_size_from_the_command_line(capsys):
    from planner.cli import main

    assert main(["estimate", "meta-llama/Llama-3.1-8B", "--engine", "sglang", "--gpu", "h100-sxm",
                 "--chunked-prefill-size", "4096"]) == 0
    assert "chunked_prefill_size 4,096" in capsys.readouterr().out


def test_another_engines_name_for_an_option_gets_this_engines_own():
    with pytest.raises(WorkloadError, match=r"engine 'sglang' has no option 'tensor_parallel_size': its own is tp_size "
                                            r"\(--tp-size\)"):
        estimate("meta-llama/Llama-3.1-8B", engine="sglang", gpu="h100-sxm", tensor_parallel_size=2)
    with pytest.raises(WorkloadError, match=r"engine 'vllm' has no option 'context_length': its own is max_model_len"):
        estimate("meta-llama/Llama-3.1-8B", engine="vllm", gpu="h100-sxm", context_length=4096)
    # an option no engine has lists them all, those the engine reads itself included
    with pytest.raises(WorkloadError, match=r"engine 'sglang' has no option 'colour'; it takes chunked_prefill_size, "
                                            r"context_length, cpu_offload_gb, max_running_requests, "
                                            r"mem_fraction_static, tp_size"):
        estimate("meta-llama/Llama-3.1-8B", engine="sglang", gpu="h100-sxm", colour="red")


def test_vllm_from_0_10_refuses_phi_3_small_and_sglang_speeds_it():
    """vLLM removed Phi-3-small with its block-sparse attention (vllm-project/vllm#21217, merged 2025-07-19, before
    0.10.0): its releases from 0.10 are refused by name; 0.7.3's V0 rules plan the engine that ran it, and the plain
    model's speed comes from SGLang's class instead of vLLM's."""
    kw = dict(context=4096, gpu="l4", engine="vllm")
    for version in (None, "0.10.0", "0.33.0"):
        with pytest.raises(WorkloadError, match=r"cannot run microsoft/Phi-3-small-8k-instruct: .*#21217.*0\.7\.3"):
            estimate("phi-3-small", engine_version=version, **kw)
    assert estimate("phi-3-small", engine_version="0.9.2", **kw).kv_cache_bytes > 0
    assert estimate("phi-3-small", quant="int4", context=4096, gpu="l4").performance.engine == "sglang"
    assert estimate("phi-3-mini", quant="int4", context=4096, gpu="l4").performance.engine == "vllm"


def test_vllm_0_9_plans_phi_3_small_with_the_v0_engine_it_fell_back_to():
    e = estimate("phi-3-small", context=4096, gpu="l4", engine="vllm", engine_version="0.9.2")
    v0 = estimate("phi-3-small", context=4096, gpu="l4", engine="vllm", engine_version="0.7.3")
    assert "its V0 engine: 0.7.3's rules" in e.engine_details["engine_version"]
    assert e.kv_cache_bytes == v0.kv_cache_bytes and e.activation_bytes == v0.activation_bytes
    assert e.performance.engine_loop_seconds == v0.performance.engine_loop_seconds > 0  # V0's host loop too


def test_llama_cpp_mmproj_loads_the_image_encoder_beside_the_layers():
    """llama-server --mmproj: Gemma 3 4B's image encoder (419,816,304 parameters, as transformers' class counts the
    SigLIP tower and projector) from its 16-bit mmproj file, on the GPU with the layers, in system RAM without them."""
    kw = dict(quant="q4_k_m", engine="llama.cpp", gpu="rtx-4060-ti-16gb", context=8192)
    text, both = estimate("gemma-3-4b", **kw), estimate("gemma-3-4b", mmproj=True, **kw)
    assert both.weights_bytes - text.weights_bytes == both.engine_details["mmproj_bytes"] == 2 * 419_816_304
    cpu = estimate("gemma-3-4b", mmproj=True, n_gpu_layers=0, **kw)
    assert cpu.engine_details["host_weights_bytes"] - estimate("gemma-3-4b", n_gpu_layers=0, **kw).engine_details[
        "host_weights_bytes"] == 2 * 419_816_304
    with pytest.raises(WorkloadError, match="mmproj: meta-llama/Llama-3.1-8B has no image encoder"):
        estimate("llama-3.1-8b", mmproj=True, **kw)


def test_fp8_below_the_engines_minimum_is_refused_whatever_the_format_keeps_or_the_files_hold():
    from planner.engines.common import compute_capable
    from planner.spec import Checkpoint, FileTensor

    t4 = load_gpu("t4")
    for quant in ("fp8", "fp8[keep=output]", "nvfp4[keep=output]"):
        # vLLM's Fp8Config and ModelOptNvFp4Config: get_min_capability() 80 through 0.13.0, 75 from 0.14.0
        with pytest.raises(WorkloadError, match="compute capability 8.0"):
            compute_capable("vllm", t4, quant, release=(0, 13, 0))
        compute_capable("vllm", t4, quant, release=(0, 14, 0))
        compute_capable("vllm", t4, quant)
        with pytest.raises(WorkloadError, match="compute capability 8.0"):  # SGLang 0.5.23: 80
            compute_capable("sglang", t4, quant)
    with pytest.raises(WorkloadError, match="compute capability 8.0"):  # Mxfp4Config: 80 in every release
        compute_capable("vllm", t4, "mxfp4")
    spec = load_model("llama-3.2-1b").model_copy(update={"checkpoint": Checkpoint(
        format="safetensors", path="model.safetensors",
        tensors=(FileTensor(name="model.layers.0.mlp.up_proj.weight", dtype="F8_E4M3", shape=(8192, 2048),
                            nbytes=8192 * 2048),))})
    with pytest.raises(WorkloadError, match="checkpoint weights on NVIDIA T4"):
        compute_capable("sglang", t4, "checkpoint", spec)
    compute_capable("vllm", load_gpu("a10"), "fp8[keep=output]", release=(0, 10, 0))  # Ampere: runs
    # SGLang 0.5.23's Fp8Config with use_mxfp8: get_min_capability() 100 on NVIDIA GPUs (Blackwell)
    with pytest.raises(WorkloadError, match="compute capability 10.0 \\(Blackwell\\)"):
        compute_capable("sglang", load_gpu("h100-sxm"), "mxfp8")
    compute_capable("sglang", load_gpu("b200"), "mxfp8")


@pytest.mark.parametrize("engine", ["vllm", "sglang"])
def test_awq_and_torchao_need_turing(engine):
    """vLLM's AWQ and torchao methods and SGLang's AWQConfig: get_min_capability() 75 ("The AWQ kernel only supports
    Turing or newer GPUs"); a V100 (7.0) stops at start-up. GPTQ (60) runs there."""
    kw = dict(engine=engine, gpu="v100-32gb", context=4096)
    with pytest.raises(WorkloadError, match="awq-4bit-g128 weights on NVIDIA .*V100.*capability 7.5 \\(Turing\\)"):
        estimate("qwen2.5-7b", quant="awq", **kw)
    with pytest.raises(WorkloadError, match="use gptq, 16-bit weights"):
        estimate("qwen2.5-7b", quant="awq-4bit-g128", **kw)
    if engine == "vllm":
        with pytest.raises(WorkloadError, match="int4 weights"):
            estimate("qwen2.5-7b", quant="int4", **kw)
    assert estimate("qwen2.5-7b", quant="gptq", **kw).weights_bytes > 0
    assert estimate("qwen2.5-7b", quant="awq", engine=engine, gpu="t4", context=4096).weights_bytes > 0


def test_vllm_no_longer_loads_gguf_or_bitsandbytes():
    """vLLM's quantization methods (model_executor/layers/quantization/__init__.py) list "gguf" through 0.23.0 and
    "bitsandbytes" through 0.27.0; 0.24.0 and 0.28.0 dropped them with their loaders."""
    kw = dict(engine="vllm", gpu="rtx-3060", max_model_len=8192)
    with pytest.raises(WorkloadError, match="cannot load GGUF files .* dropped them in 0.24.0"):
        estimate("llama-3.1-8b", quant="q4_k_m", **kw)
    assert estimate("llama-3.1-8b", quant="q4_k_m", engine_version="0.23.0", **kw).weights_bytes > 0
    for quant in ("nf4", "bnb-int8", "fp4-dq"):
        with pytest.raises(WorkloadError, match="cannot load bitsandbytes weights .* dropped them in 0.28.0"):
            estimate("llama-3.1-8b", quant=quant, engine_version="0.28.0", **kw)
    assert estimate("llama-3.1-8b", quant="nf4", engine_version="0.27.0", **kw).weights_bytes > 0


def test_transformers_loads_block_fp8_as_bf16_below_ada():
    """transformers' FineGrainedFP8 quantizer (5.24.0 validate_environment): below compute capability 8.9 "We will
    default to dequantizing the model to bf16"; on an RTX 4090 (8.9) the weights stay fp8."""
    old = estimate("Qwen/Qwen3-14B", quant="fp8-block", engine="transformers", gpu="rtx-3090", context=4096)
    bf16 = estimate("Qwen/Qwen3-14B", quant="bf16", engine="transformers", gpu="rtx-3090", context=4096)
    assert old.weights_bytes == bf16.weights_bytes and old.engine_details["dequantized_from"] == "fp8-block"
    assert not old.fits  # 30.3 GiB on a 24 GB card, where fp8 would have fitted
    ada = estimate("Qwen/Qwen3-14B", quant="fp8-block", gpu="rtx-4090", context=4096)
    assert ada.workload.quant == "fp8-block" and "dequantized_from" not in ada.engine_details
    plain = estimate("Qwen/Qwen3-14B", quant="fp8-block", gpu="a100-sxm-80gb", context=4096)
    assert plain.weights_bytes == estimate("Qwen/Qwen3-14B", quant="bf16", context=4096).weights_bytes
    assert estimate("Qwen/Qwen3-14B", quant="fp8-block", engine="vllm", gpu="a100-sxm-80gb",
                    max_model_len=4096).weights_bytes < plain.weights_bytes  # vLLM keeps fp8 (Marlin on Ampere)


def test_an_engine_build_that_predates_the_architecture_refuses_it():
    """llama.cpp added Qwen3 in b5092 (ggml-org/llama.cpp#12828) and gpt-oss in b6096 (#15091); Ollama ran Qwen3
    from 0.6.6. Before them the file does not load ("unknown model architecture")."""
    kw = dict(quant="q4_k_m", engine="llama.cpp", gpu="h200", context=4096)
    with pytest.raises(WorkloadError, match="llama.cpp b3000 cannot load Qwen/Qwen3-8B: .* arrived in b5092"):
        estimate("qwen3-8b", engine_version="b3000", **kw)
    assert estimate("qwen3-8b", engine_version="b5092", **kw).engine_refusal is None  # it loads
    with pytest.raises(WorkloadError, match="arrived in b6096"):
        estimate("gpt-oss-20b", engine_version="b6000", **{**kw, "quant": "mxfp4_moe"})
    with pytest.raises(WorkloadError, match="Ollama 0.6.5 does not run qwen3 models: they arrived in 0.6.6"):
        estimate("qwen3:8b", engine="ollama", engine_version="0.6.5", gpu="rtx-4090")


def test_fp8_block_shards_must_take_whole_128_tiles():
    """A tensor-parallel shard of a block-quantized (128 × 128) fp8 matrix must hold whole tiles: SGLang 0.5.23 and
    vLLM refuse a routed expert split into 192-wide shards (Qwen3-235B-A22B's 1,536 over 8: vllm-project/vllm#17569,
    QwenLM/Qwen3#1485) until vLLM 0.31 refined the scale blocks, and both refuse a dense MLP's (Qwen3-4B's 9,728 over
    8: 1,216) in every release."""
    from planner.parallel import plan

    kw = dict(quant="fp8-block", gpu="h100-sxm")
    with pytest.raises(LayoutError, match=r"tp_size 8: .*routed experts \(1,536 wide\) split 8 ways is 192 wide"):
        estimate("qwen3-235b-a22b", engine="sglang", tp_size=8, context_length=8192, **kw)
    vllm = dict(engine="vllm", tensor_parallel_size=8, max_model_len=8192, **kw)
    with pytest.raises(WorkloadError, match="expert parallelism, or vLLM 0.31.0 or later"):
        estimate("qwen3-235b-a22b", engine_version="0.30.0", **vllm)
    assert estimate("qwen3-235b-a22b", engine_version="0.31.0", **vllm).kv_cache_bytes > 0
    assert estimate("qwen3-235b-a22b", engine_version="0.30.0", enable_expert_parallel=True, **vllm).kv_cache_bytes > 0
    with pytest.raises(LayoutError, match=r"MLP \(9,728 wide\) split 8 ways is 1,216 wide: not whole 128-wide scale"):
        estimate("qwen3-4b", **vllm)
    with pytest.raises(LayoutError, match="1,216 wide: not whole 128-wide scale tiles of fp8-block weights; vLLM and "
                                          "SGLang stop at load"):  # plan(), and so fit's tensor-parallel rows
        plan("qwen3-4b", gpu="h100-sxm", n_gpus=8, quant="fp8-block", context=8192)
    assert plan("qwen3-235b-a22b", gpu="h200", n_gpus=8, quant="fp8-block", context=8192).fits  # vLLM 0.31+
    assert estimate("qwen3-4b", **{**vllm, "tensor_parallel_size": 4}).kv_cache_bytes > 0  # 2,432 = 19 tiles
    assert estimate("qwen3-235b-a22b", engine="sglang", tp_size=4, context_length=8192, **kw).kv_cache_bytes > 0


def test_group_quantized_shards_must_take_whole_groups():
    """AWQ/GPTQ/int4 groups of 128 run along a matrix's inputs: a row-parallel shard (down_proj, o_proj) must hold
    whole groups, or vLLM (quantization/auto_awq.py, gptq.py: "The input size is not aligned with the quantized
    weight shape. This can be caused by too large tensor parallel size.") and SGLang (awq_linear.py) stop at load.
    Qwen2.5-72B's 29,568-wide MLP over 4 GPUs is 7,392 columns, 57.75 groups (QwenLM/Qwen3#698, vllm#5675); over 2 it
    is 14,784, 115.5; Qwen's own AWQ checkpoint pads it to 29,696 to split."""
    from planner.parallel import plan

    with pytest.raises(LayoutError, match=r"MLP \(29,568 wide\) split 4 ways is 7,392 wide: not whole groups of 128 "
                                          r"of awq-4bit-g128 weights; vLLM stops at load.* pads 29,568 to 29,696"):
        estimate("Qwen/Qwen2.5-72B-Instruct", quant="awq", engine="vllm", tensor_parallel_size=4, gpu="rtx-4090",
                 max_model_len=8192)
    with pytest.raises(LayoutError, match="tp_size 2: .* SGLang stops at load"):
        estimate("Qwen/Qwen2.5-72B-Instruct", quant="gptq", engine="sglang", tp_size=2, gpu="a100-sxm-80gb",
                 context_length=8192)
    with pytest.raises(LayoutError, match="not whole groups of 128"):
        plan("Qwen/Qwen2.5-72B-Instruct", gpu="rtx-4090", n_gpus=4, quant="int4", context=8192)
    padded = {**load_model("Qwen/Qwen2.5-72B-Instruct").model_dump(), "d_ff": 29696, "name": "padded"}
    assert estimate(ModelSpec.model_validate(padded), quant="awq", engine="vllm", tensor_parallel_size=4,
                    gpu="a100-sxm-80gb", max_model_len=8192).kv_cache_bytes > 0
    # 16-bit and fp8 weights have no groups; Qwen2.5-14B's 13,824 over 2 is 6,912 = 54 groups
    assert plan("Qwen/Qwen2.5-72B-Instruct", gpu="a100-sxm-80gb", n_gpus=4, quant="fp8", context=8192).fits
    assert estimate("Qwen/Qwen2.5-14B", quant="gptq", engine="vllm", tensor_parallel_size=2, gpu="rtx-4090",
                    max_model_len=8192).kv_cache_bytes > 0


def test_checkpoints_read_as_another_family_are_dated_as_the_engines_know_them():
    """Qwen3-VL's language model is Qwen3's and Mistral Small 3.1's is Mistral's, but the engines register them apart:
    vLLM's registry has Mistral3ForConditionalGeneration from 0.8.3 and Qwen3ForCausalLM from 0.8.4; Ollama runs
    mistral3 from 0.6.5 and qwen3vl from 0.12.7 (ollama/ollama#12665)."""
    from planner.engines.common import arch_key

    assert (arch_key(load_model("qwen3-vl-8b")), arch_key(load_model("qwen3-vl-30b-a3b"))) == ("qwen3_vl",
                                                                                             "qwen3_vl_moe")
    assert arch_key(load_model("mistral-small-3.1")) == "mistral3" and arch_key(load_model("qwen3-8b")) == "qwen3"
    vllm = dict(engine="vllm", gpu="h100-sxm", max_model_len=8192)
    with pytest.raises(WorkloadError, match="Mistral3ForConditionalGeneration is first in 0.8.3"):
        estimate("mistral-small-3.1", engine_version="0.8.2", **vllm)
    with pytest.raises(WorkloadError, match="Qwen3ForCausalLM is first in 0.8.4"):
        estimate("qwen3-8b", engine_version="0.8.3", **vllm)
    with pytest.raises(WorkloadError, match="Qwen3-VL arrived in 0.11.0"):
        estimate("qwen3-vl-8b", engine_version="0.10.2", **vllm)
    ollama = dict(quant="q4_k_m", engine="ollama", gpu="rtx-4090")
    with pytest.raises(WorkloadError, match="Ollama 0.11.0 does not run qwen3_vl models: they arrived in 0.12.7"):
        estimate("qwen3-vl-8b", engine_version="0.11.0", **ollama)
    with pytest.raises(WorkloadError, match="does not run mistral3 models: they arrived in 0.6.5"):
        estimate("mistral-small-3.1", engine_version="0.5.0", **ollama)


def test_the_plain_model_and_the_rankings_follow_what_the_engine_loads():
    """transformers' bf16 for fp8-block below compute capability 8.9 and on Apple GPUs (no CUDA device) holds in
    max_context as in estimate; `fit`'s tensor-parallel rows leave out formats vLLM refuses on a GPU (fp8 and
    torchao's int8/int4 on a V100, compute capability 7.0)."""
    import planner

    assert planner.max_context("Qwen/Qwen3-14B", quant="fp8-block", gpu="rtx-3090") == 0  # 27.5 GiB of bf16
    assert planner.max_context("Qwen/Qwen3-14B", quant="fp8-block", gpu="rtx-4090") > 0
    apple = estimate("Qwen/Qwen3-14B", quant="fp8-block", gpu="m3-max", context=4096)
    assert apple.engine_details["dequantized_from"] == "fp8-block" and apple.workload.quant == "bf16"
    rows = planner.fit("Qwen/Qwen2.5-7B", context=8192, gpus=["v100-32gb", "t4"], gpu_counts=[1], only_fitting=False)
    v100 = set(rows[rows.gpu == "v100-32gb"].quant)
    assert "fp8" not in v100 and "int4" not in v100 and {"bf16", "q4_k_m"} <= v100
    assert "fp8" in set(rows[rows.gpu == "t4"].quant)  # vLLM runs fp8 on Turing from 0.14.0


def test_llama_cpp_caches_f16_whatever_the_weights_and_transformers_cannot_run_phi3_small():
    """llama.cpp's cache is f16 unless -ctk/-ctv say otherwise (common/common.h), an F32 file's too: Gemma-2-9B
    (42 layers alternating sliding and full, 8 KV heads of 256: 8 KiB a token and layer in f16) at 8K holds 21 ×
    8,192 + 21 × 4,608 cells (the 4,096 window and a 512 ubatch), 2.05 GiB, half of an fp32 cache. Phi-3-small's Hub
    remote code calls Cache.get_usable_length, which transformers removed in 4.54."""
    e = estimate("google/gemma-2-9b", quant="fp32", engine="llama.cpp", context=8192, gpu="h200", n_parallel=1)
    assert (e.engine_details["type_k"], e.engine_details["type_v"]) == ("fp16", "fp16")
    assert e.kv_cache_bytes == 21 * (8192 + 4608) * 8192
    with pytest.raises(WorkloadError, match="transformers 5.24 cannot generate with .*get_usable_length"):
        estimate("microsoft/Phi-3-small-8k-instruct", engine="transformers", gpu="h200", context=8192)


def test_deepseek_v32_caches_its_indexer_keys_beside_the_latent_in_every_engine():
    """DeepSeek-V3.2 (61 layers; latent 512 + rope 64; indexer keys of 128) caches, per token and layer:
    vLLM 0.33 and SGLang 0.5.23 the latent (bf16 1,152 B; fp8 in DeepSeek's scaled layout 512 + 4 × 4 + 64 × 2 = 656 B
    on vLLM's FLASHMLA_SPARSE and SGLang's Hopper kernels, raw 576 B on SGLang's Blackwell trtllm backend) and the
    indexer's fp8 keys with fp32 scales, 132 B, in the same page (vLLM kv_cache_interface.py, deepseek_v2.py
    DeepseekV32IndexerCache; SGLang pool_configurator.py). SGLang defaults its cache to fp8 on compute capability
    10+. llama.cpp runs it from b9411 (#23346) with an indexer K cache of type_k beside the V-less latent."""
    from planner.engines.sglang import sglang_token_bytes_per_layer
    from planner.engines.vllm import vllm_token_bytes_per_layer

    spec = load_model("deepseek-ai/DeepSeek-V3.2")
    assert (vllm_token_bytes_per_layer(spec, "bf16"), vllm_token_bytes_per_layer(spec, "fp8")) == (1284, 788)
    h200, b200 = load_gpu("h200"), load_gpu("b200")
    assert sglang_token_bytes_per_layer(spec, "fp8", h200) == 788
    assert sglang_token_bytes_per_layer(spec, "fp8", b200) == 576 + 132
    e = estimate(spec, engine="vllm", tensor_parallel_size=8, gpu="h200", context=8192, kv_dtype="fp8")
    assert e.engine_details["kv_blocks"] == e.engine_details["available_kv_bytes"] // (64 * 788 * 61)
    assert estimate(spec, engine="sglang", tp_size=8, gpu="b200", context=8192).workload.kv_dtype == "fp8"
    assert estimate(spec, engine="sglang", tp_size=8, gpu="h200", context=8192).workload.kv_dtype == "bf16"
    cpp = estimate(spec, quant="q4_k_m", engine="llama.cpp", gpu="h200", context=32768)
    assert cpp.engine_details["kv_k_bytes"] == 61 * 32768 * (576 + 128) * 2 and cpp.engine_details["kv_v_bytes"] == 0
    with pytest.raises(WorkloadError, match="arrived in b9411"):
        estimate(spec, quant="q4_k_m", engine="llama.cpp", engine_version="b9410", gpu="h200", context=8192)


def test_deepseek_v32_on_blackwell_keeps_standard_fp8_rows_and_sglang_reads_any_gpu():
    """vLLM 0.33 on compute capability 10 runs an fp8 cache through FLASHINFER_MLA_SPARSE, which keeps standard fp8
    rows (576 + 132 indexer bytes), not DeepSeek's 656-byte layout; SGLang's fp8 default for DSA follows the GPU's
    compute capability however the GPU is given (a catalog id, or the same GPU with another memory)."""
    from planner.engines.vllm import vllm_token_bytes_per_layer
    from planner.gpus import with_memory

    spec = load_model("deepseek-ai/DeepSeek-V3.2")
    assert vllm_token_bytes_per_layer(spec, "fp8", load_gpu("b200")) == 576 + 132
    assert vllm_token_bytes_per_layer(spec, "fp8", load_gpu("h200")) == 656 + 132
    sized = with_memory("b200", 192 * 10**9)
    assert estimate(spec, engine="sglang", tp_size=8, gpu=sized, context=8192).workload.kv_dtype == "fp8"


@pytest.mark.parametrize("model, quant, before, first", [
    # llama.cpp: the merge commit of each architecture's pull request, counted as its release tags are
    ("qwen2.5-7b", "q4_k_m", "b1922", "b1923"),            # qwen2, ggml-org/llama.cpp#5037
    ("mistralai/Mixtral-8x7B-v0.1", "q4_k_m", "b1628", "b1629"),  # MoE in the llama architecture, #4406
    ("google/gemma-2-9b", "q4_k_m", "b3258", "b3259"),     # gemma2, #8156
    ("deepseek-ai/DeepSeek-V2-Lite", "q4_k_m", "b3022", "b3023"),  # deepseek2, #7519
    ("microsoft/Phi-3-mini-4k-instruct", "q4_k_m", "b2716", "b2717"),  # phi3, #6852
    ("microsoft/Phi-3-mini-128k-instruct", "q4_k_m", "b2960", "b2961"),  # its LongRoPE, #7225
    ("microsoft/Phi-3.5-MoE-instruct", "q4_k_m", "b4452", "b4453"),  # phimoe, #11003
    ("meta-llama/Llama-3.1-8B", "q4_k_m", "b3471", "b3472"),  # Llama 3.1's rope_freqs, #8676
])
def test_llama_cpp_builds_before_an_architecture_refuse_it(model, quant, before, first):
    kw = dict(quant=quant, engine="llama.cpp", gpu="h200", context=4096)
    with pytest.raises(WorkloadError, match=f"llama.cpp {before} cannot load .* arrived in {first}"):
        estimate(model, engine_version=before, **kw)
    assert estimate(model, engine_version=first, **kw).engine_refusal is None


@pytest.mark.parametrize("model, before, first", [
    # vLLM: the first release whose model registry (models/__init__.py, later registry.py, of each wheel) has it
    ("microsoft/Phi-3-mini-4k-instruct", "0.4.1", "0.4.2"),
    ("google/gemma-2-9b", "0.5.0", "0.5.1"),
    ("deepseek-ai/DeepSeek-V2-Lite", "0.5.0", "0.5.1"),
    ("microsoft/Phi-3.5-MoE-instruct", "0.5.5", "0.6.0"),
    ("allenai/OLMoE-1B-7B-0924", "0.6.1", "0.6.2"),
    ("allenai/OLMo-2-1124-7B", "0.6.4", "0.6.5"),
])
def test_vllm_releases_before_an_architecture_refuse_it(model, before, first):
    kw = dict(engine="vllm", gpu="h200", max_model_len=4096)
    with pytest.raises(WorkloadError, match=f"vLLM {before} cannot run .* first in {first}'s model registry"):
        estimate(model, engine_version=before, **kw)
    assert estimate(model, engine_version=first, **kw).fits


def test_vllm_releases_before_a_rope_scaling_refuse_it():
    """config.json's rope_scaling type (ModelSpec.rope_type): Llama 3.1's llama3 first in 0.5.3.post1's
    rotary_embedding.py (planner takes it as 0.5.3); Meta-Llama-3 (plain RoPE) ran from planner's oldest rules."""
    assert load_model("meta-llama/Llama-3.1-8B").rope_type == "llama3"
    assert load_model("meta-llama/Meta-Llama-3-8B").rope_type is None
    kw = dict(engine="vllm", gpu="h200", max_model_len=4096)
    with pytest.raises(WorkloadError, match=r"vLLM 0.5.2 cannot run .*rope_type llama3\) arrived in 0.5.3.post1"):
        estimate("meta-llama/Llama-3.1-8B", engine_version="0.5.2", **kw)
    assert estimate("meta-llama/Llama-3.1-8B", engine_version="0.5.3", **kw).fits
    assert estimate("meta-llama/Meta-Llama-3-8B", engine_version="0.4.0", **kw).fits
    # longrope by that name from 0.5.1 (0.4.2-0.5.0's get_rope took only "su"): Phi-3.5-mini's config says longrope
    with pytest.raises(WorkloadError, match=r"vLLM 0.5.0 cannot run .*under the name longrope is read from 0.5.1"):
        estimate("microsoft/Phi-3.5-mini-instruct", engine_version="0.5.0", **kw)
    assert estimate("microsoft/Phi-3.5-mini-instruct", engine_version="0.5.1", **kw).fits


def test_vllm_refuses_the_scheduler_settings_vllm_refuses():
    """SchedulerConfig._verify_args: max_num_batched_tokens below max_num_seqs, and, without chunked prefill, below
    max_model_len. Before the check vLLM fits its defaults to what was given (engine/arg_utils.py of each wheel): from
    0.10.1 a defaulted max_num_seqs is at most the tokens, from 0.11.1 a defaulted token budget holds max_model_len
    when chunked prefill is off; V1 chunks every prompt through 0.11.0 whatever was asked; V0 as asked, by default
    above 32K only."""
    llama, kw = "meta-llama/Llama-3.1-8B", dict(engine="vllm", gpu="h100-sxm", max_model_len=8192)
    with pytest.raises(WorkloadError, match="max_num_batched_tokens must be at least max_num_seqs \\(1,024\\), got 10"):
        estimate(llama, max_num_batched_tokens=10, max_num_seqs=1024, **kw)
    lowered = estimate(llama, max_num_batched_tokens=10, **kw).engine_details  # 0.10.1+: the sequences follow
    assert lowered["max_num_seqs"] == 10
    with pytest.raises(WorkloadError, match="max_num_batched_tokens must be at least max_num_seqs"):
        estimate(llama, engine_version="0.10.0", max_num_batched_tokens=10, **kw)  # before: 1,024 sequences stay
    with pytest.raises(WorkloadError, match="at least max_model_len \\(8,192\\) where vLLM runs without chunked"):
        estimate(llama, engine_version="0.6.3", max_num_batched_tokens=2048, **kw)
    assert estimate(llama, max_num_batched_tokens=2048, **kw).fits  # V1: chunked
    assert estimate(llama, engine_version="0.6.3", max_num_batched_tokens=2048,
                    **{**kw, "max_model_len": 65536}).fits  # V0 chunks above 32K from 0.5.5
    off = estimate(llama, enable_chunked_prefill=False, **{**kw, "max_model_len": 16384}).engine_details
    assert off["max_num_batched_tokens"] == 16384 and off["enable_chunked_prefill"] is False  # 0.11.1+: raised
    forced = estimate(llama, engine_version="0.9.0", enable_chunked_prefill=False, **kw).engine_details
    assert forced["enable_chunked_prefill"] is True  # V1 through 0.11.0 chunks whatever was asked
    v0 = dict(engine_version="0.6.3", **{**kw, "max_model_len": 16384})
    assert estimate(llama, enable_chunked_prefill=True, **v0).engine_details["max_num_batched_tokens"] == 512
    assert estimate(llama, **v0).engine_details["max_num_batched_tokens"] == 16384
    # V0 runs an MLA model unchunked from 0.7.1 ("MLA is enabled; forcing chunked prefill … disabled"), whatever
    # the length: its profile run takes max_model_len tokens
    mla = estimate("deepseek-ai/DeepSeek-V2-Lite", engine="vllm", gpu="a100-sxm-80gb", engine_version="0.7.3",
                   max_model_len=65536)
    assert mla.engine_details["max_num_batched_tokens"] == 65536 and not mla.engine_details["enable_chunked_prefill"]
    with pytest.raises(WorkloadError, match="enable_chunked_prefill must be True, False or None, got 'yes'"):
        estimate(llama, enable_chunked_prefill="yes", **kw)


def test_a_misspelt_engine_option_is_named_with_the_one_meant():
    with pytest.raises(WorkloadError, match=r"has no option 'max_model_lenn' \(did you mean max_model_len\?\); it "
                                            r"takes .*engine_version.*max_model_len"):
        estimate("meta-llama/Llama-3.1-8B", engine="vllm", gpu="h100-sxm", max_model_lenn=4096)
    with pytest.raises(WorkloadError, match=r"has no option 'numctx' \(did you mean num_ctx\?\)"):
        estimate("meta-llama/Llama-3.1-8B", engine="ollama", quant="q4_k_m", gpu="rtx-4090", numctx=4096)


def test_options_that_would_change_nothing_are_refused_and_ollamas_cache_type_is_the_workloads():
    """vLLM takes and ignores expert parallel on a dense model and an MXFP4 MoE backend for weights without MXFP4
    experts: planner says so rather than print them as if they mattered. Ollama's OLLAMA_KV_CACHE_TYPE names the
    cache the estimate's header then shows; a different kv_dtype beside it is refused (a server has one cache)."""
    with pytest.raises(WorkloadError, match="is not a mixture-of-experts model"):
        estimate("meta-llama/Llama-3.1-8B", engine="vllm", gpu="h100-sxm", tensor_parallel_size=2,
                 enable_expert_parallel=True)
    with pytest.raises(WorkloadError, match="mxfp4_backend 'triton' runs MXFP4 expert weights"):
        estimate("meta-llama/Llama-3.1-8B", engine="vllm", gpu="h100-sxm", mxfp4_backend="triton")
    assert estimate("Qwen/Qwen3-30B-A3B", engine="vllm", gpu="h100-sxm", tensor_parallel_size=2,
                    enable_expert_parallel=True).engine_details["expert_parallel_size"] == 2
    e = estimate("meta-llama/Llama-3.1-8B", quant="q4_k_m", engine="ollama", gpu="rtx-4090", kv_cache_type="q4_0",
                 flash_attn=True)
    assert e.workload.kv_dtype == "q4_0"
    with pytest.raises(WorkloadError, match="kv_dtype 'fp16' and kv_cache_type 'q4_0' name two caches"):
        estimate("meta-llama/Llama-3.1-8B", quant="q4_k_m", engine="ollama", gpu="rtx-4090", kv_cache_type="q4_0",
                 kv_dtype="fp16", flash_attn=True)
