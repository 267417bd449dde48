"""The dashboard's calls into planner, cached per input: a repeated view or a change back costs nothing.

Every function is pure (model spec and plain values in, planner's result out), so st.cache_data keys on the
arguments alone. Each answer is bounded: planner's own limits cap every field, and its cost does not grow with
the number of layers (benchmarks/app_latency.py times the largest inputs the form accepts).
"""

from __future__ import annotations

import streamlit as st


@st.cache_data(show_spinner=False, max_entries=512)
def estimate(spec, **kw):
    from planner import estimate as _estimate

    return _estimate(spec, **kw)


@st.cache_data(show_spinner=False, max_entries=256)
def plan(spec, **kw):
    from planner.parallel import plan as _plan

    return _plan(spec, **kw)


@st.cache_data(show_spinner=False, max_entries=128)
def table(spec, **kw):
    from planner import table as _table

    return _table(spec, **kw)


@st.cache_data(show_spinner=False, max_entries=128)
def sweep(spec, **kw):
    from planner import sweep as _sweep

    return _sweep(spec, **kw)


@st.cache_data(show_spinner=False, max_entries=128)
def fit(spec, **kw):
    from planner import fit as _fit

    return _fit(spec, **kw)


@st.cache_data(show_spinner=False, max_entries=512)
def max_context(spec, **kw) -> int:
    from planner import max_context as _max_context

    return _max_context(spec, **kw)


@st.cache_data(show_spinner=False, max_entries=512)
def max_batch(spec, **kw) -> int:
    from planner import max_batch as _max_batch

    return _max_batch(spec, **kw)



# Fine-tuning (planner.training). A training estimate walks the layers, so these are bounded by the caller too
# (finetuning.SEARCH_MAX_LAYERS).

@st.cache_data(show_spinner=False, max_entries=512)
def train_estimate(spec, **kw):
    from planner.training import train_estimate as _train_estimate

    return _train_estimate(spec, **kw)


@st.cache_data(show_spinner=False, max_entries=256)
def max_micro_batch(spec, **kw) -> int:
    from planner.training.search import max_micro_batch as _max_micro_batch

    return _max_micro_batch(spec, **kw)


@st.cache_data(show_spinner=False, max_entries=256)
def max_seq_len(spec, **kw) -> int:
    from planner.training.search import max_seq_len as _max_seq_len

    return _max_seq_len(spec, **kw)


@st.cache_data(show_spinner=False, max_entries=128)
def train_plans(spec, **kw) -> list[dict]:
    from planner.training.search import plans

    return plans(spec, **kw)
