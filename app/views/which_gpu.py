"""Which GPU: every catalog GPU, and GPU count, that can run the chosen configuration."""

import streamlit as st
from state import model_picker, query_int, unit_picker, workload_picker

from planner import fit
from planner.units import to_unit

st.title("Which GPU")
spec = model_picker()
workload = workload_picker(spec, batch=True)
unit = unit_picker()
target = query_int("target", "Minimum tokens/s per sequence (0: any)", 0, min_value=0, max_value=100000)


@st.cache_data(show_spinner=False)
def _fit(spec, quant, kv, context, batch, target):
    quants = [quant] if quant else [spec.weights_dtype]
    return fit(spec, context=context, batch=batch, quants=quants, kv_dtypes=[kv] if kv else None,
               min_tokens_per_s=target or None, only_fitting=False)


df = _fit(spec, workload["quant"], workload["kv_dtype"], workload["context"], workload["batch"], target)

df = df.sort_values(["fits", "meets_target"], ascending=False, kind="stable").reset_index(drop=True)
ok = df[df["fits"] & df["meets_target"]]
st.success(f"{ok['gpu'].nunique()} GPU kinds can run it ({len(ok)} options with 1, 2, 4 or 8 GPUs).")
shown = df.assign(**{f"per GPU ({unit})": to_unit(df["per_gpu_total_bytes"].astype(float), unit).round(2),
                     f"GPU memory ({unit})": to_unit(df["gpu_memory_bytes"].astype(float), unit).round(2)})
st.dataframe(shown[["gpu", "n_gpus", "quant", "kv_dtype", "fits", "meets_target", f"per GPU ({unit})",
                    f"GPU memory ({unit})", "decode_tokens_per_s", "explanation"]], key="gpus", hide_index=True)
st.caption("Multi-GPU rows are tensor parallel. Sorted by GPU count, memory per GPU (a proxy for price), "
           "bits per weight and speed.")
