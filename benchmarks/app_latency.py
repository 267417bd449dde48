"""Dashboard server time per interaction (target < 300 ms), measured with Streamlit's AppTest.

    python benchmarks/app_latency.py

Each view is opened, then re-run after changing the model, the context and the GPU; the figure is the
wall time of each AppTest run (server side: script execution, no browser).
"""

from __future__ import annotations

import time
from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = Path(__file__).resolve().parents[1] / "app" / "streamlit_app.py"
MODELS = ["meta-llama/Llama-3.1-405B", "deepseek-ai/DeepSeek-V3", "microsoft/Phi-3-small-8k-instruct"]


def timed(at: AppTest) -> float:
    t0 = time.perf_counter()
    at.run()
    if at.exception:
        raise RuntimeError(at.exception[0].value)
    return time.perf_counter() - t0


INTERACTIONS = {  # view → (widget, key, values) changed one after another
    "views/estimate.py": [("selectbox", "model", MODELS), ("select_slider", "context", [1024, 8192]),
                          ("selectbox", "gpu", ["h100-sxm", "rtx-4090"])],
    "views/table.py": [("selectbox", "model", MODELS), ("selectbox", "gpu", ["h100-sxm", "rtx-4090"])],
    "views/sweeps.py": [("selectbox", "model", MODELS), ("selectbox", "gpu", ["h100-sxm", "rtx-4090"])],
    "views/compare.py": [("number_input", "context", [4096, 32768]), ("selectbox", "gpu", ["h100-sxm"])],
    "views/which_gpu.py": [("selectbox", "model", MODELS), ("select_slider", "context", [1024, 8192])],
    "views/accuracy.py": [],
}


def main() -> None:
    worst = 0.0
    for view, steps in INTERACTIONS.items():
        at = AppTest.from_file(str(APP), default_timeout=120)
        at.run()
        at.switch_page(view)
        first = timed(at)
        slowest, what = 0.0, "—"
        for widget, key, values in steps:
            for value in values:
                getattr(at.sidebar, widget)(key=key).set_value(value)
                t = timed(at)
                if t > slowest:
                    slowest, what = t, f"{key}={value}"
        worst = max(worst, slowest)
        print(f"{view:22s} first open {1000 * first:6.0f} ms   slowest interaction {1000 * slowest:6.0f} ms ({what})")
    print(f"slowest interaction overall: {1000 * worst:.0f} ms (target < 300 ms)")


if __name__ == "__main__":
    main()
