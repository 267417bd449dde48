"""Quantization × context: total memory of each weights format at each context, by fit on the GPU; the largest
context each format allows; CSV download."""

import compute
import pandas as pd
import streamlit as st
from controls import Setup, run
from models import gpu_spec
from present import context_label, fit_table, largest_label, verdict_state
from safety import fragment, plain
from state import STATE, quant_group_map, sync_url, widget

from planner.sweep import table_contexts, table_quants
from planner.units import UNIT_BYTES


def main(setup: Setup) -> None:
    st.title("Quantization × context")
    st.caption(plain(setup.headline(context=False)))
    _table(setup)


@fragment
def _table(setup: Setup) -> None:
    """The formats picker and what it changes: a change of formats reruns only this part."""
    sync_url()
    spec = setup.spec
    groups = quant_group_map()
    chosen = st.session_state[STATE]["groups"]  # its picker is drawn under the table: the numbers come first
    common = table_quants(spec)  # the GGUF presets beside bf16, or, where no GGUF of the model exists, what runs it
    if setup.gpu is not None:  # on an Apple GPU, what MLX and llama.cpp load there
        from planner.perf import apple_runnable

        common = apple_runnable(common, gpu_spec(setup.gpu), spec)[0]
    names = list(dict.fromkeys([q for g in chosen for q in (common if g == "common" else groups[g])]))
    if not names:
        st.info("Pick at least one group of weights formats below.")
        _picker(groups, common)
        return

    contexts = table_contexts(spec.max_context)
    raw = compute.table(spec, quants=names, contexts=contexts, unit="B", batch=setup.batch, kv_dtype=setup.kv)
    states = raw.apply(lambda col: col.map(lambda b: verdict_state(b, setup.usable_bytes, setup.reserve_pct)))
    values = raw / UNIT_BYTES[setup.unit]
    labels = [context_label(c) for c in contexts]
    values.columns = states.columns = labels
    values.index.name = states.index.name = "weights"
    memory = {"gpu": setup.gpu} if setup.gpu else {"memory_bytes": setup.usable_bytes}
    largest = [compute.max_context(spec, quant=q, batch=setup.batch, kv_dtype=setup.kv, **memory) for q in raw.index]

    usable = f"{setup.usable_bytes / UNIT_BYTES[setup.unit]:,.2f} {setup.unit} usable"
    st.caption(plain(f"Total memory ({setup.unit}) per weights format and context, {setup.batch:,} request(s), "
                     f"against {setup.gpu_text} ({usable}): "
                     f"✓ fits, ≈ tight (less than {setup.reserve_pct:g} % free), ✗ does not fit."))
    st.table(fit_table(values, states, first={"largest context": [largest_label(c)
                                                                   for c in largest]}))
    from planner.engines import no_gguf_note

    if note := no_gguf_note(spec, names, defaulted=list(chosen) == ["common"]):
        st.caption(plain(f"{note} (the formats picker below)."))

    _picker(groups, common)

    from charts import fit_heatmap  # plotly loads after the numbers are on screen

    st.plotly_chart(fit_heatmap(values, states, unit=setup.unit), key="heatmap")
    csv = pd.concat([values.round(3), pd.Series(largest, index=values.index, name="largest_context")], axis=1)
    st.download_button("Download CSV", csv.to_csv().encode(), key="csv", mime="text/csv",
                       file_name=f"{spec.name.split('/')[-1]}-memory-{setup.unit}.csv")


def _picker(groups: dict, common: tuple[str, ...]) -> None:
    label = f"common ({common[0]}, {common[1]} … {common[-1]})" if len(common) > 4 else f"common ({', '.join(common)})"
    widget("multiselect", "groups", "Weights formats in the table", where=st, options=["common", *groups],
           format_func=lambda g: label if g == "common" else g)


run({"model", "gpu", "kv", "batch"}, main)
