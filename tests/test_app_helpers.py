"""Dashboard's pure helpers: verdict words, context labels, charts, quant groups and the model card, without a run of
the app."""

import pytest

import tests.dashboard  # noqa: F401  (app/ on the path)

# isort: split
from cards import attention_structure, model_card
from charts import compare_bars, error_histogram, fit_heatmap, memory_bar, sweep_lines
from present import FITS, NO, TIGHT, context_label, quant_groups, verdict, verdict_state

from planner import estimate, get_quant, load_model, quant_names, sweep, table


def test_verdict_states_and_words():
    assert verdict_state(90, 100, 5.0) == FITS and verdict_state(97, 100, 5.0) == TIGHT
    assert verdict_state(101, 100, 5.0) == NO and verdict_state(50, 100, 5.0, refused=True) == NO
    v = verdict(int(15.97 * 2**30), 16 * 2**30, 5.0, unit="GiB", where="on a 16 GiB card")
    assert v.state == TIGHT and v.text.startswith("Tight on a 16 GiB card: only 0.03 GiB free")


def test_context_labels():
    assert [context_label(c) for c in (1024, 131072, 8000, 2**20)] == ["1K", "128K", "8,000", "1M"]


def test_memory_bar():
    e = estimate("llama-3-8b", context=8192)
    fig = memory_bar(e.model_dump(), unit="GiB", budget_bytes=24 * 2**30, reserve_pct=5)
    assert [bar.name for bar in fig.data] == ["weights", "KV cache", "activations", "overhead"]
    assert fig.data[1].x[0] == pytest.approx(1.0)  # 1 GiB of KV at 8K tokens


def test_heatmap_marks_fits_tight_and_not():
    import pandas as pd

    values = pd.DataFrame([[9.0, 15.9, 20.0]], index=["q4_k_m"], columns=["1K", "2K", "4K"])
    states = pd.DataFrame([[FITS, TIGHT, NO]], index=values.index, columns=values.columns)
    fig = fit_heatmap(values, states, unit="GiB")
    assert fig.data[0].z.tolist() == [[0, 1, 2]] and list(fig.data[0].text[0]) == ["9.0 ✓", "15.9 ≈", "20.0 ✗"]


def test_sweep_lines_one_per_quant_with_readable_axes():
    df = sweep("llama-3-8b", quants=["bf16", "q4_k_m"], contexts=[1024, 8192])
    fig = sweep_lines(df, x="context", y="total_bytes", unit="GB", budget=24.0)
    assert [t.name for t in fig.data] == ["bf16", "q4_k_m"]
    assert fig.data[0].y[0] == pytest.approx(df["total_bytes"].iloc[0] / 1e9)
    assert list(fig.layout.xaxis.ticktext) == ["1K", "8K"] and fig.layout.xaxis.type == "log"
    by_batch = sweep("llama-3-8b", quants=["bf16"], batches=[1, 2, 4, 128])
    assert sweep_lines(by_batch, x="batch", y="total_bytes", unit="GB").layout.xaxis.type == "log"


def test_compare_bars_and_error_histogram():
    import pandas as pd

    rows = [estimate(m, context=4096).model_dump() | {"model": m} for m in ("llama-3-8b", "qwen2.5-7b")]
    fig = compare_bars(pd.DataFrame(rows), unit="GiB")
    assert list(fig.data[0].x) == ["llama-3-8b", "qwen2.5-7b"]
    hist = error_histogram(pd.DataFrame({"error_pct": [-5.0, 3.0], "what": ["decode", "ttft"]}))
    assert len(hist.data) == 2


def test_table_groups_cover_the_catalog():
    groups = quant_groups(quant_names())
    listed = [q for g in groups.values() for q in g]
    catalog = {get_quant(q).name for q in quant_names()} - {"checkpoint"}
    assert len(listed) == len(set(listed)) and set(listed) == catalog
    assert "q4_k_m" in groups["llama.cpp presets (GGUF)"] and "awq-4bit-g128" in groups["4-bit and other GPU formats"]
    t = table("microsoft/Phi-3-small-8k-instruct", quants=listed)
    assert len(t) == len(listed)


def test_model_card_is_derived_from_the_spec():
    card = model_card(load_model("microsoft/Phi-3-small-8k-instruct"))
    assert card["parameters"] == "7.39 B" and card["license"] == "MIT" and card["context length"] == "8,192"
    assert attention_structure(load_model("microsoft/Phi-3-small-8k-instruct")).startswith("GQA 4:1, 16/32 layers")
    assert attention_structure(load_model("gemma-2-9b")).startswith("GQA 2:1, 21/42 layers sliding window 4,096")
    assert model_card(load_model("mixtral-8x7b"))["architecture"] == "MoE: 2 of 8 experts"


def test_api_errors_read_in_the_dashboards_words():
    from safety import in_app_words

    assert in_app_words("quant 'q4_k_m' needs engine_version older than 0.24.0 (CLI --engine-version)") == (
        "quant 'q4_k_m' needs a release older than 0.24.0")
    assert in_app_words("engine_version='0.9.2' (CLI --engine-version 0.9.2) plans it, or engine='sglang'") == (
        "release 0.9.2 (the engine's release in the sidebar) plans it, or the sglang engine")
