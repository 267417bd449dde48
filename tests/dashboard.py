"""What the dashboard tests share: the app under streamlit's test runner, its views, and how they read it."""

import sys
from pathlib import Path

import pytest

pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest  # noqa: E402

APP = Path(__file__).resolve().parents[1] / "app"
sys.path.insert(0, str(APP))

VIEWS = ["views/estimate.py", "views/table.py", "views/sweeps.py", "views/compare.py", "views/which_gpu.py",
         "views/finetune.py", "views/accuracy.py"]


@pytest.fixture(autouse=True)
def bugs_fail_the_tests(monkeypatch):
    """The dashboard shows a bug as one line; these tests want the traceback (app/safety.py guarded()). Autouse in
    every module that imports it."""
    monkeypatch.setenv("PLANNER_DEBUG", "1")


def app(page: str | None = None, *, timeout: float | None = 120, **query) -> AppTest:
    """The app run with `query` as its link (then `page`), failing on any exception; timeout None: AppTest's own
    default (3 s), for values that must be refused rather than computed."""
    at = AppTest.from_file(str(APP / "streamlit_app.py"), **({} if timeout is None else {"default_timeout": timeout}))
    at.query_params.update(query)
    at.run()
    if page:
        at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def caption(at: AppTest) -> str:
    return " ".join(c.value for c in at.caption)


def gib(n: int) -> str:
    return f"{n / 2**30:,.2f} GiB"
