"""ModelSpec from a GGUF file (or its split parts) or from a safetensors checkpoint with its config.json.

GGUF: the architecture comes from the file's metadata ({arch}.block_count, .embedding_length, …), read into
the same config.json fields the importer knows, and the weights are the file's tensors byte for byte (their
GGML type and shape from the tensor infos; the data is never read). safetensors: the architecture comes from
config.json, the weights from the headers.
"""

from __future__ import annotations

import re
from pathlib import Path

from ..errors import ConfigImportError
from ..hf_import import check_count, load_config_json, show_value, spec_from_config
from ..limits import MAX_CONTEXT, MAX_D_FF, MAX_D_MODEL, MAX_EXPERTS, MAX_HEAD_DIM, MAX_HEADS, MAX_LAYERS, MAX_LORA_RANK
from ..quant.gguf import ggml_types
from ..spec import Checkpoint, FileTensor, ModelSpec
from .gguf_reader import ArrayInfo, FileFormatError, GGUFHeader, check_parts, is_file, listing, read_gguf_header
from .safetensors_reader import read_safetensors

# GGUF general.architecture → config.json model_type
GGUF_ARCHS = {"llama": "llama", "mistral": "mistral", "qwen2": "qwen2", "qwen3": "qwen3", "qwen2moe": "qwen2_moe",
              "qwen3moe": "qwen3_moe", "gemma": "gemma", "gemma2": "gemma2", "gemma3": "gemma3_text",
              "phi3": "phi3", "deepseek2": "deepseek_v3", "gpt-oss": "gpt_oss"}
_SPLIT = re.compile(r"^(.*)-(\d{5})-of-(\d{5})\.gguf$")


def split_names(name: str, where) -> list[str] | None:
    """Every part's file name of a split GGUF (name-0000i-of-0000N.gguf) given one part's name; None if `name`
    is not a split name. A split name must say part i of N with 1 ≤ i ≤ N (llama.cpp's gguf-split numbers parts
    from 1); `where` names the file in the error."""
    m = _SPLIT.match(name)
    if not m:
        return None
    i, n = int(m.group(2)), int(m.group(3))
    if not 1 <= i <= n:
        raise FileFormatError(f"{where}: a split GGUF name must say part i of N with 1 <= i <= N, this one says "
                              f"{i} of {n}")
    return [f"{m.group(1)}-{k:05d}-of-{n:05d}.gguf" for k in range(1, n + 1)]


def gguf_parts(path: Path) -> list[Path]:
    """The file itself, or every part of a split GGUF (name-00001-of-0000N.gguf) given any one part.

    Every part must be there: one part's bytes are not the model's."""
    names = split_names(path.name, path)
    if names is None:
        return [path]
    parts = [path.with_name(name) for name in names]
    missing = [p.name for p in parts if not is_file(p)]
    if missing:
        raise FileFormatError(f"{path}: split GGUF is missing {listing(missing)}")
    return parts


def _tensor_bytes(header: GGUFHeader) -> list[FileTensor]:
    """FileTensors of one checked header (the reader has sized each tensor and checked it lies in the file)."""
    names = {t.id: t.name for t in ggml_types().values()}
    # back to (out, in) order, the last dimension being the row
    return [FileTensor(name=t.name, dtype=names[t.ggml_type], shape=tuple(reversed(t.shape)), nbytes=t.nbytes)
            for t in header.tensors]


def _config_from_gguf(meta: dict, tensors: list[FileTensor], path: str) -> dict:
    # Read as strictly as config.json (planner.hf_import): every count is an integer (not a float or bool) within
    # planner.limits, refused under its GGUF key (llama.block_count) before anything is built from it.
    arch = meta.get("general.architecture")
    if not isinstance(arch, str) or arch not in GGUF_ARCHS:
        raise ConfigImportError(f"{path}: GGUF architecture {show_value(arch)} is not supported; supported: "
                                f"{', '.join(sorted(GGUF_ARCHS))}")
    bounds = {"block_count": (1, MAX_LAYERS), "embedding_length": (1, MAX_D_MODEL),
              "attention.head_count": (1, MAX_HEADS), "attention.head_count_kv": (1, MAX_HEADS),
              "feed_forward_length": (0, MAX_D_FF), "expert_feed_forward_length": (0, MAX_D_FF),
              "context_length": (1, MAX_CONTEXT), "attention.key_length": (1, MAX_HEAD_DIM),
              "attention.value_length": (1, MAX_HEAD_DIM),
              "attention.sliding_window": (0, MAX_CONTEXT),  # 0: no sliding window (llama.cpp's n_swa)
              "expert_count": (0, MAX_EXPERTS), "expert_used_count": (1, MAX_EXPERTS),  # expert_count 0: dense
              "expert_shared_count": (0, MAX_EXPERTS), "expert_shared_feed_forward_length": (0, MAX_D_FF),
              "leading_dense_block_count": (0, MAX_LAYERS), "rope.dimension_count": (1, MAX_HEAD_DIM),
              "attention.kv_lora_rank": (1, MAX_LORA_RANK), "attention.q_lora_rank": (1, MAX_LORA_RANK)}

    def get(key, default=None):
        """{arch}.{key} within its bounds, or default when absent; of a per-layer array, the largest entry."""
        name, (lo, hi) = f"{arch}.{key}", bounds[key]
        value = meta.get(name, default)
        if isinstance(value, ArrayInfo):  # longer than the reader keeps: no per-layer values to read
            value = default
        if isinstance(value, list):
            if not value:
                raise ConfigImportError(f"{path}: GGUF field {name} is an empty array")
            return max(check_count(path, f"{name}[{i}]", v, lo, hi) for i, v in enumerate(value))
        return None if value is None else check_count(path, name, value, lo, hi)

    def need(key):
        value = get(key)
        if value is None:
            raise ConfigImportError(f"{path}: GGUF field {arch}.{key} is missing")
        return value

    names = {t.name: t for t in tensors}
    if "token_embd.weight" not in names:
        raise ConfigImportError(f"{path}: no token_embd.weight tensor")
    n_layers, d_model, n_heads = need("block_count"), need("embedding_length"), need("attention.head_count")
    config = {
        "model_type": GGUF_ARCHS[arch], "num_hidden_layers": n_layers,
        "hidden_size": d_model, "num_attention_heads": n_heads,
        "num_key_value_heads": get("attention.head_count_kv", n_heads),
        "intermediate_size": get("feed_forward_length", 0) or get("expert_feed_forward_length", 0),
        "vocab_size": names["token_embd.weight"].shape[0],
        "max_position_embeddings": get("context_length", 4096),
        "tie_word_embeddings": "output.weight" not in names,
        "attention_bias": "blk.0.attn_q.bias" in names, "torch_dtype": "bfloat16",
    }
    key_length = get("attention.key_length")
    if key_length:
        config["head_dim"] = key_length
    window = get("attention.sliding_window")
    if window:
        config["sliding_window"] = window
    elif GGUF_ARCHS[arch] in ("gemma2", "gemma3_text", "gpt_oss", "mistral"):
        config["sliding_window"] = None
    experts = get("expert_count")
    if experts:
        config.update(num_local_experts=experts, num_experts=experts,
                      n_routed_experts=experts, num_experts_per_tok=get("expert_used_count", 1),
                      moe_intermediate_size=get("expert_feed_forward_length", config["intermediate_size"]),
                      shared_expert_intermediate_size=get("expert_shared_feed_forward_length", 0),
                      n_shared_experts=get("expert_shared_count", 0),
                      first_k_dense_replace=get("leading_dense_block_count", 0))
        if GGUF_ARCHS[arch] == "llama":
            config["model_type"] = "mixtral"
    if GGUF_ARCHS[arch] == "deepseek_v3":
        rope, key_length = get("rope.dimension_count", 64), get("attention.key_length", 192)
        if key_length <= rope:  # the key is a non-rotary part followed by the rotary part
            raise ConfigImportError(f"{path}: {arch}.attention.key_length ({key_length}) must exceed "
                                    f"{arch}.rope.dimension_count ({rope})")
        config.update(kv_lora_rank=get("attention.kv_lora_rank"), q_lora_rank=get("attention.q_lora_rank"),
                      qk_rope_head_dim=rope, qk_nope_head_dim=key_length - rope,
                      v_head_dim=get("attention.value_length", 128))
    return config


def load_gguf(path: str | Path) -> ModelSpec:
    """ModelSpec of a .gguf file (any part of a split file): its architecture and its exact tensors."""
    p = Path(path)
    parts = gguf_parts(p)
    return gguf_spec([read_gguf_header(part) for part in parts], str(p), split=_SPLIT.match(p.name) is not None,
                     stem=p.stem)


def gguf_spec(headers: list[GGUFHeader], where: str, *, split: bool, stem: str) -> ModelSpec:
    """ModelSpec of a GGUF model from the headers of its parts, in order (local or fetched); `where` names it,
    `stem` is its name when general.name is absent."""
    check_parts(headers, split=split)
    tensors = [t for header in headers for t in _tensor_bytes(header)]
    meta = headers[0].metadata  # gguf-split keeps the model's metadata in the first part
    config = _config_from_gguf(meta, tensors, where)
    name = meta.get("general.name") if isinstance(meta.get("general.name"), str) else stem
    spec = spec_from_config(config, name=name, source=where)
    checkpoint = Checkpoint(format="gguf", path=where, tensors=tuple(tensors))
    return spec.model_copy(update={"weights_dtype": "checkpoint", "checkpoint": checkpoint})


def with_safetensors(spec: ModelSpec, tensors, where: str) -> ModelSpec:
    """`spec` (from config.json) whose weights are the safetensors tensors read from `where`, byte for byte."""
    checkpoint = Checkpoint(format="safetensors", path=where, tensors=tuple(
        FileTensor(name=t.name, dtype=t.dtype, shape=t.shape, nbytes=t.nbytes) for t in tensors))
    return spec.model_copy(update={"weights_dtype": "checkpoint", "checkpoint": checkpoint})


def load_safetensors_model(folder: str | Path) -> ModelSpec:
    """ModelSpec of a Hugging Face folder: config.json for the architecture, safetensors headers for the bytes."""
    p = Path(folder)
    return with_safetensors(load_config_json(p), read_safetensors(p), str(p))
