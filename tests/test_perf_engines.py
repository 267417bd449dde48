"""Engine-specific speed terms: llama.cpp's micro-batches and prefill kernels by build, served requests, MoE splits
and tiles, vLLM V0's loop, tensor-parallel reads."""

import pytest

from planner import PlannerError, estimate, load_model
from planner.efficiency import prefill_layer_overhead
from planner.errors import WorkloadError
from planner.gpus import load_gpu
from planner.parallel import plan
from planner.perf import layer_overhead_seconds, prefill_seconds
from planner.weights import stored_tensors


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


def test_a_moe_prefill_split_over_gpus_pays_sglangs_measured_fixed_time(monkeypatch):
    """profiles/efficiency.yaml's moe_prefill_split_s: SGLang's calibration runs of MoE models on several GPUs land
    ~0.1 s above planner's prefill at any prompt length (the SGLang cookbook's DeepSeek-R1 on 8 × B200: 0.153 s and
    0.126 s at 610 tokens, 0.166 s at 4,194). SGLang's own entry only: vLLM has none, dense models and one GPU pay
    none."""
    from planner.efficiency import moe_prefill_split
    from planner.perf import moe_prefill_split_seconds

    fixed = moe_prefill_split("sglang").moe_prefill_split_s
    assert 0.05 < fixed < 0.2
    v3 = load_model("deepseek-ai/DeepSeek-V3")
    assert moe_prefill_split_seconds(v3, "sglang", 8) == fixed
    assert moe_prefill_split_seconds(v3, "sglang", 1) == 0.0
    assert moe_prefill_split_seconds(load_model("meta-llama/Llama-3.1-70B"), "sglang", 8) == 0.0
    assert moe_prefill_split("vllm") is None and moe_prefill_split_seconds(v3, "vllm", 8) == 0.0
    kw = dict(engine="sglang", gpu="b200", n_gpus=8, quant="fp8-block", prompt=610)
    with_it = plan(v3, **kw).prefill_seconds
    monkeypatch.setattr("planner.perf.roofline.moe_prefill_split", lambda engine: None)
    assert with_it - plan(v3, **kw).prefill_seconds == pytest.approx(fixed)


def test_moe_prefill_pays_for_whole_expert_tiles():
    """profiles/efficiency.yaml's moe_prefill_tile: in a prefill step each routed expert gets step_tokens·k/E tokens,
    and its matmul does whole tiles' work. Qwen3-30B-A3B (128 experts, 8 a token: config.json) in llama.cpp's
    512-token micro-batches hands an expert 32 tokens; dense models pay nothing. The tiles are the kernels' own:
    llama.cpp's largest MMQ tile on CUDA (128 rows; 64 on AMD without MFMA), Vulkan's large mul_mat_id pipeline
    (128), Metal's kernel_mul_mm_id (32 tokens),
    vLLM's fused MoE BLOCK_SIZE_M for prefill-sized steps (64, which SGLang's Triton kernel shares, and which stands
    for the compiled engines' kernels not read); transformers' eager loop gathers each expert's tokens and pads
    nothing, and llama.cpp's backends whose kernels were not read (SYCL, CPU) pad nothing in planner."""
    from planner.efficiency import moe_prefill_tile, table, trial
    from planner.perf import _expert_matmul_params, moe_padding_flops

    tiles = {be: moe_prefill_tile("llama.cpp", be) for be in ("cuda", "rocm", "metal", "vulkan", "cpu", "sycl")}
    assert {be: t.moe_prefill_tile for be, t in tiles.items() if t} == {"cuda": 128, "rocm": 64, "vulkan": 128,
                                                                         "metal": 32}
    assert moe_prefill_tile("vllm").moe_prefill_tile == moe_prefill_tile("sglang").moe_prefill_tile == 64
    assert moe_prefill_tile("tensorrt-llm").moe_prefill_tile == 64  # not read: vLLM's stands for the compiled group
    assert moe_prefill_tile("transformers") is None
    qwen = load_model("Qwen/Qwen3-30B-A3B")
    expert = _expert_matmul_params(qwen)
    assert expert == 48 * 8 * 3 * 2048 * 768  # 48 layers × 8 experts × gate/up/down of 2048 × 768
    for backend, tile in (("cuda", 128), ("metal", 32)):
        padded = -(-32 // tile) * tile
        assert moe_padding_flops(qwen, "llama.cpp", tokens=512, step_tokens=512, backend=backend) == pytest.approx(
            2 * expert * 512 * (padded / 32 - 1))
    assert moe_padding_flops(qwen, "llama.cpp", tokens=512, step_tokens=512, backend="metal") == 0.0  # 32 of 32
    assert moe_padding_flops(qwen, "llama.cpp", tokens=512, step_tokens=512, backend="cpu") == 0.0  # not read
    assert moe_padding_flops(load_model("meta-llama/Llama-3.1-8B"), "llama.cpp", tokens=512, step_tokens=512,
                             backend="cuda") == 0.0
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
    # Volta has no int8 MMA (no int8 figure in the catalog): cuBLAS; Radeon's ROCm build keeps its own path
    assert llamacpp_matmul_dtype("q4_0", load_gpu("v100-32gb")) == "fp16_acc16"
    assert llamacpp_matmul_dtype("q4_0", load_gpu("rx-7900-xtx")) == "fp16_acc16"


def test_llamacpp_on_instinct_prefills_as_its_rocm_build_chose_kernels():
    # ggml_cuda_should_use_mmq and its forerunner in ggml-cuda.cu, for a 512-token micro-batch on CDNA: MMQ on the
    # vector units (dp4a) as every AMD GPU before RDNA 3 (b3066: use_mul_mat_q && cc < CC_RDNA3); the MI100 to rocBLAS
    # from b4567 (PR #11244, commit d6d24cd9, the 4567th of llama.cpp's history: before it HIP builds numbered the
    # MI100 9.0, Vega's cc, so PR #10498's `cc != CC_CDNA` at b4201 never matched it), every CDNA GPU from b4619
    # (PR #11601, 4d0598e1); MMQ on the int8 matrix cores on CDNA 3 from b5997 (PR #14624, 66906cd8:
    # amd_mfma_available = CDNA 3), on CDNA 1/2 from b6036 (PR #14949, ad4a7001) for micro-batches of up to 128
    # tokens, 256 with Q4_K/Q5_K, any with Q4_0/Q4_1/Q5_0/Q5_1; under 64 tokens MMQ throughout
    from planner.perf import (
        LLAMACPP_CDNA1_ROCBLAS_BUILD,
        LLAMACPP_CDNA3_MMQ_BUILD,
        LLAMACPP_CDNA_MMQ_BUILD,
        LLAMACPP_CDNA_ROCBLAS_BUILD,
        cdna_prefill_path,
        llamacpp_matmul_dtype,
        llamacpp_prefill_family,
    )

    assert (LLAMACPP_CDNA1_ROCBLAS_BUILD, LLAMACPP_CDNA_ROCBLAS_BUILD) == (4567, 4619)
    assert (LLAMACPP_CDNA3_MMQ_BUILD, LLAMACPP_CDNA_MMQ_BUILD) == (5997, 6036)
    mi100, mi250x, mi300x = load_gpu("mi100"), load_gpu("mi250x"), load_gpu("mi300x")
    builds = (3066, 4201, 4567, 4619, 5997, 6036)

    def paths(quant, g, ubatch=512):
        return [cdna_prefill_path(quant, g, b, ubatch) for b in builds]
    assert paths("q4_k_m", mi100) == ["dp4a", "dp4a", "rocblas", "rocblas", "rocblas", "rocblas"]
    assert paths("q4_0", mi100) == ["dp4a", "dp4a", "rocblas", "rocblas", "rocblas", "mfma"]
    assert paths("q4_k_m", mi250x) == ["dp4a", "dp4a", "dp4a", "rocblas", "rocblas", "rocblas"]
    assert paths("q4_k_m", mi300x) == ["dp4a", "dp4a", "dp4a", "rocblas", "mfma", "mfma"]
    assert paths("iq1_m", mi300x) == ["rocblas"] * 6  # never an MMQ type
    # the micro-batch size (-ub): CDNA 1/2 take MMQ up to 128 tokens, 256 with Q4_K, and any build under 64
    assert [cdna_prefill_path(q, mi250x, 6036, ub) for q, ub in (("q8_0", 128), ("q8_0", 256), ("q4_k_m", 256))] \
        == ["mfma", "rocblas", "mfma"]
    assert cdna_prefill_path("q4_k_m", mi300x, 5000, 32) == "dp4a"
    # each path's dtype (the vector units', fp16 GEMM, int8 matrix cores) and the family whose entry it takes
    assert [(llamacpp_matmul_dtype("q4_k_m", mi300x, build=b), llamacpp_prefill_family("q4_k_m", mi300x, build=b))
            for b in (4567, 4619, 5997)] == [("fp32", "dp4a"), ("fp16", "float"), ("int8", "mfma")]
    assert llamacpp_matmul_dtype("q8_0", mi250x, build=6036, ubatch=128) == "int8"
    assert llamacpp_matmul_dtype("q4_k_m", mi300x) == "int8"  # the current build
    assert llamacpp_prefill_family("q4_k_m", mi300x, "vulkan", build=4619) is None  # the ROCm build's kernels
    assert llamacpp_prefill_family("q4_k_m", load_gpu("rx-7900-xtx"), build=4619) is None  # Radeon: not CDNA
    with pytest.raises(WorkloadError, match="rx-7900-xtx"):
        cdna_prefill_path("q4_k_m", load_gpu("rx-7900-xtx"), 6036)


def test_the_matrix_core_path_without_an_entry_takes_the_rocblas_rate_it_replaced():
    # no calibration entry of llama.cpp's MMQ on Instinct matrix cores ("mfma") yet: its prefill runs at the rocBLAS
    # path's share of the fp16 peak (MI300X: 1,307.4 TFLOP/s fp16, 2,614.9 TOPS int8), so the current build is never
    # slower than b5000's rocBLAS in planner, and no faster than it either, until runs of its own calibrate it
    from planner.efficiency import efficiencies, lookup

    g = load_gpu("mi300x")
    prefill = efficiencies(g, "q4_k_m", "llama.cpp", prefill_family="mfma")[1]
    if lookup("prefill_compute", engine="llama.cpp", backend="rocm", fam="mfma", cls="amd-hbm").family == "mfma":
        pytest.skip("the table now has an entry of the matrix-core path's own")
    rocblas = efficiencies(g, "q4_k_m", "llama.cpp", prefill_family="float")[1]
    assert prefill.key == rocblas.key == "llama.cpp/rocm/float/amd-hbm"
    assert prefill.prefill_compute == pytest.approx(rocblas.prefill_compute * 1307.4 / 2614.9)
    kw = dict(quant="q4_k_m", gpu="mi300x", context=4096, prompt=2048, engine="llama.cpp", n_gpu_layers=99)
    now, b5000, b4000 = (estimate("meta-llama/Llama-3.1-8B", **kw, engine_version=v).performance
                         for v in (None, "b5000", "b4000"))
    # the same compute time; b5000 also pays the dequantization pass
    assert now.prefill_seconds < b5000.prefill_seconds < 1.5 * now.prefill_seconds
    # and the estimate says which kernels, and that the current ones borrow the rocBLAS rate
    assert now.prompt_kernels.startswith("MMQ on the int8 matrix cores, taken at the rate of the rocBLAS path")
    assert b5000.prompt_kernels == "weights dequantized, then rocBLAS's GEMM"
    assert b4000.prompt_kernels.startswith("MMQ on the vector units (dp4a)")
    assert estimate("meta-llama/Llama-3.1-8B", **{**kw, "gpu": "rtx-4090"}).performance.prompt_kernels is None


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
    from planner.weights import tp_replicated

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


def test_vllm_all_reduces_through_rccl_where_its_release_has_no_kernel_on_that_amd_gpu():
    # vLLM's own all-reduce kernel reached ROCm in 0.8.3 (vllm-project/vllm#14125, v0.8.3 release notes), for the
    # MI300 series on (platforms/rocm.py use_custom_allreduce: gfx94*, gfx95*); before, RCCL takes every call
    from planner.engines.vllm import vllm_custom_allreduce
    from planner.gpus import load_gpu
    from planner.perf import ALLREDUCE_LATENCY_S, RCCL_ALLREDUCE_LATENCY_S

    mi300x, mi250, h100 = load_gpu("mi300x"), load_gpu("mi250x"), load_gpu("h100-sxm")
    assert [vllm_custom_allreduce(v, mi300x) for v in ("0.6.1", "0.8.2", "0.8.3", None)] == [False, False, True, True]
    assert vllm_custom_allreduce(None, mi250) is False  # CDNA 2: RCCL in every release
    assert vllm_custom_allreduce("0.6.1", h100) is True and vllm_custom_allreduce("0.6.1", None) is True
    assert vllm_custom_allreduce("0.6.1", mi300x, True) is True  # AMD's rocm/vllm images had it from mid-2024
    assert vllm_custom_allreduce(None, h100, False) is False  # --disable-custom-all-reduce
    with pytest.raises(WorkloadError, match="custom_all_reduce must be true, false or None"):
        vllm_custom_allreduce(None, h100, "yes")
    # AMD's 13-15 µs for 8-64 KB on 8 × MI300X, one process per GPU (rocm.blogs.amd.com, 2025-03-02): the top of it
    assert RCCL_ALLREDUCE_LATENCY_S == 15e-6

    kw = dict(gpu="mi300x", n_gpus=8, quant="fp16", context=1024, prompt=512, engine="vllm", engine_version="0.6.1")
    rccl, own = plan("meta-llama/Llama-2-7b-hf", **kw), plan("meta-llama/Llama-2-7b-hf", custom_all_reduce=True, **kw)
    # two all-reduces a layer, 32 layers, each 5 µs longer; the note says why, and what published runs left over
    extra = 2 * 32 * (RCCL_ALLREDUCE_LATENCY_S - ALLREDUCE_LATENCY_S)
    assert rccl.communication_seconds_per_token - own.communication_seconds_per_token == pytest.approx(extra)
    assert rccl.decode_seconds_per_token - own.decode_seconds_per_token == pytest.approx(extra)
    assert "goes through RCCL" in rccl.allreduce_note and "expect less speed" in rccl.allreduce_note
    assert own.allreduce_note is None
    # estimate() the same, and vLLM keeps no custom all-reduce buffers where the kernel does not run
    est = dict(gpu="mi300x", quant="fp16", context=1024, prompt=512, engine="vllm", tensor_parallel_size=8)
    old = estimate("meta-llama/Llama-2-7b-hf", engine_version="0.6.1", **est)
    fork = estimate("meta-llama/Llama-2-7b-hf", engine_version="0.6.1", custom_all_reduce=True, **est)
    assert old.performance.decode_seconds_per_token - fork.performance.decode_seconds_per_token == \
        pytest.approx(extra)
    assert (old.engine_details["communication_bytes"], fork.engine_details["communication_bytes"]) == (0, 24 * 2**20)
    # only vLLM takes the option
    with pytest.raises(WorkloadError, match="no option 'custom_all_reduce'"):
        estimate("meta-llama/Llama-2-7b-hf", gpu="mi300x", engine="sglang", custom_all_reduce=True)
    with pytest.raises(WorkloadError, match="custom_all_reduce is a vLLM option"):
        plan("meta-llama/Llama-2-7b-hf", gpu="mi300x", n_gpus=2, engine="sglang", custom_all_reduce=False)
