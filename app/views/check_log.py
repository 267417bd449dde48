"""Check a log: a pasted llama.cpp/Ollama, vLLM or SGLang startup log, each figure it prints beside planner's.

The model, weights format and GPU come from the log where it names them; the pickers fill in what it does not
(a bundled profile, a catalog format, a catalog GPU: nothing typed here reaches a file path). A log planner cannot
reconcile is one message saying which line and why.
"""

import pandas as pd
import streamlit as st
from controls import Setup, run
from safety import message, plain
from state import gpus, models, quants

from planner import PlannerError

FROM_LOG = "from the log"
MAX_LOG_CHARS = 2_000_000  # a verbose startup log (every tensor listed) is a few hundred KB
PLACEHOLDER = ("llama_model_loader: … general.name = Meta Llama 3.1 8B Instruct\n"
               "print_info: file type = Q4_K - Medium\nload_tensors: CUDA0 model buffer size = 4403.50 MiB\n…\n"
               "or vLLM's 'Model loading took …', 'Available KV cache memory …'\n"
               "or SGLang's 'Load weight end …', 'KV Cache is allocated …'")


def _pick(label: str, key: str, options: list[str], where) -> str | None:
    value = where.selectbox(label, [FROM_LOG, *options], key=key)
    return None if value == FROM_LOG else value


WHOLE_UNITS = ("tokens", "bytes", "blocks")  # counts: shown whole, as the CLI does


def _shown(value, unit: str) -> str:
    """A figure as text: '—' where planner has none, counts whole, the rest to 2 decimals."""
    if value is None or value != value:
        return "—"
    return f"{value:,.0f}" if unit in WHOLE_UNITS else f"{value:,.2f}"


def rows_frame(result) -> pd.DataFrame:
    """The reconciliation as a table: one row per logged figure (numbers as text: '—' where planner has none)."""
    return pd.DataFrame([{"Figure": r.figure, "Unit": r.unit, "Log": _shown(r.logged, r.unit),
                          "planner": _shown(r.planner, r.unit),
                          "Error (%)": None if r.error_pct is None else round(r.error_pct, 2),
                          "Line": r.line, "Note": r.note} for r in result.rows])


def main(setup: Setup) -> None:
    from planner.measure.logs import check_log

    st.title("Check a log")
    st.caption("Paste the startup log of llama.cpp (llama-server, llama-cli, Ollama), vLLM or SGLang: each memory "
               "figure it prints, beside planner's for the same model, weights, settings and GPU.")
    text = st.text_area("Startup log", key="log_text", height=220, max_chars=MAX_LOG_CHARS, placeholder=PLACEHOLDER)
    cols = st.columns(3)
    model = _pick("Model", "log_model", models(), cols[0])
    quant = _pick("Weights", "log_quant", quants(), cols[1])
    gpu = _pick("GPU", "log_gpu", gpus(), cols[2])
    if not text.strip():
        st.info("Paste a log above: the model, weights and GPU are read from it where it names them; pick them "
                "here where it does not.")
        return
    try:
        result = check_log(text, model, quant=quant, gpu=gpu)
    except PlannerError as e:
        st.error(plain(f"planner cannot reconcile this log: {message(e)}"))
        return
    said = ", ".join(f"{k} {v}" for k, v in result.settings.items() if v is not None)
    st.subheader(plain(f"{result.model}, {result.engine} log"))
    st.caption(plain(said))
    frame = rows_frame(result)
    st.dataframe(frame.drop(columns="Note"), key="log_rows", hide_index=True)
    for r in result.rows:  # the notes in full, under the table (a cell cuts them)
        if r.note:
            st.caption(plain(f"{r.figure}: {r.note}"))
    known = frame["Error (%)"].dropna()
    if len(known):
        st.metric("median |error|", f"{known.abs().median():.1f} %",
                  help=f"over the {len(known)} figure{'s' if len(known) > 1 else ''} planner gives too")
        if len(known) < 3:
            st.caption(plain(f"The median rests on {len(known)} figure{'s' if len(known) > 1 else ''}: the log "
                             "leaves planner the others' inputs (pick the GPU where it names none)."))


run(set(), main)
