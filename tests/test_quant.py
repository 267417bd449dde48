"""Quantization catalog: layouts give exact bytes; GGUF presets land on published file sizes."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from planner import UnknownQuantError, get_quant, list_models, load_model, weights_bytes
from planner.quant.gguf import tensor_types
from planner.quant.layout import Layout, layout_bytes
from planner.weights import tensor_bytes

LLAMA_2_7B = load_model("meta-llama/Llama-2-7b-hf")


def test_gpt_oss_checkpoints_are_reproduced_to_the_byte():
    # model.safetensors.index.json metadata.total_size: openai/gpt-oss-20b 13,761,264,768 B; the 120b tensors
    # sum to 65,248,815,744 B: MXFP4 experts (blocks of 32 + one E8M0 scale byte), bf16 everything else.
    assert weights_bytes(load_model("openai/gpt-oss-20b")) == 13_761_264_768
    assert weights_bytes(load_model("openai/gpt-oss-120b")) == 65_248_815_744


@pytest.mark.parametrize("model_id", ["meta-llama/Meta-Llama-3-8B", "microsoft/Phi-3-mini-4k-instruct",
                                      "mistralai/Mixtral-8x7B-v0.1"])
def test_bf16_checkpoint_is_two_bytes_per_parameter(model_id):
    # e.g. Meta-Llama-3-8B model.safetensors.index.json total_size 16,060,522,496 = 2 × 8,030,261,248
    spec = load_model(model_id)
    assert weights_bytes(spec, "bf16") == 2 * spec.param_count


# Published GGUF file sizes. File = weights + a few MB of metadata (tokenizer), so weights land just below.
EXACT_FILES = [  # (model, preset, bytes) — machine-readable catalogs listing HF file sizes
    ("meta-llama/Meta-Llama-3-8B", "q4_k_m", 4_920_733_888),  # lmstudio-ai/model-catalog Llama-3-8B-Instruct.json
    ("meta-llama/Meta-Llama-3-8B", "q4_0", 4_661_724_384),    # nomic-ai/gpt4all gpt4all-chat/metadata/models3.json
    ("meta-llama/Llama-3.1-8B", "q4_k_m", 4_920_734_656),     # lmstudio-ai/model-catalog Llama-3.1-8B-Instruct.json
    ("mistralai/Mistral-7B-v0.1", "q4_k_s", 4_140_374_304),   # lmstudio-ai/model-catalog Mistral-7B-Instruct-v0.2.json
    ("mistralai/Mistral-7B-v0.1", "q6_k", 5_942_065_440),     # same
    ("mistralai/Mistral-7B-v0.1", "q4_0", 4_108_916_384),     # gpt4all models3.json mistral-7b-instruct-v0.1.Q4_0
    ("google/gemma-2-9b", "q4_k_m", 5_761_057_728),           # lmstudio-ai/model-catalog gemma-2-9b.json
    ("microsoft/Phi-3-mini-4k-instruct", "q5_k_m", 2_815_275_232),  # lmstudio-ai/model-catalog phi-3.json
    ("microsoft/Phi-3-mini-4k-instruct", "q4_0", 2_176_181_568),    # gpt4all models3.json
    ("meta-llama/Llama-2-13b-hf", "q4_0", 7_365_856_064),     # gpt4all models3.json orca-2-13b.Q4_0 (same shapes)
    ("meta-llama/Llama-2-7b-hf", "q4_k_m", 4_081_004_224),    # TheBloke/Llama-2-7b-Chat-GGUF README
]

# Rounded decimal GB as printed in READMEs.
ROUNDED_FILES = [
    # TheBloke/Llama-2-7b-Chat-GGUF README (made in Sep 2023; its Q2_K is the mix llama-quantize used from build
    # 1022 to 1827 — attn_v, attn_output and the whole MLP in Q3_K — so it is checked as "q2_k@b1500")
    *[("meta-llama/Llama-2-7b-hf", q, gb) for q, gb in [
        ("q2_k@b1500", 2.83), ("q3_k_s", 2.95), ("q3_k_m", 3.30), ("q3_k_l", 3.60), ("q4_0", 3.83), ("q4_k_s", 3.86),
        ("q5_0", 4.65), ("q5_k_s", 4.65), ("q5_k_m", 4.78), ("q6_k", 5.53), ("q8_0", 7.16)]],
    # bartowski/Mixtral-8x22B-v0.1-GGUF README, llama.cpp b2636
    *[("mistralai/Mixtral-8x22B-v0.1", q, gb) for q, gb in [
        ("q5_k_m", 99.96), ("q5_k_s", 96.97), ("q4_k_m", 85.58), ("q4_k_s", 80.47), ("iq4_nl", 80.47),
        ("iq4_xs", 76.35), ("q3_k_l", 72.57), ("q3_k_m", 67.78), ("iq3_m", 64.49), ("iq3_s", 61.49),
        ("q3_k_s", 61.49), ("iq3_xs", 58.22), ("q2_k", 52.10)]],
    ("google/gemma-2-9b", "q8_0", 9.82),  # bartowski/gemma-2-9b-it-GGUF README, b3278
    # bartowski/openai_gpt-oss-20b-GGUF README, b6096: "All quants keep the feed forward networks at mxfp4"
    ("openai/gpt-oss-20b", "mxfp4_moe", 12.1), ("openai/gpt-oss-20b", "q6_k", 12.04),
]


@pytest.mark.parametrize("model_id,preset,size", EXACT_FILES)
def test_gguf_preset_within_half_percent_of_exact_file_size(model_id, preset, size):
    w = weights_bytes(load_model(model_id), preset)
    assert 0 <= size - w <= 0.005 * size


@pytest.mark.parametrize("model_id,preset,gb", ROUNDED_FILES)
def test_gguf_preset_within_1_5_percent_of_published_size(model_id, preset, gb):
    assert weights_bytes(load_model(model_id), preset) / 1e9 == pytest.approx(gb, rel=0.015)


def test_llama_cpp_help_sizes_for_llama3_8b():
    # tools/quantize/quantize.cpp help text (GiB, two decimals) for Llama-3-8B.
    # Q2_K_S is listed with Q2_K's 2.96G there; its rules (ffn_down Q2_K) make it smaller, so it is left out.
    published = {"q2_k": 2.96, "q3_k_s": 3.41, "q3_k_m": 3.74, "q3_k_l": 4.03, "q4_k_s": 4.37, "q4_k_m": 4.58,
                 "q5_k_s": 5.21, "q5_k_m": 5.33, "q6_k": 6.14, "q8_0": 7.96, "q4_0": 4.34, "q4_1": 4.78,
                 "q5_0": 5.21, "q5_1": 5.65}
    spec = load_model("meta-llama/Meta-Llama-3-8B")
    for preset, gib in published.items():
        assert weights_bytes(spec, preset) / 2**30 == pytest.approx(gib, rel=0.005), preset


def test_q4_k_m_gives_q6_k_to_half_the_attn_v_and_ffn_down():
    types = tensor_types(LLAMA_2_7B, "Q4_K_M")
    more = [i for i in range(32) if types[f"blk.{i}.attn_v.weight"] == "Q6_K"]
    assert more == [0, 1, 2, 3, 6, 9, 12, 15, 18, 21, 24, 27, 28, 29, 30, 31]  # use_more_bits(i, 32)
    assert types["output.weight"] == "Q6_K" and types["token_embd.weight"] == "Q4_K"
    assert types["blk.0.attn_norm.weight"] == "F32"


def test_mixtral_q4_k_m_puts_attention_in_q8_0():
    types = tensor_types(load_model("mixtral-8x7b"), "Q4_K_M")  # llama.cpp: n_expert == 8 → attn_v/attn_k Q8_0
    assert types["blk.5.attn_v.weight"] == types["blk.5.attn_k.weight"] == "Q8_0"
    assert types["blk.5.ffn_gate_inp.weight"] == "F32"


def test_rows_not_divisible_by_256_fall_back():
    # gpt-oss: hidden 2880 is not a multiple of 256, so Q4_K becomes Q5_0 and Q6_K becomes Q8_0.
    types = tensor_types(load_model("gpt-oss-20b"), "Q4_K_M")
    assert types["blk.0.attn_q.weight"] == "Q5_0"
    assert types["output.weight"] == "Q8_0"


def test_tied_embeddings_get_the_output_type():
    types = tensor_types(load_model("gemma-2-9b"), "Q4_K_M")
    assert "output.weight" not in types and types["token_embd.weight"] == "Q6_K"


def test_nf4_layout_by_hand():
    # bitsandbytes NF4: 4 bits per weight plus one fp32 absmax per 64 weights = 4.5 bits.
    assert layout_bytes(get_quant("nf4").layout, (4096, 4096)) == 4096 * 4096 * 9 // 16


def test_gptq_layout_by_hand():
    # AutoGPTQ 4-bit g128 of a 4096×4096 linear: qweight 4096*4096/2 B, scales (32, 4096) fp16,
    # qzeros (32, 4096/8) int32, g_idx 4096 int32.
    expected = 4096 * 4096 // 2 + 32 * 4096 * 2 + 32 * 512 * 4 + 4096 * 4
    assert layout_bytes(get_quant("gptq-4bit-g128").layout, (4096, 4096)) == expected


def test_fp8_block_layout_by_hand():
    # DeepSeek-V3 FP8: 1 byte per weight and an fp32 weight_scale_inv per 128×128 tile.
    assert layout_bytes(get_quant("fp8-block").layout, (7168, 18432)) == 7168 * 18432 + 56 * 144 * 4


def test_exl2_keeps_the_head_at_6_bits():
    rows = dict((n, b) for n, _, b in tensor_bytes(LLAMA_2_7B, "exl2-4.0"))
    assert rows["output.weight"] == 32000 * 4096 * 6 // 8
    assert rows["token_embd.weight"] == 32000 * 4096 * 2


def test_layout_validation_names_the_field():
    with pytest.raises(ValueError, match="bits"):
        Layout(bits=0)


@pytest.mark.parametrize("name", ["Q4_K_M", "q4_k_m", "BF16", "bfloat16", "GPTQ-4bit", "gptq-int4", "AWQ", "EXL2-4.65",
                                  "gguf-Q4_K", "iq4_xs", "nf4-dq", "int4-g32", "mxfp4_moe", "q4_k"])
def test_names_are_case_insensitive(name):
    assert get_quant(name).name == get_quant(name.lower()).name


def test_q4_k_is_llama_quantize_alias_of_q4_k_m():
    assert get_quant("Q4_K").name == "q4_k_m"


@pytest.mark.parametrize("name,fragment", [("q4_k_n", "q4_k_m"), ("nf5", "nf4"), ("gtpq", "gptq")])
def test_unknown_quant_suggests_close_matches(name, fragment):
    with pytest.raises(UnknownQuantError, match=f"unknown quant '{name}'.*{fragment}"):
        get_quant(name)


@pytest.mark.parametrize("name,message", [("gptq-5bit", "bits must be 2, 3, 4 or 8, got 5"),
                                          ("exl2-9.5", "within 2.0–8.0, got 9.5"),
                                          ("gptq-4bit-g0", "group size must be positive")])
def test_bad_parametric_quant_names_the_value(name, message):
    with pytest.raises(UnknownQuantError, match=message):
        get_quant(name)


ORDER = ["fp32", "bf16", "q8_0", "int8", "q6_k", "q5_k_m", "q4_k_m", "q3_k_m", "q2_k"]


@given(model=st.sampled_from(list_models()))
def test_fewer_bits_never_take_more_bytes(model):
    spec = load_model(model)
    assert weights_bytes(spec, "int4") < weights_bytes(spec, "int8") < weights_bytes(spec, "bf16") \
        < weights_bytes(spec, "fp32")
    gguf = [weights_bytes(spec, q) for q in ("q8_0", "q6_k", "q5_k_m", "q4_k_m", "q3_k_m", "q2_k")]
    assert gguf == sorted(gguf, reverse=True)


def test_llama_quantize_rules_by_build():
    # research/llamacpp_presets.md: PR #4872 (b1828) moved Q2_K's ffn_gate and ffn_up from Q3_K back to Q2_K:
    # 32 layers × 2 tensors × 45,088,768 weights × (Q3_K 110 − Q2_K 84 bytes per 256) = 293,076,992 bytes on Llama-2-7B
    spec = load_model("meta-llama/Llama-2-7b-hf")
    assert weights_bytes(spec, "q2_k@b1500") - weights_bytes(spec, "q2_k") == 293_076_992
    assert weights_bytes(spec, "q2_k@b1850") == weights_bytes(spec, "q2_k")
    # PR #4996 (b1897): Q2_K's attn_v Q4_K when 4+ query heads share a KV head (Llama-3-8B: 4)
    llama3 = load_model("meta-llama/Meta-Llama-3-8B")
    assert weights_bytes(llama3, "q2_k") > weights_bytes(llama3, "q2_k@b1850")
    assert get_quant("Q2_K@b1500").name == "q2_k@b1500"
    with pytest.raises(UnknownQuantError, match="from build 1012 on"):
        get_quant("q2_k@b900")


def test_gguf_presets_keep_gpt_oss_experts_in_mxfp4():
    # convert_hf_to_gguf.py writes the experts as MXFP4 and llama-quantize leaves them so: a Q8_0 file is the
    # MXFP4_MOE one (unsloth/ggml-org both about 12.1 GB), never 20.9B experts at 8.5 bits (about 21 GB)
    spec = load_model("gpt-oss-20b")
    for preset in ("Q8_0", "Q6_K", "Q4_K_M", "Q2_K"):
        types = tensor_types(spec, preset)
        assert types["blk.3.ffn_down_exps.weight"] == types["blk.3.ffn_gate_exps.weight"] == "MXFP4", preset
    assert weights_bytes(spec, "q8_0") == weights_bytes(spec, "mxfp4_moe")
