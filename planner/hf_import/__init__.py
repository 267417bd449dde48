"""config.json → ModelSpec, for the model types listed in SUPPORTED_MODEL_TYPES.

Reads JSON only; nothing from the model folder is ever executed (no trust_remote_code).
Where config.json omits a key, the value is the default of that family's transformers config
class (e.g. Gemma ties embeddings unless told otherwise), named in FAMILY_DEFAULTS.

Reading is strict. Every key read goes through one typed accessor: a count is a JSON integer within the
bounds of planner.limits (not 8.0, "8" or true), a switch is a JSON bool (not "false"), a name a JSON string;
nothing is coerced. Each family's invariants are checked under the config's own key names, and every failure
is a ConfigImportError whose one line names the source, the key and the value. num_hidden_layers is read and
bounded first, so no per-layer work is ever done for a hostile layer count.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ..errors import ConfigImportError, close_matches
from ..limits import MAX_CONFIG_BYTES, MAX_D_FF, MAX_HEAD_DIM
from ..spec import MLA, ModelSpec
from .config import _MISSING, _Config
from .families import (
    ACTIVATIONS,
    ALIASES,
    DTYPES,
    FAMILY_DEFAULTS,
    QWEN_NEXT,
    SUPPORTED_MODEL_TYPES,
    TEXT_AT_TOP,
    WRAPPERS,
)
from .layers import _attention_layout
from .mixers import _indexer, _linear_attention, _mamba, _mamba1, _mla, _moe
from .values import SPEC_FIELDS, check_count, check_flag, check_list, check_text, parse_json, show_value
from .vision import _vision_tower

__all__ = ["FAMILY_DEFAULTS", "SUPPORTED_MODEL_TYPES", "check_count", "check_flag", "check_list", "check_text",
           "load_config_json", "parse_json", "show_value", "spec_from_config"]

def spec_from_config(raw: dict, *, name: str, source: str) -> ModelSpec:
    """A ModelSpec from a parsed config.json; `name` and `source` say where it came from.

    Every failure is a ConfigImportError naming `source`, the config.json key and its value."""
    vision = _vision_tower(raw, source)
    raw, model_type = _language_model(raw, source)
    c = _Config(raw, model_type, source)
    try:
        spec = _spec(c, name)
        return spec if vision is None else ModelSpec.model_validate({**spec.model_dump(), "vision": vision})
    except ValidationError as e:  # a rule of ModelSpec no check here anticipated: reworded with config.json keys
        raise ConfigImportError(_validation_message(e, c)) from None


def _language_model(raw: Any, where: str) -> tuple[dict, str]:
    """The config object of the language model and its model_type (one of FAMILY_DEFAULTS)."""
    if not isinstance(raw, dict):
        raise ConfigImportError(f"{where}: config.json must hold a JSON object, got {type(raw).__name__}")
    model_type = raw.get("model_type")
    if isinstance(model_type, str) and model_type in WRAPPERS:  # Gemma3Config, Llama4Config, …: the text_config
        text = raw.get("text_config")
        if text is None and model_type in TEXT_AT_TOP:  # Qwen2.5-VL's own config.json: the text fields at the top
            text = {k: x for k, x in raw.items() if k != "vision_config"} | {"model_type": WRAPPERS[model_type]}
        if not isinstance(text, dict):
            raise ConfigImportError(f"{where}: text_config must be an object for model_type {model_type!r}, "
                                    f"got {show_value(text)}")
        text = dict(text)
        text.setdefault("torch_dtype", raw.get("torch_dtype"))
        if "tie_word_embeddings" in raw:  # Qwen3-VL's and Qwen3.5's configs say it at the top
            text.setdefault("tie_word_embeddings", raw["tie_word_embeddings"])
        for key in ("quantization_config", "quantization"):  # a quantized checkpoint says so at the top
            if raw.get(key) is not None:
                text.setdefault(key, raw[key])
        raw, model_type = text, WRAPPERS[model_type]
    if isinstance(model_type, str) and model_type in ALIASES:
        model_type = ALIASES[model_type]
    if isinstance(model_type, str) and model_type in NOT_YET:
        raise ConfigImportError(f"{where}: model_type {model_type!r} is not supported yet: {NOT_YET[model_type]}")
    if not isinstance(model_type, str) or model_type not in FAMILY_DEFAULTS:
        near = close_matches(model_type, SUPPORTED_MODEL_TYPES, 3) if isinstance(model_type, str) else []
        raise ConfigImportError(f"{where}: model_type {show_value(model_type)} is not supported"
                                + (f"; did you mean {', '.join(near)}?" if near else "")
                                + f"; planner reads {len(SUPPORTED_MODEL_TYPES)} model types, which `planner models "
                                  "--types` lists")
    return raw, model_type


# Popular families whose architecture planner does not model yet, with what is missing (a near name such as gemma3
# would be the wrong advice for them).
NOT_YET = {
    "gemma4": "Gemma 4's full-attention layers have their own head size (global_head_dim 512) and KV heads "
              "(num_global_key_value_heads), its small models share KV caches across layers and add per-layer "
              "embeddings, which planner does not model; its figures would be wrong",
    "gemma4_text": "see gemma4",
    "gemma4_unified": "see gemma4",
    "gemma3n": "Gemma 3n shares KV caches across layers and adds per-layer embeddings and AltUp, which planner does "
               "not model; its figures would be wrong",
    "gemma3n_text": "see gemma3n",
}
NOT_YET = {k: NOT_YET[v.removeprefix("see ")] if v.startswith("see ") else v for k, v in NOT_YET.items()}


def _spec(c: _Config, name: str) -> ModelSpec:
    t = c.model_type
    n_layers = c.count("num_hidden_layers")  # first: it bounds every per-layer step below
    d_model, n_heads = c.count("hidden_size"), c.count("num_attention_heads")
    mla = _mla(c)
    moe = _moe(c, n_layers)
    qwen2_moe_qkv_bias = c.flag("qkv_bias") if t == "qwen2_moe" else False
    attention_bias, mlp_bias = c.flag("attention_bias"), c.flag("mlp_bias")
    if t == "ernie4_5":  # Ernie4_5Config.use_bias: the attention and the MLP linears
        attention_bias = mlp_bias = c.flag("use_bias")
    if t == "minimax_m2":  # MiniMaxM2Attention's and its experts' linears have no bias, whatever a key says
        attention_bias = mlp_bias = False
    tie, lm_head_bias = c.flag("tie_word_embeddings"), c.flag("lm_head_bias")
    if tie and lm_head_bias:
        raise ConfigImportError(f"{c.where}: tie_word_embeddings and lm_head_bias are both true, but a tied "
                                "lm_head has no bias of its own")
    if t == "phi3small":
        d_ff = c.count("ff_intermediate_size")
    elif t == "granitemoehybrid" and moe is None:  # no experts: the shared MLP is the layer's MLP
        d_ff = c.count("shared_intermediate_size")
    elif moe is not None and moe.first_dense_layers == 0 and moe.layer_period == 1:
        d_ff = 0  # every layer is MoE: intermediate_size is not read
    elif t == "llama4_text":  # Llama4TextMLP(config, intermediate_size=config.intermediate_size_mlp) between them
        d_ff = c.count("intermediate_size_mlp")
    else:
        d_ff = c.count("intermediate_size")
    return ModelSpec(
        name=name, source=c.where, model_type=t, n_layers=n_layers, d_model=d_model, n_heads=n_heads,
        n_kv_heads=_kv_heads(c, n_heads, mla), head_dim=_head_dim(c, d_model, n_heads, mla), d_ff=d_ff,
        vocab_size=c.count("vocab_size"), max_context=c.count("max_position_embeddings"), tie_embeddings=tie,
        rope_type=_rope_type(c), activation=_activation(c),
        qkv_bias=attention_bias or t in ("qwen2", "phi3small", "gpt_oss") or qwen2_moe_qkv_bias,
        o_bias=attention_bias and t not in ("qwen3", "qwen3_moe", *QWEN_NEXT, "glm4_moe") or t in ("phi3small",
                                                                                                "gpt_oss"),
        mlp_bias=mlp_bias or t in ("phi3small", "gpt_oss"), lm_head_bias=lm_head_bias,
        qkv_fused=t in ("phi3", "phi3small"), gate_up_fused=t in ("phi3", "phi3small"),
        norm="layernorm" if t in ("phi3small", "phimoe") else "rmsnorm",
        norm_bias=t in ("phi3small", "phimoe"),
        norms_per_layer=4 if t in ("gemma2", "gemma3_text") else 2,
        qk_norm=t in ("qwen3", "qwen3_moe", *QWEN_NEXT, "gemma3_text", "olmo2", "olmoe") or (
            t == "glm4_moe" and c.flag("use_qk_norm")) or (t == "minimax_m2" and _minimax_qk_norm(c)),
        linear_attention=_linear_attention(c), attn_output_gate=t in QWEN_NEXT, mamba=_mamba(c, d_model),
        mamba1=_mamba1(c, d_model),
        qk_norm_per_head=t not in ("olmo2", "olmoe", "minimax_m2"),
        attention_sinks=t == "gpt_oss", moe=moe, mla=mla, indexer=_indexer(c, mla),
        weights_dtype=_weights_dtype(c),
        **_attention_layout(c, n_layers),
    )



# rope_scaling types planner reads by name (transformers' ROPE_INIT_FUNCTIONS and the older "su"); "default" and
# "mrope" (Qwen2.5-VL's multimodal sections, plain RoPE otherwise) are none
ROPE_TYPES = ("linear", "dynamic", "yarn", "longrope", "su", "llama3")


def _rope_type(c) -> str | None:
    """rope_scaling's (or transformers 5's rope_parameters') rope_type / type, where it scales; None for plain RoPE."""
    scaling = c.raw.get("rope_scaling") or c.raw.get("rope_parameters")
    if not isinstance(scaling, dict):
        return None
    kind = scaling.get("rope_type", scaling.get("type"))
    return kind if kind in ROPE_TYPES else None

def _minimax_qk_norm(c: _Config) -> bool:
    # MiniMaxM2Attention: q_norm over num_attention_heads × head_dim and k_norm over num_key_value_heads × head_dim
    # (one RMSNorm over all heads, as OLMo 2's). The config's use_qk_norm switches them; of its qk_norm_type only
    # "per_layer", the kind the published configs name and transformers builds, is read
    c.text("qk_norm_type", choices=("per_layer",))
    return c.flag("use_qk_norm")


def _kv_heads(c: _Config, n_heads: int, mla: MLA | None) -> int:
    # transformers' config classes: num_key_value_heads=None means num_attention_heads (no GQA). An absent key
    # takes the family default, or num_attention_heads where the class has none (Llama, Phi-3, DeepSeek).
    kv = c.count("num_key_value_heads", None, nullable=True)
    kv = n_heads if kv is None else kv
    if mla is not None and kv != n_heads:
        raise ConfigImportError(f"{c.where}: num_key_value_heads ({kv}) must equal num_attention_heads ({n_heads}): "
                                "multi-head latent attention decompresses one K/V per query head")
    if n_heads % kv:  # each KV head serves a whole group of query heads (repeat_kv in transformers' attention)
        raise ConfigImportError(f"{c.where}: num_attention_heads ({n_heads}) must be a multiple of num_key_value_heads "
                                f"({kv}) (spec: n_heads ({n_heads}) must be a multiple of n_kv_heads ({kv}))")
    return kv


def _head_dim(c: _Config, d_model: int, n_heads: int, mla: MLA | None) -> int:
    if mla is not None:  # MLA: query/key heads are qk_nope_head_dim + qk_rope_head_dim wide; head_dim is not read
        head_dim = mla.qk_nope_head_dim + mla.qk_rope_head_dim
        if head_dim > MAX_HEAD_DIM:
            raise ConfigImportError(f"{c.where}: qk_nope_head_dim + qk_rope_head_dim ({head_dim}) must be at most "
                                    f"{MAX_HEAD_DIM}")
        return head_dim
    head_dim = c.count("head_dim", None, nullable=True)
    if head_dim is not None:
        return head_dim
    # LlamaConfig and the others: head_dim = hidden_size // num_attention_heads when absent or null; their attention
    # raised "hidden_size must be divisible by num_heads" on a remainder, so a remainder is refused here.
    if d_model % n_heads:
        raise ConfigImportError(f"{c.where}: hidden_size ({d_model}) must be a multiple of num_attention_heads "
                                f"({n_heads}) when head_dim is not given")
    if d_model // n_heads > MAX_HEAD_DIM:
        raise ConfigImportError(f"{c.where}: hidden_size / num_attention_heads ({d_model} / {n_heads}) is the "
                                f"head_dim, which must be at most {MAX_HEAD_DIM}")
    return d_model // n_heads


def _activation(c: _Config) -> str:
    # Gemma's classes read hidden_activation, and hidden_act where hidden_activation is explicitly null.
    key = "hidden_act"
    if c.model_type.startswith("gemma"):
        if c.raw.get("hidden_activation", _MISSING) is not None:
            key = "hidden_activation"
        elif "hidden_act" not in c.raw:
            raise ConfigImportError(f"{c.where}: hidden_activation is null and hidden_act is missing")
    act = c.text(key, choices=ACTIVATIONS)
    return "swiglu_clamp" if c.model_type == "gpt_oss" else ACTIVATIONS[act]


def _weights_dtype(c: _Config) -> str:
    q = c.raw.get("quantization_config")
    if c.raw.get("quantization") is not None and (q is None or (isinstance(q, dict) and not q.get("quant_method"))):
        from .quantized import mlx_quant  # mlx_lm writes "quantization" (and the same under quantization_config)

        return mlx_quant(c.where, c.raw["quantization"])
    if q is not None:
        if not isinstance(q, dict):
            raise ConfigImportError(f"{c.where}: quantization_config must be an object, got {show_value(q)}")
        from ..quant.catalog import keep_name
        from .quantized import checkpoint_quant, kept_modules

        method = check_text(c.where, "quantization_config.quant_method", q.get("quant_method", "")).lower()
        if method == "mxfp4":
            return "mxfp4"
        if method == "fp8":  # transformers' FineGrainedFP8Config: the modules left in 16 bits beside the blocks
            return keep_name("fp8-block" if _block_size(c, q.get("weight_block_size")) else "fp8", kept_modules(
                c.where, "quantization_config.modules_to_not_convert", q.get("modules_to_not_convert")))
        if method:
            return checkpoint_quant(c.where, method, q)
    for key in ("torch_dtype", "dtype"):  # transformers v5 writes dtype
        if c.raw.get(key) is not None:
            return DTYPES[c.text(key, choices=DTYPES)]
    return "bf16"


def _block_size(c: _Config, value: Any) -> tuple[int, ...]:
    """quantization_config.weight_block_size: null, or the (rows, columns) of one fp8 scale block."""
    if value is None:
        return ()
    key = "quantization_config.weight_block_size"
    return tuple(check_count(c.where, f"{key}[{i}]", v, 1, MAX_D_FF)
                 for i, v in enumerate(check_list(c.where, key, value, 2)))


# ModelSpec field → the config.json key it comes from, to reword a ValidationError (names not here are the same).
_CONFIG_KEYS = {**{f: k for k, f in SPEC_FIELDS.items()}, "d_ff": "intermediate_size",
                "layer_pattern": "layer_types", "activation": "hidden_act", "weights_dtype": "torch_dtype",
                "n_experts": "num_experts", "experts_per_token": "num_experts_per_tok",
                "expert_d_ff": "moe_intermediate_size", "shared_d_ff": "shared_expert_intermediate_size",
                "first_dense_layers": "first_k_dense_replace", "block_size": "blocksparse_block_size",
                "local_blocks": "blocksparse_num_local_blocks", "vert_stride": "blocksparse_vert_stride",
                "homo_head": "blocksparse_homo_head_pattern"}
_FIELD_NAME = re.compile(r"\b(" + "|".join(sorted(_CONFIG_KEYS, key=len, reverse=True)) + r")\b")


def _validation_message(e: ValidationError, c: _Config) -> str:
    """The first error of a ModelSpec ValidationError in config.json terms: key names, the value, no docs URL."""
    err = e.errors(include_url=False)[0]
    msg = _FIELD_NAME.sub(lambda m: _CONFIG_KEYS[m.group(1)], err["msg"].removeprefix("Value error, "))
    fields = [p for p in err["loc"] if isinstance(p, str)]
    if not fields:  # a model validator's message, which names its fields itself
        return f"{c.where}: {msg}".replace("\n", " ")
    key = _CONFIG_KEYS.get(fields[-1], fields[-1])
    return f"{c.where}: {key}: {msg}, got {show_value(err.get('input'))}".replace("\n", " ")


def load_config_json(path: str | Path, *, name: str | None = None) -> ModelSpec:
    """ModelSpec from a config.json file or a folder that holds one."""
    p = Path(path)
    if p.is_dir():
        p = p / "config.json"
    if not p.is_file():
        raise ConfigImportError(f"config.json not found: {p}")
    if p.stat().st_size > MAX_CONFIG_BYTES:
        raise ConfigImportError(f"{p}: {p.stat().st_size} bytes is too large for a config.json")
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise ConfigImportError(f"{p}: not valid JSON ({e})") from None
    raw = parse_json(text, str(p))
    guess = raw.get("_name_or_path") if isinstance(raw, dict) else None
    guess = guess if isinstance(guess, str) else None
    # a file named other than config.json names the model (qwen2-7b-config.json); config.json, its folder
    named = p.stem if p.name.lower() != "config.json" else p.parent.name
    return spec_from_config(raw, name=name or guess or named or str(p), source=str(p))
