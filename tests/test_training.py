"""Training memory: model states against DeepSpeed's own estimator, the setup's errors, the train verb."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from planner import load_model, train_estimate
from planner.cli import main
from planner.errors import WorkloadError
from planner.training.setup import make_setup
from planner.training.shard import deepspeed_gpu_bytes, largest_module_params
from planner.training.states import lora_params, model_states

ROOT = Path(__file__).resolve().parents[1]
DEEPSPEED = [json.loads(line) for line in (ROOT / "profiles/measurements/deepspeed-zero.jsonl").open()]


def _deepspeed_setup(r: dict):
    o = r["options"]
    stage = "zero2" if r["stage"] == 2 else "zero3"
    return make_setup(method="full", distribution=stage, n_gpus=r["num_gpus_per_node"] * r["num_nodes"],
                      offload_optimizer=o["cpu_offload"],
                      offload_params=stage == "zero3" and o["cpu_offload"] and o.get("cpu_offload_params", False))


def test_deepspeed_records_cover_the_bundled_models():
    assert len(DEEPSPEED) >= 1000
    assert len({r["model"] for r in DEEPSPEED}) >= 30
    assert {r["stage"] for r in DEEPSPEED} == {2, 3}


@pytest.mark.parametrize("model", sorted({r["model"] for r in DEEPSPEED}))
def test_zero_model_states_equal_deepspeeds_estimator(model):
    """Every recorded call of estimate_zero2/zero3_model_states_mem_needs (DeepSpeed 0.19.8), byte for byte, where
    DeepSpeed counts the same parameters as planner."""
    spec = load_model(model)
    records = [r for r in DEEPSPEED if r["model"] == model]
    if records[0]["total_params"] != spec.param_count:
        # DeepSeek-V3: transformers keeps e_score_correction_bias as a buffer (14,848 fewer parameters)
        pytest.skip(f"DeepSpeed counts {records[0]['total_params']:,} parameters, planner {spec.param_count:,}")
    for r in records:
        assert largest_module_params(spec) == r["largest_layer_params"], r["largest_layer_module"]
        setup = _deepspeed_setup(r)
        assert deepspeed_gpu_bytes(spec, setup, model_states(spec, setup)) == r["measured"]["gpu_bytes"], r


def test_full_finetuning_states_per_parameter():
    """bf16 AdamW: 2 bytes of weights, 2 of gradients, 4 of moments per parameter; fp32: 4 + 4 + 8. The 16 bytes
    per parameter of fp32 Adam training is the ZeRO paper's K=12 plus weights and gradients
    (Rajbhandari et al. 2020, https://arxiv.org/abs/1910.02054, section 3.1, for fp16 weights: 2 + 2 + 12)."""
    spec = load_model("meta-llama/Llama-3.1-8B")
    p = spec.param_count
    s = model_states(spec, make_setup(precision="bf16"))
    assert (s.weights_bytes, s.gradient_bytes) == (2 * p, 2 * p)
    tensors = s.optimizer_state_bytes - 4 * p
    assert 0 < tensors < 1000 * 4  # one 4-byte step counter per tensor
    s = model_states(spec, make_setup(precision="fp32", optimizer="sgd"))
    assert (s.weights_bytes, s.gradient_bytes, s.optimizer_state_bytes) == (4 * p, 4 * p, 4 * p)


def test_lora_parameters_all_linear():
    """r · (in + out) per adapted linear: Llama-3.1-8B at r=16 over q, k, v, o, gate, up, down."""
    spec = load_model("meta-llama/Llama-3.1-8B")
    d, kv, f = 4096, 1024, 14336
    per_layer = 16 * ((d + d) + (d + kv) * 2 + (d + d) + (d + f) * 3)
    assert lora_params(spec, make_setup(method="lora", lora_rank=16)) == 32 * per_layer == 41_943_040
    assert lora_params(spec, make_setup(method="lora", lora_rank=8, lora_targets="q_proj,v_proj")) == \
        32 * 8 * ((d + d) + (d + kv))


def test_eight_bit_adam_states():
    """bitsandbytes blockwise 8-bit: one byte per element and an fp32 absmax per 256 per moment."""
    spec = load_model("meta-llama/Llama-3.2-1B")
    s = model_states(spec, make_setup(optimizer="adamw_8bit"))
    assert s.trainable_params * 2 < s.optimizer_state_bytes < s.trainable_params * 2 * (1 + 4 / 256) + 2**20


def test_qlora_weights_are_nf4_with_fp32_embeddings():
    spec = load_model("meta-llama/Llama-3.1-8B")
    e = train_estimate(spec, method="qlora")
    embed_and_head = 2 * 128256 * 4096 * 4  # peft's prepare_model_for_kbit_training casts them to fp32
    assert e.setup.gradient_checkpointing is True
    weights = model_states(spec, e.setup).weights_bytes
    assert embed_and_head < weights < embed_and_head + 0.6 * spec.param_count
    # at the peak, autocast's bf16 copy of the fp32 lm_head is there too
    assert e.components["weights"] == weights + 2 * 128256 * 4096


def test_more_tokens_more_memory_and_checkpointing_saves():
    spec = load_model("Qwen/Qwen2.5-7B")
    a = train_estimate(spec, method="lora", seq_len=1024).total_bytes
    b = train_estimate(spec, method="lora", seq_len=2048).total_bytes
    c = train_estimate(spec, method="lora", seq_len=2048, gradient_checkpointing=True).total_bytes
    assert a < b and c < b


@pytest.mark.parametrize("options, field", [
    ({"method": "dora"}, "method"), ({"lora_rank": 0}, "lora_rank"), ({"lora_targets": "q_proj,foo"}, "foo"),
    ({"micro_batch": 0}, "micro_batch"), ({"n_gpus": 4}, "n_gpus"), ({"offload_params": True}, "offload_params"),
    ({"optimizer": "lion"}, "optimizer"), ({"bogus": 1}, "bogus"), ({"method": "lora", "freeze_layers": 2},
                                                                     "freeze_layers"),
])
def test_bad_setup_names_the_field(options, field):
    with pytest.raises(WorkloadError, match=field):
        make_setup(**options)


def test_train_verb(capsys):
    assert main(["train", "microsoft/Phi-3-small-8k-instruct", "--method", "qlora", "--rank", "16", "--seq-len",
                 "4096", "--gpu", "rtx-4090"]) == 0
    out = capsys.readouterr().out
    assert "QLoRA" in out and "rtx-4090: fits" in out and "largest micro-batch" in out
    assert main(["train", "meta-llama/Llama-3.1-8B", "--json", "--gpus", "4", "--distribution", "zero3"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["setup"]["n_gpus"] == 4 and data["components"]["optimizer_states"] > 0


@pytest.mark.parametrize("argv", [["train", "llama-3.1-8b", "--rank", "0"],
                                  ["train", "llama-3.1-8b", "--targets", "q_proj,foo"],
                                  ["train", "llama-3.1-8b", "--optimizer", "lion"],
                                  ["train", "no-such-model"]])
def test_train_verb_bad_input_exits_2(argv, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("planner: error:") and err.count("\n") == 1


def test_zero1_partitions_only_the_optimizer_states():
    """ZeRO-1 (P_os): 16-bit weights and gradients whole on every GPU, the optimizer's 16 bytes per parameter
    (fp32 master, fp32 gradient, Adam's two moments, as DeepSpeed counts them) split N ways — Rajbhandari et al.
    2020, https://arxiv.org/abs/1910.02054, figure 1 (there K = 12, without the fp32 gradient)."""
    spec = load_model("meta-llama/Llama-3.1-8B")
    p = spec.param_count
    for n in (2, 8):
        setup = make_setup(distribution="zero1", n_gpus=n)
        assert deepspeed_gpu_bytes(spec, setup, model_states(spec, setup)) == 4 * p + 16 * p // n


@pytest.mark.parametrize("distribution", ["zero1", "zero2", "zero3", "fsdp"])
def test_the_optimizer_step_under_sharding_updates_only_this_gpus_partition(distribution):
    # torch's foreach AdamW takes the square root of every exp_avg_sq at once: one more copy of what it steps. Under
    # ZeRO that is DeepSpeed's flat fp32 partition of the master weights, under FSDP this GPU's shard, not the model
    p = load_model("meta-llama/Llama-3.1-8B").param_count
    kw = dict(method="full", gradient_checkpointing=True, distribution=distribution, n_gpus=16)
    foreach = {ph.name: ph.bytes for ph in train_estimate("meta-llama/Llama-3.1-8B", **kw).phases}
    fused = {ph.name: ph.bytes for ph in train_estimate("meta-llama/Llama-3.1-8B", optimizer="adamw_fused",
                                                       **kw).phases}
    itemsize = 4 if distribution.startswith("zero") else 2  # fp32 master partition; FSDP steps bf16 shards here
    assert foreach["optimizer"] - fused["optimizer"] == -(-p // 16) * itemsize
    assert foreach["loss"] == fused["loss"]


def test_a_sequence_beyond_the_models_context_is_refused_as_estimate_refuses_it():
    with pytest.raises(WorkloadError, match="seq_len 204,800 exceeds meta-llama/Llama-3.1-8B's max_context 131,072"):
        train_estimate("meta-llama/Llama-3.1-8B", seq_len=200 * 1024)


def test_qlora_keeps_a_moes_fused_experts_unquantized_in_fp32():
    """transformers 5 holds Qwen3-MoE's routed experts as fused 3-D parameters, which bitsandbytes' conversion
    (nn.Linear only) leaves 16-bit and prepare_model_for_kbit_training casts to fp32: QLoRA of Qwen3-30B-A3B holds
    48 × 128 × 3 × 2,048 × 768 expert parameters at 4 bytes (108 GiB), not in NF4; Llama 4's experts are split into
    linears for quantization and stay 4-bit."""
    from planner.tensors import weight_tensors
    from planner.training.states import base_bytes

    spec = load_model("Qwen/Qwen3-30B-A3B")
    experts = 48 * 128 * 3 * 2048 * 768
    setup = make_setup(method="qlora")
    assert base_bytes(spec, setup) > 4 * experts > 100 * 2**30
    assert not train_estimate(spec, method="qlora", seq_len=2048, gpu="a100-sxm-80gb").fits
    scout = load_model("meta-llama/Llama-4-Scout-17B-16E-Instruct")
    scout_experts = sum(t.numel for t in weight_tensors(scout) if t.is_expert)
    assert base_bytes(scout, setup) < scout_experts  # 4-bit: half a byte each and their scales


def test_fp32_training_under_zero_holds_fp32_weights_and_gradients():
    """Without bf16/fp16 in DeepSpeed's config (precision fp32) ZeRO keeps fp32 weights and gradients and no master
    copy: Llama-3.1-8B under ZeRO-2 holds its 8.03B weights at 4 bytes on every GPU (29.9 GiB), not 2."""
    e = train_estimate("meta-llama/Llama-3.1-8B", method="full", precision="fp32", distribution="zero2", n_gpus=8,
                       gpu="a100-sxm-40gb")
    assert e.components["weights"] == 4 * 8_030_261_248 and not e.fits
    # ZeRO-3 partitions fp32 weights, fp32 gradients and DeepSpeed's fp32 master clone: more than the mixed run's
    kw = dict(method="full", distribution="zero3", n_gpus=8, gpu="a100-sxm-40gb")
    fp32 = train_estimate("meta-llama/Llama-3.1-8B", precision="fp32", **kw)
    mixed = train_estimate("meta-llama/Llama-3.1-8B", precision="mixed", **kw)
    assert fp32.components["master_weights"] == 4 * 8_030_261_248 // 8
    assert fp32.total_bytes > mixed.total_bytes


def test_fsdp_accumulating_micro_batches_holds_whole_gradients():
    """transformers' Trainer runs each micro-batch but the last of an accumulation under FSDP's no_sync, which keeps
    the full model's gradients rather than shards (torch.distributed.fsdp no_sync): Llama-3.1-8B over 8 GPUs holds
    8.03B gradients on each while 8 micro-batches accumulate (bf16 like its parameters; fp32 under mixed precision),
    and no longer fits an A100 40GB."""
    kw = dict(method="full", distribution="fsdp", n_gpus=8, gpu="a100-sxm-40gb")
    one = train_estimate("meta-llama/Llama-3.1-8B", gradient_accumulation=1, **kw)
    eight = train_estimate("meta-llama/Llama-3.1-8B", gradient_accumulation=8, **kw)
    assert one.fits and not eight.fits
    assert eight.components["gradients"] == 2 * 8_030_261_248
    mixed = train_estimate("meta-llama/Llama-3.1-8B", gradient_accumulation=8, precision="mixed", **kw)
    assert mixed.components["gradients"] == 4 * 8_030_261_248
    # ZeRO shards what accumulates (DeepSpeed's own accumulation, not no_sync)
    zero = train_estimate("meta-llama/Llama-3.1-8B", gradient_accumulation=8, **{**kw, "distribution": "zero3"})
    assert zero.components["gradients"] < 8_030_261_248


def test_zero_with_mixed_precision_keeps_no_autocast_copy_of_the_model():
    """DeepSpeed computes on its own bf16 weights (fp32 only in the optimizer's master copy): autocast has nothing to
    cast, so no bf16 copy of every linear is kept, whatever --precision mixed asks of a single GPU."""
    kw = dict(method="full", distribution="zero3", n_gpus=8, gpu="h100-sxm")
    mixed = train_estimate("meta-llama/Llama-3.1-70B", precision="mixed", **kw)
    bf16 = train_estimate("meta-llama/Llama-3.1-70B", precision="bf16", **kw)
    assert mixed.components["weights"] == bf16.components["weights"] < 25 * 2**30


def test_fsdp_over_a_bf16_model_keeps_bf16_shards_and_no_fp32_copy():
    """FSDP over a model loaded in bf16 (torchtune's full-finetune recipes) shards bf16 weights, bf16 gradients and
    AdamW's bf16 states, 8 bytes a parameter with no fp32 master; DeepSpeed's bf16 keeps its fp32 master and
    gradients, 18 (torchtune's README records 22.4 GiB a GPU for Llama-2-7B over 4 RTX 4090s, where DeepSpeed's rule
    gave 35: benchmarks/data/finetune_published.jsonl)."""
    kw = dict(method="full", n_gpus=4, gpu="rtx-4090", precision="bf16")
    fsdp = train_estimate("meta-llama/Llama-2-7b-hf", distribution="fsdp", **kw)
    zero = train_estimate("meta-llama/Llama-2-7b-hf", distribution="zero3", **kw)
    p = fsdp.trainable_params

    def states(e):
        return sum(e.components[k] for k in ("weights", "master_weights", "gradients", "optimizer_states"))

    assert fsdp.components["master_weights"] == 0 and zero.components["master_weights"] == 4 * p // 4
    # 8 bytes a parameter over 4 GPUs, and the gathered largest module (the embedding or lm_head, 2 × 2 bytes)
    largest = 32000 * 4096
    assert states(fsdp) == pytest.approx(8 * p / 4 + 4 * largest, rel=1e-6)
    assert states(zero) == pytest.approx(18 * p / 4 + 4 * largest, rel=1e-6)


def test_fsdp_offloads_a_qlora_base_and_each_process_its_own_partition():
    """FSDP's parameter offload takes a 4-bit base too (PEFT's docs run Llama-2-70B QLoRA with FSDP and CPU offload
    over 2 GPUs at 19.6 GB a GPU); what a process puts in CPU memory is its own partition, not the whole model's
    states (DeepSpeed's estimator's CPU figure is per node)."""
    kw = dict(method="qlora", distribution="fsdp", n_gpus=2, gpu="rtx-4090", micro_batch=2, lora_rank=8,
              offload_params=True, offload_optimizer=True)
    e = train_estimate("meta-llama/Llama-2-70b-hf", **kw)
    assert e.fits and e.total_bytes < 19.6e9  # the docs' figure is nvidia-smi's, context and pool included
    assert e.components["weights"] < 2 * 2**30  # only the gathered layer
    one = train_estimate("meta-llama/Llama-2-70b-hf", **{**kw, "n_gpus": 4})
    assert one.host_bytes < e.host_bytes  # four processes share it more thinly
    with pytest.raises(WorkloadError, match="not offloaded by ZeRO-3; FSDP does"):
        train_estimate("meta-llama/Llama-2-70b-hf", **{**kw, "distribution": "zero3"})


def test_bad_freeze_layers_and_dropout_are_named():
    with pytest.raises(WorkloadError, match="freeze_layers must be at most .*32 layers, got 40"):
        train_estimate("meta-llama/Llama-3.1-8B", method="full", freeze_layers=40)
    with pytest.raises(WorkloadError, match="lora_dropout nan: Input should be a finite number"):
        train_estimate("meta-llama/Llama-3.1-8B", method="lora", lora_dropout=float("nan"))
