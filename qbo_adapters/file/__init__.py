"""Adapters on the local file system, shared by the processes of one host.

`FileLock`: the `Lock` port on lock files in a directory (through `filelock`), with leases
timed on the `Clock`'s wall time, pairing with the SQLite token store.
"""

from qbo_adapters.file.lock import FileLock

__all__ = ["FileLock"]
