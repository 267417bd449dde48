"""Estimate: one configuration, its components, and whether it fits a memory budget."""

import streamlit as st
from charts import memory_bar
from state import budget_picker, model_picker, query_choice, unit_picker

from planner import PlannerError, estimate, load_model
from planner.sweep import TABLE_QUANTS, table_contexts
from planner.units import UNIT_BYTES, format_bytes

st.title("Estimate")
model = model_picker()
spec = load_model(model)
quant = query_choice("quant", ["checkpoint", *TABLE_QUANTS, "int8", "int4", "nf4", "fp8"], "checkpoint", "Weights")
kv = query_choice("kv", ["default", "bf16", "fp16", "fp8", "q8_0", "q4_0"], "default", "KV cache")
unit = unit_picker()
contexts = table_contexts(spec.max_context)
context = st.sidebar.select_slider("Context (tokens)", contexts, value=min(4096, spec.max_context), key="context")
batch = st.sidebar.number_input("Batch", min_value=1, max_value=1024, value=1, key="batch")
gpu, budget = budget_picker(unit)

try:
    e = estimate(spec, quant=None if quant == "checkpoint" else quant, kv_dtype=None if kv == "default" else kv,
                 context=int(context), batch=int(batch), gpu=gpu)
except PlannerError as err:
    st.error(str(err))
    st.stop()

budget_bytes = int(budget * UNIT_BYTES[unit])
cols = st.columns(5)
for col, (label, value) in zip(cols, [("weights", e.weights_bytes), ("KV cache", e.kv_cache_bytes),
                                      ("activations", e.activation_bytes), ("overhead", e.overhead_bytes),
                                      ("total", e.total_bytes)], strict=True):
    col.metric(label, format_bytes(value, unit))
fits = e.total_bytes <= budget_bytes
headroom = format_bytes(abs(budget_bytes - e.total_bytes), unit)
(st.success if fits else st.error)(f"{'Fits' if fits else 'Does not fit'}: {headroom} "
                                   f"{'headroom' if fits else 'short'} against {budget:.2f} {unit}"
                                   + (f" usable on {gpu}" if gpu else ""))
if (p := e.performance) is not None:
    speed = st.columns(3)
    speed[0].metric("time to first token", "—" if p.prefill_seconds is None else f"{p.prefill_seconds:.2f} s")
    speed[1].metric("decode, per sequence", f"{p.decode_tokens_per_s:.1f} tok/s")
    speed[2].metric("decode, whole batch", f"{p.throughput_tokens_per_s:.1f} tok/s")
st.plotly_chart(memory_bar(e.model_dump(), unit=unit, budget_bytes=budget_bytes), key="bar")

st.subheader("Model card")
card = {"parameters": f"{spec.param_count / 1e9:.2f} B", "layers": spec.n_layers, "hidden size": spec.d_model,
        "heads / KV heads": f"{spec.n_heads} / {spec.n_kv_heads}", "head dim": spec.head_dim,
        "max context": f"{spec.max_context:,}", "attention": ", ".join(sorted(set(spec.layer_kinds()))),
        "MoE": f"{spec.moe.experts_per_token} of {spec.moe.n_experts} experts" if spec.moe else "dense",
        "activation": spec.activation, "norm": spec.norm}
for k in ("license", "release_date"):
    if (fact := getattr(spec.card, k)) is not None:
        card[k.replace("_", " ")] = fact.value
st.table({"": list(card), "value": [str(v) for v in card.values()]})
