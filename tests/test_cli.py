"""CLI: verbs print what they promise; user errors are one line on stderr with exit code 2."""

import json
import subprocess
import sys

import pytest

from planner.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_table_for_the_seed_model(capsys):
    code, out, err = run(capsys, "table", "microsoft/Phi-3-small-8k-instruct")
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert "GiB" in lines[0] and lines[1].split() == ["1K", "2K", "4K", "8K"]
    assert [line.split()[0] for line in lines[3:]] == ["bf16", "q8_0", "q6_k", "q5_k_m", "q4_k_m", "q3_k_m", "q2_k"]


def test_estimate_json_has_api_keys(capsys):
    code, out, _ = run(capsys, "estimate", "llama-3-8b", "--quant", "q4_k_m", "--context", "8K", "--json")
    data = json.loads(out)
    assert code == 0 and data["kv_cache_bytes"] == 2**30 and data["workload"]["context"] == 8192
    assert data["total_bytes"] == sum(data[k] for k in ("weights_bytes", "kv_cache_bytes", "activation_bytes",
                                                        "overhead_bytes"))


def test_estimate_text_labels_units(capsys):
    _, out, _ = run(capsys, "estimate", "llama-3-8b", "--unit", "GB")
    assert " GB" in out and "total" in out


def test_models_lists_profiles(capsys):
    _, out, _ = run(capsys, "models")
    assert "microsoft/Phi-3-small-8k-instruct" in out and "MoE 2/8" in out


@pytest.mark.parametrize("argv,message", [
    (["estimate", "llama-3-8b", "--context", "0"], "--context: must be ≥ 1"),
    (["estimate", "llama-3-8b", "--context", "lots"], "invalid token count 'lots'"),
    (["estimate", "llama-3-8b", "--quant", "q9_k"], "unknown quant 'q9_k'"),
    (["estimate", "llama-3-8b", "--context", "64K"], "context 65536 exceeds"),
    (["estimate", "llama-3-8c"], "unknown model 'llama-3-8c'"),
    (["table", "llama-3-8b", "--unit", "TiB"], "unit 'TiB' is not one of"),
    (["frobnicate"], "invalid choice: 'frobnicate'"),
])
def test_user_errors_are_one_line_exit_2(capsys, argv, message):
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("planner: error:") and message in err


def test_python_dash_m_works():
    r = subprocess.run([sys.executable, "-m", "planner", "estimate", "phi-3-mini", "--json"],
                       capture_output=True, text=True, check=True)
    assert json.loads(r.stdout)["model"] == "microsoft/Phi-3-mini-4k-instruct"
