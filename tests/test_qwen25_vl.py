"""Qwen2.5-VL: Qwen2.5's language model with an image encoder of RMSNorm layers and gated MLPs (no learned positions)
and one patch merger, counted as its checkpoints hold it; its config.json in both layouts the Hub carries; the engines'
first releases; the video vLLM's profile run encodes."""

import json

import pytest

import planner
from planner import load_model
from planner.engines.common import arch_key
from planner.errors import ConfigImportError, WorkloadError
from planner.hf_import import spec_from_config
from planner.tensors import vision_param_count, weight_tensors

from .conftest import fixture_config

SIZES = ("3B", "7B", "32B", "72B")


def _block(ff: int) -> int:
    """One vision block: two RMSNorms (1,280 each), qkv 3,840 × 1,280 and proj with biases, gate/up/down with biases."""
    return 2 * 1280 + 3840 * 1281 + 1280 * 1281 + 2 * ff * 1281 + 1280 * (ff + 1)


def _tower(ff: int, out: int) -> int:
    """Conv3d 1,280 × 3 × 2 × 14 × 14 (no bias), 32 blocks, the merger: RMSNorm 1,280, 5,120² and out × 5,120 with
    biases."""
    return 1280 * 3 * 2 * 14 * 14 + 32 * _block(ff) + 1280 + 5120 * 5121 + out * 5121


@pytest.mark.parametrize("size, total, tower", [
    # mteb's GVE-3B and GVE-7B ModelMeta (adapted from Qwen2.5-VL-3B/7B-Instruct): n_parameters 3,754,622,976 and
    # 8,292,166,656; OpenExplorer/Qwen2.5-VL-7B-Instruct's card: "Total 8.292B, ViT 676.6M, LM 7.616B"; a Qwen2.5-VL-7B
    # index's metadata.total_size 16,584,333,312 B (bf16: 2 bytes a parameter); Lingshu-32B (a Qwen2.5-VL-32B
    # fine-tune): 33,452,718,336 parameters, 66,905,436,672 B. The 72B: its published text count (72,706,203,648,
    # HfApi's parameter_count of Qwen2.5-72B-Instruct) and its encoder
    ("3B", 3_754_622_976, _tower(3420, 2048)),
    ("7B", 8_292_166_656, _tower(3420, 3584)),
    ("32B", 33_452_718_336, _tower(3456, 5120)),
    ("72B", 72_706_203_648 + _tower(3456, 8192), _tower(3456, 8192)),
])
def test_counts_as_its_checkpoints(size, total, tower):
    spec = load_model(f"Qwen/Qwen2.5-VL-{size}-Instruct")
    assert spec.param_count == total and vision_param_count(spec) == tower
    assert spec.model_type == "qwen2" and spec.qkv_bias and not spec.o_bias and arch_key(spec) == "qwen2_5_vl"
    assert _block(3420) == 19_702_200  # the torchinfo of the 3B's printed model


def test_the_7b_checkpoint_is_16_6_gb():
    assert load_model("qwen2.5-vl-7b").param_count * 2 == 16_584_333_312


def test_its_image_is_the_processors_largest():
    v = load_model("qwen2.5-vl-7b").vision
    assert (v.image_size, v.tokens_per_image, v.shuffle, v.output_dim) == (3584, 16384, 4, 3584)
    names = {t.name for t in weight_tensors(load_model("qwen2.5-vl-7b")) if t.role == "vision"}
    assert {"v.patch_embd.weight", "v.blk.31.ffn_gate.bias", "v.post_ln.weight", "mm.2.bias"} <= names
    assert "v.position_embd.weight" not in names and "v.patch_embd.bias" not in names  # 2-D RoPE, unbiased Conv3d


def test_both_config_layouts_read_alike():
    """Qwen's uploads keep the text fields at the top beside vision_config; transformers from 4.52 re-saves them under
    text_config (model_type qwen2_5_vl_text) and keeps the top-level copies, and writes in_channels for in_chans."""
    flat = fixture_config("Qwen/Qwen2.5-VL-7B-Instruct")
    text = {k: v for k, v in flat.items() if k not in ("vision_config", "architectures")}
    vision = {**{k: v for k, v in flat["vision_config"].items() if k != "in_chans"}, "in_channels": 3}
    nested = {**flat, "text_config": {**text, "model_type": "qwen2_5_vl_text"}, "vision_config": vision}
    a = spec_from_config(flat, name="a", source="config.json")
    b = spec_from_config(nested, name="a", source="config.json")
    assert a == b and a.vision.channels == 3


def test_a_trimmed_vision_config_reads_its_class_defaults_and_a_bad_size_is_named():
    """transformers 4.49-4.51 re-saves leave out every vision key equal to Qwen2_5_VLVisionConfig's default: Qwen's
    own Qwen2.5-VL-72B-Instruct-AWQ config keeps only hidden_size, in_chans, intermediate_size, out_hidden_size,
    spatial_patch_size and tokens_per_second; read with the defaults, as transformers reads it, it is the full one."""
    full = fixture_config("Qwen/Qwen2.5-VL-72B-Instruct")
    trimmed = {**full, "vision_config": {"hidden_size": 1280, "in_chans": 3, "intermediate_size": 3456,
                                         "model_type": "qwen2_5_vl", "out_hidden_size": 8192,
                                         "spatial_patch_size": 14, "tokens_per_second": 2}}
    assert spec_from_config(trimmed, name="a", source="c").vision == spec_from_config(full, name="a",
                                                                                      source="c").vision
    raw = fixture_config("Qwen/Qwen2.5-VL-3B-Instruct")
    raw["vision_config"]["depth"] = -1
    with pytest.raises(ConfigImportError, match="depth"):
        spec_from_config(raw, name="x", source="config.json")
    raw = fixture_config("Qwen/Qwen2.5-VL-3B-Instruct")
    raw["vision_config"]["spatial_merge_size"] = 0
    with pytest.raises(ConfigImportError, match="spatial_merge_size"):
        spec_from_config(json.loads(json.dumps(raw)), name="x", source="config.json")


def test_engines_date_it():
    spec = load_model("qwen2.5-vl-7b")
    # vLLM 0.7.1's model registry has Qwen2VLForConditionalGeneration only; 0.7.2's adds Qwen2_5_VL…
    with pytest.raises(WorkloadError, match="0.7.2"):
        planner.estimate(spec, engine="vllm", engine_version="0.7.1", gpu="h100-sxm", max_model_len=8192)
    planner.estimate(spec, engine="vllm", engine_version="0.7.2", gpu="h100-sxm", max_model_len=8192)
    # Ollama's model/models/qwen25vl arrived in v0.7.0 (ollama/ollama#10385)
    with pytest.raises(WorkloadError, match="0.7.0"):
        planner.estimate(spec, engine="ollama", engine_version="0.6.8", gpu="rtx-4090", quant="q4_k_m")
    # llama.cpp runs its language model as Qwen2-VL's architecture (qwen2vl, #10361 at b4327)
    with pytest.raises(WorkloadError, match="b4327"):
        planner.estimate(spec, engine="llama.cpp", engine_version="b4300", gpu="rtx-4090", quant="q4_k_m",
                         context=4096)


def test_vllm_profiles_the_largest_video():
    """Qwen2.5-VL's largest multimodal item is a video of 3,584² frames (16,384 tokens each two frames), as many
    frames as max_model_len holds, at most 14 (vLLM 0.33 qwen2_vl.py): its encoder outputs, 3,584 wide in bf16, sit
    beside the language model's profile peak."""
    from planner.engines.vllm.profile import vllm_encoder_cache_bytes, vllm_mm_items

    spec = load_model("qwen2.5-vl-7b")
    kw = dict(tokens=8192, max_num_seqs=1024, release=(0, 33, 0))
    assert vllm_mm_items(spec, max_model_len=128000, **kw) == (1, 7 * 16384)  # 14 frames: 784 MiB of outputs
    assert vllm_mm_items(spec, max_model_len=32768, **kw) == (1, 2 * 16384)
    assert vllm_mm_items(spec, max_model_len=8192, **kw) == (1, 16384)  # one frame pair whatever the length
    # 0.8.4-0.10 built the video for max_num_batched_tokens: one frame pair at 128K too
    assert vllm_mm_items(spec, max_model_len=128000, **{**kw, "release": (0, 10, 1)}) == (1, 16384)
    assert vllm_encoder_cache_bytes(spec, 1, 7 * 16384) == 7 * 16384 * 3584 * 2
    # before them the encoder's forward over the video's 458,752 patches (16,384 tokens × 4 merged, 7 frame pairs)
    # peaks at its MLP: the layer's input and normed copy (1,280 each), gate_up and its product (3 × 3,420), the
    # pixels (3 × 2 × 14²), 16-bit: 12 GiB, far above the language model's profile peak
    from planner.engines.vllm.profile import vllm_encoder_forward_bytes

    forward = 7 * 16384 * 4 * (2 * 1280 + 3 * 3420 + 3 * 2 * 14 * 14) * 2
    assert vllm_encoder_forward_bytes(spec, 1, 7 * 16384) == forward and 11.9 < forward / 2**30 < 12
    e = planner.estimate(spec, engine="vllm", gpu="h100-sxm", max_model_len=128000)
    assert e.activation_bytes == forward + 7 * 16384 * 3584 * 2
    # a 24 GB card: 15.5 GiB of weights and that peak leave no KV cache at 128K (at 32K, 4 frames: 3.4 GiB)
    assert not planner.estimate(spec, engine="vllm", gpu="rtx-4090").fits
    assert planner.estimate(spec, engine="vllm", gpu="rtx-4090", max_model_len=32768).fits
