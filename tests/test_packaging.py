"""Packaging and set-up: pyproject metadata, the `testing` extra, and what bootstrap says."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _pyproject() -> dict[str, object]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_license_is_an_spdx_string_with_a_backend_that_reads_it() -> None:
    """`license` is the SPDX string form (no deprecation warning on install), which needs
    setuptools 77 or newer as the build backend."""
    project = _pyproject()["project"]
    assert isinstance(project, dict)
    assert project["license"] == "MIT"
    build = _pyproject()["build-system"]
    assert isinstance(build, dict)
    assert "setuptools>=77" in build["requires"]


def test_the_testing_extra_installs_what_the_contract_suites_import() -> None:
    """`pip install qbo-infra[testing]` brings pytest, pytest-asyncio and hypothesis; dev has it."""
    project = _pyproject()["project"]
    assert isinstance(project, dict)
    extras = project["optional-dependencies"]
    names = {requirement.split(">")[0].split("=")[0] for requirement in extras["testing"]}
    assert names == {"pytest", "pytest-asyncio", "hypothesis"}
    assert "qbo-infra[testing]" in extras["dev"]


def _stub(path: Path, body: str) -> None:
    path.write_text("#!/usr/bin/env bash\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


def test_bootstrap_says_what_it_is_doing_on_stderr(tmp_path: Path) -> None:
    """A first run announces creating .venv and the long install, then done; a second run,
    with nothing changed, is silent. (A stub Python stands in for venv and pip.)"""
    (tmp_path / "scripts").mkdir()
    shutil.copy(ROOT / "scripts" / "bootstrap", tmp_path / "scripts" / "bootstrap")
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    python = tmp_path / "python-stub"
    _stub(
        python,
        'if [ "${1:-}" = "--version" ]; then echo "Python 3.x"; exit 0; fi\n'
        'mkdir -p .venv/bin && printf "#!/bin/sh\\nexit 0\\n" > .venv/bin/python\n'
        "chmod +x .venv/bin/python\n",
    )
    env = os.environ | {"PYTHON": str(python)}
    first = subprocess.run(
        [tmp_path / "scripts" / "bootstrap"], capture_output=True, text=True, env=env, check=False
    )
    assert first.returncode == 0, first.stderr
    assert first.stdout == ""
    assert "creating .venv" in first.stderr
    assert "installing qbo-infra with extras (about 2 minutes, first run only)" in first.stderr
    assert first.stderr.rstrip().endswith("done: .venv is ready")
    second = subprocess.run(
        [tmp_path / "scripts" / "bootstrap"], capture_output=True, text=True, env=env, check=False
    )
    assert second.returncode == 0
    assert second.stderr == ""
