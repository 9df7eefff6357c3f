"""`HttpGuard`: what the HTTP door checks before a request reaches the emulator.

The emulator runs on developers' machines and in CI, so over HTTP it refuses what would
let a web page or another user drive it:

- `Host` must name the address it listens on (every route): the bound address itself,
  `localhost`, `127.0.0.1` and `[::1]` when it listens on loopback, any IP literal when
  it listens on every interface (`0.0.0.0`, `::`), plus the names given in
  `allowed_hosts`. The port is not compared (a port may be forwarded). A page on
  `evil.example` that re-points its DNS name at 127.0.0.1 (DNS rebinding) sends
  `Host: evil.example` and gets 421 `misdirected_request`; a malformed or missing Host
  is 400 `invalid_host`.
- The control API (`/_emulator/...`) needs the control token, minted at start
  (`secrets.token_urlsafe`) and printed by `qbo emulator`, in the `X-Emulator-Token`
  header: 401 `control_token_required` without it, 401 `invalid_control_token` with
  another. A browser cannot add that header to a cross-origin request without a CORS
  preflight, which the emulator never grants. The temporary attachment links
  (`/_emulator/files/{token}`) are exempt: like pre-signed S3 URLs, the link's own
  random token is the credential.

The in-process door (`EmulatorTransport`, and `emulator.control` in Python) has no
guard: whoever holds the object already controls it. Refusals are JSON
`{"error", "detail"}`, as the control API's own errors are.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import re
from collections.abc import Iterable
from typing import Final
from urllib.parse import unquote

import attrs

from qbo_adapters.emulator.context import split_target
from qbo_core.http import Headers, HttpRequest, HttpResponse

__all__ = ["CONTROL_TOKEN_HEADER", "HttpGuard", "is_loopback", "is_wildcard"]

#: The header that carries the control token over HTTP.
CONTROL_TOKEN_HEADER: Final = "X-Emulator-Token"  # noqa: S105 (a header name)

_CONTROL_PREFIX: Final = "/_emulator/"
_FILES_PREFIX: Final = "/_emulator/files/"
_LOOPBACK_NAMES: Final = frozenset({"localhost", "127.0.0.1", "::1"})
_HOST: Final = re.compile(
    r"(?:\[(?P<v6>[0-9A-Fa-f:.]+)\]|(?P<name>[A-Za-z0-9._-]+))(?::[0-9]{1,5})?", re.ASCII
)


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        return None


def is_wildcard(host: str) -> bool:
    """Whether binding `host` listens on every interface (`0.0.0.0`, `::`, empty)."""
    address = _ip(host)
    return host == "" or (address is not None and address.is_unspecified)


def is_loopback(host: str) -> bool:
    """Whether binding `host` listens on loopback only."""
    address = _ip(host)
    return host.lower() == "localhost" or (address is not None and address.is_loopback)


def _refusal(status: int, error: str, detail: str, *headers: tuple[str, str]) -> HttpResponse:
    body = json.dumps({"error": error, "detail": detail}, separators=(",", ":")).encode()
    return HttpResponse(
        status=status,
        headers=Headers([("Content-Type", "application/json"), *headers]),
        body=body,
    )


def _lowered(names: Iterable[str]) -> frozenset[str]:
    return frozenset(name.lower().strip("[]") for name in names)


@attrs.frozen(kw_only=True)
class HttpGuard:
    """The HTTP door's checks for a server bound to `bound_host` (see the module docstring)."""

    control_token: str = attrs.field(repr=False)
    bound_host: str
    allowed_hosts: frozenset[str] = attrs.field(default=frozenset(), converter=_lowered)

    @classmethod
    def for_address(
        cls, host: str, *, control_token: str, allowed_hosts: Iterable[str] = ()
    ) -> HttpGuard:
        return cls(control_token=control_token, bound_host=host, allowed_hosts=allowed_hosts)

    def host_allowed(self, name: str) -> bool:
        """Whether a request whose `Host` names `name` (no port, no brackets) is served."""
        name = name.lower()
        if name in self.allowed_hosts or name == self.bound_host.lower().strip("[]"):
            return True
        if is_loopback(self.bound_host):
            return name in _LOOPBACK_NAMES
        if is_wildcard(self.bound_host):
            return name == "localhost" or _ip(name) is not None
        return False

    def check(self, request: HttpRequest) -> HttpResponse | None:
        """The refusal for `request`, or `None` when it may go on to the emulator."""
        host = request.headers.get("host")
        match = _HOST.fullmatch(host or "")
        if host is None or match is None or (match["v6"] is not None and _ip(match["v6"]) is None):
            return _refusal(400, "invalid_host", f"the Host header {host!r} is not a valid host")
        name = match["v6"] or match["name"]
        if not self.host_allowed(name):
            return _refusal(
                421,
                "misdirected_request",
                f"this emulator does not answer for host {name!r} (it listens on "
                f"{self.bound_host}; start it with --allow-host {name} to allow it)",
            )
        path = unquote(split_target(request.url).path)
        if path.startswith(_CONTROL_PREFIX) and not path.startswith(_FILES_PREFIX):
            given = request.headers.get(CONTROL_TOKEN_HEADER)
            challenge = ("WWW-Authenticate", f'{CONTROL_TOKEN_HEADER} realm="qbo-emulator"')
            if given is None:
                return _refusal(
                    401,
                    "control_token_required",
                    f"the control API needs the control token (printed at start) in the "
                    f"{CONTROL_TOKEN_HEADER} header",
                    challenge,
                )
            if not hmac.compare_digest(given.encode(), self.control_token.encode()):
                return _refusal(
                    401,
                    "invalid_control_token",
                    "the control token is not this emulator's",
                    challenge,
                )
        return None
