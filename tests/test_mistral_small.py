"""Mistral Small 3.1 and 3.2: Mistral Small 3's 24B language model with a Pixtral image encoder and Mistral 3's
patch-merging projector, as the checkpoint holds them."""

import pytest

import planner
from planner import load_model
from planner.errors import ConfigImportError
from planner.hf_import import spec_from_config
from planner.tensors import vision_param_count

from .conftest import fixture_config

SMALL31 = "mistralai/Mistral-Small-3.1-24B-Instruct-2503"


def test_the_encoder_and_projector_as_the_checkpoint_holds_them():
    spec = load_model(SMALL31)
    # PixtralVisionModel: patch Conv2d 1024×3×14×14 without bias, an RMSNorm, 24 layers (two RMSNorms, q/k/v/o
    # 1024², gated MLP 3 × 4096×1024); Mistral3MultiModalProjector: RMSNorm, patch merger 1024×4096, linear_1
    # 5120×1024, linear_2 5120² (multimodal_projector_bias false)
    layer = 2 * 1024 + 4 * 1024**2 + 3 * 4096 * 1024
    assert vision_param_count(spec) == 1024 * 3 * 14 * 14 + 1024 + 24 * layer + 1024 + 1024 * 4096 + 5120 * 1024 \
        + 5120**2 == 438_958_080
    # the language model is Mistral Small 3's (bundled as Mistral-Small-24B-Instruct-2501), head untied
    text = load_model("mistralai/Mistral-Small-24B-Instruct-2501")
    assert spec.param_count - vision_param_count(spec) == text.param_count and not spec.tie_embeddings
    # its largest image: 2 × 2 patches a token, 55 × 55 of them, each row closed by [IMG_BREAK] or [IMG_END]
    assert spec.vision.tokens_per_image == 55 * 56 == 3080
    assert load_model("mistral-small-3.2").param_count == spec.param_count


def test_an_image_encoder_is_weights_not_a_step():
    spec = load_model(SMALL31)
    e = planner.estimate(spec, gpu="h100-sxm", context=8192)
    assert e.weights_bytes == 2 * spec.param_count
    assert planner.estimate(spec.model_copy(update={"vision": None}), gpu="h100-sxm",
                            context=8192).decode_tokens_per_s == pytest.approx(e.decode_tokens_per_s, rel=1e-9)
    # a GGUF file holds the language model; llama.cpp loads the encoder from its mmproj file
    gguf = planner.estimate(SMALL31, quant="q4_k_m", engine="llama.cpp", gpu="rtx-4090", context=8192, mmproj=True)
    assert gguf.engine_details["mmproj_bytes"] == 2 * vision_param_count(spec)


def test_what_planner_does_not_build_is_refused_by_name():
    raw = fixture_config(SMALL31)
    with pytest.raises(ConfigImportError, match="multimodal_projector_bias true is not supported"):
        spec_from_config({**raw, "multimodal_projector_bias": True}, name="x", source="config.json")
    bad = {**raw, "vision_config": {**raw["vision_config"], "model_type": "siglip_vision_model"}}
    with pytest.raises(ConfigImportError, match="model_type 'siglip_vision_model' is not supported"):
        spec_from_config(bad, name="x", source="config.json")
