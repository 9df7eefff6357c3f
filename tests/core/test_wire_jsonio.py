"""`qbo_core.wire.jsonio`: the exact JSON text written, and what reading refuses.

Decimals keep their digits both ways (exponents, signs, long numbers included); the bytes
`dumps` writes are pinned, and what it and `loads` refuse, with their messages.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qbo_core.wire.jsonio import dumps, loads


def test_dumps_writes_compact_utf8_with_bare_decimals() -> None:
    """No spaces after `,` or `:`, keys in their order, decimals as bare numbers with their
    digits, floats and ints as the standard encoder writes them."""
    value = {"b": [Decimal("1.50"), Decimal("-0"), Decimal("2E+3")], "a": {"x": 1.5, "y": None}}
    assert dumps(value) == b'{"b":[1.50,-0,2E+3],"a":{"x":1.5,"y":null}}'


def test_a_lone_surrogate_switches_the_whole_text_to_ascii_escapes() -> None:
    """Text that UTF-8 cannot hold (a lone surrogate) is written with `\\u` escapes for every
    non-ASCII character, decimals still bare; it reads back the same."""
    value = {"n": "\ud800 caf\u00e9", "d": Decimal("1.10")}
    text = dumps(value)
    assert text == b'{"n":"\\ud800 caf\\u00e9","d":1.10}'
    assert loads(text) == value


def test_a_decimal_is_never_written_as_text_whatever_its_neighbours() -> None:
    """Every decimal becomes a bare number, however many share a value, a list or an object."""
    value = [Decimal("1.0"), {"k": Decimal("1.0")}, "1.0", Decimal("0.000001")]
    assert dumps(value) == b'[1.0,{"k":1.0},"1.0",0.000001]'


def test_a_marked_looking_string_with_another_nonce_stays_a_string() -> None:
    """Text shaped like an internal decimal marker, but not this call's, is written as text."""
    value = ["\x00" + "0123456789abcdef" + ":12\x00", Decimal("3")]
    text = dumps(value)
    assert text == b'["\\u00000123456789abcdef:12\\u0000",3]'
    assert loads(text) == value


def test_dumps_names_what_it_cannot_write() -> None:
    """A non-JSON value is a `TypeError` naming its type; a non-finite decimal a
    `ValueError` quoting it."""
    with pytest.raises(TypeError, match=r"^bytes is not JSON serializable$"):
        dumps({"a": b"x"})
    with pytest.raises(ValueError, match=r"^-Infinity cannot be written as a JSON number$"):
        dumps([Decimal("-Infinity")])


@pytest.mark.parametrize(
    ("text", "name"),
    [(b"NaN", "NaN"), (b"[Infinity]", "Infinity"), (b'{"a":-Infinity}', "-Infinity")],
)
def test_loads_refuses_non_finite_literals_by_name(text: bytes, name: str) -> None:
    """`NaN` and the infinities are refused with a `ValueError` naming the literal."""
    with pytest.raises(ValueError, match=rf"^{name} is not JSON$"):
        loads(text)


def test_loads_reads_text_and_bytes_alike() -> None:
    """JSON given as `str` or as UTF-8 `bytes` reads the same; integers stay `int`."""
    assert loads('{"a":1,"b":2.0}') == loads(b'{"a":1,"b":2.0}') == {"a": 1, "b": Decimal("2.0")}
    assert type(loads(b"7")) is int


def test_dumps_output_is_standard_json() -> None:
    """The standard parser reads what `dumps` writes, decimals as numbers."""
    assert json.loads(dumps({"a": Decimal("12.50")})) == {"a": 12.5}


# --------------------------------------------------------------------- round trips


def test_decimals_keep_their_digits() -> None:
    """`100.00` read and written stays `100.00`, not `100.0` or `100`."""
    assert dumps(loads(b'{"a":100.00}')) == b'{"a":100.00}'
    value = loads(b'{"a":100.00,"b":0.1,"c":5}')
    assert value == {"a": Decimal("100.00"), "b": Decimal("0.1"), "c": 5}
    assert str(value["a"]) == "100.00"
    assert type(value["c"]) is int


def test_exponents_round_trip_as_the_same_decimal() -> None:
    """Numbers with exponents come back as the same Decimal (sign, digits and exponent)."""
    text = b"[1e5,2.50E-3,-7E+400,1E-400,5.0E0]"
    first = loads(text)
    again = loads(dumps(first))
    assert [d.as_tuple() for d in again] == [d.as_tuple() for d in first]
    assert dumps(again) == dumps(first)
    json.loads(dumps(first))  # the standard parser agrees it is JSON


def test_negative_zero_keeps_its_sign() -> None:
    """`-0.0` and `-0.00` stay negative zeros with their digits."""
    assert dumps(loads(b"[-0.0,-0.00]")) == b"[-0.0,-0.00]"
    assert dumps(Decimal("-0.000")) == b"-0.000"


def test_long_decimals_are_not_rounded() -> None:
    """A decimal longer than a float holds is written digit for digit."""
    text = b"[123456789012345678901234567890.123456789012345678901]"
    assert dumps(loads(text)) == text


@pytest.mark.parametrize(
    "value", [Decimal("NaN"), Decimal("sNaN"), Decimal("Infinity"), Decimal("-Infinity")]
)
def test_non_finite_decimals_are_refused_when_writing(value: Decimal) -> None:
    """NaN and infinities have no JSON form: writing one raises `ValueError`."""
    with pytest.raises(ValueError, match="JSON number"):
        dumps({"a": [value]})


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_non_finite_floats_are_refused_when_writing(value: float) -> None:
    """A non-finite float is refused too, rather than written as the non-JSON `NaN`."""
    with pytest.raises(ValueError):  # noqa: PT011 - the standard encoder's message varies
        dumps({"a": value})


@pytest.mark.parametrize("text", [b"NaN", b'{"a":NaN}', b"[Infinity]", b"-Infinity"])
def test_non_finite_literals_are_refused_when_reading(text: bytes) -> None:
    """`NaN` and `Infinity` are not JSON: reading them raises `ValueError`."""
    with pytest.raises(ValueError):  # noqa: PT011 - the standard parser's message varies
        loads(text)


def test_strings_that_look_like_markers_stay_strings() -> None:
    """Strings holding NULs, colons and digits are written as strings, never as numbers."""
    value = {"k": "\x00deadbeefdeadbeef:1.5\x00", "d": Decimal("1.5"), "\x00": "\x00"}
    text = dumps(value)
    assert loads(text) == value
    assert json.loads(text)["k"] == value["k"]


def test_non_ascii_text_is_written_as_utf8() -> None:
    """Non-ASCII text is written as UTF-8, not escaped."""
    assert dumps({"name": "Amy\u2019s Caf\u00e9"}) == b'{"name":"Amy\xe2\x80\x99s Caf\xc3\xa9"}'


def test_lone_surrogates_read_can_be_written_back() -> None:
    """A string QBO sent as a lone surrogate escape (`\\ud800`) can be written back as JSON."""
    value = loads(b'{"Name":"broken \\ud800 text"}')
    assert loads(dumps(value)) == value


def test_values_json_cannot_hold_are_refused() -> None:
    """Non-JSON values raise `TypeError` naming the type."""
    with pytest.raises(TypeError, match="set"):
        dumps({"a": {1, 2}})


def _canonical(value: Any) -> Any:
    """`value` as its JSON text means it: integral decimals are integers, others keep digits."""
    if isinstance(value, dict):
        return {key: _canonical(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_canonical(item) for item in value]
    if isinstance(value, Decimal):
        exponent = value.as_tuple().exponent
        return ("n", str(int(value))) if exponent == 0 else ("n", str(value))
    if isinstance(value, int) and not isinstance(value, bool):
        return ("n", str(value))
    return (type(value).__name__, value)


DECIMALS = st.decimals(allow_nan=False, allow_infinity=False)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | DECIMALS | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


@given(JSON_VALUES)
def test_json_values_with_decimals_round_trip_exactly(value: Any) -> None:
    """Any JSON value with Decimals is written as valid JSON and read back digit for digit."""
    text = dumps(value)
    json.loads(text)  # valid for the standard parser too
    again = loads(text)
    assert _canonical(again) == _canonical(value)
    assert _canonical(loads(dumps(again))) == _canonical(value)
