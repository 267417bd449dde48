"""config.json reading is strict: JSON types are checked, never coerced; bounds (planner.limits) and family
invariants are checked under the config's own key names; every failure is a one-line ConfigImportError.

GGUF metadata, read as strictly, is in test_strict_config_gguf.py; the property that any value in any key is read for
what it means or refused is in test_strict_config_property.py."""

import json
import time

import pytest

from planner import ConfigImportError, load_model
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

from .conftest import fixture_config
from .strict_configs import LLAMA, assert_clean, load, refused

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
