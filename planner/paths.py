"""Where the bundled data files are: the repository's profiles/ or, in a wheel, planner/_profiles."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path


@lru_cache(maxsize=1)
def profiles_dir() -> Path:
    """profiles/ folder; PLANNER_PROFILES overrides it."""
    if env := os.environ.get("PLANNER_PROFILES"):
        return Path(env)
    here = Path(__file__).resolve().parent
    for candidate in (here / "_profiles", here.parent / "profiles"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"no profiles folder next to {here}")


def published_config(model_id: str) -> Path:
    """Where this checkout keeps a model's published config.json (tests/fixtures/configs/<org>__<name>.json); the
    file may be missing, and is in an installed wheel, which has no tests/."""
    configs = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "configs"
    return configs / (model_id.replace("/", "__") + ".json")


def read_yaml(path: Path):
    """A data file's content; libyaml's C loader when PyYAML has it (5× faster on the profiles)."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with open(path, encoding="utf-8") as f:
        return yaml.load(f, Loader=loader)  # noqa: S506 — a SafeLoader
