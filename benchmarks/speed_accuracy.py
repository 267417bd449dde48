"""Speed model vs published runs: the calibration half and the check half, apart.

    python benchmarks/speed_accuracy.py            # both halves, per engine × weight family, and the worst rows
    python benchmarks/speed_accuracy.py --markdown # docs/accuracy.md: memory records, speed by half, every row

Rows: benchmarks/speed_data.py (every benchmarks/data/published*.jsonl row cites its source; the split into halves
is by source and fixed before fitting). benchmarks/calibrate_speed.py fits profiles/efficiency.yaml on the
calibration half only; the check half is what the numbers below are judged on. Error = planner / published − 1.
"""

from __future__ import annotations

import sys
from collections import defaultdict
from pathlib import Path
from statistics import median

sys.path.insert(0, str(Path(__file__).resolve().parent))
from calibrate_speed import errors  # noqa: E402
from speed_data import load_rows, source_id  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def table_by_half(errs: list[dict]) -> list[str]:
    """A Markdown table: per half and quantity, runs, median |error|, share within 30 %, the median over sources of
    each one's median |error| (one long sweep is one vote, as in the fit), then per engine × family with at least 5
    runs."""
    lines = ["| half | quantity | runs | median abs. error | within 30 % | sources: median of each one's median | "
             "by engine × weight family (≥ 5 runs) |", "| --- | --- | --- | --- | --- | --- | --- |"]
    for h in ("check", "calibration"):
        for what in ("decode", "ttft"):
            part = [x for x in errs if x["half"] == h and x["what"] == what]
            if not part:
                continue
            e = [abs(x["error"]) for x in part]
            groups = defaultdict(list)
            for x in part:  # by the engine its user ran (Ollama's runs apart from llama.cpp's), as the bands are
                groups[(x["runs_through"], x["family"])].append(abs(x["error"]))
            detail = ", ".join(f"{eng} {fam} {100 * median(v):.0f} % ({len(v)})"
                               for (eng, fam), v in sorted(groups.items()) if len(v) >= 5)
            by_source = defaultdict(list)
            for x in part:
                by_source[source_id(x["source"])].append(abs(x["error"]))
            balanced = median(median(v) for v in by_source.values())
            lines.append(f"| {h} | {'decode tokens/s' if what == 'decode' else 'time to first token'} | {len(e)} | "
                         f"{100 * median(e):.1f} % | {100 * sum(v <= 0.3 for v in e) / len(e):.0f} % | "
                         f"{100 * balanced:.1f} % ({len(by_source)}) | {detail} |")
    return lines


def ollama_lines(errs: list[dict]) -> list[str]:
    """Runs through Ollama (its `--verbose` eval rate), in the data as llama.cpp runs of the build each release
    vendors: how planner's llama.cpp figures carry to them (a check only: speed_data.half)."""
    lines = ["", "Runs through Ollama (`ollama run --verbose`'s eval rate), taken as llama.cpp runs of the build each "
             "release vendors (`benchmarks/data/published_ollama.jsonl` and the Ollama runs of "
             "`published_community.jsonl`; a check only, nothing is fitted to them):", "",
             "| half | quantity | runs | sources | median error | median abs. error |",
             "| --- | --- | --- | --- | --- | --- |"]
    for h in ("check", "calibration"):
        for what in ("decode", "ttft"):
            part = [x for x in errs if x["half"] == h and x["what"] == what and x["runs_through"] == "ollama"]
            if part:
                e = [x["error"] for x in part]
                lines.append(f"| {h} | {'decode tokens/s' if what == 'decode' else 'time to first token'} | "
                             f"{len(e)} | {len({source_id(x['source']) for x in part})} | {100 * median(e):+.1f} % | "
                             f"{100 * median(abs(v) for v in e):.1f} % |")
    return lines


def batch_table() -> list[str]:
    """Decode at a fixed concurrency > 1 (benchmarks/batch_speed.py): a check of the batch model, nothing fitted."""
    from batch_speed import errors as batch_errors
    from batch_speed import summary

    errs = batch_errors()
    lines = ["", "Decode at a fixed number of concurrent requests, a check of the batch model with nothing fitted to "
             "it (`python benchmarks/batch_speed.py`; the slowdown is the per-request rate at c over that at 1, within "
             "one sweep; streamed: planner's steady stream, with the prefills of arriving requests in the decode "
             "steps):", "",
             "| model | quant | GPUs | engine | input / output | c | published tok/s per request | planner | error | "
             "streamed | error | slowdown published | planner | source |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for x in errs:
        r = x["row"]
        stream = "| — | — " if "serving" not in x else f"| {x['serving']:.1f} | {100 * x['serving_error']:+.0f}% "
        slow = "| — | — " if "slowdown" not in x else f"| {x['slowdown'][0]:.2f} | {x['slowdown'][1]:.2f} "
        lines.append(f"| {r['model'].split('/')[-1]} | {r['quant']} | {r['n_gpus']}× {r['gpu']} | {r['engine']} | "
                     f"{r['prompt_tokens']} / {r['gen_tokens']} | {r['concurrency']} | "
                     f"{r['decode_tokens_per_s']:.1f} | {x['planner']:.1f} | {100 * x['error']:+.0f}% {stream}{slow}| "
                     f"{r['source'][:60]} |")
    return lines + [""] + summary(errs)


def offload_table() -> list[str]:
    """llama.cpp with experts in system RAM (benchmarks/offload_speed.py): a check, nothing fitted to it."""
    from offload_speed import errors as offload_errors

    lines = ["", "llama.cpp with experts kept in system RAM (`--n-cpu-moe`, `-ot`), a check with nothing fitted to it "
             "(`python benchmarks/offload_speed.py`):", "",
             "| model | quant | GPU | -ub | prompt | published prompt tok/s | planner | error | published decode | "
             "planner | error | source |", "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for x in offload_errors():
        r = x["row"]
        decode = ("| — | — | — " if x["tg_error"] is None else
                  f"| {r['tg_tokens_per_s']:.1f} | {x['tg']:.1f} | {100 * x['tg_error']:+.0f}% ")
        lines.append(f"| {r['model'].split('/')[-1]} | {r['quant']} | {r['gpu']} | {r['n_ubatch']} | "
                     f"{r['prompt_tokens']} | {r['pp_tokens_per_s']:.1f} | {x['pp']:.1f} | "
                     f"{100 * x['pp_error']:+.0f}% {decode}| {r['source'][:80]} |")
    return lines


def training_measured() -> str:
    from finetune_accuracy import measured_markdown

    return measured_markdown()


def training_published() -> str:
    from finetune_accuracy import markdown as published
    from finetune_accuracy import rows

    return published(rows())


def published_count() -> int:
    from finetune_accuracy import DATA

    return sum(1 for line in DATA.open() if line.strip())


def _header() -> str:
    from planner.measure import kernels
    from planner.measure.kernels_cuda import SOURCE as KERNELS
    from planner.measure.records import load_records, markdown

    records = [r for r in load_records() if r.get("source") != KERNELS]  # memory records; the timings below
    return f"""# Accuracy

Generated by `python benchmarks/speed_accuracy.py --markdown` (part of `scripts/measure_all.sh`).

## Memory, measured by the runtimes themselves

{len(records)} records in `profiles/measurements/`: llama.cpp itself (llama-cpp-python on the CPU, loading a sparse GGUF
of each architecture at full size: `scripts/measure_llamacpp.py`, every run in
[measured-llamacpp.md](measured-llamacpp.md); and on an NVIDIA H200 with every layer offloaded, per device:
`scripts/gpu_llamacpp.sh`, [../research/llamacpp_cuda.md](../research/llamacpp_cuda.md)), transformers' own model
classes at full size under FakeTensorMode (`scripts/measure_transformers.py`) and on the H200
(`scripts/gpu_session.sh`). Error = planner / measured − 1; CI re-checks every record against the current estimator
(`tests/test_measurements.py`, `tests/test_llamacpp_cuda_measured.py`, `tests/test_measure_transformers.py`,
`tests/test_cuda_measured.py`).

{markdown(records)}

## Training memory

### Against transformers, peft and bitsandbytes themselves

One training step (forward with the loss, backward, optimizer step, twice) of transformers' own model classes
with peft's LoRA adapters, bitsandbytes' NF4 layers and 8-bit AdamW, at full size under FakeTensorMode
(`scripts/measure_training.py`, `profiles/measurements/training-fake.jsonl`): every figure of `planner train`
against the measured one; CI re-checks them (`tests/test_training_measured.py`). step2_peak is everything
allocated at the steady-state step's peak, CUDA overhead left out.

{training_measured()}

### Against published fine-tuning runs

{published_count()} measured fine-tuning runs curated from their sources (`benchmarks/data/finetune_published.jsonl`,
`python benchmarks/finetune_accuracy.py` prints each). None was used to fit anything, so all are a check. planner
models the Hugging Face stack (transformers + peft + bitsandbytes); torchtune (bf16 adapters, chunked
cross-entropy, optimizer-in-backward, torchao NF4) and torchtitan (float8, compile) run other code, and their
errors say how far that stack's figures carry.

{training_published()}

## Speed, measured on a GPU

{kernels.markdown()}

The decode steps of transformers with SDPA (59–93 ms for Llama-3.1-8B, 71–85 ms for Llama-3.2-1B) are two to four
times its eager steps on the same machine: PyTorch's profiler showed SDPA dispatched to cuDNN attention on this Hopper
GPU, 3.6 ms of CPU a call against 6.5 µs of GPU, as cuDNN builds a graph for each new key length. planner's
transformers decode floor (fitted on published runs) lies between the two and is not refitted on one machine's host.

## Speed

{len(load_rows())} published runs (`benchmarks/data/published*.jsonl`, each with its source, plus the calibration
rows of ../shared/reference-data.md), split by source into a calibration half and a check half before any fit
(`benchmarks/speed_data.py`; runs through Ollama always check). `benchmarks/calibrate_speed.py` fits
`profiles/efficiency.yaml` on the calibration half; the check half judges it. Error = planner / published − 1.
"""


def main(markdown: bool = False) -> None:
    rows = load_rows()
    errs = errors(rows)
    if markdown:
        print(_header())
        print("\n".join(table_by_half(errs)))
        print("\n".join(ollama_lines(errs)))
        print("\n".join(offload_table()))
        print("\n".join(batch_table()))
        print("\n| half | what | model | quant | GPU | engine | published | planner | error | entry | source |")
        print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
        by_row = {id(r): r for r in rows}
        for x in sorted(errs, key=lambda x: (x["half"] != "check", x["what"], x["engine"], x["gpu"])):
            r = by_row[x["row"]]
            unit, fmt = ("tok/s", "{:.1f}") if x["what"] == "decode" else ("s", "{:.3f}")
            gpu = f"{r['n_gpus']}× {r['gpu']}" if r["n_gpus"] > 1 else r["gpu"]
            print(f"| {x['half']} | {x['what']} | {r['model'].split('/')[-1]} | {r['quant']} | {gpu} | {r['engine']} | "
                  f"{fmt.format(x['published'])} {unit} | {fmt.format(x['planner'])} {unit} | "
                  f"{100 * x['error']:+.0f}% | {x['entry']} | {r['source'][:80]} |")
        return
    print("\n".join(table_by_half(errs)))
    print("\n".join(ollama_lines(errs)))
    print("\nworst rows of the check half:")
    for x in sorted((x for x in errs if x["half"] == "check"), key=lambda x: -abs(x["error"]))[:12]:
        print(f"  {x['what']:6s} {x['engine']:9s} {x['family']:6s} {x['gpu']:15s} published {x['published']:9.3f} "
              f"planner {x['planner']:9.3f} {100 * x['error']:+6.0f}%  {x['source'][:60]}")


if __name__ == "__main__":
    main(markdown="--markdown" in sys.argv)
