"""Which redirect URIs the emulator's authorize endpoint may send a code to.

QBO compares a redirect URI exactly, character for character, with the ones registered
for the app. The emulator does the same, and (with `allow_any_loopback_redirect`, for
local tools that pick a port at random) also takes a loopback URI, but only one that
every URL parser reads alike: `http` or `https`, then exactly `127.0.0.1`, `localhost`
or `[::1]`, an optional decimal port, and a path and query free of backslashes,
whitespace, control characters and `#`. No user info (`@`), no percent-encoded or
numeric-variant hosts (`127.1`, `0x7f.1`). So `http://evil.example\\@127.0.0.1/cb`,
which Python reads as 127.0.0.1 and a browser (WHATWG, where `\\` is `/`) as
evil.example, is refused.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final

__all__ = ["redirect_allowed"]

_LOOPBACK: Final = re.compile(
    r"https?://(?:127\.0\.0\.1|localhost|\[::1\])(?::(?P<port>[0-9]{1,5}))?"
    r"(?:[/?][\x21-\x7e]*)?",
    re.ASCII,
)


def redirect_allowed(uri: str, registered: Iterable[str], *, any_loopback: bool) -> bool:
    """Whether the authorize endpoint may redirect to `uri` (see the module docstring)."""
    if uri in registered:
        return True
    if not any_loopback:
        return False
    match = _LOOPBACK.fullmatch(uri)
    if match is None or "\\" in uri or "#" in uri:
        return False
    port = match["port"]
    return port is None or 0 < int(port) <= 65_535
