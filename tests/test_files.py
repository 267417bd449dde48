"""GGUF and safetensors import from headers alone; damaged and hostile files fail cleanly."""

import json
import shutil
import struct
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from planner import ConfigImportError, PlannerError, checkpoint_summary, estimate, load_model
from planner.files.gguf_reader import FileFormatError, read_gguf_header
from planner.files.safetensors_reader import read_safetensors_header

from .fixtures.files.make_seeds import write_gguf, write_safetensors

FILES = Path(__file__).parent / "fixtures" / "files"
TINY_GGUF = FILES / "tiny.gguf"
TINY_ST = FILES / "tiny.safetensors"


def test_gguf_loads_architecture_and_exact_tensor_bytes():
    gguf = pytest.importorskip("gguf")
    spec = load_model(TINY_GGUF)
    assert (spec.n_layers, spec.d_model, spec.n_heads, spec.n_kv_heads, spec.vocab_size) == (2, 64, 4, 2, 128)
    assert spec.weights_dtype == "checkpoint" and not spec.tie_embeddings
    reference = gguf.GGUFReader(str(TINY_GGUF))  # the official reader, as a cross-check
    assert {t.name: int(t.n_bytes) for t in reference.tensors} == {t.name: t.nbytes for t in spec.checkpoint.tensors}
    types = {t.name: t.dtype for t in spec.checkpoint.tensors}
    assert types["blk.0.attn_q.weight"] == "Q8_0" and types["blk.0.ffn_down.weight"] == "Q4_K"
    assert types["blk.0.attn_norm.weight"] == "F32"


def test_gguf_estimate_uses_the_file_and_llama_cpp_defaults():
    e = estimate(str(TINY_GGUF), context=1024, gpu="rtx-4090")
    spec = load_model(TINY_GGUF)
    assert e.weights_bytes == spec.checkpoint.total_bytes
    assert e.breakdown["weights"]["embedding"] == 128 * 64 * 2  # token_embd in F16
    assert e.workload.kv_dtype == "fp16" and e.performance.engine == "llama.cpp"


def test_split_gguf_reads_every_part(tmp_path):
    part1 = {"extra.weight": __import__("numpy").zeros((128, 64), dtype="float16")}  # a name not in part 1
    write_gguf(tmp_path / "m-00001-of-00002.gguf", split=(0, 2))
    whole = load_model(TINY_GGUF).checkpoint.total_bytes
    write_gguf(tmp_path / "m-00002-of-00002.gguf", split=(1, 2), tensors=part1)
    spec = load_model(tmp_path / "m-00002-of-00002.gguf")
    assert spec.checkpoint.total_bytes == whole + 128 * 64 * 2


def test_split_gguf_with_a_missing_part_names_it(tmp_path):
    shutil.copy(TINY_GGUF, tmp_path / "m-00001-of-00003.gguf")
    with pytest.raises(FileFormatError, match="missing m-00002-of-00003.gguf, m-00003-of-00003.gguf"):
        load_model(tmp_path / "m-00001-of-00003.gguf")


def test_safetensors_file_bytes_per_dtype_from_the_header():
    s = checkpoint_summary(TINY_ST)
    assert s["bytes_per_dtype"] == {"BF16": (32 * 16 + 24 * 16) * 2, "F32": 16 * 4} and s["tensors"] == 3


def test_sharded_index_and_folder(tmp_path):
    write_safetensors(tmp_path / "model-00001-of-00002.safetensors", {"a.weight": ("BF16", (8, 4))})
    write_safetensors(tmp_path / "model-00002-of-00002.safetensors", {"b.weight": ("F32", (3,))})
    (tmp_path / "model.safetensors.index.json").write_text(json.dumps({"weight_map": {
        "a.weight": "model-00001-of-00002.safetensors", "b.weight": "model-00002-of-00002.safetensors"}}))
    for path in (tmp_path, tmp_path / "model.safetensors.index.json"):
        assert checkpoint_summary(path)["bytes_per_dtype"] == {"BF16": 64, "F32": 12}


def test_folder_with_config_json_uses_the_safetensors_bytes(tmp_path):
    config = json.loads((Path(__file__).parent / "fixtures" / "configs" /
                         "TinyLlama__TinyLlama-1.1B-Chat-v1.0.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps(config))
    write_safetensors(tmp_path / "model.safetensors", {"model.embed_tokens.weight": ("BF16", (32000, 8)),
                                                       "model.layers.0.self_attn.q_proj.weight": ("BF16", (8, 8)),
                                                       "lm_head.weight": ("BF16", (32000, 8))})
    spec = load_model(tmp_path)
    assert spec.n_layers == 22 and spec.checkpoint.format == "safetensors"
    e = estimate(tmp_path, context=512)
    assert e.weights_bytes == 2 * (32000 * 8 * 2 + 64)
    assert e.breakdown["weights"]["embedding"] == e.breakdown["weights"]["output"] == 32000 * 8 * 2


def test_lone_safetensors_file_explains_what_is_missing(tmp_path):
    shutil.copy(TINY_ST, tmp_path / "x.safetensors")
    with pytest.raises(ConfigImportError, match="carries no architecture"):
        load_model(tmp_path / "x.safetensors")


def _gguf_bytes() -> bytes:
    return TINY_GGUF.read_bytes()


@pytest.mark.parametrize("mutate,message", [
    (lambda b: b[:100], "truncated"),
    (lambda b: b[:-1000], "truncated: tensor data ends"),
    (lambda b: b"GGUX" + b[4:], "not a GGUF file"),
    (lambda b: b[:4] + struct.pack("<I", 7) + b[8:], "GGUF version 7"),
    (lambda b: b[:8] + struct.pack("<Q", 2**40) + b[16:], "exceed"),
    # the first key's length field (after magic, version, two counts) claims 2^60 bytes
    (lambda b: b[:24] + struct.pack("<Q", 2**60) + b[32:], "longer than"),
])
def test_damaged_gguf_fails_with_a_clear_error(tmp_path, mutate, message):
    p = tmp_path / "bad.gguf"
    p.write_bytes(mutate(_gguf_bytes()))
    with pytest.raises(FileFormatError, match=message):
        load_model(p)


def _st(header: dict, data: int) -> bytes:
    raw = json.dumps(header).encode()
    return struct.pack("<Q", len(raw)) + raw + bytes(data)


@pytest.mark.parametrize("content,message", [
    (b"\x01", "too short"),
    (struct.pack("<Q", 10**12) + b"{}", "does not fit the file"),
    (struct.pack("<Q", 5) + b"{nope", "not valid JSON"),
    (_st({"a": {"dtype": "F99", "shape": [1], "data_offsets": [0, 4]}}, 4), "unknown dtype 'F99'"),
    (_st({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 4]}}, 4), "4 bytes for shape"),
    (_st({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}, 2), "outside the 2 data bytes"),
    (_st({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},
          "b": {"dtype": "F32", "shape": [1], "data_offsets": [2, 6]}}, 8), "overlap"),
    (_st({"a": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}, 4), "bad shape"),
    (_st([1, 2], 0), "JSON object"),
])
def test_damaged_safetensors_fails_with_a_clear_error(tmp_path, content, message):
    p = tmp_path / "bad.safetensors"
    p.write_bytes(content)
    with pytest.raises(FileFormatError, match=message):
        read_safetensors_header(p)


def test_index_cannot_point_outside_its_folder(tmp_path):
    (tmp_path / "model.safetensors.index.json").write_text(json.dumps({"weight_map": {"a": "../etc.safetensors"}}))
    with pytest.raises(FileFormatError, match="outside the folder"):
        checkpoint_summary(tmp_path)


FUZZ = settings(max_examples=150, deadline=1000, suppress_health_check=[HealthCheck.function_scoped_fixture])


@FUZZ
@given(data=st.data())
def test_fuzzed_gguf_never_crashes_obscurely(tmp_path, data):
    blob = bytearray(_gguf_bytes())
    cut = data.draw(st.integers(16, len(blob)))
    for _ in range(data.draw(st.integers(0, 8))):
        i = data.draw(st.integers(0, min(cut, 4096) - 1))  # the header is what a reader interprets
        blob[i] = data.draw(st.integers(0, 255))
    p = tmp_path / "f.gguf"
    p.write_bytes(bytes(blob[:cut]))
    try:
        spec = load_model(p)
    except PlannerError:
        return  # a clear, typed error naming the file
    assert spec.checkpoint.total_bytes <= p.stat().st_size


@FUZZ
@given(data=st.data())
def test_fuzzed_safetensors_never_crashes_obscurely(tmp_path, data):
    blob = bytearray(TINY_ST.read_bytes())
    cut = data.draw(st.integers(0, len(blob)))
    for _ in range(data.draw(st.integers(0, 8))):
        i = data.draw(st.integers(0, max(0, cut - 1)))
        if cut:
            blob[i] = data.draw(st.integers(0, 255))
    p = tmp_path / "f.safetensors"
    p.write_bytes(bytes(blob[:cut]))
    try:
        tensors = read_safetensors_header(p)
    except FileFormatError:
        return
    assert sum(t.nbytes for t in tensors) <= p.stat().st_size


def test_gguf_header_reader_skips_long_arrays():
    header = read_gguf_header(TINY_GGUF)
    tokens = header.metadata["tokenizer.ggml.tokens"]
    assert tokens.count == 128  # counted, not materialized
