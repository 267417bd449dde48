"""vLLM V1's hybrid KV cache manager: layers of several kinds share one pool of equal pages, each kind in groups of
as many layers (research/vllm_hybrid.md, read in the 0.9.1, 0.11.0, 0.20.0 and 0.33.0 wheels; citations there).

Sliding-window layers beside full attention (Gemma 2 and 3, gpt-oss; 0.9.1+, on by default on CUDA and ROCm): a
request holds at most cdiv(min(window - 1 + in-flight tokens, tokens), block) + 1 blocks in each sliding group
(v1/kv_cache_interface.py SlidingWindowSpec.max_memory_usage_bytes); in-flight tokens are max_num_batched_tokens, and
from 0.26 one batch of them per concurrent step, two under async scheduling (config/vllm.py max_in_flight_tokens).

Full attention beside Gated DeltaNet or Mamba layers (0.11+), whose per-request state shares the pages:

- A recurrent layer's state for one request, on one GPU (model_executor/layers/mamba/mamba_utils.py), in the model's
  dtype (mamba_cache_dtype "auto"): Gated DeltaNet (conv_kernel - 1) × conv_dim / tp of convolution inputs and
  num_value_heads / tp × key_head_dim × value_head_dim of recurrent state; Mamba-1 (conv_kernel - 1 + d_state) ×
  d_inner / tp; Mamba-2 (conv_kernel - 1) × (d_inner + 2 × groups × d_state) / tp (groups replicated up to tp when
  they do not divide it) and n_heads / tp × head_dim × d_state.
- One page size for both: the attention block grows to `align × cdiv(state, align × attention bytes per token)`
  tokens ("Setting attention block size to N tokens …"), and the state page is padded up to it ("Padding mamba page
  size by X% …"). align is 16, the attention kernels' block (0.11: fixed; 0.33: the backend's smallest kernel block,
  16 for FlashAttention and Triton on Hopper).
- Layers of one kind are grouped by the smaller layer count (kv_cache_utils.py: 12 attention + 36 Gated DeltaNet
  layers make 4 groups of 12); each block id holds a page in every layer of a group: group_size pages.
- A request holds cdiv(tokens, block) blocks in each attention group and, in each state group, one block with prefix
  caching off — vLLM's default for hybrids up to 0.27 — or, from 0.28, where it is on by default ("align" mode), two,
  and a third for a prefill checkpoint of Mamba-2 layers (0.32+) and of Gated DeltaNet layers under FlashInfer's
  prefill kernel (0.33+, which also aligns the block to 64 tokens).
- vLLM prints "GPU KV cache size" as blocks // groups × block tokens up to 0.20.0, concurrency × length from 0.20.1.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from math import ceil

from ...errors import WorkloadError
from ...kv import gdn_state_bytes, kv_bytes_per_token_per_layer
from ...spec import ModelSpec
from ..common import datacenter_blackwell

VLLM_HYBRID_SINCE = (0, 11, 0)  # the first release read; V1 ran hybrids earlier, with rules planner has not read
VLLM_HYBRID_BLOCK_ALIGN = 16  # 0.11.0 models/config.py:367-368 `16 * cdiv(mamba_page, 16 * attn_page_per_token)`
# 0.11.1–0.17.x align to 32 on datacenter Blackwell for head_dim 256 (FlashInfer's kernels; 0.15.0
# models/config.py:429-440; gone in 0.18.0)
VLLM_SM100_HEAD256_ALIGN = (32, (0, 11, 1), (0, 18, 0))
STATE_DTYPE_BYTES = 2  # mamba_cache_dtype "auto": the model's dtype, bf16 or fp16 (mamba_utils.py:74-80)
# Prefix caching on by default for hybrids from 0.28.0 (engine/arg_utils.py:2650 drops 0.27.1's `and not
# model_config.is_hybrid`), always in "align" mode (models/config.py:602-609): 2 blocks a request in every state group
# (v1/kv_cache_interface.py:687-696), plus a prefill checkpoint block for Mamba-2 from 0.32.0 (mamba_mixer2.py:1107)
# and for Gated DeltaNet under FlashInfer's prefill kernel from 0.33.0, which aligns the block to 64 tokens
# (FLASHINFER_GDN_CHECKPOINT_ALIGNMENT, v1/attention/backends/gdn_attn.py:34; qwen_gdn_linear_attn.py:686-700).
VLLM_HYBRID_PREFIX_CACHING_SINCE = (0, 28, 0)
VLLM_MAMBA2_CHECKPOINT_SINCE = (0, 32, 0)
VLLM_GDN_CHECKPOINT_SINCE = (0, 33, 0)
VLLM_GDN_CHECKPOINT_ALIGN = 64


def _cdiv(a: int, b: int) -> int:
    return -(-a // b)


def _attention_bytes_per_token(spec: ModelSpec, kv_dtype: str, tp: int) -> int:
    """One token's K and V in one attention layer on one GPU of `tp` (at least one KV head each)."""
    return ceil(kv_bytes_per_token_per_layer(spec, kv_dtype) * _cdiv(spec.n_kv_heads, tp) / spec.n_kv_heads)


# Qwen3.5's mamba_ssm_dtype (float32) becomes vLLM's mamba_ssm_cache_dtype when that is "auto", its default, so the
# recurrent state is kept in it and the convolution's in the model's dtype (Qwen3_5ForConditionalGenerationConfig in
# models/config.py and MambaStateDtypeCalculator._mamba_state_dtype, read in the 0.17.0 and 0.33.0 wheels; 0.17.0 is
# the first release that runs Qwen3.5)
SSM_DTYPE_BYTES = {"bf16": 2, "fp16": 2, "fp32": 4}


def vllm_state_bytes(spec: ModelSpec, tp: int) -> int:
    """One request's state in one recurrent layer on one GPU of `tp`, as vLLM allocates it."""
    a = STATE_DTYPE_BYTES
    if (la := spec.linear_attention) is not None:
        return gdn_state_bytes(la, tp=tp, conv_bytes=a, state_bytes=SSM_DTYPE_BYTES.get(la.ssm_dtype, a))
    if (m1 := spec.mamba1) is not None:
        return (m1.conv_kernel - 1 + m1.d_state) * (m1.d_inner // tp) * a
    m = spec.mamba
    groups = m.n_groups if m.n_groups % tp == 0 else m.n_groups + tp - m.n_groups
    return ((m.conv_kernel - 1) * (m.d_inner + 2 * groups * m.d_state) // tp
            + m.n_heads // tp * m.head_dim * m.d_state) * a


@dataclass(frozen=True)
class HybridPages:
    """How vLLM lays out a hybrid model's cache on one GPU."""

    block_size: int  # attention tokens per block, grown so a block's page holds a request's state
    page_bytes: int  # one layer's page, attention or state (the state padded up to it)
    state_bytes: int  # one request's state in one recurrent layer, before padding
    group_size: int  # layers per group: each block id holds group_size pages
    attention_groups: int
    state_groups: int
    state_blocks: int = 1  # blocks a request holds in each state group
    prefix_caching: bool = False
    sliding_groups: int = 0
    sliding_tokens: int = 0  # the most tokens a sliding-window group keeps for a request

    @property
    def block_bytes(self) -> int:
        return self.group_size * self.page_bytes

    def blocks_per_request(self, tokens: int) -> int:
        """Block ids a request of `tokens` holds: its tokens' blocks in every full-attention group, its window's (and
        one more) in every sliding group, state_blocks in every state group."""
        window = _cdiv(min(self.sliding_tokens, tokens), self.block_size) + 1 if self.sliding_groups else 0
        return (_cdiv(tokens, self.block_size) * self.attention_groups + window * self.sliding_groups
                + self.state_blocks * self.state_groups)

    def printed_tokens(self, blocks: int) -> int:
        """vLLM's "GPU KV cache size: N tokens" for `blocks` up to 0.20.0 (0.11.0 v1/core/kv_cache_utils.py:1076-1092):
        blocks // groups × the smallest group's block size, the attention one."""
        return blocks // (self.attention_groups + self.sliding_groups + self.state_groups) * self.block_size


def flashinfer_gdn_prefill(spec: ModelSpec, gpu, release: tuple[int, ...]) -> bool:
    """Whether vLLM runs a Gated DeltaNet's prefill with FlashInfer's kernel on `gpu` (qwen_gdn_linear_attn.py:93-141,
    0.33.0 :148-269): on compute capability 9.0 (Hopper) always; on datacenter Blackwell (10.x), and from 0.33.0 on
    RTX Blackwell (12.x), for key heads of 128 when torch is built for CUDA 13 — assumed here, as vLLM's CUDA 13
    builds ship it."""
    if gpu is None or gpu.vendor != "nvidia" or spec.linear_attention is None:
        return False
    if gpu.architecture == "Hopper":
        return True
    return (gpu.architecture == "Blackwell" and spec.linear_attention.key_head_dim == 128
            and (datacenter_blackwell(gpu) or release >= (0, 33, 0)))


def vllm_hybrid_pages(spec: ModelSpec, *, tp: int, kv_dtype: str, block_size: int, release: tuple[int, ...],
                      gpu=None, prefix_caching: bool | None = None) -> HybridPages:
    """The page layout vLLM picks for a hybrid `spec` on one GPU of `tp` (block_size: the configured attention
    block, which only grows; prefix_caching: None for the release's default)."""
    if release < VLLM_HYBRID_SINCE:
        raise WorkloadError(f"{spec.name} mixes attention with recurrent layers; planner reads vLLM's hybrid KV cache "
                            "from 0.11.0 on (engine_version 0.11.0 or later)")
    caching = release >= VLLM_HYBRID_PREFIX_CACHING_SINCE if prefix_caching is None else prefix_caching
    if caching and release < VLLM_HYBRID_PREFIX_CACHING_SINCE:
        raise WorkloadError(f"enable_prefix_caching for {spec.name}, a hybrid model: planner models it from vLLM "
                            "0.28.0, where it is on by default ('align' mode); before, vLLM turned it off or kept "
                            "every block's state ('all' mode), which is not modelled")
    if spec.mla is not None:
        raise WorkloadError(f"{spec.name}: vLLM's cache for MLA beside recurrent layers is not modelled")
    kinds = spec.layer_kinds()
    if "parallel" in kinds or "sliding" in kinds or "block_sparse" in kinds:
        raise WorkloadError(f"{spec.name}: vLLM's cache for hybrid layers beside sliding-window, block-sparse or "
                            "parallel attention+Mamba layers is not modelled; only full attention with Gated "
                            "DeltaNet or Mamba layers")
    attention = kinds.count("full")
    recurrent = len(kinds) - attention
    if attention == 0:
        raise WorkloadError(f"{spec.name} has no attention layer: vLLM's pure-Mamba cache is not modelled")
    if attention != recurrent and max(attention, recurrent) < 1.5 * min(attention, recurrent):
        # 0.33.0 groups such layers by the larger count (v1/core/kv_cache_planning.py:521-532), earlier releases by the
        # smaller; the release that changed it is not read
        raise WorkloadError(f"{spec.name}: {attention} attention and {recurrent} recurrent layers, counts so close "
                            "that vLLM's grouping of them is not modelled")
    per_token = _attention_bytes_per_token(spec, kv_dtype, tp)
    state = vllm_state_bytes(spec, tp)
    align, since, until = VLLM_SM100_HEAD256_ALIGN
    if not (datacenter_blackwell(gpu) and spec.head_dim == 256 and since <= release < until):
        align = VLLM_HYBRID_BLOCK_ALIGN
    checkpoint = 0
    if caching and spec.linear_attention is not None and release >= VLLM_GDN_CHECKPOINT_SINCE \
            and flashinfer_gdn_prefill(spec, gpu, release):
        checkpoint, align = 1, math.lcm(align, VLLM_GDN_CHECKPOINT_ALIGN)
    if caching and spec.mamba is not None and release >= VLLM_MAMBA2_CHECKPOINT_SINCE:
        checkpoint = 1
    block = max(block_size, align * _cdiv(state, align * per_token))
    group = min(attention, recurrent)
    return HybridPages(block_size=block, page_bytes=block * per_token, state_bytes=state, group_size=group,
                       attention_groups=_cdiv(attention, group), state_groups=_cdiv(recurrent, group),
                       state_blocks=2 + checkpoint if caching else 1, prefix_caching=caching)


# sliding-window groups from 0.9.1 (v0.9.1 v1/core/kv_cache_utils.py _get_kv_cache_config_uniform_page_size)
VLLM_HYBRID_MANAGER_SINCE = (0, 9, 1)
# Chunked local attention (Llama 4) in the hybrid manager's groups by default from 0.14.0, where
# VLLM_ALLOW_CHUNKED_LOCAL_ATTN_WITH_HYBRID_KV_CACHE defaults to "1" (vllm/envs.py; "0" from its introduction in PR
# #21761, v0.10.1, to v0.13.0, which logs "There is a latency regression when using chunked local attention with the
# hybrid KV cache manager. Disabling it, by default."): before, every layer takes full-length pages. Releases before
# 0.10.1 are taken the same way, as planner has not read whether their manager grouped chunked layers
# (research/llama4.md).
VLLM_CHUNKED_HYBRID_SINCE = (0, 14, 0)
VLLM_IN_FLIGHT_BATCHES_SINCE = (0, 26, 0)  # SlidingWindowSpec sized by VllmConfig.max_in_flight_tokens
ASYNC_CONCURRENT_BATCHES = 2  # config/vllm.py max_concurrent_batches: "Async scheduling requires 2 concurrent batches"


def vllm_sliding_pages(spec: ModelSpec, *, tp: int, kv_dtype: str, block_size: int, release: tuple[int, ...],
                       max_num_batched_tokens: int, pp: int = 1) -> HybridPages | None:
    """Full-attention and sliding-window layers in groups of as many layers (the smaller count), one page size; None
    for unequal counts within 1.5× of each other, which 0.33.0 groups by the larger count (kv_cache_planning.py:521-532)
    from a release not read: full pages everywhere then, more than vLLM takes."""
    kinds = spec.layer_kinds()
    full, sliding = kinds.count("full") + kinds.count("block_sparse"), kinds.count("sliding")
    if full != sliding and max(full, sliding) < 1.5 * min(full, sliding):
        return None
    per_token = _attention_bytes_per_token(spec, kv_dtype, tp)
    group = min(full, sliding)
    # config/vllm.py max_concurrent_batches: 2 for async scheduling on one stage, one batch a stage over several
    batches = (ASYNC_CONCURRENT_BATCHES if pp == 1 else pp) if release >= VLLM_IN_FLIGHT_BATCHES_SINCE else 1
    # ChunkedLocalAttentionSpec: attention_chunk_size + the scheduled tokens; SlidingWindowSpec: sliding_window − 1 +
    # them (v1/kv_cache_interface.py)
    window = spec.sliding_window if spec.chunked_attention else spec.sliding_window - 1
    return HybridPages(block_size=block_size, page_bytes=block_size * per_token, state_bytes=0, group_size=group,
                       attention_groups=_cdiv(full, group), state_groups=0, sliding_groups=_cdiv(sliding, group),
                       sliding_tokens=window + batches * max_num_batched_tokens)


# From 0.11.0 vLLM deals a kind's layers out to its groups in turn, layers[i::num_groups], so that each pipeline stage
# holds a few of every group (v1/core/kv_cache_utils.py, vllm-project/vllm#23974); 0.10's groups take consecutive
# layers, group_size at a time
VLLM_ROUND_ROBIN_GROUPS_SINCE = (0, 11, 0)


def vllm_stage_tensors(spec: ModelSpec, group_size: int, stage_layers: list[int],
                       release: tuple[int, ...] = VLLM_ROUND_ROBIN_GROUPS_SINCE) -> list[int]:
    """The pages a block id takes on each pipeline stage of a sliding-window hybrid: vLLM groups the whole model's
    layers of each kind (VLLM_ROUND_ROBIN_GROUPS_SINCE: in turn, or consecutively before 0.11) and projects the
    groups onto each stage's layers (0.33 v1/core/kv_cache_planning.py get_kv_cache_configs,
    _project_kv_cache_groups_to_worker); a block costs the largest group's pages on the stage
    (_get_kv_cache_bytes_per_block)."""
    kinds = ["sliding" if k == "sliding" else "full" for k in spec.layer_kinds()]  # block-sparse: full attention's
    groups = {k: _cdiv(kinds.count(k), group_size) for k in set(kinds)}
    round_robin = release >= VLLM_ROUND_ROBIN_GROUPS_SINCE
    group_of, seen = [], {}
    for kind in kinds:
        j = seen.get(kind, 0)
        group_of.append((kind, j % groups[kind] if round_robin else j // group_size))
        seen[kind] = j + 1
    starts = [sum(stage_layers[:s]) for s in range(len(stage_layers))]
    return [max(Counter(group_of[a:a + n]).values()) for a, n in zip(starts, stage_layers, strict=True)]


def vllm_hybrid_layout(spec: ModelSpec, rules: dict, *, tp: int, pp: int, kv_dtype: str, block_size: int,
                       release: tuple[int, ...], gpu=None, prefix_caching: bool | None = None,
                       max_num_batched_tokens: int = 2048) -> HybridPages | None:
    """The groups vLLM's hybrid KV cache manager makes for `spec` under this release (over pipeline stages the whole
    model's groups, each stage holding its layers of them: vllm_stage_tensors); None where every layer takes the same
    pages (attention of one kind; sliding windows before 0.9.1 or under V0; models
    whose every layer slides by config, which 0.33.0's llama.py runs with full attention: it reads a layer's window
    from config.layer_types only; sliding and full counts unequal but within 1.5× of each other: full pages, more
    than vLLM takes). What planner has not read of the recurrent kinds is refused."""
    kinds = spec.layer_kinds() if not spec.recurrent else ()
    if spec.chunked_attention and release < VLLM_CHUNKED_HYBRID_SINCE:
        return None
    if "sliding" in kinds and "full" in kinds and rules["v1"] and release >= VLLM_HYBRID_MANAGER_SINCE \
            and spec.mla is None:
        return vllm_sliding_pages(spec, tp=tp, kv_dtype=kv_dtype, block_size=block_size, release=release,
                                  max_num_batched_tokens=max_num_batched_tokens, pp=pp)
    if not spec.recurrent:
        return None
    if not rules["v1"]:
        raise WorkloadError(f"{spec.name} mixes attention with recurrent layers: V0's separate Mamba cache is not "
                            "modelled; planner reads vLLM's hybrid KV cache from 0.11.0 (V1) on")
    if pp > 1:
        raise WorkloadError(f"{spec.name} mixes attention with recurrent layers: pipeline_parallel_size {pp} is not "
                            "modelled for vLLM's hybrid KV cache; tensor parallel is")
    return vllm_hybrid_pages(spec, tp=tp, kv_dtype=kv_dtype, block_size=block_size, release=release, gpu=gpu,
                             prefix_caching=prefix_caching)
