import json
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"


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
