"""Dashboard, Fine-tuning view: planner.training's numbers as the reader sees them, its controls in the shared state
and the link, a bad link value named in a notice, and the chart as a pure function."""

import pytest

from tests.dashboard import AppTest, bugs_fail_the_tests, gib, metric  # noqa: F401  (app/ on the path)
from tests.dashboard import app as run_app

# isort: split
from charts import training_bar
from finetuning import components

from planner import load_gpu
from planner.training import train_estimate
from planner.training.search import max_micro_batch, plans

PAGE = "views/finetune.py"
PHI3 = "microsoft/Phi-3-small-8k-instruct"  # the dashboard's default model


def app(**query) -> AppTest:
    return run_app(PAGE, **query)


def test_renders_the_default_model_with_verdict_table_chart_and_plans():
    at = app()
    e = train_estimate(PHI3, gpu="rtx-4090")
    assert metric(at, "total") == gib(e.total_bytes) and metric(at, "peak moment") == e.peak_phase
    assert "Does not fit on GeForce RTX 4090" in at.error[0].value and metric(at, "step time") == "—"
    table = at.table[0].value
    assert list(table["component"]) == [*(k for k, v in components(e).items() if v), "total"]  # zeros left out
    assert table["GiB"].iloc[-1] == f"{e.total_bytes / 2**30:,.2f}"
    # the Trainer's fused AdamW adds nothing at the step: the tied embedding's gradient sum in backward is the peak
    assert "backward (peak)" in list(at.table[1].value["moment"])
    assert len(at.table[2].value) == len(plans(PHI3, gpu="rtx-4090")) > 0  # the cheapest ways
    assert at.get("plotly_chart")


def test_qlora_changes_the_total_and_shows_speed_with_its_prior():
    at = app()
    full = metric(at, "total")
    at.selectbox(key="method").set_value("qlora").run()
    e = train_estimate(PHI3, gpu="rtx-4090", method="qlora")
    assert metric(at, "total") == gib(e.total_bytes) != full
    assert metric(at, "trainable parameters") == f"{e.trainable_params / 1e6:,.1f} M"
    assert "Fits" in at.success[0].value and metric(at, "step time") != "—"
    assert "a prior, not a measurement" in " ".join(c.value for c in at.caption)
    assert metric(at, "largest micro-batch") == f"{max_micro_batch(PHI3, gpu='rtx-4090', method='qlora'):,}"
    assert at.query_params["method"] == "qlora"


def test_the_cheapest_ways_under_lora_list_every_method():
    """The search beside a LoRA or QLoRA setup gives each method the options that apply to it: full fine-tuning takes
    no LoRA rank (it raised "lora_rank 16 applies to method lora or qlora, got method 'full'" in the table's place)."""
    at = app(model="meta-llama/Llama-3.1-8B", method="qlora")
    assert not at.exception and not [e for e in at.error if "applies to method" in e.value]
    shown = at.table[-1].value
    expected = plans("meta-llama/Llama-3.1-8B", gpu="rtx-4090", lora_rank=16)
    assert len(shown) == len(expected) and {r["method"] for r in expected} == {"full", "lora", "qlora"}


def test_bad_link_values_are_named_and_the_defaults_shown():
    at = app(method="foo", lora_rank="0", lora_targets=["q_proj", "nope"], seq_len="1e9")
    notes = " ".join(w.value for w in at.warning)
    assert "method=foo is not one of full, lora, qlora" in notes
    assert "lora_rank=0 is below the minimum 1" in notes and "lora_targets=nope is not one of" in notes
    assert "seq_len=1e9 is not a whole number" in notes
    assert metric(at, "total") == gib(train_estimate(PHI3, gpu="rtx-4090").total_bytes)


def test_the_state_survives_a_copied_link():
    at = app(model="meta-llama/Llama-3.1-8B", gpu="h100-sxm")
    at.selectbox(key="method").set_value("lora").run()
    at.number_input(key="lora_rank").set_value(64).run()
    at.multiselect(key="lora_targets").set_value(["q_proj", "v_proj"]).run()
    at.number_input(key="seq_len").set_value(4096).run()
    at.number_input(key="n_gpus").set_value(2).run()
    at.selectbox(key="distribution").set_value("zero3").run()
    e = train_estimate("meta-llama/Llama-3.1-8B", gpu="h100-sxm", method="lora", lora_rank=64,
                       lora_targets=["q_proj", "v_proj"], seq_len=4096, n_gpus=2, distribution="zero3")
    assert metric(at, "total per GPU") == gib(e.total_bytes)
    link = dict(at.query_params)
    assert link["lora_targets"] == ["q_proj", "v_proj"] and link["distribution"] == "zero3"
    again = app(**link)
    assert [m.value for m in again.metric] == [m.value for m in at.metric]
    assert again.multiselect(key="lora_targets").value == ["q_proj", "v_proj"]
    assert again.number_input(key="lora_rank").value == 64 and not again.warning


def test_a_memory_budget_has_a_verdict_but_no_speed_and_gb_on_request():
    at = app(gpu="custom", budget="80", model="meta-llama/Llama-3.1-8B", method="lora", unit="GB")
    e = train_estimate("meta-llama/Llama-3.1-8B", method="lora")
    assert metric(at, "total") == f"{e.total_bytes / 1e9:,.2f} GB" and "Fits on a 80 GiB budget" in at.success[0].value
    assert metric(at, "step time") == "—" and "GB" in at.table[0].value.columns


def test_lora_without_a_target_says_so_and_keeps_the_controls():
    at = app(method="lora", lora_targets="")
    assert "Pick at least one LoRA target module" in at.error[0].value
    at.multiselect(key="lora_targets").set_value(["all-linear"]).run()
    assert "Pick at least" not in " ".join(e.value for e in at.error) and metric(at, "total").endswith("GiB")


def test_targets_the_model_lacks_are_named():
    at = app(method="lora", lora_targets=["q_proj", "v_proj"])  # Phi-3-small fuses them as qkv_proj
    assert "'q_proj'" in at.error[0].value and "has no module by that name" in at.error[0].value
    assert "qkv_proj" in at.error[0].value


def test_training_bar_stacks_the_components_against_the_usable_memory():
    e = train_estimate("meta-llama/Llama-3.1-8B", method="qlora")
    parts = components(e)
    fig = training_bar(parts, unit="GiB", budget_bytes=load_gpu("rtx-4090").usable_memory_bytes, reserve_pct=5)
    assert [b.name for b in fig.data] == list(parts) and parts["overhead"] == e.overhead_bytes
    assert sum(b.x[0] for b in fig.data) == pytest.approx(e.total_bytes / 2**30)
    assert len(fig.layout.shapes) == 2  # usable and reserve


def test_the_estimates_notes_are_shown():
    """The notes a training estimate carries (here QLoRA's fp32 embedding and output layer) are on the page."""
    from tests.dashboard import caption

    at = app(model="meta-llama/Llama-3.1-8B", method="qlora")
    note = train_estimate("meta-llama/Llama-3.1-8B", method="qlora", gpu="rtx-4090").notes
    assert note and "Of the weights" in caption(at).replace("\\", "")


def test_a_setup_that_does_not_fit_is_pointed_to_the_way_that_does_on_as_many_gpus():
    """A 70B full fine-tune on 8 H100s under FSDP without checkpointing does not fit; with it, it does (the cheapest
    ways' own row): the page says so above the table, which gives each way's step time."""
    at = app(model="meta-llama/Llama-3.1-70B-Instruct", gpu="h100-sxm", n_gpus="8", method="full",
             distribution="fsdp")
    rows = [p for p in plans("meta-llama/Llama-3.1-70B-Instruct", gpu="h100-sxm") if p["method"] == "full"
            and p["n_gpus"] <= 8]
    assert rows and rows[0]["gradient_checkpointing"] and rows[0]["distribution"] == "fsdp"
    assert at.info[0].value.replace("\\", "") == (
        "full fine-tuning fits on 8 × H100 SXM5 80GB with gradient checkpointing on under FSDP "
        f"({rows[0]['peak_bytes'] / 2**30:,.2f} GiB per GPU): its row below.")
    assert f"{rows[0]['step_seconds']:,.2f} s" in list(at.table[-1].value["step time"])
