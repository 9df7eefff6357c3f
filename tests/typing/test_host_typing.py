"""The public API as a host's type checker sees it: `mypy --strict`, no casts.

`host_ok.py.txt` uses only `qbo_core` and the `qbo_container` facade and pins every
call's result with `assert_type`; it must check clean. `host_bad.py.txt` holds mistakes
a host can make; each must be refused with the error written below. The files end in
`.txt` so that neither pytest nor the project's own mypy run picks them up; they are
checked as copies.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from mypy import api

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]

#: Every error `host_bad.py` must give, and no other (notes are not compared).
EXPECTED_BAD = [
    'host_bad.py:9: error: No overload variant of "query" of "QBORawClient" matches '
    'argument types "RealmAuth", "int"  [call-overload]',
    'host_bad.py:11: error: "Customer" has no attribute "no_such_field"  [attr-defined]',
    'host_bad.py:13: error: "Invoice" has no attribute "display_name"  [attr-defined]',
    "host_bad.py:14: error: Incompatible types in assignment (expression has type "
    '"Account | Bill | BillPayment | CompanyInfo | Customer | <7 more items> | RawEntity", '
    'variable has type "Customer")  [assignment]',
]


@pytest.fixture(scope="module")
def mypy_lines(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """mypy --strict's output lines for both host modules, checked in one run."""
    work = tmp_path_factory.mktemp("host_typing")
    for name in ("host_ok", "host_bad"):
        shutil.copyfile(HERE / f"{name}.py.txt", work / f"{name}.py")
    config = work / "mypy.ini"
    config.write_text(f"[mypy]\nmypy_path = {ROOT}\n")
    out, err, _ = api.run(
        [
            "--config-file",
            str(config),
            "--strict",
            "--warn-unreachable",
            "--no-error-summary",
            "--cache-dir",
            str(work / "cache"),
            str(work / "host_ok.py"),
            str(work / "host_bad.py"),
        ]
    )
    assert not err, err
    return [line.replace(f"{work}/", "") for line in out.splitlines()]


def test_a_host_module_type_checks_strictly_with_no_cast(mypy_lines: list[str]) -> None:
    """read/create/update/sparse_update/void/query/count results have the types a host
    expects (the class it named, the class it sent, `QBOEntity` for a name)."""
    assert [line for line in mypy_lines if line.startswith("host_ok.py")] == []
    assert "cast(" not in (HERE / "host_ok.py.txt").read_text()


def test_host_mistakes_are_type_errors(mypy_lines: list[str]) -> None:
    """A non-query passed to `query`, an attribute the entity lacks, an attribute of
    another class on a typed page, and a name-form read taken for a typed one are refused."""
    errors = [line for line in mypy_lines if line.startswith("host_bad.py") and ": error:" in line]
    assert errors == EXPECTED_BAD
