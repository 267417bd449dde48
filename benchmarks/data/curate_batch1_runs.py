"""Published batch-1 / one-request runs from documents not cited before, in planner's names.

Writes benchmarks/data/published_batch1.jsonl, one row per run, in the schema of published_engines.jsonl. Every
figure below is copied as printed from the document named with it; a figure computed from printed ones (1000 / TPOT,
a token total divided by the request count) says DERIVED in its note, and anything the document does not print says
ASSUMED. Instruct / chat fine-tunes are recorded under their base architecture (the note says which checkpoint ran).
Runs with speculative decoding or prefix-cache hits are left out. Run: python benchmarks/data/curate_batch1_runs.py
"""

from __future__ import annotations

import json
from pathlib import Path

from curate_engine_runs import run  # the same row schema (these scripts run from benchmarks/data)

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "benchmarks" / "data" / "published_batch1.jsonl"

L2_7B, L2_13B = "meta-llama/Llama-2-7b-hf", "meta-llama/Llama-2-13b-hf"
L31_8B = "meta-llama/Llama-3.1-8B"
M7B = "mistralai/Mistral-7B-v0.1"
QNEXT = "Qwen/Qwen3-Next-80B-A3B-Instruct"
MINIMAX = "tests/fixtures/configs/MiniMaxAI__MiniMax-M2.7.json"



def d(ms: float) -> float:
    """tok/s from a per-token time in ms (DERIVED)."""
    return round(1000.0 / ms, 2)


# ---------------------------------------------------------------------------------------------------------------
# AutoAWQ examples/benchmark.py tables posted in AutoAWQ pull requests and issues (one document each). The script
# runs batch size 1 with random token ids: "Prefill tokens/s" = prefill length / time of the one context forward
# pass, "Decode tokens/s" = decode length / time of the decode steps that follow it. The first row of each sweep
# (prefill length 32) carries the warm-up in its prefill figure; planner compares prefill only from 64 tokens on.
AWQ_COLS = "| Batch Size | Prefill Length | Decode Length | Prefill tokens/s | Decode tokens/s | Memory (VRAM) |"


def _awq_rows(rows: list[tuple], *, model: str, quant: str, gpu: str, engine: str, printed: str, source: str,
              head: str) -> list[dict]:
    out = []
    for n_tok, pp, tg, mem in rows:
        shown = f"| 1 | {n_tok} | {n_tok} | {pp} | {tg if tg is not None else '(cut off)'} | {mem} |"
        out.append(run(model, quant, gpu, 1, engine, printed, prompt=n_tok, gen=n_tok if tg is not None else None,
                       decode=tg, prefill=pp, source=source,
                       note=f"{head} Columns {AWQ_COLS} Printed row: '{shown}'."
                            + (" Decode figure cut off in the copy read (left empty)." if tg is None else "")
                            + (" Prefill at 32 tokens includes warm-up." if n_tok == 32 else "")))
    return out


def autoawq_pr656() -> list[dict]:
    src = ("https://github.com/casper-hansen/AutoAWQ/pull/656 (description by casper-hansen 2024-11-26, "
           "'Current implementation' table)")
    head = ("Printed 'Device: cuda:0', 'GPU: NVIDIA GeForce RTX 4090', 'Model: hugging-quants/Meta-Llama-3.1-8B-"
            "Instruct-AWQ-INT4' (instruct of Llama-3.1-8B, AWQ 4-bit group 128), 'Version: gemm'; fused layers "
            "(the PR reworks the fused attention; this is the table before it). AutoAWQ version not printed "
            "(main of Nov 2024, ~0.2.7 ASSUMED).")
    rows = [(32, 213.47, 97.07, "5.48 GB (23.16%)"), (64, 3985.32, 96.23, "5.48 GB (23.20%)"),
            (128, 4977.39, 94.95, "5.50 GB (23.27%)"), (256, 5416.4, 94.45, "5.54 GB (23.42%)"),
            (512, 5403.73, 93.73, "5.64 GB (23.87%)"), (1024, 7218.92, 92.74, "5.89 GB (24.90%)"),
            (2048, 7684.16, 83.76, "6.43 GB (27.21%)"), (4096, 7308.05, 59.79, "7.52 GB (31.82%)")]
    return _awq_rows(rows, model=L31_8B, quant="awq-4bit-g128", gpu="rtx-4090", engine="autoawq",
                     printed="AutoAWQ examples/benchmark.py (GEMM, fused layers), Nov 2024 main", source=src,
                     head=head)


def autoawq_issue276() -> list[dict]:
    src = "https://github.com/casper-hansen/AutoAWQ/issues/276 (description by qingqiuhe 2023-12-26)"
    head = ("Printed 'model: Llama-2-7b-chat-hf', 'GPU: A100 80G' (form factor not printed: SXM ASSUMED), "
            "example/benchmark.py. {ver}")
    gemm = [(32, 15.6318, 96.7343, "4.55 GB (5.75%)"), (64, 2024.28, 88.3774, "4.57 GB (5.78%)"),
            (128, 3300.77, 94.6881, "4.61 GB (5.82%)"), (256, 3738.89, 96.6029, "4.67 GB (5.90%)"),
            (512, 3900.86, 94.6219, "4.80 GB (6.06%)"), (1024, 3810.2, 92.6713, "5.06 GB (6.40%)"),
            (2048, 3363.05, 75.8573, "6.15 GB (7.77%)"), (4096, 2934.01, 77.3857, "11.15 GB (14.08%)")]
    fp16 = [(32, 11.7173, 38.2089, "12.72 GB (16.06%)"), (64, 2105.81, 40.4185, "12.72 GB (16.06%)"),
            (128, 3073.42, 36.7522, "12.72 GB (16.06%)")]
    return (_awq_rows(gemm, model=L2_7B, quant="awq-4bit-g128", gpu="a100-sxm-80gb", engine="autoawq",
                      printed="AutoAWQ examples/benchmark.py (GEMM, fused layers), Dec 2023", source=src,
                      head=head.format(ver="Table 'Version: GEMM' (AWQ 4-bit; group size not printed, AutoAWQ's "
                                           "default q_group_size 128 ASSUMED); fused layers ASSUMED (the "
                                           "script's default)."))
            + _awq_rows(fp16, model=L2_7B, quant="fp16", gpu="a100-sxm-80gb", engine="transformers",
                        printed="AutoAWQ examples/benchmark.py --pretrained (FP16 HF transformers model), Dec 2023",
                        source=src,
                        head=head.format(ver="Table 'Version: FP16': the unquantized model through AutoAWQ's "
                                             "wrapper of HF transformers (no fused layers; ASSUMED from the "
                                             "script). Rows from 256 tokens on are cut off in the copy read.")))


def autoawq_pr365() -> list[dict]:
    src = ("https://github.com/casper-hansen/AutoAWQ/pull/365 (description by casper-hansen 2024-02-24, "
           "'New kernel' table)")
    head = ("Printed 'GPU: NVIDIA GeForce RTX 4090', 'Model: Mistral 7B Instruct' (version not printed: "
            "Mistral-7B-v0.1 architecture ASSUMED), AWQ 4-bit (group 128 ASSUMED); 'New kernel' = the kernels of "
            "mit-han-lab/llm-awq PR 142 this PR adds (AutoAWQ's later GEMV_fast), fused layers ASSUMED. The "
            "4096-token row is cut off in the copy read.")
    rows = [(32, 153.108, 181.792, "4.47 GB (18.90%)"), (64, 4986.08, 184.787, "4.48 GB (18.96%)"),
            (128, 6445.57, 183.334, "4.49 GB (19.00%)"), (256, 7903.41, 178.064, "4.51 GB (19.08%)"),
            (512, 8918.64, 168.751, "4.55 GB (19.24%)"), (1024, 7338.22, 152.792, "4.63 GB (19.56%)"),
            (2048, 5690.87, 128.262, "5.63 GB (23.80%)")]
    return _awq_rows(rows, model=M7B, quant="awq-4bit-g128", gpu="rtx-4090", engine="autoawq",
                     printed="AutoAWQ examples/benchmark.py (new llm-awq kernels, PR branch), Feb 2024", source=src,
                     head=head)


def autoawq_pr320() -> list[dict]:
    src = ("https://github.com/casper-hansen/AutoAWQ/pull/320 (comment by IlyasMoutawwakil 2024-01-29, "
           "'Perf Bench, Batch Size = 1, GEMM')")
    head = ("Printed 'GPU: NVIDIA A100-SXM4-80GB', 'Model: IlyasMoutawwakil/vicuna-7b-v1.5-awq-gemm' (vicuna-7b-v1.5 "
            "is a Llama-2-7B fine-tune), 'Version: GEMM'; AWQ 4-bit, group 128 ASSUMED (AutoAWQ default); fused "
            "layers ASSUMED (script default). The 8192-token row is cut off in the copy read; the PR's Marlin "
            "tables are left out (symmetric checkpoint of another format).")
    rows = [(32, 277.835, 93.0104, "4.55 GB (5.75%)"), (64, 1749.38, 93.7882, "4.57 GB (5.78%)"),
            (128, 2058.66, 93.2005, "4.61 GB (5.82%)"), (256, 2349.42, 93.2399, "4.67 GB (5.90%)"),
            (512, 2546.7, 92.5384, "4.80 GB (6.06%)"), (1024, 5635.29, 92.893, "5.06 GB (6.40%)"),
            (2048, 5343.16, 76.1673, "6.15 GB (7.77%)"), (4096, 4555.36, 77.43, "11.15 GB (14.08%)")]
    return _awq_rows(rows, model=L2_7B, quant="awq-4bit-g128", gpu="a100-sxm-80gb", engine="autoawq",
                     printed="AutoAWQ examples/benchmark.py (GEMM, fused layers), Jan 2024 PR branch", source=src,
                     head=head)


def autoawq_pr92() -> list[dict]:
    src = "https://github.com/casper-hansen/AutoAWQ/pull/92 (comment by casper-hansen 2023-10-03)"
    head = ("Printed 'GPU: Tesla T4', 'Model: TheBloke/Mistral-7B-OpenOrca-AWQ' (a Mistral-7B-v0.1 fine-tune, AWQ "
            "4-bit group 128), 'Version: GEMM'; Turing support via the mma.m16n8k8 workaround of vLLM PR 1252; "
            "fused layers ASSUMED (script default).")
    rows = [(32, 45.6941, 34.8665, "4.27 GB (28.97%)"), (64, 274.905, 35.0004, "4.28 GB (29.05%)"),
            (128, 392.162, 33.9372, "4.29 GB (29.12%)"), (256, 432.305, 33.1003, "4.31 GB (29.24%)"),
            (512, 416.581, 33.2961, "4.35 GB (29.50%)"), (1024, 407.162, None, "(cut off)")]
    return _awq_rows(rows, model=M7B, quant="awq-4bit-g128", gpu="t4", engine="autoawq",
                     printed="AutoAWQ examples/benchmark.py (GEMM, fused layers), Oct 2023 PR branch", source=src,
                     head=head)


# ---------------------------------------------------------------------------------------------------------------
# oobabooga, "A detailed comparison between GPTQ, AWQ, EXL2, q4_K_M, q4_K_S, and load_in_4bit" (text-generation-webui
# on one RTX 3090, CUDA 12.1): "I generated 800 tokens starting from a prompt with 3200 tokens"; printed prompt
# processing time (3200 tokens) and evaluation time (800 tokens) in seconds and tokens/second = 800 / evaluation time.
OOBA = ("https://oobabooga.github.io/blog/posts/gptq-awq-exl2-llamacpp/ (github:oobabooga/oobabooga.github.io@"
        "2845cb763efbb5bd89bed5a3afebc94fa67f6162 blog/posts/gptq-awq-exl2-llamacpp/index.html)")
OOBA_NOTE = ("'GPU: RTX 3090', llama-2-13b (base) quantized as printed. Printed row: model '{name}', prompt "
             "processing time (3200 tokens) {pp} s, evaluation time (800 tokens) {ev} s, tokens/second {tps} "
             "(decimal commas in the source). ttft_s = the prompt processing time (the time to process the 3200 "
             "tokens before generation starts); decode = the printed tokens/second. Batch 1, one request. ")
OOBA_ROWS = [  # name, quant, engine, printed engine, pp s, eval s, tok/s (as printed), remark
    ("llama-2-13b-EXL2-4.900b", "exl2-4.9", "exllamav2", "ExLlamav2 0.0.6 (flash-attention 2.3.2)", "1.76", "15.37",
     "52.05", ""),
    ("llama-2-13b-EXL2-4.650b", "exl2-4.65", "exllamav2", "ExLlamav2 0.0.6 (flash-attention 2.3.2)", "1.74", "14.17",
     "56.46", ""),
    ("llama-2-13b-EXL2-4.400b", "exl2-4.4", "exllamav2", "ExLlamav2 0.0.6 (flash-attention 2.3.2)", "1.75", "14.12",
     "56.66", ""),
    ("llama-2-13b-EXL2-4.250b", "exl2-4.25", "exllamav2", "ExLlamav2 0.0.6 (flash-attention 2.3.2)", "1.68", "14.06",
     "56.90", ""),
    ("llama-2-13b-EXL2-4.125b", "exl2-4.125", "exllamav2", "ExLlamav2 0.0.6 (flash-attention 2.3.2)", "1.69", "14.13",
     "56.62", ""),
    ("llama-2-13b-EXL2-4.000b", "exl2-4.0", "exllamav2", "ExLlamav2 0.0.6 (flash-attention 2.3.2)", "1.71", "14.09",
     "56.78", ""),
    ("llama-2-13b-hf-GPTQ-4bit-128g-actorder", "gptq-4bit-g128", "exllamav2",
     "ExLlamav2 0.0.6 (flash-attention 2.3.2)", "1.68", "12.48", "64.10",
     "From the 'ExLlama v1 vs ExLlama v2 GPTQ speed (update)' table, backend 'ExLlama (v2)' (AutoGPTQ bits=4, "
     "group_size=128, desc_act=True); that table prints decimal points. "),
    ("llama-2-13b-AWQ-4bit-128g", "awq-4bit-g128", "autoawq", "AutoAWQ 0.1.4 (text-generation-webui loader)", "3.59",
     "19.70", "40.61", "Fused layers not printed (the webui loader's default ASSUMED). "),
    ("llama-2-13b-AWQ-4bit-32g", "awq-4bit-g32", "autoawq", "AutoAWQ 0.1.4 (text-generation-webui loader)", "3.60",
     "20.27", "39.47", "Fused layers not printed (the webui loader's default ASSUMED). "),
    ("llama-2-13b (load_in_4bit)", "nf4", "transformers", "transformers 4.34, bitsandbytes 0.41.1 (load_in_4bit)",
     "3.01", "34.70", "23.05", "4-bit type not printed: the webui's default --quant_type nf4 ASSUMED (fp4 has the same "
     "layout). "),
]


def oobabooga() -> list[dict]:
    out = []
    for name, quant, engine, printed, pp, ev, tps, remark in OOBA_ROWS:
        out.append(run(L2_13B, quant, "rtx-3090", 1, engine, f"text-generation-webui, {printed}", prompt=3200, gen=800,
                       decode=float(tps), ttft=float(pp), source=OOBA,
                       note=OOBA_NOTE.format(name=name, pp=pp, ev=ev, tps=tps) + remark
                            + "ExLlama v1 GPTQ rows and the llama.cpp rows (llama-cpp-python 0.2.11, build not "
                              "printed) of the same table are left out."))
    return out


# ---------------------------------------------------------------------------------------------------------------
def llm_awq_78() -> list[dict]:
    src = "https://github.com/mit-han-lab/llm-awq/issues/78 (description by lvhan028 2023-08-23)"
    note = ("Printed: 'We benchmarked the Llama-2-7B-chat and Llama-2-13B-chat models with 4-bit quantization on "
            "NVIDIA GeForce RTX 4090. And we measured the token generation throughput (tokens/s) by setting a single "
            "prompt token and generating 512 tokens. All the results are measured for single-batch inference.' "
            "Row '{name} | llm-awq | mlc-llm | turbomind': turbomind {tps}. LMDeploy W4A16 = AWQ 4-bit, group 128 "
            "(ASSUMED from LMDeploy's AWQ support of the time); LMDeploy version not printed (Aug 2023, ~v0.0.6). "
            "The mlc-llm figures repeat blog.mlc.ai rows already in the data; llm-awq (TinyChat) is no planner "
            "engine.")
    return [run(model, "awq-4bit-g128", "rtx-4090", 1, "lmdeploy", "LMDeploy TurboMind W4A16 (Aug 2023)", prompt=1,
                gen=512, decode=tps, source=src, note=note.format(name=name, tps=tps))
            for model, name, tps in [(L2_7B, "Llama-2-7B-chat", 206.4), (L2_13B, "Llama-2-13B-chat", 115.8)]]


# ---------------------------------------------------------------------------------------------------------------
# SGLang cookbook pages not cited before (cookbook.sglang.io; sources in github:sgl-project/sgl-cookbook), the
# 'Low Concurrency' runs: python3 -m sglang.bench_serving --dataset-name random --num-prompts 10 --max-concurrency 1.
# Not taken from this repository: DeepSeek-V3.2 (B200 latency run served with --speculative-algorithm EAGLE, printed
# 'Accept length: 2.46'), GLM-5.1 ('Accept length: 3.48'), GLM-4.7-Flash and Kimi-Linear (model types planner does
# not import), MiniMax-M2.7 (GB300, no planner profile), Qwen3-Coder (480B, no planner profile).
COOK = "github:sgl-project/sgl-cookbook@7b5bd9c05e3d86da5161ac2be9b91c19a34bf49d docs/autoregressive/"
COOK_NOTE = ("sglang.bench_serving, random dataset --random-input-len {isl} --random-output-len {osl}, 'Max request "
             "concurrency: 1', 10 requests: total input {tin}, total generated {tgen} tokens -> mean prompt {p}, "
             "mean output {g} (DERIVED, rounded); Mean TTFT {ttft} ms (median {mttft}), Mean TPOT {tpot} ms "
             "(median {mtpot}) (printed); decode = 1000 / mean TPOT (DERIVED). Prompt lengths vary per request; no "
             "speculative decoding in the printed launch command.")


def _cook(model: str, quant: str, gpu: str, n: int, printed: str, source: str, head: str, isl: int, osl: int,
          tin: int, tgen: int, ttft: str, mttft: str, tpot: str, mtpot: str, ttft_used: str | None = None,
          tail: str = "") -> dict:
    """One low-concurrency run; the ms figures are the printed strings."""
    p, g = round(tin / 10, 1), round(tgen / 10, 1)
    return run(model, quant, gpu, n, "sglang", printed, prompt=round(p), gen=round(g), decode=d(float(tpot)),
               ttft=round(float(ttft if ttft_used is None else ttft_used) / 1000, 6), source=source,
               note=head + " " + COOK_NOTE.format(isl=isl, osl=osl, tin=tin, tgen=tgen, p=p, g=g, ttft=ttft,
                                                  mttft=mttft, tpot=tpot, mtpot=mtpot) + tail)


def sgl_cookbook() -> list[dict]:
    out = []
    qcn = ("https://cookbook.sglang.io/autoregressive/Qwen/Qwen3-Coder-Next (" + COOK + "Qwen/Qwen3-Coder-Next.md, "
           "5.1 Speed Benchmark, Low Concurrency runs)")
    head = ("Printed 'Hardware: NVIDIA B200 GPU (2x)', 'Model: Qwen/Qwen3-Coder-Next', 'Tensor Parallelism: 2', "
            "'sglang version: 0.5.8+'; launch_server --model Qwen/Qwen3-Coder-Next --tp 2. The page prints 'a "
            "48-layer hybrid layout combining Gated DeltaNet and Gated Attention with Mixture-of-Experts (512 total "
            "experts, 10 activated, 1 shared)', 80B total / 3B active: the Qwen3-Next-80B-A3B architecture (config "
            "identity ASSUMED). bf16 ASSUMED (checkpoint default, no quant flag).")
    for isl, osl, tin, tgen, ttft, mttft, tpot, mtpot in [(1000, 1000, 6101, 4220, "161.68", "168.09", "6.19", "6.23"),
                                                          (1000, 8000, 6101, 44462, "95.51", "93.86", "6.24", "6.30"),
                                                          (8000, 1000, 41941, 4220, "139.46", "160.33", "6.56",
                                                           "6.65")]:
        out.append(_cook(QNEXT, "bf16", "b200", 2, "SGLang 0.5.8+ (launch_server --tp 2)", qcn, head, isl, osl,
                         tin, tgen, ttft, mttft, tpot, mtpot))
    m25 = ("https://cookbook.sglang.io/autoregressive/MiniMax/MiniMax-M2.5 (" + COOK + "MiniMax/MiniMax-M2.5.md, "
           "5.1 Speed Benchmark, Low Concurrency runs)")
    arch = ("MiniMaxAI/MiniMax-M2.5 recorded under the MiniMax-M2.7 config (same MiniMax-M2 architecture, 230B total "
            "/ 10B active, ASSUMED); fp8-block = the checkpoint's native FP8 with 128x128 weight blocks (ASSUMED, "
            "no quant flag). 'sglang serve --tp 8 --ep 8' (expert parallel over the same 8 GPUs; planner models "
            "tensor parallel).")
    for gpu, ver, hw, isl, osl, tin, tgen, ttft, mttft, tpot, mtpot in [
            ("b200", "0.5.8", "NVIDIA B200 GPU (8x)", 1000, 1000, 6091, 4220, "130.57", "116.10", "9.89", "9.89"),
            ("b200", "0.5.8", "NVIDIA B200 GPU (8x)", 8000, 1000, 41941, 4220, "131.50", "126.76", "10.00", "10.01"),
            ("h100-sxm", "0.5.9", "NVIDIA H100 80GB HBM3 GPU (8x)", 1000, 1000, 6101, 4220, "145.20", "80.38", "8.05",
             "8.08")]:
        out.append(_cook(MINIMAX, "fp8-block", gpu, 8, f"SGLang {ver} (sglang serve --tp 8 --ep 8)", m25,
                         f"Printed 'Hardware: {hw}', 'Model: MiniMax-M2.5', 'Tensor Parallelism: 8', 'Expert "
                         f"Parallelism: 8', 'sglang version: {ver}'"
                         + (" ('H100 80GB HBM3' = SXM)." if gpu == "h100-sxm" else ".") + " " + arch,
                         isl, osl, tin, tgen, ttft, mttft, tpot, mtpot))
    m2 = ("https://cookbook.sglang.io/autoregressive/MiniMax/MiniMax-M2 (" + COOK + "MiniMax/MiniMax-M2.md, "
          "5.1.1 Low Concurrency)")
    out.append(_cook(MINIMAX, "fp8-block", "mi300x", 4, "SGLang 0.5.7 (sglang serve --tp-size 4)", m2,
                     "Printed 'Hardware: AMD MI300X GPU(4x)', 'Model: MiniMax-M2', 'Tensor Parallelism: 4', 'sglang "
                     "version: 0.5.7'; sglang serve --model-path MiniMaxAI/MiniMax-M2 --tp-size 4 "
                     "--mem-fraction-static 0.85. Recorded under the MiniMax-M2.7 config (same architecture, "
                     "ASSUMED); fp8-block = the checkpoint's native FP8 (ASSUMED).",
                     1000, 1000, 6101, 4220, "4528.94", "385.23", "22.21", "22.24", ttft_used="385.23",
                     tail=" ttft_s = the MEDIAN TTFT: the mean (4528.94 ms) is carried by one slow request (the "
                          "page's medium-concurrency run prints a 532.32 ms mean)."))
    return out


def curate() -> list[dict]:
    return (autoawq_pr656() + autoawq_issue276() + autoawq_pr365() + autoawq_pr320() + autoawq_pr92() + oobabooga()
            + llm_awq_78() + sgl_cookbook())


if __name__ == "__main__":
    rows = curate()
    OUT.write_text("".join(json.dumps(r) + "\n" for r in rows))
    print(f"{len(rows)} rows → {OUT}")
