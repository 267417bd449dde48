"""vLLM with tensor and pipeline parallel: each GPU's weights, KV pages and blocks as vLLM splits them."""

import subprocess
import sys
from fractions import Fraction

import pytest

from planner import LayoutError, WorkloadError, estimate, load_model
from planner.activations import tp_shard
from planner.engines.vllm import (
    VLLM_CUDA_GRAPH_ESTIMATE_BYTES,
    VLLM_CURRENT,
    VLLM_CUSTOM_ALLREDUCE_BYTES,
    vllm_mla_materialized_bytes,
    vllm_release,
    vllm_rotary_cache_bytes,
    vllm_stage_layers,
)
from planner.parallel import plan
from planner.weights import stage_weights, stored_tensors, weights_bytes


def test_pipeline_stages_split_layers_as_vllm_does():
    # vllm/distributed/utils.py get_pp_indices; its docs' example: 61 layers over 4 stages → [15, 15, 16, 15]
    assert vllm_stage_layers(61, 4) == [15, 15, 16, 15]
    assert vllm_stage_layers(61, 2) == [31, 30]
    assert vllm_stage_layers(80, 3) == [27, 27, 26]
    assert vllm_stage_layers(32, 4) == [8, 8, 8, 8]


def test_stage_weights_add_up_to_the_model():
    spec = load_model("meta-llama/Llama-3.1-70B")  # untied embedding
    assert sum(stage_weights(spec, "bf16", [20, 20, 20, 20])) == weights_bytes(spec, "bf16")
    tied = load_model("meta-llama/Llama-3.2-1B")  # tied: the last stage needs the matrix again as its lm_head
    one, two = stage_weights(tied, "bf16", [16]), stage_weights(tied, "bf16", [8, 8])
    embedding = tied.vocab_size * tied.d_model * 2
    assert sum(two) == one[0] + embedding
    # tensor parallel 4: matrices a quarter each, norms whole
    quarter = stage_weights(spec, "bf16", [80], tp=4)[0]
    norms = (2 * 80 + 1) * spec.d_model * 2
    assert quarter == (weights_bytes(spec, "bf16") - norms) // 4 + norms


def test_tensor_parallel_4_gives_each_gpu_a_quarter_of_the_kv_heads():
    e = estimate("meta-llama/Llama-3.1-70B", engine="vllm", gpu="h100-sxm", quant="bf16", tensor_parallel_size=4)
    d = e.engine_details
    # Llama-3.1-70B: 8 KV heads of 128 (config.json), bf16 K and V: 4,096 B per token per layer; 2 heads per GPU
    page = 16 * 2 * 2 * 128 * 2
    assert d["kv_blocks"] == d["available_kv_bytes"] // (page * 80)
    assert d["kv_tokens"] == 16 * d["kv_blocks"]
    spec = load_model("meta-llama/Llama-3.1-70B")
    assert e.weights_bytes == stage_weights(spec, "bf16", [80], tp=4)[0] + vllm_rotary_cache_bytes(spec)
    # the current release: the all-reduce buffers sit in the baseline (not charged), the CUDA-graph estimate is
    assert d["available_kv_bytes"] == (d["requested_bytes"] - e.weights_bytes - e.activation_bytes
                                       - VLLM_CUDA_GRAPH_ESTIMATE_BYTES)
    old = estimate("meta-llama/Llama-3.1-70B", engine="vllm", gpu="h100-sxm", quant="bf16", tensor_parallel_size=4,
                   engine_version="0.10.0")
    assert old.engine_details["available_kv_bytes"] == (old.engine_details["requested_bytes"] - old.weights_bytes
                                                        - old.activation_bytes - VLLM_CUSTOM_ALLREDUCE_BYTES
                                                        - old.engine_details["nccl_bytes"])
    # NCCL 2.26 (torch 2.7, vLLM 0.8.5–0.10): per communicator a ring and a tree pair on each of 24 channels and
    # NVLink SHARP's 16 × 2 × 1 MiB × 4 GPUs + 2 MiB; two communicators; a middle rank is the tightest
    assert old.engine_details["nccl_bytes"] == 2 * (2 * 24 * 12 + 16 * 2 * 4 + 2) * 2**20
    assert e.breakdown["overhead"]["all_reduce_buffers"] == VLLM_CUSTOM_ALLREDUCE_BYTES
    assert d["max_concurrency"] == pytest.approx(d["kv_blocks"] / (131072 / 16))
    assert e.engine_refusal is None and e.performance.fits
    one = estimate("meta-llama/Llama-3.1-70B", engine="vllm", gpu="h100-sxm", quant="bf16")
    assert one.engine_refusal is not None and "no memory for KV blocks" in one.engine_refusal


def test_pipeline_parallel_takes_the_fewest_blocks_of_any_stage():
    e = estimate("meta-llama/Llama-3.1-70B", engine="vllm", gpu="h100-sxm", quant="bf16", context=8192,
                 pipeline_parallel_size=3)
    d = e.engine_details
    assert d["layers_per_gpu"] in (26, 27) and d["gpus"] == 3
    spec = load_model("meta-llama/Llama-3.1-70B")
    stages = [w + vllm_rotary_cache_bytes(spec) for w in stage_weights(spec, "bf16", vllm_stage_layers(80, 3))]
    page = 16 * 4096
    blocks = [(d["requested_bytes"] - w - a) // (page * n)
              for w, a, n in zip(stages, [e.activation_bytes] * 3, vllm_stage_layers(80, 3), strict=True)]
    assert d["kv_blocks"] <= min(blocks)  # the last stage also holds the sampler's peak


def test_tensor_parallel_refuses_what_vllm_refuses():
    with pytest.raises(LayoutError, match="64 attention heads do not divide by 3"):
        estimate("meta-llama/Llama-3.1-70B", engine="vllm", gpu="h100-sxm", quant="bf16", tensor_parallel_size=3)


def test_the_cli_prints_per_gpu_kv_blocks_and_concurrency():
    out = subprocess.run([sys.executable, "-m", "planner", "estimate", "meta-llama/Llama-3.1-70B", "--engine", "vllm",
                          "--tensor-parallel-size", "4", "--gpu", "h100-sxm"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "on each of 4 GPUs (tensor parallel 4 × pipeline parallel 1)" in out.stdout
    assert "GPU KV cache size:" in out.stdout and "maximum concurrency for 131,072 tokens per request" in out.stdout


def test_data_parallel_replicas_and_expert_parallel():
    spec = load_model("deepseek-ai/DeepSeek-V3")
    tp4 = estimate(spec, engine="vllm", gpu="h200", max_model_len=32768, tensor_parallel_size=4,
                   data_parallel_size=2)
    ep = estimate(spec, engine="vllm", gpu="h200", max_model_len=32768, tensor_parallel_size=4,
                  data_parallel_size=2, enable_expert_parallel=True)
    # the replicas join the MoE layers' split (fused_moe/config.py flatten_tp_across_dp): each expert's columns over
    # the 8 GPUs without expert parallelism, whole experts with it (256 / 8: as many bytes)
    assert tp4.engine_details["gpus"] == ep.engine_details["gpus"] == 8
    assert (tp4.engine_details["moe_split"], tp4.engine_details["expert_parallel_size"]) == (8, 1)
    assert ep.engine_details["expert_parallel_size"] == 8
    # besides the tensors, MLA's 16-bit copy of the fp8 kv_b_proj for its bmm's (vllm_mla_materialized_bytes)
    mla = 61 * vllm_mla_materialized_bytes(spec, "fp8-block", 4, vllm_release(VLLM_CURRENT))
    assert mla == 61 * 512 * 32 * (128 + 128) * 2
    assert tp4.weights_bytes == stage_weights(spec, "fp8-block", [61], tp=4, ep=8)[0] + mla
    assert ep.weights_bytes == stage_weights(spec, "fp8-block", [61], tp=4, ep=8, whole_experts=True)[0] + mla
    experts = sum(t.nbytes for t in stored_tensors(spec, "fp8-block") if t.is_routed_expert)
    tp4_alone = stage_weights(spec, "fp8-block", [61], tp=4)[0] + mla  # what one replica of 4 GPUs would hold
    assert tp4_alone - ep.weights_bytes == pytest.approx(experts / 4 - experts / 8, rel=1e-3)


def test_expert_parallel_gives_whole_experts_the_first_ranks_one_more():
    """vLLM hands out whole experts, base = E // ep each and one more to the first E % ep ranks
    (fused_moe/expert_map_manager.py, 0.33); the heaviest rank decides (vLLM syncs every replica's KV size to the
    smallest). Mixtral's 8 experts over 6 GPUs: 2 on ranks 0 and 1, so as many bytes as over 4 GPUs."""
    kw = dict(engine="vllm", gpu="rtx-4090", max_model_len=8192, enable_expert_parallel=True)
    six = estimate("mistralai/Mixtral-8x7B-v0.1", data_parallel_size=6, **kw)
    four = estimate("mistralai/Mixtral-8x7B-v0.1", data_parallel_size=4, **kw)
    assert six.weights_bytes == four.weights_bytes and not six.fits  # 24.00 GiB: 1.33 experts a GPU said "fits"
    spec = load_model("mistralai/Mixtral-8x7B-v0.1")
    experts = sum(t.nbytes for t in stored_tensors(spec, "bf16") if t.is_routed_expert)
    assert (stage_weights(spec, "bf16", [32], ep=6, whole_experts=True)[0]
            - stage_weights(spec, "bf16", [32], ep=6)[0]) == pytest.approx(experts * (2 / 8 - 1 / 6), rel=1e-6)


def test_data_parallel_ranks_join_the_experts_split():
    """Without expert parallelism vLLM splits each expert over tp × dp GPUs (flatten_tp_across_dp): Qwen3-30B-A3B
    at -dp 2 holds half its experts on each L40S, where planner gave each replica every expert and refused; and that
    split must keep fp8-block's 128-wide tiles (vLLM before 0.31: 768 / 8 = 96 is refused at load, as -tp 8 is)."""
    kw = dict(engine="vllm", gpu="l40s", max_model_len=8192)
    dp2 = estimate("Qwen/Qwen3-30B-A3B", data_parallel_size=2, **kw)
    tp2 = estimate("Qwen/Qwen3-30B-A3B", tensor_parallel_size=2, **kw)
    assert dp2.fits and 0 < dp2.weights_bytes - tp2.weights_bytes < 2 * 2**30  # attention replicated, experts halved
    with pytest.raises(WorkloadError, match=r"routed experts \(768 wide\) split 8 ways is 96 wide"):
        estimate("Qwen/Qwen3-30B-A3B", quant="fp8-block", engine_version="0.30.0", data_parallel_size=8,
                 **{**kw, "gpu": "h100-sxm"})
    with pytest.raises(WorkloadError, match="not a mixture-of-experts model"):  # no experts: the flag changes nothing
        estimate("meta-llama/Llama-3.1-70B", engine="vllm", gpu="h100-sxm", quant="bf16", tensor_parallel_size=4,
                 enable_expert_parallel=True)


def test_a_tensor_parallel_rank_keeps_the_residual_stream_whole():
    # Qwen2.5-32B (config.json: hidden_size 5120, intermediate_size 27648, 40 query / 8 KV heads of 128) at TP2 over
    # 10,000 tokens: each rank's gated MLP holds gate, up and their product for its 13,824 columns, beside x and
    # norm(x) of the whole 5,120-wide residual stream: 2·N·5120·2 + 3·N·13824·2 bytes. Dividing the one-GPU peak by
    # two (what planner did before) left out half of the residual stream.
    n = 10_000
    rank = 2 * n * 5120 * 2 + 3 * n * 13824 * 2
    e = estimate("Qwen/Qwen2.5-32B", engine="vllm", gpu="h100-sxm", quant="bf16", context=10_000,
                 tensor_parallel_size=2, max_model_len=10_000, max_num_batched_tokens=n, max_num_seqs=1)
    assert e.activation_bytes == rank == 1_034_240_000
    spec = load_model("Qwen/Qwen2.5-32B")
    shard = tp_shard(spec, 2)
    assert (shard.n_heads, shard.n_kv_heads, shard.d_ff, shard.d_model) == (20, 4, 13824, 5120)
    assert tp_shard(spec, 16).n_kv_heads == 1  # 8 KV heads over 16 ranks: replicated, one per rank
    assert tp_shard(spec, 1) is spec
    # plan(): the same per-rank view, so a rank's activations are more than half of one GPU's at TP2
    one = plan(spec, gpu="h100-sxm", n_gpus=1, context=8192, prompt=8192)
    two = plan(spec, gpu="h100-sxm", n_gpus=2, context=8192, prompt=8192)
    assert one.per_gpu["activation_bytes"] / 2 < two.per_gpu["activation_bytes"] < one.per_gpu["activation_bytes"]


def test_v0_keeps_gate_up_alive_through_the_down_projection_and_all_reduces_out_of_place():
    # V0 runs the model eagerly: LlamaMLP/Qwen2MLP keep `gate_up` alive while down_proj writes its output, beside the
    # layer's input and residual; from 0.6.5 the TP all-reduce writes a new tensor (pynccl.py all_reduce:
    # torch.empty_like). Qwen2.5-32B (config.json: hidden_size 5120, intermediate_size 27648) at TP2 over 10,000 tokens,
    # one rank: (4 rows of 5,120 + 3 of 13,824) × 2 bytes per token; 0.6.4's all-reduce was in place: 3 rows of 5,120.
    n, kw = 10_000, dict(engine="vllm", gpu="l40s", quant="bf16", context=10_000, tensor_parallel_size=2,
                         max_model_len=10_000, max_num_batched_tokens=10_000, max_num_seqs=1)
    v071 = estimate("Qwen/Qwen2.5-32B", engine_version="0.7.1", **kw)
    assert v071.activation_bytes == v071.engine_details["forward_bytes"] == n * (4 * 5120 + 3 * 13824) * 2
    assert estimate("Qwen/Qwen2.5-32B", engine_version="0.6.4", **kw).activation_bytes == n * (3 * 5120 + 3 * 13824) * 2
    # V1 compiles the model; planner's reference MLP (2 rows of 5,120 + 3 of 13,824) stands for it
    assert estimate("Qwen/Qwen2.5-32B", engine_version="0.8.0", **kw).activation_bytes == 1_034_240_000
    # one GPU (Llama-3.1-8B, config.json: hidden_size 4096, intermediate_size 14336) over 20,000 tokens: no all-reduce
    one = estimate("meta-llama/Llama-3.1-8B", engine="vllm", gpu="rtx-3090", quant="bf16", engine_version="0.7.3",
                   context=20_000, max_model_len=20_000, max_num_batched_tokens=20_000, max_num_seqs=1)
    assert one.activation_bytes == 20_000 * (3 * 4096 + 3 * 14336) * 2


def test_the_cuda_context_a_release_charges_can_be_given():
    kw = dict(engine="vllm", gpu="rtx-3090", quant="bf16", engine_version="0.6.4", max_model_len=8192)
    prior = estimate("meta-llama/Llama-3.1-8B", **kw).engine_details
    given = estimate("meta-llama/Llama-3.1-8B", cuda_context_bytes=350 * 2**20, **kw).engine_details
    assert prior["cuda_context_bytes"] == 618 * 2**20
    assert given["available_kv_bytes"] - prior["available_kv_bytes"] == (618 - 350) * 2**20
    # releases that take their baseline after the context do not charge it, whatever is given
    late = dict(kw, engine_version="0.7.3")
    assert (estimate("meta-llama/Llama-3.1-8B", cuda_context_bytes=0, **late).engine_details["available_kv_bytes"]
            == estimate("meta-llama/Llama-3.1-8B", **late).engine_details["available_kv_bytes"])
    with pytest.raises(WorkloadError, match="cuda_context_bytes must be an integer ≥ 0, got -1"):
        estimate("meta-llama/Llama-3.1-8B", cuda_context_bytes=-1, **kw)


def test_enforce_eager_takes_no_graph_estimate_and_runs_v1_uncompiled():
    # vLLM 0.18+ estimates CUDA-graph memory only `if not self.model_config.enforce_eager` (v1/worker/gpu_worker.py
    # determine_available_memory, read at 0.18.0) and charges it from 0.20; V1 with enforce_eager leaves the model
    # uncompiled ("Enforce eager set, overriding optimization level to -O0"), so its MLP is V0's: Qwen2.5-32B
    # (hidden 5120, intermediate 27648) at TP2 over 10,000 tokens, (4 × 5120 + 3 × 13824) × 2 bytes a token
    kw = dict(engine="vllm", gpu="l40s", quant="bf16", context=10_000, tensor_parallel_size=2, max_model_len=10_000,
              max_num_batched_tokens=10_000, max_num_seqs=1)
    compiled = estimate("Qwen/Qwen2.5-32B", **kw)
    eager = estimate("Qwen/Qwen2.5-32B", enforce_eager=True, **kw)
    assert compiled.activation_bytes == 1_034_240_000
    assert eager.activation_bytes == 10_000 * (4 * 5120 + 3 * 13824) * 2
    assert compiled.engine_details["cuda_graph_estimate_bytes"] == VLLM_CUDA_GRAPH_ESTIMATE_BYTES
    assert eager.engine_details["cuda_graph_estimate_bytes"] == 0
    assert (eager.engine_details["available_kv_bytes"] - compiled.engine_details["available_kv_bytes"]
            == VLLM_CUDA_GRAPH_ESTIMATE_BYTES - (eager.activation_bytes - compiled.activation_bytes))
    # before 0.20 the estimate is not charged either way
    v19 = dict(kw, engine_version="0.19.0")
    assert estimate("Qwen/Qwen2.5-32B", enforce_eager=True, **v19).engine_details["cuda_graph_estimate_bytes"] == 0


def test_scheduler_defaults_by_gpu_and_release():
    """vllm serve's defaults and the LLM class's (research/vllm_versions.md, Defaults; engine/arg_utils.py of each
    wheel, 0.8.0-0.33.0): 0.9-0.33 give an A100 the small tier of tokens and sequences (one `device_memory >= 70 GiB
    and "a100" not in device_name` test sets both; 0.28.0 arg_utils.py:2592, after its new 160 GiB tier), an H100 the
    large one; 0.8.4 gave GPUs other than H100/H200 256 sequences (before it, 1024 on every GPU). The LLM class takes
    twice serve's tokens below 160 GiB, the same sequences. Four public A100 80GB logs of 0.10 and 0.15
    (tests/fixtures/logs/vllm-*-a100-80gb-*) land within 0.6 % of their KV budgets with 256 sequences."""
    from planner.engines.vllm import vllm_scheduler_defaults

    gib = 2**30
    a100 = dict(max_model_len=8192, gpu_memory_bytes=80 * gib, device_name="NVIDIA A100-SXM4-80GB")
    h100 = dict(max_model_len=8192, gpu_memory_bytes=80 * gib, device_name="NVIDIA H100 80GB HBM3")
    assert vllm_scheduler_defaults((0, 15, 0), **a100) == {"max_num_batched_tokens": 2048, "max_num_seqs": 256}
    assert vllm_scheduler_defaults((0, 15, 0), **h100) == {"max_num_batched_tokens": 8192, "max_num_seqs": 1024}
    assert vllm_scheduler_defaults((0, 8, 5), **a100)["max_num_seqs"] == 1024  # before the A100 exclusion
    assert vllm_scheduler_defaults((0, 28, 0), **a100) == {"max_num_batched_tokens": 2048, "max_num_seqs": 256}
    b200 = dict(max_model_len=8192, gpu_memory_bytes=179 * gib, device_name="NVIDIA B200")
    assert vllm_scheduler_defaults((0, 28, 0), **b200) == {"max_num_batched_tokens": 16384, "max_num_seqs": 1024}
    assert vllm_scheduler_defaults((0, 8, 3), **a100)["max_num_seqs"] == 1024  # every GPU, 0.8.0-0.8.3
    assert vllm_scheduler_defaults((0, 8, 4), **a100)["max_num_seqs"] == 256  # by name: not an H100/H200
    assert vllm_scheduler_defaults((0, 8, 4), **h100) == {"max_num_batched_tokens": 8192, "max_num_seqs": 1024}
    llm = dict(entrypoint="llm")
    assert vllm_scheduler_defaults((0, 15, 0), **a100, **llm) == {"max_num_batched_tokens": 8192, "max_num_seqs": 256}
    assert vllm_scheduler_defaults((0, 15, 0), **h100, **llm)["max_num_batched_tokens"] == 16384
    assert vllm_scheduler_defaults((0, 28, 0), **b200, **llm)["max_num_batched_tokens"] == 16384
    assert vllm_scheduler_defaults((0, 7, 3), **h100, **llm) == vllm_scheduler_defaults((0, 7, 3), **h100)  # V0


def test_fit_sizes_a_tensor_split_as_vllm_budgets_it():
    """fit's "tensor" rows are vLLM's splits at its defaults (estimate(engine="vllm"), max_model_len the context):
    per GPU, what vLLM 0.33 holds to its budget, 0.92 × CUDA's total of an H100 (78,216,335,196 bytes). 8 × H100 hold
    Llama-3.1-405B in fp8 at 128K: the profile run's peak over max_num_batched_tokens (8,192 on an H100 for `vllm
    serve`; never the whole 128K prompt at once), the CUDA-graph estimate, and 131,072 / 16 + 1 (the null block) KV
    blocks of 16 tokens × 126 layers × one KV head of 128 × 2 (K, V) × 2 bytes."""
    from planner.fit import fit

    rows = fit("meta-llama/Llama-3.1-405B", context=131072, gpus=["h100-sxm"], quants=["fp8"], gpu_counts=[8])
    assert len(rows) == 1 and rows.iloc[0]["n_gpus"] == 8 and rows.iloc[0]["split"] == "tensor"
    r = rows.iloc[0]
    e = estimate("meta-llama/Llama-3.1-405B", engine="vllm", quant="fp8", gpu="h100-sxm", tensor_parallel_size=8,
                 max_model_len=131072)
    assert e.fits and e.engine_details["max_num_batched_tokens"] == 8192
    assert r["per_gpu_bytes"] == {"weights_bytes": e.weights_bytes, "kv_cache_bytes": 8193 * 16 * 126 * 128 * 2 * 2,
                                  "activation_bytes": e.activation_bytes,
                                  "overhead_bytes": VLLM_CUDA_GRAPH_ESTIMATE_BYTES,
                                  "total_bytes": r["per_gpu_total_bytes"]}
    assert r["budget_bytes"] == 78_216_335_196 == int(0.92 * 85_017_755_648)  # the catalog's H100 total
    assert r["headroom_bytes"] == r["budget_bytes"] - r["per_gpu_total_bytes"] > 0 and r["reason"] is None


@pytest.mark.parametrize("model,context,gpu,quant,n", [
    ("mistralai/Mixtral-8x22B-v0.1", 8192, "h200", "bf16", 2),
    ("meta-llama/Llama-3.1-70B", 32768, "h100-sxm", "bf16", 2),
    ("Qwen/Qwen2.5-72B", 32768, "h100-sxm", "bf16", 2),
    ("Qwen/Qwen2.5-72B", 32768, "a100-sxm-80gb", "bf16", 2),
    ("mistralai/Mixtral-8x22B-v0.1", 65536, "rtx-4090", "int4", 4),
    ("meta-llama/Llama-3.1-405B", 131072, "h200", "int4", 2),
])
def test_fit_never_ranks_a_tensor_split_vllm_would_not_start(model, context, gpu, quant, n):
    """Splits the plain per-GPU sum held to the whole GPU called fitting, where vLLM at its defaults refuses: its
    budget (0.92 of the memory) less the weights, the profile run's peak and the CUDA-graph estimate leaves no room
    for one max_model_len request (Mixtral-8x22B in bf16 on 2 × H200: 130.98 GiB of weights a GPU, 134.18 GiB in all
    against 139.80 usable, but a 128.62 GiB budget). fit's row follows vLLM, and says why."""
    from planner.fit import fit

    e = estimate(model, engine="vllm", quant=quant, gpu=gpu, tensor_parallel_size=n, max_model_len=context)
    assert not e.fits and e.engine_refusal.startswith("vLLM would not start")
    rows = fit(model, context=context, gpus=[gpu], quants=[quant], gpu_counts=[n], only_fitting=False)
    r = rows.iloc[0]
    assert (r["split"], bool(r["fits"])) == ("tensor", False) and r["headroom_bytes"] < 0
    assert "vLLM would not start" in r["reason"]
    assert fit(model, context=context, gpus=[gpu], quants=[quant], gpu_counts=[n]).empty


def test_fit_tensor_verdicts_on_l40s_follow_vllm():
    """Llama-3.1-70B at 32K on 2 × L40S: vLLM starts fp8 and int8 (its budget, 0.92 × 44.31 GiB, leaves about 0.8 GiB
    beyond the 2,049 blocks of KV one request and the null block need), so fit ranks them, with vLLM's figures."""
    from planner.fit import fit

    rows = fit("meta-llama/Llama-3.1-70B", context=32768, gpus=["l40s"], quants=["fp8", "int8"], gpu_counts=[2])
    for r in rows.itertuples():
        e = estimate("meta-llama/Llama-3.1-70B", engine="vllm", quant=r.quant, gpu="l40s", tensor_parallel_size=2,
                     max_model_len=32768)
        assert e.fits and r.fits and r.per_gpu_bytes["kv_cache_bytes"] == (2048 + 1) * 16 * 80 * 4 * 128 * 2 * 2
        assert r.budget_bytes == 43_770_574_274 and 0.78 < r.headroom_bytes / 2**30 < 0.80
    assert sorted(rows["quant"]) == ["fp8", "int8"]


def test_vllm_turns_its_all_reduce_kernel_off_where_its_source_says():
    """custom_all_reduce.py (0.33): off for a group size outside 2, 4, 6, 8, 16; over more than two GPUs not all on
    NVLink ("not supported on more than two PCIe-only GPUs"); and without P2P, which GeForce cards lack over PCIe."""
    from planner.engines.vllm.releases import vllm_custom_allreduce
    from planner.gpus import load_gpu

    on = {(g, tp) for g in ("h100-sxm", "l40s", "rtx-4090", "rtx-3090", "a100-pcie-80gb") for tp in (2, 3, 4)
          if vllm_custom_allreduce(None, load_gpu(g), tp=tp)}
    assert on == {("h100-sxm", 2), ("h100-sxm", 4), ("l40s", 2), ("rtx-3090", 2), ("a100-pcie-80gb", 2)}
    assert vllm_custom_allreduce(None, load_gpu("rtx-4090"), True, tp=4)  # as the run set it
    e = estimate("Qwen/Qwen2.5-32B", engine="vllm", tensor_parallel_size=4, gpu="rtx-4090", max_model_len=8192)
    assert e.engine_details["custom_all_reduce"] is False


def test_pipeline_stages_hold_their_layers_of_the_whole_models_sliding_groups():
    """vLLM groups a sliding-window model's layers over the whole model, dealing each kind's layers out to its groups
    in turn (from 0.11: layers[i::num_groups]), and projects the groups onto each stage (0.33 kv_cache_planning.py
    get_kv_cache_configs; a block costs the largest group's pages on the stage, _get_kv_cache_bytes_per_block):
    gpt-oss-120b over 2 stages keeps about the concurrency 2-way tensor parallel gives, where full pages on every
    layer gave 8.7×; Gemma 3 27B's 52 sliding layers in 6 groups and 10 full in one put at most 5 of a group on
    each of 2 stages (10 when 0.10 filled groups with consecutive layers)."""
    from planner.engines.vllm.hybrid import vllm_stage_tensors

    kw = dict(engine="vllm", gpu="h100-sxm")
    pp = estimate("openai/gpt-oss-120b", pipeline_parallel_size=2, **kw).engine_details
    tp = estimate("openai/gpt-oss-120b", tensor_parallel_size=2, **kw).engine_details
    assert pp["hybrid_sliding_groups"] == tp["hybrid_sliding_groups"] == 1
    assert 14 < pp["max_concurrency"] < 17 and abs(pp["max_concurrency"] / tp["max_concurrency"] - 1) < 0.05
    gemma = load_model("google/gemma-3-27b-it")
    # stage 0 (layers 0-30): sliding layers s0-s25, s_j in group j mod 6 (s0, s6, s12, s18, s24 in group 0: 5), and
    # full layers 5, 11, 17, 23, 29 of the one full group (5)
    assert vllm_stage_tensors(gemma, 10, [31, 31]) == [5, 5]
    assert vllm_stage_tensors(gemma, 10, [31, 31], (0, 10, 0)) == [10, 10]  # s0-s9 on stage 0
    g2 = estimate("google/gemma-3-27b-it", quant="awq", pipeline_parallel_size=2, gpu="rtx-4090", engine="vllm")
    assert g2.fits and g2.engine_details["max_concurrency"] > 1.5


def test_tensor_parallel_beyond_the_kv_heads_holds_a_whole_kv_head_on_every_gpu():
    """vLLM 0.33's and SGLang 0.5.23's QKVParallelLinear (model_executor/layers/linear.py, srt/layers/linear.py): with
    tp_size ≥ total_num_kv_heads each rank holds num_kv_heads = 1, num_kv_head_replicas = tp_size / n_kv copies of it.
    Llama-3.1-405B's K and V: 2 × 126 layers × 8 heads × 128 × 16,384 × 2 bytes = 8,064 MiB in bf16; over 8 or 16 GPUs
    each holds one head of the 8: 1,008 MiB (1/16 of them, 504 MiB, before the replicas were counted)."""
    from planner.engines.sglang import sglang_loaded_bytes
    from planner.perf.step import kv_replica_bytes
    from planner.weights import tp_matrix_share

    spec = load_model("meta-llama/Llama-3.1-405B")
    assert (spec.n_kv_heads, spec.n_layers, spec.head_dim, spec.d_model) == (8, 126, 128, 16384)

    def kv(t):
        return ".attn_k." in t.name or ".attn_v." in t.name

    assert stage_weights(spec, "bf16", [126], only=kv)[0] == 8064 * 2**20
    assert [stage_weights(spec, "bf16", [126], tp=tp, only=kv)[0] for tp in (8, 16)] == [1008 * 2**20] * 2
    # SGLang holds the same weights as vLLM's split; a decode step reads the replicas too: 1,008 − 8,064 / 16 MiB
    assert sglang_loaded_bytes(spec, "bf16", 16)["weight_tensors"] == stage_weights(spec, "bf16", [126], tp=16)[0]
    assert kv_replica_bytes(spec, "bf16", 16) == 504 * 2**20 and kv_replica_bytes(spec, "bf16", 8) == 0
    # a fused QKV (Phi-3-medium: 40 query heads, 10 KV heads of 128) over 20 GPUs: 2 query heads and one K and one V
    # head a rank, 512 of the 7,680 rows, 1/15 (1/20 split evenly)
    phi = load_model("microsoft/Phi-3-medium-4k-instruct")
    qkv = next(t for t in stored_tensors(phi, "bf16") if t.name == "blk.0.attn_qkv.weight")
    assert (qkv.rows, phi.n_heads, phi.n_kv_heads) == (7680, 40, 10)
    assert [tp_matrix_share(qkv, phi, tp) for tp in (10, 20, 40)] == [Fraction(1, 10), Fraction(1, 15), Fraction(1, 20)]


def test_a_moe_split_says_what_its_experts_add_to_a_step():
    """A MoE model split over GPUs: every step carries layers × routed experts × the engine's fitted time per expert
    (moe_expert_overhead_s), and the answer says how much and from which runs, since no published run of a small
    MoE on 2-4 GPUs backs it. Qwen3-30B-A3B: 48 MoE layers of 128 routed experts (its config.json)."""
    from planner.efficiency import moe_expert_overhead

    kw = dict(quant="bf16", engine="vllm", gpu="h100-sxm", context=8192)
    one = estimate("Qwen/Qwen3-30B-A3B", **kw).performance
    two = estimate("Qwen/Qwen3-30B-A3B", tensor_parallel_size=2, **kw).performance
    per_expert = moe_expert_overhead("vllm").moe_expert_overhead_s
    assert one.moe_split_seconds == 0
    assert two.moe_split_seconds == pytest.approx(48 * 128 * per_expert)
    assert estimate("meta-llama/Llama-3.1-8B", tensor_parallel_size=2, **kw).performance.moe_split_seconds == 0


def test_the_cli_names_the_moe_split_time(capsys):
    from planner.cli import main
    from planner.efficiency import moe_expert_overhead

    main(["estimate", "Qwen/Qwen3-30B-A3B", "--quant", "bf16", "--engine", "vllm", "--gpu", "h100-sxm",
          "--context", "8192", "--tensor-parallel-size", "2"])
    ms = 1e3 * 48 * 128 * moe_expert_overhead("vllm").moe_expert_overhead_s
    assert f"each step includes {ms:.1f} ms for the MoE layers split over GPUs" in capsys.readouterr().out


def test_the_cli_adds_up_data_parallel_replicas(capsys):
    """--data-parallel-size: --batch and the figures are one replica's; one line gives all of them together (the
    replicas run side by side, each its own KV cache and scheduler)."""
    from planner.cli import main

    args = ["estimate", "meta-llama/Llama-3.1-8B", "--engine", "vllm", "--gpu", "h100-sxm", "--max-model-len", "8192",
            "--batch", "8", "--data-parallel-size", "3"]
    assert main(args) == 0
    out = capsys.readouterr().out
    one = estimate("meta-llama/Llama-3.1-8B", engine="vllm", gpu="h100-sxm", max_model_len=8192, batch=8,
                   data_parallel_size=3).performance.throughput_tokens_per_s
    assert f"all 3 replicas: 24 requests at a time, {3 * one:,.1f} tokens/s in all (decode rate above × 3" in out
    assert "--batch and the figures are one replica's" in out
