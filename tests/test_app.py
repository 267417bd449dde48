"""Dashboard: every view runs, and changing the model, context or GPU changes the figures shown."""

import sys
from pathlib import Path

import pytest

pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest  # noqa: E402

APP = Path(__file__).resolve().parents[1] / "app"
sys.path.insert(0, str(APP))
from cards import attention_structure, model_card  # noqa: E402
from charts import compare_bars, error_histogram, fit_heatmap, memory_bar, sweep_lines  # noqa: E402

from planner import estimate, load_model, sweep, table  # noqa: E402


@pytest.fixture(autouse=True)
def _bugs_fail_the_tests(monkeypatch):
    """The dashboard shows a bug as one line; these tests want the traceback (app/safety.py guarded())."""
    monkeypatch.setenv("PLANNER_DEBUG", "1")


def app(page: str | None = None, **query) -> AppTest:
    at = AppTest.from_file(str(APP / "streamlit_app.py"), default_timeout=120)
    at.query_params.update(query)
    at.run()
    if page:
        at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def test_estimate_view_changes_with_model_context_and_gpu():
    at = app()
    total = metric(at, "total")
    assert total.endswith("GiB")
    at.sidebar.selectbox(key="model").set_value("meta-llama/Meta-Llama-3-8B").run()
    assert metric(at, "total") != total
    after_model = metric(at, "total")
    at.sidebar.select_slider(key="context").set_value(8192).run()
    assert metric(at, "total") != after_model
    speed = metric(at, "decode, per sequence")
    at.sidebar.selectbox(key="gpu").set_value("h100-sxm").run()
    assert metric(at, "decode, per sequence") != speed
    assert at.query_params["model"] == "meta-llama/Meta-Llama-3-8B"  # shareable as a link
    assert at.query_params["gpu"] == "h100-sxm"


def test_state_is_read_from_the_url():
    at = app(model="google/gemma-2-9b", quant="q4_k_m", context="8192", unit="GB")
    e = estimate("google/gemma-2-9b", quant="q4_k_m", context=8192, gpu="rtx-4090")
    assert metric(at, "total") == f"{e.total_bytes / 1e9:,.2f} GB"


def test_estimate_shows_the_model_card():
    at = app(model="deepseek-ai/DeepSeek-V3")
    cells = str(at.table[0].value)
    assert "MLA" in cells and "256 experts" in cells


def test_custom_architecture_form_and_its_errors():
    at = app(source="custom")
    assert metric(at, "total").endswith("GiB")
    at.sidebar.number_input(key="c_kv").set_value(5).run()
    assert not at.exception
    assert "n_heads (32) must be a multiple of n_kv_heads (5)" in at.error[0].value


def test_impossible_context_is_a_readable_message():
    at = app(page="views/compare.py", context="50000")
    assert not at.exception and len(at.dataframe) == 1  # every model shown at most at its max context


def test_table_view_colours_by_gpu():
    at = app(page="views/table.py")
    assert len(at.dataframe) == 1 and at.get("download_button")
    before = at.get("plotly_chart")[0].proto.spec
    at.sidebar.selectbox(key="gpu").set_value("rtx-4060-ti-16gb").run()
    assert at.get("plotly_chart")[0].proto.spec != before


@pytest.mark.parametrize("page", ["views/sweeps.py", "views/compare.py", "views/which_gpu.py", "views/accuracy.py"])
def test_every_view_renders(page):
    at = app(page=page)
    assert at.get("plotly_chart") or len(at.dataframe)


def test_which_gpu_changes_with_context():
    at = app(page="views/which_gpu.py", model="meta-llama/Llama-3.1-70B", quant="bf16")
    before = at.success[0].value
    at.sidebar.select_slider(key="context").set_value(131072).run()
    assert at.success[0].value != before


# Chart builders and the card are pure functions.

def test_memory_bar():
    e = estimate("llama-3-8b", context=8192)
    fig = memory_bar(e.model_dump(), unit="GiB", budget_bytes=24 * 2**30)
    assert [bar.name for bar in fig.data] == ["weights", "KV cache", "activations", "overhead"]
    assert fig.data[1].x[0] == pytest.approx(1.0)  # 1 GiB of KV at 8K tokens


def test_heatmap_marks_what_does_not_fit():
    t = table("microsoft/Phi-3-small-8k-instruct")
    fig = fit_heatmap(t, unit="GiB", budget=10.0)
    assert fig.data[0].z.tolist()[0] == [0, 0, 0, 0]  # bf16 never fits in 10 GiB
    assert fig.data[0].z.tolist()[-1] == [1, 1, 1, 1]  # q2_k always does
    assert "✗" in fig.data[0].text[0][0]


def test_sweep_lines_one_per_quant_in_the_unit():
    df = sweep("llama-3-8b", quants=["bf16", "q4_k_m"], contexts=[1024, 8192])
    fig = sweep_lines(df, x="context", y="total_bytes", unit="GB", budget=24.0)
    assert [t.name for t in fig.data] == ["bf16", "q4_k_m"]
    assert fig.data[0].y[0] == pytest.approx(df["total_bytes"].iloc[0] / 1e9)


def test_compare_bars_and_error_histogram():
    import pandas as pd

    rows = [estimate(m, context=4096).model_dump() | {"model": m} for m in ("llama-3-8b", "qwen2.5-7b")]
    fig = compare_bars(pd.DataFrame(rows), unit="GiB")
    assert list(fig.data[0].x) == ["llama-3-8b", "qwen2.5-7b"]
    hist = error_histogram(pd.DataFrame({"error_pct": [-5.0, 3.0], "what": ["decode", "ttft"]}))
    assert len(hist.data) == 2


def test_model_card_is_derived_from_the_spec():
    card = model_card(load_model("microsoft/Phi-3-small-8k-instruct"))
    assert card["parameters"] == "7.39 B" and card["license"] == "MIT" and card["context length"] == "8,192"
    assert attention_structure(load_model("microsoft/Phi-3-small-8k-instruct")).startswith("GQA 4:1, 16/32 layers")
    assert attention_structure(load_model("gemma-2-9b")).startswith("GQA 2:1, 21/42 layers sliding window 4,096")
    assert model_card(load_model("mixtral-8x7b"))["architecture"] == "MoE: 2 of 8 experts"


def test_local_gguf_file_and_a_bad_path():
    gguf = Path(__file__).parent / "fixtures" / "files" / "tiny.gguf"
    at = app(source="local file", path=str(gguf))
    assert "checkpoint" in str(at.table[0].value) and metric(at, "total").endswith("GiB")
    at = app(source="local file", path="/no/such/model.gguf")
    assert not at.exception and "no such file" in at.error[0].value
