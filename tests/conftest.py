import json
from pathlib import Path

import pytest
from hypothesis import settings

FIXTURES = Path(__file__).parent / "fixtures"

# Property tests check values, not time: no per-example deadline (a loaded 2-core CI machine took 293 ms for one
# example of a test that asks 200). Speed is measured by the scripts under benchmarks/.
settings.register_profile("planner", deadline=None)
settings.load_profile("planner")


def fixture_config(model_id: str) -> dict:
    return json.loads((FIXTURES / "configs" / (model_id.replace("/", "__") + ".json")).read_text())


@pytest.fixture
def write_config(tmp_path):
    """Write a dict as config.json in a fresh folder; return the folder."""

    def _write(raw: dict, name: str = "model") -> Path:
        folder = tmp_path / name
        folder.mkdir()
        (folder / "config.json").write_text(json.dumps(raw))
        return folder

    return _write


@pytest.fixture(autouse=True)
def _no_internet_hub(monkeypatch, tmp_path_factory):
    """No test reaches huggingface.co: Hub reads go to a closed local port (refused at once) unless a test points
    HF_ENDPOINT at its own server, and the header cache lives in a temporary folder."""
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")
    monkeypatch.setenv("PLANNER_CACHE_DIR", str(tmp_path_factory.mktemp("planner-cache")))
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.delenv("HUGGING_FACE_HUB_TOKEN", raising=False)
