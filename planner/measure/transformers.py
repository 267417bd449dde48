"""transformers, measured: its own model class, built from a published config.json at full size under
FakeTensorMode, so an 8B or 70B model costs no memory (every tensor is fake; only shapes and dtypes exist).

What generate() would do, step by step, minus its data-dependent control flow (which fake tensors cannot run):
a prefill forward of the whole prompt into the cache generate() makes (a DynamicCache, or with
cache_implementation="static" a StaticCache of max_cache_len tokens) with last-token logits (logits_to_keep=1)
and their fp32 copy, then one decode step. planner.reference.profile.LiveBytes tracks the bytes of every storage
the forward creates while it lives, and their peak. No attention mask is passed (generate() passes one of ones,
which the SDPA path drops: no padding).

The fake tensors live on the CPU, and torch picks the SDPA kernel by device: the CPU falls back to its math
kernel (fp32 scores of every query and key) where a CUDA GPU runs a fused one. SDPA therefore runs as CUDA would
run it (sdpa_as_on_cuda): flash attention without a mask and with one head size for q, k and v (the CPU's flash
kernel allocates what CUDA's does: the output and an fp32 log-sum-exp), else the memory-efficient kernel, with
the boolean mask converted to the query's dtype and padded to a multiple of 8 keys as CUDA's preprocess_mask does.

  weights_bytes      the checkpoint's tensors as transformers holds them: the parameters' storages (tied ones once)
                     and the persistent buffers (DeepSeek-V3's e_score_correction_bias); buffers computed at
                     load (RoPE inv_freq) apart, in buffers_bytes
  kv_cache_bytes     the storages of the cache's key and value tensors after prefill. A DynamicSlidingWindowLayer
                     keeps a view of the whole prompt's keys, so its storage holds every prompt token until the first
                     decode step (kv_cache_view_bytes counts only the views' elements, kv_cache_after_decode_bytes
                     the storages after that step); a StaticCache holds max_cache_len tokens (sliding layers: their
                     window) from its first update on
  prefill_activation the prefill peak minus the KV cache: what the peak holds above weights and cache
  decode_activation  the decode step's peak over what was live before it (the cache's growth included)
  logits_bytes       the model's last-token logits plus generate()'s fp32 copy of them
"""

from __future__ import annotations

import inspect
import json
from contextlib import contextmanager
from pathlib import Path

SOURCE = ("planner.measure.transformers: transformers' own model class built from the published config at "
          "full size under FakeTensorMode, SDPA as on a CUDA GPU")
COMPARED = ("weights_bytes", "kv_cache_bytes", "activation_bytes")
# |estimated / measured − 1| each component must stay within: weights and KV exact, the activation peak 5 %
TOLERANCE = {"weights_bytes": 0.0, "kv_cache_bytes": 0.0, "activation_bytes": 0.05}
MEM_EFFICIENT_MASK_ALIGNMENT = 8  # keys; torch aten/src/ATen/native/transformers/attention.cpp preprocess_mask


def _storage_bytes(tensors) -> int:
    seen = {}
    for t in tensors:
        s = t.untyped_storage()
        seen[s._cdata] = s.nbytes()
    return sum(seen.values())


def _state_tensors(model) -> tuple[list, list]:
    """(parameters and persistent buffers, the other buffers): what the checkpoint fills, and what is computed."""
    persistent, computed = list(model.parameters()), []
    for module in model.modules():
        for name, buf in module._buffers.items():
            if buf is not None:
                (computed if name in module._non_persistent_buffers_set else persistent).append(buf)
    return persistent, computed


def _view_bytes(tensors) -> int:
    return sum(t.numel() * t.element_size() for t in tensors)


def build(config: dict, attention: str = "sdpa"):
    """transformers' causal-LM class for `config` (a parsed config.json), in bf16; call inside FakeTensorMode."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    cfg = {k: v for k, v in config.items() if k not in ("torch_dtype", "dtype")}
    hf = AutoConfig.for_model(**cfg)
    with _no_init():  # fake tensors have no values to initialize; trunc_normal_ would read a scalar (Gemma 3)
        model = AutoModelForCausalLM.from_config(hf, dtype=torch.bfloat16, attn_implementation=attention)
    model.tie_weights()
    return model.eval()


def _no_init():
    try:
        from transformers.initialization import no_init_weights  # 5.x
    except ImportError:
        from transformers.modeling_utils import no_init_weights  # 4.x
    return no_init_weights()


@contextmanager
def sdpa_as_on_cuda():
    """torch.nn.functional.scaled_dot_product_attention with the kernel a CUDA GPU (sm80+) would pick."""
    import torch
    import torch.nn.functional as F

    original = F.scaled_dot_product_attention

    def sdpa(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None, enable_gqa=False):
        if attn_mask is None and query.shape[-1] == key.shape[-1] == value.shape[-1] <= 256:
            return original(query, key, value, dropout_p=dropout_p, is_causal=is_causal, scale=scale,
                            enable_gqa=enable_gqa)  # flash attention
        if attn_mask is not None:
            if attn_mask.dtype == torch.bool:  # convert_boolean_attn_mask: a new tensor of the broadcast shape
                attn_mask = torch.where(attn_mask, torch.zeros((), dtype=query.dtype),
                                        torch.full((), float("-inf"), dtype=query.dtype))
            keys = attn_mask.shape[-1]
            if keys % MEM_EFFICIENT_MASK_ALIGNMENT:  # pad_bias: padded copy, sliced back
                pad = MEM_EFFICIENT_MASK_ALIGNMENT - keys % MEM_EFFICIENT_MASK_ALIGNMENT
                attn_mask = F.pad(attn_mask, (0, pad))[..., :keys]
            attn_mask = attn_mask.expand(query.shape[0], query.shape[1], query.shape[2], key.shape[2])
        return torch.ops.aten._scaled_dot_product_efficient_attention(
            query, key, value, attn_mask, False, dropout_p, is_causal, scale=scale)[0]

    F.scaled_dot_product_attention = sdpa
    try:
        yield
    finally:
        F.scaled_dot_product_attention = original


def _forward(model, ids, cache):
    """One forward step as generate() calls it; the cache keyword is `cache` in transformers 5.x."""
    key = "cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values"
    return model(input_ids=ids, use_cache=True, logits_to_keep=1, **{key: cache})


class CudaBytes:
    """LiveBytes' interface over the CUDA caching allocator: bytes allocated since it was made, and their peak.
    Counts what torch.cuda.memory_allocated counts: every tensor's block, rounded up to 512 bytes."""

    def __init__(self):
        import torch

        self._cuda = torch.cuda
        self._cuda.synchronize()
        self.base = self._cuda.memory_allocated()
        self._cuda.reset_peak_memory_stats()

    @property
    def current(self) -> int:
        self._cuda.synchronize()
        return self._cuda.memory_allocated() - self.base

    @property
    def peak(self) -> int:
        self._cuda.synchronize()
        return self._cuda.max_memory_allocated() - self.base

    def reset_peak(self):
        self._cuda.synchronize()
        self._cuda.reset_peak_memory_stats()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def cache_tensors(cache) -> list:
    """Every tensor a transformers cache holds: keys and values, and a hybrid layer's convolution and recurrent
    states."""
    out = []
    for layer in cache.layers:
        out += [t for t in (getattr(layer, "keys", None), getattr(layer, "values", None)) if t is not None]
        for name in ("conv_states", "recurrent_states"):
            states = getattr(layer, name, None)
            if states is not None:
                out += [t for t in (states.values() if isinstance(states, dict) else [states]) if t is not None]
    return out


def measure(config: dict, *, context: int, batch: int = 1, attention: str = "sdpa", cache: str = "dynamic",
            max_cache_len: int | None = None) -> dict:
    """Bytes transformers allocates to prefill `context` tokens and decode one more, for `batch` sequences, with
    fake tensors at full size."""
    import torch
    from torch._subclasses.fake_tensor import FakeTensorMode

    from ..reference.profile import LiveBytes

    with FakeTensorMode(allow_non_fake_inputs=True), torch.no_grad(), sdpa_as_on_cuda():
        model = build(config, attention)
        params, buffers = _state_tensors(model)
        tracker = LiveBytes([*params, *buffers])
        out = steps(model, tracker, context=context, batch=batch, cache=cache, max_cache_len=max_cache_len)
    return {"weights_bytes": _storage_bytes(params), "buffers_bytes": _storage_bytes(buffers), **out}


def new_cache(model, cache: str = "dynamic", max_cache_len: int | None = None):
    from transformers import DynamicCache, StaticCache

    if cache == "static":
        return StaticCache(config=model.config, max_cache_len=max_cache_len)
    return DynamicCache(config=model.config)


def _tokens(model, batch: int, n: int, device: str):
    """Random token ids (seeded): identical ones would send every token to the same experts of a MoE router. Fake
    tensors have no values; there the ids only give the shape."""
    import torch

    return torch.randint(0, model.config.vocab_size, (batch, n), dtype=torch.long, device=device)


def steps(model, tracker, *, context: int, batch: int, cache: str = "dynamic", max_cache_len: int | None = None,
          device: str = "cpu", decode_steps: int = 0) -> dict:
    """Prefill `context` tokens into a new cache and decode one token, under `tracker` (LiveBytes or CudaBytes);
    with decode_steps > 0 on a CUDA device, also the prefill's and the mean decode step's seconds (CUDA events)."""
    import torch

    kv_cache = new_cache(model, cache, max_cache_len)
    timed = decode_steps > 0 and device == "cuda"
    if timed:
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
    with tracker:
        out = _forward(model, _tokens(model, batch, context, device), kv_cache)
        last = out.logits[:, -1].to(copy=True, dtype=torch.float32)  # generate()'s next_token_logits
        if timed:
            end.record()
            torch.cuda.synchronize()
            prefill_s = start.elapsed_time(end) / 1000
        logits = _storage_bytes([out.logits, last])
        tensors = cache_tensors(kv_cache)
        kv, kv_view = _storage_bytes(tensors), _view_bytes(tensors)
        prefill = tracker.peak - kv
        del out, last, tensors  # the old cache tensors must be free to go when decode grows the cache
        tracker.reset_peak()
        base = tracker.current
        out = _forward(model, _tokens(model, batch, 1, device), kv_cache)
        last = out.logits[:, -1].to(copy=True, dtype=torch.float32)
        decode = tracker.peak - base
        del out, last
        kv_decode = _storage_bytes(cache_tensors(kv_cache))
    result = {"kv_cache_bytes": kv, "kv_cache_view_bytes": kv_view, "kv_cache_after_decode_bytes": kv_decode,
              "activation_bytes": max(prefill, decode), "prefill_activation_bytes": prefill,
              "decode_activation_bytes": decode, "logits_bytes": logits}
    if timed:
        ids = _tokens(model, batch, 1, device)
        start.record()
        for _ in range(decode_steps):
            _forward(model, ids, kv_cache)
        end.record()
        torch.cuda.synchronize()
        result |= {"prefill_seconds": prefill_s, "decode_seconds_per_step": start.elapsed_time(end) / 1000 /
                   decode_steps}
    del kv_cache
    return result


def engine_options(cache: str = "dynamic", max_cache_len: int | None = None) -> dict:
    """The engine options of a record: none for the default dynamic cache."""
    return {} if cache == "dynamic" else {"cache": cache, "max_cache_len": max_cache_len}


def estimated(model: str, *, context: int, batch: int, attention: str = "sdpa", cache: str = "dynamic",
              max_cache_len: int | None = None) -> dict:
    """planner's engine="transformers" figures for the same run."""
    from ..estimate import estimate

    e = estimate(model, engine="transformers", quant="bf16", context=context, batch=batch, attention=attention,
                 **engine_options(cache, max_cache_len))
    return {"weights_bytes": e.weights_bytes, "kv_cache_bytes": e.kv_cache_bytes,
            "activation_bytes": e.activation_bytes,
            "prefill_activation_bytes": e.engine_details["prefill_peak_bytes"],
            "decode_activation_bytes": e.engine_details["decode_peak_bytes"]}


def error_pct(estimated: dict, measured: dict) -> dict:
    return {k: round(100 * (estimated[k] / measured[k] - 1), 3) for k in COMPARED if measured[k]}


def within_tolerance(estimated: dict, measured: dict) -> dict:
    """Per component: |estimated / measured − 1| ≤ TOLERANCE (exactly equal where the tolerance is 0)."""
    return {k: abs(estimated[k] - measured[k]) <= TOLERANCE[k] * measured[k] for k in COMPARED}


def record(model: str, config: dict | str | Path, *, context: int, batch: int = 1, attention: str = "sdpa",
           cache: str = "dynamic", max_cache_len: int | None = None) -> dict:
    """One measurement record: planner's estimate of `model` (a bundled id) against transformers' allocations
    for `config` (its config.json, parsed or a path)."""
    import transformers

    if not isinstance(config, dict):
        config = json.loads(Path(config).read_text())
    meas = measure(config, context=context, batch=batch, attention=attention, cache=cache,
                   max_cache_len=max_cache_len)
    est = estimated(model, context=context, batch=batch, attention=attention, cache=cache,
                    max_cache_len=max_cache_len)
    return {"engine": "transformers", "engine_version": transformers.__version__, "device": "fake", "model": model,
            "quant": "bf16", "options": {"context": context, "batch": batch, "attention": attention,
                                         **engine_options(cache, max_cache_len)},
            "estimated": est, "measured": meas, "error_pct": error_pct(est, meas),
            "within_tolerance": within_tolerance(est, meas), "source": SOURCE}
