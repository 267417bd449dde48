"""GPU catalog, roofline speed, reverse questions and multi-GPU plans."""

import pytest

from planner import PlannerError, WorkloadError, estimate, load_model
from planner.efficiency import decode_floor, efficiencies, layer_overhead, lookup, prefill_layer_overhead
from planner.fit import context_per_quant, fit, max_batch, max_context
from planner.gpus import UnknownGPUError, list_gpus, load_gpu
from planner.parallel import offload, plan
from planner.perf import decode_seconds_per_token, layer_overhead_seconds, prefill_seconds, weight_bytes_read
from planner.weights import stored_tensors

REQUIRED_GPUS = ["h100-sxm", "h100-pcie", "h200", "b200", "a100-sxm-80gb", "a100-sxm-40gb", "a100-pcie-80gb", "l40s",
                 "l4", "a10g", "t4", "v100-32gb", "rtx-3090", "rtx-4080", "rtx-4090", "rtx-5090", "rtx-4060-ti-16gb",
                 "rtx-a6000", "mi300x", "mi250x", "m1-max", "m2-ultra", "m3-max", "m4-max"]


def test_catalog_has_every_required_gpu_with_sources():
    assert set(REQUIRED_GPUS) <= set(list_gpus())
    for gid in list_gpus():
        g = load_gpu(gid)
        assert g.source.startswith("https://") and g.memory_bandwidth_bytes_per_s > 0
        assert g.usable_memory_bytes > 8 * 2**30


def test_cuda_reported_memory_is_what_a_model_may_use():
    # CUDA on an H100 SXM reports 85,017,755,648 B (deviceQuery, CUDA 13), nvidia-smi 81,559 MiB (sources in
    # profiles/gpus/h100-sxm.yaml): every process, the CUDA context included, shares CUDA's total
    g = load_gpu("h100-sxm")
    assert g.usable_memory_bytes == 85017755648 and g.memory_bytes == 81559 * 2**20
    assert g.memory_bytes - g.usable_memory_bytes == pytest.approx(480 * 2**20, abs=2**20)  # 81,559 − 81,079 MiB
    assert load_gpu("m2-ultra").cuda_memory_bytes is None  # Apple: the unified memory's GPU share
    assert load_gpu("H100-SXM").id == "h100-sxm"


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
    tau = layer_overhead("llama.cpp").layer_overhead_s  # the table's per-layer overhead (no llama.cpp entry: default)
    assert 0 < tau < 1e-3
    assert step == pytest.approx(bytes_ / (936.2e9 * eff) + 32 * tau)  # 936.2 GB/s, 32 layers


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


def test_tensor_parallel_prefill_splits_the_work_not_the_overhead():
    one = plan("llama-3.1-70b", gpu="h100-sxm", n_gpus=1, quant="fp8", context=4096, engine="vllm", runtime="none")
    four = plan("llama-3.1-70b", gpu="h100-sxm", n_gpus=4, quant="fp8", context=4096, engine="vllm", runtime="none")
    spec = load_model("llama-3.1-70b")
    fixed = layer_overhead_seconds(spec, "vllm", prefill=True)
    assert fixed == pytest.approx(80 * prefill_layer_overhead("vllm").prefill_layer_overhead_s)
    work = one.prefill_seconds - fixed
    assert four.prefill_seconds > work / 4 + fixed  # plus the all-reduces
    assert four.prefill_seconds < work / 4 + fixed + 0.05


def test_moe_decode_reads_only_the_routed_experts():
    spec = load_model("mixtral-8x7b")
    one = weight_bytes_read(spec, "bf16", tokens=1)
    many = weight_bytes_read(spec, "bf16", tokens=4096)
    assert one < 0.35 * many  # 2 of 8 experts per token; a long prompt touches them all
    assert many == pytest.approx(2 * spec.param_count - 2 * spec.vocab_size * spec.d_model, rel=1e-3)


def test_throughput_grows_with_batch_until_compute_bound():
    tps = [estimate("llama-3-8b", context=1024, batch=b, gpu="h100-sxm").performance.throughput_tokens_per_s
           for b in (1, 8, 64, 512)]
    assert tps == sorted(tps) and tps[-1] / tps[-2] < tps[1] / tps[0]


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
    assert df.set_index("quant").loc["q4_k_m", "max_context"] == 8192
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


def test_cpu_offload_moves_layers_to_host_and_slows_decode():
    full = offload("llama-3.1-70b", gpu="rtx-4090", gpu_layers=80, quant="q4_k_m", context=4096)
    half = offload("llama-3.1-70b", gpu="rtx-4090", gpu_layers=40, quant="q4_k_m", context=4096)
    assert not full.fits and half.device_bytes < full.device_bytes and half.host_bytes > full.host_bytes
    assert half.decode_tokens_per_s < full.decode_tokens_per_s


def test_offloaded_moe_layers_read_only_the_experts_a_step_touches():
    # at batch 1 a step reads the dense tensors and k of E experts of each layer, wherever the layer lives: a MoE
    # model decodes from system RAM at its active size (Qwen3-30B-A3B: 8 of 128 experts), not its total size
    from planner.perf import HOST_MEMORY_EFFICIENCY, HOST_RAM_BYTES_PER_S, memory_efficiency, offload_seconds_per_token
    from planner.weights import stored_tensors

    spec, g = load_model("Qwen/Qwen3-30B-A3B"), load_gpu("rtx-4090")
    read = sum(t.nbytes * (8 / 128 if t.is_routed_expert else 1) for t in stored_tensors(spec, "q4_k_m")
               if t.group != "embedding")
    gpu_rate = g.memory_bandwidth_bytes_per_s * memory_efficiency(g, "q4_k_m", "llama.cpp", spec)

    def step(ngl):
        return offload_seconds_per_token(spec, g, quant="q4_k_m", kv_total=0, n_gpu_layers=ngl, full_step=1.0)

    # all in system RAM: those bytes at the host's speed instead of the GPU's; all on the GPU: the GPU's own step
    assert step(0) - step(49) == pytest.approx(read * (1 / (HOST_RAM_BYTES_PER_S * HOST_MEMORY_EFFICIENCY)
                                                       - 1 / gpu_rate), rel=1e-9)
    assert step(49) == 1.0
    assert offload("Qwen/Qwen3-30B-A3B", gpu="rtx-4090", gpu_layers=0, quant="q4_k_m").decode_tokens_per_s > 10


def test_moving_weights_to_system_ram_never_speeds_decode_up():
    # llama.cpp -ngl k: the output and the last k - 1 layers on the GPU (from b7467); --n-cpu-moe N: the experts of
    # the first N layers in system RAM. Every byte moved to system RAM is read more slowly, and the same placement
    # reads at the same speed whichever way it is asked for.
    kw = dict(quant="q4_k_m", engine="llama.cpp", gpu="rtx-4090", context=8192)
    speeds = [estimate("Qwen/Qwen3-30B-A3B", **kw, n_gpu_layers=49, n_cpu_moe=n).decode_tokens_per_s
              for n in (0, 1, 12, 24, 48)]
    assert speeds == sorted(speeds, reverse=True) and speeds[0] > speeds[1]
    same = [estimate("Qwen/Qwen3-30B-A3B", **kw, n_gpu_layers=25, n_cpu_moe=n) for n in (0, 12, 23)]
    assert len({e.decode_tokens_per_s for e in same}) == 1 and len({e.weights_bytes for e in same}) == 1
    dense = [estimate("meta-llama/Meta-Llama-3-8B", **kw, n_gpu_layers=n).decode_tokens_per_s for n in (33, 32, 16)]
    assert dense == sorted(dense, reverse=True) and dense[1] < dense[0]  # -ngl 32: the first layer in RAM


def test_a_prompt_copies_the_experts_kept_in_system_ram_to_the_gpu_once_per_ubatch():
    """llama.cpp's op offload: with every layer on the GPU and experts in system RAM (--n-cpu-moe), a prompt ubatch of
    ≥ 32 tokens copies them to the GPU and runs them there, so the time to first token is the all-on-GPU prefill
    plus one copy per ubatch at the host link's datasheet speed; with whole layers in system RAM (their attention on
    the CPU) it is not modelled."""
    kw = dict(quant="q4_k_m", engine="llama.cpp", gpu="rtx-4090", context=8192, n_gpu_layers=49)
    on_gpu = estimate("Qwen/Qwen3-30B-A3B", **kw, prompt=1024).performance
    some = estimate("Qwen/Qwen3-30B-A3B", **kw, n_cpu_moe=24, prompt=1024)
    copy = some.engine_details["ubatch_copy_bytes"]
    experts = sum(t.nbytes for t in stored_tensors(load_model("Qwen/Qwen3-30B-A3B"), "q4_k_m")
                  if t.is_routed_expert and t.layer < 24)
    assert copy == experts
    link = load_gpu("rtx-4090").host_link.bytes_per_s
    assert some.performance.host_copy_seconds == pytest.approx(copy / link)
    assert some.performance.prefill_seconds == pytest.approx(on_gpu.prefill_seconds + 2 * copy / link)  # 2 × 512
    layers = estimate("Qwen/Qwen3-30B-A3B", **{**kw, "n_gpu_layers": 30}, prompt=1024)
    assert layers.performance.prefill_seconds is None and "ubatch_copy_bytes" not in layers.engine_details
    # the ubatch as llama.cpp runs it: -ub above -b is capped at -b (4096 → 2048: two copies for 4,096 tokens); a
    # batch's prompts run one after another (4 × 1,024 tokens: eight ubatches of 512); a prompt under 32 tokens
    # runs its host matrices on the CPU (not modelled)
    ub = estimate("Qwen/Qwen3-30B-A3B", **kw, n_cpu_moe=24, prompt=4096, n_ubatch=4096)
    assert ub.engine_details["ubatch_tokens"] == 2048
    big = estimate("Qwen/Qwen3-30B-A3B", **kw, n_cpu_moe=24, prompt=4096, n_ubatch=2048)
    assert ub.performance.prefill_seconds == pytest.approx(big.performance.prefill_seconds)
    four = estimate("Qwen/Qwen3-30B-A3B", **{**kw, "context": 2048}, n_cpu_moe=24, prompt=1024, batch=4)
    alone = estimate("Qwen/Qwen3-30B-A3B", **{**kw, "context": 2048}, batch=4, prompt=1024)
    assert four.performance.prefill_seconds == pytest.approx(alone.performance.prefill_seconds + 8 * copy / link)
    assert estimate("Qwen/Qwen3-30B-A3B", **kw, n_cpu_moe=24, prompt=16).performance.prefill_seconds is None


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
    assert efficiencies(h100, "bf16", "sglang")[0].engine in ("compiled", "default")
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
    assert parse_size("1.5 TB/s", "b", per_second=True) == 1.5e12 and parse_size("512", "m") == 512
    for bad in ("lots", "-1GB", "0", "1e99GB"):
        with pytest.raises(PlannerError, match="must be"):
            parse_size(bad, "memory")
    with pytest.raises(PlannerError, match="tflops_bf16"):
        custom_gpu(memory_bytes=2**30, bandwidth_bytes_per_s=1e12, tflops_bf16=-1)


def test_pipeline_steps_follow_llamacpps_copies():
    from planner.perf import pipeline_steps

    assert pipeline_steps(1, 8) == 8  # one micro-batch walks every stage
    assert pipeline_steps(4, 4) == 7  # four in flight over four stages: 3 + 4
    assert pipeline_steps(4, 1) == 4  # one GPU: one after another
    assert pipeline_steps(5, 8) == 16  # the fifth waits for the first copy to leave the eighth stage


def test_llamacpp_prefill_pipelines_micro_batches_over_layer_split_gpus():
    spec, g = load_model("meta-llama/Meta-Llama-3-8B"), load_gpu("rtx-4090")
    kw = dict(quant="q4_k_m", kv_dtype="f16", engine="llama.cpp")
    one, four = (prefill_seconds(spec, g, prompt=512, stages=n, **kw) for n in (1, 4))
    assert four == pytest.approx(one)  # a single micro-batch cannot overlap with anything
    one, four = (prefill_seconds(spec, g, prompt=4096, stages=n, **kw) for n in (1, 4))
    # 4096 tokens = 2 batches of 4 micro-batches: 8 micro-batch times on one GPU, 2 × (3 + 4) / 4 = 3.5 on four
    assert four / one == pytest.approx(3.5 / 8, rel=0.02)


def test_a_served_requests_latency_comes_from_server_benchmarks():
    from planner.efficiency import request_seconds

    assert 0.005 < request_seconds("vllm") < 0.3
    p = plan("llama-3.1-8b", gpu="h100-sxm", quant="bf16", context=1024, engine="vllm")
    assert p.request_overhead_seconds == request_seconds("vllm")
    e = estimate("llama-3.1-8b", quant="bf16", context=1024, gpu="h100-sxm")
    assert e.performance.request_overhead_seconds == request_seconds(e.performance.engine)


def test_a_moe_split_over_gpus_pays_its_fitted_time_per_routed_expert():
    """profiles/efficiency.yaml's moe_expert_overhead_s, fitted on the calibration half's latency-bound MoE runs on
    eight GPUs: each routed expert of each MoE layer adds it to a step when split over several GPUs; dense models and
    one GPU pay none."""
    from planner import load_model
    from planner.efficiency import moe_expert_overhead
    from planner.perf import moe_split_seconds

    per_expert = moe_expert_overhead("sglang").moe_expert_overhead_s
    assert 0 < per_expert < 1e-5
    v3 = load_model("deepseek-ai/DeepSeek-V3")  # 61 layers, the first 3 dense (config.json first_k_dense_replace)
    assert moe_split_seconds(v3, "sglang", 8) == pytest.approx(58 * 256 * per_expert)
    # each engine its own value where its calibration runs give one (SGLang's), else its group's, else the default
    entry = moe_expert_overhead("tensorrt-llm")
    assert entry.engine in ("tensorrt-llm", "compiled", "default") and entry is not moe_expert_overhead("sglang")
    mixtral = load_model("mistralai/Mixtral-8x7B-v0.1")  # 32 layers of 8 experts
    assert moe_split_seconds(mixtral, "tensorrt-llm", 2) == pytest.approx(32 * 8 * entry.moe_expert_overhead_s)
    assert moe_split_seconds(v3, "sglang", 1) == 0.0
    assert moe_split_seconds(load_model("meta-llama/Llama-3.1-70B"), "vllm", 8) == 0.0


def test_moe_prefill_pays_for_whole_expert_tiles():
    """profiles/efficiency.yaml's moe_prefill_tile: in a prefill step each routed expert gets step_tokens·k/E tokens,
    and its matmul does whole tiles' work. Qwen3-30B-A3B (128 experts, 8 a token: config.json) in llama.cpp's
    512-token micro-batches hands an expert 32 tokens; dense models pay nothing."""
    from planner.efficiency import moe_prefill_tile, table, trial
    from planner.perf import _expert_matmul_params, moe_padding_flops

    tile = moe_prefill_tile("llama.cpp").moe_prefill_tile
    assert tile in (8, 16, 32, 64, 128, 256)
    qwen = load_model("Qwen/Qwen3-30B-A3B")
    expert = _expert_matmul_params(qwen)
    assert expert == 48 * 8 * 3 * 2048 * 768  # 48 layers × 8 experts × gate/up/down of 2048 × 768
    padded = -(-32 // tile) * tile
    assert moe_padding_flops(qwen, "llama.cpp", tokens=512, step_tokens=512) == pytest.approx(
        2 * expert * 512 * (padded / 32 - 1))
    assert moe_padding_flops(load_model("meta-llama/Llama-3.1-8B"), "llama.cpp", tokens=512, step_tokens=512) == 0.0
    g = load_gpu("rtx-4090")
    with_tiles = prefill_seconds(qwen, g, quant="q4_k_m", kv_dtype="f16", prompt=512, engine="llama.cpp")
    entries = [e.model_dump(exclude_none=True) for e in table() if e.moe_prefill_tile is None]
    with trial({"entries": entries}):
        assert prefill_seconds(qwen, g, quant="q4_k_m", kv_dtype="f16", prompt=512, engine="llama.cpp") < with_tiles


def test_a_prefill_step_pays_the_fitted_prefill_time_per_layer():
    """profiles/efficiency.yaml's prefill_layer_overhead_s per engine group, chosen on the calibration half's time to
    first token: a prefill step runs outside the decode's captured graphs, so a short prompt's time to first token is
    mostly layers × that time. Eager transformers keep their floor instead."""
    from planner.perf import step_seconds

    llama = load_model("meta-llama/Llama-3.1-8B")
    for engine in ("vllm", "llama.cpp"):
        per_layer = prefill_layer_overhead(engine).prefill_layer_overhead_s
        assert 20e-6 <= per_layer <= 300e-6
        assert step_seconds(0.01, llama, engine, prefill=True) == pytest.approx(0.01 + 32 * per_layer)
    assert prefill_layer_overhead("transformers") is None
    assert step_seconds(0.01, llama, "transformers", prefill=True) == step_seconds(0.01, llama, "transformers")


def test_llamacpp_prefill_runs_quantized_weights_on_int8_tensor_cores_from_b3216():
    from planner.perf import LLAMACPP_MMQ_BUILD, llamacpp_matmul_dtype

    # PR #8075 "CUDA: use MMQ instead of cuBLAS by default" is commit a818f302, the 3216th of llama.cpp's history
    assert LLAMACPP_MMQ_BUILD == 3216
    g = load_gpu("rtx-4090")
    assert llamacpp_matmul_dtype("q4_k_m", g) == "int8"  # the current build
    assert llamacpp_matmul_dtype("q4_k_m", g, build=3215) == "fp16_acc16"  # cuBLAS before
    assert llamacpp_matmul_dtype("q4_k_m", g, "vulkan") == "fp16_acc16"  # MMQ is the CUDA backend's
    assert llamacpp_matmul_dtype("fp16", g) == "fp16_acc16" and llamacpp_matmul_dtype("gguf-f16", g) == "fp16_acc16"
    assert llamacpp_matmul_dtype("fp32", g) == "fp32"
    # i-quants came to MMQ later (IQ4_NL/IQ4_XS b3317, PR #8278; the others b3428, PR #8495); TQ and IQ1_M never
    assert [llamacpp_matmul_dtype("iq4_xs", g, build=b) for b in (3316, 3317)] == ["fp16_acc16", "int8"]
    assert [llamacpp_matmul_dtype("iq2_xxs", g, build=b) for b in (3427, 3428)] == ["fp16_acc16", "int8"]
    assert llamacpp_matmul_dtype("tq1_0", g) == llamacpp_matmul_dtype("iq1_m", g) == "fp16_acc16"
    # Volta has no int8 MMA (no int8 figure in the catalog): cuBLAS; AMD's backend is HIP, not CUDA
    assert llamacpp_matmul_dtype("q4_0", load_gpu("v100-32gb")) == "fp16_acc16"
    assert llamacpp_matmul_dtype("q4_0", load_gpu("mi300x")) == "fp16_acc16"


def test_a_llamacpp_build_before_mmq_prefills_at_the_16_bit_rate():
    # the same efficiency at half the peak: Llama-2-7B Q4_0 on an RTX 4090 (int8 660.6 TOPS, fp16-accumulate
    # 330.3 TFLOP/s, Ada whitepaper): the compute of a 4 × 512-token prompt takes twice as long on b3000
    # (b3000 also dequantizes each micro-batch's weights to fp16 first, below)
    from planner.perf import llamacpp_dequant_bytes

    spec, g = load_model("meta-llama/Llama-2-7b-hf"), load_gpu("rtx-4090")
    kw = dict(quant="q4_0", kv_dtype="fp16", prompt=2048, engine="llama.cpp", prefill_efficiency=0.3,
              efficiency=0.8)
    at = {b: prefill_seconds(spec, g, build=b, **kw) for b in (3000, 3216)}
    fixed = 4 * layer_overhead_seconds(spec, "llama.cpp", prefill=True)  # four micro-batches
    dequant = 4 * llamacpp_dequant_bytes(spec, "q4_0", tokens=2048) / (g.memory_bandwidth_bytes_per_s * 0.8)
    assert (at[3000] - fixed - dequant) / (at[3216] - fixed) == pytest.approx(2.0, rel=0.03)
    assert prefill_seconds(spec, g, **kw) == at[3216]  # the default is the current build
    old = estimate("meta-llama/Llama-2-7b-hf", quant="q4_0", gpu="rtx-4090", context=4096, prompt=512,
                   engine="llama.cpp", n_gpu_layers=99, engine_version="b3000")
    new = estimate("meta-llama/Llama-2-7b-hf", quant="q4_0", gpu="rtx-4090", context=4096, prompt=512,
                   engine="llama.cpp", n_gpu_layers=99)
    assert 1.5 < old.prefill_seconds / new.prefill_seconds < 2.0
    kw = dict(quant="q4_0", gpu="rtx-4090", context=4096, prompt=512)
    assert plan("meta-llama/Llama-2-7b-hf", engine="llama.cpp", engine_version="b3000", **kw).prefill_seconds == \
        pytest.approx(old.prefill_seconds)
    with pytest.raises(PlannerError, match="engine_version"):  # a vLLM version is not a llama.cpp build
        plan("meta-llama/Llama-2-7b-hf", engine="vllm", engine_version="b3000", **kw)


def test_before_mmq_llamacpp_prefills_quantized_weights_as_float_ones_after_dequantizing_them():
    # b2824's ggml_cuda_op_mul_mat_cublas: to_fp16_cuda(src0) into a pool buffer, then cublasGemmEx with
    # CUBLAS_COMPUTE_16F: the float weights' GEMM, so the float weights' prefill efficiency, after a pass that reads
    # the quantized layers and writes them as fp16
    from planner.perf import llamacpp_dequant_bytes, llamacpp_prefill_family
    from planner.weights import stored_tensors

    g = load_gpu("rtx-3090")
    assert llamacpp_prefill_family("q4_k_m", g, build=2824) == "float"
    assert llamacpp_prefill_family("q4_k_m", g, build=3216) is None  # MMQ: the GGUF family's own kernels
    assert llamacpp_prefill_family("iq1_m", g) == "float"  # never in MMQ
    assert llamacpp_prefill_family("q4_k_m", g, "vulkan", build=2824) is None
    assert llamacpp_prefill_family("fp16", g, build=2824) is None
    assert llamacpp_prefill_family("q4_k_m", load_gpu("m2-ultra"), build=2824) is None
    assert llamacpp_prefill_family("q4_k_m", g, build=2824, engine="vllm") is None  # llama.cpp's kernels only
    # Meta-Llama-3-8B (config.json: hidden 4096, 32 heads and 8 KV heads of 128, intermediate 14336, 32 layers):
    # 218,103,808 matmul weights a layer, written as 2-byte fp16 beside the quantized bytes read
    spec = load_model("meta-llama/Meta-Llama-3-8B")
    layers = sum(t.nbytes for t in stored_tensors(spec, "q4_k_m") if t.layer is not None and t.is_matrix)
    assert llamacpp_dequant_bytes(spec, "q4_k_m", tokens=512) - layers == 2 * 32 * 218_103_808
    # the quantized prompt then takes the float prompt's time plus that pass, once per 512-token micro-batch
    kw = dict(kv_dtype="fp16", prompt=1024, engine="llama.cpp", efficiency=0.8, build=2824)
    q4, f16 = (prefill_seconds(spec, g, quant=q, **kw) for q in ("q4_k_m", "fp16"))
    dequant = llamacpp_dequant_bytes(spec, "q4_k_m", tokens=1024) / (g.memory_bandwidth_bytes_per_s * 0.8)
    assert q4 - f16 == pytest.approx(2 * dequant, rel=1e-6)
    e = estimate(spec, quant="q4_k_m", gpu="rtx-3090", context=1024, prompt=1024, engine="llama.cpp",
                 engine_version="b2824")
    assert e.performance.efficiency_entries["prefill"].startswith("llama.cpp/cuda/float/")


def test_vllm_v0_engine_loop_adds_its_host_time_to_every_step():
    # vLLM's V0 engine (before 0.8.0) schedules and samples between GPU steps; V1 (the default from 0.8.0) overlaps it
    from planner.efficiency import sync_loop
    from planner.engines.vllm import vllm_synchronous_loop

    assert [vllm_synchronous_loop(v) for v in ("0.4.0", "0.6.3", "0.7.3", "0.8.0", "0.19.1")] == \
        [True, True, True, False, False]
    assert vllm_synchronous_loop(None) is False  # the current release
    loop = sync_loop("vllm").sync_loop_step_s
    assert 0 < loop < 0.01  # fitted on the calibration half (profiles/efficiency.yaml)
    kw = dict(quant="bf16", gpu="h100-sxm", context=4096, prompt=1024, engine="vllm")
    v0 = estimate("meta-llama/Llama-3.1-8B", engine_version="0.6.3", **kw).performance
    v1 = estimate("meta-llama/Llama-3.1-8B", engine_version="0.8.5", **kw).performance
    now = estimate("meta-llama/Llama-3.1-8B", **kw).performance
    assert (v0.engine_loop_seconds, v1.engine_loop_seconds, now.engine_loop_seconds) == (loop, 0.0, 0.0)
    assert v0.decode_seconds_per_token - v1.decode_seconds_per_token == pytest.approx(loop)
    # and V0 from 0.6.0 hands the first token out after the next step (async output processing): one decode step
    assert v0.output_lag_seconds == pytest.approx(v0.decode_seconds_per_token)
    assert v0.prefill_seconds - v1.prefill_seconds == pytest.approx(loop + v0.decode_seconds_per_token)
    assert v1.output_lag_seconds == now.output_lag_seconds == 0.0
    assert v1.decode_seconds_per_token == now.decode_seconds_per_token
    # plan() agrees, on one GPU and over four
    p = plan("meta-llama/Llama-3.1-8B", engine_version="0.6.3", **kw)
    assert (p.decode_seconds_per_token, p.engine_loop_seconds) == (pytest.approx(v0.decode_seconds_per_token), loop)
    tp = {v: plan("meta-llama/Llama-3.1-70B", n_gpus=4, engine_version=v, **kw) for v in ("0.6.3", "0.8.5")}
    assert tp["0.6.3"].decode_seconds_per_token - tp["0.8.5"].decode_seconds_per_token == pytest.approx(loop)
    assert tp["0.6.3"].output_lag_seconds == pytest.approx(tp["0.6.3"].decode_seconds_per_token)
    # other engines run their loop in C++ or overlap it: no version to give
    with pytest.raises(PlannerError, match="engine_version: speed follows the releases of llama.cpp and vLLM only"):
        plan("meta-llama/Llama-3.1-8B", **{**kw, "engine": "sglang"}, engine_version="0.4.0")
    with pytest.raises(PlannerError, match="engine_version must be a vLLM release from 0.4"):
        plan("meta-llama/Llama-3.1-8B", engine_version="0.3.3", **kw)


def test_vllm_v0_async_output_makes_the_first_token_wait_a_step():
    # engine/async_llm_engine.py step_async (v0.6.0–v0.7.x): a step's outputs go to ctx.output_queue and are
    # processed by the callback the next step runs, then returned when that step ends; config.py
    # verify_async_output_proc turns it off with pipeline parallel. 0.5.x had no async output processing.
    from planner.engines.vllm import vllm_first_token_waits_a_step

    assert [vllm_first_token_waits_a_step(v) for v in ("0.5.4", "0.6.0", "0.7.3", "0.8.0", None)] == \
        [False, True, True, False, False]
    kw = dict(quant="bf16", gpu="h100-sxm", context=4096, prompt=1024, engine="vllm", engine_version="0.6.3")
    tp = plan("meta-llama/Llama-3.1-70B", n_gpus=4, **kw)
    pp = plan("meta-llama/Llama-3.1-70B", n_gpus=4, mode="pp", **kw)
    assert tp.output_lag_seconds == pytest.approx(tp.decode_seconds_per_token) and pp.output_lag_seconds == 0.0
    old = estimate("meta-llama/Llama-3.1-8B", **{**kw, "engine_version": "0.5.4"}).performance
    assert old.output_lag_seconds == 0.0 and old.engine_loop_seconds > 0
    piped = estimate("meta-llama/Llama-3.1-70B", **kw, pipeline_parallel_size=2).performance
    assert piped.output_lag_seconds == 0.0



def test_every_ollama_release_vendors_llamacpp_past_the_prefill_kernel_changes():
    # Ollama's speed is llama.cpp's current one, whatever Ollama's version: true while every build at which planner's
    # llama.cpp prefill changes is older than what Ollama's oldest supported release vendors (v0.3.0: b3440)
    from planner.engines.ollama.releases import OLLAMA_OLDEST_LLAMACPP_BUILD
    from planner.perf.llamacpp import _MMQ_SINCE

    assert max(build for _, build in _MMQ_SINCE if build is not None) < OLLAMA_OLDEST_LLAMACPP_BUILD


def test_tensor_parallel_decode_reads_the_replicated_matrices_whole_on_every_gpu(monkeypatch):
    # MLA's down-projections and the MoE routers are whole on every rank (planner.weights.tp_replicated): each GPU's
    # decode step reads them whole, and 1/n of the rest
    import planner.perf.roofline as roofline
    from planner.perf import tensor_parallel_seconds
    from planner.perf.step import replicated_bytes
    from planner.weights import stored_tensors, tp_replicated

    v3 = load_model("deepseek-ai/DeepSeek-V3")
    assert replicated_bytes(load_model("meta-llama/Llama-3.1-70B"), "bf16") == 0
    whole = replicated_bytes(v3, "fp8")
    assert whole == sum(t.nbytes for t in stored_tensors(v3, "fp8") if t.is_matrix and tp_replicated(t))
    assert whole / 2**30 == pytest.approx((61 * 7168 * 2112 + 58 * 256 * 7168 * 2) / 2**30, rel=0.001)
    g = load_gpu("h200")
    kw = dict(quant="fp8", kv_dtype="bf16", context=1024, prompt=128, n=8, engine="sglang", efficiency=1.0)
    step = tensor_parallel_seconds(v3, g, **kw)[0]
    monkeypatch.setattr(roofline, "replicated_bytes", lambda spec, quant: 0)
    split_evenly = tensor_parallel_seconds(v3, g, **kw)[0]
    assert step - split_evenly == pytest.approx(7 / 8 * whole / g.memory_bandwidth_bytes_per_s, rel=1e-6)


def test_override_tensor_keeps_what_its_regex_names_in_system_ram():
    """llama.cpp -ot "REGEX=CPU": every tensor whose GGUF name the regex finds stays in system RAM. Every layer's
    experts (".ffn_.*_exps.=CPU") is --n-cpu-moe over all layers, in memory and in decode speed; a buffer type other
    than CPU and a regex that does not compile are refused in one line."""
    kw = dict(quant="q4_k_m", engine="llama.cpp", gpu="rtx-4090", context=8192, n_gpu_layers=49)
    ot = estimate("Qwen/Qwen3-30B-A3B", override_tensor=".ffn_.*_exps.=CPU", **kw)
    moe = estimate("Qwen/Qwen3-30B-A3B", n_cpu_moe=48, **kw)
    assert ot.weights_bytes == moe.weights_bytes and ot.decode_tokens_per_s == pytest.approx(moe.decode_tokens_per_s)
    assert ot.engine_details["host_weights_bytes"] == moe.engine_details["host_weights_bytes"]
    some = estimate("Qwen/Qwen3-30B-A3B", override_tensor=[r"blk\.[0-9]\.ffn_.*_exps=CPU"], **kw)  # layers 0-9
    ten = estimate("Qwen/Qwen3-30B-A3B", n_cpu_moe=10, **kw)
    assert some.weights_bytes == ten.weights_bytes and some.engine_details["override_tensor"] == (
        r"blk\.[0-9]\.ffn_.*_exps=CPU")
    # a tied lm_head is llama.cpp's duplicate of token_embd, under that name: -ot token_embd=CPU keeps it off the GPU
    tied = dict(quant="q4_k_m", engine="llama.cpp", gpu="rtx-4090", context=4096, n_gpu_layers=99)
    kept = estimate("Qwen/Qwen3-0.6B", override_tensor="token_embd=CPU", **tied)
    assert estimate("Qwen/Qwen3-0.6B", **tied).weights_bytes - kept.weights_bytes == 151936 * 1024 // 256 * 210  # q6_K
    with pytest.raises(WorkloadError, match="override_tensor 'exps=CUDA1': planner models 'REGEX=CPU'"):
        estimate("Qwen/Qwen3-30B-A3B", override_tensor="exps=CUDA1", **kw)
    with pytest.raises(WorkloadError, match="the regex does not compile"):
        estimate("Qwen/Qwen3-30B-A3B", override_tensor="([=CPU", **kw)


def test_tensor_overrides_turn_llama_servers_fit_off():
    """llama.cpp's --fit aborts when the user set tensor overrides ("tensor_buft_overrides already set by user"):
    -ngl's default then puts every layer on the GPU, so a 70B with a few layers' tensors on the CPU does not fit an
    RTX 4090, where --fit would have moved 41 layers to system RAM."""
    kw = dict(quant="q4_k_m", engine="llama.cpp", gpu="rtx-4090", context=8192)
    fitted = estimate("meta-llama/Llama-3.1-70B", **kw)
    assert fitted.engine_details["fit"] and fitted.fits
    ot = estimate("meta-llama/Llama-3.1-70B", override_tensor=r"blk\.[0-9]\.=CPU", **kw)
    assert "fit" not in ot.engine_details or not ot.engine_details["fit"]
    assert ot.engine_details["n_gpu_layers"] == 81 and not ot.fits


def test_published_runs_with_experts_in_system_ram_are_checked():
    """benchmarks/offload_speed.py: llama.cpp runs with --n-cpu-moe / -ot …=CPU (benchmarks/data/offload_runs.jsonl,
    each with its source; nothing fitted to them). The prompt speed follows the ubatch: gpt-oss-120b on an RTX 3090
    went from 380 tok/s at -ub 512 to 1,682 at -ub 4096 (a r/LocalLLaMA post reposted at ai-maestro.online)."""
    import sys
    from pathlib import Path
    from statistics import median

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from offload_speed import errors

    errs = errors()
    assert len(errs) >= 12
    assert median(abs(x["pp_error"]) for x in errs) < 0.25
    by_ub = {x["row"]["n_ubatch"]: x for x in errs if x["row"]["source"].startswith("https://ai-maestro")}
    assert by_ub[4096]["pp"] > 3 * by_ub[512]["pp"]  # published: 4.4x
    assert abs(by_ub[4096]["pp_error"]) < 0.15


def test_a_bigger_ubatch_needs_more_experts_in_system_ram_as_llama_cpp_does():
    """The same post: on the 24 GB RTX 3090, -ub 4096 needed --n-cpu-moe 26 and -ub 8192 needed 28 (llama-bench
    pp4096 / pp8192; quoted in those rows' notes): planner's compute buffer grows with the ubatch (at these sizes the
    f32 logits of one ubatch, 3.1 and 6.3 GiB, not the expert copy) and its verdicts turn where the poster's did,
    by 0.16 and 0.49 GiB."""
    def fits(ub, ncm, prompt):
        return estimate("openai/gpt-oss-120b", quant="mxfp4_moe", engine="llama.cpp", gpu="rtx-3090",
                        context=prompt + 128, prompt=prompt, n_gpu_layers=99, n_cpu_moe=ncm, n_ubatch=ub,
                        n_batch=ub).performance.fits

    assert fits(4096, 26, 4096) and not fits(4096, 25, 4096)
    assert fits(8192, 28, 8192) and not fits(8192, 27, 8192)


def test_no_op_offload_keeps_the_copies_off_the_gpu_and_refuses_builds_before_it():
    """llama.cpp --no-op-offload (b5346, PR #13386): what system RAM holds runs on the CPU for a prompt too, so the
    GPU's compute buffer holds no copy and the prompt's speed is not modelled; older builds always offload."""
    kw = dict(quant="mxfp4_moe", engine="llama.cpp", gpu="rtx-4090", context=16384, n_cpu_moe=26, prompt=2048)
    on, off = estimate("openai/gpt-oss-120b", **kw), estimate("openai/gpt-oss-120b", **kw, op_offload=False)
    expert = 128 * 2880 * 2880 * 17 // 32  # the largest copied matrix: an MXFP4 expert tensor (4.25 bits a weight)
    assert off.activation_bytes < expert < on.activation_bytes  # off: the logits' split is the peak
    assert on.performance.prefill_seconds is not None and off.performance.prefill_seconds is None
    assert off.weights_bytes == on.weights_bytes
    with pytest.raises(WorkloadError, match="--no-op-offload arrived in b5346"):
        estimate("openai/gpt-oss-120b", **kw, op_offload=False, engine_version="b5000")


def test_system_ram_bandwidth_sets_how_fast_decode_reads_the_experts_left_there():
    """host_bandwidth_bytes_per_s (CLI --host-bandwidth): a server's eight channels of DDR5-4800 (307.2 GB/s) against
    the default desktop's two (76.8 GB/s). The A6000 run of Qwen3-235B-A22B Q8_0 with 81 layers' FFN in system RAM
    (ik_llama.cpp discussion 357, benchmarks/data/offload_runs.jsonl) decoded 10.44 tok/s on such a server."""
    ot = [r"blk\.1[3-9]\.ffn.*=CPU", r"blk\.[2-8][0-9]\.ffn.*=CPU", r"blk\.9[0-3]\.ffn.*=CPU"]
    kw = dict(quant="q8_0", engine="llama.cpp", gpu="rtx-a6000", context=640, n_gpu_layers=99, override_tensor=ot,
              engine_version="b5192")
    desktop = estimate("Qwen/Qwen3-235B-A22B", **kw).decode_tokens_per_s
    server = estimate("Qwen/Qwen3-235B-A22B", **kw, host_bandwidth_bytes_per_s=307.2e9).decode_tokens_per_s
    assert server == pytest.approx(10.44, rel=0.15) and desktop < 0.4 * server
    with pytest.raises(WorkloadError, match="host_bandwidth_bytes_per_s must be a finite number > 0, got 0"):
        estimate("Qwen/Qwen3-235B-A22B", **kw, host_bandwidth_bytes_per_s=0)
    with pytest.raises(WorkloadError, match="engine 'vllm' reads nothing there"):
        estimate("meta-llama/Llama-3.1-8B", engine="vllm", gpu="h100-sxm", host_bandwidth_bytes_per_s=1e11)
