"""safetensors headers: tensor names, dtypes, shapes and exact byte spans, never the data.

Format (https://github.com/huggingface/safetensors): uint64 little-endian header length N, N bytes of JSON
{name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {...}}, then the data. A sharded
checkpoint has model.safetensors.index.json with a weight_map of tensor name → shard file.
Every header is checked: length within the file and ≤ 100 MB (the format's own limit), offsets inside the data,
byte span = elements × dtype size, no overlaps.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from math import prod
from pathlib import Path

from .gguf_reader import FileFormatError

MAX_HEADER = 100_000_000
# Bytes per element of each safetensors dtype (F8/F4 types as stored; sub-byte types are packed into U8).
DTYPE_BYTES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "F8_E4M3": 1, "F8_E5M2": 1, "F8_E8M0": 1,
               "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U64": 8, "U32": 4, "U16": 2, "U8": 1, "BOOL": 1}


@dataclass(frozen=True)
class SafetensorsTensor:
    name: str
    dtype: str
    shape: tuple[int, ...]
    nbytes: int
    file: str


def read_safetensors_header(path: str | Path) -> tuple[SafetensorsTensor, ...]:
    """Tensor entries of one .safetensors file, checked against the file's size."""
    p = Path(path)
    if not p.is_file():
        raise FileFormatError(f"{p}: no such file")
    size = p.stat().st_size
    with open(p, "rb") as f:
        head = f.read(8)
        if len(head) < 8:
            raise FileFormatError(f"{p}: {size} bytes is too short for a safetensors header")
        (n,) = struct.unpack("<Q", head)
        if n > MAX_HEADER or 8 + n > size:
            raise FileFormatError(f"{p}: header length {n} does not fit the file ({size} bytes) or exceeds "
                                  f"{MAX_HEADER}")
        raw = f.read(n)
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise FileFormatError(f"{p}: header is not valid JSON ({e})") from None
    if not isinstance(header, dict):
        raise FileFormatError(f"{p}: header must be a JSON object, got {type(header).__name__}")
    data_size = size - 8 - n
    out, spans = [], []
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        if not isinstance(entry, dict):
            raise FileFormatError(f"{p}: tensor {name!r}: entry must be an object")
        dtype, shape, offsets = entry.get("dtype"), entry.get("shape"), entry.get("data_offsets")
        if dtype not in DTYPE_BYTES:
            raise FileFormatError(f"{p}: tensor {name!r}: unknown dtype {dtype!r}")
        if not (isinstance(shape, list) and all(isinstance(d, int) and 0 <= d < 2**40 for d in shape)):
            raise FileFormatError(f"{p}: tensor {name!r}: bad shape {shape!r}")
        if not (isinstance(offsets, list) and len(offsets) == 2 and all(isinstance(o, int) for o in offsets)
                and 0 <= offsets[0] <= offsets[1] <= data_size):
            raise FileFormatError(f"{p}: tensor {name!r}: data_offsets {offsets!r} outside the "
                                  f"{data_size} data bytes")
        nbytes = offsets[1] - offsets[0]
        if nbytes != prod(shape) * DTYPE_BYTES[dtype]:
            raise FileFormatError(f"{p}: tensor {name!r}: {nbytes} bytes for shape {shape} of {dtype}")
        spans.append((offsets[0], offsets[1], name))
        out.append(SafetensorsTensor(name, dtype, tuple(shape), nbytes, p.name))
    spans.sort()
    for (_, end, a), (begin, _, b) in zip(spans, spans[1:], strict=False):
        if begin < end:
            raise FileFormatError(f"{p}: tensors {a!r} and {b!r} overlap")
    return tuple(out)


def safetensors_files(path: str | Path) -> list[Path]:
    """The .safetensors files a path means: the file itself, the shards of an index, or those of a folder."""
    p = Path(path)
    if p.is_dir():
        index = p / "model.safetensors.index.json"
        if index.is_file():
            return safetensors_files(index)
        files = sorted(p.glob("*.safetensors"))
        if not files:
            raise FileFormatError(f"{p}: no .safetensors files")
        return files
    if p.name.endswith(".index.json"):
        try:
            index = json.loads(p.read_text(encoding="utf-8"))
            shards = sorted(set(index["weight_map"].values()))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError, AttributeError) as e:
            raise FileFormatError(f"{p}: not a safetensors index ({type(e).__name__}: {e})") from None
        if not all(isinstance(s, str) and "/" not in s and "\\" not in s and s.endswith(".safetensors")
                   for s in shards):
            raise FileFormatError(f"{p}: weight_map names files outside the folder or not .safetensors")
        return [p.parent / s for s in shards]
    return [p]


def read_safetensors(path: str | Path) -> tuple[SafetensorsTensor, ...]:
    """All tensor entries of a file, a sharded index or a folder."""
    return tuple(t for f in safetensors_files(path) for t in read_safetensors_header(f))


def bytes_per_dtype(tensors) -> dict[str, int]:
    out: dict[str, int] = {}
    for t in tensors:
        out[t.dtype] = out.get(t.dtype, 0) + t.nbytes
    return out
