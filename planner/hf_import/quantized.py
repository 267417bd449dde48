"""A quantized checkpoint's config.json as it is: quantization_config's method, bits, group size and the modules it
leaves unquantized, as a catalog name (planner.quant.catalog: "<format>[keep=…]").

Keys read, per quant_method (transformers' quantizer configs, utils/quantization_config.py):
  gptq          bits, group_size (−1: one group per row)
  awq           bits (or w_bit), group_size (or q_group_size), modules_to_not_convert
  bitsandbytes  load_in_4bit with bnb_4bit_quant_type (nf4 / fp4) and bnb_4bit_use_double_quant, or load_in_8bit;
                llm_int8_skip_modules
  compressed-tensors  config_groups.*.weights (num_bits, type int/float, strategy, group_size, symmetric; every group
                      one scheme), ignore
  fbgemm_fp8    modules_to_not_convert (whole modules, or one layer's: "model.layers.0.mlp")
  modelopt      quant_algo FP8 or NVFP4, exclude_modules
MLX (mlx_lm convert -q) writes no quant_method but "quantization" (and the same under quantization_config):
  group_size, bits, mode (affine, the default); a checkpoint whose modules were given bits of their own (mixed recipes)
  is refused, naming one.
Module names map to categories: lm_head → output, embed_tokens → embedding, *.mlp.gate / *router* → router,
visual / vision_* / multi_modal_projector → vision, *attn* → attn, *mlp* → mlp (experts when the name says so);
"model.layers.N.<module>" keeps that module of layer N only. A name planner cannot place is an error that says so.
"""

from __future__ import annotations

import re
from typing import Any

from ..errors import ConfigImportError
from ..limits import MAX_LAYERS
from ..quant.catalog import keep_name
from .values import check_count, check_list, check_text, show_value

_LAYER = re.compile(r"^(?:model\.|language_model\.model\.)?layers\.(\d+)\.(.+)$")


def _category(module: str) -> str | None:
    m = module.lower()
    if m in ("lm_head", "output") or m.endswith(".lm_head"):
        return "output"
    if "embed_tokens" in m or m.endswith("wte"):
        return "embedding"
    if re.search(r"(^|\.)gate$", m) or "router" in m or "e_score_correction" in m:
        return "router"
    if m.startswith(("visual", "vision", "model.visual", "model.vision", "multi_modal_projector", "mm_projector")):
        return "vision"
    if "shared_expert" in m:
        return "shared_experts"
    if "experts" in m:
        return "experts"
    if "attn" in m or "attention" in m:
        return "attn"
    if "mlp" in m or "ffn" in m or "feed_forward" in m:
        return "mlp"
    return None


def kept_modules(where: str, key: str, modules: Any) -> set:
    """Categories and (category, layer) pairs the checkpoint leaves unquantized."""
    if modules is None:
        return set()
    out: set = set()
    for i, name in enumerate(check_list(where, key, modules, 100_000)):
        name = check_text(where, f"{key}[{i}]", name)
        bare = name.removeprefix("re:").strip(".*^$")
        m = _LAYER.match(bare)
        cat = _category(m[2] if m else bare)
        if cat is None:
            raise ConfigImportError(f"{where}: {key}[{i}] {name!r} names a module planner cannot place (attention, "
                                    "MLP, experts, router, embedding, lm_head or vision); load the config without it "
                                    "and pass quant=")
        if m and int(m[1]) >= MAX_LAYERS:
            raise ConfigImportError(f"{where}: {key}[{i}] {name!r}: layer {m[1]} is out of range")
        out.add((cat, int(m[1])) if m else cat)
    return out


def _bits_group(where: str, q: dict, bits_keys: tuple[str, ...], group_keys: tuple[str, ...]) -> tuple[int, int]:
    bits = next((q[k] for k in bits_keys if k in q), 4)
    group = next((q[k] for k in group_keys if k in q), 128)
    if bits not in (2, 3, 4, 8) or isinstance(bits, bool):
        raise ConfigImportError(f"{where}: quantization_config.{bits_keys[0]} must be 2, 3, 4 or 8, got "
                                f"{show_value(bits)}")
    if isinstance(group, bool) or not isinstance(group, int) or not (group == -1 or 1 <= group <= 65536):
        raise ConfigImportError(f"{where}: quantization_config.{group_keys[0]} must be −1 or a positive group size, "
                                f"got {show_value(group)}")
    return bits, group


def checkpoint_quant(where: str, method: str, q: dict) -> str:
    """The catalog name of a quantized checkpoint's weights format."""
    if method == "gptq":
        bits, group = _bits_group(where, q, ("bits",), ("group_size",))
        return keep_name(f"gptq-{bits}bit-g{group}", kept_modules(where, "quantization_config.modules_to_not_convert",
                                                                  q.get("modules_to_not_convert")))
    if method == "awq":
        bits, group = _bits_group(where, q, ("bits", "w_bit"), ("group_size", "q_group_size"))
        return keep_name(f"awq-{bits}bit-g{group}", kept_modules(where, "quantization_config.modules_to_not_convert",
                                                                 q.get("modules_to_not_convert")))
    if method == "bitsandbytes":
        keep = kept_modules(where, "quantization_config.llm_int8_skip_modules", q.get("llm_int8_skip_modules"))
        if q.get("load_in_4bit"):
            kind = check_text(where, "quantization_config.bnb_4bit_quant_type", q.get("bnb_4bit_quant_type", "fp4"),
                              ("nf4", "fp4"))
            return keep_name(kind + ("-dq" if q.get("bnb_4bit_use_double_quant") else ""), keep)
        if q.get("load_in_8bit"):
            return keep_name("bnb-int8", keep)
        raise ConfigImportError(f"{where}: quantization_config (bitsandbytes) sets neither load_in_4bit nor "
                                "load_in_8bit")
    if method == "fbgemm_fp8":
        return keep_name("fp8", kept_modules(where, "quantization_config.modules_to_not_convert",
                                             q.get("modules_to_not_convert")))
    if method == "compressed-tensors":
        return _compressed_tensors(where, q)
    if method == "modelopt":  # NVIDIA TensorRT Model Optimizer checkpoints: quant_algo FP8 or NVFP4
        algo = check_text(where, "quantization_config.quant_algo", q.get("quant_algo"), ("FP8", "NVFP4"))
        return keep_name("fp8" if algo == "FP8" else "nvfp4",
                         kept_modules(where, "quantization_config.exclude_modules", q.get("exclude_modules")))
    raise ConfigImportError(f"{where}: quantization_config.quant_method {method!r} is not supported for import "
                            "(gptq, awq, bitsandbytes, fp8, fbgemm_fp8, modelopt, compressed-tensors, mxfp4 are); "
                            "load the unquantized config and pass quant=")


def _compressed_tensors(where: str, q: dict) -> str:
    groups = q.get("config_groups")
    if not isinstance(groups, dict) or not groups:
        raise ConfigImportError(f"{where}: quantization_config.config_groups must be a non-empty object, got "
                                f"{show_value(groups)}")
    schemes = {n: g.get("weights") if isinstance(g, dict) else None for n, g in groups.items()}
    for n, w in schemes.items():
        if not isinstance(w, dict):
            raise ConfigImportError(f"{where}: quantization_config.config_groups.{n}.weights must be an object")
    shapes = {n: tuple(w.get(k) for k in ("num_bits", "type", "strategy", "group_size", "symmetric"))
              for n, w in schemes.items()}
    if len(set(shapes.values())) > 1:  # one scheme for attention, another for the MLP: no single catalog format
        raise ConfigImportError(f"{where}: quantization_config.config_groups {', '.join(shapes)} quantize their "
                                "targets differently, which planner's formats cannot say; load the unquantized config "
                                "and pass quant= (or --keep-bf16) for the nearest")
    name, w = next(iter(schemes.items()))
    key = f"quantization_config.config_groups.{name}.weights"
    bits = check_count(where, f"{key}.num_bits", w.get("num_bits"), 2, 16)
    kind = check_text(where, f"{key}.type", w.get("type", "int"), ("int", "float"))
    strategy = check_text(where, f"{key}.strategy", w.get("strategy", "tensor"),
                          ("tensor", "channel", "group", "block", "tensor_group"))
    keep = kept_modules(where, "quantization_config.ignore", q.get("ignore"))
    if kind == "float" and bits == 8:
        base = "fp8-block" if strategy == "block" else "fp8"
    elif kind == "int" and bits == 8:
        base = "int8"
    elif kind == "float" and bits == 4 and w.get("group_size") == 16:
        base = "nvfp4"
    elif kind == "int" and bits == 4:  # symmetric (its default): a scale per group or channel and no zero point
        symmetric = w.get("symmetric", True)
        if not isinstance(symmetric, bool):
            raise ConfigImportError(f"{where}: {key}.symmetric must be true or false, got {show_value(symmetric)}")
        group = w.get("group_size") or 128
        if strategy == "channel":
            base = "int4-sym-channel" if symmetric else None
        else:
            base = ({32: "int4-sym-g32", 64: "int4-sym-g64", 128: "int4-sym"} if symmetric else
                    {32: "int4-g32", 64: "int4-g64", 128: "int4"}).get(group)
        if base is None:
            raise ConfigImportError(f"{where}: {key}: planner has int4 in groups of 32, 64 and 128 (and symmetric per "
                                    f"channel), not group_size {show_value(group)} with strategy {strategy!r} and "
                                    f"symmetric {str(symmetric).lower()}")
    else:
        raise ConfigImportError(f"{where}: compressed-tensors weights of {bits}-bit {kind} are not in the catalog; "
                                "load the unquantized config and pass quant=")
    return keep_name(base, keep)


__all__ = ["checkpoint_quant", "kept_modules"]


def mlx_quant(where: str, q: Any) -> str:
    """The catalog name of an MLX checkpoint's "quantization": mlx-<bits>bit[-g<group_size>] (affine mode)."""
    if not isinstance(q, dict):
        raise ConfigImportError(f"{where}: quantization must be an object, got {show_value(q)}")
    mode = q.get("mode", "affine")
    if mode != "affine":
        raise ConfigImportError(f"{where}: quantization.mode {show_value(mode)}: planner reads MLX's affine "
                                "checkpoints; give --quant (mxfp4, mxfp8 or nvfp4) for an estimate of the others")
    mixed = sorted(k for k, v in q.items() if k not in ("group_size", "bits", "mode"))
    if mixed:
        raise ConfigImportError(f"{where}: quantization sets {mixed[0]!r} apart ({show_value(q[mixed[0]])}): "
                                "planner does not read MLX's mixed-precision recipes; give --quant (mlx-4bit, "
                                "mlx-6bit, …) for the one precision to plan")
    bits = check_count(where, "quantization.bits", q.get("bits"), 1, 8)
    group = check_count(where, "quantization.group_size", q.get("group_size"), 1, 1024)
    if bits not in (2, 3, 4, 5, 6, 8) or group not in (32, 64, 128):
        raise ConfigImportError(f"{where}: quantization bits {bits} and group_size {group}: MLX quantizes in 2, 3, "
                                "4, 5, 6 or 8 bits and groups of 32, 64 or 128")
    return f"mlx-{bits}bit" + ("" if group == 64 else f"-g{group}")
