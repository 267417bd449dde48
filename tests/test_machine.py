"""This machine: GPUs by NVML (a fake one here: CI has no GPU), names matched to the catalog, `--gpu local` planning
against the memory free now, and clear answers where no GPU, driver or pynvml exists."""

import json
from types import SimpleNamespace

import pytest

from planner import estimate, load_gpu
from planner.cli import main
from planner.errors import PlannerError
from planner.fit import context_per_quant
from planner.machine import detect, local_gpu, match_gpu, nvidia_gpus, system_memory

GIB = 2**30


class NVMLError(Exception):
    """What pynvml raises."""


class FakeNVML:
    """pynvml's functions over a list of (name, total, used, (major, minor)); `fail_init` makes nvmlInit raise."""

    NVMLError = NVMLError

    def __init__(self, devices, *, driver="550.54.15", fail_init=None, as_bytes=False):
        self.devices, self.driver, self.fail_init, self.as_bytes = devices, driver, fail_init, as_bytes
        self.started = self.shut = 0

    def _s(self, text):
        return text.encode() if self.as_bytes else text

    def nvmlInit(self):
        if self.fail_init:
            raise NVMLError(self.fail_init)
        self.started += 1

    def nvmlShutdown(self):
        self.shut += 1

    def nvmlDeviceGetCount(self):
        return len(self.devices)

    def nvmlDeviceGetHandleByIndex(self, i):
        if not 0 <= i < len(self.devices):
            raise NVMLError("Invalid Argument")
        return i

    def nvmlDeviceGetName(self, h):
        return self._s(self.devices[h][0])

    def nvmlDeviceGetMemoryInfo(self, h):
        _, total, used, _ = self.devices[h]
        return SimpleNamespace(total=total, used=used, free=total - used)

    def nvmlSystemGetDriverVersion(self):
        return self._s(self.driver)

    def nvmlDeviceGetCudaComputeCapability(self, h):
        cc = self.devices[h][3]
        if cc is None:
            raise NVMLError("Not Supported")
        return cc


RTX_4090 = ("NVIDIA GeForce RTX 4090", 24564 * 2**20, 4 * GIB, (8, 9))
H100 = ("NVIDIA H100 80GB HBM3", 81559 * 2**20, 60 * GIB, (9, 0))
UNKNOWN = ("NVIDIA Fancy Z9 Prototype", 12 * GIB, 1 * GIB, None)


@pytest.fixture
def fake_nvml(monkeypatch):
    """Install a fake pynvml with the given devices (planner.machine.import_nvml is looked up at call time)."""
    import planner.machine as machine

    def install(devices, **kw):
        fake = FakeNVML(devices, **kw)
        monkeypatch.setattr(machine, "import_nvml", lambda: fake)
        return fake

    return install


@pytest.fixture
def no_pynvml(monkeypatch):
    import planner.machine as machine

    def missing():
        raise ImportError("No module named 'pynvml'")

    monkeypatch.setattr(machine, "import_nvml", missing)


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


# Matching NVML's names to the catalog

@pytest.mark.parametrize("name, total_mib, gid", [
    ("NVIDIA GeForce RTX 4090", 24564, "rtx-4090"),
    ("NVIDIA H100 80GB HBM3", 81559, "h100-sxm"),
    ("NVIDIA H100 PCIe", 81559, "h100-pcie"),
    ("NVIDIA H200", 143771, "h200"),
    ("NVIDIA A100-SXM4-80GB", 81920, "a100-sxm-80gb"),
    ("NVIDIA A100-SXM4-40GB", 40960, "a100-sxm-40gb"),
    ("NVIDIA A100 80GB PCIe", 81920, "a100-pcie-80gb"),
    ("Tesla T4", 15360, "t4"),
    ("Tesla V100-SXM2-32GB", 32768, "v100-32gb"),
    ("NVIDIA A10G", 23028, "a10g"),
    ("NVIDIA L4", 23034, "l4"),
    ("NVIDIA L40S", 46068, "l40s"),
    ("NVIDIA RTX A6000", 49140, "rtx-a6000"),
    ("NVIDIA GeForce RTX 4060 Ti", 16380, "rtx-4060-ti-16gb"),
    ("NVIDIA B200", 183359, "b200"),
    # not the same GPU as any catalog entry
    ("NVIDIA GeForce RTX 4060 Ti", 8188, None),   # the 8 GB card
    ("NVIDIA GeForce RTX 4090 D", 24564, None),
    ("NVIDIA GeForce RTX 4090 Laptop GPU", 16376, None),
    ("NVIDIA L40", 46068, None),
    ("NVIDIA A10", 23028, None),
    ("NVIDIA H200 NVL", 143771, None),
    ("NVIDIA A100-PCIE-40GB", 40960, None),
    ("Tesla V100-PCIE-32GB", 32768, None),
    ("NVIDIA GeForce RTX 3090 Ti", 24564, None),
    ("NVIDIA Fancy Z9 Prototype", 12288, None),
    ("", 12288, None),
])
def test_nvml_names_match_the_catalog(name, total_mib, gid):
    assert match_gpu(name, total_mib * 2**20) == gid


# Detection

def test_two_gpus_are_listed_with_catalog_ids_memory_driver_and_compute_capability():
    fake = FakeNVML([RTX_4090, H100])
    m = detect(fake)
    assert m.no_gpu_reason is None and m.driver_version == "550.54.15"
    assert [(g.index, g.catalog_id, g.compute_capability) for g in m.gpus] == [(0, "rtx-4090", "8.9"),
                                                                              (1, "h100-sxm", "9.0")]
    assert m.gpus[0].total_bytes == 24564 * 2**20 and m.gpus[0].free_bytes == 24564 * 2**20 - 4 * GIB
    assert m.gpus[1].used_bytes == 60 * GIB
    assert fake.started == fake.shut == 1  # NVML is shut down again


def test_older_pynvml_bytes_names_are_decoded():
    m = detect(FakeNVML([RTX_4090, UNKNOWN], as_bytes=True))
    assert m.gpus[0].name == "NVIDIA GeForce RTX 4090" and m.gpus[0].catalog_id == "rtx-4090"
    assert m.gpus[1].name == "NVIDIA Fancy Z9 Prototype" and m.gpus[1].catalog_id is None
    assert m.gpus[1].compute_capability is None  # "Not Supported" is no reason to drop the GPU
    assert m.driver_version == "550.54.15"


def test_missing_pynvml_and_failed_init_are_reasons_not_errors(no_pynvml):
    gpus, _, reason = nvidia_gpus()
    assert gpus == [] and "pynvml is not installed" in reason and "nvidia-ml-py" in reason
    gpus, _, reason = nvidia_gpus(FakeNVML([], fail_init="NVML Shared Library Not Found"))
    assert gpus == [] and reason == "NVML did not start: NVML Shared Library Not Found"
    assert nvidia_gpus(FakeNVML([]))[2] == "NVML reports no GPU"


def test_system_memory_from_meminfo_and_macos(tmp_path):
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal:       65536000 kB\nMemFree:  1000 kB\nMemAvailable:   32768000 kB\n")
    assert system_memory("Linux", meminfo=str(meminfo)) == (65536000 * 1024, 32768000 * 1024)
    sysctl = {"hw.memsize": str(96 * GIB)}.get
    assert system_memory("Darwin", sysctl) == (96 * GIB, None)
    total, _ = system_memory("Linux", meminfo=str(tmp_path / "absent"))  # os.sysconf
    assert total is None or total > 0


def test_apple_silicon_unified_memory_and_gpu_share(monkeypatch, no_pynvml):
    mac = {"hw.memsize": str(128 * GIB), "machdep.cpu.brand_string": "Apple M3 Max"}.get
    m = detect(system="Darwin", sysctl=mac)
    assert m.apple.catalog_id == "m3-max" and m.apple.gpu_share == 0.75
    assert m.apple.gpu_usable_bytes == 96 * GIB and m.to_dict()["apple"]["gpu_usable_bytes"] == 96 * GIB
    small = {"hw.memsize": str(16 * GIB), "machdep.cpu.brand_string": "Apple M2"}.get
    a = detect(system="Darwin", sysctl=small).apple
    assert a.catalog_id is None and a.gpu_share == pytest.approx(2 / 3)
    g = local_gpu(system="Darwin", sysctl=mac)  # no NVIDIA GPU: the Apple GPU's share of unified memory
    assert g.id == "local:0" and g.vendor == "apple" and g.usable_memory_bytes == 96 * GIB
    assert g.memory_bandwidth_bytes_per_s == load_gpu("m3-max").memory_bandwidth_bytes_per_s
    assert detect(system="Linux", sysctl=mac).apple is None


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


# The local GPU as a planner GPU

def test_local_gpu_is_the_catalog_entry_with_free_memory(fake_nvml):
    fake_nvml([RTX_4090, H100])
    g = load_gpu("local")
    catalog = load_gpu("rtx-4090")
    assert g.id == "local:0" and g.usable_memory_bytes == 24564 * 2**20 - 4 * GIB
    assert g.memory_bandwidth_bytes_per_s == catalog.memory_bandwidth_bytes_per_s
    assert g.flops_per_s == catalog.flops_per_s
    h = load_gpu("local:1")
    assert h.id == "local:1" and h.usable_memory_bytes == 81559 * 2**20 - 60 * GIB
    assert h.memory_bandwidth_bytes_per_s == load_gpu("h100-sxm").memory_bandwidth_bytes_per_s
    assert load_gpu(" LOCAL:1 ").id == "local:1"
    with pytest.raises(PlannerError, match="has 2 NVIDIA GPU"):
        load_gpu("local:2")
    with pytest.raises(PlannerError, match="local:N"):
        load_gpu("local:x")


def test_unknown_gpu_is_a_custom_gpu_without_speed_figures(fake_nvml):
    from planner.machine import has_speed

    fake_nvml([UNKNOWN])
    g = load_gpu("local")
    assert g.usable_memory_bytes == 11 * GIB and g.memory_marketed_bytes == 12 * GIB and g.flops_per_s == {}
    assert not has_speed(g) and has_speed(load_gpu("rtx-4090"))


def test_no_gpu_is_a_planner_error_naming_the_reason(no_pynvml):
    with pytest.raises(PlannerError, match="no NVIDIA GPU found: pynvml is not installed"):
        local_gpu(system="Linux")


def test_python_api_verdict_uses_free_memory(fake_nvml):
    # Llama-3.1-8B in bf16 at 8K needs ~17.5 GiB: it fits an idle 4090, not one with 10 GiB in use
    fake_nvml([RTX_4090])
    assert estimate("llama-3.1-8b", quant="bf16", context=8192, gpu="local").performance.fits
    busy = ("NVIDIA GeForce RTX 4090", 24564 * 2**20, 10 * GIB, (8, 9))
    fake_nvml([busy])
    p = estimate("llama-3.1-8b", quant="bf16", context=8192, gpu="local").performance
    assert not p.fits and p.gpu == "local:0" and p.usable_memory_bytes == 24564 * 2**20 - 10 * GIB
    assert estimate("llama-3.1-8b", quant="bf16", context=8192, gpu="rtx-4090").performance.fits
    idle = context_per_quant("llama-3.1-8b", gpu="rtx-4090").set_index("quant")["max_context"]
    fake_nvml([busy])
    now = context_per_quant("llama-3.1-8b", gpu="local").set_index("quant")["max_context"]
    assert (now <= idle).all() and now["q4_k_m"] < idle["q4_k_m"]


# The CLI

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
    assert code == 0 and "free now" in rows[0] and all(r.split()[:2] == ["local:0", "1"] for r in rows[2:])
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
        "Qwen/Qwen3-0.6B", "Qwen/Qwen3-4B", "Qwen/Qwen3-8B", "Qwen/Qwen3-14B", "Qwen/Qwen3-32B", "Qwen/Qwen3-30B-A3B",
        "Qwen/Qwen3-235B-A22B", "Qwen/Qwen3-235B-A22B-Instruct-2507", "Qwen/Qwen3-Next-80B-A3B-Instruct"}
    assert "model_type" in out.splitlines()[0] and "qwen3_moe" in out and "MoE 8/128" in out
    _, out, _ = run(capsys, "models", "--search", "mixtral")  # model_type
    assert len(out.splitlines()) == 3
    _, out, _ = run(capsys, "models", "--search", "phi-3-mini")  # alias
    assert "microsoft/Phi-3-mini-4k-instruct" in out
    _, out, _ = run(capsys, "models", "--search", "llama 8b")  # every word
    assert {r.split()[0] for r in out.splitlines()[1:]} == {"meta-llama/Llama-3.1-8B", "meta-llama/Meta-Llama-3-8B",
                                                                    "meta-llama/Meta-Llama-3-8B-Instruct"}
    _, out, _ = run(capsys, "models", "--search", "gemma-2")  # family
    assert len(out.splitlines()) == 3
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


def test_python_estimate_on_a_gpu_without_figures_gives_no_speed(fake_nvml):
    """A local GPU the catalog lacks: the verdict against its free memory, and no speed rather than a made-up one."""
    from planner import estimate

    fake_nvml([UNKNOWN])
    p = estimate("meta-llama/Llama-3.2-1B", gpu="local", context=2048).performance
    assert p.fits and p.usable_memory_bytes == 11 * GIB
    assert p.decode_tokens_per_s is None and p.prefill_seconds is None and p.throughput_tokens_per_s is None


def test_local_gpu_checks_what_llama_cpp_leaves_in_system_ram_against_this_machine(fake_nvml, monkeypatch):
    """With the machine's own GPU, its available RAM is the system-RAM budget of the layers --fit leaves there:
    Llama-3.1-70B Q4_0 on a 24 GB card leaves about 19 GiB in system RAM, which 8 GiB free does not hold."""
    import planner.machine as machine

    fake_nvml([RTX_4090])
    kw = dict(quant="q4_0", context=8192, gpu="local", engine="llama.cpp")
    monkeypatch.setattr(machine, "system_memory", lambda: (64 * GIB, 48 * GIB))
    roomy = estimate("meta-llama/Llama-3.1-70B", **kw)
    assert roomy.performance.fits and roomy.engine_details["host_memory_from"] == "this machine's available RAM"
    monkeypatch.setattr(machine, "system_memory", lambda: (16 * GIB, 8 * GIB))
    tight = estimate("meta-llama/Llama-3.1-70B", **kw)
    assert not tight.performance.fits and "8.00 GiB is free" in tight.performance.reason
    catalog = estimate("meta-llama/Llama-3.1-70B", **{**kw, "gpu": "rtx-4090"})  # another machine: not checked
    assert catalog.performance.fits and "host_memory_from" not in catalog.engine_details
