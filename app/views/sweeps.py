"""Sweeps: memory and decode speed against context and against concurrent requests, one line per weights format.
Speeds are drawn only where the setup fits the GPU."""

import compute
import numpy as np
import pandas as pd
import streamlit as st
from controls import Setup, model_context, run
from present import context_label, largest_label
from safety import plain

from planner.sweep import table_contexts
from planner.units import UNIT_BYTES

BASE = ("bf16", "q8_0", "q4_k_m", "int4")
BATCHES = (1, 2, 4, 8, 16, 32, 64, 128, 256)

@st.cache_data(show_spinner=False, max_entries=64)
def _sweeps(spec, gpu, quants, kv, batch, context, usable):
    from planner import load_gpu, sweep
    from planner.perf import decode_seconds_per_token

    by_ctx = sweep(spec, quants=quants, contexts=table_contexts(spec.max_context), batches=[batch],
                   kv_dtypes=[kv] if kv else None)
    by_batch = sweep(spec, quants=quants, contexts=[min(context, spec.max_context)],
                     batches=sorted({*BATCHES, batch}), kv_dtypes=[kv] if kv else None)
    for df in (by_ctx, by_batch):
        if gpu is None:
            df["tokens_per_s"] = np.nan
            continue
        g = load_gpu(gpu)
        step = np.concatenate([decode_seconds_per_token(
            spec, g, quant=q, kv_dtype=str(part["kv_dtype"].iloc[0]), context=part["context"].to_numpy(),
            batch=part["batch"].to_numpy()) for q, part in df.groupby("quant", observed=True, sort=False)])
        df["tokens_per_s"] = np.where(df["total_bytes"].to_numpy() <= usable, df["batch"].to_numpy() / step, np.nan)
    return by_ctx, by_batch


def _limits(setup: Setup, quants: list[str]) -> None:
    """Per format: the largest context at the chosen concurrency, and the most requests at the chosen context."""
    memory = {"gpu": setup.gpu} if setup.gpu else {"memory_bytes": setup.usable_bytes}
    context = min(setup.context, setup.spec.max_context)  # main() said so where it is shorter
    rows = {}
    for q in quants:
        largest = compute.max_context(setup.spec, quant=q, batch=setup.batch, kv_dtype=setup.kv, **memory)
        most = compute.max_batch(setup.spec, quant=q, context=context, kv_dtype=setup.kv, **memory)
        rows[q] = {f"largest context ({setup.batch:,} request(s))": largest_label(largest),
                   f"most concurrent requests ({context_label(context)} tokens each)": f"{most:,}"}
    st.table(pd.DataFrame.from_dict(rows, orient="index").rename_axis("weights"))
    st.caption("As the plain model runs them: GGUF formats prefill in llama.cpp's 512-token ubatches, the others the "
               "whole prompt at once (one generate() call), whose activations grow with the prompt, so a 4-bit GPU "
               "format can reach a shorter context than a GGUF of the same size. A serving engine prefills in "
               "chunks: pick one under Engine on the Estimate page, or set a prefill chunk in its sidebar.")


def main(setup: Setup) -> None:
    spec = setup.spec
    st.title("Sweeps")
    st.caption(plain(setup.headline()))
    from planner.engines import runnable_quants

    base = runnable_quants(spec, BASE)
    base += ("fp8",) if len(base) < len(BASE) else ()  # in place of the GGUF presets a model without GGUF lacks
    quants = list(dict.fromkeys([*base, *([setup.quant] if setup.quant else [])]))  # no GGUF rows where none exist
    context = model_context(setup)
    by_ctx, by_batch = _sweeps(spec, setup.gpu, tuple(quants), setup.kv, setup.batch, context, setup.usable_bytes)
    budget = setup.usable_bytes / UNIT_BYTES[setup.unit]
    if setup.gpu is not None or setup.usable_bytes:
        _limits(setup, quants)

    from charts import sweep_lines  # plotly loads after the numbers are on screen

    left, right = st.columns(2)
    left.plotly_chart(sweep_lines(by_ctx, x="context", y="total_bytes", unit=setup.unit, budget=budget,
                                  title=f"Memory vs context ({setup.batch:,} request(s))", y_title="total"),
                      key="mem_ctx")
    right.plotly_chart(sweep_lines(by_batch, x="batch", y="total_bytes", unit=setup.unit, budget=budget,
                                   title=f"Memory vs concurrent requests ({min(setup.context, spec.max_context):,} "
                                         "tokens each)", y_title="total"), key="mem_batch")
    if setup.gpu is not None:
        left.plotly_chart(sweep_lines(by_ctx, x="context", y="tokens_per_s", title="Decode tokens/s (all requests)",
                                      y_title="tokens/s"), key="tps_ctx")
        right.plotly_chart(sweep_lines(by_batch, x="batch", y="tokens_per_s", title="Decode tokens/s (all requests)",
                                       y_title="tokens/s"), key="tps_batch")
        st.caption("Speeds are drawn only where the total fits the usable memory. GGUF formats (q8_0, q4_k_m) at "
                   "llama.cpp's calibrated efficiency, the others at a compiled engine's (vLLM class; MLX's on Apple "
                   "GPUs); see README.")
    else:
        st.info("Pick a GPU from the list to see tokens/s.")


run({"model", "gpu", "weights", "kv", "context", "batch"}, main)
