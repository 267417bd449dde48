"""Dashboard: every view runs, and changing the model or context changes the figures shown."""

import sys
from pathlib import Path

import pytest

pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest  # noqa: E402

APP = Path(__file__).resolve().parents[1] / "app"
sys.path.insert(0, str(APP))
from charts import fit_heatmap, memory_bar  # noqa: E402

from planner import estimate, table  # noqa: E402


def app() -> AppTest:
    return AppTest.from_file(str(APP / "streamlit_app.py"), default_timeout=60).run()


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def test_estimate_view_changes_with_model_context_and_gpu():
    at = app()
    assert not at.exception
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


def test_table_view_renders():
    at = app()
    at.switch_page("views/table.py").run()
    assert not at.exception and len(at.dataframe) == 1


def test_memory_bar_is_pure():
    e = estimate("llama-3-8b", context=8192)
    fig = memory_bar(e.model_dump(), unit="GiB", budget_bytes=24 * 2**30)
    assert [bar.name for bar in fig.data] == ["weights", "KV cache", "activations", "overhead"]
    assert fig.data[1].x[0] == pytest.approx(1.0)  # 1 GiB of KV at 8K tokens


def test_heatmap_marks_what_does_not_fit():
    t = table("microsoft/Phi-3-small-8k-instruct")
    fig = fit_heatmap(t, unit="GiB", budget=10.0)
    assert fig.data[0].z.tolist()[0] == [0, 0, 0, 0]  # bf16 never fits in 10 GiB
    assert fig.data[0].z.tolist()[-1] == [1, 1, 1, 1]  # q2_k always does
