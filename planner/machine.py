"""This machine: its GPUs as NVML reports them (name matched to the GPU catalog, total/used/free memory, driver,
compute capability), its system RAM, and on Apple silicon the unified memory and the share the GPU may use.

`local_gpu(index)` (also `planner.gpus.load_gpu("local")` / `"local:N"`) turns a detected GPU into a planner GPU:
the catalog entry when the name matches (its bandwidth and FLOP/s give the speeds) with the memory the planner may
use set to the memory free now; a GPU the catalog lacks becomes a custom GPU of that memory without speed figures.

NVML comes from nvidia-ml-py (`import pynvml`, the `[gpu]` extra). Every function takes `nvml=` (any object with
pynvml's functions), and `import_nvml` is looked up at call time, so tests pass or monkeypatch a fake one.
"""

from __future__ import annotations

import os
import platform
import subprocess
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from .errors import PlannerError
from .gpus import apple_gpu_share, match_gpu

NO_SPEED_BANDWIDTH = 1.0  # bytes/s placed in a GPU that has no datasheet figures: its speeds are not shown


class NoLocalGPUError(PlannerError):
    """No GPU was found on this machine (or not the one asked for); the message says why."""


@dataclass(frozen=True)
class LocalGPU:
    index: int
    name: str                      # as NVML reports it
    catalog_id: str | None         # the matched catalog entry, None when the catalog has no such GPU
    total_bytes: int
    used_bytes: int
    free_bytes: int
    compute_capability: str | None  # "8.9"


@dataclass(frozen=True)
class AppleSilicon:
    chip: str                      # "Apple M2 Max"
    catalog_id: str | None
    unified_memory_bytes: int
    gpu_share: float               # of the unified memory, the GPU may use (Metal's default working-set limit)

    @property
    def gpu_usable_bytes(self) -> int:
        return int(self.unified_memory_bytes * self.gpu_share)


@dataclass(frozen=True)
class Machine:
    gpus: list[LocalGPU] = field(default_factory=list)
    no_gpu_reason: str | None = None  # why no NVIDIA GPU is listed (None when there is one)
    driver_version: str | None = None
    system_memory_bytes: int | None = None
    system_available_bytes: int | None = None
    apple: AppleSilicon | None = None

    def to_dict(self) -> dict:
        d = asdict(self)
        if self.apple is not None:
            d["apple"]["gpu_usable_bytes"] = self.apple.gpu_usable_bytes
        return d


# --- NVML ------------------------------------------------------------------------------------------------------

def import_nvml():
    """The pynvml module of nvidia-ml-py; ImportError when it is not installed."""
    import pynvml

    return pynvml


def _text(value) -> str:
    """Older pynvml returns bytes for names and versions, newer str."""
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _one_line(e: BaseException) -> str:
    return " ".join(str(e).split()) or type(e).__name__


def nvidia_gpus(nvml=None) -> tuple[list[LocalGPU], str | None, str | None]:
    """(GPUs, driver version, why none) from NVML. Never raises: a missing pynvml or an NVML that does not start
    comes back as the reason."""
    if nvml is None:
        try:
            nvml = import_nvml()
        except ImportError:
            return [], None, ("pynvml is not installed (pip install nvidia-ml-py, or planner[gpu]), so NVML cannot "
                              "be asked")
    try:
        nvml.nvmlInit()
    except Exception as e:  # pynvml.NVMLError: no driver, no library, insufficient permissions
        return [], None, f"NVML did not start: {_one_line(e)}"
    try:
        try:
            driver = _text(nvml.nvmlSystemGetDriverVersion())
        except Exception:
            driver = None
        try:
            count = int(nvml.nvmlDeviceGetCount())
        except Exception as e:
            return [], driver, f"NVML could not count the GPUs: {_one_line(e)}"
        gpus, failed = [], []
        for i in range(count):
            try:
                gpus.append(_device(nvml, i))
            except Exception as e:
                failed.append(f"GPU {i}: {_one_line(e)}")
        if not gpus:
            return [], driver, ("NVML reports no GPU" if not failed else "NVML could not read " + "; ".join(failed))
        return gpus, driver, None
    finally:
        try:
            nvml.nvmlShutdown()
        except Exception:
            pass


def _device(nvml, i: int) -> LocalGPU:
    handle = nvml.nvmlDeviceGetHandleByIndex(i)
    name = _text(nvml.nvmlDeviceGetName(handle)).strip()
    mem = nvml.nvmlDeviceGetMemoryInfo(handle)
    total, free = int(mem.total), int(mem.free)
    used = int(getattr(mem, "used", total - free))
    try:
        major, minor = nvml.nvmlDeviceGetCudaComputeCapability(handle)
        cc = f"{int(major)}.{int(minor)}"
    except Exception:
        cc = None
    return LocalGPU(index=i, name=name, catalog_id=match_gpu(name, total), total_bytes=total, used_bytes=used,
                    free_bytes=free, compute_capability=cc)


# --- system memory and Apple silicon ---------------------------------------------------------------------------

def _sysctl(name: str) -> str | None:
    try:
        out = subprocess.run(["sysctl", "-n", name], capture_output=True, text=True, timeout=2, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return (out.stdout.strip() or None) if out.returncode == 0 else None


def system_memory(system: str | None = None, sysctl: Callable[[str], str | None] | None = None,
                  meminfo: str = "/proc/meminfo") -> tuple[int | None, int | None]:
    """(total, available) bytes of system RAM: Linux /proc/meminfo, macOS sysctl hw.memsize (total only), else
    os.sysconf."""
    system, sysctl = system or platform.system(), sysctl or _sysctl
    if system == "Darwin":
        raw = sysctl("hw.memsize")
        return (int(raw) if raw and raw.isdigit() else None), None
    try:
        with open(meminfo) as f:
            kib = {k: int(v.split()[0]) for k, v in (line.split(":", 1) for line in f if ":" in line)
                   if v.split() and v.split()[0].isdigit()}
        if "MemTotal" in kib:
            avail = kib.get("MemAvailable")
            return kib["MemTotal"] * 1024, None if avail is None else avail * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"), None
    except (ValueError, OSError, AttributeError):
        return None, None


def apple_silicon(system: str | None = None, sysctl: Callable[[str], str | None] | None = None) -> AppleSilicon | None:
    """On a Mac with Apple silicon: the chip, its catalog entry when there is one, the unified memory and the share
    of it the GPU may use (2/3 up to 32 GiB of RAM, else 0.75, whatever the chip: a 24 GB M4 Pro gets 2/3 where the
    catalog's 64 GB one gets 0.75)."""
    if (system or platform.system()) != "Darwin":
        return None
    sysctl = sysctl or _sysctl
    chip = sysctl("machdep.cpu.brand_string") or ""
    raw = sysctl("hw.memsize")
    if not chip.startswith("Apple") or not raw or not raw.isdigit():
        return None
    memory = int(raw)
    gid = match_gpu(chip, vendor="apple")
    return AppleSilicon(chip=chip, catalog_id=gid, unified_memory_bytes=memory, gpu_share=apple_gpu_share(memory))


def detect(nvml=None, *, system: str | None = None, sysctl: Callable[[str], str | None] | None = None) -> Machine:
    """Everything `planner machine` prints. Never raises for a missing GPU, driver or pynvml."""
    gpus, driver, reason = nvidia_gpus(nvml)
    total, available = system_memory(system, sysctl)
    return Machine(gpus=gpus, no_gpu_reason=reason, driver_version=driver, system_memory_bytes=total,
                   system_available_bytes=available, apple=apple_silicon(system, sysctl))


# --- the local GPU as a planner GPU ----------------------------------------------------------------------------

def parse_local(text: str) -> int | None:
    """'local' → 0, 'local:N' → N; None when `text` is not a local GPU."""
    key = text.strip().lower()
    if key == "local":
        return 0
    if key.startswith("local:"):
        n = key[6:].strip()
        if not n.isdigit() or len(n) > 4:
            raise NoLocalGPUError(f"gpu {text!r}: write local or local:N with N the GPU's index (0, 1, …)")
        return int(n)
    return None


def local_gpu(index: int = 0, nvml=None, *, system: str | None = None,
              sysctl: Callable[[str], str | None] | None = None):
    """GPU `index` of this machine as a planner.gpus.GPU whose usable memory is the memory free now (NVML). On a
    Mac with Apple silicon and no NVIDIA GPU: the chip with the share of unified memory the GPU may use. Raises
    NoLocalGPUError (a PlannerError) naming the reason when there is none."""
    gpus, _, reason = nvidia_gpus(nvml)
    if gpus:
        if not 0 <= index < len(gpus):
            raise NoLocalGPUError(f"gpu local:{index}: this machine has {len(gpus)} NVIDIA GPU(s), "
                                  f"local:0 … local:{len(gpus) - 1}")
        return _from_nvml(gpus[index])
    apple = apple_silicon(system, sysctl)
    if apple is not None and index == 0:
        return _from_apple(apple)
    raise NoLocalGPUError(f"gpu local: no NVIDIA GPU found: {reason}")


def _catalog_as_local(catalog_id: str, tool: str, where: dict, **fields):
    """The catalog's entry for a GPU this machine has, with this machine's `fields` (id, name, memory) and its
    datasheet speed figures kept; `tool` (NVML, sysctl) and `where` say where the memory figures came from."""
    from .gpus import _catalog

    g = _catalog()[catalog_id]
    source = f"this machine ({tool}); speed figures: profiles/gpus/{catalog_id}.yaml"
    # this machine's memory figure stands for the catalog's totals (CUDA's included): it is what is free here now
    return g.model_copy(update=dict(fields, cuda_memory_bytes=None, source=source,
                                    sources={**g.sources, **where, "catalog_id": catalog_id}))


def _from_nvml(d: LocalGPU):
    from .gpus import _catalog, custom_gpu

    where = {"memory_bytes": f"NVML: memory free now on GPU {d.index} ({d.name}), of {d.total_bytes} bytes",
             "nvml_name": d.name}
    if d.catalog_id is not None:
        return _catalog_as_local(d.catalog_id, "NVML", where, id=f"local:{d.index}",
                                 name=f"{_catalog()[d.catalog_id].name} (this machine, GPU {d.index})",
                                 memory_bytes=d.free_bytes, memory_marketed_bytes=d.total_bytes, gpu_memory_share=1.0)
    g = custom_gpu(memory_bytes=max(d.free_bytes, 1), bandwidth_bytes_per_s=NO_SPEED_BANDWIDTH,
                   name=f"{d.name} (this machine, GPU {d.index}; not in the catalog)")
    return g.model_copy(update=dict(id=f"local:{d.index}", memory_marketed_bytes=max(d.total_bytes, 1),
                                    architecture="unknown", source="this machine (NVML); no datasheet figures",
                                    sources=where))


def _from_apple(a: AppleSilicon):
    from .gpus import custom_gpu

    where = {"memory_bytes": f"sysctl hw.memsize: unified memory of this {a.chip}; the GPU may use {a.gpu_share:.0%}",
             "nvml_name": a.chip}
    if a.catalog_id is not None:
        return _catalog_as_local(a.catalog_id, "sysctl", where, id="local:0", name=f"{a.chip} (this machine)",
                                 memory_bytes=a.unified_memory_bytes, memory_marketed_bytes=a.unified_memory_bytes,
                                 gpu_memory_share=a.gpu_share)
    g = custom_gpu(memory_bytes=a.unified_memory_bytes, bandwidth_bytes_per_s=NO_SPEED_BANDWIDTH,
                   memory_type="unified", name=f"{a.chip} (this machine; not in the catalog)")
    return g.model_copy(update=dict(id="local:0", gpu_memory_share=a.gpu_share, architecture="unknown",
                                    source="this machine (sysctl); no datasheet figures", sources=where))


def is_local(gpu) -> bool:
    return getattr(gpu, "id", "").startswith("local:")


def has_speed(gpu) -> bool:
    """False for a GPU without datasheet figures (a local GPU the catalog lacks): its speeds mean nothing."""
    bandwidth = getattr(gpu, "memory_bandwidth_bytes_per_s", None)
    return bandwidth is None or bandwidth > NO_SPEED_BANDWIDTH


def describe_local(gpu, unit: str = "GiB") -> str:
    """'local:0 = NVIDIA GeForce RTX 4090 (catalog rtx-4090); free now: 20.00 GiB of 23.99 GiB'."""
    from .units import format_bytes

    what = gpu.sources.get("nvml_name", gpu.name)
    gid = gpu.sources.get("catalog_id")
    match = f"catalog {gid}" if gid else "not in the catalog: no speed figures"
    if gpu.vendor == "apple":
        return (f"{gpu.id} = {what} ({match}); the GPU may use {format_bytes(gpu.usable_memory_bytes, unit)} of "
                f"{format_bytes(gpu.memory_bytes, unit)} unified memory ({gpu.gpu_memory_share:.0%})")
    return (f"{gpu.id} = {what} ({match}); free now: {format_bytes(gpu.usable_memory_bytes, unit)} of "
            f"{format_bytes(gpu.memory_marketed_bytes, unit)}")
