"""Dashboard, Check a log: a pasted startup log gives the table of logged and planner figures with their errors; a
log planner cannot reconcile gives one readable message, never a traceback."""

import sys
from pathlib import Path

import pytest

pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "app"
LOGS = ROOT / "tests" / "fixtures" / "logs"
sys.path.insert(0, str(APP))
PAGE = "views/check_log.py"


@pytest.fixture(autouse=True)
def _bugs_fail_the_tests(monkeypatch):
    monkeypatch.setenv("PLANNER_DEBUG", "1")


def view() -> AppTest:
    at = AppTest.from_file(str(APP / "streamlit_app.py"), default_timeout=120)
    at.run()
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    return at


def paste(at: AppTest, text: str, **picks) -> AppTest:
    for key, value in picks.items():
        at.selectbox(key=key).set_value(value)
    at.text_area(key="log_text").input(text).run()
    assert not at.exception, at.exception
    return at


def table(at: AppTest):
    return at.dataframe[0].value


def test_an_empty_box_says_what_to_paste():
    at = view()
    assert at.title[0].value == "Check a log"
    assert "Paste a log" in at.info[0].value and not at.error
    assert [s.key for s in at.selectbox if s.key.startswith("log_")] == ["log_model", "log_quant", "log_gpu"]


def test_a_log_that_names_everything_needs_no_picker():
    at = paste(view(), (LOGS / "ollama-llama3.1-70b-q4_0-6279.log").read_text())
    df = table(at)
    assert list(df.columns) == ["Figure", "Unit", "Log", "planner", "Error (%)", "Line"]  # notes in full below
    row = df.set_index("Figure").loc["model size (GGUF tensors)"]
    assert abs(row["Error (%)"]) < 0.05 and row["Line"] == 8
    said = " ".join(c.value for c in at.caption)
    assert "meta-llama/Llama-3.1-70B" in at.subheader[0].value and "q4" in said and "rtx-4090" in said


def test_pickers_fill_in_what_the_log_does_not_say():
    text = (LOGS / "vllm-llama3.1-8b-rtx3090-10517.log").read_text()
    at = paste(view(), text)
    assert "give --model" in at.error[0].value  # the log names no model
    at = paste(view(), text, log_model="meta-llama/Llama-3.1-8B")
    df = table(at).set_index("Figure")
    assert abs(df.loc["model weights", "Error (%)"]) < 0.5
    logged = df.loc["KV bytes per token", "Log"]  # a count, shown whole
    assert "." not in logged and int(logged.replace(",", "")) == pytest.approx(131072, rel=0.002)
    assert at.metric[0].label == "median |error|"


def test_a_log_planner_cannot_reconcile_is_one_message():
    at = paste(view(), (LOGS / "llama.cpp-ik-gpt-oss-20b-822.log").read_text(), log_model="openai/gpt-oss-20b")
    assert len(at.error) == 1 and "line 3" in at.error[0].value and "ik_llama.cpp" in at.error[0].value
    assert not at.dataframe
    at = paste(view(), "hello, world")
    assert "neither llama.cpp" in at.error[0].value
