"""A training step's time on its GPUs: its FLOPs at an MFU prior, and floors for what crosses a link each step (paged
optimizer states, offloaded states, the distribution's collectives); and the verdict on the GPU (TrainFit)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from .setup import TrainSetup

# Model FLOPs utilization of a fine-tuning step, for step time: a prior, not a fit. torchtitan's Llama-3.1-8B bf16
# training on 8 H100s (FSDP, seq 8192, torch.compile) reports 38-41 % MFU
# (pytorch/torchtitan benchmarks/llama3_h100_202412_torchtitan.md); eager Hugging Face training runs lower.
DEFAULT_TRAIN_MFU = 0.35


class TrainFit(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    gpu: str
    usable_memory_bytes: int
    fits: bool
    reason: str | None = None
    headroom_bytes: int = Field(description="usable memory left beside the total and the paged optimizer states "
                                "that stay on the GPU")
    step_seconds: float | None = Field(None, description="one optimizer step (all micro-batches): its FLOPs at the "
                                       "MFU prior or comm_seconds, the larger, plus paging_seconds and offload_seconds")
    tokens_per_s: float | None = Field(None, description="all GPUs together")
    mfu: float = DEFAULT_TRAIN_MFU
    paged_to_host_bytes: int = Field(
        0, description="paged optimizer states (bitsandbytes) that do not fit beside the rest: in host memory, moved "
        "over the host link every step; fits is then true only by paging")
    paging_seconds: float | None = Field(
        None, description="a floor on what moving paged_to_host_bytes in and out over the host link (both ways at "
        "once, at its datasheet rate) adds to every step; None when nothing pages or the link is not known")
    host_link: str | None = Field(None, description="the link paged states cross (PCIe generation and width)")
    offload_seconds: float | None = Field(
        None, description="a floor on what offloading (offload_optimizer, offload_params) adds to every step: "
        "offload_traffic_bytes over the host link at its datasheet rate per direction; the optimizer step on the CPU "
        "is not included. None when nothing is offloaded or the link is not known")
    offload_traffic_bytes: int = Field(0, description="bytes one GPU moves over its host link each step with states "
                                       "offloaded, in the busier direction (both run at once)")
    comm_seconds: float | None = Field(
        None, description="a floor on the distribution's collectives a step: comm_traffic_bytes over comm_link at its "
        "one-way rate less NCCL's protocol overhead; overlapped with compute, so the step takes the larger. None on "
        "one GPU")
    comm_traffic_bytes: int = Field(0, description="bytes one GPU sends (and receives) in the collectives of a step")
    comm_link: str | None = Field(None, description="the link the collectives cross, as planner takes it")
    comm_machines: bool = Field(False, description="over 8 GPUs the collectives cross machines, whose network "
                                "planner does not model (comm_seconds takes one machine's link)")


def step_flops(spec, setup: TrainSetup, trainable: int) -> float:
    """FLOPs of one optimizer step over all micro-batches and GPUs: 2·N per token forward and 2·N backward to the
    inputs for the active parameters N, 2·N more for weight gradients when the base trains (6·N·tokens), the
    adapters' own 6·n, causal attention (half the square: 2·T·q per token and layer forward, twice that backward),
    and one more forward with checkpointing."""
    n_active = spec.active_param_count
    tokens = setup.tokens * setup.gradient_accumulation * setup.n_gpus
    width = spec.n_heads * (spec.head_dim if spec.mla is None else spec.mla.qk_nope_head_dim
                            + spec.mla.qk_rope_head_dim)
    attn_fwd = 2 * setup.seq_len * width * spec.n_layers  # per token: QK^T and PV over half the keys on average
    adapters = 2 * trainable if setup.adapters else 0
    fwd = 2 * n_active + attn_fwd + adapters
    bwd = 2 * n_active + 2 * attn_fwd + (2 * adapters if setup.adapters else 2 * n_active)
    return float(tokens * (fwd * (2 if setup.gradient_checkpointing else 1) + bwd))


def host_link_seconds(moved: int, gpu) -> float | None:
    """A floor on what moving `moved` bytes each way over the host link adds to a step, both directions at once at
    its datasheet rate (per direction); None when nothing moves or the link is not known. Paging: the optimizer
    states that do not fit come in for the step (bitsandbytes prefetches each one, F.prefetch_tensor) and as many go
    out to make room; unified memory migrates pages slower than that, and where the states cycle through less room
    than they take, more than the overflow moves. Offloading: offload_traffic."""
    if not moved or gpu.host_link is None:
        return None
    return moved / gpu.host_link.bytes_per_s


def offload_traffic(setup: TrainSetup, states) -> int:
    """Bytes one GPU moves over its host link each step with states offloaded, in the busier direction (both run at
    once). Stepping on the CPU (offload_optimizer; FSDP's CPUOffload): this GPU's gradient partition goes out — under
    DeepSpeed after every micro-batch (it accumulates them in the CPU's fp32 buffer), under FSDP once, at the last
    (no_sync keeps the others on the GPU) — and the updated 16-bit partition comes back once. offload_params: the
    parameters live in CPU memory and each GPU fetches its shard of every layer for the forward, the backward and,
    with checkpointing, the recomputed forward, every micro-batch (ZeRO-3's param offload; FSDP's CPUOffload)."""
    if not (setup.offload_optimizer or setup.offload_params):
        return 0
    n, ga = setup.n_gpus, setup.gradient_accumulation
    part = -(-states.trainable_params // n) * states.param_dtype_bytes
    on_cpu = setup.offload_optimizer or setup.distribution == "fsdp"
    out = part * (1 if setup.distribution == "fsdp" else ga) if on_cpu else 0
    back = part if on_cpu else 0
    if setup.offload_params:
        back = -(-states.weights_bytes // n) * (3 if setup.gradient_checkpointing else 2) * ga
    return max(out, back)


def comm_traffic(setup: TrainSetup, states) -> int:
    """Bytes one GPU sends (and as many it receives) in a step's collectives, ring algorithms: an all-gather or a
    reduce-scatter of S bytes moves (n − 1)/n · S each way, an all-reduce twice that (the ZeRO paper, Rajbhandari et
    al. 2020, section 7: data parallel and ZeRO-1/2 move 2Ψ, ZeRO-3 3Ψ). G is the trainable parameters' gradients, W
    the 16-bit weights the model computes with. ddp: an all-reduce of G once a step (the Trainer accumulates under
    no_sync); ZeRO-1: G reduce-scattered at the step, the updated partitions all-gathered; ZeRO-2: G reduce-scattered
    after every micro-batch; ZeRO-3: W all-gathered for the forward, the backward and (with checkpointing) the
    recomputed forward, and G reduce-scattered, every micro-batch; FSDP likewise, its G once, at the last micro-batch
    (no_sync)."""
    n, ga = setup.n_gpus, setup.gradient_accumulation
    if n == 1 or setup.distribution == "single":
        return 0
    grads = states.trainable_params * states.param_dtype_bytes
    passes = (3 if setup.gradient_checkpointing else 2) * states.weights_bytes
    volume = {"ddp": 2 * grads, "zero1": 2 * grads, "zero2": grads * ga + grads,
              "zero3": (passes + grads) * ga, "fsdp": passes * ga + grads}[setup.distribution]
    return round(volume * (n - 1) / n)


def _comm(g, n: int) -> tuple[float, str]:
    """(bytes/s a collective moves one way, the link's name) for n GPUs, as tensor-parallel all-reduces take it."""
    from ..perf.roofline import ALLREDUCE_BUS_EFFICIENCY, link_bytes_per_s, split_link

    rate = link_bytes_per_s(g, n) * ALLREDUCE_BUS_EFFICIENCY
    link = split_link(g, n)
    name = link.name if link is not None else "PCIe 4.0 x16 (assumed: this GPU's links are not known)"
    return rate, name


def fit_on(gpu, total: int, flops: float, setup: TrainSetup, paged: int = 0, offloaded: int = 0,
           comm: int = 0) -> TrainFit:
    from ..gpus import load_gpu

    g = load_gpu(gpu)
    usable = g.usable_memory_bytes
    reason = None if total <= usable else (f"needs {total / 2**30:,.2f} GiB per GPU, {g.id} has "
                                           f"{usable / 2**30:,.2f} GiB usable")
    room = max(0, usable - total)
    to_host = max(0, paged - room) if reason is None else 0
    paging, offload = host_link_seconds(to_host, g), host_link_seconds(offloaded, g)
    peak = g.peak_flops("bf16")
    rate, link = _comm(g, setup.n_gpus) if comm else (None, None)
    collectives = comm / rate if comm else None
    seconds = None if peak is None else (max(flops / (peak * setup.n_gpus * DEFAULT_TRAIN_MFU), collectives or 0.0)
                                         + (paging or 0.0) + (offload or 0.0))
    tokens = setup.tokens * setup.gradient_accumulation * setup.n_gpus
    return TrainFit(gpu=g.id, usable_memory_bytes=usable, fits=reason is None, reason=reason,
                    headroom_bytes=usable - total - min(paged, room), step_seconds=seconds,
                    tokens_per_s=None if seconds is None else tokens / seconds, paged_to_host_bytes=to_host,
                    paging_seconds=paging, host_link=g.host_link.name if (to_host or offloaded) and g.host_link
                    else None, offload_seconds=offload, offload_traffic_bytes=offloaded,
                    comm_seconds=collectives, comm_traffic_bytes=comm, comm_link=link,
                    comm_machines=bool(comm) and setup.n_gpus > 8)
