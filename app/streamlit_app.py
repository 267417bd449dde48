"""planner dashboard: `streamlit run app/streamlit_app.py`."""

import streamlit as st

st.set_page_config(page_title="planner — LLM memory", layout="wide")
page = st.navigation([
    st.Page("views/estimate.py", title="Estimate", default=True),
    st.Page("views/table.py", title="Quantization × context"),
])
page.run()
