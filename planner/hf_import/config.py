"""The typed reader every importer step goes through: config.json values with the family defaults behind them."""

from __future__ import annotations

from typing import Any

from ..errors import ConfigImportError
from .families import BOUNDS, FAMILY_DEFAULTS
from .values import check_count, check_flag, check_text

_MISSING = object()


class _Config:
    """config.json values with the family defaults behind them, read through typed accessors only."""

    def __init__(self, raw: dict, model_type: str, where: str):
        self.raw, self.model_type, self.where = raw, model_type, where
        self.defaults = FAMILY_DEFAULTS[model_type]

    def value(self, key: str, fallback: Any = _MISSING) -> Any:
        """The config.json value (an explicit null included), else the family default, else fallback."""
        if key in self.raw:
            return self.raw[key]
        if key in self.defaults:
            return self.defaults[key]
        if fallback is _MISSING:
            raise ConfigImportError(f"{self.where}: required field {key!r} is missing "
                                    f"(model_type {self.model_type!r})")
        return fallback

    def count(self, key: str, fallback: Any = _MISSING, *, nullable: bool = False) -> int | None:
        """An integer within the key's BOUNDS; None only for an explicit null (or fallback) where nullable."""
        value = self.value(key, fallback)
        if value is None and nullable:
            return None
        return check_count(self.where, key, value, *BOUNDS[key])

    def flag(self, key: str, fallback: bool = False) -> bool:
        return check_flag(self.where, key, self.value(key, fallback))

    def text(self, key: str, fallback: Any = _MISSING, *, choices=None, nullable: bool = False) -> str | None:
        value = self.value(key, fallback)
        if value is None and nullable:
            return None
        return check_text(self.where, key, value, choices)
