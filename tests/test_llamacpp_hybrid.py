"""llama.cpp with hybrid models (Gated DeltaNet or Mamba layers beside attention): the attention layers' KV cache,
the recurrent state's own buffer (one cell per sequence), the build each architecture arrived in; and the output
rows llama-server reserves its graph for from b9460."""

from __future__ import annotations

import subprocess
import sys

import pytest

from planner import WorkloadError, estimate, load_model
from planner.engines.llamacpp import llamacpp_memory
from planner.engines.llamacpp.recurrent import rs_row_bytes

MIB = 2**20


def test_the_recurrent_state_is_a_cell_per_slot_of_f32_rows():
    """The b9849 log of Qwen3.5-35B-A3B with -np 1 (tests/fixtures/logs) prints 'llama_memory_recurrent: size =
    62.81 MiB (1 cells, 40 layers, 1 seqs 0 rs_seq), R (f32): 2.81 MiB, S (f32): 60.00 MiB': its 30 Gated DeltaNet
    layers, conv rows of 3 × 8,192 channels and 32 heads of 128 × 128 state, f32 (llama-hparams.cpp n_embd_r /
    n_embd_s). llama-server with -np unset runs 4 slots (server.cpp: "n_parallel is set to auto, using n_parallel = 4
    and kv_unified = true"), a cell each, though one request is served; the library's context has the batch's."""
    spec = load_model("Qwen/Qwen3.5-35B-A3B")
    assert rs_row_bytes(spec, "linear") == (3 * 8192 + 128 * 32 * 128) * 4
    assert rs_row_bytes(spec, "full") == 0
    kw = dict(quant="q4_k_m", kv_dtype="fp16", context=8192, flash_attn=True)
    one = llamacpp_memory(spec, n_parallel=1, **kw)
    assert one.details["rs_cells"] == 1 and one.details["rs_bytes"] == 62.8125 * MIB
    auto = llamacpp_memory(spec, **kw).details
    assert auto["rs_cells"] == auto["n_seq_max"] == 4 and auto["rs_bytes"] == 4 * 62.8125 * MIB
    assert auto["kv_cells"] == one.details["kv_cells"] == 8192  # one unified cache of the workload's cells
    assert llamacpp_memory(spec, program="library", **kw).details["rs_cells"] == 1
    assert llamacpp_memory(spec, engine_version="b6900", **kw).details["rs_cells"] == 1  # before auto slots
    # constant in context: only the attention layers' KV grows
    longer = llamacpp_memory(spec, n_parallel=1, **{**kw, "context": 32768})
    assert longer.details["rs_bytes"] == one.details["rs_bytes"]
    assert longer.kv_cache_bytes - one.kv_cache_bytes == (32768 - 8192) * 10 * 2 * 2 * 256 * 2


def test_only_the_attention_layers_keep_kv():
    """'llama_kv_cache: size = 5120.00 MiB (262144 cells, 10 layers, 4/1 seqs)' for Qwen3.5-35B-A3B: 10 of its 40
    layers are attention (full_attention_interval 4), 2 KV heads of 256, f16."""
    spec = load_model("Qwen/Qwen3.5-35B-A3B")
    m = llamacpp_memory(spec, quant="q4_k_m", kv_dtype="fp16", context=65536, batch=4, kv_unified=True,
                        n_ctx=262144, flash_attn=True)
    assert m.details["kv_k_bytes"] + m.details["kv_v_bytes"] == 5120 * MIB
    assert m.kv_cache_bytes == 5120 * MIB + m.details["rs_bytes"]


def test_mamba_layers_of_jamba_keep_d_inner_rows():
    """Jamba's Mamba-1 layers: n_embd_r = (d_conv − 1) × d_inner, n_embd_s = d_state × d_inner (no groups)."""
    spec = load_model("ai21labs/AI21-Jamba-1.5-Mini")
    m1 = spec.mamba1
    assert rs_row_bytes(spec, "mamba1") == ((m1.conv_kernel - 1) + m1.d_state) * m1.d_inner * 4
    kinds = spec.layer_kinds()
    d = llamacpp_memory(spec, quant="q4_k_m", kv_dtype="fp16", context=4096, batch=2, n_parallel=2).details
    assert d["rs_bytes"] == 2 * kinds.count("mamba1") * rs_row_bytes(spec, "mamba1")


def test_layers_left_in_system_ram_keep_their_state_there():
    spec = load_model("Qwen/Qwen3.5-27B")
    whole = llamacpp_memory(spec, quant="q4_k_m", kv_dtype="fp16", context=8192, n_parallel=1).details
    half = llamacpp_memory(spec, quant="q4_k_m", kv_dtype="fp16", context=8192, n_gpu_layers=33, n_parallel=1).details
    assert whole["host_rs_bytes"] == 0 and whole["rs_bytes"] == 149.625 * MIB
    assert 0 < half["host_rs_bytes"] < half["rs_bytes"] + half["host_rs_bytes"] == whole["rs_bytes"]


def test_each_hybrid_arrives_with_its_build():
    with pytest.raises(WorkloadError, match=r"qwen3_next\) arrived in b7186 \(ggml-org/llama.cpp#16095\)"):
        estimate("Qwen/Qwen3-Next-80B-A3B-Instruct", engine="llama.cpp", quant="q4_k_m", engine_version="b7000")
    with pytest.raises(WorkloadError, match=r"arrived in b5856"):
        estimate("ai21labs/AI21-Jamba-1.5-Mini", engine="llama.cpp", quant="q4_k_m", engine_version="b5800")
    assert estimate("Qwen/Qwen3-Next-80B-A3B-Instruct", engine="llama.cpp", quant="q4_k_m",
                    engine_version="b7186").kv_cache_bytes > 0


def test_a_hybrid_planner_cannot_size_there_is_refused_by_name():
    spec = load_model("Qwen/Qwen3.5-27B").model_copy(update={"model_type": "some_new_hybrid"})
    with pytest.raises(WorkloadError, match="some_new_hybrid.*does not model for llama.cpp"):
        estimate(spec, engine="llama.cpp", quant="q4_k_m")
    with pytest.raises(WorkloadError, match=r"vLLM, llama.cpp, Ollama \(and SGLang"):
        estimate("Qwen/Qwen3.5-27B", engine="transformers")


def test_ollama_sizes_hybrids_from_its_llama_server_runner():
    e = estimate("qwen3.5:27b", engine="ollama", gpu="rtx-4090", context=8192)
    assert e.fits and e.kv_cache_bytes == 8192 * 16 * 2 * 4 * 256 * 2 + 149.625 * MIB
    with pytest.raises(WorkloadError, match="0.30.0' or later"):  # 0.17-0.29 ran it on its own Go engine
        estimate("qwen3.5:27b", engine="ollama", gpu="rtx-4090", engine_version="0.20.0")


def test_llama_server_reserves_one_output_row_per_slot_from_b9460():
    """PR #23861 (b9460): llama-server's n_outputs_max is n_parallel, so its graph's logits are n_parallel rows; the
    library (llama-cpp-python, llama-bench) keeps n_batch, every token of the ubatch. The b9849 log of Qwen3.5-35B-A3B
    (tests/fixtures/logs) prints n_outputs_max = 1 and 308.06 MiB, where 2,048 rows of its logits would be 1,940."""
    spec = load_model("Qwen/Qwen3-8B")
    kw = dict(quant="q4_k_m", kv_dtype="fp16", context=8192, flash_attn=True, n_gpu_layers=99)
    library = llamacpp_memory(spec, program="library", **kw).activation_bytes
    server = llamacpp_memory(spec, **kw).activation_bytes
    before = llamacpp_memory(spec, engine_version="b9459", **kw).activation_bytes
    assert before == library >= 151936 * 512 * 4  # the logits of the ubatch
    assert 3 * 12288 * 512 * 4 < server < library / 2  # the FFN of the ubatch (gate, up, SwiGLU) sets it now
    with pytest.raises(WorkloadError, match="program must be one of llama-server, library, got 'cli'"):
        llamacpp_memory(spec, program="cli", **kw)


def test_the_cli_says_which_program_and_the_recurrent_state():
    out = subprocess.run([sys.executable, "-m", "planner", "estimate", "Qwen/Qwen3.5-27B", "--engine", "llama.cpp",
                          "--quant", "q4_k_m", "--context", "8K", "--gpu", "rtx-4090", "--batch", "2"],
                         capture_output=True, text=True, check=True).stdout
    assert "llama.cpp (b9489, llama-server)" in out
    assert "recurrent state 598.50 MiB (f32, 4 cell(s): one per slot, whatever n_ctx)" in out
    out = subprocess.run([sys.executable, "-m", "planner", "estimate", "Qwen/Qwen3-8B", "--engine", "llama.cpp",
                          "--program", "library"], capture_output=True, text=True, check=True).stdout
    assert "llama.cpp (b9489, library)" in out


def test_gated_deltanet_graphs_are_replayed_not_floored():
    """Qwen3.5's graph replayed on Vulkan (no CUDA fusion) lands within 5.2 % and 8.5 % of the b9849 logs'
    308.06 and 568.18 MiB (tests/fixtures/logs); Qwen3-Next's variant (beta and alpha from one projection, Q and K
    repeated to the value heads) has no public log yet, and its replay stands above the FFN floor that would
    otherwise be all planner has."""
    from planner.engines.llamacpp.buffers import ffn_floor
    from planner.engines.llamacpp.graph import ARCH_GRAPH, buffer_bytes

    kw = dict(n_ubatch=2048, n_kv=8192, n_kv_swa=0, flash_attn=True, host_embd=False, cuda_fusion=False,
              n_outputs=1, n_seqs=1)
    assert abs(buffer_bytes(load_model("Qwen/Qwen3.5-35B-A3B"), **kw) / (308.06 * MIB) - 1) < 0.06
    assert abs(buffer_bytes(load_model("Qwen/Qwen3.5-27B"), **kw) / (568.18 * MIB) - 1) < 0.09
    nxt = load_model("Qwen/Qwen3-Next-80B-A3B-Instruct")
    assert nxt.model_type in ARCH_GRAPH
    replayed = buffer_bytes(nxt, **kw)
    assert replayed > ffn_floor(nxt, 2048)
    e = llamacpp_memory(nxt, quant="q4_k_m", kv_dtype="fp16", context=8192, n_ubatch=2048, n_batch=2048,
                        flash_attn=True, backend="vulkan")
    assert e.activation_bytes == replayed


def test_builds_before_the_fused_gated_deltanet_op_take_the_floor_and_logs_set_the_output_rows():
    """The replayed Gated DeltaNet graph is the fused GATED_DELTA_NET op's (CUDA from b8233, PR #19504); an earlier
    build runs the unfused chunked graph, which planner does not replay. A log's printed n_outputs_max (a
    speculative decoder adds its drafts' rows) is taken as printed."""
    from planner.engines.llamacpp.buffers import FLOOR_TO_PEAK, ffn_floor

    spec = load_model("Qwen/Qwen3.5-27B")
    kw = dict(quant="q4_k_m", kv_dtype="fp16", context=8192, n_parallel=1, flash_attn=True)
    early = llamacpp_memory(spec, engine_version="b8000", **kw).activation_bytes
    assert early == max(round(ffn_floor(spec, 512) * FLOOR_TO_PEAK["dense"]), 248320 * 512 * 4)  # all rows' logits
    assert llamacpp_memory(spec, engine_version="b8233", **kw).details["graph_outputs"] == 512
    one = llamacpp_memory(spec, **kw)
    drafts = llamacpp_memory(spec, n_outputs_max=17, **kw)
    assert one.details["graph_outputs"] == 1 and drafts.details["graph_outputs"] == 17
    assert drafts.activation_bytes > one.activation_bytes


def test_more_sequences_than_llama_servers_four_slots_need_their_own_parallel():
    """Eight concurrent sequences need -np 8 (slots of their own, split by default), not the 4 auto slots; -np unset
    with --no-kv-unified still runs one unified cache from b7433, so planner refuses that contradiction."""
    spec = load_model("meta-llama/Llama-3.1-8B")
    kw = dict(quant="q4_k_m", kv_dtype="fp16", context=8192, flash_attn=True)
    eight = llamacpp_memory(spec, batch=8, **kw).details
    assert eight["n_seq_max"] == eight["n_parallel"] == 8 and not eight["kv_unified"]
    assert eight == llamacpp_memory(spec, batch=8, n_parallel=8, **kw).details
    with pytest.raises(WorkloadError, match="runs 4 slots over one unified cache whatever --kv-unified says"):
        llamacpp_memory(spec, kv_unified=False, **kw)
