"""The command line under hostile and careless input: one line on stderr, exit code 2, never a traceback."""

from __future__ import annotations

import json

import pytest

from planner.cli import main

LLAMA = "meta-llama/Meta-Llama-3-8B"


def _files(tmp_path):
    """Hostile model files a user might point the CLI at."""
    nested = tmp_path / "nested"
    nested.mkdir()
    (nested / "config.json").write_text('{"a": ' * 50_000 + "1" + "}" * 50_000)
    infinite = tmp_path / "infinite"
    infinite.mkdir()
    config = {"model_type": "llama", "num_hidden_layers": 2, "hidden_size": 64, "num_attention_heads": 4,
              "intermediate_size": 128, "vocab_size": 100, "max_position_embeddings": 256}
    (infinite / "config.json").write_text(json.dumps(config).replace('"hidden_size": 64', '"hidden_size": Infinity'))
    zero_heads = tmp_path / "zero_heads"
    zero_heads.mkdir()
    (zero_heads / "config.json").write_text(json.dumps({**config, "num_attention_heads": 0}))
    deep = tmp_path / "deep"
    deep.mkdir()
    (deep / "config.json").write_text(json.dumps({**config, "num_hidden_layers": 10**9}))
    return {"nested": nested, "infinite": infinite, "zero_heads": zero_heads, "deep": deep}


CASES = [
    # wrong verdict inputs and contradictions
    ["estimate", LLAMA, "--context", "8K", "--engine", "vllm", "--max-model-len", "4K", "--gpu", "rtx-4090"],
    ["estimate", LLAMA, "--engine", "vllm", "--kv-dtype", "q4_0", "--gpu", "rtx-4090"],
    ["estimate", LLAMA, "--engine", "llama.cpp", "--kv-dtype", "int4"],
    ["estimate", LLAMA, "--engine", "llama.cpp", "--quant", "awq"],
    ["estimate", LLAMA, "--engine", "vllm", "--gpu", "m2-ultra"],
    ["estimate", LLAMA, "--engine", "vllm", "--gpu", "h100-sxm", "--gpu-memory-utilization", "nan"],
    ["estimate", LLAMA, "--engine", "vllm", "--gpu", "h100-sxm", "--gpu-memory-utilization", "inf"],
    ["estimate", LLAMA, "--engine", "llama.cpp", "--quant", "q4_k_m", "--batch", "4", "--parallel", "2"],
    ["estimate", LLAMA, "--engine", "llama.cpp", "--quant", "q4_k_m", "--batch", "300"],
    ["estimate", LLAMA, "--engine", "llama.cpp", "--quant", "q4_k_m", "--context", "4K", "--n-ctx", "4K",
     "--parallel", "2"],
    ["fit", LLAMA, "--context", "8K", "--min-tokens-per-s", "nan"],
    ["fit", LLAMA, "--context", "8K", "--min-tokens-per-s", "-5"],
    # bounds
    ["estimate", LLAMA, "--batch", str(2**56), "--gpu", "rtx-4090"],
    ["estimate", LLAMA, "--batch", str(10**13)],
    ["estimate", LLAMA, "--context", "9" * 400],
    ["estimate", LLAMA, "--context", "0"],
    ["estimate", LLAMA, "--context", "-5"],
    ["estimate", LLAMA, "--context", "1e3"],
    ["estimate", LLAMA, "--unit", "TiB"],
    ["estimate", LLAMA, "--gpu", "rtx-9999"],
    ["estimate", LLAMA, "--quant", "q4_k_z"],
    ["table", LLAMA, "--quants", ",,"],
    ["table", LLAMA, "--contexts", "0"],
    # names and paths
    ["estimate", "no-such-model"],
    ["estimate", "~nosuchuser/model"],
    ["estimate", "a" * 300],
    ["estimate", "a/" * 3000],
    ["estimate", "x-00001-of-00000.gguf"],
    ["estimate", "missing.gguf"],
    ["estimate", "missing/config.json"],
    ["estimate", ""],
    # files
    ["estimate", "{nested}"],
    ["estimate", "{infinite}"],
    ["estimate", "{zero_heads}"],
    ["estimate", "{deep}"],
    # argument parsing
    ["estimate"],
    ["nosuchverb"],
    ["estimate", LLAMA, "--engine", "tgi"],
    ["estimate", LLAMA, "--no-such-flag"],
]


@pytest.mark.parametrize("argv", CASES, ids=[" ".join(a)[:60] for a in CASES])
def test_cli_error_is_one_line_and_exit_code_2(argv, tmp_path, capsys):
    files = _files(tmp_path)
    argv = [a.format(**files) if a.startswith("{") else a for a in argv]
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("planner: error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err and len(err) < 600


def test_deep_config_is_refused_in_milliseconds(tmp_path, capsys):
    import time

    files = _files(tmp_path)
    start = time.perf_counter()
    assert main(["estimate", str(files["deep"])]) == 2
    assert time.perf_counter() - start < 1.0  # a 10^9-layer config: refused before any per-layer work
    assert "num_hidden_layers" in capsys.readouterr().err
