"""More published single-request (batch 1 / concurrency 1) runs from many different documents, in planner's names.

Writes benchmarks/data/published_more.jsonl, one row per run, in the schema of published_speed.jsonl. Every figure
below is copied as printed from the document named with it; a figure computed from printed ones (1000 / TPOT, a
latency divided into a token count) says DERIVED in its note, and a length that the document does not print says
ASSUMED. Runs already in published_speed.jsonl, published_llamacpp.jsonl or published_engines.jsonl are not repeated.
Instruct / chat / distilled fine-tunes are recorded under their base architecture (the note says which checkpoint
ran). Run: python benchmarks/data/curate_more_runs.py
"""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "benchmarks" / "data" / "published_more.jsonl"

L2_7B, L2_13B, L2_70B = "meta-llama/Llama-2-7b-hf", "meta-llama/Llama-2-13b-hf", "meta-llama/Llama-2-70b-hf"
L31_8B, L31_70B, L31_405B = "meta-llama/Llama-3.1-8B", "meta-llama/Llama-3.1-70B", "meta-llama/Llama-3.1-405B"
L32_1B, L32_3B = "meta-llama/Llama-3.2-1B", "meta-llama/Llama-3.2-3B"
M7B = "mistralai/Mistral-7B-v0.1"
Q25_05B = "tests/fixtures/configs/Qwen__Qwen2.5-0.5B.json"
Q25_7B, Q25_14B, Q25_32B = "Qwen/Qwen2.5-7B", "Qwen/Qwen2.5-14B", "Qwen/Qwen2.5-32B"
Q3_30B = "Qwen/Qwen3-30B-A3B"
DSV3 = "deepseek-ai/DeepSeek-V3"
OSS20, OSS120 = "openai/gpt-oss-20b", "openai/gpt-oss-120b"


def run(model: str, quant: str, gpu: str, engine: str, printed: str, source: str, note: str, *, n: int = 1,
        backend: str | None = None, prompt: int | None = None, gen: int | None = None, decode: float | None = None,
        prefill: float | None = None, ttft: float | None = None, ctx: int | None = None) -> dict:
    """One row. ctx (decode_context) defaults to prompt + gen / 2 when there is a decode figure, else 0."""
    if decode is None:
        ctx = 0
    elif ctx is None:
        ctx = max(1, (prompt or 0) + (gen or 0) // 2)
    row = dict(model=model, quant=quant, gpu=gpu, n_gpus=n, engine=engine)
    if engine == "llama.cpp":
        row["backend"] = backend
    row.update(engine_printed=printed, prompt_tokens=prompt, gen_tokens=gen, decode_context=ctx,
               decode_tokens_per_s=decode, prefill_tokens_per_s=prefill, ttft_s=ttft, source=source, note=note)
    if engine == "llama.cpp" and n > 1:
        row["split_mode"] = "layer"  # llama.cpp's default -sm layer = planner mode "pp"
    return row


def bench(model: str, quant: str, gpu: str, backend: str, printed: str, source: str, note: str, *, pp: float | None,
          tg: float | None, p: int = 512, g: int = 128, n: int = 1) -> dict:
    """A llama-bench pair: ppP and tgG are separate tests (tg from an empty context, so decode_context = G / 2)."""
    return run(model, quant, gpu, "llama.cpp", printed, source, note, n=n, backend=backend,
               prompt=p if pp is not None else None, gen=g if tg is not None else None, decode=tg, prefill=pp,
               ctx=g // 2)


def d(ms: float) -> float:
    """tok/s from a per-token time in ms (DERIVED)."""
    return round(1000.0 / ms, 2)


# ---------------------------------------------------------------------------------------------------------------
def hamel() -> list[dict]:
    """Hamel Husain, 'Optimizing latency' (hamel.dev notes): batch 1, max 200 new tokens, mean of 8 timed prompts."""
    src = ("github:hamelsmu/hamel-site@024c014c8f79ca56fa07ba0704ff6ecd0d8c4d73 notes/llm/inference/03_inference.ipynb "
           "(Rough Benchmarks table; published as hamel.dev/notes/llm/inference/03_inference.html)")
    common = ("'avg tok/sec' = mean over prompts of output tokens / request wall time (prefill and tokenization "
              "included, so a lower bound on decode). Prompts: the 9 short questions of hamelsmu/llama-inference "
              "common/questions.py (first one is a warm-up), roughly 10-40 tokens; decode_context = 20 + gen/2 "
              "(ASSUMED). GPU printed 'A6000' (RTX A6000 48GB).")
    return [
        run(L2_7B, "gguf-q4_0", "rtx-a6000", "mlc-llm", "MLC LLM (mlc_chat ChatModule, q4f16_1, CUDA), mid-2023", src,
            "platform 'mlc', options 'q4f16': 117.1 avg tok/sec, avg output 153.9 tokens. Compiled "
            "meta-llama/Llama-2-7b-chat-hf (the chat fine-tune; the -hf base did not compile). q4f16_1 = 4-bit "
            "weights in groups of 32 with an fp16 scale, the gguf-q4_0 size. " + common,
            gen=154, decode=117.1, ctx=20 + 77),
        run(L2_7B, "fp16", "rtx-a6000", "vllm", "vLLM (offline LLM API, mid-2023 release)", src,
            "platform 'vllm', gpu 'A6000': 46.4 avg tok/sec, avg output 178.0 tokens; meta-llama/Llama-2-7b-hf "
            "(config dtype float16). " + common, gen=178, decode=46.4, ctx=20 + 89),
    ]


def optimum() -> list[dict]:
    """huggingface/optimum GPTQ benchmark README: Llama-2-13B chat, A100-SXM4-80GB, batch 1."""
    src = ("github:huggingface/optimum@096386299309ec9c4c737c9e5ce260008c48fad7 tests/benchmark/README.md "
           "(GPTQ benchmark, Batch size = 1 tables)")
    gen_note = ("'a single NVIDIA A100-SXM4-80GB GPU', prompt length 512, exactly 512 new tokens, averaged over 4 "
                "batches and the generation length (so the prefill forward is spread over the 512 tokens). Model "
                "daryl149/llama-2-13b-chat-hf / TheBloke/Llama-2-13B-chat-GPTQ (chat fine-tune of Llama-2-13B).")
    pre_note = ("Prefill-only table: prompt 512, new_tokens 1, forward repeated 10 times on 'a single NVIDIA "
                "A100-SXM4-80GB GPU'; ttft = printed 'Per-token latency (ms)' of the one-token generate() "
                "(includes generate() overhead). Model daryl149/llama-2-13b-chat-hf (chat fine-tune of Llama-2-13B).")
    hf = "transformers generate() (PyTorch fp16)"
    ex = "transformers + AutoGPTQ (exllama kernel), GPTQ 4-bit g128, act_order False"
    rows = [
        run(L2_13B, "fp16", "a100-sxm-80gb", "transformers", hf, src,
            "gptq False: per-token latency 36.958 ms, throughput 27.058 tok/s (printed). " + gen_note,
            prompt=512, gen=512, decode=27.058),
        run(L2_13B, "gptq-4bit-g128", "a100-sxm-80gb", "transformers", ex, src,
            "gptq True, bits 4, group_size 128, kernel exllama: per-token latency 33.711 ms, throughput 29.663 tok/s "
            "(printed); the autogptq-cuda-old kernel row (46.44 ms) is left out. " + gen_note,
            prompt=512, gen=512, decode=29.663),
        run(L2_13B, "fp16", "a100-sxm-80gb", "transformers", hf, src, "fp16: 96.38 ms. " + pre_note,
            prompt=512, ttft=0.09638),
        run(L2_13B, "gptq-4bit-g128", "a100-sxm-80gb", "transformers", ex, src,
            "exllama kernel: 112.54 ms. " + pre_note, prompt=512, ttft=0.11254),
    ]
    s2 = ("github:huggingface/optimum@87fcf9f0e6099563ad8eecf5f7e56c37fc7966bf tests/benchmark/README.md "
          "(AutoGPTQ 0.5.0 version, Batch size = 1)")
    v2 = "'The results below are for AutoGPTQ 0.5.0, PyTorch 2.0.1, bitsandbytes 0.41.1, transformers 4.35.' "
    rows += [
        run(L2_13B, "gptq-4bit-g128", "a100-sxm-80gb", "transformers",
            "transformers + AutoGPTQ 0.5.0 (exllamav2 kernel), GPTQ 4-bit g128", s2,
            v2 + "gptq, bits 4, group_size 128, kernel exllamav2: per-token latency 32.25 ms, throughput 31.01 tok/s "
            "(printed). " + gen_note, prompt=512, gen=512, decode=31.01),
        run(L2_13B, "fp4", "a100-sxm-80gb", "transformers", "transformers + bitsandbytes 0.41.1 (fp4/fp16)", s2,
            v2 + "bitsandbytes ('using bitsandbytes fp4/fp16 scheme'): per-token latency 52.00 ms, throughput 19.23 "
            "tok/s (printed). " + gen_note, prompt=512, gen=512, decode=19.23),
    ]
    s3 = ("github:huggingface/optimum@4e987762cdd33c237a63538c181b1ccfa4d7648a tests/benchmark/README.md "
          "(AutoGPTQ 0.7.0 version, Prefill benchmark, Batch size = 1)")
    v3 = ("'The results below are for AutoGPTQ 0.7.0, PyTorch 2.2.0, bitsandbytes 0.42.0, transformers 4.37.2', "
          "without act-order. ")
    for quant, kern, ms in [("fp16", "None (pytorch fp16)", 98.89), ("gptq-4bit-g128", "exllama_v2", 115.05),
                            ("gptq-4bit-g128", "marlin", 95.15), ("fp4", "bitsandbytes fp4/fp16", 140.90)]:
        rows.append(run(L2_13B, quant, "a100-sxm-80gb", "transformers", f"transformers (AutoGPTQ 0.7.0), {kern}", s3,
                        v3 + f"kernel {kern}: {ms} ms. " + pre_note, prompt=512, ttft=round(ms / 1000, 5)))
    return rows


def quanto() -> list[dict]:
    """optimum-quanto generation benchmark README (quanto 0.0.10 table), NVIDIA A10G."""
    src = ("github:huggingface/optimum-quanto bench/generation/README.md (version with the 'Device: NVIDIA A10G "
           "(24Gb memory) / quanto: 0.0.10' latency table)")
    note = ("'Device: NVIDIA A10G (24Gb memory)'. benchmark.py: batch 1, 512 random prompt tokens, exactly 512 new "
            "tokens (greedy, min_new_tokens=512), 'latency per token' = mean generate() time / 512 (prefill "
            "included); decode = 1000 / latency (DERIVED). fp16 activations.")
    cases = [  # model, printed model, quant, column, ms, engine printed
        (L2_7B, "NousResearch/Llama-2-7b-hf", "fp16", "fp16", 37, "transformers generate() (fp16)"),
        (L2_7B, "NousResearch/Llama-2-7b-hf", "int8", "w8a16", 93, "transformers + quanto 0.0.10 w8a16"),
        (L2_7B, "NousResearch/Llama-2-7b-hf", "bnb-int8", "bnb 8bit", 164, "transformers + bitsandbytes 8-bit"),
        (L2_7B, "NousResearch/Llama-2-7b-hf", "fp4", "bnb 4bit", 42, "transformers + bitsandbytes 4-bit fp4"),
        (M7B, "HuggingFaceH4/zephyr-7b-beta", "fp16", "fp16", 38, "transformers generate() (fp16)"),
        (M7B, "HuggingFaceH4/zephyr-7b-beta", "int8", "w8a16", 98, "transformers + quanto 0.0.10 w8a16"),
        (M7B, "HuggingFaceH4/zephyr-7b-beta", "bnb-int8", "bnb 8bit", 207, "transformers + bitsandbytes 8-bit"),
        (M7B, "HuggingFaceH4/zephyr-7b-beta", "fp4", "bnb 4bit", 45, "transformers + bitsandbytes 4-bit fp4"),
    ]
    extra = {"int8": " quanto w8a16 = int8 weights with a per-output-channel scale, dequantized by plain PyTorch ops "
                     "(no custom kernel).",
             "fp4": " bnb_4bit = BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type='fp4').",
             "bnb-int8": " bnb_8bit = BitsAndBytesConfig(load_in_8bit=True), LLM.int8().", "fp16": ""}
    out = []
    for model, printed_model, quant, col, ms, printed in cases:
        fine = " (Mistral-7B-v0.1 fine-tune)" if model == M7B else " (copy of meta-llama/Llama-2-7b-hf)"
        out.append(run(model, quant, "a10g", "transformers", printed, src,
                       f"'{printed_model}'{fine}, column '{col}': {ms} ms per token. " + note + extra[quant],
                       prompt=512, gen=512, decode=d(ms)))
    return out


def pr6017() -> list[dict]:
    """llama.cpp PR #6017 (pipeline parallelism): ggerganov's A100 80GB PCIe llama-bench tables."""
    src = "https://github.com/ggml-org/llama.cpp/pull/6017 (ggerganov's results comment, turn 2)"
    printed = "llama.cpp PR #6017 branch, Mar 2024 (llama-bench, CUDA, ngl 99, n_batch 8192)"
    note = ("models/codellama-7b (CodeLlama-7B: Llama-2-7B architecture, 32016-token vocab). Device printed "
            "'NVIDIA A100 80GB PCIe, compute capability 8.0'. ")
    return [
        bench(L2_7B, "fp16", "a100-pcie-80gb", "cuda", printed, src,
              note + "1-GPU table: 'llama 7B F16' pp 512 = 8668.24 +/- 11.45, tg 128 = 74.77 +/- 0.10 (separate "
              "tests); also pp 8192 = 5112.25.", pp=8668.24, tg=74.77),
        bench(L2_7B, "q8_0", "a100-pcie-80gb", "cuda", printed, src,
              note + "1-GPU table: 'llama 7B Q8_0' pp 512 = 6914.08 +/- 2.59 (its tg row was outside the excerpt "
              "seen). Prefill only.", pp=6914.08, tg=None),
        bench(L2_7B, "fp16", "a100-pcie-80gb", "cuda", printed, src,
              note + "8-GPU table ('found 8 CUDA devices', default layer split): 'llama 7B F16' pp 512 = 8381.22 "
              "+/- 2.50 (pp 1024 = 13312.63 with pipelining across ubatches). Prefill only.",
              pp=8381.22, tg=None, n=8),
    ]


def rocm_blogs() -> list[dict]:
    """AMD ROCm blogs on llama.cpp with 8x MI300X (rocm.blogs.amd.com, sources in github:ROCm/rocm-blogs)."""
    s1 = ("https://rocm.blogs.amd.com/ecosystems-and-partners/llama-cpp/README.html (Llama.cpp Meets Instinct, "
          "9 Sep 2025; ROCm/rocm-blogs blogs/ecosystems-and-partners/llama-cpp/README.md)")
    s2 = ("https://rocm.blogs.amd.com/ecosystems-and-partners/llama-cpp-oct2025/README.html (Accelerating llama.cpp "
          "on AMD Instinct MI300X, 11 Dec 2025; ROCm/rocm-blogs @09302f54b0bf61c6d4c84200460b42dc0eda54bb)")
    p1 = "llama.cpp build 66906cd8 (5997), ROCm 6.4 (llama-bench, ROCm/HIP, ngl 999, 8 GPUs)"
    p2 = "llama.cpp b6652.amd0 on ROCm 7.0.0 (rocm/llama.cpp image; llama-bench, ngl 999, 8 GPUs)"
    dev = "'found 8 ROCm devices: AMD Instinct MI300X, gfx942' (default layer split). "
    dsv3 = "unsloth/DeepSeek-V3-GGUF DeepSeek-V3-Q4_K_M, printed 'deepseek2 671B Q4_K - Medium' 376.65 GiB. "
    l70 = ("Meta-Llama-3.1-70B-Instruct converted and quantized to Q4_K_M, printed 'llama 70B Q4_K - Medium' "
           "39.59 GiB, -fa 1. ")
    return [
        bench(DSV3, "q4_k_m", "mi300x", "rocm", p1, s1, dev + dsv3 + "pp512 = 439.14, tg128 = 37.04 (separate tests; "
              "tg64 37.36, tg256 36.53).", pp=439.14, tg=37.04, n=8),
        bench(DSV3, "q4_k_m", "mi300x", "rocm", p1, s1, dev + dsv3 + "pp4096 = 420.19. Prefill only.",
              pp=420.19, tg=None, p=4096, n=8),
        bench(DSV3, "q4_k_m", "mi300x", "rocm", p2, s2, dev + dsv3 + "pp512 = 514.07, tg128 = 42.51 (separate tests; "
              "tg64 42.95, tg256 41.97).", pp=514.07, tg=42.51, n=8),
        bench(DSV3, "q4_k_m", "mi300x", "rocm", p2, s2, dev + dsv3 + "pp4096 = 1650.33. Prefill only.",
              pp=1650.33, tg=None, p=4096, n=8),
        bench(L31_70B, "q4_k_m", "mi300x", "rocm", p2, s2, dev + l70 + "pp512 = 1340.55, tg128 = 36.51 (separate "
              "tests).", pp=1340.55, tg=36.51, n=8),
        bench(L31_70B, "q4_k_m", "mi300x", "rocm", p2, s2, dev + l70 + "pp4096 = 4010.72. Prefill only.",
              pp=4010.72, tg=None, p=4096, n=8),
    ]


def rocm_vllm() -> list[dict]:
    """ROCm/vllm docs/dev-docker/README.md, 'Latency Measurements' (benchmark_latency.py, batch size 1, 8x MI300X)."""
    src = ("github:ROCm/vllm@f8c9a385233a8e1f724411785a1c326006640df5 docs/dev-docker/README.md "
           "(Latency Measurements table)")
    printed = "vLLM 0.9.1 (rocm/vllm-dev image, ROCm 6.4.1, PyTorch 2.7; benchmark_latency.py from v0.8.5), TP8"
    note = ("benchmark_latency.py, --batch-size 1, --dtype float16, TP 8 on MI300X; printed 'MI300X Latency (sec)' "
            "is the end-to-end time of one batch (prefill + {out} decode steps); decode = {out} / latency "
            "(DERIVED, prefill included). Checkpoint amd/{ck} (FP8 weights, activations and KV cache).")
    cases = [(L31_70B, "Llama-3.1-70B-Instruct-FP8-KV", 128, 17.236), (L31_70B, "Llama-3.1-70B-Instruct-FP8-KV",
              2048, 17.500), (L31_405B, "Llama-3.1-405B-Instruct-FP8-KV", 128, 48.453),
             (L31_405B, "Llama-3.1-405B-Instruct-FP8-KV", 2048, 48.362)]
    rows = [run(m, "fp8", "mi300x", "vllm", printed, src,
                f"input {p}, output 2048: {lat} s. " + note.format(out=2048, ck=ck), n=8, prompt=p, gen=2048,
                decode=round(2048 / lat, 2)) for m, ck, p, lat in cases]
    older = [("68af0558487474544f16002b57de8ab53d5f19db", "vLLM 0.9.0.1 (ROCm 6.4.1)",
              [15.566, 15.496, 45.828, 46.514]),
             ("0f2300e3d831de673f4b2aef96aff2d38c499263", "vLLM 0.7.3 (ROCm 6.3.1)", [17.654, 17.771, 46.632, 46.918])]
    for commit, ver, lats in older:
        src_old = f"github:ROCm/vllm@{commit} docs/dev-docker/README.md (Latency Measurements table, {ver} version)"
        for (m, ck, p, _), lat in zip(cases, lats, strict=True):
            extra = (" This version labels the 405B row's checkpoint 'amd/Llama-3.1-70B-Instruct-FP8-KV' (a typo "
                     "in the table; the row is the Llama 3.1 405B model).") if "0f2300e3d" in commit and "405" in ck \
                else ""
            rows.append(run(m, "fp8", "mi300x", "vllm", f"{ver}, rocm/vllm-dev image, TP8", src_old,
                            f"input {p}, output 2048: {lat} s. " + note.format(out=2048, ck=ck) + extra, n=8,
                            prompt=p, gen=2048, decode=round(2048 / lat, 2)))
    return rows


def mlx_server() -> list[dict]:
    """jameschildress65/mlx-inference-server docs/benchmarks/m4-max-128gb-results.md (Mac Studio M4 Max 40-core)."""
    src = ("github:jameschildress65/mlx-inference-server@cb5e102f20f6101d98b66352672a07f1ffdacdd5 "
           "docs/benchmarks/m4-max-128gb-results.md")
    hw = ("Printed 'Mac Studio M4 Max', '128GB unified', 'GPU Cores: 40'. Batch size 1, 5 runs, short prompts "
          "(length not printed); tok/s = 100 generated tokens / run time, prefill included. decode_context = "
          "gen/2 + 10 (ASSUMED).")
    mlx = "mlx-lm (direct MLX library, 'Direct MLX Library Performance' table), Dec 2025"
    return [
        run(Q25_7B, "mlx-4bit", "m4-max", "mlx", mlx, src, "'7B-4bit' mlx-community/Qwen2.5-7B-Instruct-4bit (MLX "
            "4-bit, group 64): 93.7 tok/s, 100 tokens, 1.07 s per run. " + hw, gen=100, decode=93.7, ctx=60),
        run(Q25_14B, "mlx-4bit", "m4-max", "mlx", mlx, src, "'14B-4bit' Qwen2.5-14B-Instruct-4bit: 50.1 tok/s, 100 "
            "tokens, 2.00 s per run. " + hw, gen=100, decode=50.1, ctx=60),
        run(Q25_05B, "mlx-4bit", "m4-max", "mlx", mlx, src, "'0.5B-4bit' Qwen2.5-0.5B-Instruct-4bit: 384.7 tok/s, "
            "100 tokens, 0.26 s per run. " + hw, gen=100, decode=384.7, ctx=60),
        run(Q25_7B, "q4_k_m", "m4-max", "llama.cpp", "Ollama (llama.cpp backend, Metal), Dec 2025", src,
            "'Ollama Performance (llama.cpp)' table, '7B-4bit': 86.2 tok/s with Ollama model "
            "qwen2.5-coder:7b-instruct-q4_K_M (Qwen2.5-Coder-7B: Qwen2.5-7B architecture). " + hw,
            backend="metal", gen=100, decode=86.2, ctx=60),
    ]


def vllm_mlx() -> list[dict]:
    """waybarrios/vllm-mlx docs/benchmarks/llm.md, 'Results (M4 Max, 128GB)'."""
    src = "github:waybarrios/vllm-mlx@c008d44a48c8ae21f0b98f76e3e0edb90b4906e5 docs/benchmarks/llm.md (Results table)"
    printed = "vllm-mlx (mlx-lm backend; vllm-mlx-bench --prompts 5 --max-tokens 256)"
    note = ("Printed 'M4 Max, 128GB' (every 128 GB M4 Max has the 40-core GPU). MLX 4-bit (group 64). 'Gen Speed' "
            "= generated tokens per second over up to 256 tokens per prompt, prompts short (not printed); "
            "decode_context 128 (ASSUMED). TTFT printed but with an unknown prompt length.")
    cases = [(L32_1B, "Llama-3.2-1B-Instruct-4bit", 463.6, "49.2 ms"), (L32_3B, "Llama-3.2-3B-Instruct-4bit", 200.1,
             "81.4 ms"), (Q3_30B, "Qwen3-30B-A3B-4bit", 123.9, "126.9 ms")]
    return [run(m, "mlx-4bit", "m4-max", "mlx", printed, src, f"'{ck}': Gen Speed {tps} tok/s, TTFT {t}. " + note,
                gen=256, decode=tps, ctx=128) for m, ck, tps, t in cases]


def nexveridian() -> list[dict]:
    """NexVeridian/llm-inference-benchmarks README: Apple M4 Max 48GB, 16-core CPU, LM Studio."""
    src = "github:NexVeridian/llm-inference-benchmarks README.md (Inference Benchmarks table)"
    note = ("Printed 'Apple M4 Max 48GB 16 Core 16-inch using LM Studio' (the 16-core-CPU M4 Max has the 40-core "
            "GPU, 546 GB/s). Speed (T/s) printed as an integer; prompt and output lengths not printed, "
            "decode_context 128 (ASSUMED); no speculative decoding. Qwen 2.5 instruct checkpoints presumed.")
    out = []
    for model, size, mlx_tps, gguf_tps in [(Q25_7B, 7, 91, 70), (Q25_14B, 14, 52, 36), (Q25_32B, 32, 23, 18)]:
        out.append(run(model, "mlx-4bit", "m4-max", "mlx", "LM Studio (MLX engine, 4-bit)", src,
                       f"'{size} | {mlx_tps} | qwen 2.5 | MLX | 4': {mlx_tps} T/s (LM Studio MLX 4-bit, group 64 "
                       "default). " + note, decode=float(mlx_tps), ctx=128))
        out.append(run(model, "q4_k_m", "m4-max", "llama.cpp", "LM Studio (llama.cpp engine, Metal)", src,
                       f"'{size} | {gguf_tps} | qwen 2.5 | GUFF | Q4_K_M': {gguf_tps} T/s. " + note,
                       backend="metal", decode=float(gguf_tps), ctx=128))
    return out


def geerling() -> list[dict]:
    """geerlingguy/ai-benchmarks README 'Findings' (eval rate, tokens/s)."""
    src = "github:geerlingguy/ai-benchmarks@022fb93162585171e0551bfed5679dbaf728d02c README.md (Findings tables)"
    note = ("'Eval Rate' (token generation) from Jeff Geerling's llama.cpp / Ollama benchmark scripts; rows without "
            "the Vulkan footnote ran on the CUDA build. Q4_K_M GGUFs (Ollama default tags / bartowski GGUFs); "
            "prompt and output lengths not printed in the table, decode_context 64 (ASSUMED, llama-bench tg128).")
    p = "llama.cpp / Ollama (CUDA), 2025"
    # the 265K system's rows are Vulkan runs: the README row links issue #43, whose llama-bench tables print it
    vk = ("llama.cpp llama-bench, Vulkan, 2025 (the README row is the 'Intel 265K Custom PC (Nvidia RTX 4090)' system, "
          "linked to issue #43, whose llama-bench runs print backend Vulkan)")
    relabel = (" Backend relabelled cuda → vulkan: the row links issue #43, where the 265K system's llama-bench tables "
               "print 'backend Vulkan' (as in the same author's issues #39/#40 for other NVIDIA cards).")
    return [
        run(Q25_14B, "q4_k_m", "rtx-4090", "llama.cpp", vk, src, "'DeepSeek R1 14b' (DeepSeek-R1-Distill-Qwen-14B, "
            "Qwen2.5-14B architecture), 'Intel 265K Custom PC (Nvidia RTX 4090)': 92.49 Tokens/s. " + note + relabel,
            backend="vulkan", decode=92.49, ctx=64),
        run(OSS20, "mxfp4_moe", "rtx-4090", "llama.cpp", vk, src, "'gpt-oss 20b', 'Intel 265K Custom PC (Nvidia RTX "
            "4090)': 279.65 Tokens/s (MXFP4 experts). " + note + relabel, backend="vulkan", decode=279.65, ctx=64),
        run(L32_3B, "q4_k_m", "rtx-4090", "llama.cpp", vk, src, "'Llama 3.2:3b', 'Intel 265K Custom PC (Nvidia RTX "
            "4090)': 334.67 Tokens/s. " + note + relabel, backend="vulkan", decode=334.67, ctx=64),
        run(L32_3B, "q4_k_m", "rtx-5090", "llama.cpp", p, src, "'Llama 3.2:3b', 'Intel 13900K (Nvidia 5090)' "
            "(from PR #18): 271.40 Tokens/s. " + note, backend="cuda", decode=271.40, ctx=64),
        run(L32_3B, "q4_k_m", "rtx-4080", "llama.cpp", p, src, "'Llama 3.2:3b', 'Ryzen 9 7950X (Nvidia 4080)' "
            "(from PR #11): 204.45 Tokens/s. " + note, backend="cuda", decode=204.45, ctx=64),
    ]


def discussion_4167() -> list[dict]:
    """llama.cpp discussion #4167 summary table, 'M1 Max' 32 GPU cores row (LLaMA 7B, llama-bench)."""
    src = "https://github.com/ggml-org/llama.cpp/discussions/4167 (summary table, M1 Max 32-core row)"
    note = ("SECONDARY: the M1 Max (400 GB/s, 32 GPU cores, 64GB) row of the discussion's table as quoted, with the "
            "discussion cited, in a third-party README found by code search; the discussion itself was not read "
            "in this session. llama-bench pp512 / tg128 (separate tests), LLaMA 7B (Llama-2-7B architecture).")
    p = "llama.cpp (llama-bench, Metal, ngl 99; build per the discussion, late 2023)"
    return [dict(bench(L2_7B, q, "m1-max", "metal", p, src, f"{lbl}: PP {pp}, TG {tg}. " + note, pp=pp, tg=tg),
                 quality="secondary")
            for q, lbl, pp, tg in [("fp16", "F16", 599.53, 23.03), ("q8_0", "Q8_0", 537.37, 40.2),
                                   ("q4_0", "Q4_0", 530.06, 61.19)]]


def mlc_blog() -> list[dict]:
    """MLC blog posts (blog.mlc.ai; sources in github:mlc-ai/blog _posts/)."""
    s1 = ("https://blog.mlc.ai/2023/08/09/Making-AMD-GPUs-competitive-for-LLM-inference (mlc-ai/blog "
          "@8d453e087469e633ee746cb06a3585e9b260b419 "
          "_posts/2023-08-09-Making-AMD-GPUs-competitive-for-LLM-inference.md)")
    s2 = ("https://blog.mlc.ai/2023/10/19/Scalable-Language-Model-Inference-on-Multiple-NVDIA-AMD-GPUs (mlc-ai/blog "
          "_posts/2023-10-19-Scalable-Language-Model-Inference-on-Multiple-NVDIA-AMD-GPUs.md)")
    n1 = ("'a single prompt token and generating 512 tokens', 'single batch inference', 4-bit (q4f16_1: groups of 32 "
          "with an fp16 scale, the gguf-q4_0 size). Figures from the markdown table kept in an HTML comment under "
          "the published chart. Llama 2 checkpoint variant (chat/base) not printed.")
    return [
        run(L2_7B, "gguf-q4_0", "rtx-4090", "mlc-llm", "MLC LLM (CUDA), Aug 2023", s1,
            "'Llama 2 7B' on 'NVIDIA GeForce RTX 4090': 159.4 toks/s. " + n1, prompt=1, gen=512, decode=159.4),
        run(L2_13B, "gguf-q4_0", "rtx-4090", "mlc-llm", "MLC LLM (CUDA), Aug 2023", s1,
            "'Llama 2 13B' on 'NVIDIA GeForce RTX 4090': 90.7 toks/s. " + n1, prompt=1, gen=512, decode=90.7),
        run(L2_70B, "gguf-q4_0", "rtx-4090", "mlc-llm", "MLC LLM multi-GPU (tensor parallel), Oct 2023", s2,
            "'On two RTX 4090 GPUs, we achieve 34 tok/sec on Llama2-70B' (4-bit, q4f16_1-size groups of 32), "
            "batch-one decoding, prefill = 8, decoding = 256 tokens; TP2 over PCIe.", n=2, prompt=8, gen=256,
            decode=34.0),
    ]


def sgl_cookbook() -> list[dict]:
    """SGLang cookbook pages (cookbook.sglang.io; sources in github:sgl-project/sgl-cookbook), concurrency-1 runs."""
    base = "github:sgl-project/sgl-cookbook@7b5bd9c05e3d86da5161ac2be9b91c19a34bf49d docs/autoregressive/"
    out = []
    note = ("sglang.bench_serving, random dataset, 'Max request concurrency: 1', {req} requests: total input {tin}, "
            "total generated {tgen} tokens -> mean prompt {p}, mean output {g} (DERIVED, rounded); Mean TTFT {ttft} "
            "ms, Mean TPOT {tpot} ms (printed); decode = 1000 / mean TPOT (DERIVED). Prompt lengths vary per request.")
    # Not taken: DeepSeek-V3.md's MI300X latency benchmark (5.1.1) served with --dp 8 --enable-dp-attention and
    # --speculative-algorithm EAGLE (it prints "Accept length: 2.61"): speculative decoding emits several tokens a
    # step, which planner does not model (an earlier transcription had recorded it as a plain --tp 8 run).
    r1 = ("https://cookbook.sglang.io/autoregressive/DeepSeek/DeepSeek-R1 (" + base + "DeepSeek/DeepSeek-R1.md, "
          "5.1 Speed Benchmark, low-concurrency runs)")
    for isl, osl, tin, tgen, ttft, tpot in [(1000, 1000, 6101, 4210, 153.00, 9.16), (1000, 8000, 6101, 44452, 125.76,
                                            9.21), (8000, 1000, 41941, 4210, 165.91, 9.26)]:
        p, g = round(tin / 10, 1), round(tgen / 10, 1)
        out.append(run(DSV3, "fp8-block", "b200", "sglang", "SGLang 0.5.6.post1 (launch_server --tp 8)", r1,
                       "'Hardware: B200 GPU (8x)', TP8, deepseek-ai/DeepSeek-R1-0528 (DeepSeek-V3 architecture, FP8 "
                       f"block-scaled weights). --random-input-len {isl} --random-output-len {osl}. " + note.format(
                           req=10, tin=tin, tgen=tgen, p=p, g=g, ttft=ttft, tpot=tpot),
                       n=8, prompt=round(p), gen=round(g), decode=d(tpot), ttft=ttft / 1000))
    v31 = ("https://cookbook.sglang.io/autoregressive/DeepSeek/DeepSeek-V3_1 (" + base.replace(
        "7b5bd9c05e3d86da5161ac2be9b91c19a34bf49d", "0e5d0fee1fb07e9636b5c737fdce91061a0ce994")
           + "DeepSeek/DeepSeek-V3_1.md, 5.1 Speed Benchmark, low-concurrency runs)")
    for isl, osl, tin, tgen, ttft, tpot in [(1000, 1000, 6101, 4220, 557.85, 23.84), (1000, 8000, 6101, 44462,
                                            156.67, 24.41), (8000, 1000, 41941, 4220, 883.78, 24.93)]:
        p, g = round(tin / 10, 1), round(tgen / 10, 1)
        out.append(run(DSV3, "fp8-block", "mi300x", "sglang", "SGLang 0.5.7 (launch_server --tp 8)", v31,
                       "'Hardware: AMD MI300X GPU (8x)', TP8, deepseek-ai/DeepSeek-V3.1 (DeepSeek-V3 architecture, "
                       f"FP8 block-scaled weights). --random-input-len {isl} --random-output-len {osl}. " + note.format(
                           req=10, tin=tin, tgen=tgen, p=p, g=g, ttft=ttft, tpot=tpot),
                       n=8, prompt=round(p), gen=round(g), decode=d(tpot), ttft=ttft / 1000))
    oss = ("https://cookbook.sglang.io/autoregressive/OpenAI/GPT-OSS (" + base + "OpenAI/GPT-OSS.md, "
           "5.1.1 Latency-Sensitive Benchmark)")
    out.append(run(OSS120, "mxfp4", "b200", "sglang", "SGLang 0.5.6 (launch_server --tp 8)", oss,
                   "'Hardware: NVIDIA B200 GPU (8x)', TP8, openai/gpt-oss-120b (MXFP4 experts). ShareGPT prompts. "
                   + note.format(req=100, tin=33178, tgen=21251, p=331.8, g=212.5, ttft=33.71, tpot=2.31),
                   n=8, prompt=332, gen=213, decode=d(2.31), ttft=0.03371))
    return out


def autoawq() -> list[dict]:
    """casper-hansen/AutoAWQ README 'Benchmarks' (AutoAWQ 0.1.6, RTX 4090), batch-size-1 rows."""
    src = "github:casper-hansen/AutoAWQ@88e4c76b20755db275574e6a03c83c84ba3bece5 README.md (Benchmarks, RTX 4090)"
    note = ("'Tested with AutoAWQ version 0.1.6', 'GPU: RTX 4090 (AMD Ryzen 9 7950X)', batch size 1, prefill and "
            "decode lengths as printed; AWQ 4-bit, group 128 with zero point (AutoAWQ fused modules on HF "
            "transformers, {ver} kernel). Printed: prefill {pp} tok/s, decode {tg} tok/s. ")
    cases = [(L2_7B, "Vicuna 7B (vicuna-7b-v1.5, a Llama-2-7B fine-tune)", "GEMV", [(64, 639.65, 198.848),
                                                                                    (2048, 1123.63, 133.191)]),
             (M7B, "Mistral 7B (Mistral-7B-v0.1 architecture)", "GEMM", [(64, 1093.35, 156.317),
                                                                        (2048, 3897.02, 114.355)]),
             (M7B, "Mistral 7B (Mistral-7B-v0.1 architecture)", "GEMV", [(64, 531.99, 188.29), (2048, 903.83, 130.66)]),
             ("tests/fixtures/configs/TinyLlama__TinyLlama-1.1B-Chat-v1.0.json", "TinyLlama 1B", "GEMV",
              [(64, 1088.63, 548.993), (2048, 5178.98, 431.468)]),
             (L2_13B, "Llama 2 13B", "GEMM", [(64, 820.34, 96.74), (2048, 2279.41, 73.8213)])]
    out = []
    for model, name, ver, runs in cases:
        for n_tok, pp, tg in runs:
            out.append(run(model, "awq-4bit-g128", "rtx-4090", "autoawq",
                           f"AutoAWQ 0.1.6 ({ver}, fused layers) on transformers", src,
                           f"'{name}', {ver}, prefill length {n_tok}, decode length {n_tok}. "
                           + note.format(ver=ver, pp=pp, tg=tg), prompt=n_tok, gen=n_tok, decode=tg, prefill=pp))
    old = ("github:casper-hansen/AutoAWQ@eea08aa614f23e1c38e5d6c05169d03c146664e4 README.md (Benchmark, Vicuna 7B "
           "(LLaMa-2), October 2023 version)")
    for ver, ck, runs in [("GEMV", "casperhansen/vicuna-7b-v1.5-awq-gemv", [(64, 233.909, 154.475),
                                                                            (512, 228.914, 139.179),
                                                                            (2048, 225.736, 123.228)]),
                          ("GEMM", "casperhansen/vicuna-7b-v1.5-awq", [(64, 2618.88, 125.428), (512, 2769.9, 115.08),
                                                                       (2048, 2341.36, 104.188)])]:
        for n_tok, pp, tg in runs:
            out.append(run(L2_7B, "awq-4bit-g128", "rtx-3090", "autoawq",
                           f"AutoAWQ (Oct 2023 main, {ver}, fused layers) on transformers", old,
                           f"'GPU: NVIDIA GeForce RTX 3090', examples/benchmark.py --model_path {ck} (vicuna-7b-v1.5, "
                           f"a Llama-2-7B fine-tune), batch size 1, prefill length {n_tok}, decode length {n_tok}: "
                           f"prefill {pp} tok/s, decode {tg} tok/s (printed). AWQ 4-bit, group 128, zero point.",
                           prompt=n_tok, gen=n_tok, decode=tg, prefill=pp))
    return out


def modelopt() -> list[dict]:
    """NVIDIA/TensorRT-Model-Optimizer examples/benchmark.md, 1.1 Performance (TensorRT-LLM v0.15 on H200)."""
    src = ("github:NVIDIA/TensorRT-Model-Optimizer@5a4242faf4147fb0688bb73e10ca30b8ad3aabb3 examples/benchmark.md "
           "(1.1 Performance, Batch Size 1 rows)")
    printed = "TensorRT-LLM v0.15 + nvidia-modelopt v0.21.1 (trtllm-bench latency)"
    note = ("'Config: H200, nvidia-modelopt v0.21.1, TensorRT-LLM v0.15, latency measured with trtllm-bench', "
            "'Input tokens 2048, output tokens 128', batch size 1. Tokens/sec = output tokens per second of the "
            "request (prefill of the 2048-token prompt included). GPU printed 'H200' (H200 SXM 141GB presumed). "
            "Llama3.1 checkpoints (instruct per the accuracy table). ")
    cases = [(L31_8B, "bf16", 1, "BF16 (8B:TP1)", 173.80), (L31_8B, "fp8", 1, "FP8 (TP1)", 245.03),
             (L31_8B, "awq-4bit-g128", 1, "INT4 AWQ (TP1)", 231.75), (L31_70B, "bf16", 2, "BF16 (70B:TP2)", 45.81),
             (L31_70B, "fp8", 1, "FP8 (TP1)", 43.46), (L31_70B, "awq-4bit-g128", 1, "INT4 AWQ (TP1)", 44.10)]
    q = {"awq-4bit-g128": "ModelOpt INT4 AWQ (4-bit weights, groups of 128). ", "fp8": "FP8 weights and activations. ",
         "bf16": ""}
    return [run(m, quant, "h200", "tensorrt-llm", printed, src,
                f"'{m.split('/')[1]}', column '{col}': {tps} Tokens/sec. " + q[quant] + note
                + (f"TP{n} (tensor parallel). " if n > 1 else ""), n=n, prompt=2048, gen=128, decode=tps)
            for m, quant, n, col, tps in cases]


def dmatora() -> list[dict]:
    """dmatora/LLM-inference-speed-benchmarks issue #10 (RTX 4090, llama.cpp server)."""
    src = "https://github.com/dmatora/LLM-inference-speed-benchmarks/issues/10 (description by jggc 2024-05-27)"
    return [run("meta-llama/Meta-Llama-3-8B", "q6_k", "rtx-4090", "llama.cpp", "llama.cpp server (CUDA), May 2024",
                src, "'llama3 8b Q6 RTX 4090 llama.cpp': 'Generation speed : 93 tokens per second' (prompt evaluation "
                "4668 tokens per second on a prompt of unprinted length, so not recorded). Q6 read as the Q6_K preset; "
                "Llama 3 8B checkpoint variant not printed. Prompt and output lengths not printed; decode_context 128 "
                "(ASSUMED).", backend="cuda", decode=93.0, ctx=128)]


def curate() -> list[dict]:
    return (hamel() + optimum() + quanto() + pr6017() + rocm_blogs() + rocm_vllm() + mlx_server() + vllm_mlx()
            + nexveridian() + geerling() + discussion_4167() + mlc_blog() + sgl_cookbook() + autoawq() + modelopt()
            + dmatora())


if __name__ == "__main__":
    rows = curate()
    OUT.write_text("".join(json.dumps(r) + "\n" for r in rows))
    print(f"{len(rows)} rows → {OUT}")
