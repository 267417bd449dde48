"""Model states per GPU when several GPUs share them: DDP, ZeRO-1/2/3 (DeepSpeed) and FSDP.

ZeRO follows DeepSpeed's own estimator functions (deepspeed/runtime/zero/stage_1_and_2.py
estimate_zero2_model_states_mem_needs, stage3.py estimate_zero3_model_states_mem_needs; docs/deepspeed-estimators.md):
16-bit weights and gradients, and per trainable parameter 16 bytes of optimizer state — an fp32 master copy, an
fp32 gradient and Adam's two fp32 moments — partitioned over the GPUs (precision fp32: fp32 weights and gradients
beside DeepSpeed's fp32 master clone; FSDP keeps none; under mixed precision FSDP's fp32 shards are the
parameters, 16 bytes in all: FSDP_MIXED_SHARD_BYTES). For full fine-tuning with AdamW the figures
equal DeepSpeed's byte for byte (tests/test_training.py checks every recorded call); other optimizers replace
Adam's 8 bytes by their own states.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..spec import ModelSpec
from ..tensors import weight_tensors
from .setup import TrainSetup
from .states import States, optimizer_state_bytes, split_embeddings, trainable_shapes

DEEPSPEED_MASTER_BYTES = 4    # fp32 master weight per trainable parameter
DEEPSPEED_FP32_GRAD_BYTES = 4  # fp32 gradient partition the optimizer steps on

# FSDP under --precision mixed, as the HF Trainer runs it (transformers 5.24 training_args.py: fsdp_config "version"
# defaults to 2; accelerate 1.15's own plugin defaults to 1, utils/dataclasses.py FullyShardedDataParallelPlugin
# __post_init__). accelerate turns mixed_precision="bf16" into the plugin's policy (state.py AcceleratorState:
# fsdp_plugin.set_mixed_precision; dataclasses.py set_mixed_precision: MixedPrecision / MixedPrecisionPolicy with
# param_dtype=reduce_dtype=bf16) and, for FSDP2, upcasts every trainable parameter to fp32 (utils/fsdp_utils.py
# fsdp2_prepare_model: "Upcast to fp32 master weights; MixedPrecisionPolicy.param_dtype handles compute cast").
# The sharded fp32 parameter is what the optimizer steps on: no separate master copy. Each unit is all-gathered in
# bf16 (torch _fully_shard/_fsdp_param.py all_gather_inputs: _to_dtype_if_needed(sharded_param_data, param_dtype);
# FSDP1 _flat_param.py _use_low_precision_shard) and freed after use; gradients are reduce-scattered in bf16 and
# cast back to the parameter's fp32 for the shard (_fsdp_collectives.py foreach_reduce: _to_dtype_if_needed(
# reduce_output, orig_dtype); FSDP1 _runtime_utils.py _cast_grad_to_param_dtype). Per trainable parameter: fp32
# shard 4 + fp32 gradient 4 + Adam 8 = 16 bytes over n GPUs, plus the bf16 unit being gathered (and its gradient).
# Nothing is left for autocast to cast (estimate.kept_weight_copies). FSDP2 keeps the tail unit (final norm and
# lm_head) gathered from forward to backward (fsdp_utils.py: reshard_after_forward False), FSDP1 the root unit
# (embedding, norm, lm_head: _runtime_utils.py _post_forward_reshard, `not state._is_root`); planner gathers the
# largest module, the lm_head's matrix for most models, FSDP2's figure.
FSDP_MIXED_SHARD_BYTES = 4


@dataclass(frozen=True)
class PerGPU:
    """Model-state bytes on one GPU (and in host memory) after sharding."""

    weights_bytes: int
    master_weights_bytes: int
    gradient_bytes: int
    optimizer_state_bytes: int
    gathered_bytes: int       # ZeRO-3/FSDP: parameters (and gradients) of the layer being computed, unsharded
    ddp_bucket_bytes: int     # DDP's gradient buckets: a second copy of the gradients
    host_bytes: int           # what offloading puts in CPU memory


def largest_module_params(spec: ModelSpec) -> int:
    """Parameters of the module holding most directly (DeepSpeed's largest_layer_params): one linear (weight and
    bias), the embedding, the lm_head, or — transformers keeping routed experts as one module per layer — all the
    routed experts of a layer."""
    modules: dict[str, int] = {}
    for t in weight_tensors(spec):
        if t.is_expert or (t.role == "bias" and "_exps." in t.name):
            key = f"{t.layer}.experts"
        else:
            key = t.name.rsplit(".", 1)[0]
        modules[key] = modules.get(key, 0) + t.numel
    if spec.tie_embeddings:  # the tied lm_head is a module holding the same matrix
        modules["output"] = spec.vocab_size * spec.d_model
    return max(modules.values())


def _optimizer_fp32(states: States, setup: TrainSetup, spec: ModelSpec) -> int:
    """The optimizer's own state in fp32 for every trainable parameter (ZeRO keeps it in fp32). FSDP steps on the
    module's own Parameters, so the Trainer's 32-bit override of an 8-bit optimizer's embedding states applies
    (states.BNB_8BIT); DeepSpeed steps on flat partitions, which it cannot match."""
    if setup.optimizer in ("adamw", "adamw_fused", "adamw_forloop", "paged_adamw"):
        return 8 * states.trainable_params
    shapes = trainable_shapes(spec, setup)
    rest, emb = split_embeddings(spec, setup)
    if setup.distribution != "fsdp":
        rest, emb = rest + emb, ()
    # (the AdamWs that count torch's 4-byte step per tensor returned above; bitsandbytes' 8-bit states have none)
    return optimizer_state_bytes(rest, setup.optimizer, 4, tuple(shapes), emb)


def per_gpu(spec: ModelSpec, setup: TrainSetup, states: States) -> PerGPU:
    """Model states on each GPU for setup.distribution over setup.n_gpus."""
    n, dist = setup.n_gpus, setup.distribution
    if dist in ("single", "ddp"):
        bucket = states.gradient_bytes if dist == "ddp" else 0
        return PerGPU(states.weights_bytes, states.master_weights_bytes, states.gradient_bytes,
                      states.optimizer_state_bytes, 0, bucket, 0)
    p = states.trainable_params
    frozen = states.weights_bytes - (p * states.param_dtype_bytes if setup.adapters else 0)
    # ZeRO and FSDP compute in 16-bit beside an fp32 master copy and fp32 gradients. In fp32 (no bf16/fp16 in the
    # DeepSpeed config, no mixed-precision policy) the weights and gradients are fp32: DeepSpeed still clones its
    # partition into an fp32 master (stage_1_and_2.py single_partition_of_fp32_groups, stage3.py
    # fp32_partitioned_groups_flat: .clone().float()), FSDP keeps none; ZeRO-1/2's gradients are then the fp32 ones
    # (no second copy), ZeRO-3's and FSDP's partition of them stays
    full = setup.precision == "fp32"
    half = 4 if full else 2  # the weights as computed (and gathered)
    shard = half  # bytes a trainable parameter's own shard takes
    master = 0 if full and dist == "fsdp" else DEEPSPEED_MASTER_BYTES * p
    fp32_grads = 0 if full and dist in ("zero1", "zero2") else DEEPSPEED_FP32_GRAD_BYTES * p
    opt = _optimizer_fp32(states, setup, spec)
    if dist == "fsdp" and setup.precision == "bf16":  # FSDP over a bf16 model (torchtune's recipes): bf16 shards of
        # the weights, their gradients and the optimizer's states, no fp32 copy (8 bytes a parameter with AdamW)
        master, fp32_grads, opt = 0, 2 * p, states.optimizer_state_bytes
    if dist == "fsdp" and setup.precision == "mixed":  # the fp32 shard is the parameter itself (FSDP_MIXED_SHARD_BYTES)
        shard, master = FSDP_MIXED_SHARD_BYTES, 0
    if dist in ("zero1", "zero2"):
        weights = (frozen if setup.adapters else 0) + half * p
        grads = half * p if dist == "zero1" else half * p // n
        if setup.offload_optimizer:  # DeepSpeed: only the 16-bit weights stay on the GPU; each process offloads its
            return PerGPU(weights, 0, 0, 0, 0, 0, (master + fp32_grads + opt + half * p) // n)  # partition
        if dist == "zero1":
            return PerGPU(weights, master // n, grads, (master + fp32_grads + opt) // n - master // n, 0, 0, 0)
        return PerGPU(weights, master // n, grads, _rest(half * p + master + fp32_grads + opt, n, master, half * p), 0,
                      0, 0)
    # zero3 / fsdp: everything partitioned; the largest module gathered (its 16-bit weights and gradients)
    largest = largest_module_params(spec)
    gathered = 2 * half * largest
    frozen_share = frozen // n if setup.adapters else 0
    # FSDP's CPUOffload(offload_params=True) moves the gradients with the parameters, so the optimizer steps on the
    # CPU (torch.distributed.fsdp.CPUOffload's docstring): every partition in CPU memory, a frozen base's too; so
    # does ZeRO-3 offloading both
    if setup.offload_params and (setup.offload_optimizer or dist == "fsdp"):
        return PerGPU(0, 0, 0, 0, gathered, 0, frozen_share + (master + fp32_grads + opt + shard * p) // n)
    if setup.offload_params:  # ZeRO-3 alone: its 16-bit partitions in CPU memory; the fp32 master, gradients and
        # optimizer states stay on the GPU, where the step runs (stage3.py puts the fp32 partitions on the GPU unless
        # offload_optimizer asks for the CPU)
        return PerGPU(0, master // n, 0, _rest(master + fp32_grads + opt, n, master), gathered, 0,
                      frozen_share + shard * p // n)
    if setup.offload_optimizer:
        return PerGPU(frozen_share + shard * p // n, 0, 0, 0, gathered, 0, (master + fp32_grads + opt) // n)
    return PerGPU(frozen_share + shard * p // n, master // n, 0,
                  _rest(shard * p + master + fp32_grads + opt, n, master, shard * p), gathered, 0, 0)


def _rest(total: int, n: int, *shown: int) -> int:
    """What is left of total // n after the parts already shown (each // n): DeepSpeed divides the sum once."""
    return total // n - sum(x // n for x in shown)


def deepspeed_gpu_bytes(spec: ModelSpec, setup: TrainSetup, states: States) -> int:
    """The model-state figure DeepSpeed's estimator gives for this setup (weights + gradients + optimizer, the
    gathered layer for ZeRO-3). DeepSpeed rounds each partitioned term down on its own: int(18·P/G)."""
    g = per_gpu(spec, setup, states)
    return g.weights_bytes + g.master_weights_bytes + g.gradient_bytes + g.optimizer_state_bytes + g.gathered_bytes
