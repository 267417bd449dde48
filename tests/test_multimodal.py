"""The image encoder of a vision-language checkpoint (Gemma 3's SigLIP and projector): counted, kept 16-bit, and
left out of GGUF model files, where llama.cpp keeps it in a separate mmproj file."""

from __future__ import annotations

import pytest

from planner import estimate, load_model
from planner.errors import ConfigImportError
from planner.hf_import import spec_from_config
from planner.weights import weights_breakdown

from .conftest import fixture_config

GEMMA3 = "google/gemma-3-27b-it"
# transformers' Gemma3ForConditionalGeneration from the published config, on the meta device: the parameters of
# model.vision_tower and model.multi_modal_projector (tests/test_param_counts.py checks the whole model's count)
VISION_PARAMS = 423_060_336


def test_gemma3_vision_tower_is_counted_exactly():
    spec = load_model(GEMMA3)
    v = spec.vision
    assert (v.n_layers, v.d_model, v.d_ff, v.patch_size, v.image_size, v.tokens_per_image) == (
        27, 1152, 4304, 14, 896, 256)
    # by hand: patch embedding with bias, 4,096 learned positions, 27 layers (q/k/v/out with biases, fc1 and fc2
    # with biases, two LayerNorms), the final LayerNorm, then the projector's (1152 × 5376) weight and RMSNorm
    layer = 4 * (1152 * 1152 + 1152) + (1152 * 4304 + 4304) + (4304 * 1152 + 1152) + 4 * 1152
    by_hand = 1152 * 3 * 14 * 14 + 1152 + 4096 * 1152 + 27 * layer + 2 * 1152 + 1152 * 5376 + 1152
    assert by_hand == VISION_PARAMS
    text_only = spec.model_copy(update={"vision": None})
    assert spec.param_count - text_only.param_count == VISION_PARAMS
    assert round(spec.param_count / 1e9, 1) == 27.4  # the model card's 27.4B counts the encoder


def test_the_encoder_stays_16_bit_and_gguf_files_leave_it_out():
    spec = load_model(GEMMA3)
    for quant in ("bf16", "int4", "fp8", "awq-4bit"):
        assert weights_breakdown(spec, quant)["vision"] == VISION_PARAMS * 2, quant
    for quant in ("q4_k_m", "q8_0"):
        assert weights_breakdown(spec, quant)["vision"] == 0  # mmproj-*.gguf is its own file
        assert estimate(spec, quant=quant).weights_bytes == estimate(
            spec.model_copy(update={"vision": None}), quant=quant).weights_bytes


def test_text_only_configs_have_no_encoder():
    assert load_model("google/gemma-3-1b-it").vision is None
    assert "vision" not in {k for k, v in weights_breakdown(load_model("meta-llama/Llama-3.1-8B"), "bf16").items()
                            if v}


@pytest.mark.parametrize("change, message", [
    ({"vision_use_head": True}, "vision_use_head"),
    ({"patch_size": None}, "patch_size is missing"),
    ({"hidden_size": "1152"}, "hidden_size"),
])
def test_bad_vision_config_names_the_key(change, message):
    raw = fixture_config(GEMMA3)
    raw["vision_config"] = {**raw["vision_config"], **change}
    with pytest.raises(ConfigImportError, match=message):
        spec_from_config(raw, name="m", source="test")
