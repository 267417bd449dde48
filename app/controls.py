"""The sidebar every view shares, in one order — model, GPU, weights, workload, engine, display — and the
Setup it resolves to. A view lists the controls it uses; the others are not drawn, the order never changes.
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import streamlit as st
from present import context_label, gpu_label, params_label
from pydantic import ValidationError
from safety import MAX_UPLOAD_BYTES, file_boundary, message, plain, public
from state import (
    CUSTOM_FIELDS,
    ENGINES,
    HUB_ID,
    KV_CHOICES,
    SOURCES,
    STATE,
    gpus,
    models,
    quants,
    set_value,
    show_notices,
    start,
    sync_url,
    widget,
)

from planner import PlannerError
from planner.limits import MAX_BATCH, MAX_BYTES, MAX_CONTEXT, MAX_GPUS, MAX_LAYERS

ALL = frozenset({"model", "gpu", "count", "weights", "kv", "context", "generated", "batch", "engine"})


@dataclass(frozen=True)
class Setup:
    """What every view computes from: the model, the workload, the GPU(s), the engine and the display."""

    spec: object  # planner.ModelSpec
    quant: str | None
    kv: str | None
    context: int
    generated: int
    batch: int
    gpu: str | None          # catalog id; None: a custom budget
    usable_bytes: int        # per GPU
    gpu_text: str            # "NVIDIA GeForce RTX 4090 · 24 GiB" or "a 24 GiB budget"
    n_gpus: int
    split: str               # tensor | pipeline
    engine: str | None
    engine_options: dict = field(default_factory=dict)
    unit: str = "GiB"
    reserve_pct: float = 5.0

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


@st.cache_resource(show_spinner=False)
def _bundled(name: str):
    from planner import load_model

    return load_model(name)


@st.cache_resource(show_spinner=False)
def _gpu(gpu_id: str):
    from planner import load_gpu

    return load_gpu(gpu_id)


@st.cache_resource(show_spinner=False)
def _from_params(text: str):
    from planner.approx import spec_from_params

    return spec_from_params(text)


@st.cache_resource(show_spinner="Fetching config.json from the Hugging Face Hub…", ttl=3600)
def _from_hub(repo_id: str):
    from planner.profiles import _from_hub

    return _from_hub(repo_id)


# --- resolving the state (no widgets: the numbers are computed and drawn before the sidebar) --------------

def _spec(state: dict):
    source = state["source"]
    if source == "Hugging Face id":
        return _hub_spec(state["hub"].strip())
    if source == "parameter count":
        return _from_params(state["params"])
    if source == "custom":
        return _custom_spec(state)
    if source == "config.json":
        return _uploaded()
    if source == "local file":
        return _local(state["path"])
    return _bundled(state["model"])


# The form's words for the spec's fields, so an error reads as the form does ("query heads", not "n_heads").
FORM_WORDS = {"n_layers": "layers", "d_model": "hidden size", "n_heads": "query heads", "n_kv_heads": "KV heads",
              "head_dim": "head dim", "d_ff": "intermediate size", "vocab_size": "vocabulary",
              "max_context": "max context", "tie_embeddings": "tied embeddings"}
_FORM_WORD = re.compile(r"\b(" + "|".join(FORM_WORDS) + r")\b")


def _custom_spec(state: dict):
    from planner import ModelSpec

    v = state
    try:
        return ModelSpec(name="custom", source="dashboard form", model_type="llama", n_layers=v["c_layers"],
                         d_model=v["c_hidden"], n_heads=v["c_heads"], n_kv_heads=v["c_kv"], head_dim=v["c_head_dim"],
                         d_ff=v["c_ff"], vocab_size=v["c_vocab"], max_context=v["c_ctx"], tie_embeddings=v["c_tied"])
    except (PlannerError, ValidationError) as e:
        raise PlannerError(_FORM_WORD.sub(lambda m: FORM_WORDS[m[1]], message(e))) from None


def _sources() -> list[str]:
    from hosting import local_paths_allowed

    return SOURCES if local_paths_allowed() else SOURCES[:-1]


def _hub_spec(repo: str):
    if not repo:
        st.info("Type a Hugging Face id such as Qwen/Qwen3-8B in the sidebar: its config.json is read, no weights.")
        stop()
    if not HUB_ID.fullmatch(repo):
        raise PlannerError(f"Hugging Face id {repo[:100]!r} is not of the form org/name")
    if repo.lower() in {m.lower() for m in models()}:
        return _bundled(next(m for m in models() if m.lower() == repo.lower()))
    if importlib.util.find_spec("huggingface_hub") is None:
        raise PlannerError(f"{repo} is not bundled, and this server cannot reach the Hub "
                           "(install planner[hub] to fetch config.json files)")
    spec = _from_hub(repo)
    if spec is None:
        raise PlannerError(f"could not fetch {repo}'s config.json from the Hub: offline, gated or not found")
    return spec


def _uploaded():
    """The config.json uploaded in this session (kept across views; not part of a link)."""
    from planner.hf_import import parse_json, spec_from_config

    up = st.session_state.get("upload")
    if up is not None and up.file_id != st.session_state.get("upload_id"):
        st.session_state["upload_id"], st.session_state["upload_spec"] = up.file_id, None
        if up.size > MAX_UPLOAD_BYTES:
            raise PlannerError(f"{up.name}: {up.size:,} bytes is more than the {MAX_UPLOAD_BYTES // 2**20} MiB "
                               "a config.json may have")
        with file_boundary():
            try:
                text = up.getvalue().decode("utf-8")
            except UnicodeDecodeError:
                raise PlannerError(f"{up.name}: not UTF-8 text") from None
            raw = parse_json(text, up.name)  # NaN, Infinity and nesting too deep are refused, as for files
            name = raw.get("_name_or_path") if isinstance(raw, dict) else None
            st.session_state["upload_spec"] = spec_from_config(raw, name=str(name or up.name), source=up.name)
    spec = st.session_state.get("upload_spec")
    if spec is None:
        st.info("Upload a model's config.json in the sidebar (nothing in it is executed). It stays for this "
                "session, on every view, but is not part of a shared link.")
        stop()
    return spec


def _local(path: str):
    from pathlib import Path

    from planner import load_model

    if not path:
        st.info("Give the path of a GGUF file (only its header is read) or of a model folder in the sidebar.")
        stop()
    with file_boundary():
        if not Path(path).expanduser().exists():  # a name is no path: never a Hub download from here
            raise PlannerError(f"{path}: no such file or folder")
        return load_model(Path(path).expanduser())


def _gpu_text(state: dict, unit: str) -> tuple[str | None, int, str]:
    if state["gpu"] == "custom":
        return None, int(state["budget"] * 2**30), f"a {state['budget']:g} GiB budget"
    g = _gpu(state["gpu"])
    return state["gpu"], g.usable_memory_bytes, gpu_label(g.name, g.memory_marketed_bytes, unit)


def _engine_options(state: dict) -> dict:
    engine = state["engine"]
    if engine == "vllm":
        options = {"gpu_memory_utilization": state["gmu"], "max_model_len": state["max_model_len"],
                   "max_num_seqs": state["max_num_seqs"]}
    elif engine == "llama.cpp":
        fa = state["flash_attn"]
        options = {"n_ubatch": state["n_ubatch"], "flash_attn": None if fa == "default" else fa == "on",
                   "n_gpu_layers": state["ngl"], "n_parallel": state["n_parallel"]}
    else:
        options = {}
    return {k: v for k, v in options.items() if v is not None}


_USES = "planner_uses"


def begin(uses=ALL) -> Setup:
    """The view's Setup from the shared state. The view draws its numbers, then calls finish() (in a finally:
    the sidebar is drawn last, so the first number reaches the screen first, and even after an error)."""
    state = start()
    st.session_state[_USES] = frozenset(uses)
    show_notices()
    sync_url()
    uses = frozenset(uses)
    try:
        spec = _spec(state) if "model" in uses else _bundled(state["model"])
    except (PlannerError, ValidationError) as e:
        st.error(plain(f"Cannot use this model: {message(e)}"))
        stop()
    st.session_state["planner_spec"] = spec
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
                 engine_options=_engine_options(state) if engine else {}, unit=unit,
                 reserve_pct=float(state["reserve"]))


class _Stopped(Exception):
    """Raised by stop(): the view ends here; finish() still draws the sidebar, then the run stops."""


def stop() -> None:
    raise _Stopped


def run(uses, body: Callable[[Setup], None]) -> None:
    """Run a view: `body(setup)` draws its numbers; the sidebar is drawn after it, whatever happens (an error,
    stop()), so the first number reaches the screen before the controls and the controls are always there."""
    try:
        body(begin(uses))
    except _Stopped:
        pass
    finally:
        finish()


# --- the sidebar ----------------------------------------------------------------------------------------------

def finish() -> None:
    """Draw the sidebar of the current view (its controls, in the one order every view shares)."""
    state, uses = st.session_state[STATE], st.session_state.get(_USES, ALL)
    spec = st.session_state.get("planner_spec")
    if "model" in uses:
        _model_controls(state)
    if "gpu" in uses:
        _gpu_controls(state, uses)
    if "weights" in uses:
        widget("selectbox", "quant", "Weights", options=["checkpoint", *quants()],
               format_func=lambda q: "the checkpoint's own" if q == "checkpoint" else q)
    if "kv" in uses:
        widget("selectbox", "kv", "KV cache", options=KV_CHOICES,
               format_func=lambda k: "default for the weights" if k == "default" else k)
    if "context" in uses:
        _context_controls(spec)
    if "generated" in uses:
        widget("number_input", "generated", "of which generated tokens", min_value=0, max_value=MAX_CONTEXT,
               step=128, help="The prompt is the rest: it sets time to first token.")
    if "batch" in uses:
        widget("number_input", "batch", "Concurrent requests", min_value=1, max_value=MAX_BATCH, step=1)
    if "engine" in uses:
        _engine_controls(state, spec)
    display = st.sidebar.expander("Display")
    widget("selectbox", "unit", "Unit", where=display, options=["GiB", "GB"],
           format_func=lambda u: {"GiB": "GiB (2³⁰ bytes)", "GB": "GB (10⁹ bytes)"}[u])
    widget("number_input", "reserve", "Reserve (% of usable memory): less free is 'tight'", where=display,
           min_value=0.0, max_value=50.0, step=1.0)


def _model_controls(state: dict) -> None:
    source = widget("selectbox", "source", "Model from", options=_sources())
    if source == "Hugging Face id":
        widget("text_input", "hub", "Hugging Face id (org/name)", max_chars=200, placeholder="Qwen/Qwen3-8B")
    elif source == "parameter count":
        widget("text_input", "params", "Parameters (e.g. 7B, 70B, 1.5T)", max_chars=40)
        spec = st.session_state.get("planner_spec")
        if spec is not None and state["source"] == "parameter count":
            st.sidebar.caption(plain(f"Approximate: {spec.source}."))
    elif source == "custom":
        for key, label, _, top in CUSTOM_FIELDS:
            widget("number_input", key, label, min_value=1, max_value=top, step=1)
        widget("checkbox", "c_tied", "tied embeddings")
    elif source == "config.json":
        st.sidebar.file_uploader("config.json", type=["json"], key="upload")
        if (spec := st.session_state.get("upload_spec")) is not None:
            st.sidebar.caption(plain(f"Using the uploaded {spec.source}."))
    elif source == "local file":
        widget("text_input", "path", "Path to a .gguf, a config.json or a model folder", max_chars=1000)
    else:
        widget("selectbox", "model", "Model", options=models())


def _gpu_controls(state: dict, uses) -> None:
    unit = state["unit"]

    def label(g: str) -> str:
        if g == "custom":
            return "Custom memory budget"
        spec = _gpu(g)
        return gpu_label(spec.name, spec.memory_marketed_bytes, unit)

    gpu = widget("selectbox", "gpu", "GPU", options=["custom", *gpus()], format_func=label)
    if gpu == "custom":
        widget("number_input", "budget", "Memory budget per GPU (GiB = 2³⁰ B)", min_value=0.001,
               max_value=MAX_BYTES / 2**30, step=1.0)
    if "count" in uses:
        cols = st.sidebar.columns(2)
        n = widget("number_input", "n_gpus", "GPUs", where=cols[0], min_value=1, max_value=MAX_GPUS, step=1)
        widget("selectbox", "split", "Split", where=cols[1], options=["tensor", "pipeline"], disabled=n == 1,
               help="Tensor parallel splits every matrix; pipeline parallel the layers.")


def _context_controls(spec) -> None:
    widget("number_input", "context", "Context (tokens per request)", min_value=1, max_value=MAX_CONTEXT, step=1024,
           help="Prompt plus generated tokens. Type any value, or pick a preset below.")
    top = spec.max_context if spec is not None else 131072
    presets = [c for c in (1024 * 2**i for i in range(12)) if c < top] + [top]
    labels = {context_label(c) if c != top else f"max {context_label(c)}": c for c in presets}
    st.sidebar.pills("Context presets", list(labels), key="context_preset", label_visibility="collapsed",
                     on_change=_preset, args=(labels,))


def _preset(labels: dict[str, int]) -> None:
    pick = st.session_state.get("context_preset")
    if pick is not None:
        set_value("context", labels[pick])
        st.session_state["context_preset"] = None


def _engine_controls(state: dict, spec) -> None:
    engine = widget("selectbox", "engine", "Engine", options=ENGINES,
                    format_func=lambda e: {"analytic": "analytic (no engine rules)", "vllm": "vLLM",
                                           "llama.cpp": "llama.cpp", "transformers": "transformers"}[e])
    if engine == "analytic":
        return
    from planner.engines import llamacpp, transformers, vllm

    module = {"vllm": vllm, "llama.cpp": llamacpp, "transformers": transformers}[engine]
    st.sidebar.caption(plain(f"Rules of {module.__doc__.splitlines()[0].rstrip('.')}"))
    box = st.sidebar.expander(f"{engine} settings (empty: the engine's default)")
    max_context = spec.max_context if spec is not None else MAX_CONTEXT
    if engine == "vllm":
        widget("number_input", "gmu", "gpu_memory_utilization", where=box, min_value=0.01, max_value=1.0,
               value=None, placeholder="0.9")
        widget("number_input", "max_model_len", "max_model_len", where=box, min_value=1, max_value=MAX_CONTEXT,
               value=None, placeholder=f"{max_context} (the model's)")
        widget("number_input", "max_num_seqs", "max_num_seqs", where=box, min_value=1, max_value=MAX_BATCH,
               value=None, placeholder="256")
    elif engine == "llama.cpp":
        widget("number_input", "n_ubatch", "n_ubatch", where=box, min_value=1, max_value=MAX_CONTEXT, value=None,
               placeholder="512")
        widget("selectbox", "flash_attn", "flash attention", where=box, options=["default", "on", "off"])
        widget("number_input", "ngl", "GPU layers (-ngl; the rest in CPU RAM)", where=box, min_value=0,
               max_value=MAX_LAYERS + 1, value=None, placeholder="all")
        widget("number_input", "n_parallel", "parallel slots", where=box, min_value=1, max_value=256, value=None,
               placeholder="the concurrent requests")
