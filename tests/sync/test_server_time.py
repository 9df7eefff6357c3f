"""Query pages and change sets carry QBO's own `time`, read from recorded real answers."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from qbo_core.http import HttpResponse
from qbo_core.wire import responses
from tests.shared_fixtures import RECORDED


def _answer(name: str, index: int) -> HttpResponse:
    if not RECORDED.is_dir():
        pytest.skip(f"recorded QBO traffic not found at {RECORDED}")
    raw = json.loads((RECORDED / name).read_text())["interactions"][index]["response"]
    return HttpResponse(
        status=int(raw["status"]),
        headers=[("Content-Type", "application/json")],
        body=raw["body"].encode(),
    )


def test_a_recorded_query_page_carries_qbo_time() -> None:
    """all/customers.json's first answer: `time` 2020-09-29T06:03:53.438-07:00."""
    page = responses.decode_query(_answer("all/customers.json", 0))
    assert page.time == datetime.fromisoformat("2020-09-29T06:03:53.438-07:00")
    assert page.time.utcoffset() == timedelta(hours=-7)


def test_a_recorded_cdc_answer_carries_qbo_time() -> None:
    """cdc/basic.json: `time` 2020-09-29T08:02:53.512-07:00."""
    changes = responses.decode_cdc(_answer("cdc/basic.json", 0))
    assert changes.time == datetime.fromisoformat("2020-09-29T08:02:53.512-07:00")


@pytest.mark.parametrize("value", [1601380000, "yesterday", "2020-09-29T06:03:53", None])
def test_a_time_that_is_not_an_aware_iso_datetime_is_none(value: object) -> None:
    """A numeric, unparsable or naive `time` gives no time rather than a wrong one."""
    assert responses.server_time({"time": value}) is None
