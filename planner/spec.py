"""ModelSpec: a decoder-only transformer, field for field as its config.json gives it.

Nothing is inferred here: every number is written in a profile or filled by an importer
(planner.hf_import), which says what it filled. Validators only check, they never mutate.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, model_validator

from .limits import (
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

AttentionKind = Literal["full", "sliding", "block_sparse", "linear", "mamba", "parallel", "mamba1"]
# Layer kinds that keep a recurrent state and no KV cache ('parallel' layers keep both)
STATE_ONLY_KINDS = ("linear", "mamba", "mamba1")
Activation = Literal["silu", "gelu", "gelu_tanh", "relu", "gegelu", "swiglu_clamp"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Fact(_Frozen):
    """A model-card fact with where it was read."""

    value: str | int | tuple[int, ...]
    source: str = Field(min_length=1, description="URL the fact was read from")


class ModelCard(_Frozen):
    """What model pages show besides the architecture; each fact carries its source."""

    license: Fact | None = None
    release_date: Fact | None = Field(None, description="YYYY-MM-DD")
    context_variants: Fact | None = Field(None, description="context lengths of the family's variants")
    modality: Fact | None = None
    published_params: Fact | None = Field(None, description="parameter count as published")


class BlockSparse(_Frozen):
    """Phi-3-small's block-sparse attention (blocksparse_* keys of its config.json)."""

    block_size: StrictInt = Field(gt=0, le=MAX_CONTEXT, description="tokens per block")
    local_blocks: StrictInt = Field(gt=0, le=MAX_CONTEXT, description="most recent blocks every query attends to")
    vert_stride: StrictInt = Field(
        gt=0, le=MAX_CONTEXT, description="every vert_stride-th older block is also attended")
    homo_head: StrictBool = Field(False, description="all heads share one pattern (else offset per head)")


class MoE(_Frozen):
    """Mixture-of-experts feed-forward layers."""

    n_experts: StrictInt = Field(gt=1, le=MAX_EXPERTS, description="routed experts per MoE layer")
    experts_per_token: StrictInt = Field(gt=0, le=MAX_EXPERTS, description="top-k routed experts each token uses")
    expert_d_ff: StrictInt = Field(gt=0, le=MAX_D_FF, description="intermediate size of one routed expert")
    n_shared_experts: StrictInt = Field(0, ge=0, le=MAX_EXPERTS, description="experts every token uses")
    shared_d_ff: StrictInt = Field(0, ge=0, le=MAX_D_FF, description="intermediate size of all shared experts together")
    shared_expert_gate: StrictBool = Field(
        False, description="sigmoid gate (1 × d_model) on the shared expert (Qwen2-MoE)")
    first_dense_layers: StrictInt = Field(0, ge=0, le=MAX_LAYERS, description="leading layers with a dense MLP of d_ff")
    layer_period: StrictInt = Field(1, gt=0, le=MAX_LAYERS, description="every layer_period-th layer is MoE (Jamba: 2)")
    layer_offset: StrictInt = Field(0, ge=0, le=MAX_LAYERS, description="layer i is MoE when i % period == offset")
    router_bias: StrictBool = Field(False, description="router linear has a bias (gpt-oss)")
    router_correction_bias: StrictBool = Field(
        False, description="per-expert score bias (DeepSeek-V3 e_score_correction_bias)")

    @model_validator(mode="after")
    def _consistent(self) -> MoE:
        if self.experts_per_token > self.n_experts:
            raise ValueError(f"moe.experts_per_token ({self.experts_per_token}) exceeds "
                             f"moe.n_experts ({self.n_experts})")
        if (self.n_shared_experts > 0) != (self.shared_d_ff > 0):
            raise ValueError(f"moe.n_shared_experts ({self.n_shared_experts}) and moe.shared_d_ff "
                             f"({self.shared_d_ff}) must both be zero or both positive")
        if self.shared_expert_gate and not self.n_shared_experts:
            raise ValueError("moe.shared_expert_gate is true but moe.n_shared_experts is 0")
        return self


class LinearAttention(_Frozen):
    """Gated DeltaNet layers (Qwen3-Next's linear_attention): a fixed recurrent state per sequence, no KV cache."""

    num_key_heads: StrictInt = Field(gt=0, le=MAX_HEADS, description="linear_num_key_heads")
    num_value_heads: StrictInt = Field(gt=0, le=MAX_HEADS, description="linear_num_value_heads")
    key_head_dim: StrictInt = Field(gt=0, le=MAX_HEAD_DIM, description="linear_key_head_dim")
    value_head_dim: StrictInt = Field(gt=0, le=MAX_HEAD_DIM, description="linear_value_head_dim")
    conv_kernel: StrictInt = Field(gt=1, le=64, description="linear_conv_kernel_dim: the causal convolution's width")
    ssm_dtype: Literal["bf16", "fp16", "fp32"] | None = Field(
        None, description="mamba_ssm_dtype: the recurrent state's dtype the checkpoint asks for (Qwen3.5: float32; "
                          "vLLM keeps it so from 0.17), None where the config names none")

    @property
    def conv_dim(self) -> int:
        """Channels of the causal convolution: q and k (key width each) and v (value width)."""
        return 2 * self.num_key_heads * self.key_head_dim + self.num_value_heads * self.value_head_dim


class Mamba(_Frozen):
    """Mamba-2 mixers (Granite 4.0 H, Falcon-H1): a fixed SSM state per sequence. A 'mamba' layer has only the
    mixer; a 'parallel' layer (Falcon-H1) runs it beside full attention, so it keeps both a KV cache and the state."""

    n_heads: StrictInt = Field(gt=0, le=MAX_HEADS, description="mamba_n_heads")
    head_dim: StrictInt = Field(gt=0, le=MAX_HEAD_DIM, description="mamba_d_head")
    d_state: StrictInt = Field(gt=0, le=MAX_HEAD_DIM, description="mamba_d_state: the SSM state per head channel")
    n_groups: StrictInt = Field(gt=0, le=MAX_HEADS, description="mamba_n_groups: groups sharing B and C")
    conv_kernel: StrictInt = Field(gt=1, le=64, description="mamba_d_conv")
    conv_bias: StrictBool = True
    proj_bias: StrictBool = Field(False, description="bias on the input projection")
    out_bias: StrictBool = Field(False, description="bias on the output projection")
    gated_norm: StrictBool = Field(True, description="the gated RMSNorm over d_inner (Falcon-H1 may leave it out)")

    @property
    def d_inner(self) -> int:
        return self.n_heads * self.head_dim

    @property
    def conv_dim(self) -> int:
        """Channels of the causal convolution: x and the groups' B and C."""
        return self.d_inner + 2 * self.n_groups * self.d_state


class Mamba1(_Frozen):
    """Mamba (version 1) mixers of Jamba: a per-channel SSM state of d_state per sequence, no KV cache."""

    d_inner: StrictInt = Field(gt=0, le=MAX_D_FF, description="mamba_expand × hidden_size")
    d_state: StrictInt = Field(gt=0, le=MAX_HEAD_DIM, description="mamba_d_state")
    dt_rank: StrictInt = Field(gt=0, le=MAX_D_MODEL, description="mamba_dt_rank: the time-step projection's rank")
    conv_kernel: StrictInt = Field(gt=1, le=64, description="mamba_d_conv")
    conv_bias: StrictBool = True
    proj_bias: StrictBool = False


class MLA(_Frozen):
    """DeepSeek's multi-head latent attention: K and V come from a cached low-rank latent."""

    q_lora_rank: StrictInt | None = Field(
        None, gt=0, le=MAX_LORA_RANK, description="None: plain q_proj (DeepSeek-V2-Lite)")
    kv_lora_rank: StrictInt = Field(gt=0, le=MAX_LORA_RANK, description="width of the cached KV latent")
    qk_rope_head_dim: StrictInt = Field(
        gt=0, le=MAX_HEAD_DIM, description="rotary part of each query/key head, key part shared")
    qk_nope_head_dim: StrictInt = Field(gt=0, le=MAX_HEAD_DIM, description="non-rotary part of each query/key head")
    v_head_dim: StrictInt = Field(gt=0, le=MAX_HEAD_DIM)


class SparseIndexer(_Frozen):
    """DeepSeek Sparse Attention's lightning indexer (DeepSeek-V3.2; transformers' DeepseekV32Indexer): in every
    layer, n_heads query heads of head_dim from MLA's query latent (wq_b), one key of head_dim from the hidden state
    (wk, then a LayerNorm), per-head weights (weights_proj); its keys are cached for every token, and each query
    attends, through MLA, only to the topk tokens they score highest."""

    n_heads: StrictInt = Field(gt=0, le=MAX_HEADS, description="index_n_heads")
    head_dim: StrictInt = Field(gt=0, le=MAX_HEAD_DIM, description="index_head_dim: the width of the cached key")
    topk: StrictInt = Field(gt=0, le=MAX_CONTEXT, description="index_topk: cached tokens each query attends to")


class VisionTower(_Frozen):
    """The image encoder of a vision-language checkpoint and its projector into the language model's width: weights
    only (it runs once per image, before the prompt's prefill). SigLIP, as Gemma 3 holds it (transformers'
    SiglipVisionModel without its pooling head, then Gemma3MultiModalProjector); Llama 4's; Qwen3-VL's and Qwen3.5's
    (a ViT over 3-D patches whose merger folds shuffle neighbouring patches into one token); Qwen2.5-VL's (the same
    folding over RMSNorm layers with a gated MLP and 2-D RoPE, no learned positions); Pixtral, as Mistral Small 3.1
    holds it (a gated-MLP ViT with 2-D RoPE, then Mistral3MultiModalProjector's patch merger)."""

    kind: Literal["siglip", "llama4", "qwen3_vl", "qwen2_5_vl", "pixtral"] = "siglip"
    n_layers: StrictInt = Field(gt=0, le=MAX_LAYERS, description="vision_config.num_hidden_layers")
    d_model: StrictInt = Field(gt=0, le=MAX_D_MODEL, description="vision_config.hidden_size")
    d_ff: StrictInt = Field(gt=0, le=MAX_D_FF, description="vision_config.intermediate_size")
    n_heads: StrictInt = Field(gt=0, le=MAX_HEADS, description="vision_config.num_attention_heads")
    patch_size: StrictInt = Field(gt=0, le=1024, description="vision_config.patch_size (pixels)")
    image_size: StrictInt = Field(gt=0, le=16384, description="vision_config.image_size (pixels)")
    channels: StrictInt = Field(3, gt=0, le=16, description="vision_config.num_channels")
    projector: Literal["gemma3", "llama4", "qwen3_vl", "qwen2_5_vl", "mistral3"] = "gemma3"
    tokens_per_image: StrictInt = Field(gt=0, le=65536, description="mm_tokens_per_image: context one image takes")
    adapter_dim: StrictInt | None = Field(
        None, gt=0, le=MAX_D_FF, description="Llama 4: projector_input_dim, the pixel-shuffle MLP's width")
    output_dim: StrictInt | None = Field(
        None, gt=0, le=MAX_D_FF, description="Llama 4: projector_output_dim (= vision_output_dim), its output; "
                                             "Qwen3-VL and Qwen2.5-VL: out_hidden_size, the merger's output")
    shuffle: StrictInt | None = Field(
        None, gt=0, le=64, description="patches merged into one token: Llama 4's 1 / pixel_shuffle_ratio², "
                                       "Qwen3-VL's, Qwen2.5-VL's and Mistral 3's spatial_merge_size²")
    temporal_patch: StrictInt | None = Field(
        None, gt=0, le=64, description="Qwen3-VL and Qwen2.5-VL: temporal_patch_size, the frames one patch spans")
    deepstack: StrictInt = Field(
        0, ge=0, le=MAX_LAYERS, description="Qwen3-VL: len(deepstack_visual_indexes), its extra mergers")

    @model_validator(mode="after")
    def _kind(self) -> VisionTower:
        own = {"siglip": "gemma3", "llama4": "llama4", "qwen3_vl": "qwen3_vl", "qwen2_5_vl": "qwen2_5_vl",
               "pixtral": "mistral3"}
        if own[self.kind] != self.projector:
            raise ValueError(f"vision kind {self.kind!r} with projector {self.projector!r}: planner knows SigLIP with "
                             "Gemma 3's projector, Pixtral with Mistral 3's, and Llama 4's, Qwen3-VL's and "
                             "Qwen2.5-VL's encoders with their own")
        needs = {"siglip": (), "llama4": ("adapter_dim", "output_dim", "shuffle"),
                 "qwen3_vl": ("output_dim", "shuffle", "temporal_patch"),
                 "qwen2_5_vl": ("output_dim", "shuffle", "temporal_patch"), "pixtral": ("shuffle",)}[self.kind]
        optional = ("adapter_dim", "output_dim", "shuffle", "temporal_patch")
        if any((getattr(self, f) is not None) != (f in needs) for f in optional) or \
                (self.deepstack and self.kind != "qwen3_vl"):
            raise ValueError(f"vision kind {self.kind!r} takes {', '.join(needs) or 'none'} of "
                             f"{', '.join(optional)} and deepstack only with Qwen3-VL's encoder")
        return self

    @property
    def n_patches(self) -> int:
        return (self.image_size // self.patch_size) ** 2


class FileTensor(_Frozen):
    """One tensor as a model file stores it (from its header; the data is never read)."""

    name: str
    dtype: str = Field(description="GGML type (GGUF) or safetensors dtype")
    shape: tuple[int, ...]
    nbytes: StrictInt = Field(ge=0)


class Checkpoint(_Frozen):
    """The tensors of the file a spec was read from, so weights are counted byte for byte."""

    format: Literal["gguf", "safetensors"]
    path: str
    tensors: tuple[FileTensor, ...]

    @property
    def total_bytes(self) -> int:
        return sum(t.nbytes for t in self.tensors)


class ModelSpec(_Frozen):
    """A decoder-only transformer, field for field as its config.json gives it."""

    name: str = Field(min_length=1, description="Hugging Face id, e.g. microsoft/Phi-3-small-8k-instruct")
    source: str = Field(min_length=1, description="URL of the config.json the numbers come from")
    model_type: str = Field(description="config.json model_type")
    aliases: tuple[str, ...] = Field((), description="short names that also find this profile")

    n_layers: StrictInt = Field(gt=0, le=MAX_LAYERS)
    d_model: StrictInt = Field(gt=0, le=MAX_D_MODEL, description="hidden_size")
    n_heads: StrictInt = Field(gt=0, le=MAX_HEADS, description="query heads")
    n_kv_heads: StrictInt = Field(
        gt=0, le=MAX_HEADS, description="key/value heads; fewer than n_heads means GQA, 1 means MQA")
    head_dim: StrictInt = Field(
        gt=0, le=MAX_HEAD_DIM, description="not always d_model // n_heads (Gemma, Qwen3, Mistral-Nemo)")
    d_ff: StrictInt = Field(ge=0, le=MAX_D_FF, description="intermediate size of a dense MLP; 0 if every layer is MoE")
    vocab_size: StrictInt = Field(gt=0, le=MAX_VOCAB)
    max_context: StrictInt = Field(gt=0, le=MAX_CONTEXT, description="max_position_embeddings, tokens")
    rope_type: str | None = Field(
        None, max_length=32, pattern=r"^[a-z0-9_]+$",
        description="config.json's rope_scaling type (llama3, longrope, yarn, …); None for plain RoPE: a runtime "
        "release before its scaling cannot load the model")
    tie_embeddings: StrictBool = Field(description="lm_head shares the token-embedding matrix")

    norm: Literal["rmsnorm", "layernorm"] = "rmsnorm"
    norm_bias: StrictBool = Field(False, description="LayerNorm with a bias vector")
    norms_per_layer: StrictInt = Field(2, ge=1, le=4, description="2 pre-norms; Gemma-2/3 add two post-norms")
    qk_norm: StrictBool = Field(False, description="per-head RMSNorm of q and k over head_dim (Qwen3, Gemma-3)")
    qk_norm_per_head: StrictBool = Field(
        True, description="false: one RMSNorm over all heads of q (n_heads·head_dim) and of k (OLMo 2)")

    qkv_bias: StrictBool = False
    o_bias: StrictBool = False
    mlp_bias: StrictBool = Field(False, description="biases on MLP and expert linears")
    lm_head_bias: StrictBool = False
    gated_mlp: StrictBool = Field(True, description="gate and up projections (SwiGLU/GeGLU) vs plain up → act → down")
    activation: Activation = "silu"
    qkv_fused: StrictBool = Field(False, description="checkpoint stores q, k, v as one tensor (Phi-3)")
    gate_up_fused: StrictBool = Field(False, description="checkpoint stores gate and up as one tensor (Phi-3)")

    layer_pattern: tuple[AttentionKind, ...] = Field(
        ("full",), min_length=1, max_length=MAX_LAYERS,
        description="attention kind of layers 0, 1, …, repeated cyclically over n_layers")
    sliding_window: StrictInt | None = Field(
        None, gt=0, le=MAX_CONTEXT, description="tokens a sliding layer attends to")
    block_sparse: BlockSparse | None = None
    attention_sinks: StrictBool = Field(False, description="learned per-head sink logit (gpt-oss)")
    chunked_attention: StrictBool = Field(
        False, description="the sliding layers attend within aligned chunks of sliding_window tokens, not a trailing "
        "window (Llama 4's attention_chunk_size): a cache that keeps the window keeps the chunk")
    moe: MoE | None = None
    mla: MLA | None = None
    indexer: SparseIndexer | None = Field(None, description="the lightning indexer of every layer (DeepSeek-V3.2)")
    vision: VisionTower | None = Field(None, description="the image encoder of a vision-language checkpoint")
    linear_attention: LinearAttention | None = Field(None, description="the layout of the 'linear' layers")
    mamba: Mamba | None = Field(None, description="the layout of the 'mamba' layers")
    mamba1: Mamba1 | None = Field(None, description="the layout of the 'mamba1' layers (Jamba)")
    attn_output_gate: StrictBool = Field(
        False, description="q_proj also emits a sigmoid gate on the attention output (Qwen3-Next): twice as wide")

    weights_dtype: str = Field("bf16", description="quantization the checkpoint is stored in (catalog name); "
                               "'checkpoint' = the tensors of `checkpoint`, byte for byte")
    checkpoint: Checkpoint | None = Field(None, description="tensors of the GGUF/safetensors file read")
    card: ModelCard = ModelCard()

    @model_validator(mode="after")
    def _consistent(self) -> ModelSpec:
        def bad(msg: str) -> ValueError:
            return ValueError(f"{self.name}: {msg}")

        if self.n_heads % self.n_kv_heads:
            raise bad(f"n_heads ({self.n_heads}) must be a multiple of n_kv_heads ({self.n_kv_heads})")
        if len(self.layer_pattern) > self.n_layers:
            raise bad(f"layer_pattern has {len(self.layer_pattern)} entries but n_layers is {self.n_layers}")
        if ("sliding" in self.layer_pattern) != (self.sliding_window is not None):
            raise bad(f"layer_pattern {list(self.layer_pattern)} and sliding_window ({self.sliding_window}) "
                      "disagree: a sliding layer needs a window and a window needs a sliding layer")
        if self.chunked_attention and self.sliding_window is None:
            raise bad("chunked_attention needs sliding layers and their sliding_window (the chunk)")
        if ("linear" in self.layer_pattern) != (self.linear_attention is not None):
            raise bad(f"layer_pattern {list(self.layer_pattern)} and linear_attention disagree: a linear layer "
                      "needs linear_attention and linear_attention needs a linear layer")
        if ("mamba" in self.layer_pattern or "parallel" in self.layer_pattern) != (self.mamba is not None):
            raise bad(f"layer_pattern {list(self.layer_pattern)} and mamba disagree: a mamba layer needs mamba and "
                      "mamba needs a mamba layer")
        if ("mamba1" in self.layer_pattern) != (self.mamba1 is not None):
            raise bad(f"layer_pattern {list(self.layer_pattern)} and mamba1 disagree")
        if ("block_sparse" in self.layer_pattern) != (self.block_sparse is not None):
            raise bad(f"layer_pattern {list(self.layer_pattern)} and block_sparse ({self.block_sparse}) "
                      "disagree")
        dense_layers = self.n_layers if self.moe is None else self.moe.first_dense_layers
        if dense_layers and self.d_ff == 0:
            raise bad(f"{dense_layers} layers have a dense MLP but d_ff is 0")
        if self.moe is not None and self.moe.first_dense_layers >= self.n_layers:
            raise bad(f"moe.first_dense_layers ({self.moe.first_dense_layers}) must be below "
                      f"n_layers ({self.n_layers})")
        if self.mla is not None and self.n_kv_heads != self.n_heads:
            raise bad(f"MLA decompresses one K/V per query head: n_kv_heads ({self.n_kv_heads}) "
                      f"must equal n_heads ({self.n_heads})")
        if self.indexer is not None and (self.mla is None or self.mla.q_lora_rank is None):
            raise bad("the sparse-attention indexer projects MLA's query latent: it needs mla with a q_lora_rank")
        if self.indexer is not None and self.indexer.head_dim < self.mla.qk_rope_head_dim:
            raise bad(f"indexer.head_dim ({self.indexer.head_dim}) must hold the rotary part, "
                      f"mla.qk_rope_head_dim ({self.mla.qk_rope_head_dim})")
        if self.activation in ("gegelu", "swiglu_clamp") and not self.gated_mlp:
            raise bad(f"activation {self.activation!r} is gated but gated_mlp is false")
        if self.tie_embeddings and self.lm_head_bias:
            raise bad("tie_embeddings and lm_head_bias: a tied lm_head has no bias of its own")
        from .quant.catalog import get_quant  # late import: the catalog imports nothing from here

        get_quant(self.weights_dtype)
        if self.weights_dtype == "checkpoint" and self.checkpoint is None:
            raise bad("weights_dtype 'checkpoint' needs the checkpoint's tensors")
        return self

    # Derived views (pure functions of the fields, no state).

    def layer_kinds(self) -> tuple[AttentionKind, ...]:
        """Attention kind of every layer, the pattern repeated over n_layers."""
        return _repeated(tuple(self.layer_pattern), self.n_layers)

    @property
    def recurrent(self) -> bool:
        """Some layers keep a recurrent state instead of a KV cache (linear attention, Mamba)."""
        return self.linear_attention is not None or self.mamba is not None or self.mamba1 is not None

    def is_moe_layer(self, layer: int) -> bool:
        m = self.moe
        return m is not None and layer >= m.first_dense_layers and layer % m.layer_period == m.layer_offset

    @property
    def n_moe_layers(self) -> int:
        """The layers whose MLP is a mixture of experts (0 for dense models)."""
        return sum(self.is_moe_layer(i) for i in range(self.n_layers))

    @property
    def param_count(self) -> int:
        """Exact number of parameters in the checkpoint (buffers such as rotary tables excluded)."""
        from .tensors import param_count

        return param_count(self)

    @property
    def active_param_count(self) -> int:
        """Parameters one token touches: routed experts counted experts_per_token times, not n_experts."""
        from .tensors import active_param_count

        return active_param_count(self)


@lru_cache(maxsize=512)
def _repeated(pattern: tuple, n: int) -> tuple:
    return tuple(pattern[i % len(pattern)] for i in range(n))
