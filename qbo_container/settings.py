"""Where the container's settings come from: defaults, a TOML file, `QBO_*` variables, a dict.

Settings are one nested mapping with a section per concern::

    api          QBOConfig fields (client_id, environment, minor_version, URLs, limits...)
    cache        backend = "memory"; max_entries
    token_store  backend = "memory"
    lock         backend = "asyncio"
    quota_store  backend = "memory"
    events       backend = "logging" | "recording"; logger; level
    transport    backend = "auto" | "aiohttp" | "emulator"  (auto: aiohttp once
                 api.client_id is set, else the in-process emulator)
    emulator     seed, size (empty | small | medium | large), realms: the embedded emulator

Later sources win: defaults < file < environment < explicit mapping. An environment
variable `QBO_<SECTION>__<KEY>` sets `<section>.<key>` (lower-cased), e.g.
`QBO_API__CLIENT_ID`, `QBO_CACHE__BACKEND=memory`.
"""

from __future__ import annotations

import copy
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from qbo_core.errors import ConfigurationError
from qbo_core.redaction import redact_mapping

__all__ = [
    "BACKENDS",
    "DEFAULT_SETTINGS",
    "ENV_PREFIX",
    "load_settings",
    "redacted_settings",
    "settings_from_env",
]

ENV_PREFIX = "QBO_"

#: The backends each section can select, first one the default.
BACKENDS: Mapping[str, tuple[str, ...]] = {
    "cache": ("memory",),
    "token_store": ("memory",),
    "lock": ("asyncio",),
    "quota_store": ("memory",),
    "events": ("logging", "recording"),
    "transport": ("auto", "aiohttp", "emulator"),
}

DEFAULT_SETTINGS: Mapping[str, Mapping[str, Any]] = {
    "api": {},
    "cache": {"backend": "memory", "max_entries": 10_000},
    "token_store": {"backend": "memory"},
    "lock": {"backend": "asyncio"},
    "quota_store": {"backend": "memory"},
    "events": {"backend": "logging", "logger": "qbo", "level": "INFO"},
    "transport": {"backend": "auto"},
    "emulator": {"seed": 0, "size": "small", "realms": 1},
}


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


def _merge(into: dict[str, Any], layer: Mapping[str, Any], where: str) -> None:
    for section, values in layer.items():
        if section not in DEFAULT_SETTINGS:
            known = ", ".join(sorted(DEFAULT_SETTINGS))
            raise ConfigurationError(
                f"unknown settings section {section!r} in {where} (known: {known})",
                field=section,
            )
        if not isinstance(values, Mapping):
            raise ConfigurationError(
                f"settings section {section!r} in {where} must be a table of keys",
                field=section,
            )
        into.setdefault(section, {}).update(values)


def _validate(settings: Mapping[str, Mapping[str, Any]]) -> None:
    for section, choices in BACKENDS.items():
        backend = settings[section].get("backend")
        if backend not in choices:
            raise ConfigurationError(
                f"{section}.backend must be one of {', '.join(choices)}; got {backend!r}",
                field=f"{section}.backend",
            )


def load_settings(
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
    *,
    file: str | Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> dict[str, dict[str, Any]]:
    """Merge defaults, `file` (TOML), `QBO_*` variables and `overrides`, then validate.

    Pass `environ={}` to ignore the process environment. Raises `ConfigurationError`
    naming the section or field on an unknown section or backend.
    """
    settings: dict[str, Any] = copy.deepcopy(dict(DEFAULT_SETTINGS))
    if file is not None:
        _merge(settings, _read_file(Path(file)), str(file))
    _merge(settings, settings_from_env(environ), "the environment")
    if overrides:
        _merge(settings, overrides, "the given settings")
    _validate(settings)
    return settings


def redacted_settings(settings: Mapping[str, Mapping[str, Any]]) -> dict[str, object]:
    """`settings` with every secret masked, fit for printing or logging."""
    return redact_mapping(settings)
