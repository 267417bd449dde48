"""Hostile and careless calls to the Python API: every one is a PlannerError that names the argument."""

from __future__ import annotations

import pytest

from planner import (
    PlannerError,
    WorkloadError,
    estimate,
    fit,
    get_quant,
    load_gpu,
    load_model,
    max_batch,
    max_context,
    sweep,
    table,
)
from planner.kv import kv_cache_bytes
from planner.parallel import offload, plan

NOT_A_COUNT = [0, -1, 1.5, "8K", float("nan"), float("inf"), True, [1], {}, 10**30, "", object()]
NOT_A_NAME = [0, 1.5, True, [1], {}, "", object(), "x" * 1000]
NOT_A_LIST = [0, 1.5, float("nan"), True, {}, "", object(), [], [0], [1.5], [None]]
NOT_A_RATE = [0, -1, float("nan"), float("inf"), True, "20", [1], object()]


def _cases():
    for v in NOT_A_COUNT:
        yield "context", lambda v=v: estimate("llama-3-8b", context=v)
        yield "batch", lambda v=v: estimate("llama-3-8b", batch=v)
        yield "chunk", lambda v=v: estimate("llama-3-8b", chunk=v)
        yield "prompt", lambda v=v: estimate("llama-3-8b", gpu="rtx-4090", prompt=v)
        yield "prompt", lambda v=v: plan("llama-3-8b", gpu="h100-sxm", n_gpus=2, prompt=v)
        yield "max_model_len", lambda v=v: estimate("llama-3-8b", engine="vllm", gpu="h100-sxm", max_model_len=v)
        yield "max_num_seqs", lambda v=v: estimate("llama-3-8b", engine="vllm", gpu="h100-sxm", max_num_seqs=v)
        yield "block_size", lambda v=v: estimate("llama-3-8b", engine="vllm", gpu="h100-sxm", block_size=v)
        yield "gpu_memory_bytes", lambda v=v: estimate("llama-3-8b", engine="vllm", gpu_memory_bytes=v)
        yield "n_ubatch", lambda v=v: estimate("llama-3-8b", quant="q4_k_m", engine="llama.cpp", n_ubatch=v)
        yield "n_parallel", lambda v=v: estimate("llama-3-8b", quant="q4_k_m", engine="llama.cpp", n_parallel=v)
        yield "n_ctx", lambda v=v: estimate("llama-3-8b", quant="q4_k_m", engine="llama.cpp", n_ctx=v)
        yield "n_parallel", lambda v=v: estimate("llama-3-8b", quant="q4_k_m", engine="llama.cpp", n_ctx=4096,
                                                 n_parallel=v)
        yield "batch", lambda v=v: table("llama-3-8b", batch=v)
        yield "batch", lambda v=v: max_context("llama-3-8b", gpu="rtx-4090", batch=v)
        yield "memory_bytes", lambda v=v: max_context("llama-3-8b", memory_bytes=v)
        yield "limit", lambda v=v: max_batch("llama-3-8b", gpu="rtx-4090", limit=v)
        yield "n_gpus", lambda v=v: plan("llama-3-8b", gpu="h100-sxm", n_gpus=v)
        yield "gpu_layers", lambda v=v: offload("llama-3-8b", gpu="rtx-4090", gpu_layers=33 if v == 0 else v)
        if v != 0 and v != [1]:  # the formula itself takes 0 tokens and arrays of counts
            yield "count", lambda v=v: kv_cache_bytes(load_model("llama-3-8b"), context_len=v)
    for v in NOT_A_NAME:
        yield "quant", lambda v=v: estimate("llama-3-8b", quant=v)
        yield "kv_dtype", lambda v=v: estimate("llama-3-8b", kv_dtype=v)
        yield "gpu", lambda v=v: estimate("llama-3-8b", gpu=v)
        yield "engine", lambda v=v: estimate("llama-3-8b", engine=v)
        yield "attention", lambda v=v: estimate("llama-3-8b", attention=v)
        yield "type_v", lambda v=v: estimate("llama-3-8b", quant="q4_k_m", engine="llama.cpp", type_v=v)
        yield "unit", lambda v=v: table("llama-3-8b", unit=v)
        yield "mode", lambda v=v: plan("llama-3-8b", gpu="h100-sxm", mode=v)
        yield "engine_version", lambda v=v: plan("llama-3-8b", quant="q4_k_m", gpu="rtx-4090", engine="llama.cpp",
                                                 engine_version=v)
        yield "engine_version", lambda v=v: plan("llama-3-8b", gpu="h100-sxm", engine="vllm", engine_version=v)
        yield "quant", lambda v=v: get_quant(v)
        yield "gpu", lambda v=v: load_gpu(v)
        yield "model", lambda v=v: load_model(v)
    for v in NOT_A_LIST:
        yield "contexts", lambda v=v: sweep("llama-3-8b", contexts=v)
        yield "batches", lambda v=v: sweep("llama-3-8b", batches=v)
        yield "quants", lambda v=v: sweep("llama-3-8b", quants=v)
        yield "contexts", lambda v=v: table("llama-3-8b", contexts=v)
        yield "gpus", lambda v=v: fit("llama-3-8b", gpus=v)
        yield "quants", lambda v=v: fit("llama-3-8b", quants=v, gpus=["rtx-4090"])
        yield "gpu_counts", lambda v=v: fit("llama-3-8b", gpu_counts=v, gpus=["rtx-4090"])
    for v in NOT_A_RATE:
        yield "min_tokens_per_s", lambda v=v: fit("llama-3-8b", min_tokens_per_s=v, gpus=["rtx-4090"])
        yield "host_bytes_per_s", lambda v=v: offload("llama-3-8b", gpu="rtx-4090", gpu_layers=3, host_bytes_per_s=v)
        yield "gpu_memory_utilization", lambda v=v: estimate("llama-3-8b", engine="vllm", gpu="h100-sxm",
                                                             gpu_memory_utilization=v)
    for v in ("on", 0, "yes", "false", 1):
        yield "flash_attn", lambda v=v: estimate("llama-3-8b", quant="q4_k_m", engine="llama.cpp", flash_attn=v)
        yield "cap_sliding", lambda v=v: estimate("llama-3-8b", cap_sliding=v)


CASES = list(_cases())


@pytest.mark.parametrize("field,call", CASES, ids=[f"{i}-{f}" for i, (f, _) in enumerate(CASES)])
def test_bad_argument_is_a_planner_error_naming_it(field, call):
    with pytest.raises(PlannerError) as info:
        call()
    message = str(info.value)
    assert "\n" not in message and len(message) < 400
    assert field in message, message


def test_every_field_at_its_limit_is_refused_not_an_overflow():
    """The largest architecture and workload the limits allow: a WorkloadError naming context and batch (terms of
    the formulas that come back as Python ints must not reach numpy as int64)."""
    from planner import ModelSpec, WorkloadError
    from planner import limits as L

    spec = ModelSpec(name="limits", source="test", model_type="llama", n_layers=L.MAX_LAYERS, d_model=L.MAX_D_MODEL,
                     n_heads=1024, n_kv_heads=1024, head_dim=128, d_ff=L.MAX_D_FF, vocab_size=L.MAX_VOCAB,
                     max_context=L.MAX_CONTEXT, tie_embeddings=False)
    with pytest.raises(WorkloadError, match="context 134,217,728 × batch 1,048,576 needs about"):
        estimate(spec, context=L.MAX_CONTEXT, batch=L.MAX_BATCH)
    assert estimate(spec, context=L.MAX_CONTEXT).total_bytes > 2**55  # one sequence is still answered (int64)


def test_a_hub_config_json_too_large_is_refused_before_it_is_downloaded(monkeypatch):
    """planner.profiles.from_hub asks the file's size first (huggingface_hub stood in by a fake module)."""
    import sys
    import types
    from pathlib import Path

    from planner import ConfigImportError
    from planner.profiles import from_hub

    fixture = Path(__file__).parent / "fixtures" / "configs" / "TinyLlama__TinyLlama-1.1B-Chat-v1.0.json"
    downloads = []
    hub = types.ModuleType("huggingface_hub")
    hub.hf_hub_url = lambda repo, name: f"https://huggingface.co/{repo}/resolve/main/{name}"
    sizes = {"evil/huge": 11 * 2**20, "org/tiny": fixture.stat().st_size}
    hub.get_hf_file_metadata = lambda url: types.SimpleNamespace(size=sizes[url.split("/")[3] + "/"
                                                                             + url.split("/")[4]])
    hub.hf_hub_download = lambda repo, name: downloads.append(repo) or str(fixture)
    monkeypatch.setitem(sys.modules, "huggingface_hub", hub)
    with pytest.raises(ConfigImportError, match="11,534,336 bytes, more than the 10 MiB"):
        from_hub("evil/huge")
    assert downloads == []  # refused on its size alone
    assert from_hub("org/tiny").n_layers == 22 and downloads == ["org/tiny"]


def test_fit_and_custom_gpu_name_the_field_of_a_bad_value():
    """fit() checks its context and batch and names an option it lacks; custom_gpu() takes whole bytes only, naming
    the field (a string, inf, 16.5 or True is no amount of memory)."""
    import planner
    from planner.gpus import custom_gpu

    with pytest.raises(WorkloadError, match="context must be an integer ≥ 1, got '8K'"):
        planner.fit("llama-3.1-8b", context="8K")
    with pytest.raises(WorkloadError, match="fit\\(\\) has no option 'gpu'; did you mean gpus"):
        planner.fit("llama-3.1-8b", gpu="rtx-4090")
    for bad in ("16GiB", float("inf"), 16.5, True, -1):
        with pytest.raises(WorkloadError, match="gpu memory_bytes must be"):
            custom_gpu(memory_bytes=bad, bandwidth_bytes_per_s=1e12)
    with pytest.raises(WorkloadError, match="gpu bandwidth_bytes_per_s must be"):
        custom_gpu(memory_bytes=16 * 2**30, bandwidth_bytes_per_s=float("nan"))
    assert custom_gpu(memory_bytes=16e9, bandwidth_bytes_per_s=1e12).memory_bytes == 16_000_000_000
