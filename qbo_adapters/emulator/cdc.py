"""Change data capture: `GET /cdc?entities=A,B&changedSince=<date or dateTime>`.

The answer is `{"CDCResponse": [{"QueryResponse": [group, ...]}], "time": ...}` with one
group per requested entity, in the order asked (`cdc/basic.json`):
`{"<Entity>": [...], "startPosition": 1, "maxResults": n}`. A group holds the objects
changed at or after `changedSince`, oldest first (LastUpdatedTime, then Id), then the
ones deleted since as `{"status": "Deleted", "domain": "QBO", "Id", "MetaData":
{"LastUpdatedTime"}}`. An entity with no changes gets `{}`, as an empty query page does
(UNCONFIRMED). All groups together hold at most `settings.cdc_max_objects` (1000); past
the cap, later objects are left out (a client narrows its window, as Intuit advises).

Refused, as 400 faults: a missing `entities` or `changedSince` (2020); a `changedSince`
that is not an ISO date or dateTime (2050); JournalCode, TimeActivity, TaxAgency, TaxCode,
TaxRate and CompanyInfo (4001, "Change Data Capture is not supported for ..."); an
unknown entity (4001 "invalid context declaration", as a query); and, when
`settings.cdc_window_days` is set, a `changedSince` further back than that (4001: QBO's
own answer is UNCONFIRMED; a real sandbox answered 2011 dates in 2020).
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any, Final

from qbo_adapters.emulator.context import meta_time
from qbo_adapters.emulator.entities import other_entity, spec_for_name
from qbo_adapters.emulator.faults import QBOFault, invalid_value, required_param
from qbo_adapters.emulator.settings import EmulatorSettings
from qbo_adapters.emulator.store import Company

__all__ = ["NOT_SUPPORTED", "parse_changed_since", "run_cdc"]

#: Entities CDC refuses: Intuit's list, plus CompanyInfo (not a change-tracked list).
NOT_SUPPORTED: Final = frozenset(
    {"JournalCode", "TimeActivity", "TaxAgency", "TaxCode", "TaxRate", "CompanyInfo"}
)


def parse_changed_since(text: str, company: Company) -> datetime:
    """`2015-11-28` (midnight, company time) or a dateTime (no offset: company time).

    Compared as instants, whatever offset each side carries; a wall time the fall-back
    hour makes ambiguous reads as the first (daylight) of its two instants.
    """
    value = text.strip()
    try:
        if len(value) == 10:
            day = datetime.fromisoformat(value).date()
            return datetime.combine(day, time(0), tzinfo=company.zone)
        moment = datetime.fromisoformat(value.replace(" ", "+"))
    except ValueError:
        raise invalid_value(
            "changedSince",
            f"changedSince must be a date or dateTime, e.g. 2015-11-28T10:00:00-07:00; "
            f"supplied value:{text[:40]}",
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=company.zone)
    return moment


def _cdc_refused(entity: str) -> QBOFault:
    return QBOFault.single(
        "4001",
        "Invalid query",
        f"QueryValidationError: Change Data Capture is not supported for {entity}",
    )


def _entities(raw: str, company: Company) -> list[str]:
    names = {name.lower(): name for name in company.entity_names()}
    wanted: list[str] = []
    for part in raw.split(","):
        written = part.strip()
        if not written:
            continue
        spec = spec_for_name(written)
        canonical = spec.name if spec is not None else names.get(written.lower())
        canonical = canonical or other_entity(written)
        if canonical is None:
            raise QBOFault.single(
                "4001",
                "Invalid query",
                f"QueryValidationError: invalid context declaration: {written}",
            )
        if canonical in NOT_SUPPORTED:
            raise _cdc_refused(canonical)
        if canonical not in wanted:
            wanted.append(canonical)
    if not wanted:
        raise required_param("entities")
    return wanted


def run_cdc(
    company: Company,
    *,
    entities: str | None,
    changed_since: str | None,
    now: datetime,
    settings: EmulatorSettings,
) -> list[dict[str, Any]]:
    """The `CDCResponse` list for one request; raises `QBOFault` for a bad one."""
    if entities is None or not entities.strip():
        raise required_param("entities")
    if changed_since is None or not changed_since.strip():
        raise required_param("changedSince")
    wanted = _entities(entities, company)
    since = parse_changed_since(changed_since, company)
    window = settings.cdc_window_days
    if window is not None and since < now - timedelta(days=window):
        raise QBOFault.single(
            "4001",
            "Invalid query",
            f"QueryValidationError: changedSince {changed_since.strip()[:40]} is more than "
            f"{window} days ago; Change Data Capture looks back at most {window} days",
        )
    room = settings.cdc_max_objects
    groups: list[dict[str, Any]] = []
    for entity in wanted:
        if entity == "Preferences":
            prefs = company.preferences
            stamp = (prefs.get("MetaData") or {}).get("LastUpdatedTime")
            changed = [prefs] if isinstance(stamp, str) and _after(stamp, since) else []
            deleted: list[tuple[str, datetime]] = []
        else:
            changed, deleted = company.changed_since(entity, since)
        listed: list[Any] = changed[: max(room, 0)]
        room -= len(listed)
        for obj_id, when in deleted[: max(room, 0)]:
            listed.append(
                {
                    "status": "Deleted",
                    "domain": "QBO",
                    "Id": obj_id,
                    "MetaData": {"LastUpdatedTime": meta_time(when, company.zone)},
                }
            )
            room -= 1
        if listed:
            groups.append({entity: listed, "startPosition": 1, "maxResults": len(listed)})
        else:
            groups.append({})
    return [{"QueryResponse": groups}]


def _after(stamp: str, since: datetime) -> bool:
    try:
        return datetime.fromisoformat(stamp) >= since
    except ValueError:
        return False
