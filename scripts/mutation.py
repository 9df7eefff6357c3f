"""Mutation testing: how many small faults planted in a module its own tests catch.

Run through `scripts/mutation [MODULE...]` (see docs/testing.md, "Mutation testing").
For each module, in turn and from scratch:

1. mutmut (pinned in pyproject.toml, configured under `[tool.mutmut]`) copies the tree to
   `mutants/`, plants every mutant of that one module there, and runs the module's tests
   (`tests/mutation_map.toml`) once to learn which tests reach which function;
2. each mutant is then run against the tests that reach its function, with hypothesis on
   a fixed seed and without its example database;
3. each result is matched against `tests/mutation_equivalents.toml`, the mutants that
   change nothing a caller can observe, which the score leaves out.

Prints a table (mutants, killed, survived, no tests, timeouts, equivalent, score =
(killed + timeouts) / (mutants - equivalent)) and writes every survivor's diff to
`mutation-survivors.txt`. Exits 1 when a module could not be run or an equivalent entry
matches no surviving mutant (a stale entry), else 0: the scores are for people to judge.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAP = ROOT / "tests" / "mutation_map.toml"
EQUIVALENTS = ROOT / "tests" / "mutation_equivalents.toml"
SURVIVORS = ROOT / "mutation-survivors.txt"
LOGS = ROOT / ".mutation"
PACKAGES = ("qbo_core", "qbo_adapters")
# The emulator is a test double, not the library; ports are Protocol declarations only.
NOT_MUTATED = ("qbo_adapters/emulator/", "qbo_core/ports/")

# mutmut's exit codes, grouped into the table's columns (mutmut.stats.status_by_exit_code)
KILLED = {1, 3}
SURVIVED = {0}
NO_TESTS = {5, 33}
TIMEOUT = {-24, 24, 152, 255, 36}


@dataclasses.dataclass(frozen=True)
class Mutant:
    """One mutant of a module: mutmut's name for it, its outcome and its diff."""

    name: str
    status: str  # killed, survived, no tests, timeout, other
    diff: str

    @property
    def function(self) -> str:
        """The function mutated, as `name` or `Class.name` (mutmut mangles it)."""
        mangled = self.name.partition("__mutmut_")[0].rpartition(".")[2]
        if mangled.startswith("x_"):
            return mangled[2:]
        _, cls, name = mangled.split("ǁ")
        return f"{cls}.{name}"

    @property
    def change(self) -> tuple[str, str]:
        """The lines the mutation removes and adds (stripped): stable across edits elsewhere."""
        lines = self.diff.splitlines()[2:]  # past the ---/+++ header
        removed = [line[1:].strip() for line in lines if line.startswith("-")]
        added = [line[1:].strip() for line in lines if line.startswith("+")]
        return "\n".join(removed), "\n".join(added)


@dataclasses.dataclass
class Result:
    """A module's run: its mutants, or why it could not be run."""

    module: str
    mutants: list[Mutant]
    seconds: float
    failure: str | None = None


# ------------------------------------------------------------------ modules and tests


def load_map() -> tuple[dict[str, list[str]], dict[str, str]]:
    """The module -> test files map, and the modules deliberately not mutated (with why)."""
    data = tomllib.loads(MAP.read_text())
    return dict(data["tests"]), dict(data.get("skip", {}))


def module_path(module: str) -> Path:
    """`qbo_core.wire.faults` -> `qbo_core/wire/faults.py` (or the package's `__init__.py`)."""
    base = Path(*module.split("."))
    return base / "__init__.py" if (ROOT / base).is_dir() else base.with_suffix(".py")


def module_name(arg: str) -> str:
    """A dotted name, from a dotted name or a path (`qbo_core/wire/faults.py`)."""
    if arg.endswith(".py") or "/" in arg:
        path = Path(arg).resolve().relative_to(ROOT)
        parts = path.with_suffix("").parts
        return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
    return arg


def every_module() -> list[str]:
    """Every module of the library the mutation run covers: not the emulator, the ports or
    the `__init__.py` files (re-exports only)."""
    found = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            if not relative.startswith(NOT_MUTATED) and path.name != "__init__.py":
                found.append(module_name(relative))
    return found


def selected(args: list[str], tests: dict[str, list[str]], skip: dict[str, str]) -> list[str]:
    """The modules to run: those named (a package names the mapped modules inside it)."""
    if not args:
        unmapped = [m for m in every_module() if m not in tests and m not in skip]
        if unmapped:
            sys.exit(f"mutation: no tests mapped in {MAP.name} for: {', '.join(unmapped)}")
        return [m for m in every_module() if m in tests]
    chosen: list[str] = []
    for arg in args:
        name = module_name(arg)
        inside = [m for m in tests if m == name or m.startswith(name + ".")]
        if not inside:
            why = skip.get(name)
            sys.exit(
                f"mutation: {name} is not mutated: {why}"
                if why
                else f"mutation: no tests mapped for {name} in {MAP.relative_to(ROOT)}"
            )
        chosen += [m for m in inside if m not in chosen]
    return chosen


# ------------------------------------------------------------------ one module, in a child


def worker(module: str, tests: list[str], jobs: int, out: Path) -> None:
    """Run mutmut over `module` against `tests` and write its mutants to `out` (JSON).

    Runs in a process of its own: mutmut keeps its configuration, its state and the
    mutated modules it imported in globals, which must not carry over to the next module.
    """
    import mutmut.configuration as configuration

    path = module_path(module).as_posix()
    configuration._config = dataclasses.replace(
        configuration._load_config(),
        only_mutate=[path],
        pytest_add_cli_args_test_selection=tests,
    )
    from mutmut.__main__ import _run
    from mutmut.mutation.data import SourceFileMutationData
    from mutmut.mutation.diff_apply import get_diff_for_mutant

    _run([], jobs)
    data = SourceFileMutationData(path=path)
    data.load()
    out.write_text(
        json.dumps(
            [
                {"name": name, "exit_code": code, "diff": get_diff_for_mutant(name, path=path)}
                for name, code in sorted(data.exit_code_by_key.items(), key=_mutant_order)
            ]
        )
    )


def _mutant_order(item: tuple[str, object]) -> tuple[str, int]:
    prefix, _, number = item[0].rpartition("__mutmut_")
    return prefix, int(number)


def status_of(exit_code: int | None) -> str:
    if exit_code in KILLED:
        return "killed"
    if exit_code in SURVIVED:
        return "survived"
    if exit_code in NO_TESTS:
        return "no tests"
    if exit_code in TIMEOUT:
        return "timeout"
    return "other"


def run_module(module: str, tests: list[str], jobs: int, env: dict[str, str]) -> Result:
    """Run one module from a fresh `mutants/`, its log in `.mutation/<module>.log`."""
    shutil.rmtree(ROOT / "mutants", ignore_errors=True)
    LOGS.mkdir(exist_ok=True)
    log = LOGS / f"{module}.log"
    out = LOGS / f"{module}.json"
    out.unlink(missing_ok=True)
    command = [sys.executable, __file__, "--worker", module, "--jobs", str(jobs), "--out", str(out)]
    start = time.monotonic()
    with log.open("w") as sink:
        done = subprocess.run(  # noqa: S603 - this interpreter and this file, our own map
            [*command, "--", *tests], cwd=ROOT, env=env, stdout=sink, stderr=subprocess.STDOUT
        )
    seconds = time.monotonic() - start
    if done.returncode != 0 or not out.exists():
        failure = f"mutmut failed (exit {done.returncode}); see {log.relative_to(ROOT)}"
        return Result(module, [], seconds, failure)
    mutants = [
        Mutant(item["name"], status_of(item["exit_code"]), item["diff"])
        for item in json.loads(out.read_text())
    ]
    return Result(module, mutants, seconds)


# ------------------------------------------------------------------ equivalents


@dataclasses.dataclass
class Equivalent:
    """A mutant that changes nothing observable: matched by module, function and change."""

    module: str
    function: str
    original: str
    mutated: str
    why: str
    used: bool = False

    def matches(self, module: str, mutant: Mutant) -> bool:
        return (module, mutant.function, *mutant.change) == (
            self.module,
            self.function,
            self.original.strip(),
            self.mutated.strip(),
        )


def load_equivalents() -> list[Equivalent]:
    if not EQUIVALENTS.exists():
        return []
    entries = tomllib.loads(EQUIVALENTS.read_text()).get("equivalent", [])
    return [Equivalent(**entry) for entry in entries]


def is_equivalent(module: str, mutant: Mutant, equivalents: list[Equivalent]) -> bool:
    for entry in equivalents:
        if entry.matches(module, mutant):
            entry.used = True
            return True
    return False


# ------------------------------------------------------------------ the report


COLUMNS = ("module", "mutants", "killed", "survived", "no tests", "timeouts", "equivalent")


def table(results: list[Result], equivalents: list[Equivalent]) -> tuple[str, list[str]]:
    """The score table (markdown) and the survivors' diffs."""
    rows = []
    survivors = []
    for result in results:
        if result.failure is not None:
            rows.append([result.module, result.failure, "", "", "", "", "", ""])
            continue
        counts: Counter[str] = Counter()
        for mutant in result.mutants:
            status = mutant.status
            if status in ("survived", "no tests") and is_equivalent(
                result.module, mutant, equivalents
            ):
                status = "equivalent"
            counts[status] += 1
            if status in ("survived", "no tests", "other"):
                survivors.append(
                    f"# {mutant.name}: {status}\n# in {result.module}, {mutant.function}()\n"
                    f"{mutant.diff}\n"
                )
        total = len(result.mutants)
        scored = total - counts["equivalent"]
        # a mutant that makes its tests hang is caught as surely as one that fails them
        caught = counts["killed"] + counts["timeout"]
        score = f"{100 * caught / scored:.1f}%" if scored else "-"
        rows.append(
            [
                result.module,
                str(total),
                str(counts["killed"]),
                str(counts["survived"] + counts["other"]),
                str(counts["no tests"]),
                str(counts["timeout"]),
                str(counts["equivalent"]),
                score,
            ]
        )
    header = [*COLUMNS, "score"]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = [
        "| " + " | ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)) + " |"
        for row in [header, *rows]
    ]
    lines.insert(1, "| " + " | ".join("-" * width for width in widths) + " |")
    return "\n".join(lines), survivors


def main() -> int:
    parser = argparse.ArgumentParser(
        prog="scripts/mutation",
        description="Mutation testing of qbo_core and the adapters (docs/testing.md).",
    )
    parser.add_argument(
        "modules",
        nargs="*",
        metavar="MODULE",
        help="dotted names or paths (a package means its mapped modules); none: all of them",
    )
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2, help="mutants at once")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:  # the test files come as the positional arguments
        worker(args.worker, args.modules, args.jobs, args.out)
        return 0

    tests, skip = load_map()
    modules = selected(args.modules, tests, skip)
    equivalents = load_equivalents()
    temp_root = Path(tempfile.mkdtemp(prefix="qbo-mutation-"))
    env = {
        **os.environ,
        "HYPOTHESIS_PROFILE": "mutation",
        # mutmut orders a mutant's tests through sets of strings: a fixed hash seed makes
        # that order, and so which test meets the mutant first, the same on every run
        "PYTHONHASHSEED": "0",
        # a mutant that drops a key prefix writes outside the tests' cleanup: the Redis
        # tests use a database of their own here (tests/adapters/redis_server.py)
        "QBO_TEST_REDIS_DB": os.environ.get("QBO_TEST_REDIS_DB") or "12",
        # pytest's tmp_path root, apart from other pytest runs on the machine
        "PYTEST_DEBUG_TEMPROOT": str(temp_root),
        # the tests run from mutants/, one level deeper than the tree
        "QBO_SHARED_DIR": os.environ.get("QBO_SHARED_DIR") or str(ROOT.parent / "shared"),
    }
    results = []
    start = time.monotonic()
    try:
        for module in modules:
            print(f"mutation: {module} against {', '.join(tests[module])} ...", flush=True)
            result = run_module(module, tests[module], args.jobs, env)
            results.append(result)
            print(
                f"mutation: {module}: {len(result.mutants)} mutants in {result.seconds:.0f} s"
                + (f" ({result.failure})" if result.failure else ""),
                flush=True,
            )
    finally:
        shutil.rmtree(temp_root, ignore_errors=True)
    elapsed = time.monotonic() - start

    text, survivors = table(results, equivalents)
    SURVIVORS.write_text(
        f"# scripts/mutation {' '.join(args.modules)}: the mutants no test killed\n\n"
        + "\n".join(survivors)
    )
    print()
    print(text)
    print(f"\n{len(survivors)} survivors' diffs in {SURVIVORS.name}; took {elapsed:.0f} s")
    run = {result.module for result in results}
    stale = [e for e in equivalents if e.module in run and not e.used]
    for entry in stale:
        print(
            f"mutation: stale equivalent in {EQUIVALENTS.name}: {entry.module} {entry.function}:"
            f" {entry.original!r} -> {entry.mutated!r} matches no surviving mutant",
            file=sys.stderr,
        )
    return 1 if stale or any(result.failure for result in results) else 0


if __name__ == "__main__":
    sys.exit(main())
