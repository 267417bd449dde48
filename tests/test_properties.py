"""Property-based invariants over estimate, sweep, the engines, parallel plans and fit (hypothesis).

Each fast invariant runs 2,000 examples; the ones built on bisection or on the whole GPU catalog fewer.
"""

from __future__ import annotations

import io
import json
from contextlib import redirect_stdout
from math import ceil

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from planner import LayoutError, WorkloadError, estimate, fit, list_gpus, load_gpu, load_model, max_context, sweep
from planner.cli import main
from planner.engines import LLAMACPP_UNSUPPORTED
from planner.engines.common import ARCHITECTURE_CAPABILITY, min_capability
from planner.engines.vllm.releases import VLLM_REMOVED
from planner.overhead import CUDA_CONTEXT_BYTES
from planner.parallel import check_layout, plan
from planner.units import format_bytes

MODELS = ["llama-3-8b", "phi-3-small", "gemma-2-9b", "mixtral-8x7b", "deepseek-v2-lite", "gpt-oss-20b", "qwen3-8b",
          "phi-3-medium-4k", "mistral-7b-v0.1", "gemma-3-27b"]
QUANTS = ["bf16", "fp16", "fp8", "int8", "int4", "awq", "gptq", "nf4", "q8_0", "q6_k", "q4_k_m", "q2_k", "iq4_xs"]
GGUF = ["q8_0", "q6_k", "q5_k_m", "q4_k_m", "q3_k_m", "q2_k", "iq4_xs"]
GPUS = [g for g in list_gpus() if load_gpu(g).vendor != "apple"]
MANY = settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FEW = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def workloads(draw, quants=QUANTS):
    model = draw(st.sampled_from(MODELS))
    spec = load_model(model)
    context = draw(st.integers(1, spec.max_context))
    return dict(model=model, quant=draw(st.sampled_from(quants)), context=context,
                batch=draw(st.integers(1, 64)),
                kv_dtype=draw(st.sampled_from([None, "fp16", "bf16", "fp8", "q8_0", "int4"])),
                chunk=draw(st.one_of(st.none(), st.integers(1, 8192))))


def _total_of_parts(e) -> bool:
    parts = e.weights_bytes + e.kv_cache_bytes + e.activation_bytes + e.overhead_bytes
    return e.total_bytes == parts and all(v >= 0 for v in (e.weights_bytes, e.kv_cache_bytes, e.activation_bytes))


@MANY
@given(w=workloads(), gpu=st.sampled_from(GPUS))
def test_total_is_the_sum_of_its_parts_and_fits_means_it_fits(w, gpu):
    e = estimate(**w, gpu=gpu)
    assert _total_of_parts(e)
    assert sum(e.breakdown["weights"].values()) == e.weights_bytes
    assert sum(e.breakdown["overhead"].values()) == e.overhead_bytes
    assert e.fits == (e.total_bytes <= load_gpu(gpu).usable_memory_bytes)
    assert e.fits == (e.performance.reason is None)


@MANY
@given(w=workloads(), more_context=st.integers(0, 4096), more_batch=st.integers(0, 8))
def test_memory_grows_with_context_and_batch(w, more_context, more_batch):
    spec = load_model(w["model"])
    base = estimate(**w)
    longer = estimate(**{**w, "context": min(w["context"] + more_context, spec.max_context)})
    wider = estimate(**{**w, "batch": w["batch"] + more_batch})
    assert base.kv_cache_bytes <= longer.kv_cache_bytes and base.total_bytes <= longer.total_bytes
    assert base.kv_cache_bytes <= wider.kv_cache_bytes and base.total_bytes <= wider.total_bytes
    assert base.weights_bytes == longer.weights_bytes == wider.weights_bytes


@MANY
@given(w=workloads(), contexts=st.lists(st.integers(1, 1 << 17), min_size=1, max_size=4),
       batches=st.lists(st.integers(1, 64), min_size=1, max_size=3))
def test_sweep_rows_equal_estimates(w, contexts, batches):
    spec = load_model(w["model"])
    contexts = [min(c, spec.max_context) for c in contexts]
    kv = [w["kv_dtype"]] if w["kv_dtype"] else None
    df = sweep(w["model"], quants=[w["quant"]], contexts=contexts, batches=batches, kv_dtypes=kv, chunk=w["chunk"])
    for row in df.sample(min(3, len(df)), random_state=0).itertuples():
        e = estimate(w["model"], quant=w["quant"], kv_dtype=w["kv_dtype"], context=int(row.context),
                     batch=int(row.batch), chunk=w["chunk"])
        assert (row.weights_bytes, row.kv_cache_bytes, row.activation_bytes, row.total_bytes) == \
            (e.weights_bytes, e.kv_cache_bytes, e.activation_bytes, e.total_bytes)


@MANY
@given(w=workloads(quants=["bf16", "int4", "q4_k_m", "q8_0"]), gpu=st.sampled_from(GPUS))
def test_json_and_text_agree(w, gpu):
    argv = ["estimate", w["model"], "--quant", w["quant"], "--context", str(w["context"]), "--batch", str(w["batch"]),
            "--gpu", gpu] + (["--kv-dtype", w["kv_dtype"]] if w["kv_dtype"] else [])
    text, data = io.StringIO(), io.StringIO()
    with redirect_stdout(text):
        assert main(argv) == 0
    with redirect_stdout(data):
        assert main(argv + ["--json"]) == 0
    d = json.loads(data.getvalue())
    out = text.getvalue()
    total_line = next(line for line in out.splitlines() if line.startswith("  total "))
    assert total_line.split() == ["total", *format_bytes(d["total_bytes"]).split()]
    assert (" fits in " in out) == d["performance"]["fits"]
    assert ("does NOT fit" in out) == (not d["performance"]["fits"])
    # a speed only where it fits, in both: a script ranking GPUs by tokens/s must not pick one it does not fit on
    assert ("  decode: " in out) == (d["performance"]["decode_tokens_per_s"] is not None) == d["performance"]["fits"]


@MANY
@given(model=st.sampled_from(MODELS), gpu=st.sampled_from(GPUS), util=st.floats(0.05, 1.0),
       quant=st.sampled_from(["bf16", "fp8", "int4", "awq", "gptq"]), kv=st.sampled_from([None, "fp8", "fp16"]),
       fraction=st.floats(0.001, 1.0), short=st.floats(0.001, 1.0), batch=st.integers(1, 1024))
def test_vllm_fits_only_when_it_would_start_and_hold_the_batch(model, gpu, util, quant, kv, fraction, short, batch):
    spec = load_model(model)
    max_model_len = max(1, int(spec.max_context * fraction))
    context = max(1, int(max_model_len * short))
    kw = dict(engine="vllm", gpu=gpu, quant=quant, kv_dtype=kv, gpu_memory_utilization=util,
              max_model_len=max_model_len, context=context, batch=batch)
    if spec.model_type in VLLM_REMOVED:  # today's vLLM cannot run it (Phi-3-small): refused by name
        with pytest.raises(WorkloadError, match="cannot run"):
            estimate(model, **kw)
        return
    arch = load_gpu(gpu).architecture  # vLLM's fp8 needs compute capability 7.5, its AWQ and torchao int4 too
    if load_gpu(gpu).vendor == "nvidia" and arch in ARCHITECTURE_CAPABILITY \
            and ARCHITECTURE_CAPABILITY[arch] < (min_capability("vllm", quant) or 0):
        with pytest.raises(WorkloadError, match="compute capability 7.5"):
            estimate(model, **kw)
        return
    e = estimate(model, **kw)
    d = e.engine_details
    assert _total_of_parts(e)
    if e.fits:
        total = load_gpu(gpu).memory_bytes or load_gpu(gpu).memory_marketed_bytes
        assert d["requested_bytes"] <= total - CUDA_CONTEXT_BYTES  # vLLM's start-up check on free memory
        assert d["available_kv_bytes"] > 0 and d["kv_blocks"] >= ceil(max_model_len / d["block_size"])
        assert batch * ceil(context / d["block_size"]) <= d["kv_blocks"] and batch <= d["max_num_seqs"]
    else:
        assert e.performance.reason


@MANY
@given(w=workloads(quants=GGUF), gpu=st.sampled_from(GPUS), flash=st.booleans(),
       ubatch=st.sampled_from([64, 256, 512, 2048]))
def test_llama_cpp_holds_every_sequence_and_fits_means_it_fits(w, gpu, flash, ubatch):
    w = {**w, "batch": min(w["batch"], 256), "chunk": None,
         "kv_dtype": w["kv_dtype"] if w["kv_dtype"] in (None, "fp16", "bf16") or flash else None}
    if w["kv_dtype"] in ("fp8", "int4"):
        w["kv_dtype"] = "q8_0" if flash else None
    if load_model(w["model"]).model_type in LLAMACPP_UNSUPPORTED:  # no GGUF of it exists: refused by name
        with pytest.raises(WorkloadError, match="llama.cpp has no"):
            estimate(**w, engine="llama.cpp", gpu=gpu, flash_attn=flash, n_ubatch=ubatch)
        return
    e = estimate(**w, engine="llama.cpp", gpu=gpu, flash_attn=flash, n_ubatch=ubatch)
    d = e.engine_details
    assert _total_of_parts(e)
    assert d["n_parallel"] >= w["batch"] and d["kv_cells"] >= w["batch"] * w["context"]
    assert e.fits == (e.total_bytes <= load_gpu(gpu).usable_memory_bytes)


@MANY
@given(model=st.sampled_from(MODELS), gpu=st.sampled_from(list_gpus()), n=st.integers(1, 16),
       mode=st.sampled_from(["tp", "pp"]), quant=st.sampled_from(["bf16", "int4", "q4_k_m"]))
def test_plans_follow_the_layout_rules(model, gpu, n, mode, quant):
    spec, g = load_model(model), load_gpu(gpu)
    try:
        p = plan(model, gpu=gpu, n_gpus=n, mode=mode, quant=quant, context=min(4096, spec.max_context))
    except LayoutError as e:
        assert str(e)
        if mode == "pp":
            assert n > spec.n_layers or (g.vendor == "apple" and n > 1)
        return
    assert g.vendor != "apple" or n == 1
    if mode == "tp":
        assert spec.n_heads % n == 0 and spec.d_ff % n == 0
        assert spec.mla is not None or spec.n_kv_heads % n == 0 or n % spec.n_kv_heads == 0
    else:
        assert n <= spec.n_layers
    single = estimate(model, quant=quant, context=min(4096, spec.max_context))
    assert p.per_gpu["weights_bytes"] <= single.weights_bytes <= n * p.per_gpu["weights_bytes"] + n
    assert p.fits == (p.per_gpu["total_bytes"] <= g.usable_memory_bytes)


@FEW
@given(model=st.sampled_from(MODELS), context=st.integers(1024, 32768), batch=st.integers(1, 4))
def test_fit_ranks_only_layouts_the_engine_accepts_and_that_fit(model, context, batch):
    spec = load_model(model)
    context = min(context, spec.max_context)
    df = fit(model, context=context, batch=batch, gpus=["rtx-4090", "l40s", "h100-sxm"], quants=["bf16", "q4_k_m"])
    for r in df.itertuples():
        check_layout(spec, load_gpu(r.gpu), r.n_gpus, "tp")
        if r.split == "tensor":  # vLLM's split, with vLLM's verdict: its budget holds the row's total
            e = estimate(model, engine="vllm", quant=r.quant, kv_dtype=r.kv_dtype, context=context, batch=batch,
                         gpu=r.gpu, tensor_parallel_size=r.n_gpus, max_model_len=context)
            assert e.fits and r.fits and 0 <= r.headroom_bytes == r.budget_bytes - r.per_gpu_total_bytes
            continue
        p = plan(model, gpu=r.gpu, n_gpus=r.n_gpus, quant=r.quant, kv_dtype=r.kv_dtype, context=context, batch=batch,
                 mode="pp" if r.split == "layers" else "tp")
        assert p.fits and r.fits


@FEW
@given(model=st.sampled_from(MODELS), gpu=st.sampled_from(GPUS), quant=st.sampled_from(["bf16", "q4_k_m", "int4"]),
       batch=st.integers(1, 8))
def test_max_context_is_the_boundary_of_fits(model, gpu, quant, batch):
    spec = load_model(model)
    n = max_context(model, quant=quant, gpu=gpu, batch=batch)
    if n:
        assert estimate(model, quant=quant, gpu=gpu, batch=batch, context=n).fits
    if n < spec.max_context:
        assert not estimate(model, quant=quant, gpu=gpu, batch=batch, context=n + 1).fits
