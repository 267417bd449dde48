"""The machine verb (what this machine has: GPUs by NVML, system RAM, Apple unified memory) and `--gpu local`."""

from __future__ import annotations

import json

from ..units import format_bytes
from .args import unit


def add_parser(sub) -> None:
    m = sub.add_parser("machine", help="this machine's GPUs (NVML: name, catalog match, total/used/free memory, "
                       "driver, compute capability), system RAM and Apple unified memory")
    m.add_argument("--unit", type=unit, default="GiB", help="GiB (default) or GB")
    m.add_argument("--json", action="store_true", help="print the result as JSON (bytes)")
    m.set_defaults(func=cmd_machine)


def cmd_machine(a) -> str:
    from ..machine import detect

    m = detect()
    if a.json:
        return json.dumps(m.to_dict(), indent=2)
    u = a.unit
    lines = ["This machine"]
    for g in m.gpus:
        match = f"catalog {g.catalog_id}" if g.catalog_id else "not in the GPU catalog: memory only, no speed figures"
        cc = f", compute capability {g.compute_capability}" if g.compute_capability else ""
        lines += [f"  GPU {g.index}: {g.name} ({match}{cc})",
                  f"    memory: {format_bytes(g.total_bytes, u)} total, {format_bytes(g.used_bytes, u)} used, "
                  f"{format_bytes(g.free_bytes, u)} free"]
    if m.gpus:
        lines.append(f"  NVIDIA driver {m.driver_version or 'version unknown'}")
    elif m.apple is not None:
        lines.append("  no NVIDIA GPU (a Mac: its Apple GPU below)")
    else:
        lines.append(f"  no NVIDIA GPU found: {m.no_gpu_reason}")
    if m.apple is not None:
        ap = m.apple
        lines.append(f"  {ap.chip}" + (f" (catalog {ap.catalog_id})" if ap.catalog_id else " (not in the GPU catalog)")
                     + f": {format_bytes(ap.unified_memory_bytes, u)} unified memory, the GPU may use "
                     f"{format_bytes(ap.gpu_usable_bytes, u)} ({ap.gpu_share:.0%})")
    if m.system_memory_bytes is not None:
        avail = (f", {format_bytes(m.system_available_bytes, u)} available"
                 if m.system_available_bytes is not None else "")
        lines.append(f"  system RAM: {format_bytes(m.system_memory_bytes, u)} total{avail}")
    if m.gpus or m.apple is not None:
        more = f" (local:0 … local:{len(m.gpus) - 1} for another GPU)" if len(m.gpus) > 1 else ""
        lines.append(f"Plan against it: planner estimate MODEL --gpu local{more}; planner fit MODEL --gpu local")
    return "\n".join(lines)


def resolve_gpu(gpu):
    """--gpu: a local GPU is detected once here (so every figure of one command uses the same free memory) and
    returned as a GPU; any other value is returned as it is."""
    if isinstance(gpu, str) and (gpu.strip().lower() == "local" or gpu.strip().lower().startswith("local:")):
        from ..machine import local_gpu, parse_local  # no GPU: said before pydantic and the catalog load

        return local_gpu(parse_local(gpu))
    return gpu


def resolve_sized_gpu(a):
    """--gpu, or with --gpu-memory that catalog GPU built with this much memory (fit and train; estimate's is
    commands._gpu)."""
    if getattr(a, "gpu_memory", None) is None:
        return resolve_gpu(a.gpu)
    from ..errors import PlannerError
    from ..gpus import with_memory
    from ..units import parse_size

    if not a.gpu:
        raise PlannerError("--gpu-memory sizes the catalog GPU --gpu names: give --gpu too (--gpu m2-max --gpu-memory "
                           "32GiB)")
    if str(a.gpu).strip().lower().startswith("local"):
        raise PlannerError("--gpu-memory sizes the catalog GPU --gpu names (--gpu m2-max --gpu-memory 32GiB); a local "
                           "GPU's memory is what it reports")
    return with_memory(a.gpu, round(parse_size(a.gpu_memory, "--gpu-memory")))


def local_lines(gpu, unit: str) -> list[str]:
    """The line naming a local GPU and its free memory; nothing for any other GPU."""
    from ..machine import describe_local, is_local

    return [describe_local(gpu, unit)] if is_local(gpu) else []


def local_json(gpu) -> dict:
    """{"local_gpu": {...}} for a local GPU (bytes), else {}."""
    from ..machine import has_speed, is_local

    if not is_local(gpu):
        return {}
    return {"local_gpu": {"id": gpu.id, "name": gpu.sources.get("nvml_name", gpu.name),
                          "catalog_id": gpu.sources.get("catalog_id"), "usable_bytes": gpu.usable_memory_bytes,
                          "total_bytes": gpu.memory_marketed_bytes if gpu.vendor != "apple" else gpu.memory_bytes,
                          "speed_figures": has_speed(gpu)}}


def gpu_label(gpu) -> str:
    return getattr(gpu, "id", gpu)


def has_speed(gpu) -> bool:
    from ..machine import has_speed as speed

    return speed(gpu)
