"""transformers, measured: its own model class, built from a published config.json at full size under
FakeTensorMode, so an 8B or 70B model costs no memory (every tensor is fake; only shapes and dtypes exist).

What generate() would do, step by step, minus its data-dependent control flow (which fake tensors cannot run):
a prefill forward of the whole prompt into a DynamicCache with last-token logits (logits_to_keep=1) and their
fp32 copy, then one decode step. planner.reference.profile.LiveBytes tracks the bytes of every storage the
forward creates while it lives, and their peak. No attention mask is passed (generate() passes one of ones,
which the SDPA path drops as a full causal mask: no padding).

  weights_bytes      the parameters' storages (tied ones once); buffers (RoPE inv_freq) apart
  kv_cache_bytes     the storages of the cache's key and value tensors after prefill. A sliding-window layer
                     keeps a view of the whole prompt's keys (DynamicSlidingWindowLayer), so its storage holds
                     every token until the first decode step; kv_cache_view_bytes counts only the views' elements,
                     kv_cache_after_decode_bytes the storages after that step
  prefill_activation the prefill peak minus the KV cache (the cache fills as it goes, so this is a lower bound
                     when the peak comes before the last layer; it comes in the last layers)
  decode_activation  the decode step's peak over what was live before it (the cache's growth included)
  logits_bytes       the model's last-token logits plus generate()'s fp32 copy of them
"""

from __future__ import annotations

import inspect
import json
from pathlib import Path

SOURCE = ("planner.measure.transformers: transformers' own model class built from the published config at "
          "full size under FakeTensorMode")
COMPARED = ("weights_bytes", "kv_cache_bytes", "activation_bytes")


def _storage_bytes(tensors) -> int:
    seen = {}
    for t in tensors:
        s = t.untyped_storage()
        seen[s._cdata] = s.nbytes()
    return sum(seen.values())


def _cache_tensors(cache) -> list:
    return [t for layer in cache.layers for t in (layer.keys, layer.values) if t is not None]


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


def _forward(model, ids, cache):
    """One forward step as generate() calls it; the cache keyword is `cache` in transformers 5.x."""
    key = "cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values"
    return model(input_ids=ids, use_cache=True, logits_to_keep=1, **{key: cache})


def measure(config: dict, *, context: int, batch: int = 1, attention: str = "sdpa") -> dict:
    """Bytes transformers allocates to prefill `context` tokens and decode one more, for `batch` sequences."""
    import torch
    from torch._subclasses.fake_tensor import FakeTensorMode
    from transformers import DynamicCache

    from ..reference.profile import LiveBytes

    with FakeTensorMode(allow_non_fake_inputs=True), torch.no_grad():
        model = build(config, attention)
        params, buffers = list(model.parameters()), list(model.buffers())
        cache = DynamicCache(config=model.config)
        tracker = LiveBytes([*params, *buffers])
        with tracker:
            out = _forward(model, torch.zeros((batch, context), dtype=torch.long), cache)
            last = out.logits[:, -1].to(copy=True, dtype=torch.float32)  # generate()'s next_token_logits
            logits = _storage_bytes([out.logits, last])
            kv, kv_view = _storage_bytes(_cache_tensors(cache)), _view_bytes(_cache_tensors(cache))
            prefill = tracker.peak - kv
            del out, last
            tracker.reset_peak()
            base = tracker.current
            out = _forward(model, torch.zeros((batch, 1), dtype=torch.long), cache)
            last = out.logits[:, -1].to(copy=True, dtype=torch.float32)
            decode = tracker.peak - base
            del out, last
            kv_decode = _storage_bytes(_cache_tensors(cache))
    return {"weights_bytes": _storage_bytes(params), "buffers_bytes": _storage_bytes(buffers),
            "kv_cache_bytes": kv, "kv_cache_view_bytes": kv_view, "kv_cache_after_decode_bytes": kv_decode,
            "activation_bytes": max(prefill, decode), "prefill_activation_bytes": prefill,
            "decode_activation_bytes": decode, "logits_bytes": logits}


def estimated(model: str, *, context: int, batch: int, attention: str = "sdpa") -> dict:
    """planner's engine="transformers" figures for the same run."""
    from ..estimate import estimate

    e = estimate(model, engine="transformers", quant="bf16", context=context, batch=batch, attention=attention)
    return {"weights_bytes": e.weights_bytes, "kv_cache_bytes": e.kv_cache_bytes,
            "activation_bytes": e.activation_bytes}


def record(model: str, config: dict | str | Path, *, context: int, batch: int = 1, attention: str = "sdpa") -> dict:
    """One measurement record: planner's estimate of `model` (a bundled id) against transformers' allocations
    for `config` (its config.json, parsed or a path)."""
    import transformers

    if not isinstance(config, dict):
        config = json.loads(Path(config).read_text())
    meas = measure(config, context=context, batch=batch, attention=attention)
    est = estimated(model, context=context, batch=batch, attention=attention)
    return {"engine": "transformers", "engine_version": transformers.__version__, "device": "fake", "model": model,
            "quant": "bf16", "options": {"context": context, "batch": batch, "attention": attention},
            "estimated": est, "measured": meas,
            "error_pct": {k: round(100 * (est[k] / meas[k] - 1), 3) for k in COMPARED if meas[k]},
            "source": SOURCE}
