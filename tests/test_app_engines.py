"""Dashboard: the engine picker, each engine's options in the sidebar and the link, and what each engine's answer
shows."""

import re

from planner import estimate
from tests.dashboard import app, bugs_fail_the_tests, caption, gib, metric  # noqa: F401


def test_engine_picker_with_its_options():
    at = app(gpu="rtx-4090")
    at.sidebar.selectbox(key="engine").set_value("vllm").run()
    # the seed model: vLLM removed Phi-3-small's block-sparse attention in 0.10 (vllm-project/vllm#21217)
    assert any("vLLM 0.33.0 cannot run microsoft/Phi-3-small-8k-instruct" in e.value for e in at.error)
    at.sidebar.selectbox(key="model").set_value("meta-llama/Meta-Llama-3-8B").run()
    e = estimate("meta-llama/Meta-Llama-3-8B", context=4096, gpu="rtx-4090", engine="vllm")
    assert metric(at, "total") == gib(e.total_bytes)
    assert "vLLM, 0.4 to 0.33" in caption(at)  # the releases whose rules it knows
    at.sidebar.selectbox(key="vllm_version").set_value("0.9.0").run()
    old = estimate("meta-llama/Meta-Llama-3-8B", context=4096, gpu="rtx-4090", engine="vllm",
                   engine_version="0.9.0")
    assert metric(at, "total") == gib(old.total_bytes) and at.query_params["vllm_version"] == "0.9.0"
    assert "engine loop" not in caption(at)  # V1 overlaps its host work with the GPU
    at.sidebar.selectbox(key="vllm_version").set_value("0.7.3").run()  # V0: host time in every step
    v0 = estimate("meta-llama/Meta-Llama-3-8B", context=4096, gpu="rtx-4090", engine="vllm",
                  engine_version="0.7.3").performance
    assert v0.engine_loop_seconds > 0 and f"{1000 * v0.engine_loop_seconds:.1f} ms of vLLM's V0 engine loop" in \
        caption(at)
    assert "first token also waits one decode step" in caption(at)
    assert metric(at, "decode, per request") == f"{v0.decode_tokens_per_s:,.1f} tok/s"
    at.sidebar.selectbox(key="vllm_version").set_value("0.9.0").run()
    at.sidebar.checkbox(key="fi_sampler").check().run()  # FlashInfer's sampler: a smaller profile-run peak
    fused = estimate("meta-llama/Meta-Llama-3-8B", context=4096, gpu="rtx-4090", engine="vllm",
                     engine_version="0.9.0", flashinfer_sampler=True)
    assert fused.activation_bytes < old.activation_bytes
    assert metric(at, "activations") == gib(fused.activation_bytes) and at.query_params["fi_sampler"] == "1"
    at.sidebar.checkbox(key="fi_sampler").uncheck().run()
    at.sidebar.selectbox(key="vllm_version").set_value("current").run()
    at.sidebar.selectbox(key="model").set_value("openai/gpt-oss-20b").run()  # Marlin's padded experts on a 4090
    marlin = estimate("openai/gpt-oss-20b", context=4096, gpu="rtx-4090", engine="vllm")
    assert metric(at, "weights") == gib(marlin.weights_bytes)
    at.sidebar.selectbox(key="mxfp4_kernel").set_value("none").run()  # the experts as the checkpoint stores them
    stored = estimate("openai/gpt-oss-20b", context=4096, gpu="rtx-4090", engine="vllm", mxfp4_backend="none")
    assert metric(at, "weights") == gib(stored.weights_bytes) != gib(marlin.weights_bytes)
    assert at.query_params["mxfp4_kernel"] == "none"
    at.sidebar.selectbox(key="mxfp4_kernel").set_value("default").run()
    at.sidebar.selectbox(key="model").set_value("meta-llama/Meta-Llama-3-8B").run()
    at.sidebar.number_input(key="cg_gib").set_value(2.35).run()  # a log's "Estimated CUDA graph memory: 2.35 GiB"
    graphs = estimate("meta-llama/Meta-Llama-3-8B", context=4096, gpu="rtx-4090", engine="vllm",
                      cuda_graph_memory_bytes=round(2.35 * 2**30))
    assert metric(at, "KV cache") == gib(graphs.kv_cache_bytes) and at.query_params["cg_gib"] == "2.35"
    at.sidebar.number_input(key="cg_gib").set_value(None).run()
    at.sidebar.checkbox(key="eager").check().run()  # enforce_eager: no CUDA-graph estimate taken from the budget
    eager = estimate("meta-llama/Meta-Llama-3-8B", context=4096, gpu="rtx-4090", engine="vllm",
                     enforce_eager=True)
    assert eager.engine_details["cuda_graph_estimate_bytes"] == 0 and eager.kv_cache_bytes != graphs.kv_cache_bytes
    assert metric(at, "KV cache") == gib(eager.kv_cache_bytes) and at.query_params["eager"] == "1"
    at.sidebar.checkbox(key="eager").uncheck().run()
    at.sidebar.selectbox(key="prefix_cache").set_value("off").run()  # only a hybrid model's cache depends on it
    plain = estimate("meta-llama/Meta-Llama-3-8B", context=4096, gpu="rtx-4090", engine="vllm",
                     enable_prefix_caching=False)
    assert metric(at, "KV cache") == gib(plain.kv_cache_bytes) and at.query_params["prefix_cache"] == "off"
    at.sidebar.selectbox(key="prefix_cache").set_value("default").run()
    at.sidebar.number_input(key="gmu").set_value(0.5).run()
    half = estimate("meta-llama/Meta-Llama-3-8B", context=4096, gpu="rtx-4090", engine="vllm",
                    gpu_memory_utilization=0.5)
    assert metric(at, "total") == gib(half.total_bytes) and at.query_params["gmu"] == "0.5"
    at.sidebar.selectbox(key="engine").set_value("llama.cpp").run()
    at.sidebar.selectbox(key="model").set_value("microsoft/Phi-3-small-8k-instruct").run()
    at.sidebar.selectbox(key="quant").set_value("q4_k_m").run()
    # llama.cpp has no Phi-3-small (block-sparse attention): the answer says so instead of sizing a GGUF that
    # cannot exist
    assert any("llama.cpp has no Phi3SmallForCausalLM" in e.value for e in at.error), [e.value for e in at.error]
    at.sidebar.selectbox(key="model").set_value("microsoft/Phi-3-mini-4k-instruct").run()
    at.sidebar.number_input(key="ngl").set_value(10).run()
    e = estimate("microsoft/Phi-3-mini-4k-instruct", context=4096, gpu="rtx-4090", engine="llama.cpp",
                 quant="q4_k_m", n_gpu_layers=10)
    assert metric(at, "total") == gib(e.total_bytes)



def test_sglang_and_vllm_split_a_model_over_gpus_from_the_sidebar():
    at = app(gpu="h100-sxm", model="meta-llama/Llama-3.1-70B", engine="sglang", n_gpus="4", context="8192")
    e = estimate("meta-llama/Llama-3.1-70B", context=8192, gpu="h100-sxm", engine="sglang", tp_size=4)
    assert metric(at, "total per GPU") == gib(e.total_bytes)
    at.sidebar.number_input(key="mfs").set_value(0.8).run()
    e = estimate("meta-llama/Llama-3.1-70B", context=8192, gpu="h100-sxm", engine="sglang", tp_size=4,
                 mem_fraction_static=0.8)
    assert metric(at, "total per GPU") == gib(e.total_bytes) and at.query_params["mfs"] == "0.8"
    at.sidebar.number_input(key="max_model_len").set_value(16384).run()  # SGLang's context_length
    at.sidebar.number_input(key="max_num_seqs").set_value(64).run()  # its max_running_requests
    e = estimate("meta-llama/Llama-3.1-70B", context=8192, gpu="h100-sxm", engine="sglang", tp_size=4,
                 mem_fraction_static=0.8, context_length=16384, max_running_requests=64)
    assert e.engine_details["max_running_requests"] == 64 and e.engine_details["context_length"] == 16384
    assert metric(at, "total per GPU") == gib(e.total_bytes)
    figures = at.table[0].value.to_string()  # the engine's own figures: (64 + 1) × (16,384 + 4) int32 map
    assert re.search(r"max_running_requests\s+64\b", figures) and f"{65 * (16384 + 4) * 4:,}" in figures
    at.sidebar.number_input(key="max_model_len").set_value(None).run()
    at.sidebar.number_input(key="max_num_seqs").set_value(None).run()
    at.sidebar.selectbox(key="engine").set_value("vllm").run()
    v = estimate("meta-llama/Llama-3.1-70B", context=8192, gpu="h100-sxm", engine="vllm", tensor_parallel_size=4)
    assert metric(at, "total per GPU") == gib(v.total_bytes)


def test_transformers_static_cache_from_the_sidebar_and_the_link():
    at = app(gpu="rtx-4090", engine="transformers", context="2048", model="meta-llama/Meta-Llama-3-8B")
    at.sidebar.selectbox(key="hf_cache").set_value("static").run()
    at.sidebar.number_input(key="max_cache_len").set_value(8192).run()
    e = estimate("meta-llama/Meta-Llama-3-8B", context=2048, gpu="rtx-4090", engine="transformers",
                 cache="static", max_cache_len=8192)
    assert metric(at, "total") == gib(e.total_bytes)
    again = app(**{k: at.query_params[k] for k in at.query_params})
    assert metric(again, "total") == gib(e.total_bytes) and again.query_params["hf_cache"] == "static"


def test_transformers_eager_attention_from_the_sidebar_and_the_link():
    """Eager attention's score matrices in the memory and in the time to first token, as the CLI and Python give
    them; SDPA on a Hopper GPU carries the cuDNN caveat."""
    at = app(gpu="h200", engine="transformers", context="8192", model="meta-llama/Meta-Llama-3-8B")
    assert "cuDNN attention" in caption(at)
    at.sidebar.selectbox(key="hf_attention").set_value("eager").run()
    e = estimate("meta-llama/Meta-Llama-3-8B", context=8192, gpu="h200", engine="transformers", attention="eager")
    assert metric(at, "total") == gib(e.total_bytes)
    assert metric(at, "time to first token") == f"{e.performance.prefill_seconds:.2f} s"  # over a second
    assert "eager attention's score matrices" in caption(at) and "cuDNN" not in caption(at)
    again = app(**{k: at.query_params[k] for k in at.query_params})
    assert again.query_params["hf_attention"] == "eager" and metric(again, "total") == gib(e.total_bytes)



def test_transformers_on_phi3_small_is_refused_readably():
    """Phi-3-small's remote code does not run on transformers 5: the page says so, without a traceback."""
    at = app(gpu="rtx-4090", engine="transformers")
    assert not at.exception and any("get_usable_length" in e.value for e in at.error)


def test_llama_cpp_on_an_instinct_gpu_says_which_prompt_kernels_its_build_runs():
    at = app(model="meta-llama/Meta-Llama-3-8B", quant="q4_k_m", gpu="mi300x", engine="llama.cpp")
    assert "On this GPU llama.cpp runs a prompt's matrices in MMQ on the int8 matrix cores" in caption(at)
    assert "matrices in" not in caption(app(model="meta-llama/Meta-Llama-3-8B", quant="q4_k_m", engine="llama.cpp"))


# Found in review: each of these showed something planner does not say

def test_vllm_that_does_not_fit_is_never_shown_as_fitting():
    at = app(engine="vllm", gmu="0.97", model="meta-llama/Meta-Llama-3-8B")  # more than the RTX 4090's usable memory
    e = estimate("meta-llama/Meta-Llama-3-8B", context=4096, gpu="rtx-4090", engine="vllm",
                 gpu_memory_utilization=0.97)
    assert e.fits is False
    assert "Does not fit" in at.error[0].value and metric(at, "decode, per request") == "—"


def test_a_budget_works_with_every_engine():
    for engine in ("llama.cpp", "transformers", "vllm"):
        at = app(gpu="custom", budget="24", engine=engine, quant="q4_k_m" if engine == "llama.cpp" else "bf16",
                 model="microsoft/Phi-3-mini-4k-instruct")  # llama.cpp has no Phi-3-small
        assert not at.error or "Does not fit" in at.error[0].value, (engine, at.error[0].value)
        assert metric(at, "total").endswith("GiB")


def test_llama_cpp_offload_speed_reads_the_layers_in_cpu_ram():
    from planner.parallel import offload

    at = app(model="meta-llama/Llama-3.1-70B", quant="q4_k_m", engine="llama.cpp", ngl="0")
    o = offload("meta-llama/Llama-3.1-70B", gpu="rtx-4090", gpu_layers=0, quant="q4_k_m", context=4096)
    assert metric(at, "decode, per request") == f"{o.decode_tokens_per_s:,.1f} tok/s"
    assert metric(at, "time to first token") == "—" and "In CPU RAM as well" in caption(at)
    # the verdict says only part of the model is on the GPU, and why the time to first token is missing
    verdict = "".join(x.value for x in [*at.success, *at.warning])
    assert "Only part of the model is on the GPU" in verdict and "system RAM holds the other" in verdict
    assert "part of the prompt runs on the CPU (weights in system RAM)" in caption(at)
    assert metric(at, "weights on the GPU").endswith("GiB")


def test_a_gpu_without_a_flops_figure_says_why_it_has_no_time_to_first_token():
    at = app(model="Qwen/Qwen3-8B", quant="mlx-4bit", gpu="m3-max", context="32768")
    assert metric(at, "time to first token") == "—" and metric(at, "decode, per request") != "—"
    assert "unknown (no FLOP/s figure in this GPU's datasheet)." in caption(at)
    # the analytic engine's speed line says whose figures they are
    assert "(speed as mlx runs mlx-4bit; choose an engine in the sidebar for its own)" in caption(at)


def test_ollama_from_the_engine_picker():
    at = app(gpu="rtx-4090", model="meta-llama/Llama-3.1-70B", quant="q4_0", context="8192", engine="ollama")
    e = estimate("meta-llama/Llama-3.1-70B", quant="q4_0", context=8192, gpu="rtx-4090", engine="ollama",
                 num_parallel=1)
    assert metric(at, "total") == gib(e.total_bytes) and at.query_params["engine"] == "ollama"


def test_ollama_release_and_flash_attention_from_the_engine_picker():
    # one request leaves OLLAMA_NUM_PARALLEL unset: Ollama 0.5.4 picks its own slots, 4 where they fit the GPU whole
    at = app(gpu="rtx-4090", model="meta-llama/Meta-Llama-3-8B", quant="q4_k_m", context="2048", engine="ollama",
             ollama_version="0.5.4")
    e = estimate("meta-llama/Meta-Llama-3-8B", quant="q4_k_m", context=2048, gpu="rtx-4090", engine="ollama",
                 engine_version="0.5.4")
    assert e.engine_details["num_parallel"] == 4
    assert metric(at, "total") == gib(e.total_bytes) and at.query_params["ollama_version"] == "0.5.4"
    at.sidebar.selectbox(key="flash_attn").set_value("on").run()
    on = estimate("meta-llama/Meta-Llama-3-8B", quant="q4_k_m", context=2048, gpu="rtx-4090", engine="ollama",
                  engine_version="0.5.4", flash_attn=True)
    assert on.total_bytes != e.total_bytes and metric(at, "total") == gib(on.total_bytes)
    assert at.query_params["flash_attn"] == "on"


def test_llama_cpp_moe_experts_in_cpu_ram_from_the_engine_picker():
    at = app(gpu="rtx-4060-ti-16gb", model="Qwen/Qwen3-30B-A3B", quant="q4_k_m", context="8192", engine="llama.cpp")
    at.sidebar.number_input(key="n_cpu_moe").set_value(40).run()
    e = estimate("Qwen/Qwen3-30B-A3B", quant="q4_k_m", context=8192, gpu="rtx-4060-ti-16gb", engine="llama.cpp",
                 n_cpu_moe=40)
    assert metric(at, "total") == gib(e.total_bytes) and at.query_params["n_cpu_moe"] == "40"


def test_llama_cpp_tensor_overrides_and_sglang_cpu_offload_from_the_engine_picker():
    at = app(gpu="rtx-4090", model="Qwen/Qwen3-30B-A3B", quant="q4_k_m", context="8192", engine="llama.cpp")
    at.sidebar.text_input(key="override_tensor").set_value(".ffn_.*_exps.=CPU").run()
    e = estimate("Qwen/Qwen3-30B-A3B", quant="q4_k_m", context=8192, gpu="rtx-4090", engine="llama.cpp",
                 override_tensor=".ffn_.*_exps.=CPU")
    assert metric(at, "total") == gib(e.total_bytes) and at.query_params["override_tensor"] == ".ffn_.*_exps.=CPU"
    at.sidebar.text_input(key="override_tensor").set_value("exps=CUDA1").run()
    assert "override_tensor 'exps=CUDA1'" in " ".join(x.value for x in at.error)  # a readable refusal
    sg = app(gpu="rtx-4090", model="Qwen/Qwen3-14B", quant="bf16", context="4096", engine="sglang", n_gpus="2")
    sg.sidebar.number_input(key="cpu_offload").set_value(4.0).run()
    e = estimate("Qwen/Qwen3-14B", quant="bf16", context=4096, gpu="rtx-4090", engine="sglang", tp_size=2,
                 cpu_offload_gb=4.0)
    assert metric(sg, "total per GPU") == gib(e.total_bytes) and sg.query_params["cpu_offload"] == "4"


def test_system_ram_for_llama_cpp_from_the_engine_picker():
    at = app(gpu="rtx-4090", model="meta-llama/Llama-3.1-70B", quant="q4_0", context="8192", engine="llama.cpp")
    at.sidebar.number_input(key="host_gib").set_value(8.0).run()
    e = estimate("meta-llama/Llama-3.1-70B", quant="q4_0", context=8192, gpu="rtx-4090", engine="llama.cpp",
                 n_parallel=1, host_memory_bytes=8 * 2**30)
    assert not e.performance.fits and at.query_params["host_gib"] == "8"
    assert any("system RAM must hold" in x.value for x in at.error)


def test_llama_cpp_build_from_the_engine_picker():
    at = app(gpu="rtx-4090", model="google/gemma-2-9b", quant="q4_k_m", context="8192", engine="llama.cpp")
    at.sidebar.selectbox(key="llamacpp_version").set_value("b6500").run()
    # b6500: every layer on the GPU by default (no --fit yet), sliding layers their own window
    e = estimate("google/gemma-2-9b", quant="q4_k_m", context=8192, gpu="rtx-4090", engine="llama.cpp",
                 engine_version="b6500")
    assert metric(at, "total") == gib(e.total_bytes) and at.query_params["llamacpp_version"] == "b6500"
    at.sidebar.selectbox(key="llamacpp_version").set_value("b5000").run()
    old = estimate("google/gemma-2-9b", quant="q4_k_m", context=8192, gpu="rtx-4090", engine="llama.cpp",
                   engine_version="b5000")
    assert old.engine_details["n_gpu_layers"] == 0 and metric(at, "total") == gib(old.total_bytes)


def test_a_hybrid_model_under_vllm_shows_its_pages():
    at = app(gpu="h200")
    at.sidebar.selectbox(key="model").set_value("Qwen/Qwen3-Next-80B-A3B-Instruct").run()
    at.sidebar.selectbox(key="engine").set_value("vllm").run()
    at.sidebar.selectbox(key="quant").set_value("fp8").run()
    assert not at.exception
    e = estimate("Qwen/Qwen3-Next-80B-A3B-Instruct", context=4096, gpu="h200", engine="vllm", quant="fp8")
    assert metric(at, "KV cache") == gib(e.kv_cache_bytes)
    # one GPU: 3 × 8,192 + 32 × 128 × 128 two-byte values of state a layer; the block grows to 576 under 0.33's
    # prefix caching on an H200 (tests/test_vllm_hybrid.py derives both)
    assert "recurrent state (1,097,728 bytes a layer)" in caption(at) and "grows to 576 tokens" in caption(at)
    at.sidebar.selectbox(key="prefix_cache").set_value("off").run()  # one state block a request, no 64-token align
    off = estimate("Qwen/Qwen3-Next-80B-A3B-Instruct", context=4096, gpu="h200", engine="vllm", quant="fp8",
                   enable_prefix_caching=False)
    assert metric(at, "KV cache") == gib(off.kv_cache_bytes) and at.query_params["prefix_cache"] == "off"
    assert "grows to 544 tokens; each request holds 1 block(s)" in caption(at)


def test_gpt_oss_sliding_windows_under_vllm_and_sglang_are_shown():
    at = app(gpu="h100-sxm")
    at.sidebar.selectbox(key="model").set_value("openai/gpt-oss-120b").run()
    at.sidebar.selectbox(key="engine").set_value("vllm").run()
    assert not at.exception
    e = estimate("openai/gpt-oss-120b", context=4096, gpu="h100-sxm", engine="vllm")
    assert metric(at, "KV cache") == gib(e.kv_cache_bytes)
    # window 128 − 1 + two in-flight batches of 8,192 tokens (tests/test_vllm_hybrid.py derives it)
    assert "keeps at most 16,511 tokens of a request in each of its 1 sliding-window groups" in caption(at)
    at.sidebar.selectbox(key="engine").set_value("sglang").run()  # its sliding layers in a pool of their own
    assert not at.exception
    d = estimate("openai/gpt-oss-120b", context=4096, gpu="h100-sxm", engine="sglang").engine_details
    assert (f"{d['swa_max_total_num_tokens']:,} tokens beside the full layers' {d['max_total_num_tokens']:,}"
            in caption(at))


def test_the_typical_error_is_the_check_halfs_for_the_gpus_class():
    """llama.cpp's GGUF decode on an AMD Instinct GPU carries the check half's error of such runs, not that of
    llama.cpp on any GPU (planner.efficiency.typical_errors)."""
    from planner.efficiency import band

    kw = dict(engine="llama.cpp", quant="q4_k_m", model="meta-llama/Meta-Llama-3-8B", context="4096")
    instinct = band("decode", "llama.cpp", "gguf", "amd-hbm").median_abs_error
    assert f"±{100 * instinct:.0f} % decode" in caption(app(gpu="mi300x", **kw))
    geforce = band("decode", "llama.cpp", "gguf", "gddr").median_abs_error
    assert instinct > 3 * geforce and f"±{100 * geforce:.0f} % decode" in caption(app(gpu="rtx-4090", **kw))
    # Ollama, on llama.cpp's figures, carries its own published runs' error
    ollama = band("decode", "ollama", "gguf", "gddr").median_abs_error
    assert round(100 * ollama) != round(100 * geforce)
    assert f"±{100 * ollama:.0f} % decode" in caption(app(gpu="rtx-4090", **{**kw, "engine": "ollama"}))


def test_vllm_started_as_the_offline_llm_class_from_the_sidebar_and_the_link():
    at = app(gpu="rtx-4090", engine="vllm", model="meta-llama/Meta-Llama-3-8B", context="8192")
    at.sidebar.selectbox(key="vllm_entry").set_value("llm").run()
    offline = estimate("meta-llama/Meta-Llama-3-8B", context=8192, gpu="rtx-4090", engine="vllm", entrypoint="llm")
    assert metric(at, "KV cache") == gib(offline.kv_cache_bytes) and at.query_params["vllm_entry"] == "llm"
    again = app(gpu="rtx-4090", engine="vllm", model="meta-llama/Meta-Llama-3-8B", context="8192", vllm_entry="llm")
    assert metric(again, "KV cache") == gib(offline.kv_cache_bytes)


def test_sglangs_moe_split_prefill_time_is_said_beside_the_speeds():
    from planner.efficiency import moe_prefill_split

    fixed = moe_prefill_split("sglang").moe_prefill_split_s
    at = app(gpu="h200", engine="sglang", model="Qwen/Qwen3-30B-A3B", n_gpus="2", context="4096")
    assert f"The first token includes {fixed:.3f} s that sglang's published runs" in caption(at)
    # and what every step carries for the MoE layers split over the 2 GPUs (48 layers × 128 routed experts)
    from planner.efficiency import moe_expert_overhead

    step = 1000 * 48 * 128 * moe_expert_overhead("sglang").moe_expert_overhead_s
    assert f"Each step includes {step:.1f} ms for the MoE layers split over GPUs" in caption(at)
    assert "The first token includes" not in caption(app(gpu="h200", engine="sglang", model="Qwen/Qwen3-30B-A3B",
                                                         context="4096"))
    # SGLang is planned tensor parallel only (--tp-size): a pipeline split (its --pp-size) is refused, said, not
    # computed as a tensor split
    piped = app(gpu="h200", engine="sglang", model="Qwen/Qwen3-30B-A3B", n_gpus="2", split="pipeline", context="4096")
    assert not piped.metric and any("SGLang on 2 GPUs is planned tensor parallel (its --tp-size); its pipeline "
                                    "parallel (--pp-size) is not modelled" in e.value for e in piped.error)


def test_a_gguf_format_split_tensor_parallel_in_llama_cpp_is_refused_and_said():
    """llama.cpp splits by layers (--split-mode layer); its row and tensor modes are not planner's Megatron split:
    the analytic plan of a GGUF format over 2 GPUs with the tensor split says so, the pipeline split plans it."""
    at = app(gpu="rtx-4090", model="meta-llama/Llama-3.1-70B", quant="q4_k_m", n_gpus="2", split="tensor",
             context="8192")
    assert not at.metric and any("GGUF weights over 2 GPUs run in llama.cpp, which splits a model by layers" in e.value
                                 and "a tensor split of them is not modelled" in e.value for e in at.error)
    assert app(gpu="rtx-4090", model="meta-llama/Llama-3.1-70B", quant="q4_k_m", n_gpus="2", split="pipeline",
               context="8192").metric


def test_the_overhead_on_an_amd_gpu_is_said_to_be_cudas():
    assert "CUDA's, measured on an NVIDIA H200; ROCm's HIP runtime is not measured" in caption(app(gpu="rx-7900-xtx"))
    assert "measured on an NVIDIA H200" not in caption(app(gpu="rtx-4090"))


def test_a_split_over_pcie_linked_gpus_says_what_its_all_reduces_assume():
    from planner.gpus import load_gpu
    from planner.perf import allreduce_note

    # PCIe 4.0 x16, 32 GB/s each way (the L40S datasheet), at NCCL's 0.8 of the line rate
    note = allreduce_note(load_gpu("l40s"), 2)
    assert note.startswith("all-reduces over PCIe 4.0 x16 taken at 25.6 GB/s each way")
    assert allreduce_note(load_gpu("h100-sxm"), 8) is None  # NVLink
    assert allreduce_note(load_gpu("l40s"), 1) is None
    # two bridged cards: the bridge is assumed fitted, and said; four: their ring crosses PCIe
    assert allreduce_note(load_gpu("rtx-3090"), 2).startswith(
        "the 2 GPUs all-reduce over an NVLink 3 bridge at 45.0 GB/s each way, assumed fitted; without one they go over "
        "PCIe 4.0 x16")
    assert allreduce_note(load_gpu("rtx-3090"), 4).startswith("all-reduces over PCIe 4.0 x16 taken at 25.6 GB/s")
    assert "RCCL's rate" in allreduce_note(load_gpu("rx-7900-xtx"), 2) and allreduce_note(load_gpu("mi300x"), 8) is None
    assert allreduce_note(load_gpu("h100-sxm"), 16).startswith("a split over 16 GPUs crosses machines")
    from planner.gpus import custom_gpu

    custom = custom_gpu(memory_bytes=24 * 2**30, bandwidth_bytes_per_s=1e12, tflops_bf16=100)
    assert allreduce_note(custom, 2).startswith("this GPU's links are not known: planner takes PCIe 4.0 x16")
    analytic = app(gpu="l40s", model="meta-llama/Meta-Llama-3-8B", n_gpus="2", split="tensor", context="4096")
    assert "All-reduces over PCIe 4.0 x16 taken at 25.6 GB/s each way" in caption(analytic)
    served = app(gpu="l40s", model="meta-llama/Meta-Llama-3-8B", engine="sglang", n_gpus="2", context="4096")
    assert "All-reduces over PCIe 4.0 x16 taken" in caption(served)
    assert "ll-reduces over" not in caption(app(gpu="h100-sxm", model="meta-llama/Meta-Llama-3-8B", n_gpus="2",
                                                split="tensor", context="4096"))
    assert "ll-reduces over" not in caption(app(gpu="l40s", model="meta-llama/Meta-Llama-3-8B", n_gpus="2",
                                                split="pipeline", context="4096"))


def test_the_speed_figures_name_their_efficiency_entries():
    """The dashboard names the efficiency.yaml entries behind its speed figures, as the CLI and Python do: the same
    entries planner.estimate reports, Metal's own per-layer time on an Apple GPU."""
    kw = dict(engine="llama.cpp", quant="q4_k_m", model="meta-llama/Meta-Llama-3-8B", context="4096")
    for gpu in ("rtx-4090", "m4"):
        used = estimate("meta-llama/Meta-Llama-3-8B", quant="q4_k_m", context=4096, gpu=gpu,
                        engine="llama.cpp").performance.efficiency_entries
        shown = caption(app(gpu=gpu, **kw)).replace("\\:", ":")  # the app escapes colons for Markdown
        assert (f"decode {used['decode']}, prefill {used['prefill']}, per-layer time {used['layers']}" in shown), shown
    assert "llama.cpp/metal" in used["layers"]
    # every layer on the GPU: what stays in CPU RAM is the embedding table, not layers decode reads from the host
    assert "token-embedding table" in shown and "host-memory speed" not in shown and "op offload" not in shown


def test_a_batch_of_requests_shows_its_steady_stream():
    """Concurrent requests that generate (the context less the prompt): the stream's per-request rate, with the
    prefills of arriving requests, beside the plain decode figures; none for one request."""
    kw = dict(model="meta-llama/Meta-Llama-3-8B", gpu="h100-sxm", context="2048", generated="1024")
    p = estimate("meta-llama/Meta-Llama-3-8B", context=2048, prompt=1024, batch=16, gpu="h100-sxm").performance
    shown = caption(app(batch="16", **kw)).replace("\\:", ":")
    assert f"Serving 16 requests at a time, 1,024 tokens in and 1,024 out each: " \
           f"{p.serving_decode_tokens_per_s:.1f} tok/s per request" in shown, shown
    assert "Serving" not in caption(app(batch="1", **kw))


def test_a_multi_gpu_plan_shows_its_steady_stream_too():
    from planner.parallel import plan

    p = plan("meta-llama/Llama-3.1-70B", gpu="h100-sxm", n_gpus=4, context=4096, prompt=2048, batch=8)
    at = app(model="meta-llama/Llama-3.1-70B", gpu="h100-sxm", n_gpus="4", context="4096", generated="2048",
             batch="8")
    shown = caption(at).replace("\\:", ":")
    assert f"{p.serving_decode_tokens_per_s:.1f} tok/s per request" in shown, shown


def test_vllm_custom_all_reduce_is_a_dashboard_option_in_the_url():
    # vLLM 0.6.3 on 8 × MI300X: no all-reduce kernel of its own on ROCm before 0.8.3, so RCCL takes every call
    kw = dict(gpu="mi300x", model="meta-llama/Llama-2-7b-hf", quant="fp16", engine="vllm", vllm_version="0.6.3",
              n_gpus="8", context="1024")
    rccl = app(**kw)
    assert "Each all-reduce goes through RCCL" in caption(rccl)
    fork = app(custom_ar="on", **kw)  # AMD's rocm/vllm images had the kernel before 0.8.3
    assert "through RCCL" not in caption(fork) and fork.query_params["custom_ar"] == "on"
    ours = estimate("meta-llama/Llama-2-7b-hf", gpu="mi300x", quant="fp16", context=1024, engine="vllm",
                    engine_version="0.6.3", tensor_parallel_size=8, custom_all_reduce=True)
    assert metric(fork, "KV cache") == gib(ours.kv_cache_bytes)


def test_vllm_engine_core_is_a_dashboard_option_in_the_url():
    # vLLM 0.9.0 with VLLM_USE_V1=0 on an A100: V0's rules (256 sequences), its host loop said beside the speeds
    kw = dict(gpu="a100-sxm-80gb", model="meta-llama/Llama-3.1-8B", quant="bf16", engine="vllm", vllm_version="0.9.0",
              context="4096", max_model_len="4096")
    v1, v0 = app(**kw), app(vllm_core="v0", **kw)
    step = estimate("meta-llama/Llama-3.1-8B", gpu="a100-sxm-80gb", quant="bf16", context=4096, max_model_len=4096,
                    engine="vllm", engine_version="0.9.0", v1_engine=False).performance.engine_loop_seconds
    loop = f"Each step includes {1000 * step:.1f} ms of vLLM's V0 engine loop"  # the fitted loop (efficiency.yaml)
    assert step > 0 and "V0 engine loop" not in caption(v1) and loop in caption(v0)
    assert "Planned as vLLM 0.9.0 (its V0 engine, VLLM_USE_V1=0\\: 0.7.3's rules)." in caption(v0)
    # a T4 (Turing) falls back to V0 by itself before 0.10.2, and says why
    t4 = app(**{**kw, "gpu": "t4", "model": "meta-llama/Llama-3.2-3B"})
    assert "Planned as vLLM 0.9.0 (its V0 engine, V1 needs an Ampere GPU before 0.10.2\\: 0.7.3's rules)." in \
        caption(t4)
    assert v0.query_params["vllm_core"] == "v0"
    ours = estimate("meta-llama/Llama-3.1-8B", gpu="a100-sxm-80gb", quant="bf16", context=4096, max_model_len=4096,
                    engine="vllm", engine_version="0.9.0", v1_engine=False)
    assert metric(v0, "KV cache") == gib(ours.kv_cache_bytes)


def test_llama_cpp_image_encoder_from_the_sidebar():
    at = app(model="google/gemma-3-4b-it", quant="q4_k_m", engine="llama.cpp", gpu="rtx-4060-ti-16gb",
             context="8192")
    at.sidebar.checkbox(key="mmproj").check().run()
    e = estimate("gemma-3-4b", quant="q4_k_m", engine="llama.cpp", gpu="rtx-4060-ti-16gb", context=8192, mmproj=True)
    assert metric(at, "weights") == gib(e.weights_bytes) and at.query_params["mmproj"] == "1"
    assert "llama.cpp's --mmproj file holds" in caption(at)
    text = app(model="meta-llama/Llama-3.1-8B", quant="q4_k_m", engine="llama.cpp", mmproj="1")  # no encoder: no box
    assert not text.error and "mmproj" not in [c.key for c in text.sidebar.checkbox]


def test_llama_cpp_legacy_mla_gguf_from_the_sidebar():
    # a DeepSeek GGUF converted before llama.cpp's MLA support caches every head: 16 heads of K 192 and V 128
    at = app(model="deepseek-ai/DeepSeek-V2-Lite", quant="q4_k_m", engine="llama.cpp", gpu="rtx-4090",
             context="32768")
    latent = metric(at, "total")
    at.sidebar.checkbox(key="legacy_mla").check().run()
    e = estimate("deepseek-ai/DeepSeek-V2-Lite", quant="q4_k_m", engine="llama.cpp", gpu="rtx-4090", context=32768,
                 mla_gguf=False)
    assert metric(at, "total") == gib(e.total_bytes) != latent and at.query_params["legacy_mla"] == "1"
    text = app(model="meta-llama/Llama-3.1-8B", quant="q4_k_m", engine="llama.cpp", legacy_mla="1")  # no MLA: no box
    assert not text.error and "legacy_mla" not in [c.key for c in text.sidebar.checkbox]


def test_block_fp8_on_ampere_shows_the_bf16_it_loads_as():
    at = app(gpu="rtx-3090", model="Qwen/Qwen3-14B", quant="fp8-block")
    e = estimate("Qwen/Qwen3-14B", quant="fp8-block", gpu="rtx-3090")
    assert e.engine_details["dequantized_from"] == "fp8-block" and metric(at, "total") == gib(e.total_bytes)
    assert any("transformers dequantizes fp8 below compute capability 8.9" in w.value for w in at.warning)


def test_vllm_limit_mm_per_prompt_from_the_sidebar_and_the_link():
    """A vision model's vLLM options take --limit-mm-per-prompt as the CLI does: Qwen2.5-VL-7B with video=0 profiles
    its largest image, not the 14-frame video."""
    kw = dict(model="Qwen/Qwen2.5-VL-7B-Instruct", gpu="h100-sxm", engine="vllm", context="8192")
    at = app(**kw)
    at.sidebar.text_input(key="mm_limits").input("video=0").run()
    e = estimate("Qwen/Qwen2.5-VL-7B-Instruct", gpu="h100-sxm", engine="vllm", context=8192,
                 limit_mm_per_prompt={"video": 0})
    assert metric(at, "total") == gib(e.total_bytes)
    again = app(**{k: at.query_params[k] for k in at.query_params})
    assert again.query_params["mm_limits"] == "video=0" and metric(again, "total") == gib(e.total_bytes)
    bad = app(**kw, mm_limits="video")
    assert "Link parameter mm_limits=video is not modality=count pairs" in bad.warning[0].value


def test_vllm_scheduler_tokens_and_chunked_prefill_from_the_sidebar_and_the_link():
    at = app(engine="vllm", model="meta-llama/Meta-Llama-3-8B", max_batched="8192", vllm_version="0.7.3")
    e = estimate("meta-llama/Meta-Llama-3-8B", context=4096, gpu="rtx-4090", engine="vllm", engine_version="0.7.3",
                 max_num_batched_tokens=8192)
    assert metric(at, "total") == gib(e.total_bytes) and at.query_params["max_batched"] == "8192"
    at.sidebar.number_input(key="max_batched").set_value(4096).run()  # V0, unchunked, below max_model_len 8,192
    assert any("max_num_batched_tokens must be at least max_model_len" in x.value for x in at.error)
    at.sidebar.selectbox(key="chunked_prefill").set_value("on").run()
    on = estimate("meta-llama/Meta-Llama-3-8B", context=4096, gpu="rtx-4090", engine="vllm", engine_version="0.7.3",
                  max_num_batched_tokens=4096, enable_chunked_prefill=True)
    assert not at.error and metric(at, "total") == gib(on.total_bytes)
    assert at.query_params["chunked_prefill"] == "on"


def test_speed_on_paper_is_said_in_the_dashboard():
    at = app(model="meta-llama/Llama-3.1-8B", quant="awq", gpu="v100-32gb")
    assert "vLLM does not run awq-4bit-g128 weights on NVIDIA Tesla V100" in caption(at) and "on paper" in caption(at)
    assert "on paper" not in caption(app(model="meta-llama/Llama-3.1-8B", quant="awq", gpu="rtx-4090"))


def test_vllm_at_its_default_max_model_len_says_so_and_serves_the_context_in_one_click():
    """With a context below the model's maximum, vLLM's max_model_len stays the model's (131,072 for Llama 3.1): a
    4090 cannot hold one such request, and the page says why and offers the context as max_model_len, which fits."""
    at = app(engine="vllm", model="meta-llama/Llama-3.1-8B", gpu="rtx-4090", context="8192")
    assert "Does not fit" in at.error[0].value and "max_model_len 131,072" in at.error[0].value
    assert any("longer than the 8,192-token context asked" in i.value for i in at.info)
    at.button(key="use_context_len").click().run()
    assert at.query_params["max_model_len"] == "8192" and not at.error
    assert not any("longer than the" in i.value for i in at.info)


def test_vllm_data_parallel_replicas_and_expert_parallel_are_dashboard_options():
    """--data-parallel-size and --enable-expert-parallel in the vLLM settings, in the URL: the metrics are one
    replica's GPU, a caption adds the replicas up; the expert-parallel box is for MoE models only."""
    kw = dict(model="Qwen/Qwen3-30B-A3B", gpu="h100-sxm", engine="vllm", n_gpus="2", context="4096", batch="4",
              max_model_len="4096")
    at = app(vllm_dp="2", vllm_ep="1", **kw)
    ours = estimate("Qwen/Qwen3-30B-A3B", gpu="h100-sxm", engine="vllm", context=4096, batch=4, max_model_len=4096,
                    tensor_parallel_size=2, data_parallel_size=2, enable_expert_parallel=True)
    assert metric(at, "weights") == gib(ours.weights_bytes) and at.query_params["vllm_dp"] == "2"
    assert "vllm_ep" in at.query_params
    plain = estimate("Qwen/Qwen3-30B-A3B", gpu="h100-sxm", engine="vllm", context=4096, batch=4, max_model_len=4096,
                     tensor_parallel_size=2, data_parallel_size=2)
    assert (ours.engine_details["expert_parallel_size"], plain.engine_details["expert_parallel_size"]) == (4, 1)
    shown = caption(at).replace("\\:", ":")
    assert "All 2 data-parallel replicas (4 GPUs): 8 requests at a time" in shown, shown
    dense = app(model="meta-llama/Llama-3.1-8B", gpu="h100-sxm", engine="vllm", vllm_ep="1", max_model_len="4096")
    assert not dense.exception and not [c for c in dense.sidebar.checkbox if c.label == "expert parallel (MoE)"]


def test_every_engine_option_of_the_cli_is_a_dashboard_setting_in_the_url():
    """vLLM's block size, SGLang's chunked-prefill size, llama.cpp's n_batch, --fit and --kv-unified: settings of
    their engines' boxes, in the URL, reaching the estimate (llama.cpp's n_batch caps its ubatch: the metrics are the
    CLI's, not the defaults')."""
    kw = dict(model="meta-llama/Llama-3.1-8B", quant="q4_k_m", engine="llama.cpp", gpu="rtx-4090", n_ubatch="1024")
    at = app(n_batch="512", cpp_fit="off", kv_unified="1", **kw)
    ours = estimate("meta-llama/Llama-3.1-8B", quant="q4_k_m", engine="llama.cpp", gpu="rtx-4090", n_ubatch=1024,
                    n_batch=512, fit=False, kv_unified=True)
    bigger = estimate("meta-llama/Llama-3.1-8B", quant="q4_k_m", engine="llama.cpp", gpu="rtx-4090", n_ubatch=1024)
    assert metric(at, "activations") == gib(ours.activation_bytes) != gib(bigger.activation_bytes)
    assert {at.query_params[k] for k in ("n_batch", "cpp_fit", "kv_unified")} == {"512", "off", "1"}
    at = app(model="meta-llama/Llama-3.1-8B", engine="sglang", gpu="h100-sxm", sg_chunk="16384")
    assert not at.exception and at.query_params["sg_chunk"] == "16384"
    at = app(model="meta-llama/Llama-3.1-8B", engine="vllm", gpu="h100-sxm", max_model_len="8192", block_size="32")
    assert not at.exception and at.query_params["block_size"] == "32"
