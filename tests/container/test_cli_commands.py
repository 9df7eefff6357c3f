"""The `qbo` user commands (connect, query, health, sync, demo) against a real emulator.

The emulator is served over loopback HTTP from a thread of the test process (its own
event loop), so a command run in-process (`main([...])`, which runs its own loop) or
as a subprocess reaches it like any other server. The user's browser is an HTTP client
following the redirects of the emulator's auto-consent. Every failure is checked to
be one line on stderr with the documented exit code.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from qbo_adapters.emulator.app import QBOEmulator
from qbo_adapters.emulator.chaos import rule_from_json
from qbo_adapters.emulator.server import HandlerServer, serve_emulator
from qbo_adapters.emulator.settings import EmulatorSettings
from qbo_adapters.sql import SqlMirror
from qbo_container.cli import main
from qbo_container.commands import common
from qbo_core.dtos import EntitySummary
from tests.adapters.sql_databases import POSTGRES_URL

QBO = str(Path(sys.executable).with_name("qbo"))
T = TypeVar("T")
ENTITIES = "Customer,Invoice,Vendor"


class ServedEmulator:
    """An emulator served over loopback HTTP by a thread running its own event loop."""

    def __init__(self, settings: EmulatorSettings) -> None:
        self.emulator = QBOEmulator(settings)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._server: HandlerServer = self.call(serve_emulator(self.emulator))
        self.base_url = self._server.base_url

    def call(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run `coroutine` on the emulator's loop and return its result."""
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=60)

    @property
    def realms(self) -> list[str]:
        return self.emulator.realm_ids

    def close(self) -> None:
        self.call(self._server.close())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=30)
        self._loop.close()


@pytest.fixture(scope="module")
def served() -> Iterator[ServedEmulator]:
    emulator = ServedEmulator(
        EmulatorSettings(realms=2, size="small", auto_consent=True, throttle=False, seed=3)
    )
    try:
        yield emulator
    finally:
        emulator.close()


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A clean environment: no QBO_* variables, the user's data directory in tmp_path,
    tokens and mirror in files there, and a "browser" that follows redirects."""
    for name in list(os.environ):
        if name.startswith("QBO_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("QBO_SQL__URL", f"sqlite+aiosqlite:///{tmp_path / 'tokens.sqlite3'}")
    monkeypatch.setenv("QBO_MIRROR__URL", f"sqlite+aiosqlite:///{tmp_path / 'mirror.sqlite3'}")
    monkeypatch.setattr("webbrowser.open", _follow)
    return tmp_path


def _follow(url: str) -> bool:
    """The user's browser: fetch `url` and follow its redirects (no proxy)."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(url, timeout=30) as response:
        response.read()
    return True


def _env(home: Path, **extra: str) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("QBO_")}
    env |= {
        "XDG_DATA_HOME": str(home / "data"),
        "QBO_SQL__URL": f"sqlite+aiosqlite:///{home / 'tokens.sqlite3'}",
        "QBO_MIRROR__URL": f"sqlite+aiosqlite:///{home / 'mirror.sqlite3'}",
    }
    return env | extra


def _one_error_line(err: str, command: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"qbo {command}:"), err
    assert "Traceback" not in err
    return lines[0]


def _connect(served: ServedEmulator, realm: str, capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["connect", "--emulator-url", served.base_url, "--realm", realm])
    out = capsys.readouterr().out
    assert status == 0, out
    assert f"(realm {realm})" in out


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _summary(path: Path, realm: str) -> dict[str, EntitySummary]:
    return _summary_at(f"sqlite+aiosqlite:///{path}", realm)


# --------------------------------------------------------------------- connect


def test_connect_stores_tokens_and_lists_the_company(
    served: ServedEmulator, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`qbo connect` runs the OAuth flow through a loopback callback, stores the tokens in
    the configured SQLite store and records the company for the other commands."""
    realm = served.realms[1]
    _connect(served, realm, capsys)
    registry = json.loads((home / "connections.json").read_text())
    assert list(registry) == [realm]
    assert registry[realm]["business_id"] == "qbo-cli"
    with sqlite3.connect(home / "tokens.sqlite3") as db:
        assert db.execute("SELECT realm_id FROM qbo_tokens").fetchall() == [(realm,)]


def test_connect_with_the_embedded_emulator_in_a_subprocess(home: Path) -> None:
    """With nothing configured the command serves its embedded emulator on loopback and
    prints the URL; fetching it (auto-consent) completes the connection."""
    with subprocess.Popen(
        [QBO, "connect", "--no-browser"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(home, QBO_EMULATOR__AUTO_CONSENT="true"),
    ) as process:
        assert process.stdout is not None
        assert process.stderr is not None
        try:
            url = ""
            for line in process.stdout:
                if line.startswith("  http://127.0.0.1:"):
                    url = line.strip()
                    break
            assert url, "no authorization URL printed"
            _follow(url)
            out, err = process.communicate(timeout=60)
        finally:
            process.kill()
    assert process.returncode == 0, err
    assert "Connected QBO company" in out


def test_connect_gives_up_after_its_timeout(
    served: ServedEmulator, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Nobody visits the URL: the command ends with one line and exit 1 after --timeout."""
    status = main(
        ["connect", "--emulator-url", served.base_url, "--no-browser", "--timeout", "0.3"]
    )
    assert status == 1
    assert "no answer from the authorization page" in _one_error_line(
        capsys.readouterr().err, "connect"
    )


def test_connect_to_an_emulator_that_is_not_running_exits_4(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An --emulator-url nobody listens on is found out before anyone is sent there."""
    closed = f"http://127.0.0.1:{_closed_port()}"
    assert main(["connect", "--emulator-url", closed, "--no-browser"]) == 4
    _one_error_line(capsys.readouterr().err, "connect")


# --------------------------------------------------------------------- query


def test_query_prints_json_lines_and_tables(
    served: ServedEmulator, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Rows stream as JSON lines (at most --max) or as a table with a row count; the only
    connected company is the default."""
    realm = served.realms[0]
    _connect(served, realm, capsys)
    args = ["query", "--emulator-url", served.base_url]
    assert main([*args, "SELECT * FROM Customer", "--format", "jsonl", "--max", "5"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(rows) == 5
    assert all("DisplayName" in row for row in rows)
    assert [int(row["Id"]) for row in rows] == sorted(int(row["Id"]) for row in rows)
    everyone = served.emulator.companies[realm].counts()["Customer"]
    assert main([*args, "SELECT * FROM Customer WHERE Active IN (true, false)"]) == 0
    assert f"{everyone} rows" in capsys.readouterr().out
    assert main([*args, "SELECT COUNT(*) FROM Vendor", "--realm", realm]) == 0
    assert capsys.readouterr().out.strip().isdigit()


def test_query_errors_are_one_line_with_their_exit_codes(
    served: ServedEmulator, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """No connection: 3; an invalid query: QBO's message, 1; an unknown realm: 3; the
    emulator not running: 4; a bad flag: 2."""
    args = ["query", "--emulator-url", served.base_url]
    assert main([*args, "SELECT * FROM Customer"]) == 3
    assert "none connected" in _one_error_line(capsys.readouterr().err, "query")
    realm = served.realms[0]
    _connect(served, realm, capsys)
    assert main([*args, "SELECT * FROM Customer; DROP TABLE x"]) == 1
    line = _one_error_line(capsys.readouterr().err, "query")
    assert "query failed" in line
    assert main([*args, "SELECT * FROM Customer", "--realm", "123456"]) == 3
    assert "not connected" in _one_error_line(capsys.readouterr().err, "query")
    closed = f"http://127.0.0.1:{_closed_port()}"
    assert main(["query", "--emulator-url", closed, "SELECT * FROM Customer"]) == 4
    _one_error_line(capsys.readouterr().err, "query")
    with pytest.raises(SystemExit) as exited:
        main(["query", "SELECT * FROM Customer", "--max", "0"])
    assert exited.value.code == 2
    _one_error_line(capsys.readouterr().err, "query")


# --------------------------------------------------------------------- health


def test_health_reports_connected_companies(
    served: ServedEmulator, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every connected company is probed and reported healthy (exit 0), as JSON or a
    table; with none connected the command says so (exit 3)."""
    args = ["health", "--emulator-url", served.base_url]
    assert main(args) == 3
    assert "no connected company" in _one_error_line(capsys.readouterr().err, "health")
    for realm in served.realms:
        _connect(served, realm, capsys)
    assert main([*args, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert sorted(entry["realm_id"] for entry in report) == sorted(served.realms)
    assert {entry["state"] for entry in report} == {"healthy"}
    assert all(entry["request_count"] >= 1 for entry in report)
    assert all(entry["access_token_expires_at"] for entry in report)
    assert main([*args, "--realm", served.realms[0]]) == 0
    table = capsys.readouterr().out
    assert served.realms[0] in table
    assert served.realms[1] not in table


def test_health_of_a_company_needing_reauthorization_exits_1(
    served: ServedEmulator, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A company whose grant was revoked is reported needs_reauthorization, exit 1."""
    realm = served.realms[0]
    _connect(served, realm, capsys)
    served.emulator.oauth.revoke_grants(realm)
    assert main(["health", "--emulator-url", served.base_url, "--json"]) == 1
    (entry,) = json.loads(capsys.readouterr().out)
    assert entry["state"] in ("needs_reauthorization", "unhealthy")


# --------------------------------------------------------------------- sync


def test_sync_mirrors_then_updates_incrementally(
    served: ServedEmulator, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A first sync copies the chosen types in full; the next one is incremental; the
    mirror holds what the emulator holds."""
    realm = served.realms[0]
    _connect(served, realm, capsys)
    args = ["sync", "--emulator-url", served.base_url, "--entities", ENTITIES]
    assert main(args) == 0
    assert "full" in capsys.readouterr().out
    assert main(args) == 0
    assert "incremental" in capsys.readouterr().out
    held = _summary(home / "mirror.sqlite3", realm)
    company = served.emulator.companies[realm]
    assert {name: held[name].count for name in held} == {
        name: company.counts()[name] for name in ENTITIES.split(",")
    }


@pytest.mark.postgres
def test_sync_into_a_postgres_mirror_in_its_own_schema(
    served: ServedEmulator,
    home: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`--mirror` takes a PostgreSQL URL and `mirror.schema` a schema (created on first
    use); `--json` prints the summary as data."""
    realm = served.realms[0]
    _connect(served, realm, capsys)
    schema = f"qbo_cli_{secrets.token_hex(5)}"
    monkeypatch.setenv("QBO_MIRROR__SCHEMA", schema)
    try:
        args = ["sync", "--emulator-url", served.base_url, "--entities", "Customer,Vendor"]
        assert main([*args, "--mirror", POSTGRES_URL, "--json"]) == 0
        (summary,) = json.loads(capsys.readouterr().out)
        assert summary["realm_id"] == realm
        assert summary["mode"] == "full"
        company = served.emulator.companies[realm].counts()
        assert summary["rows"] == company["Customer"] + company["Vendor"]
        held = _summary_at(POSTGRES_URL, realm, schema=schema)
        assert {name: s.count for name, s in held.items()} == {
            "Customer": company["Customer"],
            "Vendor": company["Vendor"],
        }
    finally:
        _drop_schema(schema)


def _summary_at(url: str, realm: str, *, schema: str | None = None) -> dict[str, EntitySummary]:
    async def read() -> dict[str, EntitySummary]:
        engine = create_async_engine(url)
        try:
            return dict(await SqlMirror(engine, schema=schema).summary(realm))
        finally:
            await engine.dispose()

    return asyncio.run(read())


def _drop_schema(schema: str) -> None:
    async def drop() -> None:
        engine = create_async_engine(POSTGRES_URL)
        try:
            async with engine.begin() as connection:
                await connection.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        finally:
            await engine.dispose()

    asyncio.run(drop())


def test_an_unreachable_token_store_exits_4(
    served: ServedEmulator,
    home: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Tokens in a Redis that is not running: the command says so in one line, exit 4."""
    monkeypatch.setenv("QBO_TOKEN_STORE__BACKEND", "redis")
    monkeypatch.setenv("QBO_REDIS__URL", f"redis://127.0.0.1:{_closed_port()}/7")
    realm = served.realms[0]
    args = ["query", "--emulator-url", served.base_url, "--realm", realm, "SELECT * FROM Item"]
    assert main(args) == 4
    _one_error_line(capsys.readouterr().err, "query")


def test_sync_user_errors(
    served: ServedEmulator, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Unknown entity types: 2; nothing connected: 3; a locked or damaged mirror file, or
    a PostgreSQL mirror that is not running: 4."""
    args = ["sync", "--emulator-url", served.base_url]
    assert main([*args, "--entities", "Customer,Gadget"]) == 2
    assert "Gadget" in _one_error_line(capsys.readouterr().err, "sync")
    assert main(args) == 3
    _one_error_line(capsys.readouterr().err, "sync")
    _connect(served, served.realms[0], capsys)
    garbage = home / "garbage.sqlite3"
    garbage.write_bytes(b"this is not a database at all" * 100)
    assert main([*args, "--mirror", str(garbage)]) == 4
    _one_error_line(capsys.readouterr().err, "sync")
    down = f"postgresql+asyncpg://postgres@127.0.0.1:{_closed_port()}/test"
    assert main([*args, "--mirror", down]) == 4
    _one_error_line(capsys.readouterr().err, "sync")
    locked = home / "locked.sqlite3"
    holder = sqlite3.connect(locked, isolation_level=None)
    try:
        holder.execute("CREATE TABLE held (x)")
        holder.execute("BEGIN EXCLUSIVE")
        assert main([*args, "--mirror", str(locked)]) == 4
        assert "lock" in _one_error_line(capsys.readouterr().err, "sync")
    finally:
        holder.close()


def _sigint_default() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_sync_interrupted_by_sigint_resumes_to_the_same_mirror(
    served: ServedEmulator, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """SIGINT in the middle of a full sync exits 130 saying how to resume; the next run
    resumes and ends with the same mirror as an uninterrupted run."""
    realm = served.realms[1]
    _connect(served, realm, capsys)
    reference = home / "reference.sqlite3"
    args = ["sync", "--emulator-url", served.base_url, "--entities", ENTITIES]
    assert main([*args, "--mirror", str(reference)]) == 0
    capsys.readouterr()

    # The 4th query of the next run (Customer is complete by then) is held for a while.
    rule = rule_from_json(
        {
            "route": {"method": "POST", "path": f"/v3/company/{realm}/query"},
            "trigger": {"ordinals": [4]},
            "effect": {"kind": "latency", "latency": 5},
        }
    )

    async def add() -> str:
        return served.emulator.chaos.add(rule)

    async def fired() -> int:
        return sum(status.fired for status in served.emulator.chaos.rules())

    async def remove() -> None:
        served.emulator.chaos.clear()

    served.call(add())
    with subprocess.Popen(
        [QBO, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(home),
        # A suite started in the background by a shell without job control (`cmd &`)
        # inherits SIGINT ignored, and so would the command: give it Ctrl-C back.
        preexec_fn=_sigint_default,
    ) as process:
        try:
            polls = 0
            while served.call(fired()) == 0:  # until the emulator holds the 4th query
                polls += 1
                assert polls < 1200, "the sync never reached its 4th query"
                assert process.poll() is None, process.communicate()
                threading.Event().wait(0.05)
            process.send_signal(signal.SIGINT)
            _, err = process.communicate(timeout=60)
        finally:
            process.kill()
            served.call(remove())
    assert process.returncode == 130, err
    assert _one_error_line(err, "sync").endswith("interrupted; run again to resume")
    assert main(args) == 0
    assert "yes" in capsys.readouterr().out  # resumed
    assert _summary(home / "mirror.sqlite3", realm) == _summary(reference, realm)


# --------------------------------------------------------------------- demo and flags


def test_demo_small_in_a_subprocess(tmp_path: Path) -> None:
    """`qbo demo --size small` connects, syncs, changes, verifies: exit 0 and the
    verification lines; --output keeps the token store and the mirror."""
    result = subprocess.run(
        [QBO, "demo", "--size", "small", "--realms", "2", "--output", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        env=_env(tmp_path),
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    verified = [line for line in result.stdout.splitlines() if line.startswith("verified ")]
    assert len(verified) == 2
    assert all("mirror == emulator" in line for line in verified)
    assert "verification passed" in result.stdout
    assert (tmp_path / "out" / "mirror.sqlite3").exists()
    assert (tmp_path / "out" / "tokens.sqlite3").exists()


def test_demo_exits_1_when_the_mirror_differs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """When what the emulator serves differs from the mirror (here: one Customer more is
    expected than was mirrored), the demo names the difference and exits 1."""
    from qbo_container.commands import demo

    real = demo._expected

    async def one_more(sync: Any, names: Any) -> dict[str, EntitySummary]:
        expected = await real(sync, names)
        customers = expected["Customer"]
        expected["Customer"] = EntitySummary(count=customers.count + 1, checksum=customers.checksum)
        return expected

    monkeypatch.setattr(demo, "_expected", one_more)
    for name in list(os.environ):
        if name.startswith("QBO_"):
            monkeypatch.delenv(name)
    assert main(["demo", "--realms", "1", "--output", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "verification FAILED" in out
    assert "Customer:" in out
    assert "verification passed" not in out


@pytest.mark.parametrize(
    "argv",
    [
        ["demo", "--size", "huge"],
        ["demo", "--realms", "0"],
        ["connect", "--port", "99999"],
        ["connect", "--timeout", "soon"],
        ["health", "--realm", "abc"],
        ["query"],
        ["sync", "--mirror"],
        ["sync", "--emulator-url", "ftp://x"],
    ],
)
def test_bad_flags_exit_2_with_one_line(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """A malformed command line ends in one line on stderr and exit status 2."""
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    _one_error_line(capsys.readouterr().err, argv[0])


def test_bad_settings_file_exits_2(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A settings file that is not TOML, or names an unknown setting: exit 2, one line."""
    bad = home / "bad.toml"
    bad.write_text("[mirror]\ncolour = 'blue'\n")
    assert main(["health", "--config", str(bad)]) == 2
    assert "mirror.colour" in capsys.readouterr().err
    assert common.EXIT_USAGE == 2


def test_every_command_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    """Each user command's --help documents its options and the exit codes."""
    for command in ("connect", "query", "health", "sync", "demo"):
        with pytest.raises(SystemExit) as exited:
            main([command, "--help"])
        assert exited.value.code == 0
        text = capsys.readouterr().out
        assert "--config" in text
        assert "130  interrupted" in text


def test_quota_seconds_is_the_least_time_qbo_s_windows_allow() -> None:
    """In each window the first `limit` requests go at once, the next after `period`: the
    demo's "quota time" is the longest such wait over the second and minute windows."""
    from qbo_container.commands.demo import quota_seconds

    assert [quota_seconds(n) for n in (0, 1, 10, 11, 106, 500, 501)] == [
        0.0,
        0.0,
        0.0,
        1.0,
        10.0,
        49.0,
        60.0,
    ]
