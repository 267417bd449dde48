"""transformers, measured on a real CUDA GPU: its own model class built from a published config.json with random
bf16 weights (no download), the same prefill-and-decode steps as the fake-tensor measurement
(planner.measure.transformers.steps), with the CUDA caching allocator's counters in place of LiveBytes.

Beside the fake measurement's figures, each run records what only a real device shows: the seconds of the
prefill and of a decode step (CUDA events), the allocator's reserved pool, the CUDA context, and the device
memory in use as NVML (nvidia-smi) reports it. Random weights change no shape and no allocation; they do change
which experts a MoE router picks, so MoE activation peaks vary with the data, as they do in real use.

    python -m planner.measure.transformers_cuda --out DIR --models Llama-3.1-8B ... (see scripts/gpu_session.sh)
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from functools import partial
from pathlib import Path

from ..paths import published_config
from .transformers import CudaBytes, _state_tensors, _storage_bytes, build, steps

SOURCE = ("planner.measure.transformers_cuda: transformers' own model class built from the published config "
          "with random bf16 weights on a CUDA GPU, the caching allocator's counters")
WARMUP_TOKENS = 16  # a first forward creates cuBLAS's workspace, which stays allocated; it is made before measuring
DECODE_STEPS = 8  # timed decode steps after the measured one
INIT_STD = 0.02  # random weights' standard deviation (values do not change allocations)


def _nvml_used() -> int | None:
    try:
        import pynvml

        pynvml.nvmlInit()
        import torch

        handle = pynvml.nvmlDeviceGetHandleByIndex(torch.cuda.current_device())
        return int(pynvml.nvmlDeviceGetMemoryInfo(handle).used)
    except Exception:  # NVML is optional
        return None


def load(config: dict, attention: str, device: str = "cuda"):
    """The model on `device` with random weights; (model, its parameters and persistent buffers, the computed
    buffers)."""
    import torch

    with torch.device(device):
        model = build(config, attention)
    torch.manual_seed(0)
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0.0, INIT_STD)
    params, buffers = _state_tensors(model)
    return model, params, buffers


def measure_points(config: dict, points: list[dict], attention: str = "sdpa", device: str = "cuda") -> list[dict]:
    """One measurement per point ({context, batch[, cache, max_cache_len]}), the model built once. device "cpu"
    runs the same steps on real CPU tensors under LiveBytes (a dry run for small configs)."""
    import torch

    from ..reference.profile import LiveBytes

    cuda = device == "cuda"
    context_bytes = None
    if cuda:
        torch.cuda.init()
        before = _nvml_used()
        torch.zeros(1, device="cuda")
        torch.cuda.synchronize()
        context_bytes = None if before is None else _nvml_used() - before
    model, params, buffers = load(config, attention, device)

    def tracker():
        return CudaBytes() if cuda else LiveBytes([*params, *buffers])

    with torch.no_grad():
        steps(model, tracker(), context=WARMUP_TOKENS, batch=1, device=device)
    out = []
    for point in points:
        if cuda:
            torch.cuda.empty_cache()
        t0 = time.perf_counter()
        try:
            with torch.no_grad():
                m = steps(model, tracker(), device=device, decode_steps=DECODE_STEPS, **point)
        except torch.OutOfMemoryError as e:
            out.append({"point": point, "oom": True, "error_message": str(e)[:300]})
            continue
        m |= {"weights_bytes": _storage_bytes(params), "buffers_bytes": _storage_bytes(buffers),
              "wall_seconds": round(time.perf_counter() - t0, 3)}
        if cuda:
            m |= {"max_memory_reserved": torch.cuda.max_memory_reserved(), "nvml_used_bytes": _nvml_used(),
                  "cuda_context_bytes": context_bytes}
        out.append({"point": point, "oom": False, "measured": m})
    del model
    torch.cuda.empty_cache()
    return out


def _fits(model, point: dict, cap_bytes: int | None) -> int | None:
    """The allocated peak of one prefill and decode step of `point` with the caching allocator capped at
    `cap_bytes`, or None where it runs out of memory."""
    import gc

    import torch

    torch.cuda.empty_cache()
    total = torch.cuda.get_device_properties(0).total_memory
    torch.cuda.set_per_process_memory_fraction(1.0 if cap_bytes is None else min(1.0, cap_bytes / total))
    base = torch.cuda.memory_allocated()
    try:
        with torch.no_grad():
            m = steps(model, CudaBytes(), device="cuda", **point)
        # steps() resets the peak before decoding: the prefill's peak is its KV plus its activation peak
        peak = base + max(m["kv_cache_bytes"] + m["prefill_activation_bytes"],
                          m["kv_cache_bytes"] + m["decode_activation_bytes"])
    except torch.OutOfMemoryError:
        peak = None
    gc.collect()
    torch.cuda.empty_cache()
    torch.cuda.set_per_process_memory_fraction(1.0)
    return peak


def smallest_pool(config: dict, points: list[dict], attention: str = "sdpa", iterations: int = 7) -> list[dict]:
    """Per point: the allocator's peak allocated and reserved bytes when nothing caps it, and the smallest cap
    (torch.cuda.set_per_process_memory_fraction) under which the run still succeeds, found by bisection between
    the two to (reserved − allocated) / 2**iterations. The cap is what a GPU of that size holds for PyTorch: the
    memory a run needs beyond its allocated peak is the fragmentation that emptying the cache cannot return."""
    import torch

    model, _, _ = load(config, attention)
    with torch.no_grad():
        steps(model, CudaBytes(), context=WARMUP_TOKENS, batch=1, device="cuda")
    out = []
    for point in points:
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
        allocated = _fits(model, point, None)
        if allocated is None:
            out.append({"point": point, "oom": True})
            continue
        reserved = torch.cuda.max_memory_reserved()  # the prefill's pool: steps() resets only the allocated peak's
        lo, hi = allocated, reserved  # lo may fail, hi ran
        for _ in range(iterations):
            mid = (lo + hi) // 2
            lo, hi = (lo, mid) if _fits(model, point, mid) is not None else (mid, hi)
        out.append({"point": point, "oom": False, "measured": {
            "peak_allocated_bytes": allocated, "max_memory_reserved": reserved, "smallest_pool_bytes": hi,
            "resolution_bytes": hi - lo, "total_memory": torch.cuda.get_device_properties(0).total_memory}})
    del model
    torch.cuda.empty_cache()
    return out


def run(config_dir: Path, models: list[str], points: list[dict], out: Path, attention: str = "sdpa",
        layers: dict[str, int] | None = None, device: str = "cuda") -> int:
    """Measure each model (its config.json from `config_dir`, optionally cut to `layers[model]` layers) at
    `points`; append one JSON line per point to `out`. Returns the number of records."""
    import torch
    import transformers

    n = 0
    where = torch.cuda.get_device_name() if device == "cuda" else f"{platform.machine()} CPU"
    for model in models:
        path = config_dir / f"{model.replace('/', '__')}.json"
        config = json.loads(path.read_text())
        if layers and model in layers:
            config["num_hidden_layers"] = layers[model]
            if isinstance(config.get("layer_types"), list):
                config["layer_types"] = config["layer_types"][:layers[model]]
        t0 = time.perf_counter()
        try:
            results = measure_points(config, points, attention, device)
        except Exception as e:  # record the failure and go on with the next model
            results = [{"point": {}, "error_message": f"{type(e).__name__}: {e}"[:400]}]
        for r in results:
            rec = {"engine": "transformers", "engine_version": transformers.__version__, "model": model,
                   "layers": config.get("num_hidden_layers"), "quant": "bf16",
                   "options": {"attention": attention, **r.pop("point")}, **r,
                   "device": where, "torch": torch.__version__, "cuda": torch.version.cuda,
                   "host": platform.node(), "source": SOURCE}
            with open(out, "a", encoding="utf-8") as f:
                f.write(json.dumps(rec, sort_keys=True) + "\n")
            n += 1
        print(f"{model}: {len(results)} records, {time.perf_counter() - t0:.1f} s", file=sys.stderr, flush=True)
    return n


def annotate(record: dict) -> dict:
    """`record` with planner's figures for the same run (estimated, error_pct, within_tolerance) where the model is
    bundled at the depth measured; others (hybrids, reduced depth) are returned as they are."""
    from ..errors import PlannerError
    from ..profiles import load_model
    from .transformers import error_pct, estimated, within_tolerance

    if "measured" not in record:
        return record
    try:
        if load_model(record["model"]).n_layers != record["layers"]:
            return record
        est = estimated(record["model"], **record["options"])
    except PlannerError:
        return record
    return {**record, "estimated": est, "error_pct": error_pct(est, record["measured"]),
            "within_tolerance": within_tolerance(est, record["measured"])}


TIMED_DECODE_STEPS = 10  # decode steps timed after each prefill (timed_steps)


def timed_steps(model: str, device: str, prompts: list[int], attention: str) -> list[dict]:
    """transformers' own model class (random bf16 weights) as generate() runs it, batch 1: the prefill of each
    prompt (the time to first token, without sampling) and the decode steps after it, each launched from Python."""
    import torch

    from .transformers import _forward, _tokens, new_cache

    config = json.loads(published_config(model).read_text())
    m, _, _ = load(config, attention, device)
    out = []
    with torch.no_grad():
        for t in prompts:
            ids = _tokens(m, 1, t, device)
            prefill, decode = [], []
            for _ in range(3):
                cache = new_cache(m)
                prefill.append(_wall(partial(_forward, m, ids, cache), device))
            nxt = _tokens(m, 1, 1, device)
            for _ in range(TIMED_DECODE_STEPS):
                decode.append(_wall(partial(_forward, m, nxt, cache), device))
            out.append({"kind": "model_steps", "model": model, "engine": "transformers", "attention": attention,
                        "batch": 1, "tokens": t, "prefill_seconds": sorted(prefill)[1],
                        "decode_seconds": sorted(decode)[len(decode) // 2],
                        "transformers": __import__("transformers").__version__,
                        "method": "wall time between device synchronizations; kernels launched from Python"})
    return out


def _wall(fn, device: str) -> float:
    """Seconds of one call, the device drained before and after (what a caller waits for)."""
    import torch

    if device == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    fn()
    if device == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - t0


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", required=True, help="JSONL file to append to")
    p.add_argument("--configs", default="tests/fixtures/configs")
    p.add_argument("--models", nargs="+", required=True)
    p.add_argument("--contexts", nargs="+", type=int, default=[1024, 4096, 16384])
    p.add_argument("--batches", nargs="+", type=int, default=[1, 2])
    p.add_argument("--attention", default="sdpa")
    p.add_argument("--layers", nargs="*", default=[], help="MODEL=N: build MODEL with N layers")
    p.add_argument("--device", default="cuda", choices=["cuda", "cpu"], help="cpu: a dry run on real CPU tensors")
    a = p.parse_args()
    points = [{"context": c, "batch": b} for c in a.contexts for b in a.batches]
    layers = {k: int(v) for k, v in (x.split("=", 1) for x in a.layers)}
    n = run(Path(a.configs), a.models, points, Path(a.out), a.attention, layers, a.device)
    print(f"{n} records in {a.out}")


if __name__ == "__main__":
    main()
