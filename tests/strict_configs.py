"""What the strict config.json tests share: a known-good config, loading a dict as a config.json, and the check
that a refusal is one clean line naming its source."""

import pytest

from planner import ConfigImportError
from planner.hf_import import spec_from_config

from .conftest import fixture_config

LLAMA = fixture_config("meta-llama/Meta-Llama-3-8B")


def load(raw: dict):
    return spec_from_config(raw, name="m", source="config.json")


def assert_clean(message: str, source: str = "config.json") -> None:
    """One line naming the source; no pydantic wording or docs URL."""
    assert message.startswith(f"{source}: ") and "\n" not in message, message
    assert "pydantic" not in message and "http" not in message and "Value error" not in message, message


def refused(raw: dict, *fragments: str) -> str:
    with pytest.raises(ConfigImportError) as info:
        load(raw)
    message = str(info.value)
    assert_clean(message)
    for fragment in fragments:
        assert fragment in message, message
    return message
