"""Pure chart builders: data in, plotly figure out. Colour-blind-safe colours (present.py), and every state
also has its symbol, so colour is never the only cue."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from present import COLOURS, COMPONENT_COLOURS, FITS, NO, SYMBOLS, TIGHT, TRAIN_COLOURS, context_label

from planner.units import to_unit

COMPONENTS = ("weights_bytes", "kv_cache_bytes", "activation_bytes", "overhead_bytes")
LABELS = {"weights_bytes": "weights", "kv_cache_bytes": "KV cache", "activation_bytes": "activations",
          "overhead_bytes": "overhead"}
LINE_COLOURS = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]
_MARGIN = dict(l=10, r=10, t=40, b=10)


def memory_bar(components: dict[str, int], *, unit: str, budget_bytes: int | None = None,
               reserve_pct: float = 0.0) -> go.Figure:
    """One horizontal stacked bar of the components, with the usable memory (and the reserve) as lines."""
    fig = go.Figure()
    for key in COMPONENTS:
        fig.add_bar(y=["memory"], x=[to_unit(components[key], unit)], name=LABELS[key], orientation="h",
                    marker_color=COMPONENT_COLOURS[LABELS[key]], hovertemplate="%{x:.2f} " + unit)
    return _stacked(fig, unit=unit, budget_bytes=budget_bytes, reserve_pct=reserve_pct)


def training_bar(components: dict[str, int], *, unit: str, budget_bytes: int | None = None,
                 reserve_pct: float = 0.0) -> go.Figure:
    """A training step's peak on one GPU as one stacked bar (`components`: label → bytes, in present.TRAIN_COLOURS'
    labels), with the usable memory (and the reserve) as lines."""
    fig = go.Figure()
    for label, n in components.items():
        fig.add_bar(y=["memory"], x=[to_unit(n, unit)], name=label, orientation="h",
                    marker_color=TRAIN_COLOURS[label], hovertemplate="%{x:.2f} " + unit)
    fig = _stacked(fig, unit=unit, budget_bytes=budget_bytes, reserve_pct=reserve_pct)
    fig.update_layout(legend_traceorder="normal")  # the legend in the bar's order, left to right
    return fig


def _stacked(fig: go.Figure, *, unit: str, budget_bytes: int | None, reserve_pct: float) -> go.Figure:
    if budget_bytes:
        # each line its own label dict (plotly keeps the one it is given), readable where it falls on the bar:
        # "usable" right of the dashed line, "reserve" left of the dotted one
        fig.add_vline(x=to_unit(budget_bytes, unit), line_dash="dash", annotation_text="usable",
                      annotation_position="top right", annotation=dict(bgcolor="rgba(255, 255, 255, 0.85)"))
        if reserve_pct:
            fig.add_vline(x=to_unit(budget_bytes * (1 - reserve_pct / 100), unit), line_dash="dot",
                          line_color=COLOURS[TIGHT], annotation_text="reserve", annotation_position="top left",
                          annotation=dict(bgcolor="rgba(255, 255, 255, 0.85)"))
        stacked = sum(sum(t.x) for t in fig.data if getattr(t, "x", None) is not None)
        fig.update_xaxes(range=[0, 1.12 * max(to_unit(budget_bytes, unit), stacked)])  # room for the line's label
    fig.update_layout(barmode="stack", height=220, xaxis_title=unit, margin=_MARGIN,
                      legend=dict(orientation="h", y=-0.4))
    fig.update_yaxes(showticklabels=False)
    return fig


def fit_heatmap(values: pd.DataFrame, states: pd.DataFrame, *, unit: str) -> go.Figure:
    """Quantization × context: the total in each cell, coloured and marked by fits / tight / does not fit."""
    order = [FITS, TIGHT, NO]
    z = states.replace({s: i for i, s in enumerate(order)}).to_numpy(dtype=float)
    text = [[f"{v:,.1f} {SYMBOLS[s]}" for v, s in zip(row, srow, strict=True)]
            for row, srow in zip(values.to_numpy(), states.to_numpy(), strict=True)]
    scale = [[i / 2, COLOURS[s]] for i, s in enumerate(order)]
    heat = go.Heatmap(z=z, zmin=0, zmax=2, colorscale=scale, showscale=False, x=list(values.columns),
                      y=list(values.index), text=text, texttemplate="%{text}",
                      hovertemplate="%{y} at %{x}: %{text} " + unit + "<extra></extra>")
    fig = go.Figure(heat)
    fig.update_layout(yaxis_autorange="reversed", xaxis_title="context", yaxis_title="weights", margin=_MARGIN,
                      height=max(260, 34 * len(values) + 80))
    fig.update_xaxes(type="category", side="top")
    return fig


def context_axis(fig: go.Figure, contexts) -> None:
    """A log context axis ticked 1K, 2K, 4K, … (the values of the sweep, never 2, 3, 5 × 10ⁿ)."""
    ticks = sorted(set(int(c) for c in contexts))
    fig.update_xaxes(type="log", tickvals=ticks, ticktext=[context_label(c) for c in ticks], title="context (tokens)")


def count_axis(fig: go.Figure, counts, title: str) -> None:
    ticks = sorted(set(int(c) for c in counts))
    fig.update_xaxes(type="log", tickvals=ticks, ticktext=[f"{c:,}" for c in ticks], title=title)


def sweep_lines(df: pd.DataFrame, *, x: str, y: str, unit: str | None = None, budget: float | None = None,
                title: str = "", y_title: str = "") -> go.Figure:
    """One line per quantization; bytes columns are converted to `unit`; NaN (does not fit) leaves a gap."""
    fig = go.Figure()
    for i, (quant, part) in enumerate(df.groupby("quant", observed=True, sort=False)):
        ys = part[y].astype(float)
        fig.add_scatter(x=part[x], y=to_unit(ys, unit) if unit else ys, name=str(quant), mode="lines+markers",
                        line_color=LINE_COLOURS[i % len(LINE_COLOURS)])
    if budget is not None:
        fig.add_hline(y=budget, line_dash="dash", annotation_text="usable")
    fig.update_layout(title=title, yaxis_title=y_title + (f" ({unit})" if unit else ""), margin=_MARGIN,
                      legend_title_text="weights")
    if x == "context":
        context_axis(fig, df[x])
    else:
        count_axis(fig, df[x], "concurrent requests")
    return fig


def compare_bars(df: pd.DataFrame, *, unit: str, budget: float | None = None) -> go.Figure:
    """Stacked components per model, with the usable memory as a line."""
    fig = go.Figure()
    for key in COMPONENTS:
        fig.add_bar(x=df["model"], y=to_unit(df[key].astype(float), unit), name=LABELS[key],
                    marker_color=COMPONENT_COLOURS[LABELS[key]])
    if budget is not None:
        fig.add_hline(y=budget, line_dash="dash", annotation_text="usable")
    fig.update_layout(barmode="stack", yaxis_title=unit, margin=_MARGIN)
    return fig


def error_histogram(errors: pd.DataFrame, *, column: str = "error_pct", color: str = "what") -> go.Figure:
    """Distribution of estimate errors (percent), one colour per quantity."""
    fig = go.Figure()
    for i, (what, part) in enumerate(errors.groupby(color, sort=False)):
        fig.add_histogram(x=part[column], name=str(what), nbinsx=30, opacity=0.7,
                          marker_color=LINE_COLOURS[i % len(LINE_COLOURS)])
    fig.add_vline(x=0, line_dash="dot")
    fig.update_layout(barmode="overlay", xaxis_title="planner / measured − 1 (%)", yaxis_title="runs", margin=_MARGIN)
    return fig
