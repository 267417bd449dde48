"""Shared sidebar widgets. Their values live in the URL query string, so a view can be shared as a link.

A link is untrusted: each value read from it is checked against its widget's choices or bounds, and one
that fails is named in an error above the page, which then shows the widget's default instead.
"""

from __future__ import annotations

import inspect
from pathlib import Path

import streamlit as st
from pydantic import ValidationError
from safety import MAX_UPLOAD_BYTES, clip, file_boundary, message, plain

from planner import ModelSpec, PlannerError, list_gpus, list_models, load_gpu, load_model
from planner.errors import did_you_mean
from planner.hf_import import parse_json, spec_from_config
from planner.limits import (
    MAX_BYTES,
    MAX_CONTEXT,
    MAX_D_FF,
    MAX_D_MODEL,
    MAX_HEAD_DIM,
    MAX_HEADS,
    MAX_LAYERS,
    MAX_VOCAB,
)
from planner.sweep import TABLE_QUANTS
from planner.units import UNIT_BYTES, to_unit

DEFAULT_MODEL = "microsoft/Phi-3-small-8k-instruct"
QUANT_CHOICES = ["checkpoint", *TABLE_QUANTS, "fp8", "int8", "int4", "nf4", "gptq-4bit", "awq", "exl2-4.65",
                 "iq4_xs", "q4_0", "fp16", "fp32"]
KV_CHOICES = ["default", "bf16", "fp16", "fp8", "int8", "int4", "q8_0", "q4_0", "fp32"]
# Custom architecture: query key, label, default (a Llama-3-8B-like model), upper bound
CUSTOM_FIELDS = [("c_layers", "layers", 32, MAX_LAYERS), ("c_hidden", "hidden size", 4096, MAX_D_MODEL),
                 ("c_heads", "query heads", 32, MAX_HEADS), ("c_kv", "KV heads", 8, MAX_HEADS),
                 ("c_head_dim", "head dim", 128, MAX_HEAD_DIM), ("c_ff", "intermediate size", 14336, MAX_D_FF),
                 ("c_vocab", "vocabulary", 128256, MAX_VOCAB), ("c_ctx", "max context", 8192, MAX_CONTEXT)]
# st.file_uploader's own size limit (Streamlit ≥ 1.5x); the size is checked again after the upload
_UPLOAD_LIMIT = ({"max_upload_size": MAX_UPLOAD_BYTES // 2**20}
                 if "max_upload_size" in inspect.signature(st.file_uploader).parameters else {})


def link_error(key: str, raw: str, problem: str, default) -> None:
    """Tell the user that the link's value of `key` is not used, and why."""
    st.error(plain(f"Link parameter {key}={clip(raw)} {problem}; showing {default} instead."))


def query_choice(key: str, options: list, default, label: str, where=None):
    """A selectbox initialised from ?key=… and written back to it."""
    where = where or st.sidebar
    current = st.query_params.get(key, default)
    if current not in options:
        choices = ", ".join(map(str, options)) if len(options) <= 12 else f"the {len(options)} choices"
        hint = did_you_mean(current, map(str, options)) if len(current) <= 100 else ""
        link_error(key, current, f"is not one of {choices}{hint}", default)
        current = default
    value = where.selectbox(label, options, index=options.index(current), key=key)
    st.query_params[key] = value
    return value


def _link_number(key: str, default, min_value, max_value, *, whole: bool):
    """The link's value of `key` if it is a number within the bounds; else the default, with an error."""
    raw = st.query_params.get(key)
    if raw is None:
        return default
    try:
        if len(raw) > 40:  # parsing a 10⁵-digit integer alone takes seconds
            raise ValueError
        number = int(raw) if whole else float(raw)
        if number != number:  # NaN
            raise ValueError
    except ValueError:
        link_error(key, raw, f"is not a {'whole ' if whole else ''}number", default)
        return default
    if min_value <= number <= max_value:
        return number
    bound = f"above the maximum {_num(max_value)}" if number > max_value else f"below the minimum {_num(min_value)}"
    link_error(key, raw, f"is {bound}", default)
    return default


def _num(x) -> str:
    return str(x) if isinstance(x, int) else f"{x:.6g}"


def query_int(key: str, label: str, default: int, *, min_value: int = 1, max_value: int = 10**7, where=None) -> int:
    """A whole-number input initialised from ?key=… (refused with a message if outside the bounds)."""
    where = where or st.sidebar
    current = _link_number(key, default, min_value, max_value, whole=True)
    value = int(where.number_input(label, min_value=min_value, max_value=max_value, value=int(current), key=key))
    st.query_params[key] = str(value)
    return value


def query_float(key: str, label: str, default: float, *, min_value: float = 0.0, max_value: float,
                where=None) -> float:
    """A number input initialised from ?key=… (refused with a message if outside the bounds)."""
    where = where or st.sidebar
    current = _link_number(key, default, min_value, max_value, whole=False)
    value = float(where.number_input(label, min_value=min_value, max_value=max_value, value=float(current),
                                     key=key))
    st.query_params[key] = str(value)
    return value


def unit_picker() -> str:
    return query_choice("unit", ["GiB", "GB"], "GiB", "Unit (GiB = 2³⁰ B, GB = 10⁹ B)")


def _custom_spec() -> ModelSpec:
    v = {key: query_int(key, label, default, max_value=top) for key, label, default, top in CUSTOM_FIELDS}
    if (raw := st.query_params.get("c_tied", "0")) not in ("0", "1"):
        link_error("c_tied", raw, "is not 0 or 1", 0)
    tied = st.sidebar.checkbox("tied embeddings", value=raw == "1", key="c_tied")
    st.query_params["c_tied"] = "1" if tied else "0"
    return ModelSpec(name="custom", source="dashboard form", model_type="llama", n_layers=v["c_layers"],
                     d_model=v["c_hidden"], n_heads=v["c_heads"], n_kv_heads=v["c_kv"], head_dim=v["c_head_dim"],
                     d_ff=v["c_ff"], vocab_size=v["c_vocab"], max_context=v["c_ctx"], tie_embeddings=tied)


def _uploaded_spec() -> ModelSpec:
    up = st.sidebar.file_uploader("config.json", type=["json"], key="upload", **_UPLOAD_LIMIT)
    if up is None:
        st.info("Upload a model's config.json (nothing in it is executed).")
        st.stop()
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
        return spec_from_config(raw, name=str(name or up.name), source=up.name)


def _local_spec() -> ModelSpec:
    path = st.sidebar.text_input("Path to a .gguf, a config.json or a model folder",
                                 value=st.query_params.get("path", ""), key="path")
    st.query_params["path"] = path
    if not path:
        st.info("Give the path of a GGUF file (only its header is read) or of a model folder.")
        st.stop()
    with file_boundary():
        if not Path(path).expanduser().exists():  # a name is no path: never a Hub download from here
            raise PlannerError(f"{path}: no such file or folder")
        return load_model(Path(path).expanduser())


def model_picker() -> ModelSpec:
    """A bundled profile, a custom architecture, or an uploaded config.json; errors are shown, not raised."""
    source = query_choice("source", ["bundled", "custom", "config.json", "local file"], "bundled", "Model from")
    try:
        if source == "custom":
            return _custom_spec()
        if source == "config.json":
            return _uploaded_spec()
        if source == "local file":
            return _local_spec()
        return load_model(query_choice("model", list_models(), DEFAULT_MODEL, "Model"))
    except (PlannerError, ValidationError) as e:
        st.error(plain(f"Cannot use this model: {message(e)}"))
        st.stop()


def budget_picker(unit: str) -> tuple[str | None, float]:
    """A catalog GPU (its usable memory is the budget) or a custom budget in `unit`."""
    gpu = query_choice("gpu", ["custom", *list_gpus()], "rtx-4090", "GPU")
    if gpu == "custom":
        return None, query_float("budget", f"Memory budget ({unit})", 24.0, max_value=MAX_BYTES / UNIT_BYTES[unit])
    return gpu, float(to_unit(load_gpu(gpu).usable_memory_bytes, unit))


def quant_value(choice: str) -> str | None:
    return None if choice == "checkpoint" else choice


def kv_value(choice: str) -> str | None:
    return None if choice == "default" else choice


def context_picker(spec: ModelSpec, label: str = "Context (tokens)") -> int:
    from planner.sweep import table_contexts

    options = table_contexts(spec.max_context)
    current = _link_number("context", min(4096, spec.max_context), 1, MAX_CONTEXT, whole=True)
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
