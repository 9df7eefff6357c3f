"""QBOConfig: documented defaults, validation naming the field, env-style loading, endpoints."""

from __future__ import annotations

import json
import re
import string
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from qbo_core.config import QBOConfig
from qbo_core.converter import structure, unstructure
from qbo_core.errors import ConfigurationError

#: Secret-like values: long enough that they cannot turn up in a repr by coincidence.
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


# --------------------------------------------------------------------- defaults


def test_defaults_are_the_documented_values() -> None:
    """A config built from nothing carries Intuit's documented limits, lifetimes and timeouts."""
    config = QBOConfig()
    assert config.client_id is None
    assert config.client_secret is None
    assert config.environment == "sandbox"
    assert config.redirect_uri is None
    assert config.scopes == ("com.intuit.quickbooks.accounting",)
    assert config.minor_version == 75
    assert config.user_agent.startswith("qbo-infra/")
    assert config.webhook_verifier_token is None
    assert (
        config.requests_per_minute,
        config.requests_per_second,
        config.max_concurrent_requests,
    ) == (500, 10, 10)
    assert (
        config.batch_max_items,
        config.batch_requests_per_minute,
        config.batch_requests_per_minute_realm,
    ) == (30, 40, 120)
    assert (config.max_query_results, config.default_query_page_size) == (1000, 1000)
    assert (config.cdc_window_days, config.cdc_max_objects) == (30, 1000)
    assert (config.access_token_lifetime, config.refresh_token_lifetime) == (3600, 8_726_400)
    assert config.refresh_margin == 300
    assert config.request_hard_expiry is True
    assert (config.connect_timeout, config.read_timeout, config.total_timeout) == (10, 60, 120)


def test_sandbox_endpoints_by_default() -> None:
    """Without overrides the sandbox environment uses Intuit's sandbox and shared endpoints."""
    config = QBOConfig()
    assert config.api_base_url == "https://sandbox-quickbooks.api.intuit.com"
    assert config.authorization_endpoint == "https://appcenter.intuit.com/connect/oauth2"
    assert config.token_endpoint == "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer"
    assert config.revocation_endpoint == (
        "https://developer.api.intuit.com/v2/oauth2/tokens/revoke"
    )
    assert config.userinfo_endpoint == (
        "https://sandbox-accounts.platform.intuit.com/v1/openid_connect/userinfo"
    )
    assert config.discovery_url == (
        "https://developer.api.intuit.com/.well-known/openid_sandbox_configuration"
    )


def test_production_switches_the_environment_specific_endpoints() -> None:
    """Choosing production moves the API host, userinfo and discovery; OAuth hosts are shared."""
    config = QBOConfig(environment="production")
    assert config.api_base_url == "https://quickbooks.api.intuit.com"
    assert config.userinfo_endpoint == (
        "https://accounts.platform.intuit.com/v1/openid_connect/userinfo"
    )
    assert config.discovery_url == (
        "https://developer.api.intuit.com/.well-known/openid_configuration"
    )
    assert config.authorization_endpoint == QBOConfig().authorization_endpoint
    assert config.token_endpoint == QBOConfig().token_endpoint
    assert config.revocation_endpoint == QBOConfig().revocation_endpoint


@pytest.mark.parametrize("environment", ["sandbox", "production"])
@pytest.mark.parametrize("name", URL_SETTINGS)
def test_url_overrides_win_in_either_environment(name: str, environment: str) -> None:
    """An overridden URL is used as given, whatever the environment."""
    config = QBOConfig(environment=environment, **{name: "http://127.0.0.1:8765/emu"})  # type: ignore[arg-type]
    assert getattr(config, name) == "http://127.0.0.1:8765/emu"


def test_evolving_the_environment_moves_only_the_urls_not_overridden() -> None:
    """Changing environment on a copy re-derives default URLs but keeps explicit overrides."""
    config = QBOConfig(token_endpoint="http://127.0.0.1:8765/token")
    production = attrs.evolve(config, environment="production")
    assert production.api_base_url == "https://quickbooks.api.intuit.com"
    assert production.token_endpoint == "http://127.0.0.1:8765/token"


def test_api_base_url_loses_its_trailing_slash() -> None:
    """The API base is stored without a trailing slash so paths can be appended directly."""
    assert QBOConfig(api_base_url="http://127.0.0.1:8765/").api_base_url == "http://127.0.0.1:8765"


# --------------------------------------------------------------------- invalid values

INVALID = [
    ("client_id", ""),
    ("client_id", 42),
    ("client_secret", "   "),
    ("client_secret", b"bytes"),
    ("environment", "staging"),
    ("environment", "Production"),
    ("redirect_uri", "localhost:8000/callback"),
    ("redirect_uri", "ftp://example.com/cb"),
    ("scopes", ()),
    ("scopes", ["com.intuit.quickbooks.accounting"]),
    ("scopes", ("com.intuit.quickbooks.accounting openid",)),
    ("scopes", ("",)),
    ("minor_version", 74),
    ("minor_version", "75"),
    ("minor_version", 75.0),
    ("user_agent", ""),
    ("user_agent", "qbo\r\nX-Injected: 1"),
    ("webhook_verifier_token", ""),
    ("api_base_url", "quickbooks.api.intuit.com"),
    ("api_base_url", "https://"),
    ("authorization_endpoint", "/connect/oauth2"),
    ("token_endpoint", "https://host/with space"),
    ("revocation_endpoint", 5),
    ("userinfo_endpoint", "mailto:someone@example.com"),
    ("discovery_url", ""),
    ("requests_per_minute", 0),
    ("requests_per_minute", True),
    ("requests_per_second", -1),
    ("requests_per_second", 501),
    ("max_concurrent_requests", 0),
    ("batch_max_items", 0),
    ("batch_requests_per_minute", 0),
    ("batch_requests_per_minute", 121),
    ("batch_requests_per_minute_realm", 0),
    ("max_query_results", 0),
    ("default_query_page_size", 0),
    ("default_query_page_size", 1001),
    ("cdc_window_days", 0),
    ("cdc_max_objects", 0),
    ("access_token_lifetime", 0),
    ("access_token_lifetime", 3600.5),
    ("refresh_token_lifetime", 0),
    ("refresh_margin", -1),
    ("refresh_margin", 3600),
    ("refresh_margin", float("nan")),
    ("request_hard_expiry", "true"),
    ("request_hard_expiry", 1),
    ("connect_timeout", 0),
    ("connect_timeout", 121),
    ("read_timeout", -5),
    ("read_timeout", float("inf")),
    ("read_timeout", "60"),
    ("total_timeout", 121),
    ("total_timeout", 0),
    ("total_timeout", 30),
    ("max_response_bytes", 0),
    ("max_response_bytes", 200 * 1024 * 1024 + 1),
]


@pytest.mark.parametrize(("name", "value"), INVALID)
def test_each_invalid_value_raises_configuration_error_naming_the_field(
    name: str, value: object
) -> None:
    """A bad value for any setting raises ConfigurationError whose `field` is that setting."""
    settings: dict[str, Any] = {name: value}
    with pytest.raises(ConfigurationError) as caught:
        QBOConfig(**settings)
    assert caught.value.field == name
    assert str(caught.value).startswith(f"{name} must")


def test_every_setting_has_an_invalid_case() -> None:
    """The table of invalid values covers every setting, so a new one cannot go unchecked."""
    settings = {field.alias for field in attrs.fields(QBOConfig)}
    assert settings == {name for name, _ in INVALID}


@pytest.mark.parametrize(
    ("settings", "field", "problem"),
    [
        ({"minor_version": 74}, "minor_version", "at least 75"),
        ({"total_timeout": 121}, "total_timeout", "at most 120"),
        (
            {"connect_timeout": 30, "read_timeout": 90, "total_timeout": 60},
            "total_timeout",
            "at least connect_timeout and read_timeout (90)",
        ),
        ({"refresh_margin": 4000}, "refresh_margin", "shorter than access_token_lifetime"),
        ({"environment": "staging"}, "environment", "'sandbox' or 'production'"),
        ({"requests_per_second": 600}, "requests_per_second", "requests_per_minute (500)"),
    ],
)
def test_messages_say_what_is_wrong(settings: dict[str, Any], field: str, problem: str) -> None:
    """The error message states the rule that was broken."""
    with pytest.raises(ConfigurationError, match=re.escape(problem)) as caught:
        QBOConfig(**settings)
    assert caught.value.field == field


def test_a_total_timeout_equal_to_the_longest_other_timeout_is_allowed() -> None:
    """The total timeout may equal the read timeout; only shorter is refused."""
    assert QBOConfig(read_timeout=120, total_timeout=120).total_timeout == 120


def test_settings_are_keyword_only_and_frozen() -> None:
    """A config takes keywords only and cannot be changed once validated."""
    with pytest.raises(TypeError):
        QBOConfig("id")  # type: ignore[call-arg]
    config = QBOConfig()
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        config.minor_version = 80  # type: ignore[misc]


# --------------------------------------------------------------------- credentials


def test_a_config_without_credentials_is_valid_until_they_are_needed() -> None:
    """No client id is fine to build; asking for credentials then names the missing one."""
    with pytest.raises(ConfigurationError) as caught:
        QBOConfig().require_credentials()
    assert caught.value.field == "client_id"
    with pytest.raises(ConfigurationError) as caught:
        QBOConfig(client_id="app").require_credentials()
    assert caught.value.field == "client_secret"


def test_require_credentials_returns_both() -> None:
    """With both set, require_credentials returns the id and the secret."""
    config = QBOConfig(client_id="app", client_secret="shh-secret-value")
    assert config.require_credentials() == ("app", "shh-secret-value")


# --------------------------------------------------------------------- secrets


@given(secret=SECRETS, verifier=SECRETS)
def test_repr_and_str_never_show_the_secrets(secret: str, verifier: str) -> None:
    """Neither the client secret nor the webhook verifier token shows in repr or str."""
    config = QBOConfig(client_id="app-id", client_secret=secret, webhook_verifier_token=verifier)
    for shown in (repr(config), str(config)):
        assert secret not in shown
        assert verifier not in shown
        assert "app-id" in shown
        assert "client_secret=<redacted>" in shown


@given(secret=SECRETS)
def test_error_messages_never_show_a_secret(secret: str) -> None:
    """A rejected secret, or another bad setting beside one, never puts the secret in the error."""
    attempts: list[dict[str, Any]] = [
        {"client_secret": secret + "\n"},
        {"webhook_verifier_token": "\x00" + secret},
        {"client_secret": secret, "read_timeout": -1},
    ]
    for settings in attempts:
        with pytest.raises(ConfigurationError) as caught:
            QBOConfig(**settings)
        assert secret not in str(caught.value)
        assert secret not in repr(caught.value)
    with pytest.raises(ConfigurationError) as caught:
        QBOConfig.from_mapping({"client_secret": [secret]})
    assert secret not in str(caught.value)


# --------------------------------------------------------------------- from_mapping


@given(configs())
def test_config_round_trips_through_json(config: QBOConfig) -> None:
    """Any valid config survives unstructure, JSON text and structure unchanged."""
    text = json.dumps(unstructure(config))
    assert structure(json.loads(text), QBOConfig) == config
    assert QBOConfig.from_mapping(json.loads(text)) == config


@given(configs())
def test_config_round_trips_through_environment_strings(config: QBOConfig) -> None:
    """Any valid config, every value written as an environment string, loads back equal."""
    env = {name: as_env(value) for name, value in unstructure(config).items()}
    assert QBOConfig.from_mapping(env) == config


def test_from_mapping_reads_env_style_strings() -> None:
    """Numbers, flags, scopes and empty optionals arrive as strings and are converted."""
    config = QBOConfig.from_mapping(
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
def test_from_mapping_understands_common_flag_words(word: str, expected: bool) -> None:
    """The usual environment spellings of true and false are accepted."""
    assert QBOConfig.from_mapping({"request_hard_expiry": word}).request_hard_expiry is expected


def test_from_mapping_accepts_toml_style_values() -> None:
    """Native values from a settings file (ints, floats, bools, lists) work as they are."""
    config = QBOConfig.from_mapping(
        {"minor_version": 76, "read_timeout": 30, "request_hard_expiry": False, "scopes": ["a"]}
    )
    assert (config.minor_version, config.read_timeout) == (76, 30)
    assert config.request_hard_expiry is False
    assert config.scopes == ("a",)


def test_from_mapping_of_nothing_is_the_default_config() -> None:
    """An empty mapping gives the same config as no arguments at all."""
    assert QBOConfig.from_mapping({}) == QBOConfig()


def test_from_mapping_refuses_unknown_keys_and_suggests_a_name() -> None:
    """A misspelt setting is refused by name, with the closest real setting suggested."""
    with pytest.raises(ConfigurationError, match="did you mean 'read_timeout'") as caught:
        QBOConfig.from_mapping({"read_timout": "5"})
    assert caught.value.field == "read_timout"


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
        ("environment", 1, "must be 'sandbox' or 'production'"),
        ("minor_version", "70", "at least 75"),
    ],
)
def test_from_mapping_names_the_field_on_wrong_types(
    name: str, value: object, problem: str
) -> None:
    """A value of the wrong type (or a bad one once converted) is reported with its setting."""
    with pytest.raises(ConfigurationError, match=problem) as caught:
        QBOConfig.from_mapping({name: value})
    assert caught.value.field == name


def test_from_mapping_refuses_a_non_mapping() -> None:
    """Settings must come as a mapping of names to values."""
    with pytest.raises(ConfigurationError, match="must be a mapping"):
        QBOConfig.from_mapping(["client_id", "app"])  # type: ignore[arg-type]


def test_unstructured_config_uses_setting_names_and_keeps_overrides_unset() -> None:
    """The wire form is keyed by setting names, and URLs left to the environment stay null."""
    data = unstructure(QBOConfig(token_endpoint="http://127.0.0.1:1/token"))
    assert set(data) == {field.alias for field in attrs.fields(QBOConfig)}
    assert data["api_base_url"] is None
    assert data["token_endpoint"] == "http://127.0.0.1:1/token"
    assert data["scopes"] == ["com.intuit.quickbooks.accounting"]
