"""Runtime overhead of a CUDA PyTorch process, as its own line: named constants, no multipliers.

Each constant says where its figure comes from: the CUDA context and the kernels loaded on first use are measured
on an NVIDIA H200 (profiles/measurements/transformers-cuda.jsonl, scripts/gpu_session.sh); the workspaces and the
allocator's rounding come from PyTorch's source.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

MiB = 2**20

# Device memory the CUDA context takes before any tensor exists: NVML's used memory grew by 617.6 MiB for
# `torch.zeros(1, device="cuda")` on an H200 (driver 580.159.04, CUDA 13.0, torch 2.11; the cuda_context_bytes of
# profiles/measurements/transformers-cuda.jsonl). Forum reports of older stacks: 723 MiB
# (https://discuss.pytorch.org/t/what-is-the-reason-for-pytorchs-gpu-memory-floor/73021), "~700+MB" depending on
# CUDA version and device (https://discuss.pytorch.org/t/high-gpu-memory-overhead/81330).
CUDA_CONTEXT_BYTES = 618 * MiB

# Kernels CUDA loads on first use (lazy module loading: cuBLAS, cuBLASLt, attention and elementwise kernels): NVML's
# used memory minus the caching allocator's pool, once a model has run, less the context above. Median of 121
# transformers runs on the H200: 1,333.9 MiB outside the pool (1,309.9–1,359.9), so 716 MiB beyond the context.
CUDA_MODULES_BYTES = 716 * MiB

# cuBLAS workspace PyTorch allocates on the first matmul: 8,519,680 B, seen in torch.cuda.memory_snapshot()
# (https://discuss.pytorch.org/t/torch-cuda-memory-snapshot-shows-an-unexpected-8519680b-memory-allocation-during-matrix-multiplication/178671).
CUBLAS_WORKSPACE_BYTES = 8_519_680

# cuBLASLt workspace: 32 MiB on Hopper and newer, 4 MiB on large Ampere (pytorch/pytorch PR #120925,
# following the cuBLAS guide's cublasSetWorkspace recommendation). We assume the larger.
CUBLASLT_WORKSPACE_BYTES = 32 * MiB

# Caching-allocator slack (reserved − allocated at the peak). Derived from its rounding rules, not
# measured: large blocks round up to 2 MiB (kRoundLarge), 1–10 MiB requests share 20 MiB segments
# (kLargeBuffer), small ones 2 MiB segments (kSmallBuffer). With ~10 large activation tensors alive
# at the peak: 10 × 2 MiB + 20 MiB + 2 MiB. Source: c10/cuda/CUDACachingAllocator.cpp and
# https://docs.pytorch.org/docs/stable/notes/cuda.html#memory-management
ALLOCATOR_SLACK_BYTES = 10 * 2 * MiB + 20 * MiB + 2 * MiB

# What the caching allocator cannot give back: the smallest pool a run fits in (torch.cuda.
# set_per_process_memory_fraction, bisected) exceeds its weights, KV cache, activation peak, workspaces and rounding
# slack by this share of the activation peak. Measured on an H200 (torch 2.11, default allocator settings) for ten
# transformers runs with 0.5–25 GiB activation peaks (profiles/measurements/transformers-cuda-pools.jsonl): median
# 0.46, range 0.21 (DeepSeek-V2-Lite, 16K × 2) to 1.45 (Phi-3-mini, 4K × 2). Prefill's large transients of
# different sizes leave freed blocks too small for the next one; PyTorch's expandable segments would shrink this.
ALLOCATOR_FRAGMENTATION = 0.46

Runtime = Literal["cuda", "none"]


def overhead_breakdown(runtime: Runtime = "cuda", activation_bytes: int = 0) -> dict[str, int]:
    """Overhead components in bytes; runtime="none" counts only what the model itself needs. activation_bytes: the
    activation peak PyTorch's caching allocator serves, for its fragmentation (0 where another allocator, such as
    llama.cpp's or vLLM's pre-sized pools, holds the activations)."""
    if runtime == "none":
        return {"cuda_context": 0, "cuda_modules": 0, "library_workspaces": 0, "allocator_slack": 0}
    return {
        "cuda_context": CUDA_CONTEXT_BYTES,
        "cuda_modules": CUDA_MODULES_BYTES,
        "library_workspaces": CUBLAS_WORKSPACE_BYTES + CUBLASLT_WORKSPACE_BYTES,
        "allocator_slack": ALLOCATOR_SLACK_BYTES + fragmentation_bytes(activation_bytes),
    }


def fragmentation_bytes(activation_bytes):
    """ALLOCATOR_FRAGMENTATION of an activation peak in whole bytes: of an int, or elementwise of a numpy array."""
    scaled = ALLOCATOR_FRAGMENTATION * activation_bytes
    return round(scaled) if isinstance(scaled, float) else np.rint(scaled).astype(np.int64)


def overhead_bytes(runtime: Runtime = "cuda", activation_bytes: int = 0) -> int:
    return sum(overhead_breakdown(runtime, activation_bytes).values())


# GPUs of other vendors run other runtimes, whose own memory planner has not measured: their CUDA figures stand in.
UNMEASURED_RUNTIMES = {"amd": "ROCm's HIP runtime", "apple": "Apple's Metal"}


def unmeasured_runtime(vendor: str) -> str | None:
    """"ROCm's HIP runtime" or "Apple's Metal" for a GPU of that vendor, whose runtime overhead is CUDA's figures
    measured on an H200 standing in; None for NVIDIA's, whose runtime was measured."""
    return UNMEASURED_RUNTIMES.get(vendor)
