"""TrainSetup: how a model is fine-tuned or trained — method, precision, optimizer, checkpointing, batch, GPUs."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, ValidationError, field_validator

from ..errors import WorkloadError, shown
from ..limits import MAX_BATCH, MAX_CONTEXT, MAX_GPUS, MAX_LAYERS, MAX_LORA_RANK

Method = Literal["full", "lora", "qlora"]
Precision = Literal["bf16", "mixed", "fp32"]
Optimizer = Literal["adamw", "adamw_fused", "adamw_forloop", "adamw_8bit", "paged_adamw_8bit", "paged_adamw",
                    "adafactor", "sgd"]
Distribution = Literal["single", "ddp", "zero1", "zero2", "zero3", "fsdp"]
# TrainingArguments.optim defaults to "adamw_torch_fused" where torch >= 2.8 (transformers 5.24 training_args.py:
# `default_optim = "adamw_torch_fused"` under is_torch_greater_or_equal_than_2_8), which trainer_optimizer.py
# _get_adamw_torch turns into torch.optim.AdamW(fused=True): updated in place, no copy of the parameters at the step
DEFAULT_OPTIMIZER = "adamw_fused"

# Hugging Face module names a user targets with LoRA, and the planner tensor roles (planner.tensors) they cover.
# Phi-3's fused qkv_proj / gate_up_proj are what its checkpoints call them; MLA's projections keep DeepSeek's names
# (q_proj where there is no query latent, else q_a_proj and q_b_proj). Which of them a model has: states.model_modules.
LORA_MODULES = {
    "q_proj": ("attn_q",), "k_proj": ("attn_k",), "v_proj": ("attn_v",), "o_proj": ("attn_output",),
    "qkv_proj": ("attn_qkv",), "gate_proj": ("ffn_gate",), "up_proj": ("ffn_up",), "down_proj": ("ffn_down",),
    "gate_up_proj": ("ffn_up",), "q_a_proj": ("attn_q_a",), "q_b_proj": ("attn_q_b",),
    "kv_a_proj_with_mqa": ("attn_kv_a_mqa",), "kv_b_proj": ("attn_kv_b",), "lm_head": ("output",),
}
ALL_LINEAR = "all-linear"  # peft's shorthand: every nn.Linear of the decoder layers, not the lm_head


class TrainSetup(BaseModel):
    """One training configuration; defaults are what a Hugging Face Trainer + peft user gets."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    method: Method = Field("full", description="full fine-tuning, LoRA on a 16-bit base, or QLoRA on an NF4 base")
    precision: Precision = Field(
        "bf16", description="bf16: weights, gradients and optimizer states in bf16; mixed: fp32 weights under bf16 "
        "autocast (Trainer bf16=True on an fp32 model); fp32: everything fp32. LoRA: the base in that dtype, the "
        "adapters fp32 as peft creates them; QLoRA: an NF4 base under bf16 autocast, as its recipe runs")
    optimizer: Optimizer = Field(
        DEFAULT_OPTIMIZER, description="adamw_fused (torch fused=True, the default: the Trainer's adamw_torch_fused "
        "on torch >= 2.8), adamw (torch foreach, the Trainer's adamw_torch), adamw_forloop, adamw_8bit / "
        "paged_adamw_8bit (bitsandbytes), paged_adamw (bitsandbytes 32-bit), adafactor (transformers), "
        "sgd (momentum)")
    lora_rank: StrictInt = Field(16, gt=0, le=MAX_LORA_RANK, description="LoRA r")
    lora_targets: tuple[str, ...] = Field((ALL_LINEAR,), description="module names (q_proj, v_proj, …) or all-linear")
    lora_dropout: float = Field(0.0, ge=0, lt=1, allow_inf_nan=False,
                                description="dropout on the adapters' input (> 0 keeps a mask)")
    freeze_layers: StrictInt = Field(0, ge=0, le=MAX_LAYERS, description="full: the first N layers stay frozen")
    gradient_checkpointing: StrictBool = Field(
        False, description="recompute each decoder layer in backward, keeping only its input (Hugging Face's "
        "gradient_checkpointing_enable); make_setup turns it on for QLoRA unless told otherwise, as peft's "
        "prepare_model_for_kbit_training does")
    micro_batch: StrictInt = Field(1, gt=0, le=MAX_BATCH, description="sequences per forward/backward")
    seq_len: StrictInt = Field(2048, gt=0, le=MAX_CONTEXT, description="tokens per sequence")
    gradient_accumulation: StrictInt = Field(
        1, gt=0, le=MAX_BATCH, description="micro-batches per optimizer step; above 1 the gradients stay allocated "
        "through every forward and backward")
    attention: Literal["sdpa", "eager"] | None = Field(
        None, description="sdpa/flash keep no score matrix; eager does. None: what transformers picks, sdpa, or "
        "eager for a model class without an SDPA path (train_estimate resolves it: resolve_attention)")
    distribution: Distribution = Field("single", description="how several GPUs share the work")
    n_gpus: StrictInt = Field(1, gt=0, le=MAX_GPUS, description="GPUs the distribution spans")
    offload_optimizer: StrictBool = Field(False, description="ZeRO/FSDP: optimizer states (and fp32 master) on CPU")
    offload_params: StrictBool = Field(False, description="ZeRO-3/FSDP: parameters on CPU between uses")

    @field_validator("lora_targets", mode="before")
    @classmethod
    def _targets(cls, v):
        items = [v] if isinstance(v, str) else v
        if not isinstance(items, (list, tuple)) or not items or not all(isinstance(t, str) and t for t in items):
            raise ValueError("must be module names such as q_proj,v_proj or all-linear")
        items = [t.strip() for s in items for t in s.split(",") if t.strip()]
        unknown = [t for t in items if t != ALL_LINEAR and t not in LORA_MODULES]
        if unknown:
            raise ValueError(f"unknown module {unknown[0]!r}; known: {ALL_LINEAR}, {', '.join(LORA_MODULES)}")
        if ALL_LINEAR in items and len(items) > 1:
            # peft expands the shorthand only when target_modules is the string itself (tuners_utils.py
            # _maybe_include_all_linear_layers); in a list it is one more module name, matching none
            raise ValueError(f"{ALL_LINEAR} is peft's shorthand for target_modules='{ALL_LINEAR}' alone (every linear "
                             "but the lm_head); in a list peft takes it for a module name and adapts only the others: "
                             "give it alone, or list the modules")
        return tuple(items)

    @property
    def tokens(self) -> int:
        """Tokens in one micro-batch."""
        return self.micro_batch * self.seq_len

    @property
    def adapters(self) -> bool:
        return self.method in ("lora", "qlora")


def make_setup(**options) -> TrainSetup:
    """A TrainSetup from keyword options; a bad value raises WorkloadError naming the field and the value."""
    unknown = sorted(set(options) - set(TrainSetup.model_fields))
    if unknown:
        from ..errors import close_matches

        near = close_matches(unknown[0], list(TrainSetup.model_fields), 3)
        raise WorkloadError(f"unknown training option {unknown[0]!r}" + (f" (did you mean {', '.join(near)}?)" if near
                                                                         else "")
                            + f"; known: {', '.join(TrainSetup.model_fields)}")
    options = {k: v for k, v in options.items() if v is not None}
    if options.get("method") == "qlora":  # peft's prepare_model_for_kbit_training turns checkpointing on by default
        options.setdefault("gradient_checkpointing", True)
    try:
        setup = TrainSetup(**options)
    except ValidationError as e:
        err = e.errors()[0]
        field = str(err["loc"][0]) if err["loc"] else "setup"
        value = options.get(field)
        raise WorkloadError(f"training {field} {shown(value)}: {_bound_words(err)}") from None
    _check_combination(setup)
    _check_applies(setup, options)
    return setup


_BOUNDS = {"less_than_equal": ("le", "must be at most"), "greater_than_equal": ("ge", "must be at least"),
           "less_than": ("lt", "must be below"), "greater_than": ("gt", "must be above")}


def _bound_words(err: dict) -> str:
    """pydantic's error in planner's words: 'must be at most 65,536' for 'Input should be less than or equal to'."""
    if (bound := _BOUNDS.get(err["type"])) is not None and bound[0] in err.get("ctx", {}):
        limit = err["ctx"][bound[0]]
        return f"{bound[1]} {limit:,}" if isinstance(limit, int) else f"{bound[1]} {limit:g}"
    return err["msg"].removeprefix("Value error, ")


LORA_OPTIONS = ("lora_rank", "lora_targets", "lora_dropout")


def _check_applies(s: TrainSetup, options: dict) -> None:
    """Refuse an option given that would change nothing: planner would otherwise print it and ignore it."""
    given = [k for k in LORA_OPTIONS if k in options]
    if given and not s.adapters:
        raise WorkloadError(f"training {given[0]} {shown(options[given[0]])} applies to method lora or qlora, got "
                            f"method {s.method!r}")
    if s.method == "qlora" and s.precision != "bf16":
        # the QLoRA recipe: an NF4 base with bnb_4bit_compute_dtype bf16 under Trainer bf16=True autocast, the
        # adapters fp32 (peft), the rest fp32 after prepare_model_for_kbit_training; no precision changes that here
        raise WorkloadError(f"training precision {s.precision!r} with method qlora: QLoRA computes in bf16 under "
                            "autocast over its NF4 base whatever the precision, and planner models only that; "
                            "leave precision out (bf16)")
    if s.distribution == "ddp" and s.n_gpus == 1:
        raise WorkloadError("training distribution 'ddp' needs n_gpus 2 or more, got 1 (one GPU alone is "
                            "distribution 'single')")


def offload_refusal(method: str, distribution: str, *, offload_params: bool = False,
                    offload_optimizer: bool = False) -> str | None:
    """Why this offloading cannot run under `distribution` (None: it can): offloading needs a sharded run, FSDP has no
    optimizer-only offload, and ZeRO-3 does not offload a 4-bit base (FSDP does, PEFT's docs)."""
    if offload_params and distribution not in ("zero3", "fsdp"):
        return f"training offload_params needs distribution zero3 or fsdp, got {distribution!r}"
    if offload_optimizer and distribution in ("single", "ddp"):
        return f"training offload_optimizer needs a ZeRO stage or fsdp, got {distribution!r}"
    if offload_optimizer and not offload_params and distribution == "fsdp":
        return ("training offload_optimizer under fsdp needs offload_params too: FSDP offloads the parameters, their "
                "gradients and the optimizer step together (CPUOffload(offload_params=True)), never the optimizer "
                "alone")
    if method == "qlora" and distribution == "zero3" and offload_params:
        return "training offload_params: a 4-bit base is not offloaded by ZeRO-3; FSDP does"
    return None


def _check_combination(s: TrainSetup) -> None:
    if s.distribution == "single" and s.n_gpus > 1:
        raise WorkloadError(f"training n_gpus {s.n_gpus} needs a distribution (ddp, zero1, zero2, zero3 or fsdp), "
                            "got 'single'")
    if why := offload_refusal(s.method, s.distribution, offload_params=s.offload_params,
                              offload_optimizer=s.offload_optimizer):
        raise WorkloadError(why)
    if s.freeze_layers and s.adapters:
        raise WorkloadError(f"training freeze_layers {s.freeze_layers} applies to method 'full'; {s.method} already "
                            "freezes the base")


def resolve_attention(spec, setup: TrainSetup) -> TrainSetup:
    """The setup with the attention transformers runs: from_pretrained picks sdpa unless the class sets
    _supports_sdpa = False (Gemma 2's softcapping, gpt-oss's sinks), where it falls back to eager; asked for sdpa
    explicitly, such a class raises (transformers 5.24 modeling_utils.py get_correct_attn_implementation), and so
    does planner."""
    from ..engines.transformers.peak import EAGER_ONLY

    if setup.attention == "sdpa" and spec.model_type in EAGER_ONLY:
        raise WorkloadError(f"training attention 'sdpa': transformers cannot run {spec.name} with SDPA ("
                            f"{EAGER_ONLY[spec.model_type]} sets _supports_sdpa = False, and from_pretrained "
                            "refuses it); leave attention unset for eager, what it runs")
    if setup.attention is not None:
        return setup
    return setup.model_copy(update={"attention": "eager" if spec.model_type in EAGER_ONLY else "sdpa"})


def attention_note(spec, setup: TrainSetup) -> str | None:
    """Why the resolved attention is eager when the user did not ask for it, or None."""
    from ..engines.transformers.peak import EAGER_ONLY

    if spec.model_type in EAGER_ONLY and setup.attention == "eager":
        return (f"eager attention: transformers has no SDPA path for {spec.name} ({EAGER_ONLY[spec.model_type]}, "
                "_supports_sdpa = False), so a Trainer run computes every score matrix")
    return None
