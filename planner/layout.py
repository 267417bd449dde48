"""The tensor-parallel layout rules vLLM (and SGLang) apply, for any GPU: planner.parallel.check_layout and the
engines use them."""

from __future__ import annotations

from .errors import LayoutError
from .spec import ModelSpec


def check_tensor_parallel(spec: ModelSpec, n: int) -> None:
    """check_layout's tensor-parallel rules (vLLM's), for any GPU."""
    if spec.n_heads % n:
        raise LayoutError(f"tensor parallel {n}: {spec.name}'s {spec.n_heads} attention heads do not divide by {n}")
    if spec.mla is None and (spec.n_kv_heads % n if spec.n_kv_heads >= n else n % spec.n_kv_heads):
        raise LayoutError(f"tensor parallel {n}: {spec.name}'s {spec.n_kv_heads} KV heads neither divide by {n} "
                          f"nor divide it")
    widths = {"intermediate_size": spec.d_ff}
    if spec.moe is not None:
        widths |= {"expert intermediate_size": spec.moe.expert_d_ff, "shared expert size": spec.moe.shared_d_ff}
    for what, width in widths.items():
        if width % n:
            raise LayoutError(f"tensor parallel {n}: {spec.name}'s {what} {width} does not divide by {n}")


def check_group_shards(spec: ModelSpec, quant: str, tp: int, *, engine: str = "vLLM and SGLang") -> None:
    """Refuse a tensor-parallel split of group-quantized integer weights (AWQ, GPTQ, int4 of torchao or
    compressed-tensors) that leaves a row-parallel shard (o_proj, the MLP's or a shared expert's down projection: split
    along their inputs) a whole number of groups short: each GPU's input columns must hold whole groups. vLLM (0.33
    quantization/auto_awq.py and gptq.py create_weights, "The input size is not aligned with the quantized weight
    shape. This can be caused by too large tensor parallel size."; Marlin's kernels likewise) and SGLang (0.5.23
    awq_linear.py, gptq_linear.py) stop at load: Qwen2.5-72B's 29,568-wide MLP over 4 GPUs is 7,392 columns, 57.75
    groups of 128. Routed experts run in the fused-MoE kernels, which are not held to it here: a published vLLM run
    split Qwen3-Coder-30B-A3B's GPTQ experts (768 wide) over 4 GPUs, 192 columns each (benchmarks/data,
    btbtyler09/mi100-llm-testing)."""
    from .quant.catalog import get_quant

    fmt = get_quant(quant)
    layout, name = fmt.layout, fmt.name
    if tp == 1 or layout is None or layout.group != "row" or not layout.group_size or layout.bits >= 16 \
            or not name.startswith(("awq", "gptq", "int4")):
        return
    g = layout.group_size
    widths = [("attention output (o_proj)", spec.n_heads * spec.head_dim), ("MLP", spec.d_ff)]
    if spec.moe is not None:
        widths.append(("shared expert", spec.moe.shared_d_ff))
    for what, width in widths:
        if width and (width // tp) % g:
            raise LayoutError(
                f"tensor parallel {tp}: {spec.name}'s {what} input ({width:,} wide) split {tp} ways is "
                f"{width // tp:,} columns, not whole groups of {g} for {name} weights; {engine} "
                f"{'stop' if ' and ' in engine else 'stops'} at load. Use "
                f"a tensor-parallel size that leaves whole groups, or a checkpoint that pads its sizes to them "
                f"(import its config.json: Qwen's own Qwen2.5-72B-Instruct-AWQ pads 29,568 to 29,696)")
