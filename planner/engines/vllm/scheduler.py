"""vLLM's scheduler settings as each release sets them: max_num_batched_tokens and max_num_seqs by GPU and entry point,
chunked prefill, how vLLM fits its defaults to what was given, and the settings it refuses at start-up."""

from __future__ import annotations

from ...errors import WorkloadError, shown

VLLM_ENTRYPOINTS = ("serve", "llm")  # `vllm serve` (UsageContext.OPENAI_API_SERVER), the offline LLM class (LLM_CLASS)


VLLM_V0_MM_MIN_BATCHED_TOKENS = 5120  # config.py _MULTIMODAL_MODEL_MAX_NUM_BATCHED_TOKENS (V0)


def vllm_chunked_prefill(release: tuple[int, ...], *, max_model_len: int, multimodal: bool = False,
                         unchunked_v0: bool = False, sliding: bool = False, given: bool | None = None) -> bool:
    """Whether vLLM splits long prompts over steps (chunked prefill), `given` the user's --enable-chunked-prefill
    (None: unset). V1 (0.8+, whose rules `release` is) always through 0.11.0 ("V1 always uses chunked prefills",
    engine/arg_utils.py _set_default_args, whatever was asked), as asked from 0.11.1 (default on). V0 as asked, else
    on above 32K from 0.5.5 except for a multimodal model, an MLA model (unchunked_v0: vLLM 0.7.1+ "forcing chunked
    prefill … disabled" whatever was asked) and a sliding-window model (arg_utils.py _set_default_args_v0, 0.8.0)."""
    if release >= (0, 8, 0):
        return True if release < (0, 11, 1) or given is None else given
    if unchunked_v0:
        return False
    if given is not None:
        return given
    return release >= (0, 5, 5) and max_model_len > 32768 and not multimodal and not sliding


def vllm_check_scheduler(tokens: int, seqs: int, max_model_len: int, *, chunked: bool) -> None:
    """Refuse the scheduler settings vLLM refuses at start-up (SchedulerConfig._verify_args, config.py up to 0.10,
    config/scheduler.py after): fewer batched tokens than sequences ("max_num_batched_tokens (…) must be greater
    than or equal to max_num_seqs (…)"), and, without chunked prefill, fewer than max_model_len ("… is smaller than
    max_model_len … makes vLLM reject longer sequences")."""
    if tokens < seqs:
        raise WorkloadError(f"max_num_batched_tokens must be at least max_num_seqs ({seqs:,}), got {tokens:,}: vLLM "
                            "refuses to start with fewer (its scheduler config check); lower max_num_seqs or raise "
                            "max_num_batched_tokens")
    if not chunked and tokens < max_model_len:
        raise WorkloadError(f"max_num_batched_tokens must be at least max_model_len ({max_model_len:,}) where vLLM "
                            f"runs without chunked prefill, got {tokens:,}: vLLM refuses to start (its scheduler "
                            "config check); turn chunked prefill on to split the prompts")


def vllm_scheduler_defaults(release: tuple[int, ...], *, max_model_len: int, gpu_memory_bytes: int,
                            device_name: str = "", entrypoint: str = "serve", multimodal: bool = False,
                            unchunked_v0: bool = False, sliding: bool = False, chunked: bool | None = None) -> dict:
    """max_num_batched_tokens and max_num_seqs as vLLM sets them for `vllm serve` or, entrypoint "llm", for the
    offline LLM class (research/vllm_versions.md, Defaults; engine/arg_utils.py of each release, read in the wheels of
    0.8.0–0.33.0). V0: 256 sequences; the profile run takes max(max_model_len, 2048) tokens, or chunks (512 up to
    0.6.4, 2048 later) when max_model_len exceeds 32K (0.5.5+), whichever the entry point. V1 (0.8+): by the GPU —
    the large tier (H100/H200 by name in 0.8.0–0.8.4, then 70 GiB or more, A100s excluded from 0.9) 8192 tokens
    (the LLM class 16384) and 1024 sequences; 16384 tokens for both on 160 GiB+ from 0.28; else 2048 (the LLM class
    8192) and 256 sequences (1024 on every GPU before 0.8.4); a V0 multimodal model's at least 5,120 tokens. The
    sequences never depend on the entry point. chunked: V0's chunked prefill where the caller has resolved it
    (vllm_chunking), else what was asked (None: the release's default). Not
    modelled: 0.33 keeps a GB10 (DGX Spark, not in the catalog) in the small tier; 0.20+'s throughput mode doubles
    both."""
    name = device_name.lower()
    if release < (0, 8, 0):
        chunked = vllm_chunked_prefill(release, max_model_len=max_model_len, multimodal=multimodal,
                                       unchunked_v0=unchunked_v0, sliding=sliding, given=chunked)
        tokens = (512 if release <= (0, 6, 4) else 2048) if chunked else max(max_model_len, 2048)
        if multimodal:  # "at least the number of multimodal tokens" (config.py, 0.8.4's V0)
            tokens = max(tokens, VLLM_V0_MM_MIN_BATCHED_TOKENS)
        return {"max_num_batched_tokens": tokens, "max_num_seqs": 256}
    gib = gpu_memory_bytes / 2**30
    if release < (0, 8, 5):
        large = "h100" in name or "h200" in name
    else:  # 0.9-0.33: `device_memory >= 70 GiB and "a100" not in device_name` (PR #17885), sequences alike
        large = gib >= 70 and (release < (0, 9, 0) or "a100" not in name)
    top = release >= (0, 28, 0) and gib >= 160
    offline = entrypoint == "llm"
    tokens = 16384 if top else (16384 if offline else 8192) if large else (8192 if offline else 2048)
    seqs = 1024 if top or large or release < (0, 8, 4) else 256
    return {"max_num_batched_tokens": tokens, "max_num_seqs": seqs}


def vllm_scheduler_adjusted(release: tuple[int, ...], tokens: int, seqs: int, *, max_model_len: int, chunked: bool,
                            tokens_given: bool, seqs_given: bool) -> tuple[int, int]:
    """max_num_batched_tokens and max_num_seqs after vLLM fits its defaults to each other (engine/arg_utils.py, read
    in the wheels of 0.9.2-0.12.0): from 0.10.1 a defaulted max_num_seqs is at most max_num_batched_tokens; from
    0.11.1 a defaulted max_num_batched_tokens is at least max_model_len without chunked prefill, and at most
    max_num_seqs × max_model_len. A value the user gave stays."""
    if release >= (0, 11, 1) and not tokens_given:
        tokens = min(seqs * max_model_len, tokens if chunked else max(max_model_len, tokens))
    if release >= (0, 10, 1) and not seqs_given:
        seqs = min(seqs, tokens)
    return tokens, seqs


def vllm_scheduler(release: tuple[int, ...], merged: dict, options: dict, *, max_model_len: int,
                   chunked: bool) -> tuple[int, int]:
    """The (max_num_batched_tokens, max_num_seqs) a run takes: `merged` (the release's defaults with what `options`
    gave over them) fitted to each other as vLLM does (vllm_scheduler_adjusted: a value the user gave stays), and
    refused where vLLM would not start (vllm_check_scheduler)."""
    tokens, seqs = vllm_scheduler_adjusted(
        release, merged["max_num_batched_tokens"], merged["max_num_seqs"], max_model_len=max_model_len,
        chunked=chunked, tokens_given=options.get("max_num_batched_tokens") is not None,
        seqs_given=options.get("max_num_seqs") is not None)
    vllm_check_scheduler(tokens, seqs, max_model_len, chunked=chunked)
    return tokens, seqs


def vllm_chunking(spec, release: tuple[int, ...], options: dict, max_model_len: int) -> tuple[bool, dict]:
    """(chunked, the model's traits vllm_chunked_prefill reads) for a run, options' enable_chunked_prefill checked:
    V0 runs an MLA model (its MLA path from 0.7.1) unchunked, and chunks a sliding-window model only when asked."""
    asked = options.get("enable_chunked_prefill")  # None: the release's default
    if asked is not None and not isinstance(asked, bool):
        raise WorkloadError(f"enable_chunked_prefill must be True, False or None, got {shown(asked)}")
    traits = dict(multimodal=spec.vision is not None, sliding=spec.sliding_window is not None,
                  unchunked_v0=spec.mla is not None and (0, 7, 1) <= release < (0, 8, 0))
    return vllm_chunked_prefill(release, max_model_len=max_model_len, given=asked, **traits), traits


def vllm_longest_request(blocks_per_request, blocks: int, upper: int) -> int:
    """The longest max_model_len (≤ `upper`) whose one request fits in `blocks` KV blocks, 0 where none does:
    what vLLM's refusal suggests ("Based on the available memory, the estimated maximum model length is N",
    v1/core/kv_cache_utils.py estimate_max_model_len, a binary search of the same kind). `blocks_per_request` maps a
    length to its blocks and grows with it."""
    lo, hi = 0, upper
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if blocks_per_request(mid) <= blocks:
            lo = mid
        else:
            hi = mid - 1
    return lo


def vllm_options_apply(spec, given: dict, *, mxfp4_experts: str, quant: str) -> None:
    """Refuse an option asked for that would change nothing for this model (vLLM takes and ignores them): expert
    parallel for a dense model, an MXFP4 MoE backend for weights without MXFP4 experts."""
    if given.get("enable_expert_parallel") and spec.moe is None:
        raise WorkloadError(f"enable_expert_parallel: {spec.name} is not a mixture-of-experts model; there are no "
                            "experts to place")
    if given.get("mxfp4_backend") not in (None, "none") and mxfp4_experts == "none":
        raise WorkloadError(f"mxfp4_backend {given['mxfp4_backend']!r} runs MXFP4 expert weights (gpt-oss's); "
                            f"{quant} weights of {spec.name} have none")
