"""The image encoder of a vision-language config.json (Gemma 3's SigLIP, Llama 4's, Qwen3-VL's, Qwen2.5-VL's,
Mistral 3's Pixtral), read beside its language model."""

from __future__ import annotations

import math
from typing import Any

from ..errors import ConfigImportError
from ..limits import MAX_LAYERS
from .families import VISION_BOUNDS
from .values import check_count, check_flag, check_list, show_value


def _vision_tower(raw: Any, where: str) -> dict | None:
    """The image encoder of a vision-language wrapper config (TOWERS: its model_type's reader) as VisionTower fields;
    None for a text-only config. Every size must be in the config: no text-model default stands in for one."""
    kind = raw.get("model_type") if isinstance(raw, dict) else None
    if not isinstance(kind, str) or kind not in TOWERS or raw.get("vision_config") is None:
        return None  # (a model_type of another JSON type is refused by the language model's reader)
    v, at = raw["vision_config"], f"{where} vision_config"
    if not isinstance(v, dict):
        raise ConfigImportError(f"{at} must be an object, got {show_value(v)}")
    return TOWERS[kind](raw, v, where, at)


def _siglip_tower(raw: dict, v: dict, where: str, at: str) -> dict:
    """Gemma3Config.vision_config, a SiglipVisionConfig without its pooling head, and the wrapper's
    mm_tokens_per_image."""
    if check_flag(at, "vision_use_head", v.get("vision_use_head", False)):
        raise ConfigImportError(f"{at}: vision_use_head true is not supported (Gemma 3's encoder has no head)")
    return {**_encoder(v, at),
            "tokens_per_image": check_count(where, "mm_tokens_per_image", raw.get("mm_tokens_per_image", 256),
                                            *VISION_BOUNDS["mm_tokens_per_image"])}


def _llama4_tower(raw: dict, v: dict, where: str, at: str) -> dict:
    """Llama4VisionConfig as VisionTower fields: its encoder, the pixel-shuffle adapter (projector_input_dim wide, out
    to projector_output_dim, which must be vision_output_dim, what the multi-modal projector reads) and the tokens an
    image tile takes, (image_size / patch_size)² patches merged 1 / pixel_shuffle_ratio² into one."""
    def size(key: str) -> int:
        return _size(v, at, key)

    ratio = v.get("pixel_shuffle_ratio")
    if isinstance(ratio, bool) or not isinstance(ratio, (int, float)) or not 0 < ratio <= 1 \
            or abs(1 / ratio**2 - round(1 / ratio**2)) > 1e-9:
        raise ConfigImportError(f"{at}: pixel_shuffle_ratio must be 1/n for a whole n (0.5 merges 4 patches), got "
                                f"{show_value(ratio)}")
    shuffle = round(1 / ratio**2)
    if size("projector_output_dim") != size("vision_output_dim"):
        raise ConfigImportError(f"{at}: projector_output_dim ({size('projector_output_dim')}) must equal "
                                f"vision_output_dim ({size('vision_output_dim')}), the projector's input")
    encoder = _encoder(v, at)
    patches = (encoder["image_size"] // encoder["patch_size"]) ** 2
    return {**encoder, "kind": "llama4", "projector": "llama4", "tokens_per_image": max(1, patches // shuffle),
            "adapter_dim": size("projector_input_dim"), "output_dim": size("projector_output_dim"), "shuffle": shuffle}


def _qwen_vl_tower(raw: dict, v: dict, where: str, at: str) -> dict:
    """Qwen3-VL's and Qwen3.5's vision config (Qwen3VLVisionConfig) as VisionTower fields: depth layers of
    hidden_size over patch_size² × temporal_patch_size patches, a learned position table of num_position_embeddings
    (a square grid), a merger folding spatial_merge_size² patches into one token of out_hidden_size, and one more
    merger per deepstack_visual_indexes entry. Its images take any resolution; planner's image is the one its
    position table spans, √num_position_embeddings patches a side (Qwen3-VL: 48 × 16 = 768 pixels, 576 tokens)."""
    def size(key: str) -> int:
        return _size(v, at, key)

    side = math.isqrt(size("num_position_embeddings"))
    if side * side != size("num_position_embeddings"):
        raise ConfigImportError(f"{at}: num_position_embeddings ({size('num_position_embeddings')}) must be a square, "
                                "the grid of its learned positions")
    merge = size("spatial_merge_size")
    deep = check_list(at, "deepstack_visual_indexes", v.get("deepstack_visual_indexes", []), MAX_LAYERS)
    layers = size("depth")
    for i, layer in enumerate(deep):
        check_count(at, f"deepstack_visual_indexes[{i}]", layer, 0, layers - 1)
    patch = size("patch_size")
    return {"n_layers": layers, "d_model": size("hidden_size"), "d_ff": size("intermediate_size"),
            "n_heads": size("num_heads"), "patch_size": patch, "image_size": side * patch,
            "channels": _size(v, at, "in_channels", 3), "kind": "qwen3_vl", "projector": "qwen3_vl",
            "tokens_per_image": max(1, side * side // merge**2), "output_dim": size("out_hidden_size"),
            "shuffle": merge**2, "temporal_patch": size("temporal_patch_size"), "deepstack": len(deep)}


# Qwen2.5-VL's processor resizes an image to at most max_pixels (preprocessor_config.json: 12,845,056 = 16,384 tokens
# of 28 × 28 pixels); planner's image is that largest one, 3,584 pixels a side, as vLLM's profile run takes it
QWEN25_VL_MAX_PIXELS = 12_845_056
# Qwen2_5_VLVisionConfig's defaults (transformers 4.57 / 5.x), which re-saves by transformers 4.49-4.51 leave out
# wherever a checkpoint's value equals them (Qwen's own Qwen2.5-VL-72B-Instruct-AWQ config keeps only hidden_size,
# intermediate_size and out_hidden_size); its hidden_size default, 3,584, is no checkpoint's, which all state 1,280
QWEN25_VL_VISION_DEFAULTS = {"depth": 32, "hidden_size": 3584, "intermediate_size": 3420, "num_heads": 16,
                             "patch_size": 14, "spatial_merge_size": 2, "temporal_patch_size": 2,
                             "out_hidden_size": 3584}


def _qwen25_vl_tower(raw: dict, v: dict, where: str, at: str) -> dict:
    """Qwen2.5-VL's vision config (Qwen2_5_VLVisionConfig) as VisionTower fields: depth layers of hidden_size over
    patch_size² × temporal_patch_size patches (2-D RoPE: no position table, any resolution), windowed attention in
    all but fullatt_block_indexes (no weights of its own), and a merger folding spatial_merge_size² patches into one
    token of out_hidden_size. Its image is the processor's largest (QWEN25_VL_MAX_PIXELS)."""
    def size(key: str) -> int:  # a key left out is the class default, as transformers reads it
        return _size(v, at, key, QWEN25_VL_VISION_DEFAULTS[key])

    patch, merge = size("patch_size"), size("spatial_merge_size")
    side = math.isqrt(QWEN25_VL_MAX_PIXELS) // (patch * merge)  # tokens a side of the largest square image
    channels = _size(v, at, "in_channels") if "in_channels" in v else _size(v, at, "in_chans", 3)
    return {"n_layers": size("depth"), "d_model": size("hidden_size"), "d_ff": size("intermediate_size"),
            "n_heads": size("num_heads"), "patch_size": patch, "image_size": side * patch * merge,
            "channels": channels, "kind": "qwen2_5_vl", "projector": "qwen2_5_vl", "tokens_per_image": side * side,
            "output_dim": size("out_hidden_size"), "shuffle": merge**2, "temporal_patch": size("temporal_patch_size")}


def _pixtral_tower(raw: dict, v: dict, where: str, at: str) -> dict:
    """Mistral3Config's Pixtral encoder (vision_config, a PixtralVisionConfig) and its projector: the patch merger folds
    spatial_merge_size² patches into one token, and the processor ends each row of tokens with [IMG_BREAK] (the last
    with [IMG_END]), so an image of image_size pixels (its largest), n = image_size / patch_size / spatial_merge_size
    tokens a side, takes n × (n + 1) (Mistral Small 3.1: 1,540 pixels, 55 × 56 = 3,080 tokens)."""
    if check_flag(where, "multimodal_projector_bias", raw.get("multimodal_projector_bias", False)):
        raise ConfigImportError(f"{where}: multimodal_projector_bias true is not supported (Mistral Small 3.1's "
                                "projector has no bias)")
    if v.get("model_type", "pixtral") != "pixtral":
        raise ConfigImportError(f"{at}: model_type {show_value(v.get('model_type'))} is not supported; Mistral 3's "
                                "encoder is 'pixtral'")
    merge = check_count(where, "spatial_merge_size", raw.get("spatial_merge_size", 2),
                        *VISION_BOUNDS["spatial_merge_size"])
    encoder = _encoder(v, at)
    side = max(1, encoder["image_size"] // encoder["patch_size"] // merge)
    return {**encoder, "kind": "pixtral", "projector": "mistral3", "shuffle": merge**2,
            "tokens_per_image": side * (side + 1)}


def _encoder(v: dict, at: str) -> dict:
    """The ViT fields SigLIP's, Llama 4's and Pixtral's configs name alike: layers, widths, heads, patches, channels."""
    return {"n_layers": _size(v, at, "num_hidden_layers"), "d_model": _size(v, at, "hidden_size"),
            "d_ff": _size(v, at, "intermediate_size"), "n_heads": _size(v, at, "num_attention_heads"),
            "patch_size": _size(v, at, "patch_size"), "image_size": _size(v, at, "image_size"),
            "channels": _size(v, at, "num_channels", 3)}


def _size(v: dict, at: str, key: str, default: int | None = None) -> int:
    """A size of vision_config: present (or defaulted), a JSON integer within VISION_BOUNDS; every size must be in the
    config, no text-model default stands in for one."""
    value = v.get(key, default)
    if value is None:
        raise ConfigImportError(f"{at}: {key} is missing")
    return check_count(at, key, value, *VISION_BOUNDS[key])


# each wrapper model_type whose vision_config planner reads → its reader (Qwen3.5's is Qwen3-VL's ViT)
TOWERS = {"gemma3": _siglip_tower, "llama4": _llama4_tower, "mistral3": _pixtral_tower, "qwen2_5_vl": _qwen25_vl_tower,
          **dict.fromkeys(("qwen3_vl", "qwen3_vl_moe", "qwen3_5", "qwen3_5_moe"), _qwen_vl_tower)}
