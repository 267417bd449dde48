"""Model states per GPU when several GPUs share them: DDP, ZeRO-1/2/3 (DeepSpeed) and FSDP.

ZeRO follows DeepSpeed's own estimator functions (deepspeed/runtime/zero/stage_1_and_2.py
estimate_zero2_model_states_mem_needs, stage3.py estimate_zero3_model_states_mem_needs; docs/deepspeed-estimators.md):
16-bit weights and gradients, and per trainable parameter 16 bytes of optimizer state — an fp32 master copy, an
fp32 gradient and Adam's two fp32 moments — partitioned over the GPUs (precision fp32: fp32 weights and gradients
beside DeepSpeed's fp32 master clone; FSDP keeps none). For full fine-tuning with AdamW the figures
equal DeepSpeed's byte for byte (tests/test_training.py checks every recorded call); other optimizers replace
Adam's 8 bytes by their own states.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import prod

from ..spec import ModelSpec
from ..tensors import weight_tensors
from .setup import TrainSetup
from .states import States, optimizer_state_bytes, trainable_embeddings, trainable_shapes

DEEPSPEED_MASTER_BYTES = 4    # fp32 master weight per trainable parameter
DEEPSPEED_FP32_GRAD_BYTES = 4  # fp32 gradient partition the optimizer steps on


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
    numels = tuple(prod(s) for s in shapes)
    emb = trainable_embeddings(spec, setup) if setup.distribution == "fsdp" else ()
    return optimizer_state_bytes(numels[len(emb):], setup.optimizer, 4, tuple(shapes), emb) \
        - (4 * len(shapes) if setup.optimizer.startswith("adamw") else 0)


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
    half = 4 if full else 2
    master = 0 if full and dist == "fsdp" else DEEPSPEED_MASTER_BYTES * p
    fp32_grads = 0 if full and dist in ("zero1", "zero2") else DEEPSPEED_FP32_GRAD_BYTES * p
    opt = _optimizer_fp32(states, setup, spec)
    if dist == "fsdp" and setup.precision == "bf16":  # FSDP over a bf16 model (torchtune's recipes): bf16 shards of
        # the weights, their gradients and the optimizer's states, no fp32 copy (8 bytes a parameter with AdamW)
        master, fp32_grads, opt = 0, 2 * p, states.optimizer_state_bytes
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
    if setup.offload_optimizer and setup.offload_params:  # every partition in CPU memory, a frozen base's too
        return PerGPU(0, 0, 0, 0, gathered, 0, frozen_share + (master + fp32_grads + opt + half * p) // n)
    if setup.offload_optimizer:
        return PerGPU(frozen_share + half * p // n, 0, 0, 0, gathered, 0, (master + fp32_grads + opt) // n)
    return PerGPU(frozen_share + half * p // n, master // n, 0,
                  _rest(half * p + master + fp32_grads + opt, n, master, half * p), gathered, 0, 0)


def _rest(total: int, n: int, *shown: int) -> int:
    """What is left of total // n after the parts already shown (each // n): DeepSpeed divides the sum once."""
    return total // n - sum(x // n for x in shown)


def deepspeed_gpu_bytes(spec: ModelSpec, setup: TrainSetup, states: States) -> int:
    """The model-state figure DeepSpeed's estimator gives for this setup (weights + gradients + optimizer, the
    gathered layer for ZeRO-3). DeepSpeed rounds each partitioned term down on its own: int(18·P/G)."""
    g = per_gpu(spec, setup, states)
    return g.weights_bytes + g.master_weights_bytes + g.gradient_bytes + g.optimizer_state_bytes + g.gathered_bytes
