"""Which GPU: every catalog GPU side by side, alone and in tensor-parallel groups, for the chosen configuration —
verdict, memory per GPU, speed where it fits, and the largest context one GPU allows."""

import compute
import pandas as pd
import streamlit as st
from controls import Setup, model_context, run
from models import gpu_spec
from present import NO, SYMBOLS, TIGHT, columns, gpu_label, largest_label, verdict_state
from safety import fragment, plain
from state import gpus, sync_url, widget

from planner.fit import explain


def main(setup: Setup) -> None:
    st.title("Which GPU")
    st.caption(plain(setup.headline(gpu=False)))
    _gpus(setup)


@fragment
def _gpus(setup: Setup) -> None:
    """The GPU filter, the speed target and the table: a change there reruns only this part."""
    sync_url()
    spec = setup.spec
    top = st.columns([3, 1])
    picked = widget("multiselect", "gpus", "GPUs to compare (empty: all)", where=top[0], options=gpus(),
                    format_func=lambda g: gpu_label(gpu_spec(g).name, gpu_spec(g).memory_marketed_bytes, setup.unit))
    target = widget("number_input", "target", "Minimum tok/s per request", where=top[1], min_value=0.0,
                    max_value=1e6, step=5.0, format="%.1f")

    quant = setup.quant or spec.weights_dtype
    df = compute.fit(spec, context=model_context(setup), batch=setup.batch, quants=[quant],
                     kv_dtypes=[setup.kv] if setup.kv else None, gpus=list(picked) or None,
                     min_tokens_per_s=target or None, only_fitting=False)
    if df.empty:
        st.info("No GPU layout can hold this model's heads: nothing to show.")
        return
    # what a row's total is held to: the GPU's usable memory, or for a tensor row vLLM's budget; and vLLM's verdict
    usable = df["per_gpu_total_bytes"] + df["headroom_bytes"]
    df["verdict"] = [verdict_state(t, u, setup.reserve_pct, refused=not ok) for t, u, ok in zip(
        df["per_gpu_total_bytes"], usable, df["fits"], strict=True)]
    df["max_context"] = [largest_label(compute.max_context(spec, quant=q, gpu=g, batch=setup.batch,
                                                           kv_dtype=setup.kv)) if n == 1 else "—"
                         for g, n, q in zip(df["gpu"], df["n_gpus"], df["quant"], strict=True)]
    ok = df[(df["verdict"] != NO) & df["meets_target"]]
    rank = {"fits": 0, TIGHT: 1, NO: 2}
    df = df.assign(_r=df["verdict"].map(rank)).sort_values(["_r", "n_gpus"], kind="stable").drop(columns="_r")
    if len(ok):
        kinds, options = ok["gpu"].nunique(), len(ok)
        st.success(f"{kinds} GPU kind{'s' * (kinds != 1)} can run it ({options} option{'s' * (options != 1)} with "
                   "1, 2, 4 or 8 GPUs).")
    else:
        st.error("No GPU in the list runs it" + (" at that speed." if target else "."))
    shown = pd.DataFrame({
        "gpu": [gpu_label(gpu_spec(g).name, gpu_spec(g).memory_marketed_bytes, setup.unit) for g in df["gpu"]],
        "n_gpus": df["n_gpus"],
        "split": [s if n > 1 else "—" for s, n in zip(df["split"], df["n_gpus"], strict=True)],
        "verdict": [f"{SYMBOLS[v]} {v}" for v in df["verdict"]],
        "per_gpu_total_bytes": (df["per_gpu_total_bytes"] / (2**30 if setup.unit == "GiB" else 1e9)).round(2),
        "decode_tokens_per_s": ["—" if v == NO or t is None else f"{t:.1f}" + (f" ±{100 * b:.0f} %" if b == b and b
                                                                            is not None else "")
                                for v, t, b in zip(df["verdict"], df["decode_tokens_per_s"], df["decode_typical_error"],
                                                   strict=True)],
        "max_context": df["max_context"],
        "explanation": [explain(b, setup.unit) for b in df["per_gpu_bytes"]],
    })
    named = shown.rename(columns=columns(shown.columns, setup.unit))
    st.dataframe(named, key="gpus", hide_index=True, column_config={
        "GPU": st.column_config.TextColumn(width="large"),
        "Per GPU, by component": st.column_config.TextColumn(width="large")})
    from planner.engines import no_gguf_note

    if note := no_gguf_note(spec, [quant]):
        st.caption(plain(f"{note}."))
    from planner.fit import not_on_apple

    if note := not_on_apple(df):  # it begins with a format's name, as written
        st.caption(plain(f"{note}."))
    st.caption("Several GPUs split a GGUF format by layers, as llama.cpp does, and the others tensor parallel as "
               "vLLM starts them with max_model_len the context (its other settings at their defaults): its "
               "verdict, and per GPU what it holds to its memory budget (weights, its profile run's peak, its "
               "CUDA-graph estimate, the KV blocks). Largest context: for one GPU. Decode speed is a dash (—) where "
               "it does not fit. Rows: those that fit first, then the tight ones, then the rest; within each, fewer "
               "GPUs first, then less memory per GPU (a proxy for price).")


run({"model", "weights", "kv", "context", "batch"}, main)
