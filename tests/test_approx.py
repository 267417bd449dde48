"""planner.approx: a dense Llama-3-style spec from a bare parameter count ("7B")."""

import math

import pytest

import planner
from planner import WorkloadError, load_model
from planner.approx import LADDER, MAX_PARAMS, MIN_PARAMS, parse_param_count, spec_from_params
from planner.limits import MAX_LAYERS

TARGETS = [0.5e9, 1e9, 3e9, 7e9, 8e9, 13e9, 34e9, 70e9, 180e9, 405e9, 1e12]


@pytest.mark.parametrize("target", TARGETS)
def test_param_count_close_to_target(target):
    spec = spec_from_params(target)
    per_layer = spec.model_copy(update={"n_layers": spec.n_layers + 1}).param_count - spec.param_count
    # Only n_layers changes, so the count is within half a layer; every target here is within 1.2 % (0.5B: +1.19 %).
    assert abs(spec.param_count - target) <= per_layer / 2
    assert abs(spec.param_count / target - 1) < 0.015
    assert 1 <= spec.n_layers <= MAX_LAYERS
    est = planner.estimate(spec, context=4096)
    assert est.total_bytes > est.weights_bytes > 0
    assert est.kv_cache_bytes > 0


@pytest.mark.parametrize("target", TARGETS)
def test_shape_is_a_dense_llama_from_the_ladder(target):
    spec = spec_from_params(target)
    assert spec.model_type == "llama" and spec.moe is None and spec.mla is None
    assert spec.gated_mlp and spec.activation == "silu" and spec.norm == "rmsnorm"
    assert spec.n_kv_heads < spec.n_heads and spec.layer_kinds() == ("full",) * spec.n_layers
    shape = next(load_model(m) for m in LADDER if m.split("/")[-1] in spec.name)
    for field in ("d_model", "n_heads", "n_kv_heads", "head_dim", "d_ff", "vocab_size", "tie_embeddings",
                  "max_context"):
        assert getattr(spec, field) == getattr(shape, field), field
    assert "approximation" in spec.source and shape.name in spec.source
    assert spec.card.published_params is None  # the ladder model's published count does not apply


def test_nearest_shape_in_log_scale():
    assert "Llama-3.2-1B" in spec_from_params(0.5e9).name
    assert "Llama-3.2-3B" in spec_from_params(3e9).name
    assert "Llama-3.1-8B" in spec_from_params(7e9).name       # 7B is nearer 8.03B than 3.21B
    assert "Llama-3.1-8B" in spec_from_params(13e9).name      # below sqrt(8.03 × 70.55) ≈ 23.8B
    assert "Llama-3.1-70B" in spec_from_params(34e9).name
    assert "Llama-3.1-405B" in spec_from_params(180e9).name   # above sqrt(70.55 × 405.85) ≈ 169B


@pytest.mark.parametrize("model_id", LADDER)
def test_exact_ladder_point_gives_that_model(model_id):
    model = load_model(model_id)
    spec = spec_from_params(model.param_count)
    assert (spec.n_layers, spec.d_model, spec.d_ff) == (model.n_layers, model.d_model, model.d_ff)
    assert spec.param_count == model.param_count


def test_name_and_default_name():
    assert spec_from_params(8e9).name == "~8.03B dense (Llama-3.1-8B shape, 32 layers)"
    assert spec_from_params("7B", name="my-7b").name == "my-7b"
    assert spec_from_params("7B") == spec_from_params(7e9)
    for bad in ("", " ", 7):
        with pytest.raises(WorkloadError, match="name"):
            spec_from_params("7B", name=bad)


def test_weights_of_7b_at_bf16_are_about_two_bytes_per_param():
    est = planner.estimate(spec_from_params(7e9), quant="bf16", context=4096)
    assert est.weights_bytes == pytest.approx(14e9, rel=0.05)


def test_the_parse_range_is_the_range_the_ladder_reaches():
    for target in (MIN_PARAMS, MAX_PARAMS):
        assert spec_from_params(target).param_count == pytest.approx(target, rel=0.10)


@pytest.mark.parametrize("target", [0.2e9, 5e12])
def test_out_of_reach_of_the_ladder_is_refused(target):
    # One layer of the smallest shape is ~0.32B (its embeddings alone are 0.26B); 1,024 layers of the largest ~3.27T.
    with pytest.raises(WorkloadError, match="parameters"):
        spec_from_params(target)


@pytest.mark.parametrize("text, expected", [
    ("7B", 7e9), ("7b", 7e9), ("1.5B", 1.5e9), ("350m", 3.5e8), ("350M", 3.5e8), ("1.2T", 1.2e12),
    ("1.5T", 1.5e12), ("70", 70e9), ("70 B", 70e9), (" 8b ", 8e9), (" 8 b ", 8e9), ("5", 5e9),
    ("500000K", 5e8), (".5B", 5e8), ("7e9", 7e9), ("7_000_000_000", 7e9),
    (70, 70e9), (7e9, 7e9), (7_000_000_000, 7e9), (0.5, 0.5e9), (2999, 2999e9), (3_000_000_000_000, 3e12),
])
def test_parse_param_count(text, expected):
    got = parse_param_count(text)
    assert isinstance(got, float)
    assert got == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("text", [
    "", "   ", "abc", "nan", "inf", "-7B", "0", "0B", 0, -7e9, True, False, None, [7], "1e400", "7X", "B", "7 BB",
    "1.2.3B", "1e", math.nan, math.inf, "0.01B", "20T", 20e12, 10_000, "9" * 100, "7B" + " " * 98,
])
def test_parse_param_count_refuses(text):
    with pytest.raises(WorkloadError, match="parameters") as info:
        parse_param_count(text)
    assert "\n" not in str(info.value)


def test_range_message_says_the_range():
    with pytest.raises(WorkloadError, match=r"between 300M and 3T, got '20T'"):
        parse_param_count("20T")
