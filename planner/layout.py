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


# Block-quantized fp8 (fp8-block: 128 × 128 tiles, config.json's weight_block_size of DeepSeek-V3's and Qwen3's fp8
# checkpoints) splits a matrix between tensor-parallel GPUs only on whole tiles. A row-parallel shard (o_proj, a dense
# MLP's or a shared expert's down projection) must take whole tiles of its input: vLLM's validate_fp8_block_shape
# ("Weight input_size_per_partition = 1216 is not divisible by weight quantization block_k = 128",
# quantization/utils/fp8_utils.py, read in the 0.33.0 wheel) and SGLang 0.5.23's (srt/layers/quantization/fp8.py)
# refuse it. A routed expert's shard likewise ("The output_size of gate's and up's weight = 192 is not divisible by
# weight quantization block_n = 128"): SGLang in every release, vLLM until 0.31.0 refined the scale blocks to the shard
# (resolve_fp8_moe_weight_block_shape; 0.28.0 quantization/fp8.py raises it). Public reports: vllm-project/vllm#17569,
# #25292; QwenLM/Qwen3#1485.
FP8_BLOCK = 128

# Group-quantized integer weights (AWQ, GPTQ, int4 of torchao or compressed-tensors) hold groups along a matrix's
# inputs: a row-parallel shard must hold whole groups. vLLM (0.33 quantization/auto_awq.py and gptq.py
# create_weights, "The input size is not aligned with the quantized weight shape. This can be caused by too large
# tensor parallel size."; Marlin's kernels likewise) and SGLang (0.5.23 awq_linear.py, gptq_linear.py) stop at load:
# Qwen2.5-72B's 29,568-wide MLP over 4 GPUs is 7,392 columns, 57.75 groups of 128. Routed experts run in the fused-MoE
# kernels, which are not held to it here: a published vLLM run split Qwen3-Coder-30B-A3B's GPTQ experts (768 wide)
# over 4 GPUs, 192 columns each (benchmarks/data, btbtyler09/mi100-llm-testing).
GROUP_FORMATS = ("awq", "gptq", "int4")
PAD_HINT = ("a checkpoint that pads its sizes to them (import its config.json: Qwen's own Qwen2.5-72B-Instruct-AWQ "
            "pads 29,568 to 29,696)")


def shard_unit(quant: str) -> tuple[int, str] | None:
    """The columns a tensor-parallel shard of `quant` weights must hold a whole number of, and what they are:
    fp8-block's 128-wide scale tiles, a group format's groups; None for a format without either."""
    from .quant.catalog import get_quant

    fmt = get_quant(quant)
    if fmt.name.split("[", 1)[0] == "fp8-block":
        return FP8_BLOCK, f"{FP8_BLOCK}-wide scale tiles"
    layout = fmt.layout
    if layout is not None and layout.group == "row" and layout.group_size and layout.bits < 16 \
            and fmt.name.startswith(GROUP_FORMATS):
        return layout.group_size, f"groups of {layout.group_size}"
    return None


def check_quant_shards(spec: ModelSpec, quant: str, tp: int, *, engine: str = "vLLM and SGLang",
                       expert_tp: int | None = None, routed_fix: str | None = None) -> None:
    """Refuse a tensor-parallel split that cuts `quant`'s tiles or groups (shard_unit) in a row-parallel shard: o_proj's
    input, the MLP's and a shared expert's down projection split tp ways; for fp8-block also a routed expert split
    `expert_tp` ways (tp by default; vLLM's tp × dp, whose data-parallel ranks join the experts' split; 1 under expert
    parallelism; 0 where the engine takes any, as vLLM does from 0.31.0). `routed_fix` names what else runs a routed
    split that is refused."""
    from .quant.catalog import get_quant

    if (unit := shard_unit(quant)) is None:
        return
    size, what_unit = unit
    tiles = what_unit.endswith("tiles")
    expert_tp = tp if expert_tp is None else expert_tp
    o_width = spec.n_heads * (spec.mla.v_head_dim if spec.mla is not None else spec.head_dim)
    widths = [("attention output (o_proj)", o_width, tp), ("MLP", spec.d_ff, tp)]
    if spec.moe is not None:
        widths.append(("shared expert", spec.moe.shared_d_ff, tp))
        if tiles and expert_tp:
            widths.append(("routed experts", spec.moe.expert_d_ff, expert_tp))
    cuts = [f"{what} ({width:,} wide) split {ways} ways is {width // ways:,} wide"
            for what, width, ways in widths if width and ways > 1 and (width // ways) % size]
    if not cuts:
        return
    fix = f"a tensor-parallel size that leaves whole {'tiles' if tiles else 'groups'}"
    fix += f", {routed_fix}" if routed_fix and any(c.startswith("routed") for c in cuts) else ""
    fix += "" if tiles else f", or {PAD_HINT}"
    raise LayoutError(f"tensor parallel {tp}: {spec.name}'s {'; '.join(cuts)}: not whole {what_unit} of "
                      f"{get_quant(quant).name} weights; {engine} {'stop' if ' and ' in engine else 'stops'} at load. "
                      f"Use {fix}")
