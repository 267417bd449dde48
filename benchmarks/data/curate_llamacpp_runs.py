"""Curate published llama.cpp speed runs (llama-bench tables and llama_print_timings) into planner's names.

Writes benchmarks/data/published_llamacpp.jsonl, one JSON object per run, same schema as published_speed.jsonl
plus a "backend" field. Every figure below was transcribed from the cited public source as printed (the mean,
not the +/- spread); nothing is estimated. One row carries the pp and tg figures of the same table line group
(same model, quant, GPU, settings); a row whose source printed only one of them has the other as null.

Conventions
- llama-bench ppN / tgN are separate tests that start from an empty KV cache, so a tgN row has
  decode_context = N/2 (+ depth for "@ dD" tests) and a ppN row is a prompt of N tokens.
- "llama 7B" (6.74 B params) is the LLaMA-1/LLaMA-2 7B architecture -> meta-llama/Llama-2-7b-hf; "llama 8B"
  (8.03 B) is Llama 3 / 3.1 8B (identical architecture) -> meta-llama/Meta-Llama-3-8B; instruct / chat / coder
  fine-tunes map to the base with the same architecture (said in each note).
- Quant names: llama.cpp presets in lower case (F16 -> fp16; "Q4_K - Medium" -> q4_k_m; "MXFP4 MoE" -> mxfp4_moe).
- GPUs only where the printed device is an exact match for a catalog id; the printed name is in the note.

Run: python benchmarks/data/curate_llamacpp_runs.py
"""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "benchmarks" / "data" / "published_llamacpp.jsonl"

XD = "github:XiongjieDai/GPU-Benchmarks-on-LLM-Inference"
XD_L12_COMMIT = "c79519347c9331cee5b49e0137d7756e4a195f3b"  # last README with the LLaMA / LLaMA 2 tables (2024-03-29)
XD_L3_COMMIT = "aa72e0ec86c356c41f8281c9733e9a13c3675800"  # LLaMA 3 notebooks (2024-05-12)


def row(
    model,
    quant,
    gpu,
    backend,
    engine_printed,
    source,
    note,
    *,
    n_gpus=1,
    pp=None,
    tg=None,
    prompt_tokens=None,
    gen_tokens=None,
    decode_context=None,
):
    if tg is not None and decode_context is None:
        decode_context = gen_tokens // 2
    extra = {"split_mode": "layer"} if n_gpus > 1 else {}  # llama.cpp's default -sm layer = planner mode "pp"
    return dict(
        model=model,
        quant=quant,
        gpu=gpu,
        n_gpus=n_gpus,
        engine="llama.cpp",
        backend=backend,
        engine_printed=engine_printed,
        prompt_tokens=prompt_tokens if pp is not None else None,
        gen_tokens=gen_tokens if tg is not None else None,
        decode_context=decode_context if tg is not None else 0,  # 0: no decode figure in this row
        decode_tokens_per_s=tg,
        prefill_tokens_per_s=pp,
        ttft_s=None,
        source=source,
        note=note,
        **extra,
    )


# --------------------------------------------------------------------------------------------------------------
# 1. XiongjieDai/GPU-Benchmarks-on-LLM-Inference, README of Mar 2024 (LLaMA and LLaMA 2 sections, Dec 2023 runs).
#    ./main --color --no-mmap -ngl 10000 (Metal: -ngl 1) --temp 1.1 --repeat_penalty 1.1 -n 1024 --ignore-eos
#    with a 494-token prompt (A Tale of Two Cities); the notebooks print n_ctx = 512, n_batch = 512, n_keep = 0,
#    so generation of 1023 tokens runs with context shifting (KV length cycles ~256..512; mean 385 by replaying
#    main.cpp's n_discard = (n_past - 1)/2 rule). "mean TG"/"mean PP" = mean of three runs of llama_print_timings.
#    Multi-GPU rows of these sections are left out: before ggml-backend (Jan 2024) llama.cpp split each matrix
#    across GPUs by rows, not by layers.
# --------------------------------------------------------------------------------------------------------------
XD_L12_GPUS = {  # README name -> (catalog id, backend, device line printed in the notebook, build printed)
    "4080 16GB": ("rtx-4080", "cuda", "NVIDIA GeForce RTX 4080, compute capability 8.9", "1691 (7082d24)"),
    "3090 24GB": ("rtx-3090", "cuda", "NVIDIA GeForce RTX 3090, compute capability 8.6", "1691 (7082d24)"),
    "4090 24GB": ("rtx-4090", "cuda", "NVIDIA GeForce RTX 4090, compute capability 8.9", "1671 (8fe03ff)"),
    "RTX A6000 48GB": ("rtx-a6000", "cuda", "NVIDIA RTX A6000, compute capability 8.6", "1691 (7082d24)"),
    "A100 80GB": ("a100-pcie-80gb", "cuda", "NVIDIA A100 80GB PCIe, compute capability 8.0", "1680 (afefa31)"),
    "H100 PCIe 80GB": ("h100-pcie", "cuda", "NVIDIA H100 PCIe, compute capability 9.0", "1680 (afefa31)"),
    "M2 Ultra 76-Core GPU 192GB": ("m2-ultra", "metal", "ggml_metal_init: GPU name: Apple M2 Ultra", "1619 (bcc0eb4)"),
    "M3 Max 40-Core GPU 48GB": ("m3-max", "metal", "ggml_metal_init: GPU name: Apple M3 Max", "1620 (fe680e3)"),
}
XD_L12_MODELS = {  # (README section, size) -> planner model, note
    ("LLaMA", "7B"): ("meta-llama/Llama-2-7b-hf", "LLaMA-1 7B (same architecture as Llama-2-7B)"),
    ("LLaMA", "13B"): ("meta-llama/Llama-2-13b-hf", "LLaMA-1 13B (same architecture as Llama-2-13B)"),
    ("LLaMA 2", "7B"): ("meta-llama/Llama-2-7b-hf", "Llama-2-7B base (models/7B-v2)"),
    ("LLaMA 2", "13B"): ("meta-llama/Llama-2-13b-hf", "Llama-2-13B base (models/13B-v2)"),
    ("LLaMA 2", "70B"): ("meta-llama/Llama-2-70b-hf", "Llama-2-70B base (models/70B-v2)"),
}
XD_L12 = [  # (section, README GPU, README model, mean TG t/s, mean PP t/s), as printed
    ("LLaMA", "4080 16GB", "7B_q4_0", 118.05, 3759.32),
    ("LLaMA", "4080 16GB", "7B_f16", 44.22, 5214.78),
    ("LLaMA", "4080 16GB", "13B_q4_0", 67.92, 2246),
    ("LLaMA", "3090 24GB", "7B_q4_0", 121.17, 2582.01),
    ("LLaMA", "3090 24GB", "7B_f16", 51.81, 3169.17),
    ("LLaMA", "3090 24GB", "13B_q4_0", 75.01, 1634.61),
    ("LLaMA", "4090 24GB", "7B_q4_0", 149.41, 3961.34),
    ("LLaMA", "4090 24GB", "7B_f16", 60.92, 7244.6),
    ("LLaMA", "4090 24GB", "13B_q4_0", 88.88, 3141.77),
    ("LLaMA", "RTX A6000 48GB", "7B_q4_0", 111.44, 2991.99),
    ("LLaMA", "RTX A6000 48GB", "7B_f16", 43.96, 3716.76),
    ("LLaMA", "RTX A6000 48GB", "13B_q4_0", 67.05, 1784.27),
    ("LLaMA", "RTX A6000 48GB", "13B_f16", 24.65, 2380.71),
    ("LLaMA", "A100 80GB", "7B_q4_0", 136.7, 3956.99),
    ("LLaMA", "A100 80GB", "7B_f16", 73.91, 5313.35),
    ("LLaMA", "A100 80GB", "13B_q4_0", 92.22, 2496.3),
    ("LLaMA", "A100 80GB", "13B_f16", 45.01, 3625.76),
    ("LLaMA", "H100 PCIe 80GB", "7B_q4_0", 132.72, 4966.88),
    ("LLaMA", "H100 PCIe 80GB", "7B_f16", 82.4, 7218.63),
    ("LLaMA", "H100 PCIe 80GB", "13B_q4_0", 91.19, 3046.46),
    ("LLaMA", "H100 PCIe 80GB", "13B_f16", 50.91, 5086.98),
    ("LLaMA", "M2 Ultra 76-Core GPU 192GB", "7B_q4_0", 92.13, 1210.93),
    ("LLaMA", "M2 Ultra 76-Core GPU 192GB", "7B_f16", 41.32, 1378.83),
    ("LLaMA", "M2 Ultra 76-Core GPU 192GB", "13B_q4_0", 55.8, 660.8),
    ("LLaMA", "M2 Ultra 76-Core GPU 192GB", "13B_f16", 22.16, 749.42),
    ("LLaMA", "M3 Max 40-Core GPU 48GB", "7B_q4_0", 63.06, 742.16),
    ("LLaMA", "M3 Max 40-Core GPU 48GB", "7B_f16", 24.66, 725.59),
    ("LLaMA", "M3 Max 40-Core GPU 48GB", "13B_q4_0", 35.98, 374.3),
    ("LLaMA", "M3 Max 40-Core GPU 48GB", "13B_f16", 13.33, 367.27),
    ("LLaMA 2", "4080 16GB", "7B_q4_0", 118.01, 3774.79),
    ("LLaMA 2", "4080 16GB", "7B_f16", 44.2, 5158.19),
    ("LLaMA 2", "4080 16GB", "13B_q4_0", 68.07, 2255.02),
    ("LLaMA 2", "3090 24GB", "7B_q4_0", 120.6, 2601.81),
    ("LLaMA 2", "3090 24GB", "7B_f16", 51.85, 3075.37),
    ("LLaMA 2", "3090 24GB", "13B_q4_0", 74.79, 1652.96),
    ("LLaMA 2", "4090 24GB", "7B_q4_0", 149.37, 5531.19),
    ("LLaMA 2", "4090 24GB", "7B_f16", 60.78, 7348.69),
    ("LLaMA 2", "4090 24GB", "13B_q4_0", 88.56, 3160.84),
    ("LLaMA 2", "RTX A6000 48GB", "7B_q4_0", 111.57, 2979.12),
    ("LLaMA 2", "RTX A6000 48GB", "7B_f16", 44.01, 3707.88),
    ("LLaMA 2", "RTX A6000 48GB", "13B_q4_0", 67.11, 1793.44),
    ("LLaMA 2", "RTX A6000 48GB", "13B_f16", 24.67, 2397.01),
    ("LLaMA 2", "RTX A6000 48GB", "70B_q4_0", 15.18, 405.97),
    ("LLaMA 2", "A100 80GB", "7B_q4_0", 136.24, 3443.98),
    ("LLaMA 2", "A100 80GB", "7B_f16", 73.83, 5105.77),
    ("LLaMA 2", "A100 80GB", "13B_q4_0", 92.12, 2337.92),
    ("LLaMA 2", "A100 80GB", "13B_f16", 45.01, 3697.29),
    ("LLaMA 2", "A100 80GB", "70B_q4_0", 25.68, 612.41),
    ("LLaMA 2", "H100 PCIe 80GB", "7B_q4_0", 133.77, 4868.59),
    ("LLaMA 2", "H100 PCIe 80GB", "7B_f16", 83.32, 7367),
    ("LLaMA 2", "H100 PCIe 80GB", "13B_q4_0", 90.26, 3012.23),
    ("LLaMA 2", "H100 PCIe 80GB", "13B_f16", 50.99, 5047.95),
    ("LLaMA 2", "H100 PCIe 80GB", "70B_q4_0", 25.88, 855.73),
    ("LLaMA 2", "M2 Ultra 76-Core GPU 192GB", "7B_q4_0", 91.89, 1217.03),
    ("LLaMA 2", "M2 Ultra 76-Core GPU 192GB", "7B_f16", 40.68, 1379.54),
    ("LLaMA 2", "M2 Ultra 76-Core GPU 192GB", "13B_q4_0", 55.34, 659.83),
    ("LLaMA 2", "M2 Ultra 76-Core GPU 192GB", "13B_f16", 22.15, 749.17),
    ("LLaMA 2", "M2 Ultra 76-Core GPU 192GB", "70B_q4_0", 14.37, 133.18),
    ("LLaMA 2", "M2 Ultra 76-Core GPU 192GB", "70B_f16", 4.81, 150.98),
    ("LLaMA 2", "M3 Max 40-Core GPU 48GB", "7B_q4_0", 63.11, 740.97),
    ("LLaMA 2", "M3 Max 40-Core GPU 48GB", "7B_f16", 24.76, 761.4),
    ("LLaMA 2", "M3 Max 40-Core GPU 48GB", "13B_q4_0", 36.49, 361.56),
    ("LLaMA 2", "M3 Max 40-Core GPU 48GB", "13B_f16", 13.34, 398.52),
]


def xd_l12_rows():
    out = []
    for section, gpu_name, model_key, tg, pp in XD_L12:
        size, q = model_key.split("_", 1)
        model, model_note = XD_L12_MODELS[(section, size)]
        gpu, backend, device, build = XD_L12_GPUS[gpu_name]
        quant = {"q4_0": "q4_0", "f16": "fp16"}[q]
        ngl = "-ngl 1 (Metal: all layers)" if backend == "metal" else "-ngl 10000"
        section_title = "LLaMA" if section == "LLaMA" else "LLaMA 2"
        out.append(
            row(
                model,
                quant,
                gpu,
                backend,
                f"llama.cpp main build = {build} ({backend.upper()}, {ngl}, --no-mmap)",
                f"{XD}@{XD_L12_COMMIT} README.md (Benchmarks > {section_title} > "
                f"{'Apple Silicon' if backend == 'metal' else 'NVIDIA GPUs'})",
                f"README row '{gpu_name}' / '{model_key}': mean TG {tg}, mean PP {pp} "
                "(three runs, llama_print_timings). "
                f"{model_note}. Device printed: '{device}'. Prompt 494 tokens (prompt eval), -n 1024 --ignore-eos -> "
                "1023 eval runs; n_ctx 512 with context shift, so the KV length cycles 256..512 "
                "(decode_context = mean 385).",
                pp=pp,
                tg=tg,
                prompt_tokens=494,
                gen_tokens=1023,
                decode_context=385,
            )
        )
    return out


# --------------------------------------------------------------------------------------------------------------
# 2. XiongjieDai LLaMA 3 multi-GPU notebooks (May 2024): ./llama-bench -p 512,1024,4096,8192 -n 512,1024,4096,8192
#    with default settings (ngl 99, n_batch 2048, n_ubatch 512, split mode layer, the default since ggml-backend).
#    Values are the raw llama-bench means printed in the notebooks (the README copies them, with a few typos).
#    Single-GPU LLaMA 3 rows are already in published_speed.jsonl (and partly the calibration set) and are skipped.
# --------------------------------------------------------------------------------------------------------------
XD_L3_MULTI = [  # (notebook, catalog gpu, n devices printed, device 0 printed, build printed, model printed, t/s)
    (
        "LLaMA 3/Gaming GPUs/3090_2_v3.ipynb",
        "rtx-3090",
        2,
        "NVIDIA GeForce RTX 3090",
        "d46dbc76 (2833)",
        "llama 8B Q4_K - Medium",
        {
            "pp512": "3336.37",
            "pp1024": "4004.14",
            "pp4096": "4013.34",
            "pp8192": "3433.59",
            "tg512": "111.67",
            "tg1024": "108.07",
            "tg4096": "99.60",
            "tg8192": "90.77",
        },
    ),
    (
        "LLaMA 3/Gaming GPUs/3090_2_v3.ipynb",
        "rtx-3090",
        2,
        "NVIDIA GeForce RTX 3090",
        "d46dbc76 (2833)",
        "llama 8B F16",
        {
            "pp512": "4122.66",
            "pp1024": "4690.50",
            "pp4096": "4788.60",
            "pp8192": "3851.37",
            "tg512": "47.72",
            "tg1024": "47.15",
            "tg4096": "45.56",
            "tg8192": "43.61",
        },
    ),
    (
        "LLaMA 3/Gaming GPUs/3090_2_v3.ipynb",
        "rtx-3090",
        2,
        "NVIDIA GeForce RTX 3090",
        "d46dbc76 (2833)",
        "llama 70B Q4_K - Medium",
        {
            "pp512": "357.32",
            "pp1024": "393.89",
            "pp4096": "379.52",
            "pp8192": "338.02",
            "tg512": "16.57",
            "tg1024": "16.29",
            "tg4096": "15.36",
            "tg8192": "14.34",
        },
    ),
    (
        "LLaMA 3/Gaming GPUs/4090_2_v3.ipynb",
        "rtx-4090",
        2,
        "NVIDIA GeForce RTX 4090",
        "4426e298 (2824)",
        "llama 8B Q4_K - Medium",
        {
            "pp512": "7003.51",
            "pp1024": "8545.00",
            "pp4096": "8422.04",
            "pp8192": "6895.68",
            "tg512": "124.65",
            "tg1024": "122.56",
            "tg4096": "114.32",
            "tg8192": "106.18",
        },
    ),
    (
        "LLaMA 3/Gaming GPUs/4090_2_v3.ipynb",
        "rtx-4090",
        2,
        "NVIDIA GeForce RTX 4090",
        "4426e298 (2824)",
        "llama 8B F16",
        {
            "pp512": "9177.92",
            "pp1024": "11094.51",
            "pp4096": "10329.29",
            "pp8192": "8067.29",
            "tg512": "53.64",
            "tg1024": "53.27",
            "tg4096": "51.64",
            "tg8192": "49.83",
        },
    ),
    (
        "LLaMA 3/Gaming GPUs/4090_2_v3.ipynb",
        "rtx-4090",
        2,
        "NVIDIA GeForce RTX 4090",
        "4426e298 (2824)",
        "llama 70B Q4_K - Medium",
        {
            "pp512": "839.43",
            "pp1024": "905.38",
            "pp4096": "846.38",
            "pp8192": "723.24",
            "tg512": "19.22",
            "tg1024": "19.06",
            "tg4096": "18.54",
            "tg8192": "17.92",
        },
    ),
    (
        "LLaMA 3/Gaming GPUs/3090_4_v3.ipynb",
        "rtx-3090",
        4,
        "NVIDIA GeForce RTX 3090",
        "d46dbc76 (2833)",
        "llama 8B Q4_K - Medium",
        {
            "pp512": "3742.66",
            "pp1024": "4653.93",
            "pp4096": "5826.91",
            "pp8192": "4913.40",
            "tg512": "108.66",
            "tg1024": "104.94",
            "tg4096": "97.09",
            "tg8192": "88.35",
        },
    ),
    (
        "LLaMA 3/Gaming GPUs/3090_4_v3.ipynb",
        "rtx-3090",
        4,
        "NVIDIA GeForce RTX 3090",
        "d46dbc76 (2833)",
        "llama 8B F16",
        {
            "pp512": "4608.40",
            "pp1024": "5713.41",
            "pp4096": "6596.17",
            "pp8192": "5361.52",
            "tg512": "47.07",
            "tg1024": "46.40",
            "tg4096": "44.76",
            "tg8192": "42.81",
        },
    ),
    (
        "LLaMA 3/Gaming GPUs/3090_4_v3.ipynb",
        "rtx-3090",
        4,
        "NVIDIA GeForce RTX 3090",
        "d46dbc76 (2833)",
        "llama 70B Q4_K - Medium",
        {
            "pp512": "300.79",
            "pp1024": "350.06",
            "pp4096": "367.75",
            "pp8192": "331.37",
            "tg512": "17.07",
            "tg1024": "16.89",
            "tg4096": "16.24",
            "tg8192": "15.39",
        },
    ),
    (
        "LLaMA 3/Gaming GPUs/4090_4_v3.ipynb",
        "rtx-4090",
        4,
        "NVIDIA GeForce RTX 4090",
        "4426e298 (2824)",
        "llama 8B Q4_K - Medium",
        {
            "pp512": "6748.96",
            "pp1024": "9609.29",
            "pp4096": "12491.10",
            "pp8192": "10993.75",
            "tg512": "120.32",
            "tg1024": "117.61",
            "tg4096": "110.52",
            "tg8192": "103.13",
        },
    ),
    (
        "LLaMA 3/Gaming GPUs/4090_4_v3.ipynb",
        "rtx-4090",
        4,
        "NVIDIA GeForce RTX 4090",
        "4426e298 (2824)",
        "llama 8B F16",
        {
            "pp512": "8750.57",
            "pp1024": "12304.19",
            "pp4096": "15143.84",
            "pp8192": "12919.74",
            "tg512": "53.10",
            "tg1024": "52.69",
            "tg4096": "51.00",
            "tg8192": "49.21",
        },
    ),
    (
        "LLaMA 3/Gaming GPUs/4090_4_v3.ipynb",
        "rtx-4090",
        4,
        "NVIDIA GeForce RTX 4090",
        "4426e298 (2824)",
        "llama 70B Q4_K - Medium",
        {
            "pp512": "834.74",
            "pp1024": "898.17",
            "pp4096": "839.97",
            "pp8192": "718.01",
            "tg512": "19.00",
            "tg1024": "18.83",
            "tg4096": "18.35",
            "tg8192": "17.66",
        },
    ),
    (
        "LLaMA 3/Gaming GPUs/3090_6_v3.ipynb",
        "rtx-3090",
        6,
        "NVIDIA GeForce RTX 3090",
        "4426e298 (2824)",
        "llama 8B Q4_K - Medium",
        {
            "pp512": "3359.99",
            "pp1024": "5153.05",
            "pp4096": "7690.65",
            "pp8192": "7084.44",
            "tg512": "104.17",
            "tg1024": "101.07",
            "tg4096": "94.06",
            "tg8192": "85.93",
        },
    ),
    (
        "LLaMA 3/Gaming GPUs/3090_6_v3.ipynb",
        "rtx-3090",
        6,
        "NVIDIA GeForce RTX 3090",
        "4426e298 (2824)",
        "llama 8B F16",
        {
            "pp512": "3875.97",
            "pp1024": "5952.95",
            "pp4096": "9437.91",
            "pp8192": "8780.49",
            "tg512": "46.23",
            "tg1024": "45.55",
            "tg4096": "43.99",
            "tg8192": "42.15",
        },
    ),
    (
        "LLaMA 3/Gaming GPUs/3090_6_v3.ipynb",
        "rtx-3090",
        6,
        "NVIDIA GeForce RTX 3090",
        "4426e298 (2824)",
        "llama 70B Q4_K - Medium",
        {
            "pp512": "456.95",
            "pp1024": "739.40",
            "pp4096": "786.79",
            "pp8192": "695.44",
            "tg512": "17.09",
            "tg1024": "16.93",
            "tg4096": "16.32",
            "tg8192": "15.45",
        },
    ),
    (
        "LLaMA 3/Gaming GPUs/3090_6_v3.ipynb",
        "rtx-3090",
        6,
        "NVIDIA GeForce RTX 3090",
        "4426e298 (2824)",
        "llama 70B F16",
        {"pp512": "579.00", "pp1024": "927.23", "tg512": "5.85", "tg1024": "5.82", "tg4096": "5.76"},
    ),
    (
        "LLaMA 3/Gaming GPUs/4090_8_v3.ipynb",
        "rtx-4090",
        8,
        "NVIDIA GeForce RTX 4090",
        "4426e298 (2824)",
        "llama 8B Q4_K - Medium",
        {
            "pp512": "6172.06",
            "pp1024": "9706.82",
            "pp4096": "15089.10",
            "pp8192": "13802.08",
            "tg512": "118.09",
            "tg1024": "116.13",
            "tg4096": "108.37",
            "tg8192": "100.95",
        },
    ),
    (
        "LLaMA 3/Gaming GPUs/4090_8_v3.ipynb",
        "rtx-4090",
        8,
        "NVIDIA GeForce RTX 4090",
        "4426e298 (2824)",
        "llama 8B F16",
        {
            "pp512": "7889.26",
            "pp1024": "11818.92",
            "pp4096": "16462.78",
            "pp8192": "14300.98",
            "tg512": "52.51",
            "tg1024": "52.12",
            "tg4096": "50.39",
            "tg8192": "48.72",
        },
    ),
    (
        "LLaMA 3/Gaming GPUs/4090_8_v3.ipynb",
        "rtx-4090",
        8,
        "NVIDIA GeForce RTX 4090",
        "4426e298 (2824)",
        "llama 70B Q4_K - Medium",
        {
            "pp512": "812.95",
            "pp1024": "1336.26",
            "pp4096": "1488.36",
            "pp8192": "1320.36",
            "tg512": "18.94",
            "tg1024": "18.76",
            "tg4096": "18.23",
            "tg8192": "17.57",
        },
    ),
    (
        "LLaMA 3/Gaming GPUs/4090_8_v3.ipynb",
        "rtx-4090",
        8,
        "NVIDIA GeForce RTX 4090",
        "4426e298 (2824)",
        "llama 70B F16",
        {
            "pp512": "1183.87",
            "pp1024": "1890.48",
            "pp4096": "2311.43",
            "pp8192": "1995.85",
            "tg512": "6.47",
            "tg1024": "6.45",
            "tg4096": "6.39",
            "tg8192": "6.31",
        },
    ),
    (
        "LLaMA 3/Professional GPUs/A6000_4_v3.ipynb",
        "rtx-a6000",
        4,
        "NVIDIA RTX A6000",
        "4426e298 (2824)",
        "llama 8B Q4_K - Medium",
        {
            "pp512": "3712.99",
            "pp1024": "5340.10",
            "pp4096": "7126.45",
            "pp8192": "6438.82",
            "tg512": "96.48",
            "tg1024": "93.73",
            "tg4096": "87.72",
            "tg8192": "80.88",
        },
    ),
    (
        "LLaMA 3/Professional GPUs/A6000_4_v3.ipynb",
        "rtx-a6000",
        4,
        "NVIDIA RTX A6000",
        "4426e298 (2824)",
        "llama 8B F16",
        {
            "pp512": "4508.60",
            "pp1024": "6448.85",
            "pp4096": "8327.16",
            "pp8192": "7298.18",
            "tg512": "39.34",
            "tg1024": "38.87",
            "tg4096": "37.81",
            "tg8192": "36.51",
        },
    ),
    (
        "LLaMA 3/Professional GPUs/A6000_4_v3.ipynb",
        "rtx-a6000",
        4,
        "NVIDIA RTX A6000",
        "4426e298 (2824)",
        "llama 70B Q4_K - Medium",
        {
            "pp512": "496.08",
            "pp1024": "539.20",
            "pp4096": "511.22",
            "pp8192": "434.31",
            "tg512": "14.44",
            "tg1024": "14.32",
            "tg4096": "13.91",
            "tg8192": "13.32",
        },
    ),
    (
        "LLaMA 3/Professional GPUs/A6000_4_v3.ipynb",
        "rtx-a6000",
        4,
        "NVIDIA RTX A6000",
        "4426e298 (2824)",
        "llama 70B F16",
        {
            "pp512": "510.31",
            "pp1024": "792.23",
            "pp4096": "751.37",
            "pp8192": "748.06",
            "tg512": "4.76",
            "tg1024": "4.74",
            "tg4096": "4.70",
            "tg8192": "4.63",
        },
    ),
    (
        "LLaMA 3/Professional GPUs/L40S_4_v3.ipynb",
        "l40s",
        4,
        "NVIDIA L40S",
        "befddd0f (2834)",
        "llama 8B Q4_K - Medium",
        {
            "pp512": "6125.69",
            "pp1024": "9008.27",
            "pp4096": "10566.97",
            "pp8192": "9017.90",
            "tg512": "107.53",
            "tg1024": "105.72",
            "tg4096": "98.59",
            "tg8192": "92.20",
        },
    ),
    (
        "LLaMA 3/Professional GPUs/L40S_4_v3.ipynb",
        "l40s",
        4,
        "NVIDIA L40S",
        "befddd0f (2834)",
        "llama 8B F16",
        {
            "pp512": "2211.45",
            "pp1024": "2541.61",
            "pp4096": "3093.33",
            "pp8192": "4336.81",
            "tg512": "42.70",
            "tg1024": "42.48",
            "tg4096": "41.33",
            "tg8192": "40.19",
        },
    ),
    (
        "LLaMA 3/Professional GPUs/L40S_4_v3.ipynb",
        "l40s",
        4,
        "NVIDIA L40S",
        "befddd0f (2834)",
        "llama 70B Q4_K - Medium",
        {
            "pp512": "591.05",
            "pp1024": "634.05",
            "pp4096": "605.66",
            "pp8192": "541.67",
            "tg512": "15.12",
            "tg1024": "14.99",
            "tg4096": "14.63",
            "tg8192": "14.17",
        },
    ),
    (
        "LLaMA 3/Professional GPUs/L40S_4_v3.ipynb",
        "l40s",
        4,
        "NVIDIA L40S",
        "befddd0f (2834)",
        "llama 70B F16",
        {
            "pp512": "1042.13",
            "pp1024": "1478.83",
            "pp4096": "1427.77",
            "pp8192": "1150.63",
            "tg512": "5.05",
            "tg1024": "5.03",
            "tg4096": "4.99",
            "tg8192": "4.94",
        },
    ),
    (
        "LLaMA 3/Professional GPUs/A100_PCIe_4_v3.ipynb",
        "a100-pcie-80gb",
        4,
        "NVIDIA A100 80GB PCIe",
        "8c570c94 (2836)",
        "llama 8B Q4_K - Medium",
        {
            "pp512": "6076.58",
            "pp1024": "8889.35",
            "pp4096": "12724.54",
            "pp8192": "11803.39",
            "tg512": "119.28",
            "tg1024": "117.30",
            "tg4096": "110.75",
            "tg8192": "103.87",
        },
    ),
    (
        "LLaMA 3/Professional GPUs/A100_PCIe_4_v3.ipynb",
        "a100-pcie-80gb",
        4,
        "NVIDIA A100 80GB PCIe",
        "8c570c94 (2836)",
        "llama 8B F16",
        {
            "pp512": "8088.79",
            "pp1024": "11670.74",
            "pp4096": "16025.11",
            "pp8192": "14269.17",
            "tg512": "51.63",
            "tg1024": "51.54",
            "tg4096": "50.20",
            "tg8192": "48.73",
        },
    ),
    (
        "LLaMA 3/Professional GPUs/A100_PCIe_4_v3.ipynb",
        "a100-pcie-80gb",
        4,
        "NVIDIA A100 80GB PCIe",
        "8c570c94 (2836)",
        "llama 70B Q4_K - Medium",
        {
            "pp512": "771.28",
            "pp1024": "978.06",
            "pp4096": "1138.60",
            "pp8192": "1043.15",
            "tg512": "22.91",
            "tg1024": "22.68",
            "tg4096": "21.41",
            "tg8192": "19.96",
        },
    ),
    (
        "LLaMA 3/Professional GPUs/A100_PCIe_4_v3.ipynb",
        "a100-pcie-80gb",
        4,
        "NVIDIA A100 80GB PCIe",
        "8c570c94 (2836)",
        "llama 70B F16",
        {
            "pp512": "1172.14",
            "pp1024": "1733.41",
            "pp4096": "1846.36",
            "pp8192": "1592.37",
            "tg512": "7.40",
            "tg1024": "7.38",
            "tg4096": "7.23",
            "tg8192": "7.06",
        },
    ),
    (
        "LLaMA 3/Professional GPUs/A100_SXM_4_v3.ipynb",
        "a100-sxm-80gb",
        4,
        "NVIDIA A100-SXM4-80GB",
        "d11afd66 (2837)",
        "llama 8B Q4_K - Medium",
        {
            "pp512": "4850.88",
            "pp1024": "7782.25",
            "pp4096": "12242.53",
            "pp8192": "11535.66",
            "tg512": "99.73",
            "tg1024": "97.70",
            "tg4096": "92.09",
            "tg8192": "86.27",
        },
    ),
    (
        "LLaMA 3/Professional GPUs/A100_SXM_4_v3.ipynb",
        "a100-sxm-80gb",
        4,
        "NVIDIA A100-SXM4-80GB",
        "d11afd66 (2837)",
        "llama 8B F16",
        {
            "pp512": "626.75",
            "pp1024": "674.11",
            "pp4096": "1003.37",
            "pp8192": "1612.05",
            "tg512": "45.53",
            "tg1024": "45.45",
            "tg4096": "44.33",
            "tg8192": "43.09",
        },
    ),
    (
        "LLaMA 3/Professional GPUs/A100_SXM_4_v3.ipynb",
        "a100-sxm-80gb",
        4,
        "NVIDIA A100-SXM4-80GB",
        "d11afd66 (2837)",
        "llama 70B Q4_K - Medium",
        {
            "pp512": "468.86",
            "pp1024": "539.08",
            "pp4096": "712.08",
            "pp8192": "802.23",
            "tg512": "19.87",
            "tg1024": "19.60",
            "tg4096": "18.48",
            "tg8192": "17.19",
        },
    ),
    (
        "LLaMA 3/Professional GPUs/A100_SXM_4_v3.ipynb",
        "a100-sxm-80gb",
        4,
        "NVIDIA A100-SXM4-80GB",
        "d11afd66 (2837)",
        "llama 70B F16",
        {
            "pp512": "1233.31",
            "pp1024": "1834.16",
            "pp4096": "1972.48",
            "pp8192": "1699.56",
            "tg512": "6.95",
            "tg1024": "6.92",
            "tg4096": "6.77",
            "tg8192": "6.58",
        },
    ),
    (
        "LLaMA 3/Professional GPUs/H100_PCIe_4_v3.ipynb",
        "h100-pcie",
        4,
        "NVIDIA H100 PCIe",
        "e8496488 (2843)",
        "llama 8B Q4_K - Medium",
        {
            "pp512": "8054.58",
            "pp1024": "11560.23",
            "pp4096": "16128.27",
            "pp8192": "14682.97",
            "tg512": "123.08",
            "tg1024": "118.14",
            "tg4096": "113.12",
            "tg8192": "110.34",
            "pp512+tg128": "564.73",
        },
    ),
    (
        "LLaMA 3/Professional GPUs/H100_PCIe_4_v3.ipynb",
        "h100-pcie",
        4,
        "NVIDIA H100 PCIe",
        "e8496488 (2843)",
        "llama 8B F16",
        {
            "pp512": "11107.40",
            "pp1024": "15612.81",
            "pp4096": "20561.03",
            "pp8192": "17762.96",
            "tg512": "64.00",
            "tg1024": "62.90",
            "tg4096": "61.45",
            "tg8192": "59.72",
            "pp512+tg128": "311.19",
        },
    ),
    (
        "LLaMA 3/Professional GPUs/H100_PCIe_4_v3.ipynb",
        "h100-pcie",
        4,
        "NVIDIA H100 PCIe",
        "e8496488 (2843)",
        "llama 70B Q4_K - Medium",
        {
            "pp512": "1048.29",
            "pp1024": "1133.23",
            "pp4096": "1088.99",
            "pp8192": "950.92",
            "tg512": "26.40",
            "tg1024": "26.20",
            "tg4096": "24.60",
            "tg8192": "23.68",
            "pp512+tg128": "119.21",
        },
    ),
    (
        "LLaMA 3/Professional GPUs/H100_PCIe_4_v3.ipynb",
        "h100-pcie",
        4,
        "NVIDIA H100 PCIe",
        "e8496488 (2843)",
        "llama 70B F16",
        {
            "pp512": "1681.45",
            "pp1024": "2420.10",
            "pp4096": "2437.53",
            "pp8192": "2031.77",
            "tg512": "9.67",
            "tg1024": "9.63",
            "tg4096": "9.46",
            "tg8192": "9.23",
            "pp512+tg128": "47.11",
        },
    ),
]
XD_L3_MODELS = {"llama 8B": "meta-llama/Meta-Llama-3-8B", "llama 70B": "meta-llama/Meta-Llama-3-70B"}
XD_L3_LENGTHS = (512, 4096)  # one row per length; the other lengths are listed in the note


def xd_l3_rows():
    out = []
    for nb, gpu, n, device, build, printed, res in XD_L3_MULTI:
        size = " ".join(printed.split()[:2])
        quant = "q4_k_m" if "Q4_K - Medium" in printed else "fp16"
        others = ", ".join(f"{k}={v}" for k, v in res.items())
        for length in XD_L3_LENGTHS:
            pp, tg = res.get(f"pp{length}"), res.get(f"tg{length}")
            if pp is None and tg is None:
                continue
            out.append(
                row(
                    XD_L3_MODELS[size],
                    quant,
                    gpu,
                    "cuda",
                    f"llama-bench build: {build} (CUDA, ngl 99, {n} GPUs, default -sm layer)",
                    f"{XD}@{XD_L3_COMMIT} {nb}",
                    f"llama-bench '{printed}' on {n}x '{device}' (found {n} CUDA devices; default split mode layer). "
                    f"pp{length} and tg{length} are separate tests (tg from an empty context). Model dir "
                    f"'{'8B-v3' if size == 'llama 8B' else '70B-v3'}' (Meta Llama 3 base). All printed: {others}.",
                    n_gpus=n,
                    pp=float(pp) if pp else None,
                    tg=float(tg) if tg else None,
                    prompt_tokens=length,
                    gen_tokens=length,
                )
            )
    return out


# --------------------------------------------------------------------------------------------------------------
# 3. llama.cpp pull-request threads (ggml-org/llama.cpp) and other issue threads, as printed there.
# --------------------------------------------------------------------------------------------------------------
L7, L8 = "meta-llama/Llama-2-7b-hf", "meta-llama/Meta-Llama-3-8B"
GG_M2U = (
    "printed 'M2 Ultra' by ggerganov, whose machine is the 76-core-GPU 192GB M2 Ultra "
    "(his own row in llama.cpp discussion #4167)"
)
JG = (
    "JohannesGaessler's compare-llama-bench table (baseline vs PR t/s per GPU, model, microbatch size, test); "
    "'llama 8B' is LLaMA 3 8B (8.03 B, same architecture as Llama 3.1 8B)"
)


def issue_rows():
    out = []
    # PR #3084 "Metal: PP speedup" (ggerganov, 2023-09-09), 'PR t/s' column, pp 512, 4 threads. F16 is already in
    # published_speed.jsonl.
    src = "https://github.com/ggml-org/llama.cpp/pull/3084 (comment by ggerganov 2023-09-09, 'PR t/s' column)"
    for printed, quant, pp in [
        ("LLaMA 7B mostly Q8_0", "q8_0", 1142.84),
        ("LLaMA 7B mostly Q4_0", "q4_0", 1164.00),
        ("LLaMA 7B mostly Q4_1", "q4_1", 1161.63),
        ("LLaMA 7B mostly Q6_K", "q6_k", 977.56),
        ("LLaMA 7B mostly Q5_K - Medium", "q5_k_m", 976.31),
        ("LLaMA 7B mostly Q5_K - Small", "q5_k_s", 977.60),
        ("LLaMA 7B mostly Q4_K - Medium", "q4_k_m", 1028.20),
    ]:
        out.append(
            row(
                L7,
                quant,
                "m2-ultra",
                "metal",
                "llama.cpp PR #3084 branch, Sep 2023 (llama-bench, Metal, 4 threads)",
                src,
                f"'{printed}' pp 512 (prefill only; tg not in this table). LLaMA-1 7B = Llama-2-7B "
                f"architecture. GPU {GG_M2U}.",
                pp=pp,
                prompt_tokens=512,
            )
        )
    # PR #2917 (ggerganov, 2023-08-30), 'master' table on M2 Ultra; Q8_0 and Q4_0 are in published_speed.jsonl.
    out.append(
        row(
            L7,
            "q4_1",
            "m2-ultra",
            "metal",
            "llama.cpp master Aug 2023 (llama-bench, Metal, ngl 1, 4 threads)",
            "https://github.com/ggml-org/llama.cpp/pull/2917 (description by ggerganov, 'master' table)",
            "'LLaMA 7B mostly Q4_1' pp 512 = 631.94, tg 128 = 83.63 (separate tests). "
            "LLaMA-1 7B = Llama-2-7B architecture. "
            f"GPU {GG_M2U}.",
            pp=631.94,
            tg=83.63,
            prompt_tokens=512,
            gen_tokens=128,
        )
    )
    # PR #4766 (ggerganov, 2024-01-10), RTX 4090; F16 and Q8_0 are in published_speed.jsonl, the Q4_0 tg was cut off.
    out.append(
        row(
            L7,
            "q4_0",
            "rtx-4090",
            "cuda",
            "llama.cpp ggml-backend branch, Jan 2024 (llama-bench, CUDA, ngl 99)",
            "https://github.com/ggml-org/llama.cpp/pull/4766 (comment by ggerganov 2024-01-10)",
            "'llama 7B Q4_0' (models/codellama-7b, Llama-2-7B architecture) pp 512 = 7979.85 +/- 114.18 on "
            "'NVIDIA GeForce RTX 4090, compute capability 8.9'. Prefill only (tg row cut off in the excerpt seen).",
            pp=7979.85,
            prompt_tokens=512,
        )
    )
    # PR #15616 "presets : add qwen3-30B-a3b FIM" (ggerganov, 2025-08-27), M2 Ultra, n_ubatch 2048, fa 1.
    src = "https://github.com/ggml-org/llama.cpp/pull/15616 (description by ggerganov 2025-08-27, 'Perf M2 Ultra')"
    out.append(
        row(
            "Qwen/Qwen3-30B-A3B",
            "q8_0",
            "m2-ultra",
            "metal",
            "llama.cpp master Aug 2025 (llama-bench, Metal, n_ubatch 2048, fa 1)",
            src,
            f"'qwen3moe 30B.A3B Q8_0' (Qwen 3 Coder 30B-A3B, same qwen3moe architecture as Qwen3-30B-A3B) "
            f"pp512 = 2045.19, tg128 = 76.31; also pp2048 = 2272.56, pp16384 = 1022.81. GPU {GG_M2U}.",
            pp=2045.19,
            tg=76.31,
            prompt_tokens=512,
            gen_tokens=128,
        )
    )
    out.append(
        row(
            "Qwen/Qwen2.5-7B",
            "q8_0",
            "m2-ultra",
            "metal",
            "llama.cpp master Aug 2025 (llama-bench, Metal, n_ubatch 2048, fa 1)",
            src,
            f"'qwen2 7B Q8_0' (Qwen 2.5 Coder 7B, same architecture as Qwen2.5-7B) pp512 = 1419.54; also "
            f"pp2048 = 1470.14, pp16384 = 1037.44 (tg row cut off in the excerpt seen). GPU {GG_M2U}.",
            pp=1419.54,
            prompt_tokens=512,
        )
    )
    # Issue #2641 (2023-08-17): A100-SXM4-80GB, ./main -n 128 -ngl 1000 -mmq, ggjt v3 LLaMA 7B "mostly Q4_1".
    out.append(
        row(
            L7,
            "q4_1",
            "a100-sxm-80gb",
            "cuda",
            "llama.cpp main build = 992 (0919a0f) (CUDA, -ngl 1000, -mmq)",
            "https://github.com/ggml-org/llama.cpp/issues/2641 (comment by bigmover 2023-08-17)",
            "'Now it infer by 75.91 tokens per second' for ./main -m llama-7b/ggml-model-q4.bin -n 128 -ngl 1000 "
            "-mmq, no prompt; model printed 'ftype = 3 (mostly Q4_1)', n_ctx 512; device printed "
            "'NVIDIA A100-SXM4-80GB, compute capability 8.0'. LLaMA-1 7B = Llama-2-7B architecture.",
            tg=75.91,
            gen_tokens=128,
        )
    )
    # JohannesGaessler CUDA PRs: compare-llama-bench tables, microbatch (n_ubatch) 512 = the default, master column.
    for pr, date, gpu, printed, quant, test, pp in [
        (7676, "2024-06", "rtx-4090", "llama 8B Q4_0", "q4_0", "pp512", 6279.91),
        (7676, "2024-06", "rtx-3090", "llama 8B Q5_0", "q5_0", "pp512", 2256.40),
        (7676, "2024-06", "rtx-3090", "llama 8B Q5_1", "q5_1", "pp512", 2190.26),
        (7716, "2024-06", "rtx-4090", "llama 8B Q5_0", "q5_0", "pp2048", 5542.35),
        (7716, "2024-06", "rtx-4090", "llama 8B Q5_1", "q5_1", "pp2048", 4929.19),
        (7716, "2024-06", "rtx-3090", "llama 8B Q5_0", "q5_0", "pp2048", 2106.90),
        (7716, "2024-06", "rtx-3090", "llama 8B Q5_1", "q5_1", "pp2048", 1844.11),
        (7860, "2024-06", "rtx-4090", "llama 8B Q4_K_S", "q4_k_s", "pp2048", 5611.17),
        (7921, "2024-06", "rtx-4090", "llama 8B Q2_K_M", "q2_k", "pp2048", 3909.38),
        (8495, "2024-07", "rtx-3090", "llama 8B Q3_K_S", "q3_k_s", "pp2048", 3750.13),
        (8416, "2024-07", "rtx-3090", "llama 8B Q4_1", "q4_1", "pp2048", 3901.46),
    ]:
        n = int(test[2:])
        qnote = " ('Q2_K_M' is how the script prints the Q2_K preset, 'Q2_K - Medium')" if quant == "q2_k" else ""
        header_seen = pr in (7676, 7860, 7921)  # the excerpts of the other PRs start below the table header
        col = "'t/s master' column" if header_seen else "first (baseline) t/s column, header outside the excerpt seen"
        out.append(
            row(
                L8,
                quant,
                gpu,
                "cuda",
                f"llama.cpp master {date} (llama-bench, CUDA, ngl 99, n_ubatch 512)",
                f"https://github.com/ggml-org/llama.cpp/pull/{pr} (JohannesGaessler's performance table, {col})",
                f"'{gpu.upper().replace('-', ' ')} | {printed} | microbatch 512 | {test}' = {pp}{qnote}. {JG}; "
                f"value from the {col}. Prefill only.",
                pp=pp,
                prompt_tokens=n,
            )
        )
    out.append(
        row(
            "openai/gpt-oss-20b",
            "mxfp4_moe",
            "rtx-3090",
            "cuda",
            "llama.cpp master 2026 (llama-bench, CUDA, ngl 99, n_ubatch 512)",
            "https://github.com/ggml-org/llama.cpp/pull/20586 (JohannesGaessler's performance table, baseline column)",
            "'RTX 3090 | gpt-oss 20B MXFP4 MoE | 512 | pp512' = 4739.20 (first, baseline t/s column; its header "
            "was outside the excerpt seen). Prefill only.",
            pp=4739.20,
            prompt_tokens=512,
        )
    )
    # Vulkan, 0cc4m's RTX 3090 (PR #21024 "Vulkan Repack PoC", 2026-05-15): 't/s (before)' = master, fa 1, mmap 0.
    src = (
        "https://github.com/ggml-org/llama.cpp/pull/21024 (comment by 0cc4m 2026-05-15, 'RTX 3090' table, "
        "'t/s (before)')"
    )
    for printed, model, quant, pp, tg in [
        ("llama 8B Q4_0", L8, "q4_0", 4753.45, 146.73),
        ("llama 8B Q4_1", L8, "q4_1", 4397.53, 138.34),
        ("llama 8B Q8_0", L8, "q8_0", 4830.91, 95.05),
        ("gpt-oss 20B MXFP4 MoE", "openai/gpt-oss-20b", "mxfp4_moe", 4616.91, 181.32),
    ]:
        out.append(
            row(
                model,
                quant,
                "rtx-3090",
                "vulkan",
                "llama.cpp master May 2026 (llama-bench, Vulkan, ngl 99, fa 1, mmap 0)",
                src,
                f"'{printed}' pp512 = {pp}, tg128 = {tg} (separate tests) on 0cc4m's RTX 3090 with the "
                "Vulkan backend (the PR is Vulkan-only)."
                + (" 'llama 8B' = LLaMA 3 8B architecture." if model == L8 else ""),
                pp=pp,
                tg=tg,
                prompt_tokens=512,
                gen_tokens=128,
            )
        )
    # Vulkan, PR #14903 (0cc4m 2025-08-31, 'Nvidia RTX 3090' table, 't/s (before)'): llama 3B = Llama 3.2 3B (3.21 B).
    src = (
        "https://github.com/ggml-org/llama.cpp/pull/14903 (comment by 0cc4m 2025-08-31, 'Nvidia RTX 3090' table, "
        "'t/s (before)')"
    )
    for printed, quant, fa, pp, tg in [
        ("llama 3B Q4_0", "q4_0", 0, 7499.61, 236.32),
        ("llama 3B Q4_0", "q4_0", 1, 8216.30, 255.82),
        ("llama 3B Q8_0", "q8_0", 0, 8269.73, 173.86),
        ("llama 3B Q8_0", "q8_0", 1, 9167.98, None),
    ]:
        out.append(
            row(
                "meta-llama/Llama-3.2-3B",
                quant,
                "rtx-3090",
                "vulkan",
                f"llama.cpp master Aug 2025 (llama-bench, Vulkan, ngl 99, fa {fa})",
                src,
                f"'{printed}' (3.21 B params = Llama 3.2 3B), fa {fa}: pp512 = {pp}"
                + (f", tg128 = {tg}" if tg else " (tg128 row cut off in the excerpt seen)")
                + ".",
                pp=pp,
                tg=tg,
                prompt_tokens=512,
                gen_tokens=128,
            )
        )
    # Vulkan, PR #14903 (jeffbolznv 2025-08-21, '5090 before'), llama-bench -fa 1 -n 128 -p 0 -r 5.
    src = "https://github.com/ggml-org/llama.cpp/pull/14903 (comment by jeffbolznv 2025-08-21, '5090 before')"
    dev = "ggml_vulkan: 0 = NVIDIA GeForce RTX 5090 (NVIDIA) ... matrix cores: NV_coopmat2"
    out.append(
        row(
            L7,
            "q4_0",
            "rtx-5090",
            "vulkan",
            "llama.cpp master Aug 2025 (llama-bench, Vulkan, ngl 99, fa 1)",
            src,
            f"'llama 7B Q4_0' (c:\\models\\llama-2-7b.Q4_0.gguf) tg128 = 221.08; device printed '{dev}'. Decode only.",
            tg=221.08,
            gen_tokens=128,
        )
    )
    out.append(
        row(
            "meta-llama/Llama-3.2-3B",
            "q8_0",
            "rtx-5090",
            "vulkan",
            "llama.cpp master Aug 2025 (llama-bench, Vulkan, ngl 99, fa 1)",
            src,
            f"'llama 3B Q8_0' (llama-3.2-3b-instruct-q8_0.gguf; instruct -> base architecture) tg128 = 271.33; "
            f"device printed '{dev}'. Decode only.",
            tg=271.33,
            gen_tokens=128,
        )
    )
    return out


def curate() -> list[dict]:
    return xd_l12_rows() + xd_l3_rows() + issue_rows()


if __name__ == "__main__":
    rows = curate()
    OUT.write_text("".join(json.dumps(r) + "\n" for r in rows))
    print(f"{len(rows)} rows -> {OUT}")
