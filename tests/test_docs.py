"""Every code block in README.md, docs/ and benchmarks/README.md runs as written.

See `tests/docs_blocks.py` for how a block says how it runs. A block that cannot run says
why in its directive; a new block with no way to run fails `test_every_block_runs_or_says_why`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.docs_blocks import KINDS, ROOT, Block, blocks, documents

ALL_BLOCKS = [block for path in documents() for block in blocks(path)]
CODE_LANGUAGES = ("python", "sh", "toml")
TIMEOUT = 300

_SESSION = """
import ast, asyncio, inspect, json, sys

async def main(blocks):
    namespace = {"__name__": "__docs__"}
    for where, line, code in blocks:
        source = "\\n" * (line - 1) + code
        compiled = compile(source, where, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
        result = eval(compiled, namespace)
        if inspect.iscoroutine(result):
            await result

asyncio.run(main(json.load(sys.stdin)))
"""


def _environment() -> dict[str, str]:
    """The environment of a new user: no `QBO_*` settings, the project's venv first on PATH."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("QBO_")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = str(ROOT)
    return env


def _run(
    args: list[str], *, cwd: Path, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args,
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env=_environment(),
        check=False,
    )


def _ids(items: list[Block] | list[Path]) -> list[str]:
    return [
        item.where if isinstance(item, Block) else str(item.relative_to(ROOT)) for item in items
    ]


def test_every_block_runs_or_says_why() -> None:
    """Each code block has a way to run, and each skip gives its reason."""
    problems = []
    for block in ALL_BLOCKS:
        if block.directive is not None and block.directive not in KINDS:
            problems.append(f"{block.where}: unknown directive {block.directive!r}")
        elif block.directive == "skip" and not block.argument:
            problems.append(f"{block.where}: a skipped block must say why")
        elif block.directive == "file" and not block.argument:
            problems.append(f"{block.where}: a file block must name its file")
        elif block.directive is None and block.language == "sh":
            problems.append(f"{block.where}: an sh block needs a directive (sh or skip)")
        elif block.directive is None and block.language not in (*CODE_LANGUAGES, "", "text"):
            problems.append(f"{block.where}: no way to run a {block.language!r} block")
    assert not problems, "\n".join(problems)
    assert any(block.language == "python" for block in ALL_BLOCKS)


SESSIONS = [
    path
    for path in documents()
    if any(b.language == "python" and b.directive is None for b in blocks(path))
]


@pytest.mark.parametrize("path", SESSIONS, ids=_ids(SESSIONS))
def test_python_blocks_run_in_order(path: Path, tmp_path: Path) -> None:
    """A document's plain `python` blocks run, in order, in one namespace, as a reader would."""
    session = [
        [block.where, block.line, block.code]
        for block in blocks(path)
        if block.language == "python" and block.directive is None
    ]
    done = _run([sys.executable, "-c", _SESSION], cwd=tmp_path, stdin=json.dumps(session))
    assert done.returncode == 0, done.stderr[-4000:]


PYTEST_BLOCKS = [block for block in ALL_BLOCKS if block.directive == "pytest"]


@pytest.mark.parametrize("block", PYTEST_BLOCKS, ids=_ids(PYTEST_BLOCKS))
def test_pytest_blocks_pass_in_a_fresh_project(block: Block, tmp_path: Path) -> None:
    """A test module shown in the docs passes with only the files the same page shows."""
    for other in blocks(block.path):
        if other.directive == "file":
            (tmp_path / other.argument).write_text(other.code, encoding="utf-8")
    (tmp_path / f"test_doc_line_{block.line}.py").write_text(block.code, encoding="utf-8")
    done = _run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert " passed" in done.stdout


SH_BLOCKS = [block for block in ALL_BLOCKS if block.directive == "sh"]


@pytest.mark.parametrize("block", SH_BLOCKS, ids=_ids(SH_BLOCKS))
def test_sh_blocks_succeed(block: Block) -> None:
    """Each command of an `sh` block exits 0 from the project root."""
    commands = [
        line for line in block.code.splitlines() if line.strip() and not line.startswith("#")
    ]
    for command in commands:
        done = _run(["bash", "-c", command], cwd=ROOT)
        assert done.returncode == 0, f"{block.where}: {command}\n{done.stderr[-3000:]}"


TOML_BLOCKS = [b for b in ALL_BLOCKS if b.language == "toml" and b.directive is None]


@pytest.mark.parametrize("block", TOML_BLOCKS, ids=_ids(TOML_BLOCKS))
def test_toml_blocks_are_valid_settings_files(block: Block, tmp_path: Path) -> None:
    """A TOML example is a settings file `load_settings` accepts, every key validated."""
    from qbo_container.settings import load_settings

    tomllib.loads(block.code)
    (tmp_path / "qbo.toml").write_text(block.code, encoding="utf-8")
    load_settings(file=tmp_path / "qbo.toml", environ={})


def _as_module(path: Path) -> str:
    """A document's plain `python` blocks as one module: the session, inside an async
    function, as a host would write the same code."""
    lines = ["async def _docs_session() -> None:"]
    for block in blocks(path):
        if block.language == "python" and block.directive is None:
            lines.extend(f"    {line}" if line.strip() else "" for line in block.code.splitlines())
    lines.append("    pass")
    return "\n".join(lines) + "\n"


def test_the_docs_code_type_checks_under_mypy_strict(tmp_path: Path) -> None:
    """Every Python example, sessions and test modules alike, passes `mypy --strict` with
    the project's settings: the public API needs no cast and no ignore."""
    from mypy import api

    files = []
    for path in SESSIONS:
        target = tmp_path / f"docs_{path.stem.replace('-', '_')}_session.py"
        target.write_text(_as_module(path), encoding="utf-8")
        files.append(str(target))
    for block in PYTEST_BLOCKS:
        target = tmp_path / f"test_docs_{block.path.stem}_line_{block.line}.py"
        target.write_text(block.code, encoding="utf-8")
        files.append(str(target))
    stdout, stderr, status = api.run(
        [
            "--strict",
            "--python-version",
            "3.11",
            "--cache-dir",
            str(tmp_path / ".mypy_cache"),
            "--no-incremental",
            *files,
        ]
    )
    assert status == 0, stdout + stderr
