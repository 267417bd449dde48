"""Shared sidebar widgets. Their values live in the URL query string, so a view can be shared as a link."""

from __future__ import annotations

import json

import streamlit as st

from planner import ModelSpec, PlannerError, list_gpus, list_models, load_gpu, load_model
from planner.hf_import import spec_from_config
from planner.sweep import TABLE_QUANTS
from planner.units import to_unit

DEFAULT_MODEL = "microsoft/Phi-3-small-8k-instruct"
QUANT_CHOICES = ["checkpoint", *TABLE_QUANTS, "fp8", "int8", "int4", "nf4", "gptq-4bit", "awq", "exl2-4.65",
                 "iq4_xs", "q4_0", "fp16", "fp32"]
KV_CHOICES = ["default", "bf16", "fp16", "fp8", "int8", "int4", "q8_0", "q4_0", "fp32"]
# Custom architecture: query key, label, default (a Llama-3-8B-like model)
CUSTOM_FIELDS = [("c_layers", "layers", 32), ("c_hidden", "hidden size", 4096), ("c_heads", "query heads", 32),
                 ("c_kv", "KV heads", 8), ("c_head_dim", "head dim", 128), ("c_ff", "intermediate size", 14336),
                 ("c_vocab", "vocabulary", 128256), ("c_ctx", "max context", 8192)]


def query_choice(key: str, options: list, default, label: str, where=None):
    """A selectbox initialised from ?key=… and written back to it."""
    where = where or st.sidebar
    current = st.query_params.get(key, default)
    index = options.index(current) if current in options else options.index(default)
    value = where.selectbox(label, options, index=index, key=key)
    st.query_params[key] = value
    return value


def query_int(key: str, label: str, default: int, *, min_value: int = 1, max_value: int = 10**7, where=None) -> int:
    where = where or st.sidebar
    try:
        current = int(st.query_params.get(key, default))
    except ValueError:
        current = default
    value = int(where.number_input(label, min_value=min_value, max_value=max_value,
                                   value=min(max(current, min_value), max_value), key=key))
    st.query_params[key] = str(value)
    return value


def unit_picker() -> str:
    return query_choice("unit", ["GiB", "GB"], "GiB", "Unit (GiB = 2³⁰ B, GB = 10⁹ B)")


def _custom_spec() -> ModelSpec:
    v = {key: query_int(key, label, default) for key, label, default in CUSTOM_FIELDS}
    tied = st.sidebar.checkbox("tied embeddings", value=st.query_params.get("c_tied") == "1", key="c_tied")
    st.query_params["c_tied"] = "1" if tied else "0"
    return ModelSpec(name="custom", source="dashboard form", model_type="llama", n_layers=v["c_layers"],
                     d_model=v["c_hidden"], n_heads=v["c_heads"], n_kv_heads=v["c_kv"], head_dim=v["c_head_dim"],
                     d_ff=v["c_ff"], vocab_size=v["c_vocab"], max_context=v["c_ctx"], tie_embeddings=tied)


def _uploaded_spec() -> ModelSpec | None:
    up = st.sidebar.file_uploader("config.json", type=["json"], key="upload")
    if up is None:
        st.info("Upload a model's config.json (nothing in it is executed).")
        st.stop()
    try:
        raw = json.loads(up.getvalue().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise PlannerError(f"{up.name}: not valid JSON ({e})") from None
    name = raw.get("_name_or_path") if isinstance(raw, dict) else None
    return spec_from_config(raw, name=name or up.name, source=up.name)


def model_picker() -> ModelSpec:
    """A bundled profile, a custom architecture, or an uploaded config.json; errors are shown, not raised."""
    source = query_choice("source", ["bundled", "custom", "config.json", "local file"], "bundled", "Model from")
    try:
        if source == "custom":
            return _custom_spec()
        if source == "config.json":
            return _uploaded_spec()
        if source == "local file":
            path = st.sidebar.text_input("Path to a .gguf, a config.json or a model folder",
                                         value=st.query_params.get("path", ""), key="path")
            st.query_params["path"] = path
            if not path:
                st.info("Give the path of a GGUF file (only its header is read) or of a model folder.")
                st.stop()
            return load_model(path)
        return load_model(query_choice("model", list_models(), DEFAULT_MODEL, "Model"))
    except (PlannerError, ValueError) as e:
        st.error(f"Cannot use this model: {e}")
        st.stop()


def budget_picker(unit: str) -> tuple[str | None, float]:
    """A catalog GPU (its usable memory is the budget) or a custom budget in `unit`."""
    gpu = query_choice("gpu", ["custom", *list_gpus()], "rtx-4090", "GPU")
    if gpu == "custom":
        return None, float(st.sidebar.number_input(f"Memory budget ({unit})", min_value=0.0, value=24.0,
                                                   key="budget"))
    return gpu, float(to_unit(load_gpu(gpu).usable_memory_bytes, unit))


def quant_value(choice: str) -> str | None:
    return None if choice == "checkpoint" else choice


def kv_value(choice: str) -> str | None:
    return None if choice == "default" else choice


def context_picker(spec: ModelSpec, label: str = "Context (tokens)") -> int:
    from planner.sweep import table_contexts

    options = table_contexts(spec.max_context)
    try:
        current = int(st.query_params.get("context", min(4096, spec.max_context)))
    except ValueError:
        current = 4096
    value = current if current in options else min(options, key=lambda c: abs(c - current))
    chosen = st.sidebar.select_slider(label, options, value=value, key="context")
    st.query_params["context"] = str(chosen)
    return int(chosen)


def workload_picker(spec: ModelSpec, *, context: bool = True, batch: bool = True) -> dict:
    """Quantization, KV dtype, context and batch from the sidebar, as estimate() keywords."""
    out = {"quant": quant_value(query_choice("quant", QUANT_CHOICES, "checkpoint", "Weights")),
           "kv_dtype": kv_value(query_choice("kv", KV_CHOICES, "default", "KV cache"))}
    if context:
        out["context"] = context_picker(spec)
    if batch:
        out["batch"] = query_int("batch", "Batch", 1, max_value=4096)
    return out
