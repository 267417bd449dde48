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


@pytest.mark.parametrize("meta", sorted(LOGS.glob("*.json")), ids=lambda p: p.stem)
def test_public_logs_are_reconciled(meta):
    """Each public log (tests/fixtures/logs, with its source) gives a row per logged figure."""
    m = json.loads(meta.read_text())
    text = meta.with_suffix(".log").read_text()
    r = check_log(text, m["model"], quant=m.get("planner_quant"), gpu=m.get("planner_gpu"))
    assert r.rows and all(row.logged > 0 for row in r.rows)
