"""Reading the fenced code blocks of the project's Markdown files, with their directives.

A block runs by its language unless the line right above its opening fence is a directive:

    <!-- docs-test: skip: <why> -->   not run; the reason is required
    <!-- docs-test: pytest -->        a test module, run by pytest in a fresh folder
    <!-- docs-test: file <name> -->   written into that folder as <name> before pytest runs
    <!-- docs-test: sh -->            each line run by bash from the project root

Without a directive, `python` blocks of one file run in order in one namespace, top-level
`await` allowed, in a child process (the way a reader would paste them into `asyncio`'s
REPL); `toml` blocks must parse; `sh` blocks need a directive, because most commands in
the docs install things or serve until Ctrl-C; blocks with no language are prose.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import attrs

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = ("README.md", "docs", "benchmarks/README.md")

_FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>```+)(?P<info>[^`]*)$")
_DIRECTIVE = re.compile(r"^<!--\s*docs-test:\s*(?P<kind>[a-z]+)(?::?\s*(?P<arg>.*?))?\s*-->$")
KINDS = ("skip", "pytest", "file", "sh")


@attrs.frozen(kw_only=True)
class Block:
    """One fenced block: where it is, its language, its directive and its text."""

    path: Path
    line: int  # 1-based line of the first line of code
    language: str
    directive: str | None
    argument: str
    code: str

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def documents() -> list[Path]:
    """Every Markdown file the docs tests read."""
    found: list[Path] = []
    for name in DOCUMENTS:
        path = ROOT / name
        found.extend(sorted(path.rglob("*.md")) if path.is_dir() else [path])
    return found


def blocks(path: Path) -> Iterator[Block]:
    """The fenced blocks of `path`, in order."""
    lines = path.read_text(encoding="utf-8").splitlines()
    index = 0
    while index < len(lines):
        opening = _FENCE.match(lines[index])
        if opening is None:
            index += 1
            continue
        fence, language = opening["fence"], opening["info"].strip().split(" ")[0]
        directive, argument = None, ""
        above = lines[index - 1].strip() if index else ""
        if marked := _DIRECTIVE.match(above):
            directive, argument = marked["kind"], (marked["arg"] or "").strip()
        body: list[str] = []
        index += 1
        start = index + 1
        while index < len(lines) and not lines[index].strip().startswith(fence):
            body.append(lines[index])
            index += 1
        index += 1
        yield Block(
            path=path,
            line=start,
            language=language,
            directive=directive,
            argument=argument,
            code="\n".join(body) + "\n",
        )
