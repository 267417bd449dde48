"""llama.cpp's recurrent state (llama_memory_recurrent): what a hybrid model's linear-attention and Mamba layers keep
per sequence beside the attention layers' KV cache.

llama.cpp builds a hybrid model's memory as two caches (src/llama-memory-hybrid.cpp, from b5702, PR #13979): a KV
cache of the attention layers and a recurrent one of the others (src/llama-model.cpp create_memory: the layer filters
`!hparams.is_recr(il)` and `hparams.is_recr(il)`; Falcon-H1 runs both in every layer). The recurrent cache holds
max(1, n_seq_max) cells, one per sequence, whatever n_ctx: per layer a row of n_embd_r() (the convolution's last
d_conv − 1 inputs) and one of n_embd_s() (the SSM or delta-rule state), both GGML_TYPE_F32
(llama_memory_recurrent's constructor: ggml_new_tensor_2d(ctx, type_r, n_embd_r(), mem_size * (1 + n_rs_seq)); its
log line "llama_memory_recurrent: CUDA0 RS buffer size"). n_rs_seq, extra snapshots for speculative decoding's
rollback, is 0 unless a draft model asks for it. Each layer's rows sit on that layer's device, as its KV does.

src/llama-hparams.cpp n_embd_r / n_embd_s, with the converter's mapping of each config (convert_hf_to_gguf.py,
conversion/qwen.py Qwen3NextModel: ssm_d_inner = linear_value_head_dim × linear_num_value_heads, ssm_d_state =
linear_key_head_dim, ssm_n_group = linear_num_key_heads):
  n_embd_r = (d_conv − 1) × (d_inner + 2 × n_group × d_state)   (Mamba-1: n_group 0)
  n_embd_s = d_state × d_inner
A b9849 log of Qwen3.5-35B-A3B with -np 1 (tests/fixtures/logs/llama.cpp-qwen3.5-35b-a3b-udq4kxl-b9849-vulkan-rtx3090):
"size = 62.81 MiB (1 cells, 40 layers, 1 seqs 0 rs_seq), R (f32): 2.81 MiB, S (f32): 60.00 MiB" — its 30 Gated
DeltaNet layers at 24,576 + 524,288 floats a cell, to the digit.
"""

from __future__ import annotations

from ...spec import ModelSpec

RS_BYTES = 4  # GGML_TYPE_F32, the recurrent cache's r and s types in every build (create_memory)


def rs_row_bytes(spec: ModelSpec, kind: str) -> int:
    """One sequence's recurrent state in one layer of `kind`, as llama.cpp allocates it (r and s, f32); 0 for an
    attention-only layer."""
    if kind == "linear" and (la := spec.linear_attention) is not None:  # Gated DeltaNet (Qwen3-Next, Qwen3.5)
        r = (la.conv_kernel - 1) * la.conv_dim
        s = la.key_head_dim * la.num_value_heads * la.value_head_dim
    elif kind in ("mamba", "parallel") and (m := spec.mamba) is not None:  # Mamba-2 (Granite 4.0 H, Falcon-H1)
        r = (m.conv_kernel - 1) * m.conv_dim
        s = m.d_state * m.d_inner
    elif kind == "mamba1" and (m1 := spec.mamba1) is not None:  # Mamba-1 (Jamba)
        r = (m1.conv_kernel - 1) * m1.d_inner
        s = m1.d_state * m1.d_inner
    else:
        return 0
    return (r + s) * RS_BYTES


def rs_cells(n_seq_max: int) -> int:
    """The recurrent cache's cells: max(1, n_seq_max), one per sequence (llama-server's n_parallel)."""
    return max(1, n_seq_max)
