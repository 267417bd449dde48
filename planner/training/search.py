"""Reverse questions: the largest micro-batch or sequence length that fits, and which methods and GPU counts do."""

from __future__ import annotations

from ..bisect import largest_passing
from ..gpus import load_gpu
from ..profiles import load_model
from .estimate import train_estimate
from .setup import LORA_OPTIONS, make_setup, offload_refusal

METHODS = ("full", "lora", "qlora")
GPU_COUNTS = (1, 2, 4, 8, 16, 32, 64)


def max_micro_batch(model, *, gpu, upper: int = 4096, **options) -> int:
    """The largest micro-batch whose training step fits `gpu`; 0 when not even one sequence does."""
    spec, g = load_model(model), load_gpu(gpu)
    options.pop("micro_batch", None)
    return largest_passing(lambda n: train_estimate(spec, setup=make_setup(micro_batch=n, **options)).total_bytes
                           <= g.usable_memory_bytes, upper)


def max_seq_len(model, *, gpu, **options) -> int:
    """The longest sequence (up to the model's max_position_embeddings) whose training step fits; 0 if none."""
    spec, g = load_model(model), load_gpu(gpu)
    options.pop("seq_len", None)
    return largest_passing(lambda n: train_estimate(spec, setup=make_setup(seq_len=n, **options)).total_bytes
                           <= g.usable_memory_bytes, spec.max_context)


def _options_for(method: str, options: dict) -> dict:
    """The options that apply to `method`: LoRA's rank, targets and dropout to the adapter methods, freeze_layers to
    full fine-tuning, precision not to QLoRA (which computes in bf16 whatever is asked)."""
    adapters = method != "full"
    return {k: v for k, v in options.items()
            if not ((k in LORA_OPTIONS and not adapters) or (k == "freeze_layers" and adapters)
                    or (k == "precision" and method == "qlora"))}


SHARDED_PLANS = ("zero3", "fsdp")  # above one GPU: DeepSpeed ZeRO-3 and PyTorch FSDP, the two that shard everything
SHARDING = {"single": "—", "zero3": "ZeRO-3", "fsdp": "FSDP"}  # plans()' distributions as tables show them


def plans(model, *, gpu, methods=METHODS, gpu_counts=GPU_COUNTS, **options) -> list[dict]:
    """For each method, with and without gradient checkpointing: one GPU where that fits, else the fewest GPUs that
    fit under each of ZeRO-3 and FSDP (their states differ: over a bf16 model DeepSpeed keeps fp32 master weights,
    gradients and Adam states, FSDP bf16 ones), with the per-GPU peak and the step time (its MFU prior, the
    collectives' floor); cheapest first (fewest GPUs, then least memory). Each method takes the options that apply
    to it (_options_for): LoRA's rank asked for the adapters does not stop full fine-tuning's row."""
    spec, g = load_model(model), load_gpu(gpu)
    rows = []

    def fitting(method, own, ckpt, n, dist) -> dict | None:
        if offload_refusal(method, dist, offload_params=own.get("offload_params", False),
                           offload_optimizer=own.get("offload_optimizer", False)):
            return None  # offloading runs only sharded (and FSDP's only with the parameters)
        e = train_estimate(spec, setup=make_setup(**{**own, "method": method, "gradient_checkpointing": ckpt,
                                                     "n_gpus": n, "distribution": dist}), gpu=g)
        if not e.fit.fits:
            return None
        return {"method": method, "gradient_checkpointing": ckpt, "n_gpus": n, "distribution": dist,
                "peak_bytes": e.total_bytes, "trainable_params": e.trainable_params,
                "step_seconds": e.fit.step_seconds, "tokens_per_s": e.fit.tokens_per_s}

    for method in methods:
        own = _options_for(method, options)
        for ckpt in (False, True):
            if 1 in gpu_counts and (row := fitting(method, own, ckpt, 1, "single")):
                rows.append(row)
                continue
            for dist in SHARDED_PLANS:
                row = next((r for n in gpu_counts if n > 1 if (r := fitting(method, own, ckpt, n, dist))), None)
                rows += [row] if row else []
    return sorted(rows, key=lambda r: (r["n_gpus"], r["peak_bytes"]))
