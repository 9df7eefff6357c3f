"""`qbo_core.wire.cache_values`: the exact bytes each result is cached as, read back equal;
`load_entity` remembers decoded entities by their exact bytes only."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import attrs
import pytest

from qbo_core.entities import Customer, QBOEntity, RawEntity, Vendor
from qbo_core.errors import DecodeError
from qbo_core.http import HttpResponse
from qbo_core.results import QueryPage
from qbo_core.wire import cache_values
from qbo_core.wire.entities import decode_entity
from qbo_core.wire.jsonio import dumps, loads
from qbo_core.wire.responses import decode_report


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


# --------------------------------------------------------------------- exact cache forms


def test_an_entity_is_cached_as_its_type_and_qbo_json() -> None:
    """`dump_entity` writes `{"t": type, "d": QBO JSON}`, compact, decimals exact."""
    customer = Customer(id="7", sync_token="0", display_name="Ada", balance=Decimal("1.10"))
    raw = cache_values.dump_entity(customer)
    assert raw == (
        b'{"t":"Customer","d":{"Id":"7","SyncToken":"0","DisplayName":"Ada","Balance":1.10}}'
    )
    assert cache_values.load_entity(raw) == customer
    estimate = RawEntity(entity_type="Estimate", data={"Id": "3", "X": [1]})
    assert cache_values.dump_entity(estimate) == b'{"t":"Estimate","d":{"Id":"3","X":[1]}}'
    assert cache_values.load_entity(cache_values.dump_entity(estimate)) == estimate


def test_a_response_body_is_wrapped_as_it_came() -> None:
    """`dump_entity_body` puts the body's bytes, untouched, after a `t`/`k` header: the
    names JSON-quoted; leading white space before the object is fine."""
    body = b' \n{"Customer" : {"Id":"7"} }'
    assert cache_values.dump_entity_body("Customer", 'Cu"st', body) == (
        b'{"t":"Customer","k":"Cu\\"st","b": \n{"Customer" : {"Id":"7"} }}'
    )


@pytest.mark.parametrize("body", [b"", b"   ", b"null", b'"x"', b'{"a":"\x00"}', b"\x00{}"])
def test_a_body_that_is_not_an_object_or_holds_a_nul_is_not_wrapped(body: bytes) -> None:
    """Only a body that starts (after white space) with `{` and holds no NUL byte is kept."""
    assert cache_values.dump_entity_body("Customer", "Customer", body) is None


def test_the_typed_class_asked_for_is_what_a_cached_entity_reads_as() -> None:
    """With a class, the cached entity is read as that class exactly, or `DecodeError`;
    without, as whichever class models its type."""
    raw = cache_values.dump_entity(_customer("Ada"))
    assert type(cache_values.load_entity(raw, Customer)) is Customer
    assert type(cache_values.load_entity(raw, RawEntity)) is RawEntity
    with pytest.raises(DecodeError, match="cannot read Customer as a Vendor"):
        cache_values.load_entity(raw, Vendor)
    unknown = cache_values.dump_entity(RawEntity(entity_type="Estimate", data={"Id": "1"}))
    assert type(cache_values.load_entity(unknown)) is RawEntity


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"not json", "a cached value is not JSON"),
        (b"[" * 100_000 + b"]" * 100_000, "a cached value is not JSON"),
        (b"[]", "a cached value is not a JSON object"),
        (b'{"t": "Customer"}', "a cached entity has no type or no object"),
        (b'{"t": 5, "d": {}}', "a cached entity has no type or no object"),
        (b'{"t": "Customer", "d": []}', "a cached entity has no type or no object"),
        (b'{"t": "Customer", "k": 1, "b": {"1": {}}}', "a cached entity has no type or no object"),
        (b'{"t": "Customer", "k": "C", "b": [{}]}', "a cached entity has no type or no object"),
        (b'{"t": "Customer", "k": "C", "b": {"C": 1}}', "a cached entity has no type or no object"),
    ],
)
def test_an_unreadable_entity_entry_is_a_decode_error(raw: bytes, message: str) -> None:
    """Bytes that are not an entity entry raise `DecodeError` saying what is wrong."""
    for cls in (Customer, None):
        with pytest.raises(DecodeError) as caught:
            cache_values.load_entity(raw, cls)
        assert caught.value.message == message


def test_a_cached_entry_with_data_is_read_from_it_not_a_body() -> None:
    """An entry holding `d` reads the entity from it, whatever a `b` beside it holds."""
    raw = b'{"t":"Customer","d":{"Id":"1"},"k":"Customer","b":{"Customer":{"Id":"2"}}}'
    assert cache_values.load_entity(raw, Customer).id == "1"


def test_entries_up_to_16_kib_are_remembered_and_larger_ones_not() -> None:
    """An entry of exactly `_MEMO_MAX_BYTES` bytes decodes once (the same object comes
    back); one byte more is decoded each time; so are bytes-like values that are not bytes."""
    assert cache_values._MEMO_MAX_BYTES == 16 * 1024
    empty = cache_values.dump_entity(_customer(""))
    pad = "m" * (cache_values._MEMO_MAX_BYTES - len(empty))
    exact = cache_values.dump_entity(_customer(pad))
    assert len(exact) == cache_values._MEMO_MAX_BYTES
    assert cache_values.load_entity(exact, Customer) is cache_values.load_entity(exact, Customer)
    over = cache_values.dump_entity(_customer(pad + "m"))
    assert cache_values.load_entity(over, Customer) is not cache_values.load_entity(over, Customer)
    small = bytearray(cache_values.dump_entity(_customer("Ada")))
    first = cache_values.load_entity(small, Customer)  # type: ignore[call-overload]
    assert first == _customer("Ada")
    assert cache_values.load_entity(small, Customer) is not first  # type: ignore[call-overload]


def test_the_memo_is_per_class_asked_for() -> None:
    """The same bytes asked for as another class are decoded as that class."""
    raw = cache_values.dump_entity(_customer("Per class"))
    assert type(cache_values.load_entity(raw, Customer)) is Customer
    assert type(cache_values.load_entity(raw, RawEntity)) is RawEntity


def test_the_memo_keeps_the_last_512_entries() -> None:
    """Behind 511 other entries an entry is still remembered; behind 512, it is decoded again."""
    tag = secrets.token_hex(4)
    raw = cache_values.dump_entity(_customer(f"{tag}-kept"))
    first = cache_values.load_entity(raw, Customer)
    for index in range(511):
        cache_values.load_entity(cache_values.dump_entity(_customer(f"{tag}-a{index}")), Customer)
    assert cache_values.load_entity(raw, Customer) is first
    for index in range(512):
        cache_values.load_entity(cache_values.dump_entity(_customer(f"{tag}-b{index}")), Customer)
    assert cache_values.load_entity(raw, Customer) is not first


def test_a_query_page_is_cached_exactly() -> None:
    """A page is `{"t","i","s","m","c","w"}`: type, items' QBO JSON, start, max, total, and
    QBO's time with its offset; it reads back equal."""
    when = datetime(2026, 12, 7, 10, 0, 0, tzinfo=timezone(timedelta(hours=-8)))
    page: QueryPage[QBOEntity] = QueryPage(
        entity_type="Customer",
        items=(_customer("Ada"), _customer("Bea")),
        start_position=1,
        max_results=2,
        total_count=9,
        time=when,
    )
    raw = cache_values.dump_page(page)
    assert raw == (
        b'{"t":"Customer","i":[{"Id":"7","SyncToken":"0","DisplayName":"Ada"},'
        b'{"Id":"7","SyncToken":"0","DisplayName":"Bea"}],"s":1,"m":2,"c":9,'
        b'"w":"2026-12-07T10:00:00-08:00"}'
    )
    again = cache_values.load_page(raw, Customer)
    assert again == page
    assert [type(item) for item in again.items] == [Customer, Customer]
    assert cache_values.load_page(raw) == page


def test_an_empty_page_reads_back_with_its_nones() -> None:
    """An empty page of no type and no numbers reads back so; a missing max is the count."""
    page: QueryPage[QBOEntity] = QueryPage(
        entity_type=None, items=(), start_position=None, max_results=0
    )
    raw = cache_values.dump_page(page)
    assert raw == b'{"t":null,"i":[],"s":null,"m":0,"c":null,"w":null}'
    assert cache_values.load_page(raw) == page
    loose = cache_values.load_page(b'{"t":"Customer","i":[{"Id":"1"},{"Id":"2"}]}', Customer)
    assert (loose.entity_type, loose.max_results, loose.start_position) == ("Customer", 2, None)
    assert (loose.total_count, loose.time) == (None, None)


def test_page_items_are_read_as_the_class_asked_for() -> None:
    """With a class, every item is that class exactly; an item that cannot be is a
    `DecodeError`."""
    raw = b'{"t":"Customer","i":[{"Id":"1"}],"s":1,"m":1}'
    assert type(cache_values.load_page(raw, Customer).items[0]) is Customer
    with pytest.raises(DecodeError, match="as a Vendor"):
        cache_values.load_page(raw, Vendor)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b'{"t":"Customer"}', "a cached page has no item list"),
        (b'{"t":"Customer","i":{}}', "a cached page has no item list"),
        (b'{"t":null,"i":[{"Id":"1"}]}', "a cached page has no item list"),
        (b'{"t":"Customer","i":[7]}', "a cached entity has no type or no object"),
        (b'{"t":"Customer","i":[],"s":"1"}', "a cached page has a malformed number"),
        (b'{"t":"Customer","i":[],"m":true}', "a cached page has a malformed number"),
        (b'{"t":"Customer","i":[],"c":1.5}', "a cached page has a malformed number"),
        (
            b'{"t":"Customer","i":[],"w":"2026-12-07T10:00:00"}',
            "a cached page has a malformed time",
        ),
        (b'{"t":"Customer","i":[],"w":"yesterday"}', "a cached page has a malformed time"),
        (b'{"t":"Customer","i":[],"w":5}', "a cached page has a malformed time"),
    ],
)
def test_an_unreadable_page_is_a_decode_error(raw: bytes, message: str) -> None:
    """A page entry of the wrong shape raises `DecodeError` saying which part."""
    with pytest.raises(DecodeError) as caught:
        cache_values.load_page(raw)
    assert caught.value.message == message


def test_a_count_is_cached_as_n() -> None:
    """A count is `{"n": count}`; a missing or non-integer count is a `DecodeError`."""
    assert cache_values.dump_count(12) == b'{"n":12}'
    assert cache_values.load_count(b'{"n":12}') == 12
    assert cache_values.load_count(b'{"n":0}') == 0
    with pytest.raises(DecodeError) as caught:
        cache_values.load_count(b'{"c":12}')
    assert caught.value.message == "a cached count has no number"
    for odd in (b'{"n":true}', b'{"n":"12"}'):
        with pytest.raises(DecodeError, match="malformed number"):
            cache_values.load_count(odd)


def test_a_report_is_cached_as_qbo_sent_it() -> None:
    """A report is its raw JSON, decimals exact, decoded again on the way out."""
    body = {
        "Header": {"ReportName": "ProfitAndLoss"},
        "Columns": {"Column": [{"ColTitle": "Total", "ColType": "Money"}]},
        "Rows": {"Row": [{"ColData": [{"value": "Income"}, {"value": "10.00"}]}]},
        "Amount": Decimal("10.00"),
    }
    report = decode_report(HttpResponse(status=200, body=dumps(body)))
    raw = cache_values.dump_report(report)
    assert raw == dumps(body)
    again = cache_values.load_report(raw)
    assert again == report
    assert again.raw == body
    with pytest.raises(DecodeError):
        cache_values.load_report(b'{"Header": {}}')


def test_a_cached_report_that_is_a_fault_is_a_decode_error() -> None:
    """A cached report holding a QBO fault (another version's entry, a corrupted one) is
    unreadable like any other: a `DecodeError`, never the fault's own error."""
    raw = b'{"Fault":{"Error":[{"Message":"Not Found","code":"610"}],"type":"ValidationFault"}}'
    with pytest.raises(DecodeError) as caught:
        cache_values.load_report(raw)
    assert type(caught.value) is DecodeError
    assert caught.value.message == "a cached report is a QBO fault, not a report"


def test_entries_decoded_each_time_are_read_as_the_class_asked_for() -> None:
    """An entry too large to remember (or not `bytes`) is still read as the class asked for."""
    raw = cache_values.dump_entity(_customer("x" * (cache_values._MEMO_MAX_BYTES + 1)))
    assert type(cache_values.load_entity(raw, RawEntity)) is RawEntity
    assert type(cache_values.load_entity(raw)) is Customer
    small = bytearray(cache_values.dump_entity(_customer("Ada")))
    assert type(cache_values.load_entity(small, RawEntity)) is RawEntity  # type: ignore[call-overload]


def test_a_page_keeps_its_own_max_results_and_only_a_text_type() -> None:
    """A page's `m` is its max results even when it holds fewer items; an empty page's type
    that is not text reads as `None`."""
    page = cache_values.load_page(b'{"t":"Customer","i":[{"Id":"1"}],"m":7}')
    assert (page.max_results, len(page.items)) == (7, 1)
    assert cache_values.load_page(b'{"t":5,"i":[]}').entity_type is None


def test_a_cached_report_reads_as_a_fresh_200_answer_would() -> None:
    """An unreadable cached report raises the same `DecodeError` as a 200 answer holding it."""
    raw = b'{"Header": {}}'
    with pytest.raises(DecodeError) as fresh:
        decode_report(HttpResponse(status=200, body=raw))
    with pytest.raises(DecodeError) as cached:
        cache_values.load_report(raw)
    assert (cached.value.message, cached.value.status) == (fresh.value.message, 200)
