"""Pure chart builders: data in, plotly figure out."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
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
    """Quantization × context heatmap of total memory; cells above the budget are red and marked ✗."""
    text = [[f"{v:.1f}" + ("" if budget is None or v <= budget else " ✗") for v in row] for row in table.values]
    if budget is None:
        heat = go.Heatmap(z=table.values, colorscale="RdYlGn_r", colorbar=dict(title=unit))
    else:
        heat = go.Heatmap(z=(table.values <= budget).astype(int), zmin=0, zmax=1, showscale=False,
                          colorscale=[[0, "#f4a6a6"], [1, "#a6e3a1"]])
    heat.update(x=list(table.columns), y=list(table.index), text=text, texttemplate="%{text}")
    fig = go.Figure(heat)
    fig.update_layout(yaxis_autorange="reversed", xaxis_title="context", yaxis_title="quantization",
                      margin=dict(l=10, r=10, t=30, b=10))
    return fig


def sweep_lines(df: pd.DataFrame, *, x: str, y: str, unit: str | None = None, budget: float | None = None,
                title: str = "") -> go.Figure:
    """One line per quantization; bytes columns are converted to `unit`."""
    data = df.copy()
    if unit is not None:
        data[y] = to_unit(data[y].astype(float), unit)
    fig = px.line(data, x=x, y=y, color="quant", markers=True, title=title)
    if budget is not None:
        fig.add_hline(y=budget, line_dash="dash", annotation_text="budget")
    fig.update_layout(yaxis_title=f"{y.replace('_', ' ')}" + (f" ({unit})" if unit else ""),
                      margin=dict(l=10, r=10, t=40, b=10))
    if x == "context":
        fig.update_xaxes(type="log")
    return fig


def compare_bars(df: pd.DataFrame, *, unit: str) -> go.Figure:
    """Stacked components per model."""
    fig = go.Figure()
    for key in COMPONENTS:
        fig.add_bar(x=df["model"], y=to_unit(df[key].astype(float), unit), name=LABELS[key])
    fig.update_layout(barmode="stack", yaxis_title=unit, margin=dict(l=10, r=10, t=30, b=10))
    return fig


def error_histogram(errors: pd.DataFrame, *, column: str = "error_pct", color: str = "what") -> go.Figure:
    """Distribution of estimate errors (percent), one colour per quantity."""
    fig = px.histogram(errors, x=column, color=color, nbins=30, barmode="overlay")
    fig.add_vline(x=0, line_dash="dot")
    fig.update_layout(xaxis_title="planner / measured − 1 (%)", margin=dict(l=10, r=10, t=30, b=10))
    return fig
