"""Quantization × context: total memory, coloured by whether it fits the GPU; CSV download."""

import streamlit as st
from charts import fit_heatmap
from safety import plain, public
from state import budget_picker, kv_value, model_picker, query_choice, query_int, unit_picker

from planner import table
from planner.sweep import TABLE_QUANTS

st.title("Quantization × context")
spec = model_picker()
unit = unit_picker()
gpu, budget = budget_picker(unit)
batch = query_int("batch", "Batch", 1, max_value=4096)
kv = kv_value(query_choice("kv", ["default", "bf16", "fp8", "q8_0", "q4_0"], "default", "KV cache"))


@st.cache_data(show_spinner=False)
def _table(spec, unit, batch, kv):
    return table(spec, quants=TABLE_QUANTS, unit=unit, batch=batch, kv_dtype=kv)


t = _table(spec, unit, batch, kv)

st.caption(plain(f"Total memory ({unit}) of {public(spec.name)}, batch {batch}; green fits {gpu or 'the budget'} "
                 f"({budget:.2f} {unit} usable), red does not."))
st.plotly_chart(fit_heatmap(t, unit=unit, budget=budget), key="heatmap")
st.dataframe(t.style.format("{:.2f}"), key="table")
st.download_button("Download CSV", t.to_csv().encode(), file_name=f"{spec.name.split('/')[-1]}-memory.csv",
                   mime="text/csv", key="csv")
