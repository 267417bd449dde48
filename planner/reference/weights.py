"""Weights stored as their format stores them, dequantized on the fly.

Float formats hold a tensor of the format's dtype. int8 (per-channel), int4 (two per byte, group scales and
zeros) and fp8 (with its scale) hold their real packed tensors and decode them exactly. Every other format
(GGUF blocks, GPTQ, AWQ, bitsandbytes, MXFP4, EXL2) holds one uint8 buffer of exactly the format's bytes and
decodes it with a stand-in of the same shape and memory traffic, not the format's numerics: the reference
model measures memory, and the bytes are what matter there.
Quantized matrices are multiplied DEQUANT_CHUNK_ROWS output rows at a time, so the dequantized copy alive at
once is bounded.
"""

from __future__ import annotations

import torch

from ..quant.catalog import get_quant
from ..tensors import WeightTensor

DEQUANT_CHUNK_ROWS = 1024

TORCH_DTYPES = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}


class Stored(torch.nn.Module):
    """One weight tensor in storage; `dense(rows)` gives rows of it in the compute dtype."""

    def __init__(self, shape: tuple[int, ...], nbytes: int, kind: str, act: torch.dtype, group: int = 0,
                 device=None):
        super().__init__()
        self.shape, self.kind, self.act, self.group = tuple(shape), kind, act, group
        *stack, rows, cols = shape if len(shape) > 1 else (1, shape[0])
        self.rows, self.cols = rows, cols
        kw = dict(device=device)
        if kind in TORCH_DTYPES:
            self.data = torch.nn.Parameter(torch.empty(shape, dtype=TORCH_DTYPES[kind], **kw), requires_grad=False)
        elif kind == "int8":
            self.register_buffer("q", torch.empty(shape, dtype=torch.int8, **kw))
            self.register_buffer("scale", torch.empty((*stack, rows), dtype=torch.bfloat16, **kw))
        elif kind == "int4":
            self.register_buffer("q", torch.empty((*stack, rows, cols // 2), dtype=torch.uint8, **kw))
            self.register_buffer("scale", torch.empty((*stack, rows, cols // group), dtype=torch.bfloat16, **kw))
            self.register_buffer("zero", torch.empty((*stack, rows, cols // group), dtype=torch.bfloat16, **kw))
        elif kind == "fp8":
            self.register_buffer("q", torch.empty(shape, dtype=torch.float8_e4m3fn, **kw))
            self.register_buffer("scale", torch.empty((), dtype=torch.float32, **kw))
        else:
            self.register_buffer("raw", torch.empty(nbytes, dtype=torch.uint8, **kw))

    def nbytes(self) -> int:
        return sum(t.numel() * t.element_size() for t in [*self.parameters(), *self.buffers()])

    def dense(self, r0: int = 0, r1: int | None = None, index: int | None = None) -> torch.Tensor:
        """Rows r0:r1 (of matrix `index` of a stack) in the compute dtype."""
        r1 = self.rows if r1 is None else r1
        sel = (index,) if index is not None else ()
        if len(self.shape) == 1:  # a vector: norms, biases, sinks
            if self.kind in TORCH_DTYPES:
                return self.data if self.data.dtype == self.act else self.data.to(self.act)
            return self.raw.to(self.act)[: self.cols]
        if self.kind in TORCH_DTYPES:
            return self.data[sel][..., r0:r1, :].to(self.act) if self.data.dtype != self.act \
                else self.data[sel][..., r0:r1, :]
        # one allocation of the dequantized rows, then in-place arithmetic
        if self.kind == "int8":
            return self.q[sel][..., r0:r1, :].to(self.act).mul_(self.scale[sel][..., r0:r1, None])
        if self.kind == "int4":
            packed = self.q[sel][..., r0:r1, :]
            q = torch.stack((packed & 15, packed >> 4), dim=-1).reshape(*packed.shape[:-1], self.cols).to(self.act)
            g = q.view(*q.shape[:-1], self.cols // self.group, self.group)
            g.sub_(self.zero[sel][..., r0:r1, :, None]).mul_(self.scale[sel][..., r0:r1, :, None])
            return q
        if self.kind == "fp8":
            return self.q[sel][..., r0:r1, :].to(self.act).mul_(self.scale)
        # stand-in decode: these rows' bytes written as values into the dequantized rows (a real decoder's
        # shape and single output allocation, not its numerics)
        per_row = max(1, self.per_matrix_bytes // self.rows)
        base = ((index or 0) * self.rows + r0) * per_row
        out = torch.empty((r1 - r0, self.cols), dtype=self.act, device=self.raw.device)
        n = min(out.numel(), (r1 - r0) * per_row)
        out.view(-1)[:n].copy_(self.raw[base:base + n])
        return out

    @property
    def per_matrix_bytes(self) -> int:
        n = 1
        for d in self.shape[:-2]:
            n *= d
        return self.raw.numel() // n


def storage_kind(t: WeightTensor, quant: str, gguf_type: str | None = None) -> tuple[str, int]:
    """How a tensor is stored: a torch dtype name, int8, int4 (with its group), fp8, or packed bytes."""
    from ..weights import tensor_category

    fmt = get_quant(quant)
    cat = tensor_category(t)
    if fmt.is_gguf:
        if gguf_type in ("F32", "F16", "BF16"):
            return {"F32": "fp32", "F16": "fp16", "BF16": "bf16"}[gguf_type], 0
        return "packed", 0
    if cat not in fmt.quantizes or cat is None or fmt.layout is None:
        if cat in fmt.overrides:
            return "packed", 0
        if fmt.keep_bits == 32:
            return "fp32", 0
        return (fmt.name if fmt.name in ("fp16", "bf16") else "bf16"), 0
    lay = fmt.layout
    if fmt.name in ("fp32", "fp16", "bf16"):
        return fmt.name, 0
    if fmt.name == "int8":
        return "int8", 0
    if fmt.name.startswith("int4") and t.shape[-1] % lay.group_size == 0 and t.shape[-1] % 2 == 0:
        return "int4", lay.group_size
    if fmt.name == "fp8":
        return "fp8", 0
    return "packed", 0
