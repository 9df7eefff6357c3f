"""Where the embedded defaults keep their files: the user's data directory, made private.

With nothing configured, tokens and OAuth states live in `tokens.sqlite3` and the refresh
locks in `locks/`, both inside `user_data_dir("qbo-infra")` (platformdirs: on Linux
`$XDG_DATA_HOME/qbo-infra`, else `~/.local/share/qbo-infra`; on macOS
`~/Library/Application Support/qbo-infra`; on Windows under `%LOCALAPPDATA%`). Nothing
is created until the container first needs it; then a missing directory is created with
mode 0700 and a missing SQLite file with mode 0600, so only the user can read the tokens.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final

import platformdirs

__all__ = [
    "APP_NAME",
    "LOCKS_DIRECTORY",
    "SQLITE_FILE",
    "data_dir",
    "private_directory",
    "private_file",
]

APP_NAME: Final = "qbo-infra"
SQLITE_FILE: Final = "tokens.sqlite3"
LOCKS_DIRECTORY: Final = "locks"


def data_dir() -> Path:
    """The user's data directory for qbo-infra (not created here)."""
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def private_directory(path: Path) -> Path:
    """`path`, created with its missing parents if absent; every directory created here
    gets mode 0700 (an existing one keeps its mode)."""
    missing: list[Path] = []
    current = path
    while not current.exists() and current != current.parent:
        missing.append(current)
        current = current.parent
    for directory in reversed(missing):
        try:
            directory.mkdir(mode=0o700)
        except FileExistsError:  # made meanwhile by another process
            continue
        directory.chmod(0o700)  # whatever the umask
    return path


def private_file(path: Path) -> Path:
    """`path`, created empty with mode 0600 if absent (its directory made private first)."""
    private_directory(path.parent)
    try:
        descriptor = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        return path
    os.close(descriptor)
    return path
