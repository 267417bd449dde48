"""config.json import: family defaults, errors that name the field, no code execution."""

import json
from pathlib import Path

import pytest

from planner import ConfigImportError, ModelSpec, UnknownModelError, load_model
from planner.hf_import import SUPPORTED_MODEL_TYPES, spec_from_config

from .conftest import FIXTURES, fixture_config

LLAMA = fixture_config("meta-llama/Meta-Llama-3-8B")


def test_folder_and_file_both_work(write_config):
    folder = write_config(LLAMA)
    assert load_model(folder).param_count == load_model(folder / "config.json").param_count == 8_030_261_248


def test_unknown_model_type_lists_supported(write_config):
    with pytest.raises(ConfigImportError, match="model_type 'bert' is not supported; planner reads [0-9]+ model "
                                                "types, which .planner models --types. lists"):
        load_model(write_config({**LLAMA, "model_type": "bert"}))


def test_a_popular_family_not_modelled_yet_says_what_is_missing(write_config):
    """Gemma 4 (config values: research/gemma4.md) is refused with its reason, not pointed at gemma3's rules."""
    gemma4 = {"model_type": "gemma4", "text_config": {"model_type": "gemma4_text", "global_head_dim": 512}}
    with pytest.raises(ConfigImportError, match="model_type 'gemma4' is not supported yet: Gemma 4's full-attention "
                                                "layers have their own head size") as e:
        load_model(write_config(gemma4))
    assert "did you mean" not in str(e.value)


def test_missing_field_is_named():
    # A real, truncated copy of Phi-3-small-128k's config.json: it stops before vocab_size.
    with pytest.raises(ConfigImportError, match="required field 'vocab_size' is missing"):
        load_model(FIXTURES / "incomplete" / "microsoft__Phi-3-small-128k-instruct.json")


def test_invalid_json_is_reported(tmp_path):
    bad = tmp_path / "config.json"
    bad.write_text("{not json")
    with pytest.raises(ConfigImportError, match="not valid JSON"):
        load_model(bad)


def test_impossible_architecture_names_fields_and_values(write_config):
    with pytest.raises(ConfigImportError, match=r"n_heads \(32\) must be a multiple of n_kv_heads \(5\)"):
        load_model(write_config({**LLAMA, "num_key_value_heads": 5}))


def test_negative_size_names_the_field(write_config):
    with pytest.raises(ConfigImportError, match="d_model"):
        load_model(write_config({**LLAMA, "hidden_size": -1}))


def test_gemma_ties_embeddings_unless_told_otherwise():
    raw = fixture_config("google/gemma-7b")
    raw.pop("tie_word_embeddings", None)
    tied = spec_from_config(raw, name="g", source="t")
    untied = spec_from_config({**raw, "tie_word_embeddings": False}, name="g", source="t")
    assert tied.tie_embeddings and not untied.tie_embeddings
    assert untied.param_count - tied.param_count == raw["vocab_size"] * raw["hidden_size"]


def test_explicit_null_sliding_window_means_full_attention():
    # Mistral's config class defaults sliding_window to 4096; v0.3's config.json sets it to null.
    v03 = spec_from_config(fixture_config("mistralai/Mistral-7B-v0.3"), name="m", source="t")
    v01 = spec_from_config(fixture_config("mistralai/Mistral-7B-v0.1"), name="m", source="t")
    assert v03.sliding_window is None and v01.sliding_window == 4096


def test_qwen3_moe_head_dim_comes_from_config_not_hidden_over_heads():
    spec = load_model(FIXTURES / "configs" / "Qwen__Qwen3-30B-A3B.json")
    assert spec.head_dim == 128 and spec.d_model // spec.n_heads == 64


def test_quantized_checkpoints_keep_their_storage():
    assert load_model("deepseek-v3").weights_dtype == "fp8-block"
    assert load_model("gpt-oss-20b").weights_dtype == "mxfp4"


def test_every_listed_model_type_imports(write_config):
    assert {"llama", "mistral", "mixtral", "qwen2", "qwen2_moe", "qwen3", "qwen3_moe", "gemma", "gemma2", "gemma3",
            "gemma3_text", "phi3", "phi3small", "phimoe", "deepseek_v2", "deepseek_v3", "gpt_oss"} <= \
        set(SUPPORTED_MODEL_TYPES)


def test_gemma3_multimodal_wrapper_reads_text_config():
    raw = fixture_config("google/gemma-3-27b-it")
    assert raw["model_type"] == "gemma3"
    assert spec_from_config(raw, name="g", source="t").n_layers == raw["text_config"]["num_hidden_layers"]


def test_never_executes_code_from_the_folder(write_config, tmp_path):
    marker = tmp_path / "pwned"
    folder = write_config({**LLAMA, "auto_map": {"AutoConfig": "evil.EvilConfig"}})
    (folder / "evil.py").write_text(f"open({str(marker)!r}, 'w').write('x')\n")
    load_model(folder)
    assert not marker.exists()


def test_spec_rejects_window_without_sliding_layers():
    spec = load_model("llama-3-8b").model_dump()
    with pytest.raises(ValueError, match=r"layer_pattern \['full'\] and sliding_window \(4096\) disagree"):
        ModelSpec(**{**spec, "sliding_window": 4096})


def test_spec_rejects_unknown_fields_and_weights_dtype():
    spec = load_model("llama-3-8b").model_dump()
    with pytest.raises(ValueError, match="n_experts"):
        ModelSpec(**{**spec, "n_experts": 8})
    with pytest.raises(ValueError, match="unknown quant 'bf17'"):
        ModelSpec(**{**spec, "weights_dtype": "bf17"})


def test_config_json_must_be_an_object(write_config, tmp_path):
    p = tmp_path / "config.json"
    p.write_text(json.dumps([1, 2]))
    with pytest.raises(ConfigImportError, match="JSON object"):
        load_model(p)


def test_unbundled_hub_id_fetches_config_json_when_huggingface_hub_is_there(monkeypatch):
    import sys
    import types

    calls = []

    def fake_download(repo_id, filename):
        calls.append((repo_id, filename))
        return str(FIXTURES / "configs" / "TinyLlama__TinyLlama-1.1B-Chat-v1.0.json")

    size = (FIXTURES / "configs" / "TinyLlama__TinyLlama-1.1B-Chat-v1.0.json").stat().st_size
    monkeypatch.setitem(sys.modules, "huggingface_hub", types.SimpleNamespace(
        hf_hub_download=fake_download, hf_hub_url=lambda repo, name: f"{repo}/{name}",
        get_hf_file_metadata=lambda url: types.SimpleNamespace(size=size)))  # the size is asked first
    spec = load_model("someone/TinyLlama-1.1B-finetune")  # an id no profile has
    assert calls == [("someone/TinyLlama-1.1B-finetune", "config.json")]
    assert spec.name == "someone/TinyLlama-1.1B-finetune" and spec.source.startswith("https://huggingface.co/")


def test_unbundled_hub_id_offline_gives_close_matches(monkeypatch):
    import sys
    import types

    def offline(*args):
        raise OSError("network unreachable")

    monkeypatch.setitem(sys.modules, "huggingface_hub", types.SimpleNamespace(
        hf_hub_download=offline, hf_hub_url=lambda repo, name: f"{repo}/{name}", get_hf_file_metadata=offline))
    with pytest.raises(UnknownModelError, match="unknown model 'meta-llama/Llama-3.1-8C'.*Llama-3.1-8B"):
        load_model("meta-llama/Llama-3.1-8C")


def test_a_config_file_with_its_own_name_names_the_model(tmp_path):
    """A config saved as qwen2.5-7b-config.json is named by its file; a config.json by its folder."""
    from planner import load_model

    raw = (Path(__file__).parent / "fixtures" / "configs" / "Qwen__Qwen2.5-7B.json").read_text()
    (tmp_path / "dl").mkdir()
    (tmp_path / "dl" / "qwen2.5-7b-config.json").write_text(raw)
    (tmp_path / "dl" / "config.json").write_text(raw)
    assert load_model(str(tmp_path / "dl" / "qwen2.5-7b-config.json")).name == "qwen2.5-7b-config"
    assert load_model(str(tmp_path / "dl" / "config.json")).name == "dl"
