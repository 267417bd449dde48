"""ModelSpec from a GGUF file (or its split parts) or from a safetensors checkpoint with its config.json.

GGUF: the architecture comes from the file's metadata ({arch}.block_count, .embedding_length, …), read into
the same config.json fields the importer knows, and the weights are the file's tensors byte for byte (their
GGML type and shape from the tensor infos; the data is never read). safetensors: the architecture comes from
config.json, the weights from the headers.
"""

from __future__ import annotations

import re
from math import prod
from pathlib import Path

from ..errors import ConfigImportError
from ..hf_import import load_config_json, spec_from_config
from ..quant.gguf import ggml_types
from ..spec import Checkpoint, FileTensor, ModelSpec
from .gguf_reader import ArrayInfo, FileFormatError, GGUFHeader, read_gguf_header
from .safetensors_reader import read_safetensors

# GGUF general.architecture → config.json model_type
GGUF_ARCHS = {"llama": "llama", "mistral": "mistral", "qwen2": "qwen2", "qwen3": "qwen3", "qwen2moe": "qwen2_moe",
              "qwen3moe": "qwen3_moe", "gemma": "gemma", "gemma2": "gemma2", "gemma3": "gemma3_text",
              "phi3": "phi3", "deepseek2": "deepseek_v3", "gpt-oss": "gpt_oss"}
_SPLIT = re.compile(r"^(.*)-(\d{5})-of-(\d{5})\.gguf$")


def gguf_parts(path: Path) -> list[Path]:
    """The file itself, or every part of a split GGUF (name-00001-of-0000N.gguf) given any one part."""
    m = _SPLIT.match(path.name)
    if not m:
        return [path]
    n = int(m.group(3))
    parts = [path.with_name(f"{m.group(1)}-{i:05d}-of-{n:05d}.gguf") for i in range(1, n + 1)]
    missing = [p.name for p in parts if not p.is_file()]
    if missing:
        raise FileFormatError(f"{path}: split GGUF is missing {', '.join(missing)}")
    return parts


def _tensor_bytes(header: GGUFHeader) -> list[FileTensor]:
    by_id = {t.id: t for t in ggml_types().values()}
    out, end = [], header.data_offset
    for t in header.tensors:
        typ = by_id.get(t.ggml_type)
        if typ is None:
            raise FileFormatError(f"{header.path}: tensor {t.name!r} has unknown ggml type {t.ggml_type}")
        if t.shape[0] % typ.block:
            raise FileFormatError(f"{header.path}: tensor {t.name!r}: row of {t.shape[0]} is not a multiple of "
                                  f"{typ.name}'s block {typ.block}")
        nbytes = prod(t.shape[1:]) * t.shape[0] // typ.block * typ.bytes
        end = max(end, header.data_offset + t.offset + nbytes)
        # back to (out, in) order, the last dimension being the row
        out.append(FileTensor(name=t.name, dtype=typ.name, shape=tuple(reversed(t.shape)), nbytes=nbytes))
    if end > header.file_size:
        raise FileFormatError(f"{header.path}: truncated: tensor data ends at byte {end}, the file has "
                              f"{header.file_size}")
    return out


def _config_from_gguf(meta: dict, tensors: list[FileTensor], path: str) -> dict:
    arch = meta.get("general.architecture")
    if arch not in GGUF_ARCHS:
        raise ConfigImportError(f"{path}: GGUF architecture {arch!r} is not supported; supported: "
                                f"{', '.join(sorted(GGUF_ARCHS))}")

    def get(key, default=None):
        value = meta.get(f"{arch}.{key}", default)
        if isinstance(value, (list, ArrayInfo)):  # per-layer values: the planner takes the largest
            value = max(value) if isinstance(value, list) else default
        return value

    names = {t.name: t for t in tensors}
    if "token_embd.weight" not in names:
        raise ConfigImportError(f"{path}: no token_embd.weight tensor")
    required = {"block_count": get("block_count"), "embedding_length": get("embedding_length"),
                "attention.head_count": get("attention.head_count")}
    for key, value in required.items():
        if not isinstance(value, int) or value <= 0:
            raise ConfigImportError(f"{path}: GGUF field {arch}.{key} is missing or invalid ({value!r})")
    n_heads = required["attention.head_count"]
    config = {
        "model_type": GGUF_ARCHS[arch], "num_hidden_layers": required["block_count"],
        "hidden_size": required["embedding_length"], "num_attention_heads": n_heads,
        "num_key_value_heads": get("attention.head_count_kv", n_heads),
        "intermediate_size": get("feed_forward_length", 0) or get("expert_feed_forward_length", 0),
        "vocab_size": names["token_embd.weight"].shape[0],
        "max_position_embeddings": get("context_length", 4096),
        "tie_word_embeddings": "output.weight" not in names,
        "attention_bias": "blk.0.attn_q.bias" in names, "torch_dtype": "bfloat16",
    }
    if get("attention.key_length"):
        config["head_dim"] = get("attention.key_length")
    if get("attention.sliding_window"):
        config["sliding_window"] = get("attention.sliding_window")
    elif GGUF_ARCHS[arch] in ("gemma2", "gemma3_text", "gpt_oss", "mistral"):
        config["sliding_window"] = None
    if get("expert_count"):
        config.update(num_local_experts=get("expert_count"), num_experts=get("expert_count"),
                      n_routed_experts=get("expert_count"), num_experts_per_tok=get("expert_used_count", 1),
                      moe_intermediate_size=get("expert_feed_forward_length", config["intermediate_size"]),
                      shared_expert_intermediate_size=get("expert_shared_feed_forward_length", 0),
                      n_shared_experts=get("expert_shared_count", 0),
                      first_k_dense_replace=get("leading_dense_block_count", 0))
        if GGUF_ARCHS[arch] == "llama":
            config["model_type"] = "mixtral"
    if GGUF_ARCHS[arch] == "deepseek_v3":
        rope = get("rope.dimension_count", 64)
        config.update(kv_lora_rank=get("attention.kv_lora_rank"), q_lora_rank=get("attention.q_lora_rank"),
                      qk_rope_head_dim=rope, qk_nope_head_dim=get("attention.key_length", 192) - rope,
                      v_head_dim=get("attention.value_length", 128))
    return config


def load_gguf(path: str | Path) -> ModelSpec:
    """ModelSpec of a .gguf file (any part of a split file): its architecture and its exact tensors."""
    p = Path(path)
    tensors, meta = [], None
    for part in gguf_parts(p):
        header = read_gguf_header(part)
        meta = meta or header.metadata
        tensors += _tensor_bytes(header)
    config = _config_from_gguf(meta, tensors, str(p))
    name = meta.get("general.name") if isinstance(meta.get("general.name"), str) else p.stem
    spec = spec_from_config(config, name=name, source=str(p))
    checkpoint = Checkpoint(format="gguf", path=str(p), tensors=tuple(tensors))
    return spec.model_copy(update={"weights_dtype": "checkpoint", "checkpoint": checkpoint})


def load_safetensors_model(folder: str | Path) -> ModelSpec:
    """ModelSpec of a Hugging Face folder: config.json for the architecture, safetensors headers for the bytes."""
    p = Path(folder)
    spec = load_config_json(p)
    tensors = read_safetensors(p)
    checkpoint = Checkpoint(format="safetensors", path=str(p), tensors=tuple(
        FileTensor(name=t.name, dtype=t.dtype, shape=t.shape, nbytes=t.nbytes) for t in tensors))
    return spec.model_copy(update={"weights_dtype": "checkpoint", "checkpoint": checkpoint})
