"""train_estimate(): the memory peak of one training step on each GPU, by component and phase, and its time.

A step is forward (activations saved for backward, the loss over the full vocabulary), backward (activations freed
layer by layer as gradients appear) and the optimizer step. The peak is the largest of four moments:
  forward   the loss's logits, upcast and log-softmax together on top of every saved activation;
  loss      the start of backward: saved activations plus the loss's three fp32 vocabulary-wide gradients;
  layer     with checkpointing, one layer recomputed on top of the kept layer inputs;
  optimizer every gradient plus the optimizer's temporaries.
The model states (weights, optimizer states, gradients when accumulating) are held through all of them.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from ..overhead import overhead_breakdown
from ..profiles import load_model, within_context
from .activations import (
    adapter_weight_copy_bytes,
    autocast_weight_copy_bytes,
    checkpointed_bytes_per_token,
    expert_merge_bytes,
    layer_bytes,
    layer_classes,
    logits_bytes_per_token,
    saved_bytes_per_token,
)
from .setup import TrainSetup, attention_note, make_setup, resolve_attention
from .shard import DEEPSPEED_MASTER_BYTES, per_gpu
from .states import model_states
from .step import DEFAULT_TRAIN_MFU, TrainFit, comm_traffic, fit_on, offload_traffic, step_flops


class TrainPhase(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    bytes: int = Field(description="everything allocated at that moment on one GPU, overhead excluded")


class TrainEstimate(BaseModel):
    """Peak bytes of a training step on one GPU. total = the sum of `components` (the peak moment) + overhead."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    model: str
    setup: TrainSetup
    total_params: int
    trainable_params: int
    components: dict[str, int] = Field(description="weights, master_weights, gradients, optimizer_states, "
                                       "activations, logits, temporaries at the peak moment, per GPU")
    overhead_bytes: int
    total_bytes: int
    peak_phase: str = Field(description="forward, loss, layer, backward or optimizer: the moment of the peak")
    phases: tuple[TrainPhase, ...]
    host_bytes: int = Field(0, description="offloaded states in CPU memory, per GPU process")
    paged_bytes: int = Field(0, description="paged optimizer states (bitsandbytes): in unified memory, on the GPU "
                             "while it has room and in CPU memory when not; not in total_bytes "
                             "(fit.paged_to_host_bytes is the part that does not fit)")
    step_flops: float
    fit: TrainFit | None = None
    notes: tuple[str, ...] = Field((), description="what the setup resolved to that the options did not say")

    @property
    def fits(self) -> bool | None:
        return None if self.fit is None else self.fit.fits

    def to_dict(self) -> dict:
        return self.model_dump(mode="json")


def kept_weight_copies(spec, setup: TrainSetup, trainable: int) -> int:
    """16-bit weight copies autograd keeps for backward: under autocast over fp32 weights every linear's (with
    checkpointing only the lm_head's, the layers' being recomputed; none under ZeRO or FSDP, which compute on 16-bit
    weights of their own); with adapters, see adapter_weight_copy_bytes."""
    if casts_nothing(setup):
        return 0
    if setup.precision == "mixed" and not setup.adapters:
        return 2 * spec.vocab_size * spec.d_model if setup.gradient_checkpointing else autocast_weight_copy_bytes(spec)
    return adapter_weight_copy_bytes(spec, setup, trainable)


# DeepSpeed holds the 16-bit weights it computes on
SHARDED = ("zero1", "zero2", "zero3")


def casts_nothing(setup: TrainSetup) -> bool:
    """Under mixed precision, the linears already see bf16 weights, so autocast copies none: DeepSpeed's own bf16
    weights (full fine-tuning), or FSDP's all-gathered bf16 units (MixedPrecision param_dtype, any method:
    shard.FSDP_MIXED_SHARD_BYTES). Autocast casts only a tensor whose dtype differs (ATen autocast_mode.cpp
    cached_cast: `arg.scalar_type() != to_type`) and caches only fp32 leaves."""
    if setup.precision != "mixed":
        return False
    return setup.distribution == "fsdp" or (setup.distribution in SHARDED and not setup.adapters)


def optimizer_temp_bytes(setup: TrainSetup, trainable: int, largest: int, itemsize: int) -> int:
    """Temporaries of optimizer.step() (torch.optim._multi_tensor_adamw and friends):
    adamw (foreach) takes the square root of every exp_avg_sq at once — one more copy of the trainable parameters;
    adamw_forloop does it one tensor at a time (sqrt, then its quotient: two copies of the largest);
    fused AdamW, bitsandbytes' 8-bit and paged kernels, and SGD update in place;
    Adafactor (for-loop) works in fp32: the gradient, its square and the update of the largest tensor."""
    opt = setup.optimizer
    if opt == "adamw":
        return trainable * itemsize
    if opt == "adamw_forloop":
        return 2 * largest * itemsize
    if opt == "adafactor":
        return 3 * 4 * largest
    return 0


def activation_parts(spec, setup: TrainSetup) -> dict[str, int]:
    """Bytes of one micro-batch: what stays kept for backward (MoE adapters' merged experts included), the layer
    recomputed with checkpointing, and the loss's vocabulary-wide tensors saved / at the forward / at backward."""
    n = setup.tokens
    logits = logits_bytes_per_token(spec)
    merged = expert_merge_bytes(spec, setup)  # per MoE layer, not per token
    if setup.gradient_checkpointing:
        kept = checkpointed_bytes_per_token(spec, setup) * n
        # the largest layer recomputed in backward, on top of every kept input
        layer = max(layer_bytes(spec, setup, i, input_grad=True) for i, _ in layer_classes(spec)) * n + merged
    else:
        moe_layers = spec.n_moe_layers
        kept, layer = saved_bytes_per_token(spec, setup) * n + merged * moe_layers, 0
    return {"kept": kept, "layer": layer, "logits_saved": logits["saved"] * n,
            "logits_forward": logits["forward_peak"] * n, "logits_backward": logits["backward_peak"] * n}


FSDP_NO_SYNC_GRAD_BYTES = 4  # an unsharded fp32 gradient per trainable parameter while micro-batches accumulate
#                              (2, bf16, where the parameters are bf16, and under mixed precision: FSDP2 keeps the
#                              unsharded .grad in its bf16 param_dtype when reduce_dtype equals it, torch
#                              _fully_shard/_fsdp_param.py to_accumulated_grad_if_needed, _fsdp_param_group.py under
#                              set_requires_gradient_sync(False), which accelerate's no_sync calls for FSDP2)


def train_estimate(model, *, gpu=None, **options) -> TrainEstimate:
    """Training memory of `model` (a name, path or ModelSpec) on one GPU; options are TrainSetup fields
    (method, precision, optimizer, lora_rank, lora_targets, gradient_checkpointing, micro_batch, seq_len, …)."""
    from ..errors import WorkloadError

    spec = load_model(model)
    setup = resolve_attention(spec, options.pop("setup", None) or make_setup(**options))
    within_context("seq_len", setup.seq_len, spec)  # as estimate() refuses a context beyond it
    if setup.freeze_layers > spec.n_layers:
        raise WorkloadError(f"training freeze_layers must be at most {spec.name}'s {spec.n_layers} layers, got "
                            f"{setup.freeze_layers}")
    if spec.recurrent:
        raise WorkloadError(f"training memory of {spec.name}'s linear-attention and Mamba (recurrent state) layers "
                            "is not modelled yet")
    states = model_states(spec, setup)
    g = per_gpu(spec, setup, states)
    act = activation_parts(spec, setup)
    copies = kept_weight_copies(spec, setup, states.trainable_params)
    # autocast's cache lives until the forward leaves autocast: every copy is there at the loss's forward
    cached = autocast_weight_copy_bytes(spec) if setup.precision == "mixed" and not setup.adapters \
        and not casts_nothing(setup) else copies
    # bitsandbytes' paged optimizers allocate their states in CUDA unified memory (cudaMallocManaged, outside
    # PyTorch's allocator): on the GPU while it has room, paged to CPU memory when it does not. Unsharded, only
    # tensors of 1e5 elements or more page (states.BNB_PAGED_MIN_NUMEL); ZeRO's flat partitions and FSDP's shards
    # are taken as paged whole
    paged = 0
    if setup.optimizer.startswith("paged_"):
        paged = states.paged_state_bytes if setup.distribution in ("single", "ddp") else g.optimizer_state_bytes
    held = g.weights_bytes + g.master_weights_bytes + g.optimizer_state_bytes - paged + g.gathered_bytes
    grads_all = g.gradient_bytes + g.ddp_bucket_bytes
    grads_held = grads_all if setup.gradient_accumulation > 1 else 0
    if setup.distribution == "fsdp" and setup.gradient_accumulation > 1:
        # the Trainer runs every micro-batch but the last under FSDP's no_sync (transformers trainer.py, accelerate),
        # which keeps "the full model gradients (instead of gradient shards)" (torch FSDP no_sync), in the
        # parameters' dtype
        grads_held = (2 if setup.precision in ("bf16", "mixed") else FSDP_NO_SYNC_GRAD_BYTES) \
            * states.trainable_params
    temp = optimizer_temp_bytes(setup, *_stepped(setup, states))
    if setup.offload_optimizer:
        temp = 0  # the step runs on the CPU
    moments = {
        "forward": {"activations": act["kept"], "logits": act["logits_forward"], "gradients": grads_held,
                    "weight_copies": cached},
        "loss": {"activations": act["kept"], "logits": act["logits_backward"], "gradients": grads_held,
                 "weight_copies": copies},
        "optimizer": {"gradients": grads_all, "temporaries": temp},
    }
    if spec.tie_embeddings and not setup.adapters and not setup.freeze_layers:
        # the embedding's gradient meets the lm_head's already in the tied .grad: the new one and their sum are
        # allocated before the old one goes (measured on Llama-3.2-1B and gemma-2-9b, fake tensors)
        tied = 2 * spec.vocab_size * spec.d_model * states.param_dtype_bytes // max(1, _grad_shards(setup))
        moments["backward"] = {"gradients": grads_all, "temporaries": tied}
    if setup.gradient_checkpointing:
        moments["layer"] = {"activations": act["kept"] + act["layer"], "gradients": grads_held,
                            "weight_copies": copies}
    phases = tuple(TrainPhase(name=k, bytes=held + sum(v.values())) for k, v in moments.items())
    peak = max(phases, key=lambda p: p.bytes)
    at = moments[peak.name]
    components = {"weights": g.weights_bytes + at.get("weight_copies", 0) + g.gathered_bytes,
                  "master_weights": g.master_weights_bytes, "gradients": at.get("gradients", 0),
                  "optimizer_states": g.optimizer_state_bytes - paged, "activations": at.get("activations", 0),
                  "logits": at.get("logits", 0), "temporaries": at.get("temporaries", 0)}
    overhead = sum(overhead_breakdown("cuda").values())
    total = sum(components.values()) + overhead
    flops = step_flops(spec, setup, states.trainable_params)
    fit = None if gpu is None else fit_on(gpu, total, flops, setup, paged, offload_traffic(setup, states),
                                          comm_traffic(setup, states))
    return TrainEstimate(model=spec.name, setup=setup, total_params=states.total_params,
                         trainable_params=states.trainable_params, components=components, overhead_bytes=overhead,
                         total_bytes=total, peak_phase=peak.name, phases=phases, host_bytes=g.host_bytes,
                         paged_bytes=paged, step_flops=flops, fit=fit, notes=tuple(n for n in (
                             attention_note(spec, setup), _sharding_note(setup), _kbit_note(spec, setup)) if n))


def _sharding_note(setup: TrainSetup) -> str | None:
    """What the sharded states are, where the distributions differ most (DeepSpeed's fp32 copies vs FSDP's none over
    a bf16 model), and what of offloading's cost the step time holds (the copies, not the CPU's optimizer step)."""
    notes = []
    if setup.method == "full" and setup.distribution in ("zero1", "zero2", "zero3") and setup.precision == "bf16":
        notes.append("DeepSpeed keeps an fp32 master copy, fp32 gradients and fp32 Adam states of its partition beside "
                     "the bf16 weights; FSDP over a bf16 model (torchtune's recipes) keeps them in bf16, about half")
    if setup.offload_optimizer or setup.offload_params:
        notes.append("offloading's copies over the host link are in the step time as a floor (at its datasheet "
                     "rate); the optimizer step on the CPU is not")
    return "; ".join(notes) or None


def _kbit_note(spec, setup: TrainSetup) -> str | None:
    """QLoRA: how much of the weights is what bitsandbytes leaves unquantized, which peft keeps in fp32 (Llama 3's
    128K-token embedding and output layer: 7.8 GiB of a 70B's 43 GiB)."""
    if setup.method != "qlora":
        return None
    from .states import BNB_SPLIT_EXPERTS, qlora_parts

    packed, unquantized = qlora_parts(spec)
    if 4 * unquantized < 0.05 * (packed + 4 * unquantized):
        return None
    experts = ", the MoE's fused routed experts" if spec.moe is not None and \
        spec.model_type not in BNB_SPLIT_EXPERTS else ""
    return (f"of the weights, {4 * unquantized / 2**30:,.2f} GiB are the tensors bitsandbytes leaves unquantized "
            f"(embeddings, output layer, norms{experts}), which peft's prepare_model_for_kbit_training casts to fp32 "
            f"({2 * unquantized / 2**30:,.2f} GiB in bf16, as recipes that skip that call keep them); the NF4 layers "
            f"take {packed / 2**30:,.2f} GiB, the rest working copies made as it computes")


def _stepped(setup: TrainSetup, states) -> tuple[int, int, int]:
    """(parameters, largest tensor, bytes an element) optimizer.step() updates on one GPU: all of them, or under ZeRO
    and FSDP this GPU's partition — DeepSpeed steps over one flat fp32 partition of the master weights (its largest
    tensor), FSDP over its shard of every parameter in the parameters' dtype."""
    n, p = setup.n_gpus, states.trainable_params
    if setup.distribution in ("zero1", "zero2", "zero3"):
        part = -(-p // n)
        return part, part, DEEPSPEED_MASTER_BYTES
    if setup.distribution == "fsdp":
        return -(-p // n), -(-states.largest_trainable_numel // n), states.param_dtype_bytes
    return p, states.largest_trainable_numel, states.param_dtype_bytes


def _grad_shards(setup: TrainSetup) -> int:
    """GPUs a gradient is split over (ZeRO-2/3, FSDP), else 1."""
    return setup.n_gpus if setup.distribution in ("zero2", "zero3", "fsdp") else 1


__all__ = ["DEFAULT_TRAIN_MFU", "TrainEstimate", "TrainFit", "TrainSetup", "train_estimate"]
