"""Exact JSON helpers for the entity corpus and property tests: Decimals kept, floats refused."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

__all__ = ["exact_json", "parse"]


def exact_json(value: Any) -> str:
    """Canonical JSON text (sorted keys) writing Decimals with their exact digits; no floats."""
    if value is None or isinstance(value, bool | str):
        return json.dumps(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        assert value.is_finite(), value
        return str(value)
    if isinstance(value, dict):
        items = sorted(value.items())
        return "{" + ",".join(f"{json.dumps(k)}:{exact_json(v)}" for k, v in items) + "}"
    if isinstance(value, list):
        return "[" + ",".join(exact_json(item) for item in value) + "]"
    raise TypeError(f"not exact JSON: {type(value).__name__} {value!r}")


def parse(text: str) -> Any:
    """JSON text as the wire module parses it: fractional numbers as `Decimal`."""
    return json.loads(text, parse_float=Decimal)
