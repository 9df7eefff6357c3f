"""Where the container's settings come from, and the one pass that validates them.

Settings are one nested mapping with a section per concern::

    api          QBOConfig's settings (client_id, client_secret, environment, URLs,
                 limits, timeouts...; see `qbo_core.config.QBOConfig`)
    cache        backend = "memory"; max_entries (>= 1)
    token_store  backend = "memory"
    lock         backend = "asyncio"
    quota_store  backend = "memory"
    state_store  backend = "memory"
    events       backend = "logging" | "recording"; logger (a logger name);
                 level (DEBUG | INFO | WARNING | ERROR | CRITICAL)
    transport    backend = "auto" | "aiohttp" | "emulator"  (auto: aiohttp once
                 api.client_id is set, else the in-process emulator)
    emulator     the embedded emulator, and `qbo emulator`: client_id, client_secret,
                 seed, size (empty | small | medium | large), realms (1-1000),
                 throttle (true | false), auto_consent (true | false), anchor (the
                 day generated data ends at: YYYY-MM-DD, default 2026-01-01, or today)

Later sources win: defaults < TOML file < environment < explicit mapping. An
environment variable `QBO_<SECTION>__<KEY>` sets `<section>.<key>` (lower-cased),
e.g. `QBO_API__CLIENT_ID`, `QBO_EMULATOR__SIZE=medium`.

`load_settings` checks everything at once, as the container is built: unknown
sections and keys are refused (the known ones listed), strings from the environment
become the declared types (`"30"`, `"true"`, `"a b"` for a list of scopes; an empty
string unsets an optional setting), and each value is validated, `api` by building
its `QBOConfig`. The first problem raises `ConfigurationError` whose `field` is
`<section>.<key>` (`api.read_timeout`, `emulator.size`).

The embedded default: while the transport is the in-process emulator (no
`api.client_id`, or `transport.backend = "emulator"`), the `api` settings left unset
take the emulator's client id and secret and its URLs, so credentials and OAuth
endpoints work out of the box. With `api.client_id` set, Intuit's endpoints apply.

Secrets are the settings marked secret here (`api`'s from `qbo_core.config.SECRET_SETTINGS`,
`emulator.client_secret`); `redacted_settings` and `effective_settings` mask them
field by field.
"""

from __future__ import annotations

import contextlib
import datetime
import difflib
import logging
import os
import re
import tomllib
import typing
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Final, TypeAlias, get_args

import attrs

from qbo_adapters.emulator.oauth import AUTHORIZE_PATH, REVOKE_PATH, TOKEN_PATH, USERINFO_PATH
from qbo_adapters.emulator.settings import CompanySizeName, EmulatorSettings
from qbo_core.config import SECRET_SETTINGS, QBOConfig
from qbo_core.errors import ConfigurationError
from qbo_core.redaction import REDACTED, is_secret_key, redact

__all__ = [
    "BACKENDS",
    "DEFAULT_SETTINGS",
    "EMULATOR_BASE_URL",
    "ENV_PREFIX",
    "Settings",
    "api_config",
    "effective_settings",
    "emulator_settings",
    "load_settings",
    "redacted_settings",
    "settings_from_env",
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
    "cache": ("memory",),
    "token_store": ("memory",),
    "lock": ("asyncio",),
    "quota_store": ("memory",),
    "state_store": ("memory",),
    "events": ("logging", "recording"),
    "transport": ("auto", "aiohttp", "emulator"),
}


def _backend(section: str) -> _Key:
    return _Key(_choice(*BACKENDS[section]), BACKENDS[section][0])


_EMULATOR = EmulatorSettings()
_SIZES: tuple[CompanySizeName, ...] = get_args(CompanySizeName)

#: Every section's keys: how each is read and checked, its default, whether it is secret.
_SCHEMA: Mapping[str, Mapping[str, _Key]] = {
    "api": _api_keys(),
    "cache": {
        "backend": _backend("cache"),
        "max_entries": _Key(_whole(1), 10_000),
    },
    "token_store": {"backend": _backend("token_store")},
    "lock": {"backend": _backend("lock")},
    "quota_store": {"backend": _backend("quota_store")},
    "state_store": {"backend": _backend("state_store")},
    "events": {
        "backend": _backend("events"),
        "logger": _Key(_text, "qbo"),
        "level": _Key(_level, "INFO"),
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
    return settings


# --------------------------------------------------------------------- what the settings build


def transport_backend(settings: Mapping[str, Mapping[str, Any]]) -> str:
    """The transport in use: `transport.backend`, with "auto" resolved by `api.client_id`."""
    backend = str(settings["transport"]["backend"])
    if backend != "auto":
        return backend
    return "aiohttp" if settings["api"].get("client_id") else "emulator"


def _embedded_api(emulator: Mapping[str, Any]) -> dict[str, object]:
    return {
        "client_id": emulator["client_id"],
        "client_secret": emulator["client_secret"],
        "api_base_url": EMULATOR_BASE_URL,
        "authorization_endpoint": EMULATOR_BASE_URL + AUTHORIZE_PATH,
        "token_endpoint": EMULATOR_BASE_URL + TOKEN_PATH,
        "revocation_endpoint": EMULATOR_BASE_URL + REVOKE_PATH,
        "userinfo_endpoint": EMULATOR_BASE_URL + USERINFO_PATH,
        "discovery_url": EMULATOR_BASE_URL + _DISCOVERY_PATH,
    }


def api_config(settings: Mapping[str, Mapping[str, Any]]) -> QBOConfig:
    """The `QBOConfig` of validated `settings`, with the embedded emulator's credentials
    and URLs filling what `api` leaves unset while the transport is the emulator."""
    values = dict(settings["api"])
    if transport_backend(settings) == "emulator":
        for key, value in _embedded_api(settings["emulator"]).items():
            values.setdefault(key, value)
    return _qbo_config(values)


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


def _masked(section: str, key: str, value: object) -> object:
    spec = _SCHEMA.get(section, {}).get(key)
    secret = spec.secret if spec is not None else is_secret_key(key)
    if secret and value is not None:
        return REDACTED
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
    return shown
