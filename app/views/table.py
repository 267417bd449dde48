"""Quantization × context: total memory, coloured by whether it fits the budget; CSV download."""

import streamlit as st
from charts import fit_heatmap
from state import budget_picker, model_picker, unit_picker

from planner import PlannerError, table

st.title("Quantization × context")
model = model_picker()
unit = unit_picker()
batch = st.sidebar.number_input("Batch", min_value=1, max_value=1024, value=1, key="batch")
gpu, budget = budget_picker(unit)

try:
    t = table(model, unit=unit, batch=int(batch))
except PlannerError as err:
    st.error(str(err))
    st.stop()

st.plotly_chart(fit_heatmap(t, unit=unit, budget=budget), key="heatmap")
st.dataframe(t.style.format("{:.2f}"), key="table")
st.download_button("Download CSV", t.to_csv().encode(), file_name=f"{model.split('/')[-1]}-vram.csv",
                   mime="text/csv", key="csv")
