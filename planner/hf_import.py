"""config.json → ModelSpec, for the model types listed in SUPPORTED_MODEL_TYPES.

Reads JSON only; nothing from the model folder is ever executed (no trust_remote_code).
Where config.json omits a key, the value is the default of that family's transformers config
class (e.g. Gemma ties embeddings unless told otherwise), named in FAMILY_DEFAULTS.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from .errors import ConfigImportError
from .spec import MLA, BlockSparse, ModelSpec, MoE

# Defaults of transformers' configuration_<type>.py (v4.5x), for keys config.json may omit.
FAMILY_DEFAULTS: dict[str, dict[str, Any]] = {
    "llama": {"tie_word_embeddings": False, "attention_bias": False, "mlp_bias": False, "hidden_act": "silu"},
    "mistral": {"num_key_value_heads": 8, "tie_word_embeddings": False, "sliding_window": 4096, "hidden_act": "silu"},
    "mixtral": {"num_key_value_heads": 8, "tie_word_embeddings": False, "sliding_window": None, "hidden_act": "silu",
                "num_local_experts": 8, "num_experts_per_tok": 2},
    "qwen2": {"num_key_value_heads": 32, "tie_word_embeddings": False, "use_sliding_window": False,
              "hidden_act": "silu"},
    "qwen2_moe": {"num_key_value_heads": 16, "tie_word_embeddings": False, "qkv_bias": True,
                  "use_sliding_window": False, "hidden_act": "silu", "decoder_sparse_step": 1, "mlp_only_layers": []},
    "qwen3": {"num_key_value_heads": 32, "tie_word_embeddings": False, "use_sliding_window": False,
              "attention_bias": False, "head_dim": 128, "hidden_act": "silu"},
    "qwen3_moe": {"num_key_value_heads": 4, "tie_word_embeddings": False, "use_sliding_window": False,
                  "attention_bias": False, "hidden_act": "silu", "decoder_sparse_step": 1, "mlp_only_layers": []},
    "gemma": {"num_key_value_heads": 16, "tie_word_embeddings": True, "head_dim": 256, "attention_bias": False,
              "hidden_activation": "gelu_pytorch_tanh"},
    "gemma2": {"num_key_value_heads": 4, "tie_word_embeddings": True, "head_dim": 256, "attention_bias": False,
               "sliding_window": 4096, "hidden_activation": "gelu_pytorch_tanh"},
    "gemma3_text": {"num_key_value_heads": 4, "tie_word_embeddings": True, "head_dim": 256, "attention_bias": False,
                    "sliding_window": 4096, "sliding_window_pattern": 6,
                    "hidden_activation": "gelu_pytorch_tanh", "vocab_size": 262208,
                    "max_position_embeddings": 131072},
    "phi3": {"tie_word_embeddings": False, "sliding_window": None, "hidden_act": "silu"},
    "phi3small": {"tie_word_embeddings": True, "dense_attention_every_n_layers": 2,
                  "blocksparse_homo_head_pattern": False, "hidden_act": "gegelu"},
    "phimoe": {"num_key_value_heads": 8, "tie_word_embeddings": False, "attention_bias": False, "lm_head_bias": False,
               "sliding_window": None, "hidden_act": "silu"},
    "deepseek_v2": {"tie_word_embeddings": False, "attention_bias": False, "first_k_dense_replace": 0,
                    "moe_layer_freq": 1, "n_shared_experts": None, "hidden_act": "silu"},
    "deepseek_v3": {"tie_word_embeddings": False, "attention_bias": False, "first_k_dense_replace": 3,
                    "moe_layer_freq": 1, "n_shared_experts": 1, "hidden_act": "silu"},
    "gpt_oss": {"tie_word_embeddings": False, "sliding_window": 128, "hidden_act": "silu"},
}
SUPPORTED_MODEL_TYPES = tuple(sorted([*FAMILY_DEFAULTS, "gemma3"]))

_ACTIVATIONS = {"silu": "silu", "swish": "silu", "gelu": "gelu", "gelu_pytorch_tanh": "gelu_tanh",
                "gelu_new": "gelu_tanh", "gelu_tanh": "gelu_tanh", "relu": "relu", "gegelu": "gegelu"}
_DTYPES = {"bfloat16": "bf16", "float16": "fp16", "float32": "fp32"}


class _Config:
    """config.json values with the family defaults behind them; a missing key names itself."""

    def __init__(self, raw: dict, model_type: str, where: str):
        self.raw, self.model_type, self.where = raw, model_type, where
        self.defaults = FAMILY_DEFAULTS[model_type]

    def __contains__(self, key: str) -> bool:
        return key in self.raw or key in self.defaults

    def get(self, key: str, fallback: Any = None) -> Any:
        """The config.json value (an explicit null included), else the family default, else fallback."""
        if key in self.raw:
            return self.raw[key]
        return self.defaults.get(key, fallback)

    def int(self, key: str, fallback: Any = None) -> int:
        """A required integer field; the error names the field and its value."""
        value = self.req(key) if fallback is None else self.get(key, fallback)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value):
            raise ConfigImportError(f"{self.where}: field {key!r} must be an integer, got {value!r}")
        return int(value)

    def req(self, key: str) -> Any:
        value = self.get(key)
        if value is None:
            raise ConfigImportError(f"{self.where}: required field {key!r} is missing "
                                    f"(model_type {self.model_type!r})")
        return value


def _attention_layout(c: _Config, n_layers: int) -> dict:
    """layer_pattern, sliding_window and block_sparse, as each family decides per layer."""
    t = c.model_type
    if t == "phi3small":
        n = c.int("dense_attention_every_n_layers")
        # A layer is dense when (layer_idx + 1) % dense_attention_every_n_layers == 0.
        return {"layer_pattern": ("block_sparse",) * (n - 1) + ("full",),
                "block_sparse": BlockSparse(
                    block_size=c.req("blocksparse_block_size"), local_blocks=c.req("blocksparse_num_local_blocks"),
                    vert_stride=c.req("blocksparse_vert_stride"),
                    homo_head=bool(c.get("blocksparse_homo_head_pattern")))}
    window = c.get("sliding_window")
    qwen = t in ("qwen2", "qwen2_moe", "qwen3", "qwen3_moe")
    if qwen and not c.get("use_sliding_window"):
        window = None
    if c.get("layer_types"):
        kinds = tuple("sliding" if k == "sliding_attention" else "full" for k in c.get("layer_types"))
        if len(kinds) != n_layers:
            raise ConfigImportError(f"{c.where}: layer_types has {len(kinds)} entries, "
                                    f"num_hidden_layers is {n_layers}")
    elif t == "gemma2":
        kinds = ("sliding", "full")  # even layers slide (layer_idx % 2 == 0)
    elif t == "gemma3_text":
        p = c.int("sliding_window_pattern")  # every p-th layer is global
        kinds = ("sliding",) * (p - 1) + ("full",)
    elif window and t == "qwen2":  # layers from max_window_layers on slide
        first = int(c.get("max_window_layers", n_layers))
        kinds = tuple("sliding" if i >= first else "full" for i in range(n_layers))
    elif window:
        kinds = ("sliding",)
    else:
        kinds = ("full",)
    if "sliding" not in kinds:
        return {"layer_pattern": _shortest_period(kinds), "sliding_window": None}
    if not window:
        raise ConfigImportError(f"{c.where}: sliding layers but no 'sliding_window'")
    return {"layer_pattern": _shortest_period(kinds), "sliding_window": int(window)}


def _shortest_period(kinds: tuple[str, ...]) -> tuple[str, ...]:
    for p in range(1, len(kinds) + 1):
        if all(kinds[i] == kinds[i % p] for i in range(len(kinds))):
            return kinds[:p]
    return kinds


def _moe(c: _Config) -> MoE | None:
    t = c.model_type
    if t in ("mixtral", "phimoe", "gpt_oss"):
        return MoE(n_experts=c.req("num_local_experts"), experts_per_token=c.req("num_experts_per_tok"),
                   expert_d_ff=c.req("intermediate_size"), router_bias=t == "gpt_oss")
    if t in ("qwen2_moe", "qwen3_moe"):
        if c.get("decoder_sparse_step") != 1 or c.get("mlp_only_layers"):
            raise ConfigImportError(
                f"{c.where}: decoder_sparse_step {c.get('decoder_sparse_step')} / mlp_only_layers "
                f"{c.get('mlp_only_layers')}: only every-layer MoE is supported")
        shared = int(c.get("shared_expert_intermediate_size", 0) or 0) if t == "qwen2_moe" else 0
        return MoE(n_experts=c.req("num_experts"), experts_per_token=c.req("num_experts_per_tok"),
                   expert_d_ff=c.req("moe_intermediate_size"), n_shared_experts=1 if shared else 0,
                   shared_d_ff=shared, shared_expert_gate=bool(shared))
    if t in ("deepseek_v2", "deepseek_v3"):
        if c.get("moe_layer_freq") != 1:
            raise ConfigImportError(f"{c.where}: moe_layer_freq {c.get('moe_layer_freq')}: only 1 is supported")
        n_shared = int(c.get("n_shared_experts") or 0)
        return MoE(n_experts=c.req("n_routed_experts"), experts_per_token=c.req("num_experts_per_tok"),
                   expert_d_ff=c.req("moe_intermediate_size"), n_shared_experts=n_shared,
                   shared_d_ff=n_shared * c.int("moe_intermediate_size"),
                   first_dense_layers=int(c.get("first_k_dense_replace")),
                   router_correction_bias=c.get("topk_method") == "noaux_tc" or t == "deepseek_v3")
    return None


def _mla(c: _Config) -> MLA | None:
    if c.model_type not in ("deepseek_v2", "deepseek_v3"):
        return None
    return MLA(q_lora_rank=c.get("q_lora_rank"), kv_lora_rank=c.req("kv_lora_rank"),
               qk_rope_head_dim=c.req("qk_rope_head_dim"), qk_nope_head_dim=c.req("qk_nope_head_dim"),
               v_head_dim=c.req("v_head_dim"))


def _weights_dtype(c: _Config) -> str:
    q = c.raw.get("quantization_config") or {}
    method = str(q.get("quant_method", "")).lower()
    if method == "mxfp4":
        return "mxfp4"
    if method == "fp8":
        return "fp8-block" if q.get("weight_block_size") else "fp8"
    if method:
        raise ConfigImportError(f"{c.where}: quantization_config.quant_method {method!r} is not "
                                "supported for import; load the unquantized config and pass quant=")
    dtype = c.raw.get("torch_dtype") or c.raw.get("dtype") or "bfloat16"
    if dtype not in _DTYPES:
        raise ConfigImportError(f"{c.where}: torch_dtype {dtype!r} is not one of {', '.join(_DTYPES)}")
    return _DTYPES[dtype]


def spec_from_config(raw: dict, *, name: str, source: str) -> ModelSpec:
    """A ModelSpec from a parsed config.json; `name` and `source` say where it came from."""
    try:
        return _spec_from_config(raw, name=name, source=source)
    except (TypeError, ValueError, AttributeError) as e:
        if isinstance(e, ConfigImportError):
            raise
        raise ConfigImportError(f"{source}: a field has a value of the wrong kind ({type(e).__name__}: {e})") from None


def _spec_from_config(raw: dict, *, name: str, source: str) -> ModelSpec:
    if not isinstance(raw, dict):
        raise ConfigImportError(f"{source}: config.json must hold a JSON object, got {type(raw).__name__}")
    model_type = raw.get("model_type")
    if model_type == "gemma3":  # multimodal wrapper: the language model is text_config
        text = dict(raw.get("text_config") or {})
        text.setdefault("torch_dtype", raw.get("torch_dtype"))
        raw, model_type = text, "gemma3_text"
    if model_type not in FAMILY_DEFAULTS:
        raise ConfigImportError(f"{source}: model_type {model_type!r} is not supported; supported: "
                                f"{', '.join(SUPPORTED_MODEL_TYPES)}")
    c = _Config(raw, model_type, source)
    t = model_type
    n_layers, d = c.int("num_hidden_layers"), c.int("hidden_size")
    n_heads = c.int("num_attention_heads")
    mla = _mla(c)
    moe = _moe(c)
    head_dim = c.get("head_dim") or d // n_heads
    if mla is not None:
        head_dim = mla.qk_nope_head_dim + mla.qk_rope_head_dim
    act_key = "hidden_activation" if t.startswith("gemma") else "hidden_act"
    act = str(c.get(act_key) or c.get("hidden_act"))
    if act not in _ACTIVATIONS:
        raise ConfigImportError(f"{source}: {act_key} {act!r} is not one of {', '.join(_ACTIVATIONS)}")
    attention_bias = bool(c.get("attention_bias", False))
    fields = dict(
        name=name, source=source, model_type=t, n_layers=n_layers, d_model=d, n_heads=n_heads,
        # An explicit null means "as many as query heads"; an absent key takes the class default.
        n_kv_heads=int(n_heads if raw.get("num_key_value_heads", 0) is None
                       else c.get("num_key_value_heads") or n_heads), head_dim=int(head_dim),
        vocab_size=c.int("vocab_size"), max_context=c.int("max_position_embeddings"),
        tie_embeddings=bool(c.get("tie_word_embeddings")),
        activation="swiglu_clamp" if t == "gpt_oss" else _ACTIVATIONS[act],
        qkv_bias=attention_bias or t in ("qwen2", "phi3small", "gpt_oss")
        or (t == "qwen2_moe" and bool(c.get("qkv_bias"))),
        o_bias=attention_bias and t not in ("qwen3", "qwen3_moe") or t in ("phi3small", "gpt_oss"),
        mlp_bias=bool(c.get("mlp_bias", False)) or t in ("phi3small", "gpt_oss"),
        lm_head_bias=bool(c.get("lm_head_bias", False)),
        qkv_fused=t in ("phi3", "phi3small"), gate_up_fused=t in ("phi3", "phi3small"),
        norm="layernorm" if t in ("phi3small", "phimoe") else "rmsnorm",
        norm_bias=t in ("phi3small", "phimoe"),
        norms_per_layer=4 if t in ("gemma2", "gemma3_text") else 2,
        qk_norm=t in ("qwen3", "qwen3_moe", "gemma3_text"),
        attention_sinks=t == "gpt_oss", moe=moe, mla=mla,
        weights_dtype=_weights_dtype(c),
        **_attention_layout(c, n_layers),
    )
    if t == "phi3small":
        fields["d_ff"] = c.int("ff_intermediate_size")
    elif moe is not None and moe.first_dense_layers == 0:
        fields["d_ff"] = 0
    else:
        fields["d_ff"] = c.int("intermediate_size")
    try:
        return ModelSpec(**fields)
    except ValidationError as e:
        first = e.errors()[0]
        raise ConfigImportError(f"{source}: {'.'.join(map(str, first['loc'])) or 'config'}: "
                                f"{first['msg']}") from None


def load_config_json(path: str | Path, *, name: str | None = None) -> ModelSpec:
    """ModelSpec from a config.json file or a folder that holds one."""
    p = Path(path)
    if p.is_dir():
        p = p / "config.json"
    if not p.is_file():
        raise ConfigImportError(f"config.json not found: {p}")
    if p.stat().st_size > 10 * 2**20:
        raise ConfigImportError(f"{p}: {p.stat().st_size} bytes is too large for a config.json")
    try:
        raw = json.loads(p.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ConfigImportError(f"{p}: not valid JSON ({e})") from None
    guess = raw.get("_name_or_path") if isinstance(raw, dict) else None
    return spec_from_config(raw, name=name or guess or p.parent.name or str(p), source=str(p))
