"""Screenshots of the dashboard's main views for README (docs/screenshots/*.png).

    python scripts/screenshots.py     # needs Debian's chromium and Python playwright (never `playwright install`)
"""

from __future__ import annotations

import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "app"))
from serve import CHROMIUM_ARGS, dashboard  # noqa: E402

OUT = ROOT / "docs" / "screenshots"
PORT = 8597
VIEWS = {  # file name → path and query string (the dashboard's own links)
    "estimate": "?quant=int4&context=8192",
    "table": "table",
    "sweeps": "sweeps?model=meta-llama/Llama-3.1-8B&gpu=h100-sxm",
    "which_gpu": "which_gpu?model=meta-llama/Llama-3.1-70B&quant=q4_k_m&context=32768",
    "compare": "compare?quant=int4&context=8192",
    "accuracy": "accuracy",
    "finetune": "finetune?model=meta-llama/Llama-3.1-8B&method=qlora&seq_len=4096",
}
PHONE = {"phone-table": "table"}  # 390 × 844, as a phone shows it


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with dashboard(PORT) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        for views, size in ((VIEWS, {"width": 1440, "height": 900}), (PHONE, {"width": 390, "height": 844})):
            page = browser.new_page(viewport=size)
            for name, path in views.items():
                page.goto(f"{url}/{path}")
                page.wait_for_selector('[data-testid="stHeading"]', timeout=60_000)
                page.wait_for_timeout(3000)  # let plotly finish drawing
                page.screenshot(path=str(OUT / f"{name}.png"), full_page=False)
                print(f"wrote {OUT / f'{name}.png'}")
        browser.close()


if __name__ == "__main__":
    main()
