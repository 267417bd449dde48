"""vLLM's memory: its KV budget by release, the profile run's peak, MLA pages, MXFP4 and MoE layouts, tensor-parallel
splits."""

from fractions import Fraction
from math import ceil

import pytest

from planner import WorkloadError, estimate, load_model
from planner.engines import VLLM_SAMPLER_BYTES_PER_LOGIT

MiB, GiB = 2**20, 2**30


def test_vllm_budget_blocks_and_concurrency():
    e = estimate("meta-llama/Meta-Llama-3-8B", engine="vllm", gpu="h100-sxm", max_model_len=8192,
                 engine_version="0.11.0")
    d = e.engine_details
    # vLLM budgets CUDA's total, 85,017,755,648 B on an H100 SXM (CUDA 13 deviceQuery), × 0.9 before 0.20
    assert d["requested_bytes"] == int(85017755648 * 0.9)
    assert d["available_kv_bytes"] == d["requested_bytes"] - e.weights_bytes - e.activation_bytes
    # an 80 GB GPU gets vllm serve's larger scheduler defaults (≥ 70 GiB, not an A100)
    assert (d["max_num_batched_tokens"], d["max_num_seqs"]) == (8192, 1024)
    assert d["kv_blocks"] == d["available_kv_bytes"] // (16 * 128 * 1024)  # 16 tokens × 128 KiB per block
    assert d["kv_tokens"] == 16 * d["kv_blocks"] and d["max_concurrency"] == d["kv_blocks"] / 512


def test_vllm_profile_peak_includes_the_sampler():
    """The profile run samples max_num_seqs rows of logits: by PyTorch's sort up to 0.16 as `pip install vllm` runs it
    (FlashInfer is an extra until 0.12, then opt-in), by a Triton kernel from 0.17 (each release's
    v1/sample/ops/topk_topp_sampler.py), or by FlashInfer's where it runs."""
    spec = load_model("llama-3-8b")

    def run(version, **kw):
        return estimate(spec, engine="vllm", gpu_memory_bytes=80 * GiB, max_model_len=4096,
                        max_num_batched_tokens=256, max_num_seqs=256, engine_version=version,
                        enable_chunked_prefill=True, **kw)  # 256 tokens a step: V0 needs chunked prefill on

    rows = 256 * spec.vocab_size
    assert VLLM_SAMPLER_BYTES_PER_LOGIT == {"sort": 38, "fused": 14}
    for version, path in [("0.6.3", "sort"), ("0.9.2", "sort"), ("0.11.0", "sort"), ("0.16.0", "sort"),
                          ("0.17.0", "fused"), ("0.33.0", "fused")]:
        e = run(version)
        assert e.engine_details["sampler"] == path, version
        assert e.engine_details["sampler_bytes"] == rows * VLLM_SAMPLER_BYTES_PER_LOGIT[path]
        assert e.activation_bytes >= e.engine_details["sampler_bytes"]
    # FlashInfer's sampler (vLLM's Docker image of 0.11; VLLM_USE_FLASHINFER_SAMPLER=1 from 0.12)
    assert run("0.11.0", flashinfer_sampler=True).engine_details["sampler"] == "fused"
    with pytest.raises(WorkloadError, match="flashinfer_sampler"):
        run("0.15.0", flashinfer_sampler="yes")


def test_vllm_mla_pages_hold_the_latent():
    e = estimate("deepseek-v2-lite", engine="vllm", gpu="h100-sxm", max_model_len=4096)
    d = e.engine_details
    assert d["block_size"] == 64
    assert d["kv_blocks"] == d["available_kv_bytes"] // (64 * 576 * 2 * 27)


def test_vllm_reports_when_max_model_len_does_not_fit():
    small = estimate("llama-3.1-8b", engine="vllm", gpu="rtx-4060-ti-16gb", max_model_len=131072)
    assert small.engine_details["kv_tokens"] == 0 and not small.engine_details["fits_max_model_len"]


def test_vllm_rules_by_release():
    """What each release charges against the budget (research/vllm_versions.md): the CUDA context in the "global"
    periods (V0 0.6.4, V1 0.8.0–0.9.0.1), the CUDA-graph estimate from 0.20 (with 0.92 of the GPU), neither in
    between."""
    from planner.engines.vllm import VLLM_CUDA_GRAPH_ESTIMATE_BYTES
    from planner.overhead import CUDA_CONTEXT_BYTES

    def run(version, **kw):  # one sampler for all (FlashInfer's), whose default differs by release
        return estimate("meta-llama/Llama-3.1-8B", engine="vllm", gpu="h100-sxm", max_model_len=8192,
                        engine_version=version, max_num_batched_tokens=2048, max_num_seqs=256,
                        flashinfer_sampler=True, enable_chunked_prefill=True, **kw)

    base, global_, current = run("0.11.0"), run("0.8.5"), run("0.33.0", gpu_memory_utilization=0.9)
    kv = base.engine_details["available_kv_bytes"]
    assert global_.engine_details["available_kv_bytes"] == kv - CUDA_CONTEXT_BYTES
    assert current.engine_details["available_kv_bytes"] == kv - VLLM_CUDA_GRAPH_ESTIMATE_BYTES
    assert run("0.33.0").engine_details["gpu_memory_utilization"] == 0.92
    assert run("0.6.5").engine_details["available_kv_bytes"] == kv
    assert run("0.6.4").engine_details["engine_version"] == "0.6.4"
    v0 = estimate("meta-llama/Llama-3.1-8B", engine="vllm", gpu="h100-sxm", max_model_len=8192,
                  engine_version="0.6.3")
    assert (v0.engine_details["max_num_batched_tokens"], v0.engine_details["max_num_seqs"]) == (8192, 256)
    with pytest.raises(WorkloadError, match="engine_version must be a vLLM release from 0.4 to 0.33.0"):
        run("0.3.3")
    with pytest.raises(WorkloadError, match="engine_version"):
        run("latest")


def test_vllm_release_strings_as_vllm_prints_them():
    from planner.engines.vllm import vllm_release

    assert vllm_release("0.19.1rc1.dev339+gedc364896") == (0, 19, 1)  # a nightly's version, as AccelMark logs it
    assert vllm_release("v0.11.0") == (0, 11, 0) and vllm_release("0.6.3.post1") == (0, 6, 3)
    assert vllm_release("0.33") == (0, 33, 0)
    for bad in ("latest", "0.3.3", "1.0.0", "0.6.3 !"):
        with pytest.raises(WorkloadError, match="engine_version must be a vLLM release"):
            vllm_release(bad)
    from planner.measure.logs.vllm import vllm_log_release

    # a server's banner: "vLLM API server version X" up to 0.14 (api_server.py), "vLLM server version X, serving
    # model Y" from 0.15 (entrypoints/utils.py:305 of 0.15.0)
    assert vllm_log_release("INFO [api_server.py:1272] vLLM API server version 0.14.0\n") == ("0.14.0", "printed")
    assert vllm_log_release("INFO [utils.py:305] vLLM server version 0.15.1, serving model m\n")[0] == "0.15.1"


def test_vllm_lays_out_mxfp4_experts_as_its_moe_kernel_does():
    """gpt-oss's MXFP4 experts in vLLM: Marlin pads the intermediate size to 128 and the hidden size to 256; the
    Triton kernel (Hopper from 0.12) pads a GPU's share of the intermediate size to 64 and kept the loaded block
    scales until 0.25; FlashInfer's TRT-LLM kernel (B200) pads both to 256 (the intermediate to 128 from 0.27).
    vllm#23278: 0.10.1 on an H100 loaded 65.97 GiB and failed to start ("Available KV cache memory: -2.14 GiB")."""
    from planner.engines.vllm import vllm_rotary_cache_bytes
    from planner.weights import is_mxfp4_expert, stage_weights

    spec = load_model("openai/gpt-oss-120b")
    experts = stage_weights(spec, "mxfp4", [spec.n_layers], only=is_mxfp4_expert)[0]
    plain = estimate(spec, context=8192).weights_bytes + vllm_rotary_cache_bytes(spec)  # and the cos/sin cache

    def run(version, gpu="h100-sxm", **kw):
        return estimate(spec, engine="vllm", gpu=gpu, engine_version=version, max_model_len=8192, **kw)

    marlin = run("0.10.1")
    assert marlin.engine_details["mxfp4_backend"] == "marlin"
    assert marlin.weights_bytes == plain + ceil(experts * Fraction(2944 * 3072 - 2880**2, 2880**2))
    assert marlin.engine_refusal.startswith("vLLM would not start: weights (65.93 GiB)")  # logged: 65.97
    assert run("0.14.1").weights_bytes == plain + ceil(Fraction(experts, 17))  # Triton, the loaded scales kept
    assert run("0.33.0").weights_bytes == plain and run("0.33.0").engine_refusal is None
    assert run("0.33.0", gpu="rtx-5090").engine_details["mxfp4_backend"] == "marlin"  # consumer Blackwell
    assert run("0.26.0", gpu="b200").weights_bytes == plain + ceil(experts * Fraction(3072**2 - 2880**2, 2880**2))
    assert run("0.33.0", gpu="b200").weights_bytes == plain + ceil(experts * Fraction(2944 * 3072 - 2880**2, 2880**2))
    assert run("0.33.0", mxfp4_backend="none").weights_bytes == plain
    with pytest.raises(WorkloadError, match="arrived in 0.10.1"):  # gpt-oss runs from 0.10.1
        run("0.10.0")
    # experts kept in 16 bits are not MXFP4: no kernel layout for them
    kept = run("0.14.1", quant="mxfp4[keep=experts]")
    assert kept.weights_bytes == estimate(spec, quant="mxfp4[keep=experts]", context=8192).weights_bytes + (
        vllm_rotary_cache_bytes(spec))
    assert kept.engine_details["mxfp4_experts"] == "none"
    # tensor parallel splits each expert's intermediate size (1440 → 1472 for Triton's 64); expert parallel keeps
    # experts whole (2880, no padding) and only the kept scales remain
    tp2 = run("0.14.1", tensor_parallel_size=2)
    ep2 = run("0.14.1", tensor_parallel_size=2, enable_expert_parallel=True)
    half = stage_weights(spec, "mxfp4", [spec.n_layers], tp=2, only=is_mxfp4_expert)[0]
    tensors = stage_weights(spec, "mxfp4", [spec.n_layers], tp=2)[0] + vllm_rotary_cache_bytes(spec)  # each rank
    assert tp2.weights_bytes == tensors + ceil(half * (Fraction(1472, 1440) + Fraction(1, 17) - 1))
    # under expert parallelism a rank holds its 64 experts whole, their biases too (which a tensor-parallel split
    # keeps on every rank)
    whole = stage_weights(spec, "mxfp4", [spec.n_layers], tp=2, whole_experts=True)[0] + vllm_rotary_cache_bytes(spec)
    assert whole < tensors
    assert ep2.weights_bytes == whole + ceil(Fraction(half, 17)) < tp2.weights_bytes
    with pytest.raises(WorkloadError, match="mxfp4_backend must be one of marlin, triton, flashinfer or none, got "
                                           "'cutlass'"):
        run("0.33.0", mxfp4_backend="cutlass")
    # a dense model's weights are whatever the kernel, and the rotary cache (131,072 positions × 128 × 2 B = 32 MiB)
    assert run("0.10.1").weights_bytes != estimate("meta-llama/Llama-3.1-8B", context=8192).weights_bytes
    dense = estimate("meta-llama/Llama-3.1-8B", engine="vllm", gpu="h100-sxm", max_model_len=8192)
    assert dense.weights_bytes == estimate("meta-llama/Llama-3.1-8B", context=8192).weights_bytes + 32 * 2**20


def test_tensor_parallel_keeps_mla_down_projections_and_routers_whole():
    # vLLM's and SGLang's deepseek_v2.py build q_a_proj and kv_a_proj_with_mqa, and every MoE's gate, as
    # ReplicatedLinear: each rank holds them whole, the rest of the layer split
    from planner.weights import stage_weights, stored_tensors, tp_replicated

    spec = load_model("deepseek-ai/DeepSeek-V3")
    whole = [t for t in stored_tensors(spec, "bf16") if tp_replicated(t)]
    assert {t.name.split(".")[2] for t in whole} == {"attn_q_a", "attn_kv_a_mqa", "ffn_gate_inp"}
    replicated = sum(t.nbytes for t in whole)
    assert replicated == 61 * 7168 * (1536 + 576) * 2 + 58 * 256 * 7168 * 2  # config.json: 61 layers, 58 MoE
    tensors = stored_tensors(spec, "bf16")
    every_matrix_split = sum(ceil(t.nbytes / 8) if t.is_matrix else t.nbytes for t in tensors)
    assert stage_weights(spec, "bf16", [61], tp=8)[0] - every_matrix_split == \
        sum(t.nbytes - ceil(t.nbytes / 8) for t in whole)  # 1.68 GiB more on every GPU than an even split
    assert sum(t.nbytes - ceil(t.nbytes / 8) for t in whole) / 2**30 == pytest.approx(1.68, abs=0.01)


def test_vllm_0_7_materializes_the_absorbed_mla_matrices():
    # vLLM 0.7.1-0.7.x (PR #12528 until #14770): W_Q_UK (rank × heads·kv_lora_rank), W_UV_O (heads·kv_lora_rank ×
    # hidden) and W_QR (rank × heads·rope) per layer besides the raw weights; DeepSeek-V2-Lite at TP8: rank = hidden
    # 2048 (no q_lora_rank), 16/8 heads, kv_lora_rank 512, rope 64
    from planner.engines.vllm import vllm_mla_materialized_bytes

    spec = load_model("deepseek-ai/DeepSeek-V2-Lite")
    per_layer = (2048 + 2048) * 2 * 512 * 2 + 2048 * 2 * 64 * 2
    assert vllm_mla_materialized_bytes(spec, "fp16", 8, (0, 7, 1)) == per_layer
    assert vllm_mla_materialized_bytes(spec, "fp16", 8, (0, 7, 0)) == 0  # before the MLA backend
    assert vllm_mla_materialized_bytes(spec, "fp16", 8, (0, 8, 0)) == 0  # materialization removed
    # from 0.8.0 a quantized kv_b_proj is dequantized into a 16-bit copy for the bmm's: kv_lora_rank × heads·(128 + 128)
    assert vllm_mla_materialized_bytes(spec, "fp8", 8, (0, 10, 1)) == 512 * 2 * (128 + 128) * 2
    assert vllm_mla_materialized_bytes(spec, "fp8", 8, (0, 7, 3)) == (2048 + 2048) * 2 * 512 + 2048 * 2 * 64 * 2
    assert vllm_mla_materialized_bytes(load_model("meta-llama/Llama-3.1-8B"), "bf16", 1, (0, 7, 1)) == 0
    kw = dict(quant="fp16", gpu="a100-sxm-40gb", engine="vllm", tensor_parallel_size=8, max_model_len=8192,
              gpu_memory_utilization=0.9, max_num_seqs=2)
    v071 = estimate("deepseek-ai/DeepSeek-V2-Lite", engine_version="0.7.1", **kw).weights_bytes
    v080 = estimate("deepseek-ai/DeepSeek-V2-Lite", engine_version="0.8.0", **kw).weights_bytes
    assert v071 - v080 == 27 * per_layer


def test_vllm_profile_run_holds_the_fused_moe_caches():
    # fused_experts_impl: intermediate_cache1 (M, k, N), cache2 (M·k, N/2), cache3 (M, k, hidden) in fp16, N = 2 × the
    # expert's intermediate size / tp; beside them the hidden states, the residual and the shared experts' output
    from planner.engines.vllm import vllm_fused_moe_bytes

    spec = load_model("deepseek-ai/DeepSeek-V2-Lite")  # 6 of 64 experts of 1408, 2 shared, hidden 2048
    n = 2 * 1408 // 8
    assert vllm_fused_moe_bytes(spec, 8192, tp=8, whole_experts=False) == \
        8192 * 6 * (n + n // 2 + 2048) * 2 + 3 * 8192 * 2048 * 2
    assert vllm_fused_moe_bytes(spec, 8192, tp=8, whole_experts=True) > vllm_fused_moe_bytes(spec, 8192, tp=8,
                                                                                            whole_experts=False)
    assert vllm_fused_moe_bytes(load_model("meta-llama/Llama-3.1-8B"), 8192, tp=1, whole_experts=False) == 0


def test_the_offline_llm_class_profiles_twice_the_tokens_of_vllm_serve():
    """entrypoint="llm": vLLM's LLM class (and `vllm bench throughput`) defaults to 8,192 batched tokens below 70 GiB
    where `vllm serve` takes 2,048 (engine/arg_utils.py, UsageContext.LLM_CLASS), so its profile run holds more and
    its KV cache gets less; the ROCm log of an LLM-class script prints the 8,192 it used."""
    kw = dict(engine="vllm", gpu="rtx-4090", context=8192)
    serve = estimate("meta-llama/Llama-3.1-8B", **kw)
    offline = estimate("meta-llama/Llama-3.1-8B", entrypoint="llm", **kw)
    assert (serve.engine_details["max_num_batched_tokens"], offline.engine_details["max_num_batched_tokens"]) == \
        (2048, 8192)
    assert offline.activation_bytes > serve.activation_bytes and offline.kv_cache_bytes < serve.kv_cache_bytes
    assert offline.engine_details["max_num_seqs"] == serve.engine_details["max_num_seqs"] == 256
    given = estimate("meta-llama/Llama-3.1-8B", entrypoint="llm", max_num_batched_tokens=2048, **kw)
    assert given.kv_cache_bytes == serve.kv_cache_bytes  # a value given wins over either default
    with pytest.raises(WorkloadError, match="entrypoint must be serve .* or llm .*, got 'offline'"):
        estimate("meta-llama/Llama-3.1-8B", entrypoint="offline", **kw)


def test_vllm_keeps_its_null_block_back_when_it_checks_max_model_len():
    """From 0.30 vLLM's start-up check plans against one block fewer than it allocates, the null block its pool
    keeps (kv_cache_planning.py: "Reserve the null block BlockPool permanently holds back"): a max_model_len of
    exactly the pool's blocks starts under 0.28 and not under 0.33."""
    kw = dict(engine="vllm", gpu="rtx-4090", gpu_memory_utilization=0.5)
    blocks = estimate("qwen3-4b", max_model_len=8192, **kw).engine_details["kv_blocks"]
    exact = dict(max_model_len=blocks * 16, context=blocks * 16, **kw)
    assert estimate("qwen3-4b", engine_version="0.28.0", **exact).fits
    e = estimate("qwen3-4b", **exact)
    assert e.engine_details["kv_blocks"] == blocks and not e.fits and "null block" in e.engine_refusal


def test_phi3_small_on_a_gpu_without_vllms_block_sparse_kernel_holds_a_dense_mask():
    """vLLM runs Phi-3-small's block-sparse layers with its Triton kernel only on NVIDIA compute capability 8.0+;
    on AMD and older NVIDIA GPUs they fall back to SDPA with a dense mask of every head × max_position_embeddings²,
    16-bit, built at model init (blocksparse_attention/interface.py, utils.py; 0.6.1 and 0.8.4): 32 × 8,192² × 2 B =
    4 GiB for the 8K model, 1 TiB for the 128K one (vllm-project/vllm#7590: "Tried to allocate 1024.00 GiB")."""
    kw = dict(engine="vllm", engine_version="0.7.3", context=8192, max_model_len=8192)
    a100 = estimate("microsoft/Phi-3-small-8k-instruct", gpu="a100-sxm-80gb", **kw)
    v100 = estimate("microsoft/Phi-3-small-8k-instruct", gpu="v100-32gb", **kw)
    assert a100.engine_details["blocksparse_mask_bytes"] == 0
    assert v100.engine_details["blocksparse_mask_bytes"] == 4 * 2**30
    assert v100.weights_bytes - a100.weights_bytes == 4 * 2**30
    long = estimate("microsoft/Phi-3-small-128k-instruct", gpu="mi300x", **kw)
    assert not long.fits and "of it the block-sparse layers' dense mask" in long.engine_refusal
    # 0.8 and 0.9 plan it with 0.7.3's V0 rules (on AMD too), and 0.4.2 predates it
    assert estimate("microsoft/Phi-3-small-8k-instruct", gpu="mi300x", **{**kw, "engine_version": "0.9.2"}
                    ).engine_details["engine_version"] == "0.9.2 (its V0 engine: 0.7.3's rules)"
    with pytest.raises(WorkloadError, match="arrived in 0.4.3"):
        estimate("microsoft/Phi-3-small-8k-instruct", gpu="a100-sxm-80gb", **{**kw, "engine_version": "0.4.2"})


def test_from_0_14_the_fused_moe_workspace_stays_through_the_sampler_run():
    """vLLM 0.14+ runs MoE experts in its modular kernel, whose scratch is a persistent workspace (v1/worker/
    workspace.py) still held when the profile run samples: Triton's (M, k, max(N/2, H)) and (M, k, max(N, H)) rows,
    16-bit. Kimi-K2 (384 experts, 8 a token, 2,048 wide, hidden 7,168) over 8 H200s at 8,192 batched tokens: N =
    2 × 2,048 / 8 = 512, so 8,192 × 8 × (7,168 + 7,168) × 2 B = 1.88 GB beside the sampler; a 64K max_model_len then
    no longer fits (691 blocks of 64 for 1,024 needed). 0.13 freed the caches after each layer."""
    kw = dict(engine="vllm", gpu="h200", tensor_parallel_size=8, max_model_len=65536, context=65536)
    e = estimate("moonshotai/Kimi-K2-Instruct", **kw)
    workspace = 8192 * 8 * (7168 + 7168) * 2
    assert e.engine_details["moe_workspace_bytes"] == workspace
    # the profile peak is the sampler's run beside the workspace and the last hidden states
    d = e.engine_details
    assert e.activation_bytes == max(d["forward_bytes"], workspace + d["sampler_bytes"] + 2 * 8192 * 7168 * 2)
    assert not e.fits and "lower max_model_len" in e.engine_refusal
    # 0.14-0.17 chunk the experts' rows by 16,384 and keep every token's output apart: at 32,768 batched tokens
    from planner.engines.vllm.profile import vllm_moe_workspace_bytes

    spec = load_model("moonshotai/Kimi-K2-Instruct")
    assert vllm_moe_workspace_bytes(spec, 32768, tp=8, whole_experts=False, release=(0, 17, 0)) == \
        (16384 * 8 * (7168 + 7168) + 32768 * 7168) * 2
    assert vllm_moe_workspace_bytes(spec, 32768, tp=8, whole_experts=False, release=(0, 20, 0)) == \
        32768 * 8 * (7168 + 7168) * 2
    old = estimate("moonshotai/Kimi-K2-Instruct", engine_version="0.13.0", **kw)
    assert old.engine_details["moe_workspace_bytes"] == 0


def test_a_vllm_version_that_was_never_released_is_refused():
    """engine_version is checked against PyPI's list: 0.8.99 and 0.8.5.1 were never released; a pre-release, a
    .post build and the patch after a minor's last one (AMD's rocm/vllm-dev images print 0.6.7.dev) are taken."""
    from planner.engines.vllm.releases import vllm_release

    for bad in ("0.8.99", "0.8.5.1", "0.8.7"):
        with pytest.raises(WorkloadError, match=f"engine_version '{bad}' is no vLLM release .*0.8.5 of 0.8"):
            vllm_release(bad)
    assert [vllm_release(v) for v in ("0.8.5.post1", "0.10.1.1", "0.9.0rc1", "0.6.7", "0.33")] == [
        (0, 8, 5), (0, 10, 1), (0, 9, 0), (0, 6, 7), (0, 33, 0)]


def test_before_ampere_and_with_vllm_use_v1_0_vllm_0_8_to_0_10_runs_its_v0_engine(capsys):
    """V1, vLLM's default engine from 0.8.0, needed compute capability 8.0 until 0.10.2: on a T4 (Turing, 7.5) 0.8.2
    falls back to V0 ("Compute Capability < 8.0", engine/arg_utils.py _is_v1_supported_oracle in the 0.8.0, 0.10.0
    and 0.10.1 wheels; not in 0.10.2's), and VLLM_USE_V1=0 (v1_engine=False) asks for V0 on any GPU until 0.11.0
    removed it. V0's rules: 256 sequences, a 2,048-token profile (arg_utils.py)."""
    from planner.cli import main
    from planner.engines.vllm.releases import vllm_v0_fallback

    assert vllm_v0_fallback((0, 8, 2), 75, None) == "V1 needs an Ampere GPU before 0.10.2"
    assert vllm_v0_fallback((0, 10, 2), 75, None) is None and vllm_v0_fallback((0, 8, 2), 80, None) is None
    assert vllm_v0_fallback((0, 9, 2), 89, False) == "VLLM_USE_V1=0"
    assert vllm_v0_fallback((0, 7, 3), 75, None) is None  # V0 is that release's own engine
    with pytest.raises(WorkloadError, match="V0 was removed in 0.11.0"):
        vllm_v0_fallback((0, 11, 0), 89, False)
    with pytest.raises(WorkloadError, match="V1 needs an Ampere GPU before 0.10.2; this GPU has compute capability "
                                            "7.5"):
        vllm_v0_fallback((0, 9, 2), 75, True)
    kw = dict(engine="vllm", context=4096, max_model_len=4096)
    t4 = estimate("meta-llama/Llama-3.2-3B", gpu="t4", engine_version="0.8.2", **kw)
    assert t4.engine_details["max_num_seqs"] == 256 and t4.engine_details["v0_rules_of"] == "0.7.3"
    assert t4.engine_details["engine_version"] == ("0.8.2 (its V0 engine, V1 needs an Ampere GPU before 0.10.2: "
                                                   "0.7.3's rules)")
    a100 = estimate("meta-llama/Llama-3.2-3B", gpu="a100-sxm-80gb", engine_version="0.8.2", **kw)
    assert a100.engine_details["max_num_seqs"] == 1024 and "v0_rules_of" not in a100.engine_details
    v0 = estimate("meta-llama/Llama-3.2-3B", gpu="a100-sxm-80gb", engine_version="0.8.2", v1_engine=False, **kw)
    assert v0.engine_details["max_num_seqs"] == 256 and v0.performance.engine_loop_seconds > 0
    assert main(["estimate", "meta-llama/Llama-3.2-3B", "--engine", "vllm", "--gpu", "t4", "--engine-version",
                 "0.9.2", "--vllm-engine", "v1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--vllm-engine v1: V1 needs an Ampere GPU before 0.10.2" in err
    assert main(["estimate", "meta-llama/Llama-3.2-3B", "--engine", "vllm", "--gpu", "a10", "--vllm-engine", "v0"]) == 2
    assert "planner: error: --vllm-engine v0 (VLLM_USE_V1=0) chooses the V0 engine of releases 0.8.0 to 0.10.2; V0 " \
        "was removed in 0.11.0" in capsys.readouterr().err


def test_vllm_0_8_to_0_10_falls_back_to_v0_where_its_oracle_says():
    """engine/arg_utils.py _is_v1_supported_oracle (read in the 0.8.0, 0.8.2, 0.8.4, 0.8.5, 0.9.0-0.9.2 and
    0.10.0-0.10.2 wheels): pipeline parallel without Ray from 0.9.1, GGUF from 0.9.0, bitsandbytes after 0.8.2, fp32
    from 0.9.2; an fp8 KV cache only where V1's attention took it. An AMD GPU is not assumed to fall back (AMD's
    images and their published runs run at V1's speed): VLLM_USE_V1=0 says an upstream ROCm build did."""
    from planner.engines.vllm.releases import vllm_v0_fallback

    assert vllm_v0_fallback((0, 8, 5), None, None, vendor="amd") is None
    assert vllm_v0_fallback((0, 8, 5), None, False, vendor="amd") == "VLLM_USE_V1=0"
    assert vllm_v0_fallback((0, 9, 0), 90, None, pipeline_parallel_size=2) == \
        "V1 runs pipeline parallel without Ray from 0.9.1"
    assert vllm_v0_fallback((0, 8, 5), 86, None, gguf=True) == "V1 loads GGUF files from 0.9.0"
    assert vllm_v0_fallback((0, 8, 2), 86, None, quant="nf4") == "V1 loads bitsandbytes weights from 0.8.3"
    assert vllm_v0_fallback((0, 8, 4), 86, None, quant="nf4") is None
    assert vllm_v0_fallback((0, 9, 1), 80, None, quant="fp32") == "V1 runs fp32 weights from 0.9.2"
    fp8 = "V1 does not take this fp8 KV cache on this GPU"
    assert vllm_v0_fallback((0, 8, 0), 90, None, kv_dtype="fp8") == fp8  # any KV dtype but auto in 0.8.0
    assert vllm_v0_fallback((0, 9, 2), 90, None, kv_dtype="fp8") is None  # FlashAttention 3 on Hopper
    assert vllm_v0_fallback((0, 9, 2), 80, None, kv_dtype="fp8") == fp8
    assert vllm_v0_fallback((0, 10, 1), 100, None, kv_dtype="fp8") is None  # Blackwell from 0.10
    assert vllm_v0_fallback((0, 10, 2), 89, None, kv_dtype="fp8", mla=True) is None  # FlashMLA
    with pytest.raises(WorkloadError, match="v1_engine=True: V1 loads GGUF files from 0.9.0"):
        vllm_v0_fallback((0, 8, 5), 89, True, gguf=True)
    # the engine line says why; V0 of 0.8+ leaves an MLA model unchunked (_set_default_args_v0), so its profile run
    # takes max_model_len tokens
    e = estimate("meta-llama/Llama-3.2-3B", engine="vllm", engine_version="0.8.5", gpu="a10", quant="q8_0",
                 context=4096)
    assert e.engine_details["engine_version"] == "0.8.5 (its V0 engine, V1 loads GGUF files from 0.9.0: 0.7.3's rules)"
    mla = estimate("deepseek-ai/DeepSeek-V2-Lite", engine="vllm", engine_version="0.9.2", gpu="v100-32gb",
                   tensor_parallel_size=2, context=4096, max_model_len=65536)
    assert mla.engine_details["max_num_batched_tokens"] == 65536
    with pytest.raises(WorkloadError, match="V1 engine never ran microsoft/Phi-3-small-8k-instruct"):
        estimate("microsoft/Phi-3-small-8k-instruct", engine="vllm", engine_version="0.9.2", gpu="a100-sxm-80gb",
                 v1_engine=True, context=4096)
    with pytest.raises(WorkloadError, match="V0 engine cannot run openai/gpt-oss-20b"):
        estimate("openai/gpt-oss-20b", engine="vllm", engine_version="0.10.1", gpu="a100-sxm-80gb", v1_engine=False,
                 context=4096)
