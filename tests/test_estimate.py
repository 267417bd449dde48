"""estimate(): components add up, follow their formulas, and bad input names the field."""

import pytest
from pydantic import ValidationError

import planner
from planner import PlannerError, UnknownModelError, UnknownQuantError, WorkloadError, estimate, load_model
from planner.activations import decode_activation_bytes, prefill_activation_bytes
from planner.overhead import overhead_bytes


def test_total_is_the_sum_of_components():
    e = estimate("meta-llama/Meta-Llama-3-8B", quant="q4_k_m", context=8192, batch=2)
    assert e.total_bytes == e.weights_bytes + e.kv_cache_bytes + e.activation_bytes + e.overhead_bytes
    assert e.weights_bytes == sum(e.breakdown["weights"].values())
    assert e.kv_cache_bytes == 2 * 2**30  # 2 sequences × 8192 tokens × 128 KiB
    assert e.overhead_bytes == overhead_bytes("cuda", activation_bytes=e.activation_bytes)
    assert set(e.to_dict()) >= {"weights_bytes", "kv_cache_bytes", "activation_bytes", "overhead_bytes",
                                "total_bytes", "breakdown"}


def test_quant_none_is_the_checkpoint_storage():
    assert estimate("llama-3-8b").workload.quant == "bf16"
    assert estimate("llama-2-7b").workload.quant == "fp16"
    assert estimate("gpt-oss-20b").weights_bytes == 13_761_264_768


def test_gguf_defaults_to_fp16_kv_cache():
    assert estimate("llama-3-8b", quant="q4_k_m").workload.kv_dtype == "fp16"


def test_result_is_frozen():
    e = estimate("llama-3-8b")
    with pytest.raises(ValidationError, match="frozen"):
        e.total_bytes = 0


def test_llama3_8b_sdpa_prefill_peak_by_formula():
    # 8192 tokens, bf16: the MLP phase dominates — the residual x and norm(x) 2·N·d, act(gate)·up 3·N·ff.
    N, d, ff = 8192, 4096, 14336
    expected = (2 * N * d + 3 * N * ff) * 2
    assert prefill_activation_bytes(load_model("llama-3-8b"), context_len=8192) == expected


def test_eager_attention_materializes_scores():
    spec = load_model("llama-3-8b")
    sdpa = prefill_activation_bytes(spec, context_len=8192, attention="sdpa")
    eager = prefill_activation_bytes(spec, context_len=8192, attention="eager")
    assert eager - sdpa > 2 * 32 * 8192 * 8192 * 2 - sdpa  # two 32×8192×8192 bf16 score tensors dominate


def test_chunked_prefill_lowers_the_peak():
    spec = load_model("llama-3-8b")
    full = prefill_activation_bytes(spec, context_len=32768)
    chunked = prefill_activation_bytes(spec, context_len=32768, chunk=2048)
    assert chunked * 4 < full  # 16× fewer rows in flight, plus each chunk's mask over all 32K keys


def test_all_position_logits_cost_vocab_per_token():
    spec = load_model("llama-3-8b")
    last = prefill_activation_bytes(spec, context_len=4096, logits="last")
    every = prefill_activation_bytes(spec, context_len=4096, logits="all")
    assert every >= 4096 * 128256 * (2 + 4) > 5 * last  # bf16 logits and their fp32 copy, per position


def test_decode_is_far_smaller_than_prefill():
    spec = load_model("llama-3-8b")
    assert decode_activation_bytes(spec, context_len=8192) * 100 < prefill_activation_bytes(spec, context_len=8192)


def test_moe_routing_buffers_count():
    spec = load_model("mixtral-8x7b")
    assert prefill_activation_bytes(spec, context_len=4096) > prefill_activation_bytes(
        spec.model_copy(update={"moe": spec.moe.model_copy(update={"n_experts": 2})}), context_len=4096) - 10**9


def test_runtime_none_drops_overhead():
    assert estimate("llama-3-8b", runtime="none").overhead_bytes == 0


@pytest.mark.parametrize("kwargs,error,message", [
    ({"context": 0}, WorkloadError, "context must be an integer ≥ 1, got 0"),
    ({"context": 10**6}, WorkloadError, "context 1,000,000 exceeds meta-llama/Meta-Llama-3-8B's max_context 8,192"),
    ({"batch": -1}, WorkloadError, "batch must be an integer ≥ 1, got -1"),
    ({"batch": 1.5}, WorkloadError, "batch must be an integer ≥ 1, got 1.5"),
    ({"chunk": 0}, WorkloadError, "chunk must be an integer ≥ 1, got 0"),
    ({"quant": "q4_k_z"}, UnknownQuantError, "unknown quant 'q4_k_z'"),
    ({"kv_dtype": "int3"}, UnknownQuantError, "unknown kv_dtype 'int3'"),
    ({"attention": "flash3"}, WorkloadError, "attention must be one of sdpa, eager, got 'flash3'"),
    ({"logits_dtype": "q8_0"}, WorkloadError, "logits_dtype must be one of fp32, fp16, bf16, got 'q8_0'"),
])
def test_bad_input_names_field_and_value(kwargs, error, message):
    with pytest.raises(error, match=message):
        estimate("meta-llama/Meta-Llama-3-8B", **kwargs)


def test_errors_are_planner_errors_and_value_errors():
    with pytest.raises(PlannerError):
        estimate("no-such-model")
    with pytest.raises(ValueError):
        estimate("no-such-model")
    assert issubclass(UnknownModelError, PlannerError)


def test_a_prompt_longer_than_the_context_is_refused_with_or_without_a_gpu():
    for gpu in (None, "rtx-4090"):
        with pytest.raises(WorkloadError, match="prompt 999,999 exceeds context 4,096"):
            estimate("meta-llama/Llama-3.1-8B", context=4096, prompt=999999, gpu=gpu)
    with pytest.raises(WorkloadError, match="prompt must be"):
        estimate("meta-llama/Llama-3.1-8B", context=4096, prompt=0)


def test_the_exported_byte_functions_take_a_model_name_as_estimate_does():
    from planner import kv_cache_bytes, load_model, weights_bytes

    spec = load_model("llama-3.1-8b")
    assert weights_bytes("llama-3.1-8b") == weights_bytes(spec) == estimate("llama-3.1-8b", quant="bf16").weights_bytes
    # 32 layers × 8 KV heads × 128 × (K and V) × 2 bytes = 128 KiB a token (Llama-3.1-8B config.json)
    assert kv_cache_bytes("llama-3.1-8b", context_len=8192) == 8192 * 128 * 2**10


def test_a_moe_without_shared_experts_has_no_shared_expert_term():
    """Mixtral has no shared experts: its MoE peak is the routed experts' pass, with nothing for a shared MLP of
    width 0 (which once counted the down projection's output, N·d, for it)."""
    from planner.activations import _ffn_bytes, _moe_bytes

    spec = load_model("mixtral-8x7b")
    m, N, a, d = spec.moe, 4096, 2, spec.d_model
    n_e = -(-N * m.experts_per_token // m.n_experts)
    routed = 2 * n_e * d * a + _ffn_bytes(spec, n_e, m.expert_d_ff, a, 0)
    assert _ffn_bytes(spec, N, 0, a, 12345) == 0
    assert _moe_bytes(spec, N, a, 0) == 3 * N * d * a + routed + max(N * m.n_experts * 8, N * m.experts_per_token * 12)


def test_gguf_weights_keep_every_token_where_llama_cpp_has_no_window():
    # llama.cpp runs Mistral-7B-v0.1 as LLM_ARCH_LLAMA, with no sliding window: 32 layers × 8 KV heads × 128 × 2 (K, V)
    # × 2 bytes = 128 KiB a token, so 32K tokens are 4 GiB; its bf16 checkpoint (transformers) keeps the 4,096 window
    gguf = planner.estimate("mistral-7b-v0.1", quant="q8_0", context=32768)
    assert gguf.kv_cache_bytes == 32768 * 128 * 2**10 == 4 * 2**30
    assert planner.estimate("mistral-7b-v0.1", context=32768).kv_cache_bytes == 4096 * 128 * 2**10
    # Gemma 3's window llama.cpp implements (LLAMACPP_SWA): its GGUF keeps the window
    capped = planner.estimate("gemma-3-27b-it", quant="q4_k_m", context=32768).kv_cache_bytes
    assert capped < planner.estimate("gemma-3-27b-it", quant="q4_k_m", context=32768, cap_sliding=False).kv_cache_bytes


def test_max_context_and_max_batch_default_to_the_checkpoint_format():
    assert planner.max_context("llama-3.1-8b", gpu="h100-sxm") == planner.max_context("llama-3.1-8b", quant="bf16",
                                                                                       gpu="h100-sxm")
    assert planner.max_batch("gpt-oss-20b", gpu="h100-sxm", context=8192) == planner.max_batch(
        "gpt-oss-20b", quant="mxfp4", gpu="h100-sxm", context=8192) > 1
    with pytest.raises(planner.WorkloadError, match="max_batch\\(\\) takes no speed_engine") as e:
        planner.max_batch("llama-3.1-8b", quant="bf16", gpu="h100-sxm", context=8192, speed_engine="vllm")
    assert isinstance(e.value, planner.PlannerError)


def test_a_speed_setting_without_a_gpu_is_refused_not_ignored():
    for option in ("efficiency", "prefill_efficiency", "speed_engine"):
        value = "sglang" if option == "speed_engine" else 0.5
        with pytest.raises(WorkloadError, match=f"{option} sets a speed figure, which needs a GPU"):
            estimate("meta-llama/Llama-3.1-8B", **{option: value})


@pytest.mark.parametrize("engine, quant", [("llama.cpp", "awq"), ("llama.cpp", "fp8"), ("exllamav2", "q4_k_m"),
                                           ("tensorrt-llm", "q4_k_m"), ("autoawq", "gptq"), ("autoawq", "bf16")])
def test_a_speed_engine_that_cannot_load_the_format_is_refused(engine, quant):
    with pytest.raises(WorkloadError, match=f"engine '{engine}' cannot load quant"):
        estimate("meta-llama/Llama-3.1-8B", quant=quant, gpu="h100-sxm", speed_engine=engine)


@pytest.mark.parametrize("model, engine, quant", [("meta-llama/Llama-3.1-8B", "llama.cpp", "q4_k_m"),
                                                  ("meta-llama/Llama-3.1-8B", "llama.cpp", "bf16"),
                                                  ("openai/gpt-oss-20b", "llama.cpp", "mxfp4"),
                                                  ("meta-llama/Llama-3.1-8B", "exllamav2", "exl2-4.65"),
                                                  ("meta-llama/Llama-3.1-8B", "autoawq", "awq"),
                                                  ("meta-llama/Llama-3.1-8B", "sglang", "fp8")])
def test_a_speed_engine_that_loads_the_format_gives_its_figure(model, engine, quant):
    assert estimate(model, quant=quant, gpu="rtx-4090", speed_engine=engine).decode_tokens_per_s > 0


def test_bitsandbytes_weights_take_transformers_speed_without_an_engine():
    """bitsandbytes is transformers' integration (today's vLLM dropped it in 0.28): its eager floors, not vLLM's
    weight-only int8 kernels, which would put LLM.int8() above bf16."""
    bnb = estimate("meta-llama/Llama-3.1-8B", quant="bnb-int8", gpu="h100-sxm").performance
    bf16 = estimate("meta-llama/Llama-3.1-8B", quant="bf16", gpu="h100-sxm").performance
    assert bnb.engine == "transformers" and bf16.engine == "vllm"
    assert bnb.decode_tokens_per_s < bf16.decode_tokens_per_s


def test_your_own_efficiency_carries_no_fitted_error_band():
    table = estimate("meta-llama/Llama-3.1-8B", gpu="h100-sxm").performance.typical_error
    own = estimate("meta-llama/Llama-3.1-8B", gpu="h100-sxm", efficiency=0.5).performance.typical_error
    assert set(table) == {"decode", "ttft"} and set(own) == {"ttft"}


def test_a_default_speed_engine_that_cannot_run_the_format_says_its_figures_are_on_paper():
    """Without an engine a non-GGUF format takes vLLM's figures; on a GPU too old for the format's kernels (AWQ below
    compute capability 7.5) the answer says they are on paper, and says nothing where vLLM runs it."""
    old = estimate("meta-llama/Llama-3.1-8B", quant="awq", gpu="v100-32gb").performance
    assert "vLLM does not run awq-4bit-g128 weights on" in old.speed_note and "on paper" in old.speed_note
    assert estimate("meta-llama/Llama-3.1-8B", quant="awq", gpu="rtx-4090").performance.speed_note is None
    named = estimate("meta-llama/Llama-3.1-8B", quant="awq", gpu="v100-32gb", speed_engine="autoawq").performance
    assert named.speed_note is None  # an engine the user named is theirs to answer for


def test_formats_made_for_cuda_kernels_are_on_paper_on_apple_gpus_and_not_ranked_there():
    """An Apple GPU's figures are MLX's (or llama.cpp's for GGUF); MLX quantizes in its own modes (affine int2-8,
    mxfp4, mxfp8, nvfp4: mlx.core.quantize's documentation), so AWQ, GPTQ, bitsandbytes and fp8 checkpoints have no
    kernel there: the estimate says its speed is on paper, and fit() leaves those formats out of Apple rows."""
    from planner.fit import fit, not_on_apple

    awq = estimate("meta-llama/Llama-3.1-8B", quant="awq", gpu="m4-max").performance
    assert "no runtime on Apple GPUs loads awq-4bit-g128" in awq.speed_note and "on paper" in awq.speed_note
    for runs in ("int4", "bf16", "mxfp4", "q4_k_m"):
        assert estimate("meta-llama/Llama-3.1-8B", quant=runs, gpu="m4-max").performance.speed_note is None
    df = fit("meta-llama/Llama-3.1-8B", context=4096, gpus=["m4-max", "rtx-4090"], quants=["awq", "int4", "fp8"],
             only_fitting=False)
    apple = set(df[df["gpu"] == "m4-max"]["quant"])
    # int4 on an Apple GPU is MLX's own 4-bit, the file people run there
    assert apple == {"mlx-4bit"} and {"awq-4bit-g128", "fp8"} <= set(df[df["gpu"] == "rtx-4090"]["quant"])
    assert not_on_apple(df).startswith("awq-4bit-g128, fp8 are not ranked on Apple GPUs")
    assert not_on_apple(fit("meta-llama/Llama-3.1-8B", context=4096, gpus=["rtx-4090"], quants=["awq"])) is None


def test_mlx_formats_quantize_every_linear_and_embedding_and_an_apple_fit_ranks_them():
    """MLX's affine quantization (mlx.nn.quantize: every Linear and Embedding layer, groups of 64 by default, a 16-bit
    scale and bias per group) stores bits + 32/group bits per weight on all but the norms: 4.5 for mlx-4bit, 8.5
    for mlx-8bit. A fit() on an Apple GPU ranks MLX's own formats where its default list says int4 and int8; a fit()
    on a catalog GPU given another memory size names it as it was given, not as a catalog id. On an Apple GPU int4 and
    int8 are MLX's own 4- and 8-bit, by default or asked for."""
    from planner.fit import fit
    from planner.gpus import with_memory
    from planner.profiles import load_model
    from planner.weights import weights_bytes

    spec = load_model("meta-llama/Llama-3.1-8B")
    norms = (2 * spec.n_layers + 1) * spec.d_model  # RMSNorm weights, 16-bit under every format
    for quant, bpw in (("mlx-4bit", 4.5), ("mlx-8bit", 8.5), ("mlx-4bit-g32", 5.0), ("mlx-3bit-g128", 3.25)):
        assert weights_bytes(spec, quant) == (spec.param_count - norms) * bpw / 8 + 2 * norms, quant
    assert estimate(spec, quant="mlx-4bit", gpu="rtx-4090").performance.engine == "mlx"
    for engine in ("vllm", "sglang", "transformers"):  # none of them loads MLX's files
        with pytest.raises(WorkloadError, match="cannot load MLX's own weights"):
            estimate(spec, quant="mlx-4bit", gpu="h100-sxm", engine=engine)
    with pytest.raises(UnknownQuantError, match="MLX group size must be 32, 64 or 128, got 16"):
        estimate(spec, quant="mlx-4bit-g16")
    df = fit(spec, context=4096, gpus=["m4-max", "rtx-4090"], only_fitting=False)
    assert {"mlx-4bit", "mlx-8bit"} <= set(df[df["gpu"] == "m4-max"]["quant"])
    assert not {"int4", "int8"} & set(df[df["gpu"] == "m4-max"]["quant"])
    asked = fit(spec, context=4096, gpus=["m4-max"], quants=["int8"], only_fitting=False)
    assert list(asked["quant"]) == ["mlx-8bit"]
    assert {"int4", "int8"} <= set(df[df["gpu"] == "rtx-4090"]["quant"])
    big = fit("meta-llama/Llama-3.1-70B", context=8192, gpus=with_memory("rtx-4090", 48 * 2**30))
    assert set(big["gpu"]) == {"rtx-4090-48gb"} and (big["n_gpus"] == 2).any()


def test_table_sweep_and_training_name_a_misspelt_option_and_a_gguf_of_a_model_llama_cpp_cannot_run_is_on_paper():
    """Every entry point refuses an option it does not take with the one meant (a TypeError before); the plain
    estimate of a GGUF format for a model llama.cpp cannot run (Phi-3-small, ggml-org/llama.cpp#7922) says its speed
    is on paper; planner.format_bytes is at the top, as README shows it."""
    with pytest.raises(WorkloadError, match=r"table\(\) has no option 'contxts'; did you mean contexts\?"):
        planner.table("microsoft/Phi-3-small-8k-instruct", contxts=[1024])
    with pytest.raises(WorkloadError, match=r"sweep\(\) has no option 'gpu'; it takes quants, contexts"):
        planner.sweep(["microsoft/Phi-3-small-8k-instruct"], ["bf16"], [4096], [1], gpu="rtx-4090")
    with pytest.raises(WorkloadError, match=r"unknown training option 'rank' \(did you mean lora_rank\?\)"):
        planner.train_estimate("meta-llama/Llama-3.1-8B", method="lora", rank=16)
    p = estimate("microsoft/Phi-3-small-8k-instruct", quant="q4_k_m", gpu="rtx-4090").performance
    assert "llama.cpp cannot run this architecture" in p.speed_note and "on paper" in p.speed_note
    assert planner.format_bytes(24_612_967_219, "GB") == "24.61 GB"


def test_an_estimate_prints_in_words_and_reprs_in_one_line():
    """print(estimate) shows what runs, the components in the unit asked, and the verdict with its speed; the repr
    a notebook shows is one line (pydantic's was every field, 1,900 characters)."""
    e = estimate("meta-llama/Llama-3.1-8B", gpu="rtx-4090", context=8192)
    text, p = str(e), e.performance
    assert text == e.summary("GiB") and text.splitlines()[0] == (
        "meta-llama/Llama-3.1-8B — bf16 weights, bf16 KV cache, context 8,192, batch 1")
    assert f"  total             {e.total_bytes / 2**30:.2f} GiB" in text.splitlines()
    assert f"rtx-4090: fits in {p.usable_memory_bytes / 2**30:.2f} GiB ({p.headroom_bytes / 2**30:.2f} GiB " \
           "headroom)" in text
    assert f"decode: {p.decode_tokens_per_s:.1f} tokens/s per sequence (typically ±" in text
    assert [line.split() for line in e.summary("gb").splitlines() if line.startswith("  total")] == [
        ["total", f"{e.total_bytes / 1e9:.2f}", "GB"]]
    assert repr(e) == (f"Estimate(model='meta-llama/Llama-3.1-8B', quant='bf16', context=8192, batch=1, "
                       f"total={e.total_bytes / 2**30:.2f} GiB, fits=True on rtx-4090)")
    big = estimate("meta-llama/Llama-3.1-70B", gpu="rtx-4090", context=8192)
    assert str(big).splitlines()[-1] == f"rtx-4090: does NOT fit: {big.performance.reason}"
    assert "no GPU given" in str(estimate("meta-llama/Llama-3.1-8B"))
    with pytest.raises(planner.PlannerError, match="unit 'GIGS' is not one of"):
        e.summary("GIGS")


def test_a_prompt_prefilled_in_one_pass_says_what_it_takes_and_what_an_engine_does_instead(capsys):
    """gpt-oss-20b at 131,072 tokens on an RTX 4090: the plain model prefills the prompt in one pass (4.92 GiB of
    activations, and the allocator's slack with them) and does not fit, where vLLM, prefilling in chunks, starts. The
    verdict says why, at batch 1 too, in the CLI and in print(); a short prompt's small peak gets no note."""
    from planner.cli import main

    e = estimate("openai/gpt-oss-20b", context=131072, gpu="rtx-4090")
    peak = e.breakdown["activation"]["prefill_peak"]
    assert not e.fits and estimate("openai/gpt-oss-20b", context=131072, gpu="rtx-4090", engine="vllm").fits
    said = (f"the 131,072-token prompt prefills in one pass, as one generate() call does, with {peak / 2**30:.2f} GiB "
            "of activations at its peak; a serving engine admits requests into its KV pool and prefills them in chunks")
    assert said in str(e) and "engine='vllm'" in str(e)
    assert main(["estimate", "openai/gpt-oss-20b", "--context", "128K", "--gpu", "rtx-4090"]) == 0
    assert said in capsys.readouterr().out
    assert "one pass" not in str(estimate("openai/gpt-oss-20b", context=4096, gpu="rtx-4090"))
    assert "one pass" not in str(estimate("meta-llama/Llama-3.1-8B", quant="q4_k_m", context=131072, gpu="h100-sxm"))


def test_a_kv_cache_the_default_speed_engine_does_not_keep_is_on_paper():
    """The plain estimate's speed is the engine users run the weights in: llama.cpp for GGUF, vLLM for fp8 on an H100.
    llama.cpp has no fp8 cache and vLLM no q8_0 one (--cache-type-k, --kv-cache-dtype): such figures are on paper;
    a cache the engine keeps gets no note."""
    p = estimate("meta-llama/Llama-3.1-8B", quant="q4_k_m", kv_dtype="fp8", gpu="rtx-4090").performance
    assert p.speed_note == ("no engine named: these are llama.cpp's figures, but llama.cpp keeps no fp8 KV cache (its "
                            "formats: fp32, fp16, bf16, q8_0, q4_0), so they are on paper")
    p = estimate("meta-llama/Llama-3.1-8B", quant="fp8", kv_dtype="q8_0", gpu="h100-sxm").performance
    assert "vLLM keeps no q8_0 KV cache" in p.speed_note
    for quant, kv in (("q4_k_m", "q8_0"), ("fp8", "fp8"), ("bf16", None)):
        assert estimate("meta-llama/Llama-3.1-8B", quant=quant, kv_dtype=kv, gpu="h100-sxm").performance.speed_note \
            is None


def test_a_table_in_bytes_holds_whole_bytes():
    df = planner.table("meta-llama/Llama-3.1-8B", unit="B", contexts=[4096], quants=["bf16", "q4_k_m"])
    assert str(df.dtypes.iloc[0]) == "int64"
    assert df.loc["q4_k_m", "4K"] == estimate("meta-llama/Llama-3.1-8B", quant="q4_k_m", context=4096).total_bytes


def test_max_context_and_max_batch_answer_for_an_engine():
    """With engine=, the largest context (batch) the engine starts and runs, sized as it would be served (vLLM's
    max_model_len set to the context): on the boundary, one more does not. The plain model's one-pass prefill holds
    less than vLLM's chunked one (Llama-3.1-70B int4 on an H100); vLLM's concurrency at 8K on an H100 is its KV
    blocks', not the plain batch's."""
    kw = dict(quant="int4", gpu="h100-sxm")
    longest = planner.max_context("meta-llama/Llama-3.1-70B", engine="vllm", **kw)
    assert longest > planner.max_context("meta-llama/Llama-3.1-70B", **kw)
    e = estimate("meta-llama/Llama-3.1-70B", engine="vllm", context=longest, max_model_len=longest, **kw)
    assert e.fits and e.engine_refusal is None
    assert estimate("meta-llama/Llama-3.1-70B", engine="vllm", context=longest + 1, max_model_len=longest + 1,
                    **kw).engine_refusal is not None
    n = planner.max_batch("meta-llama/Llama-3.1-8B", quant="fp8", gpu="h100-sxm", context=8192, engine="vllm")
    one = dict(quant="fp8", gpu="h100-sxm", context=8192, engine="vllm", max_model_len=8192)
    assert estimate("meta-llama/Llama-3.1-8B", batch=n, **one).engine_refusal is None
    assert estimate("meta-llama/Llama-3.1-8B", batch=n + 1, **one).engine_refusal is not None
    with pytest.raises(WorkloadError, match="with an engine, give gpu="):
        planner.max_context("meta-llama/Llama-3.1-8B", engine="vllm", memory_bytes=2**34)
    with pytest.raises(WorkloadError, match=r"max_batch\(\) with an engine needs context="):
        planner.max_batch("meta-llama/Llama-3.1-8B", engine="vllm", gpu="h100-sxm")


def test_kv_cache_bytes_takes_context_as_estimate_calls_it():
    # Llama-3.1-8B: 32 layers × 8 KV heads × 128 × 2 (K and V) × 2 bytes = 128 KiB a token (its config.json)
    assert planner.kv_cache_bytes("llama-3.1-8b", context=8192) == 8192 * 128 * 2**10
    assert planner.kv_cache_bytes("llama-3.1-8b", context_len=8192) == 8192 * 128 * 2**10
    with pytest.raises(WorkloadError, match="give context="):
        planner.kv_cache_bytes("llama-3.1-8b", context=8192, context_len=8192)
