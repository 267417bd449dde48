"""This machine on the command line and in the dashboard: the `machine` verb (text and JSON, NVIDIA and Apple),
`--gpu local` in estimate, fit and train against the memory free now, one clear line without a GPU, the models
search, and the dashboard pre-selecting this machine's GPU. pynvml is faked (tests/nvml_fakes.py)."""

import json

import pytest

from planner.cli import main

from . import nvml_fakes
from .nvml_fakes import GIB, H100, RTX_4090, UNKNOWN, FakeNVML

fake_nvml, no_pynvml = nvml_fakes.fake_nvml, nvml_fakes.no_pynvml  # the fixtures


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


# The CLI

def test_machine_verb_on_a_mac(no_pynvml, monkeypatch, capsys):
    import planner.machine as machine

    mac = {"hw.memsize": str(128 * GIB), "machdep.cpu.brand_string": "Apple M3 Max"}.get
    monkeypatch.setattr(machine, "_sysctl", mac)
    monkeypatch.setattr(machine.platform, "system", lambda: "Darwin")
    code, out, _ = run(capsys, "machine")
    assert code == 0 and "no NVIDIA GPU (a Mac: its Apple GPU below)" in out
    assert "Apple M3 Max (catalog m3-max): 128.00 GiB unified memory, the GPU may use 96.00 GiB (75%)" in out
    assert "system RAM: 128.00 GiB total" in out
    code, out, _ = run(capsys, "estimate", "llama-3.1-8b", "--gpu", "local")
    assert code == 0 and "the GPU may use 96.00 GiB of 128.00 GiB unified memory (75%)" in out
    assert "local:0: fits in 96.00 GiB" in out


def test_machine_verb_prints_gpus_in_gib(fake_nvml, capsys):
    fake_nvml([RTX_4090, H100, UNKNOWN])
    code, out, err = run(capsys, "machine")
    assert code == 0 and err == ""
    assert "GPU 0: NVIDIA GeForce RTX 4090 (catalog rtx-4090, compute capability 8.9)" in out
    assert "GPU 1: NVIDIA H100 80GB HBM3 (catalog h100-sxm, compute capability 9.0)" in out
    assert "GPU 2: NVIDIA Fancy Z9 Prototype (not in the GPU catalog" in out
    assert "memory: 23.99 GiB total, 4.00 GiB used, 19.99 GiB free" in out
    assert "NVIDIA driver 550.54.15" in out and "system RAM:" in out and "--gpu local" in out


def test_machine_json_is_bytes(fake_nvml, capsys):
    fake_nvml([RTX_4090, H100])
    code, out, _ = run(capsys, "machine", "--json")
    data = json.loads(out)
    assert code == 0 and data["driver_version"] == "550.54.15" and data["no_gpu_reason"] is None
    assert data["gpus"][1] == {"index": 1, "name": "NVIDIA H100 80GB HBM3", "catalog_id": "h100-sxm",
                               "total_bytes": 81559 * 2**20, "used_bytes": 60 * GIB,
                               "free_bytes": 81559 * 2**20 - 60 * GIB, "compute_capability": "9.0"}


def test_machine_without_pynvml_or_driver_is_one_clear_line(no_pynvml, capsys, monkeypatch):
    code, out, err = run(capsys, "machine")
    assert code == 0 and err == ""
    assert "no NVIDIA GPU found: pynvml is not installed (pip install nvidia-ml-py, or planner[gpu])" in out
    import planner.machine as machine

    monkeypatch.setattr(machine, "import_nvml", lambda: FakeNVML([], fail_init="Driver Not Loaded"))
    code, out, _ = run(capsys, "machine", "--json")
    assert code == 0 and json.loads(out)["no_gpu_reason"] == "NVML did not start: Driver Not Loaded"


def test_estimate_gpu_local(fake_nvml, capsys):
    fake_nvml([RTX_4090, H100])
    code, out, err = run(capsys, "estimate", "llama-3.1-8b", "--quant", "q4_k_m", "--gpu", "local")
    assert code == 0 and err == ""
    assert "local:0 = NVIDIA GeForce RTX 4090 (catalog rtx-4090); free now: 19.99 GiB of 23.99 GiB" in out
    assert "local:0: fits in 19.99 GiB" in out and "tokens/s" in out
    code, out, _ = run(capsys, "estimate", "llama-3.1-70b", "--quant", "q4_k_m", "--gpu", "local:1")
    assert code == 0 and "free now: 19.65 GiB of 79.65 GiB" in out and "local:1: does NOT fit" in out
    code, out, _ = run(capsys, "estimate", "llama-3.1-8b", "--gpu", "local:1", "--json")
    data = json.loads(out)
    assert data["performance"]["usable_memory_bytes"] == 81559 * 2**20 - 60 * GIB
    assert data["local_gpu"]["catalog_id"] == "h100-sxm" and data["local_gpu"]["total_bytes"] == 81559 * 2**20


def test_estimate_gpu_local_unknown_gpu_shows_no_speed(fake_nvml, capsys):
    fake_nvml([UNKNOWN])
    code, out, _ = run(capsys, "estimate", "llama-3.2-1b", "--gpu", "local")
    assert code == 0 and "not in the catalog: no speed figures" in out and "local:0: fits in 11.00 GiB" in out
    assert "speed: not shown" in out and "tokens/s" not in out


def test_gpu_local_without_a_gpu_is_exit_2_one_line(no_pynvml, capsys):
    for argv in (["estimate", "llama-3.1-8b", "--gpu", "local"], ["fit", "llama-3.1-8b", "--gpu", "local"],
                 ["train", "llama-3.2-1b", "--gpu", "local"]):
        code, out, err = run(capsys, *argv)
        assert code == 2 and out == "" and len(err.strip().splitlines()) == 1
        assert "no NVIDIA GPU found: pynvml is not installed" in err


def test_fit_gpu_local_answers_against_free_memory(fake_nvml, capsys):
    busy = ("NVIDIA GeForce RTX 4090", 24564 * 2**20, 12 * GIB, (8, 9))
    fake_nvml([busy])
    code, out, _ = run(capsys, "fit", "llama-3.1-8b", "--gpu", "local", "--json")
    local = {r["quant"]: r["max_context"] for r in json.loads(out)}
    code, out, _ = run(capsys, "fit", "llama-3.1-8b", "--gpu", "rtx-4090", "--json")
    catalog = {r["quant"]: r["max_context"] for r in json.loads(out)}
    assert local["bf16"] == 0 < catalog["bf16"] and local["q4_k_m"] < catalog["q4_k_m"]
    code, out, _ = run(capsys, "fit", "llama-3.1-8b", "--gpu", "local")
    assert code == 0 and out.startswith("llama-3.1-8b on local:0: largest context per quantization")
    assert "free now: 11.99 GiB of 23.99 GiB" in out and "weights alone do not fit" in out
    code, out, _ = run(capsys, "fit", "llama-3.1-8b", "--gpu", "local", "--context", "8K")
    rows = out.splitlines()
    assert code == 0 and rows[0].startswith("llama-3.1-8b: GPUs and formats that fit 8,192 tokens")
    assert "free now" in rows[1] and rows[2].startswith("ranked by")
    assert all(r.split()[:2] == ["local:0", "1"] for r in rows[4:])
    code, out, _ = run(capsys, "fit", "llama-3.1-70b", "--gpu", "local", "--context", "8K")
    assert code == 0 and "nothing on local:0 alone fits this configuration" in out


def test_train_gpu_local(fake_nvml, capsys):
    fake_nvml([RTX_4090])
    code, out, _ = run(capsys, "train", "llama-3.2-1b", "--method", "lora", "--gpu", "local")
    assert code == 0 and "free now: 19.99 GiB of 23.99 GiB" in out and "local:0: fits in 19.99 GiB" in out
    assert "largest micro-batch" in out and "step time" in out
    code, out, _ = run(capsys, "train", "llama-3.2-1b", "--gpu", "local", "--json")
    data = json.loads(out)
    assert data["fit"]["usable_memory_bytes"] == 24564 * 2**20 - 4 * GIB and data["local_gpu"]["id"] == "local:0"
    code, out, _ = run(capsys, "fit", "llama-3.2-1b", "--train", "--gpu", "local")
    assert code == 0 and "free now" in out and "8 GPUs" not in out
    assert all(line.split()[2] == "1" for line in out.splitlines()[3:] if line.startswith("  ") and
               line.split()[0] in ("full", "lora", "qlora"))


def test_models_search(capsys):
    code, out, _ = run(capsys, "models", "--search", "QWEN3-")
    rows = out.splitlines()[1:]
    assert code == 0 and {r.split()[0] for r in rows} == {
        "Qwen/Qwen3-0.6B", "Qwen/Qwen3-1.7B", "Qwen/Qwen3-4B",
        "Qwen/Qwen3-8B", "Qwen/Qwen3-14B", "Qwen/Qwen3-32B", "Qwen/Qwen3-30B-A3B",
        "Qwen/Qwen3-235B-A22B", "Qwen/Qwen3-235B-A22B-Instruct-2507", "Qwen/Qwen3-Next-80B-A3B-Instruct",
        "Qwen/Qwen3-Coder-30B-A3B-Instruct", "Qwen/Qwen3-30B-A3B-Instruct-2507", "Qwen/Qwen3-VL-8B-Instruct",
        "Qwen/Qwen3-VL-30B-A3B-Instruct"}
    assert "model_type" in out.splitlines()[0] and "qwen3_moe" in out and "MoE 8/128" in out
    _, out, _ = run(capsys, "models", "--types")  # the config.json model types planner reads
    assert {"llama", "qwen3_5_moe", "mistral3", "gemma3"} <= set(out.split())
    _, out, _ = run(capsys, "models", "--types", "--search", "qwen3_5")
    assert out.split() == ["qwen3_5", "qwen3_5_moe", "qwen3_5_moe_text", "qwen3_5_text"]
    _, out, _ = run(capsys, "models", "--search", "mistral3")  # the architecture the engines know it by
    assert len(out.splitlines()) == 3
    _, out, _ = run(capsys, "models", "--search", "mixtral")  # model_type
    assert len(out.splitlines()) == 3
    _, out, _ = run(capsys, "models", "--search", "phi-3-mini")  # alias
    assert "microsoft/Phi-3-mini-4k-instruct" in out
    _, out, _ = run(capsys, "models", "--search", "llama 8b")  # every word
    assert {r.split()[0] for r in out.splitlines()[1:-1]} == {"meta-llama/Llama-3.1-8B", "meta-llama/Meta-Llama-3-8B",
                                                                      "meta-llama/Meta-Llama-3-8B-Instruct",
                                                                      "meta-llama/Llama-3.1-8B-Instruct*",
                                                                      "deepseek-ai/DeepSeek-R1-Distill-Llama-8B"}
    assert out.splitlines()[-1].startswith("* a fine-tuned variant with its base model's shapes")
    _, out, _ = run(capsys, "models", "--search", "gemma-2")  # family, and gemma-2-9b-it, a variant of the base
    assert [r.split()[0] for r in out.splitlines()[1:4]] == ["google/gemma-2-27b", "google/gemma-2-9b",
                                                             "google/gemma-2-9b-it*"]
    code, out, _ = run(capsys, "models", "--search", "no-such-model")
    assert code == 0 and "no bundled model matches" in out


# The dashboard pre-selects this machine's GPU

@pytest.fixture
def dashboard(monkeypatch):
    """AppTest of the dashboard with a fresh local-GPU detection (the app caches it once per process)."""
    pytest.importorskip("streamlit")
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    app_dir = Path(__file__).resolve().parents[1] / "app"
    monkeypatch.syspath_prepend(str(app_dir))
    monkeypatch.setenv("PLANNER_DEBUG", "1")
    import state

    state.local_gpu_defaults.cache_clear()

    def start(**query):
        at = AppTest.from_file(str(app_dir / "streamlit_app.py"), default_timeout=120)
        at.query_params.update(query)
        at.run()
        assert not at.exception, at.exception
        return at

    yield start
    state.local_gpu_defaults.cache_clear()


def test_dashboard_preselects_the_local_gpu(fake_nvml, dashboard, monkeypatch):
    monkeypatch.setenv("PLANNER_LOCAL_FILES", "1")  # the user's own machine
    fake = fake_nvml([H100, RTX_4090])
    at = dashboard()
    gpu = at.sidebar.selectbox(key="gpu")
    assert gpu.value == "h100-sxm" and at.query_params["gpu"] == "h100-sxm"  # the link does not depend on it
    assert any(o.endswith("· this machine") for o in gpu.options)
    at.sidebar.selectbox(key="gpu").set_value("rtx-4090").run()  # the usual default, chosen: still in the link
    assert at.query_params["gpu"] == "rtx-4090"
    assert dashboard(gpu="l4").sidebar.selectbox(key="gpu").value == "l4"  # a link's GPU wins
    assert fake.started == 1  # detected once, not per run or session


def test_dashboard_unknown_local_gpu_is_a_memory_budget(fake_nvml, dashboard, monkeypatch):
    monkeypatch.setenv("PLANNER_LOCAL_FILES", "1")
    fake_nvml([UNKNOWN])
    at = dashboard()
    assert at.sidebar.selectbox(key="gpu").value == "custom" and at.sidebar.number_input(key="budget").value == 12.0


def test_dashboard_keeps_its_default_without_nvml_or_when_hosted(no_pynvml, dashboard, monkeypatch, fake_nvml):
    monkeypatch.setenv("PLANNER_LOCAL_FILES", "1")
    at = dashboard()  # pynvml missing: no error, the usual default
    assert at.sidebar.selectbox(key="gpu").value == "rtx-4090" and "gpu" not in at.query_params
    import state

    state.local_gpu_defaults.cache_clear()
    fake_nvml([], fail_init="Driver Not Loaded")
    assert dashboard().sidebar.selectbox(key="gpu").value == "rtx-4090"
    state.local_gpu_defaults.cache_clear()
    fake_nvml([H100])
    monkeypatch.setenv("PLANNER_LOCAL_FILES", "0")  # hosted: the server's GPU is not the visitor's
    assert dashboard().sidebar.selectbox(key="gpu").value == "rtx-4090"
