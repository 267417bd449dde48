"""Compare: several models side by side at one setting."""

import pandas as pd
import streamlit as st
from charts import compare_bars
from safety import clip, message, plain
from state import budget_picker, kv_value, quant_value, query_choice, query_int, unit_picker

from planner import PlannerError, estimate, list_models, load_model
from planner.limits import MAX_CONTEXT
from planner.units import UNIT_BYTES, to_unit

DEFAULT = ["microsoft/Phi-3-small-8k-instruct", "meta-llama/Llama-3.1-8B", "Qwen/Qwen2.5-7B", "google/gemma-2-9b"]

st.title("Compare models")
known = list_models()
linked = list(dict.fromkeys(st.query_params.get_all("models")))
if unknown := [m for m in linked if m not in known]:
    st.error(plain(f"Link parameter models: {', '.join(clip(m) for m in unknown[:5])}"
                   f"{' and others' if len(unknown) > 5 else ''} not among the bundled models; left out."))
models = st.sidebar.multiselect("Models", known, default=[m for m in linked or DEFAULT if m in known], key="models")
st.query_params["models"] = models
quant = quant_value(query_choice("quant", ["checkpoint", "bf16", "q8_0", "q4_k_m", "int4", "fp8"], "q4_k_m",
                                 "Weights"))
kv = kv_value(query_choice("kv", ["default", "bf16", "fp8", "q8_0"], "default", "KV cache"))
context = query_int("context", "Context (tokens)", 8192, max_value=MAX_CONTEXT)
batch = query_int("batch", "Batch", 1, max_value=4096)
unit = unit_picker()
gpu, budget = budget_picker(unit)

rows = []
for m in models:
    spec = load_model(m)
    try:
        e = estimate(spec, quant=quant, kv_dtype=kv, context=min(context, spec.max_context), batch=batch, gpu=gpu)
    except PlannerError as err:
        st.warning(plain(f"{m}: {message(err)}"))
        continue
    rows.append(dict(model=m, params_b=spec.param_count / 1e9, context=e.workload.context,
                     weights_bytes=e.weights_bytes, kv_cache_bytes=e.kv_cache_bytes,
                     activation_bytes=e.activation_bytes, overhead_bytes=e.overhead_bytes, total_bytes=e.total_bytes,
                     fits=e.total_bytes <= budget * UNIT_BYTES[unit],
                     tokens_per_s=e.decode_tokens_per_s))
if not rows:
    st.info("Pick at least one model.")
    st.stop()
df = pd.DataFrame(rows)
st.plotly_chart(compare_bars(df, unit=unit), key="bars")
shown = df.copy()
for col in ("weights_bytes", "kv_cache_bytes", "activation_bytes", "overhead_bytes", "total_bytes"):
    shown[col.replace("_bytes", f" ({unit})")] = to_unit(shown.pop(col).astype(float), unit).round(2)
st.dataframe(shown, key="compare_table")
st.caption("Contexts above a model's max_position_embeddings are shown at its maximum.")
