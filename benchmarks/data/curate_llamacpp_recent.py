"""Curate more published llama.cpp llama-bench runs (builds the runs printed) into planner's names.

Writes benchmarks/data/published_llamacpp_recent.jsonl, one JSON object per run, same schema as
published_llamacpp.jsonl (curate_llamacpp_runs.py), including "backend". Every figure below was copied from the
cited public source as printed (the mean, not the +/- spread); nothing is estimated or rounded. One row carries the
pp and tg figures of the same llama-bench table (same model, quant, GPU, settings). Each run's build is the one its
llama-bench printed ("build: <commit> (<number>)"); benchmarks/data/llamacpp_builds.jsonl has one line per
(engine_printed, source) with "from": "printed".

Conventions (as in curate_llamacpp_runs.py)
- llama-bench ppN / tgN are separate tests from an empty KV cache: a tgN row has decode_context = N/2, a ppN row is
  a prompt of N tokens.
- The llama-bench model column names the architecture and size; the model is mapped only where the source names the
  file or model, else ASSUMED with the reason (fine-tunes map to the base with the same architecture).
- Quant names: llama.cpp presets in lower case ("Q4_K - Medium" -> q4_k_m, "Q5_K - Medium" -> q5_k_m).
- GPUs only where the printed device (or the post text) is an exact match for a catalog id.

Run: python benchmarks/data/curate_llamacpp_recent.py
"""

from __future__ import annotations

import json
from pathlib import Path

from curate_llamacpp_runs import row  # the same row schema (these scripts run from benchmarks/data)

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "benchmarks" / "data" / "published_llamacpp_recent.jsonl"


# --------------------------------------------------------------------------------------------------------------
# 1. 1337hero/rx7900xtx-llama-bench-vulcan (Dec 2025): raw llama-bench logs of the Vulkan "canonical 7B Q4_0" test
#    (llama-2-7b.Q4_0.gguf, -ngl 100) on two RX 7900 XTX, RADV Mesa 25.3.1, for llama.cpp discussion #10879.
#    Only the last file (14:36, build 7361, KHR_coopmat enabled as by default, n_batch 512, fa 1) is taken. Left out:
#    the files that set GGML_VK_DISABLE_COOPMAT=1 and -b 256, and the 07:27 file (build 7356, default flags, kernel
#    6.12 LTS), whose pp512 on the same card is 5x lower (644.10 vs 3229.07 t/s with fa 1) and whose second card the
#    README calls chipset-bottlenecked: the environment, not llama.cpp, differs between the files. DOUBT: in the
#    kept file the two cards still differ by 15% in tg128.
# --------------------------------------------------------------------------------------------------------------
R1337 = "github:1337hero/rx7900xtx-llama-bench-vulcan"
R1337_DEV = (
    "ggml_vulkan: 0 = AMD Radeon RX 7900 XTX (RADV NAVI31) (radv) | ... | int dot: 1 | matrix cores: KHR_coopmat"
)


def r1337_rows():
    out = []
    src = f"{R1337}@6d88857a227b1f89b16a142c07d10200c2823d98 benchmark-results/vulkan_benchmark_20251211_143639.txt"
    printed = "llama-bench build: a81a56957 (7361) (Vulkan RADV, ngl 100, n_batch 512, fa 1, KHR_coopmat)"
    for block, pp, tg in [
        ("GPU 0 ONLY (pciBus 6 - bottom slot, display)", 3229.07, 150.97),
        ("GPU 1 ONLY (pciBus 15 - top slot, compute)", 3290.92, 172.86),
    ]:
        out.append(
            row(
                "meta-llama/Llama-2-7b-hf",
                "q4_0",
                "rx-7900-xtx",
                "vulkan",
                printed,
                src,
                f"'### {block}' block, device printed '{R1337_DEV}'; printed 'llama 7B Q4_0 | 3.56 GiB | 6.74 B | "
                f"Vulkan | 100 | 512 | 1 | pp512 | {pp:.2f}' and '... | tg128 | {tg:.2f}', 'build: a81a56957 (7361)'. "
                "Model file llama-2-7b.Q4_0.gguf (Llama-2-7B). Kernel 6.17.9-zen1, Mesa 25.3.1, 'Coopmat: ENABLED'. "
                "DOUBT: the two cards of this file differ by 15% in tg128, and the earlier files of the repo "
                "disagree (section note).",
                pp=pp,
                tg=tg,
                prompt_tokens=512,
                gen_tokens=128,
            )
        )
    out.append(
        row(
            "meta-llama/Llama-2-7b-hf",
            "q4_0",
            "rx-7900-xtx",
            "vulkan",
            printed,
            src,
            "'### DUAL GPU' block ('Found 2 Vulkan devices', both 'AMD Radeon RX 7900 XTX (RADV NAVI31)'); printed "
            "'llama 7B Q4_0 | 3.56 GiB | 6.74 B | Vulkan | 100 | 512 | 1 | pp512 | 2546.13' and '... | tg128 | "
            "129.80', 'build: a81a56957 (7361)'; default split mode layer across both cards. The log itself notes "
            "'slower for small models due to PCIe overhead'. Model file llama-2-7b.Q4_0.gguf (Llama-2-7B).",
            n_gpus=2,
            pp=2546.13,
            tg=129.80,
            prompt_tokens=512,
            gen_tokens=128,
        )
    )
    return out


# --------------------------------------------------------------------------------------------------------------
# 2. willettAMT/perf-analysis-modeling-project (Nov 2025, a course project on the ORCA cluster): Qwen3-8B Q5_K_M,
#    llama-bench -t 64, "GPU Full Offloading (all layers)" test on one NVIDIA L40S, built with GGML_CUDA=ON,
#    GGML_BLAS=ON (OpenBLAS) and GGML_CUDA_GRAPHS=OFF (printed in the file's 'Build Configuration'): without CUDA
#    graphs tg runs a little slower than a default build. The file's multi-GPU tests are left out: they passed
#    -ts 8,8,0,0 etc., which llama-bench reads as a list of single-value runs (the printed ts column is 8.00, 0.00,
#    4.00 ...), not as splits.
# --------------------------------------------------------------------------------------------------------------
WILLETT = "github:willettAMT/perf-analysis-modeling-project@5dd1d2520429714bae91a94054612cef27c9db27"


def willett_rows():
    out = []
    for path, node, test, pp, tg in [
        ("measurements/aaron/benchmark_results_20251129_173709.md", "orcaga02", "Test 3: GPU Full Offloading",
         7698.65, 104.61),
        ("measurements/aaron/benchmark_results_4gpu_20251129_181939.md", "orcaga01", "Test 1: Single GPU (Baseline)",
         7907.81, 104.18),
    ]:
        out.append(
            row(
                "Qwen/Qwen3-8B",
                "q5_k_m",
                "l40s",
                "cuda",
                "llama-bench build: 8c32d9d96 (7199) (CUDA+BLAS, all layers on GPU, 64 threads, GGML_CUDA_GRAPHS=OFF)",
                f"{WILLETT} {path}",
                f"'{test}' on node {node}, device printed 'Device 0: NVIDIA L40S, compute capability 8.9, VMM: yes'; "
                f"printed 'qwen3 8B Q5_K - Medium | 5.44 GiB | 8.19 B | CUDA,BLAS | 64 | pp512 | {pp:.2f}' and "
                f"'... | tg128 | {tg:.2f}', 'build: 8c32d9d96 (7199)'. Model named 'Qwen3-8B (Q5_K_M quantization)' "
                "(qwen3-8b-q5_k_m.gguf). Built with GGML_CUDA_GRAPHS=OFF.",
                pp=pp,
                tg=tg,
                prompt_tokens=512,
                gen_tokens=128,
            )
        )
    return out


# --------------------------------------------------------------------------------------------------------------
# 3. eliranwong/MultiAMDGPU_AIDev_Ubuntu benchmark.md (mid-2024): llama-bench -ngl 999 -p 512 -n 512 -r 3 on two
#    RX 7900 XTX with ROCm (ROCm 6.1.3 per the README), 'found 2 ROCm devices', default split mode layer across both.
#    The models are named only by file name (ollama-style GGUFs); mappings below say which are ASSUMED. tg512 (not
#    tg128): decode_context 256. The mixtral_8x7b.gguf run is left out (its printed 91.80 B params / 48.25 GiB do not
#    match Mixtral-8x7B at Q4_0).
# --------------------------------------------------------------------------------------------------------------
ELIRAN = "github:eliranwong/MultiAMDGPU_AIDev_Ubuntu@edd71841822d00478b622b6d3fd828f6f6b67654 benchmark.md"
ELIRAN_MODELS = [  # (gguf file, printed model, size, params, planner model, quant, pp512, tg512, mapping note)
    ("phi3.gguf", "llama 7B Q4_K - Medium", "2.16 GiB", "3.82 B", "microsoft/Phi-3-mini-4k-instruct", "q4_k_m",
     5404.80, 128.50, "ASSUMED Phi-3-mini-4k-instruct: file phi3.gguf, 3.82 B params = Phi-3-mini (the 'llama 7B' "
     "label is the llama.cpp type name of a 32-layer llama-arch GGUF); 4k vs 128k variant not stated"),
    ("llama3.gguf", "llama 8B Q4_0", "4.33 GiB", "8.03 B", "meta-llama/Meta-Llama-3-8B", "q4_0", 3210.36, 104.51,
     "ASSUMED Llama 3 8B from the file name llama3.gguf (8.03 B; instruct vs base not stated, same architecture)"),
    ("llama3_70b.gguf", "llama 70B Q4_0", "37.22 GiB", "70.55 B", "meta-llama/Meta-Llama-3-70B", "q4_0", 362.94,
     17.40, "ASSUMED Llama 3 70B from the file name llama3_70b.gguf (70.55 B; instruct vs base not stated)"),
    ("mistral.gguf", "llama 7B Q4_0", "3.83 GiB", "7.24 B", "mistralai/Mistral-7B-v0.1", "q4_0", 3228.35, 108.79,
     "ASSUMED Mistral-7B (v0.1 architecture) from the file name mistral.gguf (7.24 B; version not stated)"),
    ("wizardlm2_7b.gguf", "llama 7B Q4_0", "3.83 GiB", "7.24 B", "mistralai/Mistral-7B-v0.1", "q4_0", 3239.21, 108.99,
     "WizardLM-2 7B is a Mistral-7B-v0.1 fine-tune (7.24 B) -> Mistral-7B-v0.1 architecture"),
    ("starling-lm.gguf", "llama 7B Q4_0", "3.83 GiB", "7.24 B", "mistralai/Mistral-7B-v0.1", "q4_0", 3212.78, 108.90,
     "Starling-LM 7B is a Mistral-7B-v0.1 fine-tune (via OpenChat 3.5; 7.24 B) -> Mistral-7B-v0.1 architecture"),
    ("orca2_7b.gguf", "llama 7B Q4_0", "3.56 GiB", "6.74 B", "meta-llama/Llama-2-7b-hf", "q4_0", 3406.46, 112.48,
     "Orca 2 7B is a Llama-2-7B fine-tune (6.74 B) -> Llama-2-7B architecture"),
    ("orca2_13b.gguf", "llama 13B Q4_0", "6.86 GiB", "13.02 B", "meta-llama/Llama-2-13b-hf", "q4_0", 1819.86, 71.13,
     "Orca 2 13B is a Llama-2-13B fine-tune (13.02 B) -> Llama-2-13B architecture"),
]


def eliran_rows():
    out = []
    for gguf, printed, size, params, model, quant, pp, tg, mapping in ELIRAN_MODELS:
        out.append(
            row(
                model,
                quant,
                "rx-7900-xtx",
                "rocm",
                "llama-bench build: 72272b83 (3265) (ROCm, ngl 999, 2 GPUs, default -sm layer)",
                ELIRAN,
                f"'./llama-bench -t <cores> -ngl 999 -p 512 -n 512 -r 3 -m ../../gguf/{gguf}' on 'found 2 ROCm "
                "devices: Device 0: Radeon RX 7900 XTX, compute capability 11.0 / Device 1: Radeon RX 7900 XTX'; "
                f"printed '{printed} | {size} | {params} | ROCm | 999 | pp512 | {pp:.2f}' and '... | tg512 | "
                f"{tg:.2f}', 'build: 72272b83 (3265)'. {mapping}. tg512 from an empty cache: decode_context 256.",
                n_gpus=2,
                pp=pp,
                tg=tg,
                prompt_tokens=512,
                gen_tokens=512,
            )
        )
    return out


# --------------------------------------------------------------------------------------------------------------
# 4. ggml-org/llama.cpp issue #20835 "Huge drop in generation speed after b8323" (2026-03-21): the reporter's
#    llama-bench on an RTX 5090 (Windows, CUDA 13.1) with the last good build b8322. Only that baseline run is taken
#    (the regressed b8323 run is a bug, not the engine as released). DOUBT: the GGUF is unsloth's UD-Q4_K_XL (a
#    dynamic mix printed as ftype 'Q4_K - Medium', 16.45 GiB vs 17.28 GiB for the standard Q4_K_M of this model), and
#    the machine also holds an RTX 4090 (the printed ts column is 1.00; the post says the table is from the 5090).
# --------------------------------------------------------------------------------------------------------------
def issue_rows():
    return [
        row(
            "Qwen/Qwen3-30B-A3B",
            "q4_k_m",
            "rtx-5090",
            "cuda",
            "llama-bench build: 557fe2d91 (8322) (CUDA 13.1, ngl 99, ts 1.00, Windows)",
            "https://github.com/ggml-org/llama.cpp/issues/20835 (description by Anisahelmii99 2026-03-21, "
            "'build: 557fe2d91 (8322)' table)",
            "'Below results from llama-bench on 5090. Qwen3-30B-A3B-Instruct-UD-Q4_K_XL:' printed 'qwen3moe 30B.A3B "
            "Q4_K - Medium | 16.45 GiB | 30.53 B | CUDA | 99 | 1.00 | pp512 | 5544.32' and '... | tg128 | 219.49', "
            "'build: 557fe2d91 (8322)' (the last build before the reported regression). Qwen3-30B-A3B-Instruct-2507 "
            "has the Qwen3-30B-A3B architecture. ASSUMED q4_k_m for the UD-Q4_K_XL mix (5% smaller file).",
            pp=5544.32,
            tg=219.49,
            prompt_tokens=512,
            gen_tokens=128,
        )
    ]


def curate() -> list[dict]:
    return r1337_rows() + willett_rows() + eliran_rows() + issue_rows()


if __name__ == "__main__":
    rows = curate()
    OUT.write_text("".join(json.dumps(r) + "\n" for r in rows))
    print(f"{len(rows)} rows -> {OUT}")
