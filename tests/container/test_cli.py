"""The `qbo` command as a new user meets it: help, version, settings, one-line mistakes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import attrs
import pytest

from qbo_container.cli import main
from qbo_core.config import QBOConfig

QBO = str(Path(sys.executable).with_name("qbo"))


@pytest.fixture(autouse=True)
def _no_qbo_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts from an environment without QBO_* variables."""
    for name in list(os.environ):
        if name.startswith("QBO_"):
            monkeypatch.delenv(name)


def _clean_env(**extra: str) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("QBO_")}
    return env | extra


def test_version_prints_the_installed_version(capsys: pytest.CaptureFixture[str]) -> None:
    """`qbo --version` prints the distribution's version and exits 0."""
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.strip() == f"qbo-infra {version('qbo-infra')}"


def test_help_lists_the_commands(capsys: pytest.CaptureFixture[str]) -> None:
    """`qbo --help` describes the command and lists its sub-commands."""
    with pytest.raises(SystemExit) as exited:
        main(["--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert "QuickBooks Online" in out
    assert "settings" in out
    assert "emulator" in out


def test_no_command_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    """Running `qbo` alone prints the help instead of doing something surprising."""
    assert main([]) == 0
    assert "usage: qbo" in capsys.readouterr().out


def test_settings_masks_secrets_field_by_field(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`qbo settings` masks the secrets, and only them: the token_store section stays visible."""
    monkeypatch.setenv("QBO_API__CLIENT_ID", "visible-id")
    monkeypatch.setenv("QBO_API__CLIENT_SECRET", "s3cr3t-value-123")
    monkeypatch.setenv("QBO_EMULATOR__CLIENT_SECRET", "emu-s3cr3t-value-456")
    assert main(["settings"]) == 0
    out = capsys.readouterr().out
    shown = json.loads(out)
    assert shown["api"]["client_id"] == "visible-id"
    assert shown["api"]["client_secret"] == "<redacted>"
    assert shown["api"]["token_endpoint"] == QBOConfig().token_endpoint
    assert shown["api"]["access_token_lifetime"] == 3600
    assert shown["emulator"]["client_secret"] == "<redacted>"
    assert shown["token_store"] == {"backend": "sqlite", "encryption_keys": None}
    assert "s3cr3t-value" not in out


def test_settings_shows_every_effective_value_with_nothing_configured(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """With nothing set, every QBOConfig setting is shown with its value: the embedded
    emulator's client and URLs, and the documented defaults."""
    assert main(["settings"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert set(shown["api"]) == {field.alias for field in attrs.fields(QBOConfig)}
    assert shown["api"]["client_id"] == "emulator-client"
    assert shown["api"]["client_secret"] == "<redacted>"
    assert shown["api"]["api_base_url"] == "http://emulator.invalid"
    assert shown["api"]["minor_version"] == 75
    assert shown["emulator"]["size"] == "small"
    assert shown["cache"] == {"backend": "memory", "max_entries": 10_000}


@pytest.mark.parametrize(
    ("variable", "value", "field"),
    [
        ("QBO_API__TIMEOUT", "abc", "api.timeout"),
        ("QBO_API__READ_TIMEOUT", "abc", "api.read_timeout"),
        ("QBO_EMULATOR__SIZE", "huge", "emulator.size"),
        ("QBO_EMULATOR__REALMS", "abc", "emulator.realms"),
        ("QBO_EVENTS__LEVEL", "chatty", "events.level"),
    ],
)
def test_settings_refuses_a_bad_environment_value_in_one_line(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    variable: str,
    value: str,
    field: str,
) -> None:
    """A bad QBO_* value makes `qbo settings` exit 2 with one line naming the field."""
    monkeypatch.setenv(variable, value)
    assert main(["settings"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1
    assert field in captured.err


def test_settings_into_a_closed_pipe_exits_quietly() -> None:
    """`qbo settings` writing into a pipe whose reader is gone ends without a traceback."""
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader has gone before qbo writes a byte
    try:
        result = subprocess.run(
            [QBO, "settings"],
            stdout=write_end,
            stderr=subprocess.PIPE,
            env=_clean_env(),
            check=False,
            timeout=60,
        )
    finally:
        os.close(write_end)
    assert result.stderr == b""
    assert result.returncode == 0


def test_settings_piped_into_head_prints_one_line_and_no_error() -> None:
    """`qbo settings | head -1` prints the first line and nothing on stderr."""
    result = subprocess.run(
        ["/bin/sh", "-c", f"'{QBO}' settings | head -1"],
        capture_output=True,
        text=True,
        env=_clean_env(),
        check=False,
        timeout=60,
    )
    assert result.stdout == "{\n"
    assert result.stderr == ""
    assert result.returncode == 0


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["emulator", "--port", "99999"], "--port: must be a port number from 0 to 65535"),
        (["emulator", "--port", "-1"], "--port: must be a port number"),
        (["emulator", "--port", "http"], "--port: must be a port number"),
        (["emulator", "--host", "not a host"], "--host: must be an IP address or a host name"),
        (["emulator", "--realms", "0"], "--realms: must be from 1 to 1000"),
        (["emulator", "--size", "huge"], "--size: invalid choice: 'huge'"),
        (["emulator", "--seed", "x"], "--seed: must be a whole number"),
        (["emulator", "--nope"], "unrecognized arguments: --nope"),
        (["emulator", "--webhook-url", "ftp://x"], "--webhook-url: must be an http:// or https"),
        (["emulator", "--webhook-format", "xml"], "--webhook-format: invalid choice: 'xml'"),
        (["nope"], "invalid choice: 'nope'"),
    ],
)
def test_command_line_mistakes_are_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], argv: list[str], words: str
) -> None:
    """Every bad flag ends in exit status 2 and one line on stderr, no usage block."""
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert words in err
    assert "Traceback" not in err


def test_configuration_errors_exit_2_with_a_message(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bad setting makes the command exit 2 with a one-line explanation, not a traceback."""
    monkeypatch.setenv("QBO_CACHE__BACKEND", "nope")
    assert main(["settings"]) == 2
    err = capsys.readouterr().err
    assert "cache.backend" in err
    assert "Traceback" not in err


def test_console_script_is_installed() -> None:
    """The `qbo` console script exists in the environment and answers --version."""
    qbo = sys.executable.rsplit("/", 1)[0] + "/qbo"
    result = subprocess.run([qbo, "--version"], capture_output=True, text=True, check=False)
    assert result.returncode == 0
    assert result.stdout.startswith("qbo-infra ")


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (
            ["emulator", "--webhook-url", "http://127.0.0.1:9/hooks"],
            "--webhook-url needs a verifier token: set QBO_EMULATOR_WEBHOOK_VERIFIER",
        ),
        (["emulator", "--webhook-verifier", "v"], "--webhook-verifier is only used with"),
    ],
)
def test_webhook_flags_go_together(
    capsys: pytest.CaptureFixture[str], argv: list[str], words: str
) -> None:
    """A webhook URL without a verifier (flag or environment), or a verifier without a
    URL, is one line and exit 2 before anything is served."""
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert words in err
