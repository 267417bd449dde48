"""Accuracy: planner's numbers against measured and published runs, per component, with their errors."""

import json
from pathlib import Path

import pandas as pd
import streamlit as st
from charts import error_histogram

ROOT = Path(__file__).resolve().parents[2]

st.title("Accuracy")

st.subheader("Memory: measurement records")
records = []
for path in sorted((ROOT / "profiles" / "measurements").glob("*.jsonl")):
    for line in path.read_text().splitlines():
        r = json.loads(line)
        for key in ("weights_bytes", "kv_cache_bytes", "activation_bytes", "total_bytes"):
            est, meas = r["estimated"].get(key), r["measured"].get(key)
            if est and meas:
                records.append(dict(what=key, model=r.get("model"), device=r.get("device"),
                                    error_pct=100 * (est / meas - 1)))
if records:
    mem = pd.DataFrame(records)
    st.plotly_chart(error_histogram(mem), key="mem_hist")
    st.dataframe(mem, key="mem_table")
else:
    st.info("No measurement records in profiles/measurements/ yet: they come from `planner validate` runs "
            "(issue #3). Weights are checked against published files in the tests: parameter counts exact, "
            "GGUF presets within 0.3 % of file sizes.")


@st.cache_data(show_spinner=False)
def _speed() -> pd.DataFrame:
    import sys

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from speed_accuracy import DATA, predict

    rows = []
    for line in DATA.read_text().splitlines():
        r = json.loads(line)
        for what, (pred, meas) in predict(r).items():
            rows.append(dict(what=what, model=r["model"].split("/")[-1], quant=r["quant"], gpu=r["gpu"],
                             n_gpus=r["n_gpus"], engine=r["engine"], published=meas, planner=pred,
                             error_pct=100 * (pred / meas - 1), source=r["source"]))
    return pd.DataFrame(rows)


st.subheader("Speed: published batch-1 runs outside the calibration set")
speed = _speed()
cols = st.columns(2)
for col, what in zip(cols, ("decode", "ttft"), strict=True):
    part = speed[speed["what"] == what]
    col.metric(f"{what}: median |error|", f"{part['error_pct'].abs().median():.1f} %", help=f"{len(part)} runs")
st.plotly_chart(error_histogram(speed), key="speed_hist")
st.dataframe(speed, key="speed_table")
