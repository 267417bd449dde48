"""Quantized checkpoints as they are: quantization_config read into a catalog format, the modules it leaves in 16
bits kept there, and the same overrides by hand (quant="fp8[keep=attn]", --keep-bf16)."""

import json
import subprocess
import sys

import pytest

from planner import ConfigImportError, UnknownQuantError, load_model
from planner.quant.catalog import get_quant
from planner.weights import weights_breakdown, weights_bytes

TINY = "tests/fixtures/configs/TinyLlama__TinyLlama-1.1B-Chat-v1.0.json"


def _with(tmp_path, q: dict):
    c = json.loads(open(TINY).read())
    c["quantization_config"] = q
    (tmp_path / "config.json").write_text(json.dumps(c))
    return load_model(tmp_path / "config.json")


@pytest.mark.parametrize(("q", "name"), [
    # transformers' quantizer configs (utils/quantization_config.py) as checkpoints ship them
    ({"quant_method": "gptq", "bits": 4, "group_size": 128, "desc_act": False}, "gptq-4bit-g128"),
    ({"quant_method": "gptq", "bits": 8, "group_size": -1}, "gptq-8bit-g-1"),
    ({"quant_method": "awq", "bits": 4, "group_size": 128, "zero_point": True, "version": "gemm",
      "modules_to_not_convert": ["visual"]}, "awq-4bit-g128[keep=vision]"),
    ({"quant_method": "awq", "w_bit": 4, "q_group_size": 64}, "awq-4bit-g64"),
    ({"quant_method": "bitsandbytes", "load_in_4bit": True, "bnb_4bit_quant_type": "nf4",
      "bnb_4bit_use_double_quant": True}, "nf4-dq"),
    ({"quant_method": "bitsandbytes", "load_in_8bit": True, "llm_int8_skip_modules": ["mlp.gate"]},
     "bnb-int8[keep=router]"),
    ({"quant_method": "fbgemm_fp8", "modules_to_not_convert": ["model.layers.0.mlp", "model.layers.21.mlp",
                                                               "model.layers.5.self_attn", "lm_head"]},
     "fp8[keep=attn@5,mlp@0,mlp@21,output]"),
    ({"quant_method": "compressed-tensors", "ignore": ["lm_head"], "config_groups": {"group_0": {
        "targets": ["Linear"], "weights": {"num_bits": 4, "type": "int", "strategy": "group", "group_size": 128}}}},
     "int4-sym[keep=output]"),  # symmetric, compressed-tensors' default: no zero point
    ({"quant_method": "compressed-tensors", "config_groups": {"group_0": {"weights": {
        "num_bits": 4, "type": "int", "strategy": "group", "group_size": 128, "symmetric": False}}}}, "int4"),
    ({"quant_method": "compressed-tensors", "config_groups": {"group_0": {"weights": {
        "num_bits": 4, "type": "int", "strategy": "channel", "symmetric": True}}}}, "int4-sym-channel"),
    ({"quant_method": "fp8", "weight_block_size": [128, 128], "modules_to_not_convert": [
        "model.layers.0.self_attn", "gate", "e_score_correction_bias", "lm_head"]},
     "fp8-block[keep=attn@0,output,router]"),
    ({"quant_method": "compressed-tensors", "ignore": ["lm_head", "re:.*self_attn.*"], "config_groups": {"g": {
        "weights": {"num_bits": 8, "type": "float", "strategy": "channel"}}}}, "fp8[keep=attn,output]"),
    ({"quant_method": "modelopt", "quant_algo": "NVFP4", "group_size": 16, "exclude_modules": ["lm_head"]},
     "nvfp4[keep=output]"),
    ({"quant_method": "compressed-tensors", "config_groups": {"g": {"weights": {
        "num_bits": 4, "type": "float", "strategy": "tensor_group", "group_size": 16}}}}, "nvfp4"),
])
def test_quantization_config_becomes_a_catalog_format(tmp_path, q, name):
    spec = _with(tmp_path, q)
    assert spec.weights_dtype == name
    assert get_quant(name).name == name
    assert weights_bytes(spec) == weights_bytes(spec, name)


@pytest.mark.parametrize(("q", "message"), [
    ({"quant_method": "hqq"}, "quant_method 'hqq' is not supported for import"),
    ({"quant_method": "awq", "bits": 4, "modules_to_not_convert": ["foo"]},
     r"modules_to_not_convert\[0\] 'foo' names a module planner cannot place"),
    ({"quant_method": "gptq", "bits": 5}, "quantization_config.bits"),
    ({"quant_method": "bitsandbytes"}, "sets neither load_in_4bit nor load_in_8bit"),
    ({"quant_method": "compressed-tensors", "config_groups": {}}, "config_groups must be a non-empty object"),
    ({"quant_method": "compressed-tensors", "config_groups": {  # fp8 attention beside int4 MLPs: no one format
        "attention": {"targets": ["re:.*self_attn.*"], "weights": {"num_bits": 8, "type": "float"}},
        "mlp": {"targets": ["re:.*mlp.*"], "weights": {"num_bits": 4, "type": "int", "group_size": 128}}}},
     "config_groups attention, mlp quantize their targets differently"),
])
def test_a_config_planner_cannot_read_is_refused_naming_the_key(tmp_path, q, message):
    with pytest.raises(ConfigImportError, match=message):
        _with(tmp_path, q)


def test_kept_modules_stay_in_16_bits_and_nothing_else_moves():
    spec = load_model("meta-llama/Llama-3.1-8B")
    fp8, kept = weights_breakdown(spec, "fp8"), weights_breakdown(spec, "fp8[keep=attn]")
    attn_params = 32 * (4096 * 4096 * 2 + 4096 * 1024 * 2)  # q, o 4096²; k, v 4096 × 1024 (8 KV heads of 128)
    assert kept["attention"] == attn_params * 2
    assert {k: v for k, v in kept.items() if k != "attention"} == {k: v for k, v in fp8.items() if k != "attention"}
    one = weights_breakdown(spec, "fp8[keep=mlp@0]")
    mlp_layer = 3 * 4096 * 14336
    assert one["mlp"] - fp8["mlp"] == mlp_layer * 2 - (fp8["mlp"] // 32)  # one layer's MLP back to bf16
    assert get_quant("FP8[keep=mlp@0,attn]").name == "fp8[keep=attn,mlp@0]"  # one canonical name


def test_keep_is_refused_where_it_means_nothing():
    with pytest.raises(UnknownQuantError, match="not 'q4_k_m'"):
        get_quant("q4_k_m[keep=attn]")
    with pytest.raises(UnknownQuantError, match="got 'atn'"):
        get_quant("fp8[keep=atn]")


def test_cli_keep_bf16():
    out = subprocess.run([sys.executable, "-m", "planner", "estimate", "meta-llama/Llama-3.1-8B", "--quant", "fp8",
                          "--keep-bf16", "attn,mlp@0"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("meta-llama/Llama-3.1-8B — fp8[keep=attn,mlp@0] weights")
    bad = subprocess.run([sys.executable, "-m", "planner", "estimate", "meta-llama/Llama-3.1-8B", "--quant", "fp8",
                          "--keep-bf16", "atn"], capture_output=True, text=True)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "'atn'" in bad.stderr


def test_nvfp4_and_mxfp8_layouts():
    spec = load_model("meta-llama/Llama-3.1-8B")
    # NVFP4: 4 bits a weight, an 8-bit E4M3 scale per 16 and a 32-bit scale per matrix → 4.5 bits a weight
    # MXFP8: 8 bits and an 8-bit E8M0 scale per 32 → 8.25 bits (OCP MX v1.0)
    matrices = weights_breakdown(spec, "bf16")
    linear = (matrices["attention"] + matrices["mlp"]) // 2  # parameters in the quantized matrices
    assert weights_breakdown(spec, "nvfp4")["mlp"] == pytest.approx(matrices["mlp"] / 2 * 4.5 / 8, rel=1e-4)
    assert weights_breakdown(spec, "mxfp8")["attention"] == pytest.approx(matrices["attention"] / 2 * 8.25 / 8,
                                                                           rel=1e-4)
    assert linear > 6e9


def test_an_mlx_checkpoint_reads_as_mlx_format(tmp_path):
    """mlx_lm convert -q writes "quantization": {"group_size": 64, "bits": 4} into config.json, and the same under
    quantization_config without a quant_method (mlx_lm utils.save_config): the weights are MLX's affine format. Its
    modes other than affine, and mixed recipes that give modules their own bits, are refused by name."""
    c = json.loads(open(TINY).read())
    for q, name in (({"group_size": 64, "bits": 4}, "mlx-4bit"), ({"group_size": 32, "bits": 8}, "mlx-8bit-g32")):
        (tmp_path / "config.json").write_text(json.dumps({**c, "quantization": q, "quantization_config": q}))
        spec = load_model(tmp_path / "config.json")
        assert spec.weights_dtype == name
    (tmp_path / "config.json").write_text(json.dumps({**c, "quantization": {"group_size": 64, "bits": 4}}))
    assert load_model(tmp_path / "config.json").weights_dtype == "mlx-4bit"
    for q, why in (({"group_size": 32, "bits": 4, "mode": "mxfp4"}, "quantization.mode 'mxfp4'"),
                   ({"group_size": 64, "bits": 4, "model.layers.0.mlp.down_proj": {"group_size": 64, "bits": 6}},
                    "sets 'model.layers.0.mlp.down_proj' apart"),
                   ({"group_size": 16, "bits": 4}, "groups of 32, 64 or 128")):
        (tmp_path / "config.json").write_text(json.dumps({**c, "quantization": q}))
        with pytest.raises(ConfigImportError, match=why):
            load_model(tmp_path / "config.json")
