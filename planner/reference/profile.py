"""Measure what the reference model allocates: fake tensors (full size, no memory), real CPU, or CUDA.

fake: FakeTensorMode plus LiveBytes, a TorchDispatchMode that adds each new storage's bytes when an op creates
it and subtracts them when Python frees it (a weak reference on the storage), keeping the peak.
cpu: the same tracker on real tensors (small configurations).
cuda: torch.cuda peak statistics (allocated and reserved), NVML's device memory used, the CUDA-context
baseline, and CUDA-event timings of prefill and decode after a warm-up.
"""

from __future__ import annotations

import time
import weakref
from dataclasses import dataclass, field

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten

from ..errors import WorkloadError
from ..spec import ModelSpec
from .model import Decoder


class LiveBytes(TorchDispatchMode):
    """Bytes of storages created by ops since it was entered and still alive; their peak."""

    def __init__(self, known: list[torch.Tensor] = ()):
        super().__init__()
        self.current = self.peak = 0
        self._refs: dict[int, weakref.ref] = {}
        # weights and cache are not activations; keyed by the C++ storage, since views of them may come back
        # wrapped in new Python storage objects
        self._known = {t.untyped_storage()._cdata for t in known}

    def reset_peak(self):
        self.peak = self.current

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for t in tree_flatten(out)[0]:
            if isinstance(t, torch.Tensor):
                self._track(t.untyped_storage())
        return out

    def _track(self, storage):
        key = id(storage)
        if storage._cdata in self._known or key in self._refs:
            return
        n = storage.nbytes()

        def release(_, key=key, n=n):
            self.current -= n
            self._refs.pop(key, None)

        self._refs[key] = weakref.ref(storage, release)
        self.current += n
        self.peak = max(self.peak, self.current)


@dataclass
class Measurement:
    mode: str
    weights_bytes: int
    kv_cache_bytes: int
    prefill_peak_bytes: int
    decode_peak_bytes: int
    extra: dict = field(default_factory=dict)

    @property
    def activation_bytes(self) -> int:
        return max(self.prefill_peak_bytes, self.decode_peak_bytes)

    @property
    def total_bytes(self) -> int:
        return self.weights_bytes + self.kv_cache_bytes + self.activation_bytes


def _storage_bytes(tensors) -> int:
    seen, total = set(), 0
    for t in tensors:
        s = t.untyped_storage()
        if id(s) not in seen:
            seen.add(id(s))
            total += s.nbytes()
    return total


def _run(model: Decoder, context: int, batch: int, chunk: int | None, logits: str, device) -> tuple[int, int]:
    """Prefill context − 1 tokens (in chunks), then decode the last one; the two activation peaks."""
    known = [*model.weights.parameters(), *model.weights.buffers(), *[t for layer in model.cache for t in layer]]
    tracker = LiveBytes(known)
    prompt = max(1, context - 1)
    step = prompt if chunk is None else chunk
    with torch.no_grad(), tracker:
        for p0 in range(0, prompt, step):
            ids = _tokens(model, batch, min(step, prompt - p0), device)
            out = model(ids, pos0=p0, logits=logits)
            del out, ids
        prefill = tracker.peak - 0
        tracker.reset_peak()
        base = tracker.current
        ids = _tokens(model, batch, 1, device)
        out = model(ids, pos0=prompt if context > 1 else 0, logits=logits)
        del out, ids
        decode = tracker.peak - base
    return prefill, decode


RANDOM_STD = 0.02  # random weights' scale: values change no shape, but MoE routing follows them


def _tokens(model: Decoder, batch: int, n: int, device) -> torch.Tensor:
    """Random token ids: identical tokens would give every position the same hidden state, and a MoE router would
    send them all to the same experts (fake tensors have no values: there the ids only give the shape)."""
    return torch.randint(0, model.spec.vocab_size, (batch, n), dtype=torch.long, device=device)


def randomize(model: Decoder) -> None:
    """Random values in every floating-point weight (torch.empty leaves a fresh GPU allocation zeroed, and a zero
    router sends every token to the same experts: a worst case no trained model routes)."""
    torch.manual_seed(0)
    with torch.no_grad():
        for t in [*model.weights.parameters(), *model.weights.buffers()]:
            if t.is_floating_point() and t.dtype.itemsize >= 2:
                t.normal_(0.0, RANDOM_STD)


def measure(spec: ModelSpec, *, quant: str, kv_dtype: str, context: int, batch: int = 1, mode: str = "fake",
            attention: str = "sdpa", chunk: int | None = None, logits: str = "last") -> Measurement:
    """Build the reference model and measure weights, KV cache and activation peaks in `mode`."""
    if mode not in ("fake", "cpu", "cuda"):
        raise WorkloadError(f"mode must be fake, cpu or cuda, got {mode!r}")
    if mode == "fake":
        from torch._subclasses.fake_tensor import FakeTensorMode

        with FakeTensorMode(allow_non_fake_inputs=True):
            model = Decoder(spec, quant, kv_dtype=kv_dtype, batch=batch, context=context, attention=attention)
            weights = _storage_bytes([*model.weights.parameters(), *model.weights.buffers()])
            prefill, decode = _run(model, context, batch, chunk, logits, "cpu")
        return Measurement("fake", weights, model.cache_bytes(), prefill, decode)
    if mode == "cpu":
        model = Decoder(spec, quant, kv_dtype=kv_dtype, batch=batch, context=context, attention=attention)
        randomize(model)
        weights = _storage_bytes([*model.weights.parameters(), *model.weights.buffers()])
        t0 = time.perf_counter()
        prefill, decode = _run(model, context, batch, chunk, logits, "cpu")
        return Measurement("cpu", weights, model.cache_bytes(), prefill, decode,
                           {"seconds": time.perf_counter() - t0})
    return _measure_cuda(spec, quant=quant, kv_dtype=kv_dtype, context=context, batch=batch, attention=attention,
                         chunk=chunk, logits=logits)


def _nvml_used() -> int | None:
    try:
        import pynvml

        pynvml.nvmlInit()
        handle = pynvml.nvmlDeviceGetHandleByIndex(torch.cuda.current_device())
        return int(pynvml.nvmlDeviceGetMemoryInfo(handle).used)
    except Exception:  # NVML is optional: no driver access, no package
        return None


def _measure_cuda(spec, *, quant, kv_dtype, context, batch, attention, chunk, logits) -> Measurement:
    if not torch.cuda.is_available():
        raise WorkloadError("mode 'cuda' needs a CUDA GPU; this machine has none")
    dev = torch.device("cuda")
    torch.cuda.init()
    torch.cuda.empty_cache()
    before_context = _nvml_used()
    torch.zeros(1, device=dev)  # creates the CUDA context
    torch.cuda.synchronize()
    context_bytes = None if before_context is None else _nvml_used() - before_context
    model = Decoder(spec, quant, kv_dtype=kv_dtype, batch=batch, context=context, attention=attention, device=dev)
    randomize(model)
    weights = _storage_bytes([*model.weights.parameters(), *model.weights.buffers()])
    torch.cuda.synchronize()
    base = torch.cuda.memory_allocated()
    torch.cuda.reset_peak_memory_stats()
    prompt = max(1, context - 1)
    step = prompt if chunk is None else chunk
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    with torch.no_grad():
        start.record()
        for p0 in range(0, prompt, step):
            model(_tokens(model, batch, min(step, prompt - p0), dev), pos0=p0, logits=logits)
        end.record()
        torch.cuda.synchronize()
        prefill_s = start.elapsed_time(end) / 1000
        prefill_peak = torch.cuda.max_memory_allocated() - base
        torch.cuda.reset_peak_memory_stats()
        ids = _tokens(model, batch, 1, dev)
        for _ in range(3):  # warm-up
            model(ids, pos0=prompt, logits=logits)
        torch.cuda.synchronize()
        start.record()
        steps = 10
        for _ in range(steps):
            model(ids, pos0=prompt, logits=logits)
        end.record()
        torch.cuda.synchronize()
        decode_s = start.elapsed_time(end) / 1000 / steps
        decode_peak = torch.cuda.max_memory_allocated() - base
    extra = {"max_memory_allocated": torch.cuda.max_memory_allocated(),
             "max_memory_reserved": torch.cuda.max_memory_reserved(), "nvml_used_bytes": _nvml_used(),
             "cuda_context_bytes": context_bytes, "prefill_seconds": prefill_s, "decode_seconds_per_token": decode_s,
             "device": torch.cuda.get_device_name(), "cuda": torch.version.cuda}
    return Measurement("cuda", weights, model.cache_bytes(), prefill_peak, decode_peak, extra)
