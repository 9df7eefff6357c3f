"""`cache_values.load_entity` remembers decoded entities by their exact bytes only."""

from __future__ import annotations

import attrs
import pytest

from qbo_core.entities import Customer
from qbo_core.errors import DecodeError
from qbo_core.wire import cache_values
from qbo_core.wire.entities import decode_entity
from qbo_core.wire.jsonio import loads


def _customer(name: str) -> Customer:
    return Customer(id="7", sync_token="0", display_name=name)


def test_equal_bytes_give_an_equal_entity_and_other_bytes_their_own() -> None:
    raw = cache_values.dump_entity(_customer("Ada"))
    first = cache_values.load_entity(raw, Customer)
    again = cache_values.load_entity(bytes(bytearray(raw)), Customer)  # equal, not the same
    assert again == first == _customer("Ada")
    changed = cache_values.load_entity(cache_values.dump_entity(_customer("Bea")), Customer)
    assert changed.display_name == "Bea"
    assert cache_values.load_entity(raw, None) == first


def test_unreadable_bytes_raise_every_time() -> None:
    for _ in range(2):
        with pytest.raises(DecodeError):
            cache_values.load_entity(b'{"t": "Customer"}', Customer)


def test_large_entries_are_decoded_each_time() -> None:
    big = _customer("x" * (cache_values._MEMO_MAX_BYTES + 1))
    raw = cache_values.dump_entity(big)
    first = cache_values.load_entity(raw, Customer)
    again = cache_values.load_entity(raw, Customer)
    assert first == again == big
    assert first is not again
    assert attrs.evolve(first) == big


def test_a_response_body_reads_back_as_the_entity_it_was_decoded_from() -> None:
    body = (
        b'{"Customer": {"Id": "7", "SyncToken": "0", "DisplayName": "Ada", "Balance": 1.10,'
        b' "Extra": {"x": [1, null]}}, "time": "2026-12-07T10:00:00.000-08:00"}'
    )
    expected = decode_entity("Customer", loads(body)["Customer"])
    raw = cache_values.dump_entity_body("Customer", "Customer", body)
    assert raw is not None
    assert cache_values.load_entity(raw, Customer) == expected
    assert cache_values.load_entity(raw, None) == expected
    assert cache_values.load_entity(raw, Customer).balance is not None
    # The key the entity was under, whatever its case.
    lower = cache_values.dump_entity_body("Customer", "customer", body.replace(b"Cust", b"cust"))
    assert lower is not None
    assert cache_values.load_entity(lower, Customer) == expected


def test_a_body_that_is_not_plain_utf8_json_is_not_kept_as_it_came() -> None:
    body = '{"Customer": {"Id": "7", "DisplayName": "Ada"}}'
    for odd in (body.encode("utf-16"), body.encode("utf-16-le"), body.encode("utf-8-sig")):
        assert cache_values.dump_entity_body("Customer", "Customer", odd) is None
    assert cache_values.dump_entity_body("Customer", "Customer", b"[]") is None


def test_a_body_without_its_entity_is_unreadable() -> None:
    raw = cache_values.dump_entity_body("Customer", "Customer", b'{"Vendor": {"Id": "1"}}')
    assert raw is not None
    with pytest.raises(DecodeError):
        cache_values.load_entity(raw, Customer)
