"""planner's engine="transformers" against transformers itself (planner/measure/transformers.py).

The records in profiles/measurements/transformers-fake.jsonl (scripts/measure_transformers.py: transformers 5.24's
own model classes at full size under FakeTensorMode) are re-checked against the current estimator without
transformers: weights and KV cache exact, the activation peak (and its prefill and decode parts) within 5 %. Two
small live measurements run where transformers is installed."""

import importlib.util
import json
from pathlib import Path

import pytest

from planner import estimate, load_model
from planner.errors import WorkloadError
from planner.measure.transformers import COMPARED, TOLERANCE, estimated

CONFIGS = Path(__file__).parent / "fixtures" / "configs"
PATH = Path(__file__).parents[1] / "profiles" / "measurements" / "transformers-fake.jsonl"
RECORDS = [json.loads(line) for line in PATH.read_text().splitlines()]
PARTS = ("prefill_activation_bytes", "decode_activation_bytes")
HAS_TRANSFORMERS = importlib.util.find_spec("transformers") is not None


def _id(r: dict) -> str:
    o = r["options"]
    cache = f"-static{o['max_cache_len']}" if o.get("cache") == "static" else ""
    return f"{r['model'].split('/')[-1]}-ctx{o['context']}x{o['batch']}-{o['attention']}{cache}"


def _now(r: dict) -> dict:
    o = r["options"]
    return estimated(r["model"], context=o["context"], batch=o["batch"], attention=o["attention"],
                     cache=o.get("cache", "dynamic"), max_cache_len=o.get("max_cache_len"))


def test_there_are_enough_records_of_enough_kinds():
    assert len(RECORDS) >= 30
    families = {load_model(r["model"]).model_type for r in RECORDS}
    assert families >= {"llama", "qwen2", "qwen3", "mistral", "mixtral", "phi3", "gemma2", "gpt_oss", "deepseek_v2"}
    static = [r for r in RECORDS if r["options"].get("cache") == "static"]
    assert len(static) >= 3 and {load_model(r["model"]).model_type for r in static} >= {"llama", "phi3", "gemma2"}
    assert {r["options"]["attention"] for r in RECORDS} == {"sdpa", "eager"}
    assert max(r["options"]["batch"] for r in RECORDS) > 1
    assert all(all(r["within_tolerance"].values()) for r in RECORDS)  # as measured


@pytest.mark.parametrize("record", RECORDS, ids=[_id(r) for r in RECORDS])
def test_weights_and_kv_are_exact_and_the_peak_within_tolerance(record):
    now, measured = _now(record), record["measured"]
    for key in COMPARED:
        assert abs(now[key] - measured[key]) <= TOLERANCE[key] * measured[key], (key, now[key], measured[key])
    for key in PARTS:  # the peak's two steps, each on its own
        assert abs(now[key] - measured[key]) <= TOLERANCE["activation_bytes"] * measured[key], (key, now[key],
                                                                                                measured[key])


def test_the_dynamic_cache_keeps_a_sliding_layers_whole_prompt():
    # DynamicSlidingWindowLayer keeps a view of the last 2046 tokens of the 4096-token prompt's storage:
    # Phi-3-mini's KV is 4096 tokens × 32 layers × 2 × 32 heads × 96 × 2 bytes, not capped at its window
    e = estimate("microsoft/Phi-3-mini-4k-instruct", engine="transformers", context=4096)
    assert e.kv_cache_bytes == 4096 * 32 * 2 * 32 * 96 * 2


def test_the_static_cache_holds_max_cache_len_tokens_and_sliding_layers_their_window():
    llama = estimate("meta-llama/Llama-3.1-8B", engine="transformers", context=1024, cache="static",
                     max_cache_len=4096)
    assert llama.kv_cache_bytes == 4096 * 32 * 2 * 8 * 128 * 2
    phi3 = estimate("microsoft/Phi-3-mini-4k-instruct", engine="transformers", context=1024, cache="static",
                    max_cache_len=4096)
    assert phi3.kv_cache_bytes == 2047 * 32 * 2 * 32 * 96 * 2
    dynamic = estimate("meta-llama/Llama-3.1-8B", engine="transformers", context=1024)
    assert estimate("meta-llama/Llama-3.1-8B", engine="transformers", context=1024,
                    cache="static").kv_cache_bytes == dynamic.kv_cache_bytes  # max_cache_len defaults to the context


def test_classes_without_sdpa_run_eager_attention():
    e = estimate("google/gemma-2-9b", engine="transformers", context=1024, attention="sdpa")
    assert e.engine_details["attention_used"] == "eager"
    assert e.activation_bytes == estimate("google/gemma-2-9b", engine="transformers", context=1024,
                                          attention="eager").activation_bytes


def test_deepseek_keeps_its_router_in_fp32():
    # 26 MoE layers × 64 experts × 2048 columns, 2 bytes more each than bf16
    e = estimate("deepseek-ai/DeepSeek-V2-Lite", engine="transformers", quant="bf16", context=1024)
    assert e.engine_details["fp32_router_bytes"] == 26 * 64 * 2048 * 2


@pytest.mark.parametrize("options,message", [
    ({"cache": "paged"}, "option cache must be one of dynamic, static, got 'paged'"),
    ({"max_cache_len": 4096}, "max_cache_len sizes a static cache"),
    ({"cache": "static", "max_cache_len": 512}, "max_cache_len \\(512\\) must hold the context \\(1024 tokens\\)"),
    ({"cache": "static", "max_cache_len": 0}, "max_cache_len must be an integer"),
    ({"n_ubatch": 512}, "engine 'transformers' has no option 'n_ubatch'; it takes cache, max_cache_len"),
    ({"cache": "static", "kv_dtype": "int4"}, "StaticCache holds the model's dtype"),
])
def test_bad_transformers_options_name_the_option(options, message):
    with pytest.raises(WorkloadError, match=message):
        estimate("meta-llama/Llama-3.1-8B", engine="transformers", context=1024, **options)


@pytest.mark.skipif(not HAS_TRANSFORMERS, reason="transformers is not installed")
@pytest.mark.parametrize("model,options", [
    ("meta-llama/Llama-3.2-1B", {"context": 1024, "batch": 1}),
    ("microsoft/Phi-3-mini-4k-instruct", {"context": 1024, "batch": 1, "cache": "static", "max_cache_len": 4096}),
])
def test_a_live_measurement_agrees_with_planner(model, options):
    from planner.measure.transformers import record

    r = record(model, CONFIGS / f"{model.replace('/', '__')}.json", **options)
    assert r["within_tolerance"] == {key: True for key in COMPARED}, r["error_pct"]
    for key in ("weights_bytes", "kv_cache_bytes"):
        assert r["estimated"][key] == r["measured"][key], (key, r["estimated"][key], r["measured"][key])


def test_cli_validate_against_transformers_refuses_what_it_cannot_measure(capsys, tmp_path):
    from planner.cli import main

    junk = tmp_path / "config.json"
    junk.write_text("not json")
    assert main(["validate", str(junk), "--against", "transformers"]) == 2
    assert "not valid JSON" in capsys.readouterr().err

    assert main(["validate", "qwen2.5-7b", "--against", "transformers", "--quant", "q4_k_m"]) == 2
    assert "measures the bf16 checkpoint" in capsys.readouterr().err
    # a bundled profile derived from another's config has no config.json of its own in this checkout
    assert main(["validate", "microsoft/Phi-3-small-128k-instruct", "--against", "transformers"]) == 2
    assert "give its path as MODEL" in capsys.readouterr().err


@pytest.mark.skipif(not HAS_TRANSFORMERS, reason="transformers is not installed")
def test_cli_validate_against_transformers_prints_each_component(capsys):
    from planner.cli import main

    assert main(["validate", "meta-llama/Llama-3.2-1B", "--against", "transformers", "--context", "1K",
                 "--cache", "static", "--max-cache-len", "2K"]) == 0
    out = capsys.readouterr().out
    assert "static cache" in out and "kv_cache" in out and "outside tolerance" not in out
