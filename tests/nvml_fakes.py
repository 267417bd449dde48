"""A fake pynvml for the tests of this machine's GPUs (CI has no GPU): FakeNVML over a list of devices, three such
devices, and the fixtures that install it or make pynvml missing."""

from types import SimpleNamespace

import pytest

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
