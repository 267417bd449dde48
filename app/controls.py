"""What every view computes from: the Setup resolved from the shared state, and run(), which draws a view's
numbers first and the shared sidebar (sidebar.py) after them, whatever happens in between."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import streamlit as st
from models import bundled_spec, gpu_spec, model_spec
from present import context_label, gpu_label, params_label
from pydantic import ValidationError
from safety import Stopped, message, plain, public, stop
from sidebar import ALL, USES, draw
from state import show_notices, start, sync_url

from planner import PlannerError


@dataclass(frozen=True)
class Setup:
    """What every view computes from: the model, the workload, the GPU(s), the engine and the display."""

    spec: object  # planner.ModelSpec
    quant: str | None
    kv: str | None
    context: int
    generated: int
    batch: int
    gpu: object              # catalog id, a custom planner.gpus.GPU, or None: a memory budget (no speed)
    usable_bytes: int        # per GPU
    gpu_text: str            # "NVIDIA GeForce RTX 4090 · 24 GiB" or "a 24 GiB budget"
    n_gpus: int
    split: str               # tensor | pipeline
    engine: str | None
    engine_options: dict = field(default_factory=dict)
    unit: str = "GiB"
    reserve_pct: float = 5.0
    chunk: int | None = None                 # the analytic engine's prefill chunk (None: the whole prompt)
    efficiency: float | None = None          # your own decode share of the bandwidth (None: the table's)
    prefill_efficiency: float | None = None  # and prefill share of the peak FLOP/s

    @property
    def prompt(self) -> int:
        return self.context - self.generated

    def headline(self, *, context: bool = True, gpu: bool = True) -> str:
        """'Phi-3-small-8k-instruct (7.39 B) · q4_k_m · 8K tokens × 1 · RTX 4090 · 24 GiB' — named on every view."""
        parts = [f"{self.spec.name} ({params_label(self.spec.param_count)})", self.quant or "checkpoint weights"]
        if context:
            parts.append(f"{context_label(self.context)} tokens × {self.batch:,}")
        if gpu:
            parts.append((f"{self.n_gpus} × " if self.n_gpus > 1 else "") + self.gpu_text)
        return " · ".join(parts)


def _gpu_text(state: dict, unit: str) -> tuple[str | None, int, str]:
    if state["gpu"] == "custom":
        if state["custom_bw"] is not None:  # a GPU of the user's own figures: memory, bandwidth, bf16 TFLOP/s
            from planner.gpus import custom_gpu

            g = custom_gpu(memory_bytes=int(state["budget"] * 2**30), bandwidth_bytes_per_s=state["custom_bw"] * 1e9,
                           tflops_bf16=state["custom_tflops"])
            return g, g.usable_memory_bytes, (f"a custom GPU · {_amount(state['budget'])} GiB · "
                                              f"{_amount(state['custom_bw'])} GB/s")
        return None, int(state["budget"] * 2**30), f"a {_amount(state['budget'])} GiB budget"
    g = gpu_spec(state["gpu"])
    if state["gpu_mem"] is not None:  # the catalog GPU built with another memory size
        from planner.gpus import with_memory

        g = with_memory(g, round(state["gpu_mem"] * 2**30))
        return g, g.usable_memory_bytes, gpu_label(g.name, g.memory_marketed_bytes, unit)
    return state["gpu"], g.usable_memory_bytes, gpu_label(g.name, g.memory_marketed_bytes, unit)


def _amount(x: float) -> str:
    """24.0 → '24', 1.5e9 → '1,500,000,000', 0.0015 → '0.0015': never an exponent."""
    return f"{x:,.2f}".rstrip("0").rstrip(".") if x >= 0.01 else f"{x:.6f}".rstrip("0")


def _mm_limits(text: str, spec) -> dict | None:
    """The --limit-mm-per-prompt field as vLLM's mapping; None where it is empty or the model has no images."""
    if not text.strip() or spec is None or spec.vision is None:
        return None
    from planner.cli.args import mm_counts

    try:
        return mm_counts(text)
    except Exception as e:  # the widget took a malformed value: said as the engine would say it
        raise PlannerError(f"--limit-mm-per-prompt {text!r}: {e}") from None


def _engine_options(state: dict, n_gpus: int = 1, split: str = "tensor", spec=None) -> dict:
    engine = state["engine"]
    if engine == "vllm":
        options = {"gpu_memory_utilization": state["gmu"], "max_model_len": state["max_model_len"],
                   "max_num_seqs": state["max_num_seqs"], "max_num_batched_tokens": state["max_batched"],
                   "enable_chunked_prefill": (None if state["chunked_prefill"] == "default"
                                              else state["chunked_prefill"] == "on"),
                   "entrypoint": None if state["vllm_entry"] == "serve" else state["vllm_entry"],
                   "engine_version": None if state["vllm_version"] == "current" else state["vllm_version"],
                   "flashinfer_sampler": True if state["fi_sampler"] else None,
                   "enforce_eager": True if state["eager"] else None,
                   "enable_prefix_caching": (None if state["prefix_cache"] == "default"
                                             else state["prefix_cache"] == "on"),
                   "custom_all_reduce": None if state["custom_ar"] == "default" else state["custom_ar"] == "on",
                   "v1_engine": None if state["vllm_core"] == "default" else state["vllm_core"] == "v1",
                   "mxfp4_backend": None if state["mxfp4_kernel"] == "default" else state["mxfp4_kernel"],
                   "limit_mm_per_prompt": _mm_limits(state["mm_limits"], spec),
                   "cuda_graph_memory_bytes": None if state["cg_gib"] is None else round(state["cg_gib"] * 2**30),
                   "block_size": state["block_size"]}
        if n_gpus > 1:
            options["tensor_parallel_size" if split == "tensor" else "pipeline_parallel_size"] = n_gpus
        options["data_parallel_size"] = state["vllm_dp"]
        if state["vllm_ep"] and spec is not None and spec.moe is not None:  # the box a dense model does not draw
            options["enable_expert_parallel"] = True
        elif state["vllm_ep"] and spec is not None:
            st.caption(plain(f"Expert parallel (in the link) places a mixture of experts' experts; {spec.name} is "
                             "dense, so it is left out."))
    elif engine == "ollama":  # the concurrent requests are its slots (OLLAMA_NUM_PARALLEL); num_ctx the context
        fa = state["flash_attn"]
        # one request: OLLAMA_NUM_PARALLEL unset, so a release before 0.10 picks its own slots (4 or 2, else 1)
        options = {"num_parallel": state["batch"] if state["batch"] > 1 else None,
                   "flash_attn": None if fa == "default" else fa == "on",
                   "engine_version": None if state["ollama_version"] == "current" else state["ollama_version"],
                   "num_gpu": state["ngl"], "num_batch": state["n_ubatch"]}
    elif engine == "sglang":
        options = {"mem_fraction_static": state["mfs"], "tp_size": n_gpus if n_gpus > 1 and split == "tensor" else None,
                   "context_length": state["max_model_len"], "max_running_requests": state["max_num_seqs"],
                   "cpu_offload_gb": state["cpu_offload"], "chunked_prefill_size": state["sg_chunk"]}
    elif engine == "llama.cpp":
        fa = state["flash_attn"]
        options = {"n_ubatch": state["n_ubatch"], "n_batch": state["n_batch"],
                   "fit": None if state["cpp_fit"] == "default" else state["cpp_fit"] == "on",
                   "kv_unified": True if state["kv_unified"] else None,
                   "flash_attn": None if fa == "default" else fa == "on",
                   "n_gpu_layers": state["ngl"], "n_cpu_moe": state["n_cpu_moe"], "n_parallel": state["n_parallel"],
                   "override_tensor": state["override_tensor"] or None,
                   "op_offload": False if state["no_op_offload"] else None,
                   "program": None if state["program"] == "llama-server" else state["program"],
                   "mmproj": True if state["mmproj"] and spec is not None and spec.vision is not None else None,
                   # boxes a model without an image encoder, or without MLA, does not draw
                   "mla_gguf": False if state["legacy_mla"] and spec is not None and spec.mla is not None else None,
                   "engine_version": None if state["llamacpp_version"] == "current" else state["llamacpp_version"]}
    elif engine == "transformers":
        options = {"cache": "static", "max_cache_len": state["max_cache_len"]} if state["hf_cache"] == "static" else {}
        if state["hf_attention"] == "eager":
            options["attention"] = "eager"
    else:
        options = {}
    if engine in ("llama.cpp", "ollama") and state["host_gib"] is not None:  # system RAM for what they leave there
        options["host_memory_bytes"] = round(state["host_gib"] * 2**30)
    if engine in ("llama.cpp", "ollama") and state["host_gbps"] is not None:  # and the speed decode reads it at
        options["host_bandwidth_bytes_per_s"] = state["host_gbps"] * 1e9
    return {k: v for k, v in options.items() if v is not None}


def model_context(setup: Setup) -> int:
    """The context a view computes at: the chosen one, or, where the model takes fewer tokens, its maximum, said
    above the view (never silently)."""
    most = setup.spec.max_context
    if setup.context <= most:
        return setup.context
    st.warning(f"{setup.spec.name} takes at most {most:,} tokens: this view is shown at {most:,}, not the chosen "
               f"{setup.context:,}.")
    return most


def begin(uses=ALL) -> Setup:
    """The view's Setup from the shared state (no widgets: run() draws the sidebar after the view's numbers)."""
    state = start()
    st.session_state[USES] = frozenset(uses)
    show_notices()
    sync_url()
    uses = frozenset(uses)
    try:
        spec = model_spec(state) if "model" in uses else bundled_spec(state["model"])
    except (PlannerError, ValidationError) as e:
        st.error(plain(f"Cannot use this model: {message(e)}"))
        stop()
    if state["max_context"] is not None and "context" in uses and state["max_context"] > spec.max_context:
        spec = spec.model_copy(update={"max_context": int(state["max_context"])})  # rope scaling: only beyond it
    st.session_state["planner_spec"] = spec
    _left_out(state, uses)
    unit = state["unit"]
    gpu, usable, gpu_text = _gpu_text(state, unit) if "gpu" in uses else (None, 0, "")
    n, split = (state["n_gpus"], state["split"]) if "count" in uses else (1, "tensor")
    context = state["context"]
    generated = state["generated"] if "generated" in uses else 0
    if generated >= context:
        st.error(plain(f"Generated tokens ({generated:,}) must be fewer than the context ({context:,}): the "
                       "prompt is the rest."))
        stop()
    engine = state["engine"] if "engine" in uses and state["engine"] != "analytic" else None
    quant, kv = state["quant"] if "weights" in uses else "checkpoint", state["kv"] if "kv" in uses else "default"
    return Setup(spec=spec, quant=None if quant == "checkpoint" else quant, kv=None if kv == "default" else kv,
                 context=int(context), generated=int(generated),
                 batch=int(state["batch"]) if "batch" in uses else 1, gpu=gpu, usable_bytes=usable,
                 gpu_text=public(gpu_text), n_gpus=int(n), split=split, engine=engine,
                 engine_options=_engine_options(state, int(n), split, spec) if engine else {},
                 chunk=int(state["chunk"]) if "engine" in uses and engine is None and state["chunk"] else None,
                 unit=unit, reserve_pct=float(state["reserve"]),
                 efficiency=state["own_eff"] if "speed" in uses else None,
                 prefill_efficiency=state["own_pre"] if "speed" in uses else None)


def _left_out(state: dict, uses: frozenset) -> None:
    """Under a view that plans without them, the shared settings chosen elsewhere it leaves out (never silently)."""
    if "gpu" not in uses and "model" not in uses:  # a view that plans nothing (Accuracy, Check a log)
        return
    out = ([f"one GPU, not the {state['n_gpus']} chosen"] if "count" not in uses and state["n_gpus"] > 1 else []) + (
        [f"the plain model, not the {state['engine']} engine chosen"] if "engine" not in uses
        and state["engine"] != "analytic" else [])
    if out:
        st.caption(plain(f"This view plans {' and '.join(out)}: those apply on the Estimate page."))


def run(uses, body: Callable[[Setup], None]) -> None:
    """Run a view: `body(setup)` draws its numbers; the sidebar is drawn after it, whatever happens (an error,
    stop()), so the first number reaches the screen before the controls and the controls are always there."""
    try:
        body(begin(uses))
    except Stopped:
        pass
    finally:
        draw()


