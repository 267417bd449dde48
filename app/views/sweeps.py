"""Sweeps: memory and tokens/s against context length and against batch, one line per quantization."""

import numpy as np
import streamlit as st
from charts import sweep_lines
from state import budget_picker, context_picker, model_picker, query_int, unit_picker

from planner import load_gpu, sweep
from planner.perf import decode_seconds_per_token
from planner.sweep import table_contexts

QUANTS = ["bf16", "q8_0", "q4_k_m", "int4"]

st.title("Sweeps")
spec = model_picker()
unit = unit_picker()
gpu, budget = budget_picker(unit)
batch = query_int("batch", "Batch (context sweep)", 1, max_value=4096)
context = context_picker(spec, "Context (batch sweep)")


@st.cache_data(show_spinner=False)
def _sweeps(spec, gpu, batch, context):
    contexts = table_contexts(spec.max_context)
    batches = [1, 2, 4, 8, 16, 32, 64, 128]
    by_ctx = sweep(spec, quants=QUANTS, contexts=contexts, batches=[batch])
    by_batch = sweep(spec, quants=QUANTS, contexts=[context], batches=batches)
    if gpu is not None:
        g = load_gpu(gpu)
        for df in (by_ctx, by_batch):
            step = np.concatenate([decode_seconds_per_token(
                spec, g, quant=q, kv_dtype=str(part["kv_dtype"].iloc[0]), context=part["context"].to_numpy(),
                batch=part["batch"].to_numpy()) for q, part in df.groupby("quant", observed=True, sort=False)])
            df["tokens_per_s"] = df["batch"].to_numpy() / step
    return by_ctx, by_batch


by_ctx, by_batch = _sweeps(spec, gpu, batch, context)

left, right = st.columns(2)
left.plotly_chart(sweep_lines(by_ctx, x="context", y="total_bytes", unit=unit, budget=budget,
                              title=f"memory vs context (batch {batch})"), key="mem_ctx")
right.plotly_chart(sweep_lines(by_batch, x="batch", y="total_bytes", unit=unit, budget=budget,
                               title=f"memory vs batch ({context:,} tokens)"), key="mem_batch")
if gpu is not None:
    left.plotly_chart(sweep_lines(by_ctx, x="context", y="tokens_per_s", title=f"decode tokens/s on {gpu}"),
                      key="tps_ctx")
    right.plotly_chart(sweep_lines(by_batch, x="batch", y="tokens_per_s", title=f"batch throughput on {gpu}"),
                       key="tps_batch")
    st.caption("Speed: GGUF formats (q8_0, q4_k_m) at llama.cpp's calibrated efficiency, the others at a compiled "
               "engine's (vLLM class) — the engines people run them in; see README for the factors.")
else:
    st.info("Pick a GPU to see tokens/s.")
