"""`cache_values.load_entity` remembers decoded entities by their exact bytes only."""

from __future__ import annotations

import attrs
import pytest

from qbo_core.entities import Customer
from qbo_core.errors import DecodeError
from qbo_core.wire import cache_values


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
