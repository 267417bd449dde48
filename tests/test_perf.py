"""GPU catalog, roofline speed, the efficiency table, reverse questions and multi-GPU plans."""

import pytest

from planner import PlannerError, estimate, load_model
from planner.efficiency import decode_floor, efficiencies, layer_overhead, lookup, prefill_layer_overhead
from planner.fit import context_per_quant, fit, max_batch, max_context
from planner.gpus import UnknownGPUError, list_gpus, load_gpu
from planner.parallel import offload, plan
from planner.perf import decode_seconds_per_token, layer_overhead_seconds, prefill_seconds, weight_bytes_read

REQUIRED_GPUS = ["h100-sxm", "h100-pcie", "h200", "b200", "a100-sxm-80gb", "a100-sxm-40gb", "a100-pcie-80gb", "l40s",
                 "l4", "a10g", "t4", "v100-32gb", "rtx-3090", "rtx-4080", "rtx-4090", "rtx-5090", "rtx-4060-ti-16gb",
                 "rtx-a6000", "mi300x", "mi250x", "m1-max", "m2-ultra", "m3-max", "m4-max"]


def test_catalog_has_every_required_gpu_with_sources():
    assert set(REQUIRED_GPUS) <= set(list_gpus())
    for gid in list_gpus():
        g = load_gpu(gid)
        assert g.source.startswith("https://") and g.memory_bandwidth_bytes_per_s > 0
        assert g.usable_memory_bytes > 4 * 2**30
        if g.vendor == "nvidia" and g.cuda_memory_bytes is not None:
            # CUDA's total is nvidia-smi's less what the driver keeps: a few hundred MiB, never more than ~1 GiB
            assert 0 < g.memory_bytes - g.cuda_memory_bytes < 1.1 * 2**30, gid
        if g.memory_bytes is not None:  # what the driver reports is within a few % of the marketed capacity
            assert 0.9 < g.memory_bytes / g.memory_marketed_bytes <= 1.0, gid


def test_cuda_reported_memory_is_what_a_model_may_use():
    # CUDA on an H100 SXM reports 85,017,755,648 B (deviceQuery, CUDA 13), nvidia-smi 81,559 MiB (sources in
    # profiles/gpus/h100-sxm.yaml): every process, the CUDA context included, shares CUDA's total
    g = load_gpu("h100-sxm")
    assert g.usable_memory_bytes == 85017755648 and g.memory_bytes == 81559 * 2**20
    assert g.memory_bytes - g.usable_memory_bytes == pytest.approx(480 * 2**20, abs=2**20)  # 81,559 − 81,079 MiB
    assert load_gpu("m2-ultra").cuda_memory_bytes is None  # Apple: the unified memory's GPU share
    assert load_gpu("H100-SXM").id == "h100-sxm"


def test_an_nvidia_gpu_without_a_published_cuda_total_keeps_the_largest_reserve_seen():
    # no source prints the RTX 5080's CUDA total: planner takes nvidia-smi's 16303 MiB (profiles/gpus/rtx-5080.yaml)
    # less the largest gap of a GPU that has one, so a verdict does not count memory the driver keeps
    from planner.gpus import ASSUMED_CUDA_TOTAL, NVIDIA_DRIVER_RESERVE_BYTES

    g = load_gpu("rtx-5080")
    assert g.memory_bytes == 16303 * 2**20 and g.sources["cuda_memory_bytes"] == ASSUMED_CUDA_TOTAL
    assert g.usable_memory_bytes == g.runtime_total_bytes == (16303 - 871) * 2**20
    published = [load_gpu(i) for i in list_gpus()]
    gaps = [x.memory_bytes - x.cuda_memory_bytes for x in published if x.vendor == "nvidia"
            and x.sources.get("cuda_memory_bytes") != ASSUMED_CUDA_TOTAL]
    assert len(gaps) > 20 and max(gaps) == NVIDIA_DRIVER_RESERVE_BYTES  # A100 PCIe 80GB: 81920 − 81049 MiB


def test_apple_gpus_get_their_share_of_unified_memory():
    m2 = load_gpu("m2-ultra")
    assert m2.gpu_memory_share == 0.75 and m2.usable_memory_bytes == int(0.75 * m2.memory_bytes)


def test_unknown_gpu_suggests_close_matches():
    with pytest.raises(UnknownGPUError, match="unknown gpu 'rtx-4900'.*rtx-4090"):
        load_gpu("rtx-4900")
    assert issubclass(UnknownGPUError, PlannerError)


def test_batch1_decode_is_bytes_over_effective_bandwidth_plus_the_layers_overhead():
    spec, g = load_model("llama-3-8b"), load_gpu("rtx-3090")
    step = decode_seconds_per_token(spec, g, quant="fp16", kv_dtype="fp16", context=512, engine="llama.cpp")
    bytes_ = weight_bytes_read(spec, "fp16", tokens=1) + 512 * 128 * 1024
    eff = efficiencies(g, "fp16", "llama.cpp")[0].decode_memory  # the table's llama.cpp/cuda/float/gddr entry
    tau = layer_overhead("llama.cpp", "cuda").layer_overhead_s  # the table's llama.cpp CUDA per-layer overhead
    assert 0 < tau < 1e-3
    assert step == pytest.approx(bytes_ / (936.2e9 * eff) + 32 * tau)  # 936.2 GB/s, 32 layers
    # on an Apple GPU llama.cpp runs Metal, whose per-layer time is its own (it encodes every step anew)
    m2 = load_gpu("m2-ultra")
    metal = layer_overhead("llama.cpp", "metal")
    assert metal.backend == "metal" and metal.layer_overhead_s > tau
    step = decode_seconds_per_token(spec, m2, quant="fp16", kv_dtype="fp16", context=512, engine="llama.cpp")
    eff = efficiencies(m2, "fp16", "llama.cpp")[0].decode_memory
    assert step == pytest.approx(bytes_ / (800e9 * eff) + 32 * metal.layer_overhead_s)  # 800 GB/s
    # a backend with no entry of its own takes llama.cpp's
    assert layer_overhead("llama.cpp", "sycl") == layer_overhead("llama.cpp")
    # and an estimate names the per-layer time it took, with its entry
    entries = estimate("meta-llama/Llama-3.1-8B", quant="q4_k_m", gpu="m2-ultra").performance.efficiency_entries
    assert entries["layers"] == f"llama.cpp/metal: {1e6 * metal.layer_overhead_s:g} µs a layer"
    floor = decode_floor("transformers").decode_floor_s_per_layer
    assert estimate("meta-llama/Llama-3.1-8B", quant="fp16", gpu="h100-sxm", engine="transformers").performance \
        .efficiency_entries["layers"] == f"transformers: at least {1e6 * floor:.0f} µs a layer"


def test_each_engine_group_takes_its_own_per_layer_time():
    # compiled engines (vLLM, SGLang, TensorRT-LLM, ...) and llama.cpp each have an entry chosen on their own
    # calibration decode runs; an engine of neither group (MLX) takes the value chosen over all of them
    from planner.efficiency import _engine_entry

    assert layer_overhead("vllm") == layer_overhead("sglang") == _engine_entry("layer_overhead_s", "vllm")
    assert layer_overhead("vllm").engine == "compiled" and layer_overhead("llama.cpp").engine == "llama.cpp"
    assert layer_overhead("mlx").engine == "default"


def test_eager_engines_have_a_floor_and_no_added_overhead():
    spec, g = load_model("llama-3-8b"), load_gpu("h100-sxm")
    assert layer_overhead("transformers") is None and layer_overhead_seconds(spec, "transformers") == 0
    floor = 32 * decode_floor("transformers").decode_floor_s_per_layer
    tiny = decode_seconds_per_token(spec, g, quant="fp16", kv_dtype="fp16", context=1, engine="transformers")
    assert tiny == pytest.approx(floor)  # 16 GB at 3.35 TB/s is under the launch floor
    ttft = prefill_seconds(spec, g, quant="fp16", kv_dtype="fp16", prompt=8, engine="transformers")
    assert ttft == pytest.approx(floor)  # a short prompt's forward is launch-bound too
    long = prefill_seconds(spec, g, quant="fp16", kv_dtype="fp16", prompt=8192, engine="transformers")
    assert long > 3 * floor


def test_bitsandbytes_formats_take_their_kernels_floor():
    """transformers with bitsandbytes: a step's floor is the engine's times its kernels' ratio (FLOOR_KERNELS),
    fitted on pairs of runs of one model on one machine. bitsandbytes' own benchmark (benchmarking/README.md at
    81e6345, v0.45) has Llama-3.1-8B on an H100 at 41.0 tok/s in bf16, 30.1 in NF4, 24.3 in NF4 with double
    quantization and 12.2 in LLM.int8(): slower as the kernels a layer grow, whatever the bytes."""
    from planner.efficiency import floor_kernels, floor_ratio

    assert [floor_kernels(q) for q in ("bnb-int8", "nf4", "fp4", "nf4-dq", "fp4-dq", "gptq-8bit-g128", "bf16")] == \
        ["bnb-int8", "bnb-4bit", "bnb-4bit", "bnb-4bit-dq", "bnb-4bit-dq", "any", "any"]
    assert floor_ratio("transformers", "gptq-8bit-g128") is None
    assert floor_ratio("vllm", "bnb-int8") is None  # no floor for an engine that launches from a graph
    rates = {q: estimate("meta-llama/Llama-3.1-8B", quant=q, gpu="h100-sxm", engine="transformers", context=164)
             .performance for q in ("bf16", "nf4", "nf4-dq", "bnb-int8")}
    tps = [rates[q].decode_tokens_per_s for q in ("bf16", "nf4", "nf4-dq", "bnb-int8")]
    assert tps == sorted(tps, reverse=True) and tps[0] > 2.5 * tps[3]
    # a checkpoint that keeps some modules in 16 bits (llm_int8_skip_modules: "bnb-int8[keep=output]") runs the same
    # kernels on the rest
    kept = estimate("meta-llama/Llama-3.1-8B", quant="bnb-int8[keep=output]", gpu="h100-sxm", engine="transformers",
                    context=164).performance
    assert kept.decode_seconds_per_token == pytest.approx(rates["bnb-int8"].decode_seconds_per_token)
    floor, ratio = decode_floor("transformers").decode_floor_s_per_layer, floor_ratio("transformers", "bnb-int8")
    assert rates["bnb-int8"].decode_seconds_per_token == pytest.approx(32 * floor * ratio.decode_floor_ratio)
    assert rates["bnb-int8"].efficiency_entries["layers"] == (
        f"transformers: at least {1e6 * floor * ratio.decode_floor_ratio:.0f} µs a layer "
        f"(bnb-int8 kernels: {ratio.decode_floor_ratio:g} × its floor)")


def test_a_kept_variant_runs_its_base_formats_kernels():
    """fp8 with some modules kept in 16 bits still runs its fp8 matmuls on fp8 tensor cores: its prompt takes the
    fp8 peak, not the bf16 one (a [keep=…] name is not the base format's)."""
    from planner.perf import compute_dtype

    assert compute_dtype("fp8[keep=output]") == compute_dtype("fp8") == "fp8"
    kw = dict(gpu="h100-sxm", engine="vllm", context=8192)
    fp8 = estimate("meta-llama/Llama-3.1-8B", quant="fp8", **kw).performance.prefill_seconds
    kept = estimate("meta-llama/Llama-3.1-8B", quant="fp8[keep=output]", **kw).performance.prefill_seconds
    bf16 = estimate("meta-llama/Llama-3.1-8B", quant="bf16", **kw).performance.prefill_seconds
    assert fp8 <= kept < 0.75 * bf16


def test_tensor_parallel_prefill_splits_the_work_not_the_overhead():
    one = plan("llama-3.1-70b", gpu="h100-sxm", n_gpus=1, quant="fp8", context=4096, engine="vllm", runtime="none")
    four = plan("llama-3.1-70b", gpu="h100-sxm", n_gpus=4, quant="fp8", context=4096, engine="vllm", runtime="none")
    spec = load_model("llama-3.1-70b")
    fixed = layer_overhead_seconds(spec, "vllm", prefill=True)
    assert fixed == pytest.approx(80 * prefill_layer_overhead("vllm").prefill_layer_overhead_s)
    work = one.prefill_seconds - fixed
    assert four.prefill_seconds > work / 4 + fixed  # plus the all-reduces
    assert four.prefill_seconds < work / 4 + fixed + 0.05


def test_a_prefills_all_reduces_move_at_the_links_one_way_rate_less_nccls_overhead():
    from planner.perf import ALLREDUCE_LATENCY_S, link_bytes_per_s, tensor_parallel_seconds

    h100, l40s = load_gpu("h100-sxm"), load_gpu("l40s")
    # NVLink 4: 900 GB/s both ways, 450 GB/s each (NVIDIA's datasheet); PCIe 4.0 x16 without NVLink: 32 GB/s each way
    assert link_bytes_per_s(h100) == pytest.approx(450e9) and link_bytes_per_s(l40s) == pytest.approx(32e9)
    # a two-card NVLink bridge (RTX 3090: 112.5 GB/s both ways) joins a pair; four cards' ring crosses PCIe 4.0 x16
    rtx3090 = load_gpu("rtx-3090")
    assert link_bytes_per_s(rtx3090, 2) == pytest.approx(56.25e9)
    assert link_bytes_per_s(rtx3090, 4) == pytest.approx(32e9)
    # MI300X's xGMI is a full mesh, 7 links of 128 GB/s both ways (AMD's datasheet): two GPUs share one link
    mi300x = load_gpu("mi300x")
    assert link_bytes_per_s(mi300x, 2) == pytest.approx(64e9) and link_bytes_per_s(mi300x, 8) == pytest.approx(448e9)
    spec = load_model("llama-3.1-70b")
    kw = dict(quant="bf16", kv_dtype="bf16", context=2000, prompt=2000, engine="tensorrt-llm")
    alone = tensor_parallel_seconds(spec, h100, n=1, **kw)[2]
    eight = tensor_parallel_seconds(spec, h100, n=8, **kw)[2]
    one_way = dict(quant="bf16", kv_dtype="bf16", prompt=2000, engine="tensorrt-llm")
    # 80 layers × 2 all-reduces of 2,000 × 8,192 16-bit activations, 2·7/8 of them each way at 0.8 × 450 GB/s:
    # 25.5 ms of transfer plus 1.6 ms of call latency
    ring = 2 * 80 * (ALLREDUCE_LATENCY_S + 2 * 7 / 8 * 2000 * 8192 * 2 / (0.8 * 450e9))
    assert ring == pytest.approx(0.0271, abs=5e-4)
    assert eight == pytest.approx(prefill_seconds(spec, h100, split=8, **one_way) + ring)
    assert alone == pytest.approx(prefill_seconds(spec, h100, **one_way))


def test_moe_decode_reads_only_the_routed_experts():
    spec = load_model("mixtral-8x7b")
    one = weight_bytes_read(spec, "bf16", tokens=1)
    many = weight_bytes_read(spec, "bf16", tokens=4096)
    assert one < 0.35 * many  # 2 of 8 experts per token; a long prompt touches them all
    assert many == pytest.approx(2 * spec.param_count - 2 * spec.vocab_size * spec.d_model, rel=1e-3)


def test_throughput_grows_with_batch_until_compute_bound():
    tps = [estimate("llama-3-8b", context=1024, batch=b, gpu="h100-sxm").performance.throughput_tokens_per_s
           for b in (1, 8, 64, 128)]
    assert tps == sorted(tps) and tps[-1] / tps[-2] < tps[1] / tps[0]
    # 512 such sequences do not fit an H100 (their KV cache alone is 64 GiB): no speed for them
    assert estimate("llama-3-8b", context=1024, batch=512, gpu="h100-sxm").performance.throughput_tokens_per_s is None


def test_estimate_with_gpu_reports_fit_ttft_and_speed():
    e = estimate("meta-llama/Meta-Llama-3-8B", quant="q4_k_m", gpu="rtx-4090")
    p = e.performance
    assert e.fits and p.headroom_bytes == p.usable_memory_bytes - e.total_bytes
    assert 0 < e.prefill_seconds < 2 and 50 < e.decode_tokens_per_s < 200
    assert p.engine == "llama.cpp"
    assert not estimate("meta-llama/Llama-3.1-70B", quant="bf16", gpu="rtx-4090").fits


def test_max_context_is_the_boundary():
    ctx = max_context("microsoft/Phi-3-small-8k-instruct", quant="bf16", gpu="rtx-4060-ti-16gb")
    usable = load_gpu("rtx-4060-ti-16gb").usable_memory_bytes
    assert 0 < ctx < 8192
    assert estimate("phi-3-small", quant="bf16", context=ctx).total_bytes <= usable
    assert estimate("phi-3-small", quant="bf16", context=ctx + 1).total_bytes > usable


def test_max_context_is_capped_by_the_model_and_zero_when_weights_do_not_fit():
    assert max_context("phi-3-small", quant="q4_k_m", gpu="h100-sxm") == 8192
    assert max_context("llama-3.1-405b", quant="bf16", gpu="rtx-4090") == 0


def test_max_batch_is_the_boundary():
    b = max_batch("llama-3-8b", quant="bf16", gpu="h100-sxm", context=8192)
    usable = load_gpu("h100-sxm").usable_memory_bytes
    assert estimate("llama-3-8b", quant="bf16", context=8192, batch=b).total_bytes <= usable
    assert estimate("llama-3-8b", quant="bf16", context=8192, batch=b + 1).total_bytes > usable


def test_context_per_quant_answers_for_phi3_small():
    df = context_per_quant("microsoft/Phi-3-small-8k-instruct", gpu="rtx-4060-ti-16gb")
    assert df.set_index("quant").loc["int4", "max_context"] == 8192  # no GGUF of it exists: what vLLM runs
    assert df.set_index("quant").loc["bf16", "limited_by"] == "memory"


def test_fit_ranks_options_that_fit_and_meet_the_target():
    df = fit("meta-llama/Llama-3.1-70B", context=8192, gpus=["h100-sxm", "rtx-4090"], min_tokens_per_s=15)
    assert len(df) and df["fits"].all() and (df["decode_tokens_per_s"] >= 15).all()
    assert list(df["n_gpus"]) == sorted(df["n_gpus"])
    assert "weights" in df["explanation"].iloc[0]


def test_tensor_parallel_splits_weights_and_kv():
    one = plan("llama-3.1-70b", gpu="h100-sxm", n_gpus=1, quant="bf16", context=8192)
    two = plan("llama-3.1-70b", gpu="h100-sxm", n_gpus=2, quant="bf16", context=8192)
    assert two.per_gpu["weights_bytes"] == pytest.approx(one.per_gpu["weights_bytes"] / 2, rel=1e-3)
    assert two.per_gpu["kv_cache_bytes"] == one.per_gpu["kv_cache_bytes"] // 2
    assert two.decode_tokens_per_s > one.decode_tokens_per_s and two.communication_seconds_per_token > 0
    assert not one.fits and two.fits


def test_pipeline_parallel_splits_layers_but_not_speed():
    one = plan("llama-3.1-70b", gpu="h100-sxm", n_gpus=1, quant="bf16", context=4096, mode="pp")
    four = plan("llama-3.1-70b", gpu="h100-sxm", n_gpus=4, quant="bf16", context=4096, mode="pp")
    assert four.per_gpu["weights_bytes"] < 0.3 * one.per_gpu["weights_bytes"]
    assert four.decode_tokens_per_s <= one.decode_tokens_per_s


@pytest.mark.parametrize("call,message", [
    (lambda: plan("llama-3-8b", gpu="h100-sxm", n_gpus=0), "n_gpus must be an integer within 1–1,024, got 0"),
    (lambda: plan("llama-3-8b", gpu="h100-sxm", mode="dp"), "mode must be tp or pp, got 'dp'"),
    (lambda: plan("llama-3-8b", gpu="h100-sxm", n_ubatch=4096), "plan\\(\\) has no option 'n_ubatch'"),
    (lambda: offload("llama-3-8b", gpu="rtx-4090", gpu_layers=33), "gpu_layers must be an integer within 0–32"),
    (lambda: estimate("llama-3-8b", gpu="rtx-4090", engine="tgi"), "engine must be one of vllm, sglang, llama.cpp"),
    (lambda: max_context("llama-3-8b"), "give gpu="),
    (lambda: fit("llama-3-8b", min_tokens_per_s=-1), "min_tokens_per_s must be a finite number > 0, got -1"),
])
def test_bad_input_names_field_and_value(call, message):
    with pytest.raises(PlannerError, match=message):
        call()


def test_the_efficiency_table_falls_back_in_its_documented_order_and_names_the_entry():
    h100, m2 = load_gpu("h100-sxm"), load_gpu("m2-ultra")
    decode, _ = efficiencies(m2, "q4_k_m", "llama.cpp")
    assert decode.key.startswith("llama.cpp/") and decode.family in ("gguf", "any") and decode.derivation
    # an engine with no row of its own falls back to its group (compiled engines share one), else to "default"
    assert efficiencies(h100, "bf16", "lmdeploy")[0].engine in ("compiled", "default")
    assert efficiencies(h100, "bf16", "exllamav2")[0].engine in ("exllamav2", "compiled", "default")
    fake = lookup("decode_memory", engine="tensorrt-llm", fam="int4", cls="hbm")
    assert fake.engine in ("tensorrt-llm", "compiled", "default") and fake.family in ("int4", "any")


def test_own_efficiency_overrides_the_table_and_bad_values_are_refused():
    base = estimate("llama-3-8b", quant="q4_k_m", context=512, gpu="rtx-4090", engine="llama.cpp")
    own = estimate("llama-3-8b", quant="q4_k_m", context=512, gpu="rtx-4090", engine="llama.cpp", efficiency=1.0)
    assert own.decode_tokens_per_s > base.decode_tokens_per_s
    for bad in (0, 1.5, "fast", True):
        with pytest.raises(PlannerError, match="efficiency must be a share"):
            estimate("llama-3-8b", context=512, gpu="rtx-4090", efficiency=bad)
    with pytest.raises(PlannerError, match="engine must be one of"):
        plan("llama-3-8b", gpu="rtx-4090", engine="warp-drive")


def test_a_custom_gpu_from_its_figures_matches_the_catalog_gpu_with_the_same_figures():
    from planner.gpus import custom_gpu
    from planner.units import parse_size

    # RTX 4090 datasheet: 24 GiB GDDR6X, 1008 GB/s (profiles/gpus/rtx-4090.yaml)
    g = custom_gpu(memory_bytes=parse_size("24GiB", "memory"), bandwidth_bytes_per_s=parse_size(
        "1008GB/s", "bandwidth", per_second=True), tflops_bf16=165)
    mine = estimate("llama-3-8b", quant="q4_k_m", context=2048, gpu=g)
    catalog = estimate("llama-3-8b", quant="q4_k_m", context=2048, gpu="rtx-4090")
    assert mine.performance.decode_tokens_per_s == pytest.approx(catalog.performance.decode_tokens_per_s, rel=0.01)
    assert parse_size("1.5 TB/s", "b", per_second=True) == 1.5e12 and parse_size("512B", "m") == 512
    for bad in ("lots", "-1GB", "0B", "1e99GB"):
        with pytest.raises(PlannerError, match="must be"):
            parse_size(bad, "memory")
    # a bare number is not taken as bytes: "--gpu-memory 24" meant 24 GiB, not a GPU of 24 bytes
    with pytest.raises(PlannerError, match=r"^--gpu-memory needs a unit, e.g. 24GiB or 24GB \(B for bytes\), "
                                           r"got '24'$"):
        parse_size("24", "--gpu-memory")
    with pytest.raises(PlannerError, match=r"e.g. 1008GB/s"):
        parse_size("1008", "--gpu-bandwidth", per_second=True)
    with pytest.raises(PlannerError, match="tflops_bf16"):
        custom_gpu(memory_bytes=2**30, bandwidth_bytes_per_s=1e12, tflops_bf16=-1)


def test_a_speed_carries_the_check_halfs_error_of_its_engine_family_and_gpu_class():
    """The band beside a speed is the check half's median |error| of runs like it: the engine × weight family on the
    GPU's class where five check runs exist, else on that vendor's GPUs, else overall. llama.cpp's GGUF decode on AMD
    Instinct GPUs has no calibrated class (two calibration runs) and its check runs land far above planner's; on
    Radeon cards it has its own entry, and its check runs land close."""
    from planner.efficiency import band, efficiency_keys

    kw = dict(quant="q4_k_m", engine="llama.cpp", context=4096, prompt=512)
    on = {g: estimate("meta-llama/Llama-3.1-8B", gpu=g, **kw).performance
          for g in ("mi300x", "rx-7900-xtx", "m2-ultra", "h100-sxm")}
    instinct, radeon = band("decode", "llama.cpp", "gguf", "amd-hbm"), band("decode", "llama.cpp", "gguf", "amd")
    assert on["mi300x"].typical_error["decode"] == instinct.median_abs_error > 0.5
    assert on["rx-7900-xtx"].typical_error["decode"] == radeon.median_abs_error < 0.15
    # no Instinct entry: AMD's other class (ROCm's kernels either way) before any GPU's value
    assert on["mi300x"].efficiency_entries["decode"] == "llama.cpp/rocm/gguf/amd"
    assert efficiency_keys(load_gpu("rx-7900-xtx"), "q4_k_m", "llama.cpp")["decode"] == "llama.cpp/rocm/gguf/amd"
    # fewer than five check runs on NVIDIA's HBM class: the engine × family band over NVIDIA's GPUs, not AMD's too
    nvidia = band("decode", "llama.cpp", "gguf", "hbm")
    assert nvidia.gpu_class == "nvidia" and nvidia.runs > band("decode", "llama.cpp", "gguf", "gddr").runs
    assert on["h100-sxm"].typical_error["decode"] == nvidia.median_abs_error
    # SGLang's fp8 check runs on AMD Instinct have a band of their own, and NVIDIA's HBM class one apart from it
    # (SGLang's Qwen3.5 table on H200 and B200): an H100 does not take Instinct's ±126 %
    assert band("decode", "sglang", "fp8", "amd-hbm").gpu_class == "amd-hbm"
    nvidia_fp8 = band("decode", "sglang", "fp8", "hbm")
    assert nvidia_fp8.gpu_class in ("hbm", "nvidia") and nvidia_fp8.runs >= 5
    assert nvidia_fp8.median_abs_error < band("decode", "sglang", "fp8", "amd-hbm").median_abs_error
    # Apple's class has a band of its own, from its own check runs
    apple = band("decode", "llama.cpp", "gguf", "apple")
    assert apple.runs >= 5 and on["m2-ultra"].typical_error["decode"] == apple.median_abs_error
    assert apple is not band("decode", "llama.cpp", "gguf")


def test_ollama_runs_on_llamacpps_figures_with_the_band_of_its_own_runs():
    """planner answers Ollama with llama.cpp's figures; the error beside them is that of Ollama's own published eval
    rates (a check only, never fitted), on the GPU's class where five exist; where Ollama has none (its prompts were
    short), llama.cpp's."""
    from planner.efficiency import band

    kw = dict(quant="q4_k_m", gpu="rtx-4090", context=4096, prompt=512)
    ollama = estimate("meta-llama/Llama-3.1-8B", engine="ollama", **kw).performance
    llama = estimate("meta-llama/Llama-3.1-8B", engine="llama.cpp", **kw).performance
    assert ollama.decode_tokens_per_s == llama.decode_tokens_per_s
    own = band("decode", "ollama", "gguf", "gddr")
    assert own.engine == "ollama" and own.gpu_class == "gddr" and own.runs >= 5
    assert ollama.typical_error["decode"] == own.median_abs_error != llama.typical_error["decode"]
    assert band("ttft", "ollama", "gguf", "gddr") is band("ttft", "llama.cpp", "gguf", "gddr")
    assert ollama.typical_error["ttft"] == llama.typical_error["ttft"]
    # naming the engine it runs on as the speed engine keeps Ollama's band
    named = estimate("meta-llama/Llama-3.1-8B", engine="ollama", speed_engine="llama.cpp", **kw).performance
    assert named.typical_error == ollama.typical_error
    # a class's own band before an engine's over every GPU: on an AMD Instinct GPU, where no Ollama run was published,
    # llama.cpp's runs there (far from its figures elsewhere), not Ollama's on GeForce and Apple GPUs
    instinct = estimate("meta-llama/Llama-3.1-8B", engine="ollama", **{**kw, "gpu": "mi300x"}).performance
    assert instinct.typical_error["decode"] == band("decode", "llama.cpp", "gguf", "amd-hbm").median_abs_error > 0.3


def test_amd_gpus_take_their_class_by_memory_as_nvidias_do():
    """Radeon cards (GDDR) and Instinct accelerators (HBM) are two efficiency classes, a GPU of one's own figures
    by the vendor and memory it is given; Apple's unified memory its own."""
    from planner.efficiency import gpu_class
    from planner.gpus import custom_gpu

    assert [gpu_class(load_gpu(g)) for g in ("mi300x", "mi100", "rx-7900-xtx", "w7900", "h100-sxm", "rtx-4090")] == \
        ["amd-hbm", "amd-hbm", "amd", "amd", "hbm", "gddr"]
    own = dict(memory_bytes=64 * 2**30, bandwidth_bytes_per_s=1.6e12)
    assert gpu_class(custom_gpu(**own, vendor="amd", memory_type="HBM")) == "amd-hbm"
    assert gpu_class(custom_gpu(**own, vendor="amd")) == "amd"
    assert gpu_class(custom_gpu(**own, memory_type="unified")) == "apple"
