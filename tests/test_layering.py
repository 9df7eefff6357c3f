"""The dependency rule, checked at run time: the core imports without any I/O library."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import qbo_adapters
import qbo_core

FORBIDDEN = (
    "aiohttp",
    "redis",
    "sqlalchemy",
    "aiosqlite",
    "asyncpg",
    "cryptography",
    "dependency_injector",
    "prometheus_client",
    "qbo_adapters",
    "qbo_container",
    "domains",
)

# Runs in a fresh interpreter: refuse every forbidden top-level package, then import
# the modules named on the command line and report any forbidden module that got in.
_PROBE = textwrap.dedent(
    """
    import importlib
    import sys

    forbidden = set(sys.argv[1].split(","))

    class Refuse:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in forbidden:
                raise ImportError(f"forbidden module {name!r} was imported")
            return None

    sys.meta_path.insert(0, Refuse())
    for name in sys.argv[2:]:
        importlib.import_module(name)
    print(",".join(sorted(m for m in sys.modules if m.split(".")[0] in forbidden)))
    """
)


def _probe(
    *modules: str, forbidden: tuple[str, ...] = FORBIDDEN
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _PROBE, ",".join(forbidden), *modules],
        capture_output=True,
        text=True,
        check=False,
    )


def core_modules() -> list[str]:
    """Every module of the qbo_core package, itself included."""
    found = pkgutil.walk_packages(qbo_core.__path__, "qbo_core.")
    return ["qbo_core", *(info.name for info in found)]


def test_every_core_module_imports_with_io_libraries_unavailable() -> None:
    """Each qbo_core module imports in a process where I/O libraries and outer layers fail."""
    modules = core_modules()
    assert len(modules) > 10  # the walk found the package's modules, not just its root
    result = _probe(*modules)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""


def test_probe_fails_on_a_forbidden_import() -> None:
    """The probe itself fails when a forbidden module is imported, so the check above can fail."""
    result = _probe("json", "aiohttp")
    assert result.returncode != 0
    assert "forbidden module 'aiohttp' was imported" in result.stderr


def _adapter_folders() -> list[str]:
    """The technology folders of qbo_adapters (its subpackages)."""
    return sorted(
        f"qbo_adapters.{info.name}"
        for info in pkgutil.iter_modules(qbo_adapters.__path__)
        if info.ispkg
    )


def test_only_the_prometheus_folder_needs_prometheus_client() -> None:
    """Every adapter module outside `qbo_adapters.prometheus`, and the container, import in
    a process where prometheus_client cannot be imported (it is an extra)."""
    modules = [
        info.name
        for folder in _adapter_folders()
        if folder != "qbo_adapters.prometheus"
        for info in pkgutil.walk_packages(
            [str(Path(qbo_adapters.__path__[0]) / folder.rpartition(".")[2])], folder + "."
        )
    ]
    modules += ["qbo_container", "qbo_container.container", "qbo_container.cli"]
    assert len(modules) > 30
    result = _probe(*modules, forbidden=("prometheus_client",))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""


def test_the_prometheus_contract_names_every_other_adapter_folder() -> None:
    """The import-linter contract keeping prometheus_client in its folder lists every other
    adapter folder, so a folder added later is held to it too."""
    pyproject = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())
    (contract,) = [
        contract
        for contract in pyproject["tool"]["importlinter"]["contracts"]
        if contract.get("forbidden_modules") == ["prometheus_client"]
    ]
    folders = [folder for folder in _adapter_folders() if folder != "qbo_adapters.prometheus"]
    assert sorted(contract["source_modules"]) == sorted(["qbo_core", *folders])
