"""Timing on a CUDA GPU for planner.measure.kernels_cuda and kernels_moe: a function captured in a CUDA graph and
replayed between CUDA events (no Python launch time between its kernels); on the CPU, a dry run's wall clock."""

from __future__ import annotations

import time

REPS = 5         # timed groups, the median kept
PER_GROUP = 10   # replays per timed group at most
GROUP_S = 0.05   # ... fewer where one call is longer than GROUP_S / PER_GROUP


def _torch():
    import torch

    return torch


def timed(fn, device: str, *, graph: bool = True) -> float:
    """Seconds of one call of `fn`: on CUDA the median of REPS groups, `fn` captured once in a CUDA graph
    (graph=True) and replayed up to PER_GROUP times between two events; on the CPU (a dry run) the faster of two
    wall-clock calls."""
    torch = _torch()
    fn()  # warm-up: cuBLAS handles, workspaces, kernel selection
    if device == "cpu":
        runs = []
        for _ in range(2):
            t0 = time.perf_counter()
            fn()
            runs.append(time.perf_counter() - t0)
        return sorted(runs)[0]
    torch.cuda.synchronize()
    call = fn
    if graph:
        g = torch.cuda.CUDAGraph()
        s = torch.cuda.Stream()
        s.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(s):
            fn()
        torch.cuda.current_stream().wait_stream(s)
        with torch.cuda.graph(g):
            fn()
        call = g.replay
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    call()
    torch.cuda.synchronize()
    per_group = max(1, min(PER_GROUP, int(GROUP_S / max(time.perf_counter() - t0, 1e-9))))
    times = []
    for _ in range(REPS):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        for _ in range(per_group):
            call()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end) / 1e3 / per_group)
    return sorted(times)[len(times) // 2]
