"""The settings loader: one validation pass at build time, env-string coercion, embedded
defaults, and secrets masked field by field."""

from __future__ import annotations

import string
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from qbo_container import build_container, load_settings
from qbo_container.settings import (
    DEFAULT_SETTINGS,
    api_config,
    effective_settings,
    emulator_settings,
    mirror_url,
    redacted_settings,
    transport_backend,
)
from qbo_core.config import QBOConfig
from qbo_core.errors import ConfigurationError

SECRETS = st.text(alphabet=string.ascii_letters + string.digits + "-._~", min_size=24, max_size=80)
WORDS = st.text(alphabet=string.ascii_letters + string.digits + "-._:", min_size=1, max_size=40)
HOSTS = st.from_regex(r"[a-z][a-z0-9-]{0,15}(\.[a-z]{2,6}){0,2}", fullmatch=True)
URLS = st.builds(
    "{}://{}:{}{}".format,
    st.sampled_from(["http", "https"]),
    HOSTS,
    st.integers(1, 65535),
    st.from_regex(r"(/[a-z0-9_.-]{1,10}){0,3}", fullmatch=True),
)
SECONDS = st.floats(min_value=0.001, max_value=120)
URL_SETTINGS = (
    "api_base_url",
    "authorization_endpoint",
    "token_endpoint",
    "revocation_endpoint",
    "userinfo_endpoint",
    "discovery_url",
)


@st.composite
def configs(draw: st.DrawFn) -> QBOConfig:
    """Any valid QBOConfig, every setting drawn (cross-field rules respected)."""
    per_minute = draw(st.integers(1, 100_000))
    batch_realm = draw(st.integers(1, 10_000))
    max_results = draw(st.integers(1, 5000))
    lifetime = draw(st.integers(1, 100_000))
    connect = draw(SECONDS)
    read = draw(SECONDS)
    return QBOConfig(
        client_id=draw(st.none() | WORDS),
        client_secret=draw(st.none() | SECRETS),
        environment=draw(st.sampled_from(["sandbox", "production"])),
        redirect_uri=draw(st.none() | URLS),
        scopes=tuple(draw(st.lists(WORDS, min_size=1, max_size=4))),
        minor_version=draw(st.integers(75, 200)),
        user_agent=draw(WORDS),
        webhook_verifier_token=draw(st.none() | SECRETS),
        **{name: draw(st.none() | URLS) for name in URL_SETTINGS},
        requests_per_minute=per_minute,
        requests_per_second=draw(st.integers(1, per_minute)),
        max_concurrent_requests=draw(st.integers(1, 100)),
        rate_window_margin=draw(st.sampled_from([0, 0.1, 0.25, 2])),
        batch_max_items=draw(st.integers(1, 100)),
        batch_requests_per_minute=draw(st.integers(1, batch_realm)),
        batch_requests_per_minute_realm=batch_realm,
        max_query_results=max_results,
        default_query_page_size=draw(st.integers(1, max_results)),
        cdc_window_days=draw(st.integers(1, 365)),
        cdc_max_objects=draw(st.integers(1, 5000)),
        access_token_lifetime=lifetime,
        refresh_token_lifetime=draw(st.integers(1, 10**9)),
        refresh_margin=draw(st.floats(min_value=0, max_value=lifetime, exclude_max=True)),
        request_hard_expiry=draw(st.booleans()),
        connect_timeout=connect,
        read_timeout=read,
        total_timeout=draw(st.floats(min_value=max(connect, read), max_value=120)),
        max_response_bytes=draw(st.integers(1, 200 * 1024 * 1024)),
    )


def as_env(value: object) -> str:
    """`value` written the way an environment variable would carry it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return " ".join(value)
    return str(value)


def api_of(values: dict[str, Any]) -> QBOConfig:
    """The QBOConfig loaded from `values` as the `api` section, Intuit endpoints (no emulator)."""
    return api_config(
        load_settings({"api": values, "transport": {"backend": "aiohttp"}}, environ={})
    )


def raw_settings(config: QBOConfig) -> dict[str, object]:
    """Every setting of `config` as it was given (URL overrides unresolved)."""
    return {
        field.alias or field.name: getattr(config, field.name) for field in attrs.fields(QBOConfig)
    }


# --------------------------------------------------------------------- validation at build time


@pytest.mark.parametrize(
    ("settings", "field", "problem"),
    [
        ({"api": {"read_timeout": "abc"}}, "api.read_timeout", "must be a number of seconds"),
        ({"api": {"timeout": "30"}}, "api.timeout", "known: access_token_lifetime"),
        ({"api": {"minor_version": "12"}}, "api.minor_version", "at least 75"),
        ({"api": {"requests_per_second": 900}}, "api.requests_per_second", "requests_per_minute"),
        ({"cache": {"max_entries": "many"}}, "cache.max_entries", "must be a whole number"),
        ({"cache": {"max_entries": 0}}, "cache.max_entries", "at least 1"),
        ({"cache": {"size": 5}}, "cache.size", "known: backend, max_entries"),
        ({"token_store": {"path": "x"}}, "token_store.path", "known: backend, encryption_keys"),
        ({"token_store": {"backend": "mongo"}}, "token_store.backend", "sqlite, memory, postgres"),
        ({"lock": {"backend": "zookeeper"}}, "lock.backend", "must be one of auto, asyncio, file"),
        ({"state_store": {"backend": "disk"}}, "state_store.backend", "auto, memory, sqlite"),
        ({"cache": {"backend": "memcached"}}, "cache.backend", "must be one of memory, redis"),
        ({"lock": {"directory": ""}}, "lock.directory", None),  # empty unsets: no error
        ({"lock": {"directory": 5}}, "lock.directory", "must be a string"),
        ({"sql": {"url": "not a url"}}, "sql.url", "must be a database URL"),
        ({"sql": {"url": "mysql+aiomysql://u@h/db"}}, "sql.url", "must be a URL for"),
        ({"sql": {"url": "postgresql://u@h/db"}}, "sql.url", r"postgresql\+asyncpg://\.\.\."),
        ({"sql": {"url": "sqlite:///x.db"}}, "sql.url", r"sqlite\+aiosqlite://\.\.\."),
        ({"sql": {"url": "sqlite+aiosqlite://"}}, "sql.url", "in-memory SQLite"),
        ({"sql": {"url": "sqlite+aiosqlite:///:memory:"}}, "sql.url", "in-memory SQLite"),
        ({"sql": {"schema": "1st"}}, "sql.schema", "PostgreSQL schema name"),
        ({"sql": {"schema": "qbo"}}, "sql.schema", "PostgreSQL only"),
        (
            {"token_store": {"backend": "postgres"}},
            "sql.url",
            r"unset \(the default SQLite file\), but token_store.backend = 'postgres' needs",
        ),
        (
            {"token_store": {"backend": "postgres"}, "sql": {"url": "sqlite+aiosqlite:///t.db"}},
            "sql.url",
            "needs a postgresql",
        ),
        (
            {
                "token_store": {"backend": "memory"},
                "state_store": {"backend": "sqlite"},
                "sql": {"url": "postgresql+asyncpg://h/db"},
            },
            "sql.url",
            "state_store.backend = 'sqlite' needs a sqlite",
        ),
        ({"redis": {"url": "http://127.0.0.1:6379"}}, "redis.url", "redis://, rediss:// or unix"),
        ({"redis": {"prefix": ""}}, "redis.prefix", "must not be empty"),
        ({"token_store": {"encryption_keys": 42}}, "token_store.encryption_keys", "list of Fernet"),
        (
            {"token_store": {"encryption_keys": ["nope"]}},
            "token_store.encryption_keys",
            "#1 is not",
        ),
        ({"auth": {"state_ttl": 0}}, "auth.state_ttl", "positive, finite"),
        ({"auth": {"state_ttl": "inf"}}, "auth.state_ttl", "positive, finite"),
        ({"auth": {"discover": "maybe"}}, "auth.discover", "true or false"),
        ({"retry": {"max_attempts": 0}}, "retry.max_attempts", "at least 1"),
        ({"retry": {"max_elapsed": "soon"}}, "retry.max_elapsed", "number of seconds"),
        ({"retry": {"factor": 0.5}}, "retry.factor", "factor must be >= 1"),
        ({"retry": {"cap": -1}}, "retry.cap", "positive, finite"),
        ({"auth": {"expiring_within_days": -1}}, "auth.expiring_within_days", "at least 0"),
        ({"auth": {"lock_lease": -5}}, "auth.lock_lease", "positive, finite"),
        ({"auth": {"lock_wait": "soon"}}, "auth.lock_wait", "must be a number of seconds"),
        ({"health": {"min_requests": 0}}, "health.min_requests", "at least 1"),
        ({"health": {"throttle_rate": 0}}, "health.throttle_rate", "rate above 0 and at most 1"),
        ({"health": {"error_rate_unhealthy": "1.5"}}, "health.error_rate_unhealthy", "rate"),
        ({"health": {"error_rate_degraded": "often"}}, "health.error_rate_degraded", "rate"),
        (
            {"health": {"error_rate_degraded": 0.3}},
            "health.error_rate_degraded",
            "must not be above error_rate_unhealthy",
        ),
        (
            {"health": {"hard_expiry_critical_days": 31}},
            "health.hard_expiry_critical_days",
            "must not be further than hard_expiry_warning",
        ),
        (
            {"health": {"hard_expiry_warning_days": 10**12}},
            "health.hard_expiry_warning_days",
            "too large",
        ),
        ({"health": {"no_success_for": 0}}, "health.no_success_for", "positive, finite"),
        ({"health": {"p95_latency_ms": -1}}, "health.p95_latency_ms", "milliseconds"),
        ({"health": {"ping_timeout": "inf"}}, "health.ping_timeout", "positive, finite"),
        ({"health": {"auth_failures": 0}}, "health.auth_failures", "at least 1"),
        ({"health": {"window": 60}}, "health.window", "known: auth_failures"),
        ({"webhooks": {"dedupe_ttl": 0}}, "webhooks.dedupe_ttl", "positive, finite"),
        ({"webhooks": {"max_body_bytes": 0}}, "webhooks.max_body_bytes", "at least 1"),
        ({"webhooks": {"verifier_token": "x"}}, "webhooks.verifier_token", "known: dedupe_ttl"),
        ({"events": {"level": "LOUD"}}, "events.level", "must be one of DEBUG"),
        ({"events": {"logger": ""}}, "events.logger", "must not be empty"),
        ({"transport": {"backend": "curl"}}, "transport.backend", "auto, aiohttp, emulator"),
        ({"emulator": {"size": "huge"}}, "emulator.size", "empty, small, medium, large"),
        ({"emulator": {"realms": "abc"}}, "emulator.realms", "must be a whole number"),
        ({"emulator": {"realms": 0}}, "emulator.realms", "at least 1"),
        ({"emulator": {"realms": 5000}}, "emulator.realms", "at most 1000"),
        ({"emulator": {"seed": "x"}}, "emulator.seed", "must be a whole number"),
        ({"emulator": {"throttle": "sometimes"}}, "emulator.throttle", "true or false"),
        ({"emulator": {"auto_consent": 3}}, "emulator.auto_consent", "true or false"),
        ({"emulator": {"client_id": ""}}, "emulator.client_id", "must not be empty"),
        ({"emulator": {"speed": 1}}, "emulator.speed", "known: anchor, auto_consent"),
    ],
)
def test_every_bad_setting_fails_build_container_naming_its_field(
    settings: dict[str, dict[str, object]], field: str, problem: str | None
) -> None:
    """One validation pass at build time covers every section and key, naming the field
    (a `None` problem: a value that is fine)."""
    if problem is None:
        build_container(settings, environ={})
        return
    with pytest.raises(ConfigurationError, match=problem) as caught:
        build_container(settings, environ={})
    assert caught.value.field == field
    assert str(caught.value).startswith(field)


def test_environment_strings_are_validated_at_build_time() -> None:
    """QBO_API__READ_TIMEOUT=abc and QBO_EMULATOR__SIZE=huge are refused by build_container."""
    with pytest.raises(ConfigurationError) as caught:
        build_container(environ={"QBO_API__READ_TIMEOUT": "abc"})
    assert caught.value.field == "api.read_timeout"
    with pytest.raises(ConfigurationError) as caught:
        build_container(environ={"QBO_EMULATOR__SIZE": "huge"})
    assert caught.value.field == "emulator.size"


def test_unknown_keys_are_refused_with_a_suggestion() -> None:
    """A misspelt key is refused by name with the closest known key suggested."""
    with pytest.raises(ConfigurationError, match="did you mean 'read_timeout'") as caught:
        load_settings({"api": {"read_timout": "5"}}, environ={})
    assert caught.value.field == "api.read_timout"


def test_environment_strings_become_typed_values_in_every_section() -> None:
    """Strings from QBO_* variables arrive as ints, flags and names of the declared types."""
    settings = load_settings(
        environ={
            "QBO_CACHE__MAX_ENTRIES": "500",
            "QBO_EVENTS__LEVEL": "debug",
            "QBO_EMULATOR__REALMS": "2",
            "QBO_EMULATOR__SEED": "7",
            "QBO_EMULATOR__THROTTLE": "false",
            "QBO_EMULATOR__SIZE": "Medium",
            "QBO_EMULATOR__AUTO_CONSENT": "yes",
        }
    )
    assert settings["cache"]["max_entries"] == 500
    assert settings["events"]["level"] == "DEBUG"
    emulator = emulator_settings(settings)
    assert (emulator.realms, emulator.seed, emulator.size) == (2, 7, "medium")
    assert emulator.throttle is False
    assert emulator.auto_consent is True


def test_defaults_fill_every_section() -> None:
    """With nothing configured every section holds its defaults; api holds nothing set."""
    assert load_settings(environ={}) == {
        section: dict(values) for section, values in DEFAULT_SETTINGS.items()
    }


def test_a_secret_never_shows_in_a_coercion_error() -> None:
    """A secret of the wrong type is reported by its type name, not its value."""
    secret = "never-print-this-secret-value"
    with pytest.raises(ConfigurationError) as caught:
        load_settings({"api": {"client_secret": [secret]}}, environ={})
    assert secret not in str(caught.value)
    with pytest.raises(ConfigurationError) as caught:
        load_settings({"api": {"client_secret": secret + "\n"}}, environ={})
    assert secret not in str(caught.value)


# --------------------------------------------------------------------- api coercion


@given(configs())
def test_any_config_round_trips_through_environment_strings(config: QBOConfig) -> None:
    """Any valid config, every setting written as an environment string, loads back equal."""
    env = {
        f"QBO_API__{name.upper()}": as_env(list(value) if isinstance(value, tuple) else value)
        for name, value in raw_settings(config).items()
    }
    settings = load_settings({"transport": {"backend": "aiohttp"}}, environ=env)
    assert api_config(settings) == config


@given(configs())
def test_any_config_round_trips_through_native_values(config: QBOConfig) -> None:
    """Native (TOML or dict) values of any valid config load back equal."""
    assert api_of(raw_settings(config)) == config


def test_env_style_strings_are_read_as_the_declared_types() -> None:
    """Numbers, flags, scopes and empty optionals arrive as strings and are converted."""
    config = api_of(
        {
            "client_id": "app",
            "redirect_uri": "",
            "requests_per_minute": " 600 ",
            "refresh_margin": "120.5",
            "request_hard_expiry": "No",
            "scopes": "com.intuit.quickbooks.accounting, openid",
            "environment": "PRODUCTION",
            "cdc_max_objects": "1_000",
        }
    )
    assert config.client_id == "app"
    assert config.redirect_uri is None
    assert config.requests_per_minute == 600
    assert config.refresh_margin == 120.5
    assert config.request_hard_expiry is False
    assert config.scopes == ("com.intuit.quickbooks.accounting", "openid")
    assert config.environment == "production"
    assert config.cdc_max_objects == 1000


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        *[("true", True), ("1", True), ("yes", True), ("ON", True)],
        *[("false", False), ("0", False), ("no", False), ("off", False)],
    ],
)
def test_common_flag_words_are_understood(word: str, expected: bool) -> None:
    """The usual environment spellings of true and false are accepted."""
    assert api_of({"request_hard_expiry": word}).request_hard_expiry is expected


def test_toml_style_values_work_as_they_are(tmp_path: Path) -> None:
    """Native values from a settings file (ints, floats, bools, lists) need no conversion."""
    file = tmp_path / "qbo.toml"
    file.write_text(
        "[api]\nminor_version = 76\nread_timeout = 30\nrequest_hard_expiry = false\n"
        'scopes = ["a"]\n[emulator]\nthrottle = false\nrealms = 3\n'
    )
    settings = load_settings(file=file, environ={})
    config = api_config(settings)
    assert (config.minor_version, config.read_timeout) == (76, 30)
    assert config.request_hard_expiry is False
    assert config.scopes == ("a",)
    assert emulator_settings(settings).throttle is False
    assert emulator_settings(settings).realms == 3


@pytest.mark.parametrize(
    ("name", "value", "problem"),
    [
        ("requests_per_minute", "lots", "must be a whole number, got 'lots'"),
        ("requests_per_minute", 1.5, "must be a whole number"),
        ("read_timeout", "soon", "must be a number of seconds"),
        ("request_hard_expiry", "maybe", "must be true or false"),
        ("request_hard_expiry", 1, "must be true or false"),
        ("scopes", 5, "must be a list of strings"),
        ("scopes", ["a", 1], "must be a list of strings"),
        ("client_id", 12345, "must be a string"),
        ("environment", 1, "must be one of sandbox, production"),
        ("minor_version", "70", "at least 75"),
    ],
)
def test_wrong_types_name_the_api_field(name: str, value: object, problem: str) -> None:
    """A value of the wrong type (or a bad one once converted) is reported with its setting."""
    with pytest.raises(ConfigurationError, match=problem) as caught:
        api_of({name: value})
    assert caught.value.field == f"api.{name}"


def test_a_section_must_be_a_table() -> None:
    """A section given as something other than a mapping is refused by name."""
    with pytest.raises(ConfigurationError, match="must be a table") as caught:
        load_settings({"api": ["client_id", "app"]}, environ={})  # type: ignore[dict-item]
    assert caught.value.field == "api"


# --------------------------------------------------------------------- the embedded default


def test_with_nothing_configured_the_emulator_credentials_and_urls_flow_into_the_config() -> None:
    """No client id: QBOConfig carries the emulator's client, secret and URLs, so it is usable."""
    config = api_config(load_settings(environ={}))
    assert config.require_credentials() == ("emulator-client", "emulator-secret")
    base = "http://emulator.invalid"
    assert config.api_base_url == base
    assert config.token_endpoint == f"{base}/oauth2/v1/tokens/bearer"
    assert config.authorization_endpoint == f"{base}/connect/oauth2"
    assert config.revocation_endpoint == f"{base}/v2/oauth2/tokens/revoke"
    assert config.userinfo_endpoint == f"{base}/v1/openid_connect/userinfo"
    assert config.discovery_url == f"{base}/.well-known/openid_sandbox_configuration"


def test_the_emulator_section_shapes_the_embedded_credentials() -> None:
    """The emulator's client id and secret, as configured, are the ones QBOConfig carries."""
    settings = load_settings(
        {"emulator": {"client_id": "mine", "client_secret": "ours"}}, environ={}
    )
    assert api_config(settings).require_credentials() == ("mine", "ours")
    assert emulator_settings(settings).client_id == "mine"


def test_with_a_client_id_intuit_endpoints_apply() -> None:
    """Once api.client_id is set the endpoints are Intuit's and no emulator value leaks in."""
    config = api_config(load_settings({"api": {"client_id": "real-app"}}, environ={}))
    assert config.client_id == "real-app"
    assert config.client_secret is None
    assert config.token_endpoint == QBOConfig().token_endpoint
    assert config.api_base_url == QBOConfig().api_base_url


# --------------------------------------------------------------------- masking


def test_secrets_are_masked_field_by_field() -> None:
    """Only secret settings are masked: api and emulator secrets, not the token_store section."""
    settings = load_settings(
        {
            "api": {"client_id": "app", "client_secret": "api-secret-123456"},
            "emulator": {"client_secret": "emu-secret-123456"},
        },
        environ={},
    )
    shown = redacted_settings(settings)
    assert shown["api"] == {"client_id": "app", "client_secret": "<redacted>"}
    assert shown["emulator"]["client_secret"] == "<redacted>"
    assert shown["emulator"]["client_id"] == "emulator-client"
    assert shown["token_store"] == {"backend": "sqlite", "encryption_keys": None}
    assert "secret-123456" not in repr(shown)


def test_effective_settings_show_every_api_setting_in_effect() -> None:
    """effective_settings lists every QBOConfig setting with its value, defaults included."""
    shown = effective_settings(load_settings({"api": {"client_id": "app"}}, environ={}))
    assert set(shown["api"]) == {field.alias for field in attrs.fields(QBOConfig)}
    assert shown["api"]["client_id"] == "app"
    assert shown["api"]["read_timeout"] == 60.0
    assert shown["api"]["client_secret"] is None
    assert shown["api"]["token_endpoint"] == QBOConfig().token_endpoint
    assert shown["api"]["scopes"] == ["com.intuit.quickbooks.accounting"]
    assert shown["cache"] == {"backend": "memory", "max_entries": 10_000}


# ------------------------------------------------------------- a running emulator, the mirror


def test_emulator_url_points_the_api_at_a_running_emulator() -> None:
    """emulator.url with no client id: the emulator's credentials and URLs at that address,
    over the aiohttp transport."""
    settings = load_settings({"emulator": {"url": "http://127.0.0.1:8123/"}}, environ={})
    config = api_config(settings)
    assert transport_backend(settings) == "aiohttp"
    assert config.api_base_url == "http://127.0.0.1:8123"
    assert config.token_endpoint == "http://127.0.0.1:8123/oauth2/v1/tokens/bearer"
    assert config.require_credentials() == ("emulator-client", "emulator-secret")


def test_emulator_url_gives_way_to_a_client_id() -> None:
    """Once api.client_id is set, emulator.url changes nothing: Intuit's endpoints apply."""
    settings = load_settings(
        {"api": {"client_id": "real-app"}, "emulator": {"url": "http://127.0.0.1:8123"}},
        environ={},
    )
    assert api_config(settings).token_endpoint == QBOConfig().token_endpoint


@pytest.mark.parametrize("url", ["ftp://127.0.0.1", "127.0.0.1:80", "http://u:p@h:1", "http://"])
def test_emulator_url_must_be_an_http_base_url(url: str) -> None:
    """Anything but an http(s) base URL is refused, naming emulator.url."""
    with pytest.raises(ConfigurationError) as caught:
        load_settings({"emulator": {"url": url}}, environ={})
    assert caught.value.field == "emulator.url"


def test_the_mirror_defaults_to_a_file_in_the_data_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Unset, mirror.url is mirror.sqlite3 in the user's data directory; set, it is used."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert mirror_url(load_settings(environ={})).endswith("qbo-infra/mirror.sqlite3")
    given = f"sqlite+aiosqlite:///{tmp_path / 'm.db'}"
    settings = load_settings(environ={"QBO_MIRROR__URL": given})
    assert mirror_url(settings) == given


def test_mirror_schema_needs_a_postgres_mirror() -> None:
    """mirror.schema with a SQLite mirror is refused, naming mirror.schema."""
    with pytest.raises(ConfigurationError) as caught:
        load_settings({"mirror": {"schema": "qbo"}}, environ={})
    assert caught.value.field == "mirror.schema"
