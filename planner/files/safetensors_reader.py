"""safetensors headers: tensor names, dtypes, shapes and exact byte spans, never the data.

Format (https://github.com/huggingface/safetensors): uint64 little-endian header length N, N bytes of JSON
{name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {...}}, then the data. A sharded
checkpoint has model.safetensors.index.json with a weight_map of tensor name → shard file.
Every header is checked as the safetensors library checks it (Metadata::validate, read_metadata): length within
the file and ≤ 100 MB, byte span = elements × dtype size, and the spans, sorted, tiling the data exactly — no
overlap, no gap, nothing after the last tensor. JSON is strict: no NaN/Infinity, no duplicate keys, no nesting
deeper than Python's recursion allows. Shards must form complete sets and agree with their index.
"""

from __future__ import annotations

import json
import re
import struct
from dataclasses import dataclass
from pathlib import Path

from .gguf_reader import FileFormatError, is_file, listing, shown

MAX_HEADER = 100_000_000  # the format's own limit; also bounds an index file
INDEX = "model.safetensors.index.json"
# transformers / huggingface_hub name shards "{prefix}-{i:05d}-of-{n:05d}.safetensors", i counting from 1
_SHARD = re.compile(r"^(.*)-(\d{5})-of-(\d{5})\.safetensors$")
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


def _reject_constant(name: str):
    raise ValueError(f"{name} is not JSON")  # json.loads accepts NaN/Infinity; the format (serde_json) does not


def _object(pairs: list) -> dict:
    """A JSON object that refuses duplicate keys: Python keeps the last silently, hiding an entry."""
    out = dict(pairs)
    if len(out) != len(pairs):
        seen = set()
        for key, _ in pairs:
            if key in seen:
                raise ValueError(f"duplicate key {shown(key)}")
            seen.add(key)
    return out


def parse_json(raw: bytes, where: str):
    """Strict JSON from UTF-8 bytes; FileFormatError naming `where` for anything else.

    Caveat: nesting is bounded by catching RecursionError from the C scanner, not by a depth count."""
    try:
        return json.loads(raw.decode("utf-8"), parse_constant=_reject_constant, object_pairs_hook=_object)
    except RecursionError:
        raise FileFormatError(f"{where} is not valid JSON (nested too deeply)") from None
    except ValueError as e:  # also UnicodeDecodeError, and ints beyond Python's digit limit
        raise FileFormatError(f"{where} is not valid JSON ({str(e)[:200]})") from None


def header_length(head: bytes, size: int, where) -> int:
    """The header length N of a file of `size` bytes whose first 8 bytes are `head`, checked before the header
    is read: N ≤ MAX_HEADER and 8 + N within the file."""
    if len(head) < 8:
        raise FileFormatError(f"{where}: {size} bytes is too short for a safetensors header")
    (n,) = struct.unpack("<Q", head[:8])
    if n > MAX_HEADER or 8 + n > size:
        raise FileFormatError(f"{where}: header length {n} does not fit the file ({size} bytes) or exceeds "
                              f"{MAX_HEADER}")
    return n


def _read_head(p: Path) -> tuple[int, int, bytes]:
    """(file size, header length, header bytes) of a .safetensors file; reads nothing past the header."""
    try:
        if not is_file(p):
            raise FileFormatError(f"{p}: no such file" if not p.exists() else f"{p}: not a regular file")
        with open(p, "rb") as f:
            size = p.stat().st_size
            n = header_length(f.read(8), size, p)
            raw = f.read(n)
    except OSError as e:  # permission, a directory, a name too long, a file that vanished
        raise FileFormatError(f"{p}: cannot read ({e.strerror or type(e).__name__})") from None
    if len(raw) < n:
        raise FileFormatError(f"{p}: truncated while reading the {n}-byte header")
    return size, n, raw


def read_safetensors_header(path: str | Path) -> tuple[SafetensorsTensor, ...]:
    """Tensor entries of one .safetensors file, checked against the file's size."""
    p = Path(path)
    size, n, raw = _read_head(p)
    return parse_header(raw, p, data_start=8 + n, data_size=size - 8 - n)


def _elements(shape, p, name: str) -> int:
    """Element count of a shape: a list of non-negative ints whose product fits 64 bits (like the library's
    checked_mul), so a hostile shape cannot make Python multiply huge integers."""
    if not isinstance(shape, list):
        raise FileFormatError(f"{p}: tensor {shown(name)}: bad shape {shown(shape)}")
    count = 1
    for d in shape:
        if not isinstance(d, int) or isinstance(d, bool) or d < 0:
            raise FileFormatError(f"{p}: tensor {shown(name)}: bad shape {shown(shape)}")
        count *= d
        if count >= 2**64:
            raise FileFormatError(f"{p}: tensor {shown(name)}: shape {shown(shape)} overflows 64 bits")
    return count


def _entry(name: str, entry, p, data_size: int, file: str) -> tuple[int, int, SafetensorsTensor]:
    """(begin, end, tensor) of one header entry, checked on its own."""
    if not isinstance(entry, dict):
        raise FileFormatError(f"{p}: tensor {shown(name)}: entry must be an object")
    dtype, shape, offsets = entry.get("dtype"), entry.get("shape"), entry.get("data_offsets")
    if not isinstance(dtype, str) or dtype not in DTYPE_BYTES:
        raise FileFormatError(f"{p}: tensor {shown(name)}: unknown dtype {shown(dtype)}")
    elements = _elements(shape, p, name)
    if not (isinstance(offsets, list) and len(offsets) == 2
            and all(isinstance(o, int) and not isinstance(o, bool) for o in offsets)
            and 0 <= offsets[0] <= offsets[1] <= data_size):
        raise FileFormatError(f"{p}: tensor {shown(name)}: data_offsets {shown(offsets)} outside the "
                              f"{data_size} data bytes")
    begin, end = offsets
    if end - begin != elements * DTYPE_BYTES[dtype]:
        raise FileFormatError(f"{p}: tensor {shown(name)}: {end - begin} bytes for shape {shape} of {dtype}")
    return begin, end, SafetensorsTensor(name, dtype, tuple(shape), end - begin, file)


def _file_name(p) -> str:
    """The file name of a local Path or of a remote name such as hf://org/name/model.safetensors."""
    return p.name if isinstance(p, Path) else str(p).rsplit("/", 1)[-1]


def parse_header(raw: bytes, p: Path | str, *, data_start: int, data_size: int) -> tuple[SafetensorsTensor, ...]:
    """Tensor entries of the JSON header `raw` of file `p` (a path, or a name for messages), whose data is
    `data_size` bytes from byte `data_start`: each entry checked, then the spans checked to tile the data exactly."""
    header = parse_json(raw, f"{p}: header")
    if not isinstance(header, dict):
        raise FileFormatError(f"{p}: header must be a JSON object, got {type(header).__name__}")
    meta = header.get("__metadata__")
    if meta is not None and not (isinstance(meta, dict) and all(isinstance(v, str) for v in meta.values())):
        # the library reads it as HashMap<String, String> and refuses the file otherwise
        raise FileFormatError(f"{p}: __metadata__ must be an object of strings")
    file = _file_name(p)
    entries = [_entry(name, entry, p, data_size, file) for name, entry in header.items() if name != "__metadata__"]
    # The library sorts by data_offsets and requires each to start where the previous ended and the last to end
    # at the end of the file (InvalidOffset, MetadataIncompleteBuffer): it loads nothing else.
    pos, previous = 0, None
    for begin, end, t in sorted(entries, key=lambda e: (e[0], e[1])):
        if begin < pos:
            raise FileFormatError(f"{p}: tensors {shown(previous)} and {shown(t.name)} overlap at byte "
                                  f"{data_start + begin}")
        if begin > pos:
            raise FileFormatError(f"{p}: bytes {data_start + pos}–{data_start + begin} belong to no tensor "
                                  f"(before {shown(t.name)}); safetensors requires the tensors to tile the data")
        pos, previous = end, t.name
    if pos != data_size:
        raise FileFormatError(f"{p}: {data_size - pos} bytes after the last tensor (from byte {data_start + pos}); "
                              "safetensors requires the tensors to tile the data")
    return tuple(t for _, _, t in entries)


def _is_dir(p: Path) -> bool:
    try:
        return p.is_dir()
    except OSError as e:  # a name too long, a parent without permission
        raise FileFormatError(f"{p}: cannot access ({e.strerror or type(e).__name__})") from None


def _check_shard_sets(where: str, names: list[str]) -> None:
    """Files named {prefix}-0000i-of-0000N.safetensors come in complete sets: i in 1..N, every i there."""
    sets: dict[tuple[str, int], set[int]] = {}
    for name in names:
        if m := _SHARD.match(name):
            i, n = int(m.group(2)), int(m.group(3))
            if not 1 <= i <= n:
                raise FileFormatError(f"{where}: shard {shown(name)} says part {i} of {n}; parts count from 1 "
                                      "to a total of at least 1")
            sets.setdefault((m.group(1), n), set()).add(i)
    for (prefix, n), present in sorted(sets.items()):
        if len(present) < n:
            missing = [f"{prefix}-{i:05d}-of-{n:05d}.safetensors" for i in range(1, n + 1) if i not in present]
            raise FileFormatError(f"{where}: shard set is missing {listing(missing)}")


def _read_index(p: Path) -> tuple[dict[str, str], int | float | None]:
    """(weight_map, metadata.total_size or None) of an index file; weight_map's values are plain file names."""
    try:
        if not is_file(p):  # a FIFO would block the read below
            raise FileFormatError(f"{p}: no such file" if not p.exists() else f"{p}: not a regular file")
        if p.stat().st_size > MAX_HEADER:
            raise FileFormatError(f"{p}: {p.stat().st_size} bytes is too large for a safetensors index")
        raw = p.read_bytes()
    except OSError as e:
        raise FileFormatError(f"{p}: cannot read ({e.strerror or type(e).__name__})") from None
    return parse_index(raw, p)


def parse_index(raw: bytes, p: Path | str) -> tuple[dict[str, str], int | float | None]:
    """(weight_map, metadata.total_size or None) of the index file bytes `raw`; `p` names it in messages."""
    index = parse_json(raw, str(p))
    weight_map = index.get("weight_map") if isinstance(index, dict) else None
    if not isinstance(weight_map, dict) or not weight_map:
        raise FileFormatError(f"{p}: not a safetensors index: weight_map is missing or empty")
    if not all(isinstance(s, str) and "/" not in s and "\\" not in s and s.endswith(".safetensors")
               for s in weight_map.values()):
        raise FileFormatError(f"{p}: weight_map names files outside the folder or not .safetensors")
    meta = index.get("metadata")
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        raise FileFormatError(f"{p}: metadata must be an object")
    total = meta.get("total_size")
    if total is not None and (isinstance(total, bool) or not isinstance(total, (int, float))):
        raise FileFormatError(f"{p}: metadata.total_size {shown(total)} is not a number")
    return weight_map, total


def index_shard_names(p: Path | str, weight_map: dict) -> list[str]:
    """The shard file names an index's weight_map names, sorted, checked to form complete sets."""
    shards = sorted(set(weight_map.values()))
    _check_shard_sets(f"{p}: weight_map", shards)
    return shards


def _index_shards(p: Path, weight_map: dict) -> list[Path]:
    """The shard files an index names, all present in its folder and forming complete sets."""
    shards = sorted(set(weight_map.values()))
    missing = [shown(s) for s in shards if not is_file(p.parent / s)]
    if missing:
        raise FileFormatError(f"{p}: weight_map names shards that are not there: {listing(missing)}")
    return [p.parent / s for s in index_shard_names(p, weight_map)]


def _locate(path: str | Path) -> tuple[list[Path], tuple | None]:
    """(the .safetensors files a path means, (index path, weight_map, total_size) if an index lists them)."""
    p = Path(path)
    if p.name.endswith(".index.json"):
        weight_map, total = _read_index(p)
        return _index_shards(p, weight_map), (p, weight_map, total)
    if _is_dir(p):
        if is_file(p / INDEX):
            return _locate(p / INDEX)
        files = sorted(p.glob("*.safetensors"))
        if not files:
            raise FileFormatError(f"{p}: no .safetensors files")
        _check_shard_sets(str(p), [f.name for f in files])
        return files, None
    return [p], None


def safetensors_files(path: str | Path) -> list[Path]:
    """The .safetensors files a path means: the file itself, the shards of an index, or those of a folder.

    Caveat: a single file is taken as given, even if its name says it is one shard of several."""
    return _locate(path)[0]


def _check_index(index, weight_map: dict, total, tensors: tuple[SafetensorsTensor, ...]) -> None:
    """The index and the shards' headers agree: each tensor where weight_map says, none unlisted.

    metadata.total_size is not compared: transformers writes the sum of the tensors' storage bytes, but other
    writers do not (DeepSeek-V3's index gives an odd total while every one of its tensors has an even byte size),
    and once every listed tensor is found in its shard the headers give the exact bytes anyway."""
    where = {t.name: t.file for t in tensors}
    for name, shard in weight_map.items():
        if where.get(name) != shard:
            found = f" (it is in {where[name]})" if name in where else ""
            raise FileFormatError(f"{index}: weight_map puts tensor {shown(name)} in {shown(shard)}, whose header "
                                  f"has no such tensor{found}")
    unlisted = [shown(name) for name in where if name not in weight_map]
    if unlisted:
        raise FileFormatError(f"{index}: {len(unlisted)} tensor(s) in the shards are not in weight_map: "
                              f"{listing(unlisted, 5)}")


def read_safetensors(path: str | Path) -> tuple[SafetensorsTensor, ...]:
    """All tensor entries of a file, a sharded index or a folder; a name in two shards, or an index that
    disagrees with its shards, is a FileFormatError."""
    files, index = _locate(path)
    return combine_shards([read_safetensors_header(f) for f in files], Path(path), index)


def combine_shards(headers, where, index: tuple | None = None) -> tuple[SafetensorsTensor, ...]:
    """The tensors of several files' headers as one checkpoint: a name in two files, or an index
    ((index name, weight_map, total_size)) that disagrees with them, is a FileFormatError naming `where`."""
    tensors = tuple(t for header in headers for t in header)
    seen: dict[str, str] = {}
    for t in tensors:
        if t.name in seen:
            raise FileFormatError(f"{where}: tensor {shown(t.name)} is in both {seen[t.name]} and {t.file}")
        seen[t.name] = t.file
    if index is not None:
        _check_index(*index, tensors)
    return tensors


def bytes_per_dtype(tensors) -> dict[str, int]:
    out: dict[str, int] = {}
    for t in tensors:
        out[t.dtype] = out.get(t.dtype, 0) + t.nbytes
    return out
