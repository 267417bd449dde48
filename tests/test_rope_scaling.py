"""A model run beyond its config's max_position_embeddings, as rope scaling lets engines run it (Qwen3's card: 32,768
tokens natively, 131,072 with YaRN, https://huggingface.co/Qwen/Qwen3-8B), and what a context too long says."""

import pytest

from planner import WorkloadError, estimate, load_model, table, with_max_context
from tests.dashboard import app, gib, metric


def test_a_model_run_to_its_cards_rope_scaled_context():
    with pytest.raises(WorkloadError, match=r"max_context 40,960; its card lists 131,072 tokens: where rope scaling "
                                            r"gives them \(YaRN\), --max-context 131072 plans it "
                                            r"\(Python: planner.with_max_context\(model, 131072\)\)"):
        estimate("qwen3-8b", context=131072)
    spec = with_max_context("qwen3-8b", 131072)
    assert spec.max_context == 131072 and load_model("qwen3-8b").max_context == 40960  # the profile is unchanged
    e = estimate(spec, context=131072)
    # 36 layers × 8 KV heads × 128 dims × (K, V) × 2 bytes = 144 KiB a token (config.json), 18 GiB for 128K
    assert e.kv_cache_bytes == 36 * 8 * 128 * 2 * 2 * 131072 == 18 * 2**30
    assert e.weights_bytes == estimate("qwen3-8b", context=4096).weights_bytes
    assert list(table(spec, quants=["q4_k_m"]).columns)[-1] == "128K"
    v = estimate(spec, context=131072, engine="vllm", gpu="h100-sxm")  # vLLM's max_model_len defaults to it
    assert v.engine_details["max_model_len"] == 131072
    with pytest.raises(WorkloadError, match="max_context must be an integer ≥ 1, got 0"):
        with_max_context("qwen3-8b", 0)
    with pytest.raises(WorkloadError, match="max_context 16,384 is below google/gemma-3-4b-it's 131,072"):
        with_max_context("gemma-3-4b", 16384)  # not a longer run: the context of a run is `context`


def test_a_longer_checkpoint_of_the_same_shapes_is_named():
    with pytest.raises(WorkloadError, match="the bundled microsoft/Phi-3-small-128k-instruct runs it"):
        estimate("phi-3-small", context=16384)
    # the same shapes under another name are another model (an R1 distill of Qwen2.5-Coder's base): rope scaling
    with pytest.raises(WorkloadError, match="Qwen2.5-Coder-32B-Instruct's max_context 32,768; its card lists 131,072"):
        estimate("qwen2.5-coder-32b", context=131072)
    with pytest.raises(WorkloadError, match=r"max_context 8,192$"):  # Llama 3's card lists 8K only
        estimate("llama-3-8b", context=65536)


def test_the_cli_takes_max_context(capsys):
    from planner.cli import main

    assert main(["estimate", "qwen3-8b", "--context", "128K", "--max-context", "128K"]) == 0
    out = capsys.readouterr().out
    assert "the model run to 131,072 tokens (--max-context: rope scaling)" in out.splitlines()[0]
    assert "kv cache          18.00 GiB" in out
    assert main(["table", "qwen3-8b", "--max-context", "128K", "--quants", "q4_k_m"]) == 0
    assert capsys.readouterr().out.splitlines()[1].split()[-1] == "128K"
    assert main(["fit", "qwen3-8b", "--max-context", "128K", "--context", "128K", "--top", "1"]) == 0
    assert "kv_cache 18.00 GiB" in capsys.readouterr().out


def test_the_dashboard_runs_a_model_to_a_longer_context():
    at = app(model="Qwen/Qwen3-8B", context="131072", kv="bf16", quant="bf16")
    assert any("Its card lists 131,072 tokens" in e.value for e in at.error)
    at = app(model="Qwen/Qwen3-8B", context="131072", max_context="131072", kv="bf16", quant="bf16")
    assert not any("above" in e.value for e in at.error) and metric(at, "KV cache") == gib(18 * 2**30)
    assert at.query_params["max_context"] == "131072"  # in the link
    at = app(model="google/gemma-3-4b-it", max_context="16384", context="32768")  # below its own: not applied
    assert not any("above" in e.value for e in at.error)
