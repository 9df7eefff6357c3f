"""The shape of the core: no module of `qbo_core` imports, through any chain, one that
imports it back. Read from grimp's import graph (the one import-linter uses), which counts
imports inside functions too, so a lazy import cannot hide a cycle."""

from __future__ import annotations

from pathlib import Path

import grimp
import pytest


def import_cycles(graph: grimp.ImportGraph) -> list[tuple[str, ...]]:
    """One shortest cycle for each group of modules that import each other, as the path
    of imports from the group's first module (by name) back to it."""
    cycles = []
    for group in _strongly_connected(graph):
        start = min(group)
        chains = [
            graph.find_shortest_chain(importer=imported, imported=start)
            for imported in graph.find_modules_directly_imported_by(start) & group
        ]
        shortest = min((chain for chain in chains if chain is not None), key=len)
        cycles.append((start, *shortest))
    return sorted(cycles)


def _strongly_connected(graph: grimp.ImportGraph) -> list[frozenset[str]]:
    """The groups of two or more modules where each one reaches every other (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[frozenset[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for imported in sorted(graph.find_modules_directly_imported_by(module)):
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in on_stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            group = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.add(member)
                if member == module:
                    break
            if len(group) > 1:
                groups.append(frozenset(group))

    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    return groups


def _shown(cycles: list[tuple[str, ...]]) -> str:
    return "\n".join(" -> ".join(cycle) for cycle in cycles)


@pytest.fixture(scope="module")
def core_graph() -> grimp.ImportGraph:
    return grimp.build_graph("qbo_core", cache_dir=None)


def test_the_core_has_no_import_cycle(core_graph: grimp.ImportGraph) -> None:
    """No group of qbo_core modules imports each other, at module level or in a function."""
    cycles = import_cycles(core_graph)
    assert not cycles, "import cycles in qbo_core:\n" + _shown(cycles)


def test_cycles_are_found_through_chains_and_function_level_imports() -> None:
    """The finder reports a three-module loop and a lazy two-module loop, each once, and
    nothing for modules that merely share a dependency."""
    graph = grimp.ImportGraph()
    for module in ("pkg", "pkg.a", "pkg.b", "pkg.c", "pkg.d", "pkg.e", "pkg.leaf"):
        graph.add_module(module)
    for importer, imported in (
        ("pkg.a", "pkg.b"),
        ("pkg.b", "pkg.c"),
        ("pkg.c", "pkg.a"),
        ("pkg.a", "pkg.leaf"),
        ("pkg.d", "pkg.leaf"),
        ("pkg.d", "pkg.e"),
    ):
        graph.add_import(importer=importer, imported=imported)
    graph.add_import(
        importer="pkg.e",
        imported="pkg.d",
        line_number=10,
        line_contents="    from pkg import d",
    )
    assert import_cycles(graph) == [
        ("pkg.a", "pkg.b", "pkg.c", "pkg.a"),
        ("pkg.d", "pkg.e", "pkg.d"),
    ]


def test_a_cycle_made_by_an_import_inside_a_function_is_found(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A package whose modules import each other, one of them only inside a function,
    is reported: grimp's graph holds function-level imports, so a lazy import hides no cycle."""
    package = tmp_path / "cyclic_pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "settings.py").write_text(
        "def load():\n    from cyclic_pkg.codec import read\n\n    return read()\n"
    )
    (package / "codec.py").write_text("from cyclic_pkg.settings import load\n")
    (package / "plain.py").write_text("from cyclic_pkg import codec\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    graph = grimp.build_graph("cyclic_pkg", cache_dir=None)
    assert import_cycles(graph) == [("cyclic_pkg.codec", "cyclic_pkg.settings", "cyclic_pkg.codec")]
