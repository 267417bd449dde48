"""planner dashboard: `streamlit run app/streamlit_app.py`.

One state for every view (app/state.py), one sidebar in one order (app/controls.py). Every view runs inside
safety.guarded(): an input error (PlannerError) shows its message, any other exception one line naming its
type, never a traceback or a server path.
"""

import time

import streamlit as st
from safety import guarded
from state import freeze_once, start

started = time.perf_counter()

st.set_page_config(page_title="planner — LLM memory and speed", layout="wide", menu_items={})
page = st.navigation([
    st.Page("views/estimate.py", title="Estimate", default=True),
    st.Page("views/table.py", title="Quantization × context", url_path="table"),
    st.Page("views/sweeps.py", title="Sweeps", url_path="sweeps"),
    st.Page("views/compare.py", title="Compare models", url_path="compare"),
    st.Page("views/which_gpu.py", title="Which GPU", url_path="which_gpu"),
    st.Page("views/finetune.py", title="Fine-tuning", url_path="finetune"),
    st.Page("views/accuracy.py", title="Accuracy", url_path="accuracy"),
    st.Page("views/check_log.py", title="Check a log", url_path="check_log"),
], position="top")
start()
try:
    with guarded():
        page.run()
finally:  # the server time of this run, for benchmarks/app_latency.py
    st.session_state["planner_run_seconds"] = time.perf_counter() - started
    freeze_once()
