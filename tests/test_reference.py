"""The PyTorch reference model: exact parameter counts on the meta device, and the estimator's agreement with
what the reference allocates, measured with fake tensors at full model size."""

import json

import pytest

torch = pytest.importorskip("torch")

from planner import list_models, load_model  # noqa: E402
from planner.cli import main  # noqa: E402
from planner.errors import WorkloadError  # noqa: E402
from planner.reference.model import Decoder  # noqa: E402
from planner.reference.profile import measure  # noqa: E402
from planner.validate import validate  # noqa: E402

# One model per architecture family, for the extra points (every profile runs the first point).
FAMILIES = ["microsoft/Phi-3-small-8k-instruct", "meta-llama/Llama-3.1-8B", "mistralai/Mixtral-8x7B-v0.1",
            "google/gemma-2-9b", "google/gemma-3-27b-it", "Qwen/Qwen3-8B", "deepseek-ai/DeepSeek-V2-Lite",
            "openai/gpt-oss-20b", "microsoft/Phi-3.5-MoE-instruct", "meta-llama/Llama-2-7b-hf"]
TOLERANCE = {"weights_bytes": 0.005, "kv_cache_bytes": 0.005, "activation_bytes": 0.10, "total_bytes": 0.02}
# the reference model has no recurrent layers (linear attention, Mamba): transformers' own classes check those
# profiles instead (tests/test_hybrid.py, tests/test_cuda_measured.py); nor DeepSeek-V3.2's sparse-attention indexer
ATTENTION_ONLY = [m for m in list_models() if not load_model(m).recurrent and load_model(m).indexer is None]


def test_the_reference_model_refuses_what_it_does_not_implement_clearly():
    others = sorted(set(list_models()) - set(ATTENTION_ONLY))
    assert others == ["Qwen/Qwen3-Next-80B-A3B-Instruct", "Qwen/Qwen3.5-122B-A10B", "Qwen/Qwen3.5-27B",
                      "Qwen/Qwen3.5-35B-A3B", "Qwen/Qwen3.5-397B-A17B", "ai21labs/AI21-Jamba-1.5-Mini",
                      "deepseek-ai/DeepSeek-V3.2"]
    for model in others:
        with pytest.raises(WorkloadError, match="linear-attention or Mamba|sparse-attention indexer"):
            validate(model, mode="fake", context=1024)


@pytest.mark.parametrize("model", ATTENTION_ONLY)
def test_meta_device_parameter_count_equals_the_spec(model):
    spec = load_model(model)
    net = Decoder(spec, "bf16", kv_dtype="bf16", batch=1, context=1, device="meta")
    assert sum(p.numel() for p in net.weights.parameters()) == spec.param_count


def _agrees(record):
    bad = {k: record["error"][k] for k, tol in TOLERANCE.items() if abs(record["error"][k]) > tol}
    assert not bad, f"{record['model']} {record['workload']}: {bad}"


@pytest.mark.parametrize("model", ATTENTION_ONLY)
def test_estimate_agrees_with_the_reference_at_checkpoint_storage(model):
    spec = load_model(model)
    _agrees(validate(spec, mode="fake", context=min(2048, spec.max_context)))


@pytest.mark.parametrize("model", FAMILIES)
@pytest.mark.parametrize("quant,kv,context,batch", [("q4_k_m", "q8_0", 1024, 2), ("int4", "fp8", 4096, 1)])
def test_estimate_agrees_with_the_reference_quantized(model, quant, kv, context, batch):
    _agrees(validate(model, mode="fake", quant=quant, kv_dtype=kv, context=context, batch=batch))


def test_chunked_prefill_and_eager_attention_agree():
    _agrees(validate("meta-llama/Llama-3.1-8B", mode="fake", context=4096, chunk=1024))
    _agrees(validate("microsoft/Phi-3-small-8k-instruct", mode="fake", context=2048, attention="eager"))


def test_cpu_mode_runs_a_small_model_for_real():
    tiny = load_model("llama-3.2-1b").model_copy(update={"n_layers": 2, "vocab_size": 512, "d_model": 256,
                                                         "n_heads": 4, "n_kv_heads": 2, "head_dim": 64,
                                                         "d_ff": 512})
    real = measure(tiny, quant="bf16", kv_dtype="bf16", context=64, batch=2, mode="cpu")
    fake = measure(tiny, quant="bf16", kv_dtype="bf16", context=64, batch=2, mode="fake")
    assert (real.weights_bytes, real.kv_cache_bytes) == (fake.weights_bytes, fake.kv_cache_bytes)
    assert real.prefill_peak_bytes == fake.prefill_peak_bytes  # the tracker counts the same storages
    assert real.extra["seconds"] > 0


def test_real_moe_routing_runs_on_cpu():
    tiny = load_model("mixtral-8x7b").model_copy(update={"n_layers": 1, "vocab_size": 256, "d_model": 128,
                                                         "n_heads": 4, "n_kv_heads": 2, "head_dim": 32,
                                                         "moe": load_model("mixtral-8x7b").moe.model_copy(
                                                             update={"expert_d_ff": 256})})
    m = measure(tiny, quant="int8", kv_dtype="q8_0", context=32, batch=1, mode="cpu")
    assert m.weights_bytes > 0 and m.activation_bytes > 0


def test_validate_cli_prints_the_comparison_and_records(capsys, tmp_path):
    record = tmp_path / "m.jsonl"
    code = main(["validate", "microsoft/Phi-3-small-8k-instruct", "--mode", "fake", "--context", "8192",
                 "--record", str(record)])
    out = capsys.readouterr().out
    assert code == 0 and "estimated" in out and "measured" in out and "+0.0%" in out
    r = json.loads(record.read_text().splitlines()[0])
    assert set(r["estimated"]) == set(r["measured"]) == {"weights_bytes", "kv_cache_bytes", "activation_bytes",
                                                         "total_bytes"}
    assert r["workload"]["context"] == 8192 and r["device"] and r["torch"]


def test_validate_cli_json_and_cuda_without_gpu(capsys):
    assert main(["validate", "llama-3.2-1b", "--context", "512", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["mode"] == "fake"
    if not torch.cuda.is_available():
        assert main(["validate", "llama-3.2-1b", "--mode", "cuda"]) == 2
        assert "needs a CUDA GPU" in capsys.readouterr().err
