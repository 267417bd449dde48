"""Model types added after the first 17: GLM-4.5/4.6 (glm4_moe), Kimi-K2 (kimi_k2, DeepSeek-V3's class), Granite
(granite, granitemoe) and OLMo 2 / OLMoE (olmo2, olmoe). Parameter counts are checked against transformers' own
classes built on the meta device (where transformers is installed) and against the totals the model cards publish."""

from __future__ import annotations

import pytest

from planner.hf_import import SUPPORTED_MODEL_TYPES, spec_from_config
from planner.training import train_estimate

# zai-org/GLM-4.5-Air config.json, as modelscope/ms-swift's docs print its Glm4MoeConfig
GLM45_AIR = {"architectures": ["Glm4MoeForCausalLM"], "attention_bias": True, "first_k_dense_replace": 1,
             "head_dim": 128, "hidden_act": "silu", "hidden_size": 4096, "intermediate_size": 10944,
             "max_position_embeddings": 131072, "model_type": "glm4_moe", "moe_intermediate_size": 1408, "n_group": 1,
             "n_routed_experts": 128, "n_shared_experts": 1, "norm_topk_prob": True, "num_attention_heads": 96,
             "num_experts_per_tok": 8, "num_hidden_layers": 46, "num_key_value_heads": 8,
             "num_nextn_predict_layers": 1, "partial_rotary_factor": 0.5, "rope_theta": 1000000,
             "routed_scaling_factor": 1.0, "tie_word_embeddings": False, "topk_group": 1, "torch_dtype": "bfloat16",
             "use_qk_norm": False, "vocab_size": 151552}
# zai-org/GLM-4.5: the keys that differ from the Air model (as quoted in public tooling that pins the config)
GLM45 = {**GLM45_AIR, "hidden_size": 5120, "intermediate_size": 12288, "num_hidden_layers": 92,
         "n_routed_experts": 160, "moe_intermediate_size": 1536, "first_k_dense_replace": 3, "use_qk_norm": True}
# moonshotai/Kimi-K2-Instruct config.json (model_type kimi_k2, architectures DeepseekV3ForCausalLM)
KIMI_K2 = {"architectures": ["DeepseekV3ForCausalLM"], "model_type": "kimi_k2", "hidden_size": 7168,
           "intermediate_size": 18432, "moe_intermediate_size": 2048, "num_hidden_layers": 61,
           "num_attention_heads": 64, "num_key_value_heads": 64, "kv_lora_rank": 512, "q_lora_rank": 1536,
           "qk_nope_head_dim": 128, "qk_rope_head_dim": 64, "v_head_dim": 128, "n_routed_experts": 384,
           "n_shared_experts": 1, "num_experts_per_tok": 8, "moe_layer_freq": 1, "first_k_dense_replace": 1,
           "topk_method": "noaux_tc", "max_position_embeddings": 131072, "tie_word_embeddings": False,
           "vocab_size": 163840, "torch_dtype": "bfloat16"}
GRANITE = {"architectures": ["GraniteForCausalLM"], "model_type": "granite", "hidden_size": 4096,
           "intermediate_size": 12800, "num_hidden_layers": 40, "num_attention_heads": 32, "num_key_value_heads": 8,
           "vocab_size": 49159, "max_position_embeddings": 131072, "tie_word_embeddings": True,
           "embedding_multiplier": 12.0, "residual_multiplier": 0.22, "attention_multiplier": 0.0078125,
           "logits_scaling": 16.0, "torch_dtype": "bfloat16"}

# allenai/OLMo-2-1124-7B config.json
OLMO2 = {"architectures": ["Olmo2ForCausalLM"], "model_type": "olmo2", "hidden_size": 4096, "intermediate_size": 11008,
         "num_hidden_layers": 32, "num_attention_heads": 32, "num_key_value_heads": 32, "vocab_size": 100352,
         "max_position_embeddings": 4096, "rms_norm_eps": 1e-06, "rope_theta": 500000, "attention_bias": False,
         "tie_word_embeddings": False, "hidden_act": "silu", "torch_dtype": "float32"}
# allenai/OLMoE-1B-7B-0924 config.json
OLMOE = {"architectures": ["OlmoeForCausalLM"], "model_type": "olmoe", "hidden_size": 2048, "intermediate_size": 1024,
         "num_hidden_layers": 16, "num_attention_heads": 16, "num_key_value_heads": 16, "num_experts": 64,
         "num_experts_per_tok": 8, "vocab_size": 50304, "max_position_embeddings": 4096, "tie_word_embeddings": False,
         "torch_dtype": "bfloat16"}
# ibm-granite/granite-3.1-3b-a800m-instruct config.json (granitemoe)
GRANITE_MOE = {"architectures": ["GraniteMoeForCausalLM"], "model_type": "granitemoe", "hidden_size": 1536,
               "intermediate_size": 512, "num_hidden_layers": 32, "num_attention_heads": 24, "num_key_value_heads": 8,
               "num_local_experts": 40, "num_experts_per_tok": 8, "vocab_size": 49155,
               "max_position_embeddings": 131072, "tie_word_embeddings": True, "torch_dtype": "bfloat16"}
CONFIGS = {"olmoe": OLMOE, "granite-moe": GRANITE_MOE, "glm-4.5": GLM45, "glm-4.5-air": GLM45_AIR, "kimi-k2": KIMI_K2,
           "granite": GRANITE, "olmo-2": OLMO2}


def test_new_types_are_listed():
    assert {"glm4_moe", "kimi_k2", "granite", "olmo2", "olmoe", "granitemoe"} <= set(SUPPORTED_MODEL_TYPES)


@pytest.mark.parametrize("config, total_b, active_b", [
    # model cards: GLM-4.5 "355 billion total parameters and 32 billion active parameters" (with its MTP layer,
    # which transformers does not build: 352.8 B here); GLM-4.5-Air "106 billion total ... 12 billion active";
    # Kimi-K2 "1 trillion total parameters", "32 billion activated parameters"
    # OLMoE-1B-7B: "1B active and 7B total parameters" (its paper: 6.9 B total, 1.3 B active); granite-3.1-3b-a800m:
    # "3.3B parameters ... 800M active"
    (GLM45, 355, 32), (GLM45_AIR, 106, 12), (KIMI_K2, 1000, 32), (OLMOE, 6.9, 1.3), (GRANITE_MOE, 3.3, 0.8),
])
def test_published_totals(config, total_b, active_b):
    spec = spec_from_config(config, name="m", source="test")
    assert abs(spec.param_count / 1e9 - total_b) / total_b < 0.03
    assert abs(spec.active_param_count / 1e9 - active_b) / active_b < 0.15


@pytest.mark.parametrize("config", CONFIGS.values(), ids=CONFIGS)
def test_param_count_equals_transformers_own_class(config):
    """Every parameter transformers builds (and GLM's e_score_correction_bias buffer, which the checkpoint holds)."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from transformers import AutoConfig, AutoModelForCausalLM

    spec = spec_from_config(config, name="m", source="test")
    cfg = {**config, "model_type": "deepseek_v3" if config["model_type"] == "kimi_k2" else config["model_type"]}
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(AutoConfig.for_model(**cfg))
    counted = sum(p.numel() for p in model.parameters()) + sum(
        b.numel() for name, b in model.named_buffers() if name.endswith("e_score_correction_bias"))
    assert spec.param_count == counted


def test_glm_layout():
    spec = spec_from_config(GLM45, name="glm", source="test")
    assert spec.qkv_bias and not spec.o_bias and spec.qk_norm and spec.moe.first_dense_layers == 3
    assert spec.moe.router_correction_bias and spec.moe.n_shared_experts == 1 and spec.head_dim == 128
    air = spec_from_config(GLM45_AIR, name="air", source="test")
    assert not air.qk_norm and air.sliding_window is None


def test_kimi_runs_deepseek_v3s_class_and_the_estimators():
    spec = spec_from_config(KIMI_K2, name="kimi", source="test")
    assert spec.model_type == "deepseek_v3" and spec.mla.q_lora_rank == 1536
    assert train_estimate(spec, method="qlora").total_bytes > 0


def test_olmo2_norms_all_heads_at_once():
    spec = spec_from_config(OLMO2, name="olmo", source="test")
    assert spec.qk_norm and not spec.qk_norm_per_head and spec.weights_dtype == "fp32"


@pytest.mark.parametrize("name", ["glm-4.5-air", "granite", "olmo-2", "olmoe", "granite-moe"])
def test_estimate_agrees_with_the_reference_model(name):
    """The PyTorch reference model built from the imported spec at full size under fake tensors."""
    pytest.importorskip("torch")
    from planner.validate import validate

    spec = spec_from_config(CONFIGS[name], name=name, source="test")
    r = validate(spec, mode="fake", quant="bf16", context=2048)
    assert all(abs(r["error"][k]) <= tol for k, tol in
               {"weights_bytes": 0.005, "kv_cache_bytes": 0.005, "activation_bytes": 0.10}.items()), r["error"]


@pytest.mark.parametrize("family, options, published_b", [
    # transformers' config defaults are these models' shapes: HuggingFaceTB/SmolLM3-3B ("3B"),
    # baidu/ERNIE-4.5-0.3B ("0.36B")
    ("SmolLM3Config", {}, 3.08), ("Ernie4_5Config", {}, 0.36), ("Ernie4_5Config", {"use_bias": True}, 0.36),
])
def test_llama_like_families_equal_transformers(family, options, published_b):
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    config = getattr(transformers, family)(**options)
    spec = spec_from_config(config.to_dict(), name=family, source="test")
    with torch.device("meta"):
        model = transformers.AutoModelForCausalLM.from_config(config)
    assert spec.param_count == sum(p.numel() for p in model.parameters())
    assert abs(spec.param_count / 1e9 - published_b) / published_b < 0.02
