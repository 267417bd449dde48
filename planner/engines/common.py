"""What every engine module shares: the result type and the option checker."""

from __future__ import annotations

from fractions import Fraction

from pydantic import BaseModel, ConfigDict, Field

from ..checks import flag, positive_int
from ..errors import WorkloadError


class EngineMemory(BaseModel):
    """Device memory by component under one engine, the engine's own figures and its verdict."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    engine: str
    weights_bytes: int
    kv_cache_bytes: int
    activation_bytes: int
    refusal: str | None = Field(None, description="why the engine would not start or not run the whole batch "
                                "at once; None when it would")
    max_concurrent: int | None = Field(None, description="sequences of the workload's context run at once")
    details: dict[str, float | int | str | bool] = Field(default_factory=dict)


def release_tuple(version: str) -> tuple[int, ...]:
    """'0.12.10' → (0, 12, 10): a release named in planner's own rule tables."""
    return tuple(int(x) for x in version.split("."))


def datacenter_blackwell(gpu) -> bool:
    """An NVIDIA Blackwell GPU with HBM (B200, GB200, B300: compute capability 10.x), where the engines pick
    FlashInfer's kernels; RTX Blackwell (12.x) has GDDR7. False for None (a GPU known only by its memory)."""
    return (gpu is not None and gpu.vendor == "nvidia" and gpu.architecture == "Blackwell"
            and gpu.memory_type.startswith("HBM"))


def pad(n: int, to: int) -> int:
    """n rounded up to a multiple of `to`."""
    return -(-n // to) * to


def mxfp4_expert_factor(inter: int, hidden: int, align_inter: int, align_hidden: int,
                        scales_kept: bool = False) -> Fraction:
    """Bytes an engine allocates for MXFP4 experts per byte of their tensors, when its MoE kernel pads each expert's
    intermediate size (one GPU's part) and hidden size up to these multiples, and with scales_kept also holds the
    loaded block scales beside its converted ones: 1 byte of every 17 (32 weights: 16 B, their E8M0 scale 1 B)."""
    padded = Fraction(pad(inter, align_inter) * pad(hidden, align_hidden), inter * hidden)
    return padded + Fraction(1, 17) if scales_kept else padded


def engine_options(engine: str, given: dict, allowed: dict, *, minimum: dict | None = None,
                   maximum: dict | None = None) -> dict:
    """`allowed` (the defaults) overridden by `given`; unknown keys and values of the wrong type are errors."""
    unknown = set(given) - set(allowed)
    if unknown:
        raise WorkloadError(f"engine {engine!r} has no option {sorted(unknown)[0]!r}; it takes "
                            f"{', '.join(sorted(allowed))}")
    out = {**allowed, **{k: v for k, v in given.items() if v is not None}}
    for key, value in out.items():
        default = allowed[key]
        if isinstance(default, bool):
            flag(key, value)
        elif isinstance(default, int):
            positive_int(key, value, (maximum or {}).get(key), minimum=(minimum or {}).get(key, 1))
    return out
