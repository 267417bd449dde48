"""Training memory: model states against DeepSpeed's own estimator, the setup's errors, the train verb."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from planner import load_model, train_estimate
from planner.cli import main
from planner.errors import WorkloadError
from planner.tensors import weight_tensors
from planner.training.setup import make_setup
from planner.training.shard import deepspeed_gpu_bytes, largest_module_params
from planner.training.states import BNB_QMAP_BYTES, bnb_8bit_state_bytes, lora_params, model_states

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
    """bitsandbytes blockwise 8-bit: one byte per element and an fp32 absmax per 256 per moment; the tied
    embedding's states fp32 (the Trainer's override). Llama-3.2-1B: 4,078,454,784 bytes, what bitsandbytes'
    AdamW8bit allocates after the Trainer's override (profiles/measurements/training-fake.jsonl, full adamw_8bit)."""
    spec = load_model("meta-llama/Llama-3.2-1B")
    s = model_states(spec, make_setup(optimizer="adamw_8bit"))
    assert s.optimizer_state_bytes == 4_078_454_784
    lora = model_states(spec, make_setup(method="lora", optimizer="adamw_8bit"))  # adapters: nothing to override
    assert lora.trainable_params * 2 < lora.optimizer_state_bytes < lora.trainable_params * 2 * (1 + 4 / 256) + 2**20


def test_the_trainer_keeps_8bit_optimizer_states_of_the_embeddings_in_fp32():
    """transformers trainer.py create_optimizer registers {"optim_bits": 32} for every nn.Embedding weight when a
    bitsandbytes optimizer runs 8-bit, and bitsandbytes (optimizer.py check_overrides, Optimizer2State.init_state)
    then keeps two fp32 states for it: Llama-3.2-3B's tied 128,256 × 3,072 embedding takes 8 bytes a parameter,
    not about 2, and full fine-tuning with adamw_8bit no longer fits an L4 (it did at 1.09 GiB headroom)."""
    spec = load_model("meta-llama/Llama-3.2-3B")
    emb = 128256 * 3072
    eight = model_states(spec, make_setup(optimizer="adamw_8bit"))
    others = sum(bnb_8bit_state_bytes(t.numel) for t in weight_tensors(spec) if t.role != "token_embd")
    assert eight.optimizer_state_bytes == BNB_QMAP_BYTES + others + 8 * emb
    assert bnb_8bit_state_bytes(emb) == 2 * emb + 4 * 2 * emb // 256  # what it was counted at: 0.74 GiB, not 2.94
    e = train_estimate(spec, method="full", optimizer="adamw_8bit", gradient_checkpointing=True, gpu="l4")
    assert not e.fits and e.components["optimizer_states"] == eight.optimizer_state_bytes
    # the paged variant: the same 8 bytes for the embedding, 2 for the rest, in unified memory
    paged = model_states(spec, make_setup(optimizer="paged_adamw_8bit"))
    assert paged.optimizer_state_bytes == eight.optimizer_state_bytes
    # under ZeRO, DeepSpeed's flat fp32 partitions are not the embedding's Parameter: nothing to override
    from planner.training.shard import _optimizer_fp32
    zero = make_setup(optimizer="adamw_8bit", distribution="zero2", n_gpus=2)
    fsdp = make_setup(optimizer="adamw_8bit", distribution="fsdp", n_gpus=2, precision="mixed")
    assert _optimizer_fp32(model_states(spec, fsdp), fsdp, spec) - _optimizer_fp32(
        model_states(spec, zero), zero, spec) == 8 * emb - bnb_8bit_state_bytes(emb)


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
    foreach = {ph.name: ph.bytes for ph in train_estimate("meta-llama/Llama-3.1-8B", optimizer="adamw",
                                                         **kw).phases}
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
    8.03B gradients on each while 8 micro-batches accumulate, and no longer fits an A100 40GB. They are bf16 like
    the parameters, and bf16 under mixed precision too: FSDP2 keeps the unsharded grad in its bf16 param_dtype when
    reduce_dtype equals it (torch _fully_shard/_fsdp_param.py to_accumulated_grad_if_needed)."""
    kw = dict(method="full", distribution="fsdp", n_gpus=8, gpu="a100-sxm-40gb")
    one = train_estimate("meta-llama/Llama-3.1-8B", gradient_accumulation=1, **kw)
    eight = train_estimate("meta-llama/Llama-3.1-8B", gradient_accumulation=8, **kw)
    assert one.fits and not eight.fits
    assert eight.components["gradients"] == 2 * 8_030_261_248
    mixed = train_estimate("meta-llama/Llama-3.1-8B", gradient_accumulation=8, precision="mixed", **kw)
    assert mixed.components["gradients"] == 2 * 8_030_261_248
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


def test_paged_optimizers_say_what_pages_to_host_memory_and_what_it_costs_a_step(capsys):
    """bitsandbytes' paged states live in CUDA unified memory (optimizer.py get_state_buffer: F.get_paged for tensors
    of 1e5 elements or more). Llama-3.2-3B full fine-tuning with paged_adamw on an RTX 4090: fp32 states
    (Optimizer2State.init_state, 8 bytes a parameter, 23.9 GiB) beside a 14.9 GiB step: it fits only by paging the
    difference over PCIe 4.0 x16 (32 GB/s a direction, the catalog's host link) every step."""
    spec = load_model("meta-llama/Llama-3.2-3B")
    assert model_states(spec, make_setup(optimizer="paged_adamw")).optimizer_state_bytes == 8 * 3_212_749_824
    e = train_estimate(spec, method="full", optimizer="paged_adamw", gradient_checkpointing=True, gpu="rtx-4090")
    f = e.fit
    big = sum(t.numel for t in weight_tensors(spec) if t.numel >= 100_000)
    assert e.paged_bytes == 8 * big
    assert f.fits and f.paged_to_host_bytes == e.paged_bytes - (f.usable_memory_bytes - e.total_bytes) > 15 * 2**30
    assert f.headroom_bytes == 0 and f.paging_seconds == f.paged_to_host_bytes / 32e9 > 0.5
    plain = train_estimate(spec, method="full", optimizer="adamw_fused", gradient_checkpointing=True,
                           gpu="rtx-4090").fit
    assert f.step_seconds == pytest.approx(plain.step_seconds + f.paging_seconds)
    assert main(["train", "llama-3.2-3b", "--optimizer", "paged_adamw", "--gradient-checkpointing", "on", "--gpu",
                 "rtx-4090"]) == 0
    out = capsys.readouterr().out
    assert "rtx-4090: fits only by paging 15.24 GiB of optimizer state to host memory" in out
    assert "paging included: at least 0.51 s a step over PCIe 4.0 x16" in out
    assert main(["train", "llama-3.2-3b", "--optimizer", "paged_adamw", "--gradient-checkpointing", "on", "--gpu",
                 "rtx-4090", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["fit"]["paged_to_host_bytes"] == f.paged_to_host_bytes
    # where they fit beside the step, nothing pages and the headroom is what they leave
    small = train_estimate("meta-llama/Llama-3.2-1B", optimizer="paged_adamw", gpu="h100-sxm")
    assert small.fit.paged_to_host_bytes == 0 and small.fit.paging_seconds is None
    assert small.fit.headroom_bytes == small.fit.usable_memory_bytes - small.total_bytes - small.paged_bytes


def test_the_default_optimizer_is_the_trainers_fused_adamw():
    """TrainingArguments.optim defaults to adamw_torch_fused on torch >= 2.8 (transformers 5.24 training_args.py,
    default_optim), torch.optim.AdamW(fused=True): it updates in place, so the optimizer step holds the gradients and
    nothing more; the foreach AdamW (adamw, the Trainer's adamw_torch) adds one copy of the trainable parameters
    (torch's _multi_tensor_adamw: torch._foreach_sqrt of every exp_avg_sq). Llama-3.2-1B full bf16: 2 bytes × 1.24B."""
    assert make_setup().optimizer == "adamw_fused"
    spec = load_model("meta-llama/Llama-3.2-1B")
    fused = {p.name: p.bytes for p in train_estimate(spec).phases}
    foreach = {p.name: p.bytes for p in train_estimate(spec, optimizer="adamw").phases}
    assert foreach["optimizer"] - fused["optimizer"] == 2 * 1_235_814_400
    assert model_states(spec, make_setup()).optimizer_state_bytes == model_states(
        spec, make_setup(optimizer="adamw")).optimizer_state_bytes  # the same two moments and step counter


def test_models_without_an_sdpa_path_train_with_eager_attention_by_default():
    """transformers sets _supports_sdpa = False on Gemma2PreTrainedModel (softcapping) and GptOssPreTrainedModel
    (sinks): from_pretrained falls back to eager, and refuses attn_implementation="sdpa" (transformers 5.24
    modeling_utils.py get_correct_attn_implementation). gemma-2-9b LoRA on an RTX 4090: 72.18 GiB with eager's
    score matrices, not the 51.18 GiB planned with SDPA before."""
    e = train_estimate("google/gemma-2-9b", method="lora", gpu="rtx-4090")
    assert e.setup.attention == "eager" and "_supports_sdpa = False" in e.notes[0]
    assert round(e.total_bytes / 2**30, 2) == 72.18
    with pytest.raises(WorkloadError, match="attention 'sdpa': transformers cannot run google/gemma-2-9b with SDPA"):
        train_estimate("google/gemma-2-9b", method="lora", attention="sdpa")
    assert train_estimate("openai/gpt-oss-20b", method="lora").setup.attention == "eager"
    llama = train_estimate("meta-llama/Llama-3.2-1B")
    assert llama.setup.attention == "sdpa" and llama.notes == ()


@pytest.mark.parametrize("options, message", [
    ({"lora_rank": 8}, "lora_rank 8 applies to method lora or qlora, got method 'full'"),
    ({"lora_targets": "q_proj"}, "lora_targets 'q_proj' applies to method lora or qlora"),
    ({"lora_dropout": 0.1}, "lora_dropout 0.1 applies to method lora or qlora"),
    ({"method": "qlora", "precision": "fp32"}, "precision 'fp32' with method qlora"),
    ({"method": "qlora", "precision": "mixed"}, "precision 'mixed' with method qlora"),
    ({"distribution": "ddp"}, "distribution 'ddp' needs n_gpus 2 or more, got 1"),
])
def test_options_that_would_change_nothing_are_refused(options, message):
    with pytest.raises(WorkloadError, match=message):
        make_setup(**options)


def test_a_sharded_distribution_on_one_gpu_is_named_in_the_header(capsys):
    """ZeRO-3 on one GPU (DeepSpeed's offload on a single card) changes the total: the header says so."""
    assert main(["train", "llama-3.1-8b", "--distribution", "zero3", "--offload-optimizer"]) == 0
    assert capsys.readouterr().out.splitlines()[0].endswith(", zero3 on 1 GPU")
    assert main(["train", "llama-3.1-8b", "--method", "lora", "--rank", "8", "--gpu", "l4"]) == 0  # search runs
    assert main(["train", "llama-3.1-8b", "--rank", "8"]) == 2
    assert capsys.readouterr().err.count("\n") == 1


# The nn.Linear names of the decoder layers, read off AutoModelForCausalLM.from_config(config) on the meta device
# (transformers 5.24) for the bundled configs (tests/fixtures/configs): the names peft's target_modules can match
HF_LINEAR_NAMES = {
    "meta-llama/Llama-3.1-8B": {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"},
    "microsoft/Phi-3-mini-4k-instruct": {"qkv_proj", "o_proj", "gate_up_proj", "down_proj"},
    "mistralai/Mixtral-8x7B-v0.1": {"q_proj", "k_proj", "v_proj", "o_proj"},
    "deepseek-ai/DeepSeek-V3": {"q_a_proj", "q_b_proj", "kv_a_proj_with_mqa", "kv_b_proj", "o_proj", "gate_proj",
                                "up_proj", "down_proj"},
    "deepseek-ai/DeepSeek-V2-Lite": {"q_proj", "kv_a_proj_with_mqa", "kv_b_proj", "o_proj", "gate_proj", "up_proj",
                                     "down_proj"},
    "openai/gpt-oss-20b": {"q_proj", "k_proj", "v_proj", "o_proj"},
}


@pytest.mark.parametrize("model", sorted(HF_LINEAR_NAMES))
def test_lora_module_names_are_the_ones_transformers_gives_the_model(model):
    from planner.training.states import model_modules

    assert set(model_modules(load_model(model))) == HF_LINEAR_NAMES[model]


@pytest.mark.parametrize("model, targets, message", [
    # peft raises NoMatchingPeftModuleError where no target matches; where one does it adapts that one alone
    ("meta-llama/Llama-3.1-8B", "gate_up_proj", "'gate_up_proj': meta-llama/Llama-3.1-8B has no module by that name"),
    ("microsoft/Phi-3-mini-4k-instruct", "up_proj", "'up_proj': microsoft/Phi-3-mini-4k-instruct has no module"),
    ("microsoft/Phi-3-mini-4k-instruct", "q_proj,v_proj", "'q_proj': .* qkv_proj"),
    ("deepseek-ai/DeepSeek-V3", "q_proj", "'q_proj': deepseek-ai/DeepSeek-V3 has no module .* q_b_proj"),
    ("mistralai/Mixtral-8x7B-v0.1", "q_proj,up_proj", "'up_proj': mistralai/Mixtral-8x7B-v0.1 has no module"),
    # peft expands all-linear only as the whole string (tuners_utils.py _maybe_include_all_linear_layers)
    ("meta-llama/Llama-3.1-8B", "all-linear,lm_head", "all-linear is peft's shorthand"),
])
def test_lora_targets_the_model_lacks_are_refused(model, targets, message):
    with pytest.raises(WorkloadError, match=message):
        train_estimate(model, method="lora", lora_targets=targets)


def test_fsdp_with_mixed_precision_holds_fp32_shards_and_no_autocast_copy():
    """accelerate turns mixed_precision="bf16" into FSDP's MixedPrecision(param_dtype=reduce_dtype=bf16) (state.py
    AcceleratorState: fsdp_plugin.set_mixed_precision; utils/dataclasses.py FullyShardedDataParallelPlugin
    .set_mixed_precision), FSDP2 by the Trainer's default (transformers 5.24 training_args.py: fsdp_config "version"
    2) over parameters upcast to fp32 (accelerate utils/fsdp_utils.py fsdp2_prepare_model). Each unit is
    all-gathered in bf16 (torch _fully_shard/_fsdp_param.py, _to_dtype_if_needed(..., param_dtype)), so autocast
    casts nothing (ATen autocast_mode.cpp cached_cast: `arg.scalar_type() != to_type`) and the fp32 shard is the
    parameter: 4 + 4 (fp32 gradient) + 8 (Adam) = 16 bytes a parameter over the GPUs, DeepSpeed's 18 less its
    bf16 weights, plus the gathered lm_head (bf16 weights and gradient). Llama-3.1-8B over 16 L4s fits (it was
    counted at 29.26 GiB with every linear's autocast copy)."""
    p, head = 8_030_261_248, 128256 * 4096
    kw = dict(method="full", precision="mixed", gradient_checkpointing=True, n_gpus=16, gpu="l4")
    fsdp = train_estimate("meta-llama/Llama-3.1-8B", distribution="fsdp", **kw)
    zero = train_estimate("meta-llama/Llama-3.1-8B", distribution="zero3", **kw)
    assert fsdp.components["weights"] == 4 * p // 16 + 2 * 2 * head == 4_108_911_616
    assert fsdp.components["master_weights"] == 0
    assert fsdp.components["optimizer_states"] == p - 4 * p // 16  # fp32 gradient and Adam's two moments
    assert fsdp.peak_phase == zero.peak_phase == "loss"
    assert zero.total_bytes - fsdp.total_bytes == 2 * p // 16
    assert fsdp.fits and round(fsdp.total_bytes / 2**30, 2) == 14.83
    # 64 GPUs: only the gathered lm_head and the activations are left beside 16 bytes / 64
    many = train_estimate("meta-llama/Llama-3.1-8B", distribution="fsdp", **{**kw, "n_gpus": 64})
    assert many.components["weights"] == 4 * p // 64 + 4 * head and many.fits


def test_fsdp_with_mixed_precision_gathers_adapters_and_base_in_bf16_too():
    """FSDP's param_dtype casts every floating parameter it gathers, a frozen fp32 base's included: LoRA over an
    fp32 base under FSDP keeps none of autocast's copies that one GPU keeps (activations.adapter_weight_copy_bytes)."""
    from planner.training.estimate import kept_weight_copies

    spec = load_model("meta-llama/Llama-3.1-8B")
    kw = dict(method="lora", precision="mixed", gradient_checkpointing=False)
    single = make_setup(**kw)
    fsdp = make_setup(**kw, distribution="fsdp", n_gpus=8)
    assert kept_weight_copies(spec, single, model_states(spec, single).trainable_params) > 14 * 2**30
    assert kept_weight_copies(spec, fsdp, model_states(spec, fsdp).trainable_params) == 0


@pytest.fixture
def embedding_last(monkeypatch):
    """weight_tensors with the token embedding moved to the end, the training caches cleared around it."""
    from planner.training import states

    def reordered(spec):
        ts = weight_tensors(spec)
        return tuple(t for t in ts if t.role != "token_embd") + tuple(t for t in ts if t.role == "token_embd")

    caches = (states.model_states, states.trainable_shapes, states.lora_targets)
    for c in caches:
        c.cache_clear()
    monkeypatch.setattr(states, "weight_tensors", reordered)
    yield
    for c in caches:
        c.cache_clear()


def test_the_embeddings_optimizer_states_are_found_by_role_not_position(embedding_last):
    """The Trainer's 32-bit override of an 8-bit optimizer's nn.Embedding states (states.BNB_8BIT) goes to the
    token embedding wherever it sits among the trainable tensors: with it last, Llama-3.1-8B's states come out the
    same as in checkpoint order (taking the first tensor for the embedding dropped layer 0's norm and counted the
    525M-element embedding twice, 8-bit and fp32: 0.99 GiB more)."""
    from planner.training.shard import _optimizer_fp32
    from planner.training.states import split_embeddings

    spec = load_model("meta-llama/Llama-3.1-8B")
    emb = 128256 * 4096
    single = make_setup(method="full", optimizer="adamw_8bit")
    fsdp = make_setup(method="full", optimizer="adamw_8bit", distribution="fsdp", n_gpus=2, precision="mixed")
    rest, embeddings = split_embeddings(spec, single)
    assert embeddings == (emb,) and sum(rest) == spec.param_count - emb
    others = sum(bnb_8bit_state_bytes(n) for n in rest)
    assert model_states(spec, single).optimizer_state_bytes == BNB_QMAP_BYTES + others + 8 * emb
    assert _optimizer_fp32(model_states(spec, fsdp), fsdp, spec) == BNB_QMAP_BYTES + others + 8 * emb


def test_parameter_offload_alone_moves_what_each_framework_moves():
    """ZeRO-3 with offload_param alone moves its 16-bit partitions to the CPU and keeps the fp32 master, gradients and
    optimizer states on the GPU (stage3.py's fp32 partitions live on the GPU unless offload_optimizer); FSDP's
    CPUOffload(offload_params=True) moves the gradients with the parameters, so the optimizer steps on the CPU, and
    FSDP has no optimizer-only offload."""
    kw = dict(method="full", n_gpus=2, micro_batch=1, seq_len=2048)
    plain = train_estimate("meta-llama/Llama-3.1-8B", distribution="zero3", **kw)
    params = train_estimate("meta-llama/Llama-3.1-8B", distribution="zero3", offload_params=True, **kw)
    both = train_estimate("meta-llama/Llama-3.1-8B", distribution="zero3", offload_params=True,
                          offload_optimizer=True, **kw)
    p = plain.trainable_params
    assert params.host_bytes == 2 * p // 2  # each process's bf16 half of the weights
    assert plain.total_bytes - params.total_bytes == pytest.approx(params.host_bytes, rel=1e-3)
    assert params.components["optimizer_states"] == plain.components["optimizer_states"]
    assert both.total_bytes < params.total_bytes and both.host_bytes > params.host_bytes
    fsdp = train_estimate("meta-llama/Llama-3.1-8B", distribution="fsdp", offload_params=True, **kw)
    assert fsdp.components.get("optimizer_states", 0) == 0 and fsdp.host_bytes > 0
    with pytest.raises(WorkloadError, match="offload_optimizer under fsdp needs offload_params too"):
        train_estimate("meta-llama/Llama-3.1-8B", distribution="fsdp", offload_optimizer=True, **kw)


def test_a_sharded_full_fine_tune_says_what_deepspeed_keeps_and_what_offloading_s_time_leaves_out():
    kw = dict(method="full", n_gpus=8, micro_batch=1, seq_len=2048, gradient_checkpointing=True)
    zero = train_estimate("meta-llama/Llama-3.1-70B", distribution="zero3", offload_optimizer=True, **kw)
    assert any("DeepSpeed keeps an fp32 master copy" in n and "the optimizer step on the CPU is not" in n
               for n in zero.notes)
    fsdp = train_estimate("meta-llama/Llama-3.1-70B", distribution="fsdp", **kw)
    assert not any("DeepSpeed" in n or "offloading" in n for n in fsdp.notes)


def test_the_fewest_gpus_are_searched_under_zero3_and_fsdp_both():
    """A 70B full fine-tune on H100s: DeepSpeed ZeRO-3 keeps fp32 master weights, gradients and Adam states of a bf16
    model, FSDP over it bf16 ones, so FSDP holds it on 8 GPUs where ZeRO-3 needs 32; fit --train searched ZeRO-3
    only and answered 32. Each row is the fewest GPUs of its distribution: one GPU fewer does not fit."""
    from planner import load_gpu
    from planner.training.search import plans

    rows = plans("meta-llama/Llama-3.1-70B", gpu="h100-sxm", methods=("full",), seq_len=2048)
    ckpt = {r["distribution"]: r["n_gpus"] for r in rows if r["gradient_checkpointing"]}
    assert ckpt == {"fsdp": 8, "zero3": 32}
    usable = load_gpu("h100-sxm").usable_memory_bytes
    for dist, n in ckpt.items():
        kw = dict(method="full", distribution=dist, gradient_checkpointing=True, seq_len=2048)
        assert train_estimate("meta-llama/Llama-3.1-70B", n_gpus=n, **kw).total_bytes <= usable
        assert train_estimate("meta-llama/Llama-3.1-70B", n_gpus=n // 2, **kw).total_bytes > usable
    assert [r["distribution"] for r in plans("meta-llama/Llama-3.2-1B", gpu="h100-sxm")] == ["single"] * 6
    assert main(["fit", "meta-llama/Llama-3.1-70B", "--train", "--gpu", "h100-sxm"]) == 0


def test_offloading_adds_its_host_link_copies_to_the_step_time():
    """ZeRO-3 with offload_optimizer sends this GPU's bf16 gradient partition to the CPU after every micro-batch and
    takes the updated partition back once; offload_params fetches each layer's shard for the forward, the backward and
    the recomputed forward of every micro-batch. Their busier direction over the RTX 4090's PCIe 4.0 x16 (its
    datasheet rate) is a floor added to the step; the CPU's Adam step is not in it."""
    from planner import load_gpu

    kw = dict(method="full", distribution="zero3", n_gpus=4, gpu="rtx-4090", gradient_accumulation=2)
    plain = train_estimate("meta-llama/Llama-3.1-8B", offload_optimizer=False, **kw)
    off = train_estimate("meta-llama/Llama-3.1-8B", offload_optimizer=True, **kw)
    link = load_gpu("rtx-4090").host_link.bytes_per_s
    assert off.fit.offload_traffic_bytes == -(-off.trainable_params // 4) * 2 * 2  # bf16 gradients, 2 micro-batches
    assert off.fit.offload_seconds == pytest.approx(off.fit.offload_traffic_bytes / link)
    assert off.fit.step_seconds == pytest.approx(plain.fit.step_seconds + off.fit.offload_seconds)
    assert plain.fit.offload_seconds is None and plain.fit.offload_traffic_bytes == 0
    both = train_estimate("meta-llama/Llama-3.1-8B", offload_optimizer=True, offload_params=True,
                          gradient_checkpointing=True, **kw)
    weights = train_estimate("meta-llama/Llama-3.1-8B", **{**kw, "n_gpus": 1, "distribution": "single",
                                                           "gpu": None}).components["weights"]
    assert both.fit.offload_traffic_bytes == -(-weights // 4) * 3 * 2  # forward, recompute, backward × 2
    assert "the optimizer step on the CPU is not" in " ".join(both.notes)


def test_qlora_says_what_its_fp32_unquantized_tensors_take():
    """Llama-3.1-70B's QLoRA base: bitsandbytes leaves the 128,256 × 8,192 embedding and output layer (and the norms)
    unquantized and peft's prepare_model_for_kbit_training casts them to fp32, 7.8 GiB of the weights: why a 70B
    QLoRA that "fits in 48 GB" on older vocabularies does not here. The note gives the figure."""
    e = train_estimate("meta-llama/Llama-3.1-70B", method="qlora")
    spec = load_model("meta-llama/Llama-3.1-70B")
    norms = (2 * spec.n_layers + 1) * spec.d_model
    fp32 = 4 * (2 * 128256 * 8192 + norms)
    assert any(f"of the weights, {fp32 / 2**30:,.2f} GiB are the tensors bitsandbytes leaves unquantized" in n
               for n in e.notes)
    assert not any("bitsandbytes leaves" in n for n in train_estimate("meta-llama/Llama-3.1-70B", method="lora").notes)
    moe = train_estimate("Qwen/Qwen3-30B-A3B", method="qlora").notes  # transformers 5's fused experts: unquantized
    assert any("norms, the MoE's fused routed experts), which peft's" in n for n in moe)


def test_a_sharded_step_takes_at_least_its_collectives():
    """ZeRO-3 on 8 RTX 4090s (PCIe 4.0 x16, no GPU-to-GPU link): every micro-batch all-gathers the bf16 weights for
    the forward, the recomputed forward and the backward and reduce-scatters the gradients, 7/8 of 4 × 16 GB each way
    (the ZeRO paper's 3Ψ, plus checkpointing's gather); at the link's one-way rate less NCCL's overhead that is a floor
    the step cannot beat, overlapped with compute. One GPU has no collectives; DDP moves 2Ψ."""
    from planner import load_gpu
    from planner.perf.roofline import ALLREDUCE_BUS_EFFICIENCY

    kw = dict(method="full", gradient_checkpointing=True, gpu="rtx-4090")
    one = train_estimate("meta-llama/Llama-3.1-8B", **kw).fit
    zero = train_estimate("meta-llama/Llama-3.1-8B", distribution="zero3", n_gpus=8, **kw)
    f = zero.fit
    assert one.comm_seconds is None and one.comm_traffic_bytes == 0
    assert f.comm_traffic_bytes == round((3 * train_estimate("meta-llama/Llama-3.1-8B", method="full").total_params
                                          * 2 + zero.trainable_params * 2) * 7 / 8)
    rate = load_gpu("rtx-4090").host_link.bytes_per_s * ALLREDUCE_BUS_EFFICIENCY
    assert f.comm_seconds == pytest.approx(f.comm_traffic_bytes / rate) and f.comm_link == "PCIe 4.0 x16"
    assert f.step_seconds == pytest.approx(max(one.step_seconds, f.comm_seconds))  # the same tokens per GPU
    ddp = train_estimate("meta-llama/Llama-3.1-8B", method="lora", distribution="ddp", n_gpus=8,
                         gpu="h100-sxm").fit
    assert ddp.comm_traffic_bytes == round(2 * 41_943_040 * 4 * 7 / 8)  # fp32 adapters' gradients, all-reduced
    big = train_estimate("meta-llama/Llama-3.1-8B", distribution="zero3", n_gpus=16, **kw).fit
    assert big.comm_machines and not f.comm_machines
