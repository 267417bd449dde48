"""KV-cache bytes: exact, per layer kind, linear in cached tokens and in batch.

What each attention kind keeps, per sequence of `context_len` cached tokens:
  full          every token.
  sliding       min(context_len, sliding_window) tokens: only the window is ever read again, and
                modern engines (vLLM's sliding-window KV spec, llama.cpp's SWA cache, transformers'
                sliding cache layers) keep only that. cap_sliding=False keeps everything.
  block_sparse  every token. Phi-3-small's block-sparse layers read the 16 most recent 64-token
                blocks plus every 8th older block, with a different offset per head, so across its
                heads every block stays in use; both its reference code and vLLM cache all tokens.
  MLA           one latent row of kv_lora_rank + qk_rope_head_dim per token and layer (vLLM,
                SGLang and transformers ≥ 5 cache the latent, not the decompressed K and V).
  linear, mamba no KV cache: a recurrent state per sequence, the same at any context
                (recurrent_state_bytes_per_sequence).
  indexer       DeepSeek-V3.2's lightning indexer also caches one key of index_head_dim per token and layer,
                as fp8 with fp32 scales whatever kv_dtype is (indexer_bytes_per_token_per_layer); its own part
                of the KV cache (indexer_cache_bytes).
"""

from __future__ import annotations

from functools import lru_cache
from math import ceil

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from .errors import UnknownQuantError, WorkloadError, did_you_mean
from .paths import profiles_dir, read_yaml
from .spec import STATE_ONLY_KINDS, ModelSpec
from .units import counts


class KVDtype(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    aliases: tuple[str, ...] = ()
    bits: int = Field(0, ge=0)
    scale_bits: int = 0
    zero_bits: int = 0
    block: int = Field(0, ge=0, description="GGML block format: elements per block")
    block_bytes: int = 0
    source: str

    def row_bytes(self, width: int) -> int:
        """Bytes of one cached row of `width` elements (one head of one token)."""
        if self.block:
            if width % self.block:
                raise WorkloadError(f"kv_dtype {self.name!r} needs a head width divisible by "
                                    f"{self.block}, got {width}")
            return width // self.block * self.block_bytes
        return ceil((width * self.bits + self.scale_bits + self.zero_bits) / 8)


@lru_cache(maxsize=1)
def _kv_dtypes() -> dict[str, KVDtype]:
    rows = [KVDtype(**r) for r in read_yaml(profiles_dir() / "quants" / "kv_dtypes.yaml")]
    return {k.lower(): r for r in rows for k in (r.name, *r.aliases)}


def kv_dtype_names() -> list[str]:
    return sorted({d.name for d in _kv_dtypes().values()})


def get_kv_dtype(name: str, field: str = "kv_dtype") -> KVDtype:
    """A KV-cache element type by name; `field` names the argument in the error."""
    if not isinstance(name, str) or len(name) > 100:
        raise UnknownQuantError(f"{field} must be a name ({', '.join(kv_dtype_names())}), got {repr(name)[:80]}")
    key = name.strip().lower()
    if key not in _kv_dtypes():
        raise UnknownQuantError(f"unknown {field} {name!r}; known: {', '.join(kv_dtype_names())}"
                                f"{did_you_mean(key, _kv_dtypes()) if key else ''}")
    return _kv_dtypes()[key]


def kv_bytes_per_token_per_layer(spec: ModelSpec, kv_dtype: str = "bf16") -> int:
    """K and V of one token in one layer: 2 * n_kv_heads rows of head_dim (MLA: one latent row)."""
    dt = get_kv_dtype(kv_dtype)
    if spec.mla is not None:
        return dt.row_bytes(spec.mla.kv_lora_rank + spec.mla.qk_rope_head_dim)
    return 2 * spec.n_kv_heads * dt.row_bytes(spec.head_dim)


def kv_bytes_per_token(spec: ModelSpec, kv_dtype: str = "bf16") -> tuple[int, int]:
    """(bytes per token over all full-context layers, bytes per token over all sliding layers)."""
    per_layer = kv_bytes_per_token_per_layer(spec, kv_dtype)
    kinds = spec.layer_kinds()
    n_sliding, n_state = kinds.count("sliding"), sum(kinds.count(k) for k in STATE_ONLY_KINDS)
    return per_layer * (spec.n_layers - n_sliding - n_state), per_layer * n_sliding


# A Gated DeltaNet layer's state per sequence, as vLLM and llama.cpp keep it: the causal convolution's last
# conv_kernel - 1 inputs of its conv_dim channels in the activation dtype (vLLM's mamba conv state; transformers keeps
# conv_kernel positions), and the recurrent state of num_value_heads key_head_dim × value_head_dim matrices in fp32
# (llama.cpp's recurrent memory is f32; transformers' chunked delta rule returns it in fp32).
CONV_STATE_BYTES = 2
RECURRENT_STATE_BYTES = 4


def gdn_state_bytes(la, *, tp: int = 1, conv_bytes: int = CONV_STATE_BYTES,
                    state_bytes: int = RECURRENT_STATE_BYTES) -> int:
    """One sequence's state in one Gated DeltaNet layer on one GPU of `tp`: the convolution's last conv_kernel - 1
    inputs of conv_dim / tp channels and num_value_heads / tp key_head_dim × value_head_dim matrices, at the bytes
    per element a runtime keeps them in."""
    return ((la.conv_kernel - 1) * la.conv_dim // tp * conv_bytes
            + la.num_value_heads // tp * la.key_head_dim * la.value_head_dim * state_bytes)


def recurrent_state_bytes_per_sequence(spec: ModelSpec) -> int:
    """The state every linear-attention and Mamba layer keeps for one sequence, all such layers together. A Mamba-2
    layer keeps its convolution's last conv_kernel - 1 inputs (x, B and C) and n_heads × head_dim × d_state SSM
    state, laid out as the Gated DeltaNet's (vLLM's mamba2 conv and temporal states)."""
    if not spec.recurrent:  # attention-only: no layer walk on the estimate's hot path
        return 0
    total, kinds = 0, spec.layer_kinds()
    if (la := spec.linear_attention) is not None:
        total += kinds.count("linear") * gdn_state_bytes(la)
    if (m := spec.mamba) is not None:
        total += (kinds.count("mamba") + kinds.count("parallel")) * (CONV_STATE_BYTES * (m.conv_kernel - 1) * m.conv_dim
                                         + RECURRENT_STATE_BYTES * m.n_heads * m.head_dim * m.d_state)
    if (m1 := spec.mamba1) is not None:  # Mamba 1: d_inner channels of conv input and of d_state SSM state
        total += kinds.count("mamba1") * m1.d_inner * (CONV_STATE_BYTES * (m1.conv_kernel - 1)
                                                        + RECURRENT_STATE_BYTES * m1.d_state)
    return total


# DeepSeek-V3.2's indexer keys as vLLM caches them (vllm/model_executor/models/deepseek_v2.py, Indexer.__init__:
# DeepseekV32IndexerCache(head_dim=self.head_dim + self.head_dim // self.quant_block_size * 4, dtype=torch.uint8),
# quant_block_size = 128, "fp8 naive cache ... value in fp8 and scale in fp32 per quant_block_size element"), the same
# as DeepSeek's inference/model.py (k_cache float8_e4m3fn of head_dim, k_scale_cache float32 of head_dim // block_size).
# transformers keeps them unquantized in the model's dtype instead (DeepseekV32Indexer → cache.update_indexer).
INDEXER_QUANT_BLOCK = 128
INDEXER_KEY_BYTES = 1  # fp8 e4m3
INDEXER_SCALE_BYTES = 4  # fp32


def indexer_bytes_per_token_per_layer(spec: ModelSpec) -> int:
    """One token's indexer key in one layer, as vLLM allocates it: index_head_dim fp8 bytes and a 4-byte scale per
    128 of them (132 bytes for DeepSeek-V3.2's 128); 0 without an indexer."""
    if spec.indexer is None:
        return 0
    width = spec.indexer.head_dim
    return INDEXER_KEY_BYTES * width + width // INDEXER_QUANT_BLOCK * INDEXER_SCALE_BYTES


def ds_mla_fp8_row_bytes(spec: ModelSpec) -> int:
    """One token's MLA latent in one layer in DeepSeek's fp8 layout for its sparse attention (FlashMLA's sparse
    kernels): kv_lora_rank fp8 bytes, a 4-byte scale per 128 of them, and the rotary part kept in bf16 — 656 bytes for
    DeepSeek-V3.2 (512 + 16 + 128), where plain fp8 takes 576. vLLM's "fp8_ds_mla" (model_executor/layers/attention/
    mla_attention.py: state_content_bytes {"fp8_ds_mla": 656}, any fp8 cache on its FLASHMLA_SPARSE backend; 0.33)
    and SGLang's scaled DSA layout (mem_cache/kv_cache_configurator.py calculate_mla_kv_cache_dim; 0.5.23)."""
    m = spec.mla
    return m.kv_lora_rank + m.kv_lora_rank // INDEXER_QUANT_BLOCK * INDEXER_SCALE_BYTES + m.qk_rope_head_dim * 2


def dsa_token_bytes_per_layer(spec: ModelSpec, kv_dtype: str, *, scaled_fp8: bool) -> int:
    """One token's cache in one layer as a serving engine pages DeepSeek's sparse attention (DSA, V3.2): the MLA
    latent — an fp8 one in DeepSeek's scaled layout (ds_mla_fp8_row_bytes) where the engine's kernel takes it
    (`scaled_fp8`, the engine's rule), else as kv_dtype stores it — and the indexer's keys in the same page; any other
    model's K and V (kv_bytes_per_token_per_layer)."""
    if spec.indexer is None or spec.mla is None:
        return kv_bytes_per_token_per_layer(spec, kv_dtype)
    fp8 = scaled_fp8 and get_kv_dtype(kv_dtype).name.startswith("fp8")
    return (ds_mla_fp8_row_bytes(spec) if fp8 else kv_bytes_per_token_per_layer(spec, kv_dtype)) \
        + indexer_bytes_per_token_per_layer(spec)


def indexer_bytes_per_token(spec: ModelSpec) -> int:
    """The indexer keys of one token over all layers (every DeepSeek-V3.2 layer has an indexer)."""
    return indexer_bytes_per_token_per_layer(spec) * spec.n_layers


def indexer_cache_bytes(spec: ModelSpec, *, context_len, batch=1):
    """The indexer's key cache for `batch` sequences of `context_len` tokens (ints or numpy arrays): the part of
    kv_cache_bytes that is not K/V or recurrent state; 0 for models without DeepSeek Sparse Attention."""
    out = counts(batch) * indexer_bytes_per_token(spec) * counts(context_len)
    return int(out) if out.ndim == 0 else out


def kv_cache_bytes(spec: ModelSpec | str, *, context_len=None, batch=1, kv_dtype: str = "bf16",
                   cap_sliding: bool = True, context=None):
    """KV cache for `batch` sequences of `context_len` cached tokens (ints or numpy arrays; `context`, as estimate()
    calls it, is the same), with the recurrent state of linear-attention layers (per sequence, constant in context)
    and the sparse-attention indexer's keys (per token, in their own fp8 format); `spec` a ModelSpec or anything
    load_model takes."""
    if (context is None) == (context_len is None):
        raise WorkloadError("kv_cache_bytes() needs the tokens cached per sequence: give context= (or context_len=), "
                            "one of them")
    context_len = context if context_len is None else context_len
    if not isinstance(spec, ModelSpec):
        from .profiles import load_model

        spec = load_model(spec)
    full, sliding = kv_bytes_per_token(spec, kv_dtype)
    full += indexer_bytes_per_token(spec)
    ctx = counts(context_len)
    kept = np.minimum(ctx, spec.sliding_window) if (sliding and cap_sliding) else ctx
    out = counts(batch) * (full * ctx + sliding * kept + recurrent_state_bytes_per_sequence(spec))
    return int(out) if out.ndim == 0 else out
