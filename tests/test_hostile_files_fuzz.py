"""Structure-aware fuzzing of the model-file readers: the two tests build files from their structure (counts,
metadata of every GGUF value type, tensor infos, safetensors header dicts), damage them at random and check that
the readers either refuse them with a one-line FileFormatError or return tensors that provably lie inside the
file without overlap.
"""

import json
import struct
from math import prod

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from planner.files.gguf_reader import FileFormatError, read_gguf_header
from planner.files.model_files import _tensor_bytes
from planner.files.safetensors_reader import DTYPE_BYTES, read_safetensors_header
from planner.quant.gguf import ggml_types

from .gguf_bytes import ARRAY, SCALAR, STRING, g_str, g_tensor, gguf_blob, kv

GGML = {t.id: t for t in ggml_types().values()}


def nbytes(shape, typ) -> int:
    return prod(shape[1:]) * (shape[0] // typ.block) * typ.bytes


FUZZ = settings(max_examples=2000, deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.data_too_large])
VALID_TYPES = sorted(GGML)
INT_RANGE = {0: (0, 255), 1: (-128, 127), 2: (0, 2**16 - 1), 3: (-2**15, 2**15 - 1), 4: (0, 2**32 - 1),
             5: (-2**31, 2**31 - 1), 10: (0, 2**64 - 1), 11: (-2**63, 2**63 - 1)}
NAMES = st.sampled_from(["a", "b", "token_embd.weight", "blk.0.attn_q.weight"]) | st.text(max_size=6)


def scalar(vtype: int):
    if vtype in INT_RANGE:
        return st.integers(*INT_RANGE[vtype])
    if vtype == 7:
        return st.booleans()
    return st.floats(width=32 if vtype == 6 else 64, allow_nan=True)


KEYS = st.sampled_from(["general.alignment", "general.name", "split.count", "llama.block_count"]) | NAMES


def metadata_entry(draw, key: str, sound: bool) -> bytes:
    """One encoded key/value: every GGUF value type, arrays of scalars and strings, invalid types when unsound."""
    vtype = draw(st.sampled_from([*SCALAR, STRING, ARRAY] + ([] if sound else [13, 255, 2**32 - 1])))
    if vtype in SCALAR:
        return kv(key, vtype, draw(scalar(vtype)))
    if vtype == STRING:
        raw = draw(st.text(max_size=12).map(str.encode) | (st.binary(max_size=8) if not sound else st.nothing()))
        return g_str(key) + struct.pack("<I", STRING) + g_str(raw)
    if vtype == ARRAY:
        item = draw(st.sampled_from([*SCALAR, STRING] + ([] if sound else [ARRAY, 13])))
        n = draw(st.integers(0, 70))  # across KEEP_ARRAY (64): kept below, counted above
        if item in SCALAR:
            items = draw(st.lists(scalar(item), min_size=n, max_size=n))
            body = struct.pack("<IQ", item, n) + b"".join(struct.pack(SCALAR[item], v) for v in items)
        elif item == STRING:
            items = draw(st.lists(st.text(max_size=3), max_size=8))
            body = struct.pack("<IQ", item, len(items)) + b"".join(g_str(s) for s in items)
        else:
            body = struct.pack("<IQ", item, n)
        return g_str(key) + struct.pack("<I", ARRAY) + body
    return g_str(key) + struct.pack("<I", vtype) + bytes(draw(st.integers(0, 8)))


@st.composite
def gguf_file(draw) -> bytes:
    """A GGUF built from its parts: sound ones (2 in 3) parse, unsound ones carry random faults in counts,
    version, value types, dims, ggml types, names and offsets; a quarter of all are truncated at random."""
    sound = draw(st.integers(0, 2)) > 0
    alignment = draw(st.sampled_from([1, 8, 32, 64])) if sound else 32
    keys = [k for k in draw(st.lists(KEYS, max_size=4, unique=sound)) if not (sound and k == "general.alignment")]
    kvs = [metadata_entry(draw, k, sound) for k in keys]
    if sound and (alignment != 32 or draw(st.booleans())):
        kvs.insert(draw(st.integers(0, len(kvs))), kv("general.alignment", 4, alignment))
    n_tensors = draw(st.integers(0, 5))
    infos, end = [], 0
    for name in draw(st.lists(NAMES, min_size=n_tensors, max_size=n_tensors, unique=sound)):
        typ = GGML[draw(st.sampled_from(VALID_TYPES))] if sound else None
        type_id = typ.id if typ else draw(st.sampled_from(VALID_TYPES) | st.integers(0, 2**32 - 1))
        typ = typ or GGML.get(type_id)
        n_dims = draw(st.integers(1, 3) if sound else st.sampled_from([0, 1, 2, 3, 4, 9]))
        dims = [draw(st.integers(1, 4)) * (typ.block if typ and i == 0 and sound else 1) for i in range(n_dims)]
        if not sound and dims and draw(st.booleans()):
            dims[draw(st.integers(0, n_dims - 1))] = draw(st.sampled_from([0, 33, 256, 2**40, 2**64 - 1]))
        size = nbytes(dims, typ) if typ and dims and dims[0] % typ.block == 0 else 0
        offset = end
        if not sound:
            offset = draw(st.sampled_from([end, end, 0, end + 8, max(0, end - 32)]) | st.integers(0, 2**64 - 1))
        offset = min(offset, 2**64 - 1)
        infos.append(g_tensor(name, dims, type_id, offset))
        end = offset + -(-size // alignment) * alignment
    data = end if sound else max(0, end + draw(st.integers(-64, 64)))
    blob = gguf_blob(kvs, infos, data=min(data, 1 << 16), alignment=alignment,
                     version=draw(st.sampled_from([2, 3])) if sound else draw(st.sampled_from([1, 2, 3, 4, 3 << 24])),
                     n_kv=None if sound else len(kvs) + draw(st.sampled_from([0, 0, 1, -1 if kvs else 0, 2**40])),
                     n_tensors=None if sound else n_tensors + draw(st.sampled_from([0, 0, 1, -1 if infos else 0])))
    if draw(st.integers(0, 3)) == 0:
        blob = blob[:draw(st.integers(0, len(blob)))]
    return blob


@FUZZ
@given(blob=gguf_file())
def test_fuzzed_gguf_is_read_soundly_or_refused(tmp_path, blob):
    p = tmp_path / "f.gguf"
    p.write_bytes(blob)
    try:
        h = read_gguf_header(p)
    except FileFormatError as e:
        assert "\n" not in str(e) and str(e).startswith(str(p))
        return
    alignment = h.metadata.get("general.alignment", 32)
    assert h.data_offset % alignment == 0 and len({t.name for t in h.tensors}) == len(h.tensors)
    spans = []
    for t in h.tensors:  # sizes from the test's own arithmetic, not the reader's
        typ = GGML.get(t.ggml_type)
        assert typ is not None and t.shape[0] % typ.block == 0
        size = nbytes(t.shape, typ)
        assert t.offset % alignment == 0 and h.data_offset + t.offset + size <= len(blob)
        spans.append((t.offset, t.offset + size))
    spans.sort()
    assert all(b0 >= a1 for (_, a1), (b0, _) in zip(spans, spans[1:], strict=False))
    assert [t.nbytes for t in _tensor_bytes(h)] == [nbytes(t.shape, GGML[t.ggml_type]) for t in h.tensors]


@st.composite
def safetensors_file(draw) -> bytes:
    """A safetensors file from a header dict: sound ones (2 in 3) tile the data; unsound ones have random fields,
    entries, names, header lengths and data sizes; a quarter of all are truncated at random."""
    sound = draw(st.integers(0, 2)) > 0
    header, pos = {}, 0
    if draw(st.booleans()):
        header["__metadata__"] = draw(st.dictionaries(st.text(max_size=4), st.text(max_size=4), max_size=2)
                                      if sound else st.none() | st.integers() | st.dictionaries(
                                          st.text(max_size=2), st.integers() | st.text(max_size=2), max_size=2))
    junk = st.none() | st.booleans() | st.integers(-3, 2**70) | st.floats() | st.text(max_size=3)
    for name in draw(st.lists(NAMES, max_size=5, unique=sound)):
        dtype = draw(st.sampled_from(sorted(DTYPE_BYTES)))
        shape = draw(st.lists(st.integers(0, 6), max_size=3))
        size = prod(shape) * DTYPE_BYTES[dtype]
        entry = {"dtype": dtype, "shape": shape, "data_offsets": [pos, pos + size]}
        if not sound:
            for field in draw(st.lists(st.sampled_from(["dtype", "shape", "data_offsets"]), max_size=2)):
                entry[field] = draw(junk | st.lists(junk, max_size=3))
            if draw(st.integers(0, 9)) == 0:
                entry = draw(junk)
        header[name] = entry  # unsound: a repeated name replaces an entry and leaves a gap
        pos += size
    raw = json.dumps(header).encode()  # an unsound float may come out as NaN or Infinity
    data = pos if sound else max(0, pos + draw(st.integers(-8, 8)))
    n = len(raw) if sound else draw(st.sampled_from([len(raw), len(raw), len(raw) - 1, len(raw) + 1, 2**64 - 1]))
    blob = struct.pack("<Q", max(0, n)) + raw + bytes(data)
    if draw(st.integers(0, 3)) == 0:
        blob = blob[:draw(st.integers(0, len(blob)))]
    return blob


@FUZZ
@given(blob=safetensors_file())
def test_fuzzed_safetensors_is_read_soundly_or_refused(tmp_path, blob):
    p = tmp_path / "f.safetensors"
    p.write_bytes(blob)
    try:
        tensors = read_safetensors_header(p)
    except FileFormatError as e:
        assert "\n" not in str(e) and str(e).startswith(str(p))
        return
    (n,) = struct.unpack("<Q", blob[:8])
    header, data_size = json.loads(blob[8:8 + n]), len(blob) - 8 - n
    assert len({t.name for t in tensors}) == len(tensors) == len(header) - ("__metadata__" in header)
    spans = sorted(tuple(header[t.name]["data_offsets"]) for t in tensors) or [(0, 0)]
    for t in tensors:
        begin, end = header[t.name]["data_offsets"]
        assert end - begin == t.nbytes == prod(t.shape) * DTYPE_BYTES[t.dtype]
    # the spans tile the data: each starts where the previous ended, the last at the end of the file
    assert [b for b, _ in spans] == [0] + [e for _, e in spans[:-1]] and spans[-1][1] == data_size
