"""Times in US Pacific with daylight saving: every time the emulator writes, and the
comparisons (queries, CDC) that read them back, across offsets."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qbo_adapters.emulator.company_time import UtcOffsets, company_zone, offset_text
from qbo_adapters.emulator.datagen import generate_company
from qbo_adapters.emulator.settings import EmulatorSettings
from qbo_adapters.memory.clock import FakeClock
from tests.emulator.harness import DataClient

PACIFIC = ZoneInfo("America/Los_Angeles")
TIME_KEYS = frozenset({"time", "CreateTime", "LastUpdatedTime", "Time"})
# Instants 2020-2030, with extra weight on the hours around each DST change.
CHANGES = [
    datetime(year, month, 1, tzinfo=UTC) + timedelta(days=day, hours=hour)
    for year in range(2020, 2031)
    for month, day, hour in ((3, 7, 9), (11, 0, 8))
]
INSTANTS = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2030, 12, 31), timezones=st.just(UTC)
) | st.builds(
    lambda base, minutes: base + timedelta(minutes=minutes),
    st.sampled_from(CHANGES),
    st.integers(-24 * 60, 24 * 60),
)


def written_times(value: Any) -> Iterator[str]:
    """Every time string under a `time`, `CreateTime`, `LastUpdatedTime` or `Time` key."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key in TIME_KEYS and isinstance(item, str):
                yield item
            else:
                yield from written_times(item)
    elif isinstance(value, list):
        for item in value:
            yield from written_times(item)


def renew_token(client: DataClient) -> None:
    """A fresh access token after the clock moved past the old one's hour."""
    client.token = str(client.emulator.oauth.mint_tokens(client.realm)["access_token"])


def assert_pacific(text: str) -> None:
    moment = datetime.fromisoformat(text)
    assert moment.utcoffset() == moment.astimezone(PACIFIC).utcoffset(), text


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(INSTANTS, st.integers(0, 200 * 86_400))
async def test_every_written_time_has_the_pacific_offset_of_its_instant(
    start: datetime, later: int
) -> None:
    """The envelope `time`, MetaData times (create, update, read, query, CDC tombstones)
    and a fault's `time` carry -08:00 or -07:00 as US Pacific time has at that instant."""
    client = DataClient(EmulatorSettings(throttle=False, size="empty"), clock=FakeClock(start))
    replies = [await client.post("/customer", {"DisplayName": "Pacific"})]
    customer = replies[0].json()["Customer"]
    client.advance(later)
    renew_token(client)
    replies.append(
        await client.post(
            "/customer",
            {"Id": customer["Id"], "SyncToken": "0", "sparse": True, "CompanyName": "Later"},
        )
    )
    replies.append(await client.get(f"/customer/{customer['Id']}"))
    replies.append(await client.query("SELECT * FROM Customer"))
    replies.append(await client.get("/customer/999999"))
    since = quote((start - timedelta(days=1)).isoformat())
    replies.append(await client.get(f"/cdc?entities=Customer&changedSince={since}"))
    texts = [text for reply in replies for text in written_times(reply.json())]
    assert len(texts) >= 12
    for text in texts:
        assert_pacific(text)
    times = [reply.json()["time"] for reply in replies]
    assert datetime.fromisoformat(times[0]) == start.replace(
        microsecond=start.microsecond // 1000 * 1000
    )


@settings(max_examples=4, deadline=None)
@given(INSTANTS)
def test_generated_times_have_the_pacific_offset_of_their_instant(now: datetime) -> None:
    """A generated company's two years of MetaData times each carry their own instant's
    Pacific offset, so both -08:00 and -07:00 occur."""
    generated = generate_company(seed=3, size="small", realm_id="1", now=now)
    texts = list(written_times(generated.entities))
    for text in texts:
        assert_pacific(text)
    assert {text[-6:] for text in texts} == {"-08:00", "-07:00"}


@pytest.mark.parametrize(
    ("now", "offset"),
    [
        (datetime(2026, 1, 15, 18, tzinfo=UTC), "-08:00"),
        (datetime(2026, 7, 15, 18, tzinfo=UTC), "-07:00"),
        # A day after the spring change: created the day before, still in -08:00.
        (datetime(2026, 3, 9, 9, 30, tzinfo=UTC), "-08:00"),
        (datetime(2026, 3, 9, 10, 30, tzinfo=UTC), "-07:00"),
    ],
)
def test_empty_company_times_have_the_pacific_offset_of_their_instant(
    now: datetime, offset: str
) -> None:
    """Size "empty" writes its times (a day before `now`) with that instant's Pacific
    offset, not one fixed offset; another zone is honoured too."""
    generated = generate_company(seed=0, size="empty", realm_id="1", now=now)
    texts = [
        *written_times(generated.entities),
        *written_times(generated.company_info),
        *written_times(generated.preferences),
    ]
    assert len(texts) >= 10
    for text in texts:
        assert_pacific(text)
    assert {text[-6:] for text in texts} == {offset}
    eastern = generate_company(
        seed=0, size="empty", realm_id="1", now=now, time_zone="America/New_York"
    )
    created = (now - timedelta(days=1)).astimezone(ZoneInfo("America/New_York"))
    assert {text[-6:] for text in written_times(eastern.entities)} == {created.isoformat()[-6:]}


def test_offset_table_agrees_with_the_zone_every_quarter_hour() -> None:
    """`UtcOffsets` answers what the zone answers, inside its range and outside it."""
    first = int(datetime(2024, 1, 1, tzinfo=UTC).timestamp())
    last = int(datetime(2025, 12, 31, tzinfo=UTC).timestamp())
    table = UtcOffsets(PACIFIC, first, last)
    for ts in range(first - 86_400, last + 86_400, 900):
        expected = datetime.fromtimestamp(ts, PACIFIC).utcoffset()
        assert expected is not None
        assert table(ts) == expected.total_seconds()
    change = int(datetime(2024, 3, 10, 10, tzinfo=UTC).timestamp())  # 02:00 PST -> PDT
    assert (table(change - 1), table(change)) == (-8 * 3600, -7 * 3600)


def test_zone_names_and_offset_text() -> None:
    """An unknown zone name is a ValueError; offsets print as ISO text."""
    assert company_zone("America/Los_Angeles") == PACIFIC
    with pytest.raises(ValueError, match="unknown time zone"):
        company_zone("Pacific/Atlantis")
    assert (offset_text(-25_200), offset_text(0), offset_text(19_800)) == (
        "-07:00",
        "+00:00",
        "+05:30",
    )


async def test_queries_and_cdc_compare_instants_across_the_fall_back_hour() -> None:
    """Two customers written at 01:30 twice on the fall-back night (-07:00, then -08:00):
    a LastUpdatedTime condition, ORDERBY and changedSince order them by instant, not text."""
    start = datetime(2025, 11, 2, 8, 30, tzinfo=UTC)  # 01:30 PDT
    client = DataClient(EmulatorSettings(throttle=False, size="empty"), clock=FakeClock(start))
    first = await client.create("Customer", {"DisplayName": "Daylight"})
    client.advance(3600)  # 01:30 PST
    renew_token(client)
    second = await client.create("Customer", {"DisplayName": "Standard"})
    assert first["MetaData"]["LastUpdatedTime"] == "2025-11-02T01:30:00-07:00"
    assert second["MetaData"]["LastUpdatedTime"] == "2025-11-02T01:30:00-08:00"

    async def names(statement: str) -> list[str]:
        rows = (await client.query(statement)).json()["QueryResponse"].get("Customer", [])
        return [row["DisplayName"] for row in rows]

    after = "MetaData.LastUpdatedTime > '2025-11-02T01:45:00-07:00'"
    assert await names(f"SELECT * FROM Customer WHERE {after}") == ["Standard"]
    assert await names(
        "SELECT * FROM Customer WHERE MetaData.LastUpdatedTime < '2025-11-02T09:00:00Z'"
    ) == ["Daylight"]
    ordered = "SELECT * FROM Customer ORDERBY MetaData.LastUpdatedTime DESC"
    assert await names(ordered) == ["Standard", "Daylight"]
    reply = await client.get(
        f"/cdc?entities=Customer&changedSince={quote('2025-11-02T01:45:00-07:00')}"
    )
    group = reply.json()["CDCResponse"][0]["QueryResponse"][0]
    assert [row["DisplayName"] for row in group["Customer"]] == ["Standard"]
