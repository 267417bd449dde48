"""One real-browser pass over the dashboard: headless Chromium (Debian's package) driven by Playwright."""

import shutil
import socket
import sys
from pathlib import Path

import pytest

playwright = pytest.importorskip("playwright.sync_api")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "app"))
from serve import CHROMIUM_ARGS, dashboard  # noqa: E402


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server():
    with dashboard(_free_port()) as url:
        yield url


def _total(page) -> str:
    metric = page.locator('[data-testid="stMetric"]').filter(has_text="total").first
    return metric.locator('[data-testid="stMetricValue"]').inner_text()


def test_change_model_and_context_in_a_real_browser(server, tmp_path):
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(server)
        page.wait_for_selector('[data-testid="stMetric"]', timeout=60_000)
        first = _total(page)
        assert first.endswith("GiB")

        model = page.locator('[data-testid="stSelectbox"]').filter(has_text="Model").last
        model.click()
        page.keyboard.type("Meta-Llama-3-8B")
        page.keyboard.press("Enter")
        page.wait_for_function(f"""() => [...document.querySelectorAll('[data-testid="stMetric"]')]
            .some(m => m.innerText.includes('total') && !m.innerText.includes({first!r}))""", timeout=60_000)
        after_model = _total(page)
        assert after_model != first
        assert "Meta-Llama-3-8B" in page.url

        slider = page.locator('[data-testid="stSlider"] input[type="range"]').first
        slider.focus()
        page.keyboard.press("ArrowRight")
        page.wait_for_function(f"""() => [...document.querySelectorAll('[data-testid="stMetric"]')]
            .some(m => m.innerText.includes('total') && !m.innerText.includes({after_model!r}))""", timeout=60_000)
        assert _total(page) != after_model
        page.screenshot(path=str(tmp_path / "estimate.png"), full_page=True)
        assert (tmp_path / "estimate.png").stat().st_size > 10_000
        browser.close()
