"""The core DTOs: round trips through JSON, validation, secrecy in repr, token expiry maths."""

from __future__ import annotations

import json
import string
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from qbo_core.converter import structure, unstructure
from qbo_core.dtos import (
    AdapterHealth,
    AlertSeverity,
    BusinessHealth,
    ConnectionRequest,
    ConnectionState,
    ConnectionStatus,
    EntitySummary,
    HealthAlert,
    HealthState,
    IntegrationStatus,
    MirrorProgress,
    QBOEvent,
    QBOIntegrationDTO,
    RateLimit,
    RealmAuth,
    RealmStats,
    SyncCursor,
    SyncPosition,
    SyncProgress,
    SyncReport,
    TokenSet,
    VersionedTokenSet,
)
from qbo_core.errors import DecodeError

#: Real offsets are whole minutes (finer ones are covered in test_converter).
OFFSETS = st.just(UTC) | st.builds(
    lambda minutes: timezone(timedelta(minutes=minutes)), st.integers(-23 * 60 - 59, 23 * 60 + 59)
)
AWARE = st.datetimes(timezones=OFFSETS)
MAYBE_AWARE = st.none() | AWARE
TEXT = st.text(min_size=1)
MAYBE_TEXT = st.none() | st.text()
#: Token-like secrets: long enough that they cannot turn up in a repr by coincidence.
SECRETS = st.text(alphabet=string.ascii_letters + string.digits + "-._~", min_size=24, max_size=120)

PLAIN = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)

TOKEN_SETS = st.builds(
    TokenSet,
    access_token=TEXT,
    refresh_token=TEXT,
    access_token_expires_at=AWARE,
    refresh_token_expires_at=AWARE,
    refresh_token_hard_expires_at=MAYBE_AWARE,
    token_type=st.text(),
    scope=MAYBE_TEXT,
    realm_id=MAYBE_TEXT,
    reauthorization_required_at=MAYBE_AWARE,
    revoked_at=MAYBE_AWARE,
)
VERSIONED = st.builds(VersionedTokenSet, tokens=TOKEN_SETS, version=st.integers(min_value=1))
INTEGRATIONS = st.builds(
    QBOIntegrationDTO,
    business_id=TEXT,
    status=st.sampled_from(IntegrationStatus),
    platform=st.text(),
    realm_id=MAYBE_TEXT,
    access_token=MAYBE_TEXT,
    refresh_token=MAYBE_TEXT,
    access_token_expires_at=MAYBE_AWARE,
    refresh_token_expires_at=MAYBE_AWARE,
    created_at=MAYBE_AWARE,
    updated_at=MAYBE_AWARE,
    connected_at=MAYBE_AWARE,
    company_name=MAYBE_TEXT,
)
CONNECTION_REQUESTS = st.builds(
    ConnectionRequest,
    business_id=TEXT,
    authorization_url=TEXT,
    state=TEXT,
    expires_at=AWARE,
    realm_id=MAYBE_TEXT,
)
RATE_LIMITS = st.builds(
    RateLimit,
    limit=st.integers(min_value=1),
    period=st.floats(min_value=0, exclude_min=True, allow_infinity=False),
)
EVENTS = st.builds(
    QBOEvent,
    kind=TEXT,
    at=AWARE,
    realm_id=MAYBE_TEXT,
    business_id=MAYBE_TEXT,
    attributes=st.dictionaries(st.text(), PLAIN, max_size=5),
)

NOW = datetime(2025, 6, 1, 12, tzinfo=UTC)


def round_trip(obj: object) -> object:
    """`obj` unstructured, written as JSON text, read back and structured again."""
    text = json.dumps(unstructure(obj))
    return structure(json.loads(text), type(obj))


def tokens(**changes: Any) -> TokenSet:
    """A valid TokenSet expiring an hour and 100 days after NOW, with `changes` applied."""
    values: dict[str, Any] = {
        "access_token": "access-value",
        "refresh_token": "refresh-value",
        "access_token_expires_at": NOW + timedelta(hours=1),
        "refresh_token_expires_at": NOW + timedelta(days=100),
    }
    values.update(changes)
    return TokenSet(**values)


# --------------------------------------------------------------------- round trips


@given(TOKEN_SETS)
def test_token_set_round_trips_through_json(value: TokenSet) -> None:
    """A TokenSet survives unstructure, JSON text and structure unchanged."""
    assert round_trip(value) == value


@given(VERSIONED)
def test_versioned_token_set_round_trips_through_json(value: VersionedTokenSet) -> None:
    """A VersionedTokenSet (a nested DTO) survives a JSON round trip unchanged."""
    assert round_trip(value) == value


CONNECTION_STATUSES = st.builds(
    ConnectionStatus,
    realm_id=TEXT,
    state=st.sampled_from(ConnectionState),
    access_token_expires_at=MAYBE_AWARE,
    refresh_token_expires_at=MAYBE_AWARE,
    refresh_token_hard_expires_at=MAYBE_AWARE,
    since=MAYBE_AWARE,
)


@given(CONNECTION_STATUSES)
def test_connection_status_round_trips_through_json(value: ConnectionStatus) -> None:
    """A ConnectionStatus (an enum and optional instants) survives a JSON round trip."""
    assert round_trip(value) == value


@given(INTEGRATIONS)
def test_integration_round_trips_through_json(value: QBOIntegrationDTO) -> None:
    """A QBOIntegrationDTO, tokens and status included, survives a JSON round trip."""
    assert round_trip(value) == value


@given(CONNECTION_REQUESTS)
def test_connection_request_round_trips_through_json(value: ConnectionRequest) -> None:
    """A ConnectionRequest (state and URL included) survives a JSON round trip unchanged."""
    assert round_trip(value) == value


@given(RATE_LIMITS)
def test_rate_limit_round_trips_through_json(value: RateLimit) -> None:
    """A RateLimit survives a JSON round trip unchanged."""
    assert round_trip(value) == value


@given(EVENTS)
def test_event_round_trips_through_json(value: QBOEvent) -> None:
    """A QBOEvent with plain nested attributes survives a JSON round trip unchanged."""
    back = round_trip(value)
    assert back == value
    assert isinstance(back, QBOEvent)
    assert dict(back.attributes) == dict(value.attributes)


def test_token_set_wire_form_is_flat_json() -> None:
    """A TokenSet unstructures to a flat object of strings and nulls, datetimes as ISO text."""
    assert unstructure(tokens(realm_id="9130")) == {
        "access_token": "access-value",
        "refresh_token": "refresh-value",
        "access_token_expires_at": "2025-06-01T13:00:00+00:00",
        "refresh_token_expires_at": "2025-09-09T12:00:00+00:00",
        "refresh_token_hard_expires_at": None,
        "token_type": "bearer",
        "scope": None,
        "realm_id": "9130",
        "reauthorization_required_at": None,
        "revoked_at": None,
    }


# --------------------------------------------------------------------- naive datetimes

AWARE_FIELDS = [
    (TokenSet, "access_token_expires_at"),
    (TokenSet, "refresh_token_expires_at"),
    (TokenSet, "refresh_token_hard_expires_at"),
    (TokenSet, "reauthorization_required_at"),
    (TokenSet, "revoked_at"),
    (QBOIntegrationDTO, "access_token_expires_at"),
    (QBOIntegrationDTO, "refresh_token_expires_at"),
    (QBOIntegrationDTO, "created_at"),
    (QBOIntegrationDTO, "updated_at"),
    (QBOIntegrationDTO, "connected_at"),
    (QBOEvent, "at"),
    (ConnectionRequest, "expires_at"),
]
VALID: dict[type, Any] = {
    TokenSet: tokens(),
    QBOIntegrationDTO: QBOIntegrationDTO(business_id="b1", status=IntegrationStatus.CONNECTED),
    QBOEvent: QBOEvent(kind="http.request", at=NOW),
    ConnectionRequest: ConnectionRequest(
        business_id="b1", authorization_url="https://x.test/?state=s", state="s", expires_at=NOW
    ),
}


@pytest.mark.parametrize(("cls", "field"), AWARE_FIELDS)
def test_naive_datetimes_are_refused_at_construction(cls: type, field: str) -> None:
    """Every datetime field of every DTO refuses a naive datetime when built."""
    with pytest.raises(ValueError, match=f"{field} must be timezone-aware"):
        attrs.evolve(VALID[cls], **{field: datetime(2025, 1, 1)})


@pytest.mark.parametrize(("cls", "field"), AWARE_FIELDS)
def test_naive_datetimes_are_refused_when_structured(cls: type, field: str) -> None:
    """Every datetime field refuses naive ISO text when read back, naming the field."""
    data = unstructure(VALID[cls])
    data[field] = "2025-01-01T00:00:00"
    with pytest.raises(DecodeError, match=rf"@ \$\.{field}"):
        structure(data, cls)


# --------------------------------------------------------------------- secrets in repr


@given(access=SECRETS, refresh=SECRETS)
def test_token_set_repr_and_str_hide_both_tokens(access: str, refresh: str) -> None:
    """Neither token of a TokenSet ever shows in its repr or str."""
    value = tokens(access_token=access, refresh_token=refresh, realm_id="9130")
    for shown in (repr(value), str(value), repr(VersionedTokenSet(tokens=value, version=1))):
        assert access not in shown
        assert refresh not in shown
        assert "9130" in shown


@given(access=SECRETS, refresh=SECRETS)
def test_integration_repr_and_str_hide_both_tokens(access: str, refresh: str) -> None:
    """Neither token carried by a QBOIntegrationDTO ever shows in its repr or str."""
    value = QBOIntegrationDTO(
        business_id="biz-1",
        status=IntegrationStatus.CONNECTED,
        access_token=access,
        refresh_token=refresh,
    )
    for shown in (repr(value), str(value)):
        assert access not in shown
        assert refresh not in shown
        assert "biz-1" in shown


@given(state=SECRETS)
def test_connection_request_repr_hides_the_state_and_the_url_holding_it(state: str) -> None:
    """A ConnectionRequest's repr names the business and expiry, never its state or URL."""
    value = ConnectionRequest(
        business_id="biz-1",
        authorization_url=f"https://appcenter.intuit.com/connect/oauth2?state={state}",
        state=state,
        expires_at=NOW,
        realm_id="9130",
    )
    for shown in (repr(value), str(value)):
        assert state not in shown
        assert "biz-1" in shown
        assert "9130" in shown


# --------------------------------------------------------------------- validation


@pytest.mark.parametrize("field", ["access_token", "refresh_token"])
def test_token_set_refuses_empty_tokens(field: str) -> None:
    """An empty access or refresh token is refused at construction."""
    with pytest.raises(ValueError, match=f"{field} must not be empty"):
        tokens(**{field: ""})


def test_integration_refuses_an_empty_business_id() -> None:
    """A QBOIntegrationDTO must name its business."""
    with pytest.raises(ValueError, match="business_id must not be empty"):
        QBOIntegrationDTO(business_id="", status=IntegrationStatus.PENDING)


def test_event_refuses_an_empty_kind() -> None:
    """A QBOEvent must say what happened."""
    with pytest.raises(ValueError, match="kind must not be empty"):
        QBOEvent(kind="", at=NOW)


@pytest.mark.parametrize(("limit", "period"), [(0, 1.0), (-1, 1.0), (5, 0.0), (5, -60.0)])
def test_rate_limit_refuses_non_positive_values(limit: int, period: float) -> None:
    """A rate limit needs a positive count and a positive window."""
    with pytest.raises(ValueError, match="must be >"):
        RateLimit(limit=limit, period=period)


def test_dtos_are_keyword_only_and_frozen() -> None:
    """DTOs take keywords only and cannot be changed after construction."""
    with pytest.raises(TypeError):
        RateLimit(10, 1.0)  # type: ignore[call-arg]
    limit = RateLimit(limit=10, period=1.0)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        limit.limit = 11  # type: ignore[misc]


def test_event_attributes_are_a_frozen_copy() -> None:
    """An event's attributes are a read-only copy: later changes to the source don't leak in."""
    source: dict[str, object] = {"status": 200}
    event = QBOEvent(kind="http.request", at=NOW, attributes=source)
    source["status"] = 500
    assert event.attributes["status"] == 200
    with pytest.raises(TypeError):
        event.attributes["status"] = 404  # type: ignore[index]


def test_events_with_equal_attributes_are_equal_and_hashable() -> None:
    """Two events with the same content are equal and can be hashed (attributes aside)."""
    first = QBOEvent(kind="k", at=NOW, attributes={"a": [1]})
    second = QBOEvent(kind="k", at=NOW, attributes={"a": [1]})
    assert first == second
    assert hash(first) == hash(second)
    assert first != QBOEvent(kind="k", at=NOW, attributes={"a": [2]})


# --------------------------------------------------------------------- token expiry


@pytest.mark.parametrize(
    ("margin", "now", "expected"),
    [
        (timedelta(minutes=5), NOW, False),
        (timedelta(minutes=5), NOW + timedelta(minutes=54), False),
        (timedelta(minutes=5), NOW + timedelta(minutes=55), True),
        (timedelta(0), NOW + timedelta(hours=1), True),
        (timedelta(0), NOW + timedelta(minutes=59, seconds=59), False),
    ],
)
def test_access_token_expires_within_the_margin(
    margin: timedelta, now: datetime, expected: bool
) -> None:
    """The access token counts as expiring once `now` is within `margin` of its expiry."""
    assert tokens().access_token_expires_within(now, margin) is expected


def test_refresh_token_expires_on_its_rolling_expiry() -> None:
    """Without a hard expiry, the refresh token dies exactly at its rolling expiry."""
    value = tokens()
    assert not value.refresh_token_expired(NOW + timedelta(days=100) - timedelta(seconds=1))
    assert value.refresh_token_expired(NOW + timedelta(days=100))


def test_refresh_token_hard_expiry_wins_when_earlier() -> None:
    """The 5-year hard cap ends the refresh token even while its rolling expiry is ahead."""
    value = tokens(refresh_token_hard_expires_at=NOW + timedelta(days=10))
    assert not value.refresh_token_expired(NOW + timedelta(days=9))
    assert value.refresh_token_expired(NOW + timedelta(days=10))


# --------------------------------------------------------------------- mirror DTOs


_TYPE_NAMES = st.sampled_from(["Customer", "Invoice", "Bill", "Vendor"])
_CURSORS = st.builds(
    SyncCursor,
    positions=st.dictionaries(_TYPE_NAMES, st.builds(SyncPosition, since=AWARE), max_size=3),
)
MIRROR_PROGRESS = st.builds(MirrorProgress, cursor=st.none() | _CURSORS) | st.builds(
    MirrorProgress,
    cursor=st.none() | _CURSORS,
    full=st.just(True),
    completed=st.dictionaries(_TYPE_NAMES, AWARE, max_size=3),
    current=st.none() | _TYPE_NAMES,
    current_time=MAYBE_AWARE,
)


@given(MIRROR_PROGRESS)
def test_mirror_progress_round_trips_through_json(value: MirrorProgress) -> None:
    """A MirrorProgress (cursor, completed types and their times) survives a JSON round trip."""
    assert round_trip(value) == value


@given(
    st.builds(EntitySummary, count=st.integers(0), checksum=st.text(min_size=1)),
    st.builds(
        SyncProgress,
        realm_id=TEXT,
        entity_type=_TYPE_NAMES,
        done=st.integers(0),
        total=st.none() | st.integers(0),
        phase=st.sampled_from(["full", "incremental"]),
    ),
    st.builds(
        SyncReport,
        mode=st.sampled_from(["full", "incremental"]),
        upserted=st.dictionaries(_TYPE_NAMES, st.integers(0)),
        deleted=st.dictionaries(_TYPE_NAMES, st.integers(0)),
        resumed=st.booleans(),
        reconciled=st.lists(_TYPE_NAMES).map(tuple),
    ),
)
def test_mirror_sync_values_round_trip_through_json(
    summary: EntitySummary, progress: SyncProgress, report: SyncReport
) -> None:
    """EntitySummary, SyncProgress and SyncReport survive a JSON round trip unchanged."""
    assert round_trip(summary) == summary
    assert round_trip(progress) == progress
    assert round_trip(report) == report


# --------------------------------------------------------------------- exact refusals


class _NoOffset(tzinfo):
    """A tzinfo that knows no offset: `utcoffset()` is None, so its datetimes are naive."""

    def utcoffset(self, moment: datetime | None) -> timedelta | None:
        return None

    def dst(self, moment: datetime | None) -> timedelta | None:
        return None

    def tzname(self, moment: datetime | None) -> str | None:
        return None


def _message(make: Callable[[], object], error: type[Exception]) -> str:
    """The text of the `error` that `make()` raises (failing if it raises none)."""
    with pytest.raises(error) as caught:
        make()
    return str(caught.value)


def test_a_tzinfo_without_an_offset_counts_as_naive() -> None:
    """A datetime whose tzinfo gives no `utcoffset()` is refused like a naive one, the
    message naming the field and the value."""
    moment = datetime(2025, 1, 1, tzinfo=_NoOffset())
    assert moment.tzinfo is not None
    assert _message(lambda: tokens(access_token_expires_at=moment), ValueError) == (
        f"access_token_expires_at must be timezone-aware, got naive {moment!r}"
    )


def test_a_naive_datetime_is_named_in_the_refusal() -> None:
    """The refusal of a naive datetime names the field and shows the value."""
    assert _message(lambda: QBOEvent(kind="k", at=datetime(2025, 1, 1)), ValueError) == (
        "at must be timezone-aware, got naive datetime.datetime(2025, 1, 1, 0, 0)"
    )


def test_an_empty_field_is_named_in_the_refusal() -> None:
    """An empty required text field is refused with a message naming exactly that field."""
    assert _message(lambda: tokens(refresh_token=""), ValueError) == (
        "refresh_token must not be empty"
    )


@pytest.mark.parametrize("realm_id", ["1", "9130350000000001", "1" * 32])
def test_realm_auth_takes_a_numeric_company_id(realm_id: str) -> None:
    """A realm id of 1 to 32 digits is accepted."""
    assert RealmAuth(realm_id=realm_id, access_token="tok").realm_id == realm_id


@pytest.mark.parametrize("realm_id", ["", "1" * 33, "12a", " 12", "12\n", "١٢", 12])
def test_realm_auth_refuses_anything_but_a_numeric_company_id(realm_id: Any) -> None:
    """A realm id that is not 1 to 32 ASCII digits (or not a str) is refused, shown in the
    message."""
    assert _message(lambda: RealmAuth(realm_id=realm_id, access_token="tok"), ValueError) == (
        f"realm_id must be the numeric QBO company id, got {realm_id!r}"
    )


def test_realm_auth_takes_any_visible_ascii_token() -> None:
    """An access token of visible ASCII characters (`!` to `~`) is accepted."""
    token = "".join(map(chr, range(0x21, 0x7F)))
    assert RealmAuth(realm_id="1", access_token=token).access_token == token


@pytest.mark.parametrize("token", ["", "a b", "a\tb", "a\x7fb", "caf\u00e9", "a\r\nb", None])
def test_realm_auth_refuses_tokens_that_could_break_a_header(token: Any) -> None:
    """An access token that is empty, not a str, or holds a space, a control or a non-ASCII
    character is refused, and the message never shows it."""
    assert _message(lambda: RealmAuth(realm_id="1", access_token=token), ValueError) == (
        "access_token must be a non-empty token of visible ASCII characters"
    )


@pytest.mark.parametrize(
    ("reauthorization", "revoked", "usable"),
    [(None, None, True), (NOW, None, False), (None, NOW, False), (NOW, NOW, False)],
)
def test_tokens_are_usable_until_marked_dead(
    reauthorization: datetime | None, revoked: datetime | None, usable: bool
) -> None:
    """Tokens are usable unless marked as needing reauthorization or as revoked."""
    value = tokens(reauthorization_required_at=reauthorization, revoked_at=revoked)
    assert value.usable is usable


def test_rolling_expiry_wins_when_earlier_than_the_hard_cap() -> None:
    """With a hard cap later than the rolling expiry, the rolling expiry ends the token."""
    value = tokens(refresh_token_hard_expires_at=NOW + timedelta(days=200))
    assert not value.refresh_token_expired(NOW + timedelta(days=99))
    assert value.refresh_token_expired(NOW + timedelta(days=100))


def test_sync_position_keeps_delivered_keys_sorted_and_unique() -> None:
    """`delivered` is stored sorted with duplicates dropped; one str is refused, not split."""
    position = SyncPosition(since=NOW, delivered=["9:2", "10:deleted", "9:2"])
    assert position.delivered == ("10:deleted", "9:2")
    assert _message(lambda: SyncPosition(since=NOW, delivered="9:2"), TypeError) == (
        "delivered is a collection of keys, not one str"
    )


def test_mappings_are_read_only_copies() -> None:
    """Mapping fields (cursor positions, completed types, counts, adapters, details) are
    read-only copies: changing the source afterwards changes nothing."""
    positions = {"Customer": SyncPosition(since=NOW)}
    cursor = SyncCursor(positions=positions)
    completed = {"Customer": NOW}
    progress = MirrorProgress(full=True, completed=completed)
    counts = {"Customer": 1}
    report = SyncReport(mode="full", upserted=counts, deleted=counts)
    adapters = {"cache": AdapterHealth(name="cache", up=True)}
    details = {"plan": "gold"}
    health = BusinessHealth(
        business_id="b1",
        business_name="Biz",
        integration_details=details,
        state=HealthState.HEALTHY,
        checked_at=NOW,
        adapters=adapters,
    )
    positions.clear()
    completed.clear()
    counts.clear()
    adapters.clear()
    details.clear()
    assert dict(cursor.positions) == {"Customer": SyncPosition(since=NOW)}
    assert dict(progress.completed) == {"Customer": NOW}
    assert (dict(report.upserted), dict(report.deleted)) == ({"Customer": 1}, {"Customer": 1})
    assert dict(health.adapters) == {"cache": AdapterHealth(name="cache", up=True)}
    assert dict(health.integration_details) == {"plan": "gold"}
    for mapping in (
        cursor.positions,
        progress.completed,
        report.upserted,
        report.deleted,
        health.adapters,
        health.integration_details,
    ):
        with pytest.raises(TypeError):
            mapping["x"] = None  # type: ignore[index]


def test_business_health_keeps_alerts_and_reasons_as_tuples() -> None:
    """Alerts and reasons given as lists are kept as tuples; one str of reasons is refused."""
    alert = HealthAlert(
        name="hard_expiry_30d",
        severity=AlertSeverity.WARNING,
        realm_id="1",
        message="m",
        since=NOW,
    )
    health = BusinessHealth(
        business_id="b1",
        business_name="Biz",
        state=HealthState.DEGRADED,
        reasons=["slow", "expiring"],
        checked_at=NOW,
        alerts=[alert],
    )
    assert health.alerts == (alert,)
    assert health.reasons == ("slow", "expiring")
    assert _message(
        lambda: BusinessHealth(
            business_id="b1",
            business_name="Biz",
            state=HealthState.DEGRADED,
            reasons="slow",
            checked_at=NOW,
        ),
        TypeError,
    ) == ("reasons is a collection of sentences, not one str")


def test_mirror_progress_refuses_a_naive_completed_time() -> None:
    """A completed type's time must be aware; the message names the type."""
    assert _message(
        lambda: MirrorProgress(full=True, completed={"Customer": datetime(2025, 1, 1)}),
        ValueError,
    ) == ("completed['Customer'] must be timezone-aware")
    assert _message(
        lambda: MirrorProgress(
            full=True, completed={"Bill": datetime(2025, 1, 1, tzinfo=_NoOffset())}
        ),
        ValueError,
    ) == ("completed['Bill'] must be timezone-aware")


@pytest.mark.parametrize("changes", [{"completed": {"Customer": NOW}}, {"current": "Invoice"}])
def test_mirror_progress_holds_full_sync_state_only_during_a_full_sync(
    changes: dict[str, Any],
) -> None:
    """Completed types or a current type need full=True; with it they are kept."""
    assert _message(lambda: MirrorProgress(**changes), ValueError) == (
        "completed and current describe a full sync under way: full=True"
    )
    assert MirrorProgress(full=True, **changes).full is True


@pytest.mark.parametrize("phase", ["full", "incremental"])
def test_sync_phases_are_full_or_incremental(phase: Any) -> None:
    """SyncProgress and SyncReport take the two phases, and nothing else."""
    assert (
        SyncProgress(realm_id="1", entity_type="Bill", done=0, total=None, phase=phase).phase
        == phase
    )
    assert SyncReport(mode=phase).mode == phase
    assert _message(lambda: SyncReport(mode="partial"), ValueError) == (  # type: ignore[arg-type]
        "mode must be 'full' or 'incremental', got 'partial'"
    )
    assert _message(
        lambda: SyncProgress(
            realm_id="1",
            entity_type="Bill",
            done=0,
            total=None,
            phase="Full",  # type: ignore[arg-type]
        ),
        ValueError,
    ) == ("phase must be 'full' or 'incremental', got 'Full'")


@pytest.mark.parametrize(
    ("requests", "errors", "throttles", "error_rate", "throttle_rate"),
    [(0, 0, 0, 0.0, 0.0), (4, 1, 2, 0.25, 0.5), (8, 8, 0, 1.0, 0.0)],
)
def test_realm_stats_rates_are_shares_of_requests(
    requests: int, errors: int, throttles: int, error_rate: float, throttle_rate: float
) -> None:
    """error_rate and throttle_rate are errors and throttles over requests, 0 without any."""
    stats = RealmStats(
        realm_id="1", window_seconds=60, requests=requests, errors=errors, throttles=throttles
    )
    assert (stats.error_rate, stats.throttle_rate) == (error_rate, throttle_rate)
