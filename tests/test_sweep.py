"""sweep() and table(): vectorized rows equal estimate() one by one."""

import pandas as pd
import pytest

from planner import WorkloadError, estimate, sweep, table

COLS = ["weights_bytes", "kv_cache_bytes", "activation_bytes", "overhead_bytes", "total_bytes"]


def test_sweep_rows_equal_estimate():
    df = sweep(["llama-3-8b", "gemma-2-9b", "deepseek-v2-lite", "phi-3.5-moe"], quants=["bf16", "q4_k_m", "nf4"],
               contexts=[1024, 4096, 8192], batches=[1, 3], kv_dtypes=["bf16", "q8_0"])
    assert len(df) == 4 * 3 * 3 * 2 * 2
    for row in df.sample(20, random_state=0).itertuples():
        e = estimate(row.model, quant=row.quant, kv_dtype=row.kv_dtype, context=int(row.context),
                     batch=int(row.batch))
        assert [getattr(row, c) for c in COLS] == [getattr(e, c) for c in COLS]


def test_sweep_flags_contexts_beyond_max():
    df = sweep("llama-3-8b", contexts=[8192, 16384])
    assert df["within_max_context"].tolist() == [True, False]


def test_sweep_rejects_bad_contexts():
    with pytest.raises(WorkloadError, match="contexts must be integers within 1–134,217,728, got 0"):
        sweep("llama-3-8b", contexts=[0])


def test_table_shape_and_values():
    t = table("microsoft/Phi-3-small-8k-instruct")
    assert list(t.columns) == ["1K", "2K", "4K", "8K"]
    assert list(t.index) == ["bf16", "fp8", "int8", "int4"]  # no GGUF of Phi-3-small exists: what vLLM runs it in
    e = estimate("microsoft/Phi-3-small-8k-instruct", quant="int4", context=8192)
    assert t.loc["int4", "8K"] == pytest.approx(e.total_bytes / 2**30)
    assert (t.diff(axis=1).iloc[:, 1:] > 0).all().all()  # grows with context
    assert (t.loc["bf16"] > t.loc["fp8"]).all() and (t.loc["int8"] > t.loc["int4"]).all()  # fewer bits, less memory
    # a checkpoint published quantized leads its table in its own format (DeepSeek-R1: FP8 in 128 x 128 blocks)
    assert list(table("deepseek-r1", contexts=[4096]).index)[:2] == ["fp8-block", "bf16"]
    g = table("llama-3.1-8b", contexts=[4096])
    assert list(g.index) == ["bf16", "q8_0", "q6_k", "q5_k_m", "q4_k_m", "q3_k_m", "q2_k"]
    assert (g.diff(axis=0).iloc[1:] < 0).all().all()


def test_table_in_gb_and_columns_up_to_odd_max_context():
    t = table("mistral-nemo", unit="GB", quants=["q4_k_m"])
    assert t.columns[-1] == "1000K"  # 1,024,000 tokens and t.columns[-2] == "512K"
    assert t.index.name.endswith("(GB)")
    assert isinstance(t, pd.DataFrame)


def test_table_refuses_a_context_beyond_the_models_maximum_as_estimate_does():
    with pytest.raises(WorkloadError, match=r"contexts: 307,200 exceeds meta-llama/Llama-3.1-8B's max_context 131,072"):
        table("meta-llama/Llama-3.1-8B", contexts=[1024, 300 * 1024])
    assert list(table("meta-llama/Llama-3.1-8B", contexts=[1024, 131072]).columns) == ["1K", "128K"]
