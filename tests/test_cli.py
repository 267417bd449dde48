"""CLI: verbs print what they promise; user errors are one line on stderr with exit code 2."""

import json
import subprocess
import sys
from pathlib import Path

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
    # llama.cpp cannot convert Phi3SmallForCausalLM (ggml-org/llama.cpp#7922), so no GGUF of it exists: by default
    # its rows are the formats SGLang and transformers (vLLM before 0.10) run it in, and the table says why
    assert [line.split()[0] for line in lines[3:-1]] == ["bf16", "fp8", "int8", "int4"]
    assert lines[-1].startswith("note: llama.cpp has no Phi3SmallForCausalLM") and "formats SGLang" in lines[-1]
    code, out, _ = run(capsys, "table", "microsoft/Phi-3-small-8k-instruct", "--quants", "bf16,fp8,int8,int4")
    assert code == 0 and "note:" not in out
    code, out, _ = run(capsys, "table", "microsoft/Phi-3-small-8k-instruct", "--quants", "bf16,q4_k_m")
    assert "its GGUF rows are what such a file would take" in out and "--quants bf16,fp8" in out
    code, out, _ = run(capsys, "estimate", "microsoft/Phi-3-small-8k-instruct", "--quant", "q4_k_m")
    assert code == 0 and "these figures are what such a file would take" in out.splitlines()[-1]
    code, out, _ = run(capsys, "table", "llama-3.1-8b")
    lines = out.splitlines()
    assert code == 0 and "note:" not in out  # llama.cpp runs Llama: the common GGUF presets beside bf16
    assert [line.split()[0] for line in lines[3:]] == ["bf16", "q8_0", "q6_k", "q5_k_m", "q4_k_m", "q3_k_m", "q2_k"]


def test_table_contexts_apart_or_comma_separated(capsys):
    rows = []
    for given in (["4K", "8,192"], ["4096,8K"]):  # 8,192 is one number; 4096,8K two, as --quants takes its list
        code, out, _ = run(capsys, "table", "llama-3.1-8b", "--quants", "q4_k_m", "--contexts", *given)
        assert code == 0
        rows.append(out.splitlines()[1:])
    assert rows[0] == rows[1] and rows[0][0].split() == ["4K", "8K"]
    code, out, _ = run(capsys, "estimate", "llama-3.1-8b", "--context", "8.5K")  # 8.5 × 1,024 tokens
    assert code == 0 and "context 8,704" in out.splitlines()[0]


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
    (["estimate", "llama-3-8b", "--context", "lots"], "argument --context: must be a whole number ≥ 1, got 'lots'"),
    (["estimate", "llama-3-8b", "--batch", "1.5"], "argument --batch: must be a whole number ≥ 1, got '1.5'"),
    (["estimate", "llama-3-8b", "--quant", "q9_k"], "unknown quant 'q9_k'"),
    (["estimate", "llama-3-8b", "--context", "64K"], "context 65,536 exceeds"),
    (["estimate", "llama-3-8c"], "unknown model 'llama-3-8c'"),
    (["table", "llama-3-8b", "--unit", "TiB"], "unit 'TiB' is not one of"),
    (["frobnicate"], "invalid choice: 'frobnicate'"),
    # a comma that does not group thousands is refused, not dropped: 409,632,768 tokens, 245 GiB
    (["estimate", "llama-3-8b", "--context", "4096,8192"], "--context: must be one whole number, got '4096,8192'"),
    (["table", "llama-3-8b", "--contexts", "4K,8,192"], "'4K,8,192' is ambiguous: '8,192' may be one number or two"),
    (["table", "llama-3-8b", "--contexts", "1,5K"], "'1,5K' is ambiguous: '1,5K' may be one number or two"),
    (["estimate", "qwen3-8b", "--engine", "ollama", "--max-context", "128K"], "--max-context does not apply to Ollama"),
    (["fit", "qwen3-8b", "--train", "--gpu", "h100-sxm", "--max-context", "128K"],
     "--max-context does not apply to fit --train"),
    # an option of the other mode is refused, not ignored
    (["fit", "qwen3-8b", "--train", "--gpu", "h100-sxm", "--context", "8K"], "--context does not apply to fit --train"),
    (["fit", "qwen3-8b", "--seq-len", "4096"], "--seq-len does not apply to fit inference (no --train); it sizes"),
    (["fit", "qwen3-8b", "--gpu", "l4", "--micro-batch", "2"], "--micro-batch does not apply to fit inference"),
    (["estimate", "llama-3-8b", "--context", "8.3K"], "must be a whole number of tokens, got '8.3K' (8,499.2)"),
    (["estimate", "llama-3-8b", "--gpu-memory", "24,5GiB", "--gpu-bandwidth", "1008GB/s"],
     "--gpu-memory must be a size such as 24GiB or 1008GB, got '24,5GiB'"),
    # an engine option's bound names the flag that set it, not its Python name
    (["estimate", "llama-3-8b", "--engine", "vllm", "-tp", "2000", "--gpu", "h100-sxm"],
     "planner: error: --tensor-parallel-size must be at most 1,024, got 2,000"),
    (["estimate", "llama-3-8b", "--engine", "sglang", "--tp-size", "2000", "--gpu", "h100-sxm"],
     "planner: error: --tp-size must be at most 1,024, got 2,000"),
    (["estimate", "llama-3-8b", "--engine", "llama.cpp", "--quant", "q4_k_m", "--parallel", "2000000"],
     "planner: error: --parallel must be at most 256, got 2,000,000"),
])
def test_user_errors_are_one_line_exit_2(capsys, argv, message):
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("planner: error:") and message in err


def test_python_dash_m_works():
    r = subprocess.run([sys.executable, "-m", "planner", "estimate", "phi-3-mini", "--json"],
                       capture_output=True, text=True, check=True)
    assert json.loads(r.stdout)["model"] == "microsoft/Phi-3-mini-4k-instruct"


def test_estimate_with_gpu_prints_fit_ttft_and_speed(capsys):
    code, out, _ = run(capsys, "estimate", "meta-llama/Meta-Llama-3-8B", "--quant", "q4_k_m", "--gpu", "rtx-4090")
    assert code == 0 and "rtx-4090: fits" in out and "time to first token" in out and "tokens/s" in out


def test_fit_largest_context_per_quant(capsys):
    code, out, _ = run(capsys, "fit", "microsoft/Phi-3-small-8k-instruct", "--gpu", "rtx-4060-ti-16gb")
    lines = out.splitlines()
    assert code == 0 and "largest context" in lines[0]
    assert [line.split()[0] for line in lines[2:6]] == ["bf16", "fp8", "int8", "int4"]  # no GGUF of it exists
    assert lines[6].startswith("note: each speed is at its row's own largest context")  # 1,406 and 8,192 tokens
    assert lines[-1].startswith("note: llama.cpp has no Phi3SmallForCausalLM")
    code, out, _ = run(capsys, "fit", "llama-3.1-8b", "--gpu", "rtx-4060-ti-16gb")
    rows = [line.split()[0] for line in out.splitlines()[2:] if not line.startswith("note:")]
    assert rows == ["bf16", "fp8", "q8_0", "int8", "q6_k", "q5_k_m", "q4_k_m", "int4", "q3_k_m", "q2_k"]  # fit's
    assert out.splitlines()[-1].startswith("note: GGUF rows hold every layer on the GPU")


def test_fit_ranks_gpus_for_a_target(capsys):
    code, out, _ = run(capsys, "fit", "llama-3-8b", "--context", "8K", "--min-tokens-per-s", "100", "--top", "3")
    lines = out.splitlines()
    assert code == 0 and len(lines) == 6 and lines[1].startswith("ranked by GPU count, then memory per GPU")
    assert lines[0].startswith("llama-3-8b: GPUs and formats that fit 8,192 tokens × batch 1; one GPU as the plain")
    # a GGUF format splits over GPUs by layers as llama.cpp does, the others tensor-parallel
    code, out, _ = run(capsys, "fit", "meta-llama/Llama-3.1-70B", "--context", "4K", "--gpu", "rtx-4090")
    rows = {tuple(line.split()[1:4]) for line in out.splitlines()[2:] if line.startswith("rtx-4090")}
    assert ("2", "layers", "q4_k_m") in rows and ("2", "tensor", "int4") in rows
    code, out, _ = run(capsys, "fit", "microsoft/Phi-3-small-8k-instruct", "--context", "8K", "--top", "40")
    lines = out.splitlines()
    assert code == 0 and lines[-1].startswith("note: llama.cpp has no Phi3SmallForCausalLM")
    rows = [line for line in lines[3:] if not line.startswith(("note:", " "))]
    # no GGUF of it exists; int4 and int8 on an Apple GPU are MLX's own
    assert {line.split()[3] for line in rows} <= {"bf16", "fp8", "int8", "int4", "mlx-4bit", "mlx-8bit"}


def test_unknown_gpu_is_one_line_exit_2(capsys):
    code, _, err = run(capsys, "estimate", "llama-3-8b", "--gpu", "rtx-4900")
    assert code == 2 and "unknown gpu 'rtx-4900'" in err and err.count("\n") == 1


def test_gpus_lists_catalog(capsys):
    code, out, _ = run(capsys, "gpus")
    assert code == 0 and "h100-sxm" in out and "m2-ultra" in out


def test_a_vllm_v0_release_shows_its_engine_loop_in_the_speed(capsys):
    args = ("estimate", "meta-llama/Llama-3.1-8B", "--gpu", "h100-sxm", "--engine", "vllm", "--context", "4096",
            "--prompt", "1024")
    code, out, err = run(capsys, *args, "--engine-version", "0.6.3")
    assert code == 0 and err == "" and "ms of the V0 engine's host loop" in out
    assert "the first token also waits" in out and "async output processing" in out
    code, out, _ = run(capsys, *args)  # the current release runs V1
    assert code == 0 and "host loop" not in out and "first token also waits" not in out
    code, out, _ = run(capsys, *args, "--engine-version", "0.6.3", "--json")
    perf = json.loads(out)["performance"]
    assert perf["engine_loop_seconds"] > 0
    assert perf["output_lag_seconds"] == pytest.approx(perf["decode_seconds_per_token"])
    assert perf["decode_seconds_per_token"] == pytest.approx(1 / perf["decode_tokens_per_s"])


def test_vllm_on_several_gpus_shows_nccls_memory_and_whether_the_release_charges_it(capsys):
    # releases before 0.11 charge NCCL's communicators (outside PyTorch) against the budget; from 0.11 they sit
    # beside it. planner.engines.nccl derives them from NCCL's source: at TP4 on H100s under vLLM 0.7.3 (NCCL 2.21.5)
    # rank 0 holds two communicators' ring (24 channels × 12 MiB), chain end (24 × 10 MiB) and NVLS buffers
    # (24 × 2 × 3 MiB × 4) and the gathered logits' receive buffers (3 peers × 32 channels × 10 MiB)
    args = ("estimate", "meta-llama/Llama-3.1-70B", "--engine", "vllm", "--tensor-parallel-size", "4", "--gpu",
            "h100-sxm", "--context", "8192")
    code, out, _ = run(capsys, *args, "--engine-version", "0.7.3")
    mib = 2 * (24 * 12 + 24 * 10 + 24 * 2 * 3 * 4) + 3 * 32 * 10
    assert mib == 3168
    assert code == 0 and f"NCCL's communicators: {mib / 1024:.2f} GiB per GPU outside PyTorch's pool, charged" in out
    assert "not counted" not in out
    code, out, _ = run(capsys, *args)  # 0.11+: distributed init is part of the baseline
    assert code == 0 and "beside the budget" in out
    code, out, _ = run(capsys, "estimate", "meta-llama/Llama-3.1-8B", "--engine", "vllm", "--gpu", "h100-sxm",
                       "--engine-version", "0.7.3")
    assert code == 0 and "NCCL" not in out  # one GPU: no communicator
    code, out, _ = run(capsys, "estimate", "meta-llama/Llama-3.1-70B", "--engine", "vllm", "--tensor-parallel-size",
                       "4", "--gpu", "mi300x", "--context", "8192", "--engine-version", "0.7.3")
    assert code == 0 and "not counted: the collective library's memory (RCCL on AMD GPUs" in out


def test_a_split_over_pcie_linked_gpus_says_its_all_reduce_rate(capsys):
    args = ("estimate", "meta-llama/Llama-3.1-70B", "--engine", "vllm", "--tensor-parallel-size", "4", "--context",
            "8192", "--max-model-len", "8192", "--gpu")
    code, out, _ = run(capsys, *args, "l40s")
    assert code == 0 and "all-reduces over PCIe 4.0 x16 taken at 25.6 GB/s each way" in out
    code, out, _ = run(capsys, *args, "h100-sxm")
    assert code == 0 and "all-reduces over" not in out  # NVLink
    # a fit table says it once, with the GPU counts it holds for
    code, out, _ = run(capsys, "fit", "meta-llama/Llama-3.1-70B", "--context", "8K", "--gpu", "rtx-4090")
    note = [line for line in out.splitlines() if "all-reduces over" in line]
    assert code == 0 and len(note) == 1
    assert note[0].startswith("  2 × rtx-4090, 4 × rtx-4090, 8 × rtx-4090: all-reduces over PCIe 4.0 x16")


def test_vllm_enforce_eager_is_a_flag_and_said(capsys):
    code, out, _ = run(capsys, "estimate", "Qwen/Qwen2.5-7B", "--engine", "vllm", "--gpu", "l40s", "--enforce-eager")
    assert code == 0 and "enforce_eager: no CUDA graphs, the model run uncompiled" in out
    assert "CUDA graphs estimated" not in out  # 0.33 estimates none with enforce_eager
    code, out, _ = run(capsys, "estimate", "Qwen/Qwen2.5-7B", "--engine", "vllm", "--gpu", "l40s")
    assert code == 0 and "CUDA graphs estimated at" in out and "enforce_eager" not in out


def test_offloaded_experts_print_the_ram_bandwidth_decode_reads_them_at(capsys):
    """With experts in system RAM the estimate says what it assumed for that RAM's bandwidth (a desktop's two
    channels of DDR5-4800) and how to give yours; --host-bandwidth replaces it, and speeds the decode up."""
    args = ("estimate", "openai/gpt-oss-120b", "--quant", "mxfp4_moe", "--engine", "llama.cpp", "--gpu", "rtx-4090",
            "--context", "8192", "--n-cpu-moe", "26")
    code, out, _ = run(capsys, *args)
    assert code == 0
    assert "at its bandwidth: 76.8 GB/s, a desktop's two channels of DDR5-4800 (--host-bandwidth for yours)" in out
    _, fast, _ = run(capsys, *args, "--host-bandwidth", "307.2GB/s")
    assert "at its bandwidth: 307.2 GB/s\n" in fast

    def decode(text):
        return float(text.split("decode: ")[1].split(" tokens/s")[0])

    assert decode(fast) > 2 * decode(out)


def test_a_moe_prefill_split_over_gpus_says_what_sglangs_runs_add(capsys):
    """The SGLang MoE split prefill time is part of the time to first token, and the estimate names it."""
    from planner.efficiency import moe_prefill_split

    fixed = moe_prefill_split("sglang").moe_prefill_split_s
    args = ("estimate", "deepseek-ai/DeepSeek-V3", "--quant", "fp8-block", "--engine", "sglang", "--tp-size", "8",
            "--gpu", "h200", "--prompt", "1000", "--context", "4096")
    code, out, _ = run(capsys, *args)
    assert code == 0 and f"the first token includes {fixed:.3f} s that sglang's published runs" in out
    code, dense, _ = run(capsys, "estimate", "meta-llama/Llama-3.1-70B", "--engine", "sglang", "--tp-size", "8",
                         "--gpu", "h200", "--context", "4096")
    assert code == 0 and "the first token includes" not in dense


def test_the_overhead_on_amd_and_apple_gpus_says_it_is_cudas(capsys):
    """planner's runtime overhead (the CUDA context and kernels) was measured on an H200: on a Radeon or an Apple GPU
    the estimate says so, and how to leave it out; on NVIDIA's it says nothing."""
    for gpu, runtime in (("rx-7900-xtx", "ROCm's HIP runtime"), ("m2-ultra", "Apple's Metal")):
        code, out, _ = run(capsys, "estimate", "llama-3.1-8b", "--quant", "q4_k_m", "--gpu", gpu)
        assert code == 0 and f"the overhead is CUDA's, measured on an NVIDIA H200; {runtime} is not measured" in out
        code, out, _ = run(capsys, "estimate", "llama-3.1-8b", "--quant", "q4_k_m", "--gpu", gpu, "--runtime", "none")
        assert code == 0 and "the overhead is CUDA's" not in out
    code, out, _ = run(capsys, "estimate", "llama-3.1-8b", "--quant", "q4_k_m", "--gpu", "rtx-4090")
    assert code == 0 and "the overhead is CUDA's" not in out


def test_an_ollama_estimate_says_whose_figures_its_speed_is(capsys):
    # planner answers Ollama's speed with llama.cpp's figures for the vendored build; the line says so, and the band
    # beside the decode figure is that of Ollama's own published runs (planner.efficiency.band)
    from planner.efficiency import band

    code, out, _ = run(capsys, "estimate", "llama-3.1-8b", "--quant", "q4_k_m", "--engine", "ollama", "--gpu",
                       "rtx-4090")
    own = band("decode", "ollama", "gguf", "gddr").median_abs_error
    assert code == 0 and "(ollama on llama.cpp's figures; efficiency entries: decode llama.cpp/cuda/gguf/gddr" in out
    assert f"tokens/s per sequence (typically ±{100 * own:.0f} %)" in out
    _, out, _ = run(capsys, "estimate", "llama-3.1-8b", "--quant", "q4_k_m", "--engine", "llama.cpp", "--gpu",
                    "rtx-4090")
    assert "  (llama.cpp; efficiency entries:" in out
    _, out, _ = run(capsys, "estimate", "llama-3.1-8b", "--quant", "q4_k_m", "--gpu", "rtx-4090")  # the plain model
    assert "  (speed as llama.cpp runs this format; efficiency entries:" in out


def test_suggestions_put_the_ids_a_name_begins_first(capsys):
    from planner.cli import main

    assert main(["estimate", "llama-3.1-8b", "--gpu", "a100"]) == 2
    assert "did you mean: a100-pcie-80gb, a100-sxm-40gb, a100-sxm-80gb" in capsys.readouterr().err
    assert main(["estimate", "llama-3.1-8b", "--gpu", "apple-m1"]) == 2  # a marketing name: its id
    assert "did you mean: m1?" in capsys.readouterr().err
    assert main(["estimate", "llama-3.1-8b", "--gpu", "zzz"]) == 2
    assert "`planner gpus` lists the" in capsys.readouterr().err
    # an Instruct id not bundled: the base model it begins with first, and how the Hub would read it
    assert main(["estimate", "meta-llama/Llama-3.1-405B-Instruct"]) == 2  # no verified config: not a variant
    err = capsys.readouterr().err
    assert "did you mean: meta-llama/Llama-3.1-405B," in err and "Hugging Face Hub" in err


def test_no_verb_lists_the_verbs_and_version_prints_it(capsys):
    from planner.cli import main

    assert main([]) == 2
    err = capsys.readouterr().err
    assert err.startswith("planner: error: give a verb: estimate, fit, table") and err.count("\n") == 1
    with pytest.raises(SystemExit) as e:
        main(["--version"])
    assert e.value.code == 0 and capsys.readouterr().out.startswith("planner ")


def test_engine_refusals_name_the_flags_and_the_gpu(capsys):
    # vLLM's fp8 method needed compute capability 8.0 through 0.13 (Fp8Config.get_min_capability() == 80): a T4 (7.5)
    # stops at start; from 0.14.0 it asks 75
    code, out, err = run(capsys, "estimate", "llama-3.1-8b", "--quant", "fp8", "--engine", "vllm", "--gpu", "t4",
                         "--max-model-len", "4K", "--engine-version", "0.13.0")
    assert code == 2 and out == "" and "fp8 weights on NVIDIA T4" in err and "compute capability 8.0" in err
    code, out, err = run(capsys, "estimate", "llama-3.1-8b", "--quant", "fp8", "--engine", "vllm", "--gpu", "a10",
                         "--max-model-len", "4K")
    assert code == 0
    code, _, err = run(capsys, "estimate", "llama-3.1-8b", "--quant", "q4_k_m", "--engine", "ollama")
    assert code == 2 and "give --gpu, or a custom GPU's --gpu-memory and --gpu-bandwidth" in err and "gpu=" not in err
    code, _, err = run(capsys, "estimate", "llama-3.1-8b", "--quant", "q4_k_m", "--engine", "ollama", "--gpu",
                       "rtx-3060", "--batch", "4")
    assert code == 2 and err.rstrip().endswith("set --num-parallel")
    code, out, _ = run(capsys, "estimate", "llama-3.1-8b", "--quant", "q4_k_m", "--engine", "llama.cpp")
    assert code == 0 and "sdpa" not in out.splitlines()[0]


def test_a_catalog_gpu_with_another_memory_size(capsys):
    # a base M4 has 16 GB (the catalog's m4 is the 32 GB part): Metal gives its GPU 2/3 of that, 10.67 GiB
    code, out, _ = run(capsys, "estimate", "llama3.1:8b", "--gpu", "m4", "--gpu-memory", "16GiB")
    assert code == 0 and "m4-16gb: fits in 10.67 GiB" in out
    # an M4 Max with 36 GB: 0.75 of it (llama.cpp prints recommendedMaxWorkingSetSize 28991.03 MB on one)
    code, out, _ = run(capsys, "estimate", "llama3.1:8b", "--gpu", "m4-max", "--gpu-memory", "36GiB")
    assert code == 0 and "m4-max-36gb: fits in 27.00 GiB" in out
    code, _, err = run(capsys, "estimate", "llama3.1:8b", "--gpu", "m4", "--gpu-bandwidth", "1TB/s")
    assert code == 2 and "describe a custom GPU" in err
    code, _, err = run(capsys, "estimate", "llama3.1:8b", "--gpu", "m4", "--gpu-memory", "512MiB")
    assert code == 2 and "at least 1 GiB" in err


def test_fit_at_a_context_agrees_with_estimate_on_one_gpu_and_labels_its_unit(capsys):
    """One GPU's rows are the plain model's, as estimate, table and fit without --context give them: Llama-3.1-8B in
    bf16 on an L4 holds 21,622 tokens at most (fit's own largest context), so it is no row at 32K; the breakdown is in
    the unit asked for."""
    code, out, _ = run(capsys, "fit", "llama-3.1-8b", "--gpu", "l4", "--context", "32K", "--unit", "GB", "--top", "40")
    rows = [line for line in out.splitlines() if line.startswith("l4 ")]
    assert code == 0 and rows and not any(r.split()[1:4:2] == ["1", "bf16"] for r in rows)  # two L4s do hold it
    assert all("GiB" not in r and r.rstrip().endswith("GB") for r in rows)
    code, out, _ = run(capsys, "fit", "llama-3.1-8b", "--gpu", "l4")
    assert code == 0 and any(line.split()[:2] == ["bf16", "21,622"] for line in out.splitlines())


def test_fit_and_train_size_a_catalog_gpu_and_empty_or_stray_flags_are_refused(capsys):
    """--gpu-memory gives fit and train the catalog GPU built with another memory (an M2 Max of 32 GiB, of which
    macOS lets the GPU use two thirds: 21.33 GiB), as estimate has it; an empty --keep-bf16 or --quants, a kept layer
    beyond the model, and --gpu-memory-type without a custom GPU are named, not ignored."""
    code, out, _ = run(capsys, "fit", "llama-3.1-8b", "--gpu", "m2-max", "--gpu-memory", "32GiB")
    assert code == 0 and out.startswith("llama-3.1-8b on m2-max-32gb: largest context per quantization")
    code, out, err = run(capsys, "fit", "llama-3.1-70b", "--context", "8K", "--gpu", "m2-max", "--gpu-memory", "96GiB")
    assert code == 0 and err == "" and "m2-max-96gb         1 —      mlx-4bit" in out
    code, out, err = run(capsys, "fit", "llama-3.1-70b", "--context", "8K", "--gpu", "rtx-4090", "--gpu-memory",
                         "48GiB")
    assert code == 0 and err == "" and "rtx-4090-48gb       2 tensor" in out
    code, out, _ = run(capsys, "train", "llama-3.1-8b", "--method", "qlora", "--gpu", "m2-max", "--gpu-memory", "32GiB")
    assert code == 0 and "m2-max-32gb: fits in 21.33 GiB" in out
    for argv, said in ((["fit", "llama-3.1-8b", "--gpu-memory", "32GiB"], "--gpu-memory sizes the catalog GPU"),
                       (["estimate", "llama-3-8b", "--keep-bf16", ""], "--keep-bf16 needs the parts"),
                       (["estimate", "llama-3-8b", "--quant", "fp8", "--keep-bf16", "mlp@99"],
                        "keeps mlp@99 in 16 bits, but meta-llama/Meta-Llama-3-8B's layers are 0–31"),
                       (["estimate", "llama-3-8b", "--gpu-memory-type", "HBM"], "--gpu-memory-type describes a custom"),
                       (["table", "llama-3-8b", "--quants", ","], "--quants needs one or more formats")):
        code, _, err = run(capsys, *argv)
        assert code == 2 and said in err and err.count("\n") == 1, argv


def test_a_fit_close_to_the_limit_is_called_tight_and_a_near_miss_says_by_how_much(capsys):
    """Under 5 % of the GPU left free is tight, as the dashboard's default reserve marks it; a total that rounds to
    the GPU's memory and is still above it says how many MiB it is short."""
    code, out, _ = run(capsys, "estimate", "llama-3.1-8b", "--quant", "q4_k_m", "--gpu", "rtx-3060", "--context",
                       "40000")
    assert code == 0 and "headroom; tight: under 5 % of the GPU left free" in out
    code, out, _ = run(capsys, "estimate", "llama-3.1-8b", "--quant", "q4_k_m", "--gpu", "rtx-3060", "--context",
                       "43086")
    assert "does NOT fit: needs 11.62 GiB, rtx-3060 has 11.62 GiB usable (" in out and "MiB short)" in out
    code, out, _ = run(capsys, "estimate", "llama-3.1-8b", "--quant", "q4_k_m", "--gpu", "rtx-4090")
    assert "tight" not in out


def test_fit_on_an_apple_gpu_lists_the_formats_mlx_runs(capsys):
    code, out, _ = run(capsys, "fit", "microsoft/Phi-3-small-8k-instruct", "--gpu", "m3-max")
    rows = [line.split()[0] for line in out.splitlines()[2:] if not line.startswith("note:")]
    assert code == 0 and rows == ["bf16", "mlx-8bit", "mlx-4bit"]
    assert "note: fp8 is not ranked on Apple GPUs" in out


def test_fit_without_a_context_plans_the_models_whole_context_and_says_so(capsys):
    for extra in ([], ["--batch", "4"]):
        code, out, err = run(capsys, "fit", "llama-3.1-8b", "--top", "3", *extra)
        assert code == 0 and err == ""
        assert out.startswith("llama-3.1-8b: GPUs and formats that fit 131,072 tokens (the model's whole context: "
                              "--context sets another)")
    code, out, err = run(capsys, "fit", "llama-3.1-70b", "--gpu", "rtx-4090", "--context", "128K", "--batch", "64")
    assert code == 0 and out.strip() == "no count of rtx-4090 up to 8 fits this configuration"


def test_vllm_refusing_its_default_max_model_len_names_the_longest_it_starts_with(capsys):
    """--context 8K leaves vLLM's max_model_len at the model's 131,072, which a 4090 cannot hold: the answer says so
    and names the longest --max-model-len that starts; that one fits and one block (16 tokens) more does not."""
    argv = ["estimate", "llama-3.1-8b", "--engine", "vllm", "--gpu", "rtx-4090", "--context", "8K"]
    code, out, _ = run(capsys, *argv)
    assert code == 0 and "max_model_len 131,072 is longer than the context asked" in out
    assert "does NOT fit: vLLM would not start" in out and "--max-model-len 8192 plans a server" in out
    longest = int(out.split("lower max_model_len (")[1].split()[0].replace(",", ""))
    assert longest % 16 == 0 and 8192 < longest < 131072
    for n, fits in ((longest, True), (longest + 16, False)):
        code, out, _ = run(capsys, *argv, "--max-model-len", str(n))
        assert code == 0 and ("does NOT fit" not in out) == fits, (n, out)


def test_fit_follows_vllm_on_a_tensor_split_and_names_the_splits_it_refuses(capsys):
    """A tensor row is vLLM's verdict: Mixtral-8x22B in bf16 on 2 × H200 at 8K, 134 GiB a GPU against 139.80 usable,
    is no row, as vLLM at its defaults would not start (its 128.62 GiB budget); Qwen2.5-72B's int4 over 2, 4 or 8 GPUs,
    which vLLM refuses at load, is named under the table; one GPU's rows have no split in JSON (null), as "—" in
    text."""
    code, out, _ = run(capsys, "fit", "mistralai/Mixtral-8x22B-v0.1", "--context", "8K", "--gpu", "h200", "--top", "40")
    rows = {tuple(line.split()[1:4]) for line in out.splitlines() if line.startswith("h200 ")}
    assert code == 0 and ("2", "tensor", "bf16") not in rows and ("4", "tensor", "bf16") in rows
    assert "as vLLM 0.33.0 starts them with --max-model-len 8192 (its other settings at" in out.splitlines()[0]
    assert "vLLM's budget 128.62 GiB" in out and "note: a tensor row's per GPU is what vLLM 0.33.0 holds" in out
    code, out, _ = run(capsys, "fit", "Qwen/Qwen2.5-72B", "--context", "8K", "--gpu", "l4")
    assert code == 0 and ("note: not ranked, as the engine refuses the split: int4 over 2, 4 or 8 GPUs: tensor "
                          "parallel 2: Qwen/Qwen2.5-72B's MLP (29,568 wide) split 2 ways is 14,784 wide: not whole "
                          "groups of 128 of int4 weights") in out
    code, out, _ = run(capsys, "fit", "llama-3.1-8b", "--context", "8K", "--gpu", "h100-sxm", "--json")
    rows = json.loads(out)
    assert code == 0 and rows and all(r["n_gpus"] == 1 and r["split"] is None for r in rows)


def test_submodules_read_as_attributes_after_a_plain_import():
    # README's Python calls (planner.parallel.plan, planner.machine.local_gpu, planner.training.search…) must work in
    # a fresh interpreter after `import planner` alone, whatever was imported before
    code = ("import planner; "
            "print(planner.parallel.plan.__name__, planner.gpus.custom_gpu.__name__,"
            " planner.machine.local_gpu.__name__, planner.training.search.max_micro_batch.__name__,"
            " planner.perf.serving_step_seconds.__name__,"
            " planner.fit_refusals.__name__, callable(planner.fit), callable(planner.estimate))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["plan", "custom_gpu", "local_gpu", "max_micro_batch", "serving_step_seconds",
                                "fit_refusals", "True", "True"]
    r = subprocess.run([sys.executable, "-c", "import planner; planner.no_such_thing"], capture_output=True, text=True)
    assert "has no attribute 'no_such_thing'" in r.stderr


@pytest.mark.parametrize("argv, message", [
    (["--engine", "llama.cpp", "-tp", "2"], "--tensor-parallel-size does not apply to --engine llama.cpp; its flags: "),
    (["--engine", "sglang", "--engine-version", "0.4.0"], "--engine-version does not apply to --engine sglang"),
    (["--vllm-engine", "v0"], "--vllm-engine needs an engine that takes it: vllm (--engine vllm)"),
    (["--no-op-offload"], "option --no-op-offload needs an engine that takes it"),
    (["--engine", "vllm", "--engine-version", "0.5.0", "--max-model-len", "4K"],
     "DeepSeek-V3's DeepseekV3ForCausalLM is first in 0.6.6's model registry; --engine-version 0.6.6 or later"),
    (["--engine", "vllm", "--max-num-batched-tokens", "10", "--max-num-seqs", "1024", "--max-model-len", "4K"],
     "--max-num-batched-tokens must be at least --max-num-seqs (1,024), got 10"),
    (["--efficiency", "0.5", "--no-gpu"], "--efficiency sets a speed figure, which needs a GPU: give --gpu"),
])
def test_cli_errors_speak_in_flags(capsys, argv, message):
    """The Python API's option names and settings (engine_version='0.6.6') read as the flags a CLI user types."""
    model = "deepseek-ai/DeepSeek-V3" if "0.5.0" in argv else "meta-llama/Llama-3.1-8B"
    gpu = [] if "--no-gpu" in argv else ["--gpu", "h200"]
    code = main(["estimate", model, *[a for a in argv if a != "--no-gpu"], *gpu])
    err = capsys.readouterr().err
    assert code == 2 and message in err, err
    assert "engine_version=" not in err and "'tensor_parallel_size'" not in err and "max_num_seqs" not in err, err


def test_sglang_fills_the_gpu_by_design_not_tightly(capsys):
    """SGLang's static share plus the reserve it leaves is the whole GPU: the reserve is named so, and the fit is not
    called tight for it."""
    code, out, err = run(capsys, "estimate", "meta-llama/Llama-3.1-8B", "--engine", "sglang", "--gpu", "h100-sxm",
                         "--context", "8K")
    assert code == 0 and "sglang reserve" in out and "tight" not in out
    assert "SGLang takes the GPU by design" in out


def test_sglang_takes_tensor_parallel_size_as_sglang_does(capsys):
    """SGLang's server_args declares --tensor-parallel-size an alias of --tp-size (tp_size's Arg aliases), so the CLI
    takes it for SGLang as the same split; its pipeline and data parallel flags exist but are not modelled, and say
    so rather than "does not apply"."""
    base = ("estimate", "Qwen/Qwen2.5-7B", "--gpu", "h100-sxm", "--engine", "sglang", "--context", "2048")
    code, aliased, _ = run(capsys, *base, "--tensor-parallel-size", "2")
    assert code == 0 and "on each of 2 GPUs" in aliased
    assert run(capsys, *base, "--tp-size", "2")[1] == aliased
    code, _, err = run(capsys, *base, "-tp", "2", "--tp-size", "4")
    assert code == 2 and "--tensor-parallel-size 2 and --tp-size 4 are the same SGLang option" in err
    code, _, err = run(capsys, *base, "-pp", "2")
    assert code == 2 and "SGLang's pipeline parallel (--pp-size) is not modelled" in err
    code, _, err = run(capsys, *base, "-dp", "2")
    assert code == 2 and "SGLang's data parallel replicas (--dp-size) each hold the whole model" in err


def test_fit_tables_carry_each_rows_error_band(capsys):
    """Every speed figure carries the check half's typical error of its engine and format, the fit tables' too."""
    from planner.efficiency import typical_errors
    from planner.gpus import load_gpu

    code, out, _ = run(capsys, "fit", "microsoft/Phi-3-small-8k-instruct", "--gpu", "rtx-4060-ti-16gb")
    band = typical_errors("bf16", "sglang", gpu=load_gpu("rtx-4060-ti-16gb"))["decode"]  # vLLM no longer runs it
    row = next(line for line in out.splitlines() if line.split()[:1] == ["bf16"])
    assert code == 0 and f" ±{100 * band:.0f} %" in row
    code, out, _ = run(capsys, "fit", "meta-llama/Llama-3.1-8B", "--context", "8K", "--gpu", "h100-sxm", "--json")
    rows = json.loads(out)
    assert code == 0 and all(r["decode_typical_error"] > 0 for r in rows)


def test_a_custom_gpu_without_its_flops_says_which_flag_gives_them(capsys):
    code, out, _ = run(capsys, "estimate", "meta-llama/Llama-3.1-8B", "--gpu-memory", "24GiB", "--gpu-bandwidth",
                       "1008GB/s")
    assert code == 0 and ("time to first token (4,096-token prompt): unknown (a custom GPU given without its bf16 "
                          "FLOP/s)") in out


def test_flag_wording_leaves_quoted_text_and_attributes_as_they_are():
    from planner.cli.flags import as_flags

    # what a message quotes (a log line, a value typed) stays as written; a model's attribute is not a flag
    assert as_flags("the log has no 'llama_context: n_ctx' line", "check-log") == \
        "the log has no 'llama_context: n_ctx' line"
    assert as_flags("unknown quant 'max_context'", "estimate") == "unknown quant 'max_context'"
    assert as_flags("context 9,437,184 exceeds m's max_context 131,072", "estimate") == \
        "context 9,437,184 exceeds m's max_context 131,072"
    # a switch's True/False read as the on/off its flag takes; only the verb's own flags are named
    assert as_flags("lower max_num_seqs; enable_chunked_prefill=False is not", "estimate") == \
        "lower --max-num-seqs; --chunked-prefill off is not"
    assert as_flags("lower max_num_seqs", "check-log") == "lower max_num_seqs"  # check-log has no such flag
    assert as_flags("engine 'ollama' has no option 'n_ctx': its own is num_ctx (--num-ctx)", "estimate") == \
        "engine 'ollama' has no option --n-ctx: its own is --num-ctx"


def test_check_log_of_a_v0_run_with_chunked_prefill_on_below_32k(capsys, tmp_path):
    """A V0 log that ran chunked (its scheduler's 2,048 tokens below max_model_len 10,000) is planned as it ran, not
    refused by the check vLLM applies only without chunked prefill."""
    log = (Path(__file__).parent / "fixtures" / "logs" / "vllm-qwen2.5-32b-tp2-0.7.1-l40s.log").read_text()
    assert "chunked_prefill_enabled=False" in log
    (tmp_path / "chunked.log").write_text(log.replace("chunked_prefill_enabled=False", "chunked_prefill_enabled=True"))
    code, out, err = run(capsys, "check-log", str(tmp_path / "chunked.log"), "--model", "Qwen/Qwen2.5-32B")
    assert code == 0 and "2,048 tokens through the model" in out, err


def test_an_fp32_checkpoint_says_its_own_weights_are_fp32(capsys):
    """google/gemma-2-9b's files are fp32 (config.json "torch_dtype": "float32",
    https://huggingface.co/google/gemma-2-9b/blob/main/config.json): its own weights are planned as fp32, said so,
    while an engine that casts them (vLLM) and an explicit format say nothing."""
    code, out, _ = run(capsys, "estimate", "google/gemma-2-9b", "--gpu", "rtx-4090")
    assert code == 0 and "fp32 weights" in out and "checkpoint is stored in fp32" in out
    assert "stored in fp32" not in run(capsys, "estimate", "google/gemma-2-9b", "--quant", "bf16")[1]
    vllm = run(capsys, "estimate", "google/gemma-2-9b", "--gpu", "h100-sxm", "--engine", "vllm")[1]
    assert "bf16 weights" in vllm and "stored in fp32" not in vllm


def test_a_misspelt_option_is_answered_with_the_verbs_own(capsys):
    code, _, err = run(capsys, "estimate", "meta-llama/Llama-3.1-8B", "--contxt", "8K")
    assert code == 2 and err.strip() == ("planner: error: unrecognized arguments: --contxt 8K; did you mean --context? "
                                         "(planner estimate --help lists its options)")
    code, _, err = run(capsys, "train", "meta-llama/Llama-3.1-8B", "--lora-rank=8")
    assert code == 2 and "did you mean --rank?" in err and len(err.strip().splitlines()) == 1
    code, _, err = run(capsys, "estimate", "meta-llama/Llama-3.1-8B", "stray")
    assert code == 2 and "unrecognized arguments: stray (planner estimate" in err and "did you mean" not in err


def test_the_table_as_json_is_the_tables_figures_in_bytes(capsys):
    code, out, _ = run(capsys, "table", "microsoft/Phi-3-small-8k-instruct", "--json")
    data = json.loads(out)
    assert code == 0 and data["contexts"] == [1024, 2048, 4096, 8192] and data["rows"][0]["quant"] == "bf16"
    from planner import table

    df = table("microsoft/Phi-3-small-8k-instruct", unit="B")
    assert [r["quant"] for r in data["rows"]] == list(df.index)
    assert all(r["total_bytes"] == [round(v) for v in df.loc[r["quant"]]] for r in data["rows"])
    assert run(capsys, "table", "phi-3-mini", "--json", "--csv")[0] == 2


def test_ollama_with_a_models_own_weights_names_the_library_tag(capsys):
    """`ollama run qwen3:8b` fetches Q4_K_M (profiles/ollama.yaml: default_format, from ollama.com/library/qwen3's
    tags), not the bf16 checkpoint planner takes for an HF id without --quant: the answer says so."""
    base = ("estimate", "Qwen/Qwen3-8B", "--engine", "ollama", "--gpu", "rtx-3060")
    out = run(capsys, *base)[1]
    assert "`ollama run qwen3:8b` fetches its library file, q4_k_m, instead: planner estimate qwen3:8b --engine " \
           "ollama plans that" in out
    for other in (("--quant", "q4_k_m"),):
        assert "imported into Ollama" not in run(capsys, *base, *other)[1]
    assert "imported into Ollama" not in run(capsys, "estimate", "qwen3:8b", "--engine", "ollama", "--gpu",
                                             "rtx-3060")[1]
    assert "imported into Ollama" not in run(capsys, "estimate", "Qwen/Qwen3-8B", "--engine", "vllm", "--gpu",
                                             "rtx-3060")[1]


def test_listing_verbs_and_check_log_print_json(capsys):
    code, out, _ = run(capsys, "gpus", "--json")
    gpus = {g["id"]: g for g in json.loads(out)}
    # RTX 4090: 1,008 GB/s (NVIDIA's Ada Lovelace architecture whitepaper)
    assert code == 0 and gpus["rtx-4090"]["memory_bandwidth_bytes_per_s"] == 1008e9
    code, out, _ = run(capsys, "models", "--search", "phi-3 small", "--json")
    rows = json.loads(out)
    assert code == 0 and any(r["model"] == "microsoft/Phi-3-small-8k-instruct" and r["max_context"] == 8192
                             for r in rows)
    code, out, _ = run(capsys, "quants", "--json")
    assert code == 0 and "q4_k_m" in {q["name"] for q in json.loads(out)["quants"]}
    log = Path(__file__).parent / "fixtures" / "logs" / "ollama-llama3.1-70b-q4_0-6279.log"
    code, out, _ = run(capsys, "check-log", str(log), "--json")
    r = json.loads(out)
    assert code == 0 and r["engine"] == "llama.cpp" and r["rows"][0]["unit"] == "MiB"
    assert abs(r["rows"][0]["error_pct"]) < 0.1


def test_fit_takes_quants_and_kv_dtype_and_gives_vllms_longest_max_model_len(capsys):
    """fit --quants/--kv-dtype rank the formats asked (Python fit() took them; the CLI did not); the per-GPU table's
    vLLM column is the longest --max-model-len vLLM starts with: that length starts, 16 tokens (a block) more does
    not. int4 70B on an H100: the plain model's one-pass prefill holds less than vLLM's chunked one."""
    from planner import estimate
    from planner.fit import context_per_quant

    assert main(["fit", "meta-llama/Llama-3.1-70B", "--gpu", "h100-sxm", "--quants", "fp8,awq,q4_k_m",
                 "--kv-dtype", "fp8"]) == 0
    out = capsys.readouterr().out
    assert [line.split()[0] for line in out.splitlines()[2:5]] == ["fp8", "awq-4bit-g128", "q4_k_m"]
    df = context_per_quant("meta-llama/Llama-3.1-70B", gpu="h100-sxm", quants=["int4", "q4_k_m"])
    longest = int(df["vllm_max_model_len"][0])
    assert longest > df["max_context"][0] and df["vllm_max_model_len"].isna()[1]
    kw = dict(quant="int4", engine="vllm", gpu="h100-sxm")
    assert estimate("meta-llama/Llama-3.1-70B", max_model_len=longest, **kw).engine_refusal is None
    assert estimate("meta-llama/Llama-3.1-70B", max_model_len=longest + 16, **kw).engine_refusal is not None
    assert main(["fit", "meta-llama/Llama-3.1-70B", "--gpu", "h100-sxm", "--quants", ","]) == 2
    assert "--quants needs one or more formats" in capsys.readouterr().err
    assert main(["fit", "meta-llama/Llama-3.1-70B", "--train", "--gpu", "h100-sxm", "--quants", "fp8"]) == 2


def test_a_gpu_asked_by_part_of_its_id_is_offered_the_ids_that_have_it(capsys):
    """'h100' is two GPUs (SXM and PCIe): refused, naming those two only; '4090' names rtx-4090; 'RTX 4090', the
    id with a space, is it."""
    assert main(["estimate", "llama-3.1-8b", "--gpu", "h100"]) == 2
    assert capsys.readouterr().err.strip().endswith("unknown gpu 'h100'; did you mean: h100-pcie, h100-sxm?")
    assert main(["estimate", "llama-3.1-8b", "--gpu", "4090"]) == 2
    assert capsys.readouterr().err.strip().endswith("did you mean: rtx-4090?")
    assert main(["estimate", "llama-3.1-8b", "--gpu", "RTX 4090"]) == 0
    assert "rtx-4090: fits" in capsys.readouterr().out


def test_quants_gives_each_formats_bits_per_weight_on_a_model(capsys):
    """What a user compares formats by: 8 × weights bytes / parameters, on Llama-3.1-8B unless --model says (a GGUF
    preset mixes types, and formats keep embeddings in 16 bits)."""
    import planner

    code, out, _ = run(capsys, "quants", "--json")
    rows = {q["name"]: q["bits_per_weight"] for q in json.loads(out)["quants"]}
    spec = planner.load_model("meta-llama/Llama-3.1-8B")
    assert rows["q4_k_m"] == 8 * planner.weights_bytes(spec, "q4_k_m") / spec.param_count and rows["bf16"] == 16
    code, out, _ = run(capsys, "quants", "--model", "gemma-2-9b")
    gemma = planner.load_model("gemma-2-9b")
    line = next(r for r in out.splitlines() if r.startswith("mlx-4bit "))
    assert line.split()[1] == f"{8 * planner.weights_bytes(gemma, 'mlx-4bit') / gemma.param_count:.2f}"
