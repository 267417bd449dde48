"""Decode at a fixed concurrency > 1 against published serving sweeps (benchmarks/batch_speed.py): the rows, and the
figures the check reports."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from batch_speed import errors, rows, summary  # noqa: E402
from speed_data import load_rows, predict  # noqa: E402


def test_every_sweep_row_cites_its_source_and_is_out_of_the_halves():
    runs = rows()
    assert len(runs) >= 4
    for r in runs:
        assert r["concurrency"] >= 1 and r["decode_tokens_per_s"] > 0 and r["ttft_s"] is None
        assert r["source"].startswith(("http", "github:")) and "Printed" in r["note"]
        assert r["decode_context"] == r["prompt_tokens"] + r["gen_tokens"] // 2
    # nothing fitted to them: benchmarks/data/concurrency_runs.jsonl is not among the published*.jsonl of the halves
    assert not any("concurrency" in r for r in load_rows())


def test_planner_rate_is_its_plan_at_the_concurrency_and_falls_as_it_grows():
    """The per-request rate is planner.plan's with batch = c (through speed_data.predict), and a larger batch never
    makes one request faster; the slowdown compares like with like within a sweep."""
    errs = errors()
    for x in errs:
        r = x["row"]
        assert x["planner"] == pytest.approx(predict(r)["decode"][0])
        assert x["error"] == pytest.approx(x["planner"] / r["decode_tokens_per_s"] - 1)
    nim = sorted((x for x in errs if "nvidia.com/nim" in x["row"]["source"]), key=lambda x: x["row"]["concurrency"])
    assert [x["row"]["concurrency"] for x in nim] == [1, 5, 25, 50]
    assert all(a["planner"] > b["planner"] for a, b in zip(nim, nim[1:], strict=False))
    for x in nim[1:]:
        published, planner, err = x["slowdown"]
        assert published == pytest.approx(x["row"]["decode_tokens_per_s"] / nim[0]["row"]["decode_tokens_per_s"])
        assert err == pytest.approx(planner / published - 1)
    assert "slowdown from concurrency 1" in "\n".join(summary(errs))


def test_the_stream_puts_the_arriving_prompts_in_each_step():
    """The steady stream's rate (planner.perf.serving_step_seconds over the sweep's plan) is below the plain decode
    rate at every concurrency above 1, and its error is against the same published rate."""
    for x in errors():
        r = x["row"]
        if r["concurrency"] == 1:
            assert "serving" not in x
            continue
        assert x["serving"] < x["planner"]
        assert x["serving_error"] == pytest.approx(x["serving"] / r["decode_tokens_per_s"] - 1)
