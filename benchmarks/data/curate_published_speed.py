"""Map research/speed_measurements.jsonl (published batch-1 runs, as printed) onto planner's names.

Writes benchmarks/data/published_speed.jsonl: one row per run planner can model — the model mapped to a
bundled profile (or a config.json fixture) of the same architecture, the quantization to a catalog name, the GPU
to a catalog id. Rows whose GPU or model has no counterpart are dropped, and so are the calibration rows of
../shared/reference-data.md. Run: python benchmarks/data/curate_published_speed.py
"""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

GPUS = {  # printed name → (catalog id, count)
    "RTX 4090": ("rtx-4090", 1), "RTX 4090 24GB": ("rtx-4090", 1), "RTX 3090": ("rtx-3090", 1),
    "RTX 3090 24GB": ("rtx-3090", 1), "RTX 4080 16GB": ("rtx-4080", 1), "RTX A6000 48GB": ("rtx-a6000", 1),
    "L40S 48GB": ("l40s", 1), "L40S": ("l40s", 1), "A100 PCIe 80GB": ("a100-pcie-80gb", 1),
    "A100 SXM 80GB": ("a100-sxm-80gb", 1), "A100-80GB (330W cap)": ("a100-sxm-80gb", 1),
    "A100-80G": ("a100-sxm-80gb", 1), "A100": ("a100-sxm-80gb", 1), "H100 PCIe 80GB": ("h100-pcie", 1),
    "H100 (FP8 section)": ("h100-sxm", 1), "H100 (80GB HBM3, variant not stated)": ("h100-sxm", 1),
    "RTX 5090": ("rtx-5090", 1),
    "Apple M1 Max (32-core GPU, 64GB)": ("m1-max", 1), "Apple M3 Max (40-core GPU, 64GB)": ("m3-max", 1),
    "Apple M2 Ultra (76-core GPU, 192GB)": ("m2-ultra", 1), "Apple M2 Ultra": ("m2-ultra", 1),
    "Apple M2 Ultra (76-core)": ("m2-ultra", 1), "Apple M4 Max (40-core, 546 GB/s)": ("m4-max", 1),
    "2x A100 (PCIe, TP2)": ("a100-pcie-80gb", 2), "4x H100 (TP4)": ("h100-sxm", 4),
    "4x A100 (TP4)": ("a100-sxm-80gb", 4), "A100-80G x4 (TP4)": ("a100-sxm-80gb", 4),
    "2x H100 80G (TP2)": ("h100-sxm", 2), "8x A100-80GB (330W cap, TP8)": ("a100-sxm-80gb", 8),
    "2x A100-80GB (330W cap, TP2)": ("a100-sxm-80gb", 2),
}
MODELS = [  # printed id prefix → planner model (same architecture)
    ("meta-llama/Meta-Llama-3-8B", "meta-llama/Meta-Llama-3-8B"),
    ("meta-llama/Meta-Llama-3-70B", "meta-llama/Meta-Llama-3-70B"),
    ("meta-llama/Llama-3.1-8B", "meta-llama/Llama-3.1-8B"), ("meta-llama/Llama-3.1-70B", "meta-llama/Llama-3.1-70B"),
    ("meta-llama/Llama-3.3-70B", "meta-llama/Llama-3.1-70B"),
    ("meta-llama/Llama-2-7b", "meta-llama/Llama-2-7b-hf"), ("meta-llama/Llama-2-13b", "meta-llama/Llama-2-13b-hf"),
    ("meta-llama/Llama-2-70b", "meta-llama/Llama-2-70b-hf"), ("huggyllama/llama-7b", "meta-llama/Llama-2-7b-hf"),
    ("huggyllama/llama-13b", "meta-llama/Llama-2-13b-hf"), ("codellama/CodeLlama-7b", "meta-llama/Llama-2-7b-hf"),
    ("mistralai/Mixtral-8x7B", "mistralai/Mixtral-8x7B-v0.1"),
    ("TinyLlama/TinyLlama-1.1B", "tests/fixtures/configs/TinyLlama__TinyLlama-1.1B-Chat-v1.0.json"),
]
QUANTS = {"q4_k_m": "q4_k_m", "fp16": "fp16", "bf16": "bf16", "q4_0": "q4_0", "q8_0": "q8_0", "fp8": "fp8",
          "int8": "int8", "int4": "int4", "gptq": "gptq-4bit-g128",
          "gptq (4-bit, g128, no act-order)": "gptq-4bit-g128",
          "int4 (MLC q4f16_1)": "gguf-q4_0",  # 4 bits + an fp16 scale per 32: the Q4_0 layout, 4.5 bits/weight
          "exl2-2.5": "exl2-2.5", "exl2-3.0": "exl2-3.0", "exl2-4.0": "exl2-4.0", "exl2-5.0": "exl2-5.0"}
# gpt-fast generates 200 tokens by default (generate.py --max_new_tokens 200); exllamav2's README gives no lengths.
DEFAULT_GEN = {"gpt-fast": 200, "exllamav2": 256}
CALIBRATION = {("meta-llama/Meta-Llama-3-8B", q, g) for q in ("q4_k_m", "fp16")
               for g in ("rtx-3090", "rtx-4090", "a100-pcie-80gb", "m2-ultra")}


# printed engine (lower case) → planner's speed engine; the first match wins. NVIDIA NIM's optimized profiles for
# Llama 3.1 on H100 (fp8, TP2, "latency") run TensorRT-LLM engines.
ENGINES = [("llama.cpp", "llama.cpp"), ("tensorrt-llm", "tensorrt-llm"), ("nvidia nim", "tensorrt-llm"),
           ("lmdeploy", "lmdeploy"), ("mlc", "mlc-llm"), ("exllamav2", "exllamav2"), ("gpt-fast", "gpt-fast"),
           ("vllm", "vllm")]


def engine_class(engine: str) -> str:
    """The speed engine a printed engine name runs (planner.efficiency.SPEED_ENGINES); unknown names fail loudly."""
    low = engine.lower()
    hit = next((ours for printed, ours in ENGINES if printed in low), None)
    if hit is None:
        raise ValueError(f"no speed engine for the printed engine {engine!r}")
    return hit


def curate() -> list[dict]:
    out = []
    for line in (ROOT / "research" / "speed_measurements.jsonl").read_text().splitlines():
        r = json.loads(line)
        model = next((m for prefix, m in MODELS if r["model"].startswith(prefix)), None)
        quant = QUANTS.get(r["quant"])
        gpu = GPUS.get(r["gpu"])
        if model is None or quant is None or gpu is None or r.get("batch") not in (1, None):
            continue
        gen = r["gen_tokens"] or next((v for k, v in DEFAULT_GEN.items() if k in r["engine"].lower()), 256)
        prompt = r["prompt_tokens"] or 0
        # llama-bench's tgN generates N tokens from an empty context, separately from its ppN test
        separate = "llama-bench" in r["engine"] or "XiongjieDai" in r["source"]
        decode_context = max(1, gen // 2 + (0 if separate else prompt))
        row = dict(model=model, quant=quant, gpu=gpu[0], n_gpus=gpu[1], engine=engine_class(r["engine"]),
                   engine_printed=r["engine"], prompt_tokens=prompt, gen_tokens=gen, decode_context=decode_context,
                   decode_tokens_per_s=r["decode_tokens_per_s"], prefill_tokens_per_s=r["prefill_tokens_per_s"],
                   ttft_s=r["ttft_s"], source=r["source"], note=r["note"])
        if (model, quant, gpu[0]) in CALIBRATION and gpu[1] == 1:
            row["decode_tokens_per_s"] = None  # calibration rows (reference-data.md) do not count as evidence
        if "SECONDARY" in (r["note"] or "") or "UNCERTAIN" in (r["note"] or ""):
            row["quality"] = "secondary"
        out.append(row)
    return out


if __name__ == "__main__":
    rows = curate()
    path = ROOT / "benchmarks" / "data" / "published_speed.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    print(f"{len(rows)} rows → {path}")
