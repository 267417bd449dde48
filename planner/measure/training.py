"""One training step of a transformers causal LM, measured: transformers' own model class built from a published
config.json at full size under FakeTensorMode (planner.measure.transformers.build's method: shapes and dtypes only,
no memory), with peft's real LoRA layers, bitsandbytes' real 4-bit layers and 8-bit AdamW, torch's optimizers.

A step is what HF Trainer runs: forward with labels=input_ids (the loss; the other outputs dropped), under
torch.autocast(bfloat16) where the precision is "mixed" (Trainer's bf16=True on an fp32 model), loss.backward()
outside autocast, optimizer.step(), optimizer.zero_grad(set_to_none=True). Two steps run: the optimizer's states
appear in the first, the second is the steady state whose phases are reported. model.train(), no attention mask.
planner.reference.profile.LiveBytes (a TorchDispatchMode) adds each storage an op creates, backward and optimizer
ops included, and subtracts it when Python frees it; everything is deduplicated by untyped storage.

  precision  bf16: parameters in bf16 (torch's optimizers then keep bf16 states); mixed: fp32 parameters and the
             forward under autocast; fp32: no autocast. The fake tensors live on the CPU, so autocast is the CPU's:
             its lower-precision list has linear, matmul, bmm, baddbmm and SDPA as CUDA's has; CUDA's extra fp32
             ops (pow, rsqrt, softmax, log_softmax, nll_loss, ...) get fp32 inputs here anyway (transformers upcasts)
  lora       peft LoraConfig(r, lora_alpha, target_modules, lora_dropout=0, task_type="CAUSAL_LM") + get_peft_model
             on the base in `precision`; peft's autocast_adapter_dtype=True keeps bf16 adapters in fp32
  qlora      the base's Linear layers (transformers' get_keys_to_not_convert: not lm_head nor tied weights) become
             bitsandbytes Linear4bit holding what bitsandbytes.functional.quantize_4bit returns for NF4, blocksize
             64, double quantization (uint8 absmax per 64 weights, fp32 absmax per 256 blocks, offset, code tables);
             then peft's prepare_model_for_kbit_training (freezes, casts every bf16 non-4-bit parameter to fp32) and
             get_peft_model. bnb's Params4bit cannot wrap a FakeTensor (Tensor._make_subclass), so the packed weight
             is a plain frozen Parameter with its quant_state attribute: Linear4bit.forward and MatMul4Bit
             (bitsandbytes/autograd/_functions.py) run unchanged. Autocast is on by default (the QLoRA recipe's
             Trainer bf16=True; the fp32 norms would otherwise make the residual stream fp32)
  gemm_4bit  its fake kernel allocates only the output; CUDA's (bitsandbytes/backends/cuda/ops.py gemm_4bit,
             _dequant_linear_fallback) dequantizes the nested absmax (fp32, twice) and the weight (compute dtype)
             before F.linear for every M past 1536 rows, and on H100/H200 for large weights below: the tracker
             allocates those transients where M > 4 rows
  SDPA       as sdpa_as_on_cuda picks (flash, else memory-efficient), with q, k, v cast to the autocast dtype first
             as CUDA's autocast does, and fp32 inputs sent to the memory-efficient kernel (flash has no fp32)
  optimizers torch AdamW foreach=True / foreach=False / fused=True, SGD(momentum=0.9), transformers' Adafactor
             (defaults; its relative-step lr compares the parameter's RMS, a data-dependent bool, so _get_lr takes
             param_scale 1: the same tensors), bitsandbytes AdamW8bit (real, through its fake kernels, the
             Trainer's 32-bit override of the embeddings' states registered)
"""

from __future__ import annotations

import json
from contextlib import contextmanager, nullcontext
from pathlib import Path

from .transformers import _no_init, _state_tensors, _storage_bytes, sdpa_as_on_cuda

SOURCE = ("planner.measure.training: one HF-Trainer training step of transformers' own model class (peft LoRA, "
          "bitsandbytes 4-bit and 8-bit AdamW) at full size under FakeTensorMode, SDPA as on a CUDA GPU")
METHODS = ("full", "lora", "qlora")
PRECISIONS = ("bf16", "mixed", "fp32")
OPTIMIZERS = ("adamw", "adamw_forloop", "adamw_fused", "adamw_8bit", "sgd", "adafactor")
GEMM_4BIT_CUSTOM_FLOOR_M = 4  # bitsandbytes/backends/cuda/ops.py _GEMM_4BIT_CUSTOM_FLOOR_M


def _tracker_class():
    import torch
    import torch.nn.functional as F

    from ..reference.profile import LiveBytes

    gemm_4bit = getattr(getattr(torch.ops, "bitsandbytes", None), "gemm_4bit", None)
    gemm_4bit = gemm_4bit.default if gemm_4bit is not None else None
    names = ("A", "B", "shapeB", "absmax", "blocksize", "quant_type", "bias", "absmax_8bit", "absmax_code",
             "absmax_offset")

    class Tracker(LiveBytes):
        """LiveBytes, plus CUDA's gemm_4bit transients, and a log of vocabulary-sized storages while `logging`."""

        def __init__(self, known, big: int):
            super().__init__(known)
            self.big, self.log, self.weight_casts = big, None, 0

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            if func is gemm_4bit and args[0].numel() // args[0].shape[-1] > GEMM_4BIT_CUSTOM_FLOOR_M:
                return self._dequant_linear(**dict(zip(names, args, strict=False)), **(kwargs or {}))
            new = len(self._refs)
            out = super().__torch_dispatch__(func, types, args, kwargs)
            if self.log is not None and len(self._refs) > new and isinstance(out, torch.Tensor):
                if func is torch.ops.aten._to_copy.default and args[0].untyped_storage()._cdata in self._known:
                    self.weight_casts += out.untyped_storage().nbytes()  # autocast's (or peft's) weight copies
                if out.numel() >= self.big:
                    self.log.append((str(func.overloadpacket.__name__), str(out.dtype).split(".")[-1],
                                     out.untyped_storage().nbytes()))
            return out

        def _dequant_linear(self, A, B, shapeB, absmax, blocksize, quant_type, bias=None, absmax_8bit=None,
                            absmax_code=None, absmax_offset=None):
            """bitsandbytes/backends/cuda/ops.py _dequant_linear_fallback, every transient tracked."""
            keep = []
            if absmax_8bit is not None:
                keep.append(torch.ops.bitsandbytes.dequantize_blockwise.default(
                    absmax_8bit, absmax, absmax_code, 256, torch.float32))
                absmax = keep[-1] + absmax_offset
                keep.append(absmax)
            keep.append(torch.ops.bitsandbytes.dequantize_4bit.default(B, absmax, blocksize, quant_type, shapeB,
                                                                       A.dtype))
            for t in keep:
                self._track(t.untyped_storage())
            out = F.linear(A, keep[-1], bias)
            self._track(out.untyped_storage())
            return out

    return Tracker


@contextmanager
def _sdpa_for_training():
    """sdpa_as_on_cuda, with autocast's cast of q, k, v and fp32 sent to the memory-efficient kernel."""
    import torch
    import torch.nn.functional as F

    with sdpa_as_on_cuda():
        on_cuda = F.scaled_dot_product_attention

        def sdpa(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None, enable_gqa=False):
            if torch.is_autocast_enabled("cpu"):
                dtype = torch.get_autocast_dtype("cpu")
                query, key, value = (t.to(dtype) for t in (query, key, value))
            if query.dtype == torch.float32 and attn_mask is None:  # no fp32 flash kernel on CUDA
                if enable_gqa and key.shape[1] != query.shape[1]:
                    n = query.shape[1] // key.shape[1]
                    key, value = key.repeat_interleave(n, 1), value.repeat_interleave(n, 1)
                return torch.ops.aten._scaled_dot_product_efficient_attention(
                    query, key, value, None, False, dropout_p, is_causal, scale=scale)[0]
            return on_cuda(query, key, value, attn_mask=attn_mask, dropout_p=dropout_p, is_causal=is_causal,
                           scale=scale, enable_gqa=enable_gqa)

        F.scaled_dot_product_attention = sdpa
        try:
            yield
        finally:
            F.scaled_dot_product_attention = on_cuda


def _quantize_4bit(model) -> list:
    """The base's Linear layers as bitsandbytes NF4 Linear4bit with double quantization; the quant-state tensors."""
    import bitsandbytes as bnb
    import torch
    from torch._subclasses.fake_tensor import unset_fake_temporarily
    from transformers import BitsAndBytesConfig
    from transformers.integrations.bitsandbytes import replace_with_bnb_linear
    from transformers.quantizers.base import get_keys_to_not_convert

    qc = BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
                            bnb_4bit_compute_dtype=torch.bfloat16)
    dense = {n: m for n, m in model.named_modules() if type(m) is torch.nn.Linear}
    with unset_fake_temporarily():  # Params4bit(meta) as transformers makes them; a FakeTensor cannot be wrapped
        replace_with_bnb_linear(model, modules_to_not_convert=get_keys_to_not_convert(model), quantization_config=qc)
        # the double quantization's 8-bit code table (bitsandbytes.functional.quantize_blockwise, code=None):
        # create_dynamic_map reads values (.tolist()), so it is made here, as bitsandbytes caches it, once
        bnb.functional.name2qmap.setdefault("dynamic", bnb.functional.create_dynamic_map())
    states = []
    for name, m in model.named_modules():
        if isinstance(m, bnb.nn.Linear4bit):
            old = dense.pop(name)
            # Params4bit._quantize's call (bitsandbytes/nn/modules.py), its default blocksize 64
            packed, qs = bnb.functional.quantize_4bit(old.weight.data, blocksize=64, compress_statistics=True,
                                                      quant_type="nf4", quant_storage=torch.uint8)
            m.weight = torch.nn.Parameter(packed, requires_grad=False)
            m.weight.quant_state = m.quant_state = qs  # and the Params4bit attributes peft's dispatch reads
            m.weight.compress_statistics, m.weight.quant_type, m.weight.blocksize = True, "nf4", 64
            m.weight.quant_storage, m.weight.bnb_quantized = torch.uint8, True
            m.bias = old.bias
            states += [qs.absmax, qs.code, qs.offset, qs.state2.absmax, qs.state2.code]
    model.is_loaded_in_4bit = True  # what from_pretrained(quantization_config=...) sets
    return states


@contextmanager
def _swappable():
    """Module.to() on fake parameters swaps tensors (torch.utils.swap_tensors), which refuses a tensor with a weak
    reference; FakeTensorMode's MetaConverter.tensor_memo keeps one on every detached parameter: drop it first."""
    import torch
    from torch._guards import detect_fake_mode

    original = torch.utils.swap_tensors

    def swap(t1, t2):
        detect_fake_mode().fake_tensor_converter.meta_converter.tensor_memo.clear()
        return original(t1, t2)

    torch.utils.swap_tensors = swap
    try:
        yield
    finally:
        torch.utils.swap_tensors = original


def _build(config, method, precision, attention, rank, alpha, targets):
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    cfg = {k: v for k, v in config.items() if k not in ("torch_dtype", "dtype")}
    dtype = torch.bfloat16 if precision == "bf16" or method == "qlora" else torch.float32
    with _no_init():
        model = AutoModelForCausalLM.from_config(AutoConfig.for_model(**cfg), dtype=dtype,
                                                 attn_implementation=attention)
    model.tie_weights()
    states = []
    if method == "qlora":
        from peft import prepare_model_for_kbit_training

        states = _quantize_4bit(model)
        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=False)
    if method in ("lora", "qlora"):
        from peft import LoraConfig, get_peft_model

        with _swappable():  # peft moves each adapter to its base layer's device and dtype
            model = get_peft_model(model, LoraConfig(r=rank, lora_alpha=alpha, target_modules=targets, lora_dropout=0.0,
                                                     task_type="CAUSAL_LM"))
    return model.train(), states


def _optimizer(name, params, model):
    import torch

    if name == "adamw":
        return torch.optim.AdamW(params, lr=1e-5, foreach=True)
    if name == "adamw_forloop":
        return torch.optim.AdamW(params, lr=1e-5, foreach=False)
    if name == "adamw_fused":
        return torch.optim.AdamW(params, lr=1e-5, fused=True)
    if name == "sgd":
        return torch.optim.SGD(params, lr=1e-5, momentum=0.9, foreach=True)
    if name == "adamw_8bit":
        import bitsandbytes as bnb
        from torch._subclasses.fake_tensor import unset_fake_temporarily

        with unset_fake_temporarily():  # its qmap tables: create_dynamic_map reads values (.tolist())
            opt = bnb.optim.AdamW8bit(params, lr=1e-5)
        # what the HF Trainer does next with an 8-bit bitsandbytes optimizer (transformers 5.24 trainer.py
        # create_optimizer): every nn.Embedding weight keeps 32-bit states, applied at the first step
        manager = bnb.optim.GlobalOptimManager.get_instance()
        manager.initialize()  # one process measures many models: no override left from the last one
        for module in model.modules():
            if isinstance(module, torch.nn.Embedding):
                manager.register_module_override(module, "weight", {"optim_bits": 32})
        return opt
    if name == "adafactor":
        from transformers.optimization import Adafactor

        class FakeSafeAdafactor(Adafactor):
            @staticmethod
            def _get_lr(param_group, param_state):  # Adafactor._get_lr with param_scale 1 (no tensor comparison)
                return min(1e-2, param_state["step"] ** -0.5)

        return FakeSafeAdafactor(params, lr=None, scale_parameter=True, relative_step=True, warmup_init=False)
    raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {name!r}")


def measure(config: dict, *, method: str = "full", precision: str = "bf16", optimizer: str = "adamw",
            gradient_checkpointing: bool = False, micro_batch: int = 1, seq_len: int = 2048,
            attention: str = "sdpa", lora_rank: int = 16, lora_alpha: int = 32,
            lora_targets: str | list[str] = "all-linear", autocast: bool | None = None) -> dict:
    """Bytes one training step allocates, per component and phase (module docstring). autocast=None: on for
    precision "mixed" and for method "qlora"."""
    import torch
    from torch._subclasses.fake_tensor import FakeTensorMode

    if method not in METHODS or precision not in PRECISIONS or optimizer not in OPTIMIZERS:
        raise ValueError(f"method {method!r}, precision {precision!r}, optimizer {optimizer!r}: not one of "
                         f"{METHODS}, {PRECISIONS}, {OPTIMIZERS}")
    if autocast is None:
        autocast = precision == "mixed" or method == "qlora"
    with FakeTensorMode(allow_non_fake_inputs=True), _sdpa_for_training():
        model, quant_states = _build(config, method, precision, attention, lora_rank, lora_alpha, lora_targets)
        if gradient_checkpointing:  # transformers' defaults: use_reentrant=False, enable_input_require_grads
            model.gradient_checkpointing_enable()
        persistent, computed = _state_tensors(model)
        trainable = [p for p in model.parameters() if p.requires_grad]
        opt = _optimizer(optimizer, trainable, model)
        vocab = model.get_output_embeddings().weight.shape[0]
        tracker = _tracker_class()([*persistent, *computed, *quant_states], micro_batch * seq_len * vocab)
        base = _storage_bytes([*persistent, *computed, *quant_states])
        ids = torch.zeros((micro_batch, seq_len), dtype=torch.long)
        amp = (lambda: torch.autocast("cpu", dtype=torch.bfloat16)) if autocast else nullcontext
        steps = []
        with tracker:
            for _ in range(2):
                s, top = {}, 0
                tracker.reset_peak()
                before, tracker.log, tracker.weight_casts = tracker.current, [], 0
                with amp():
                    out = model(input_ids=ids, labels=ids)
                    loss = out.loss
                    s["logits_bytes"] = out.logits.untyped_storage().nbytes()
                    del out
                    in_autocast = tracker.current
                s["autocast_cache_bytes"] = in_autocast - tracker.current  # freed as autocast exits
                s["forward_saved_bytes"] = tracker.current - before
                s["forward_peak_bytes"] = tracker.peak - before
                s["vocab_sized"], tracker.log = tracker.log, None
                s["weight_cast_bytes"] = tracker.weight_casts
                top = tracker.peak
                tracker.reset_peak()
                loss.backward()
                del loss
                s["backward_peak_bytes"] = tracker.peak - before
                s["gradient_bytes"] = _storage_bytes([p.grad for p in trainable if p.grad is not None])
                top = max(top, tracker.peak)
                tracker.reset_peak()
                pre = tracker.current
                opt.step()
                s["optimizer_step_peak_bytes"] = tracker.peak - pre
                top = max(top, tracker.peak)
                opt.zero_grad(set_to_none=True)
                s["peak_bytes"] = base + top
                steps.append(s)
        state = [v for st in opt.state.values() for v in st.values() if isinstance(v, torch.Tensor)]
        s = steps[1]
        weights = _storage_bytes([*persistent, *quant_states])
        trainable_bytes = _storage_bytes(trainable)
        adapters = sorted({str(p.dtype).split(".")[-1] for n, p in model.named_parameters() if "lora_" in n})
        # the bf16 logits from lm_head, and every fp32 vocabulary-sized copy of them the loss makes
        upcast = sum(n for op, dt, n in s["vocab_sized"] if op == "_to_copy" and dt == "float32")
        result = {
            "weights_bytes": weights, "buffers_bytes": _storage_bytes(computed),
            "quant_state_bytes": _storage_bytes(quant_states),
            "trainable_params": sum(p.numel() for p in trainable), "trainable_bytes": trainable_bytes,
            "frozen_bytes": weights - trainable_bytes, "gradient_bytes": s["gradient_bytes"],
            "optimizer_state_bytes": _storage_bytes(state),
            "forward_saved_bytes": s["forward_saved_bytes"], "forward_peak_bytes": s["forward_peak_bytes"],
            "backward_peak_bytes": s["backward_peak_bytes"],
            "optimizer_step_peak_bytes": s["optimizer_step_peak_bytes"],
            "step1_optimizer_step_peak_bytes": steps[0]["optimizer_step_peak_bytes"],
            "step1_peak_bytes": steps[0]["peak_bytes"], "step2_peak_bytes": s["peak_bytes"],
            "logits_bytes": s["logits_bytes"] + upcast, "autocast_cache_bytes": s["autocast_cache_bytes"],
            "forward_weight_cast_bytes": s["weight_cast_bytes"],
            "vocab_sized_tensors": [list(v) for v in s["vocab_sized"]], "autocast": autocast,
            "adapter_dtypes": adapters, "vocab_size": vocab,
        }
    return result


def setup(**kwargs) -> dict:
    """A run's setup as a record states it: measure()'s defaults filled in."""
    out = {"method": "full", "precision": "bf16", "optimizer": "adamw", "gradient_checkpointing": False,
           "micro_batch": 1, "seq_len": 2048, "attention": "sdpa", "autocast": None}
    out.update(kwargs)
    if out["method"] != "full":
        out = {"lora_rank": 16, "lora_alpha": 32, "lora_targets": "all-linear", **out}
    if out["autocast"] is None:
        out["autocast"] = out["precision"] == "mixed" or out["method"] == "qlora"
    return out


def versions() -> dict:
    import importlib.metadata as md

    out = {}
    for pkg in ("torch", "transformers", "peft", "bitsandbytes", "accelerate"):
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            out[pkg] = None
    return out


def record(model_id: str, config: dict | str | Path, **kwargs) -> dict:
    """One measurement record of `model_id` (its config.json, parsed or a path) under measure()'s keywords."""
    if not isinstance(config, dict):
        config = json.loads(Path(config).read_text())
    return {"engine": "transformers+peft", "versions": versions(), "device": "fake", "model": model_id,
            "setup": setup(**kwargs), "measured": measure(config, **kwargs), "source": SOURCE}
