"""Accuracy: planner's numbers against measured and published runs, per component, with their errors."""

import json
from pathlib import Path

import pandas as pd
import streamlit as st
from charts import error_histogram
from controls import Setup, run

from planner.measure.records import engine_label

ROOT = Path(__file__).resolve().parents[2]
NAMES = {"half": "Half", "entry": "Efficiency entry",
         "what": "Quantity", "model": "Model", "device": "Device", "error_pct": "Error (%)", "quant": "Weights",
         "gpu": "GPU", "n_gpus": "GPUs", "engine": "Engine", "published": "Published", "planner": "planner",
         "source": "Source"}

@st.cache_data(show_spinner=False)
def _records() -> pd.DataFrame:
    """Every measured component of every record under profiles/measurements/, with planner's error."""
    rows = []
    for path in sorted((ROOT / "profiles" / "measurements").glob("*.jsonl")):
        for line in path.read_text().splitlines():
            r = json.loads(line)
            if r.get("engine") == "transformers+peft":  # a training step: planner's side is computed here
                rows += _training_rows(r)
                continue
            engine = engine_label(r)
            for key, meas in r.get("measured", {}).items():  # an out-of-memory outcome has no measurement
                est = r.get("estimated", {}).get(key)  # a record of another tool's own estimate has none
                if isinstance(meas, (int, float)) and meas and est is not None:
                    rows.append(dict(engine=engine, what=key.removesuffix("_bytes"),
                                     model=r.get("model"), device=r.get("device"), error_pct=100 * (est / meas - 1)))
    return pd.DataFrame(rows)


def _training_rows(r: dict) -> list[dict]:
    from planner.training.validate import compare, modelled

    if modelled(r) is not None:
        return []
    return [dict(engine="transformers+peft (training)", what=key.removesuffix("_bytes"), model=r["model"],
                 device=r.get("device"), error_pct=100 * err)
            for key, (_, meas, err, _) in compare(r).items() if meas]


@st.cache_data(show_spinner=False)
def _speed() -> pd.DataFrame:
    import sys

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from calibrate_speed import errors
    from speed_data import load_rows

    rows = load_rows()
    by_id = {id(r): r for r in rows}
    out = []
    for x in errors(rows):
        r = by_id[x["row"]]
        out.append(dict(half=x["half"], what=x["what"], model=r["model"].split("/")[-1], quant=r["quant"],
                        gpu=r["gpu"], n_gpus=r["n_gpus"], engine=x["runs_through"], published=x["published"],
                        planner=x["planner"], error_pct=100 * x["error"], entry=x["entry"], source=r["source"]))
    return pd.DataFrame(out)


@st.cache_data(show_spinner=False)
def _batches() -> pd.DataFrame:
    """Published runs at a fixed concurrency (benchmarks/batch_speed.py): planner's plain decode step and its steady
    stream against the per-request rate."""
    import sys

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from batch_speed import errors

    return pd.DataFrame([dict(model=x["row"]["model"].split("/")[-1], quant=x["row"]["quant"], gpu=x["row"]["gpu"],
                              n_gpus=x["row"]["n_gpus"], engine=x["row"]["engine"],
                              requests=x["row"]["concurrency"], published=x["row"]["decode_tokens_per_s"],
                              planner=x["planner"], error_pct=100 * x["error"],
                              stream=x.get("serving"), stream_error_pct=100 * x["serving_error"]
                              if "serving" in x else None, source=x["row"]["source"]) for x in errors()])


def main(setup: Setup) -> None:
    st.title("Accuracy")
    st.caption("planner against measured and published runs; nothing here depends on the model picked.")

    st.subheader("Memory: measured by the runtimes themselves")
    mem = _records()
    if len(mem):
        summary = mem.groupby(["engine", "what"], sort=False)["error_pct"].agg(
            records="size", median=lambda e: e.abs().median(), worst=lambda e: e.abs().max())
        shown = summary.assign(median=summary["median"].map("{:.2f}".format),
                               worst=summary["worst"].map("{:.2f}".format))  # st.table prints floats to 4 places
        st.table(shown.rename(columns={"records": "Records", "median": "Median |error| (%)",
                                       "worst": "Worst |error| (%)"}))
        st.caption("llama.cpp: llama-cpp-python loading a sparse GGUF of each architecture on the CPU "
                   "(scripts/measure_llamacpp.py); model, KV and output buffers are compared at the log's 0.01 MiB, "
                   "the compute buffer is ggml's allocator replayed on llama.cpp's graph; "
                   "docs/measured-llamacpp.md lists every run. transformers: its own model classes at full size "
                   "under fake tensors (scripts/measure_transformers.py), and the same grid on an NVIDIA H200 with "
                   "random weights (scripts/gpu_session.sh; total = NVML's used memory). scripts/measure_all.sh "
                   "regenerates the CPU ones.")
        st.plotly_chart(error_histogram(mem), key="mem_hist")
        st.dataframe(mem.round(2).rename(columns=NAMES), key="mem_table", hide_index=True)
    else:
        st.info("No measurement records in profiles/measurements/ yet: they come from scripts/measure_llamacpp.py "
                "and `planner validate --record` runs.")

    st.subheader("Speed: published runs that did not calibrate planner")
    speed = _speed()
    check = speed[speed["half"] == "check"]
    cols = st.columns(2)
    for col, what in zip(cols, ("decode", "ttft"), strict=True):
        part = check[check["what"] == what]
        col.metric(f"{what}: median |error|", f"{part['error_pct'].abs().median():.1f} %",
                   help=f"{len(part)} runs of the check half")
    st.caption("Published runs are split by source into a calibration half (which fits profiles/efficiency.yaml) and "
               "a check half (which judges it; runs through Ollama, answered with llama.cpp's figures, always check); "
               "the table shows both, each row with its source and the efficiency entry used.")
    st.plotly_chart(error_histogram(speed), key="speed_hist")
    st.dataframe(speed.round(2).rename(columns=NAMES), key="speed_table", hide_index=True)

    st.subheader("Speed at a fixed number of concurrent requests")
    st.caption("A check of the batch model, nothing fitted (benchmarks/batch_speed.py): per-request decode rate of "
               "published serving sweeps against planner's plain decode step of that many sequences and its steady "
               "stream, whose decode steps also carry the prefills of arriving requests.")
    st.dataframe(_batches().round(2).rename(columns={**NAMES, "requests": "Requests", "stream": "Stream",
                                                     "stream_error_pct": "Stream error (%)"}),
                 key="batch_table", hide_index=True)


run(set(), main)
