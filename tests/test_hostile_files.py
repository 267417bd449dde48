"""Model files are checked, not trusted: incomplete shard sets, inconsistent indexes, overlapping or misaligned
GGUF tensors, bad split names, hostile JSON and unreadable paths all fail with a one-line FileFormatError.

The structure-aware fuzz tests of both readers are in test_hostile_files_fuzz.py.
"""

import json
import os
import struct
from pathlib import Path

import numpy as np
import pytest

from planner import checkpoint_summary, load_model
from planner.cli import main
from planner.files.gguf_reader import MAX_ALIGNMENT, FileFormatError, _parse, read_gguf_header
from planner.files.safetensors_reader import read_safetensors, read_safetensors_header

from .fixtures.files.make_seeds import write_gguf, write_safetensors
from .gguf_bytes import STRING, g_tensor, gguf_blob, kv

FILES = Path(__file__).parent / "fixtures" / "files"


# ---------------------------------------------------------------- GGUF bytes by hand (hostile layouts included)

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
