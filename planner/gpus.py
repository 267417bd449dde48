"""GPU catalog: one YAML per GPU under profiles/gpus, datasheet facts with their sources."""

from __future__ import annotations

import math
import re
from functools import lru_cache
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .errors import PlannerError, close_matches
from .limits import MAX_BYTES
from .paths import profiles_dir, read_yaml

# What an NVIDIA driver keeps of nvidia-smi's total from CUDA (and so from every engine's budget), for a catalog GPU
# whose CUDA-reported total no source prints: the largest such gap among the catalog's GPUs that have one (A100 PCIe
# 80GB: 81920 − 81049 MiB; the gaps run 270–870 MiB on current Linux drivers, research/cuda_totals.md), so a fit
# verdict errs toward "does not fit" rather than counting memory CUDA never hands out.
NVIDIA_DRIVER_RESERVE_BYTES = 871 * 2**20
ASSUMED_CUDA_TOTAL = "ASSUMED: no CUDA-reported total published; nvidia-smi's less NVIDIA_DRIVER_RESERVE_BYTES"


class UnknownGPUError(PlannerError):
    """No GPU in the catalog has this id."""


class Link(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    bytes_per_s: float = Field(gt=0)
    peers: int | None = Field(None, gt=0, description="a full mesh of this many point-to-point links, one to each "
                              "peer (AMD's xGMI): bytes_per_s is all of them, and a split over n GPUs uses n − 1")


class GPU(BaseModel):
    """One accelerator as its datasheet describes it. Peak FLOP/s are dense (never the sparsity figures)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    name: str
    vendor: Literal["nvidia", "amd", "apple"]
    architecture: str
    memory_bytes: int | None = Field(None, gt=0, description="total as the driver reports it (nvidia-smi)")
    cuda_memory_bytes: int | None = Field(
        None, gt=0, description="total as CUDA (or ROCm) reports it, torch.cuda.mem_get_info()'s: a few hundred MiB "
        "below nvidia-smi's on current NVIDIA drivers, the memory every process, CUDA context included, shares")
    memory_marketed_bytes: int = Field(gt=0, description="capacity as marketed")
    memory_type: str
    memory_bandwidth_bytes_per_s: float = Field(gt=0)
    flops_per_s: dict[str, float] = Field(
        description="dense peak per dtype: fp32, tf32, bf16, fp16 (fp32 accumulate), fp16_acc16, fp8, int8, int4")
    tdp_watts: float | None = None
    interconnect: Link | None = Field(None, description="GPU-to-GPU link, its total both ways as NVIDIA and AMD state "
                                      "it (NVLink 4: 900 GB/s, 450 each way)")
    host_link: Link | None = Field(None, description="link to the host (PCIe), per direction")
    gpu_memory_share: float = Field(1.0, gt=0, le=1, description="Apple: share of unified memory the GPU may use")
    source: str = Field(min_length=1)
    sources: dict[str, str] = Field(default_factory=dict)

    @property
    def usable_memory_bytes(self) -> int:
        """Memory a model may use: the total CUDA reports (else nvidia-smi's, else the marketed capacity), times the
        GPU share."""
        return int((self.cuda_memory_bytes or self.memory_bytes or self.memory_marketed_bytes) * self.gpu_memory_share)

    @property
    def runtime_total_bytes(self) -> int:
        """The total an engine sees from torch.cuda.mem_get_info() and budgets from (vLLM, SGLang)."""
        return self.cuda_memory_bytes or self.memory_bytes or self.memory_marketed_bytes

    def peak_flops(self, dtype: str) -> float | None:
        """Dense peak for `dtype`, else the 16-bit, else the fp32 figure; None when no datasheet gives one."""
        for key in (dtype, "fp16" if dtype == "fp16_acc16" else "bf16", "bf16", "fp16", "fp32"):
            if key in self.flops_per_s:
                return self.flops_per_s[key]
        return None


@lru_cache(maxsize=1)
def _catalog() -> dict[str, GPU]:
    out = {}
    for path in sorted((profiles_dir() / "gpus").glob("*.yaml")):
        try:
            gpu = GPU(**read_yaml(path))
        except ValidationError as e:
            raise PlannerError(f"GPU profile {path.name}: {e.errors()[0]['loc']}: {e.errors()[0]['msg']}") from None
        if gpu.vendor == "nvidia" and gpu.cuda_memory_bytes is None and gpu.memory_bytes is not None:
            gpu = gpu.model_copy(update={"cuda_memory_bytes": gpu.memory_bytes - NVIDIA_DRIVER_RESERVE_BYTES,
                                         "sources": {**gpu.sources, "cuda_memory_bytes": ASSUMED_CUDA_TOTAL}})
        out[gpu.id] = gpu
    return out


def list_gpus() -> list[str]:
    return sorted(_catalog())


def load_gpu(gpu: str | GPU) -> GPU:
    """A GPU by catalog id (case-insensitive); close matches in the error when unknown. "local" (or "local:N"):
    this machine's first (N-th) GPU with the memory free now (planner.machine.local_gpu; detected on every call)."""
    if isinstance(gpu, GPU):
        return gpu
    if not isinstance(gpu, str) or len(gpu) > 100:
        raise UnknownGPUError(f"gpu must be a catalog id (`planner gpus`) or a GPU, got {repr(gpu)[:80]}")
    key = gpu.strip().lower()
    if key in _catalog() or (key := "-".join(key.split())) in _catalog():  # "RTX 4090" is rtx-4090
        return _catalog()[key]
    if key == "local" or key.startswith("local:"):
        from .machine import local_gpu, parse_local

        return local_gpu(parse_local(key))
    # a marketing name ("Apple M1", "GeForce RTX 4090") first: the id its tokens name, then the ids spelled like it
    named = match_gpu(key)
    # ids with a part spelled as asked ("h100": h100-pcie, h100-sxm) say it best; else the ids spelled like it
    parts = [g for g in list_gpus() if key in g.split("-") or g.startswith(key + "-")]
    hint = list(dict.fromkeys(([named] if named else []) + (parts or close_matches(key, list_gpus()))))[:5]
    raise UnknownGPUError(f"unknown gpu {gpu!r}" + (f"; did you mean: {', '.join(hint)}?" if hint else
                                                     f"; `planner gpus` lists the {len(list_gpus())} known"))


# Apple: the share of unified memory Metal lets the GPU use by default (recommendedMaxWorkingSetSize / RAM), set by
# macOS from the machine's RAM, not by its chip: exactly 2/3 up to 32 GiB (llama.cpp logs print 11453.25 MB on a
# 16 GB M4, 17179.89 MB on 24 GB, 22906.50 MB on a 32 GB M1 Pro), 0.75 from 36 GiB (28991.03 MB on a 36 GB M4 Max;
# 73728 MiB on a 96 GB M2 Max, llama.cpp issue 3213). Quoted in profiles/gpus/m*.yaml.
APPLE_SMALL_MEMORY_BYTES, APPLE_SMALL_SHARE, APPLE_SHARE = 32 * 2**30, 2 / 3, 0.75


def apple_gpu_share(memory_bytes: int) -> float:
    """The share of `memory_bytes` of unified memory Metal lets the GPU use by default."""
    return APPLE_SMALL_SHARE if memory_bytes <= APPLE_SMALL_MEMORY_BYTES else APPLE_SHARE


def with_memory(gpu: str | GPU, memory_bytes: int) -> GPU:
    """A catalog GPU built with another memory size (an M4 with 16 GB, not the catalog's 32; an RTX 3060 with 8 GB):
    its datasheet's bandwidth and FLOP/s, `memory_bytes` the memory it is sold with (16 GiB for a 16 GB card), the
    driver's and CUDA's totals in the proportion the catalog's entry has them, and on Apple GPUs Metal's share for
    that much unified memory."""
    from .checks import positive_int

    g = load_gpu(gpu)
    memory = positive_int("gpu_memory_bytes", memory_bytes, MAX_BYTES)
    if memory < 2**30:
        from .errors import WorkloadError

        raise WorkloadError(f"gpu_memory_bytes must be at least 1 GiB for a catalog GPU, got {memory:,}")
    # Apple's and NVIDIA's "16GB" are GiB on the box: a whole number of GiB is named so, any other size in GiB
    label = f"{memory // 2**30}GB" if memory % 2**30 == 0 else f"{memory / 2**30:.3g}GiB"
    name, n = re.subn(r"\b\d+(\.\d+)?\s?GB\b", label, g.name)  # "(10-core GPU, 32GB)" → 16GB
    update = {"id": f"{re.sub(r'-[0-9.]+gi?b$', '', g.id)}-{label.lower()}",  # m4-16gb: not a catalog id
              "memory_bytes": round(memory * (g.memory_bytes or g.memory_marketed_bytes) / g.memory_marketed_bytes),
              "memory_marketed_bytes": memory, "name": name if n else f"{g.name}, {label}",
              "cuda_memory_bytes": None if g.cuda_memory_bytes is None
              else round(memory * g.cuda_memory_bytes / g.memory_marketed_bytes),
              "sources": {**g.sources, "memory_bytes": "the user's own figure"}}
    if g.vendor == "apple":
        update["gpu_memory_share"] = apple_gpu_share(memory)
    return g.model_copy(update=update)


MAX_CUSTOM_TFLOPS = 100_000  # 100 PFLOP/s dense: beyond any single accelerator


def custom_gpu(*, memory_bytes: float, bandwidth_bytes_per_s: float, tflops_bf16: float | None = None,
               memory_type: str = "GDDR", vendor: str = "nvidia", name: str = "custom GPU") -> GPU:
    """A GPU described by its own figures (for one that is not in the catalog): total memory, memory bandwidth,
    dense bf16 TFLOP/s (without it, prefill times are not given) and the memory type (HBM, GDDR, unified)."""
    from .errors import WorkloadError, shown

    if tflops_bf16 is not None and (isinstance(tflops_bf16, bool) or not isinstance(tflops_bf16, (int, float))
                                    or not 0 < tflops_bf16 <= MAX_CUSTOM_TFLOPS):
        raise WorkloadError(f"gpu tflops_bf16 must be in (0, {MAX_CUSTOM_TFLOPS}], got {shown(tflops_bf16)}")
    for field, value in (("memory_bytes", memory_bytes), ("bandwidth_bytes_per_s", bandwidth_bytes_per_s)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0 \
                or value > MAX_BYTES:
            raise WorkloadError(f"gpu {field} must be a number of bytes in (0, {MAX_BYTES:.3g}] (16 GiB: 16 * 2**30, "
                                f"or planner.units.parse_size('16GiB')), got {shown(value)}")
    if memory_bytes != int(memory_bytes):
        raise WorkloadError(f"gpu memory_bytes must be a whole number of bytes, got {shown(memory_bytes)}")
    kind = str(memory_type).upper()
    if kind not in ("HBM", "GDDR", "UNIFIED"):
        raise WorkloadError(f"gpu memory_type must be HBM, GDDR or unified, got {shown(memory_type)}")
    try:
        return GPU(id="custom", name=name, vendor="apple" if kind == "UNIFIED" else vendor, architecture="custom",
                   memory_bytes=int(memory_bytes), memory_marketed_bytes=int(memory_bytes),
                   memory_type="LPDDR" if kind == "UNIFIED" else kind,
                   memory_bandwidth_bytes_per_s=bandwidth_bytes_per_s,
                   flops_per_s={} if tflops_bf16 is None else {"bf16": tflops_bf16 * 1e12},
                   source="the user's own figures")
    except ValidationError as e:
        err = e.errors()[0]
        raise WorkloadError(f"gpu {err['loc'][0]}: {err['msg']}") from None


# --- a device name as a driver or runtime prints it -> the catalog ----------------------------------------------

# Words that name a vendor or a product family, never one card: dropped from both names before they are compared.
_VENDOR_WORDS = {"nvidia", "geforce", "tesla", "quadro", "amd", "radeon", "instinct", "apple", "gpu", "graphics"}


def _tokens(text: str) -> list[str]:
    return [t for t in re.split(r"[^a-z0-9]+", text.lower()) if t and t not in _VENDOR_WORDS]


def _parts(tokens: list[str]) -> tuple[frozenset[str], frozenset[str], str | None]:
    """(model tokens, memory tokens such as '80gb', form factor 'sxm' | 'pcie' | None)."""
    memory = frozenset(t for t in tokens if re.fullmatch(r"\d+gb", t))
    forms = {("sxm" if t.startswith(("sxm", "hbm")) else "pcie") for t in tokens
             if t == "pcie" or re.fullmatch(r"(sxm|hbm)\d*e?", t)}
    form = "pcie" if "pcie" in forms else ("sxm" if forms else None)
    model = frozenset(t for t in tokens if t not in memory and t != "pcie" and not re.fullmatch(r"(sxm|hbm)\d*e?", t))
    return model, memory, form


def match_gpu(name: str, total_bytes: int | None = None, *, vendor: str | None = None) -> str | None:
    """The catalog id of the GPU a driver or runtime calls `name` (NVML, torch.cuda.get_device_name, ggml's device
    line, Metal, vLLM's kernel-config file names), or None. The model words must be those of the entry's id or of
    its catalog name (RTX 4090 is not RTX 4090 D, L40 is not L40S, H200 NVL is not H200, a laptop or Max-Q card is
    not its desktop namesake; "RTX 6000 Ada Generation" and "Radeon PRO W7900" are their catalog names), a memory
    size or form factor (SXM/HBM vs PCIe) in both names must agree, and a reported total must be 85–105 % of the
    entry's marketed memory (an 8 GB RTX 4060 Ti is not the 16 GB card). Ambiguous: None."""
    model, memory, form = _parts(_tokens(name.replace("_", " ")))
    if not model:
        return None
    found = []
    for gid, g in _catalog().items():
        if vendor is not None and g.vendor != vendor:
            continue
        _, g_memory, g_form = _parts(_tokens(gid) + _tokens(g.name))
        if model not in (_parts(_tokens(gid))[0], _parts(_tokens(g.name.split("(")[0]))[0]):
            continue
        if memory and g_memory and not memory & g_memory:
            continue
        if form and g_form and form != g_form:
            continue
        if total_bytes and not 0.85 <= total_bytes / g.memory_marketed_bytes <= 1.05:
            continue
        found.append((form is not None and form == g_form, gid))
    exact = [gid for same_form, gid in found if same_form]
    if len(exact) == 1:
        return exact[0]
    return found[0][1] if len(found) == 1 else None
