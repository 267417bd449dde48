"""MoE decode timed on a CUDA GPU (planner.measure.kernels_cuda's decode_moe kind): every MoE layer's routed experts
at batch B, one grouped GEMM a projection as a fused MoE kernel runs them, random top-k routing."""

from __future__ import annotations

from .cuda_timing import _torch, timed

MOE_MODELS = ["Qwen/Qwen3-30B-A3B", "mistralai/Mixtral-8x7B-v0.1"]  # 128 experts (8 a token) and 8 (2 a token)
MOE_BATCHES = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512]


def expert_matrices(spec) -> list[tuple[str, tuple[int, ...]]]:
    """(role, (experts, out, in)) of one MoE layer's routed experts: gate (where gated), up, down."""
    from ..tensors import weight_tensors

    layer = next(i for i in range(spec.n_layers) if spec.is_moe_layer(i))
    return [(t.role, t.shape) for t in weight_tensors(spec) if t.layer == layer and t.is_expert and len(t.shape) == 3]


def decode_moe(spec, model: str, device: str, batches: list[int], layers: int | None = None) -> list[dict]:
    """Every MoE layer's routed experts at batch B under one CUDA graph, as a fused MoE kernel runs them: each token's
    top-k experts drawn at random (a trained router spreads tokens about evenly), the rows sorted by expert, one
    grouped GEMM (torch._grouped_mm) per projection; an expert no token chose is not read. Records the experts the
    routing touched beside planner's expectation (planner.perf.experts_touched_fraction)."""
    torch = _torch()
    F = torch.nn.functional
    moe = spec.moe
    n = layers if layers is not None else spec.n_moe_layers
    mats = dict(expert_matrices(spec))
    gen = torch.Generator(device=device).manual_seed(0)
    w = [{role: torch.randn(shape, dtype=torch.bfloat16, device=device, generator=gen) * 0.02
          for role, shape in mats.items()} for _ in range(n)]
    expert_bytes = sum(2 * s[1] * s[2] for s in mats.values())  # one expert, all its projections
    d = mats["ffn_down_exps"][1]
    out = []
    for b in batches:
        offs, touched = [], 0
        for i in range(n):
            choice = torch.rand(b, moe.n_experts, generator=torch.Generator().manual_seed(1000 * b + i)).topk(
                moe.experts_per_token, dim=-1).indices
            counts = torch.bincount(choice.reshape(-1), minlength=moe.n_experts)
            touched += int((counts > 0).sum())
            offs.append(counts.cumsum(0).to(torch.int32).to(device))
        x = torch.randn(b * moe.experts_per_token, d, dtype=torch.bfloat16, device=device) * 0.1

        def step(x=x, offs=offs):
            for layer, o in zip(w, offs, strict=True):
                up = torch._grouped_mm(x, layer["ffn_up_exps"].transpose(-2, -1), offs=o, out_dtype=torch.bfloat16)
                if "ffn_gate_exps" in layer:
                    gate = torch._grouped_mm(x, layer["ffn_gate_exps"].transpose(-2, -1), offs=o,
                                             out_dtype=torch.bfloat16)
                    up = F.silu(gate) * up
                torch._grouped_mm(up, layer["ffn_down_exps"].transpose(-2, -1), offs=o, out_dtype=torch.bfloat16)
        rec = {"kind": "decode_moe", "model": model, "format": "bf16", "batch": b, "layers": n,
               "experts": moe.n_experts, "experts_per_token": moe.experts_per_token,
               "experts_touched": touched, "bytes_all": n * moe.n_experts * expert_bytes,
               "bytes": touched * expert_bytes, "flops": 2 * b * moe.experts_per_token * n * expert_bytes // 2}
        try:
            rec["seconds"] = timed(step, device)
        except Exception as exc:
            rec["error"] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:160]}"
        out.append(rec)
    return out
