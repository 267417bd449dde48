"""The quantization catalog: names → formats, and weight bytes of a model in a format.

Fixed formats live in profiles/quants/formats.yaml. Parametric families are parsed from the name:
  gptq-<2|3|4|8>bit[-g<N>|-g-1]   AutoGPTQ packing: int32-packed weights, fp16 scales, packed zeros, int32 g_idx
  awq-<2|3|4|8>bit[-g<N>]          AutoAWQ GEMM packing: as GPTQ without g_idx
  exl2-<bpw>                       ExLlamaV2 at an average bits per weight; lm_head at EXL2_HEAD_BITS
  mlx-<2|3|4|5|6|8>bit[-g<32|64|128>]  MLX's affine quantization (mlx_lm convert -q): every Linear and Embedding
GGUF: every GGML type as `gguf-<type>` (all matrices in that type) and every llama.cpp preset by
its llama-quantize name (q4_k_m, q8_0, iq4_xs, …), see planner/quant/gguf.py.
"""

from __future__ import annotations

import re
from functools import lru_cache

from pydantic import BaseModel, ConfigDict, Field

from ..errors import UnknownQuantError, did_you_mean
from ..paths import profiles_dir, read_yaml
from .layout import Category, Layout

# ExLlamaV2's convert.py quantizes the lm_head at 6 bits unless told otherwise (-hb, default 6).
# Source: https://github.com/turboderp-org/exllamav2/blob/master/doc/convert.md
EXL2_HEAD_BITS = 6

LINEAR_IN_BLOCKS: tuple[Category, ...] = ("attn", "mlp", "experts", "shared_experts")


class QuantFormat(BaseModel):
    """A weight format: its storage layout and which tensor categories it compresses."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    aliases: tuple[str, ...] = ()
    description: str
    source: str = Field(min_length=1)
    layout: Layout | None = Field(None, description="None for GGUF formats, which choose a type per tensor")
    quantizes: tuple[Category, ...] = ()
    keep_bits: int = Field(16, description="bits of every tensor the format leaves alone")
    overrides: dict[Category, Layout] = Field(default_factory=dict, description="per-category layouts")
    gguf_preset: str | None = Field(None, description="llama.cpp ftype name when this is a GGUF preset")
    keep_layers: tuple[tuple[Category, int], ...] = Field(
        (), description="(category, layer) pairs left at keep_bits although the format quantizes the category")

    @property
    def is_gguf(self) -> bool:
        return self.gguf_preset is not None


@lru_cache(maxsize=1)
def _fixed_formats() -> dict[str, QuantFormat]:
    rows = read_yaml(profiles_dir() / "quants" / "formats.yaml")
    out: dict[str, QuantFormat] = {}
    for row in rows:
        fmt = QuantFormat(**row)
        for key in (fmt.name, *fmt.aliases):
            out[key.lower()] = fmt
    return out


def _gptq_awq(kind: str, bits: int, group: int) -> QuantFormat:
    gptq = kind == "gptq"
    layout = Layout(bits=bits, group="row", group_size=max(group, 0), scale_bits=16,
                    zero_bits=bits, col_bits=32 if gptq else 0)
    src = ("https://github.com/AutoGPTQ/AutoGPTQ" if gptq
           else "https://github.com/casper-hansen/AutoAWQ")
    return QuantFormat(
        name=f"{kind}-{bits}bit-g{group}", description=(
            f"{kind.upper()} {bits}-bit, {'per-row' if group <= 0 else f'groups of {group}'}: packed "
            f"weights, fp16 scales, {bits}-bit zeros{', int32 g_idx per input column' if gptq else ''}; "
            "embeddings, router and lm_head stay fp16"),
        source=src, layout=layout, quantizes=LINEAR_IN_BLOCKS)


def _exl2(bpw: float) -> QuantFormat:
    return QuantFormat(
        name=f"exl2-{bpw:g}", description=f"ExLlamaV2 at {bpw:g} bits per weight on average (scales "
        f"included), lm_head at {EXL2_HEAD_BITS} bits, embeddings fp16",
        source="https://github.com/turboderp-org/exllamav2/blob/master/doc/convert.md",
        layout=Layout(bits=bpw), quantizes=LINEAR_IN_BLOCKS,
        overrides={"output": Layout(bits=EXL2_HEAD_BITS)})


# MLX quantizes every layer with a to_quantized method, Linear and Embedding (the output layer too), in groups of
# 64 by default, with a scale and a bias per group in the weights' 16-bit dtype (mlx.nn.quantize's defaults,
# group_size=64, bits=4; mlx.core.quantize: bits 2, 3, 4, 5, 6 or 8, group_size 32, 64 or 128). The MoE router is
# left in 16 bits here: mlx_lm keeps some models' gates at 8 bits, and it is too small to matter either way.
MLX_QUANTIZES: tuple[Category, ...] = (*LINEAR_IN_BLOCKS, "embedding", "output")


def _mlx(bits: int, group: int) -> QuantFormat:
    return QuantFormat(
        name=f"mlx-{bits}bit" + ("" if group == 64 else f"-g{group}"),
        description=f"MLX {bits}-bit (mlx_lm convert -q), groups of {group} with a 16-bit scale and bias each; "
        "embeddings and the output layer quantized too",
        source="https://github.com/ml-explore/mlx/blob/main/python/mlx/nn/layers/quantized.py",
        layout=Layout(bits=bits, group="row", group_size=group, scale_bits=16, zero_bits=16),
        quantizes=MLX_QUANTIZES)


_GPTQ_AWQ = re.compile(r"^(gptq|awq)(?:-(\d+)bit|-int(\d+))?(?:-g(-?\d+))?$")
_MLX = re.compile(r"^mlx-(\d+)bit(?:-g(\d+))?$")
_EXL2 = re.compile(r"^exl2-(\d+(?:\.\d+)?)(?:bpw)?$")


def _parametric(key: str) -> QuantFormat | None:
    if m := _GPTQ_AWQ.match(key):
        bits = int(m.group(2) or m.group(3) or 4)
        group = int(m.group(4)) if m.group(4) else 128
        if bits not in (2, 3, 4, 8):
            raise UnknownQuantError(f"quant {key!r}: {m.group(1).upper()} bits must be 2, 3, 4 or 8, got {bits}")
        if group == 0 or group < -1:
            raise UnknownQuantError(f"quant {key!r}: group size must be positive or -1 (per row), got {group}")
        return _gptq_awq(m.group(1), bits, group)
    if m := _MLX.match(key):
        bits, group = int(m.group(1)), int(m.group(2) or 64)
        if bits not in (2, 3, 4, 5, 6, 8):
            raise UnknownQuantError(f"quant {key!r}: MLX bits must be 2, 3, 4, 5, 6 or 8, got {bits}")
        if group not in (32, 64, 128):
            raise UnknownQuantError(f"quant {key!r}: MLX group size must be 32, 64 or 128, got {group}")
        return _mlx(bits, group)
    if m := _EXL2.match(key):
        bpw = float(m.group(1))
        if not 2.0 <= bpw <= 8.0:
            raise UnknownQuantError(f"quant {key!r}: EXL2 bits per weight must be within 2.0–8.0, got {bpw:g}")
        return _exl2(bpw)
    return None


def quant_names() -> list[str]:
    """Canonical names of every format the catalog knows (parametric families by example)."""
    from .gguf import gguf_format_names

    fixed = sorted({f.name for f in _fixed_formats().values()})
    examples = ["gptq", "awq", "gptq-4bit-g128", "gptq-8bit-g128", "gptq-3bit-g128", "gptq-2bit-g128",
                "awq-4bit-g128", "exl2-4.65", "mlx-4bit", "mlx-8bit"]
    return list(dict.fromkeys(fixed + examples + gguf_format_names()))  # bf16 is a GGUF preset's name too


def get_quant(name: str) -> QuantFormat:
    """The format called `name` (case-insensitive); close matches in the error when unknown."""
    if not isinstance(name, str) or not name.strip() or len(name) > 100:
        raise UnknownQuantError(f"quant must be a format name (`planner quants`), got {repr(name)[:80]}")
    return _get_quant(name)


# "<format>[keep=<category>,<category>@<layer>,…]": the format with those tensors left in 16 bits, as checkpoints
# list them (modules_to_not_convert, ignore); planner.hf_import writes these names from quantization_config.
_KEEP = re.compile(r"^(.+)\[keep=([\w@,]+)\]$")
CATEGORIES: tuple[Category, ...] = ("attn", "mlp", "experts", "shared_experts", "router", "embedding", "output",
                                    "vision")


def base_name(quant: str) -> str:
    """The catalog name of the format a `quant` is, any [keep=…] left aside: its kernels are the base format's."""
    name = get_quant(quant).name
    return m[1] if (m := _KEEP.match(name)) else name


def is_gguf_weights(quant: str, spec=None) -> bool:
    """Whether weights in `quant` are a GGUF file's: a GGUF format, or 'checkpoint' of a spec read from a .gguf (its
    checkpoint's format; a spec without one, or None, is no GGUF)."""
    fmt = get_quant(quant)
    if fmt.name == "checkpoint":
        return spec is not None and spec.checkpoint is not None and spec.checkpoint.format == "gguf"
    return fmt.is_gguf


def keep_name(base: str, keep) -> str:
    """The catalog name of `base` with `keep` (categories, or (category, layer) pairs) left in 16 bits."""
    parts = sorted({k if isinstance(k, str) else f"{k[0]}@{k[1]}" for k in keep},
                   key=lambda p: (p.split("@")[0], int(p.split("@")[1]) if "@" in p else -1))
    return f"{base}[keep={','.join(parts)}]" if parts else base


def _with_kept(key: str, m: re.Match) -> QuantFormat:
    base = _get_quant(m[1])
    if base.is_gguf or base.name == "checkpoint" or base.layout is None:
        raise UnknownQuantError(f"quant {key!r}: keep= applies to formats that quantize whole categories (GPTQ, AWQ, "
                                f"fp8, int4, nf4, …), not {base.name!r}")
    cats, layers = set(), set()
    for part in m[2].split(","):
        cat, _, layer = part.partition("@")
        if cat not in CATEGORIES or (layer and not layer.isdigit()):
            raise UnknownQuantError(f"quant {key!r}: keep entries are a category ({', '.join(CATEGORIES)}) or "
                                    f"category@layer, got {part!r}")
        (layers.add((cat, int(layer))) if layer else cats.add(cat))
    return base.model_copy(update=dict(
        name=keep_name(base.name, cats | layers), aliases=(),
        description=f"{base.description}; left in {base.keep_bits} bits: {m[2].replace(',', ', ')}",
        quantizes=tuple(c for c in base.quantizes if c not in cats), keep_layers=tuple(sorted(layers))))


@lru_cache(maxsize=512)
def _get_quant(name: str) -> QuantFormat:
    from .gguf import gguf_format

    key = name.strip().lower()
    if m := _KEEP.match(key):
        return _with_kept(key, m)
    if fmt := _fixed_formats().get(key):
        return fmt
    if fmt := _parametric(key):
        return fmt
    if fmt := gguf_format(key):
        return fmt
    raise UnknownQuantError(f"unknown quant {name!r}"
                            + (did_you_mean(key, quant_names()) or "; `planner quants` lists them"))
