"""`QBOConfig`: every setting qbo-infra reads, validated once, when it is built.

A bad value raises `ConfigurationError` at construction, with `.field` naming the
setting; nothing downstream re-checks. Defaults are Intuit's documented values
(limits, lifetimes, endpoints) as of minor version 75.

Endpoints: each URL setting is an override. Left as `None`, reading it returns
the default for the chosen `environment`; set, it wins (this is how the emulator
stands in for Intuit). Reading `config.api_base_url` therefore always gives a
usable URL, and `attrs.evolve(config, environment="production")` moves every
URL that was not overridden.

Secrets (`SECRET_SETTINGS`: `client_secret`, `webhook_verifier_token`) never appear
in `repr`, `str`, `as_settings()` or any error message.

Reading settings from environment strings or files (`"30"`, `"true"`, `"a b"`) is the
settings loader's job (`qbo_container.settings`); this module only validates typed values.
"""

from __future__ import annotations

import math
from typing import Any, Literal, TypeAlias
from urllib.parse import urlsplit

import attrs

from qbo_core.errors import ConfigurationError
from qbo_core.http import MAX_RESPONSE_BYTES
from qbo_core.redaction import REDACTED

__all__ = [
    "DEFAULT_SCOPES",
    "DEFAULT_USER_AGENT",
    "MAX_TOTAL_TIMEOUT",
    "MIN_MINOR_VERSION",
    "SECRET_SETTINGS",
    "Environment",
    "QBOConfig",
]

Environment: TypeAlias = Literal["sandbox", "production"]

#: The OAuth scope for the accounting API.
DEFAULT_SCOPES: tuple[str, ...] = ("com.intuit.quickbooks.accounting",)

#: Sent as `User-Agent` unless configured otherwise.
DEFAULT_USER_AGENT = "qbo-infra/0.1.0"

#: The oldest minor version QBO still honours (since 2025-08-01; older ones are ignored).
MIN_MINOR_VERSION = 75

#: Intuit cuts every request off after 120 seconds.
MAX_TOTAL_TIMEOUT = 120.0

_API_BASE = {
    "sandbox": "https://sandbox-quickbooks.api.intuit.com",
    "production": "https://quickbooks.api.intuit.com",
}
_USERINFO = {
    "sandbox": "https://sandbox-accounts.platform.intuit.com/v1/openid_connect/userinfo",
    "production": "https://accounts.platform.intuit.com/v1/openid_connect/userinfo",
}
_DISCOVERY = {
    "sandbox": "https://developer.api.intuit.com/.well-known/openid_sandbox_configuration",
    "production": "https://developer.api.intuit.com/.well-known/openid_configuration",
}
_AUTHORIZATION = "https://appcenter.intuit.com/connect/oauth2"
_TOKEN = "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer"  # noqa: S105 - a URL
_REVOCATION = "https://developer.api.intuit.com/v2/oauth2/tokens/revoke"

#: The settings that hold secrets, the one list of them: masked by `repr`, by
#: `as_settings()` (what `qbo settings` prints) and in every error message.
SECRET_SETTINGS: frozenset[str] = frozenset({"client_secret", "webhook_verifier_token"})


# --------------------------------------------------------------------- validators


def _setting_name(attribute: attrs.Attribute[Any]) -> str:
    # The public name: private attributes (the URL overrides) are set by their alias.
    return attribute.alias or attribute.name


def _fail(attribute: attrs.Attribute[Any], problem: str, value: object) -> ConfigurationError:
    name = _setting_name(attribute)
    shown = type(value).__name__ if name in SECRET_SETTINGS else repr(value)
    return ConfigurationError(f"{name} {problem}, got {shown}", field=name)


# The validators that take a parameter are small classes rather than closures made by a
# factory: their checks are then methods, run when a value is checked rather than built
# once at import, which is also what mutation testing can see (docs/testing.md).


@attrs.frozen
class _Whole:
    """A whole number (never a bool) of at least `minimum`."""

    minimum: int

    def __call__(self, _: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if isinstance(value, bool) or not isinstance(value, int):
            raise _fail(attribute, "must be a whole number", value)
        if value < self.minimum:
            raise _fail(attribute, f"must be at least {self.minimum}", value)


@attrs.frozen
class _AtMost:
    """A number no larger than `maximum` (after `_Whole` has checked it is one)."""

    maximum: int

    def __call__(self, _: object, attribute: attrs.Attribute[Any], value: Any) -> None:
        if value > self.maximum:
            raise _fail(attribute, f"must be at most {self.maximum}", value)


@attrs.frozen(kw_only=True)
class _Seconds:
    """A finite number of seconds, positive (or zero, with `allow_zero`), up to `maximum`."""

    allow_zero: bool = False
    maximum: float = math.inf

    def __call__(self, _: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _fail(attribute, "must be a number of seconds", value)
        if not math.isfinite(value):
            raise _fail(attribute, "must be finite", value)
        if value < 0 or (value == 0 and not self.allow_zero):
            problem = "must be zero or more" if self.allow_zero else "must be > 0"
            raise _fail(attribute, problem, value)
        if value > self.maximum:
            raise _fail(attribute, f"must be at most {self.maximum:g} seconds", value)


def _flag(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, bool):
        raise _fail(attribute, "must be true or false", value)


@attrs.frozen(kw_only=True)
class _Text:
    """A string with something besides spaces and no control characters (`None` too, when
    `optional`)."""

    optional: bool

    def __call__(self, _: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if value is None and self.optional:
            return
        if not isinstance(value, str):
            raise _fail(attribute, "must be a string", value)
        if not value.strip():
            raise _fail(attribute, "must not be empty", value)
        if any(ord(char) < 32 or ord(char) == 127 for char in value):
            raise _fail(attribute, "must not contain control characters", value)


@attrs.frozen(kw_only=True)
class _Url:
    """An absolute http(s) URL without whitespace (`None` too, when `optional`); a `base`
    URL, which paths are joined after, has no query or fragment either."""

    optional: bool
    base: bool = False

    def __call__(self, _: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if value is None and self.optional:
            return
        if not isinstance(value, str):
            raise _fail(attribute, "must be a URL string", value)
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise _fail(attribute, "must be an absolute http(s) URL", value)
        if any(char.isspace() for char in value):
            raise _fail(attribute, "must not contain whitespace", value)
        if self.base and ("?" in value or "#" in value):
            raise _fail(attribute, "must not have a query or fragment", value)


def _environment(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value not in ("sandbox", "production"):
        raise _fail(attribute, "must be 'sandbox' or 'production'", value)


def _scopes(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, tuple) or not all(isinstance(scope, str) for scope in value):
        raise _fail(attribute, "must be a tuple of scope strings", value)
    if not value:
        raise _fail(attribute, "must name at least one scope", value)
    if any(not scope or any(char.isspace() for char in scope) for scope in value):
        raise _fail(attribute, "must hold non-empty scopes without spaces", value)


def _no_trailing_slash(value: str | None) -> str | None:
    return value.rstrip("/") if isinstance(value, str) else value


# --------------------------------------------------------------------- the config


@attrs.frozen(kw_only=True, repr=False)
class QBOConfig:
    """Settings for talking to QuickBooks Online: credentials, endpoints, limits, timeouts.

    Everything has a default, credentials included (`None`), so a config can be
    built from nothing (the container does so to run against the emulator).
    Services that need the app's credentials call `require_credentials()`, which
    raises `ConfigurationError` when they are missing.

    Credentials and identity:

    - `client_id`, `client_secret`: the app's OAuth 2 keys from the Intuit developer
      portal. `client_secret` is a secret.
    - `environment`: `"sandbox"` (default) or `"production"`; picks the default
      endpoints. Production keys are refused by the sandbox host and vice versa.
    - `redirect_uri`: where Intuit sends the user back after authorizing
      (registered with the app; https outside localhost).
    - `scopes`: OAuth scopes requested, joined with spaces in the authorize URL.
    - `minor_version`: the `minorversion` sent with every data request (at least 75).
    - `user_agent`: the `User-Agent` header.
    - `webhook_verifier_token`: the key Intuit signs webhook bodies with (secret).

    Endpoints (`None`: the environment's default; see the module docstring):
    `api_base_url` (the data API host, no trailing slash, query or fragment),
    `authorization_endpoint`, `token_endpoint`, `revocation_endpoint`,
    `userinfo_endpoint`, `discovery_url` (the OpenID discovery document).

    Limits, per realm unless noted (Intuit's documented values are the defaults):

    - `requests_per_minute` (500) and `requests_per_second` (10, per realm and app);
    - `max_concurrent_requests` (10, per realm and app);
    - `rate_window_margin` (0.1 seconds): how much longer than QBO's each window is
      taken on the client side, so that requests the network delays unevenly still
      fit QBO's windows when they arrive (`RateLimiter`); raise it on a slow or jittery
      path to Intuit, 0 spends the windows exactly as QBO counts them;
    - `batch_max_items` (30 operations in one batch request);
    - `batch_requests_per_minute` (40, per realm and app) and
      `batch_requests_per_minute_realm` (120, per realm, all apps);
    - `max_query_results` (1000 entities per query page, QBO's cap) and
      `default_query_page_size` (what paging asks for, at most `max_query_results`);
    - `cdc_window_days` (30: how far back change data capture reaches) and
      `cdc_max_objects` (1000 objects in one CDC response).

    Tokens, in seconds:

    - `access_token_lifetime` (3600) and `refresh_token_lifetime` (8726400, 101 days):
      assumed when Intuit's response omits `expires_in` / `x_refresh_token_expires_in`;
    - `refresh_margin` (300): refresh an access token this long before it expires;
    - `request_hard_expiry` (true): ask for the refresh token's 5-year hard expiry
      (header `x-include-refresh-token-hard-expires-in`).

    Timeouts, in seconds, each at most 120 (Intuit cuts requests off there):
    `connect_timeout` (10), `read_timeout` (60) and `total_timeout` (120, no less
    than either of the others).

    `max_response_bytes` (200 MiB, also the most allowed): the largest response body,
    counted after decompression; the transport stops reading there and the client
    parses nothing larger (`ResponseTooLargeError`).
    """

    client_id: str | None = attrs.field(default=None, validator=_Text(optional=True))
    client_secret: str | None = attrs.field(default=None, validator=_Text(optional=True))
    environment: Environment = attrs.field(default="sandbox", validator=_environment)
    redirect_uri: str | None = attrs.field(default=None, validator=_Url(optional=True))
    scopes: tuple[str, ...] = attrs.field(default=DEFAULT_SCOPES, validator=_scopes)
    minor_version: int = attrs.field(default=MIN_MINOR_VERSION, validator=_Whole(MIN_MINOR_VERSION))
    user_agent: str = attrs.field(default=DEFAULT_USER_AGENT, validator=_Text(optional=False))
    webhook_verifier_token: str | None = attrs.field(default=None, validator=_Text(optional=True))

    _api_base_url: str | None = attrs.field(
        default=None,
        alias="api_base_url",
        converter=_no_trailing_slash,
        validator=_Url(optional=True, base=True),
    )
    _authorization_endpoint: str | None = attrs.field(
        default=None, alias="authorization_endpoint", validator=_Url(optional=True)
    )
    _token_endpoint: str | None = attrs.field(
        default=None, alias="token_endpoint", validator=_Url(optional=True)
    )
    _revocation_endpoint: str | None = attrs.field(
        default=None, alias="revocation_endpoint", validator=_Url(optional=True)
    )
    _userinfo_endpoint: str | None = attrs.field(
        default=None, alias="userinfo_endpoint", validator=_Url(optional=True)
    )
    _discovery_url: str | None = attrs.field(
        default=None, alias="discovery_url", validator=_Url(optional=True)
    )

    requests_per_minute: int = attrs.field(default=500, validator=_Whole(1))
    requests_per_second: int = attrs.field(default=10, validator=_Whole(1))
    max_concurrent_requests: int = attrs.field(default=10, validator=_Whole(1))
    rate_window_margin: float = attrs.field(default=0.1, validator=_Seconds(allow_zero=True))
    batch_max_items: int = attrs.field(default=30, validator=_Whole(1))
    batch_requests_per_minute: int = attrs.field(default=40, validator=_Whole(1))
    batch_requests_per_minute_realm: int = attrs.field(default=120, validator=_Whole(1))
    max_query_results: int = attrs.field(default=1000, validator=_Whole(1))
    default_query_page_size: int = attrs.field(default=1000, validator=_Whole(1))
    cdc_window_days: int = attrs.field(default=30, validator=_Whole(1))
    cdc_max_objects: int = attrs.field(default=1000, validator=_Whole(1))

    access_token_lifetime: int = attrs.field(default=3600, validator=_Whole(1))
    refresh_token_lifetime: int = attrs.field(default=8_726_400, validator=_Whole(1))
    refresh_margin: float = attrs.field(default=300.0, validator=_Seconds(allow_zero=True))
    request_hard_expiry: bool = attrs.field(default=True, validator=_flag)

    connect_timeout: float = attrs.field(
        default=10.0, validator=_Seconds(maximum=MAX_TOTAL_TIMEOUT)
    )
    read_timeout: float = attrs.field(default=60.0, validator=_Seconds(maximum=MAX_TOTAL_TIMEOUT))
    total_timeout: float = attrs.field(
        default=MAX_TOTAL_TIMEOUT, validator=_Seconds(maximum=MAX_TOTAL_TIMEOUT)
    )
    max_response_bytes: int = attrs.field(
        default=MAX_RESPONSE_BYTES,
        validator=[_Whole(1), _AtMost(MAX_RESPONSE_BYTES)],
    )

    def __attrs_post_init__(self) -> None:
        fields = attrs.fields(QBOConfig)
        if self.requests_per_second > self.requests_per_minute:
            raise _fail(
                fields.requests_per_second,
                f"must not exceed requests_per_minute ({self.requests_per_minute})",
                self.requests_per_second,
            )
        if self.batch_requests_per_minute > self.batch_requests_per_minute_realm:
            raise _fail(
                fields.batch_requests_per_minute,
                "must not exceed batch_requests_per_minute_realm "
                f"({self.batch_requests_per_minute_realm})",
                self.batch_requests_per_minute,
            )
        if self.default_query_page_size > self.max_query_results:
            raise _fail(
                fields.default_query_page_size,
                f"must not exceed max_query_results ({self.max_query_results})",
                self.default_query_page_size,
            )
        if self.refresh_margin >= self.access_token_lifetime:
            raise _fail(
                fields.refresh_margin,
                f"must be shorter than access_token_lifetime ({self.access_token_lifetime})",
                self.refresh_margin,
            )
        longest = max(self.connect_timeout, self.read_timeout)
        if self.total_timeout < longest:
            raise _fail(
                fields.total_timeout,
                f"must be at least connect_timeout and read_timeout ({longest:g})",
                self.total_timeout,
            )

    # ----------------------------------------------------------------- endpoints

    @property
    def api_base_url(self) -> str:
        """The data API host (`https://...intuit.com`, no trailing slash)."""
        return self._api_base_url or _API_BASE[self.environment]

    @property
    def authorization_endpoint(self) -> str:
        """Where the user is sent to grant access (OAuth 2 authorize)."""
        return self._authorization_endpoint or _AUTHORIZATION

    @property
    def token_endpoint(self) -> str:
        """Where codes and refresh tokens are exchanged for tokens."""
        return self._token_endpoint or _TOKEN

    @property
    def revocation_endpoint(self) -> str:
        """Where a token (and its whole grant) is revoked."""
        return self._revocation_endpoint or _REVOCATION

    @property
    def userinfo_endpoint(self) -> str:
        """The OpenID Connect userinfo endpoint of the environment."""
        return self._userinfo_endpoint or _USERINFO[self.environment]

    @property
    def discovery_url(self) -> str:
        """The OpenID discovery document of the environment."""
        return self._discovery_url or _DISCOVERY[self.environment]

    # ----------------------------------------------------------------- helpers

    def require_credentials(self) -> tuple[str, str]:
        """`(client_id, client_secret)`; `ConfigurationError` naming whichever is missing."""
        if self.client_id is None:
            raise ConfigurationError(
                "client_id is not configured; it is needed to talk to Intuit's OAuth endpoints",
                field="client_id",
            )
        if self.client_secret is None:
            raise ConfigurationError(
                "client_secret is not configured; it is needed to talk to Intuit's OAuth endpoints",
                field="client_secret",
            )
        return self.client_id, self.client_secret

    def as_settings(self, *, mask_secrets: bool = True) -> dict[str, object]:
        """Every setting by name with the value in effect, defaults included.

        Endpoints are the URLs in use (the environment's default where no override is
        set). A secret that is set reads `<redacted>` unless `mask_secrets` is false
        (an unset one stays `None`, so it is visible that it is missing).
        """
        shown: dict[str, object] = {}
        for field in attrs.fields(QBOConfig):
            name = _setting_name(field)
            value = getattr(self, name)
            secret = mask_secrets and name in SECRET_SETTINGS and value is not None
            shown[name] = REDACTED if secret else value
        return shown

    def __repr__(self) -> str:
        shown = []
        for name, value in self.as_settings().items():
            masked = name in SECRET_SETTINGS and value is REDACTED
            shown.append(f"{name}={value}" if masked else f"{name}={value!r}")
        return f"QBOConfig({', '.join(shown)})"
