"""Test-wide settings: hypothesis profiles, and a private user data directory per test.

`HYPOTHESIS_PROFILE=ci` (set by `.ci/run`) runs more examples; `dev` is the default;
`mutation` (set by `scripts/mutation`) is `dev` without the example database, so the
examples that killed one mutant are not replayed against the next.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from qbo_container.storage import data_dir

settings.register_profile(
    "dev",
    max_examples=60,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "ci",
    max_examples=300,
    stateful_step_count=50,
    deadline=None,
    derandomize=False,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("mutation", parent=settings.get_profile("dev"), database=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


@pytest.fixture(autouse=True)
def user_data_home(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """A fresh `XDG_DATA_HOME` for every test (platformdirs' user data directory on Linux),
    so the default SQLite file and lock directory never land in the real home."""
    home = tmp_path_factory.mktemp("data-home")
    monkeypatch.setenv("XDG_DATA_HOME", str(home))
    if not data_dir().is_relative_to(home):  # pragma: no cover - a platform without XDG
        pytest.fail(f"the user data directory {data_dir()} ignores XDG_DATA_HOME here")
    return home
