"""`qbo health`: the connection health of connected companies, as a table or JSON.

For each realm (`--realm`, repeatable; default every company in the connection
registry) the `QBOHealthMonitor` reports state, reasons, token expiries, traffic and
active alerts. Unless `--no-probe`, each company is probed first (a fresh CompanyInfo
read through its smart sync: this process has seen no other traffic), so the state
says whether QBO answers now.

Exit status: 0 when every company is healthy or degraded (working); 1 when any is
unhealthy or needs the user to connect it again (see `docs/cli.md`).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any, TextIO

from rich.table import Table

from qbo_container.commands.common import (
    EXIT_FAILED,
    ConnectionRegistry,
    chosen_realms,
    failure_of,
    make_console,
    open_qbo,
    registry_path,
)
from qbo_container.facade import QBO
from qbo_container.settings import Settings
from qbo_core.dtos import BusinessHealth, HealthState
from qbo_core.errors import QBOError
from qbo_core.services.health import QBOHealthMonitor

__all__ = ["collect_health", "health_json", "health_table", "monitor_of", "run_health"]

_STYLE = {
    HealthState.HEALTHY: "green",
    HealthState.DEGRADED: "yellow",
    HealthState.UNHEALTHY: "red",
    HealthState.NEEDS_REAUTHORIZATION: "red",
}


def monitor_of(qbo: QBO) -> QBOHealthMonitor:
    """The facade's health monitor: its recorder sees every event of `qbo`, and it pings
    the stores in use."""
    return qbo.health


async def collect_health(
    qbo: QBO,
    realms: Sequence[str],
    registry: ConnectionRegistry,
    *,
    probe: bool = True,
    monitor: QBOHealthMonitor | None = None,
) -> list[BusinessHealth]:
    """The health of each realm, in order (probed first when `probe`)."""
    monitor = monitor or monitor_of(qbo)
    entries = registry.entries()
    results = []
    for realm in realms:
        entry = entries.get(realm, {})
        business = entry.get("business_id") or registry.business_of(realm)
        name = entry.get("company_name") or None
        if probe:
            sync = qbo.smart_sync(business_id=business, realm_id=realm)
            results.append(await monitor.check(business, realm, sync, business_name=name))
        else:
            results.append(
                await monitor.get_business_health_details(business, name, realm_id=realm)
            )
    return results


def _when(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def health_json(health: BusinessHealth) -> dict[str, Any]:
    """One company's health as plain JSON values (never a token)."""
    return {
        "business_id": health.business_id,
        "business_name": health.business_name,
        "realm_id": health.realm_id,
        "state": health.state.value,
        "reasons": list(health.reasons),
        "checked_at": _when(health.checked_at),
        "connection": health.connection.value if health.connection is not None else None,
        "access_token_expires_at": _when(health.access_token_expires_at),
        "refresh_token_expires_at": _when(health.refresh_token_expires_at),
        "refresh_token_hard_expires_at": _when(health.refresh_token_hard_expires_at),
        "last_success_at": _when(health.last_success_at),
        "last_failure_at": _when(health.last_failure_at),
        "last_failure_error": health.last_failure_error,
        "request_count": health.request_count,
        "error_rate": health.error_rate,
        "throttle_rate": health.throttle_rate,
        "p50_latency_ms": health.p50_latency_ms,
        "p95_latency_ms": health.p95_latency_ms,
        "alerts": [
            {
                "name": alert.name,
                "severity": alert.severity.value,
                "message": alert.message,
                "since": _when(alert.since),
            }
            for alert in health.alerts
        ],
        "adapters": {
            name: {"up": adapter.up, "error": adapter.error, "round_trip_ms": adapter.round_trip_ms}
            for name, adapter in sorted(health.adapters.items())
        },
    }


def _day(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if moment is not None else "-"


def _ms(value: float | None) -> str:
    return f"{value:.0f}" if value is not None else "-"


def health_table(results: Sequence[BusinessHealth], *, title: str = "Health") -> Table:
    """The health of `results` as a rich table, one row per company."""
    table = Table(title=title)
    for column in (
        "realm",
        "company",
        "state",
        "access token until",
        "refresh token until",
        "requests",
        "p50/p95 ms",
        "alerts",
        "reasons",
    ):
        table.add_column(column)
    for health in results:
        style = _STYLE[health.state]
        table.add_row(
            health.realm_id or "-",
            health.business_name,
            f"[{style}]{health.state.value}[/{style}]",
            _day(health.access_token_expires_at),
            _day(health.refresh_token_expires_at),
            str(health.request_count),
            f"{_ms(health.p50_latency_ms)}/{_ms(health.p95_latency_ms)}",
            ", ".join(alert.name for alert in health.alerts) or "-",
            "; ".join(health.reasons) or "-",
        )
    return table


def working(results: Sequence[BusinessHealth]) -> bool:
    """Whether every company is healthy or degraded."""
    return all(h.state in (HealthState.HEALTHY, HealthState.DEGRADED) for h in results)


async def _health(
    settings: Settings, realms: Sequence[str], registry: ConnectionRegistry, *, probe: bool
) -> list[BusinessHealth]:
    async with open_qbo(settings) as qbo:
        return await collect_health(qbo, realms, registry, probe=probe)


def run_health(
    settings: Settings,
    *,
    realms: Sequence[str] | None,
    as_json: bool,
    probe: bool,
    out: TextIO,
) -> int:
    """The body of `qbo health`; returns the exit status (raises `CommandFailed`)."""
    registry = ConnectionRegistry(registry_path(settings))
    chosen = chosen_realms(realms, registry)
    try:
        results = asyncio.run(_health(settings, chosen, registry, probe=probe))
    except QBOError as exc:
        raise failure_of(exc, doing="health check failed") from None
    if as_json:
        print(json.dumps([health_json(h) for h in results], indent=2), file=out)
    else:
        make_console(out).print(health_table(results))
    return 0 if working(results) else EXIT_FAILED
