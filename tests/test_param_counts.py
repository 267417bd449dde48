"""spec.param_count against published exact counts, for bundled profiles and imported config.json files."""

import pytest

from planner import list_models, load_model
from planner.hf_import import spec_from_config

from .conftest import FIXTURES, fixture_config

# Published exact counts. KH = keras-team/keras-hub keras_hub/src/models/<family>/<family>_presets.py
# (metadata.params, snapshot 71453d08, 2026-08-21); TS = model.safetensors.index.json metadata.total_size / 2
# (bf16/fp16 checkpoints), as quoted in public copies listed in research notes.
PUBLISHED = {
    "meta-llama/Meta-Llama-3-8B": 8_030_261_248,        # KH llama3_8b_en; TS 16,060,522,496
    "meta-llama/Llama-3.1-8B": 8_030_261_248,           # KH llama3.1_8b
    "meta-llama/Llama-2-7b-hf": 6_738_415_616,          # KH llama2_7b_en
    "meta-llama/Llama-3.1-70B": 70_553_706_496,         # TS 141,107,412,992 (meta-llama/Llama-3.1-70B@349b2ddb)
    "meta-llama/Llama-3.2-3B": 3_212_749_824,           # TS 6,425,499,648
    "mistralai/Mistral-7B-v0.1": 7_241_732_096,         # KH mistral_7b_en; TS 14,483,464,192
    "mistralai/Mistral-7B-v0.3": 7_248_023_552,         # KH mistral_0.3_7b_en; TS 14,496,047,104
    "mistralai/Mistral-Nemo-Base-2407": 12_247_782_400,  # TS 24,495,564,800
    "mistralai/Mixtral-8x7B-v0.1": 46_702_792_704,      # KH mixtral_8_7b_en; TS 93,405,585,408
    "microsoft/Phi-3-mini-4k-instruct": 3_821_079_552,  # KH phi3_mini_4k_instruct_en; TS 7,642,159,104
    "microsoft/Phi-3-mini-128k-instruct": 3_821_079_552,  # KH phi3_mini_128k_instruct_en
    "Qwen/Qwen2.5-7B": 7_615_616_512,                   # TS 15,231,233,024 (= KH qwen2.5_math_7b_en)
    "Qwen/Qwen2.5-14B": 14_770_033_664,                 # TS 29,540,067,328
    "Qwen/Qwen2.5-32B": 32_763_876_352,                 # KH qwen2.5_instruct_32b_en; TS 65,527,752,704
    "Qwen/Qwen2.5-72B": 72_706_203_648,                 # KH qwen2.5_instruct_72b_en; TS 145,412,407,296
    "Qwen/Qwen3-8B": 8_190_735_360,                     # KH qwen3_8b_en; TS 16,381,470,720
    "Qwen/Qwen3-32B": 32_762_123_264,                   # KH qwen3_32b_en; TS 65,524,246,528
    "google/gemma-2-9b": 9_241_705_984,                 # KH gemma2_9b_en
    "google/gemma-2-27b": 27_227_128_320,               # KH gemma2_27b_en
    "deepseek-ai/DeepSeek-V2-Lite": 15_706_484_224,     # TS 31,412,968,448
    "openai/gpt-oss-20b": 20_914_757_184,               # KH gpt_oss_20b_en
    "openai/gpt-oss-120b": 116_829_156_672,             # KH gpt_oss_120b_en
    "meta-llama/Meta-Llama-3-8B-Instruct": 8_030_261_248,  # KH llama3_instruct_8b_en
    "Qwen/Qwen2.5-72B-Instruct": 72_706_203_648,        # KH qwen2.5_instruct_72b_en
    "Qwen/Qwen2.5-3B-Instruct": 3_085_938_688,          # KH qwen2.5_3b_en (the same layers)
    "Qwen/Qwen3-0.6B": 596_049_920,                     # KH qwen3_0.6b_en (tied: the head is the embedding)
    "Qwen/Qwen3-4B": 4_022_468_096,                     # KH qwen3_4b_en
    "Qwen/Qwen3-14B": 14_768_307_200,                   # KH qwen3_14b_en
    "Qwen/Qwen3-235B-A22B": 235_093_634_560,            # KH qwen3_moe_235b_a22b_en
    "Qwen/Qwen3-235B-A22B-Instruct-2507": 235_093_634_560,  # the same layers as KH qwen3_moe_235b_a22b_en
    "Qwen/QwQ-32B": 32_763_876_352,                     # Qwen2.5-32B's layers: KH qwen2.5_instruct_32b_en
    "Qwen/Qwen2-7B-Instruct": 7_615_616_512,            # Qwen2.5-7B's layers: TS 15,231,233,024
    "Qwen/Qwen1.5-MoE-A2.7B": 14_315_784_192,           # KH qwen1.5_moe_2.7b_en
    "google/gemma-7b": 8_537_680_896,                   # KH gemma_7b_en
    "google/gemma-3-1b-it": 999_885_952,                # KH gemma3_instruct_1b
    "Qwen/Qwen2.5-0.5B": 494_032_768,                   # KH qwen2.5_0.5b_en
    # KH mistral3 mistral_small_3.1_24b_*_2503_en (Pixtral encoder included); 3.2 has the same shapes
    "mistralai/Mistral-Small-3.1-24B-Instruct-2503": 24_011_361_280,
    "mistralai/Mistral-Small-3.2-24B-Instruct-2506": 24_011_361_280,
}

# Newer families against their model cards' rounded totals (total, active; billions) — each card at
# https://huggingface.co/<id>; OLMo 2's "7B/13B/32B" name the size only, so they are held to 5 %.
CARD_TOTALS = {
    "allenai/OLMo-2-1124-7B": (7.3, None, 0.05),        # OLMo 2 paper (arXiv:2501.00656) Table: 7.30 B
    "allenai/OLMo-2-1124-13B": (13.7, None, 0.05),      # OLMo 2 paper: 13.7 B
    "allenai/OLMo-2-0325-32B": (32.2, None, 0.05),      # OLMo 2 32B card: "32B"; 32.2 B in its release post
    "allenai/OLMoE-1B-7B-0924": (6.9, 1.3, 0.02),       # OLMoE paper (arXiv:2409.02060): 6.9 B total, 1.3 B active
    "zai-org/GLM-4.5-Air": (106, 12, 0.01),             # GLM-4.5 card: 106 B total, 12 B active (without MTP)
    "moonshotai/Kimi-K2-Instruct": (1000, 32, 0.03),    # Kimi-K2 card: 1 T total, 32 B activated
    "Qwen/Qwen3-Next-80B-A3B-Instruct": (80, 3, 0.01),  # card: 80 B total, 3 B activated
    "ai21labs/AI21-Jamba-1.5-Mini": (52, 12, 0.01),     # card: 52 B total, 12 B active
    "microsoft/Phi-4-mini-instruct": (3.8, None, 0.01),  # card: 3.8 B
    "TinyLlama/TinyLlama-1.1B-Chat-v1.0": (1.1, None, 0.01),  # card: 1.1 B
}


@pytest.mark.parametrize("model_id,card", CARD_TOTALS.items())
def test_newer_families_match_their_cards(model_id, card):
    total, active, tolerance = card
    spec = load_model(model_id)
    assert abs(spec.param_count / 1e9 / total - 1) <= tolerance
    if active is not None:  # planner's active count includes the embedding and head; cards count them or not
        tables = spec.vocab_size * spec.d_model * (1 if spec.tie_embeddings else 2)
        assert min(abs(n / 1e9 / active - 1) for n in (spec.active_param_count, spec.active_param_count - tables)) \
            <= 0.15

# Model types we do not bundle, imported from their config.json (tests/fixtures/configs).
NOT_BUNDLED = {
    "Qwen/Qwen1.5-MoE-A2.7B": 14_315_784_192,   # qwen2_moe; KH qwen1.5_moe_2.7b_en
    "Qwen/Qwen3-30B-A3B": 30_532_122_624,       # qwen3_moe; KH qwen3_moe_30b_a3b_en; TS 61,064,245,248
    "google/gemma-7b": 8_537_680_896,           # gemma; KH gemma_7b_en
    "google/gemma-3-1b-it": 999_885_952,        # gemma3_text; KH gemma3_instruct_1b
    "Qwen/Qwen2.5-0.5B": 494_032_768,           # qwen2, tied; KH qwen2.5_0.5b_en
}


@pytest.mark.parametrize("model_id,expected", PUBLISHED.items())
def test_bundled_profile_reproduces_published_count(model_id, expected):
    assert load_model(model_id).param_count == expected


@pytest.mark.parametrize("model_id,expected", NOT_BUNDLED.items())
def test_imported_config_reproduces_published_count(model_id, expected):
    path = FIXTURES / "configs" / (model_id.replace("/", "__") + ".json")
    assert load_model(str(path)).param_count == expected


def test_phi3_small_is_7_39b_with_tied_embeddings():
    # Model card: 7.39B; tied embeddings, vocab 100352, GEGLU, biases on every linear and LayerNorm.
    spec = load_model("microsoft/Phi-3-small-8k-instruct")
    assert spec.param_count == 7_392_272_384
    assert round(spec.param_count / 1e9, 2) == 7.39


def test_phi35_moe_is_41_9b_total_6_6b_active():
    # Model card of microsoft/Phi-3.5-MoE-instruct: 41.9B parameters, 6.6B active.
    spec = load_model("microsoft/Phi-3.5-MoE-instruct")
    assert round(spec.param_count / 1e9, 1) == 41.9
    assert round(spec.active_param_count / 1e9, 1) == 6.6


def test_deepseek_v3_main_model_is_671b_without_mtp():
    # DeepSeek-V3 README_WEIGHTS: 671B main model; the 11.5B multi-token-prediction module is not loaded.
    assert round(load_model("deepseek-ai/DeepSeek-V3").param_count / 1e9) == 671


@pytest.mark.parametrize("model_id,active_b", [
    ("openai/gpt-oss-120b", 5.1),  # gpt-oss model card: 5.1B active parameters per token
    ("openai/gpt-oss-20b", 3.6),   # gpt-oss model card: 3.6B active
])
def test_active_parameters_without_embedding_table_match_model_card(model_id, active_b):
    # OpenAI counts active parameters without the token-embedding table (a lookup, not a matmul).
    spec = load_model(model_id)
    assert round((spec.active_param_count - spec.vocab_size * spec.d_model) / 1e9, 1) == active_b


def test_mixtral_active_parameters_match_model_card():
    # Mistral AI's Mixtral announcement: 46.7B total, 12.9B used per token.
    assert round(load_model("mixtral-8x7b").active_param_count / 1e9, 1) == 12.9


def test_llama_3_8b_by_hand():
    # 2 * 128256 * 4096 embeddings+head, 32 layers of (2*4096^2 + 2*4096*1024 + 3*4096*14336 + 2*4096), final norm.
    per_layer = 2 * 4096**2 + 2 * 4096 * 1024 + 3 * 4096 * 14336 + 2 * 4096
    assert load_model("llama-3-8b").param_count == 2 * 128256 * 4096 + 32 * per_layer + 4096


def test_a_modified_config_changes_the_count():
    raw = fixture_config("meta-llama/Meta-Llama-3-8B")
    base = spec_from_config(raw, name="x", source="test").param_count
    wider = spec_from_config({**raw, "intermediate_size": 14336 + 256}, name="x", source="test").param_count
    assert wider - base == 32 * 3 * 4096 * 256


def _transformers_count(config: dict) -> int:
    """Parameters of transformers' own causal-LM class for `config`, built on the meta device (no memory), plus
    the e_score_correction_bias buffers DeepSeek-style routers keep in the checkpoint."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoModelForImageTextToText

    # rope scaling changes no parameter (and some fixtures abbreviate its factor lists)
    cfg = {k: v for k, v in config.items() if k not in ("quantization_config", "torch_dtype", "dtype", "rope_scaling")}
    cfg["model_type"] = {"kimi_k2": "deepseek_v3"}.get(cfg["model_type"], cfg["model_type"])
    text = cfg.get("text_config")
    if isinstance(text, dict) and isinstance(text.get("attn_temperature_tuning"), int):  # Llama 4's published 4: a
        cfg["text_config"] = {**text, "attn_temperature_tuning": bool(text["attn_temperature_tuning"])}  # flag in 5.x
    # a vision-language config: the whole checkpoint's class (Qwen3.5's causal-LM class is its language model alone)
    auto = AutoModelForImageTextToText if cfg.get("vision_config") is not None else AutoModelForCausalLM
    with torch.device("meta"):
        model = auto.from_config(AutoConfig.for_model(**cfg))
    return sum(p.numel() for p in model.parameters()) + sum(
        b.numel() for name, b in model.named_buffers() if name.endswith("e_score_correction_bias"))


# remote code (Phi-3-small), or
# a class transformers builds otherwise than the checkpoint stores (gpt-oss: MXFP4 blocks; Mistral Small 3's head)
NOT_COMPARABLE = {"microsoft/Phi-3-small-8k-instruct", "microsoft/Phi-3-small-128k-instruct",
                  "openai/gpt-oss-20b", "openai/gpt-oss-120b",
                  # transformers 5's Mistral3Config ties the head by default (its config.json does not say), where
                  # the checkpoint and its text_config do not: 24,011,361,280 less the 671,088,640 of the lm_head
                  "mistralai/Mistral-Small-3.1-24B-Instruct-2503", "mistralai/Mistral-Small-3.2-24B-Instruct-2506"}


@pytest.mark.parametrize("model_id", [m for m in list_models() if m not in NOT_COMPARABLE
                                      and (FIXTURES / "configs" / (m.replace("/", "__") + ".json")).is_file()])
def test_every_bundled_profile_counts_what_transformers_builds(model_id):
    """Where transformers is installed: each bundled profile's count equals transformers' own class built from
    the same published config.json."""
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    assert load_model(model_id).param_count == _transformers_count(fixture_config(model_id))
