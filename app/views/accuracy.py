"""Accuracy: planner's numbers against measured and published runs, per component, with their errors."""

import json
from pathlib import Path

import pandas as pd
import streamlit as st
from charts import error_histogram
from controls import Setup, run

ROOT = Path(__file__).resolve().parents[2]
NAMES = {"what": "Quantity", "model": "Model", "device": "Device", "error_pct": "Error (%)", "quant": "Weights",
         "gpu": "GPU", "n_gpus": "GPUs", "engine": "Engine", "published": "Published", "planner": "planner",
         "source": "Source"}

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


def main(setup: Setup) -> None:
    st.title("Accuracy")
    st.caption("planner against measured and published runs; nothing here depends on the model picked.")

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
        st.dataframe(mem.round(1).rename(columns=NAMES), key="mem_table", hide_index=True)
    else:
        st.info("No measurement records in profiles/measurements/ yet: they come from `planner validate --record` "
                "runs. Weights are checked against published files in the tests: parameter counts exact, "
                "GGUF presets within 0.3 % of file sizes.")

    st.subheader("Speed: published batch-1 runs outside the calibration set")
    speed = _speed()
    cols = st.columns(2)
    for col, what in zip(cols, ("decode", "ttft"), strict=True):
        part = speed[speed["what"] == what]
        col.metric(f"{what}: median |error|", f"{part['error_pct'].abs().median():.1f} %", help=f"{len(part)} runs")
    st.plotly_chart(error_histogram(speed), key="speed_hist")
    st.dataframe(speed.round(2).rename(columns=NAMES), key="speed_table", hide_index=True)


run(set(), main)
