"""config.json reading is strict: JSON types are checked, never coerced; bounds (planner.limits) and family
invariants are checked under the config's own key names; every failure is a one-line ConfigImportError."""

import json
import struct
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from planner import ConfigImportError, load_model
from planner.files.model_files import _config_from_gguf
from planner.hf_import import FAMILY_DEFAULTS, spec_from_config
from planner.limits import (
    MAX_CONTEXT,
    MAX_D_FF,
    MAX_D_MODEL,
    MAX_EXPERTS,
    MAX_HEAD_DIM,
    MAX_HEADS,
    MAX_LAYERS,
    MAX_LORA_RANK,
    MAX_VOCAB,
)
from planner.spec import FileTensor

from .conftest import FIXTURES, fixture_config

LLAMA = fixture_config("meta-llama/Meta-Llama-3-8B")
TINY_GGUF = FIXTURES / "files" / "tiny.gguf"


def load(raw: dict):
    return spec_from_config(raw, name="m", source="config.json")


def assert_clean(message: str, source: str = "config.json") -> None:
    """One line naming the source; no pydantic wording or docs URL."""
    assert message.startswith(f"{source}: ") and "\n" not in message, message
    assert "pydantic" not in message and "http" not in message and "Value error" not in message, message


def refused(raw: dict, *fragments: str) -> str:
    with pytest.raises(ConfigImportError) as info:
        load(raw)
    message = str(info.value)
    assert_clean(message)
    for fragment in fragments:
        assert fragment in message, message
    return message


# The known failures, one by one.

@pytest.mark.parametrize("model", ["meta-llama/Meta-Llama-3-8B", "google/gemma-7b"])
def test_string_false_is_not_a_bool(model):
    # bool("false") is True: the string used to tie the embeddings of an untied model.
    refused({**fixture_config(model), "tie_word_embeddings": "false"},
            "tie_word_embeddings must be true or false, got 'false'")


def test_zero_kv_heads_is_refused_not_read_as_query_heads():
    refused({**LLAMA, "num_key_value_heads": 0}, "num_key_value_heads must be an integer from 1 to 4096, got 0")


def test_null_kv_heads_means_as_many_as_query_heads():
    assert load({**LLAMA, "num_key_value_heads": None}).n_kv_heads == 32


def test_absent_kv_heads_takes_the_family_default():
    mistral = fixture_config("mistralai/Mistral-7B-v0.1")
    mistral.pop("num_key_value_heads")
    assert load(mistral).n_kv_heads == FAMILY_DEFAULTS["mistral"]["num_key_value_heads"] == 8
    llama = dict(LLAMA)
    llama.pop("num_key_value_heads")  # LlamaConfig has no default of its own: as many as query heads
    assert load(llama).n_kv_heads == 32


@pytest.mark.parametrize("value,shown", [(8.7, "8.7"), (8.0, "8.0"), ("32", "'32'"), (True, "true"), ([32], "[32]")])
def test_head_count_must_be_a_json_integer(value, shown):
    refused({**LLAMA, "num_attention_heads": value}, f"num_attention_heads must be an integer from 1 to {MAX_HEADS}, "
            f"got {shown}")


def test_fractional_head_dim_is_refused_not_truncated():
    refused({**fixture_config("mistralai/Mistral-Nemo-Base-2407"), "head_dim": 127.9},
            "head_dim must be an integer from 1 to 4096, got 127.9")


def test_gemma3_sliding_window_pattern_zero_is_refused():
    gemma3 = fixture_config("google/gemma-3-1b-it")
    refused({**gemma3, "sliding_window_pattern": 0}, "sliding_window_pattern must be an integer from 1 to 1024, got 0")
    # 1: every layer is global ((i + 1) % 1 == 0), as Gemma3TextConfig has it
    every_global = load({**gemma3, "sliding_window_pattern": 1})
    assert every_global.layer_pattern == ("full",) and every_global.sliding_window is None
    assert load(gemma3).layer_pattern == ("sliding",) * 5 + ("full",)


def test_zero_query_heads_is_a_config_error_not_a_zero_division():
    refused({**LLAMA, "num_attention_heads": 0}, "num_attention_heads must be an integer from 1 to 4096, got 0")


@pytest.mark.parametrize("literal", ["Infinity", "-Infinity", "NaN", "1e999", "-1e999"])
def test_non_finite_numbers_are_refused_at_parse_time(tmp_path, literal):
    # Python's json reads the first three as floats and overflows the last two to ±inf; JSON has none of them.
    path = tmp_path / "config.json"
    path.write_text(json.dumps(LLAMA)[:-1] + f', "rope_theta": {literal}}}')
    with pytest.raises(ConfigImportError, match="not valid JSON") as info:
        load_model(path)
    assert_clean(str(info.value), str(path))


def test_overlong_integer_literal_is_refused_at_parse_time(tmp_path):
    path = tmp_path / "config.json"
    path.write_text(json.dumps(LLAMA)[:-1] + ', "vocab_size": ' + "9" * 5000 + "}")
    with pytest.raises(ConfigImportError, match="an integer of 5000 digits") as info:
        load_model(path)
    assert_clean(str(info.value), str(path))


@pytest.mark.parametrize("text", ['{"a": ' * 100_000 + "1" + "}" * 100_000, "[" * 100_000 + "]" * 100_000])
def test_deeply_nested_json_is_refused(tmp_path, text):
    path = tmp_path / "config.json"
    path.write_text(text)
    with pytest.raises(ConfigImportError, match="nested too deeply") as info:
        load_model(path)
    assert_clean(str(info.value), str(path))


def test_deeply_nested_value_given_as_a_dict_is_shown_briefly():
    value = 1
    for _ in range(100_000):
        value = [value]
    refused({**LLAMA, "num_hidden_layers": value}, "num_hidden_layers must be an integer", "got a list of 1 item")
    assert load({**LLAMA, "rope_scaling": value}).n_layers == 32  # a key that is not read is not looked into


@pytest.mark.parametrize("model,overrides", [
    ("meta-llama/Meta-Llama-3-8B", {}),
    ("Qwen/Qwen2.5-0.5B", {"use_sliding_window": True}),  # qwen2: max_window_layers builds per-layer kinds
    ("openai/gpt-oss-20b", {}),  # layer_types
    ("google/gemma-3-1b-it", {}),  # sliding_window_pattern
    ("microsoft/Phi-3-small-8k-instruct", {}),  # dense_attention_every_n_layers
])
def test_a_billion_layers_is_refused_in_milliseconds(model, overrides):
    raw = {**fixture_config(model), **overrides, "num_hidden_layers": 10**9}
    start = time.perf_counter()
    refused(raw, f"num_hidden_layers must be an integer from 1 to {MAX_LAYERS}, got 1000000000")
    assert time.perf_counter() - start < 0.05


def test_the_largest_allowed_layer_count_still_imports():
    assert load({**LLAMA, "num_hidden_layers": MAX_LAYERS}).n_layers == MAX_LAYERS


def test_a_million_layer_types_are_refused_before_they_are_read():
    raw = {**fixture_config("openai/gpt-oss-20b"), "layer_types": [{}] * 10**6}
    start = time.perf_counter()
    refused(raw, "layer_types has 1000000 items, at most 1024 are allowed")
    assert time.perf_counter() - start < 0.05


# Every key read goes through a typed accessor with its bounds.

_COUNT_KEYS = [
    ("meta-llama/Meta-Llama-3-8B", "num_hidden_layers", {}, MAX_LAYERS),
    ("meta-llama/Meta-Llama-3-8B", "hidden_size", {}, MAX_D_MODEL),
    ("meta-llama/Meta-Llama-3-8B", "num_key_value_heads", {}, MAX_HEADS),
    ("meta-llama/Meta-Llama-3-8B", "intermediate_size", {}, MAX_D_FF),
    ("meta-llama/Meta-Llama-3-8B", "vocab_size", {}, MAX_VOCAB),
    ("meta-llama/Meta-Llama-3-8B", "max_position_embeddings", {}, MAX_CONTEXT),
    ("mistralai/Mistral-Nemo-Base-2407", "head_dim", {}, MAX_HEAD_DIM),
    ("mistralai/Mistral-7B-v0.1", "sliding_window", {}, MAX_CONTEXT),
    ("Qwen/Qwen2.5-0.5B", "max_window_layers", {"use_sliding_window": True}, MAX_LAYERS),
    ("google/gemma-3-1b-it", "sliding_window_pattern", {}, MAX_LAYERS),
    ("mistralai/Mixtral-8x7B-v0.1", "num_local_experts", {}, MAX_EXPERTS),
    ("mistralai/Mixtral-8x7B-v0.1", "num_experts_per_tok", {}, MAX_EXPERTS),
    ("mistralai/Mixtral-8x7B-v0.1", "intermediate_size", {}, MAX_D_FF),
    ("Qwen/Qwen3-30B-A3B", "num_experts", {}, MAX_EXPERTS),
    ("Qwen/Qwen3-30B-A3B", "moe_intermediate_size", {}, MAX_D_FF),
    ("Qwen/Qwen3-30B-A3B", "decoder_sparse_step", {}, MAX_LAYERS),
    ("Qwen/Qwen1.5-MoE-A2.7B", "shared_expert_intermediate_size", {}, MAX_D_FF),
    ("deepseek-ai/DeepSeek-V3", "n_routed_experts", {}, MAX_EXPERTS),
    ("deepseek-ai/DeepSeek-V3", "n_shared_experts", {}, MAX_EXPERTS),
    ("deepseek-ai/DeepSeek-V3", "moe_intermediate_size", {}, MAX_D_FF),
    ("deepseek-ai/DeepSeek-V3", "first_k_dense_replace", {}, MAX_LAYERS),
    ("deepseek-ai/DeepSeek-V3", "moe_layer_freq", {}, MAX_LAYERS),
    ("deepseek-ai/DeepSeek-V3", "q_lora_rank", {}, MAX_LORA_RANK),
    ("deepseek-ai/DeepSeek-V3", "kv_lora_rank", {}, MAX_LORA_RANK),
    ("deepseek-ai/DeepSeek-V3", "qk_rope_head_dim", {}, MAX_HEAD_DIM),
    ("deepseek-ai/DeepSeek-V3", "qk_nope_head_dim", {}, MAX_HEAD_DIM),
    ("deepseek-ai/DeepSeek-V3", "v_head_dim", {}, MAX_HEAD_DIM),
    ("microsoft/Phi-3-small-8k-instruct", "ff_intermediate_size", {}, MAX_D_FF),
    ("microsoft/Phi-3-small-8k-instruct", "dense_attention_every_n_layers", {}, MAX_LAYERS),
    ("microsoft/Phi-3-small-8k-instruct", "blocksparse_block_size", {}, MAX_CONTEXT),
    ("microsoft/Phi-3-small-8k-instruct", "blocksparse_num_local_blocks", {}, MAX_CONTEXT),
    ("microsoft/Phi-3-small-8k-instruct", "blocksparse_vert_stride", {}, MAX_CONTEXT),
]
_BAD_COUNTS = [(8.0, "8.0"), (8.5, "8.5"), ("8", "'8'"), (True, "true"), (-1, "-1"), (10**30, "an integer of 100 bits"),
               ([8], "[8]"), ({"n": 8}, "an object with 1 key")]


@pytest.mark.parametrize("model,key,overrides,hi", _COUNT_KEYS)
@pytest.mark.parametrize("value,shown", _BAD_COUNTS)
def test_every_count_is_a_bounded_json_integer(model, key, overrides, hi, value, shown):
    refused({**fixture_config(model), **overrides, key: value}, f"{key} must be an integer from ", f" to {hi}, ",
            f"got {shown}")


@pytest.mark.parametrize("model,key,overrides,hi", _COUNT_KEYS)
def test_every_count_has_an_upper_bound(model, key, overrides, hi):
    refused({**fixture_config(model), **overrides, key: hi + 1}, f"{key} must be an integer from ", f"got {hi + 1}")


@pytest.mark.parametrize("model,key", [
    ("meta-llama/Meta-Llama-3-8B", "tie_word_embeddings"), ("meta-llama/Meta-Llama-3-8B", "attention_bias"),
    ("meta-llama/Meta-Llama-3-8B", "mlp_bias"), ("microsoft/Phi-3-mini-4k-instruct", "lm_head_bias"),
    ("Qwen/Qwen2.5-7B", "use_sliding_window"), ("Qwen/Qwen1.5-MoE-A2.7B", "qkv_bias"),
    ("microsoft/Phi-3-small-8k-instruct", "blocksparse_homo_head_pattern"),
])
@pytest.mark.parametrize("value,shown", [("false", "'false'"), ("true", "'true'"), (0, "0"), (1, "1"), (None, "null"),
                                         ([False], "[false]")])
def test_every_switch_is_a_json_bool(model, key, value, shown):
    refused({**fixture_config(model), key: value}, f"{key} must be true or false, got {shown}")


@pytest.mark.parametrize("model,key", [
    ("meta-llama/Meta-Llama-3-8B", "model_type"), ("meta-llama/Meta-Llama-3-8B", "hidden_act"),
    ("google/gemma-2-9b", "hidden_activation"), ("meta-llama/Meta-Llama-3-8B", "torch_dtype"),
    ("deepseek-ai/DeepSeek-V2-Lite", "topk_method"),
])
@pytest.mark.parametrize("value,shown", [(5, "5"), (True, "true"), (["silu"], "a list of 1 item")])
def test_every_name_is_a_json_string(model, key, value, shown):
    refused({**fixture_config(model), key: value}, key, f" {shown}")


@pytest.mark.parametrize("model,key,value,fragment", [
    ("openai/gpt-oss-20b", "layer_types", "full_attention", "layer_types must be a list, got 'full_attention'"),
    ("openai/gpt-oss-20b", "layer_types", [5] * 24, "layer_types[0] must be a string, got 5"),
    ("openai/gpt-oss-20b", "layer_types", ["full_attention"] * 23 + ["linear_attention"],
     "layer_types[23] 'linear_attention' is not one of full_attention, sliding_attention"),
    ("openai/gpt-oss-20b", "layer_types", ["full_attention"] * 23,
     "layer_types has 23 entries, num_hidden_layers is 24"),
    ("Qwen/Qwen3-30B-A3B", "mlp_only_layers", ["a"], "mlp_only_layers[0] must be an integer from 0 to 47, got 'a'"),
    ("Qwen/Qwen3-30B-A3B", "mlp_only_layers", [1.0], "mlp_only_layers[0] must be an integer from 0 to 47, got 1.0"),
    ("Qwen/Qwen3-30B-A3B", "mlp_only_layers", [0] * 10**6, "mlp_only_layers has 1000000 items, at most 48"),
    ("Qwen/Qwen3-30B-A3B", "mlp_only_layers", {"0": 1}, "mlp_only_layers must be a list"),
    ("deepseek-ai/DeepSeek-V3", "quantization_config", "fp8", "quantization_config must be an object, got 'fp8'"),
    ("deepseek-ai/DeepSeek-V3", "quantization_config", {"quant_method": 5},
     "quantization_config.quant_method must be a string, got 5"),
    ("deepseek-ai/DeepSeek-V3", "quantization_config", {"quant_method": "fp8", "weight_block_size": [128.0, 128]},
     "quantization_config.weight_block_size[0] must be an integer from 1 to"),
    ("google/gemma-3-27b-it", "text_config", [["num_hidden_layers", 2]], "text_config must be an object"),
])
def test_lists_and_objects_are_checked_item_by_item(model, key, value, fragment):
    refused({**fixture_config(model), key: value}, fragment)


@pytest.mark.parametrize("model,changes,fragment", [
    ("meta-llama/Meta-Llama-3-8B", {"num_key_value_heads": 5},
     "num_attention_heads (32) must be a multiple of num_key_value_heads (5)"),
    ("mistralai/Mixtral-8x7B-v0.1", {"num_experts_per_tok": 9},
     "num_experts_per_tok (9) must be at most num_local_experts (8)"),
    ("Qwen/Qwen3-30B-A3B", {"num_experts_per_tok": 129}, "num_experts_per_tok (129) must be at most num_experts (128)"),
    ("deepseek-ai/DeepSeek-V3", {"first_k_dense_replace": 61},
     "first_k_dense_replace (61) must be below num_hidden_layers (61)"),
    ("meta-llama/Meta-Llama-3-8B", {"hidden_size": 4095},
     "hidden_size (4095) must be a multiple of num_attention_heads (32) when head_dim is not given"),
    ("meta-llama/Meta-Llama-3-8B", {"hidden_size": 2**17, "num_attention_heads": 1, "num_key_value_heads": 1},
     "hidden_size / num_attention_heads (131072 / 1) is the head_dim, which must be at most 4096"),
    ("deepseek-ai/DeepSeek-V3", {"num_key_value_heads": 64},
     "num_key_value_heads (64) must equal num_attention_heads (128)"),
    ("deepseek-ai/DeepSeek-V2-Lite", {"qk_nope_head_dim": 4096},
     "qk_nope_head_dim + qk_rope_head_dim (4160) must be at most 4096"),
    ("deepseek-ai/DeepSeek-V3", {"n_shared_experts": 4096},
     "n_shared_experts × moe_intermediate_size (4096 × 2048) must be at most"),
    ("microsoft/Phi-3.5-MoE-instruct", {"tie_word_embeddings": True},
     "tie_word_embeddings and lm_head_bias are both true"),
    ("google/gemma-2-9b", {"sliding_window": None}, "sliding layers but no 'sliding_window'"),
    ("deepseek-ai/DeepSeek-V3", {"moe_layer_freq": 2}, "moe_layer_freq 2: only 1 is supported"),
    ("Qwen/Qwen3-30B-A3B", {"decoder_sparse_step": 2}, "decoder_sparse_step 2 / mlp_only_layers []"),
])
def test_family_invariants_name_the_config_keys(model, changes, fragment):
    refused({**fixture_config(model), **changes}, fragment)


def test_spec_rule_left_to_pydantic_is_reworded_without_its_url():
    with pytest.raises(ConfigImportError) as info:
        spec_from_config(LLAMA, name="", source="config.json")
    assert str(info.value) == "config.json: name: String should have at least 1 character, got ''"


def test_phi3_small_with_every_layer_dense_has_no_block_sparse_attention():
    spec = load({**fixture_config("microsoft/Phi-3-small-8k-instruct"), "dense_attention_every_n_layers": 1})
    assert spec.layer_pattern == ("full",) and spec.block_sparse is None


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


# Property: any JSON value in any key of a real config is read for exactly what it means, or refused.

_MODELS = ["meta-llama/Meta-Llama-3-8B", "mistralai/Mistral-7B-v0.1", "mistralai/Mistral-7B-v0.3",
           "mistralai/Mixtral-8x7B-v0.1", "Qwen/Qwen2.5-0.5B", "Qwen/Qwen1.5-MoE-A2.7B", "Qwen/Qwen3-8B",
           "Qwen/Qwen3-30B-A3B", "google/gemma-7b", "google/gemma-2-9b", "google/gemma-3-1b-it",
           "microsoft/Phi-3-mini-4k-instruct", "microsoft/Phi-3-small-8k-instruct", "microsoft/Phi-3.5-MoE-instruct",
           "deepseek-ai/DeepSeek-V2-Lite", "deepseek-ai/DeepSeek-V3", "openai/gpt-oss-20b"]
_CONFIGS = {m: fixture_config(m) for m in _MODELS}
_BASES = {m: load(raw) for m, raw in _CONFIGS.items()}

# What a strictly typed value is, per key, written out here rather than taken from the importer:
# counts as (lowest, highest, null allowed), switches, names.
_COUNTS = {
    "num_hidden_layers": (1, MAX_LAYERS, False), "hidden_size": (1, MAX_D_MODEL, False),
    "num_attention_heads": (1, MAX_HEADS, False), "num_key_value_heads": (1, MAX_HEADS, True),
    "head_dim": (1, MAX_HEAD_DIM, True), "intermediate_size": (1, MAX_D_FF, False),
    "ff_intermediate_size": (1, MAX_D_FF, False), "vocab_size": (1, MAX_VOCAB, False),
    "max_position_embeddings": (1, MAX_CONTEXT, False), "sliding_window": (1, MAX_CONTEXT, True),
    "sliding_window_pattern": (1, MAX_LAYERS, False), "max_window_layers": (0, MAX_LAYERS, False),
    "dense_attention_every_n_layers": (1, MAX_LAYERS, False), "blocksparse_block_size": (1, MAX_CONTEXT, False),
    "blocksparse_num_local_blocks": (1, MAX_CONTEXT, False), "blocksparse_vert_stride": (1, MAX_CONTEXT, False),
    "num_local_experts": (2, MAX_EXPERTS, False), "num_experts": (2, MAX_EXPERTS, False),
    "n_routed_experts": (2, MAX_EXPERTS, False), "num_experts_per_tok": (1, MAX_EXPERTS, False),
    "n_shared_experts": (0, MAX_EXPERTS, True), "moe_intermediate_size": (1, MAX_D_FF, False),
    "shared_expert_intermediate_size": (0, MAX_D_FF, False), "first_k_dense_replace": (0, MAX_LAYERS, False),
    "moe_layer_freq": (1, MAX_LAYERS, False), "decoder_sparse_step": (1, MAX_LAYERS, False),
    "q_lora_rank": (1, MAX_LORA_RANK, True), "kv_lora_rank": (1, MAX_LORA_RANK, False),
    "qk_rope_head_dim": (1, MAX_HEAD_DIM, False), "qk_nope_head_dim": (1, MAX_HEAD_DIM, False),
    "v_head_dim": (1, MAX_HEAD_DIM, False),
}
_FLAGS = {"tie_word_embeddings", "attention_bias", "mlp_bias", "lm_head_bias", "use_sliding_window", "qkv_bias",
          "blocksparse_homo_head_pattern"}
_NAMES = {"model_type": False, "hidden_act": False, "hidden_activation": True, "torch_dtype": True,
          "topk_method": True}  # name: null allowed
_STRUCTURED = {"layer_types", "mlp_only_layers", "quantization_config"}
_ACT = {"silu": "silu", "swish": "silu", "gelu": "gelu", "gelu_pytorch_tanh": "gelu_tanh", "gelu_new": "gelu_tanh",
        "gelu_tanh": "gelu_tanh", "relu": "relu", "gegelu": "gegelu"}
_DTYPE = {"bfloat16": "bf16", "float16": "fp16", "float32": "fp32"}
_QWEN = ("qwen2", "qwen2_moe", "qwen3", "qwen3_moe")
_RAISE = object()  # the value must be refused


def _unread(t: str, key: str) -> bool:
    """Keys these configs hold but their family does not read (reviewed one by one)."""
    return ((t in _QWEN and key in ("sliding_window", "max_window_layers"))  # use_sliding_window is false in all
            or (t in ("qwen2_moe", "qwen3_moe") and key == "intermediate_size")  # every layer is MoE
            or (t.startswith("gemma") and key == "hidden_act")  # hidden_activation (default) wins
            or (t == "deepseek_v3" and key == "torch_dtype"))  # quantization_config says fp8


def _well_typed(key: str, v) -> bool:
    if key in _COUNTS:
        lo, hi, nullable = _COUNTS[key]
        return (v is None and nullable) or (type(v) is int and lo <= v <= hi)
    if key in _FLAGS:
        return type(v) is bool
    if key in _NAMES:
        return isinstance(v, str) or (v is None and _NAMES[key])
    return True


def _period(kinds: tuple) -> tuple:
    """Shortest prefix that repeats into kinds (the naive way)."""
    return next(kinds[:p] for p in range(1, len(kinds) + 1) if all(kinds[i] == kinds[i % p] for i in range(len(kinds))))


def _layout(kinds: tuple, window, sparse=None) -> dict:
    if "sliding" in kinds and window is None:
        return {"_raise": True}
    return {"layer_pattern": _period(kinds), "sliding_window": window if "sliding" in kinds else None,
            "block_sparse": sparse if "block_sparse" in kinds else None}


def _expected(model: str, key: str, v):
    """The spec fields a well-typed value v of `key` gives (dotted for moe./mla./block_sparse.), _RAISE when it must
    be refused, or None when this table does not say."""
    raw, base = _CONFIGS[model], _BASES[model]
    t, n, d, h = base.model_type, base.n_layers, base.d_model, base.n_heads
    derived_head_dim = base.mla is None and raw.get("head_dim") is None and "head_dim" not in FAMILY_DEFAULTS[t]
    kv_from_heads = raw.get("num_key_value_heads") is None and "num_key_value_heads" not in FAMILY_DEFAULTS[t]

    def head_dim(d_model, heads):
        if not derived_head_dim:
            return {}
        return {"head_dim": d_model // heads} if d_model % heads == 0 else {"_raise": True}

    if key == "num_hidden_layers":
        if "layer_types" in raw and v != len(raw["layer_types"]):
            return _RAISE
        kinds = tuple(base.layer_pattern[i % len(base.layer_pattern)] for i in range(v))
        return {"n_layers": v, **_layout(kinds, base.sliding_window, base.block_sparse)}
    if key == "hidden_size":
        return {"d_model": v, **head_dim(v, h)}
    if key == "num_attention_heads":
        return {"n_heads": v, **head_dim(d, v), **({"n_kv_heads": v} if kv_from_heads else {})}
    if key == "num_key_value_heads":
        return {"n_kv_heads": h if v is None else v}
    if key == "head_dim":
        if v is None:  # null: hidden_size // num_attention_heads, as LlamaConfig and the others have it
            return {"head_dim": d // h} if d % h == 0 else _RAISE
        return {"head_dim": v}
    direct = {"vocab_size": "vocab_size", "max_position_embeddings": "max_context", "lm_head_bias": "lm_head_bias",
              "tie_word_embeddings": "tie_embeddings", "ff_intermediate_size": "d_ff",
              "num_local_experts": "moe.n_experts", "num_experts": "moe.n_experts", "n_routed_experts": "moe.n_experts",
              "num_experts_per_tok": "moe.experts_per_token", "q_lora_rank": "mla.q_lora_rank",
              "kv_lora_rank": "mla.kv_lora_rank", "v_head_dim": "mla.v_head_dim",
              "blocksparse_block_size": "block_sparse.block_size",
              "blocksparse_num_local_blocks": "block_sparse.local_blocks",
              "blocksparse_vert_stride": "block_sparse.vert_stride",
              "blocksparse_homo_head_pattern": "block_sparse.homo_head"}
    if key in direct:
        return {direct[key]: v}
    if key == "mlp_bias" and t in ("llama", "phi3"):
        return {"mlp_bias": v}
    if key == "intermediate_size":
        return {"moe.expert_d_ff": v} if t in ("mixtral", "phimoe", "gpt_oss") else {"d_ff": v}
    if key == "moe_intermediate_size":
        return {"moe.expert_d_ff": v, **({"moe.shared_d_ff": base.moe.n_shared_experts * v} if t.startswith("deepseek")
                                         else {})}
    if key == "shared_expert_intermediate_size":
        return {"moe.shared_d_ff": v, "moe.n_shared_experts": int(v > 0), "moe.shared_expert_gate": v > 0}
    if key == "n_shared_experts":
        return {"moe.n_shared_experts": v or 0, "moe.shared_d_ff": (v or 0) * base.moe.expert_d_ff}
    if key == "first_k_dense_replace":
        return {"moe.first_dense_layers": v, "d_ff": raw["intermediate_size"] if v else 0}
    if key in ("qk_rope_head_dim", "qk_nope_head_dim"):
        other = base.mla.qk_nope_head_dim if key == "qk_rope_head_dim" else base.mla.qk_rope_head_dim
        return {f"mla.{key}": v, "head_dim": v + other}
    if key in ("decoder_sparse_step", "moe_layer_freq"):
        return {} if v == 1 else _RAISE
    if key == "mlp_only_layers":
        return {} if v == [] else _RAISE
    if key == "hidden_act":
        return _RAISE if v not in _ACT else {} if t == "gpt_oss" else {"activation": _ACT[v]}
    if key == "hidden_activation":
        v = raw.get("hidden_act") if v is None else v
        return {"activation": _ACT[v]} if v in _ACT else _RAISE
    if key == "torch_dtype":
        return {"weights_dtype": "bf16" if v is None else _DTYPE[v]} if v is None or v in _DTYPE else _RAISE
    if key == "attention_bias":
        qwen2_moe = t == "qwen2_moe" and raw.get("qkv_bias", True)
        return {"qkv_bias": v or t in ("qwen2", "phi3small", "gpt_oss") or qwen2_moe,
                "o_bias": (v and t not in ("qwen3", "qwen3_moe")) or t in ("phi3small", "gpt_oss")}
    if key == "topk_method" and t == "deepseek_v2":
        return {"moe.router_correction_bias": v == "noaux_tc"}
    if key == "sliding_window":
        if t in ("gemma2", "gemma3_text") or "layer_types" in raw:  # the layers' kinds do not depend on the window
            return {"sliding_window": v} if v is not None else _RAISE
        return _layout(("sliding",) if v is not None else ("full",), v)
    if key == "use_sliding_window":
        window = raw.get("sliding_window") if v else None
        first = raw.get("max_window_layers", n) if t == "qwen2" else 0
        return _layout(tuple("sliding" if window is not None and i >= first else "full" for i in range(n)), window)
    if key == "sliding_window_pattern":
        return _layout(tuple("sliding" if (i + 1) % v else "full" for i in range(n)), base.sliding_window)
    if key == "dense_attention_every_n_layers":
        return _layout(tuple("full" if (i + 1) % v == 0 else "block_sparse" for i in range(n)), None,
                       base.block_sparse)
    if key == "layer_types":
        if v is None:  # GptOssConfig's default: layer i slides when (i + 1) % 2
            return _layout(tuple("sliding" if (i + 1) % 2 else "full" for i in range(n)), raw["sliding_window"])
        if not (isinstance(v, list) and len(v) == n and all(k in ("full_attention", "sliding_attention") for k in v)):
            return _RAISE
        return _layout(tuple("sliding" if k == "sliding_attention" else "full" for k in v), raw["sliding_window"])
    return None


def _apply(base, updates: dict):
    """base with updates, dotted names going into the nested models."""
    top = {k: v for k, v in updates.items() if "." not in k}
    for k, v in updates.items():
        if "." in k:
            part, field = k.split(".")
            inner = top.get(part, getattr(base, part))
            top[part] = inner.model_copy(update={field: v})
    return base.model_copy(update=top)


def _near(original) -> st.SearchStrategy:
    """Values a config might plausibly hold instead of `original`: right and wrong types, edges of the bounds."""
    out = [None, True, False, 0, 1, -1, 2, "", "false", "true", [], {}]
    if isinstance(original, bool):
        out += [not original, str(original).lower(), int(original)]
    elif isinstance(original, int):
        out += [original + 1, original - 1, original * 2, original // 2, original * 10**6, float(original),
                original + 0.5, str(original), [original], MAX_LAYERS, MAX_LAYERS + 1, MAX_HEADS + 1]
    elif isinstance(original, str):
        out += [original.upper(), original + "x", "silu", "gelu", "relu", "bfloat16", "float16", "noaux_tc"]
    elif isinstance(original, list):
        out += [original[:-1], original[::-1], original + original[:1], [str(x) for x in original],
                ["full_attention"] * len(original), ["sliding_attention"] * len(original), [0], [1.0]]
    elif isinstance(original, dict):
        out += [{**original, "quant_method": "fp8"}, {**original, "quant_method": "awq"}, {"quant_method": None}]
    return st.sampled_from(out) | st.integers(-3, 300)


def _typed(key: str, original) -> st.SearchStrategy:
    """Well-typed values of `key`, mostly near the original, so that many are accepted and their meaning checked."""
    if key in _COUNTS:
        lo, hi, nullable = _COUNTS[key]
        near = original if type(original) is int else lo
        return st.integers(max(lo - 1, near // 4), min(hi + 1, near * 4 + 8)) | st.sampled_from([lo, hi, None])
    if key in _FLAGS:
        return st.booleans()
    if key in ("hidden_act", "hidden_activation"):
        return st.sampled_from([*_ACT, "tanh", None])
    if key == "torch_dtype":
        return st.sampled_from([*_DTYPE, "float64", None])
    return st.nothing()


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.integers(-2**70, 2**70) | st.floats() | st.text(max_size=6),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=4), children, max_size=3),
    max_leaves=8)


@settings(max_examples=2500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_value_in_any_key_is_read_for_what_it_means_or_refused(data):
    model = data.draw(st.sampled_from(_MODELS), label="model")
    raw, base = _CONFIGS[model], _BASES[model]
    known = sorted(k for k in raw if k in _COUNTS or k in _FLAGS or k in _NAMES or k in _STRUCTURED)
    keys = known if data.draw(st.integers(0, 3), label="known key?") else sorted(raw)  # mostly keys that are read
    key = data.draw(st.sampled_from(keys), label="key")
    value = data.draw(_near(raw[key]) | _JSON | _typed(key, raw[key]), label="value")
    try:
        spec = load({**raw, key: value})
    except ConfigImportError as e:
        assert_clean(str(e))
        assert key in str(e) or key == "model_type", str(e)  # another model_type reads other keys
        event("refused")
        return
    t = base.model_type
    if key not in _COUNTS and key not in _FLAGS and key not in _NAMES and key not in _STRUCTURED or _unread(t, key):
        assert spec == base  # a key not read changes nothing, whatever it holds
        event("read: a key not read")
        return
    assert _well_typed(key, value), f"{key}={value!r} was accepted"
    expected = _expected(model, key, value)
    assert expected is not _RAISE, f"{key}={value!r} was accepted"
    if expected is None:
        event("read: no expectation written")
        if value == raw[key] and type(value) is type(raw[key]):
            assert spec == base
        return
    event("read: as expected")
    assert "_raise" not in expected, f"{key}={value!r} was accepted"
    assert spec == _apply(base, expected)


def test_a_stray_sliding_window_in_a_family_without_one_changes_nothing():
    # LlamaConfig has no sliding_window; a fine-tune's config.json that carries one still runs full attention
    with_key = load({**LLAMA, "sliding_window": 4096})
    assert with_key.layer_pattern == ("full",) and with_key.sliding_window is None
