"""GGUF metadata is read as strictly as config.json: value types are checked, never coerced; bounds (planner.limits)
and family invariants are checked under the GGUF's own key names, from a metadata dict and from a real GGUF file;
every failure is a one-line ConfigImportError."""

import struct
import time
from pathlib import Path

import pytest

from planner import ConfigImportError, load_model
from planner.files.model_files import _config_from_gguf
from planner.spec import FileTensor

from .conftest import FIXTURES
from .strict_configs import assert_clean

TINY_GGUF = FIXTURES / "files" / "tiny.gguf"


# GGUF metadata is read as strictly, naming the GGUF key.

def _gguf_meta(**changes) -> dict:
    meta = {"general.architecture": "llama", "llama.block_count": 2, "llama.embedding_length": 64,
            "llama.attention.head_count": 4, "llama.attention.head_count_kv": 2, "llama.feed_forward_length": 256}
    return {**meta, **changes}


_EMBEDDING = [FileTensor(name="token_embd.weight", dtype="F16", shape=(128, 64), nbytes=128 * 64 * 2)]


def test_gguf_metadata_as_given_reads():
    assert _config_from_gguf(_gguf_meta(), _EMBEDDING, "m.gguf")["num_key_value_heads"] == 2


@pytest.mark.parametrize("changes,fragment", [
    ({"llama.block_count": 2.0}, "llama.block_count must be an integer from 1 to 1024, got 2.0"),
    ({"llama.block_count": True}, "llama.block_count must be an integer from 1 to 1024, got true"),
    ({"llama.block_count": 10**9}, "llama.block_count must be an integer from 1 to 1024, got 1000000000"),
    ({"llama.embedding_length": "64"}, "llama.embedding_length must be an integer from 1 to 131072, got '64'"),
    ({"llama.attention.head_count_kv": [2, -1]}, "llama.attention.head_count_kv[1] must be an integer from 1 to 4096"),
    ({"llama.attention.head_count_kv": []}, "GGUF field llama.attention.head_count_kv is an empty array"),
    ({"llama.feed_forward_length": [256, 1.5]}, "llama.feed_forward_length[1] must be an integer from 0 to"),
    ({"llama.context_length": -1}, "llama.context_length must be an integer from 1 to"),
    ({"llama.expert_count": 8, "llama.expert_used_count": 0}, "llama.expert_used_count must be an integer from 1"),
    ({"llama.block_count": None}, "GGUF field llama.block_count is missing"),
    ({"general.architecture": ["llama"]}, "GGUF architecture a list of 1 item is not supported"),
    ({"general.architecture": "deepseek2", "deepseek2.block_count": 2, "deepseek2.embedding_length": 64,
      "deepseek2.attention.head_count": 4, "deepseek2.attention.key_length": 64, "deepseek2.rope.dimension_count": 64},
     "deepseek2.attention.key_length (64) must exceed deepseek2.rope.dimension_count (64)"),
])
def test_gguf_metadata_is_strict_and_names_the_gguf_key(changes, fragment):
    with pytest.raises(ConfigImportError) as info:
        _config_from_gguf(_gguf_meta(**changes), _EMBEDDING, "m.gguf")
    assert_clean(str(info.value), "m.gguf")
    assert fragment in str(info.value)


def _patched_gguf(tmp_path: Path, vtype: int, value: bytes) -> Path:
    """tiny.gguf with llama.block_count (a uint32) rewritten as another 4-byte GGUF type and value."""
    blob = bytearray(TINY_GGUF.read_bytes())
    at = blob.index(b"llama.block_count") + len(b"llama.block_count")
    assert struct.unpack_from("<II", blob, at) == (4, 2)  # uint32 2: the seed file's layer count
    blob[at:at + 8] = struct.pack("<I", vtype) + value
    path = tmp_path / "m.gguf"
    path.write_bytes(bytes(blob))
    return path


def test_gguf_file_with_a_billion_blocks_is_refused_in_milliseconds(tmp_path):
    path = _patched_gguf(tmp_path, 4, struct.pack("<I", 10**9))
    start = time.perf_counter()
    with pytest.raises(ConfigImportError, match=r"llama\.block_count must be an integer from 1 to 1024, got 10+$"):
        load_model(path)
    assert time.perf_counter() - start < 0.5  # reading the header included


def test_gguf_file_with_a_float_block_count_is_refused(tmp_path):
    path = _patched_gguf(tmp_path, 6, struct.pack("<f", 2.0))  # GGUF type 6: float32
    with pytest.raises(ConfigImportError, match=r"llama\.block_count must be an integer from 1 to 1024, got 2\.0"):
        load_model(path)
