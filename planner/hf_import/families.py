"""What the importer knows of each model family: transformers' defaults and the bounds of every key it reads."""

from __future__ import annotations

from typing import Any

from ..limits import (
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
    # Gemma3TextConfig: google/gemma-3-4b-it's config.json gives no head counts, head_dim or vocab_size and relies on
    # these class defaults (8 query heads, 4 KV heads of 256)
    "gemma3_text": {"num_attention_heads": 8, "num_key_value_heads": 4, "tie_word_embeddings": True, "head_dim": 256,
                    "attention_bias": False, "sliding_window": 4096, "sliding_window_pattern": 6,
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
    # Olmo2Config: Llama's layers with the norms after attention and after the MLP instead of before, and one
    # RMSNorm over all heads of q and of k
    "olmo2": {"tie_word_embeddings": False, "attention_bias": False, "hidden_act": "silu"},
    # Qwen3NextConfig (Qwen3-Next-80B-A3B): three Gated DeltaNet (linear_attention) layers to one gated full-attention
    # layer, every layer a mixture of experts with a gated shared expert
    "qwen3_next": {"num_key_value_heads": 2, "tie_word_embeddings": False, "attention_bias": False, "head_dim": 256,
                   "hidden_act": "silu", "decoder_sparse_step": 1, "mlp_only_layers": [], "use_sliding_window": False,
                   "linear_conv_kernel_dim": 4, "linear_key_head_dim": 128, "linear_value_head_dim": 128,
                   "linear_num_key_heads": 16, "linear_num_value_heads": 32, "num_experts": 512,
                   "num_experts_per_tok": 10, "moe_intermediate_size": 512, "shared_expert_intermediate_size": 512},
    # GraniteMoeHybridConfig (Granite 4.0 H): Mamba-2 and attention layers, each followed by a shared MLP and, with
    # experts, a mixture of experts; transformers 5 names the Mamba layers linear_attention in layer_types
    "granitemoehybrid": {"tie_word_embeddings": False, "attention_bias": False, "hidden_act": "silu",
                         "num_local_experts": 8, "num_experts_per_tok": 2, "shared_intermediate_size": 1024,
                         "mamba_n_heads": 128, "mamba_n_groups": 1, "mamba_d_state": 256, "mamba_d_conv": 4,
                         "mamba_expand": 2, "mamba_conv_bias": True, "mamba_proj_bias": False},
    # FalconH1Config: every layer runs attention and a Mamba-2 mixer side by side, then an MLP
    "falcon_h1": {"tie_word_embeddings": False, "attention_bias": False, "mlp_bias": False, "hidden_act": "silu",
                  "num_key_value_heads": 8, "mamba_d_ssm": 1024, "mamba_n_heads": 128, "mamba_d_head": 8,
                  "mamba_n_groups": 1, "mamba_d_state": 256, "mamba_d_conv": 4, "mamba_expand": 2,
                  "mamba_conv_bias": True, "mamba_proj_bias": False, "projectors_bias": False, "mamba_rms_norm": False},
    # JambaConfig: Mamba (v1) layers with an attention layer every attn_layer_period, a mixture of experts every
    # expert_layer_period
    "jamba": {"tie_word_embeddings": False, "hidden_act": "silu", "num_key_value_heads": 8, "num_experts": 16,
              "num_experts_per_tok": 2, "expert_layer_period": 2, "expert_layer_offset": 1, "attn_layer_period": 8,
              "attn_layer_offset": 4, "mamba_d_state": 16, "mamba_d_conv": 4, "mamba_expand": 2, "mamba_dt_rank": 256,
              "mamba_conv_bias": True, "mamba_proj_bias": False},
    # SmolLM3Config: Llama's layers (no_rope_layers change no tensor), tied embeddings
    "smollm3": {"tie_word_embeddings": True, "attention_bias": False, "mlp_bias": False, "hidden_act": "silu",
                "use_sliding_window": False},
    # Ernie4_5Config (ERNIE 4.5 dense): Llama's layers, one use_bias switch for the attention and MLP linears
    "ernie4_5": {"tie_word_embeddings": True, "use_bias": False, "head_dim": 128, "hidden_act": "silu"},
    # OlmoeConfig: OLMo's all-heads q/k norms, every layer a mixture of experts (no shared one)
    "olmoe": {"tie_word_embeddings": False, "attention_bias": False, "hidden_act": "silu", "num_experts": 64,
              "num_experts_per_tok": 8, "intermediate_size": 2048},
    # GraniteMoeConfig: Granite's attention, Mixtral's experts (gate and up stacked as one tensor per layer)
    "granitemoe": {"tie_word_embeddings": False, "attention_bias": False, "hidden_act": "silu",
                   "num_local_experts": 8, "num_experts_per_tok": 2, "intermediate_size": 11008},
    # GraniteConfig: Llama's layout; its multipliers (embedding, residual, attention, logits) change no tensor
    "granite": {"tie_word_embeddings": False, "attention_bias": False, "mlp_bias": False, "hidden_act": "silu"},
    # Glm4MoeConfig (GLM-4.5, 4.6): DeepSeek-V3's routing (sigmoid, e_score_correction_bias, shared expert, leading
    # dense layers) with grouped-query attention; the checkpoint's num_nextn_predict_layers MTP layers are not part
    # of the model transformers builds, nor counted here
    "glm4_moe": {"tie_word_embeddings": False, "attention_bias": False, "hidden_act": "silu", "num_key_value_heads": 8,
                 "n_routed_experts": 128, "num_experts_per_tok": 8, "moe_intermediate_size": 1408,
                 "intermediate_size": 10944, "n_shared_experts": 1, "first_k_dense_replace": 1, "moe_layer_freq": 1,
                 "use_qk_norm": False},
    # DeepseekV32Config (DeepSeek-V3.2, V3.2-Exp): DeepSeek-V3's layers plus DeepSeek Sparse Attention's lightning
    # indexer in every layer (index_* keys); its num_nextn_predict_layers MTP layer is not built, nor counted here
    "deepseek_v32": {"tie_word_embeddings": False, "attention_bias": False, "first_k_dense_replace": 3,
                     "moe_layer_freq": 1, "n_shared_experts": 1, "hidden_act": "silu", "index_n_heads": 64,
                     "index_head_dim": 128, "index_topk": 2048},
    # MiniMaxM2Config (MiniMax-M2, M2.5, M2.7): grouped-query attention with one RMSNorm over all heads of q and of k,
    # partial rotary (rotary_dim), every layer a mixture of experts of intermediate_size with sigmoid routing and an
    # e_score_correction_bias; no shared expert, and the num_mtp_modules MTP modules are not built
    "minimax_m2": {"tie_word_embeddings": False, "hidden_act": "silu", "num_key_value_heads": 8, "head_dim": 128,
                   "num_local_experts": 256, "num_experts_per_tok": 8, "use_qk_norm": True, "qk_norm_type": "per_layer",
                   "use_routing_bias": True, "shared_intermediate_size": 0},
    # Llama4TextConfig (Llama 4 Scout, Maverick; the text_config of model_type "llama4"): a mixture of experts of
    # intermediate_size with one shared expert of that size every interleave_moe_layer_step-th layer (dense layers of
    # intermediate_size_mlp between), chunked local attention on the RoPE layers (no_rope_layers 1; every
    # no_rope_layer_interval-th layer is a global NoPE layer), and an L2 norm of q and k without weights
    "llama4_text": {"tie_word_embeddings": False, "attention_bias": False, "hidden_act": "silu", "head_dim": 128,
                    "num_local_experts": 16, "num_experts_per_tok": 1, "interleave_moe_layer_step": 1,
                    "intermediate_size_mlp": 16384, "attention_chunk_size": 8192, "no_rope_layer_interval": 4,
                    "moe_layers": None, "no_rope_layers": None},
    # Qwen3_5MoeTextConfig (Qwen3.5-35B-A3B, 122B-A10B, 397B-A17B; the text_config of model_type "qwen3_5_moe"):
    # Qwen3-Next's layers (three Gated DeltaNet layers to one gated full-attention layer, every layer a mixture of
    # experts with a gated shared expert); the checkpoint's mtp_num_hidden_layers MTP layer is not built
    "qwen3_5_moe_text": {"num_key_value_heads": 2, "tie_word_embeddings": False, "attention_bias": False,
                         "head_dim": 256, "hidden_act": "silu", "decoder_sparse_step": 1, "mlp_only_layers": [],
                         "use_sliding_window": False, "linear_conv_kernel_dim": 4, "linear_key_head_dim": 128,
                         "linear_value_head_dim": 128, "linear_num_key_heads": 16, "linear_num_value_heads": 32,
                         "num_experts": 256, "num_experts_per_tok": 8, "moe_intermediate_size": 512,
                         "shared_expert_intermediate_size": 512},
    # Qwen3_5TextConfig (Qwen3.5-27B and the smaller dense ones; the text_config of model_type "qwen3_5"): the same
    # hybrid of Gated DeltaNet and gated attention layers, each followed by a dense MLP of intermediate_size
    "qwen3_5_text": {"tie_word_embeddings": False, "attention_bias": False, "head_dim": 256, "hidden_act": "silu",
                     "use_sliding_window": False, "linear_conv_kernel_dim": 4, "linear_key_head_dim": 128,
                     "linear_value_head_dim": 128, "linear_num_key_heads": 16, "linear_num_value_heads": 32},
}
# model_type values that run another family's class: Kimi-K2's config names DeepseekV3ForCausalLM; Qwen3-VL's
# language models are Qwen3's and Qwen3-MoE's layers (their multimodal RoPE changes no tensor)
ALIASES = {"kimi_k2": "deepseek_v3", "qwen3_vl_text": "qwen3", "qwen3_vl_moe_text": "qwen3_moe",
           "qwen2_5_vl_text": "qwen2"}
# multimodal wrappers → the model_type of their text_config
WRAPPERS = {"gemma3": "gemma3_text", "llama4": "llama4_text", "mistral3": "mistral", "qwen3_vl": "qwen3_vl_text",
            "qwen3_vl_moe": "qwen3_vl_moe_text", "qwen3_5": "qwen3_5_text", "qwen3_5_moe": "qwen3_5_moe_text",
            "qwen2_5_vl": "qwen2_5_vl_text"}
# wrappers whose published config.json holds the text fields at the top, beside vision_config (Qwen2.5-VL's, saved
# before transformers gave Qwen2_5_VLConfig a text_config; a re-saved one with text_config is read as the others)
TEXT_AT_TOP = ("qwen2_5_vl",)
SUPPORTED_MODEL_TYPES = tuple(sorted([*FAMILY_DEFAULTS, *WRAPPERS, *ALIASES]))

ACTIVATIONS = {"silu": "silu", "swish": "silu", "gelu": "gelu", "gelu_pytorch_tanh": "gelu_tanh",
                "gelu_new": "gelu_tanh", "gelu_tanh": "gelu_tanh", "relu": "relu", "gegelu": "gegelu"}
DTYPES = {"bfloat16": "bf16", "float16": "fp16", "float32": "fp32"}
# transformers' layer_types entries
LAYER_TYPES = {"full_attention": "full", "sliding_attention": "sliding", "linear_attention": "linear"}
# Qwen3-Next's hybrid of Gated DeltaNet and gated full attention, as Qwen3.5's language models also are
QWEN_NEXT = ("qwen3_next", "qwen3_5_text", "qwen3_5_moe_text")
QWEN = ("qwen2", "qwen2_moe", "qwen3", "qwen3_moe", *QWEN_NEXT, "smollm3")  # sliding only with use_sliding_window

# Bounds of every integer key read: (lowest, highest). The highest is the planner.limits bound of the ModelSpec
# field the key feeds, so a hostile value is refused with the config's key name before any work is done.
BOUNDS: dict[str, tuple[int, int]] = {
    "num_hidden_layers": (1, MAX_LAYERS), "hidden_size": (1, MAX_D_MODEL),
    "num_attention_heads": (1, MAX_HEADS), "num_key_value_heads": (1, MAX_HEADS), "head_dim": (1, MAX_HEAD_DIM),
    "intermediate_size": (1, MAX_D_FF), "ff_intermediate_size": (1, MAX_D_FF),
    "vocab_size": (1, MAX_VOCAB), "max_position_embeddings": (1, MAX_CONTEXT),
    "sliding_window": (1, MAX_CONTEXT), "sliding_window_pattern": (1, MAX_LAYERS),
    "max_window_layers": (0, MAX_LAYERS), "dense_attention_every_n_layers": (1, MAX_LAYERS),
    "blocksparse_block_size": (1, MAX_CONTEXT), "blocksparse_num_local_blocks": (1, MAX_CONTEXT),
    "blocksparse_vert_stride": (1, MAX_CONTEXT),
    # MoE: ModelSpec's MoE needs two routed experts at least (one would be a dense MLP)
    "num_local_experts": (2, MAX_EXPERTS), "num_experts": (2, MAX_EXPERTS), "n_routed_experts": (2, MAX_EXPERTS),
    "num_experts_per_tok": (1, MAX_EXPERTS), "n_shared_experts": (0, MAX_EXPERTS),
    "moe_intermediate_size": (1, MAX_D_FF), "shared_expert_intermediate_size": (0, MAX_D_FF),
    "first_k_dense_replace": (0, MAX_LAYERS), "moe_layer_freq": (1, MAX_LAYERS),
    "decoder_sparse_step": (1, MAX_LAYERS),
    "linear_conv_kernel_dim": (2, 64), "linear_key_head_dim": (1, MAX_HEAD_DIM),
    "linear_value_head_dim": (1, MAX_HEAD_DIM), "linear_num_key_heads": (1, MAX_HEADS),
    "linear_num_value_heads": (1, MAX_HEADS), "mamba_n_heads": (1, MAX_HEADS), "mamba_n_groups": (1, MAX_HEADS),
    "mamba_d_state": (1, MAX_HEAD_DIM), "mamba_d_conv": (2, 64), "mamba_expand": (1, 64),
    "mamba_d_head": (1, MAX_HEAD_DIM), "mamba_d_ssm": (1, MAX_D_FF), "mamba_dt_rank": (1, MAX_D_MODEL),
    "expert_layer_period": (1, MAX_LAYERS), "expert_layer_offset": (0, MAX_LAYERS),
    "attn_layer_period": (1, MAX_LAYERS), "attn_layer_offset": (0, MAX_LAYERS),
    "full_attention_interval": (1, MAX_LAYERS),
    "shared_intermediate_size": (1, MAX_D_FF),
    "q_lora_rank": (1, MAX_LORA_RANK), "kv_lora_rank": (1, MAX_LORA_RANK),
    "qk_rope_head_dim": (1, MAX_HEAD_DIM), "qk_nope_head_dim": (1, MAX_HEAD_DIM), "v_head_dim": (1, MAX_HEAD_DIM),
    "index_n_heads": (1, MAX_HEADS), "index_head_dim": (1, MAX_HEAD_DIM), "index_topk": (1, MAX_CONTEXT),
    "rotary_dim": (1, MAX_HEAD_DIM),
    "intermediate_size_mlp": (1, MAX_D_FF), "interleave_moe_layer_step": (1, MAX_LAYERS),
    "attention_chunk_size": (1, MAX_CONTEXT), "no_rope_layer_interval": (1, MAX_LAYERS),
}


# SiglipVisionConfig sizes (Gemma3Config.vision_config), with mm_tokens_per_image of the wrapper
VISION_BOUNDS = {"num_hidden_layers": (1, MAX_LAYERS), "hidden_size": (1, MAX_D_MODEL),
                 "intermediate_size": (1, MAX_D_FF), "num_attention_heads": (1, MAX_HEADS), "patch_size": (1, 1024),
                 "image_size": (1, 16384), "num_channels": (1, 16), "mm_tokens_per_image": (1, 65536),
                 "projector_input_dim": (1, MAX_D_FF), "projector_output_dim": (1, MAX_D_FF),
                 "vision_output_dim": (1, MAX_D_FF), "depth": (1, MAX_LAYERS), "num_heads": (1, MAX_HEADS),
                 "in_channels": (1, 16), "num_position_embeddings": (1, 65536), "spatial_merge_size": (1, 8),
                 "out_hidden_size": (1, MAX_D_FF), "temporal_patch_size": (1, 64), "in_chans": (1, 16)}
