"""Dashboard: one state across views and links, every control changes what it should, the output reads as words
and units, and nothing is shown as fast that does not fit."""

import re
from pathlib import Path

import pytest

from tests.dashboard import APP, VIEWS, app, bugs_fail_the_tests, caption, gib, metric  # noqa: F401  (app/ on the path)

# isort: split
from hosting import local_paths_allowed
from present import quant_groups, verdict

from planner import estimate, load_gpu, quant_names, table

# One state

def test_estimate_view_changes_with_model_context_and_gpu():
    at = app()
    total = metric(at, "total")
    assert total.endswith("GiB")
    at.sidebar.selectbox(key="model").set_value("meta-llama/Meta-Llama-3-8B").run()
    assert metric(at, "total") != total
    after_model = metric(at, "total")
    at.sidebar.number_input(key="context").set_value(8192).run()
    assert metric(at, "total") != after_model
    speed = metric(at, "decode, per request")
    at.sidebar.selectbox(key="gpu").set_value("h100-sxm").run()
    assert metric(at, "decode, per request") != speed
    assert at.query_params["model"] == "meta-llama/Meta-Llama-3-8B"  # shareable as a link
    assert at.query_params["gpu"] == "h100-sxm" and at.query_params["context"] == "8192"


def test_state_is_read_from_the_url():
    at = app(model="google/gemma-2-9b", quant="q4_k_m", context="8192", unit="GB")
    e = estimate("google/gemma-2-9b", quant="q4_k_m", context=8192, gpu="rtx-4090")
    assert metric(at, "total") == f"{e.total_bytes / 1e9:,.2f} GB"


def test_choices_carry_across_every_view_and_back():
    at = app()
    at.sidebar.selectbox(key="model").set_value("Qwen/Qwen2.5-7B").run()
    at.sidebar.selectbox(key="gpu").set_value("l40s").run()
    at.sidebar.selectbox(key="quant").set_value("q4_k_m").run()
    for page in VIEWS[1:]:
        at.switch_page(page).run()
        assert not at.exception
        assert at.query_params["model"] == "Qwen/Qwen2.5-7B" and at.query_params["gpu"] == "l40s"
        if page in ("views/table.py", "views/sweeps.py", "views/which_gpu.py"):
            assert "Qwen2.5-7B" in caption(at)  # the model is named on the view
    at.switch_page("views/estimate.py").run()
    assert at.sidebar.selectbox(key="model").value == "Qwen/Qwen2.5-7B"
    assert at.sidebar.selectbox(key="quant").value == "q4_k_m"
    e = estimate("Qwen/Qwen2.5-7B", quant="q4_k_m", context=4096, gpu="l40s")
    assert metric(at, "total") == gib(e.total_bytes)


def test_a_copied_link_restores_the_state_exactly():
    at = app()
    at.sidebar.selectbox(key="model").set_value("meta-llama/Llama-3.1-70B").run()
    at.sidebar.selectbox(key="quant").set_value("q4_k_m").run()
    at.sidebar.number_input(key="context").set_value(12000).run()
    at.sidebar.number_input(key="batch").set_value(3).run()
    at.sidebar.selectbox(key="gpu").set_value("h100-sxm").run()
    at.sidebar.number_input(key="n_gpus").set_value(2).run()
    at.sidebar.selectbox(key="split").set_value("pipeline").run()  # a GGUF format over GPUs: llama.cpp's layers
    link = {k: at.query_params.get_all(k) if hasattr(at.query_params, "get_all") else at.query_params[k]
            for k in at.query_params}
    shown = [m.value for m in at.metric]
    assert shown
    again = app(**{k: v[0] if isinstance(v, list) and len(v) == 1 else v for k, v in link.items()})
    assert [m.value for m in again.metric] == shown
    assert again.sidebar.number_input(key="context").value == 12000


def test_context_presets_and_any_typed_value():
    at = app()
    at.sidebar.get("button_group")[0].set_value("1K").run()
    assert at.sidebar.number_input(key="context").value == 1024
    at.sidebar.number_input(key="context").set_value(5000).run()
    e = estimate("microsoft/Phi-3-small-8k-instruct", context=5000, gpu="rtx-4090")
    assert metric(at, "total") == gib(e.total_bytes)


def test_prompt_and_generated_split_sets_time_to_first_token():
    at = app(context="8192", gpu="h100-sxm")
    whole = metric(at, "time to first token")
    at.sidebar.number_input(key="generated").set_value(4096).run()
    e = estimate("microsoft/Phi-3-small-8k-instruct", context=8192, prompt=4096, gpu="h100-sxm")
    assert metric(at, "time to first token") == f"{e.prefill_seconds * 1000:.0f} ms" != whole
    at.sidebar.number_input(key="generated").set_value(8192).run()
    assert "must be fewer than the context" in at.error[0].value


# Verdicts: fits, tight, does not fit; no speed for what does not fit

def test_tight_when_less_than_the_reserve_is_free():
    e = estimate("microsoft/Phi-3-small-8k-instruct", context=4096)
    budget = e.total_bytes * 1.02 / 2**30  # 2 % free, under the default 5 % reserve
    at = app(gpu="custom", budget=f"{budget:.6f}")
    assert "Tight" in at.warning[0].value
    at.sidebar.number_input(key="reserve").set_value(1.0).run()
    assert "Fits" in at.success[0].value


def test_wording_a_new_user_tripped_on():
    """Found by a new-user trial: a tight verdict never shows the reserve's own figure ("5.0 %, under the 5 %
    reserve"); an engine that takes its share up front says why no reserve applies; a split names its GPU count;
    a link value's stray spaces are not a bad value, and a bad value with no default of its own says so."""
    usable = 24 * 2**30
    tight = verdict(usable - int(0.0496 * usable), usable, 5.0, unit="GiB", where="on X").text
    assert "(4.9 %), under the 5 % reserve" in tight
    assert "no reserve applies" in verdict(usable, usable, 5.0, unit="GiB", where="on X", fills_memory=True).text
    at = app(model="meta-llama/Llama-3.1-70B", gpu="h100-sxm", n_gpus="2")
    assert "on each of 2 × " in " ".join(m.value for m in [*at.success, *at.warning, *at.error])
    spaced = app(model="meta-llama/Llama-3.1-8B", quant="q4_k_m ")  # as pasted, with its trailing space
    assert not any("Link parameter" in w.value for w in spaced.warning) and spaced.query_params["quant"] == "q4_k_m"
    bad = app(engine="vllm", gmu="1.5")
    assert "showing the default instead" in bad.warning[0].value


def test_the_analytic_prefill_chunk_is_the_clis_chunk():
    """A batch's prompts prefill together unless a chunk is set; the sidebar's chunk is `estimate(chunk=)`, in the
    URL, and it says what a serving engine does instead."""
    kw = dict(quant="bf16", context=8192, batch=8, gpu="rtx-4090")
    whole = estimate("microsoft/Phi-3-small-8k-instruct", **kw)
    at = app(model="microsoft/Phi-3-small-8k-instruct", quant="bf16", context="8192", batch="8")
    assert metric(at, "activations") == gib(whole.activation_bytes)
    assert "prefill together, as one generate() call does" in caption(at)
    at.sidebar.number_input(key="chunk").set_value(512).run()
    chunked = estimate("microsoft/Phi-3-small-8k-instruct", chunk=512, **kw)
    assert chunked.activation_bytes < whole.activation_bytes / 4
    assert metric(at, "activations") == gib(chunked.activation_bytes)
    assert at.query_params["chunk"] == "512" and "prefill together" not in caption(at)


def test_an_fp32_checkpoint_is_flagged():
    """gemma-2-9b's files are fp32 (its config.json's torch_dtype): "the checkpoint's own" weights say so."""
    own = app(model="google/gemma-2-9b", quant="checkpoint")
    assert any("checkpoint is stored in fp32" in w.value for w in own.warning)
    assert not any("stored in fp32" in w.value for w in app(model="google/gemma-2-9b", quant="bf16").warning)


def test_ollama_with_a_models_own_weights_names_the_library_file():
    at = app(model="Qwen/Qwen3-8B", engine="ollama", gpu="rtx-3060")
    assert any("ollama run qwen3" in w.value and "fetches its library file, q4_k_m" in w.value
               and "choose q4_k_m under Weights" in w.value for w in at.warning)
    assert not any("imported into Ollama" in w.value for w in app(model="Qwen/Qwen3-8B", engine="ollama",
                                                                  gpu="rtx-3060", quant="q4_k_m").warning)


def test_speeds_are_not_shown_for_what_does_not_fit():
    at = app(model="deepseek-ai/DeepSeek-V3", gpu="h200")
    assert "Does not fit" in at.error[0].value and "short" in at.error[0].value
    assert metric(at, "decode, per request") == "—" and metric(at, "time to first token") == "—"


def test_gguf_over_several_gpus_offers_llamacpps_layer_split():
    """A GGUF format on 2 GPUs with the tensor split (the sidebar's default) says llama.cpp splits by layers and
    offers that split in one click; the figures are then the layer plan's."""
    at = app(model="meta-llama/Llama-3.1-70B", quant="q4_k_m", gpu="rtx-4090", n_gpus="2", context="8192")
    assert "splits a model by layers" in at.error[0].value
    at.button(key="use_layers").click().run()
    from planner.parallel import plan

    p = plan("meta-llama/Llama-3.1-70B", gpu="rtx-4090", n_gpus=2, mode="pp", quant="q4_k_m", context=8192)
    assert at.query_params["split"] == "pipeline" and metric(at, "total per GPU") == gib(p.per_gpu["total_bytes"])


def test_several_gpus_tensor_and_pipeline_parallel():
    at = app(model="meta-llama/Llama-3.1-70B", quant="bf16", gpu="h100-sxm", context="8192")
    assert "Does not fit" in at.error[0].value
    at.sidebar.number_input(key="n_gpus").set_value(4).run()
    from planner.parallel import plan

    p = plan("meta-llama/Llama-3.1-70B", gpu="h100-sxm", n_gpus=4, quant="bf16", context=8192)
    assert metric(at, "total per GPU") == gib(p.per_gpu["total_bytes"]) and at.success
    at.sidebar.selectbox(key="split").set_value("pipeline").run()
    assert metric(at, "total per GPU") != gib(p.per_gpu["total_bytes"])
    at.sidebar.selectbox(key="engine").set_value("vllm").run()  # vLLM's own pipeline split over the 4 GPUs
    v = estimate("meta-llama/Llama-3.1-70B", quant="bf16", context=8192, gpu="h100-sxm", engine="vllm",
                 pipeline_parallel_size=4)
    assert metric(at, "total per GPU") == gib(v.total_bytes)
    assert "beside the budget" in caption(at)  # the current release leaves NCCL's init out of the budget
    at.sidebar.selectbox(key="vllm_version").set_value("0.7.3").run()  # which charged it
    assert "charged against the budget by this vLLM release" in caption(at)
    at.sidebar.selectbox(key="vllm_version").set_value("current").run()
    at.sidebar.selectbox(key="engine").set_value("llama.cpp").run()
    at.sidebar.selectbox(key="quant").set_value("q4_k_m").run()  # llama.cpp's layer split: the analytic one, said
    layers = plan("meta-llama/Llama-3.1-70B", gpu="h100-sxm", n_gpus=4, mode="pp", quant="q4_k_m", context=8192,
                  engine="llama.cpp")
    assert metric(at, "total per GPU") == gib(layers.per_gpu["total_bytes"])
    assert "llama.cpp over 4 GPUs: the analytic layer split" in at.info[0].value.replace("\\", "")


# Models from anywhere

def test_parameter_count_quick_estimate():
    at = app(source="parameter count", params="70B", quant="q4_k_m")
    assert metric(at, "total").endswith("GiB") and "Approximate" in " ".join(c.value for c in at.sidebar.caption)
    assert at.query_params["params"] == "70B"
    bad = app(source="parameter count", params="lots")
    assert "Link parameter params=lots" in bad.warning[0].value


def test_hub_id_of_a_bundled_model_and_an_unreachable_one():
    at = app(source="Hugging Face id", hub="meta-llama/Llama-3.1-8B")
    e = estimate("meta-llama/Llama-3.1-8B", context=4096, gpu="rtx-4090")
    assert metric(at, "total") == gib(e.total_bytes)
    at = app(source="Hugging Face id", hub="no-such-org/no-such-model")
    assert "no-such-org/no-such-model" in at.error[0].value and not at.metric


def test_estimate_shows_the_model_card():
    at = app(model="deepseek-ai/DeepSeek-V3")
    cells = " ".join(str(t.value) for t in at.table)
    assert "MLA" in cells and "256 experts" in cells


def test_custom_architecture_form_and_its_errors():
    at = app(source="custom")
    assert metric(at, "total").endswith("GiB")
    at.sidebar.number_input(key="c_kv").set_value(5).run()
    assert not at.exception
    assert "query heads (32) must be a multiple of KV heads (5)" in at.error[0].value  # the form's own words
    assert "pydantic" not in at.error[0].value and "n_heads" not in at.error[0].value


def test_context_above_the_model_maximum_is_said_with_a_way_out():
    at = app(model="microsoft/Phi-3-mini-4k-instruct", context="8192")
    assert "above microsoft/Phi-3-mini-4k-instruct's maximum of 4,096" in at.error[0].value
    at.button(key="use_max").click().run()
    assert at.sidebar.number_input(key="context").value == 4096 and not at.error


def test_local_gguf_file_and_a_bad_path(monkeypatch):
    monkeypatch.setenv("PLANNER_LOCAL_FILES", "1")
    gguf = Path(__file__).parent / "fixtures" / "files" / "tiny.gguf"
    at = app(source="local file", path=str(gguf), context="1024")
    assert "checkpoint" in " ".join(str(t.value) for t in at.table) and metric(at, "total").endswith("GiB")
    at = app(source="local file", path="/no/such/model.gguf")
    assert not at.exception and "no such file" in at.error[0].value


# The other views

def test_table_view_full_catalog_largest_context_and_fit():
    at = app(page="views/table.py")
    assert at.get("download_button")
    shown = at.table[0].value
    assert list(shown.columns[:3]) == ["largest context", "1K", "2K"]
    t = table("microsoft/Phi-3-small-8k-instruct")  # README's worked example, GiB
    assert list(shown.index) == list(t.index) and shown.loc["bf16", "8K"] == f"{t.loc['bf16', '8K']:.2f} ✓"
    # llama.cpp cannot convert Phi-3-small (ggml-org/llama.cpp#7922): its rows are what SGLang and vLLM ≤ 0.9 run
    assert list(shown.index) == ["bf16", "fp8", "int8", "int4"]
    assert any("no GGUF of this model exists\\: the rows are" in c.value for c in at.caption)  # ":" escaped
    before = at.get("plotly_chart")[0].proto.spec
    at.sidebar.selectbox(key="gpu").set_value("rtx-4060-ti-16gb").run()
    assert at.get("plotly_chart")[0].proto.spec != before
    at.multiselect(key="groups").set_value(["llama.cpp presets (GGUF)"]).run()
    assert len(at.table[0].value) == len(quant_groups(quant_names())["llama.cpp presets (GGUF)"]) > 20


def _array(values):
    """A plotly data array as numpy: plain lists, or base64 typed arrays ({"dtype", "bdata"}) as plotly ≥ 6 sends."""
    import base64

    import numpy as np

    if isinstance(values, dict):
        return np.frombuffer(base64.b64decode(values["bdata"]), dtype=values["dtype"]).astype(float)
    return np.asarray(values, dtype=float)


def test_sweeps_leave_out_speeds_that_do_not_fit():
    import numpy as np
    import plotly.io

    at = app(page="views/sweeps.py", model="meta-llama/Llama-3.1-8B", gpu="rtx-4090", context="16384")
    charts = [plotly.io.from_json(c.proto.spec) for c in at.get("plotly_chart")]
    assert len(charts) == 4
    memory, speed = charts[2], charts[3]  # the right column: against concurrent requests
    bf16_mem, bf16_speed = _array(memory.data[0].y), _array(speed.data[0].y)
    budget = load_gpu("rtx-4090").usable_memory_bytes / 2**30
    assert (bf16_mem > budget).any() and (bf16_mem <= budget).any()
    assert np.isnan(bf16_speed[bf16_mem > budget]).all() and not np.isnan(bf16_speed[bf16_mem <= budget]).any()
    assert list(memory.layout.xaxis.ticktext)[:3] == ["1", "2", "4"] and memory.layout.xaxis.type == "log"


def test_compare_speed_empty_where_it_does_not_fit():
    at = app(page="views/compare.py", models=["meta-llama/Llama-3.1-8B", "meta-llama/Llama-3.1-70B"],
             quant="bf16")
    df = at.table[0].value
    assert "Decode (tok/s per request)" in df.columns and not any("_" in c for c in df.columns)
    seventy, eight = df.loc["meta-llama/Llama-3.1-70B"], df.loc["meta-llama/Llama-3.1-8B"]
    assert "does not fit" in seventy["Verdict"] and seventy["Decode (tok/s per request)"] == "—"
    e = estimate("meta-llama/Llama-3.1-8B", quant="bf16", context=4096, gpu="rtx-4090")
    assert eight["Decode (tok/s per request)"] == f"{e.decode_tokens_per_s:,.1f}"


def test_which_gpu_side_by_side_with_the_largest_context():
    at = app(page="views/which_gpu.py", model="meta-llama/Llama-3.1-8B", quant="q4_k_m")
    at.multiselect(key="gpus").set_value(["rtx-4090", "h100-sxm"]).run()
    df = at.dataframe[0].value
    assert set(df["GPU"]) == {load_gpu(g).name.removeprefix("NVIDIA ") for g in ("rtx-4090", "h100-sxm")}
    one = df[(df["GPUs"] == 1) & df["GPU"].str.contains("4090")].iloc[0]
    from planner import max_context

    assert one["Largest context"] == f'{max_context("meta-llama/Llama-3.1-8B", quant="q4_k_m", gpu="rtx-4090"):,}'
    # a GGUF format over several GPUs is split by layers, as llama.cpp splits it
    assert set(df.loc[df["GPUs"] > 1, "Split"]) <= {"layers"} and set(df.loc[df["GPUs"] == 1, "Split"]) == {"—"}
    # a row that does not fit shows a dash for its speed, one that fits its figure; the breakdown is in the display
    # unit
    assert all((s == "—") == v.endswith("does not fit") for s, v in zip(df["Decode (tok/s per request)"], df["Verdict"],
                                                                        strict=True))
    # each figure with its typical error (the check half's, of llama.cpp's GGUF runs on that GPU's class)
    assert all(s == "—" or re.fullmatch(r"[\d.]+ ±\d+ %", s) for s in df["Decode (tok/s per request)"])
    assert all("GiB" in b for b in df["Per GPU, by component"])
    # AWQ has no kernel on Apple GPUs: their rows are left out, and the view says why
    at = app(page="views/which_gpu.py", model="meta-llama/Llama-3.1-8B", quant="awq-4bit-g128")
    assert any("awq-4bit-g128 is not ranked on Apple GPUs" in c.value for c in at.caption)
    assert not any(n.startswith("Apple") for n in at.dataframe[0].value["GPU"])
    at = app(page="views/which_gpu.py", quant="q4_k_m")  # Phi-3-small: no GGUF of it exists, and the view says so
    assert any("llama.cpp has no Phi3SmallForCausalLM" in c.value for c in at.caption)
    # a context beyond the model's is shown at its maximum, and said
    at = app(page="views/which_gpu.py", context="32768")
    assert any("takes at most 8,192 tokens: this view is shown at 8,192" in w.value for w in at.warning)


@pytest.mark.parametrize("page", VIEWS)
def test_every_view_renders(page):
    at = app(page=page)
    assert len(at.dataframe) or len(at.table) or at.metric
    assert at.get("plotly_chart") or page == "views/which_gpu.py"  # a table only


def test_which_gpu_changes_with_context():
    at = app(page="views/which_gpu.py", model="meta-llama/Llama-3.1-70B", quant="bf16")
    before = at.success[0].value
    at.sidebar.number_input(key="context").set_value(131072).run()
    assert at.success[0].value != before


# Safe to host

def test_local_paths_only_on_a_loopback_address():
    assert local_paths_allowed("localhost", [], {}) and local_paths_allowed("127.0.0.1", [], {})
    assert not local_paths_allowed(None, [], {}) and not local_paths_allowed("0.0.0.0", [], {})
    assert not local_paths_allowed("localhost", ["--server"], {})
    assert local_paths_allowed("0.0.0.0", [], {"PLANNER_LOCAL_FILES": "1"})
    assert not local_paths_allowed("localhost", [], {"PLANNER_LOCAL_FILES": "0"})


def test_hosted_server_offers_no_local_files(monkeypatch):
    monkeypatch.setenv("PLANNER_LOCAL_FILES", "0")
    at = app(source="local file", path="/etc/passwd")
    assert "does not read local files" in at.warning[0].value
    assert "local file" not in at.sidebar.selectbox(key="source").options
    assert not any("passwd" in e.value for e in at.error)


def test_viewer_toolbar_and_upload_limit_are_configured():
    tomllib = pytest.importorskip("tomllib")  # Python ≥ 3.11

    config = tomllib.loads((APP.parent / ".streamlit" / "config.toml").read_text())
    assert config["client"]["toolbarMode"] == "viewer" and config["server"]["maxUploadSize"] == 10


def test_no_view_text_mentions_an_issue_number():
    import re

    for path in APP.rglob("*.py"):
        text = path.read_text()
        assert not re.search(r"issue\s*#?\d+|#\d{1,4}\b", text, re.IGNORECASE), path


# Found in review: each of these showed something planner does not say

def test_time_to_first_token_on_several_gpus_is_for_the_prompt():
    from planner.parallel import plan

    at = app(gpu="h100-sxm", n_gpus="2", generated="3968")
    p = plan("microsoft/Phi-3-small-8k-instruct", gpu="h100-sxm", n_gpus=2, context=4096, prompt=128)
    assert metric(at, "time to first token") == f"{p.prefill_seconds * 1000:.0f} ms"


def test_typed_text_and_empty_selections_come_back_from_the_link():
    at = app(source="Hugging Face id")
    at.sidebar.text_input(key="hub").set_value(" meta-llama/Llama-3.1-8B ").run()
    assert at.query_params["hub"] == "meta-llama/Llama-3.1-8B"
    at = app(page="views/compare.py")
    at.multiselect(key="models").set_value([]).run()
    again = app(page="views/compare.py", **{k: at.query_params[k] for k in at.query_params})
    assert again.multiselect(key="models").value == [] and "Pick at least one model" in again.info[0].value
    bad = app(page="views/compare.py", models=["nope", "nada"])
    assert "none of its values is usable; showing the default selection" in bad.warning[-1].value


def test_accuracy_view_shows_the_llama_cpp_records_by_component():
    import json

    path = APP.parent / "profiles" / "measurements" / "llamacpp-cpu.jsonl"
    n = len(path.read_text().splitlines())
    at = app(page="views/accuracy.py")
    summary = at.table[0].value
    assert summary.loc[("llama.cpp", "model"), "Records"] == n
    assert summary.loc[("llama.cpp", "kv"), "Worst |error| (%)"] == "0.00"
    worst = max(abs(json.loads(line)["error_pct"]["compute_bytes"]) for line in path.read_text().splitlines())
    assert summary.loc[("llama.cpp", "compute"), "Worst |error| (%)"] == f"{worst:.2f}"
    # the batch model's check: every published run at a fixed concurrency, with planner's plain step and stream
    import sys

    sys.path.insert(0, str(APP.parent / "benchmarks"))
    from batch_speed import rows

    batches = next(d.value for d in at.dataframe if "Requests" in d.value.columns)
    assert len(batches) == len(rows()) and batches["Stream"].notna().sum() == sum(r["concurrency"] > 1 for r in rows())


ORDER = ["source", "model", "gpu", "n_gpus", "split", "quant", "kv", "context", "context_preset", "generated", "batch",
         "engine", "unit", "reserve"]


@pytest.mark.parametrize("page", VIEWS)
def test_every_view_has_the_sidebar_controls_in_one_order(page):
    """The same order on every view (each draws the controls it uses), with the GPU third, near the top."""
    at = app(page=page)
    keys = [w.key for w in at.sidebar if getattr(w, "key", None) in ORDER]
    assert keys == [k for k in ORDER if k in keys] and keys[-2:] == ["unit", "reserve"]
    if "gpu" in keys:
        assert keys.index("gpu") <= 2
        labels = at.sidebar.selectbox(key="gpu").options
        assert all(re.search(r"\d+\s?(GB|GiB)", label) for label in labels[1:])  # every GPU shows its memory


def test_a_custom_gpu_from_its_figures_gets_speeds_and_survives_the_link():
    from planner.gpus import custom_gpu

    at = app(gpu="custom", budget="24", custom_bw="1008", custom_tflops="165", quant="q4_k_m")
    g = custom_gpu(memory_bytes=24 * 2**30, bandwidth_bytes_per_s=1008e9, tflops_bf16=165)
    e = estimate("microsoft/Phi-3-small-8k-instruct", quant="q4_k_m", context=4096, gpu=g)
    assert metric(at, "decode, per request") == f"{e.performance.decode_tokens_per_s:,.1f} tok/s"
    assert metric(at, "total") == gib(e.total_bytes)
    budget = app(gpu="custom", budget="24", quant="q4_k_m")  # memory alone: a budget, no speed
    assert "a budget has no speed" in caption(budget)


def test_a_catalog_gpu_with_another_memory_size():
    # the catalog's m4 is the 32 GB part; a 16 GB one: the same chip, Metal's 2/3 of its memory
    at = app(model="meta-llama/Llama-3.1-8B", quant="q4_k_m", gpu="m4", gpu_mem="16")
    assert not at.exception and "Apple M4 (10-core GPU, 16GB)" in caption(at)
    assert at.query_params["gpu_mem"] == "16"
    at.sidebar.selectbox(key="gpu").set_value("rtx-4090").run()  # another GPU: the size was the M4's
    assert "gpu_mem" not in at.query_params and "16GB" not in caption(at)


def test_your_own_efficiency_sets_the_speed_as_the_cli_does():
    """The Estimate view's own decode and prefill efficiency (in the link as own_eff, own_pre) give the speeds
    estimate(efficiency=, prefill_efficiency=) gives."""
    at = app(model="meta-llama/Meta-Llama-3-8B", quant="q4_k_m", gpu="rtx-4090", own_eff="0.5", own_pre="0.3")
    e = estimate("meta-llama/Meta-Llama-3-8B", quant="q4_k_m", gpu="rtx-4090", context=4096, efficiency=0.5,
                 prefill_efficiency=0.3)
    assert metric(at, "decode, per request") == f"{e.performance.decode_tokens_per_s:,.1f} tok/s"
    plain = app(model="meta-llama/Meta-Llama-3-8B", quant="q4_k_m", gpu="rtx-4090")
    assert metric(plain, "decode, per request") != metric(at, "decode, per request")
    bad = app(own_eff="0.001")
    assert "Link parameter own_eff=0.001 is below the minimum" in bad.warning[0].value


def test_which_gpu_takes_vllm_s_verdict_on_a_tensor_split():
    # Mixtral-8x22B in bf16 at 8K: 2 × H200 hold 134 GiB a GPU of 139.80 usable, but vLLM at its defaults would not
    # start (weights and its profile run's peak leave nothing of its 128.62 GiB budget for KV blocks): does not fit
    at = app(page="views/which_gpu.py", model="mistralai/Mixtral-8x22B-v0.1", quant="bf16", context="8192")
    at.multiselect(key="gpus").set_value(["h200"]).run()
    df = at.dataframe[0].value
    verdicts = {(n, s): v for n, s, v in zip(df["GPUs"], df["Split"], df["Verdict"], strict=True)}
    assert verdicts[(2, "tensor")].endswith("does not fit") and not verdicts[(4, "tensor")].endswith("does not fit")


def test_compare_names_each_models_weights_and_an_fp32_checkpoint():
    """With each model's own weights, the Compare table says which format each is planned in; gemma-2-9b's files are
    fp32 (its config's torch_dtype), and the caption says so."""
    at = app(page="views/compare.py", models=["meta-llama/Llama-3.1-8B", "google/gemma-2-9b"])
    df = at.table[0].value
    assert df.loc["google/gemma-2-9b"]["Weights"] == "fp32" and df.loc["meta-llama/Llama-3.1-8B"]["Weights"] == "bf16"
    assert "gemma-2-9b" in caption(at) and "stored in fp32" in caption(at)


def test_a_setup_that_does_not_fit_offers_the_largest_context_that_does():
    """Llama-3.1-8B in bf16 at 128K does not fit a 4090; the page offers the largest context that fits in one click,
    and then it fits. The 70B's bf16 weights alone do not: the page says not even one token fits."""
    from planner import max_context

    at = app(model="meta-llama/Llama-3.1-8B", quant="bf16", gpu="rtx-4090", context="131072")
    assert "Does not fit" in at.error[0].value
    largest = max_context("meta-llama/Llama-3.1-8B", quant="bf16", gpu="rtx-4090")
    at.button(key="use_fitting").click().run()
    assert at.query_params["context"] == str(largest) and not at.error
    at = app(model="meta-llama/Llama-3.1-70B", quant="bf16", gpu="rtx-4090")
    assert "Not even one token fits in this format" in caption(at)


def test_table_view_on_an_apple_gpu_lists_what_runs_there():
    """Phi-3-small has no GGUF: its common rows are bf16, fp8, int8 and int4 on a CUDA GPU; on an Apple GPU, where
    MLX runs it, bf16 and MLX's own 8- and 4-bit, and no fp8, which nothing there loads."""
    at = app(page="views/table.py", gpu="m3-max")
    assert list(at.table[0].value.index) == ["bf16", "mlx-8bit", "mlx-4bit"]


def test_a_view_that_plans_one_gpu_and_the_plain_model_says_so_when_more_are_chosen():
    """The shared link may carry 2 GPUs and vLLM from the Estimate page; the Quantization × context table plans one
    GPU and the plain model, and says so rather than dropping them silently; the Estimate page says nothing."""
    shown = caption(app(page="views/table.py", model="meta-llama/Llama-3.1-8B", gpu="h100-sxm", n_gpus="2",
                        engine="vllm")).replace("\\", "")
    assert "This view plans one GPU, not the 2 chosen and the plain model, not the vllm engine chosen" in shown
    assert "This view plans" not in caption(app(model="meta-llama/Llama-3.1-8B", gpu="h100-sxm", n_gpus="2",
                                                 engine="vllm"))


def test_llama_cpp_and_ollama_over_several_gpus_plan_the_layer_split():
    """Two RTX 4090s under a 70B GGUF: llama.cpp and Ollama split it by layers; the page gives the analytic layer
    split (planner.parallel.plan, mode pp, llama.cpp's speed) and says which of the engine's own rules it leaves out,
    where it refused before (after offering that very split)."""
    from planner.parallel import plan

    kw = dict(model="meta-llama/Llama-3.1-70B-Instruct", gpu="rtx-4090", n_gpus="2", context="8192",
              quant="q4_k_m")
    p = plan("meta-llama/Llama-3.1-70B-Instruct", gpu="rtx-4090", n_gpus=2, mode="pp", quant="q4_k_m", context=8192,
             engine="llama.cpp")
    for engine in ("llama.cpp", "ollama"):
        at = app(engine=engine, split="pipeline", **kw)
        assert metric(at, "total per GPU") == gib(p.per_gpu["total_bytes"])
        assert f"{engine} over 2 GPUs: the analytic layer split" in at.info[0].value.replace("\\", "")
    at = app(engine="llama.cpp", **kw)  # a tensor split: refused, with the button to the layer split
    assert [b.label for b in at.button] == ["Split by layers, as llama.cpp does"]
