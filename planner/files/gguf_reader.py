"""GGUF header reader: metadata and tensor infos, never the tensor data.

Format (https://github.com/ggml-org/ggml/blob/master/docs/gguf.md): "GGUF", uint32 version (2 or 3),
uint64 tensor count, uint64 metadata count, the metadata (key string, uint32 value type, value), then per
tensor: name, uint32 n_dims, uint64 dims (ne0 first), uint32 ggml type, uint64 offset. All little-endian.

Why not gguf.GGUFReader: it turns every metadata array into numpy views — 5.7 s for a 128k-token vocabulary
on this project's machine. This reader keeps scalars and strings, counts arrays without materializing them,
and checks every length against the file, so a truncated or hostile file fails in milliseconds with a
FileFormatError that says where. Beyond lengths it applies the rules of ggml's own loader (ggml/src/gguf.cpp,
gguf_init_from_reader): unique metadata keys and tensor names, a known ggml type whose block divides the row,
a power-of-two general.alignment of at most 1 MiB, and tensor data at offsets that are multiples of it. It also
refuses tensor data outside the file or overlapping other tensor data, so the bytes it reports are bytes the
file holds. (gguf.cpp now goes further and requires each offset to be exactly the padded end of the previous
tensor; that layout rule is not enforced here, so files written by older tools or forks still read.)
"""

from __future__ import annotations

import mmap
import struct
from dataclasses import dataclass
from functools import lru_cache
from math import prod
from pathlib import Path

from ..errors import PlannerError
from ..quant.gguf import ggml_types

MAX_STRING = 16 * 2**20          # a chat template is kilobytes; 16 MiB is generous
MAX_ARRAY = 2**26                # a tokenizer holds ~10^5–10^6 entries
MAX_ITEMS = 2**20                # metadata entries and tensors
MAX_DIMS = 8
KEEP_ARRAY = 64                  # arrays up to this many scalars are kept (e.g. layer_types); longer ones counted
MAX_ALIGNMENT = 2**20            # gguf.cpp's GGUF_MAX_ALIGNMENT: larger values only serve to inflate padding

_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}
_STRING, _ARRAY = 8, 9


class FileFormatError(PlannerError):
    """A model file is truncated, corrupt or not of the format it claims."""


def shown(name, limit: int = 80) -> str:
    """repr() of a name read from a file, cut to `limit` characters.

    Names in hostile files can be megabytes long or hold newlines; an error message stays one short line."""
    text = repr(name)
    return text if len(text) <= limit else text[:limit] + "…"


def listing(names, limit: int = 8) -> str:
    """Names joined with commas, the first `limit` of them and then the count."""
    names = list(names)
    head = ", ".join(names[:limit])
    return head if len(names) <= limit else f"{head}, … ({len(names)} in all)"


def is_file(path: Path) -> bool:
    """Path.is_file(), but a path the system refuses to look at (too long, no permission) is a FileFormatError."""
    try:
        return path.is_file()
    except OSError as e:
        raise FileFormatError(f"{path}: cannot access ({e.strerror or type(e).__name__})") from None


@dataclass(frozen=True)
class ArrayInfo:
    """A metadata array too long to keep: its item type and length."""

    item_type: int
    count: int


@dataclass(frozen=True)
class GGUFTensorInfo:
    name: str
    shape: tuple[int, ...]  # ggml order: ne0 (the row) first
    ggml_type: int
    offset: int             # from the start of the data section
    nbytes: int             # from the type's block size and bytes per block


@dataclass(frozen=True)
class GGUFHeader:
    path: str
    version: int
    metadata: dict
    tensors: tuple[GGUFTensorInfo, ...]
    data_offset: int
    file_size: int


class _Cursor:
    """Reads `buf` forward by slicing only (buf[a:b] → bytes, len(buf)): an mmap, bytes, or a remote file that
    fetches the ranges it is asked for (planner.files.hub), so only the header's bytes are ever asked for."""

    def __init__(self, buf, path: str):
        self.buf, self.pos, self.path, self.size = buf, 0, path, len(buf)

    def read(self, n: int) -> bytes:
        start = self.take(n)
        return bytes(self.buf[start:start + n])

    def fail(self, what: str):
        raise FileFormatError(f"{self.path}: {what} at byte {self.pos}")

    def take(self, n: int) -> int:
        if n < 0 or self.pos + n > self.size:
            self.fail(f"truncated: {n} more bytes needed, file has {self.size}")
        start = self.pos
        self.pos += n
        return start

    def scalar(self, fmt: str):
        return struct.unpack(fmt, self.read(struct.calcsize(fmt)))[0]

    def string(self) -> str:
        n = self.scalar("<Q")
        if n > MAX_STRING:
            self.fail(f"string of {n} bytes is longer than {MAX_STRING}")
        raw = self.read(n)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            self.fail("string is not UTF-8")

    def skip_string(self):
        n = self.scalar("<Q")
        if n > MAX_STRING:
            self.fail(f"string of {n} bytes is longer than {MAX_STRING}")
        self.take(n)

    def value(self, vtype: int, depth: int = 0):
        if vtype in _SCALARS:
            return self.scalar(_SCALARS[vtype])
        if vtype == _STRING:
            return self.string()
        if vtype == _ARRAY:
            if depth:
                self.fail("nested arrays are not supported")
            item, count = self.scalar("<I"), self.scalar("<Q")
            if count > MAX_ARRAY:
                self.fail(f"array of {count} items is longer than {MAX_ARRAY}")
            if item in _SCALARS:
                width = struct.calcsize(_SCALARS[item])
                if count <= KEEP_ARRAY:
                    return list(struct.unpack("<" + _SCALARS[item][1] * count, self.read(width * count)))
                self.take(width * count)
            elif item == _STRING:
                for _ in range(count):
                    self.skip_string()
            else:
                self.fail(f"array item type {item} is not a GGUF value type")
            return ArrayInfo(item, count)
        self.fail(f"value type {vtype} is not a GGUF value type")


def read_gguf_header(path: str | Path) -> GGUFHeader:
    """Metadata and tensor infos of a .gguf file; FileFormatError for anything that is not a sound GGUF."""
    p = Path(path)
    try:
        if not is_file(p):
            raise FileFormatError(f"{p}: no such file" if not p.exists() else f"{p}: not a regular file")
        with open(p, "rb") as f:
            size = p.stat().st_size
            if size < 24:
                raise FileFormatError(f"{p}: {size} bytes is too short for a GGUF header")
            with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as buf:
                return _parse(buf, str(p), size)
    except OSError as e:  # permission, a file that vanished or shrank between the calls above
        raise FileFormatError(f"{p}: cannot read ({e.strerror or type(e).__name__})") from None


@lru_cache(maxsize=1)
def _ggml_sizes() -> dict[int, tuple[str, int, int]]:
    """ggml type id → (name, elements per block, bytes per block), from the quant catalog's ggml_types.yaml."""
    return {t.id: (t.name, t.block, t.bytes) for t in ggml_types().values()}


def _parse(buf, path: str, size: int) -> GGUFHeader:
    """The header in `buf` (the whole file, `size` bytes: an mmap, bytes, or anything sliced like them), checked;
    `path` names it in errors."""
    c = _Cursor(buf, path)
    magic = bytes(buf[:4])
    if magic != b"GGUF":
        c.fail(f"not a GGUF file (magic {magic!r})")
    c.take(4)
    version = c.scalar("<I")
    if version not in (2, 3):
        c.fail(f"GGUF version {version} is not supported (2 or 3; big-endian files read as huge versions)")
    n_tensors, n_kv = c.scalar("<Q"), c.scalar("<Q")
    if n_tensors > MAX_ITEMS or n_kv > MAX_ITEMS:
        c.fail(f"{n_tensors} tensors / {n_kv} metadata entries exceed {MAX_ITEMS}")
    metadata = {}
    for _ in range(n_kv):
        key = c.string()
        if key in metadata:  # gguf.cpp: "duplicate key"
            c.fail(f"duplicate metadata key {shown(key)}")
        metadata[key] = c.value(c.scalar("<I"))
    alignment = _alignment(metadata, c)
    sizes, tensors, names = _ggml_sizes(), [], set()
    for _ in range(n_tensors):
        name = c.string()
        if name in names:  # gguf.cpp: "duplicate tensor name"; a second entry would count its bytes twice
            c.fail(f"duplicate tensor name {shown(name)}")
        names.add(name)
        tensors.append(_tensor_info(c, name, sizes))
    data_offset = -(-c.pos // alignment) * alignment
    _check_layout(tensors, path, data_offset, alignment, size)
    return GGUFHeader(path, version, metadata, tuple(tensors), data_offset, size)


def _alignment(metadata: dict, c: _Cursor) -> int:
    """general.alignment (default 32): a power of two up to MAX_ALIGNMENT, as gguf.cpp requires."""
    alignment = metadata.get("general.alignment", 32)
    if (not isinstance(alignment, int) or isinstance(alignment, bool) or alignment <= 0
            or alignment & (alignment - 1) or alignment > MAX_ALIGNMENT):
        c.fail(f"general.alignment {shown(alignment)} is not a power of two up to {MAX_ALIGNMENT}")
    return alignment


def _tensor_info(c: _Cursor, name: str, sizes: dict) -> GGUFTensorInfo:
    """One tensor info after its name: dims, ggml type, offset; its byte size from the type's blocks."""
    n_dims = c.scalar("<I")
    if not 1 <= n_dims <= MAX_DIMS:
        c.fail(f"tensor {shown(name)} has {n_dims} dimensions")
    shape = tuple(c.scalar("<Q") for _ in range(n_dims))
    if any(d == 0 for d in shape) or prod(shape) > 2**50:
        c.fail(f"tensor {shown(name)} has shape {shape}")
    ggml_type = c.scalar("<I")
    if ggml_type not in sizes:
        c.fail(f"tensor {shown(name)} has unknown ggml type {ggml_type}")
    type_name, block, block_bytes = sizes[ggml_type]
    if shape[0] % block:  # gguf.cpp: "not a multiple of block size"
        c.fail(f"tensor {shown(name)}: row of {shape[0]} is not a multiple of {type_name}'s block {block}")
    nbytes = prod(shape[1:]) * (shape[0] // block) * block_bytes
    return GGUFTensorInfo(name, shape, ggml_type, c.scalar("<Q"), nbytes)


def _check_layout(tensors: list[GGUFTensorInfo], path: str, data_offset: int, alignment: int, size: int) -> None:
    """Each tensor's data aligned (gguf.cpp), inside the file and apart from every other's; O(n log n)."""
    for t in tensors:
        start = data_offset + t.offset
        if t.offset % alignment:
            raise FileFormatError(f"{path}: tensor {shown(t.name)} at byte {start}: offset {t.offset} is not a "
                                  f"multiple of general.alignment {alignment}")
        if start + t.nbytes > size:
            raise FileFormatError(f"{path}: truncated: tensor data ends at byte {start + t.nbytes} "
                                  f"(tensor {shown(t.name)}), the file has {size}")
    ordered = sorted(tensors, key=lambda t: t.offset)
    for a, b in zip(ordered, ordered[1:], strict=False):
        if b.offset < a.offset + a.nbytes:  # summing both would count bytes the file holds once
            raise FileFormatError(f"{path}: tensors {shown(a.name)} and {shown(b.name)} overlap at byte "
                                  f"{data_offset + b.offset}")


def check_parts(headers: list[GGUFHeader], split: bool) -> None:
    """The headers of one model's files agree: split.* metadata matches the parts, no tensor name repeats.

    split: whether the files came from a name-0000i-of-0000N.gguf name. A lone file whose split.count says it
    is one of several parts is refused: llama.cpp finds the other parts only by that name (llama_split_prefix),
    and its bytes alone would pass for the whole model's."""
    n, total, seen = len(headers), sum(len(h.tensors) for h in headers), {}
    for k, h in enumerate(headers):
        count, no = h.metadata.get("split.count"), h.metadata.get("split.no")
        if not split and count not in (None, 1):
            raise FileFormatError(f"{h.path}: split.count {shown(count)} says this is one part of a split GGUF, "
                                  "but its name is not name-0000i-of-0000N.gguf, so the other parts are not found")
        if split and count is not None and count != n:
            raise FileFormatError(f"{h.path}: split.count is {shown(count)} but the file names say {n} parts")
        if split and no is not None and no != k:  # split.no counts from 0
            raise FileFormatError(f"{h.path}: split.no is {shown(no)} but the file name says part {k + 1} "
                                  f"(split.no {k})")
        expected = h.metadata.get("split.tensors.count")
        if expected is not None and expected != total:  # llama.cpp: "corrupted model: … tensors expected"
            raise FileFormatError(f"{h.path}: split.tensors.count is {shown(expected)} but the parts hold {total} "
                                  "tensors")
        for t in h.tensors:
            if t.name in seen:
                raise FileFormatError(f"{h.path}: tensor {shown(t.name)} is also in {seen[t.name]}")
            seen[t.name] = h.path
