"""Model states of a training step: weights, trainable parameters, gradients, optimizer states, master weights.

Everything here is counted tensor by tensor from planner.tensors; the rules of each library are cited where they
are used. Bytes are per GPU before any sharding (planner.training.shard divides them).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from math import prod

from ..errors import WorkloadError
from ..spec import ModelSpec
from ..tensors import WeightTensor, weight_tensors
from ..weights import tensor_bytes
from .setup import ALL_LINEAR, LORA_MODULES, TrainSetup

# bitsandbytes' 8-bit optimizers keep 32-bit states for tensors smaller than this (Optimizer8bit's min_8bit_size
# default, bitsandbytes/optim/optimizer.py) and quantize the others blockwise: one uint8 per element and one fp32
# absmax per BNB_8BIT_BLOCK elements (optimizer_update_8bit_blockwise).
BNB_MIN_8BIT_SIZE = 4096
BNB_8BIT_BLOCK = 256
# The two 256-entry fp32 quantization maps (qmap1, qmap2) that every 8-bit state shares.
BNB_QMAP_BYTES = 2 * 256 * 4
# bitsandbytes' 32-bit states are fp32 whatever the parameter's dtype (Optimizer2State.init_state: state1 and state2
# torch.float32 when optim_bits is 32 or the tensor is below min_8bit_size): 8 bytes a parameter for Adam.
BNB_FP32_STATE_BYTES = 2 * 4
# The HF Trainer, with any 8-bit bitsandbytes optimizer, registers a 32-bit override for every nn.Embedding weight
# (transformers 5.24 trainer.py create_optimizer: `manager.register_module_override(module, "weight",
# {"optim_bits": 32})` for each nn.Embedding when optim_bits == 8), which bitsandbytes applies at its first step
# (optimizer.py check_overrides, matching the parameter by id): the token embedding — and a tied lm_head, the same
# Parameter — keeps fp32 states. DeepSpeed's ZeRO steps on flat fp32 partitions instead of the module's Parameter,
# so the override finds nothing to match there.
BNB_8BIT = ("adamw_8bit", "paged_adamw_8bit")

# Roles peft's all-linear covers: every nn.Linear of the decoder layers (the router included); not the lm_head,
# not the embeddings, and not stacked expert tensors (transformers keeps routed experts as 3-D parameters).
MLP_ROLES = frozenset({"ffn_gate", "ffn_up", "ffn_down"})
LINEAR_ROLES = frozenset(r for roles in LORA_MODULES.values() for r in roles if r != "output") | {
    "ffn_gate_inp", "ffn_gate_inp_shexp"}


def _role(t: WeightTensor) -> str:
    """The tensor's role without its expert/shared suffix: ffn_up_shexp → ffn_up."""
    return t.role.removesuffix("_shexp")


@lru_cache(maxsize=1024)
def lora_targets(spec: ModelSpec, setup: TrainSetup) -> tuple[WeightTensor, ...]:
    """The 2-D weight tensors that get a LoRA adapter.

    peft 0.21's all-linear on a model whose routed experts are fused 3-D parameters (transformers 5) adapts the
    attention linears, the router and the experts (expert_adapter_shapes), and leaves the dense and shared-expert
    MLP linears alone (read off get_peft_model on Mixtral and DeepSeek-V2 configs).
    """
    if ALL_LINEAR in setup.lora_targets:
        roles = LINEAR_ROLES - (MLP_ROLES if spec.moe is not None else frozenset())
    else:
        have = model_modules(spec) + ["lm_head"]
        missing = [name for name in setup.lora_targets if name not in have]
        if missing:  # peft adapts nothing by that name (NoMatchingPeftModuleError when no target matches at all)
            raise WorkloadError(f"training lora_targets {missing[0]!r}: {spec.name} has no module by that name (its "
                                f"linears: {', '.join(have)})")
        roles = frozenset(r for name in setup.lora_targets for r in LORA_MODULES[name])
    out = tuple(t for t in weight_tensors(spec)
                if t.layer is not None and len(t.shape) == 2 and t.role != "bias" and _role(t) in roles
                and not t.is_expert)
    if "output" in roles:  # lm_head named explicitly (all-linear leaves it out); tied: the embedding matrix
        out += (WeightTensor("output.weight", "output", (spec.vocab_size, spec.d_model)),)
    if not out and not adapts_experts(spec, setup):
        raise WorkloadError(f"training lora_targets {','.join(setup.lora_targets)}: {spec.name} has no such module"
                            f" (its linears: {', '.join(model_modules(spec))})")
    return out


def model_modules(spec: ModelSpec) -> list[str]:
    """The nn.Linear names of this model's decoder layers that LoRA can target, as transformers names them: a fused
    gate_up_proj (Phi-3) instead of gate_proj and up_proj, no MLP linears where a MoE's experts are fused 3-D
    parameters (Mixtral, Qwen3-MoE, gpt-oss). Read off AutoModelForCausalLM.from_config on the meta device
    (transformers 5.24) for the bundled configs."""
    roles = {_role(t) for t in weight_tensors(spec) if t.layer is not None and len(t.shape) == 2 and not t.is_expert}
    fused = {"up_proj": not spec.gate_up_fused, "gate_up_proj": spec.gate_up_fused}
    return [name for name, rs in LORA_MODULES.items() if name != "lm_head" and fused.get(name, True)
            and any(r in roles for r in rs)]


def adapts_experts(spec: ModelSpec, setup: TrainSetup) -> bool:
    """peft's all-linear wraps fused routed experts as parameters (target_parameters)."""
    return setup.adapters and spec.moe is not None and ALL_LINEAR in setup.lora_targets


def expert_adapter_shapes(spec: ModelSpec, setup: TrainSetup) -> tuple[tuple[int, int], ...]:
    """peft's adapters on a layer's fused experts, per MoE layer: gate_up (E, 2f, d) gets rank 2r across the E
    experts — lora_A (2r·E, d), lora_B (2f, 2r·E) — and down (E, d, f) rank r — lora_A (r·E, f), lora_B (d, r·E)."""
    if not adapts_experts(spec, setup):
        return ()
    m, d, r = spec.moe, spec.d_model, setup.lora_rank
    up = 2 * m.expert_d_ff if spec.gated_mlp else m.expert_d_ff
    ru = r * m.n_experts * (2 if spec.gated_mlp else 1)
    per_layer = ((ru, d), (up, ru), (r * m.n_experts, m.expert_d_ff), (d, r * m.n_experts))
    return per_layer * spec.n_moe_layers


def lora_params(spec: ModelSpec, setup: TrainSetup) -> int:
    """r · (in + out) per adapted (out, in) matrix (lora_A is r × in, lora_B is out × r), and the experts'."""
    return sum(setup.lora_rank * (t.shape[0] + t.shape[1]) for t in lora_targets(spec, setup)) + sum(
        a * b for a, b in expert_adapter_shapes(spec, setup))


def _trainable_full(spec: ModelSpec, setup: TrainSetup) -> tuple[WeightTensor, ...]:
    """Full fine-tuning: every tensor, except the embeddings and the first freeze_layers layers when freezing."""
    if not setup.freeze_layers:
        return weight_tensors(spec)
    return tuple(t for t in weight_tensors(spec) if t.role != "token_embd"
                 and (t.layer is None or t.layer >= setup.freeze_layers))


@dataclass(frozen=True)
class States:
    """Bytes and counts of the model states on one GPU, before sharding."""

    total_params: int
    trainable_params: int
    weights_bytes: int          # the model as it computes: frozen base + trainable tensors (+ quantization states)
    master_weights_bytes: int   # fp32 copies kept beside 16-bit working weights (none in the Trainer's setups)
    gradient_bytes: int
    optimizer_state_bytes: int
    largest_trainable_numel: int  # elements of the largest trainable tensor (for-loop optimizer temporaries)
    param_dtype_bytes: int      # bytes per element of the trainable parameters (and of their gradients)
    paged_state_bytes: int = 0  # of optimizer_state_bytes, what a paged optimizer holds in unified memory


def _itemsize(precision: str) -> int:
    return 2 if precision == "bf16" else 4


# transformers 5 keeps a MoE layer's routed experts as fused 3-D parameters, which bitsandbytes' 4-bit conversion
# leaves alone (integrations/bitsandbytes.py replace_with_bnb_linear takes nn.Linear and Conv1D modules only;
# bitsandbytes-foundation/bitsandbytes#1849), so QLoRA holds them 16-bit and prepare_model_for_kbit_training then
# casts them to fp32 like every other unquantized parameter: Qwen3-30B-A3B's 29B expert parameters take 108 GiB.
# Llama 4's are split into linears for quantization first (quantizers/base.py MODULES_TO_PATCH_FOR_QUANTIZATION).
BNB_SPLIT_EXPERTS = ("llama4_text",)


def base_bytes(spec: ModelSpec, setup: TrainSetup) -> int:
    """The frozen or full model's weights as held during training.

    full and lora: every tensor in bf16 (precision bf16) or fp32 (mixed, fp32). qlora: NF4 with double
    quantization for the linear layers (the planner catalog's nf4-dq layout, what transformers' bitsandbytes
    integration stores), and every tensor it leaves unquantized (embeddings, norms, lm_head, a MoE's fused routed
    experts: BNB_SPLIT_EXPERTS) in fp32, because
    peft's prepare_model_for_kbit_training casts all 16-bit parameters that are not Params4bit to float32
    (peft/utils/other.py).
    """
    if setup.method == "full":
        return sum(t.numel for t in weight_tensors(spec)) * _itemsize(setup.precision)
    if setup.method == "lora":
        return sum(t.numel for t in weight_tensors(spec)) * (2 if setup.precision == "bf16" else 4)
    packed, unquantized = qlora_parts(spec)
    return packed + 4 * unquantized


def qlora_parts(spec: ModelSpec) -> tuple[int, int]:
    """QLoRA's base: (bytes of the NF4 tensors, elements of the tensors bitsandbytes leaves unquantized — embeddings,
    norms, lm_head, a MoE's fused routed experts — which prepare_model_for_kbit_training casts to fp32)."""
    packed = unquantized = 0
    for t, (_, _, nbytes) in zip(weight_tensors(spec), tensor_bytes(spec, "nf4-dq"), strict=True):
        if nbytes == 2 * t.numel or (t.is_expert and spec.model_type not in BNB_SPLIT_EXPERTS):
            unquantized += t.numel
        else:
            packed += nbytes
    return packed, unquantized


def optimizer_state_bytes(numels: tuple[int, ...], optimizer: str, itemsize: int, shapes=(),
                          embeddings: tuple[int, ...] = ()) -> int:
    """Persistent optimizer state for trainable tensors of `numels` elements held in `itemsize`-byte dtype, and
    trainable nn.Embedding weights of `embeddings` elements (not also in `numels`).

    adamw*: exp_avg and exp_avg_sq like the parameter (torch.optim.AdamW; the step counter lives on the host unless
    capturable/fused, and is a 4-byte scalar per tensor either way, counted here).
    paged_adamw: bitsandbytes' 32-bit AdamW, fp32 states whatever the parameter's dtype (BNB_FP32_STATE_BYTES).
    adamw_8bit, paged_adamw_8bit: bitsandbytes blockwise 8-bit states (see the constants above), the embeddings'
    fp32 (the Trainer's override, BNB_8BIT).
    sgd: one momentum buffer like the parameter. adafactor: see adafactor_state_bytes.
    """
    numels = tuple(numels) + tuple(embeddings)
    if optimizer == "sgd":
        return sum(numels) * itemsize
    if optimizer == "adafactor":
        return adafactor_state_bytes(shapes)
    if optimizer == "paged_adamw":
        return sum(BNB_FP32_STATE_BYTES * n for n in numels)
    if optimizer in BNB_8BIT:
        return BNB_QMAP_BYTES + sum(bnb_8bit_state_bytes(n) for n in numels[:len(numels) - len(embeddings)]) + sum(
            BNB_FP32_STATE_BYTES * n for n in embeddings)
    return sum(2 * n * itemsize + 4 for n in numels)


def bnb_8bit_state_bytes(n: int) -> int:
    """One tensor's two 8-bit states and their fp32 absmax per block; fp32 states below BNB_MIN_8BIT_SIZE."""
    if n < BNB_MIN_8BIT_SIZE:
        return BNB_FP32_STATE_BYTES * n
    return 2 * (n + 4 * -(-n // BNB_8BIT_BLOCK))


# bitsandbytes' paged optimizers put a state in CUDA unified memory only for tensors of 1e5 elements or more
# (Optimizer8bit.get_state_buffer: `if not self.is_paged or p.numel() < 1e5` allocates an ordinary tensor); the
# 8-bit absmax vectors and the qmaps are ordinary tensors too (Optimizer2State.init_state).
BNB_PAGED_MIN_NUMEL = 100_000


def paged_state_bytes(numels: tuple[int, ...], optimizer: str, embeddings: tuple[int, ...] = ()) -> int:
    """The part of a paged optimizer's states (paged_adamw, paged_adamw_8bit) that lives in unified memory."""
    if not optimizer.startswith("paged_"):
        return 0
    eight = optimizer in BNB_8BIT
    total = sum((2 * n if eight else BNB_FP32_STATE_BYTES * n) for n in numels if n >= BNB_PAGED_MIN_NUMEL)
    return total + sum(BNB_FP32_STATE_BYTES * n for n in embeddings if n >= BNB_PAGED_MIN_NUMEL)


def adafactor_state_bytes(shapes) -> int:
    """transformers' Adafactor (beta1=None): a factored second moment — one value per row and one per column —
    for tensors of 2 or more dimensions, a full one for vectors, in fp32 (optimization.py upcasts a 16-bit
    gradient before it creates the state like it)."""
    itemsize = 4
    total = 0
    for shape in shapes:
        if len(shape) >= 2:
            total += prod(shape[:-2]) * (shape[-2] + shape[-1]) * itemsize
        else:
            total += shape[0] * itemsize
    return total


@lru_cache(maxsize=1024)
def trainable_shapes(spec: ModelSpec, setup: TrainSetup) -> tuple[tuple[int, ...], ...]:
    """Shapes of the trainable tensors: the adapters' lora_A (r × in) and lora_B (out × r), or the model's own."""
    if setup.adapters:
        return tuple(s for t in lora_targets(spec, setup)
                     for s in ((setup.lora_rank, t.shape[1]), (t.shape[0], setup.lora_rank))) + \
            expert_adapter_shapes(spec, setup)
    return tuple(t.shape for t in _trainable_full(spec, setup))


def split_embeddings(spec: ModelSpec, setup: TrainSetup) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(elements of each trainable tensor but the nn.Embedding weights, elements of each trainable nn.Embedding
    weight), told apart by role wherever the embedding sits: the token embedding, in full fine-tuning unless frozen
    (a tied lm_head is the same Parameter). Adapters leave the embedding frozen."""
    if setup.adapters:
        return tuple(prod(s) for s in trainable_shapes(spec, setup)), ()
    tensors = _trainable_full(spec, setup)
    return (tuple(t.numel for t in tensors if t.role != "token_embd"),
            tuple(t.numel for t in tensors if t.role == "token_embd"))


@lru_cache(maxsize=1024)
def model_states(spec: ModelSpec, setup: TrainSetup) -> States:
    """Weights, gradients and optimizer states of one unsharded replica."""
    total = sum(t.numel for t in weight_tensors(spec))
    shapes = trainable_shapes(spec, setup)
    # peft creates the adapters in fp32 when the base is 16-bit (autocast_adapter_dtype=True, the default)
    itemsize = 4 if setup.adapters else _itemsize(setup.precision)
    numels = tuple(prod(s) for s in shapes)
    trainable = sum(numels)
    weights = base_bytes(spec, setup) + (trainable * itemsize if setup.adapters else 0)
    rest, emb = split_embeddings(spec, setup)
    return States(
        total_params=total, trainable_params=trainable, weights_bytes=weights, master_weights_bytes=0,
        gradient_bytes=trainable * itemsize,
        optimizer_state_bytes=optimizer_state_bytes(rest, setup.optimizer, itemsize, tuple(shapes), emb),
        largest_trainable_numel=max(numels, default=0), param_dtype_bytes=itemsize,
        paged_state_bytes=paged_state_bytes(rest, setup.optimizer, emb))

