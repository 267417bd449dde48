"""Pure chart builders: data in, plotly figure out."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from planner.units import to_unit

COMPONENTS = ("weights_bytes", "kv_cache_bytes", "activation_bytes", "overhead_bytes")
LABELS = {"weights_bytes": "weights", "kv_cache_bytes": "KV cache", "activation_bytes": "activations",
          "overhead_bytes": "overhead"}


def memory_bar(components: dict[str, int], *, unit: str, budget_bytes: int | None = None) -> go.Figure:
    """One horizontal stacked bar of the components, with the memory budget as a line."""
    fig = go.Figure()
    for key in COMPONENTS:
        fig.add_bar(y=["memory"], x=[to_unit(components[key], unit)], name=LABELS[key], orientation="h")
    if budget_bytes:
        fig.add_vline(x=to_unit(budget_bytes, unit), line_dash="dash", annotation_text="budget")
    fig.update_layout(barmode="stack", height=220, xaxis_title=unit, margin=dict(l=10, r=10, t=30, b=10))
    return fig


def fit_heatmap(table: pd.DataFrame, *, unit: str, budget: float | None = None) -> go.Figure:
    """Quantization × context heatmap of total memory; cells above the budget are marked."""
    text = [[f"{v:.1f}" + ("" if budget is None or v <= budget else " ✗") for v in row] for row in table.values]
    fig = go.Figure(go.Heatmap(z=table.values, x=list(table.columns), y=list(table.index), text=text,
                               texttemplate="%{text}", colorscale="RdYlGn_r" if budget is None else None,
                               colorbar=dict(title=unit)))
    if budget is not None:
        fits = (table.values <= budget).astype(int)
        fig.data[0].update(z=fits, colorscale=[[0, "#f4a6a6"], [1, "#a6e3a1"]], showscale=False)
    fig.update_layout(yaxis_autorange="reversed", xaxis_title="context", yaxis_title="quantization",
                      margin=dict(l=10, r=10, t=30, b=10))
    return fig
