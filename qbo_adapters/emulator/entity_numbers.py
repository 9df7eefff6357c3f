"""Numbers in request bodies: JSON numbers (or numeric strings, as QBO accepts) checked for
range, money as integer cents, and numbers written back as QBO writes them (`money` is
also how the generator writes its amounts)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any, Final

from qbo_adapters.emulator.entity_faults import bad_value
from qbo_adapters.emulator.faults import QBOFault

__all__ = [
    "MAX_AMOUNT_CENTS",
    "MAX_QUANTITY",
    "money",
    "number_out",
    "to_cents",
    "to_decimal",
]

#: The largest amount QBO stores: 99,999,999,999.99 (eleven digits before the point).
MAX_AMOUNT_CENTS: Final = 9_999_999_999_999
#: The largest quantity, unit price or percentage a line detail takes.
MAX_QUANTITY: Final = Decimal("1e13")


def to_decimal(value: Any, prop: str, *, limit: Decimal | None = None) -> Decimal:
    """A JSON number (or numeric string, as QBO accepts) as a finite `Decimal` in range."""
    if isinstance(value, bool) or value is None:
        raise bad_value(prop, value, "java.math.BigDecimal")
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int | float):
        number = Decimal(str(value))
    elif isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except InvalidOperation as exc:
            raise bad_value(prop, value, "java.math.BigDecimal") from exc
    else:
        raise bad_value(prop, value, "java.math.BigDecimal")
    bound = limit if limit is not None else Decimal(MAX_AMOUNT_CENTS) / 100
    if not number.is_finite() or abs(number) > bound:
        raise QBOFault.single(
            "2010",
            "Request has invalid or unsupported property",
            f"Property Name:{prop} value {str(value)[:40]} is out of range (at most {bound}) "
            "specified is unsupported or invalid",
        )
    return number


def to_cents(value: Any, prop: str) -> int:
    """A money amount as integer cents (half-up to the cent)."""
    number = to_decimal(value, prop)
    return int((number * 100).quantize(Decimal(1), rounding="ROUND_HALF_UP"))


def money(cents: int) -> int | float:
    """Integer cents as the JSON number QBO sends: a whole amount as an integer (`275`),
    any other as its shortest decimal (`87.5`, `0.01`). The generator writes its amounts
    with it too.

    Facts file section 11 ("Numbers", responses recorded 2024-2026): whole amounts are
    written as integers, fractional ones as decimals. (The 2020 recordings wrote money
    with two decimals, `"TotalAmt":100.00`, `"Amount":337.50` in `create/invoice.json`,
    `all/sales_receipts.json`: the same JSON numbers, written differently.)
    """
    whole, rest = divmod(cents, 100)
    return whole if rest == 0 else cents / 100


def number_out(number: Decimal) -> int | float:
    """A `Decimal` as a JSON-ready number: `int` when whole, else `float` (quantities,
    unit prices and rates, as recorded: `"Qty":4`, `"Qty":2.5`, `"UnitPrice":12.75` in
    `cdc/basic.json`; whole amounts as integers as `money` writes them)."""
    if number == number.to_integral_value():
        return int(number)
    return float(number)
