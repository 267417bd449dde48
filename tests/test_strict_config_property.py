"""config.json reading, as a property: any JSON value in any key of a real config is read for exactly what it means
(checked against an expectation written out here, not taken from the importer) or refused with one clean line."""

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from planner import ConfigImportError
from planner.hf_import import FAMILY_DEFAULTS
from planner.limits import (
    MAX_CONTEXT,
    MAX_D_FF,
    MAX_D_MODEL,
    MAX_EXPERTS,
    MAX_HEAD_DIM,
    MAX_HEADS,
    MAX_LAYERS,
    MAX_LORA_RANK,
    MAX_VOCAB,
)

from .conftest import fixture_config
from .strict_configs import LLAMA, assert_clean, load

# Property: any JSON value in any key of a real config is read for exactly what it means, or refused.

_MODELS = ["meta-llama/Meta-Llama-3-8B", "mistralai/Mistral-7B-v0.1", "mistralai/Mistral-7B-v0.3",
           "mistralai/Mixtral-8x7B-v0.1", "Qwen/Qwen2.5-0.5B", "Qwen/Qwen1.5-MoE-A2.7B", "Qwen/Qwen3-8B",
           "Qwen/Qwen3-30B-A3B", "google/gemma-7b", "google/gemma-2-9b", "google/gemma-3-1b-it",
           "microsoft/Phi-3-mini-4k-instruct", "microsoft/Phi-3-small-8k-instruct", "microsoft/Phi-3.5-MoE-instruct",
           "deepseek-ai/DeepSeek-V2-Lite", "deepseek-ai/DeepSeek-V3", "openai/gpt-oss-20b"]
_CONFIGS = {m: fixture_config(m) for m in _MODELS}
_BASES = {m: load(raw) for m, raw in _CONFIGS.items()}

# What a strictly typed value is, per key, written out here rather than taken from the importer:
# counts as (lowest, highest, null allowed), switches, names.
_COUNTS = {
    "num_hidden_layers": (1, MAX_LAYERS, False), "hidden_size": (1, MAX_D_MODEL, False),
    "num_attention_heads": (1, MAX_HEADS, False), "num_key_value_heads": (1, MAX_HEADS, True),
    "head_dim": (1, MAX_HEAD_DIM, True), "intermediate_size": (1, MAX_D_FF, False),
    "ff_intermediate_size": (1, MAX_D_FF, False), "vocab_size": (1, MAX_VOCAB, False),
    "max_position_embeddings": (1, MAX_CONTEXT, False), "sliding_window": (1, MAX_CONTEXT, True),
    "sliding_window_pattern": (1, MAX_LAYERS, False), "max_window_layers": (0, MAX_LAYERS, False),
    "dense_attention_every_n_layers": (1, MAX_LAYERS, False), "blocksparse_block_size": (1, MAX_CONTEXT, False),
    "blocksparse_num_local_blocks": (1, MAX_CONTEXT, False), "blocksparse_vert_stride": (1, MAX_CONTEXT, False),
    "num_local_experts": (2, MAX_EXPERTS, False), "num_experts": (2, MAX_EXPERTS, False),
    "n_routed_experts": (2, MAX_EXPERTS, False), "num_experts_per_tok": (1, MAX_EXPERTS, False),
    "n_shared_experts": (0, MAX_EXPERTS, True), "moe_intermediate_size": (1, MAX_D_FF, False),
    "shared_expert_intermediate_size": (0, MAX_D_FF, False), "first_k_dense_replace": (0, MAX_LAYERS, False),
    "moe_layer_freq": (1, MAX_LAYERS, False), "decoder_sparse_step": (1, MAX_LAYERS, False),
    "q_lora_rank": (1, MAX_LORA_RANK, True), "kv_lora_rank": (1, MAX_LORA_RANK, False),
    "qk_rope_head_dim": (1, MAX_HEAD_DIM, False), "qk_nope_head_dim": (1, MAX_HEAD_DIM, False),
    "v_head_dim": (1, MAX_HEAD_DIM, False),
}
_FLAGS = {"tie_word_embeddings", "attention_bias", "mlp_bias", "lm_head_bias", "use_sliding_window", "qkv_bias",
          "blocksparse_homo_head_pattern"}
_NAMES = {"model_type": False, "hidden_act": False, "hidden_activation": True, "torch_dtype": True,
          "topk_method": True}  # name: null allowed
_STRUCTURED = {"layer_types", "mlp_only_layers", "quantization_config", "rope_scaling", "rope_parameters"}
# rope_scaling types that scale (transformers' rope init functions and Phi-3's older "su"): the spec's rope_type
_SCALING = ("linear", "dynamic", "yarn", "longrope", "su", "llama3")
_ACT = {"silu": "silu", "swish": "silu", "gelu": "gelu", "gelu_pytorch_tanh": "gelu_tanh", "gelu_new": "gelu_tanh",
        "gelu_tanh": "gelu_tanh", "relu": "relu", "gegelu": "gegelu"}
_DTYPE = {"bfloat16": "bf16", "float16": "fp16", "float32": "fp32"}
_QWEN = ("qwen2", "qwen2_moe", "qwen3", "qwen3_moe")
_RAISE = object()  # the value must be refused


def _unread(t: str, key: str) -> bool:
    """Keys these configs hold but their family does not read (reviewed one by one)."""
    return ((t in _QWEN and key in ("sliding_window", "max_window_layers"))  # use_sliding_window is false in all
            or (t in ("qwen2_moe", "qwen3_moe") and key == "intermediate_size")  # every layer is MoE
            or (t.startswith("gemma") and key == "hidden_act")  # hidden_activation (default) wins
            or (t == "deepseek_v3" and key == "torch_dtype"))  # quantization_config says fp8


def _well_typed(key: str, v) -> bool:
    if key in _COUNTS:
        lo, hi, nullable = _COUNTS[key]
        return (v is None and nullable) or (type(v) is int and lo <= v <= hi)
    if key in _FLAGS:
        return type(v) is bool
    if key in _NAMES:
        return isinstance(v, str) or (v is None and _NAMES[key])
    return True


def _period(kinds: tuple) -> tuple:
    """Shortest prefix that repeats into kinds (the naive way)."""
    return next(kinds[:p] for p in range(1, len(kinds) + 1) if all(kinds[i] == kinds[i % p] for i in range(len(kinds))))


def _layout(kinds: tuple, window, sparse=None) -> dict:
    if "sliding" in kinds and window is None:
        return {"_raise": True}
    return {"layer_pattern": _period(kinds), "sliding_window": window if "sliding" in kinds else None,
            "block_sparse": sparse if "block_sparse" in kinds else None}


def _expected(model: str, key: str, v):
    """The spec fields a well-typed value v of `key` gives (dotted for moe./mla./block_sparse.), _RAISE when it must
    be refused, or None when this table does not say."""
    raw, base = _CONFIGS[model], _BASES[model]
    t, n, d, h = base.model_type, base.n_layers, base.d_model, base.n_heads
    derived_head_dim = base.mla is None and raw.get("head_dim") is None and "head_dim" not in FAMILY_DEFAULTS[t]
    kv_from_heads = raw.get("num_key_value_heads") is None and "num_key_value_heads" not in FAMILY_DEFAULTS[t]

    def head_dim(d_model, heads):
        if not derived_head_dim:
            return {}
        return {"head_dim": d_model // heads} if d_model % heads == 0 else {"_raise": True}

    if key == "num_hidden_layers":
        if "layer_types" in raw and v != len(raw["layer_types"]):
            return _RAISE
        kinds = tuple(base.layer_pattern[i % len(base.layer_pattern)] for i in range(v))
        return {"n_layers": v, **_layout(kinds, base.sliding_window, base.block_sparse)}
    if key == "hidden_size":
        return {"d_model": v, **head_dim(v, h)}
    if key == "num_attention_heads":
        return {"n_heads": v, **head_dim(d, v), **({"n_kv_heads": v} if kv_from_heads else {})}
    if key == "num_key_value_heads":
        return {"n_kv_heads": h if v is None else v}
    if key == "head_dim":
        if v is None:  # null: hidden_size // num_attention_heads, as LlamaConfig and the others have it
            return {"head_dim": d // h} if d % h == 0 else _RAISE
        return {"head_dim": v}
    direct = {"vocab_size": "vocab_size", "max_position_embeddings": "max_context", "lm_head_bias": "lm_head_bias",
              "tie_word_embeddings": "tie_embeddings", "ff_intermediate_size": "d_ff",
              "num_local_experts": "moe.n_experts", "num_experts": "moe.n_experts", "n_routed_experts": "moe.n_experts",
              "num_experts_per_tok": "moe.experts_per_token", "q_lora_rank": "mla.q_lora_rank",
              "kv_lora_rank": "mla.kv_lora_rank", "v_head_dim": "mla.v_head_dim",
              "blocksparse_block_size": "block_sparse.block_size",
              "blocksparse_num_local_blocks": "block_sparse.local_blocks",
              "blocksparse_vert_stride": "block_sparse.vert_stride",
              "blocksparse_homo_head_pattern": "block_sparse.homo_head"}
    if key in direct:
        return {direct[key]: v}
    if key == "mlp_bias" and t in ("llama", "phi3"):
        return {"mlp_bias": v}
    if key == "intermediate_size":
        return {"moe.expert_d_ff": v} if t in ("mixtral", "phimoe", "gpt_oss") else {"d_ff": v}
    if key == "moe_intermediate_size":
        return {"moe.expert_d_ff": v, **({"moe.shared_d_ff": base.moe.n_shared_experts * v} if t.startswith("deepseek")
                                         else {})}
    if key == "shared_expert_intermediate_size":
        return {"moe.shared_d_ff": v, "moe.n_shared_experts": int(v > 0), "moe.shared_expert_gate": v > 0}
    if key == "n_shared_experts":
        return {"moe.n_shared_experts": v or 0, "moe.shared_d_ff": (v or 0) * base.moe.expert_d_ff}
    if key == "first_k_dense_replace":
        return {"moe.first_dense_layers": v, "d_ff": raw["intermediate_size"] if v else 0}
    if key in ("qk_rope_head_dim", "qk_nope_head_dim"):
        other = base.mla.qk_nope_head_dim if key == "qk_rope_head_dim" else base.mla.qk_rope_head_dim
        return {f"mla.{key}": v, "head_dim": v + other}
    if key in ("decoder_sparse_step", "moe_layer_freq"):
        return {} if v == 1 else _RAISE
    if key == "mlp_only_layers":
        return {} if v == [] else _RAISE
    if key == "hidden_act":
        return _RAISE if v not in _ACT else {} if t == "gpt_oss" else {"activation": _ACT[v]}
    if key == "hidden_activation":
        v = raw.get("hidden_act") if v is None else v
        return {"activation": _ACT[v]} if v in _ACT else _RAISE
    if key == "torch_dtype":
        return {"weights_dtype": "bf16" if v is None else _DTYPE[v]} if v is None or v in _DTYPE else _RAISE
    if key == "attention_bias":
        qwen2_moe = t == "qwen2_moe" and raw.get("qkv_bias", True)
        return {"qkv_bias": v or t in ("qwen2", "phi3small", "gpt_oss") or qwen2_moe,
                "o_bias": (v and t not in ("qwen3", "qwen3_moe")) or t in ("phi3small", "gpt_oss")}
    if key == "topk_method" and t == "deepseek_v2":
        return {"moe.router_correction_bias": v == "noaux_tc"}
    if key == "sliding_window":
        if t in ("gemma2", "gemma3_text") or "layer_types" in raw:  # the layers' kinds do not depend on the window
            return {"sliding_window": v} if v is not None else _RAISE
        return _layout(("sliding",) if v is not None else ("full",), v)
    if key == "use_sliding_window":
        window = raw.get("sliding_window") if v else None
        first = raw.get("max_window_layers", n) if t == "qwen2" else 0
        return _layout(tuple("sliding" if window is not None and i >= first else "full" for i in range(n)), window)
    if key == "sliding_window_pattern":
        return _layout(tuple("sliding" if (i + 1) % v else "full" for i in range(n)), base.sliding_window)
    if key == "dense_attention_every_n_layers":
        return _layout(tuple("full" if (i + 1) % v == 0 else "block_sparse" for i in range(n)), None,
                       base.block_sparse)
    if key in ("rope_scaling", "rope_parameters"):  # either, rope_scaling first where it holds anything
        other = raw.get("rope_parameters" if key == "rope_scaling" else "rope_scaling")
        scaling = (v or other) if key == "rope_scaling" else (other or v)
        kind = scaling.get("rope_type", scaling.get("type")) if isinstance(scaling, dict) else None
        return {"rope_type": kind if isinstance(kind, str) and kind in _SCALING else None}
    if key == "layer_types":
        if v is None:  # GptOssConfig's default: layer i slides when (i + 1) % 2
            return _layout(tuple("sliding" if (i + 1) % 2 else "full" for i in range(n)), raw["sliding_window"])
        if not (isinstance(v, list) and len(v) == n and all(k in ("full_attention", "sliding_attention") for k in v)):
            return _RAISE
        return _layout(tuple("sliding" if k == "sliding_attention" else "full" for k in v), raw["sliding_window"])
    return None


def _apply(base, updates: dict):
    """base with updates, dotted names going into the nested models."""
    top = {k: v for k, v in updates.items() if "." not in k}
    for k, v in updates.items():
        if "." in k:
            part, field = k.split(".")
            inner = top.get(part, getattr(base, part))
            top[part] = inner.model_copy(update={field: v})
    return base.model_copy(update=top)


def _near(original) -> st.SearchStrategy:
    """Values a config might plausibly hold instead of `original`: right and wrong types, edges of the bounds."""
    out = [None, True, False, 0, 1, -1, 2, "", "false", "true", [], {}]
    if isinstance(original, bool):
        out += [not original, str(original).lower(), int(original)]
    elif isinstance(original, int):
        out += [original + 1, original - 1, original * 2, original // 2, original * 10**6, float(original),
                original + 0.5, str(original), [original], MAX_LAYERS, MAX_LAYERS + 1, MAX_HEADS + 1]
    elif isinstance(original, str):
        out += [original.upper(), original + "x", "silu", "gelu", "relu", "bfloat16", "float16", "noaux_tc"]
    elif isinstance(original, list):
        out += [original[:-1], original[::-1], original + original[:1], [str(x) for x in original],
                ["full_attention"] * len(original), ["sliding_attention"] * len(original), [0], [1.0]]
    elif isinstance(original, dict):
        out += [{**original, "quant_method": "fp8"}, {**original, "quant_method": "awq"}, {"quant_method": None}]
    return st.sampled_from(out) | st.integers(-3, 300)


def _typed(key: str, original) -> st.SearchStrategy:
    """Well-typed values of `key`, mostly near the original, so that many are accepted and their meaning checked."""
    if key in _COUNTS:
        lo, hi, nullable = _COUNTS[key]
        near = original if type(original) is int else lo
        return st.integers(max(lo - 1, near // 4), min(hi + 1, near * 4 + 8)) | st.sampled_from([lo, hi, None])
    if key in _FLAGS:
        return st.booleans()
    if key in ("hidden_act", "hidden_activation"):
        return st.sampled_from([*_ACT, "tanh", None])
    if key == "torch_dtype":
        return st.sampled_from([*_DTYPE, "float64", None])
    return st.nothing()


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.integers(-2**70, 2**70) | st.floats() | st.text(max_size=6),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=4), children, max_size=3),
    max_leaves=8)


@settings(max_examples=2500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_value_in_any_key_is_read_for_what_it_means_or_refused(data):
    model = data.draw(st.sampled_from(_MODELS), label="model")
    raw, base = _CONFIGS[model], _BASES[model]
    known = sorted(k for k in raw if k in _COUNTS or k in _FLAGS or k in _NAMES or k in _STRUCTURED)
    keys = known if data.draw(st.integers(0, 3), label="known key?") else sorted(raw)  # mostly keys that are read
    key = data.draw(st.sampled_from(keys), label="key")
    value = data.draw(_near(raw[key]) | _JSON | _typed(key, raw[key]), label="value")
    try:
        spec = load({**raw, key: value})
    except ConfigImportError as e:
        assert_clean(str(e))
        assert key in str(e) or key == "model_type", str(e)  # another model_type reads other keys
        event("refused")
        return
    t = base.model_type
    if key not in _COUNTS and key not in _FLAGS and key not in _NAMES and key not in _STRUCTURED or _unread(t, key):
        assert spec == base  # a key not read changes nothing, whatever it holds
        event("read: a key not read")
        return
    assert _well_typed(key, value), f"{key}={value!r} was accepted"
    expected = _expected(model, key, value)
    assert expected is not _RAISE, f"{key}={value!r} was accepted"
    if expected is None:
        event("read: no expectation written")
        if value == raw[key] and type(value) is type(raw[key]):
            assert spec == base
        return
    event("read: as expected")
    assert "_raise" not in expected, f"{key}={value!r} was accepted"
    assert spec == _apply(base, expected)


def test_a_stray_sliding_window_in_a_family_without_one_changes_nothing():
    # LlamaConfig has no sliding_window; a fine-tune's config.json that carries one still runs full attention
    with_key = load({**LLAMA, "sliding_window": 4096})
    assert with_key.layer_pattern == ("full",) and with_key.sliding_window is None
