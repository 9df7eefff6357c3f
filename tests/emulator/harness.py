"""A small client for the emulator's data API, shared by the emulator's tests.

`DataClient` wraps a `QBOEmulator` on a `FakeClock` (throttling off unless asked), mints a
bearer token through the emulator's OAuth server and sends requests through
`QBOEmulator.handle`, the same handler both doors use. `shape_problems` compares two JSON
values by keys and JSON types, never by values; `header` and `relative` read recorded
exchanges.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlsplit

import attrs

from qbo_adapters.emulator.app import QBOEmulator
from qbo_adapters.emulator.settings import EmulatorSettings
from qbo_adapters.emulator.store import Company
from qbo_adapters.memory.clock import FakeClock
from qbo_core.http import Headers, HttpRequest

__all__ = ["DataClient", "Reply", "header", "relative", "shape_problems"]


@attrs.frozen
class Reply:
    """One answer: status, headers and the raw body."""

    status: int
    headers: Headers
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def fault_codes(self) -> list[str]:
        return [error["code"] for error in self.json()["Fault"]["Error"]]


class DataClient:
    """Talks to one emulator realm through `QBOEmulator.handle`."""

    def __init__(
        self,
        settings: EmulatorSettings | None = None,
        *,
        clock: FakeClock | None = None,
        **overrides: Any,
    ) -> None:
        base = settings or EmulatorSettings(throttle=False)
        self.settings = attrs.evolve(base, **overrides) if overrides else base
        self.clock = clock or FakeClock()
        self.emulator = QBOEmulator(self.settings, clock=self.clock)
        self.realm = self.emulator.realm_ids[0]
        self.token = str(self.emulator.oauth.mint_tokens(self.realm)["access_token"])

    @property
    def company(self) -> Company:
        return self.emulator.companies[self.realm]

    def advance(self, seconds: float) -> None:
        """Move the fake clock on (whole seconds keep MetaData times distinct)."""
        self.clock.advance(seconds)

    async def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        content_type: str | None = "application/json",
        accept: str = "application/json",
    ) -> Reply:
        """Send `method` to `/v3/company/{realm}{path}`; a non-bytes body is sent as JSON."""
        headers = {"Authorization": f"Bearer {self.token}", "Accept": accept}
        if content_type is not None:
            headers["Content-Type"] = content_type
        if body is None:
            data = b""
        elif isinstance(body, bytes):
            data = body
        elif isinstance(body, str):
            data = body.encode()
        else:
            data = json.dumps(body).encode()
        url = f"http://emulator.invalid/v3/company/{self.realm}{path}"
        response = await self.emulator.handle(
            HttpRequest(method=method, url=url, headers=headers, body=data)
        )
        assert not self.emulator.internal_errors, list(self.emulator.internal_errors)
        return Reply(response.status, response.headers, response.body)

    async def get(self, path: str) -> Reply:
        return await self.request("GET", path)

    async def post(self, path: str, body: Any) -> Reply:
        return await self.request("POST", path, body)

    async def query(self, statement: str) -> Reply:
        return await self.request("GET", f"/query?query={quote(statement)}")

    async def create(self, entity: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """Create through the API; fails the test unless QBO would answer 200."""
        reply = await self.post(f"/{entity.lower()}", dict(body))
        assert reply.status == 200, reply.body
        created: dict[str, Any] = reply.json()[entity]
        return created

    async def read(self, entity: str, obj_id: str) -> dict[str, Any]:
        reply = await self.get(f"/{entity.lower()}/{obj_id}")
        assert reply.status == 200, reply.body
        found: dict[str, Any] = reply.json()[entity]
        return found


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if value is None:
        return "null"
    if isinstance(value, list):
        return "array"
    return "object"


def shape_problems(expected: Any, actual: Any, path: str = "$") -> list[str]:
    """Where `actual` differs from `expected` in keys or JSON types (values ignored).

    Objects must have the same keys; arrays are compared item by item as far as both go
    and must be both empty or both non-empty.
    """
    if _kind(expected) != _kind(actual):
        return [f"{path}: expected {_kind(expected)}, got {_kind(actual)}"]
    if isinstance(expected, dict):
        problems = []
        missing = sorted(set(expected) - set(actual))
        extra = sorted(set(actual) - set(expected))
        if missing:
            problems.append(f"{path}: missing keys {missing}")
        if extra:
            problems.append(f"{path}: unexpected keys {extra}")
        for key in sorted(set(expected) & set(actual)):
            problems += shape_problems(expected[key], actual[key], f"{path}.{key}")
        return problems
    if isinstance(expected, list):
        if bool(expected) != bool(actual):
            return [f"{path}: expected {len(expected)} items, got {len(actual)}"]
        problems = []
        for index, (left, right) in enumerate(zip(expected, actual, strict=False)):
            problems += shape_problems(left, right, f"{path}[{index}]")
        return problems
    return []


def header(headers: dict[str, Any], name: str) -> str:
    """The (first) value of header `name`, in any case, in a recorded header map; "" if absent."""
    for key, value in headers.items():
        if key.lower() == name.lower():
            return str(value[0] if isinstance(value, list) else value)
    return ""


def relative(uri: str) -> str:
    """The part after `/v3/company/<realm>` (some recorded URIs lost that segment)."""
    parts = urlsplit(uri)
    path = parts.path.removeprefix("/v3/")
    if path.startswith("company/"):
        path = path.split("/", 2)[2]
    return f"/{path}" + (f"?{parts.query}" if parts.query else "")
