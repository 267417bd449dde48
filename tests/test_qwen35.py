"""Qwen3.5 (the hybrid of Gated DeltaNet and gated attention layers Qwen3-Next has, dense or MoE) and Qwen3-VL, each
with the Qwen3-VL image encoder: counted as their checkpoints hold them, the encoder outside every token's step."""

import pytest

import planner
from planner import load_model
from planner.errors import ConfigImportError
from planner.hf_import import spec_from_config
from planner.tensors import vision_param_count, weight_tensors

from .conftest import fixture_config

QWEN35_MOE, QWEN35_DENSE = "Qwen/Qwen3.5-35B-A3B", "Qwen/Qwen3.5-27B"
QWEN3_VL = "Qwen/Qwen3-VL-8B-Instruct"


def test_the_35b_counts_what_its_checkpoint_holds_but_the_mtp_layer():
    # A public model-inspector report of the published checkpoint lists its safetensors: 35,951,822,704 parameters,
    # of which the mtp.* tensors (one MoE layer with its fc, norms and 256 experts) are 844,640,768. Planner does not
    # build MTP layers, as for DeepSeek-V3.
    mtp = (2048 * 4096 + 2 * 2048 + 256 * 3 * 512 * 2048 + 256 * 2048 + 3 * 512 * 2048 + 2048 + 2 * 256
           + (8192 + 512 + 512) * 2048 + 2048 * 4096 + 3 * 2048)
    assert mtp == 844_640_768
    spec = load_model(QWEN35_MOE)
    assert spec.param_count == 35_951_822_704 - mtp
    # the same report's vision tensors: Conv3d 1152×3×2×16×16 + bias, positions 2304×1152, 27 blocks (two biased
    # LayerNorms, qkv 3456×1152, proj, fc1 4304×1152, fc2, all with biases), the merger (LayerNorm 1152, fc1
    # 4608×4608, fc2 2048×4608, with biases)
    block = 2 * 2 * 1152 + 3456 * 1153 + 1152 * 1153 + 4304 * 1153 + 1152 * 4305
    tower = 1152 * 3 * 2 * 16 * 16 + 1152 + 2304 * 1152 + 27 * block + 2 * 1152 + 4608 * 4609 + 2048 * 4609
    assert vision_param_count(spec) == tower == 446_571_248
    assert spec.moe.n_experts == 256 and spec.moe.experts_per_token == 8 and spec.moe.shared_expert_gate
    assert spec.layer_kinds().count("linear") == 30 and spec.attn_output_gate and spec.d_ff == 0


def test_qwen3_vl_counts_its_deepstack_mergers():
    # A public model-inspector report of Qwen/Qwen3-VL-8B-Instruct's safetensors: 8,767,123,696 parameters; its three
    # deepstack_visual_indexes each add a merger whose LayerNorm spans the four folded patches (4608)
    spec = load_model(QWEN3_VL)
    assert spec.param_count == 8_767_123_696
    merger = 4608 * 4609 + 4096 * 4609
    assert vision_param_count(spec) == 1152 * 3 * 2 * 16 * 16 + 1152 + 2304 * 1152 + 27 * (
        4 * 1152 + 3456 * 1153 + 1152 * 1153 + 4304 * 1153 + 1152 * 4305) + 2 * 1152 + merger + 3 * (2 * 4608 + merger)
    assert load_model("Qwen/Qwen3-VL-30B-A3B-Instruct").param_count == 31_070_754_032  # its report, likewise


def test_the_dense_qwen35_has_a_dense_mlp_beside_its_linear_layers():
    spec = load_model(QWEN35_DENSE)
    assert spec.moe is None and spec.d_ff == 17408 and spec.layer_kinds().count("linear") == 48
    assert spec.linear_attention.num_value_heads == 48
    # a config without intermediate_size is refused by name, not read as an every-layer MoE
    raw = fixture_config(QWEN35_DENSE)
    raw["text_config"] = {k: v for k, v in raw["text_config"].items() if k != "intermediate_size"}
    with pytest.raises(ConfigImportError, match="intermediate_size"):
        spec_from_config(raw, name="x", source="config.json")


def test_the_image_encoder_is_held_but_never_read_by_a_token():
    spec = load_model(QWEN35_MOE)
    tower = vision_param_count(spec)
    # weights: every tensor of the checkpoint, the encoder in 16 bits
    assert planner.estimate(spec).weights_bytes == 2 * spec.param_count
    # a decode step reads the language model alone: the same speed as without the encoder
    text_only = spec.model_copy(update={"vision": None})
    speed = planner.estimate(spec, gpu="h100-sxm").decode_tokens_per_s
    assert speed == pytest.approx(planner.estimate(text_only, gpu="h100-sxm").decode_tokens_per_s, rel=1e-9)
    assert tower > 0 and spec.vision.tokens_per_image == 576  # 48 × 48 patches of 16 px, four to a token


def test_the_vision_config_is_read_strictly():
    raw = fixture_config(QWEN35_MOE)
    bad = {**raw, "vision_config": {**raw["vision_config"], "num_position_embeddings": 2300}}
    with pytest.raises(ConfigImportError, match="num_position_embeddings .*square"):
        spec_from_config(bad, name="x", source="config.json")
    bad = {**raw, "vision_config": {**raw["vision_config"], "deepstack_visual_indexes": [27]}}
    with pytest.raises(ConfigImportError, match=r"deepstack_visual_indexes\[0\]"):
        spec_from_config(bad, name="x", source="config.json")
    bad = {**raw, "vision_config": {k: v for k, v in raw["vision_config"].items() if k != "out_hidden_size"}}
    with pytest.raises(ConfigImportError, match="out_hidden_size is missing"):
        spec_from_config(bad, name="x", source="config.json")


def test_qwen3_vl_tensors_are_named_as_mmproj_files_name_them():
    names = {t.name for t in weight_tensors(load_model(QWEN3_VL)) if t.role == "vision"}
    assert {"v.patch_embd.weight", "v.position_embd.weight", "mm.fc1.weight", "mm.deepstack.2.fc2.bias"} <= names
    assert "v.post_ln.weight" not in names  # the encoder has no final norm: its merger's LayerNorm is the last


@pytest.mark.parametrize("model", [QWEN35_DENSE, QWEN35_MOE])
def test_the_language_model_caches_as_transformers_own_class(model):
    """Where transformers is installed: Qwen3.5's language model (a small copy: 4 layers, 8 experts) prefilled with
    2 × 1,000 tokens under fake tensors: the full-attention layers' KV exactly, and the recurrent state in fp32 with
    the one more convolution position transformers keeps (tests/test_hybrid.py, as for Qwen3-Next)."""
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from planner.kv import kv_cache_bytes, recurrent_state_bytes_per_sequence

    from .test_hybrid import _prefill_cache

    text = fixture_config(model)["text_config"]
    small = {**text, "num_hidden_layers": 4, "layer_types": ["linear_attention"] * 3 + ["full_attention"],
             **({"num_experts": 8, "num_experts_per_tok": 2} if "num_experts" in text else {})}
    t = spec_from_config(small, name="small", source="test")
    batch, tokens = 2, 1000
    kv, state = _prefill_cache(small, batch=batch, tokens=tokens)
    ours = batch * recurrent_state_bytes_per_sequence(t)
    assert kv_cache_bytes(t, context_len=tokens, batch=batch) - ours == kv
    assert state == ours + batch * 3 * 2 * t.linear_attention.conv_dim


def test_vllm_keeps_the_recurrent_state_in_the_dtype_the_config_asks():
    """Qwen3.5's config says mamba_ssm_dtype float32, which vLLM (from 0.17.0, its first Qwen3.5 release:
    Qwen3_5ForConditionalGenerationConfig) takes for its SSM cache: per layer and request on one GPU, 32 value heads of
    128 × 128 in fp32 beside the convolution's last 3 inputs of 8,192 channels in bf16."""
    spec = load_model(QWEN35_MOE)
    assert spec.linear_attention.ssm_dtype == "fp32" and load_model("qwen3-next").linear_attention.ssm_dtype is None
    d = planner.estimate(spec, engine="vllm", gpu="h100-sxm", max_model_len=4096, context=4096, batch=17)
    assert d.engine_details["hybrid_state_bytes"] == 32 * 128 * 128 * 4 + 3 * 8192 * 2 == 2_146_304
    assert d.engine_details["block_size"] == 1088 and not d.fits  # 12 requests of 4,096 tokens, not 17


def test_vllm_holds_the_largest_images_encoder_outputs_while_it_profiles():
    """vLLM's profile run encodes a dummy batch of the largest image and keeps the outputs in its encoder cache while
    the language model's forward is measured: for Qwen3-VL-8B 16,384 tokens (16,777,216 pixels at 32 × 32 a token)
    of 4,096, once more for each of 3 deepstack layers, in bf16: 512 MiB more than the text model's peak."""
    from planner.engines.vllm.profile import vllm_encoder_cache_bytes

    vl = load_model(QWEN3_VL)
    assert vllm_encoder_cache_bytes(vl, 1, 16384) == 16384 * 4096 * 4 * 2 == 512 * 2**20
    assert vllm_encoder_cache_bytes(load_model("qwen3-8b"), 1, 16384) == 0
    kw = dict(engine="vllm", gpu="rtx-4090", max_model_len=28672)
    text = planner.estimate("qwen3-8b", **kw)
    e = planner.estimate(vl, **kw)
    # the encoder's own forward over the image's 65,536 patches peaks first, at its MLP: the layer's input and its
    # normed copy (1,152 each), fc1 and its GELU (4,304 each), the pixels (3 × 2 × 16²), 16-bit: 1.52 GiB, above the
    # text model's 0.54 GiB; the outputs stay beside whichever is higher
    from planner.engines.vllm.profile import vllm_encoder_forward_bytes

    forward = 65536 * (2 * 1152 + 2 * 4304 + 3 * 2 * 16 * 16) * 2
    assert vllm_encoder_forward_bytes(vl, 1, 16384) == forward > text.activation_bytes
    assert e.activation_bytes == forward + 512 * 2**20
    assert not e.fits and "vLLM would not start" in e.engine_refusal  # the text model fits; the VLM does not
