"""Shared widgets whose values live in the URL query string, so a view can be shared as a link."""

from __future__ import annotations

import streamlit as st

from planner import list_models


def query_choice(key: str, options: list, default, label: str):
    """A selectbox initialised from ?key=… and written back to it."""
    current = st.query_params.get(key, default)
    index = options.index(current) if current in options else options.index(default)
    value = st.sidebar.selectbox(label, options, index=index, key=key)
    st.query_params[key] = value
    return value


def model_picker() -> str:
    models = list_models()
    return query_choice("model", models, "microsoft/Phi-3-small-8k-instruct", "Model")


def budget_picker(unit: str) -> tuple[str | None, float]:
    """A catalog GPU (its usable memory is the budget) or a custom budget in `unit`."""
    from planner import list_gpus, load_gpu
    from planner.units import to_unit

    gpu = query_choice("gpu", ["custom", *list_gpus()], "rtx-4090", "GPU")
    if gpu == "custom":
        return None, st.sidebar.number_input(f"Memory budget ({unit})", min_value=0.0, value=24.0, key="budget")
    return gpu, float(to_unit(load_gpu(gpu).usable_memory_bytes, unit))


def unit_picker() -> str:
    return query_choice("unit", ["GiB", "GB"], "GiB", "Unit (GiB = 2³⁰ B, GB = 10⁹ B)")
