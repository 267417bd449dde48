"""planner check-log: a startup log's settings and figures read back, each beside planner's."""

import json
from pathlib import Path

import pytest

from planner import PlannerError
from planner.measure.logs import check_log, engine_of, llamacpp_quant, llamacpp_settings

LOGS = Path(__file__).parent / "fixtures" / "logs"
# llama.cpp's own lines (llama-cpp-python 0.3.36, CPU backend) for Phi-3-mini-4k q4_k_m at n_ctx 4096, recorded by
# planner.measure.llamacpp (a sparse GGUF of the architecture).
PHI3_CPU = """print_info: file type   = (guessed) Q4_K - Medium
load_tensors:   CPU_Mapped model buffer size =  2281.66 MiB
llama_context: n_seq_max             = 1
llama_context: n_ctx                 = 4096
llama_context: n_batch               = 2048
llama_context: n_ubatch              = 512
llama_context: flash_attn            = enabled
llama_context:        CPU  output buffer size =     0.12 MiB
llama_kv_cache:        CPU KV buffer size =  1536.00 MiB
llama_kv_cache: size = 1536.00 MiB (  4096 cells,  32 layers,  1/1 seqs), K (f16):  768.00 MiB, V (f16):  768.00 MiB
sched_reserve:        CPU compute buffer size =    90.64 MiB
"""


def test_settings_and_preset_come_from_the_log():
    assert engine_of(PHI3_CPU) == "llama.cpp" and llamacpp_quant(PHI3_CPU) == "q4_k_m"
    assert llamacpp_settings(PHI3_CPU) == {"n_ctx": 4096, "n_batch": 2048, "n_ubatch": 512, "n_seq_max": 1,
                                           "flash_attn": True, "type_k": "fp16", "type_v": "fp16"}


def test_a_cpu_log_is_reconciled_buffer_by_buffer():
    r = check_log(PHI3_CPU, "microsoft/Phi-3-mini-4k-instruct")
    rows = {row.figure: row for row in r.rows}
    assert abs(rows["model buffer (CPU_Mapped)"].error_pct) < 0.01 and rows["kv buffer (CPU)"].error_pct == 0
    assert rows["compute buffer (CPU)"].planner < rows["compute buffer (CPU)"].logged  # a known gap, shown


def test_a_log_of_nothing_known_is_refused_with_its_reason():
    with pytest.raises(PlannerError, match="neither llama.cpp's nor vLLM's"):
        check_log("hello\n", "meta-llama/Llama-3.1-8B")
    with pytest.raises(PlannerError, match="give --gpu"):
        check_log("INFO GPU KV cache size: 1,000 tokens\n", "meta-llama/Llama-3.1-8B")


def test_cli_check_log(tmp_path, capsys):
    from planner.cli import main

    log = tmp_path / "phi3.log"
    log.write_text(PHI3_CPU)
    assert main(["check-log", str(log), "--model", "microsoft/Phi-3-mini-4k-instruct"]) in (0, None)
    out = capsys.readouterr().out
    assert "kv buffer (CPU)" in out and "1,536.00" in out


GPU = {"RTX 3090": "rtx-3090", "H100": "h100-sxm", None: "h100-sxm"}  # 10511 logs total_gpu_memory 79.22 GiB


@pytest.mark.parametrize("meta", sorted(LOGS.glob("*.json")), ids=lambda p: p.stem)
def test_public_logs_are_reconciled_or_refused_with_the_reason(meta):
    """Each public log (tests/fixtures/logs, with its source) gives a row per logged figure, or one line that says
    why it cannot be reconciled (an SGLang log, Ollama's own estimate, a log cut before the context)."""
    m = json.loads(meta.read_text())
    text = meta.with_suffix(".log").read_text()
    try:
        r = check_log(text, m["model"], quant=m["quant"], gpu=GPU.get(m["gpu"]))
    except PlannerError as e:
        assert "\n" not in str(e) and m["engine"] in ("sglang", "ollama", "llama.cpp")
        return
    assert r.rows and all(row.logged > 0 for row in r.rows)


def test_ollama_llama_3_2_3b_buffers_match_to_the_mib():
    # ollama#8310 (tests/fixtures/logs/ollama-llama3.2-3b-q4km-8310.log): Llama-3.2-3B Q4_K_M, 29/29 layers on
    # CUDA0, n_ctx 8192 over 4 slots, f16 cache
    text = (LOGS / "ollama-llama3.2-3b-q4km-8310.log").read_text()
    rows = {row.figure: row for row in check_log(text, "meta-llama/Llama-3.2-3B", quant="q4_k_m").rows}
    assert rows["model buffer (CUDA0)"].planner == pytest.approx(1918.35, abs=0.005)
    assert rows["model buffer (CPU)"].planner == pytest.approx(308.23, abs=0.005)
    assert rows["kv buffer (CUDA0)"].planner == 896.0


def test_vllm_weights_from_public_logs():
    # vllm#10517 (Llama-3.1-8B-Instruct, RTX 3090): "Loading model weights took 14.9888 GB";
    # vllm#22331 (gpt-oss-20b, RTX 3090): 12.88 GiB
    for name, model, quant, gpu, tolerance in [("vllm-llama3.1-8b-rtx3090-10517", "meta-llama/Llama-3.1-8B", "bf16",
                                                "rtx-3090", 0.005),
                                               ("vllm-gpt-oss-20b-rtx3090-22331", "openai/gpt-oss-20b", "mxfp4",
                                                "rtx-3090", 0.01)]:
        text = (LOGS / f"{name}.log").read_text()
        rows = check_log(text, model, quant=quant, gpu=gpu).rows
        weights = next(row for row in rows if row.figure == "model weights")
        assert abs(weights.error_pct) < 100 * tolerance, (name, weights.error_pct)
