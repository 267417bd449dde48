"""config.json's attention layout: which kind of attention each layer runs (full, sliding, block-sparse, linear, Mamba,
chunked), and the sliding window, as each family decides per layer; n_layers is bounded before any of this runs."""

from __future__ import annotations

from ..errors import ConfigImportError
from ..limits import MAX_LAYERS
from ..spec import BlockSparse
from .config import _Config
from .families import LAYER_TYPES, QWEN, QWEN_NEXT
from .values import check_count, check_list, check_text


def _attention_layout(c: _Config, n_layers: int) -> dict:
    """layer_pattern, sliding_window and block_sparse, as each family decides per layer (n_layers is bounded)."""
    if c.model_type == "phi3small":
        return _block_sparse_layout(c, n_layers)
    window = _window(c)
    kinds = _layer_kinds(c, n_layers, window)
    if "sliding" not in kinds:
        return {"layer_pattern": _shortest_period(kinds), "sliding_window": None}
    if window is None:
        raise ConfigImportError(f"{c.where}: sliding layers but no 'sliding_window'")
    return {"layer_pattern": _shortest_period(kinds), "sliding_window": window,
            "chunked_attention": c.model_type == "llama4_text"}


def _block_sparse_layout(c: _Config, n_layers: int) -> dict:
    # modeling_phi3_small.py: a layer is dense when (layer_idx + 1) % dense_attention_every_n_layers == 0.
    n = c.count("dense_attention_every_n_layers")
    sparse = BlockSparse(block_size=c.count("blocksparse_block_size"),
                         local_blocks=c.count("blocksparse_num_local_blocks"),
                         vert_stride=c.count("blocksparse_vert_stride"),
                         homo_head=c.flag("blocksparse_homo_head_pattern"))
    kinds = tuple("full" if (i + 1) % n == 0 else "block_sparse" for i in range(n_layers))
    return {"layer_pattern": _shortest_period(kinds), "block_sparse": sparse if "block_sparse" in kinds else None}


def _window(c: _Config) -> int | None:
    # Qwen2Config and its kin: sliding_window = sliding_window if use_sliding_window else None, so it is not read.
    if c.model_type in QWEN and not c.flag("use_sliding_window"):
        return None
    if c.model_type == "llama4_text":  # the chunk its RoPE layers attend within
        return c.count("attention_chunk_size")
    # LlamaConfig, GemmaConfig and the DeepSeek configs have no sliding window: a stray key changes nothing there
    if c.model_type in ("llama", "gemma", "deepseek_v2", "deepseek_v3", "deepseek_v32", "granite", "glm4_moe",
                        "olmo2", "olmoe", "granitemoe", "granitemoehybrid", "falcon_h1", "jamba", "ernie4_5",
                        "minimax_m2"):
        return None
    return c.count("sliding_window", None, nullable=True)


def _layer_kinds(c: _Config, n_layers: int, window: int | None) -> tuple[str, ...]:
    """The attention kind of each of the n_layers layers."""
    t = c.model_type
    if t == "falcon_h1":  # attention and Mamba in every layer
        return ("parallel",)
    if t == "minimax_m2":
        return _minimax_layers(c, n_layers)
    if t == "llama4_text":
        return _llama4_layers(c, n_layers)
    if t == "jamba":  # JambaConfig.layers_block_type: attention where i % attn_layer_period == attn_layer_offset
        period, offset = c.count("attn_layer_period"), c.count("attn_layer_offset")
        return tuple("full" if i % period == offset else "mamba1" for i in range(n_layers))
    if t == "granitemoehybrid" and c.raw.get("layer_types") is None:  # its older key; else every layer is Mamba
        if c.raw.get("layers_block_type") is not None:
            return _layer_types(c, n_layers, key="layers_block_type")
        return ("mamba",)
    if c.raw.get("layer_types") is not None:
        return _layer_types(c, n_layers)
    if t in QWEN_NEXT:  # Qwen3NextConfig: layer i is full attention when (i + 1) % full_attention_interval == 0
        every = c.count("full_attention_interval", 4)
        return tuple("linear" if (i + 1) % every else "full" for i in range(n_layers))
    if t in ("gemma2", "gpt_oss"):  # Gemma2Config, GptOssConfig: layer i slides when (i + 1) % 2, the even layers
        return tuple("sliding" if (i + 1) % 2 else "full" for i in range(n_layers))
    if t == "gemma3_text":  # Gemma3TextConfig: layer i slides when (i + 1) % sliding_window_pattern (so ≥ 1)
        p = c.count("sliding_window_pattern")
        return tuple("sliding" if (i + 1) % p else "full" for i in range(n_layers))
    if window is not None and t == "qwen2":  # Qwen2Config: layers from max_window_layers on slide
        first = c.count("max_window_layers", n_layers)
        return tuple("sliding" if i >= first else "full" for i in range(n_layers))
    return ("sliding",) if window is not None else ("full",)


def _minimax_layers(c: _Config, n_layers: int) -> tuple[str, ...]:
    """MiniMax-M2 is full attention throughout: its attn_type_list (kept from MiniMax-01, where 0 is a lightning
    attention layer) must say 1 for every layer, and its rotary_dim fit in a head (partial_rotary_factor =
    rotary_dim / head_dim in MiniMaxM2Config); neither changes a tensor or the cache."""
    if c.raw.get("rotary_dim") is not None and c.count("rotary_dim") > c.count("head_dim"):
        raise ConfigImportError(f"{c.where}: rotary_dim ({c.count('rotary_dim')}) must be at most head_dim "
                                f"({c.count('head_dim')})")
    if c.raw.get("attn_type_list") is None:
        return ("full",)
    kinds = check_list(c.where, "attn_type_list", c.raw["attn_type_list"], MAX_LAYERS)
    if len(kinds) != n_layers:
        raise ConfigImportError(f"{c.where}: attn_type_list has {len(kinds)} entries, num_hidden_layers is {n_layers}")
    for i, kind in enumerate(kinds):
        if check_count(c.where, f"attn_type_list[{i}]", kind, 0, 1) != 1:
            raise ConfigImportError(f"{c.where}: attn_type_list[{i}] is 0, a lightning (linear) attention layer of "
                                    "MiniMax-01, which model_type 'minimax_m2' does not build")
    return ("full",)


def _llama4_layers(c: _Config, n_layers: int) -> tuple[str, ...]:
    """Llama4TextConfig: a layer whose no_rope_layers entry is 1 (RoPE) attends within its chunk ("chunked_attention"
    in layer_types), one whose entry is 0 (NoPE) attends globally; without the list, every no_rope_layer_interval-th
    layer is NoPE."""
    if c.raw.get("layer_types") is not None:
        return _layer_types(c, n_layers)
    if c.raw.get("no_rope_layers") in (None, []):  # absent, null or empty: Llama4TextConfig's default by interval
        every = c.count("no_rope_layer_interval")
        return tuple("sliding" if (i + 1) % every else "full" for i in range(n_layers))
    rope = check_list(c.where, "no_rope_layers", c.raw["no_rope_layers"], MAX_LAYERS)
    if len(rope) != n_layers:
        raise ConfigImportError(f"{c.where}: no_rope_layers has {len(rope)} entries, num_hidden_layers is {n_layers}")
    return tuple("sliding" if check_count(c.where, f"no_rope_layers[{i}]", v, 0, 1) else "full"
                 for i, v in enumerate(rope))


def _layer_types(c: _Config, n_layers: int, key: str = "layer_types") -> tuple[str, ...]:
    types = check_list(c.where, key, c.raw[key], MAX_LAYERS)
    if len(types) != n_layers:
        raise ConfigImportError(f"{c.where}: {key} has {len(types)} entries, num_hidden_layers is {n_layers}")
    # only a family with linear-attention layers (Qwen3-Next) may name them; Granite 4.0 H's are Mamba layers
    if c.model_type == "granitemoehybrid":
        known = {"mamba": "mamba", "linear_attention": "mamba", "attention": "full", "full_attention": "full"}
    elif c.model_type in QWEN_NEXT:
        known = LAYER_TYPES
    elif c.model_type == "deepseek_v32":  # DeepseekV32Config: every layer "indexed_attention", MLA behind the indexer
        known = {"indexed_attention": "full"}
    elif c.model_type == "llama4_text":  # Llama4TextConfig: its RoPE layers attend within their chunk
        known = {"chunked_attention": "sliding", "full_attention": "full"}
    else:
        known = {k: v for k, v in LAYER_TYPES.items() if v != "linear"}
    return tuple(known[check_text(c.where, f"{key}[{i}]", kind, known)] for i, kind in enumerate(types))


def _shortest_period(kinds: tuple[str, ...]) -> tuple[str, ...]:
    """The shortest prefix that, repeated, gives `kinds`: its smallest period, n minus its longest proper border
    (Knuth–Morris–Pratt prefix function, linear in n)."""
    border, k = [0] * len(kinds), 0
    for i in range(1, len(kinds)):
        while k and kinds[i] != kinds[k]:
            k = border[k - 1]
        if kinds[i] == kinds[k]:
            k += 1
        border[i] = k
    return kinds[:len(kinds) - border[-1]] if kinds else kinds
