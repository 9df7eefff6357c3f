"""The two lists `scripts/mutation` reads are well formed, so a bad merge or a typo fails
CI here rather than the next mutation run (docs/testing.md, "Mutation testing")."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIELDS = {"module", "function", "original", "mutated", "why"}


def _module_file(module: str) -> Path:
    base = ROOT.joinpath(*module.split("."))
    return base / "__init__.py" if base.is_dir() else base.with_suffix(".py")


def test_each_mapped_module_and_test_file_exists() -> None:
    data = tomllib.loads((ROOT / "tests" / "mutation_map.toml").read_text())
    for module, tests in data["tests"].items():
        assert _module_file(module).is_file(), module
        assert tests, f"{module} has no tests"
        for test in tests:
            assert (ROOT / test).is_file(), f"{module}: {test}"
    for module, why in data.get("skip", {}).items():
        assert _module_file(module).is_file(), module
        assert why.strip(), f"{module} is skipped without a reason"
        assert module not in data["tests"], f"{module} is both mapped and skipped"


def test_each_equivalent_is_complete_unique_and_names_a_real_function() -> None:
    entries = tomllib.loads((ROOT / "tests" / "mutation_equivalents.toml").read_text())[
        "equivalent"
    ]
    seen = set()
    for entry in entries:
        assert set(entry) == FIELDS, entry
        key = (entry["module"], entry["function"], entry["original"], entry["mutated"])
        assert key not in seen, f"listed twice: {key}"
        seen.add(key)
        assert entry["original"] != entry["mutated"], key
        assert entry["why"].strip(), key
        tree = ast.parse(_module_file(entry["module"]).read_text())
        names = {
            f"{cls.name}.{node.name}" if cls is not None else node.name
            for cls, node in _functions(tree)
        }
        assert entry["function"] in names, f"no function {entry['function']} in {key[0]}"


def _functions(
    tree: ast.Module,
) -> list[tuple[ast.ClassDef | None, ast.FunctionDef | ast.AsyncFunctionDef]]:
    found: list[tuple[ast.ClassDef | None, ast.FunctionDef | ast.AsyncFunctionDef]] = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            found.append((None, node))
        elif isinstance(node, ast.ClassDef):
            found += [
                (node, item)
                for item in node.body
                if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef)
            ]
    return found
