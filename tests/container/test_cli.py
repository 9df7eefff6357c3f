"""The `qbo` command: help, version and settings."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.metadata import version

import pytest

from qbo_container.cli import main


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


def test_settings_masks_secrets(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`qbo settings` shows the effective settings with the client secret masked."""
    monkeypatch.setenv("QBO_API__CLIENT_ID", "visible-id")
    monkeypatch.setenv("QBO_API__CLIENT_SECRET", "s3cr3t-value-123")
    assert main(["settings"]) == 0
    out = capsys.readouterr().out
    shown = json.loads(out)
    assert shown["api"]["client_id"] == "visible-id"
    assert "s3cr3t-value-123" not in out


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
