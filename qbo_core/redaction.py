"""Keep secrets out of logs, reprs and error messages.

`redact` replaces anything that looks like a credential in free text (bearer
tokens, OAuth token fields, JWTs, the token fragment QBO echoes in its
"Token expired: ..." gateway fault) with `<redacted>`; `redact_truncated` also cuts a
text to a bounded length. `redact_mapping` does the same for structured data, by key
name.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

REDACTED = "<redacted>"

_SECRET_KEY = re.compile(
    r"(token|secret|password|authorization|signature|verifier|client_assertion|code_verifier)",
    re.IGNORECASE,
)

# Names that describe a credential rather than hold it: when it expires, what kind it is.
# `access_token_expires_at` is a time, `token_type` is "bearer"; their values still pass
# through `redact` like any other text.
_ABOUT_SECRET = re.compile(r"(_expires_(at|in)|_type)$", re.IGNORECASE)

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # Authorization: Bearer abc / Basic abc
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9\-._~+/]{8,}=*"), rf"\1 {REDACTED}"),
    # access_token=..., "refresh_token": "...", client_secret: ...
    (
        re.compile(
            r"(?i)([\"']?\b(?:access_token|refresh_token|id_token|client_secret|token)"
            r"[\"']?\s*[:=]\s*[\"']?)[^\"'&\s,}]+"
        ),
        rf"\1{REDACTED}",
    ),
    # an authorization code in a redirect URL
    (re.compile(r"([?&]code=)[^&#\s]+"), rf"\1{REDACTED}"),
    # QBO's gateway fault: "Token expired: AB0160..." / "Token invalid: ..."
    (re.compile(r"(?i)(token (?:expired|invalid|revoked)\s*:\s*)\S+"), rf"\1{REDACTED}"),
    # JSON Web Tokens, signed (header.payload.signature) or encrypted (JWE: header.key.iv.
    # ciphertext.tag). Intuit's access tokens are JWE with direct encryption, so their key
    # segment is empty: "eyJ...", "", then iv, ciphertext and tag.
    (
        re.compile(
            r"\beyJ[A-Za-z0-9_-]{4,}"
            r"(?:\.[A-Za-z0-9_-]{4,}\.|\.\.[A-Za-z0-9_-]{4,}\.)"
            r"[A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]*){0,2}"
        ),
        REDACTED,
    ),
)

#: How much wider than the kept part a cut text is scanned, so that a credential
#: straddling the cut (Intuit's tokens are about 1 KB) is masked whole before cutting.
_SCAN_MARGIN = 16 * 1024


def redact(text: str) -> str:
    """`text` with every credential-looking substring replaced by `<redacted>`."""
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def redact_truncated(text: str, limit: int) -> str:
    """`redact(text)`, cut to `limit` characters plus a marker when it was longer.

    The marker says the text was cut and how long it was: `…[truncated: 262144000
    characters]`. Only the start of a huge text is scanned, so this costs the same for
    250 MB as for 250 KB, and a credential that straddles the cut is masked, not halved.
    """
    if len(text) <= limit:
        return redact(text)
    kept = redact(text[: limit + _SCAN_MARGIN])[:limit]
    return f"{kept}…[truncated: {len(text)} characters]"


def is_secret_key(key: str) -> bool:
    """Whether a field or header name usually holds a credential.

    A name that only describes one (`refresh_token_expires_at`, `token_type`) does not.
    """
    return bool(_SECRET_KEY.search(key)) and not _ABOUT_SECRET.search(key)


def redact_mapping(values: Mapping[str, object]) -> dict[str, object]:
    """A copy of `values` with secret-named keys masked and strings passed through `redact`."""
    clean: dict[str, object] = {}
    for key, value in values.items():
        if is_secret_key(key):
            clean[key] = REDACTED
        elif isinstance(value, str):
            clean[key] = redact(value)
        elif isinstance(value, Mapping):
            clean[key] = redact_mapping(value)
        else:
            clean[key] = value
    return clean
