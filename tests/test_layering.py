"""The dependency rule, checked at run time: the core imports without any I/O library."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
import textwrap

import qbo_core

FORBIDDEN = (
    "aiohttp",
    "redis",
    "sqlalchemy",
    "aiosqlite",
    "asyncpg",
    "cryptography",
    "dependency_injector",
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


def _probe(*modules: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _PROBE, ",".join(FORBIDDEN), *modules],
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
