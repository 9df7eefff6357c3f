"""Where the container's settings come from, and the one pass that validates them.

Settings are one nested mapping with a section per concern::

    api          QBOConfig's settings (client_id, client_secret, environment, URLs,
                 limits, timeouts...; see `qbo_core.config.QBOConfig`)
    token_store  backend = "sqlite" | "memory" | "postgres" | "redis";
                 encryption_keys (secret: Fernet keys, newest first; when set, every
                 token store is wrapped in `EncryptedTokenStore`)
    lock         backend = "auto" | "asyncio" | "file" | "redis" (auto: by the token
                 store: memory -> asyncio, sqlite -> file, redis -> redis; postgres
                 must choose: redis for several hosts, file for one);
                 directory (the file lock's; default `locks/` beside the SQLite file)
    state_store  backend = "auto" | "memory" | "sqlite" | "postgres" | "redis"
                 (auto: the token store's backend, so the OAuth `state` is shared by
                 exactly the processes that share the tokens)
    cache        backend = "memory" | "redis"; max_entries (>= 1, memory)
    quota_store  backend = "memory" | "redis" (memory: one process's rate budget; redis:
                 every worker sharing the server shares each realm's budget)
    sql          url (an SQLAlchemy async URL: sqlite+aiosqlite:///<file> or
                 postgresql+asyncpg://<user>:<password>@<host>/<db>; default the file
                 `tokens.sqlite3` in the user's data directory, see
                 `qbo_container.storage`); schema (PostgreSQL only: the schema the
                 tables live in, as the connections' search_path)
    redis        url (redis://, rediss:// or unix://; default redis://127.0.0.1:6379/0);
                 prefix (of every key, default "qbo:")
    auth         QBOAuthService's: state_ttl (seconds, default 600), discover (true |
                 false: endpoints from the discovery document), expiring_within_days
                 (default 30), lock_lease and lock_wait (seconds; default from
                 api.total_timeout)
    retry        smart sync's `RetryPolicy`: max_attempts (default 5), max_elapsed
                 (seconds, 300), base (0.5), factor (2), cap (30): the waits' ceilings
                 are base * factor ** n, at most cap, with full jitter
    events       backend = "logging" | "recording"; logger (a logger name);
                 level (DEBUG | INFO | WARNING | ERROR | CRITICAL); prometheus (true |
                 false, default false: also keep Prometheus metrics of every event, in
                 the container's `prometheus_registry`; needs the prometheus extra);
                 prometheus_namespace (the metric names' prefix, default "qbo");
                 prometheus_realm_label (true | false, default true: false drops the
                 per-realm label, for fleets with many realms)
    health       the health monitor's `HealthThresholds` (`qbo.health`): min_requests
                 (>= 1, default 5: rates are judged over at least this many requests);
                 error_rate_degraded (0.05), error_rate_unhealthy (0.25), throttle_rate
                 (0.10): rates in (0, 1], degraded at most unhealthy; p95_latency_ms
                 (5000); no_success_for (seconds, 600); hard_expiry_warning_days (30),
                 hard_expiry_critical_days (7, at most the warning),
                 refresh_expiry_within_days (14); auth_failures (3, in a row);
                 ping_timeout (seconds each adapter's ping may take, 2)
    webhooks     the webhook receiver (`qbo.webhook_receiver()`; its verifier token is
                 api.webhook_verifier_token): dedupe_ttl (seconds an event id is
                 remembered, default 604800: a week, past Intuit's retries);
                 max_body_bytes (>= 1, default 1048576: a larger body is refused, 413)
    transport    backend = "auto" | "aiohttp" | "emulator"  (auto: aiohttp once
                 api.client_id is set, else the in-process emulator)
    emulator     the embedded emulator, and `qbo emulator`: client_id, client_secret,
                 seed, size (empty | small | medium | large), realms (1-1000),
                 throttle (true | false), auto_consent (true | false), anchor (the
                 day generated data ends at: YYYY-MM-DD, default 2026-01-01, or today);
                 url (the http:// base URL of a running `qbo emulator` to use instead
                 of the embedded one: with no api.client_id, the API and OAuth settings
                 left unset point at it, with the emulator's client id and secret, and
                 transport "auto" is aiohttp)
    mirror       where `qbo sync` and `qbo demo` keep their local copy of companies:
                 url (an SQLAlchemy async URL like sql.url; default the file
                 `mirror.sqlite3` in the user's data directory); schema (PostgreSQL
                 only)

With nothing configured: tokens and OAuth states in the SQLite file of the user's data
directory, a file lock beside it, a memory cache, and the embedded emulator. Every SQL
backend uses the one database of `sql.url` (sqlite backends need a SQLite URL, postgres
ones a PostgreSQL URL), and every redis backend the one server of `redis.url`.

Later sources win: defaults < TOML file < environment < explicit mapping. An
environment variable `QBO_<SECTION>__<KEY>` sets `<section>.<key>` (lower-cased),
e.g. `QBO_API__CLIENT_ID`, `QBO_EMULATOR__SIZE=medium`.

`load_settings` checks everything at once, as the container is built: unknown
sections and keys are refused (the known ones listed), strings from the environment
become the declared types (`"30"`, `"true"`, `"a b"` for a list of scopes; an empty
string unsets an optional setting), and each value is validated, `api` by building
its `QBOConfig`. The first problem raises `ConfigurationError` whose `field` is
`<section>.<key>` (`api.read_timeout`, `emulator.size`). The backends are then
checked together: a SQL backend whose `sql.url` is of the other kind (or unset, for
postgres) names `sql.url`; a backend whose extra is missing names `<section>.backend`
and the `pip install 'qbo-infra[redis]'` (or `[postgres]`) that adds it.

The embedded default: while the transport is the in-process emulator (no
`api.client_id`, or `transport.backend = "emulator"`), the `api` settings left unset
take the emulator's client id and secret and its URLs, so credentials and OAuth
endpoints work out of the box. With `api.client_id` set, Intuit's endpoints apply.

Secrets are the settings marked secret here (`api`'s from `qbo_core.config.SECRET_SETTINGS`,
the webhook verifier token among them, `emulator.client_secret`,
`token_store.encryption_keys`); `redacted_settings` and
`effective_settings` mask them field by field, and the password inside `sql.url` and
`redis.url` (errors never show one either).
"""

from __future__ import annotations

import contextlib
import datetime
import difflib
import importlib
import logging
import math
import os
import re
import tomllib
import typing
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Final, TypeAlias, get_args
from urllib.parse import unquote, urlsplit

import attrs
import sqlalchemy.engine
import sqlalchemy.exc
from cryptography.fernet import Fernet

from qbo_adapters.emulator.oauth import AUTHORIZE_PATH, REVOKE_PATH, TOKEN_PATH, USERINFO_PATH
from qbo_adapters.emulator.settings import CompanySizeName, EmulatorSettings
from qbo_container.storage import LOCKS_DIRECTORY, SQLITE_FILE, data_dir
from qbo_core.config import SECRET_SETTINGS, QBOConfig
from qbo_core.errors import ConfigurationError
from qbo_core.redaction import REDACTED, is_secret_key, redact
from qbo_core.services.health import HealthThresholds
from qbo_core.services.retry import RetryPolicy
from qbo_core.services.webhooks import DEFAULT_DEDUPE_TTL, DEFAULT_MAX_BODY_BYTES

__all__ = [
    "BACKENDS",
    "DEFAULT_SETTINGS",
    "EMULATOR_BASE_URL",
    "ENV_PREFIX",
    "MIRROR_FILE",
    "SQL_DRIVERS",
    "Settings",
    "api_config",
    "effective_settings",
    "emulator_base_url",
    "emulator_settings",
    "health_thresholds",
    "load_settings",
    "lock_backend",
    "lock_directory",
    "mask_url",
    "mirror_url",
    "redacted_settings",
    "retry_policy",
    "settings_from_env",
    "sql_url",
    "state_store_backend",
    "transport_backend",
]

#: Validated settings: section -> key -> typed value (`api` holds only what was set).
Settings: TypeAlias = dict[str, dict[str, Any]]

ENV_PREFIX: Final = "QBO_"

#: The origin the in-process emulator answers on; its transport refuses any other.
EMULATOR_BASE_URL: Final = "http://emulator.invalid"

_DISCOVERY_PATH = "/.well-known/openid_sandbox_configuration"
_TRUE = frozenset({"true", "yes", "on", "1"})
_FALSE = frozenset({"false", "no", "off", "0"})
_MAX_REALMS = 1000

Coerce: TypeAlias = Callable[[str, object], object]


# --------------------------------------------------------------------- coercion


def _shown(raw: object, secret: bool) -> str:
    return type(raw).__name__ if secret else repr(raw)


def _bad(name: str, problem: str, raw: object, *, secret: bool = False) -> ConfigurationError:
    return ConfigurationError(f"{name} {problem}, got {_shown(raw, secret)}", field=name)


def _text(name: str, raw: object, secret: bool = False) -> str:
    if not isinstance(raw, str):
        raise _bad(name, "must be a string", raw, secret=secret)
    if not raw.strip():
        raise _bad(name, "must not be empty", raw, secret=secret)
    if any(ord(char) < 32 or ord(char) == 127 for char in raw):
        raise _bad(name, "must not contain control characters", raw, secret=secret)
    return raw


def _secret_text(name: str, raw: object) -> str:
    return _text(name, raw, secret=True)


def _flag(name: str, raw: object) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str):
        word = raw.strip().lower()
        if word in _TRUE:
            return True
        if word in _FALSE:
            return False
    raise _bad(name, "must be true or false", raw)


def _integer(name: str, raw: object) -> int:
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw
    if isinstance(raw, str):
        try:
            return int(raw.strip().replace("_", ""))
        except ValueError:
            pass
    raise _bad(name, "must be a whole number", raw)


def _anchor(name: str, raw: object) -> str:
    """An emulator anchor day: `YYYY-MM-DD` (a TOML date too), or `today`."""
    if isinstance(raw, datetime.date) and not isinstance(raw, datetime.datetime):
        return raw.isoformat()
    if isinstance(raw, str):
        text = raw.strip().lower()
        if text == "today":
            return text
        if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
            with contextlib.suppress(ValueError):
                return datetime.date.fromisoformat(text).isoformat()
    raise _bad(name, "must be a date YYYY-MM-DD or 'today'", raw)


def _whole(minimum: int | None = None, maximum: int | None = None) -> Coerce:
    def coerce(name: str, raw: object) -> int:
        number = _integer(name, raw)
        if minimum is not None and number < minimum:
            raise _bad(name, f"must be at least {minimum}", raw)
        if maximum is not None and number > maximum:
            raise _bad(name, f"must be at most {maximum}", raw)
        return number

    return coerce


def _number(name: str, raw: object) -> float:
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        return raw
    if isinstance(raw, str):
        try:
            return float(raw.strip())
        except ValueError:
            pass
    raise _bad(name, "must be a number of seconds", raw)


def _choice(*choices: str) -> Coerce:
    def coerce(name: str, raw: object) -> str:
        if isinstance(raw, str) and raw.strip().lower() in choices:
            return raw.strip().lower()
        raise _bad(name, f"must be one of {', '.join(choices)}", raw)

    return coerce


def _words(name: str, raw: object) -> tuple[str, ...]:
    if isinstance(raw, str):
        return tuple(raw.replace(",", " ").split())
    if isinstance(raw, list | tuple) and all(isinstance(item, str) for item in raw):
        return tuple(raw)
    raise _bad(name, "must be a list of strings (or one string, space-separated)", raw)


def _level(name: str, raw: object) -> str:
    levels = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
    if isinstance(raw, str) and raw.strip().upper() in levels:
        return raw.strip().upper()
    if isinstance(raw, int) and not isinstance(raw, bool):
        named = logging.getLevelName(raw)
        if named in levels:
            return str(named)
    raise _bad(name, f"must be one of {', '.join(levels)}", raw)


def _optional(inner: Coerce) -> Coerce:
    def coerce(name: str, raw: object) -> object:
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            return None
        return inner(name, raw)

    return coerce


def _positive_seconds(name: str, raw: object) -> float:
    number = _number(name, raw)
    if not (number > 0 and math.isfinite(number)):
        raise _bad(name, "must be a positive, finite number of seconds", raw)
    return number


def _seconds(name: str, raw: object) -> float:
    number = _number(name, raw)
    if not (number >= 0 and math.isfinite(number)):
        raise _bad(name, "must be zero or a positive, finite number of seconds", raw)
    return number


def _rate(name: str, raw: object) -> float:
    """A share of requests: above 0 and at most 1 (0.05 is 5 %)."""
    problem = "must be a rate above 0 and at most 1 (0.05 is 5 %)"
    try:
        number = float(_number(name, raw))
    except ConfigurationError:
        raise _bad(name, problem, raw) from None
    if not (math.isfinite(number) and 0 < number <= 1):
        raise _bad(name, problem, raw)
    return number


def _milliseconds(name: str, raw: object) -> float:
    problem = "must be a positive, finite number of milliseconds"
    try:
        number = float(_number(name, raw))
    except ConfigurationError:
        raise _bad(name, problem, raw) from None
    if not (number > 0 and math.isfinite(number)):
        raise _bad(name, problem, raw)
    return number


def _path(name: str, raw: object) -> str:
    if isinstance(raw, os.PathLike):
        raw = os.fspath(raw)
    return str(Path(_text(name, raw)).expanduser())


def _identifier(name: str, raw: object) -> str:
    text = _text(name, raw)
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_$]{0,62}", text) is None:
        raise _bad(
            name,
            "must be a PostgreSQL schema name (letters, digits, _ and $, not starting with a "
            "digit, at most 63 characters)",
            raw,
        )
    return text


def _metric_namespace(name: str, raw: object) -> str:
    text = _text(name, raw)
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", text) is None:
        raise _bad(
            name,
            "must be a Prometheus metric name prefix (letters, digits and _, not starting "
            "with a digit)",
            raw,
        )
    return text


#: The SQLAlchemy async drivers the SQL adapters run on, by backend name.
SQL_DRIVERS: Final = {"sqlite": "sqlite+aiosqlite", "postgres": "postgresql+asyncpg"}
_SQL_EXAMPLES = "sqlite+aiosqlite:///<file> or postgresql+asyncpg://<user>:<password>@<host>/<db>"


def _sql_url(name: str, raw: object) -> str:
    """An SQLAlchemy async URL on a driver the SQL adapters support; `~` expanded for SQLite."""
    text = _text(name, raw, secret=True)  # a URL may hold a password: never echo it whole
    try:
        url = sqlalchemy.engine.make_url(text)
    except (sqlalchemy.exc.ArgumentError, ValueError):
        raise ConfigurationError(
            f"{name} must be a database URL ({_SQL_EXAMPLES}), got {mask_url(text)!r}",
            field=name,
        ) from None
    if url.drivername not in SQL_DRIVERS.values():
        family = url.get_backend_name()
        hint = {"sqlite": SQL_DRIVERS["sqlite"], "postgresql": SQL_DRIVERS["postgres"]}.get(family)
        advice = f" (the async driver: {hint}://...)" if hint else ""
        raise ConfigurationError(
            f"{name} must be a URL for {' or '.join(SQL_DRIVERS.values())}{advice}, "
            f"got {mask_url(text)!r}",
            field=name,
        )
    if url.drivername == SQL_DRIVERS["sqlite"]:
        database = url.database or ""
        if database in ("", ":memory:") or database.startswith("file::memory:"):
            raise ConfigurationError(
                f"{name} is an in-memory SQLite database, which each connection sees empty: "
                "name a file (sqlite+aiosqlite:///path/to/tokens.sqlite3), or use the memory "
                "backend",
                field=name,
            )
        if database.startswith("~"):
            return url.set(database=str(Path(database).expanduser())).render_as_string(
                hide_password=False
            )
    return text


def _http_url(name: str, raw: object) -> str:
    """An http:// or https:// base URL (a running emulator's), without a trailing slash."""
    text = _text(name, raw)
    try:
        parts = urlsplit(text)
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise _bad(name, "must be an http:// or https:// URL (e.g. http://127.0.0.1:8080)", raw)
    if parts.query or parts.fragment or parts.username or parts.password:
        raise _bad(name, "must be a base URL, without user, query or fragment", raw)
    return text.rstrip("/")


def _redis_url(name: str, raw: object) -> str:
    text = _text(name, raw, secret=True)
    try:
        scheme = urlsplit(text).scheme
    except ValueError:
        scheme = ""
    if scheme not in ("redis", "rediss", "unix"):
        raise ConfigurationError(
            f"{name} must be a redis://, rediss:// or unix:// URL "
            f"(e.g. redis://127.0.0.1:6379/0), got {mask_url(text)!r}",
            field=name,
        )
    return text


def _fernet_keys(name: str, raw: object) -> tuple[str, ...] | None:
    """Fernet keys, newest first (a list, or one string of keys separated by spaces or
    commas); each must be a valid key. Never shows a key in an error."""
    if isinstance(raw, str):
        keys = tuple(raw.replace(",", " ").split())
    elif isinstance(raw, list | tuple) and all(isinstance(key, str | bytes) for key in raw):
        keys = tuple(
            key.decode("ascii", "replace") if isinstance(key, bytes) else key for key in raw
        )
    else:
        raise ConfigurationError(
            f"{name} must be a list of Fernet keys (or one string of keys separated by spaces "
            f"or commas), got {type(raw).__name__}",
            field=name,
        )
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key)
        except (ValueError, TypeError):
            raise ConfigurationError(
                f"{name}: key #{position} is not a Fernet key (32 url-safe base64-encoded "
                "bytes; make one with EncryptedTokenStore.generate_key())",
                field=name,
            ) from None
    return keys or None


def _by_type(type_: Any, secret: bool) -> Coerce:
    """How to read a `QBOConfig` setting of declared type `type_` from a settings value."""
    args = get_args(type_)
    if type(None) in args:
        (inner,) = (arg for arg in args if arg is not type(None))
        return _optional(_by_type(inner, secret))
    if typing.get_origin(type_) is typing.Literal:
        return _choice(*(str(choice) for choice in args))
    if typing.get_origin(type_) is tuple:
        return _words
    if type_ is bool:
        return _flag
    if type_ is int:
        return _integer
    if type_ is float:
        return _number
    if type_ is str:
        return _secret_text if secret else _text
    raise TypeError(f"no settings coercion for type {type_!r}")  # pragma: no cover


# --------------------------------------------------------------------- the schema


@attrs.frozen
class _Key:
    coerce: Coerce
    default: object = None
    secret: bool = False
    #: How a value is shown (masked) when the setting itself is not secret, e.g. a URL.
    show: Callable[[Any], object] | None = None


def _api_keys() -> dict[str, _Key]:
    attrs.resolve_types(QBOConfig)
    keys: dict[str, _Key] = {}
    for field in attrs.fields(QBOConfig):
        name = field.alias or field.name
        secret = name in SECRET_SETTINGS
        # Values are checked by QBOConfig itself; this only reads them as its types.
        keys[name] = _Key(_by_type(field.type, secret), secret=secret)
    return keys


#: The backends each section can select, the default first.
BACKENDS: Mapping[str, tuple[str, ...]] = {
    "cache": ("memory", "redis"),
    "token_store": ("sqlite", "memory", "postgres", "redis"),
    "lock": ("auto", "asyncio", "file", "redis"),
    "quota_store": ("memory", "redis"),
    "state_store": ("auto", "memory", "sqlite", "postgres", "redis"),
    "events": ("logging", "recording"),
    "transport": ("auto", "aiohttp", "emulator"),
}


def _backend(section: str) -> _Key:
    return _Key(_choice(*BACKENDS[section]), BACKENDS[section][0])


_EMULATOR = EmulatorSettings()
_THRESHOLDS = HealthThresholds()
_SIZES: tuple[CompanySizeName, ...] = get_args(CompanySizeName)

#: Every section's keys: how each is read and checked, its default, whether it is secret.
_SCHEMA: Mapping[str, Mapping[str, _Key]] = {
    "api": _api_keys(),
    "cache": {
        "backend": _backend("cache"),
        "max_entries": _Key(_whole(1), 10_000),
    },
    "token_store": {
        "backend": _backend("token_store"),
        "encryption_keys": _Key(_optional(_fernet_keys), secret=True),
    },
    "lock": {
        "backend": _backend("lock"),
        "directory": _Key(_optional(_path)),
    },
    "quota_store": {"backend": _backend("quota_store")},
    "state_store": {"backend": _backend("state_store")},
    "sql": {
        "url": _Key(_optional(_sql_url), show=lambda url: mask_url(url)),
        "schema": _Key(_optional(_identifier)),
    },
    "redis": {
        "url": _Key(_redis_url, "redis://127.0.0.1:6379/0", show=lambda url: mask_url(url)),
        "prefix": _Key(_text, "qbo:"),
    },
    "auth": {
        "state_ttl": _Key(_positive_seconds, 600.0),
        "discover": _Key(_flag, False),
        "expiring_within_days": _Key(_whole(0), 30),
        "lock_lease": _Key(_optional(_positive_seconds)),
        "lock_wait": _Key(_optional(_seconds)),
    },
    "retry": {
        "max_attempts": _Key(_whole(1), 5),
        "max_elapsed": _Key(_positive_seconds, 300.0),
        "base": _Key(_positive_seconds, 0.5),
        "factor": _Key(_number, 2.0),
        "cap": _Key(_positive_seconds, 30.0),
    },
    "events": {
        "backend": _backend("events"),
        "logger": _Key(_text, "qbo"),
        "level": _Key(_level, "INFO"),
        "prometheus": _Key(_flag, False),
        "prometheus_namespace": _Key(_metric_namespace, "qbo"),
        "prometheus_realm_label": _Key(_flag, True),
    },
    "health": {
        "min_requests": _Key(_whole(1), _THRESHOLDS.min_requests),
        "error_rate_degraded": _Key(_rate, _THRESHOLDS.error_rate_degraded),
        "error_rate_unhealthy": _Key(_rate, _THRESHOLDS.error_rate_unhealthy),
        "throttle_rate": _Key(_rate, _THRESHOLDS.throttle_rate),
        "p95_latency_ms": _Key(_milliseconds, _THRESHOLDS.p95_latency_ms),
        "no_success_for": _Key(_positive_seconds, _THRESHOLDS.no_success_for.total_seconds()),
        "hard_expiry_warning_days": _Key(_whole(1), _THRESHOLDS.hard_expiry_warning.days),
        "hard_expiry_critical_days": _Key(_whole(1), _THRESHOLDS.hard_expiry_critical.days),
        "refresh_expiry_within_days": _Key(_whole(1), _THRESHOLDS.refresh_expiry_within.days),
        "auth_failures": _Key(_whole(1), _THRESHOLDS.auth_failures),
        "ping_timeout": _Key(_positive_seconds, 2.0),
    },
    "webhooks": {
        "dedupe_ttl": _Key(_positive_seconds, DEFAULT_DEDUPE_TTL),
        "max_body_bytes": _Key(_whole(1), DEFAULT_MAX_BODY_BYTES),
    },
    "transport": {"backend": _backend("transport")},
    "emulator": {
        "client_id": _Key(_text, _EMULATOR.client_id),
        "client_secret": _Key(_secret_text, _EMULATOR.client_secret, secret=True),
        "seed": _Key(_whole(), _EMULATOR.seed),
        "size": _Key(_choice(*_SIZES), _EMULATOR.size),
        "realms": _Key(_whole(1, _MAX_REALMS), _EMULATOR.realms),
        "throttle": _Key(_flag, _EMULATOR.throttle),
        "auto_consent": _Key(_flag, _EMULATOR.auto_consent),
        "anchor": _Key(_anchor, _EMULATOR.anchor.isoformat() if _EMULATOR.anchor else "today"),
        "url": _Key(_optional(_http_url)),
    },
    "mirror": {
        "url": _Key(_optional(_sql_url), show=lambda url: mask_url(url)),
        "schema": _Key(_optional(_identifier)),
    },
}

#: What every section holds when nothing is configured (`api`: QBOConfig's own defaults).
DEFAULT_SETTINGS: Mapping[str, Mapping[str, Any]] = {
    section: {key: spec.default for key, spec in keys.items()} if section != "api" else {}
    for section, keys in _SCHEMA.items()
}


# --------------------------------------------------------------------- sources


def settings_from_env(environ: Mapping[str, str] | None = None) -> dict[str, dict[str, str]]:
    """The `QBO_<SECTION>__<KEY>` variables of `environ` (default `os.environ`) as settings."""
    environ = os.environ if environ is None else environ
    found: dict[str, dict[str, str]] = {}
    for name, value in environ.items():
        if not name.startswith(ENV_PREFIX):
            continue
        section, sep, key = name[len(ENV_PREFIX) :].partition("__")
        if not sep or not section or not key:
            continue
        found.setdefault(section.lower(), {})[key.lower()] = value
    return found


def _read_file(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except OSError as exc:
        raise ConfigurationError(f"cannot read settings file {path}: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"settings file {path} is not valid TOML: {exc}") from exc


def _merge(into: dict[str, dict[str, object]], layer: Mapping[str, Any], where: str) -> None:
    for section, values in layer.items():
        if section not in _SCHEMA:
            raise ConfigurationError(
                f"unknown settings section {section!r} in {where}{_hint(section, _SCHEMA)}",
                field=str(section),
            )
        if not isinstance(values, Mapping):
            raise ConfigurationError(
                f"settings section {section!r} in {where} must be a table of keys",
                field=section,
            )
        into[section].update(values)


def _hint(name: object, known: Mapping[str, object]) -> str:
    close = difflib.get_close_matches(str(name), list(known), n=1)
    suggestion = f"did you mean {close[0]!r}? " if close else ""
    return f" ({suggestion}known: {', '.join(sorted(known))})"


# --------------------------------------------------------------------- validation


def _check_section(section: str, raw: Mapping[str, object]) -> dict[str, Any]:
    keys = _SCHEMA[section]
    values: dict[str, Any] = {} if section == "api" else {k: s.default for k, s in keys.items()}
    for key, value in raw.items():
        if key not in keys:
            raise ConfigurationError(
                f"{section}.{key} is not a setting{_hint(key, keys)}", field=f"{section}.{key}"
            )
        values[key] = keys[key].coerce(f"{section}.{key}", value)
    return values


def _qbo_config(values: Mapping[str, Any]) -> QBOConfig:
    try:
        return QBOConfig(**values)
    except ConfigurationError as exc:
        field = f"api.{exc.field}" if exc.field else "api"
        raise ConfigurationError(f"api.{exc.message}", field=field) from None


def load_settings(
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
    *,
    file: str | Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Merge `file` (TOML), `QBO_*` variables and `overrides` over the defaults; validate all.

    Pass `environ={}` to ignore the process environment. Returns every section with
    typed values, defaults filled in (`api` holds only the keys that were set; its
    defaults are QBOConfig's). Raises `ConfigurationError` naming `<section>.<key>` on
    an unknown section or key, a value of the wrong type or an invalid one.
    """
    raw: dict[str, dict[str, object]] = {section: {} for section in _SCHEMA}
    if file is not None:
        _merge(raw, _read_file(Path(file)), str(file))
    _merge(raw, settings_from_env(environ), "the environment")
    if overrides:
        _merge(raw, overrides, "the given settings")
    settings = {section: _check_section(section, values) for section, values in raw.items()}
    api_config(settings)  # every api value, and the embedded defaults, checked once, now
    retry_policy(settings)
    health_thresholds(settings)
    _check_backends(settings)
    return settings


def _check_backends(settings: Settings) -> None:
    """The chosen backends fit together: one SQL URL of the right kind, extras installed."""
    chosen = {
        "token_store": settings["token_store"]["backend"],
        "state_store": state_store_backend(settings),
        "cache": settings["cache"]["backend"],
        "quota_store": settings["quota_store"]["backend"],
    }
    url = sql_url(settings)
    driver = sqlalchemy.engine.make_url(url).drivername
    for section in ("token_store", "state_store", "cache", "quota_store", "lock"):
        # the lock last: "auto" may refuse to choose, which matters only once the rest fits
        backend = chosen[section] if section != "lock" else lock_backend(settings)
        if backend in SQL_DRIVERS:
            wanted = SQL_DRIVERS[backend]
            if driver != wanted:
                given = (
                    "unset (the default SQLite file)"
                    if settings["sql"]["url"] is None
                    else (f"a {driver} URL ({mask_url(url)!r})")
                )
                raise ConfigurationError(
                    f"sql.url is {given}, but {section}.backend = {backend!r} needs a "
                    f"{wanted}:// URL",
                    field="sql.url",
                )
            if backend == "postgres":
                _require("asyncpg", "postgres", f"{section}.backend", backend)
        elif backend == "redis":
            _require("redis", "redis", f"{section}.backend", backend)
    if settings["events"]["prometheus"]:
        _require("prometheus_client", "prometheus", "events.prometheus", True)
    if settings["sql"]["schema"] is not None and driver != SQL_DRIVERS["postgres"]:
        raise ConfigurationError(
            f"sql.schema applies to PostgreSQL only, but sql.url is a {driver} URL",
            field="sql.schema",
        )
    mirror = sqlalchemy.engine.make_url(mirror_url(settings)).drivername
    if settings["mirror"]["schema"] is not None and mirror != SQL_DRIVERS["postgres"]:
        raise ConfigurationError(
            f"mirror.schema applies to PostgreSQL only, but mirror.url is a {mirror} URL",
            field="mirror.schema",
        )


def _require(module: str, extra: str, field: str, backend: str | bool) -> None:
    try:
        importlib.import_module(module)
    except ImportError as exc:
        shown = str(backend).lower() if isinstance(backend, bool) else repr(backend)
        raise ConfigurationError(
            f"{field} = {shown} needs the {extra} extra, which is not installed: "
            f"pip install 'qbo-infra[{extra}]'",
            field=field,
        ) from exc


# --------------------------------------------------------------------- what the settings build


def transport_backend(settings: Mapping[str, Mapping[str, Any]]) -> str:
    """The transport in use: `transport.backend`, with "auto" resolved by `api.client_id`."""
    backend = str(settings["transport"]["backend"])
    if backend != "auto":
        return backend
    if settings["api"].get("client_id") or settings["emulator"].get("url"):
        return "aiohttp"
    return "emulator"


#: The lock each token store calls for when `lock.backend = "auto"`: one that every
#: process sharing those tokens shares too. Tokens in PostgreSQL are shared by one host
#: or by several, and only the host knows which: "auto" refuses to guess there.
_LOCK_FOR_TOKENS: Final = {
    "memory": "asyncio",
    "sqlite": "file",
    "redis": "redis",
}


def lock_backend(settings: Mapping[str, Mapping[str, Any]]) -> str:
    """The lock in use: `lock.backend`, with "auto" resolved by the token store's backend
    (memory: asyncio; sqlite: file; redis: redis).

    Raises `ConfigurationError` (`lock.backend`) for "auto" with tokens in PostgreSQL: a
    file lock would silently fail to exclude workers on other hosts.
    """
    backend = str(settings["lock"]["backend"])
    if backend != "auto":
        return backend
    tokens = str(settings["token_store"]["backend"])
    if tokens not in _LOCK_FOR_TOKENS:
        raise ConfigurationError(
            f"lock.backend = 'auto' cannot choose a lock for tokens in {tokens}: set "
            "lock.backend = 'redis' when workers on several hosts share them, or 'file' "
            "when they all run on one host",
            field="lock.backend",
        )
    return _LOCK_FOR_TOKENS[tokens]


def state_store_backend(settings: Mapping[str, Mapping[str, Any]]) -> str:
    """The state store in use: `state_store.backend`, with "auto" resolved to the token
    store's backend, so OAuth states are shared by exactly the processes sharing tokens."""
    backend = str(settings["state_store"]["backend"])
    if backend != "auto":
        return backend
    return str(settings["token_store"]["backend"])


def sql_url(settings: Mapping[str, Mapping[str, Any]]) -> str:
    """The SQL database's URL: `sql.url`, or the SQLite file `tokens.sqlite3` in the user's
    data directory (see `qbo_container.storage`)."""
    url = settings["sql"]["url"]
    if url is not None:
        return str(url)
    return f"{SQL_DRIVERS['sqlite']}:///{data_dir() / SQLITE_FILE}"


def lock_directory(settings: Mapping[str, Mapping[str, Any]]) -> Path:
    """Where the file lock keeps its files: `lock.directory`, or `locks/` beside the SQLite
    file (so every process sharing that file shares the locks), or in the data directory."""
    directory = settings["lock"]["directory"]
    if directory is not None:
        return Path(directory)
    url = sqlalchemy.engine.make_url(sql_url(settings))
    if url.drivername == SQL_DRIVERS["sqlite"] and url.database:
        return Path(url.database).expanduser().parent / LOCKS_DIRECTORY
    return data_dir() / LOCKS_DIRECTORY


def _embedded_api(emulator: Mapping[str, Any], base: str) -> dict[str, object]:
    return {
        "client_id": emulator["client_id"],
        "client_secret": emulator["client_secret"],
        "api_base_url": base,
        "authorization_endpoint": base + AUTHORIZE_PATH,
        "token_endpoint": base + TOKEN_PATH,
        "revocation_endpoint": base + REVOKE_PATH,
        "userinfo_endpoint": base + USERINFO_PATH,
        "discovery_url": base + _DISCOVERY_PATH,
    }


def emulator_base_url(settings: Mapping[str, Mapping[str, Any]]) -> str | None:
    """The emulator the API settings point at: `EMULATOR_BASE_URL` while the transport
    is the embedded emulator, `emulator.url` when it is set and `api.client_id` is not,
    else `None` (Intuit's endpoints, or the ones `api` names)."""
    if transport_backend(settings) == "emulator":
        return EMULATOR_BASE_URL
    url = settings["emulator"].get("url")
    if url and not settings["api"].get("client_id"):
        return str(url)
    return None


def api_config(settings: Mapping[str, Mapping[str, Any]]) -> QBOConfig:
    """The `QBOConfig` of validated `settings`, with an emulator's credentials and URLs
    filling what `api` leaves unset while the API is an emulator (`emulator_base_url`)."""
    values = dict(settings["api"])
    base = emulator_base_url(settings)
    if base is not None:
        for key, value in _embedded_api(settings["emulator"], base).items():
            values.setdefault(key, value)
    return _qbo_config(values)


#: The file the mirror lives in when `mirror.url` is unset (in the user's data directory).
MIRROR_FILE: Final = "mirror.sqlite3"


def mirror_url(settings: Mapping[str, Mapping[str, Any]]) -> str:
    """The mirror's database URL: `mirror.url`, or the SQLite file `mirror.sqlite3` in the
    user's data directory."""
    url = settings["mirror"]["url"]
    if url is not None:
        return str(url)
    return f"{SQL_DRIVERS['sqlite']}:///{data_dir() / MIRROR_FILE}"


def retry_policy(settings: Mapping[str, Mapping[str, Any]]) -> RetryPolicy:
    """Smart sync's `RetryPolicy` from the `retry` section (checked at load: a value the
    policy refuses, e.g. `factor` below 1, names its field)."""
    retry = settings["retry"]
    try:
        return RetryPolicy(
            max_attempts=retry["max_attempts"],
            max_elapsed=retry["max_elapsed"],
            base=retry["base"],
            factor=retry["factor"],
            cap=retry["cap"],
        )
    except ValueError as exc:
        field = next((f"retry.{key}" for key in retry if key in str(exc)), "retry")
        raise ConfigurationError(f"{field}: {exc}", field=field) from None


#: Each `HealthThresholds` field and the `health` setting that gives it.
_HEALTH_SETTINGS: Final = {
    "min_requests": "min_requests",
    "error_rate_degraded": "error_rate_degraded",
    "error_rate_unhealthy": "error_rate_unhealthy",
    "throttle_rate": "throttle_rate",
    "p95_latency_ms": "p95_latency_ms",
    "no_success_for": "no_success_for",
    "hard_expiry_warning": "hard_expiry_warning_days",
    "hard_expiry_critical": "hard_expiry_critical_days",
    "refresh_expiry_within": "refresh_expiry_within_days",
    "auth_failures": "auth_failures",
}


def _span(health: Mapping[str, Any], key: str, unit: str) -> datetime.timedelta:
    try:
        return datetime.timedelta(**{unit: health[key]})
    except OverflowError:
        field = f"health.{key}"
        problem = f"{field} is too large, got {health[key]!r}"
        raise ConfigurationError(problem, field=field) from None


def health_thresholds(settings: Mapping[str, Mapping[str, Any]]) -> HealthThresholds:
    """The health monitor's `HealthThresholds` from the `health` section (checked at load:
    values that do not fit together, e.g. `error_rate_degraded` above
    `error_rate_unhealthy`, name the first setting the problem mentions)."""
    health = settings["health"]
    try:
        return HealthThresholds(
            min_requests=health["min_requests"],
            error_rate_degraded=health["error_rate_degraded"],
            error_rate_unhealthy=health["error_rate_unhealthy"],
            throttle_rate=health["throttle_rate"],
            p95_latency_ms=health["p95_latency_ms"],
            no_success_for=_span(health, "no_success_for", "seconds"),
            hard_expiry_warning=_span(health, "hard_expiry_warning_days", "days"),
            hard_expiry_critical=_span(health, "hard_expiry_critical_days", "days"),
            refresh_expiry_within=_span(health, "refresh_expiry_within_days", "days"),
            auth_failures=health["auth_failures"],
        )
    except ValueError as exc:
        text = str(exc)
        named = sorted(
            (text.find(threshold), key)
            for threshold, key in _HEALTH_SETTINGS.items()
            if threshold in text
        )
        field = f"health.{named[0][1]}" if named else "health"
        raise ConfigurationError(f"{field}: {exc}", field=field) from None


def emulator_settings(settings: Mapping[str, Mapping[str, Any]]) -> EmulatorSettings:
    """The `EmulatorSettings` of validated `settings` (the embedded emulator, `qbo emulator`)."""
    emulator = settings["emulator"]
    return EmulatorSettings(
        client_id=emulator["client_id"],
        client_secret=emulator["client_secret"],
        seed=emulator["seed"],
        size=emulator["size"],
        realms=emulator["realms"],
        throttle=emulator["throttle"],
        auto_consent=emulator["auto_consent"],
        anchor=None
        if emulator["anchor"] == "today"
        else datetime.date.fromisoformat(emulator["anchor"]),
    )


# --------------------------------------------------------------------- showing settings


def mask_url(url: str) -> str:
    """`url` with the password of its user info and any secret-looking query value masked."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return redact(url)
    masked = url
    userinfo, at, _ = parts.netloc.rpartition("@")
    if at and ":" in userinfo:
        user = userinfo.partition(":")[0]
        masked = masked.replace(f"{userinfo}@", f"{user}:{REDACTED}@", 1)
    if parts.query:
        fields = [field.partition("=") for field in parts.query.split("&")]
        query = "&".join(
            f"{name}{eq}{REDACTED if eq and is_secret_key(unquote(name)) else value}"
            for name, eq, value in fields
        )
        masked = masked.replace(f"?{parts.query}", f"?{query}", 1)
    return redact(masked)


def _masked(section: str, key: str, value: object) -> object:
    spec = _SCHEMA.get(section, {}).get(key)
    secret = spec.secret if spec is not None else is_secret_key(key)
    if secret and value is not None:
        return REDACTED
    if spec is not None and spec.show is not None and value is not None:
        return spec.show(value)
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, tuple):
        return list(value)
    return value


def redacted_settings(settings: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, object]]:
    """`settings` with each secret setting masked, field by field, fit to print or log."""
    return {
        section: {key: _masked(section, key, value) for key, value in values.items()}
        for section, values in settings.items()
    }


def effective_settings(settings: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, object]]:
    """What `qbo settings` prints: every setting's value in effect, defaults included
    (`api`: every QBOConfig setting, URLs resolved), secrets masked field by field."""
    shown = redacted_settings(settings)
    api = api_config(settings).as_settings()
    shown["api"] = {key: _masked("api", key, value) for key, value in api.items()}
    shown["lock"]["backend"] = lock_backend(settings)
    shown["lock"]["directory"] = str(lock_directory(settings))
    shown["state_store"]["backend"] = state_store_backend(settings)
    shown["sql"]["url"] = mask_url(sql_url(settings))
    shown["mirror"]["url"] = mask_url(mirror_url(settings))
    return shown
