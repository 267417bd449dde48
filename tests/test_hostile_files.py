"""Model files are checked, not trusted: incomplete shard sets, inconsistent indexes, overlapping or misaligned
GGUF tensors, bad split names, hostile JSON and unreadable paths all fail with a one-line FileFormatError.

The two fuzz tests build files from their structure (counts, metadata of every GGUF value type, tensor infos,
safetensors header dicts), damage them at random and check that the readers either refuse them with a
FileFormatError or return tensors that provably lie inside the file without overlap.
"""

import json
import os
import struct
from math import prod
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from planner import checkpoint_summary, load_model
from planner.cli import main
from planner.files.gguf_reader import MAX_ALIGNMENT, FileFormatError, _parse, read_gguf_header
from planner.files.model_files import _tensor_bytes
from planner.files.safetensors_reader import DTYPE_BYTES, read_safetensors, read_safetensors_header
from planner.quant.gguf import ggml_types

from .fixtures.files.make_seeds import write_gguf, write_safetensors

FILES = Path(__file__).parent / "fixtures" / "files"
GGML = {t.id: t for t in ggml_types().values()}


# ---------------------------------------------------------------- GGUF bytes by hand (hostile layouts included)

SCALAR = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}
STRING, ARRAY = 8, 9


def g_str(s: str | bytes) -> bytes:
    raw = s.encode() if isinstance(s, str) else s
    return struct.pack("<Q", len(raw)) + raw


def g_value(vtype: int, value) -> bytes:
    """A GGUF value of `vtype`; an array is (item type, items)."""
    if vtype in SCALAR:
        return struct.pack(SCALAR[vtype], value)
    if vtype == STRING:
        return g_str(value)
    item, items = value
    return struct.pack("<IQ", item, len(items)) + b"".join(g_value(item, v) for v in items)


def g_tensor(name: str | bytes, shape, ggml_type: int, offset: int) -> bytes:
    return g_str(name) + struct.pack(f"<I{len(shape)}Q", len(shape), *shape) + struct.pack("<IQ", ggml_type, offset)


def gguf_blob(kv: list[bytes], tensors: list[bytes], *, data: int, alignment: int = 32, version: int = 3,
              n_kv: int | None = None, n_tensors: int | None = None) -> bytes:
    """Header with the given encoded metadata entries and tensor infos, padded to `alignment`, then `data` bytes."""
    head = b"GGUF" + struct.pack("<IQQ", version, len(tensors) if n_tensors is None else n_tensors,
                                 len(kv) if n_kv is None else n_kv) + b"".join(kv) + b"".join(tensors)
    return head + bytes(-len(head) % alignment) + bytes(data)


def kv(key: str, vtype: int, value) -> bytes:
    return g_str(key) + struct.pack("<I", vtype) + g_value(vtype, value)


def nbytes(shape, typ) -> int:
    return prod(shape[1:]) * (shape[0] // typ.block) * typ.bytes


def two_f32(offset_b: int, *, name_b: str = "b", data: int = 64, alignment: int = 32) -> bytes:
    """Tensors a (F32 [8], offset 0) and b (F32 [8], offset_b)."""
    extra = [kv("general.alignment", 4, alignment)] if alignment != 32 else []
    return gguf_blob(extra, [g_tensor("a", (8,), 0, 0), g_tensor(name_b, (8,), 0, offset_b)], data=data,
                     alignment=alignment)


def read_gguf_header_bytes(blob: bytes):
    return _parse(blob, "mem.gguf", len(blob))


def test_hand_built_gguf_reads_back():
    header = read_gguf_header_bytes(two_f32(32))
    assert [(t.name, t.offset, t.nbytes) for t in header.tensors] == [("a", 0, 32), ("b", 32, 32)]


# ---------------------------------------------------------------- 1. incomplete shard sets without an index

def test_folder_with_shard_1_of_2_and_no_index_is_refused(tmp_path):
    config = Path(__file__).parent / "fixtures" / "configs" / "TinyLlama__TinyLlama-1.1B-Chat-v1.0.json"
    (tmp_path / "config.json").write_text(config.read_text())
    write_safetensors(tmp_path / "model-00001-of-00002.safetensors", {"a.weight": ("BF16", (8, 4))})
    for read in (checkpoint_summary, load_model):
        with pytest.raises(FileFormatError, match=r"missing model-00002-of-00002\.safetensors"):
            read(tmp_path)


def test_folder_shard_set_names_every_missing_shard(tmp_path):
    write_safetensors(tmp_path / "model-00002-of-00004.safetensors", {"a.weight": ("F32", (2,))})
    with pytest.raises(FileFormatError, match=r"missing model-00001-of-00004\.safetensors, "
                                              r"model-00003-of-00004\.safetensors, model-00004-of-00004"):
        read_safetensors(tmp_path)


@pytest.mark.parametrize("name", ["model-00003-of-00002.safetensors", "model-00001-of-00000.safetensors",
                                  "model-00000-of-00002.safetensors"])
def test_folder_shard_name_out_of_range(tmp_path, name):
    write_safetensors(tmp_path / name, {"a.weight": ("F32", (2,))})
    with pytest.raises(FileFormatError, match="says part"):
        read_safetensors(tmp_path)


def test_complete_folder_without_index_reads(tmp_path):
    write_safetensors(tmp_path / "model-00001-of-00002.safetensors", {"a.weight": ("BF16", (8, 4))})
    write_safetensors(tmp_path / "model-00002-of-00002.safetensors", {"b.weight": ("F32", (3,))})
    assert checkpoint_summary(tmp_path)["total_bytes"] == 64 + 12


def test_same_tensor_in_two_files_of_a_folder(tmp_path):
    write_safetensors(tmp_path / "model-00001-of-00002.safetensors", {"a.weight": ("BF16", (8, 4))})
    write_safetensors(tmp_path / "model-00002-of-00002.safetensors", {"a.weight": ("BF16", (8, 4))})
    with pytest.raises(FileFormatError, match="'a.weight' is in both model-00001-of-00002.safetensors and"):
        read_safetensors(tmp_path)


# ---------------------------------------------------------------- 2. index files agree with their shards

S1, S2 = "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"


def _sharded(folder: Path, index: dict, shards: dict | None = None) -> Path:
    shards = {S1: {"a.weight": ("BF16", (8, 4))}, S2: {"b.weight": ("F32", (3,))}} if shards is None else shards
    for name, tensors in shards.items():
        write_safetensors(folder / name, tensors)
    (folder / "model.safetensors.index.json").write_text(json.dumps(index))
    return folder


GOOD_MAP = {"a.weight": S1, "b.weight": S2}


@pytest.mark.parametrize("index,shards,message", [
    ({"weight_map": {}}, None, "weight_map is missing or empty"),
    ({"metadata": {"total_size": 76}}, None, "weight_map is missing or empty"),
    ({"weight_map": {"a.weight": S1, "b.weight": S2, "c.weight": S2}}, None,
     "puts tensor 'c.weight' in 'model-00002-of-00002.safetensors', whose header has no such tensor"),
    ({"weight_map": {"a.weight": S2, "b.weight": S1}}, None, r"no such tensor \(it is in model-00001-of-00002"),
    ({"weight_map": {"a.weight": "model.safetensors"}},
     {"model.safetensors": {"a.weight": ("BF16", (8, 4)), "x": ("F32", (1,))}},
     r"1 tensor\(s\) in the shards are not in weight_map: 'x'"),
    ({"weight_map": {"a.weight": S1, "b.weight": "gone.safetensors"}}, None,
     "names shards that are not there: 'gone.safetensors'"),
    ({"weight_map": {"a.weight": S1}}, {S1: {"a.weight": ("BF16", (8, 4))}},
     r"weight_map: shard set is missing model-00002-of-00002\.safetensors"),
    ({"weight_map": {"a.weight": S1, "b.weight": S2}}, {S1: {"a.weight": ("BF16", (8, 4))},
                                                       S2: {"a.weight": ("BF16", (8, 4)), "b.weight": ("F32", (3,))}},
     "'a.weight' is in both"),
    ({"weight_map": {"a.weight": ["x"]}}, None, "outside the folder or not .safetensors"),
    ({"weight_map": GOOD_MAP, "metadata": {"total_size": "76"}}, None, "is not a number"),
    ({"weight_map": GOOD_MAP, "metadata": [1]}, None, "metadata must be an object"),
    ([1, 2], None, "weight_map is missing or empty"),
])
def test_inconsistent_index_is_refused(tmp_path, index, shards, message):
    folder = _sharded(tmp_path, index, shards)
    for path in (folder, folder / "model.safetensors.index.json"):
        with pytest.raises(FileFormatError, match=message):
            checkpoint_summary(path)


def test_total_size_that_is_not_the_byte_sum_is_not_an_error(tmp_path):
    # writers differ in what total_size counts; the shards' headers are what the bytes come from
    folder = _sharded(tmp_path, {"metadata": {"total_size": 999}, "weight_map": GOOD_MAP})
    assert checkpoint_summary(folder)["total_bytes"] == 76


def test_consistent_index_with_total_size_reads(tmp_path):
    folder = _sharded(tmp_path, {"metadata": {"total_size": 76}, "weight_map": GOOD_MAP})
    assert checkpoint_summary(folder)["total_bytes"] == 76


# ---------------------------------------------------------------- 3. GGUF tensor layout

def test_gguf_duplicate_tensor_name():
    with pytest.raises(FileFormatError, match=r"duplicate tensor name 'a' at byte \d+"):
        read_gguf_header_bytes(two_f32(32, name_b="a"))


def test_gguf_duplicate_metadata_key():
    blob = gguf_blob([kv("general.name", STRING, "x"), kv("general.name", STRING, "y")], [], data=0)
    with pytest.raises(FileFormatError, match="duplicate metadata key 'general.name'"):
        read_gguf_header_bytes(blob)


@pytest.mark.parametrize("blob", [
    two_f32(0),  # both at offset 0
    gguf_blob([], [g_tensor("a", (16,), 0, 0), g_tensor("b", (8,), 0, 32)], data=96),  # b inside a's 64 bytes
])
def test_gguf_overlapping_tensors_are_refused(tmp_path, blob):
    p = tmp_path / "overlap.gguf"
    p.write_bytes(blob)
    with pytest.raises(FileFormatError, match=r"overlap.gguf: tensors 'a' and 'b' overlap at byte \d+"):
        read_gguf_header(p)


def test_gguf_many_tensors_on_the_same_bytes(tmp_path):
    """The reported case: every tensor at offset 0 summed to far more weights than the file holds."""
    infos = [g_tensor(f"t{i}", (64, 64), 1, 0) for i in range(12)]
    p = tmp_path / "stacked.gguf"
    p.write_bytes(gguf_blob([kv("general.architecture", STRING, "llama")], infos, data=64 * 64 * 2))
    with pytest.raises(FileFormatError, match="overlap"):
        load_model(p)


def test_gguf_misaligned_offset_is_refused():
    with pytest.raises(FileFormatError, match=r"tensor 'b' at byte \d+: offset 40 is not a multiple of "
                                              r"general.alignment 32"):
        read_gguf_header_bytes(two_f32(40, data=96))
    assert read_gguf_header_bytes(two_f32(40, data=96, alignment=8)).tensors[1].offset == 40


@pytest.mark.parametrize("alignment,message", [
    (48, "not a power of two"), (0, "not a power of two"), (2 * MAX_ALIGNMENT, "not a power of two up to"),
])
def test_gguf_bad_alignment(alignment, message):
    blob = gguf_blob([kv("general.alignment", 4, alignment)], [], data=0)
    with pytest.raises(FileFormatError, match=message):
        read_gguf_header_bytes(blob)


def test_gguf_bool_alignment_is_not_an_integer():
    with pytest.raises(FileFormatError, match="general.alignment True"):
        read_gguf_header_bytes(gguf_blob([kv("general.alignment", 7, True)], [], data=0))


def test_gguf_tensor_past_the_end_names_it():
    with pytest.raises(FileFormatError, match=r"truncated: tensor data ends at byte \d+ \(tensor 'b'\)"):
        read_gguf_header_bytes(two_f32(32, data=40))


def test_gguf_unknown_type_and_bad_row():
    with pytest.raises(FileFormatError, match="tensor 'q' has unknown ggml type 4"):
        read_gguf_header_bytes(gguf_blob([], [g_tensor("q", (32,), 4, 0)], data=64))
    with pytest.raises(FileFormatError, match="row of 33 is not a multiple of Q8_0's block 32"):
        read_gguf_header_bytes(gguf_blob([], [g_tensor("q", (33,), 8, 0)], data=64))


def test_gguf_hostile_name_is_shown_short_on_one_line():
    name = "x\n" * 5000
    with pytest.raises(FileFormatError, match="duplicate tensor name") as e:
        read_gguf_header_bytes(gguf_blob([], [g_tensor(name, (8,), 0, 0), g_tensor(name, (8,), 0, 32)], data=64))
    assert "\n" not in str(e.value) and len(str(e.value)) < 300


# ---------------------------------------------------------------- 4. split GGUF names and metadata

@pytest.mark.parametrize("name", ["x-00001-of-00000.gguf", "x-00000-of-00002.gguf", "x-00003-of-00002.gguf"])
def test_split_gguf_name_out_of_range(tmp_path, capsys, name):
    for i in (1, 2):  # parts 1 and 2 exist: a name beyond them must not silently stand for them
        write_gguf(tmp_path / f"x-{i:05d}-of-00002.gguf", split=(i - 1, 2),
                   tensors=None if i == 1 else {"extra.weight": np.zeros(32, dtype=np.float32)})
    with pytest.raises(FileFormatError, match=r"must say part i of N with 1 <= i <= N"):
        load_model(tmp_path / name)
    assert main(["estimate", str(tmp_path / name)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("planner: error: ") and err.count("\n") == 1


@pytest.mark.parametrize("split,count,message", [
    ((0, 3), 2, "split.count is 3 but the file names say 2 parts"),
    ((1, 2), 2, r"split.no is 1 but the file name says part 1 \(split.no 0\)"),
    ((0, 2), 1, "split.count 2 says this is one part of a split GGUF"),
])
def test_split_gguf_metadata_must_agree_with_the_names(tmp_path, split, count, message):
    names = [f"m-{i:05d}-of-{count:05d}.gguf" for i in range(1, count + 1)] if count > 1 else ["m.gguf"]
    write_gguf(tmp_path / names[0], split=split)
    for i, name in enumerate(names[1:], start=1):
        write_gguf(tmp_path / name, split=(i, 2), tensors={"extra.weight": np.zeros(32, dtype=np.float32)})
    with pytest.raises(FileFormatError, match=message):
        load_model(tmp_path / names[-1])


def test_split_gguf_tensor_in_two_parts(tmp_path):
    write_gguf(tmp_path / "m-00001-of-00002.gguf", split=(0, 2))
    write_gguf(tmp_path / "m-00002-of-00002.gguf", split=(1, 2),
               tensors={"output_norm.weight": np.ones(64, dtype=np.float32)})
    with pytest.raises(FileFormatError, match=r"m-00002-of-00002.gguf: tensor 'output_norm.weight' is also in "
                                              r".*m-00001-of-00002.gguf"):
        load_model(tmp_path / "m-00001-of-00002.gguf")


# ---------------------------------------------------------------- 5. hostile JSON, unreadable paths

def _st_raw(text: str, data: int = 0) -> bytes:
    raw = text.encode()
    return struct.pack("<Q", len(raw)) + raw + bytes(data)


ENTRY = '{"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}'


@pytest.mark.parametrize("text,data,message", [
    ("[" * 100_000, 0, "nested too deeply"),
    ('{"a": ' * 100_000, 0, "nested too deeply"),
    ('{"__metadata__": {"format": NaN}, "a": ' + ENTRY + "}", 4, "NaN is not JSON"),
    ('{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4], "x": Infinity}}', 4, "Infinity is not JSON"),
    ('{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4], "x": -Infinity}}', 4, "-Infinity is not JSON"),
    ('{"a": ' + ENTRY + ', "a": ' + ENTRY + "}", 4, "duplicate key 'a'"),
    ('{"a": {"dtype": "F32", "shape": [1' + "0" * 5000 + '], "data_offsets": [0, 4]}}', 4, "not valid JSON"),
    ('{"a": {"dtype": ["F32"], "shape": [1], "data_offsets": [0, 4]}}', 4, r"unknown dtype \['F32'\]"),
    ('{"a": {"dtype": "F32", "shape": [true], "data_offsets": [0, 4]}}', 4, "bad shape"),
    ('{"a": {"dtype": "F32", "shape": [1], "data_offsets": [false, 4]}}', 4, "data_offsets"),
    ('{"a": {"dtype": "U8", "shape": [' + ", ".join(["1099511627775"] * 3000) + '], "data_offsets": [0, 4]}}', 4,
     "overflows 64 bits"),
    ('{"__metadata__": {"format": 1}, "a": ' + ENTRY + "}", 4, "__metadata__ must be an object of strings"),
    ('{"a": ' + ENTRY + "}", 8, r"4 bytes after the last tensor \(from byte \d+\)"),
    ('{"a": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}', 8, r"bytes \d+–\d+ belong to no tensor"),
])
def test_hostile_safetensors_header(tmp_path, text, data, message):
    p = tmp_path / "h.safetensors"
    p.write_bytes(_st_raw(text, data))
    with pytest.raises(FileFormatError, match=message) as e:
        read_safetensors_header(p)
    assert "\n" not in str(e.value) and str(e.value).startswith(str(p))


@pytest.mark.parametrize("text", ["[" * 100_000, '{"weight_map": {"a": "m.safetensors"}, "x": NaN}',
                                  '{"weight_map": {"a": "m.safetensors", "a": "n.safetensors"}}'])
def test_hostile_index_json(tmp_path, text):
    (tmp_path / "model.safetensors.index.json").write_text(text)
    with pytest.raises(FileFormatError, match="model.safetensors.index.json is not valid JSON"):
        checkpoint_summary(tmp_path)


def test_name_too_long_is_a_file_format_error(tmp_path):
    for name in ("a" * 300 + ".gguf", "a" * 300 + ".safetensors", "a" * 300 + ".safetensors.index.json",
                 "a" * 300 + "-00001-of-00002.gguf"):
        with pytest.raises(FileFormatError, match="File name too long"):
            (load_model if name.endswith(".gguf") else checkpoint_summary)(tmp_path / name)


def test_directories_and_fifos_named_like_files(tmp_path):
    for name in ("d.gguf", "d.safetensors"):
        (tmp_path / name).mkdir()
    os.mkfifo(tmp_path / "f.gguf")  # opening it would block: refused before any read
    with pytest.raises(FileFormatError, match="f.gguf: not a regular file"):
        load_model(tmp_path / "f.gguf")
    with pytest.raises(FileFormatError, match="d.gguf: not a regular file"):
        read_gguf_header(tmp_path / "d.gguf")
    with pytest.raises(FileFormatError, match="d.safetensors: not a regular file"):
        read_safetensors_header(tmp_path / "d.safetensors")
    (tmp_path / "model.safetensors.index.json").mkdir()
    with pytest.raises(FileFormatError, match="model.safetensors.index.json: not a regular file"):
        checkpoint_summary(tmp_path / "model.safetensors.index.json")


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root reads files without permission")
def test_unreadable_file(tmp_path):
    p = tmp_path / "locked.gguf"
    p.write_bytes((FILES / "tiny.gguf").read_bytes())
    p.chmod(0)
    with pytest.raises(FileFormatError, match=r"locked.gguf: cannot read \(Permission denied\)"):
        read_gguf_header(p)


# ---------------------------------------------------------------- 6. structure-aware fuzzing

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
