"""Command line: verbs mapped to plain functions. User errors: one line on stderr, exit code 2."""

from __future__ import annotations

import argparse
import os
import re
import sys

from ..errors import PlannerError
from ..units import UNIT_BYTES
from .args import Parser, mm_counts, nonnegative_float, parse_tokens, positive, positives, rate, unit
from .catalog import QUANTS_MODEL, cmd_gpus, cmd_models, cmd_quants
from .commands import cmd_estimate, cmd_table
from .fit import cmd_fit
from .machine import add_parser as add_machine_parser
from .train import add_parser as add_train_parser
from .validate import cmd_check_log, cmd_validate

__all__ = ["build_parser", "main", "parse_tokens"]


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("llm-planner")
    except PackageNotFoundError:  # run from a source tree that was not installed
        return "(not installed)"


MAX_CONTEXT_HELP = ("run the model to N tokens, beyond its config's max_position_embeddings, as rope scaling (YaRN) "
                    "lets engines run it, e.g. Qwen3 to 128K")


def build_parser() -> argparse.ArgumentParser:
    p = Parser(prog="planner", description="LLM memory planner: will model X at quantization Y fit?")
    p.add_argument("--version", action="version", version=f"planner {_version()}")
    sub = p.add_subparsers(dest="verb", required=True, parser_class=Parser, metavar="verb")

    e = sub.add_parser("estimate", help="memory for one configuration, by component")
    e.add_argument("model", help="Hugging Face id, short name, or path to a config.json / model folder")
    e.add_argument("--quant", help="weights format (default: the checkpoint's own); see `planner quants`")
    e.add_argument("--kv-dtype", help="KV-cache dtype: fp16, bf16, fp8, int8, int4, q8_0, q4_0, fp32")
    e.add_argument("--keep-bf16", metavar="PARTS",
                   help="leave these in 16 bits although the format quantizes them: categories (attn, mlp, experts, "
                   "shared_experts, router, embedding, output, vision) or category@layer, comma-separated, e.g. "
                   "attn,mlp@0")
    e.add_argument("--context", type=positive, help="tokens per sequence, e.g. 8192 or 8K (default 4K; with --engine "
                   "vllm or sglang the engine's max_model_len / context_length, which default to the model's maximum; "
                   "ollama: its num_ctx)")
    e.add_argument("--max-context", type=positive, help=MAX_CONTEXT_HELP)
    e.add_argument("--batch", type=positive, default=1, help="concurrent sequences (default 1)")
    e.add_argument("--chunk", type=positive, help="chunked-prefill size in tokens (default: the whole prompt; GGUF "
                   "formats 512, llama.cpp's n_ubatch)")
    e.add_argument("--attention", default="sdpa", choices=["sdpa", "eager"],
                   help="the plain model's attention: sdpa (default, no score matrix held) or eager (it holds each "
                   "layer's scores)")
    e.add_argument("--logits", default="last", choices=["last", "all"], help="logits for the last or all positions")
    e.add_argument("--runtime", default="cuda", choices=["cuda", "none"], help="'none' leaves out CUDA overhead")
    e.add_argument("--no-cap-sliding", action="store_true", help="keep all tokens on sliding-window layers")
    e.add_argument("--unit", type=unit, default="GiB", help=f"one of {', '.join(UNIT_BYTES)} (default GiB)")
    e.add_argument("--gpu", help="catalog GPU id (see `planner gpus`), or local / local:N (this machine's GPU, its "
                   "free memory now): adds fit, time to first token, tokens/s")
    e.add_argument("--engine", choices=["vllm", "sglang", "llama.cpp", "ollama", "transformers"],
                   help="what that engine allocates (default: the plain analytic model)")
    e.add_argument("--engine-version", help="vllm: the release whose memory rules (and, before 0.8, V0 engine "
                   "loop) apply, 0.4 to 0.33; ollama: 0.3 to 0.33; llama.cpp: the build, b1619 to b9489, which also "
                   "picks its prefill kernels (default: the current release)")
    e.add_argument("--max-model-len", type=positive, help="vllm: max_model_len (default: the model's maximum)")
    e.add_argument("--gpu-memory-utilization", type=rate,
                   help="vllm: share of GPU memory (default 0.92; 0.9 before 0.20)")
    e.add_argument("--max-num-batched-tokens", type=positive,
                   help="vllm: profile-run tokens (default: vLLM's for the GPU, 2048 or 8192)")
    e.add_argument("--max-num-seqs", type=positive, help="vllm: default: vLLM's for the GPU, 256 or 1024")
    e.add_argument("--entrypoint", choices=["serve", "llm"], default=None,
                   help="vllm: how it was started, which sets the defaults above: serve (vllm serve, the default) or "
                   "llm (the offline LLM class, vllm bench throughput: from 0.8, twice the profile-run tokens below "
                   "160 GiB; V0 releases have one default for both)")
    e.add_argument("--block-size", type=positive, help="vllm: KV block size (default 16; MLA 64)")
    e.add_argument("--tensor-parallel-size", "-tp", type=positive,
                   help="vllm, sglang (its alias of --tp-size): GPUs each layer is split over (default 1); figures "
                   "are per GPU")
    e.add_argument("--pipeline-parallel-size", "-pp", type=positive,
                   help="vllm: pipeline stages, consecutive layers each (default 1)")
    e.add_argument("--data-parallel-size", "-dp", type=positive,
                   help="vllm: replicas, each its own tensor × pipeline group (default 1)")
    e.add_argument("--enable-expert-parallel", action="store_true",
                   help="vllm: a MoE's experts spread whole over the tensor × data parallel GPUs")
    e.add_argument("--flashinfer-sampler", action="store_true",
                   help="vllm: FlashInfer's top-k/top-p sampler runs (vLLM's Docker images of 0.8–0.11; "
                   "VLLM_USE_FLASHINFER_SAMPLER=1 from 0.12); default PyTorch's sort, a Triton kernel from 0.17")
    e.add_argument("--prefix-caching", choices=["on", "off"], default=None,
                   help="vllm: prefix caching for a hybrid model (attention beside Gated DeltaNet or Mamba layers), "
                   "which keeps two or three state blocks a request; default the release's (on from 0.28)")
    e.add_argument("--chunked-prefill", choices=["on", "off"], default=None,
                   help="vllm: --enable-chunked-prefill / --no-enable-chunked-prefill; default the release's (always "
                   "on V1, 0.8+; V0 above 32K from 0.5.5). Off, max_num_batched_tokens must hold max_model_len")
    e.add_argument("--enforce-eager", action="store_true",
                   help="vllm: no CUDA graphs (none estimated from 0.20) and, under V1, the model runs uncompiled, "
                   "as V0 always ran it (its MLP keeps more alive)")
    e.add_argument("--custom-all-reduce", choices=["on", "off"], default=None,
                   help="vllm with tensor parallel: its own all-reduce kernel (off: --disable-custom-all-reduce, every "
                   "all-reduce through NCCL/RCCL); default the release's: on, except on AMD GPUs before 0.8.3 and "
                   "before the MI300 series (on for AMD's rocm/vllm images, which had it from mid-2024)")
    e.add_argument("--vllm-engine", choices=["v0", "v1"], default=None,
                   help="vllm 0.8.0-0.10.2: the engine core (v0: VLLM_USE_V1=0); default the release's: V1, except "
                   "on NVIDIA GPUs older than Ampere (V100, T4, RTX 20xx) before 0.10.2, where vLLM falls back to V0")
    e.add_argument("--cuda-graph-memory",
                   help="vllm 0.20+: the CUDA-graph memory it estimates and takes from the KV budget, e.g. 2.35GiB as "
                   "its log's 'Estimated CUDA graph memory' line says (default: a 0.61 GiB prior)")
    e.add_argument("--mxfp4-backend", choices=["marlin", "triton", "flashinfer", "none"],
                   help="vllm: the MoE kernel whose layout MXFP4 experts take (default: vLLM's choice for the GPU "
                   "and release; none: the tensors as stored)")
    e.add_argument("--limit-mm-per-prompt", type=mm_counts,
                   help="vllm: items of each modality a prompt may carry, as vLLM takes it (image=1,video=0; "
                   "modality=0 turns it off); its profile run encodes the largest of those allowed")
    e.add_argument("--mem-fraction-static", type=rate,
                   help="sglang: share of the free memory for weights and KV pool (default: SGLang's rule for the GPU)")
    e.add_argument("--tp-size", type=positive,
                   help="sglang: tensor parallel GPUs (default 1; --tensor-parallel-size, as SGLang also takes it); "
                   "figures are per GPU")
    e.add_argument("--context-length", type=positive, help="sglang: longest request (default: the model's maximum)")
    e.add_argument("--max-running-requests", type=positive, help="sglang: default from the pool (2048–4096)")
    e.add_argument("--chunked-prefill-size", type=positive,
                   help="sglang: tokens a prefill step takes (default: SGLang's tier for the GPU, 2048–16384)")
    e.add_argument("--cpu-offload-gb", type=nonnegative_float,
                   help="sglang: GiB of each GPU's decoder-layer weights kept in host memory (default 0)")
    e.add_argument("--num-ctx", type=positive, help="ollama: num_ctx (default: 4K/32K/256K by the GPU's memory)")
    e.add_argument("--num-gpu", type=int, help="ollama: num_gpu, the layers on the GPU (default: Ollama decides)")
    e.add_argument("--num-batch", type=positive, help="ollama: num_batch, the runner's batch and ubatch (default 512; "
                   "from 0.30 llama-server's -b/-ub, by default Ollama's choice, 512-2048 by context and free memory)")
    e.add_argument("--num-parallel", type=positive, help="ollama: OLLAMA_NUM_PARALLEL (default 1; before "
                   "0.10 Ollama tried 4 slots, 2 from 0.6.7, and took 1 where those did not fit the GPU)")
    e.add_argument("--kv-cache-type", choices=["f16", "q8_0", "q4_0"],
                   help="ollama: OLLAMA_KV_CACHE_TYPE (default f16)")
    e.add_argument("--n-batch", type=positive, help="llama.cpp: default 2048")
    e.add_argument("--n-ubatch", type=positive, help="llama.cpp: default 512")
    e.add_argument("--flash-attn", choices=["on", "off"], help="llama.cpp: default on (off before b6325); ollama: "
                   "OLLAMA_FLASH_ATTENTION (default on from 0.30, off before but for a few architectures from 0.12.4)")
    e.add_argument("--n-gpu-layers", type=int, help="llama.cpp -ngl: default, with --gpu, llama-server's --fit (the "
                   "most layers that leave 1 GiB free); without, all (before b7407 all; before b6325 none)")
    e.add_argument("--fit", choices=["on", "off"], help="llama.cpp --fit (default on from b7407): off puts every "
                   "layer on the GPU, whether they fit or not")
    e.add_argument("--host-memory", help="llama.cpp, ollama: the system RAM free for the layers left there (e.g. "
                   "64GiB); more than that does not fit")
    e.add_argument("--host-bandwidth", help="llama.cpp, ollama: system RAM's bandwidth, which decode reads what they "
                   "leave there at (e.g. 307GB/s for 8 channels of DDR5-4800; default 76.8GB/s, a desktop's two)")
    e.add_argument("--n-cpu-moe", type=int, help="llama.cpp --n-cpu-moe: the routed experts of the first N layers "
                   "stay in system RAM (default: none, or as --fit decides for a MoE model)")
    e.add_argument("-ot", "--override-tensor", action="append", metavar="REGEX=CPU",
                   help="llama.cpp -ot: the tensors whose GGUF names the regex finds stay in system RAM, e.g. "
                   r"'blk\.[2-9][0-9]\.ffn_.*_exps=CPU' (repeatable)")
    e.add_argument("--legacy-mla-gguf", action="store_true",
                   help="llama.cpp: a DeepSeek-style (MLA) GGUF converted before llama.cpp's MLA support (April "
                        "2025; no attn_k_b tensors), which caches every head's K and V instead of the latent")
    e.add_argument("--mmproj", action="store_true",
                   help="llama.cpp --mmproj: a vision model's image encoder (its 16-bit mmproj file) on the GPU too")
    e.add_argument("--no-op-offload", action="store_true",
                   help="llama.cpp --no-op-offload (from b5346): weights kept in system RAM run on the CPU for a "
                   "prompt too, not copied to the GPU (smaller compute buffer; prompt speed not modelled)")
    e.add_argument("--program", choices=["llama-server", "library"],
                   help="llama.cpp: what runs the model (default llama-server: one output row per slot from b9460 "
                   "without speculative decoding, 4 slots with -np unset; llama-cli runs its server context with one "
                   "slot: give --parallel 1; library: llama-cpp-python, llama-bench, every token of a ubatch a row)")
    e.add_argument("--parallel", type=positive, help="llama.cpp --parallel slots (default: llama-server's 4 over one "
                   "unified cache for a --batch of up to 4, else --batch)")
    e.add_argument("--n-ctx", type=positive, help="llama.cpp -c: cells of all slots (default: context × slots)")
    e.add_argument("--kv-unified", action="store_true",
                   help="llama.cpp --kv-unified: one cache all slots share (each sequence may use all of n_ctx)")
    e.add_argument("--type-v", help="llama.cpp V cache type (default: --kv-dtype)")
    e.add_argument("--cache", choices=["dynamic", "static"], help="transformers: the cache class (default dynamic)")
    e.add_argument("--max-cache-len", type=positive, help="transformers: a static cache's tokens (default: context)")
    e.add_argument("--gpu-memory", help="with --gpu: that GPU built with this much memory (--gpu m4 --gpu-memory "
                   "16GiB, a 16 GB M4); without: a GPU not in the catalog, its total memory as CUDA reports it, all "
                   "of which is taken as usable (a card sold as 24 GB reports about 23.5GiB), with --gpu-bandwidth")
    e.add_argument("--gpu-bandwidth", help="its memory bandwidth, e.g. 1008GB/s")
    e.add_argument("--gpu-tflops-bf16", type=rate, help="its dense bf16 TFLOP/s (for time to first token)")
    e.add_argument("--gpu-memory-type", help="a custom GPU's memory: HBM, GDDR (default) or unified (Apple)")
    e.add_argument("--speed-engine", help="the engine whose speed to model (default: --engine, else llama.cpp for "
                   "GGUF, mlx on Apple GPUs, vllm otherwise): llama.cpp, vllm, sglang, tensorrt-llm, gpt-fast, "
                   "mlc-llm, exllamav2, lmdeploy, autoawq, mlx, transformers")
    e.add_argument("--efficiency", type=rate, help="your own decode share of the GPU's datasheet bandwidth, 0.01 to 1")
    e.add_argument("--prefill-efficiency", type=rate, help="your own prefill share of its peak FLOP/s, 0.01 to 1")
    e.add_argument("--prompt", type=positive, help="prompt tokens for time to first token (default: context)")
    e.add_argument("--json", action="store_true", help="print the result as JSON (bytes)")
    e.set_defaults(func=cmd_estimate)

    f = sub.add_parser("fit", help="largest context per quantization on a GPU, or which GPUs fit")
    f.add_argument("model")
    f.add_argument("--gpu", help="catalog GPU id, or local / local:N (this machine's GPU, its free memory now); "
                   "without --context: the largest context per quantization")
    f.add_argument("--gpu-memory", help="with --gpu: that GPU built with this much memory (--gpu m2-max --gpu-memory "
                   "32GiB)")
    f.add_argument("--context", type=positive, help="tokens per sequence: rank GPUs/quantizations that fit")
    f.add_argument("--max-context", type=positive, help=MAX_CONTEXT_HELP)
    f.add_argument("--batch", type=positive, help="concurrent sequences (default 1)")
    f.add_argument("--quants", help="comma-separated formats to rank (default: bf16, fp8, int8, int4 and the GGUF "
                   "presets, the checkpoint's own format first)")
    f.add_argument("--kv-dtype", help="KV-cache format for every row (default: each format's engine's)")
    f.add_argument("--min-tokens-per-s", type=rate, help="only options at least this fast (per sequence)")
    f.add_argument("--top", type=positive, help="rows to show (default 15)")
    f.add_argument("--unit", type=unit, default="GiB", help=f"one of {', '.join(UNIT_BYTES)} (default GiB)")
    f.add_argument("--json", action="store_true", help="print the rows as JSON (bytes)")
    f.add_argument("--train", action="store_true", help="fine-tuning instead of inference: each method with and "
                   "without gradient checkpointing on the fewest GPUs (ZeRO-3 and FSDP above one) that hold it; needs "
                   "--gpu")
    f.add_argument("--seq-len", type=positive, help="--train: tokens per sequence (default 2048)")
    f.add_argument("--micro-batch", type=positive, help="--train: sequences per step (default 1)")
    f.add_argument("--optimizer", choices=["adamw", "adamw_fused", "adamw_forloop", "adamw_8bit",
                                           "paged_adamw_8bit", "paged_adamw", "adafactor", "sgd"],
                   help="--train: the optimizer (default adamw_fused, the HF Trainer's)")
    f.set_defaults(func=cmd_fit)

    t = sub.add_parser("table", help="total memory by quantization × context length")
    t.add_argument("model")
    t.add_argument("--unit", type=unit, default="GiB",
                   help=f"one of {', '.join(UNIT_BYTES)} (default GiB: 2^30 bytes; GB: 10^9)")
    t.add_argument("--batch", type=positive, default=1, help="concurrent sequences (default 1)")
    t.add_argument("--kv-dtype", help="KV-cache dtype (default: each format's own, as its engine caches)")
    t.add_argument("--quants", help="comma-separated formats (default bf16,q8_0,q6_k,q5_k_m,q4_k_m,q3_k_m,q2_k; "
                   "bf16,fp8,int8,int4 for a model llama.cpp cannot run; led by the checkpoint's own format where it "
                   "is published quantized: fp8-block for DeepSeek-R1, mxfp4 and mxfp4_moe for gpt-oss, the tag's "
                   "file for an Ollama name)")
    t.add_argument("--contexts", type=positives, nargs="+", action="extend",
                   help="context lengths, apart or comma-separated: 4K 32K or 4K,32K (default 1K, 2K, … max)")
    out = t.add_mutually_exclusive_group()
    out.add_argument("--csv", action="store_true", help="print CSV (in --unit)")
    out.add_argument("--json", action="store_true", help="print JSON (bytes)")
    t.add_argument("--max-context", type=positive, help=MAX_CONTEXT_HELP)
    t.set_defaults(func=cmd_table)

    v = sub.add_parser("validate", help="estimate vs the PyTorch reference model (needs torch)")
    v.add_argument("model")
    v.add_argument("--mode", choices=["fake", "cpu", "cuda"], default="fake",
                   help="fake: full size, no memory used; cpu: a real run (small models); cuda: a real GPU run")
    v.add_argument("--quant", help="weights format (default bf16)")
    v.add_argument("--kv-dtype", help="KV-cache dtype (default: the format's own)")
    v.add_argument("--context", type=positive, help="tokens per sequence (default 4K)")
    v.add_argument("--batch", type=positive, default=1, help="concurrent sequences (default 1)")
    v.add_argument("--attention", default="sdpa", choices=["sdpa", "eager"], help="sdpa (default) or eager")
    v.add_argument("--chunk", type=positive, help="chunked-prefill size in tokens (default: the whole prompt)")
    v.add_argument("--unit", type=unit, default="GiB", help=f"one of {', '.join(UNIT_BYTES)} (default GiB)")
    v.add_argument("--json", action="store_true", help="print a list of records")
    v.add_argument("--record", help="append the record to this JSONL file (e.g. profiles/measurements/x.jsonl)")
    v.add_argument("--against", choices=["reference", "llama.cpp", "transformers"], default="reference",
                   help="reference: planner's PyTorch model; llama.cpp: llama.cpp itself on the CPU (needs "
                        "llama-cpp-python and gguf); transformers: its own model class at full size under fake "
                        "tensors (needs transformers; MODEL: a config.json or a bundled model)")
    v.add_argument("--cache", choices=["dynamic", "static"], default="dynamic", help="transformers: the cache class")
    v.add_argument("--max-cache-len", type=positive, help="transformers: a static cache's tokens (default: context)")
    v.add_argument("--n-ubatch", type=positive, default=512, help="llama.cpp: default 512")
    v.add_argument("--flash-attn", choices=["on", "off"], default="on", help="llama.cpp: default on")
    v.add_argument("--type-v", help="llama.cpp V cache type (default: --kv-dtype)")
    v.add_argument("--n-parallel", type=positive, default=1, help="llama.cpp slots (n_ctx = context × slots)")
    v.add_argument("--train", action="store_true", help="one training step of transformers' own class (peft "
                   "adapters, bitsandbytes 4-bit and 8-bit AdamW) at full size under fake tensors, against `planner "
                   "train` (needs transformers, peft, bitsandbytes)")
    v.add_argument("--method", choices=["full", "lora", "qlora"], default="full", help="--train: the method")
    v.add_argument("--rank", type=positive, default=16, help="--train: LoRA rank (default 16)")
    v.add_argument("--optimizer", choices=["adamw", "adamw_fused", "adamw_forloop", "adamw_8bit", "sgd",
                                           "adafactor"], default="adamw", help="--train: the optimizer")
    v.add_argument("--precision", choices=["bf16", "mixed", "fp32"], default="bf16", help="--train: precision")
    v.add_argument("--gradient-checkpointing", choices=["on", "off"], help="--train: default on for QLoRA")
    v.add_argument("--seq-len", type=positive, default=2048, help="--train: tokens per sequence (default 2048)")
    v.add_argument("--micro-batch", type=positive, default=1, help="--train: sequences per step (default 1)")
    v.set_defaults(func=cmd_validate)

    cl = sub.add_parser("check-log", help="a llama.cpp/Ollama, vLLM or SGLang startup log's figures beside planner's")
    cl.add_argument("file", help="the log, as the engine printed it")
    cl.add_argument("--model", help="the model, when the log does not name it (bundled name, Hub id or config path)")
    cl.add_argument("--quant", help="weights format (llama.cpp: default the log's file type)")
    cl.add_argument("--gpu", help="catalog GPU id, when the log names neither the GPU nor its total (vLLM)")
    cl.add_argument("--engine-version", help="the vLLM release (0.17.1) or llama.cpp build (b5000) that wrote the log, "
                    "when it does not print it")
    cl.add_argument("--json", action="store_true", help="print the figures as JSON (in each row's unit)")
    cl.set_defaults(func=cmd_check_log)

    add_train_parser(sub)
    add_machine_parser(sub)

    ms = sub.add_parser("models", help="list bundled model profiles")
    ms.add_argument("--search", help="only models whose id, alias, model_type or family (or moe / dense) "
                    "contains this text (case-insensitive; several words: all of them)")
    ms.add_argument("--types", action="store_true", help="list the config.json model_type values planner reads "
                    "(any Hugging Face model of one of them imports, bundled or not)")
    ms.add_argument("--json", action="store_true", help="print the list as JSON")
    ms.set_defaults(func=cmd_models)
    qs = sub.add_parser("quants", help="list quantization formats")
    qs.add_argument("--json", action="store_true", help="print the list as JSON")
    qs.add_argument("--model", default=QUANTS_MODEL, help="the model each format's bits per weight are counted on "
                    f"(default {QUANTS_MODEL}: a GGUF preset mixes types per tensor, and every format keeps some "
                    "tensors in 16 bits)")
    qs.set_defaults(func=cmd_quants)
    gp = sub.add_parser("gpus", help="list the GPU catalog")
    gp.add_argument("--unit", type=unit, default="GiB", help=f"one of {', '.join(UNIT_BYTES)} (default GiB)")
    gp.add_argument("--json", action="store_true", help="print the catalog as JSON (bytes, bytes/s, FLOP/s)")
    gp.set_defaults(func=cmd_gpus)
    return p


def _unrecognized(parser: Parser, args, extra: list[str]) -> str:
    """'unrecognized arguments: --contxt 8K; did you mean --context?': the verb's own options suggested for a
    misspelt one."""
    from ..errors import close_matches

    verb = getattr(args, "verb", None)
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices.get(verb)
    known = [o for a in (sub or parser)._actions for o in a.option_strings if o.startswith("--")]
    near = [m for x in extra if x.startswith("--") for m in close_matches(x.split("=")[0], known, 1)]
    return (f"unrecognized arguments: {' '.join(extra)}" + (f"; did you mean {', '.join(dict.fromkeys(near))}?"
                                                             if near else "")
            + (f" (planner {verb} --help lists its options)" if verb else ""))


def _negatives_as_values(argv: list[str]) -> list[str]:
    """'--context -5K' as '--context=-5K': argparse takes a token such as '-5K' for an option and says only "expected
    one argument"; given as the option's value, the option's own check names it ("must be ≥ 1, got '-5K'")."""
    out: list[str] = []
    for tok in argv:
        if re.fullmatch(r"-\d[\w.,]*", tok) and out and out[-1].startswith("--") and "=" not in out[-1]:
            out[-1] = f"{out[-1]}={tok}"
        else:
            out.append(tok)
    return out


def main(argv: list[str] | None = None) -> int:
    """Run one verb. Exit codes: 0 done, 2 a user error (one line on stderr), 1 a bug in planner (one line; set
    PLANNER_DEBUG=1 for the traceback), 130 interrupted."""
    args = None
    try:
        parser = build_parser()
        args, extra = parser.parse_known_args(_negatives_as_values(sys.argv[1:] if argv is None else argv))
        if extra:
            raise PlannerError(_unrecognized(parser, args, extra))
        print(args.func(args))
    except PlannerError as e:
        from .flags import as_flags

        print(f"planner: error: {as_flags(' '.join(str(e).split()), getattr(args, 'verb', None))}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0
    except KeyboardInterrupt:
        return 130
    except Exception as e:  # a bug: say so in one line instead of a traceback, unless asked for it
        if os.environ.get("PLANNER_DEBUG"):
            raise
        print(f"planner: internal error ({type(e).__name__}); please report it with the command line "
              "(PLANNER_DEBUG=1 shows the traceback)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
