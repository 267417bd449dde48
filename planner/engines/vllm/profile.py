"""What vLLM's profile run holds besides the weights: the sampler's logits, the fused MoE's caches, an eager MLP, and
the tensor-parallel all-reduce buffers."""

from __future__ import annotations

from ...spec import ModelSpec

# Tensor parallel: each rank's custom all-reduce (distributed/device_communicators/custom_all_reduce.py,
# CustomAllreduce(max_size=8192 * 1024)) allocates an IPC buffer of max_size, a metadata buffer of
# meta_size() + max_size and an 8 MiB rank_data tensor: 24 MiB, and a few KiB of metadata left out.
VLLM_CUSTOM_ALLREDUCE_BYTES = 3 * 8 * 2**20

# vLLM's profile run samples one row of logits per dummy request (max_num_seqs rows) with top-k and top-p on. Bytes
# per logit alive at the sampler's peak, the logits in the model's dtype (2) included:
#   "sort":  PyTorch's top-k/top-p (v1/sample/ops/topk_topp_sampler.py apply_top_k_top_p; V0's sampler.py
#            _apply_top_k_top_p) sorts the fp32 logits: 2 + fp32 copy 4 + sorted values 4 + int64 indices 8, and
#            inside torch.sort of 128 rows or more (aten/src/ATen/native/cuda/SortStable.cu segmented_sort_pairs) an
#            int64 index scratch 8 and cub's alternate key and value buffers 4 + 8 (fewer rows take
#            segmented_sort_pairs_by_full_sort, whose two int2 index buffers and cub's scratch are alike);
#   "fused": FlashInfer's top_k_top_p_sampling_from_logits or the Triton top-k/top-p kernel (0.17+, 8 rows or more):
#            2 + fp32 copy 4 + masked logits or probabilities 4 + 4.
VLLM_SAMPLER_BYTES_PER_LOGIT = {"sort": 38, "fused": 14}

# vLLM's fused MoE (model_executor/layers/fused_moe/fused_moe.py fused_experts_impl) runs a layer's routed experts over
# M = min(tokens, VLLM_FUSED_MOE_CHUNK_SIZE) rows at once, each row once per expert it goes to: intermediate_cache1
# (M, k, N), intermediate_cache2 (M·k, N/2) and intermediate_cache3 (M, k, hidden) in the activation dtype, N the w13
# width on one GPU (2 × the expert's intermediate size, split tp ways unless experts are whole), beside the layer's
# hidden states and residual (M, hidden) and, with shared experts, their output; router logits and the top-k weights
# and ids are small beside them. The chunk: envs.py VLLM_FUSED_MOE_CHUNK_SIZE, 64 Ki rows (v0.7).
VLLM_FUSED_MOE_CHUNK_SIZE = 65536


def vllm_fused_moe_bytes(spec: ModelSpec, tokens: int, *, tp: int, whole_experts: bool) -> int:
    """The fused MoE's peak on one GPU for a forward over `tokens` rows (0 for dense models)."""
    if spec.moe is None:
        return 0
    m = spec.moe
    rows = min(tokens, VLLM_FUSED_MOE_CHUNK_SIZE)
    n = 2 * m.expert_d_ff // (1 if whole_experts else tp)
    caches = rows * m.experts_per_token * (n + n // 2 + spec.d_model) * 2
    return caches + (3 if m.shared_d_ff else 2) * rows * spec.d_model * 2


# From 0.14 a MoE layer's unquantized and fp8 experts run in the modular kernel (fused_moe/modular_kernel.py; 0.13
# still called fused_experts, whose caches are freed after each layer), whose scratch comes from the process-wide
# workspace manager (v1/worker/workspace.py, vllm-project/vllm#27532): a buffer grown to the largest request and never
# freed, so the profile run's sampler runs beside it (gpu_model_runner.py profile_run: _dummy_run, then
# _dummy_sampler_run). Triton's experts ask (M, k, max(N/2, hidden)) and (M, k, max(N, hidden)) in 16 bits
# (TritonExperts.workspace_shapes, 0.14 and 0.33 alike; the output shares the first), M the rows of a chunk:
# min(tokens, 16,384) through 0.17 (envs.py VLLM_FUSED_MOE_CHUNK_SIZE = 16 * 1024), every token from 0.20 (M_chunk =
# M_full). DeepSeek-V3 over 8 GPUs at 8,192 tokens: 1.88 GB. Other expert kernels (DeepGEMM's, Marlin's) ask
# somewhat more; planner takes Triton's.
VLLM_MOE_WORKSPACE_SINCE = (0, 14, 0)
VLLM_MOE_UNCHUNKED_SINCE = (0, 20, 0)
VLLM_MOE_WORKSPACE_CHUNK = 16 * 1024


def vllm_moe_workspace_bytes(spec: ModelSpec, tokens: int, *, tp: int, whole_experts: bool,
                             release: tuple[int, ...]) -> int:
    """The persistent fused-MoE workspace on one GPU after a forward over `tokens` rows (0 for dense models and for
    releases before the workspace manager)."""
    if spec.moe is None or release < VLLM_MOE_WORKSPACE_SINCE:
        return 0
    m = spec.moe
    rows = tokens if release >= VLLM_MOE_UNCHUNKED_SINCE else min(tokens, VLLM_MOE_WORKSPACE_CHUNK)
    n = 2 * m.expert_d_ff // (1 if whole_experts else tp)
    return rows * m.experts_per_token * (max(n // 2, spec.d_model) + max(n, spec.d_model)) * 2


# V0 runs its models eagerly, as V1 does with enforce_eager (it then leaves the model uncompiled: "Enforce eager set,
# overriding optimization level to -O0"). Their MLP (models/llama.py LlamaMLP.forward and its kin: `gate_up, _ =
# self.gate_up_proj(x); x = self.act_fn(gate_up); x, _ = self.down_proj(x)`) keeps the fused gate_up output alive
# while the down projection writes its own output, beside the layer's input and residual: 3 rows of hidden size and
# 3 of the intermediate size. From 0.6.5 the tensor-parallel all-reduce is out of place (PR #10121, 2024-11-26,
# distributed/parallel_state.py `_all_reduce_out_place`, pynccl.py `out_tensor = torch.empty_like(in_tensor)`), one
# more row of hidden size while the projection's own output is alive. V1 otherwise compiles the model (Inductor frees a
# buffer at its last use), which planner's reference MLP stands for.
VLLM_OUT_OF_PLACE_ALL_REDUCE = (0, 6, 5)


def vllm_eager_mlp_bytes(shard: ModelSpec, tokens: int, *, tp: int, release: tuple[int, ...]) -> int:
    """An eager rank's dense MLP peak over `tokens` rows at its down projection, in 16-bit activations (0 with no dense
    MLP): the layer's input and residual, the gate_up (or up) output and its activation, the projection's output and,
    under tensor parallel from 0.6.5, the all-reduce's. `shard` is the rank's view (planner.activations.tp_shard)."""
    if not shard.d_ff:
        return 0
    hidden_rows = 3 + (tp > 1 and release >= VLLM_OUT_OF_PLACE_ALL_REDUCE)
    return tokens * (hidden_rows * shard.d_model + (3 if shard.gated_mlp else 2) * shard.d_ff) * 2


# vLLM's start-up profile runs a vision model's encoder on a dummy batch of its largest item and holds the outputs
# in the encoder cache while it measures the language model's forward (v1/worker/gpu_model_runner.py profile_run,
# 0.33.0: `self.encoder_cache[f"tmp_{i}"] = output` before `_dummy_run`). Qwen3-VL's and Qwen3.5's largest image is the
# processor's longest_edge, 16,777,216 pixels, at 32 × 32 pixels a token: 16,384 tokens, each out_hidden_size wide and
# once more per deepstack layer (qwen3_vl.py); its largest video (2 frames of half that) is smaller. Qwen2.5-VL's
# largest item is a video (qwen2_vl.py get_mm_max_tokens_per_item, the larger of the two; video on a tie): frames of
# its largest image (16,384 tokens), as many as max_model_len holds two by two (temporal_patch_size), at most
# _MAX_FRAMES_PER_VIDEO = 14: 7 × 16,384 = 114,688 tokens at 128K, unless video is turned off
# (--limit-mm-per-prompt), which planner does not model. Other encoders take planner's image (Gemma 3's 256 tokens,
# Pixtral's largest; Llama 4's one tile: a lower bound for its several).
# The encoder's own forward runs on that item whole before the language model's (qwen2_5_vl.py, qwen3_vl.py: no
# chunking; the encoder uncompiled by default) and peaks at an MLP: for each patch the layer's input, its normed copy,
# the MLP's hidden (Qwen2.5-VL's gated gate_up and its product, 3 × intermediate_size; Qwen3-VL's fc1 and its GELU,
# 2 ×), beside the item's pixels (channels × temporal_patch × patch² a patch), all 16-bit: for Qwen2.5-VL's 14-frame
# video 458,752 patches, 12 GiB. Derived from the layers' shapes, not measured; other encoders' forwards are not
# modelled (their items are small beside the language model's peak).
VLLM_QWEN_VL_MAX_IMAGE_TOKENS = 16_777_216 // (32 * 32)
VLLM_QWEN2_VL_MAX_VIDEO_FRAMES = 14


def _largest_item_tokens(v, max_model_len: int) -> int:
    """The tokens of the largest multimodal item vLLM's profile run encodes (see above)."""
    if v.kind == "qwen2_5_vl":  # a video of the largest frames, two frames a step of the encoder
        steps = max_model_len // v.tokens_per_image
        return v.tokens_per_image * max(1, min(steps, VLLM_QWEN2_VL_MAX_VIDEO_FRAMES // v.temporal_patch))
    return VLLM_QWEN_VL_MAX_IMAGE_TOKENS if v.kind == "qwen3_vl" else v.tokens_per_image


def vllm_encoder_cache_bytes(spec, max_model_len: int) -> int:
    """The image-encoder outputs vLLM's profile run holds beside the language model's forward (16-bit); 0 for a
    text-only model."""
    v = spec.vision
    if v is None:
        return 0
    return _largest_item_tokens(v, max_model_len) * (v.output_dim or spec.d_model) * (1 + v.deepstack) * 2


def vllm_encoder_forward_bytes(spec, max_model_len: int, tp: int = 1) -> int:
    """The encoder's own forward over the profile run's largest item (16-bit; see above) on one of `tp` GPUs, which
    split its MLP (the ViT is tensor parallel by default: mm_encoder_tp_mode "weights"): Qwen2.5-VL's and Qwen3-VL's
    encoders, 0 for others and for a text-only model."""
    v = spec.vision
    if v is None or v.kind not in ("qwen2_5_vl", "qwen3_vl"):
        return 0
    patches = _largest_item_tokens(v, max_model_len) * v.shuffle
    hidden = (3 if v.kind == "qwen2_5_vl" else 2) * v.d_ff
    pixels = v.channels * v.temporal_patch * v.patch_size**2
    return patches * (2 * v.d_model + -(-hidden // tp) + pixels) * 2
