"""Runtime overhead of a CUDA PyTorch process, as its own line: named constants, no multipliers.

Each constant says where its figure comes from. They are provisional until issue #3's cuda-mode
profiler measures them on an H100/H200; measured records then replace the published figures.
"""

from __future__ import annotations

from typing import Literal

MiB = 2**20

# Device memory the CUDA context takes before any tensor exists: nvidia-smi went from 0 to 723 MiB
# for `torch.randn(1).cuda()` (https://discuss.pytorch.org/t/what-is-the-reason-for-pytorchs-gpu-memory-floor/73021);
# ptrblck in the same forum puts it at "~700+MB" depending on CUDA version and device
# (https://discuss.pytorch.org/t/high-gpu-memory-overhead/81330).
CUDA_CONTEXT_BYTES = 723 * MiB

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

Runtime = Literal["cuda", "none"]


def overhead_breakdown(runtime: Runtime = "cuda") -> dict[str, int]:
    """Overhead components in bytes; runtime="none" counts only what the model itself needs."""
    if runtime == "none":
        return {"cuda_context": 0, "library_workspaces": 0, "allocator_slack": 0}
    return {
        "cuda_context": CUDA_CONTEXT_BYTES,
        "library_workspaces": CUBLAS_WORKSPACE_BYTES + CUBLASLT_WORKSPACE_BYTES,
        "allocator_slack": ALLOCATOR_SLACK_BYTES,
    }


def overhead_bytes(runtime: Runtime = "cuda") -> int:
    return sum(overhead_breakdown(runtime).values())
