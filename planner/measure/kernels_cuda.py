"""The speed model's terms, timed on a CUDA GPU: the kernels a step is made of, at a model's own shapes.

planner's roofline (planner.perf.roofline) says a decode step reads every weight matrix once at a share of the
datasheet bandwidth, or, at a large batch, does 2·params·B FLOPs at DECODE_COMPUTE_EFFICIENCY of dense peak; that
a step reads the KV cache at the same share of bandwidth; and that a prefill's attention costs the causal half of
the score matrix. Each is timed here on its own, with random data (values change no kernel's time):

- decode_matmuls: every weight matrix of a dense model (and the output head) at batch B, one CUDA graph replayed
  (no Python launch time between kernels): bf16 (cuBLAS), fp8 (torch._scaled_mm, one scale per tensor), int4
  weight-only (torch's tinygemm, group 128);
- decode_moe (kernels_moe.py): every MoE layer's routed experts at batch B, one grouped GEMM a projection
  (torch._grouped_mm), random top-k routing: what a fused MoE kernel reads and how long it takes;
- decode_attention: one layer's SDPA with the model's grouped heads over B × S cached tokens (bf16 KV);
- prefill_matmuls: one layer's matrices at M = T tokens (bf16);
- prefill_attention: SDPA over T tokens of one layer, causal and full, and eager attention (scores materialized,
  as transformers' eager path) where its T × T scores fit;
- model_steps: transformers' own model class end to end (transformers_cuda.timed_steps), as generate() runs it
  (prefill, then decode steps launched from Python), with SDPA and with eager attention.

Each record carries seconds, the bytes the kernel must read and the FLOPs it must do as planner counts them, so a
share of the datasheet figures follows from the record alone (planner.measure.kernels reads them).

    python -m planner.measure.kernels_cuda --out FILE                 # on the GPU (scripts/gpu_speed.sh)
    python -m planner.measure.kernels_cuda --out FILE --device cpu --tiny   # dry run here
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from functools import partial
from pathlib import Path

from .cuda_timing import _torch, timed
from .kernels_moe import MOE_BATCHES, MOE_MODELS, decode_moe
from .transformers_cuda import timed_steps

SOURCE = ("planner.measure.kernels_cuda: PyTorch's own kernels at the model's shapes with random data on a CUDA GPU, "
          "CUDA events around replays of one CUDA graph")
MODELS = ["meta-llama/Llama-3.1-8B", "Qwen/Qwen2.5-32B", "microsoft/Phi-3-small-8k-instruct",
          "meta-llama/Llama-3.2-1B"]  # the most asked-about first: a run cut by its budget keeps them
QUANT_MODELS = ["meta-llama/Llama-3.1-8B", "Qwen/Qwen2.5-32B"]  # fp8 and int4 too
BATCHES = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048]
INT4_BATCHES = [1, 2, 4, 8, 16, 32, 64]  # tinygemm is a small-batch kernel; engines switch kernels above this
PREFILL_TOKENS = [128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768]
CONTEXTS = [1024, 4096, 16384, 65536, 131072]
DECODE_ATTN_BATCHES = [1, 8, 32, 128]
KV_LAYER_LIMIT = 8 << 30   # one layer's K and V at most (bytes)
EAGER_SCORES_LIMIT = 24 << 30  # eager attention's fp32 scores at most (bytes)
INT4_GROUP = 128
def matrices(spec, layers: int | None = None, head: bool = True) -> list[tuple[str, int, int]]:
    """(role, out, in) of every 2-D weight a dense decode step multiplies: the layers' (the first `layers` of them)
    and the output head (the embedding table when tied)."""
    from ..tensors import weight_tensors

    keep = set(range(layers if layers is not None else spec.n_layers))
    out = [(t.role, *t.shape) for t in weight_tensors(spec)
           if t.is_matrix and t.layer in keep and not t.is_expert and len(t.shape) == 2]
    if head:
        name = "token_embd.weight" if spec.tie_embeddings else "output.weight"
        out += [("output", *t.shape) for t in weight_tensors(spec) if t.name == name]
    return out


class Stack:
    """A model's matrices in one weight format on the device, and one step over all of them at batch M."""

    def __init__(self, mats: list[tuple[str, int, int]], fmt: str, device: str):
        torch = _torch()
        self.fmt, self.device, self.mats = fmt, device, mats
        self.w = []
        gen = torch.Generator(device=device).manual_seed(0)
        for _, n, k in mats:
            if fmt == "bf16":
                self.w.append(torch.randn(n, k, dtype=torch.bfloat16, device=device, generator=gen) * 0.02)
            elif fmt == "fp8":
                w = (torch.randn(n, k, dtype=torch.bfloat16, device=device, generator=gen) * 0.02)
                self.w.append(w.to(torch.float8_e4m3fn))
            elif fmt == "int4":
                q = torch.randint(0, 16, (n, k), dtype=torch.int32, device=device, generator=gen)
                packed = (q[:, ::2] << 4 | q[:, 1::2]).to(torch.uint8)
                sz = torch.randn(k // INT4_GROUP, n, 2, dtype=torch.bfloat16, device=device, generator=gen) * 0.02
                self.w.append((torch._convert_weight_to_int4pack(packed, 8), sz))
            else:
                raise ValueError(f"format must be bf16, fp8 or int4, got {fmt!r}")
        self.scale = torch.ones((), dtype=torch.float32, device=device)

    def weight_bytes(self) -> int:
        per = {"bf16": 2.0, "fp8": 1.0, "int4": 0.5 + 4 / INT4_GROUP}[self.fmt]  # int4: + bf16 scale and zero a group
        return int(sum(n * k * per for _, n, k in self.mats))

    def params(self) -> int:
        return sum(n * k for _, n, k in self.mats)

    def step(self, m: int):
        """A function doing every matmul at batch m (its inputs made here, once)."""
        torch = _torch()
        widths = sorted({k for _, _, k in self.mats})
        dtype = torch.float8_e4m3fn if self.fmt == "fp8" else torch.bfloat16
        xs = {k: (torch.randn(m, k, dtype=torch.bfloat16, device=self.device) * 0.1).to(dtype) for k in widths}
        F = torch.nn.functional

        def run():
            for (_, _, k), w in zip(self.mats, self.w, strict=True):
                if self.fmt == "bf16":
                    F.linear(xs[k], w)
                elif self.fmt == "fp8":
                    torch._scaled_mm(xs[k], w.t(), scale_a=self.scale, scale_b=self.scale, out_dtype=torch.bfloat16)
                else:
                    torch._weight_int4pack_mm(xs[k], w[0], INT4_GROUP, w[1])
        return run


def _meta(device: str) -> dict:
    torch = _torch()
    d = {"torch": torch.__version__, "host": platform.node() or "?"}
    if device == "cuda":
        d.update(device=torch.cuda.get_device_name(), cuda=torch.version.cuda)
    else:
        d.update(device="cpu")
    return d


def decode_matmuls(spec, model: str, fmt: str, batches: list[int], device: str, layers: int | None = None,
                   head: bool = True) -> list[dict]:
    stack = Stack(matrices(spec, layers, head), fmt, device)
    out = []
    for b in batches:
        rec = {"kind": "decode_matmuls", "model": model, "format": fmt, "batch": b, "matrices": len(stack.mats),
               "layers": layers or spec.n_layers, "bytes": stack.weight_bytes(), "flops": 2 * stack.params() * b}
        try:
            rec["seconds"] = timed(stack.step(b), device)
        except Exception as exc:  # a kernel that does not take this shape: recorded, not fatal
            rec["error"] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:160]}"
        out.append(rec)
    del stack
    return out


def _sdpa_backend(q, k, v, **kw) -> str:
    """The first SDPA backend that takes these inputs (flash, then memory-efficient, then cuDNN, then math)."""
    torch = _torch()
    from torch.nn.attention import SDPBackend, sdpa_kernel

    for be in (SDPBackend.FLASH_ATTENTION, SDPBackend.EFFICIENT_ATTENTION, SDPBackend.CUDNN_ATTENTION,
               SDPBackend.MATH):
        try:
            with sdpa_kernel(be):
                torch.nn.functional.scaled_dot_product_attention(q, k, v, **kw)
            return be.name.lower()
        except Exception:
            continue
    return "none"


def decode_attention(spec, model: str, device: str, batches: list[int], contexts: list[int]) -> list[dict]:
    torch = _torch()
    from torch.nn.attention import SDPBackend, sdpa_kernel

    H, K, D = spec.n_heads, spec.n_kv_heads, spec.head_dim
    out = []
    for b in batches:
        for s in contexts:
            kv = 2 * b * K * s * D * 2
            if kv > KV_LAYER_LIMIT:
                continue
            q = torch.randn(b, H, 1, D, dtype=torch.bfloat16, device=device)
            k = torch.randn(b, K, s, D, dtype=torch.bfloat16, device=device)
            v = torch.randn_like(k)
            kw = {"enable_gqa": H != K}
            be = _sdpa_backend(q, k, v, **kw)
            rec = {"kind": "decode_attention", "model": model, "batch": b, "context": s, "backend": be,
                   "bytes": kv, "flops": 4 * b * H * D * s}
            try:
                with sdpa_kernel(getattr(SDPBackend, be.upper())):
                    rec["seconds"] = timed(partial(torch.nn.functional.scaled_dot_product_attention, q, k, v, **kw),
                                           device)
            except Exception as exc:
                rec["error"] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:160]}"
            out.append(rec)
    return out


def prefill_matmuls(spec, model: str, device: str, tokens: list[int]) -> list[dict]:
    stack = Stack(matrices(spec, layers=1, head=False), "bf16", device)
    out = []
    for t in tokens:
        rec = {"kind": "prefill_matmuls", "model": model, "format": "bf16", "tokens": t, "layers": 1,
               "bytes": stack.weight_bytes(), "flops": 2 * stack.params() * t}
        rec["seconds"] = timed(stack.step(t), device)
        out.append(rec)
    return out


def prefill_attention(spec, model: str, device: str, tokens: list[int]) -> list[dict]:
    """One layer's attention over a T-token prompt: flash causal (FLOPs counted for the causal half, as planner
    counts them), flash full (every pair), and eager (scores in fp32, softmax, then PV) where its scores fit."""
    torch = _torch()
    F = torch.nn.functional
    H, K, D = spec.n_heads, spec.n_kv_heads, spec.head_dim
    out = []
    for t in tokens:
        q = torch.randn(1, H, t, D, dtype=torch.bfloat16, device=device)
        k = torch.randn(1, K, t, D, dtype=torch.bfloat16, device=device)
        v = torch.randn_like(k)
        gqa = {"enable_gqa": H != K}
        for mode, causal in (("causal", True), ("full", False)):
            be = _sdpa_backend(q, k, v, is_causal=causal, **gqa)
            pairs = t * (t + 1) // 2 if causal else t * t
            rec = {"kind": "prefill_attention", "model": model, "mode": mode, "tokens": t, "backend": be,
                   "flops": 4 * H * D * pairs}
            rec["seconds"] = timed(partial(F.scaled_dot_product_attention, q, k, v, is_causal=causal, **gqa), device)
            out.append(rec)
        if H * t * t * 4 * 2 <= EAGER_SCORES_LIMIT:
            mask = torch.full((t, t), float("-inf"), dtype=q.dtype, device=device).triu_(1)[None, None]
            out.append({"kind": "prefill_attention", "model": model, "mode": "eager", "tokens": t, "backend": "eager",
                        "flops": 4 * H * D * t * t, "seconds": timed(partial(_eager, q, k, v, mask), device)})
    return out


def _eager(q, k, v, mask):
    """Eager attention in transformers' order (eager_attention_forward, 5.x): K and V repeated to every query head,
    16-bit scores times the scale, plus the additive causal mask, softmax in fp32 cast back, then PV."""
    torch = _torch()
    group = q.shape[1] // k.shape[1]
    kk, vv = k.repeat_interleave(group, dim=1), v.repeat_interleave(group, dim=1)
    s = torch.matmul(q, kk.transpose(2, 3)) * (q.shape[-1] ** -0.5)
    s = s + mask
    p = torch.nn.functional.softmax(s, dim=-1, dtype=torch.float32).to(q.dtype)
    return torch.matmul(p, vv)


STEP_MODELS = ["meta-llama/Llama-3.1-8B", "meta-llama/Llama-3.2-1B"]  # transformers end to end too
STEP_PROMPTS = [512, 2048, 8192]


def run(models: list[str], device: str = "cuda", tiny: bool = False, budget_s: float = 420.0,
        quant_models: list[str] | None = None, sink=None, step_models: list[str] | None = None) -> list[dict]:
    """Every measurement for every model, within `budget_s` seconds (a kind not started in time is skipped and
    said so on stderr); each record also goes to `sink` as it is made. tiny: one layer, no output head, a few
    small shapes (a dry run on the CPU)."""
    torch = _torch()
    from ..profiles import load_model

    t0 = time.monotonic()
    quant_models = QUANT_MODELS if quant_models is None else quant_models
    step_models = STEP_MODELS if step_models is None else step_models
    batches = [1, 4] if tiny else BATCHES
    tokens = [16, 64] if tiny else PREFILL_TOKENS
    meta = _meta(device)
    records: list[dict] = []
    layers, head = (1, False) if tiny else (None, True)
    for model in models:
        spec = load_model(model)
        jobs = [("decode_matmuls bf16", partial(decode_matmuls, spec, model, "bf16", batches, device, layers, head))]
        if model in quant_models and device == "cuda":
            jobs += [("decode_matmuls fp8", partial(decode_matmuls, spec, model, "fp8", batches, device, layers, head)),
                     ("decode_matmuls int4", partial(decode_matmuls, spec, model, "int4", INT4_BATCHES, device, layers,
                                                     head))]
        jobs += [("decode_attention", partial(decode_attention, spec, model, device,
                                              [1] if tiny else DECODE_ATTN_BATCHES, [64] if tiny else CONTEXTS)),
                 ("prefill_matmuls", partial(prefill_matmuls, spec, model, device, tokens)),
                 ("prefill_attention", partial(prefill_attention, spec, model, device, tokens))]
        if spec.moe is not None:
            jobs = [("decode_moe", partial(decode_moe, spec, model, device, [1, 8] if tiny else MOE_BATCHES,
                                           1 if tiny else None))]
        if model in step_models:
            jobs += [(f"model_steps {a}", partial(timed_steps, model, device, [32] if tiny else STEP_PROMPTS, a))
                     for a in ("sdpa", "eager")]
        for name, job in jobs:
            if time.monotonic() - t0 > budget_s:
                print(f"skipped {model} {name}: over the {budget_s:.0f} s budget", file=sys.stderr)
                continue
            start = time.monotonic()
            for rec in job():
                records.append({**rec, **meta, "source": SOURCE})
                if sink is not None:
                    sink(records[-1])
            print(f"{model} {name}: {time.monotonic() - start:.1f} s", file=sys.stderr, flush=True)
            if device == "cuda":
                torch.cuda.empty_cache()
    return records


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", required=True)
    p.add_argument("--device", default="cuda", choices=["cuda", "cpu"])
    p.add_argument("--tiny", action="store_true")
    p.add_argument("--models", nargs="*", default=None)
    p.add_argument("--budget-s", type=float, default=420.0)
    a = p.parse_args(argv)
    models = a.models or (["Qwen/Qwen2.5-0.5B"] if a.tiny else MODELS + MOE_MODELS)
    path = Path(a.out)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as f:
        def sink(r):
            f.write(json.dumps(r, sort_keys=True) + "\n")
            f.flush()
        records = run(models, a.device, a.tiny, a.budget_s, sink=sink)
    print(f"{len(records)} records -> {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
