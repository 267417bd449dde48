"""The Fine-tuning view's pieces: its options from the shared state, its controls, and its tables' rows.

The options are planner.training.TrainSetup's fields, named as there; the GPU and the number of GPUs are the
shared ones, so a choice made on another view holds here too.
"""

from __future__ import annotations

import streamlit as st
from present import gpu_label, params_label
from state import LORA_TARGETS, STATE, train_choices, widget

from planner import PlannerError
from planner.limits import MAX_BATCH, MAX_CONTEXT, MAX_GPUS, MAX_LORA_RANK
from planner.training.search import SHARDING
from planner.units import to_unit

# The searches run up to ~40 training estimates each, plans() up to ~80 (ZeRO-3 and FSDP both); an estimate works
# per class of layers, so the largest custom architecture the form accepts (1,024 layers) takes about 1.1 s for plans()
# (python benchmarks/train_speed.py). Every model the form allows is searched.
SEARCH_MAX_LAYERS = 1024
METHODS = {"full": "full fine-tuning", "lora": "LoRA (16-bit base)", "qlora": "QLoRA (4-bit NF4 base)"}
PRECISIONS = {"bf16": "bf16", "mixed": "mixed (fp32 + autocast)", "fp32": "fp32"}
CHECKPOINTING = {"default": "default (on for QLoRA)", "on": "on", "off": "off"}
PHASES = {  # planner.training.estimate's four moments, in the order of a step
    "forward": "end of forward: every saved activation plus the loss's logits",
    "loss": "start of backward: saved activations plus the loss's fp32 vocabulary-wide gradients",
    "layer": "backward with checkpointing: one layer recomputed on top of the kept layer inputs",
    "optimizer": "optimizer step: every gradient plus the optimizer's temporaries",
}
LABELS = {"weights": "weights", "master_weights": "master weights", "gradients": "gradients",
          "optimizer_states": "optimizer states", "activations": "activations", "logits": "logits",
          "temporaries": "temporaries"}


def options(state: dict) -> dict:
    """TrainSetup options from the state; a LoRA method without a target module is refused here, in the form's
    words."""
    n = int(state["n_gpus"])
    adapters = state["method"] != "full"
    opts = {"method": state["method"], "optimizer": state["optimizer"],
            # QLoRA's precision is its recipe's (bf16 autocast); planner.training refuses another
            "precision": state["precision"] if state["method"] != "qlora" else None,
            "lora_rank": int(state["lora_rank"]) if adapters else None, "micro_batch": int(state["micro_batch"]),
            "seq_len": int(state["seq_len"]), "gradient_accumulation": int(state["grad_accum"]),
            "gradient_checkpointing": {"default": None, "on": True, "off": False}[state["checkpointing"]],
            "n_gpus": n, "distribution": state["distribution"] if n > 1 else "single"}
    if state["lora_targets"] and adapters:
        opts["lora_targets"] = tuple(state["lora_targets"])
    elif adapters:
        raise PlannerError("Pick at least one LoRA target module (or all-linear).")
    return {k: v for k, v in opts.items() if v is not None}


def training_gpu(setup):
    """The GPU to train on: the catalog id or custom GPU of the setup; a bare memory budget becomes a GPU of that
    memory and no speed (planner.training takes a GPU, not a budget; the bandwidth is unused by training)."""
    if setup.gpu is not None:
        return setup.gpu
    from planner.gpus import custom_gpu

    return custom_gpu(memory_bytes=setup.usable_bytes, bandwidth_bytes_per_s=1.0, name="memory budget")


def headline(setup, state: dict) -> str:
    """'Llama-3.1-8B (8.03 B) · LoRA (16-bit base) · 1 × 2,048 tokens · RTX 4090 24GB'."""
    n = int(state["n_gpus"])
    batch = f"{state['micro_batch']:,} × {state['seq_len']:,} tokens"
    if state["grad_accum"] > 1:
        batch += f", {state['grad_accum']:,} accumulated"
    return " · ".join([f"{setup.spec.name} ({params_label(setup.spec.param_count)})", METHODS[state["method"]],
                       batch, (f"{n} × " if n > 1 else "") + setup.gpu_text])


def count_label(n: int) -> str:
    """41,943,040 → '41.9 M'; 8,030,261,248 → '8.03 B'."""
    return params_label(n) if n >= 1e9 else f"{n / 1e6:,.1f} M" if n >= 1e5 else f"{n:,}"


def components(e) -> dict[str, int]:
    """The peak's components by their reader's names, overhead last (what the table and the bar show)."""
    return {**{LABELS[k]: v for k, v in e.components.items()}, "overhead": e.overhead_bytes}


def phase_rows(e, unit: str) -> dict[str, list]:
    """One row per moment of the step: its name (the peak marked), what is allocated then, and its bytes."""
    phases = sorted(e.phases, key=lambda p: list(PHASES).index(p.name) if p.name in PHASES else len(PHASES))
    return {"moment": [p.name + (" (peak)" if p.name == e.peak_phase else "") for p in phases],
            "what is allocated": [PHASES.get(p.name, "") for p in phases],
            unit: [f"{to_unit(p.bytes, unit):,.2f}" for p in phases]}


def plan_rows(plans: list[dict], unit: str, gpu_name: str) -> dict[str, list]:
    return {"method": [METHODS[p["method"]] for p in plans],
            "gradient checkpointing": ["on" if p["gradient_checkpointing"] else "off" for p in plans],
            "GPUs": [f"{p['n_gpus']} × {gpu_name}" for p in plans],
            "distribution": [SHARDING[p["distribution"]] for p in plans],
            f"peak per GPU ({unit})": [f"{to_unit(p['peak_bytes'], unit):,.2f}" for p in plans],
            "step time": ["—" if p["step_seconds"] is None else f"{p['step_seconds']:,.2f} s" for p in plans],
            "tokens/s, all GPUs": ["—" if p["tokens_per_s"] is None else f"{p['tokens_per_s']:,.0f}" for p in plans],
            "trainable parameters": [count_label(p["trainable_params"]) for p in plans]}


def gpu_name(setup) -> str:
    if isinstance(setup.gpu, str):
        from models import gpu_spec

        g = gpu_spec(setup.gpu)
        return gpu_label(g.name, g.memory_marketed_bytes, setup.unit)
    return setup.gpu_text


def draw_controls(where) -> None:
    """The view's own controls, bound to the shared state; LoRA's are off for full fine-tuning and the distribution
    for one GPU."""
    state = st.session_state[STATE]
    adapters = state["method"] != "full"
    row = where.columns(4)
    widget("selectbox", "method", "Method", where=row[0], options=list(METHODS), format_func=METHODS.get)
    widget("selectbox", "precision", "Precision", where=row[1], options=train_choices("precision"),
           format_func=PRECISIONS.get, disabled=state["method"] == "qlora", help="bf16: weights, gradients and "
           "optimizer states in bf16; mixed: fp32 weights under bf16 autocast. LoRA keeps fp32 adapters either way; "
           "QLoRA runs its recipe (an NF4 base under bf16 autocast) whatever this says.")
    widget("selectbox", "optimizer", "Optimizer", where=row[2], options=train_choices("optimizer"),
           help="adamw_fused: the Hugging Face Trainer's default on torch 2.8 and later; adamw: torch's foreach "
                "AdamW; 8-bit and paged ones are bitsandbytes'.")
    widget("selectbox", "checkpointing", "Gradient checkpointing", where=row[3], options=list(CHECKPOINTING),
           format_func=CHECKPOINTING.get, help="Recompute each layer in backward; peft turns it on for QLoRA.")
    row = where.columns(4)
    widget("number_input", "micro_batch", "Micro-batch (sequences)", where=row[0], min_value=1, max_value=MAX_BATCH,
           step=1)
    widget("number_input", "seq_len", "Sequence length (tokens)", where=row[1], min_value=1, max_value=MAX_CONTEXT,
           step=512)
    widget("number_input", "grad_accum", "Gradient accumulation", where=row[2], min_value=1, max_value=MAX_BATCH,
           step=1, help="Micro-batches per optimizer step; above 1 the gradients stay allocated throughout.")
    n = widget("number_input", "n_gpus", "GPUs", where=row[3], min_value=1, max_value=MAX_GPUS, step=1)
    row = where.columns([1, 2, 1])
    widget("number_input", "lora_rank", "LoRA rank", where=row[0], min_value=1, max_value=MAX_LORA_RANK, step=8,
           disabled=not adapters)
    widget("multiselect", "lora_targets", "LoRA target modules", where=row[1], options=LORA_TARGETS,
           disabled=not adapters, help="all-linear: every linear layer of the decoder (peft's shorthand).")
    widget("selectbox", "distribution", "Distribution", where=row[2], options=train_choices("distribution"),
           disabled=n == 1, help="ddp: every GPU holds everything; zero1/2/3 shard the optimizer states, then the "
           "gradients, then the weights; fsdp: PyTorch's full sharding of all three, as zero3, but with no fp32 "
           "master copy beside the weights.")
