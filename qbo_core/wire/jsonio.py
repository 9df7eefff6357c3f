"""JSON in and out without losing a cent: numbers with a fraction are `Decimal`s.

`loads` parses every JSON number with a fraction or exponent as `Decimal`, so
`100.00` stays `Decimal("100.00")`. `dumps` writes `Decimal`s back as bare JSON
numbers with exactly their digits (the standard encoder cannot: it would quote
them or round-trip them through `float`).
"""

from __future__ import annotations

import json
import re
import secrets
from decimal import Decimal
from typing import Any

__all__ = ["dumps", "loads"]


#: A Decimal as `dumps` marks it, inside the JSON text: the nonce, then the digits.
_MARKED = re.compile(r'"\\u0000([0-9a-f]{16}):([^"\\]+)\\u0000"')


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def loads(text: bytes | str) -> Any:
    """Parse JSON text; fractional numbers become `Decimal`. Raises `ValueError`.

    `NaN` and `Infinity`, which Python's parser would accept, are refused: they are not JSON.
    """
    return json.loads(text, parse_float=Decimal, parse_constant=_refuse_constant)


def dumps(value: Any) -> bytes:
    """Compact UTF-8 JSON; each finite `Decimal` becomes a bare number with its own digits.

    Non-finite numbers (NaN, Infinity, as float or Decimal) have no JSON form and raise
    `ValueError`. Text is UTF-8; a lone surrogate (which `loads` accepts) cannot be, so a
    value holding one is written with ASCII escapes instead, which read back the same.
    """
    nonce = secrets.token_hex(8)
    marker = f"\x00{nonce}:"

    def mark(item: object) -> str:
        if isinstance(item, Decimal):
            if not item.is_finite():
                raise ValueError(f"{item} cannot be written as a JSON number")
            return f"{marker}{item}\x00"
        raise TypeError(f"{type(item).__name__} is not JSON serializable")

    def render(ascii_only: bool) -> bytes:
        text = json.dumps(
            value, default=mark, ensure_ascii=ascii_only, allow_nan=False, separators=(",", ":")
        )
        if nonce in text:
            # A marked Decimal is a JSON string "\u0000<nonce>:<digits>\u0000": unquote it.
            # One compiled pattern for every nonce (a pattern per call would be compiled
            # per call: the nonce is new each time); text that only looks marked, with
            # another nonce, is left as it was.
            text = _MARKED.sub(lambda found: found[2] if found[1] == nonce else found[0], text)
        return text.encode()

    try:
        return render(ascii_only=False)
    except UnicodeEncodeError:
        return render(ascii_only=True)
