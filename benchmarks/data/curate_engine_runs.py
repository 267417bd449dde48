"""Published single-request (batch 1 / concurrency 1) runs of serving engines other than llama.cpp, in planner's names.

Writes benchmarks/data/published_engines.jsonl, one row per run, in the schema of published_speed.jsonl. Every figure
below is copied as printed from the source named with it; a figure computed from printed ones (1000 / ITL, a mean over
a dataset) says DERIVED in its note. Rows whose GPU, model or format planner cannot name are left out, and so are
the rows already in published_speed.jsonl and the calibration run of ../shared/reference-data.md (gpt-fast
Llama-2-7B bf16 on one A100, 104.9 tok/s). Run: python benchmarks/data/curate_engine_runs.py
"""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "benchmarks" / "data" / "published_engines.jsonl"

L2_7B, L2_70B = "meta-llama/Llama-2-7b-hf", "meta-llama/Llama-2-70b-hf"
L3_8B, L31_8B, L31_70B = "meta-llama/Meta-Llama-3-8B", "meta-llama/Llama-3.1-8B", "meta-llama/Llama-3.1-70B"
TINYLLAMA = "tests/fixtures/configs/TinyLlama__TinyLlama-1.1B-Chat-v1.0.json"


def run(model: str, quant: str, gpu: str, n_gpus: int, engine: str, engine_printed: str, *, prompt: int | None,
        gen: int | None, decode: float | None, source: str, note: str, prefill: float | None = None,
        ttft: float | None = None, decode_context: int | None = None, quality: str | None = None) -> dict:
    """One row; decode_context defaults to the average context while decoding, prompt + gen / 2."""
    if decode_context is None:
        decode_context = max(1, (prompt or 0) + (gen or 0) // 2)
    row = dict(model=model, quant=quant, gpu=gpu, n_gpus=n_gpus, engine=engine, engine_printed=engine_printed,
               prompt_tokens=prompt, gen_tokens=gen, decode_context=decode_context, decode_tokens_per_s=decode,
               prefill_tokens_per_s=prefill, ttft_s=ttft, source=source, note=note)
    if quality:
        row["quality"] = quality
    return row


# ---------------------------------------------------------------------------------------------------------------
# gpt-fast README (pytorch-labs/gpt-fast). 8xA100-80GB at 330 W, batch 1, "a very small prompt length (just 5
# tokens)"; generate.py defaults --max_new_tokens 200 --num_samples 5. int8 = weight-only per channel, int4 = G=32.
# Rows already in published_speed.jsonl (Benchmarks table, TP2 Llama-3.1-8B, TP8 Llama-2-70B, Mixtral int8 1 GPU)
# are not repeated; TP1 rows of the TP table repeat the Benchmarks table and the calibration run.
GPT_FAST = "github:pytorch-labs/gpt-fast@32971d3129541c5bfb4f715abc33d1c5f408d204 README.md"
GPT_FAST_OLD = "github:pytorch-labs/gpt-fast@6e00f492758fdb350df14cb19870e32c7b1ac788 README.md"
GPT_FAST_NOTE = ("torch.compile, batch 1, prompt 'just 5 tokens' per README, gen 200 = generate.py default "
                 "--max_new_tokens (not printed in the table); 8xA100-80GB SXM node power-limited to 330 W, hybrid "
                 "cube mesh. HF variant not stated (README default checkpoint is the -chat model).")
GPT_FAST_TP = [  # model, n_gpus, tok/s, achieved GB/s (printed)
    (L2_7B, 2, 168.84, 1181.99), (L2_7B, 4, 254.02, 955.83), (L2_7B, 8, 328.43, 704.10),
    (L2_70B, 2, 21.32, 1481.87), (L2_70B, 4, 38.01, 1340.76),
    (L31_8B, 4, 217.21, 986.32), (L31_8B, 8, 276.01, 772.60),
    (L31_70B, 2, 16.03, 1130.81), (L31_70B, 4, 37.45, 1360.53), (L31_70B, 8, 58.78, 1129.61),
]
GPT_FAST_TP_QUANT = [  # all TP8
    (L2_70B, "int8", 80.44, 752.04), (L2_70B, "int4-g32", 90.77, 548.10), (L31_70B, "int8", 75.58, 726.57),
    ("meta-llama/Llama-3.1-405B", "int8", 15.60, 815.87),
]
GPT_FAST_MIXTRAL = [("bf16", 2, 96.67), ("bf16", 4, 155.35), ("bf16", 8, 227.82),
                    ("int8", 2, 155.03), ("int8", 4, 216.87), ("int8", 8, 279.35)]
GPT_FAST_AMD = [("bf16", 76.33, 1028.70), ("int8", 101.86, 700.06)]
# README at 6e00f49 (2024-04-28) had Llama-3-8B rows, later replaced by Llama-3.1-8B.
GPT_FAST_L3 = [("bf16", 1, 93.95, 1508.18, "Benchmarks table"), ("int8", 1, 114.35, 978.02, "Benchmarks table"),
               ("bf16", 2, 149.44, 1358.63, "Tensor Parallelism table"),
               ("bf16", 4, 217.80, 1218.76, "Tensor Parallelism table"),
               ("bf16", 8, 271.03, 1041.99, "Tensor Parallelism table")]


def gpt_fast() -> list[dict]:
    out = []
    for model, n, tps, bw in GPT_FAST_TP:
        out.append(run(model, "bf16", "a100-sxm-80gb", n, "gpt-fast", "gpt-fast (torch.compile, tensor parallel)",
                       prompt=5, gen=200, decode=tps, source=f"{GPT_FAST} (Tensor Parallelism table)",
                       note=f"TP{n}, bf16; achieved {bw} GB/s printed. {GPT_FAST_NOTE}"))
    for model, quant, tps, bw in GPT_FAST_TP_QUANT:
        out.append(run(model, quant, "a100-sxm-80gb", 8, "gpt-fast", "gpt-fast (torch.compile, tensor parallel)",
                       prompt=5, gen=200, decode=tps, source=f"{GPT_FAST} (Tensor Parallelism + Quantization table)",
                       note=f"TP8, printed technique '{'4-bit (G=32)' if quant == 'int4-g32' else '8-bit'}' "
                            f"(weight-only); achieved {bw} GB/s printed. {GPT_FAST_NOTE}"))
    for quant, n, tps in GPT_FAST_MIXTRAL:
        out.append(run("mistralai/Mixtral-8x7B-v0.1", quant, "a100-sxm-80gb", n, "gpt-fast",
                       "gpt-fast mixtral-moe (torch.compile, tensor parallel)", prompt=5, gen=200, decode=tps,
                       source=f"{GPT_FAST} (Mixtral table) / mixtral-moe/README.md",
                       note=f"TP{n}, printed row '{'baseline(bfloat16)' if quant == 'bf16' else 'int8'}'; "
                            "'average token generation rates'. mixtral-moe/README uses MODEL_REPO="
                            f"mistralai/Mixtral-8x7B-v0.1 and --prompt 'Hello, my name is'. {GPT_FAST_NOTE}"))
    for quant, tps, bw in GPT_FAST_AMD:
        out.append(run(L2_7B, quant, "mi250x", 1, "gpt-fast", "gpt-fast (torch.compile, ROCm)", prompt=5, gen=200,
                       decode=tps, source=f"{GPT_FAST} (AMD table)",
                       note=f"'Benchmarks run on one GCD of a MI-250x.' Printed technique "
                            f"'{'Base' if quant == 'bf16' else '8-bit'}', achieved {bw} GB/s. Prompt/gen as in "
                            "the README's other tables (5 / 200, assumed). HF variant not stated."))
    for quant, n, tps, bw, table in GPT_FAST_L3:
        out.append(run(L3_8B, quant, "a100-sxm-80gb", n, "gpt-fast", "gpt-fast (torch.compile)", prompt=5, gen=200,
                       decode=tps, source=f"{GPT_FAST_OLD} ({table}, Llama-3-8B rows)",
                       note=f"Llama-3-8B, TP{n}, printed technique '{'Base' if quant == 'bf16' else '8-bit'}', "
                            f"achieved {bw} GB/s. Rows replaced by Llama-3.1-8B in later READMEs. {GPT_FAST_NOTE}"))
    return out


# ---------------------------------------------------------------------------------------------------------------
# torchao's gpt-fast derivative, torchao/_models/llama/generate.py: torch.compile, batch 1, prompt "Hello, my name
# is", --num_samples 5 --max_new_tokens 200 (repro lines of torchao/_models/llama/benchmark_results.txt).
AO = "github:pytorch/ao@04a25e7a877a6865185961927bf379bbebcbcf6f torchao/quantization/README.md"
AO_LATER = "github:pytorch/ao@b795037725b0fba94ff1123d79b355e7373eeee7"
AO_ENGINE = "torchao _models/llama/generate.py (gpt-fast derivative, torch.compile)"
AO_NOTE = ("prompt 'Hello, my name is' (generate.py default; ~6 tokens, 5 assumed), 200 new tokens, 5 samples "
           "(benchmark_results.txt repro lines).")
AO_A100 = [  # model, printed technique, planner quant, tok/s, GB/s
    (L2_7B, "Base (bfloat16)", "bf16", 107.38, 1418.93), (L2_7B, "int8wo", "int8", 170.83, 1131.18),
    (L2_7B, "int4wo-64", "int4-g64", 201.14, 751.42),
    (L3_8B, "Base (bfloat16)", "bf16", 95.64, 1435.54), (L3_8B, "int8wo", "int8", 153.03, 1150.80),
    (L3_8B, "int4wo-64", "int4-g64", 180.80, 763.33),
]
AO_H100 = [
    ("Base (bfloat16)", "bf16", 126.90, 1904.75), ("int8wo", "int8", 198.85, 1495.41),
    ("int4wo-64", "int4-g64", 241.39, 1019.14), ("float8wo", "fp8", 178.46, 1339.93),
    ("float8dq (PerTensor)", "fp8", 116.40, 873.58), ("float8dq (Per Row)", "fp8", 154.63, 1161.47),
]
AO_FP8_NOTE = {
    "float8wo": "fp8 weight-only (float8_weight_only, per-row scale), bf16 activations.",
    "float8dq (PerTensor)": "fp8 weights AND fp8 dynamic activations, per-tensor scales (as vLLM quantization=fp8).",
    "float8dq (Per Row)": "fp8 weights AND fp8 dynamic activations, per-row scales.",
}


def torchao() -> list[dict]:
    out = []
    for model, tech, quant, tps, bw in AO_A100:
        hf = "Llama-2-7b-chat-hf" if model == L2_7B else "Meta-Llama-3-8B"
        out.append(run(model, quant, "a100-sxm-80gb", 1, "gpt-fast", AO_ENGINE, prompt=5, gen=200, decode=tps,
                       source=f"{AO} (Benchmarks, NVIDIA-A100-80GB table)",
                       note=f"printed GPU 'NVIDIA-A100-80GB' (the same bf16 run, 107.38 tok/s, is printed in "
                            f"torchao/prototype/awq/README.md as '1xA100 80GB SXM4'). {hf}, technique '{tech}', "
                            f"achieved {bw} GB/s printed. {AO_NOTE}"))
    for tech, quant, tps, bw in AO_H100:
        out.append(run(L31_8B, quant, "h100-sxm", 1, "gpt-fast", AO_ENGINE, prompt=5, gen=200, decode=tps,
                       source=f"{AO} (Benchmarks, NVIDIA-H100 table)", quality="secondary",
                       note=f"printed GPU 'a single NVIDIA-H100 GPU' (variant not printed): SXM INFERRED from the "
                            f"printed bf16 achieved bandwidth 1904.75 GB/s (95% of an H100 PCIe's 2.0 TB/s peak) "
                            f"and torchao's other H100 READMEs naming 'NVIDIA H100 80GB HBM3'. Meta-Llama-3.1-8B, "
                            f"technique '{tech}', achieved {bw} GB/s printed. {AO_FP8_NOTE.get(tech, '')} {AO_NOTE}"))
    for model, tps, bw in [(L3_8B, 32.36, 485.71), (L31_8B, 32.16, 482.70)]:
        out.append(run(model, "bf16", "rtx-a6000", 1, "gpt-fast", AO_ENGINE, prompt=5, gen=200, decode=tps,
                       source=f"{AO_LATER} torchao/quantization/README.md (Codebook Quantization, NVIDIA-A6000 table)",
                       note=f"'run on a single NVIDIA-A6000 GPU'; 'Base (bfloat16)' row of the codebook table, "
                            f"achieved {bw} GB/s printed. --compile not printed for this table (the eager rate on a "
                            f"faster A100 is 23.67 tok/s in benchmark_results.txt, so compiled presumed). {AO_NOTE}"))
    out.append(run(L2_7B, "int4-g64", "a100-sxm-80gb", 1, "gpt-fast", AO_ENGINE + ", awq-hqq-int4", prompt=5,
                   gen=200, decode=196.6, source=f"{AO_LATER} torchao/prototype/awq/README.md (Benchmarks)",
                   note="'1xA100 80GB SXM4', Llama-2-7b-chat-hf, awq-hqq-int4 = AWQ scales + tinygemm int4 kernel, "
                        "group size 64 ('Group size of 64 was used for all quantization methods'); 761.2 GB/s printed. "
                        "Other rows of the table repeat the quantization README (bf16, int4wo-64) or use a kernel "
                        f"without fusion (awq-uint4 43.59) or hqq (209.19). {AO_NOTE}"))
    return out


# ---------------------------------------------------------------------------------------------------------------
# Qwen2.5 speed benchmark: NVIDIA A100 80GB, batch 1, 2048 generated tokens, speed = 2048 / end-to-end generate()
# time (examples/speed-benchmark/speed_benchmark_{vllm,transformers}.py), so prefill time is inside every figure.
QWEN = "github:QwenLM/Qwen2.5@2abc0f3243e20cf45b6a3ab60308db701c0c3111 docs/source/benchmark/speed_benchmark.rst"
QWEN_MODELS = {"0.5B": "Qwen/Qwen2.5-0.5B", "3B": "Qwen/Qwen2.5-3B-Instruct", "7B": "Qwen/Qwen2.5-7B",
               "14B": "Qwen/Qwen2.5-14B", "32B": "Qwen/Qwen2.5-32B", "72B": "Qwen/Qwen2.5-72B"}
QWEN_QUANTS = {"BF16": "bf16", "GPTQ-Int8": "gptq-8bit-g128", "GPTQ-Int4": "gptq-4bit-g128", "AWQ": "awq-4bit-g128"}
Q_ORDER = ("BF16", "GPTQ-Int8", "GPTQ-Int4", "AWQ")
# vLLM 0.6.3 tables, input lengths 1 / 6144 / 14336 / 30720: (GPU num, tok/s) per quant in Q_ORDER; None = left
# out: run with enforce_eager=True (no CUDA graphs: 'Setting 1/2/3' rows). 63488 and 129024 are left out: other
# max_model_len / vLLM 0.6.2 / sampling settings, and prefill of 60k+ tokens is a large share of the timed span.
QWEN_VLLM = {  # 1.5B is left out: planner bundles no Qwen2.5-1.5B profile
    "0.5B": {1: [(1, 311.55), (1, 257.07), (1, 260.93), (1, 261.95)],
             6144: [(1, 304.79), (1, 254.10), (1, 257.33), (1, 259.80)],
             14336: [(1, 290.28), (1, 243.69), (1, 247.01), (1, 249.58)],
             30720: [(1, 264.51), (1, 223.86), (1, 226.50), (1, 229.84)]},
    "3B": {1: [(1, 127.61), (1, 150.02), (1, 168.20), (1, 165.50)],
           6144: [(1, 123.15), (1, 143.09), (1, 159.85), (1, 156.38)],
           14336: [(1, 117.35), (1, 135.50), (1, 149.35), (1, 147.75)],
           30720: [(1, 105.88), (1, 118.38), (1, 129.28), (1, 127.19)]},
    "7B": {1: [(1, 84.28), (1, 122.01), (1, 154.05), (1, 148.10)],
           6144: [(1, 80.70), (1, 112.38), (1, 141.98), (1, 137.64)],
           14336: [(1, 77.69), (1, 105.25), (1, 129.35), (1, 124.91)],
           30720: [(1, 70.33), (1, 90.71), (1, 108.30), (1, 104.66)]},
    "14B": {1: [(1, 46.30), (1, 70.40), (1, 98.02), (1, 92.66)],
            6144: [(1, 43.83), (1, 64.33), (1, 86.10), (1, 83.11)],
            14336: [(1, 41.91), (1, 59.21), (1, 76.85), (1, 74.03)],
            30720: [(1, 37.18), (1, 49.23), (1, 60.91), (1, 59.01)]},
    "32B": {1: [None, (1, 37.57), (1, 55.83), (1, 51.92)],
            6144: [None, (1, 34.67), (1, 49.96), (1, 46.68)],
            14336: [None, (1, 31.89), (1, 44.79), (1, 41.83)],
            30720: [(2, 31.82), (1, 26.88), (1, 35.66), (1, 33.75)]},
}
# 72B lists (quant, GPU num, tok/s) because some lengths have two GPU counts for one format.
QWEN_VLLM_72B = {
    1: [("BF16", 4, 31.37), ("GPTQ-Int8", 2, 31.40), ("GPTQ-Int4", 1, 16.47), ("AWQ", 2, 44.30)],
    6144: [("BF16", 4, 29.90), ("GPTQ-Int8", 2, 29.37), ("GPTQ-Int4", 1, 13.88), ("AWQ", 2, 40.67)],
    14336: [("BF16", 4, 30.10), ("GPTQ-Int8", 2, 27.20), ("GPTQ-Int4", 2, 38.10), ("AWQ", 2, 36.63)],
    30720: [("BF16", 4, 27.53), ("GPTQ-Int8", 2, 23.32), ("GPTQ-Int4", 2, 30.98), ("AWQ", 2, 30.02)],
}
# transformers 4.46 tables, single-GPU rows at input lengths 1 and 6144 only: multi-GPU rows use device_map
# layer splitting (not tensor parallel), and longer inputs time HF's growing-cache decode plus a long prefill.
QWEN_HF = {
    "0.5B": {1: [47.40, 35.17, 50.60, 37.09], 6144: [47.45, 36.47, 48.89, 37.04]},
    "3B": {1: [30.80, 25.69, 35.21, 25.29], 6144: [32.20, 24.69, 34.47, 24.86]},
    "7B": {1: [40.38, 31.55, 43.10, 32.03], 6144: [38.76, 31.26, 38.27, 32.37]},
    "14B": {1: [24.74, 18.84, 25.89, 19.23], 6144: [20.51, 17.80, 20.06, 19.21]},
    "32B": {1: [17.54, 14.52, 19.20, 14.60], 6144: [12.49, 11.61, 13.42, 13.81]},
    "72B": {1: [None, None, 11.07, 11.50], 6144: [None, None, 7.56, 8.17]},
}
QWEN_NOTE = ("Qwen2.5-{size}-Instruct (instruct fine-tune of the base architecture); printed GPU 'NVIDIA A100 80GB' "
             "(form factor not printed; SXM assumed as for the other A100-80G rows); printed quantization '{q}' "
             "(Qwen's GPTQ/AWQ checkpoints use group size 128). Speed = 2048 generated tokens / end-to-end "
             "generate() time, prefill INCLUDED (speed_benchmark_*.py), so a lower bound on decode speed. ")


def qwen() -> list[dict]:
    out = []
    for size, by_len in QWEN_VLLM.items():
        for length, cells in by_len.items():
            for q, cell in zip(Q_ORDER, cells, strict=True):
                if cell:
                    out.append(_qwen_vllm(size, length, q, *cell))
    for length, cells in QWEN_VLLM_72B.items():
        for q, n, tps in cells:
            out.append(_qwen_vllm("72B", length, q, n, tps))
    for size, by_len in QWEN_HF.items():
        for length, cells in by_len.items():
            for q, tps in zip(Q_ORDER, cells, strict=True):
                if tps is None:
                    continue
                out.append(run(QWEN_MODELS[size], QWEN_QUANTS[q], "a100-sxm-80gb", 1, "transformers",
                               "transformers 4.46.0, torch 2.3.1, flash-attn 2.5.8, AutoGPTQ 0.7.1, AutoAWQ 0.2.6",
                               prompt=length, gen=2048, decode=tps, source=f"{QWEN} ({size} Transformer table)",
                               note=QWEN_NOTE.format(size=size, q=q) + "HF generate() batch 1, 1 GPU"
                                    + (" (GPTQ-Int8 row notes auto_gptq==0.6.0+cu1210)." if q == "GPTQ-Int8" else ".")))
    return out


def _qwen_vllm(size: str, length: int, q: str, n_gpus: int, tps: float) -> dict:
    return run(QWEN_MODELS[size], QWEN_QUANTS[q], "a100-sxm-80gb", n_gpus, "vllm",
               "vLLM 0.6.3 (torch 2.4.0, flash-attn 2.6.3), gpu_memory_utilization 0.9, max_model_len 32768, "
               "enforce_eager False", prompt=length, gen=2048, decode=tps,
               source=f"{QWEN} ({size} vLLM table)",
               note=QWEN_NOTE.format(size=size, q=q) + f"'GPU Num' {n_gpus} = vLLM tensor_parallel_size (TP{n_gpus}); "
                    "default setting. Sampling: temperature 1.0, top_p 0.8, repetition_penalty 0.1, presence/"
                    "frequency penalty -2.0 (speed_benchmark_vllm.py).")


# ---------------------------------------------------------------------------------------------------------------
# Apple MLX (mlx-lm).
MLX_1029 = "https://github.com/ml-explore/mlx-examples/issues/1029 (comment by chigkim 2024-12-15, MLX table)"
MLX_1029_ROWS = [  # prompt tokens, prompt tok/s, generated tokens, generation tok/s, total time (printed)
    (260, 75.871, 309, 9.351, "48s"), (689, 83.567, 760, 9.366, "1m42s"), (1171, 83.843, 744, 9.287, "1m46s"),
    (1635, 83.239, 754, 9.222, "1m53s"), (2173, 83.092, 776, 9.123, "2m3s"), (3228, 81.068, 744, 8.970, "2m15s"),
    (4126, 79.410, 724, 8.917, "2m25s"), (6096, 76.796, 752, 8.724, "2m57s"), (8015, 74.840, 786, 8.520, "3m31s"),
    (10088, 72.363, 887, 8.328, "4m18s"), (12010, 71.017, 1139, 8.152, "5m20s"),
    (14066, 68.943, 634, 7.907, "4m55s"), (16003, 67.948, 459, 7.779, "5m5s"), (18211, 66.105, 568, 7.604, "6m1s"),
    (20236, 64.452, 625, 7.423, "6m49s"), (22188, 63.332, 508, 7.277, "7m10s"),
    (24246, 61.424, 462, 7.121, "7m50s"), (26034, 60.375, 1178, 7.019, "10m9s"), (28002, 59.009, 27, 6.808, "8m9s"),
    (30136, 58.080, 27, 6.784, "8m53s"),
]


def mlx() -> list[dict]:
    out = []
    for prompt, pp, gen, tg, total in MLX_1029_ROWS:
        out.append(run(L31_70B, "mlx-4bit", "m3-max", 1, "mlx", "mlx-lm 0.20.4, mlx 0.21.1 (mlx_lm.generate)",
                       prompt=prompt, gen=gen, decode=tg, prefill=pp, source=MLX_1029,
                       note=f"'M3-Max 64GB' (64 GB M3 Max ships only with the 40-core GPU, 400 GB/s; catalog m3-max "
                            f"is the 128 GB part). Model 'Llama-3.3-70B-Instruct-4bit' (mlx-community; Llama-3.3-70B "
                            f"has the Llama-3.1-70B architecture). MLX 4-bit = groups of 64 with fp16 scale and bias, "
                            f"embeddings and lm_head quantized too (planner's mlx-4bit). temp 0.0, top_p 0.9, seed "
                            f"1000. Printed: prompt processing {pp} tok/s, token "
                            f"generation {tg} tok/s, total execution time {total}."))
    out.append(run("meta-llama/Meta-Llama-3-70B", "bf16", "m2-ultra", 1, "mlx", "mlx-lm (PR #1069, wired memory)",
                   prompt=16, gen=100, decode=4.7, prefill=27.8,
                   source="https://github.com/ml-explore/mlx-examples/pull/1069 (description by awni 2024-10-24)",
                   note="'On an M2 Ultra' (GPU core count not printed; both variants 800 GB/s), 'Llama 3.1 70B in "
                        "16-bit precision' per text but command loads meta-llama/Meta-Llama-3-70B-Instruct (instruct "
                        "of Meta-Llama-3-70B); HF weights are bf16. Wired column: prompt (16 toks) 27.8 toks/sec, "
                        "generation (100 toks) 4.7 toks/sec; not-wired column (0.23 toks/sec, swapping) left out."))
    return out


# ---------------------------------------------------------------------------------------------------------------
def others() -> list[dict]:
    gpustack = ("github:gpustack/gpustack@1dbc3b8130da92d31539404545a1aff5c3992f8c docs/performance-lab/qwen3-8b/"
                "h100-latency.md (Other Benchmark Cases, baseline BS=1)")
    exl2 = "github:turboderp/exllamav2@b9c025b4b1ee78c0d34e700f2e474a02dfb13c90 README.md (Performance)"
    return [
        run("Qwen/Qwen3-8B", "bf16", "h100-sxm", 1, "vllm", "vLLM v0.11.0 (vllm serve Qwen/Qwen3-8B; vllm bench serve)",
            prompt=233, gen=221, decode=137.36, ttft=0.05901, decode_context=343, source=gpustack,
            note="'A single NVIDIA H100 SXM GPU'. ShareGPT, 100 requests, max concurrency 1: total input 23260, "
                 "total generated 22061 tokens -> mean prompt 232.6, mean output 220.6 (DERIVED, rounded); Mean TTFT "
                 "59.01 ms, Mean TPOT 7.28 ms, Mean ITL 7.26 ms (printed); decode = 1000 / mean TPOT (DERIVED). "
                 "Prompt lengths vary per request."),
        run(TINYLLAMA, "exl2-3.0", "rtx-4090", 1, "exllamav2", "exllamav2 (version not stated)", prompt=None, gen=None,
            decode=770.0, decode_context=128, source=exl2,
            note="README 'quick tests': TinyLlama 1.1B EXL2 3.0 bpw, 770 t/s on 4090 (656 t/s on 3090Ti). Prompt/gen "
                 "lengths not printed; decode_context 128 as for this README's rows in published_speed.jsonl "
                 "(ASSUMED)."),
    ]


def curate() -> list[dict]:
    return gpt_fast() + torchao() + qwen() + mlx() + others()


if __name__ == "__main__":
    rows = curate()
    OUT.write_text("".join(json.dumps(r) + "\n" for r in rows))
    print(f"{len(rows)} rows → {OUT}")
