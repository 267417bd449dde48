"""llama.cpp by build (engine_version): each rule against the llama.cpp source of the build that changed it.

Build numbers are commit counts (`git rev-list --count`, LLAMA_BUILD_NUMBER), so a PR's build is its merge commit's
count in ggml-org/llama.cpp's history: #5021 flash attention b2771, #7257 b2871, #13194 b5429, #13833 b5554,
#14363 b5913, #15434 b6325, #16812 b6868, #17046 b6975, #16653 b7407.
"""

import pytest

from planner import WorkloadError, estimate, load_model
from planner.engines import llamacpp_memory
from planner.engines.llamacpp.releases import LLAMACPP_CURRENT, LLAMACPP_OUTPUT_FIRST, llamacpp_build

MISTRAL = load_model("mistralai/Mistral-7B-v0.1")
GEMMA2 = load_model("google/gemma-2-9b")  # sliding_window 4096 on every other layer


def cells(build: str, n_ctx: int, *, flash_attn=None, batch=1, **kw) -> dict:
    return llamacpp_memory(MISTRAL, quant="q4_k_m", kv_dtype="fp16", context=n_ctx // batch, batch=batch,
                           n_ctx=n_ctx, engine_version=build, flash_attn=flash_attn, **kw).details


@pytest.mark.parametrize("build, flash_attn, expected", [
    ("b2700", False, 1100),   # no padding before flash attention
    ("b2771", False, 1280),   # #5021: GGML_PAD(cparams.n_ctx, 256)
    ("b2871", False, 1120),   # #7257: 32 without flash attention ...
    ("b2871", True, 1280),    # ... 256 with it
    ("b6868", True, 1100),    # #16812 "memory : remove KV cache size padding"
    ("b6975", False, 1280),   # #17046: 256 whatever the attention
    (None, False, 1280),
])
def test_n_ctx_padding_by_build(build, flash_attn, expected):
    assert cells(build, 1100, flash_attn=flash_attn)["kv_cells"] == expected


def test_per_sequence_streams_by_build():
    # b5913–b6974 (create_memory): each of 3 streams gets ceil(3000 / 3) = 1000 cells, padded to 1024
    assert cells("b6000", 3000, batch=3, flash_attn=True)["kv_cells"] == 3 * 1024
    # b6975 (llama-context.cpp): n_ctx padded to 3072 first, then each share 1024, padded to 1024
    assert cells("b6975", 3000, batch=3)["kv_cells"] == 3 * 1024
    # before b5913 one cache all sequences share: 3000 padded (flash attention off by default: 32) = 3008
    assert cells("b5000", 3000, batch=3)["kv_cells"] == 3008
    with pytest.raises(WorkloadError, match="arrived in b5913"):
        cells("b5000", 3000, batch=3, kv_unified=False)


def swa(build: str, **kw) -> int:
    return llamacpp_memory(GEMMA2, quant="q4_k_m", kv_dtype="fp16", context=8192, engine_version=build,
                           **kw).details["swa_cells"]


def test_sliding_window_cells_by_build():
    assert swa("b5000") == 8192  # before #13194 every layer keeps every cell
    assert swa("b5429", flash_attn=True) == 4096 + 2048  # n_swa + n_batch, padded to 256
    assert swa("b5554", flash_attn=True) == 4096 + 512  # #13833: n_swa + n_ubatch
    assert swa("b5554", flash_attn=False) == 4096 + 512  # a multiple of 32 already
    assert swa(None, n_parallel=1) == 4608
    # llama-server's 4 default slots over one unified cache keep each one's window: min(8192, 4096 × 4 + 512)
    assert swa(None) == 8192


def test_flash_attention_default_and_availability():
    assert cells("b5000", 4096)["flash_attn"] is False and cells("b6325", 4096)["flash_attn"] is True
    with pytest.raises(WorkloadError, match="no flash attention"):
        cells("b2000", 4096, flash_attn=True)
    with pytest.raises(WorkloadError, match="flash_attn"):  # a quantized V cache needs flash attention
        cells("b5000", 4096, type_v="q8_0")


def test_layers_left_unset_follow_the_build():
    kw = dict(quant="q4_k_m", context=8192, engine="llama.cpp")
    old = estimate("meta-llama/Llama-3.1-8B", gpu="rtx-4090", engine_version="b5000", **kw)
    assert old.engine_details["n_gpu_layers"] == 0 and old.engine_details["ngl_default_zero"]  # -ngl 0 by default
    apple = estimate("meta-llama/Llama-3.1-8B", gpu="m2-ultra", engine_version="b5000", **kw)
    assert apple.engine_details["n_gpu_layers"] == 33  # Metal builds offloaded everything (n_gpu_layers 999)
    allgpu = estimate("meta-llama/Llama-3.1-70B", gpu="rtx-4090", engine_version="b7000", **kw)
    assert allgpu.engine_details["n_gpu_layers"] == 81 and not allgpu.performance.fits  # all of them, no --fit
    fitted = estimate("meta-llama/Llama-3.1-70B", gpu="rtx-4090", **kw)
    assert fitted.engine_details["fit"] and fitted.performance.fits
    with pytest.raises(WorkloadError, match="has no --fit"):
        estimate("meta-llama/Llama-3.1-70B", gpu="rtx-4090", engine_version="b7000", fit=True, **kw)


@pytest.mark.parametrize("given, build", [("b5000", 5000), ("5000", 5000), (6975, 6975), (None, LLAMACPP_CURRENT),
                                          ("b4747 (c392e509)", 4747)])
def test_build_names(given, build):
    assert llamacpp_build(given) == build


@pytest.mark.parametrize("bad", ["b1500", "abc", "0.3.1", ""])
def test_builds_planner_has_no_rules_for_are_refused(bad):
    with pytest.raises(WorkloadError, match="engine_version"):
        llamacpp_build(bad)


def test_the_answer_names_its_build():
    assert cells(None, 4096)["engine_version"] == f"b{LLAMACPP_CURRENT}"
    assert cells("b5000", 4096)["engine_version"] == "b5000"


LOG = "tests/fixtures/logs/llama.cpp-bllossom-llama3-8b-q4km-rtx3070.log"  # a real log that prints no build


@pytest.mark.parametrize("line, build", [
    ("build: 5000 (a1b2c3d) with cc (GCC) 13.2.0 for x86_64-linux-gnu", "b5000"),  # common's first line
    ("main: build = 1650 (049aa16)", "b1650"),  # older mains
    ("build: 4426e298 (2824)", "b2824"),  # llama-bench's
    # built outside a git tree: no number; its lines are dated instead ('llm_load_tensors:', which PR #11110 renamed
    # in b4463)
    ("build: 0 (a1b2c3d) with cc (GCC) 13.2.0 for x86_64-linux-gnu", "b4462"),
])
def test_check_log_applies_the_rules_of_the_build_the_log_prints(line, build, monkeypatch):
    import importlib

    from planner.measure.logs import check_log

    module = importlib.import_module("planner.estimate")  # the module, not the function planner exports
    seen = {}
    real = module.estimate

    def spy(*args, **kw):
        seen.setdefault("engine_version", kw.get("engine_version"))
        return real(*args, **kw)

    monkeypatch.setattr(module, "estimate", spy)
    text = open(LOG).read()
    result = check_log(line + "\n" + text, model="meta-llama/Meta-Llama-3-8B")
    assert seen["engine_version"] == build
    assert all(row.within(0.5) for row in result.rows if row.planner is not None and "size" not in row.figure)
    seen.clear()
    check_log(text, model="meta-llama/Meta-Llama-3-8B")
    # no build line: the newest build whose lines these are ('llm_load_tensors:' until b4463; the offload lines'
    # order, the repeating layers then the output, until PR #18148)
    assert seen["engine_version"] == "b4462"


@pytest.mark.parametrize("lines, before", [
    (["load_tensors: offloading 20 repeating layers to GPU", "load_tensors: offloaded 20/33 layers to GPU"], True),
    (["llm_load_tensors: offloading 32 repeating layers to GPU", "llm_load_tensors: offloading non-repeating layers "
      "to GPU", "llm_load_tensors: offloaded 33/33 layers to GPU"], True),
    (["load_tensors: offloading 36 repeating layers to GPU", "load_tensors: offloading output layer to GPU",
      "load_tensors: offloaded 37/37 layers to GPU"], True),
    (["load_tensors: offloading output layer to GPU", "load_tensors: offloading 34 repeating layers to GPU",
      "load_tensors: offloaded 35/37 layers to GPU"], False),  # b8179 (PR #18148's order)
    (["load_tensors: offloading 0 repeating layers to GPU", "load_tensors: offloaded 0/29 layers to GPU"], False),
])
def test_the_order_of_the_offload_lines_dates_a_log_around_pr_18148(lines, before):
    from planner.measure.logs.llamacpp import _output_last, newest_build_of_lines

    assert _output_last("\n".join(lines)) is before
    assert newest_build_of_lines("\n".join(lines)) == (
        4462 if lines[0].startswith("llm_load_tensors") else LLAMACPP_OUTPUT_FIRST - 1 if before else None)


def test_check_log_refuses_a_build_older_than_planners_rules(tmp_path, capsys):
    from planner.cli import main

    log = tmp_path / "old.log"
    log.write_text("main: build = 1000 (abcdef0)\n" + open(LOG).read())
    assert main(["check-log", str(log), "--model", "meta-llama/Meta-Llama-3-8B"]) == 2
    err = capsys.readouterr().err
    assert "line 1" in err and "build 1000" in err and "b1619" in err


@pytest.mark.parametrize("ngl, before, after", [
    (0, (32, False), (32, False)),  # nothing on the GPU either way
    (1, (31, False), (32, True)),  # from b7467 the first layer offloaded is the output
    (32, (0, False), (1, True)),  # every repeating layer, or the output and all but the first
    (33, (0, True), (0, True)),  # everything
    (99, (0, True), (0, True)),
])
def test_ngl_places_the_output_last_then_first(ngl, before, after):
    """(first layer on the GPU, output on the GPU) of a 32-layer model: before PR #18148 (b7467) the last ngl layers,
    the output only with all of them; from it the output first, then the last ngl - 1 layers."""
    from planner.weights import gpu_placement

    assert gpu_placement(32, ngl) == before
    assert gpu_placement(32, ngl, output_first=True) == after


MIB = 2**20


@pytest.mark.parametrize("model, build, n_ctx, k_mib, v_mib", [
    # build 4963, before the MLA support: every head, K 128 × 192 and V 128 × 128 a layer; "K (f16): 11712.00 MiB,
    # V (f16): 7808.00 MiB" (DeepSeek-R1 Q4_0 at n_ctx 4096, github.com/ArmDeveloperEcosystem/arm-learning-paths
    # content/learning-paths/servers-and-cloud-computing/deepseek-cpu/deepseek-chatbot.md)
    ("deepseek-ai/DeepSeek-R1", "b4963", 4096, 11712, 7808),
    # build 5331 with an MLA-converted GGUF: the latent, K 576 and V 512; "K (f16): 1098.00 MiB, V (f16): 976.00 MiB"
    # (DeepSeek-V3-0324 UD-Q2_K_XL at 16384, a mainline log in github.com/ikawrakow/ik_llama.cpp/pull/394)
    ("deepseek-ai/DeepSeek-V3", "b5331", 16384, 1098, 976),
    # PR #19067 "kv-cache : support V-less cache": the latent as K alone ("almost x2 less memory for the KV cache")
    ("deepseek-ai/DeepSeek-V3", "b9410", 16384, 1098, 0),
])
def test_an_mla_cache_as_each_build_keeps_it(model, build, n_ctx, k_mib, v_mib):
    d = llamacpp_memory(load_model(model), quant="q4_k_m", kv_dtype="fp16", context=n_ctx, engine_version=build,
                        n_gpu_layers=0).details
    assert (d["kv_k_bytes"], d["kv_v_bytes"]) == (k_mib * MIB, v_mib * MIB)


def test_a_gguf_converted_before_the_mla_support_keeps_every_head():
    # PR #12801: "Legacy non-MLA GGUF files can still be loaded and used as normal, but they won't benefit from the
    # reduced KV-cache size MLA gives": DeepSeek-V2-Lite's 16 heads of K 192 and V 128 over 27 layers at 4096
    lite = load_model("deepseek-ai/DeepSeek-V2-Lite")
    d = llamacpp_memory(lite, quant="q4_0", kv_dtype="fp16", context=4096, mla_gguf=False).details
    assert (d["kv_k_bytes"], d["kv_v_bytes"]) == (648 * MIB, 432 * MIB) and d["mla_gguf"] is False
    # Ollama's library files of it predate the MLA conversion: planned so unless a file read says otherwise
    e = estimate("deepseek-v2:16b", engine="ollama", gpu="rtx-4090", num_ctx=4096)
    assert (e.engine_details["kv_k_bytes"], e.engine_details["kv_v_bytes"]) == (648 * MIB, 432 * MIB)
    with pytest.raises(WorkloadError, match="has no MLA"):
        llamacpp_memory(MISTRAL, quant="q4_0", kv_dtype="fp16", context=4096, mla_gguf=False)


def test_an_ollama_library_file_is_the_same_file_under_llama_cpp():
    # `deepseek-v2:16b` names Ollama's file, converted before the MLA support: every head under either engine
    for engine, kw in (("ollama", {"num_ctx": 4096}), ("llama.cpp", {"context": 4096})):
        d = estimate("deepseek-v2:16b", engine=engine, gpu="rtx-4090", **kw).engine_details
        assert (d["kv_k_bytes"], d["kv_v_bytes"]) == (648 * MIB, 432 * MIB), engine
