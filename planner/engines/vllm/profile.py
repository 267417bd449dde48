"""What vLLM's profile run holds besides the weights: the sampler's logits, the fused MoE's caches, an eager MLP, and
the tensor-parallel all-reduce buffers."""

from __future__ import annotations

from ...errors import WorkloadError, shown
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
    # chunked (more tokens than a chunk), the output of every token is a buffer of its own (0.14 modular_kernel.py)
    output = tokens * spec.d_model if rows < tokens else 0
    return (rows * m.experts_per_token * (max(n // 2, spec.d_model) + max(n, spec.d_model)) + output) * 2


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


# vLLM's start-up profile runs a vision model's encoder on a dummy batch of its largest items and holds the outputs in
# the encoder cache while it measures the language model's forward (v1/worker/gpu_model_runner.py profile_run, 0.33.0:
# `self.encoder_cache[f"tmp_{i}"] = output` before `_dummy_run`).
# The largest item (T tokens, at max_model_len): Qwen3-VL's and Qwen3.5's largest image is the processor's
# longest_edge, 16,777,216 pixels, at 32 × 32 pixels a token: 16,384 tokens, each out_hidden_size wide and once more per
# deepstack layer (qwen3_vl.py); its largest video (2 frames of half that) is smaller. Qwen2.5-VL's largest item is a
# video (qwen2_vl.py get_mm_max_tokens_per_item, the larger of the two; video on a tie): frames of its largest image
# (16,384 tokens), as many as the sequence holds two by two (temporal_patch_size), at most _MAX_FRAMES_PER_VIDEO = 14:
# 7 × 16,384 = 114,688 tokens at 128K (--limit-mm-per-prompt video=0 and mm_processor_kwargs' max_pixels, which change
# it, are not modelled). Other encoders take planner's image (Gemma 3's 256 tokens from SigLIP's 4,096 patches,
# Pixtral's largest; Llama 4's one tile: a lower bound for its several).
# How many items, by release (read in the wheels of 0.8.4, 0.9.2, 0.10.1, 0.11.0, 0.13.0, 0.17.0 and 0.33.0):
#   V1 before 0.10.1 (v1/core/encoder_cache_manager.py): N = min(⌈budget / T⌉, max_num_seqs × limit), budget =
#   max(max_num_batched_tokens, T), 999 items a prompt by default (config.py, 0.8.4 and 0.9.2: 1 for V0); the item is
#   built for max_num_batched_tokens (a video of one frame pair at 8,192 tokens);
#   0.10.1 on (MultiModalBudget, v1/worker/utils.py, later multimodal/encoder_budget.py): N = max(1, min(budget // T,
#   max_num_seqs × max(1, min(999, max_model_len // T)))), 999 items a prompt by default; from 0.11.0 the item is
#   built for max_model_len (the 14-frame video at 128K). Gemma 3 on an H100 (8,192 tokens): 32 images of 256.
#   V0 (up to 0.7): every dummy sequence carries one item of each modality and the language model's profile forward
#   runs over all of them, max(max_num_batched_tokens, their tokens + 2) tokens, the items' embeddings and the merged
#   input embeddings alive beside it (worker/model_runner.py _dummy_run, multimodal/profiling.py; 0.8.4); a multimodal
#   model's default max_num_batched_tokens is at least 5,120 (config.py _MULTIMODAL_MODEL_MAX_NUM_BATCHED_TOKENS).
# The encoder's own forward runs on the N items at once before the language model's (no chunking; the encoder
# uncompiled by default) and peaks at an MLP: for each patch the layer's input, its normed copy, the MLP's hidden (a
# gated MLP's gate_up and its product, 3 × intermediate_size: Qwen2.5-VL, Pixtral; a GELU MLP's fc1 and its output,
# 2 ×: SigLIP, Qwen3-VL, Llama 4) split tensor-parallel (mm_encoder_tp_mode "weights"), beside the items' pixels
# (channels × temporal_patch × patch² a patch), all 16-bit: Qwen2.5-VL's 14-frame video is 458,752 patches, 12 GiB;
# Gemma 3's 32 images 131,072 patches, 2.7 GiB. Derived from the layers' shapes, not measured.
VLLM_QWEN_VL_MAX_IMAGE_TOKENS = 16_777_216 // (32 * 32)
VLLM_QWEN2_VL_MAX_VIDEO_FRAMES = 14
VLLM_MM_BUDGET_SINCE = (0, 10, 1)
VLLM_MM_ITEM_AT_MODEL_LEN_SINCE = (0, 11, 0)
VLLM_MM_ITEMS_PER_PROMPT = 999


def mm_limits(spec, limits: dict | None) -> dict[str, int | None]:
    """--limit-mm-per-prompt as a {modality: items} of the model's modalities (Qwen2.5-VL: image and video; other
    vision models: image), None where the release's default holds; a modality the model lacks or a count that is no
    whole number ≥ 0 is refused by name; {} for a text model, which takes none."""
    if spec.vision is None:
        if limits is not None:
            raise WorkloadError(f"limit_mm_per_prompt: {spec.name} takes no images (no vision encoder)")
        return {}
    own = ("image", "video") if spec.vision.kind == "qwen2_5_vl" else ("image",)
    limits = {} if limits is None else limits
    if not isinstance(limits, dict):
        raise WorkloadError(f"limit_mm_per_prompt must be a mapping such as {{'image': 1, 'video': 0}}, got "
                            f"{shown(limits)}")
    for key, count in limits.items():
        if key not in own:
            raise WorkloadError(f"limit_mm_per_prompt: {spec.name} takes {' and '.join(own)} items, not "
                                f"{shown(key)}")
        if count is not None and (isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= 2**20):
            raise WorkloadError(f"limit_mm_per_prompt[{key!r}] must be a whole number of items ≥ 0, got "
                                f"{shown(count)}")
    return {m: limits.get(m) for m in own}


def _item_tokens(v, modality: str, seq_len: int) -> int:
    """The tokens of the largest item of `modality` for a sequence of `seq_len` tokens (see above)."""
    if modality == "video":  # Qwen2.5-VL: frames of its largest image, two frames a step of the encoder
        steps = seq_len // v.tokens_per_image
        return v.tokens_per_image * max(1, min(steps, VLLM_QWEN2_VL_MAX_VIDEO_FRAMES // v.temporal_patch))
    return VLLM_QWEN_VL_MAX_IMAGE_TOKENS if v.kind == "qwen3_vl" else v.tokens_per_image


def _largest_item(v, seq_len: int, limits: dict) -> tuple[str | None, int]:
    """(modality, tokens) of the largest item a profile run encodes: of the modalities not limited to 0, the one of
    most tokens (video on a tie); (None, 0) when every one is off."""
    items = [(_item_tokens(v, m, seq_len), m == "video", m) for m in limits if limits[m] != 0]
    if not items:
        return None, 0
    tokens, _, modality = max(items)
    return modality, tokens


def vllm_mm_items(spec, *, max_model_len: int, tokens: int, max_num_seqs: int, release: tuple[int, ...],
                  limits: dict | None = None) -> tuple[int, int]:
    """(items, tokens of each) of the dummy batch a V1 profile run encodes (see above); (0, 0) for a text model or
    one whose every modality is limited to 0 (limits: mm_limits' mapping, None for the defaults)."""
    v = spec.vision
    if v is None:
        return 0, 0
    limits = mm_limits(spec, limits)
    modality, largest = _largest_item(v, max_model_len, limits)
    if modality is None:
        return 0, 0
    limit = limits[modality]
    budget = max(tokens, largest)
    if release >= VLLM_MM_BUDGET_SINCE:
        per_prompt = max(1, min(VLLM_MM_ITEMS_PER_PROMPT if limit is None else limit, max_model_len // largest))
        n = max(1, min(budget // largest, max_num_seqs * per_prompt))
    else:
        n = min(-(-budget // largest), max_num_seqs * (VLLM_MM_ITEMS_PER_PROMPT if limit is None else limit))
    built = largest if release >= VLLM_MM_ITEM_AT_MODEL_LEN_SINCE else _item_tokens(v, modality, tokens)
    return n, built


def vllm_v0_mm_tokens(spec, max_model_len: int, limits: dict | None = None) -> int:
    """The multimodal tokens one V0 dummy sequence carries: its limit of items of each modality (1 by default:
    Qwen2.5-VL's largest image and its video; the image of other models), 0 for a text model."""
    v = spec.vision
    if v is None:
        return 0
    return sum((1 if n is None else n) * _item_tokens(v, m, max_model_len)
               for m, n in mm_limits(spec, limits).items())


def vllm_encoder_item(spec, max_model_len: int, limits: dict | None = None) -> int:
    """The tokens of the largest item (the encoder's largest input), 0 for a text model or every modality off."""
    if spec.vision is None:
        return 0
    return _largest_item(spec.vision, max_model_len, mm_limits(spec, limits))[1]


def vllm_encoder_cache_bytes(spec, items: int, item_tokens: int) -> int:
    """The encoder outputs of `items` items of `item_tokens` tokens (16-bit); 0 for a text-only model."""
    v = spec.vision
    if v is None:
        return 0
    return items * item_tokens * (v.output_dim or spec.d_model) * (1 + v.deepstack) * 2


def vllm_encoder_forward_bytes(spec, items: int, item_tokens: int, tp: int = 1) -> int:
    """The encoder's own forward over `items` items of `item_tokens` tokens (16-bit; see above) on one of `tp` GPUs,
    which split its MLP; 0 for a text-only model."""
    v = spec.vision
    if v is None:
        return 0
    per_token = v.shuffle or max(1, v.n_patches // v.tokens_per_image)  # patches folded into one token
    patches = items * item_tokens * per_token
    hidden = (3 if v.kind in ("qwen2_5_vl", "pixtral") else 2) * v.d_ff
    pixels = v.channels * (v.temporal_patch or 1) * v.patch_size**2
    return patches * (2 * v.d_model + -(-hidden // tp) + pixels) * 2
