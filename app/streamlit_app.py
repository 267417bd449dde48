"""planner dashboard: `streamlit run app/streamlit_app.py`.

Every view runs inside safety.guarded(): an input error (PlannerError) shows its message, any other
exception one line naming its type, never a traceback or a server path.
"""

import streamlit as st
from safety import guarded

st.set_page_config(page_title="planner — LLM memory and speed", layout="wide")
page = st.navigation([
    st.Page("views/estimate.py", title="Estimate", default=True),
    st.Page("views/table.py", title="Quantization × context"),
    st.Page("views/sweeps.py", title="Sweeps"),
    st.Page("views/compare.py", title="Compare"),
    st.Page("views/which_gpu.py", title="Which GPU"),
    st.Page("views/accuracy.py", title="Accuracy"),
])
with guarded():
    page.run()
