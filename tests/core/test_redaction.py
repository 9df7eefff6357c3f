"""Redaction: credentials vanish from free text and mappings, ordinary text stays intact."""

from __future__ import annotations

import base64
import json
import string

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from qbo_core.errors import DecodeError, QBOError
from qbo_core.redaction import REDACTED, is_secret_key, redact, redact_mapping, redact_truncated

#: RFC 6750 b64token characters, at lengths real Intuit tokens have.
B64TOKEN = string.ascii_letters + string.digits + "-._~+/"
TOKENS = st.text(alphabet=B64TOKEN, min_size=20, max_size=1200)
PADDED = st.builds(lambda body, pad: body + "=" * pad, TOKENS, st.integers(0, 2))
JWT_PART = st.text(alphabet=string.ascii_letters + string.digits + "-_", min_size=4, max_size=300)
JWTS = st.builds(lambda head, body, sig: f"eyJ{head}.{body}.{sig}", JWT_PART, JWT_PART, JWT_PART)
CODES = st.text(alphabet=string.ascii_letters + string.digits + "-_.~", min_size=10, max_size=512)


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


#: The protected header of Intuit's access tokens: direct encryption, so no encrypted key.
JWE_HEADER = b64url(json.dumps({"alg": "dir", "enc": "A128CBC-HS256"}).encode())


def jwe(iv: bytes, ciphertext: bytes, tag: bytes) -> str:
    """An Intuit-format access token: `header..iv.ciphertext.tag` (the key segment empty)."""
    return f"{JWE_HEADER}..{b64url(iv)}.{b64url(ciphertext)}.{b64url(tag)}"


JWES = st.builds(
    jwe,
    st.binary(min_size=16, max_size=16),
    st.binary(min_size=16, max_size=1200),
    st.binary(min_size=16, max_size=16),
)
INNOCUOUS_KEYS = st.sampled_from(["value", "note", "data", "Message", "Detail", "x", "id"])


# --------------------------------------------------------------------- credentials are removed


@given(PADDED)
def test_bearer_header_token_never_survives(token: str) -> None:
    """For any realistic token, redacting an Authorization bearer header removes it."""
    text = f"Authorization: Bearer {token}"
    assume(token not in f"Authorization: Bearer {REDACTED}")
    assert token not in redact(text)
    assert redact(text) == f"Authorization: Bearer {REDACTED}"


@given(PADDED)
def test_basic_credentials_never_survive(credentials: str) -> None:
    """The base64 client id and secret of a Basic header are removed."""
    assume(credentials not in f"Authorization: Basic {REDACTED}")
    assert redact(f"Authorization: Basic {credentials}") == f"Authorization: Basic {REDACTED}"


@pytest.mark.parametrize("scheme", ["bearer", "BEARER", "Bearer"])
def test_bearer_scheme_is_case_insensitive(scheme: str) -> None:
    """The auth scheme is matched in any case."""
    assert redact(f"{scheme} eyJraWQiOiJlbmMi") == f"{scheme} {REDACTED}"


@pytest.mark.parametrize(
    "field", ["access_token", "refresh_token", "id_token", "client_secret", "token"]
)
@given(token=TOKENS)
def test_token_fields_in_json_are_redacted(field: str, token: str) -> None:
    """A token field of an OAuth JSON body loses its value and keeps its key."""
    body = json.dumps({"token_type": "bearer", field: token, "expires_in": 3600})
    assume(token not in body.replace(token, ""))
    clean = redact(body)
    assert token not in clean
    assert f'"{field}": "{REDACTED}"' in clean
    assert '"expires_in": 3600' in clean


@given(TOKENS)
def test_token_fields_in_form_bodies_are_redacted(token: str) -> None:
    """A form-encoded refresh request loses the refresh token but keeps the grant type."""
    body = f"grant_type=refresh_token&refresh_token={token}"
    clean = redact(body)
    assert token not in clean
    assert clean == f"grant_type=refresh_token&refresh_token={REDACTED}"


@given(CODES)
def test_authorization_code_in_redirect_url_is_redacted(code: str) -> None:
    """The `code` of an OAuth redirect is removed; state and realmId are kept."""
    url = f"https://app.example.com/callback?code={code}&state=s-123&realmId=9130"
    clean = redact(url)
    assert code not in clean
    assert clean == f"https://app.example.com/callback?code={REDACTED}&state=s-123&realmId=9130"


@given(JWTS)
def test_jwts_are_redacted_wherever_they_appear(jwt: str) -> None:
    """A JSON Web Token is removed even with no key or scheme before it."""
    clean = redact(f"id token was {jwt} (decoded later)")
    assert jwt not in clean
    assert clean == f"id token was {REDACTED} (decoded later)"


def test_a_realistic_intuit_access_token_is_a_five_segment_jwe() -> None:
    """The token built here has Intuit's shape: `eyJ` header, empty key, iv, ciphertext, tag."""
    token = jwe(bytes(16), b"x" * 700, bytes(16))
    header, key, iv, ciphertext, tag = token.split(".")
    assert header.startswith("eyJ")
    assert json.loads(base64.urlsafe_b64decode(header + "==")) == {
        "alg": "dir",
        "enc": "A128CBC-HS256",
    }
    assert key == ""
    assert len(iv) == len(tag) == 22
    assert len(ciphertext) > 900


@given(JWES)
def test_intuit_jwe_access_tokens_are_redacted_in_free_text(token: str) -> None:
    """An Intuit access token (JWE, empty second segment) is removed whole from prose."""
    clean = redact(f"sent {token} to QBO.")
    assert clean == f"sent {REDACTED} to QBO."


@given(JWES, st.binary(min_size=16, max_size=200))
def test_jwes_with_an_encrypted_key_are_redacted_whole(token: str, key: bytes) -> None:
    """A JWE whose key segment is not empty is removed whole too, all five segments."""
    header, _, iv, ciphertext, tag = token.split(".")
    full = ".".join([header, b64url(key), iv, ciphertext, tag])
    assert redact(f"[{full}]") == f"[{REDACTED}]"


@given(token=JWES, key=INNOCUOUS_KEYS)
def test_intuit_jwe_under_an_innocuous_json_key_is_redacted(token: str, key: str) -> None:
    """A bare access token under a key that does not say "token" is still masked in JSON."""
    text = json.dumps({key: token, "status": 401})
    assert token not in redact(text)
    assert json.loads(redact(text)) == {key: REDACTED, "status": 401}
    assert redact_mapping({key: token, "nested": {key: f"saw {token}"}}) == {
        key: REDACTED,
        "nested": {key: f"saw {REDACTED}"},
    }


@given(JWES)
def test_intuit_jwe_never_reaches_an_error(token: str) -> None:
    """Neither an error's message and detail nor a `DecodeError`'s body excerpt keep the token."""
    excerpt = json.dumps({"value": token})[:300]  # what the wire keeps of a body
    error = DecodeError(f"echoed {token}", body_excerpt=excerpt, detail=f"detail {token}")
    for text in (error.message, error.detail or "", error.body_excerpt or "", str(error)):
        assert token not in text
    assert error.message == f"echoed {REDACTED}"
    assert token not in str(QBOError(token))


@pytest.mark.parametrize("verb", ["expired", "invalid", "revoked", "EXPIRED"])
def test_qbo_token_fragment_in_gateway_detail_is_redacted(verb: str) -> None:
    """The token fragment QBO echoes in "Token expired: ..." details is removed."""
    detail = f"Token {verb}: AB01601390262kxzxHhmQ9kD7nBv3wR2pQ"
    assert redact(detail) == f"Token {verb}: {REDACTED}"


# --------------------------------------------------------------------- ordinary text is kept


@pytest.mark.parametrize(
    "text",
    [
        "message=AuthenticationFailed; errorCode=003200; statusCode=401",
        "basic auth",
        "code 6240",
        "Duplicate Name Exists Error",
        'Bearer realm="Intuit", error="invalid_token"',
        "select * from Customer where DisplayName = 'Bearer Co'",
        "https://quickbooks.api.intuit.com/v3/company/9130/query?minorversion=75",
        "the token type is bearer",
        "statuscode=200",
        "intuit_tid=1-5f733d9a-1d4e21aa217ba43177113df4",
        "",
    ],
)
def test_ordinary_text_is_left_intact(text: str) -> None:
    """Text without credentials (QBO messages, codes, URLs, queries) passes unchanged."""
    assert redact(text) == text


@given(st.text(alphabet=string.ascii_lowercase + string.digits + " ;,.:()", max_size=200))
def test_plain_prose_without_credential_words_is_unchanged(text: str) -> None:
    """Lower-case prose with no credential keyword, scheme or `code=` is never altered."""
    assume(not any(word in text for word in ("bearer", "basic", "token", "secret", "eyj")))
    assert redact(text) == text


@given(st.text())
def test_redaction_is_idempotent(text: str) -> None:
    """Redacting twice gives the same text as redacting once."""
    once = redact(text)
    assert redact(once) == once


# --------------------------------------------------------------------- mappings


@pytest.mark.parametrize(
    "key",
    [
        "access_token",
        "Authorization",
        "client_secret",
        "intuit-signature",
        "webhook_verifier_token",
        "password",
        "code_verifier",
    ],
)
def test_secret_keys_are_recognised(key: str) -> None:
    """Field and header names that hold credentials are recognised in any case."""
    assert is_secret_key(key)
    assert is_secret_key(key.upper())


@pytest.mark.parametrize("key", ["realm_id", "status", "intuit_tid", "expires_in", "code"])
def test_ordinary_keys_are_not_secret(key: str) -> None:
    """Ordinary field names are not treated as secret."""
    assert not is_secret_key(key)


@pytest.mark.parametrize(
    "key",
    [
        "access_token_expires_at",
        "refresh_token_expires_at",
        "x_refresh_token_expires_in",
        "token_type",
        "Token_Type",
    ],
)
def test_names_that_describe_a_credential_are_not_secret(key: str) -> None:
    """A credential's expiry or kind is not itself a secret: `token.refreshed` events
    carry the new expiries, which a sink must show."""
    assert not is_secret_key(key)


def test_a_credential_kept_under_a_describing_name_is_still_redacted() -> None:
    """The value under a describing name still goes through `redact`."""
    clean = redact_mapping(
        {"token_type": "Bearer eyJhbGciOiJkaXIiLCJlbmMiOiJBMTI4In0..abcd.efgh.ijkl"}
    )
    assert clean == {"token_type": f"Bearer {REDACTED}"}


def test_redact_mapping_masks_secret_keys_and_redacts_nested_text() -> None:
    """Secret-named values are masked, strings elsewhere are redacted, other values kept."""
    source = {
        "refresh_token": "AB11760000000abc",
        "status": 401,
        "note": "sent Bearer eyJhbGciOiJSUzI1NiJ9xyz",
        "nested": {"client_secret": "s3cr3t-value", "realm_id": "9130"},
    }
    assert redact_mapping(source) == {
        "refresh_token": REDACTED,
        "status": 401,
        "note": f"sent Bearer {REDACTED}",
        "nested": {"client_secret": REDACTED, "realm_id": "9130"},
    }
    assert source["refresh_token"] == "AB11760000000abc"


# --------------------------------------------------------------------- bounded text


def test_short_text_is_only_redacted() -> None:
    """Text within the limit is returned redacted, uncut and without a marker."""
    assert redact_truncated("Bearer abcdefghijklmnop", 100) == f"Bearer {REDACTED}"
    assert redact_truncated("x" * 100, 100) == "x" * 100


def test_long_text_is_cut_with_a_marker_saying_how_long_it_was() -> None:
    """Text over the limit keeps its first `limit` characters and says it was cut."""
    assert redact_truncated("x" * 250_000_000, 10) == "xxxxxxxxxx…[truncated: 250000000 characters]"


@given(JWES, st.integers(0, 45))
def test_a_token_straddling_the_cut_is_masked_not_halved(token: str, before: int) -> None:
    """A credential crossing the cut is redacted whole first, so no part of it is kept."""
    text = "x " * before + token + " " + "y" * 100_000
    clean = redact_truncated(text, 100)
    assert clean.startswith(("x " * before + REDACTED)[:100])
    for start in range(len(token) - 8):
        assert token[start : start + 8] not in clean


def test_a_refresh_events_expiries_survive_scrubbing() -> None:
    """What the auth service emits on `token.refreshed` keeps its expiries through
    `redact_mapping`, as every event sink scrubs it (docs/operations.md promises them)."""
    attributes = {
        "grant": "refresh_token",
        "rotated": True,
        "access_token_expires_at": "2026-12-07T21:00:00+00:00",
        "refresh_token_expires_at": "2027-03-17T20:00:00+00:00",
    }
    assert redact_mapping(attributes) == attributes
