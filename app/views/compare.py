"""Compare: several models side by side at one setting, each with its verdict; speeds only where it fits."""

import compute
import pandas as pd
import streamlit as st
from controls import Setup, run
from models import bundled_spec
from present import NO, SYMBOLS, columns, context_label, params_label, speed, verdict_state
from safety import fragment, message, plain
from state import STATE, models, sync_url, widget

from planner import PlannerError
from planner.units import UNIT_BYTES


def main(setup: Setup) -> None:
    st.title("Compare models")
    gpus_text = (f"{setup.n_gpus} × " if setup.n_gpus > 1 else "") + setup.gpu_text
    st.caption(plain(" · ".join([setup.quant or "checkpoint weights",
                                 f"{context_label(setup.context)} tokens × {setup.batch:,}", gpus_text])))
    _models(setup)


@fragment
def _models(setup: Setup) -> None:
    """The models picker and the comparison: a change of models reruns only this part."""
    sync_url()
    chosen = st.session_state[STATE]["models"]  # its picker is drawn under the table: the numbers come first
    if not chosen:
        st.info("Pick at least one model below.")
        _picker()
        return

    from planner.engines import fp32_checkpoint_note

    rows, clipped, fp32 = [], [], []
    for name in chosen:
        spec = bundled_spec(name)
        context = min(setup.context, spec.max_context)
        if context < setup.context:
            clipped.append(f"{name.split('/')[-1]} ({context_label(spec.max_context)})")
        try:
            if setup.n_gpus > 1:
                if setup.gpu is None:
                    raise PlannerError("a multi-GPU plan needs a GPU from the list")
                p = compute.plan(spec, gpu=setup.gpu, n_gpus=setup.n_gpus, quant=setup.quant, kv_dtype=setup.kv,
                                 context=context, batch=setup.batch, mode="tp" if setup.split == "tensor" else "pp")
                parts, tps, quant = dict(p.per_gpu), p.decode_tokens_per_s, p.quant
            else:
                e = compute.estimate(spec, quant=setup.quant, kv_dtype=setup.kv, context=context, batch=setup.batch,
                                     gpu=setup.gpu)
                parts = dict(weights_bytes=e.weights_bytes, kv_cache_bytes=e.kv_cache_bytes,
                             activation_bytes=e.activation_bytes, overhead_bytes=e.overhead_bytes,
                             total_bytes=e.total_bytes)
                tps, quant = e.decode_tokens_per_s, e.workload.quant
        except PlannerError as err:
            st.warning(plain(f"{name}: {message(err)}"))
            continue
        state = verdict_state(parts["total_bytes"], setup.usable_bytes, setup.reserve_pct)
        if fp32_checkpoint_note(spec, setup.quant, None):
            fp32.append(name.split("/")[-1])
        rows.append(dict(model=name, params=params_label(spec.param_count), quant=quant,
                         context=context_label(context), **parts,
                         verdict=f"{SYMBOLS[state]} {state}",
                         decode_tokens_per_s=None if state == NO or tps is None else round(tps, 1)))
    if not rows:
        _picker()
        return
    df = pd.DataFrame(rows)
    budget = setup.usable_bytes / UNIT_BYTES[setup.unit]

    shown = df.copy()
    for col in [c for c in shown if c.endswith("_bytes")]:
        shown[col] = [f"{v:,.2f}" for v in shown[col].astype(float) / UNIT_BYTES[setup.unit]]
    shown["decode_tokens_per_s"] = [speed(v) if v == v and v is not None else "—" for v in shown["decode_tokens_per_s"]]
    st.table(shown.rename(columns=columns(shown.columns, setup.unit)).set_index("Model"))

    _picker()

    from charts import compare_bars  # plotly loads after the numbers are on screen

    st.plotly_chart(compare_bars(df, unit=setup.unit, budget=budget), key="bars")
    notes = ["Decode speed is left empty where the model does not fit."]
    if clipped:
        notes.append(f"Shown at their maximum context: {', '.join(clipped)}.")
    if fp32:
        notes.append(f"{', '.join(fp32)}: {'its checkpoint is' if len(fp32) == 1 else 'their checkpoints are'} "
                     "stored in fp32, and its own weights are planned as such, as transformers loads them; most "
                     "runs load 16 bits (choose bf16 under Weights to compare that).")
    st.caption(plain(" ".join(notes)))


def _picker() -> None:
    widget("multiselect", "models", "Models to compare", where=st, options=models())


run({"gpu", "count", "weights", "kv", "context", "batch"}, main)
