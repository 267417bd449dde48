"""Storage layouts: how many bytes one tensor takes in a given format.

A layout is the format's storage written out: bits per element, how elements are grouped to
share a scale (and zero point), and any per-column or per-tensor side data. Everything derives
from these integers; there are no fudge factors.
"""

from __future__ import annotations

from math import ceil, prod
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

# Which tensors a format compresses. The rest keep the format's `keep_bits` (16: bf16/fp16).
Category = Literal["attn", "mlp", "experts", "shared_experts", "router", "embedding", "output", "vision"]


class Layout(BaseModel):
    """Bits per stored element plus the side data its grouping needs."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    bits: float = Field(gt=0, le=32, description="bits per element (EXL2: average bits incl. overhead)")
    group: Literal["none", "row", "flat", "block2d", "tensor"] = Field(
        "none", description="none: no scales; row: groups of group_size along each row (group_size 0 = "
        "whole row); flat: blocks of group_size over the flattened tensor (bitsandbytes); "
        "block2d: group_size × group_size tiles (fp8 block); tensor: one scale per matrix")
    group_size: int = Field(0, ge=0)
    scale_bits: int = Field(0, ge=0, description="bits of each group's scale")
    zero_bits: int = Field(0, ge=0, description="bits of each group's zero point")
    scale_group_size: int = Field(0, ge=0, description="double quantization: scales grouped again by this many")
    scale2_bits: int = Field(0, ge=0, description="double quantization: bits of each second-level scale")
    col_bits: int = Field(0, ge=0, description="side data per input column of each matrix (GPTQ g_idx: 32)")
    matrix_bits: int = Field(0, ge=0, description="side data per matrix (per-tensor scales, code books)")


def _groups(layout: Layout, rows: int, cols: int, numel: int) -> int:
    g = layout.group
    if g == "none":
        return 0
    if g == "tensor":
        return 1
    if g == "flat":
        return ceil(numel / layout.group_size)
    if g == "block2d":
        return ceil(rows / layout.group_size) * ceil(cols / layout.group_size)
    per_row = 1 if layout.group_size == 0 else ceil(cols / layout.group_size)
    return rows * per_row


def layout_bytes(layout: Layout, shape: tuple[int, ...]) -> int:
    """Bytes of a tensor of `shape` (last dim = row) stored in `layout`; stacked experts count per matrix."""
    numel = prod(shape)
    if len(shape) == 1:  # a vector is one row
        shape = (1, shape[0])
    *stack, rows, cols = shape
    n_matrices = prod(stack)
    groups = _groups(layout, rows, cols, rows * cols)
    bits = numel * layout.bits + n_matrices * groups * (layout.scale_bits + layout.zero_bits)
    if layout.scale_group_size:
        bits += n_matrices * ceil(groups / layout.scale_group_size) * layout.scale2_bits
    bits += n_matrices * (cols * layout.col_bits + layout.matrix_bits)
    return ceil(bits / 8)
