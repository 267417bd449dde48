"""This machine: GPUs by NVML (a fake one here: CI has no GPU, see tests/nvml_fakes.py), names matched to the
catalog, system and Apple unified memory, the local GPU as a planner GPU and Python-API verdicts against the memory
free now, and clear reasons where no GPU, driver or pynvml exists.

The `machine` verb, `--gpu local` on the command line and the dashboard's pre-selection are in test_machine_cli.py.
"""

import pytest

from planner import estimate, load_gpu
from planner.errors import PlannerError
from planner.fit import context_per_quant
from planner.machine import detect, local_gpu, match_gpu, nvidia_gpus, system_memory

from . import nvml_fakes
from .nvml_fakes import GIB, H100, RTX_4090, UNKNOWN, FakeNVML

fake_nvml, no_pynvml = nvml_fakes.fake_nvml, nvml_fakes.no_pynvml  # the fixtures


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
    ("NVIDIA L40", 46068, "l40"),  # not the L40S
    ("NVIDIA A10", 23028, "a10"),  # not the A10G
    ("NVIDIA GeForce RTX 3090 Ti", 24564, "rtx-3090-ti"),
    ("NVIDIA GeForce RTX 3060", 12288, "rtx-3060"),
    ("NVIDIA GeForce RTX 4070 Ti SUPER", 16376, "rtx-4070-ti-super"),
    # the entry's catalog name counts as well as its id
    ("NVIDIA RTX PRO 6000 Blackwell Workstation Edition", 97887, "rtx-pro-6000"),
    ("NVIDIA RTX 6000 Ada Generation", 49140, "rtx-6000-ada"),
    # not the same GPU as any catalog entry
    ("NVIDIA GeForce RTX 3060", 8192, None),   # the 8 GB card
    ("NVIDIA GeForce RTX 4070 Ti", 12282, None),
    ("NVIDIA GeForce RTX 4070 Laptop GPU", 8188, None),
    ("NVIDIA GeForce RTX 4060 Ti", 8188, None),   # the 8 GB card
    ("NVIDIA GeForce RTX 4090 D", 24564, None),
    ("NVIDIA GeForce RTX 4090 Laptop GPU", 16376, None),
    ("NVIDIA H200 NVL", 143771, None),
    ("NVIDIA A100-PCIE-40GB", 40960, None),
    ("NVIDIA RTX PRO 6000 Blackwell Max-Q Workstation Edition", 97887, None),
    ("Quadro RTX 6000", 24576, None),
    ("Tesla V100-PCIE-32GB", 32768, None),
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
    assert a.catalog_id == "m2" and a.gpu_share == pytest.approx(2 / 3)
    # the share follows the machine's RAM, not the chip's catalog entry: macOS gives 2/3 up to 32 GiB, 0.75 from 36
    # (llama.cpp logs: 17179.89 MB of 24 GB, 28991.03 MB of 36 GB); the catalog's M4 Pro is a 64 GB one
    for ram, share in ((24, 2 / 3), (32, 2 / 3), (36, 0.75), (64, 0.75)):
        mac_ram = {"hw.memsize": str(ram * GIB), "machdep.cpu.brand_string": "Apple M4 Pro"}.get
        a = detect(system="Darwin", sysctl=mac_ram).apple
        assert a.catalog_id == "m4-pro" and a.gpu_share == pytest.approx(share)
    unknown = {"hw.memsize": str(16 * GIB), "machdep.cpu.brand_string": "Apple M9"}.get
    assert detect(system="Darwin", sysctl=unknown).apple.catalog_id is None
    g = local_gpu(system="Darwin", sysctl=mac)  # no NVIDIA GPU: the Apple GPU's share of unified memory
    assert g.id == "local:0" and g.vendor == "apple" and g.usable_memory_bytes == 96 * GIB
    assert g.memory_bandwidth_bytes_per_s == load_gpu("m3-max").memory_bandwidth_bytes_per_s
    assert detect(system="Linux", sysctl=mac).apple is None


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
