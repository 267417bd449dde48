"""The image encoder of a vision-language checkpoint (Gemma 3's SigLIP and projector): counted, kept 16-bit, and
left out of GGUF model files, where llama.cpp keeps it in a separate mmproj file."""

from __future__ import annotations

import pytest

from planner import WorkloadError, estimate, load_model
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


def test_vllm_profiles_as_many_images_as_its_encoder_budget_takes():
    """vLLM from 0.10.1 encodes max(1, min(budget // T, max_num_seqs × max(1, min(999, max_model_len // T)))) items
    of the largest kind in its profile run (MultiModalBudget; budget = max(max_num_batched_tokens, T)): Gemma 3's
    256-token image on an H100 (8,192 batched tokens) is 32 images, whose SigLIP forward over 32 × 4,096 patches
    (the layer's input and normed copy 1,152 each, fc1 and its GELU 4,304 each, the pixels 3 × 14²) peaks at
    2.8 GiB. V0 (to 0.7) runs one item of each kind per dummy sequence through the language model:
    Qwen2.5-VL-7B's image and frame pair, 32,768 tokens and 2, however short max_model_len is."""
    from planner.engines.vllm.profile import vllm_encoder_forward_bytes, vllm_mm_items, vllm_v0_mm_tokens

    gemma = load_model("google/gemma-3-27b-it")
    assert vllm_mm_items(gemma, max_model_len=32768, tokens=8192, max_num_seqs=1024, release=(0, 33, 0)) == (32, 256)
    forward = 32 * 4096 * (2 * 1152 + 2 * 4304 + 3 * 14 * 14) * 2
    assert vllm_encoder_forward_bytes(gemma, 32, 256) == forward and 2.7 < forward / 2**30 < 2.9
    e = estimate(gemma, engine="vllm", gpu="h100-sxm", max_model_len=32768, context=32768)
    assert e.engine_details["mm_items"] == 32 and e.activation_bytes >= forward
    qwen = load_model("Qwen/Qwen2.5-VL-7B-Instruct")
    assert vllm_v0_mm_tokens(qwen, 8192) == 2 * 16384
    v0 = estimate(qwen, engine="vllm", engine_version="0.7.3", gpu="rtx-3090", max_model_len=8192, context=8192)
    v1 = estimate(qwen, engine="vllm", engine_version="0.8.4", gpu="rtx-3090", max_model_len=8192, context=8192)
    assert v0.activation_bytes > v1.activation_bytes + 2 * 32770 * 3584 * 2


def test_limit_mm_per_prompt_picks_the_item_vllm_profiles():
    """--limit-mm-per-prompt as vLLM takes it: video=0 leaves Qwen2.5-VL's largest image (16,384 tokens) as the
    profiled item, image=0,video=0 no item at all; V0 runs the allowed items' tokens through the language model
    (Qwen2.5-VL-72B over 4 A100s at 4K with image=1,video=0: 16,386 tokens, the profile peak 2.25 GiB where its
    published 0.8 V0 log, vllm-project/vllm#16570, shows 2.51 GiB and no room for one request). A modality the model
    lacks, or a count that is none, is refused by name."""
    from planner.engines.vllm.profile import vllm_mm_items, vllm_v0_mm_tokens

    qwen = load_model("Qwen/Qwen2.5-VL-7B-Instruct")
    kw = dict(max_model_len=128000, tokens=8192, max_num_seqs=1024, release=(0, 33, 0))
    assert vllm_mm_items(qwen, **kw) == (1, 7 * 16384)
    assert vllm_mm_items(qwen, limits={"video": 0}, **kw) == (1, 16384)
    assert vllm_mm_items(qwen, limits={"image": 0, "video": 0}, **kw) == (0, 0)
    assert vllm_v0_mm_tokens(qwen, 4096, {"image": 1, "video": 0}) == 16384
    big = estimate("Qwen/Qwen2.5-VL-72B-Instruct", engine="vllm", engine_version="0.7.3", tensor_parallel_size=4,
                   gpu="a100-sxm-40gb", max_num_seqs=2, max_model_len=4096, gpu_memory_utilization=0.95,
                   context=4096, limit_mm_per_prompt={"image": 1, "video": 0})
    assert not big.fits and big.engine_details["limit_mm_per_prompt"] == "image=1,video=0"
    for bad, said in (({"audio": 1}, "takes image and video items, not 'audio'"),
                      ({"image": -1}, r"limit_mm_per_prompt\['image'\] must be a whole number")):
        with pytest.raises(WorkloadError, match=said):
            estimate(qwen, engine="vllm", gpu="h100-sxm", limit_mm_per_prompt=bad)
    with pytest.raises(WorkloadError, match="takes no images"):
        estimate("llama-3-8b", engine="vllm", gpu="h100-sxm", limit_mm_per_prompt={"image": 1})


def test_vllm_v0_runs_a_vision_model_unchunked_and_v1_takes_999_items_a_prompt():
    """V0 does not chunk a multimodal model's prefill ("Chunked prefill not supported for Multimodal or MLA in V0"):
    its batch is max_model_len even above 32K. V1 before 0.10.1 already took 999 items a prompt by default (config.py
    of 0.8.4 and 0.9.2): Gemma 3's 256-token images at 8,192 batched tokens are 32 even at max_num_seqs 8."""
    from planner.engines.vllm.profile import vllm_mm_items
    from planner.engines.vllm.releases import vllm_scheduler_defaults

    kw = dict(max_model_len=65536, gpu_memory_bytes=80 * 2**30)
    assert vllm_scheduler_defaults((0, 7, 3), multimodal=True, **kw)["max_num_batched_tokens"] == 65536
    assert vllm_scheduler_defaults((0, 7, 3), **kw)["max_num_batched_tokens"] == 2048  # a text model chunks
    gemma = load_model("google/gemma-3-27b-it")
    assert vllm_mm_items(gemma, max_model_len=32768, tokens=8192, max_num_seqs=8, release=(0, 9, 2)) == (32, 256)
