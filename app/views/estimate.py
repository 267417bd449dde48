"""Estimate: one configuration, its components, fit on a GPU, speed, and the model card."""

import streamlit as st
from cards import model_card
from charts import memory_bar
from safety import plain
from state import budget_picker, model_picker, unit_picker, workload_picker

from planner import estimate
from planner.units import UNIT_BYTES, format_bytes

st.title("Estimate")
spec = model_picker()
workload = workload_picker(spec)
unit = unit_picker()
gpu, budget = budget_picker(unit)

e = estimate(spec, gpu=gpu, **workload)

budget_bytes = int(budget * UNIT_BYTES[unit])
parts = [("weights", e.weights_bytes), ("KV cache", e.kv_cache_bytes), ("activations", e.activation_bytes),
         ("overhead", e.overhead_bytes), ("total", e.total_bytes)]
for col, (label, value) in zip(st.columns(5), parts, strict=True):
    col.metric(label, format_bytes(value, unit))
fits = e.total_bytes <= budget_bytes
headroom = format_bytes(abs(budget_bytes - e.total_bytes), unit)
(st.success if fits else st.error)(f"{'Fits' if fits else 'Does not fit'}: {headroom} "
                                   f"{'headroom' if fits else 'short'} of {budget:.2f} {unit}"
                                   + (f" usable on {gpu}" if gpu else ""))
if (p := e.performance) is not None:
    speed = st.columns(3)
    speed[0].metric("time to first token", "—" if p.prefill_seconds is None else f"{p.prefill_seconds:.2f} s",
                    help=f"{p.prompt_tokens:,}-token prompt")
    speed[1].metric("decode, per sequence", f"{p.decode_tokens_per_s:.1f} tok/s", help=f"{p.engine} efficiency")
    speed[2].metric("decode, whole batch", f"{p.throughput_tokens_per_s:.1f} tok/s")
st.plotly_chart(memory_bar(e.model_dump(), unit=unit, budget_bytes=budget_bytes), key="bar")
st.caption(plain(f"{e.workload.quant} weights, {e.workload.kv_dtype} KV cache, {e.workload.context:,} tokens × "
           f"{e.workload.batch}. Activations: the larger of the prefill and decode peaks. Overhead: CUDA context, "
           "cuBLAS workspaces, allocator slack."))

st.subheader("Model card")
card = model_card(spec)
st.table({"": list(card), "value": [plain(v) for v in card.values()]})
