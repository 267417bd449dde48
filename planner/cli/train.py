"""The train verb: training memory per GPU by component, the fit, and the largest micro-batch and sequence."""

from __future__ import annotations

import json

from ..units import UNIT_BYTES, format_bytes
from .args import positive, unit
from .machine import gpu_label, has_speed, local_json, local_lines, resolve_sized_gpu

LABELS = {"weights": "weights", "master_weights": "master weights", "gradients": "gradients",
          "optimizer_states": "optimizer states", "activations": "activations", "logits": "logits (loss)",
          "temporaries": "temporaries"}


def add_parser(sub) -> None:
    t = sub.add_parser("train", help="fine-tuning / training memory per GPU: full, LoRA, QLoRA")
    t.add_argument("model", help="Hugging Face id, short name, or path to a config.json / model folder")
    t.add_argument("--method", choices=["full", "lora", "qlora"], default="full",
                   help="full fine-tuning (default), LoRA adapters on a 16-bit base, or QLoRA on a 4-bit one")
    t.add_argument("--rank", type=positive, help="LoRA rank r (default 16)")
    t.add_argument("--targets", help="LoRA modules, comma-separated: q_proj,v_proj,… or all-linear (default)")
    t.add_argument("--lora-dropout", type=float, help="dropout on the adapters' input (default 0)")
    t.add_argument("--precision", choices=["bf16", "mixed", "fp32"],
                   help="bf16 (default): bf16 weights and states; mixed: fp32 weights under bf16 autocast; fp32")
    t.add_argument("--optimizer", choices=["adamw_fused", "adamw", "adamw_forloop", "adamw_8bit", "paged_adamw_8bit",
                                           "paged_adamw", "adafactor", "sgd"],
                   help="adamw_fused (default: the HF Trainer's adamw_torch_fused on torch >= 2.8), adamw (torch "
                   "foreach, the Trainer's adamw_torch), adamw_forloop, adamw_8bit / paged_adamw_8bit / paged_adamw "
                   "(bitsandbytes), adafactor, sgd")
    t.add_argument("--gradient-checkpointing", choices=["on", "off"],
                   help="recompute each layer in backward (default: on for QLoRA, as peft's recipe; else off)")
    t.add_argument("--micro-batch", type=positive, help="sequences per forward/backward (default 1)")
    t.add_argument("--seq-len", type=positive, help="tokens per sequence, e.g. 4096 or 4K (default 2048)")
    t.add_argument("--grad-accum", type=positive, help="micro-batches per optimizer step (default 1)")
    t.add_argument("--attention", choices=["sdpa", "eager"],
                   help="default: what transformers picks for the model (sdpa where it has it)")
    t.add_argument("--freeze-layers", type=int, help="full: keep the embeddings and the first N layers frozen")
    t.add_argument("--distribution", choices=["single", "ddp", "zero1", "zero2", "zero3", "fsdp"],
                   help="how --gpus share the run: ddp replicas, DeepSpeed ZeRO stages 1-3 or FSDP (default: single, "
                   "ddp with --gpus above 1)")
    t.add_argument("--gpus", type=positive, help="GPUs the distribution spans (default 1)")
    t.add_argument("--offload-optimizer", action="store_true", help="ZeRO/FSDP: optimizer states on the CPU")
    t.add_argument("--offload-params", action="store_true", help="ZeRO-3/FSDP: parameters on the CPU")
    t.add_argument("--gpu", help="catalog GPU id (see `planner gpus`), or local / local:N (this machine's GPU, its "
                   "free memory now): adds the fit, step time and the largest micro-batch and sequence that fit")
    t.add_argument("--gpu-memory", help="with --gpu: that GPU built with this much memory (--gpu m2-max --gpu-memory "
                   "32GiB)")
    t.add_argument("--unit", type=unit, default="GiB", help=f"one of {', '.join(UNIT_BYTES)} (default GiB)")
    t.add_argument("--json", action="store_true", help="print the result as JSON (bytes)")
    t.set_defaults(func=cmd_train)


def _options(a) -> dict:
    return {k: v for k, v in {
        "method": a.method, "lora_rank": a.rank, "lora_targets": a.targets, "lora_dropout": a.lora_dropout,
        "precision": a.precision, "optimizer": a.optimizer,
        "gradient_checkpointing": None if a.gradient_checkpointing is None else a.gradient_checkpointing == "on",
        "micro_batch": a.micro_batch, "seq_len": a.seq_len, "gradient_accumulation": a.grad_accum,
        "attention": a.attention, "freeze_layers": a.freeze_layers, "distribution": a.distribution,
        "n_gpus": a.gpus, "offload_optimizer": a.offload_optimizer or None,
        "offload_params": a.offload_params or None}.items() if v is not None}


def cmd_train(a) -> str:
    from ..training import make_setup, train_estimate
    from ..training.search import max_micro_batch, max_seq_len

    options = _options(a)
    if a.gpus and a.gpus > 1 and not a.distribution:
        options["distribution"] = "ddp"
    setup = make_setup(**options)
    gpu = resolve_sized_gpu(a)
    e = train_estimate(a.model, gpu=gpu, setup=setup)
    largest = {}
    if a.gpu and e.fit is not None:
        fields = setup.model_dump(exclude_unset=True)  # what was asked: a LoRA field of a full setup is refused
        largest = {"micro_batch": max_micro_batch(a.model, gpu=gpu, **fields),
                   "seq_len": max_seq_len(a.model, gpu=gpu, **fields)}
    if a.json:
        return json.dumps({**e.to_dict(), "largest_fitting": largest, **local_json(gpu)}, indent=2)
    s = e.setup
    how = {"full": "full fine-tuning", "lora": f"LoRA r={s.lora_rank}", "qlora": f"QLoRA (NF4) r={s.lora_rank}"}
    spread = f", {s.distribution} over {s.n_gpus} GPUs" if s.n_gpus > 1 else (
        f", {s.distribution} on 1 GPU" if s.distribution != "single" else "")
    lines = [f"{e.model} — {how[s.method]}, {s.precision}, {s.optimizer}, micro-batch {s.micro_batch} × "
             f"{s.seq_len:,} tokens" + (", gradient checkpointing" if s.gradient_checkpointing else "")
             + (", eager attention" if s.attention == "eager" else "") + spread,
             *(f"  {n}" for n in e.notes),
             f"  trainable parameters {e.trainable_params:,} of {e.total_params:,} "
             f"({100 * e.trainable_params / e.total_params:.2f} %)",
             f"  peak per GPU at the {e.peak_phase} step:"]
    lines += [f"    {LABELS[k]:<18} {format_bytes(v, a.unit):>12}" for k, v in e.components.items() if v]
    lines += [f"    {'overhead (CUDA)':<18} {format_bytes(e.overhead_bytes, a.unit):>12}",
              f"    {'total':<18} {format_bytes(e.total_bytes, a.unit):>12}"]
    if e.paged_bytes:
        lines.append(f"  paged optimizer states: {format_bytes(e.paged_bytes, a.unit)} in unified memory, not in the "
                     "total: on the GPU while it has room, else paged to CPU memory")
    if e.host_bytes:
        lines.append(f"  offloaded to CPU memory: {format_bytes(e.host_bytes, a.unit)} per GPU process")
    lines.append("  phases: " + ", ".join(f"{p.name} {format_bytes(p.bytes, a.unit)}" for p in e.phases)
                 + " (overhead excluded)")
    if (f := e.fit) is not None:
        lines += local_lines(gpu, a.unit)
        lines += _verdict_lines(e, a.unit)
        if f.step_seconds is not None and has_speed(gpu):
            lines.append(f"  step time {f.step_seconds:.2f} s, {f.tokens_per_s:,.0f} tokens/s at {f.mfu:.0%} MFU "
                         "(a prior, not a measurement)" + _step_notes(f))
        mb, seq = largest["micro_batch"], largest["seq_len"]
        lines.append(f"  largest micro-batch at {s.seq_len:,} tokens: {mb if mb else 'none fits'}; longest sequence at "
                     f"micro-batch {s.micro_batch}: {f'{seq:,} tokens' if seq else 'none fits'}")
    return "\n".join(lines)


def _verdict_lines(e, unit: str) -> list[str]:
    f = e.fit
    if not f.fits:
        return [f"{f.gpu}: does NOT fit: {f.reason}"]
    if f.paged_to_host_bytes:
        return [f"{f.gpu}: fits only by paging {format_bytes(f.paged_to_host_bytes, unit)} of optimizer state to host "
                f"memory ({e.setup.optimizer}: bitsandbytes' unified memory moves it over "
                f"{f.host_link or 'the host link'} every step)"]
    kept = f" and the paged optimizer states ({format_bytes(e.paged_bytes, unit)}) stay on the GPU" \
        if e.paged_bytes else ""
    return [f"{f.gpu}: fits in {format_bytes(f.usable_memory_bytes, unit)} ({format_bytes(f.headroom_bytes, unit)} "
            f"headroom{kept})"]


def _step_notes(f) -> str:
    return _comm_note(f) + _offload_note(f)


def _comm_note(f) -> str:
    if not f.comm_traffic_bytes:
        return ""
    bound = f.comm_seconds >= f.step_seconds - (f.paging_seconds or 0.0) - (f.offload_seconds or 0.0) - 1e-9
    return (f"; collectives: {f.comm_traffic_bytes / 1e9:,.1f} GB a step per GPU over {f.comm_link}, at least "
            f"{f.comm_seconds:.2f} s (overlapped with compute: the step takes the larger"
            + (", here the collectives" if bound else "") + ")"
            + ("; over 8 GPUs they cross machines, whose network planner does not model" if f.comm_machines else ""))


def _offload_note(f) -> str:
    if f.offload_traffic_bytes:
        moved = f"{f.offload_traffic_bytes / 1e9:,.1f} GB"
        return (f"; offloading moves {moved} a step over {f.host_link} in its busier direction: at least "
                f"{f.offload_seconds:.2f} s at its datasheet rate, the CPU's optimizer step not included"
                if f.offload_seconds is not None else
                f"; offloading's {moved} a step over the host link not included: this GPU's host link is not known")
    if not f.paged_to_host_bytes:
        return ""
    if f.paging_seconds is None:
        return "; paging not included: this GPU's host link is not known"
    return f"; paging included: at least {f.paging_seconds:.2f} s a step over {f.host_link} (its datasheet rate)"


def cmd_fit_train(a) -> str:
    """planner fit MODEL --train --gpu G: the cheapest ways to fine-tune MODEL on G (a local GPU: on it alone)."""
    from ..errors import PlannerError
    from ..training.search import GPU_COUNTS, SHARDING, plans
    from ..training.step import DEFAULT_TRAIN_MFU

    if not a.gpu:
        raise PlannerError("fit --train needs --gpu (a catalog id, see `planner gpus`, or local)")
    gpu = resolve_sized_gpu(a)
    where = local_lines(gpu, a.unit)
    counts = [1] if where else GPU_COUNTS
    a.micro_batch, a.seq_len = a.micro_batch or 1, a.seq_len or 2048  # the defaults --help names
    a.optimizer = a.optimizer or "adamw_fused"
    rows = plans(a.model, gpu=gpu, micro_batch=a.micro_batch, seq_len=a.seq_len, optimizer=a.optimizer,
                 gpu_counts=counts)
    if a.json:
        return json.dumps(rows, indent=2)
    on = "this GPU alone" if where else f"up to {counts[-1]} GPUs"
    head = "\n".join([f"{a.model} on {gpu_label(gpu)}: fine-tuning at micro-batch {a.micro_batch} × {a.seq_len:,} "
                      f"tokens, {a.optimizer}" + ("" if where else f" — the fewest GPUs (up to {counts[-1]}; ZeRO-3 "
                                                                  "and FSDP above one) per method"), *where])
    if not rows:
        return head + f"\n  no method fits on {on}"
    lines = [head, f"  {'method':<7} {'checkpointing':<14} {'GPUs':>5}  {'sharding':<9} {'per GPU':>12} "
                   f"{'trainable':>16} {'step':>9} {'tokens/s':>10}"]
    lines += [f"  {r['method']:<7} {'on' if r['gradient_checkpointing'] else 'off':<14} {r['n_gpus']:>5}  "
              f"{SHARDING[r['distribution']]:<9} {format_bytes(r['peak_bytes'], a.unit):>12} "
              f"{r['trainable_params']:>16,} "
              + (f"{r['step_seconds']:>8.2f}s {r['tokens_per_s']:>10,.0f}" if r["step_seconds"] is not None
                 else f"{'—':>9} {'—':>10}") for r in rows]
    if any(r["step_seconds"] is not None for r in rows):
        lines.append(f"  (step time at a {DEFAULT_TRAIN_MFU:.0%} MFU prior, or the collectives over the GPUs' link "
                     "where longer: order of magnitude, for comparing the rows)")
    if any(r["method"] == "full" and r["distribution"] != "single" for r in rows):
        lines.append("  (full fine-tuning over a bf16 model: DeepSpeed ZeRO-3 keeps fp32 master weights, gradients and "
                     "Adam states; FSDP, as torchtune's recipes run it, keeps them in bf16, about half)")
    missing = [f"{m} ({'on' if c else 'off'})" for m in ("full", "lora", "qlora") for c in (False, True)
               if not any(r["method"] == m and r["gradient_checkpointing"] is c for r in rows)]
    if missing:
        lines.append(f"  not on {on}: {', '.join(missing)}"
                     + ("" if where else " (sharding does not split the activations)"))
    return "\n".join(lines)
