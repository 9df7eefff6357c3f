"""QBOConfig: documented defaults, validation naming the field, endpoints, masked secrets."""

from __future__ import annotations

import re
import string
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from qbo_core.config import SECRET_SETTINGS, QBOConfig
from qbo_core.errors import ConfigurationError
from qbo_core.redaction import REDACTED

#: Secret-like values: long enough that they cannot turn up in a repr by coincidence.
SECRETS = st.text(alphabet=string.ascii_letters + string.digits + "-._~", min_size=24, max_size=80)

URL_SETTINGS = (
    "api_base_url",
    "authorization_endpoint",
    "token_endpoint",
    "revocation_endpoint",
    "userinfo_endpoint",
    "discovery_url",
)


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


def test_api_base_url_loses_only_its_trailing_slashes() -> None:
    """Only slashes are cut from the end: the path before them is kept as given."""
    config = QBOConfig(api_base_url="https://proxy.test/QBX//")
    assert config.api_base_url == "https://proxy.test/QBX"


# --------------------------------------------------------------------- invalid values

INVALID = [
    ("client_id", "", "must not be empty, got ''"),
    ("client_id", 42, "must be a string, got 42"),
    ("client_secret", "   ", "must not be empty, got str"),
    ("client_secret", b"bytes", "must be a string, got bytes"),
    ("client_secret", 42, "must be a string, got int"),
    ("environment", "staging", "must be 'sandbox' or 'production', got 'staging'"),
    ("environment", "Production", "must be 'sandbox' or 'production', got 'Production'"),
    (
        "redirect_uri",
        "localhost:8000/callback",
        "must be an absolute http(s) URL, got 'localhost:8000/callback'",
    ),
    (
        "redirect_uri",
        "ftp://example.com/cb",
        "must be an absolute http(s) URL, got 'ftp://example.com/cb'",
    ),
    ("scopes", (), "must name at least one scope, got ()"),
    (
        "scopes",
        ["com.intuit.quickbooks.accounting"],
        "must be a tuple of scope strings, got ['com.intuit.quickbooks.accounting']",
    ),
    (
        "scopes",
        ("accounting openid",),
        "must hold non-empty scopes without spaces, got ('accounting openid',)",
    ),
    ("scopes", ("",), "must hold non-empty scopes without spaces, got ('',)"),
    (
        "scopes",
        ("com.intuit.quickbooks.accounting", 5),
        "must be a tuple of scope strings, got ('com.intuit.quickbooks.accounting', 5)",
    ),
    ("minor_version", 74, "must be at least 75, got 74"),
    ("minor_version", "75", "must be a whole number, got '75'"),
    ("minor_version", 75.0, "must be a whole number, got 75.0"),
    ("user_agent", "", "must not be empty, got ''"),
    (
        "user_agent",
        "qbo\r\nX-Injected: 1",
        "must not contain control characters, got 'qbo\\r\\nX-Injected: 1'",
    ),
    ("user_agent", None, "must be a string, got None"),
    ("user_agent", "qbo\x1f", "must not contain control characters, got 'qbo\\x1f'"),
    ("user_agent", "qbo\x7f", "must not contain control characters, got 'qbo\\x7f'"),
    ("webhook_verifier_token", "", "must not be empty, got str"),
    (
        "api_base_url",
        "quickbooks.api.intuit.com",
        "must be an absolute http(s) URL, got 'quickbooks.api.intuit.com'",
    ),
    ("api_base_url", "https://", "must be an absolute http(s) URL, got 'https:'"),
    (
        "api_base_url",
        "https://host/v3?x=1",
        "must not have a query or fragment, got 'https://host/v3?x=1'",
    ),
    (
        "api_base_url",
        "https://host#top",
        "must not have a query or fragment, got 'https://host#top'",
    ),
    (
        "authorization_endpoint",
        "/connect/oauth2",
        "must be an absolute http(s) URL, got '/connect/oauth2'",
    ),
    (
        "token_endpoint",
        "https://host/with space",
        "must not contain whitespace, got 'https://host/with space'",
    ),
    ("revocation_endpoint", 5, "must be a URL string, got 5"),
    (
        "userinfo_endpoint",
        "mailto:someone@example.com",
        "must be an absolute http(s) URL, got 'mailto:someone@example.com'",
    ),
    ("discovery_url", "", "must be an absolute http(s) URL, got ''"),
    ("discovery_url", "http://", "must be an absolute http(s) URL, got 'http://'"),
    ("requests_per_minute", 0, "must be at least 1, got 0"),
    ("requests_per_minute", True, "must be a whole number, got True"),
    ("requests_per_second", -1, "must be at least 1, got -1"),
    ("requests_per_second", 501, "must not exceed requests_per_minute (500), got 501"),
    ("max_concurrent_requests", 0, "must be at least 1, got 0"),
    ("rate_window_margin", -0.1, "must be zero or more, got -0.1"),
    ("rate_window_margin", float("inf"), "must be finite, got inf"),
    ("batch_max_items", 0, "must be at least 1, got 0"),
    ("batch_requests_per_minute", 0, "must be at least 1, got 0"),
    (
        "batch_requests_per_minute",
        121,
        "must not exceed batch_requests_per_minute_realm (120), got 121",
    ),
    ("batch_requests_per_minute_realm", 0, "must be at least 1, got 0"),
    ("max_query_results", 0, "must be at least 1, got 0"),
    ("default_query_page_size", 0, "must be at least 1, got 0"),
    ("default_query_page_size", 1001, "must not exceed max_query_results (1000), got 1001"),
    ("cdc_window_days", 0, "must be at least 1, got 0"),
    ("cdc_max_objects", 0, "must be at least 1, got 0"),
    ("access_token_lifetime", 0, "must be at least 1, got 0"),
    ("access_token_lifetime", 3600.5, "must be a whole number, got 3600.5"),
    ("refresh_token_lifetime", 0, "must be at least 1, got 0"),
    ("refresh_margin", -1, "must be zero or more, got -1"),
    ("refresh_margin", 3600, "must be shorter than access_token_lifetime (3600), got 3600"),
    ("refresh_margin", float("nan"), "must be finite, got nan"),
    ("request_hard_expiry", "true", "must be true or false, got 'true'"),
    ("request_hard_expiry", 1, "must be true or false, got 1"),
    ("connect_timeout", 0, "must be > 0, got 0"),
    ("connect_timeout", 121, "must be at most 120 seconds, got 121"),
    ("connect_timeout", True, "must be a number of seconds, got True"),
    ("connect_timeout", float("-inf"), "must be finite, got -inf"),
    ("read_timeout", -5, "must be > 0, got -5"),
    ("read_timeout", float("inf"), "must be finite, got inf"),
    ("read_timeout", "60", "must be a number of seconds, got '60'"),
    ("total_timeout", 121, "must be at most 120 seconds, got 121"),
    ("total_timeout", 0, "must be > 0, got 0"),
    ("total_timeout", 30, "must be at least connect_timeout and read_timeout (60), got 30"),
    ("max_response_bytes", 0, "must be at least 1, got 0"),
    ("max_response_bytes", 200 * 1024 * 1024 + 1, "must be at most 209715200, got 209715201"),
]


@pytest.mark.parametrize(("name", "value", "problem"), INVALID)
def test_each_invalid_value_raises_configuration_error_naming_the_field(
    name: str, value: object, problem: str
) -> None:
    """A bad value for any setting raises ConfigurationError whose `field` is that setting
    and whose message names it, the rule broken and the value given (a secret's by type)."""
    settings: dict[str, Any] = {name: value}
    with pytest.raises(ConfigurationError) as caught:
        QBOConfig(**settings)
    assert caught.value.field == name
    assert str(caught.value) == f"{name} {problem}"


def test_every_setting_has_an_invalid_case() -> None:
    """The table of invalid values covers every setting, so a new one cannot go unchecked."""
    settings = {field.alias for field in attrs.fields(QBOConfig)}
    assert settings == {name for name, _, _ in INVALID}


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


def test_every_lower_bound_is_allowed_at_its_edge() -> None:
    """Each limit may be as low as its rule allows: counts of 1 (so per-second and batch
    rates equal to their ceilings, a page as large as the query cap), margins of 0, the
    oldest minor version still honoured, a one-byte response cap."""
    smallest: dict[str, Any] = {
        "minor_version": 75,
        "requests_per_minute": 1,
        "requests_per_second": 1,
        "max_concurrent_requests": 1,
        "rate_window_margin": 0,
        "batch_max_items": 1,
        "batch_requests_per_minute": 1,
        "batch_requests_per_minute_realm": 1,
        "max_query_results": 1,
        "default_query_page_size": 1,
        "cdc_window_days": 1,
        "cdc_max_objects": 1,
        "access_token_lifetime": 1,
        "refresh_token_lifetime": 1,
        "refresh_margin": 0,
        "max_response_bytes": 1,
    }
    config = QBOConfig(**smallest)
    assert {name: getattr(config, name) for name in smallest} == smallest


def test_every_upper_bound_is_allowed_at_its_edge() -> None:
    """Timeouts may reach Intuit's 120-second cut-off, the response cap its 200 MiB ceiling,
    and the refresh margin anything short of the access token's lifetime."""
    config = QBOConfig(
        connect_timeout=120,
        read_timeout=120,
        total_timeout=120,
        max_response_bytes=200 * 1024 * 1024,
        refresh_margin=3599.5,
    )
    assert (config.connect_timeout, config.read_timeout, config.total_timeout) == (120, 120, 120)
    assert config.max_response_bytes == 200 * 1024 * 1024
    assert config.refresh_margin == 3599.5


@pytest.mark.parametrize("seconds", [0.001, 0.5, 1, 1.5])
def test_short_timeouts_are_allowed(seconds: float) -> None:
    """Any positive timeout is allowed, fractions of a second and exactly one second too."""
    config = QBOConfig(connect_timeout=seconds, read_timeout=seconds, total_timeout=seconds)
    assert (config.connect_timeout, config.read_timeout, config.total_timeout) == (
        seconds,
        seconds,
        seconds,
    )


def test_text_may_hold_spaces_and_any_printable_character() -> None:
    """Only control characters are refused: spaces, `~` and non-ASCII letters are kept."""
    agent = "qbo-infra/0.1.0 (host; Zürich) ~"
    assert QBOConfig(user_agent=agent).user_agent == agent
    assert QBOConfig(client_id=" app ").client_id == " app "


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
    """No client id is fine to build; asking for credentials then names the missing one,
    and says what it is needed for."""
    with pytest.raises(ConfigurationError) as caught:
        QBOConfig().require_credentials()
    assert caught.value.field == "client_id"
    assert str(caught.value) == (
        "client_id is not configured; it is needed to talk to Intuit's OAuth endpoints"
    )
    with pytest.raises(ConfigurationError) as caught:
        QBOConfig(client_id="app").require_credentials()
    assert caught.value.field == "client_secret"
    assert str(caught.value) == (
        "client_secret is not configured; it is needed to talk to Intuit's OAuth endpoints"
    )


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


def test_repr_lists_every_setting_with_values_quoted_and_secrets_masked() -> None:
    """The repr reads like the constructor call: each setting in order, values as their
    repr, a set secret as a bare <redacted>, an unset one as None."""
    config = QBOConfig(client_id="app-id", client_secret="s3cret-value-0123456789")
    assert repr(config).startswith(
        "QBOConfig(client_id='app-id', client_secret=<redacted>, environment='sandbox', "
        "redirect_uri=None, scopes=('com.intuit.quickbooks.accounting',), minor_version=75, "
        "user_agent='qbo-infra/0.1.0', webhook_verifier_token=None, "
        "api_base_url='https://sandbox-quickbooks.api.intuit.com', "
    )
    assert repr(config).endswith(", max_response_bytes=209715200)")


def test_repr_quotes_a_setting_that_only_looks_masked() -> None:
    """A setting that is not a secret is shown as its repr even when its value reads
    <redacted>, so a masked secret is never confused with a value."""
    assert "client_id='<redacted>'," in repr(QBOConfig(client_id=REDACTED))


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


# --------------------------------------------------------------------- as_settings


def test_as_settings_shows_every_setting_in_effect_with_secrets_masked() -> None:
    """as_settings lists every setting, URLs resolved, set secrets masked, unset ones None."""
    config = QBOConfig(client_id="app", client_secret="shh-secret-value", environment="production")
    shown = config.as_settings()
    assert set(shown) == {field.alias for field in attrs.fields(QBOConfig)}
    assert shown["client_id"] == "app"
    assert shown["client_secret"] == "<redacted>"
    assert shown["webhook_verifier_token"] is None
    assert shown["api_base_url"] == "https://quickbooks.api.intuit.com"
    assert config.as_settings(mask_secrets=False)["client_secret"] == "shh-secret-value"


def test_secret_settings_are_exactly_the_secret_fields() -> None:
    """The one list of secrets names real settings: the client secret and the webhook verifier."""
    assert {field.alias for field in attrs.fields(QBOConfig)} >= SECRET_SETTINGS
    assert {"client_secret", "webhook_verifier_token"} == SECRET_SETTINGS


def test_only_the_api_base_url_refuses_a_query() -> None:
    """Paths are joined after `api_base_url`, so a query or fragment there would end up in
    the middle of every request's URL; an endpoint is used whole and may carry one."""
    config = QBOConfig(discovery_url="https://host/.well-known/openid?x=1#a")
    assert config.discovery_url == "https://host/.well-known/openid?x=1#a"
