"""A batch that serves requests (batch > 1, a prompt shorter than the context): the steady stream's per-request rate,
whose decode steps also carry the prefills of the requests that replace finished ones."""

import json

import pytest

from planner import estimate
from planner.cli import main
from planner.perf import serving_step_seconds


def test_the_stream_adds_the_other_requests_prefills_to_each_decode_step():
    e = estimate("meta-llama/Llama-3.1-8B", context=2048, prompt=1024, batch=16, gpu="h100-sxm", engine="vllm")
    p = e.performance
    assert p.output_tokens == 1024
    # 15 of the 16 prompts (a request's own prefill is its time to first token) over its 1,024 decode steps
    step = p.decode_seconds_per_token + 15 / 16 * (p.prefill_seconds - p.output_lag_seconds) / 1024
    assert 1 / p.serving_decode_tokens_per_s == pytest.approx(step)
    assert p.serving_throughput_tokens_per_s == pytest.approx(16 * p.serving_decode_tokens_per_s)
    assert p.serving_decode_tokens_per_s < p.decode_tokens_per_s
    # long prompts and short answers: the prefills weigh more
    heavy = estimate("meta-llama/Llama-3.1-8B", context=8192, prompt=8000, batch=16, gpu="h100-sxm",
                     engine="vllm").performance
    assert heavy.serving_decode_tokens_per_s / heavy.decode_tokens_per_s < \
        p.serving_decode_tokens_per_s / p.decode_tokens_per_s


@pytest.mark.parametrize("kw", [dict(batch=1, prompt=1024), dict(batch=16), dict(batch=16, prompt=2048)])
def test_no_stream_without_requests_that_generate(kw):
    """One sequence, or a prompt that is the whole context (the default): no stream to describe."""
    p = estimate("meta-llama/Llama-3.1-8B", context=2048, gpu="h100-sxm", **kw).performance
    assert p.output_tokens is None and p.serving_decode_tokens_per_s is None


def test_the_step_is_a_pure_function_of_its_parts():
    assert serving_step_seconds(0.01, 2.0, 1, 500) == 0.01  # alone: nothing arrives while it decodes
    assert serving_step_seconds(0.01, 2.0, 5, 500) == pytest.approx(0.01 + 0.8 * 2.0 / 500)


def test_the_cli_prints_the_stream_and_json_carries_it(capsys):
    args = ["estimate", "meta-llama/Llama-3.1-8B", "--gpu", "h100-sxm", "--context", "2048", "--prompt", "1024",
            "--batch", "16"]
    assert main(args) in (0, None)
    out = capsys.readouterr().out
    p = estimate("meta-llama/Llama-3.1-8B", context=2048, prompt=1024, batch=16, gpu="h100-sxm").performance
    assert (f"serving 16 requests at a time, 1,024 tokens in and 1,024 out each: "
            f"{p.serving_decode_tokens_per_s:.1f} tokens/s per request (typically ±"
            f"{100 * p.typical_error['serving']:.0f} %)") in out
    # the batch's time to first token is its prompts prefilled together, not one request's
    assert "time to first token (1,024-token prompts, all 16 prefilled together)" in out
    assert main([*args, "--json"]) in (0, None)
    perf = json.loads(capsys.readouterr().out)["performance"]
    assert perf["serving_decode_tokens_per_s"] == pytest.approx(p.serving_decode_tokens_per_s)
    assert main(args[:-2]) in (0, None)
    assert "serving" not in capsys.readouterr().out


def test_a_multi_gpu_plan_gives_the_same_stream():
    """planner.plan (the analytic tensor- and pipeline-parallel split) gives the stream as estimate does."""
    from planner.parallel import plan

    p = plan("meta-llama/Llama-3.1-70B", gpu="h100-sxm", n_gpus=4, context=4096, prompt=2048, batch=8)
    assert p.output_tokens == 2048
    step = p.decode_seconds_per_token + 7 / 8 * (p.prefill_seconds - p.output_lag_seconds) / 2048
    assert 1 / p.serving_decode_tokens_per_s == pytest.approx(step)
    assert plan("meta-llama/Llama-3.1-70B", gpu="h100-sxm", n_gpus=4, context=4096,
                batch=8).serving_decode_tokens_per_s is None


def test_the_stream_carries_its_own_band_from_published_concurrency_runs():
    """The steady stream's typical error is the median |error| of its rate on the published runs at concurrency above
    1 (benchmarks/batch_speed.py, nothing fitted to them), committed as efficiency.yaml's serving band; a batch of one
    (no stream) or the user's own efficiency carries none."""
    import sys
    from pathlib import Path
    from statistics import median

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from batch_speed import errors

    runs = [abs(x["serving_error"]) for x in errors() if "serving_error" in x]
    kw = dict(context=2048, prompt=1024, gpu="h100-sxm")
    p = estimate("meta-llama/Llama-3.1-8B", batch=16, **kw).performance
    assert p.typical_error["serving"] == round(median(runs), 3) and len(runs) >= 5
    assert "serving" not in estimate("meta-llama/Llama-3.1-8B", batch=1, **kw).performance.typical_error
    own = estimate("meta-llama/Llama-3.1-8B", batch=16, efficiency=0.6, **kw).performance
    assert own.serving_decode_tokens_per_s and "serving" not in own.typical_error
